"""The viewer without a browser: LOD helpers, the timeline's messages, the tabs,
the voila app's trace resolution, and the tour notebook run top to bottom."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gotrace_df as gt
from gotrace_df.units import display_duration
from gotrace_df.widgets._lod import DIM, IntervalLanes, StepSeries, path_pieces
from gotrace_df.widgets._model import TimelineModel

ROOT = Path(__file__).resolve().parent.parent
CORPUS_TRACE = ROOT / "tests" / "data" / "traces" / "go1.26" / "example.trace"


@pytest.fixture(scope="module")
def trace() -> gt.Trace:
    return gt.read_trace(gt.example_trace())


@pytest.fixture(scope="module")
def model(trace: gt.Trace) -> TimelineModel:
    return TimelineModel(trace)


# -- LOD ------------------------------------------------------------------------


def _random_lanes(rng: np.random.Generator, nlanes: int, per_lane: int) -> tuple[Any, ...]:
    lanes, starts, ends, cats = [], [], [], []
    for lane in range(nlanes):
        gaps = rng.exponential(50.0, per_lane)
        durs = rng.exponential(30.0, per_lane)
        s = np.cumsum(gaps + np.concatenate(([0.0], durs[:-1])))
        lanes.append(np.full(per_lane, lane))
        starts.append(s)
        ends.append(s + durs)
        cats.append(rng.integers(0, 5, per_lane))
    return tuple(np.concatenate(x) for x in (lanes, starts, ends, cats))


@pytest.mark.parametrize("per_lane", [10, 3000, 200_000])
def test_lod_blocks_bounded_and_keep_busy_time(per_lane: int) -> None:
    rng = np.random.default_rng(per_lane)
    lane, start, end, cat = _random_lanes(rng, 3, per_lane)
    il = IntervalLanes(lane, start, end, cat, np.arange(lane.size), 3)
    t0, t1 = float(start.min()), float(end.max())
    for width in (50, 400, 1000):
        blocks = il.query([0, 1, 2], t0, t1, width)
        assert len(blocks) <= 2 * width * 3
        assert sum(blocks.counts) == len(blocks)
        assert (blocks.x0 >= 0).all() and (blocks.x1 <= width).all()
        # Busy time drawn (width x occupancy) matches the intervals' total.
        px = (t1 - t0) / width
        drawn = float(((blocks.x1 - blocks.x0) * blocks.occ / 255.0).sum()) * px
        total = float((end - start).sum())
        assert drawn == pytest.approx(total, rel=0.03)


def test_lod_exact_when_zoomed_in() -> None:
    il = IntervalLanes([0, 0, 0], [0, 100, 250], [90, 240, 400], [1, 2, 3], [7, 8, 9], 1)
    b = il.query([0], 0, 400, 400)
    assert list(b.ref) == [7, 8, 9]
    assert list(b.cat) == [1, 2, 3]
    assert (b.occ == 255).all()
    assert list(b.x0) == [0, 100, 250] and list(b.x1) == [90, 240, 400]
    # The interval at a time, and the nearest one within a slack.
    assert il.find(0, 120) == 1
    assert il.find(0, 95) == -1
    assert int(il.ref[il.find(0, 97, slack=6)]) == 8


def test_lod_highlight_dims_the_rest() -> None:
    il = IntervalLanes([0, 0], [0, 50], [40, 90], [1, 1], [0, 1], 1)
    il.set_highlight(np.array([True, False]))
    b = il.query([0], 0, 100, 100)
    assert list(b.cat) == [1, 1 | DIM]


@pytest.mark.parametrize("n", [2_000, 50_000])
def test_step_series_column_max(n: int) -> None:
    rng = np.random.default_rng(n)
    t = np.sort(rng.uniform(0, 1e6, n))
    v = rng.integers(0, 100, t.size).astype(float)
    s = StepSeries(t, v)
    out = s.column_max(2e5, 6e5, 100)
    edges = np.linspace(2e5, 6e5, 101)
    for j in range(100):
        inside = (t >= edges[j]) & (t < edges[j + 1])
        before = v[t < edges[j]][-1]
        exact = max(before, v[inside].max() if inside.any() else before)
        if n == 2_000:  # few points a column: exact
            assert out[j] == exact
        else:  # pre-reduced blocks of 16 points may shift a maximum by one block
            lo, hi = np.flatnonzero(inside)[[0, -1]]
            near = v[max(lo - 16, 0) : hi + 17].max()
            assert exact - 1e-9 <= out[j] <= near + 1e-9 or out[j] == exact


def test_path_pieces_exact_zoomed_in_and_bounded_zoomed_out() -> None:
    rng = np.random.default_rng(3)
    ends = np.cumsum(rng.exponential(40.0, 20_000))
    starts = np.concatenate(([0.0], ends[:-1]))
    # Zoomed in: every segment in view, as itself (clipped to the view).
    mid = (starts + ends) / 2
    t0, t1 = float(mid[500]), float(mid[520])
    ref, a, b = path_pieces(starts, ends, t0, t1, 4000)
    assert list(ref) == list(range(500, 521))
    assert a[0] == t0 and b[-1] == t1
    assert (a[1:] == starts[501:521]).all() and (b[:-1] == ends[500:520]).all()
    # Zoomed out: about two pieces a column, in time order, the path's whole
    # extent covered, and each narrow piece the longest of its column.
    width = 300
    ref, a, b = path_pieces(starts, ends, 0.0, float(ends[-1]), width)
    assert ref.size <= 2 * width and (np.diff(ref) > 0).all()
    px = float(ends[-1]) / width
    assert a[0] == 0.0 and b[-1] == pytest.approx(float(ends[-1]))
    assert (a[1:] - b[:-1] <= px).all()
    col = np.floor(starts / px)
    for r, x0 in zip(ref[:50], a[:50]):
        if ends[r] - starts[r] < px:
            same = col == col[r]
            assert ends[r] - starts[r] == (ends[same] - starts[same]).max()
            assert x0 == pytest.approx(col[r] * px)


# -- the timeline model -------------------------------------------------------------


@pytest.mark.parametrize("view", ["proc", "goroutine", "thread"])
def test_payload_bounded_by_width_and_lanes(model: TimelineModel, view: str) -> None:
    for zoom in (1, 10, 1000):
        width = 700
        span = model.duration / zoom
        meta, buf = model.payload(view, model.duration * 0.3, model.duration * 0.3 + span, width)
        lanes = len(meta["lanes"])
        assert meta["n"] == sum(lane["n"] for lane in meta["lanes"])
        assert meta["n"] <= 2 * width * lanes
        # Blocks are 10 bytes, counters 4 bytes a column per series.
        series = sum(len(c["series"]) for c in meta["counters"])
        assert len(buf) <= 10 * 2 * width * lanes + 4 * width * series + 4
        assert meta["view"] == view


def test_goroutine_view_lists_goroutines_alive_in_window(model: TimelineModel) -> None:
    whole, _ = model.payload("goroutine", 0, model.duration, 500, lane_rows=10)
    tiny, _ = model.payload("goroutine", 1e6, 1e6 + 1000, 500, lane_rows=10)
    assert whole["lane_total"] >= tiny["lane_total"] > 0
    assert len(whole["lanes"]) == 2 + 10  # GC and STW lanes first
    assert whole["lanes"][2]["name"].startswith("G")


def test_counters_present(model: TimelineModel) -> None:
    meta, _ = model.payload("proc", 0, model.duration, 300)
    titles = [c["title"] for c in meta["counters"]]
    assert titles == ["Goroutines", "Heap", "Threads"]
    heap = meta["counters"][1]
    assert {s["label"] for s in heap["series"]} == {"Heap in use", "Heap goal"}
    assert heap["max"] > 0


def test_deferred_counters_say_loading_until_counted(trace: gt.Trace) -> None:
    m = TimelineModel(trace)
    m.defer_counters = True
    meta, _ = m.payload("proc", 0, m.duration, 300)
    loading = {c["title"]: c["loading"] for c in meta["counters"]}
    assert loading == {"Goroutines": True, "Heap": False, "Threads": True}
    assert meta["counters"][0]["series"] == []
    m.defer_counters = False
    meta, _ = m.payload("proc", 0, m.duration, 300)
    assert not any(c["loading"] for c in meta["counters"])
    assert meta["counters"][0]["max"] > 0


# -- the widgets ----------------------------------------------------------------------


def test_timeline_traits_and_simulated_zoom(trace: gt.Trace) -> None:
    from gotrace_df.widgets import Timeline

    tl = Timeline(trace)
    assert tl.view == "proc"
    assert tl.canvas.duration == pytest.approx(trace.duration_ns)
    assert tl.canvas.meta["jump"] is True
    first = tl.canvas.meta["seq"]
    # What the browser sends after a wheel zoom (debounced on its side).
    width = 640
    tl.canvas._handle_custom_msg(
        {
            "type": "viewport",
            "t0": 10e6,
            "t1": 12e6,
            "width": width,
            "lane_offset": 0,
            "lane_rows": 20,
        },
        [],
    )
    meta = tl.canvas.meta
    assert meta["seq"] == first + 1
    assert (meta["t0"], meta["t1"], meta["width"]) == (10e6, 12e6, width)
    assert meta["n"] <= 2 * width * len(meta["lanes"])
    assert tl.canvas.payload_bytes == len(tl.canvas.payload) + len(
        __import__("json").dumps(meta, separators=(",", ":"))
    )
    assert tl.canvas.payload_bytes < 200_000


def test_click_span_shows_details(trace: gt.Trace) -> None:
    from gotrace_df.widgets import Timeline

    tl = Timeline(trace)
    spans = trace.to_pandas("spans")
    run = spans[(spans["state"] == "Running") & spans["p"].notna()]
    row = run.iloc[len(run) // 2]
    lane = int(np.flatnonzero(tl.model.view("proc").keys == int(row["p"]))[0])
    t = (int(row["start"]) + int(row["end"])) / 2 - trace.start_ns
    d = tl.click(lane, t)
    assert d is not None and d["kind"] == "span"
    assert d["goid"] == int(row["goid"])
    assert d["state"] == "Running"
    assert d["duration"] == int(row["end"]) - int(row["start"])
    assert isinstance(d["stack"], list) and isinstance(d["end_stack"], list)
    assert f"G{d['goid']}" in tl.details_panel.value
    assert tl.canvas.selected["key"] == int(row["p"])
    # A click on the GC lane gives the GC range.
    gc = trace.to_pandas("gc")
    mark = gc[gc["kind"] == "GC concurrent mark phase"].iloc[0]
    g = tl.click(-1, (int(mark["start"]) + int(mark["end"])) / 2 - trace.start_ns)
    assert g is not None and g["kind"] == "gc"
    # Nowhere near anything: no details.
    assert tl.click(lane, -1e9, slack=0) is None


def test_click_syscall_on_a_proc_shows_when_its_p_was_stolen() -> None:
    from gotrace_df.widgets import Timeline

    tr = gt.read_trace(ROOT / "tests" / "data" / "traces" / "go1.26" / "syscall.trace")
    tl = Timeline(tr)
    lanes = tl.model.view("proc").lanes
    span_end = tr.columns("spans", ["end"], lanes.ref)["end"].to_numpy() - tr.start_ns
    cut = np.flatnonzero(lanes.end < span_end)
    assert cut.size, "no syscall lost its P in this trace"
    pos = int(cut[0])
    lane = int(np.searchsorted(lanes.ptr, pos, side="right") - 1)
    d = tl.click(lane, (lanes.start[pos] + lanes.end[pos]) / 2)
    assert d is not None and d["state"] == "Syscall" and d["row"] == lanes.ref[pos]
    assert d["p_held_until"] == int(lanes.end[pos]) < d["end"]
    assert "Held its P until" in tl.details_panel.value
    # A syscall that kept its P says nothing of it.
    kept = np.flatnonzero(lanes.end == span_end)
    pos = int(kept[0])
    lane = int(np.searchsorted(lanes.ptr, pos, side="right") - 1)
    d = tl.click(lane, (lanes.start[pos] + lanes.end[pos]) / 2)
    assert d is not None and "p_held_until" not in d


def test_views_highlight_and_jumps(trace: gt.Trace) -> None:
    from gotrace_df.widgets import Timeline

    tl = Timeline(trace)
    tl.view_buttons.value = "Goroutines"
    assert tl.view == "goroutine" and tl.canvas.meta["view"] == "goroutine"
    tl.view_buttons.value = "Threads"
    assert tl.canvas.meta["view"] == "thread"
    tl.set_view("goroutine")
    tl.highlight_goroutines([1], "G1")
    assert tl.canvas.meta["lane_total"] == 1
    assert tl.canvas.meta["filter"] == "G1"
    tl.set_view("proc")
    cats = np.frombuffer(tl.canvas.payload, np.uint8)  # some blocks are faded
    assert cats.size > 0
    tasks = trace.to_pandas("tasks").dropna(subset=["start", "end"])
    task = tasks.iloc[3]
    tl.show_task(int(task["task_id"]))
    t0, t1 = tl.viewport
    assert t0 <= int(task["start"]) - trace.start_ns and t1 >= int(task["end"]) - trace.start_ns
    assert tl.canvas.meta["jump"] is True
    assert tl.canvas.meta["marks"] and "task" in tl.canvas.meta["marks"][0]["label"]
    tl.clear_highlight()
    assert tl.canvas.meta["filter"] == "" and not tl.canvas.meta["marks"]
    tl.goroutine_box.value = "main.worker"
    assert "main.worker" in tl.canvas.meta["filter"]


# A goroutine's state -> the category of a hand-made path segment.
_PATH_CATEGORY = {
    "Running": "running",
    "Runnable": "runnable",
    "Waiting": "blocked",
    "Syscall": "syscall",
}


def hand_made_path(trace: gt.Trace) -> pd.DataFrame:
    """A path made from real spans, as a critical path would run: W2 woke W1
    while W1 waited, then W1 woke G; the path covers W2 from W1's wait to that
    wakeup, W1 up to its wakeup of G, then G to the end of its next run. Each
    leg is cut into the pieces of its goroutine's spans; the first piece of
    each leg after the first says it was entered by a wakeup."""
    w = gt.wakeup_events(trace)
    w = w[w["waker_goid"].notna() & w["wait_start_ns"].notna() & (w["reason"] != "created")]
    for e in w.itertuples():
        inner = w[
            (w["wakee_goid"] == e.waker_goid)
            & (w["ts"] > e.wait_start_ns)
            & (w["ts"] < e.ts)
            & (w["waker_goid"] != e.wakee_goid)
        ]
        if len(inner):
            break
    else:
        raise AssertionError("no chain of two wakeups in the trace")
    i = inner.iloc[-1]
    sp = trace.to_pandas("spans")
    runs = sp[(sp["goid"] == e.wakee_goid) & (sp["state"] == "Running") & (sp["start"] >= e.ts)]
    legs = [
        (int(i["waker_goid"]), int(e.wait_start_ns), int(i["ts"])),
        (int(e.waker_goid), int(i["ts"]), int(e.ts)),
        (int(e.wakee_goid), int(e.ts), int(runs["end"].min())),
    ]
    rows = []
    for k, (goid, a, b) in enumerate(legs):
        mine = sp[(sp["goid"] == goid) & (sp["start"] < b) & (sp["end"] > a)]
        for j, r in enumerate(mine.itertuples()):
            rows.append(
                {
                    "goid": goid,
                    "category": _PATH_CATEGORY[str(r.state)],
                    "reason": r.reason or None,
                    "start_ns": max(int(r.start), a),
                    "end_ns": min(int(r.end), b),
                    "stack": f"main.leg{k} main.go:{j + 1}",
                    "edge": "unblocked" if k and j == 0 else None,
                }
            )
    return pd.DataFrame(rows)


def test_every_critical_path_category_and_edge_has_its_look() -> None:
    """Each category gt.critical_path can write has a colour of its own, and
    each edge words of its own (not the raw name)."""
    from gotrace_df.views.critical import CATEGORIES, EDGES
    from gotrace_df.widgets._model import PATH_COLORS, came_from

    assert set(CATEGORIES) <= set(PATH_COLORS)
    assert len({PATH_COLORS[c] for c in CATEGORIES}) == len(CATEGORIES)
    words = [came_from(1, 2, e) for e in EDGES]
    assert len(set(words)) == len(EDGES) and all(w != f"G1, {e}" for w, e in zip(words, EDGES))


def test_highlight_path_outlines_segments_and_arrows(trace: gt.Trace) -> None:
    from gotrace_df.widgets import Timeline

    path = hand_made_path(trace)
    goids = sorted(set(path["goid"]))
    assert len(goids) == 3
    o = trace.start_ns
    tl = Timeline(trace)
    tl.highlight_path(path, "my path")
    meta = tl.canvas.meta
    # The goroutine view, showing exactly the path's goroutines, zoomed to it.
    assert tl.view == "goroutine" and meta["view"] == "goroutine"
    assert sorted(lane["key"] for lane in meta["lanes"][2:]) == goids
    t0, t1 = tl.viewport
    assert t0 <= path["start_ns"].min() - o and t1 >= path["end_ns"].max() - o
    assert t1 - t0 < 1.2 * (path["end_ns"].max() - path["start_ns"].min())
    p = meta["path"]
    assert p["label"] == "my path" and meta["filter"] == "my path"
    # Zoomed to it, every segment is drawn as itself on its goroutine.
    drawn = [(s[2], s[0] + o, s[1] + o) for s in p["segments"]]
    assert drawn == list(zip(path["goid"], path["start_ns"], path["end_ns"]))
    cats = [p["categories"][s[3]]["label"] for s in p["segments"]]
    assert cats == list(path["category"])
    # An arrow at each change of goroutine, from the earlier to the later.
    change = np.flatnonzero(path["goid"].to_numpy()[1:] != path["goid"].to_numpy()[:-1]) + 1
    want = [
        [
            float(path["start_ns"][k] - o),
            int(path["goid"][k - 1]),
            int(path["goid"][k]),
            "unblocked",
        ]
        for k in change
    ]
    assert p["edges"] == want
    # The spans on the path stay bright, the rest of the goroutines' fade.
    sp = trace.to_pandas("spans")
    mask = tl.model.filter.span_mask
    assert mask is not None
    for row in np.flatnonzero(np.isin(sp["goid"], goids)):
        s = sp.iloc[row]
        mine = path[path["goid"] == s["goid"]]
        on = bool(((mine["start_ns"] < s["end"]) & (mine["end_ns"] > s["start"])).any())
        assert mask[row] == on
    assert not mask[~np.isin(sp["goid"], goids)].any()

    # Zoomed out over the whole trace: still drawn, bounded by the width.
    meta = tl.relayout(0, tl.duration, width=300)
    assert 0 < len(meta["path"]["segments"]) <= 2 * 300
    # One lane shown: the others' arrows still find where their lanes went.
    meta = tl.relayout(t0, t1, lane_rows=1)
    assert len(meta["lanes"]) == 3
    assert sorted(int(g) for g in meta["path"]["rank"]) == goids
    # Another highlight replaces the path; None clears it.
    tl.highlight_goroutines([goids[0]], "one")
    assert tl.canvas.meta["path"] is None
    tl.highlight_path(path)
    assert tl.canvas.meta["path"] is not None
    tl.highlight_path(None)
    assert tl.canvas.meta["path"] is None and tl.canvas.meta["filter"] == ""
    with pytest.raises(ValueError, match="start_ns"):
        tl.highlight_path(path.drop(columns=["start_ns"]))


def test_path_segment_opens_on_its_lane(trace: gt.Trace) -> None:
    from gotrace_df.widgets import Timeline

    path = hand_made_path(trace)
    o = trace.start_ns
    tl = Timeline(trace)
    tl.highlight_path(path)
    tl.relayout(*tl.viewport, lane_rows=1)
    last = len(path) - 1
    goid = int(path["goid"].iloc[last])
    a, b = int(path["start_ns"].iloc[last]) - o, int(path["end_ns"].iloc[last]) - o
    before = tl.viewport
    tl.show_path_segment(last)
    t0, t1 = tl.viewport
    assert t0 <= a and t1 >= b and t1 - t0 < before[1] - before[0]
    # Its lane scrolled into view, the segment selected, the path still drawn.
    assert [lane["key"] for lane in tl.canvas.meta["lanes"][2:]] == [goid]
    assert tl.canvas.selected == {"view": "goroutine", "key": goid, "t0": a, "t1": b}
    assert tl.canvas.meta["path"]["segments"]
    assert f"segment {last + 1} of {len(path)}" in tl.details_panel.value
    assert "main.leg2 main.go" in tl.details_panel.value
    with pytest.raises(IndexError):
        tl.show_path_segment(len(path))


def test_viewer_tabs_are_lazy_and_all_build(trace: gt.Trace) -> None:
    from gotrace_df.widgets import TraceViewer

    v = TraceViewer(trace)
    assert v.tab_titles == [
        "Timeline",
        "Goroutines",
        "Blocking profiles",
        "Tasks",
        "Regions",
        "MMU",
        "Summary",
        "Logs",
    ]
    assert set(v._built) == {"Timeline"}
    assert "example.trace" in v.header.value and "38,429 events" in v.header.value
    for i, title in enumerate(v.tab_titles[1:], start=1):
        v.tabs.selected_index = i  # what a click on the tab does
        assert title in v._built
        widget = v.tabs.children[i]
        text = _all_html(widget)
        assert "gtdf-error" not in text, f"{title}: {text[:500]}"
        assert v.progress_box.layout.display == "none"
    # Contents: the profile table has rows and a pprof download.
    prof = v.tab("Blocking profiles")
    tables = _tables(prof)
    assert tables and len(tables[0].rows) > 0
    assert "data:application/octet-stream;base64," in _all_html(prof)
    assert len(_tables(v.tab("Goroutines"))[0].rows) > 0
    summary = _all_html(v.tab("Summary"))
    assert "sched latency" in summary
    assert f"<div class='v'>{display_duration(trace.duration_ns)}</div>" in summary


def test_rows_jump_to_the_timeline(trace: gt.Trace) -> None:
    from gotrace_df.widgets import TraceViewer

    v = TraceViewer(trace)
    # A task row, then its button.
    tasks_tab = v.select_tab("Tasks")
    _, instances, _events = _tables(tasks_tab)
    instances.select(0)
    (button,) = [b for b in _buttons(tasks_tab) if b.description.startswith("Show task")]
    button.click()
    assert v.tabs.selected_index == 0
    assert "task" in v.timeline.canvas.meta["filter"]
    # A worst MMU window.
    mmu = v.select_tab("MMU")
    worst = _tables(mmu)[0]
    if worst.rows:
        worst.select(0)
        assert v.tabs.selected_index == 0
        assert "MMU window" in v.timeline.canvas.meta["filter"]
    # A blocking-profile stack.
    prof = v.select_tab("Blocking profiles")
    _tables(prof)[0].select(0)
    for b in _buttons(prof):
        if b.description == "Show on timeline":
            b.click()
            assert v.timeline.view == "goroutine"
    # A log line.
    logs = v.select_tab("Logs")
    _tables(logs)[0].select(0)
    assert v.tabs.selected_index == 0 and v.timeline.canvas.meta["filter"].startswith("log")


def test_tasks_tab_shows_a_tasks_critical_path(trace: gt.Trace) -> None:
    from plotly.graph_objects import FigureWidget

    from gotrace_df.widgets import TraceViewer
    from gotrace_df.widgets._model import path_color

    v = TraceViewer(trace)
    tab = v.select_tab("Tasks")
    _types, instances, _events = _tables(tab)
    instances.select(1)
    tid = int(instances.df["task_id"].iloc[1])
    kind = instances.df["type"].iloc[1]
    path = gt.critical_path(trace, task=tid)
    total = int(path["duration_ns"].sum())
    assert len(path) > 0 and f"Critical path of task {tid} {kind}" in _all_html(tab)
    assert display_duration(total) in _all_html(tab)
    by_cat, by_stack, segments = _tables(tab)[3:]
    want = gt.critical_path_breakdown(path, by="category")
    assert [r[0] for r in by_cat.rows] == [str(c) for c in want["category"]]
    assert [r[1] for r in by_cat.rows] == [int(n) for n in want["duration_ns"]]
    assert sum(r[2] for r in by_stack.rows) == sum(r[1] for r in by_cat.rows)
    assert len(segments.rows) == len(path)
    # The bars: the histogram, then by category and by stack in the
    # timeline's colours, largest at the top.
    _hist, cat_fig, stack_fig = [w for w in _walk(tab) if isinstance(w, FigureWidget)]
    bars = cat_fig.data[0]
    assert list(bars.y)[::-1] == [str(c) for c in want["category"]]
    assert list(bars.marker.color)[::-1] == [path_color(str(c)) for c in want["category"]]
    assert sum(bars.x) == pytest.approx(1.0)
    assert display_duration(int(want["duration_ns"].iloc[0])) in bars.hovertext[-1]
    assert len(stack_fig.data[0].y) == min(12, len(by_stack.rows))

    # Show on timeline: the path drawn there, in the goroutine view.
    (show,) = [b for b in _buttons(tab) if b.description == "Show on timeline"]
    show.click()
    tl = v.timeline
    assert v.tabs.selected_index == 0 and tl.view == "goroutine"
    meta = tl.canvas.meta
    assert meta["path"]["label"] == f"task {tid} {kind}"
    assert {lane["key"] for lane in meta["lanes"][2:]} <= set(path["goid"])
    # A segment row opens it there; the path stays.
    k = int(path["duration_ns"].to_numpy().argmax())
    v.tabs.selected_index = v.tab_titles.index("Tasks")
    segments.select(k)
    assert v.tabs.selected_index == 0
    a = int(path["start_ns"].iloc[k]) - trace.start_ns
    b = int(path["end_ns"].iloc[k]) - trace.start_ns
    t0, t1 = tl.viewport
    assert t0 <= a and t1 >= b
    assert tl.canvas.selected["key"] == int(path["goid"].iloc[k])
    assert tl.canvas.meta["path"]["segments"]


def test_goroutines_tab_shows_a_goroutines_critical_path(trace: gt.Trace) -> None:
    from gotrace_df.widgets import TraceViewer

    v = TraceViewer(trace)
    tab = v.select_tab("Goroutines")
    _groups, members = _tables(tab)
    members.select(0)
    goid = int(members.df["goid"].iloc[0])
    (button,) = [b for b in _buttons(tab) if b.description == f"Critical path of G{goid}"]
    button.click()
    path = gt.critical_path(trace, goroutine=goid)
    assert f"Critical path of G{goid}" in _all_html(tab)
    assert len(_tables(tab)[-1].rows) == len(path) > 0


def _walk(w: Any) -> list[Any]:
    out = [w]
    for c in getattr(w, "children", ()):
        out += _walk(c)
    return out


def _all_html(w: Any) -> str:
    return "\n".join(str(x.value) for x in _walk(w) if type(x).__name__ == "HTML")


def _tables(w: Any) -> list[Any]:
    return [x for x in _walk(w) if type(x).__name__ == "DataTable"]


def _buttons(w: Any) -> list[Any]:
    return [x for x in _walk(w) if type(x).__name__ == "Button"]


# -- the voila app ------------------------------------------------------------------------


def test_app_trace_resolution(tmp_path: Path) -> None:
    from gotrace_df import app

    env = {"PWD": str(ROOT), "QUERY_STRING": "trace=tests/data/traces/go1.26/example.trace"}
    assert app.requested_trace(env) == "tests/data/traces/go1.26/example.trace"
    assert app.resolve_trace(app.requested_trace(env) or "", env) == CORPUS_TRACE
    assert app.requested_trace({"GOTRACE_DF_TRACE": "x.trace"}) == "x.trace"
    assert app.requested_trace({}) is None
    # Outside the allowed directories: refused, whatever the file.
    outside = tmp_path / "secret.trace"
    outside.write_bytes(CORPUS_TRACE.read_bytes())
    with pytest.raises(app.AppError, match="outside the directories"):
        app.resolve_trace(str(outside), {"PWD": str(ROOT)})
    with pytest.raises(app.AppError, match="outside the directories"):
        app.resolve_trace("../../../etc/passwd", {"PWD": str(ROOT)})
    # ... unless configured.
    allowed = {"PWD": str(ROOT), "GOTRACE_DF_TRACE_DIRS": str(tmp_path)}
    assert app.resolve_trace(str(outside), allowed) == outside.resolve()
    # The trace the server was started with: its directory is allowed.
    started = {"PWD": str(ROOT), "GOTRACE_DF_TRACE": str(outside)}
    assert app.resolve_trace(app.requested_trace(started) or "", started) == outside.resolve()
    with pytest.raises(app.AppError, match="No trace file"):
        app.resolve_trace("tests/data/nope.trace", {"PWD": str(ROOT)})


def test_app_refuses_with_a_message(tmp_path: Path) -> None:
    from gotrace_df import app

    ui = app.viewer_app("/etc/passwd", {"PWD": str(ROOT)})
    assert ui.viewer is None
    assert "outside the directories" in html.unescape(ui.message.value)
    ok = app.main({"PWD": str(ROOT), "QUERY_STRING": "trace=" + str(CORPUS_TRACE)})
    assert ok.viewer is not None and "example.trace" in ok.viewer.header.value
    bad = app.ViewerApp()
    bad.load(b"not a trace")
    assert bad.viewer is None and "Not a readable" in bad.message.value


# -- the tour --------------------------------------------------------------------------------


def test_tour_notebook_runs() -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks" / "tour.ipynb", as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    )
    env_before = dict(os.environ)
    client.execute()
    assert dict(os.environ) == env_before
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    text = "\n".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "worst latency: G" in text and "slowest task:" in text


def test_histogram_bar_filters_by_its_bucket(trace: gt.Trace) -> None:
    """The Tasks tab draws views.plot_latency_histogram (cmd/trace's bucket
    labels); a click on a bar lists the tasks of that bucket only."""
    import plotly.callbacks
    from plotly.graph_objects import FigureWidget

    from gotrace_df.views.plots import plot_latency_histogram
    from gotrace_df.widgets import TraceViewer

    v = TraceViewer(trace)
    tab = v.select_tab("Tasks")
    types, instances, _events = _tables(tab)
    kind = types.rows[0][0]
    (fig,) = [w for w in _walk(tab) if isinstance(w, FigureWidget)]
    hist = gt.user_task_histogram(trace, kind)
    assert list(fig.data[0].x) == list(plot_latency_histogram(hist).data[0].x)
    full = len(instances.rows)
    i = int(np.argmax(hist["count"].to_numpy()))
    row = hist.iloc[i]
    points = plotly.callbacks.Points(point_inds=[int(row["bucket"] - hist["bucket"].min())])
    fig.data[0]._dispatch_on_click(points, None)
    assert len(instances.rows) == int(row["count"]) < full
    durations = [r[3] for r in instances.rows]
    assert all(row["lower_ns"] <= d < row["upper_ns"] for d in durations)
