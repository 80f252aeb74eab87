"""The viewer's tabs: each one a function of the trace built on first selection.

Every tab takes a :class:`TabContext` (the trace, the timeline to jump to and
a progress callback) and returns a widget. The numbers come from
:mod:`gotrace_df.views`; nothing here computes a view itself.
"""

from __future__ import annotations

import base64
import html
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd

from gotrace_df._trace import Trace
from gotrace_df.units import MISSING, display_bytes, display_duration
from gotrace_df.views._common import horizontal_bars
from gotrace_df.views.profiles import PROFILE_STATES
from gotrace_df.widgets._model import came_from, path_color
from gotrace_df.widgets.table import Col, DataTable
from gotrace_df.widgets.timeline import Timeline, render_stack, short_file

__all__ = ["TabContext", "TABS", "error_box"]

# The blocking profiles' buttons: label -> profile kind.
_PROFILES = {
    "Network": "net",
    "Synchronization": "sync",
    "Syscall": "syscall",
    "Scheduler latency": "sched",
}


@dataclass
class TabContext:
    """What a tab may use: the trace, the timeline, and the viewer's hooks."""

    trace: Trace
    timeline: Timeline
    show_timeline: Callable[[], None]
    progress: Callable[[str, float], None]


def _views() -> Any:
    import gotrace_df.views as views

    return views


def _auto() -> W.Layout:
    return W.Layout(width="auto")


def _section(title: str, help_text: str = "") -> W.HTML:
    h = f"<div class='gtdf-section'>{html.escape(title)}</div>"
    if help_text:
        h += f"<div class='gtdf-help'>{help_text}</div>"
    return W.HTML(h)


def error_box(what: str, exc: BaseException) -> W.HTML:
    """What a tab shows instead of itself when building it raised ``exc``."""
    detail = html.escape("".join(traceback.format_exception_only(type(exc), exc)).strip())
    return W.HTML(
        f"<div class='gtdf-error'><b>{html.escape(what)} failed.</b><br><code>{detail}</code></div>"
    )


def _figure(fig: Any, height: int = 300) -> Any:
    import plotly.graph_objects as go

    fw = go.FigureWidget(fig)
    fw.update_layout(
        height=height,
        margin={"l": 60, "r": 20, "t": 36, "b": 44},
        template="plotly_white",
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
    )
    return fw


# A task or region type's durations: total and percentiles.
_LATENCY_COLUMNS = [
    Col("total_ns", "Total", "ns", bar=True),
    Col("p50_ns", "p50", "ns"),
    Col("p90_ns", "p90", "ns"),
    Col("p99_ns", "p99", "ns"),
    Col("max_ns", "Max", "ns"),
]


def _histogram(
    hist: pd.DataFrame,
    title: str,
    color: str,
    show: Callable[[int | None, int | None], None],
) -> list[W.Widget]:
    """cmd/trace's histogram of one task or region type (the figure of
    ``plot_latency_histogram``) and an "All durations" button: a click on a
    bar calls ``show(lower_ns, upper_ns)`` of its bucket, the button
    ``show(None, None)``."""
    fig = _figure(_views().plot_latency_histogram(hist, title=title), 260)
    fig.update_traces(
        marker_color=color, hovertemplate="%{x}<br>%{y} <extra>click to filter</extra>"
    )
    fig.update_layout(showlegend=False, bargap=0.08)
    first = int(hist["bucket"].min()) if len(hist) else 0

    def on_bar(_trace: Any, points: Any, _sel: Any) -> None:
        # The figure has a bar for every bucket from the first to the last.
        if points.point_inds:
            row = hist[hist["bucket"] == first + points.point_inds[0]]
            if len(row):
                show(int(row["lower_ns"].iloc[0]), int(row["upper_ns"].iloc[0]))

    for bars in fig.data:
        bars.on_click(on_bar)
    reset = W.Button(description="All durations", icon="undo", layout=_auto())
    reset.on_click(lambda _b: show(None, None))
    return [fig, W.HBox([reset])]


def _lasting(lo: int | None, hi: int | None) -> str:
    """The histogram bucket a list is filtered to, for its title."""
    return "" if lo is None else f", lasting {display_duration(lo)} to {display_duration(hi)}"


def _pprof_link(profile: pd.DataFrame, kind: str) -> str:
    from gotrace_df.pprof import to_pprof

    data = to_pprof(profile)
    b64 = base64.b64encode(data).decode()
    return (
        f"<a class='gtdf-download' download='{kind}.pb.gz' "
        f"href='data:application/octet-stream;base64,{b64}'>⬇ Download {kind}.pb.gz</a> "
        f"<span class='gtdf-muted'>{len(data):,} bytes · open with "
        f"<code>go tool pprof {kind}.pb.gz</code></span>"
    )


# -- critical paths ---------------------------------------------------------------


def _critical_path_bars(by: pd.DataFrame, labels: list[str], title: str) -> Any:
    """Share of the path per breakdown row (largest at the top), each bar in
    its category's colour as the timeline outlines it; the hover gives the
    time."""
    df = by.iloc[::-1]
    labels = labels[::-1]
    hover = [
        f"{display_duration(int(ns))}, {share:.1%} of the path"
        for ns, share in zip(df["duration_ns"], df["share"])
    ]
    fig = horizontal_bars(
        [float(x) for x in df["share"]],
        labels,
        hover,
        title=title,
        xaxis_title="share of the path",
        row_px=24,
        pad_px=100,
        hoverinfo="text+y",
        marker_color=[path_color(str(c)) for c in df["category"]],
    )
    fig.update_layout(xaxis={"tickformat": ".0%", "rangemode": "tozero"})
    return _figure(fig, max(170, 24 * len(labels) + 100))


def _critical_path_box(ctx: TabContext, path: pd.DataFrame, label: str) -> W.Widget:
    """A critical path (:func:`gotrace_df.critical_path`): its breakdown by
    category and by stack (tables and bars), its segments, and buttons to
    draw it on the timeline; a click on a segment opens it there."""
    v = _views()
    if len(path) == 0:
        return W.HTML(f"<div class='gtdf-help'>{html.escape(label)}: no path.</div>")
    total = int(path["duration_ns"].sum())
    by_cat = v.critical_path_breakdown(path, by="category")
    by_stack = v.critical_path_breakdown(path, by=("category", "stack"))
    stacks = by_stack["stack"].astype("string").fillna("")
    by_stack = by_stack.assign(stack=stacks.mask(stacks == "", "(no stack)"))
    segs = path.reset_index(drop=True).copy()
    segs["i"] = np.arange(1, len(segs) + 1)
    segs["start_rel"] = segs["start_ns"] - ctx.trace.start_ns
    goids = [int(g) for g in segs["goid"]]
    edges = segs["edge"].astype("string").fillna("")
    segs["came_from"] = [
        came_from(goids[i - 1] if i else None, g, str(e))
        for i, (g, e) in enumerate(zip(goids, edges))
    ]
    segments = DataTable(
        [
            Col("i", "#", "int"),
            Col("goid", "Goroutine", "int"),
            Col("category", "Category"),
            Col("reason", "Reason"),
            Col("leaf", "Woken by"),
            Col("start_rel", "Start", "ns"),
            Col("duration_ns", "Duration", "ns", bar=True),
            Col("stack", "Where", code=True),
            Col("came_from", "Came from"),
        ],
        segs,
        max_height=300,
    )

    def draw() -> None:
        if ctx.timeline.model.path is None or ctx.timeline.model.path.label != label:
            ctx.timeline.highlight_path(path, label)

    def show(_b: Any) -> None:
        ctx.timeline.highlight_path(path, label)
        ctx.show_timeline()

    def open_segment(pos: int, _row: pd.Series) -> None:
        draw()
        ctx.timeline.show_path_segment(pos)
        ctx.show_timeline()

    segments.on_select(open_segment)
    button = W.Button(description="Show on timeline", icon="stream", layout=_auto())
    button.on_click(show)
    running = int(path.loc[path["category"] == "running", "duration_ns"].sum())
    goroutines = path["goid"].nunique()
    head = _section(
        f"Critical path of {label}",
        f"What its end waited on, walked back through the goroutines that unblocked it: "
        f"{display_duration(total)} over {len(path):,} segments on {goroutines:,} goroutines, "
        f"{display_duration(running)} of it running. Click a segment to open it on the "
        "timeline.",
    )
    return W.VBox(
        [
            head,
            W.HBox([button]),
            W.HBox(
                [
                    DataTable(
                        [
                            Col("category", "Category"),
                            Col("duration_ns", "Time", "ns", bar=True),
                            Col("share", "Share", "pct"),
                        ],
                        by_cat,
                        max_height=220,
                    ),
                    _critical_path_bars(
                        by_cat, [str(c) for c in by_cat["category"]], "By category"
                    ),
                ],
                layout=W.Layout(align_items="flex-start"),
            ),
            DataTable(
                [
                    Col("category", "Category"),
                    Col("stack", "Where", code=True),
                    Col("duration_ns", "Time", "ns", bar=True),
                    Col("share", "Share", "pct"),
                ],
                by_stack,
                max_height=220,
            ),
            _critical_path_bars(
                by_stack.head(12),
                [f"{c}: {st}" for c, st in zip(by_stack["category"], by_stack["stack"])][:12],
                "By stack (top 12)",
            ),
            _section("Segments", "In time order; each on one goroutine."),
            segments,
        ]
    )


def _critical_path_of(ctx: TabContext, label: str, **which: int) -> W.Widget:
    """:func:`_critical_path_box` of ``critical_path(trace, **which)``, or what
    went wrong."""
    ctx.progress(f"Critical path of {label}…", 0.5)
    try:
        path = _views().critical_path(ctx.trace, **which)
        return _critical_path_box(ctx, path, label)
    except Exception as e:  # a broken view must not take the viewer down
        return error_box(f"Critical path of {label}", e)
    finally:
        ctx.progress("", 1.0)


# -- goroutines ----------------------------------------------------------------


def goroutines_tab(ctx: TabContext) -> W.Widget:
    v = _views()
    ctx.progress("Goroutine analysis…", 0.2)
    groups = v.goroutine_analysis(ctx.trace)
    groups_table = DataTable(
        [
            Col("name", "Start function", code=True),
            Col("count", "Goroutines", "int"),
            Col("exec_ns", "Execution", "ns", bar=True),
            Col("share", "Share of exec", "pct"),
            Col("sched_wait_ns", "Sched wait", "ns"),
            Col("sched_wait_p99_ns", "Sched wait p99", "ns"),
            Col("block_ns", "Blocked", "ns"),
            Col("syscall_ns", "Syscall", "ns"),
            Col("total_ns", "Total", "ns"),
        ],
        groups,
        max_height=300,
    )
    members = DataTable(
        [
            Col("goid", "Goroutine", "int"),
            Col("total_ns", "Total", "ns"),
            Col("exec_ns", "Execution", "ns", bar=True),
            Col("sched_wait_ns", "Sched wait", "ns"),
            Col("syscall_ns", "Syscall exec", "ns"),
            Col("syscall_block_ns", "Syscall block", "ns"),
            Col("block_ns", "Blocked", "ns"),
            Col("unknown_ns", "Unknown", "ns"),
        ],
        max_height=300,
    )
    title = _section("Goroutines of the group", "Select a group above.")
    actions = W.HBox([])
    detail = W.HTML("")
    critical = W.VBox([])

    def pick_group(_pos: int, row: pd.Series) -> None:
        name = str(row["name"])
        ctx.progress(f"Goroutines of {name}…", 0.5)
        try:
            df = v.goroutine_stats(ctx.trace, name)
        finally:
            ctx.progress("", 1.0)
        members.set_data(df.sort_values("total_ns", ascending=False))
        title.value = (
            f"<div class='gtdf-section'>Goroutines of <code>{html.escape(name)}</code> "
            f"({len(df):,})</div><div class='gtdf-help'>Click a goroutine for its breakdown; "
            "the buttons show it on the timeline.</div>"
        )
        b = W.Button(description="Highlight group on timeline", icon="crosshairs", layout=_auto())

        def show_group(_b: Any) -> None:
            ctx.timeline.highlight_group(name)
            ctx.show_timeline()

        b.on_click(show_group)
        actions.children = [b]

    def pick_goroutine(_pos: int, row: pd.Series) -> None:
        goid = int(row["goid"])
        blocks = {
            k[len("block_ns[") : -1] or "(no reason)": int(row[k])
            for k in row.index
            if str(k).startswith("block_ns[") and int(row[k]) > 0
        }
        ranges = {
            k[len("range_ns[") : -1]: int(row[k])
            for k in row.index
            if str(k).startswith("range_ns[") and int(row[k]) > 0
        }
        items = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{display_duration(n)}</td></tr>"
            for k, n in sorted(blocks.items(), key=lambda kv: -kv[1])
        )
        ritems = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{display_duration(n)}</td></tr>"
            for k, n in ranges.items()
        )
        detail.value = (
            f"<div class='gtdf-details'><div class='gtdf-details-head'><b>G{goid}</b> "
            f"<code>{html.escape(str(row['name']))}</code></div>"
            f"<div class='gtdf-stacks'><div><div class='gtdf-h'>Blocked, by reason</div>"
            f"<table class='gtdf-kv'>{items or '<tr><td>none</td></tr>'}</table></div>"
            f"<div><div class='gtdf-h'>Time in ranges</div>"
            f"<table class='gtdf-kv'>{ritems or '<tr><td>none</td></tr>'}</table></div></div></div>"
        )
        b1 = W.Button(description=f"Show G{goid} on timeline", icon="stream", layout=_auto())

        def show(_b: Any) -> None:
            ctx.timeline.show_goroutine(goid)
            ctx.timeline.set_view("goroutine")
            ctx.show_timeline()

        b1.on_click(show)
        b2 = W.Button(description=f"Critical path of G{goid}", icon="sitemap", layout=_auto())

        def critical_path(_b: Any) -> None:
            critical.children = [_critical_path_of(ctx, f"G{goid}", goroutine=goid)]

        b2.on_click(critical_path)
        critical.children = []
        group_buttons = [c for c in actions.children if "group" in getattr(c, "description", "")]
        actions.children = [*group_buttons, b1, b2]

    groups_table.on_select(pick_group)
    members.on_select(pick_goroutine)
    if len(groups):
        groups_table.select(0)
    return W.VBox(
        [
            _section(
                "Goroutine groups",
                "Goroutines grouped by start function, as <code>go tool trace</code>'s "
                "Goroutine analysis. Click a group to list its goroutines.",
            ),
            groups_table,
            title,
            members,
            actions,
            detail,
            critical,
        ]
    )


# -- blocking profiles -----------------------------------------------------------


def profiles_tab(ctx: TabContext) -> W.Widget:
    v = _views()
    kinds = W.ToggleButtons(
        options=list(_PROFILES),
        style={"button_width": "150px"},
        tooltips=[
            "Time blocked on network I/O",
            "Time blocked on sync primitives and channels",
            "Time blocked in syscalls",
            "Time runnable but not running",
        ],
    )
    table = DataTable(
        [
            Col("function", "Innermost function", code=True),
            Col("where", "Location"),
            Col("count", "Count", "int"),
            Col("delay_ns", "Total delay", "ns", bar=True),
            Col("share", "Share", "pct"),
            Col("delay_p50_ns", "p50", "ns"),
            Col("delay_p99_ns", "p99", "ns"),
            Col("delay_max_ns", "Max", "ns"),
        ],
        max_height=320,
    )
    download = W.HTML("")
    stack = W.HTML("<div class='gtdf-help'>Click a row to see its whole stack.</div>")
    actions = W.HBox([])
    cache: dict[str, pd.DataFrame] = {}

    def load(label: str) -> None:
        kind = _PROFILES[label]
        if kind not in cache:
            ctx.progress(f"{label} profile…", 0.3)
            try:
                prof = v.blocking_profile(ctx.trace, kind)
            finally:
                ctx.progress("", 1.0)
            prof = prof.copy()
            total = float(prof["delay_ns"].sum()) or 1.0
            prof["share"] = prof["delay_ns"] / total
            prof["where"] = [
                f"{short_file(str(f))}:{int(n)}" if f else ""
                for f, n in zip(prof["file"], prof["line"])
            ]
            cache[kind] = prof
        prof = cache[kind]
        table.set_data(prof)
        download.value = _pprof_link(prof, kind) if len(prof) else ""
        total = int(prof["delay_ns"].sum()) if len(prof) else 0
        stack.value = (
            f"<div class='gtdf-help'>{len(prof):,} stacks, {display_duration(total)} in all. "
            "Click a row to see its whole stack.</div>"
        )
        actions.children = []

    def pick(_pos: int, row: pd.Series) -> None:
        label = kinds.value
        states = (PROFILE_STATES[_PROFILES[label]],)
        frames = list(row["frames"]) if row["frames"] is not None else []
        stack.value = (
            f"<div class='gtdf-details'><div class='gtdf-details-head'>"
            f"<b>{int(row['count']):,}</b> intervals, <b>{display_duration(row['delay_ns'])}</b> total</div>"
            f"{render_stack(frames, limit=40)}</div>"
        )
        sid = int(row["stack_id"])
        b = W.Button(description="Show on timeline", icon="stream", layout=_auto())

        def show(_b: Any) -> None:
            ctx.timeline.show_stack(sid, f"{label}: {row['function']}", states)
            ctx.timeline.set_view("goroutine")
            ctx.show_timeline()

        b.on_click(show)
        actions.children = [b] if sid >= 0 else []

    kinds.observe(lambda ch: load(ch["new"]), "value")
    table.on_select(pick)
    load(kinds.value)
    return W.VBox(
        [
            _section(
                "Blocking profiles",
                "Where goroutines waited, by stack: the four profiles of "
                "<code>go tool trace</code> (<code>-pprof=net|sync|syscall|sched</code>).",
            ),
            kinds,
            download,
            table,
            stack,
            actions,
        ]
    )


# -- tasks -----------------------------------------------------------------------------


def tasks_tab(ctx: TabContext) -> W.Widget:
    v = _views()
    ctx.progress("User tasks…", 0.2)
    types = v.user_tasks(ctx.trace)
    types = types[types["type"].fillna("") != ""].reset_index(drop=True) if len(types) else types
    types_table = DataTable(
        [
            Col("type", "Task type", code=True),
            Col("count", "Count", "int"),
            Col("complete", "Complete", "int"),
            *_LATENCY_COLUMNS,
        ],
        types,
        max_height=220,
    )
    hist_box = W.VBox([])
    inst_title = _section("Tasks")
    instances = DataTable(
        [
            Col("task_id", "Task", "int"),
            Col("type", "Type", code=True),
            Col("start_rel", "Start", "ns"),
            Col("duration_ns", "Duration", "ns", bar=True),
            Col("complete", "Complete"),
            Col("goroutines", "Goroutines"),
            Col("regions", "Regions", "int"),
            Col("logs", "Logs", "int"),
        ],
        max_height=260,
    )
    events = DataTable(
        [
            Col("since_start_ns", "Since start", "ns"),
            Col("elapsed_ns", "Elapsed", "ns"),
            Col("goid", "Goroutine", "int"),
            Col("kind", "Event"),
            Col("what", "What"),
        ],
        max_height=240,
    )
    actions = W.HBox([])
    critical = W.VBox([])
    state: dict[str, Any] = {"type": None}
    origin = ctx.trace.start_ns

    def show_instances(kind: str | None, lo: int | None = None, hi: int | None = None) -> None:
        df = v.user_task_details(ctx.trace, kind, latmin_ns=lo, latmax_ns=hi)
        df = df.copy()
        df["start_rel"] = df["start_ns"].astype("Float64") - origin
        df["complete"] = df["complete"].map({True: "yes", False: "no"})
        df["goroutines"] = [", ".join(f"G{g}" for g in gs) for gs in df["goroutines"]]
        instances.set_data(df)
        rng = _lasting(lo, hi)
        inst_title.value = (
            f"<div class='gtdf-section'>Tasks of type <code>{html.escape(str(kind))}</code>"
            f"{rng} ({len(df):,})</div><div class='gtdf-help'>Click a task to list its events "
            "and show it on the timeline.</div>"
        )

    def pick_type(_pos: int, row: pd.Series) -> None:
        kind = str(row["type"])
        state["type"] = kind
        hist = v.user_task_histogram(ctx.trace, kind)
        hist_box.children = _histogram(
            hist,
            f"Latency of {kind} tasks (click a bar to filter)",
            "#4e79a7",
            lambda lo, hi: show_instances(kind, lo, hi),
        )
        show_instances(kind)

    def pick_task(_pos: int, row: pd.Series) -> None:
        tid = int(row["task_id"])
        ev = v.user_task_events(ctx.trace)
        events.set_data(ev[ev["task_id"] == tid])
        b = W.Button(description=f"Show task {tid} on timeline", icon="stream", layout=_auto())

        def show(_b: Any) -> None:
            ctx.timeline.show_task(tid)
            ctx.show_timeline()

        b.on_click(show)
        actions.children = [b]
        kind = row["type"]
        label = f"task {tid} {kind}" if isinstance(kind, str) and kind else f"task {tid}"
        critical.children = [_critical_path_of(ctx, label, task=tid)]

    types_table.on_select(pick_type)
    instances.on_select(pick_task)
    if len(types):
        types_table.select(0)
    return W.VBox(
        [
            _section(
                "User-defined tasks",
                "Tasks by type (<code>trace.NewTask</code>) with latency percentiles; "
                "cmd/trace's histogram buckets (five per decade).",
            ),
            types_table,
            hist_box,
            inst_title,
            instances,
            actions,
            events,
            critical,
        ]
    )


# -- regions ----------------------------------------------------------------------------


def regions_tab(ctx: TabContext) -> W.Widget:
    v = _views()
    ctx.progress("User regions…", 0.2)
    types = v.user_regions(ctx.trace)
    types = types.copy()
    types["where"] = [
        f"{f} {short_file(str(fi))}:{int(ln)}"
        for f, fi, ln in zip(types["function"], types["file"], types["line"])
    ]
    types_table = DataTable(
        [
            Col("type", "Region type", code=True),
            Col("where", "Started in"),
            Col("count", "Count", "int"),
            *_LATENCY_COLUMNS,
        ],
        types,
        max_height=240,
    )
    hist_box = W.VBox([])
    inst_title = _section("Regions")
    instances = DataTable(
        [
            Col("goid", "Goroutine", "int"),
            Col("task_id", "Task", "int"),
            Col("start_rel", "Start", "ns"),
            Col("duration_ns", "Duration", "ns", bar=True),
            Col("exec_ns", "Execution", "ns"),
            Col("sched_wait_ns", "Sched wait", "ns"),
            Col("block_ns", "Blocked", "ns"),
            Col("syscall_ns", "Syscall", "ns"),
        ],
        max_height=280,
    )
    actions = W.HBox([])
    origin = ctx.trace.start_ns

    def show_instances(kind: str, pc: int, lo: int | None = None, hi: int | None = None) -> None:
        df = v.user_region_stats(ctx.trace, kind, pc, latmin_ns=lo, latmax_ns=hi).copy()
        df["start_rel"] = df["start_ns"].astype("Float64") - origin
        instances.set_data(df.sort_values("duration_ns", ascending=False))
        rng = _lasting(lo, hi)
        inst_title.value = (
            f"<div class='gtdf-section'>Regions <code>{html.escape(kind)}</code>{rng} "
            f"({len(df):,})</div><div class='gtdf-help'>Click a region to show it on the "
            "timeline.</div>"
        )

    def pick_type(_pos: int, row: pd.Series) -> None:
        kind, pc = str(row["type"]), int(row["pc"])
        hist = v.user_region_histogram(ctx.trace, kind, pc)
        hist_box.children = _histogram(
            hist,
            f"Duration of {kind} regions (click a bar to filter)",
            "#59a14f",
            lambda lo, hi: show_instances(kind, pc, lo, hi),
        )
        show_instances(kind, pc)

    def pick_region(_pos: int, row: pd.Series) -> None:
        goid = int(row["goid"])
        start = int(row["start_ns"]) if not pd.isna(row["start_ns"]) else ctx.trace.start_ns
        end = int(row["end_ns"]) if not pd.isna(row["end_ns"]) else ctx.trace.end_ns
        b = W.Button(description=f"Show region on G{goid}", icon="stream", layout=_auto())

        def show(_b: Any) -> None:
            ctx.timeline.show_interval(goid, start, end, f"region {row['type']} on G{goid}")
            ctx.show_timeline()

        b.on_click(show)
        actions.children = [b]
        show(None)

    types_table.on_select(pick_type)
    instances.on_select(pick_region)
    if len(types):
        types_table.select(0)
    return W.VBox(
        [
            _section(
                "User-defined regions",
                "Regions by type and start location (<code>trace.WithRegion</code>, "
                "<code>trace.StartRegion</code>).",
            ),
            types_table,
            hist_box,
            inst_title,
            instances,
            actions,
        ]
    )


# -- MMU -----------------------------------------------------------------------------------


def mmu_tab(ctx: TabContext) -> W.Widget:
    v = _views()
    flags = {
        "stw": W.Checkbox(value=True, description="Stop-the-world", indent=False),
        "background": W.Checkbox(value=True, description="Background workers", indent=False),
        "assist": W.Checkbox(value=True, description="Mark assist", indent=False),
        "sweep": W.Checkbox(value=False, description="Sweep", indent=False),
        "per_proc": W.Checkbox(value=False, description="Per-P", indent=False),
    }
    for cb in flags.values():
        cb.layout = W.Layout(width="auto", margin="0 14px 0 0")
    fig_box = W.VBox([])
    window = W.Dropdown(description="Window", layout=W.Layout(width="220px"))
    worst = DataTable(
        [
            Col("start_rel", "Start", "ns"),
            Col("window_ns", "Window", "ns"),
            Col("util", "Mutator utilisation", "pct", bar=True),
        ],
        max_height=260,
    )
    note = W.HTML("")

    def opts() -> dict[str, bool]:
        return {k: bool(cb.value) for k, cb in flags.items()}

    def load_worst(_change: Any = None) -> None:
        if window.value is None:
            return
        w = int(window.value)
        df = v.mmu_worst_windows(ctx.trace, w, 10, **opts()).copy()
        df["start_rel"] = df["start_ns"] - ctx.trace.start_ns
        df["window_ns"] = w
        worst.set_data(df)

    def load(_change: Any = None) -> None:
        ctx.progress("MMU curve…", 0.3)
        try:
            curve = v.mmu(ctx.trace, **opts())
        finally:
            ctx.progress("", 1.0)
        if len(curve) == 0:
            fig_box.children = [
                W.HTML("<div class='gtdf-help'>No GOMAXPROCS metric: no MMU.</div>")
            ]
            return
        fig = _figure(v.plot_mmu(curve, title="Minimum mutator utilisation"), 340)
        fig.update_layout(showlegend=False)

        def on_point(_trace: Any, points: Any, _sel: Any) -> None:
            if points.xs:
                # x is in the plot's unit; pick the nearest computed window.
                ws = curve["window_ns"].to_numpy()
                i = int(np.argmin(np.abs(np.log(ws) - np.log(_to_ns(points.xs[0], fig)))))
                window.value = int(ws[i])

        for tr in fig.data:
            tr.on_click(on_point)
        fig_box.children = [fig]
        ws = curve["window_ns"].to_numpy()
        choices = sorted({int(x) for x in ws if x >= 1000})
        pick = [w for w in choices if w >= 1_000_000][:1] or choices[-1:]
        window.options = [(display_duration(w), w) for w in choices]
        window.value = pick[0] if pick else None
        load_worst()

    def pick_window(_pos: int, row: pd.Series) -> None:
        start = int(row["start_ns"])
        end = int(row["end_ns"])
        ctx.timeline.show_window(
            start, end, f"MMU window {display_duration(end - start)}: {row['util']:.1%}"
        )
        ctx.show_timeline()

    for cb in flags.values():
        cb.observe(load, "value")
    window.observe(load_worst, "value")
    worst.on_select(pick_window)
    load()
    return W.VBox(
        [
            _section(
                "Minimum mutator utilisation",
                "The lowest share of CPU left to your code over any window of a given size. "
                "Click the curve to pick a window size; the worst windows below open on the "
                "timeline.",
            ),
            W.HBox(list(flags.values()), layout=W.Layout(flex_flow="row wrap")),
            fig_box,
            W.HBox([window, note]),
            worst,
        ]
    )


def _to_ns(x: float, fig: Any) -> float:
    """The window size (ns) of an x value of the MMU figure."""
    title = str(fig.layout.xaxis.title.text or "").lower()
    for unit, k in (("(ms", 1e6), ("(µs", 1e3), ("(us", 1e3), ("(s)", 1e9)):
        if unit in title:
            return float(x) * k
    return float(x)


# -- summary -----------------------------------------------------------------------------


def summary_tab(ctx: TabContext) -> W.Widget:
    v = _views()
    ctx.progress("Summary…", 0.3)
    s = v.summary(ctx.trace)
    parts = []
    for section, rows in s.groupby("section", sort=False):
        cards = "".join(
            f"<div class='gtdf-card'><div class='k'>{html.escape(str(r.metric).replace('_', ' '))}"
            f"</div><div class='v'>{html.escape(_fmt_value(r.value, str(r.unit)))}</div></div>"
            for r in rows.itertuples()
        )
        parts.append(
            f"<div class='gtdf-summary-sec'>{html.escape(str(section))}</div>"
            f"<div class='gtdf-cards'>{cards}</div>"
        )
    return W.VBox([W.HTML("<div class='gtdf-summary'>" + "".join(parts) + "</div>")])


def _fmt_value(value: int, unit: str) -> str:
    """A figure of :func:`gotrace_df.summary` (-1: none, except for counts)."""
    if unit not in ("ns", "bytes"):
        return f"{int(value):,}"
    if value < 0:
        return MISSING
    return display_duration(value) if unit == "ns" else display_bytes(value)


# -- logs ------------------------------------------------------------------------------------


def logs_tab(ctx: TabContext) -> W.Widget:
    ctx.progress("Logs…", 0.3)
    logs = ctx.trace.to_pandas("logs")
    logs["t_rel"] = logs["ts"] - ctx.trace.start_ns
    for c in ("category", "message"):
        logs[c] = logs[c].astype("string").fillna("")
    table = DataTable(
        [
            Col("t_rel", "Time", "ns"),
            Col("goid", "Goroutine", "int"),
            Col("task_id", "Task", "int"),
            Col("category", "Category", code=True),
            Col("message", "Message"),
        ],
        logs,
        max_height=460,
    )
    search = W.Text(
        placeholder="filter category or message…",
        continuous_update=False,
        layout=W.Layout(width="320px"),
    )

    def on_search(change: dict[str, Any]) -> None:
        q = str(change["new"]).strip().lower()
        if not q:
            table.set_data(logs)
            return
        hit = logs["category"].str.lower().str.contains(q, regex=False) | logs[
            "message"
        ].str.lower().str.contains(q, regex=False)
        table.set_data(logs[hit])

    def pick(_pos: int, row: pd.Series) -> None:
        ts = int(row["ts"])
        goid = int(row["goid"]) if not pd.isna(row["goid"]) else None
        label = f"log {row['category']}: {row['message']}"[:80]
        if goid is not None:
            ctx.timeline.show_interval(goid, ts, ts + 1, label, pad_ns=200_000)
        else:
            ctx.timeline.show_window(ts, ts + 1, label)
        ctx.show_timeline()

    search.observe(on_search, "value")
    table.on_select(pick)
    return W.VBox(
        [
            _section(
                "Logs",
                f"{len(logs):,} <code>trace.Log</code> messages. Click one to see it on "
                "the timeline.",
            ),
            search,
            table,
        ]
    )


TABS: list[tuple[str, Callable[[TabContext], W.Widget]]] = [
    ("Goroutines", goroutines_tab),
    ("Blocking profiles", profiles_tab),
    ("Tasks", tasks_tab),
    ("Regions", regions_tab),
    ("MMU", mmu_tab),
    ("Summary", summary_tab),
    ("Logs", logs_tab),
]
