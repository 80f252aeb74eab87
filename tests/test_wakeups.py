"""gt.wakeups: who woke whom, checked against a Go program whose wakeups are
known by construction and against edges counted from Go's own parser (the
oracle, x/exp/trace) on corpus traces."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from gotool import traced_run
from oracle_util import oracle_events

import gotrace_df as gt
from gotrace_df.views.wakeups import CREATED, LEAF_BY_REASON, RUNTIME_LEAF

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "traces"
PROGRAM = ROOT / "tests" / "data" / "programs" / "wakeups" / "main.go"
# The constants of that program.
ROUNDS, READERS, SLEEPS = 40, 5, 7


@pytest.fixture(scope="module")
def program_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/data/programs/wakeups built and run with Go 1.26: its trace."""
    return traced_run(PROGRAM, tmp_path_factory.mktemp("wakeups"))


def _count(df: pd.DataFrame, waker: str, wakee: str, reason: str) -> int:
    hit = df[(df["waker"] == waker) & (df["wakee"] == wakee) & (df["reason"] == reason)]
    assert len(hit) <= 1
    return int(hit["count"].sum())


def test_wakeups_known_by_construction(program_trace: Path) -> None:
    tr = gt.read_trace(program_trace)
    df = gt.wakeups(tr)
    assert _count(df, "main.producer", "main.consumer", "chan receive") == ROUNDS
    assert _count(df, "main.consumer", "main.producer", "chan send") == 0
    assert _count(df, "main.writer", "main.reader", "sync") == READERS
    assert _count(df, "main.writer", "main.reader", CREATED) == READERS
    assert _count(df, "(timer)", "main.sleeper", "sleep") == SLEEPS
    for wakee in ("main.consumer", "main.producer", "main.writer", "main.sleeper"):
        assert _count(df, "main.main", wakee, CREATED) == 1
    # Every sleep's wait is at least the 2 ms asked for.
    sleeps = df[(df["wakee"] == "main.sleeper") & (df["reason"] == "sleep")].iloc[0]
    assert sleeps["wait_ns"] >= SLEEPS * 2_000_000
    assert 2_000_000 <= sleeps["wait_p50_ns"] <= sleeps["wait_max_ns"]
    created = df[df["reason"] == CREATED]
    assert created["wait_ns"].isna().all() and created["wait_max_ns"].isna().all()

    by_g = gt.wakeups(tr, by="goroutine")
    pc = by_g[(by_g["reason"] == "chan receive") & (by_g["count"] == ROUNDS)]
    assert len(pc) == 1
    assert pc["waker"].iloc[0] == f"G{pc['waker_goid'].iloc[0]}"
    assert int(by_g["count"].sum()) == int(df["count"].sum())
    assert our_edges(tr) == oracle_edges(program_trace)


def oracle_edges(path: Path, window: tuple[int, int] | None = None) -> dict[tuple, list[int]]:
    """(waker, wakee goid, reason) -> [count, total wait] from Go's events: the
    waker is the event's goroutine, or the leaf its block reason names; a wait
    first seen through a status event began at the last Sync."""
    events, error = oracle_events(path)
    assert error is None
    entered: dict[int, tuple[str, int]] = {}
    edges: dict[tuple, list[int]] = {}
    sync = 0
    for e in events:
        if e["kind"] == "Sync":
            sync = e["t"]
        if e["kind"] != "StateTransition" or e["resource"] != "Goroutine":
            continue
        g, t, to = e["rid"], e["t"], e["to"]
        # A Waiting -> Waiting status (a later generation's) continues the wait.
        if to == "Waiting" and e["from"] != "Waiting":
            entered[g] = (e["reason"], sync if e["from"] == "Undetermined" else t)
        if e["from"] == "Waiting" and to == "Runnable":
            reason, since = entered[g]
            wait = t - since
        elif e["from"] == "NotExist" and to == "Runnable":
            reason, wait = CREATED, 0
        else:
            continue
        if window is not None and not window[0] <= t <= window[1]:
            continue
        waker = e["g"] if e["g"] >= 0 else LEAF_BY_REASON.get(reason, RUNTIME_LEAF)
        edge = edges.setdefault((waker, g, reason), [0, 0])
        edge[0] += 1
        edge[1] += wait
    return edges


def our_edges(tr: gt.Trace, **window: int) -> dict[tuple, list[int]]:
    df = gt.wakeups(tr, by="goroutine", **window)
    waker = df["waker_goid"].astype(object).where(df["waker_goid"].notna(), df["waker"])
    return {
        (w, int(g), r): [int(c), int(0 if pd.isna(t) else t)]
        for w, g, r, c, t in zip(
            waker, df["wakee_goid"], df["reason"], df["count"], df["wait_ns"], strict=True
        )
    }


CASES = [
    CORPUS / "go1.22" / "sync.trace",
    CORPUS / "go1.24" / "net.trace",
    CORPUS / "go1.25" / "churn.trace",
    CORPUS / "go1.26" / "preexisting.trace",
    CORPUS / "go1.27" / "example.trace",
]


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_wakeups_equal_go(path: Path) -> None:
    tr = gt.read_trace(path)
    want = oracle_edges(path)
    assert our_edges(tr) == want
    # The group view is the same edges summed by name.
    assert int(gt.wakeups(tr)["count"].sum()) == sum(c for c, _ in want.values())
    leaves = {w for w, _, _ in want if isinstance(w, str)}
    assert leaves <= {*LEAF_BY_REASON.values(), RUNTIME_LEAF}


def test_wakeups_window_equals_go() -> None:
    path = CORPUS / "go1.26" / "sync.trace"
    tr = gt.read_trace(path)
    lo = tr.start_ns + tr.duration_ns // 3
    hi = tr.start_ns + 2 * tr.duration_ns // 3
    want = oracle_edges(path, (lo, hi))
    assert want and want != oracle_edges(path)
    assert our_edges(tr, start_ns=lo, end_ns=hi) == want


def test_wakeups_load_into_duckdb() -> None:
    import duckdb

    df = gt.wakeups(gt.read_trace(gt.example_trace()))
    got = duckdb.sql(
        "select waker::varchar as w, sum(count)::bigint as n from df group by w order by n desc, w"
    ).fetchall()
    want = df.groupby("waker", observed=True)["count"].sum()
    assert got == sorted(((str(w), int(n)) for w, n in want.items()), key=lambda x: (-x[1], x[0]))


def test_wakeups_bad_by() -> None:
    tr = gt.read_trace(gt.example_trace())
    with pytest.raises(ValueError, match="by must be"):
        gt.wakeups(tr, by="proc")


def test_plot_wakeups() -> None:
    tr = gt.read_trace(gt.example_trace())
    df = gt.wakeups(tr)
    fig = gt.plot_wakeups(df, top=5)
    bar = fig.data[0]
    assert list(bar.x) == df["count"].head(5).tolist()[::-1]
    assert len(bar.y) == 5
