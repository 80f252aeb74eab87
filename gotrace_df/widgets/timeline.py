"""The timeline widget: procs, goroutines or threads over time, with counters.

:class:`Timeline` is an ipywidgets box: a toolbar, a canvas (:class:`TimelineCanvas`,
an anywidget that draws what the kernel sends) and a details panel. Every
viewport change in the browser becomes one ``{"type": "viewport", ...}`` message;
the kernel answers with a level-of-detail payload of about one block per pixel
per lane (:mod:`gotrace_df.widgets._lod`).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import anywidget
import ipywidgets as W
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import traitlets as T

from gotrace_df._columns import int_values
from gotrace_df._trace import Trace
from gotrace_df.units import MISSING, display_duration
from gotrace_df.widgets._esm import esm
from gotrace_df.widgets._model import VIEWS, Filter, Path, TimelineModel, came_from

__all__ = ["Timeline", "TimelineCanvas"]

_VIEW_LABELS = {"Procs": "proc", "Goroutines": "goroutine", "Threads": "thread"}


class TimelineCanvas(anywidget.AnyWidget):
    """The drawing surface. Its state is the last payload (``meta`` and
    ``payload``); the browser asks for new ones with custom messages."""

    _esm = esm("timeline.js")
    duration = T.Float(1.0).tag(sync=True)
    t0 = T.Float(0.0).tag(sync=True)
    t1 = T.Float(1.0).tag(sync=True)
    height = T.Int(560).tag(sync=True)
    meta = T.Dict().tag(sync=True)
    payload = T.Bytes(b"").tag(sync=True)
    payload_bytes = T.Int(0).tag(sync=True)
    selected = T.Dict().tag(sync=True)


class Timeline(W.VBox):  # type: ignore[misc]
    """Interactive timeline of a trace.

    Parameters
    ----------
    trace
        The parsed trace.
    view
        ``"proc"`` (default: one lane per P, the goroutines it ran),
        ``"goroutine"`` (one lane per goroutine, coloured by state) or
        ``"thread"`` (one lane per M: running and in syscall).
    height
        Canvas height in pixels.
    width
        Plot width assumed until the browser reports its own.

    Above the lanes are the counters (goroutines running and runnable, heap in
    use and heap goal, procs running and goroutines in syscall) and the GC and
    stop-the-world lanes. Wheel zooms, drag pans, dragging on the time ruler
    zooms to a range, a click shows the span's goroutine, state, reason,
    duration and stack below the canvas. :meth:`highlight_path` draws a path
    across goroutines, such as :func:`gotrace_df.critical_path`'s.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> from gotrace_df.widgets import Timeline
    >>> tl = Timeline(gt.read_trace(gt.example_trace()))
    >>> meta = tl.relayout(0, tl.duration / 10, width=600)
    >>> meta["n"] <= 600 * len(meta["lanes"]) * 2
    True
    """

    view = T.Unicode("proc")

    def __init__(
        self,
        trace: Trace,
        view: str = "proc",
        *,
        height: int = 560,
        width: int = 1100,
        model: TimelineModel | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}; views are {', '.join(VIEWS)}")
        self.trace = trace
        #: What the last click showed (see :meth:`click`); None before any.
        self.details: dict[str, Any] | None = None
        self.model = model or TimelineModel(trace, progress=progress)
        # The first payload goes without the goroutine counters (one pass
        # over every event) unless they are counted already, as a prepared
        # model's may be: they follow (load_counters).
        self.model.defer_counters = not self.model.counted()
        self._width = width
        self._lane_offset = 0
        self._lane_rows = max(8, (height - 230) // 22)
        self._seq = 0
        self.last_payload_seconds = 0.0
        self.canvas = TimelineCanvas(
            duration=self.model.duration, t0=0.0, t1=self.model.duration, height=height
        )
        self.canvas.on_msg(self._on_msg)

        self.view_buttons = W.ToggleButtons(
            options=list(_VIEW_LABELS),
            value={v: k for k, v in _VIEW_LABELS.items()}[view],
            tooltips=["One lane per P", "One lane per goroutine", "One lane per thread (M)"],
            style={"button_width": "92px"},
            layout=W.Layout(width="auto"),
        )
        self.view_buttons.observe(self._on_view_button, "value")
        self.zoom_in = W.Button(icon="search-plus", tooltip="Zoom in", layout=_btn())
        self.zoom_out = W.Button(icon="search-minus", tooltip="Zoom out", layout=_btn())
        self.zoom_all = W.Button(icon="expand", tooltip="Whole trace", layout=_btn())
        self.zoom_in.on_click(lambda _b: self._zoom(0.5))
        self.zoom_out.on_click(lambda _b: self._zoom(2.0))
        self.zoom_all.on_click(lambda _b: self.zoom_to(0, self.model.duration, relative=True))
        self.goroutine_box = W.Text(
            placeholder="goroutine id or start function…",
            layout=W.Layout(width="260px"),
            continuous_update=False,
        )
        self.goroutine_box.observe(self._on_goroutine_box, "value")
        self.clear_button = W.Button(
            description="Clear highlight", icon="times", layout=W.Layout(width="auto")
        )
        self.clear_button.on_click(lambda _b: self.clear_highlight())
        self.filter_label = W.HTML("")
        toolbar = W.HBox(
            [
                self.view_buttons,
                W.HBox([self.zoom_in, self.zoom_out, self.zoom_all]),
                W.HTML("<span style='margin:0 4px 0 10px;color:#57606a'>Highlight</span>"),
                self.goroutine_box,
                self.clear_button,
                self.filter_label,
            ],
            layout=W.Layout(align_items="center", flex_flow="row wrap"),
        )
        toolbar.add_class("gtdf-row")
        self.details_panel = W.HTML(_details_placeholder())
        self.details_actions = W.HBox([])
        self.children = [toolbar, self.canvas, self.details_panel, self.details_actions]
        self.add_class("gtdf-timeline-box")
        self.view = view
        self._push(0.0, self.model.duration, jump=True)

    # -- public API -------------------------------------------------------------

    @property
    def duration(self) -> float:
        """Trace duration, ns."""
        return self.model.duration

    @property
    def viewport(self) -> tuple[float, float]:
        """The shown time range (ns relative to the trace start)."""
        meta = self.canvas.meta
        return float(meta.get("t0", 0.0)), float(meta.get("t1", self.duration))

    def relayout(
        self,
        t0: float,
        t1: float,
        width: int | None = None,
        lane_offset: int | None = None,
        lane_rows: int | None = None,
    ) -> dict[str, Any]:
        """Handle a viewport change as the browser sends it; returns the new
        payload's meta (``meta["n"]`` blocks, ``canvas.payload_bytes`` bytes)."""
        self._on_msg(
            self.canvas,
            {
                "type": "viewport",
                "t0": t0,
                "t1": t1,
                "width": width or self._width,
                "lane_offset": self._lane_offset if lane_offset is None else lane_offset,
                "lane_rows": self._lane_rows if lane_rows is None else lane_rows,
            },
            [],
        )
        return dict(self.canvas.meta)

    def click(self, lane: int, t: float, slack: float | None = None) -> dict[str, Any] | None:
        """What a click at time ``t`` (relative ns) on ``lane`` shows (lane is the
        view's lane index; -1 and -2 are the GC and STW lanes)."""
        if slack is None:
            t0, t1 = self.viewport
            slack = 4 * (t1 - t0) / max(self._width, 1)
        self._on_msg(self.canvas, {"type": "click", "lane": lane, "t": t, "slack": slack}, [])
        return self.details

    def zoom_to(
        self, start: float, end: float, *, relative: bool = False, pad: float = 0.08
    ) -> None:
        """Show ``[start, end]`` (absolute trace ns unless ``relative``), with a
        margin of ``pad`` of its length on each side."""
        if not relative:
            start -= self.model.origin
            end -= self.model.origin
        span = max(end - start, 1000.0)
        self._push(start - span * pad, end + span * pad, jump=True)

    def set_view(self, view: str) -> None:
        """Switch to ``"proc"``, ``"goroutine"`` or ``"thread"``."""
        self.view_buttons.value = {v: k for k, v in _VIEW_LABELS.items()}[view]

    def highlight(self, flt: Filter | None) -> None:
        """Fade everything outside ``flt`` (goroutine view: show only its lanes).
        A highlighted path gives way."""
        self.model.path = None
        self._filter(flt)

    def _filter(self, flt: Filter | None) -> None:
        self.model.set_filter(flt)
        self.filter_label.value = (
            f"<span class='gtdf-chip'>{html.escape(flt.label)}</span>"
            if flt is not None and (flt.active or flt.window)
            else ""
        )
        self._lane_offset = 0
        t0, t1 = self.viewport
        self._push(t0, t1)

    def highlight_goroutines(self, goids: Iterable[int], label: str = "") -> None:
        """Highlight these goroutines."""
        self.highlight(self.model.filter_goroutines(goids, label))

    def highlight_group(self, name: str) -> None:
        """Highlight the goroutines whose start function is ``name``."""
        g = self.trace.goroutines
        rows = pc.equal(pc.cast(g["name"], "string"), name)
        goids = int_values(g.filter(rows)["goid"])
        self.highlight(Filter(label=f"group {name}", goids=np.unique(goids)))

    def highlight_path(self, segments: pd.DataFrame | None, label: str = "critical path") -> None:
        """Draw a path, e.g. :func:`gotrace_df.critical_path`'s, and zoom to it.

        ``segments`` needs ``goid``, ``category``, ``start_ns`` and ``end_ns``
        (absolute ns) and may have ``reason``, ``leaf``, ``stack`` and
        ``edge``. The timeline switches to the goroutine view and shows only
        the path's goroutines (scroll for more if they do not all fit): each
        segment outlined over its goroutine's lane in its category's colour
        (:func:`gotrace_df.widgets._model.path_color`), an arrow wherever the
        path passes from one goroutine to another, the spans off the path
        faded. The proc and thread views fade the same spans but draw no
        outlines. Pan, zoom and level of detail work as usual; any other
        highlight replaces the path, and None clears it.

        Examples
        --------
        >>> import gotrace_df as gt
        >>> from gotrace_df.widgets import Timeline
        >>> tr = gt.read_trace(gt.example_trace())
        >>> tl = Timeline(tr)
        >>> tl.highlight_path(gt.critical_path(tr, task=5), "task 5")
        >>> tl.view, tl.canvas.meta["path"]["label"]
        ('goroutine', 'task 5')
        """
        if segments is None:
            self.highlight(None)
            return
        path = Path.from_frame(segments, self.model.origin, label)
        self.model.path = path
        self._filter(self.model.path_filter(path))
        if self.view != "goroutine":
            self.set_view("goroutine")
        if len(path.start):
            self.zoom_to(float(path.start[0]), float(path.end[-1]), relative=True, pad=0.03)

    def show_path_segment(self, i: int) -> None:
        """Zoom to segment ``i`` (in time order) of the highlighted path, with
        its neighbours around it; scroll its goroutine's lane into view and
        select it (the path stays)."""
        p = self.model.path
        if p is None:
            raise ValueError("no path is highlighted")
        if not 0 <= i < len(p.start):
            raise IndexError(f"the path has {len(p.start)} segments, not {i + 1}")
        if self.view != "goroutine":
            self.set_view("goroutine")
        a, b, goid = float(p.start[i]), float(p.end[i]), int(p.goid[i])
        span = max(b - a, 1000.0)
        self._lane_offset = self._offset_showing(goid, a - span, b + span)
        self.canvas.selected = {"view": "goroutine", "key": goid, "t0": a, "t1": b}
        self.details_panel.value = render_path_segment(p, i)
        self.details_actions.children = []
        self.zoom_to(a, b, relative=True, pad=1.0)

    def _offset_showing(self, goid: int, t0: float, t1: float) -> int:
        """A lane offset of the goroutine view over ``[t0, t1]`` that shows
        ``goid``'s lane (the current one if it does)."""
        lanes = self.model.lane_list("goroutine", max(t0, 0.0), min(t1, self.duration))
        pos = np.flatnonzero(self.model.view("goroutine").keys[lanes] == goid)
        if pos.size == 0:
            return self._lane_offset
        k = int(pos[0])
        if self._lane_offset <= k < self._lane_offset + self._lane_rows:
            return self._lane_offset
        return max(0, k - self._lane_rows // 2)

    def clear_highlight(self) -> None:
        """Remove the highlight, path and marks."""
        self.model.marks = []
        self.goroutine_box.value = ""
        self.highlight(None)

    def show_task(self, task_id: int) -> None:
        """Highlight the goroutines of a task and zoom to its time range."""
        tasks = self.trace.tasks
        row = tasks.filter(pc.equal(tasks["task_id"], task_id)).to_pylist()
        if not row:
            raise KeyError(f"no task {task_id}")
        task = row[0]
        o = self.model.origin
        start = task["start"] if task["start"] is not None else o
        end = task["end"] if task["end"] is not None else o + int(self.duration)
        goids: set[int] = {g for g in (task["start_goid"], task["end_goid"]) if g is not None}
        reg = self.trace.regions
        goids.update(
            int(g)
            for g in int_values(reg.filter(pc.equal(reg["task_id"], task_id))["goid"])
            if g >= 0
        )
        logs = self.trace.logs
        goids.update(
            int(g)
            for g in int_values(logs.filter(pc.equal(logs["task_id"], task_id))["goid"])
            if g >= 0
        )
        label = f"task {task_id} {task['name'] or ''}".strip()
        self.highlight(
            Filter(
                label=label,
                goids=np.array(sorted(goids), np.int64),
                window=(start - o, end - o),
            )
        )
        self.zoom_to(start, end)

    def show_region(self, row: int) -> None:
        """Highlight a region's goroutine and zoom to it (``row`` of the regions
        table)."""
        r = self.trace.regions.slice(row, 1).to_pylist()[0]
        o = self.model.origin
        start = r["start"] if r["start"] is not None else o
        end = r["end"] if r["end"] is not None else o + int(self.duration)
        self.highlight(
            Filter(
                label=f"region {r['name']} on G{r['goid']}",
                goids=np.array([r["goid"]], np.int64),
                window=(start - o, end - o),
            )
        )
        self.zoom_to(start, end)

    def show_interval(
        self, goid: int, start: int, end: int, label: str, pad_ns: float | None = None
    ) -> None:
        """Highlight goroutine ``goid``, mark ``[start, end]`` (absolute ns) and
        zoom to it."""
        o = self.model.origin
        self.highlight(
            Filter(label=label, goids=np.array([goid], np.int64), window=(start - o, end - o))
        )
        if pad_ns is not None:
            self.zoom_to(start - pad_ns, end + pad_ns, pad=0.0)
        else:
            self.zoom_to(start, end)

    def show_window(self, start: int, end: int, label: str) -> None:
        """Mark ``[start, end]`` (absolute ns) and zoom to it."""
        o = self.model.origin
        self.highlight(Filter(label=label, window=(start - o, end - o)))
        span = max(end - start, 200_000)
        self.zoom_to(start - span * 0.25, end + span * 0.25, pad=0.0)

    def show_goroutine(self, goid: int) -> None:
        """Highlight one goroutine and zoom to its lifetime."""
        rows = np.flatnonzero(self.model.span_goids == goid)
        self.highlight(Filter(label=f"G{goid}", goids=np.array([goid], np.int64)))
        if rows.size:
            mine = self.trace.columns("spans", ["start", "end"], rows)
            start = pc.min(mine["start"]).as_py()
            end = pc.max(mine["end"]).as_py()
            self.zoom_to(start, end, pad=0.02)

    def show_stack(self, stack_id: int, label: str = "", states: Sequence[str] = ()) -> None:
        """Highlight the spans entered with stack ``stack_id`` (e.g. a blocking
        profile row) and zoom to the first of them."""
        sp = self.trace.columns("spans", ["stack_id", "state"])
        sid = int_values(sp["stack_id"])
        mask = sid == stack_id
        if states:
            st = np.isin(np.asarray(pc.cast(sp["state"], "string")), list(states))
            mask &= st
        rows = np.flatnonzero(mask)
        self.highlight(Filter(label=label or f"stack {stack_id}", span_mask=mask))
        if rows.size:
            ends = self.trace.columns("spans", ["start", "end"], rows)
            s, e = int_values(ends["start"]), int_values(ends["end"])
            i = int(np.argmax(e - s))
            self.zoom_to(int(s[i]), int(e[i]), pad=2.0)

    # -- internals ----------------------------------------------------------------

    def _zoom(self, factor: float) -> None:
        t0, t1 = self.viewport
        mid, half = (t0 + t1) / 2, (t1 - t0) / 2 * factor
        self._push(mid - half, mid + half, jump=True)

    def _on_view_button(self, change: dict[str, Any]) -> None:
        self.view = _VIEW_LABELS[change["new"]]
        self._lane_offset = 0
        t0, t1 = self.viewport
        self._push(t0, t1)

    def _on_goroutine_box(self, change: dict[str, Any]) -> None:
        text = str(change["new"]).strip().removeprefix("G").removeprefix("g")
        if not text:
            self.highlight(None)
        elif text.isdigit():
            self.highlight_goroutines([int(text)], f"G{text}")
        else:
            self.highlight_group(str(change["new"]).strip())

    @staticmethod
    def prepare(trace: Trace, view: str = "proc") -> TimelineModel:
        """What a Timeline of ``trace`` computes before its first payload,
        made without a widget (safe off the kernel's main thread, where the
        widgets are not): the model with the lanes of ``view`` built and its
        goroutine counters counting in the background. Hand it to
        ``Timeline(trace, view, model=...)``."""
        model = TimelineModel(trace)
        model.count_goroutines(background=True)
        model.view(view)
        return model

    def load_counters(self) -> None:
        """Count the goroutine counters (one pass over every event) and show
        them, if not yet: the first payload goes without them, and the page
        asks for them once it is up, unless they were loaded before (as a
        preheated viewer does while it waits for its page)."""
        if self.model.defer_counters:
            self.model.defer_counters = False
            t0, t1 = self.viewport
            self._push(t0, t1)

    def _on_msg(self, _w: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        if kind == "viewport":
            self._width = int(content.get("width", self._width))
            self._lane_offset = int(content.get("lane_offset", 0))
            self._lane_rows = int(content.get("lane_rows", self._lane_rows))
            self._push(float(content["t0"]), float(content["t1"]))
        elif kind == "ready":
            # The page is up: now pay for the goroutine counters.
            self.load_counters()
        elif kind == "click":
            self._click(int(content["lane"]), float(content["t"]), float(content.get("slack", 0.0)))

    def _push(self, t0: float, t1: float, jump: bool = False) -> None:
        start = time.perf_counter()
        meta, buf = self.model.payload(
            self.view, t0, t1, self._width, self._lane_offset, self._lane_rows
        )
        self._seq += 1
        meta["seq"] = self._seq
        meta["jump"] = jump
        self._lane_offset = int(meta["lane_offset"])
        size = TimelineModel.payload_size(meta, buf)
        with self.canvas.hold_sync():
            self.canvas.t0, self.canvas.t1 = meta["t0"], meta["t1"]
            self.canvas.payload = buf
            self.canvas.payload_bytes = size
            self.canvas.meta = meta
        self.last_payload_seconds = time.perf_counter() - start

    def _click(self, lane: int, t: float, slack: float) -> None:
        d = self.model.details(self.view, lane, t, slack)
        self.details = d
        if d is None:
            self.canvas.selected = {}
            self.details_panel.value = _details_placeholder()
            self.details_actions.children = []
            return
        sel: dict[str, Any] = {"view": self.view, "t0": d["start"], "t1": d["end"]}
        if lane < 0:
            sel["gc_lane"] = -lane - 1
        else:
            sel["key"] = int(self.model.view(self.view).keys[lane])
        self.canvas.selected = sel
        self.details_panel.value = render_details(d)
        if d["kind"] == "span":
            goid = int(d["goid"])
            auto = W.Layout(width="auto")
            b1 = W.Button(description=f"Highlight G{goid}", icon="crosshairs", layout=auto)
            b1.on_click(lambda _b: self.highlight_goroutines([goid], f"G{goid}"))
            b2 = W.Button(description="Goroutine view", icon="stream", layout=auto)
            b2.on_click(lambda _b: self._to_goroutine_view(goid))
            b3 = W.Button(description="Zoom to span", icon="search-plus", layout=auto)
            b3.on_click(lambda _b: self.zoom_to(float(d["start"]), float(d["end"]), relative=True))
            self.details_actions.children = [b1, b2, b3]
        else:
            b = W.Button(
                description="Zoom to range", icon="search-plus", layout=W.Layout(width="auto")
            )
            b.on_click(lambda _b: self.zoom_to(float(d["start"]), float(d["end"]), relative=True))
            self.details_actions.children = [b]

    def _to_goroutine_view(self, goid: int) -> None:
        self.highlight_goroutines([goid], f"G{goid}")
        self.set_view("goroutine")


def _btn() -> W.Layout:
    return W.Layout(width="36px")


def _details_placeholder() -> str:
    return (
        "<div class='gtdf-details gtdf-muted'>Click a span on the timeline to see its "
        "goroutine, state, reason, duration and stack.</div>"
    )


def short_file(path: str) -> str:
    """A source path as the viewer shows it: below GOROOT's or GOPATH's src, or
    the module cache (``net/http/server.go``); other paths whole."""
    for marker in ("/src/", "/pkg/mod/"):
        if marker in path:
            return path.rsplit(marker, 1)[1]
    return path


def render_stack(frames: list[dict[str, Any]], limit: int = 24) -> str:
    """HTML list of stack frames, innermost first."""
    if not frames:
        return "<div class='gtdf-muted'>no stack</div>"
    rows = []
    for f in frames[:limit]:
        fn = html.escape(str(f.get("function") or "?"))
        loc = html.escape(f"{short_file(str(f.get('file') or ''))}:{f.get('line')}")
        title = html.escape(str(f.get("file") or ""))
        rows.append(f"<li><code>{fn}</code> <span title='{title}'>{loc}</span></li>")
    more = (
        f"<li class='gtdf-muted'>… {len(frames) - limit} more</li>" if len(frames) > limit else ""
    )
    return f"<ol class='gtdf-stack'>{''.join(rows)}{more}</ol>"


def render_path_segment(p: Path, i: int) -> str:
    """The details panel for segment ``i`` of a highlighted path."""
    r = p.frame.iloc[i]

    def text(col: str) -> str:
        v = r.get(col)
        return MISSING if v is None or pd.isna(v) or v == "" else str(v)

    rows = [
        ("Category", text("category")),
        ("Reason", text("reason")),
        ("Woken by", text("leaf")),
        ("Start", display_duration(p.start[i])),
        ("Duration", display_duration(p.end[i] - p.start[i])),
        (
            "Came from",
            came_from(int(p.goid[i - 1]) if i else None, int(p.goid[i]), p.edge[i]) or MISSING,
        ),
        ("Stack", text("stack")),
    ]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return (
        f"<div class='gtdf-details'><div class='gtdf-details-head'><b>{html.escape(p.label)}"
        f"</b>, segment {i + 1} of {len(p.start)}: <b>G{int(p.goid[i])}</b></div>"
        f"<table class='gtdf-kv'>{table}</table></div>"
    )


def render_details(d: dict[str, Any]) -> str:
    """The details panel for a clicked span or GC range."""
    if d["kind"] == "gc":
        head = f"<b>{html.escape(str(d['name']))}</b>"
        rows = [
            ("Start", display_duration(d["start"])),
            ("Duration", display_duration(d["duration"])),
        ]
        if d.get("goid") is not None:
            rows.append(("Goroutine", f"G{d['goid']}"))
        stacks = ""
    else:
        state = html.escape(str(d["state"]))
        head = (
            f"<b>G{d['goid']}</b> <code>{html.escape(d['goroutine'] or '?')}</code> "
            f"<span class='gtdf-state gtdf-state-{state}'>{state}</span>"
        )
        rows = [
            ("Reason", d["reason"] or "–"),
            ("Start", display_duration(d["start"])),
            ("Duration", display_duration(d["duration"])),
            ("End", display_duration(d["end"])),
            ("Proc / thread", f"P{d['p'] if d['p'] is not None else '–'} / M{d['m']}"),
        ]
        if "p_held_until" in d:
            rows.append(
                (
                    "Held its P until",
                    f"{display_duration(d['p_held_until'])} (then the P was taken)",
                )
            )
        for r in d.get("regions", [])[:4]:
            rows.append(("Region", f"{r['name']} (task {r['task_id']})"))
        stacks = (
            "<div><div class='gtdf-h'>Stack when entering "
            f"{state}</div>{render_stack(d['stack'])}</div>"
            "<div><div class='gtdf-h'>Stack when leaving it</div>"
            f"{render_stack(d['end_stack'])}</div>"
        )
    table = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return (
        f"<div class='gtdf-details'><div class='gtdf-details-head'>{head}</div>"
        f"<div class='gtdf-details-body'><table class='gtdf-kv'>{table}</table>{stacks}</div></div>"
    )
