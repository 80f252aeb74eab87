"""gt.critical_path: checked against a Go program whose requests' critical
paths are known by construction (tests/data/programs/critpath), and on every
task of the corpus traces against the spans table and Go's own per-goroutine
scheduler wait (goroutine_stats, equal to go tool trace's).

Tolerance: the program's designed waits (time.Sleep, a blocking read held
open by a sleeping writer) last at least their designed time by
construction, so that is the lower bound; the upper bound adds SLACK for
timer and scheduling delay on a busy 2-core CI machine (the tracer's own
timestamps are exact to its clock, a few tens of ns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gotool import traced_run

import gotrace_df as gt
from gotrace_df.views.critical import CATEGORIES, TASK_ROW

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "traces"
PROGRAM = ROOT / "tests" / "data" / "programs" / "critpath" / "main.go"
MS = 1_000_000
# The constants of that program.
HOLD, SLOW = 20 * MS, 30 * MS
SLACK = 40 * MS
# The state of the spans row each category is a piece of.
STATE = {
    "running": "Running",
    "GC assist": "Running",
    "runnable": "Runnable",
    "syscall": "Syscall",
    "blocked": "Waiting",
}


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> gt.Trace:
    """tests/data/programs/critpath built and run with Go 1.26: its trace."""
    return gt.read_trace(traced_run(PROGRAM, tmp_path_factory.mktemp("critpath")))


def _task(tr: gt.Trace, name: str) -> tuple[int, pd.DataFrame]:
    """The ID and the critical path (with each goroutine's start function as
    ``fn``) of the one task of type ``name``."""
    t = tr.to_pandas("tasks")
    (task_id,) = t.loc[t["name"] == name, "task_id"]
    path = gt.critical_path(tr, task=int(task_id))
    names = tr.to_pandas("goroutines").set_index("goid")["name"].astype(str)
    return int(task_id), path.assign(fn=path["goid"].map(names))


def _time(path: pd.DataFrame, **where: str) -> int:
    hit = np.ones(len(path), dtype=bool)
    for col, value in where.items():
        hit &= (path[col] == value).to_numpy()
    return int(path.loc[hit, "duration_ns"].sum())


def test_chain_leads_to_the_mutex_holders_sleep(program: gt.Trace) -> None:
    _, path = _task(program, "chain")
    # request <- feeder (chan send) <- holder (mutex unlock), back to front.
    fns = path["fn"].to_numpy()
    visits = [f for i, f in enumerate(fns) if i == 0 or f != fns[i - 1]]
    assert visits == [
        "main.request.func1",
        "main.feeder",
        "main.holder",
        "main.feeder",
        "main.request.func1",
    ]
    changes = path[path["fn"] != path["fn"].shift()].iloc[1:]
    assert changes["edge"].astype(str).tolist() == ["waited", "waited", "unblocked", "unblocked"]
    assert (changes["edge_ns"] == changes["start_ns"]).all()
    slept = _time(path, fn="main.holder", category="blocked", reason="sleep", leaf="(timer)")
    assert HOLD <= slept <= HOLD + SLACK
    top = gt.critical_path_breakdown(path, by=("category", "stack")).iloc[0]
    assert top["category"] == "blocked" and top["duration_ns"] == slept
    assert str(top["stack"]).startswith("main.holder main.go:")
    (sid,) = path.loc[path["category"] == "blocked", "stack_id"].unique()
    functions = [f["function"] for f in program.stack(int(sid))]
    assert functions.index("time.Sleep") < functions.index("main.holder")


def test_fanout_goes_through_the_slowest_worker(program: gt.Trace) -> None:
    _, path = _task(program, "fanout")
    assert "main.slowWorker" in set(path["fn"])
    assert "main.worker" not in set(path["fn"])
    last = path[path["fn"] != path["fn"].shift()].iloc[-1]
    assert last["fn"] == "main.request.func1" and last["edge"] == "unblocked"
    slept = _time(path, fn="main.slowWorker", category="blocked", reason="sleep")
    assert SLOW <= slept <= SLOW + SLACK


def test_syscall_dominates_a_blocking_read(program: gt.Trace) -> None:
    _, path = _task(program, "syscall")
    in_syscall = _time(path, category="syscall")
    assert HOLD <= in_syscall <= HOLD + SLACK
    top = gt.critical_path_breakdown(path).iloc[0]
    assert top["category"] == "syscall" and top["share"] > 0.5


def test_gc_assist_is_the_assist_ranges_on_the_path(program: gt.Trace) -> None:
    _, path = _task(program, "assist")
    assist = _time(path, category="GC assist")
    assert assist > 0
    # The assist ranges' overlap with the path's running time on each goroutine.
    gc = program.to_pandas("gc")
    gc = gc[gc["kind"] == "GC mark assist"]
    ranges = {g: r for g, r in gc.groupby("goid")}
    overlap = 0
    executing = path[path["category"].isin(["running", "GC assist"])]
    for seg in executing.itertuples():
        r = ranges.get(seg.goid)
        if r is None:
            continue
        end = r["end"].fillna(program.end_ns).to_numpy(dtype=np.int64)
        lo = np.maximum(r["start"].to_numpy(dtype=np.int64), seg.start_ns)
        overlap += int(np.clip(np.minimum(end, seg.end_ns) - lo, 0, None).sum())
    assert assist == overlap


def test_by_task_type_aggregates_the_paths() -> None:
    tr = gt.read_trace(CORPUS / "go1.26" / "tasks.trace")
    names = tr.to_pandas("tasks")["name"].astype(str)
    kind = names.value_counts().index[0]
    agg = gt.critical_path(tr, by_task_type=kind)
    paths = gt.critical_paths(tr)
    mine = paths[paths["task"] == kind]
    per_task = mine.groupby("task_id")["duration_ns"].sum()
    total = agg.iloc[0]
    assert total["category"] == TASK_ROW
    assert total["tasks"] == len(per_task) and total["total_ns"] == per_task.sum()
    for label, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
        assert total[f"{label}_ns"] == np.percentile(per_task, q * 100, method="inverted_cdf")
    by_cat = mine.groupby("category", observed=True)["duration_ns"].sum()
    got = agg.iloc[1:].set_index("category")["total_ns"]
    assert got.to_dict() == {c: v for c, v in by_cat.items() if v}
    assert agg["total_ns"].iloc[1:].is_monotonic_decreasing
    stacks = gt.critical_path(tr, by_task_type=kind, by=("category", "stack"))
    assert stacks["total_ns"].iloc[1:].sum() == per_task.sum()


CORPUS_TASKS = sorted(
    p for p in CORPUS.glob("*/*.trace") if p.stem in ("tasks", "example", "flightrec", "gotest")
)


@pytest.mark.parametrize("path", CORPUS_TASKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_paths_are_pieces_of_spans(path: Path) -> None:
    tr = gt.read_trace(path)
    _check_paths(tr)


def test_program_paths_are_pieces_of_spans(program: gt.Trace) -> None:
    _check_paths(program)


def _check_paths(tr: gt.Trace) -> None:
    """Every task's path partitions its window, every segment but "before
    trace" lies in a spans row of its goroutine and state, and no goroutine
    has more scheduler latency on a path than Go counts for it in all."""
    paths = gt.critical_paths(tr)
    tasks = tr.to_pandas("tasks").dropna(subset=["end"]).set_index("task_id")
    assert set(paths["task_id"]) <= set(tasks.index)
    for task_id, p in paths.groupby("task_id", sort=False):
        start = tasks.at[task_id, "start"]
        start = tr.start_ns if pd.isna(start) else int(start)
        assert p["start_ns"].iloc[0] == start and p["end_ns"].iloc[-1] == tasks.at[task_id, "end"]
        assert (p["start_ns"].to_numpy()[1:] == p["end_ns"].to_numpy()[:-1]).all()
        assert (p["duration_ns"] > 0).all()
    assert set(paths["category"].cat.categories) == set(CATEGORIES)

    spans = tr.to_pandas("spans")[["goid", "state", "start", "end"]]
    spans = spans.assign(state=spans["state"].astype(str)).sort_values("start")
    known = paths[paths["category"] != "before trace"].sort_values("start_ns")
    seg = pd.merge_asof(
        known, spans, left_on="start_ns", right_on="start", by="goid", allow_exact_matches=True
    )
    assert (seg["end_ns"] <= seg["end"]).all()
    assert (seg["state"] == seg["category"].astype(str).map(STATE)).all()

    # The edges the path follows are wakeup_events' edges.
    ev = gt.wakeup_events(tr)
    edges = set(
        zip(ev["ts"], ev["waker_goid"].astype("Int64"), ev["wakee_goid"], ev["reason"] == "created")
    )
    prev = paths["goid"].shift()
    for kind in ("unblocked", "created"):
        hop = paths[paths["edge"] == kind]
        for ts, waker, wakee in zip(hop["edge_ns"], prev[hop.index], hop["goid"], strict=True):
            assert (ts, waker, wakee, kind == "created") in edges

    wait = gt.goroutine_stats(tr).set_index("goid")["sched_wait_ns"]
    runnable = paths[paths["category"] == "runnable"]
    on_path = runnable.groupby(["task_id", "goid"])["duration_ns"].sum().reset_index()
    assert (on_path["duration_ns"].to_numpy() <= wait.loc[on_path["goid"]].to_numpy()).all()


def test_goroutine_window() -> None:
    tr = gt.read_trace(gt.example_trace())
    g = int(tr.to_pandas("tasks")["end_goid"].iloc[0])
    life = gt.critical_path(tr, goroutine=g)
    spans = tr.to_pandas("spans")
    mine = spans[spans["goid"] == g]
    assert life["start_ns"].iloc[0] == max(mine["start"].min(), tr.start_ns)
    assert life["end_ns"].iloc[-1] == mine["end"].max()
    lo, hi = int(life["start_ns"].iloc[0]), int(life["end_ns"].iloc[-1])
    mid = (lo + hi) // 2
    part = gt.critical_path(tr, goroutine=g, start_ns=lo, end_ns=mid)
    assert part["duration_ns"].sum() == mid - lo
    assert part["goid"].iloc[-1] == g


def test_bad_arguments() -> None:
    tr = gt.read_trace(gt.example_trace())
    with pytest.raises(ValueError, match="exactly one"):
        gt.critical_path(tr)
    with pytest.raises(ValueError, match="exactly one"):
        gt.critical_path(tr, task=1, goroutine=1)
    with pytest.raises(ValueError, match="no task"):
        gt.critical_path(tr, task=10**9)
    with pytest.raises(ValueError, match="no goroutine"):
        gt.critical_path(tr, goroutine=10**9)
    with pytest.raises(ValueError, match="go with goroutine"):
        gt.critical_path(tr, task=1, start_ns=0)
    with pytest.raises(ValueError, match="by must be"):
        gt.critical_path(tr, by_task_type="search", by="reason")
    with pytest.raises(ValueError, match="no ended task"):
        gt.critical_path(tr, by_task_type="no such type")


def test_no_tasks() -> None:
    tr = gt.read_trace(CORPUS / "go1.26" / "sync.trace")
    paths = gt.critical_paths(tr)
    assert len(paths) == 0 and "category" in paths.columns
