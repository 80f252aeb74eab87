"""Reading the tables the core stores by reference without building them,
against the built tables (which the parser tests hold equal to Go's parser):
the timeline's lane index (``_core.span_lanes``, read straight from the events
through the spans' references) and counters, ``Trace.columns``,
``Trace.event_values``; and the views never building the events' task_id and
value columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from gotool import CORPUS, case_id

import gotrace_df as gt
from gotrace_df.widgets._lod import IntervalLanes
from gotrace_df.widgets._model import STATES, TimelineModel

TRACES = sorted(CORPUS.glob("go1.*/*.trace"))

# Lane sets: (states kept, lane column, category per state: -1 the goroutine
# group's). The proc view also ends Syscall spans where their P is stolen,
# which tests/test_timeline_gotool.py checks against go tool trace.
VIEWS = {
    "proc": (("Running",), "p", (-1,)),
    "thread": (("Running", "Syscall"), "m", (-1, 200)),
    "goroutine": (STATES, None, tuple(range(len(STATES)))),
}


def _expected(model: TimelineModel, spans: pa.Table, view: str) -> tuple[np.ndarray, IntervalLanes]:
    """The view's lanes from the public spans table, in numpy."""
    states, lane, cats = VIEWS[view]
    state = np.array([STATES.index(s) if s in STATES else -1 for s in spans["state"].to_pylist()])
    wanted = [STATES.index(s) for s in states]
    keep = np.isin(state, wanted)
    key = np.array(spans[lane or "goid"].fill_null(-1).to_pylist(), np.int64)
    if lane:
        keep &= key >= 0
    rows = np.flatnonzero(keep)
    goid = np.array(spans["goid"].to_pylist(), np.int64)[rows]
    group = model._g_cat[np.maximum(model.goroutine_row(goid), 0)]
    group = np.where(model.goroutine_row(goid) >= 0, group, len(model.group_categories) - 1)
    state_cat = np.array(cats)[np.searchsorted(wanted, state[rows])] if len(wanted) > 1 else -1
    cat = np.where(np.asarray(state_cat) >= 0, state_cat, group)
    start = np.array(spans["start"].to_pylist(), np.int64)[rows] - model.origin
    end = np.array(spans["end"].to_pylist(), np.int64)[rows] - model.origin
    keys, lanes = np.unique(key[rows], return_inverse=True)
    return keys, IntervalLanes(lanes, start, end, cat, rows, len(keys))


@pytest.mark.parametrize("path", TRACES, ids=case_id)
def test_lane_index_equals_lanes_from_spans(path: Path) -> None:
    tr = gt.read_trace(path, progress=False)
    model = TimelineModel(tr)
    spans = tr.spans
    for view, (states, lane, cats) in VIEWS.items():
        keys, got = model._span_lanes(states, lane, cats)
        want_keys, want = _expected(model, spans, view)
        assert keys.tolist() == want_keys.tolist(), view
        assert got.ptr.tolist() == want.ptr.tolist(), view
        # Within a lane, intervals with equal starts may come in either order.
        lane_of = np.repeat(np.arange(len(keys)), np.diff(got.ptr))
        g = np.lexsort((got.ref, got.start, lane_of))
        w = np.lexsort((want.ref, want.start, lane_of))
        for name in ("ref", "cat", "start", "end"):
            assert getattr(got, name)[g].tolist() == getattr(want, name)[w].tolist(), (view, name)
        same_lane = np.diff(lane_of) == 0
        assert (np.diff(got.start)[same_lane] >= 0).all(), view


@pytest.mark.parametrize("path", TRACES[::7], ids=case_id)
def test_columns_equal_the_tables(path: Path) -> None:
    tr = gt.read_trace(path, progress=False)
    fresh = gt.read_trace(path, progress=False)
    n = tr.row_counts()["spans"]
    rows = np.random.default_rng(n).integers(0, max(n, 1), size=min(n, 50))
    for cols in (["state"], ["goid", "start", "end", "p"], ["reason", "m", "end_stack_id"]):
        # Before the spans table exists (gathered column by column) ...
        part = fresh.columns("spans", cols, rows)
        assert part.to_pylist() == tr.spans.select(cols).take(rows).to_pylist()
        assert fresh.columns("spans", cols).to_pylist() == tr.spans.select(cols).to_pylist()
    assert "task_id" not in fresh._tables["events"].column_names  # still not expanded
    ev = fresh.columns("events", ["ts", "kind"], rows)
    assert ev.to_pylist() == tr.events.select(["ts", "kind"]).take(rows).to_pylist()
    # ... and after (read from the table).
    assert fresh.spans.num_rows == n
    want = tr.spans.select(["goid"]).take(rows).to_pylist()
    assert fresh.columns("spans", ["goid"], rows).to_pylist() == want
    with pytest.raises(KeyError):
        fresh.columns("spans", ["nope"])


def test_model_on_a_trace_read_back_from_parquet(tmp_path: Path) -> None:
    tr = gt.read_trace(gt.example_trace())
    tr.to_parquet(tmp_path / "pq")
    back = gt.read_parquet(tmp_path / "pq")
    for view in ("proc", "thread", "goroutine"):
        a = TimelineModel(tr).payload(view, 0, 1e12, 600)
        b = TimelineModel(back).payload(view, 0, 1e12, 600)
        assert a[1] == b[1], view


@pytest.mark.parametrize("path", TRACES, ids=case_id)
def test_goroutine_counters_equal_counts_from_events(path: Path) -> None:
    tr = gt.read_trace(path, progress=False)
    counters = TimelineModel(tr).counters()
    ev = tr.events
    is_g = np.array([r == "Goroutine" for r in ev["resource"].to_pylist()])
    ts = np.array(ev["ts"].to_pylist(), np.int64)[is_g] - tr.start_ns
    frm = np.array(ev["from_state"].to_pylist(), object)[is_g]
    to = np.array(ev["to_state"].to_pylist(), object)[is_g]
    for state in ("Running", "Runnable", "Syscall"):
        d = (to == state).astype(int) - (frm == state).astype(int)
        changed = d != 0
        got_t, got_n, _ = counters[state].levels[0]
        assert got_t.tolist() == ts[changed].astype(float).tolist(), state
        assert got_n.tolist() == np.cumsum(d[changed]).tolist(), state


def test_gather_reads_chunks_with_their_own_dictionaries() -> None:
    from gotrace_df._expand import gather

    a = pa.chunked_array(
        [
            pa.array(["x", "y", "x"]).dictionary_encode(),
            pa.array(["z", "x"]).dictionary_encode(),
        ]
    )
    table = pa.table({"s": a, "n": pa.chunked_array([[1, 2, 3], [4, 5]])})
    out = gather(table, ["s", "n"], np.array([4, 0, 3, -1]))
    assert out.to_pylist() == [
        {"s": "x", "n": 5},
        {"s": "x", "n": 1},
        {"s": "z", "n": 4},
        {"s": None, "n": None},
    ]


@pytest.mark.parametrize("path", TRACES[::5], ids=case_id)
def test_event_values_equal_the_built_columns(path: Path) -> None:
    tr = gt.read_trace(path, progress=False)
    fresh = gt.read_trace(path, progress=False)
    for name in ("task_id", "value"):
        rows, values = fresh.event_values(name)
        col = tr.events[name]
        assert rows.tolist() == np.flatnonzero(col.is_valid().to_numpy()).tolist(), name
        assert values.tolist() == col.take(rows).to_pylist(), name
    with pytest.raises(KeyError):
        fresh.event_values("ts")


def test_views_do_not_build_the_events_columns() -> None:
    tr = gt.read_trace(gt.example_trace())
    gt.goroutine_analysis(tr)
    for kind in ("net", "sync", "syscall", "sched"):
        gt.blocking_profile(tr, kind)
    gt.user_tasks(tr)
    gt.user_regions(tr)
    gt.mmu(tr)
    gt.summary(tr)
    assert "task_id" not in tr._tables["events"].column_names
    assert "value" not in tr._tables["events"].column_names
