"""Goroutine analysis against the real `go tool trace` of each Go release.

For corpus traces of every Go version 1.22-1.27, `go tool trace` of the same
release serves /goroutines and /goroutine?name=<group>; `goroutine_analysis` and
`goroutine_stats` (with ``go_version`` of that release) must print the same
numbers. Every time on these pages is a Go Duration string, which is exact, so
times are compared to the nanosecond; the group's execution-time share is
printed with `%.2f%%` and compared at that precision. Rows whose sort key ties
are in Go map order on the page, so rows are matched by goroutine ID and groups
by name, and only the order of the sort keys is checked.

cmd/trace's summary quirks that we copy on purpose (so they are tested here)
are listed in gotrace_df/views/goroutines.py; none is left out.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import damage
import numpy as np
import pandas as pd
import pytest
from cmdtrace_pages import goroutine_page, goroutines_page, parse_duration
from gotool import CORPUS, case_id, corpus_cases, served, trace_version

import gotrace_df as gt
from gotrace_df.units import go_duration

# Every version gets these; the larger scenarios run for some versions only.
SCENARIOS = ["tasks", "example", "sync", "syscall", "net", "gc", "preexisting"]
EXTRA = {
    "1.22": ["churn"],
    "1.24": ["generations"],
    "1.25": ["flightrec"],
    "1.27": ["cpuprof", "coro"],
    "v1": ["http_1_21_good", "stress_start_stop_1_11_good"],
}

CASES = corpus_cases(SCENARIOS, EXTRA)

_STAT = {
    "Execution time": "exec_ns",
    "Sched wait time": "sched_wait_ns",
    "Syscall execution time": "syscall_ns",
    "Block time (syscall)": "syscall_block_ns",
    "Unknown time": "unknown_ns",
}


@pytest.fixture(scope="module", params=CASES, ids=[case_id(p) for p in CASES])
def case(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    yield from served(request.param)


def _stat_columns(df: pd.DataFrame) -> dict[str, str]:
    """cmd/trace's NonOverlappingStats column -> our column, for the columns
    this group has (a block reason literally named "syscall" would be summed
    into "Block time (syscall)" by cmd/trace; none occurs)."""
    cols = dict(_STAT)
    for c in df.columns:
        if c.startswith("block_ns["):
            reason = c[len("block_ns[") : -1]
            assert reason != "syscall"
            cols[f"Block time ({reason})"] = c
    return cols


def _present(df: pd.DataFrame, prefix: str) -> list[str]:
    return [c for c in df.columns if c.startswith(prefix)]


def test_goroutines_page(case) -> None:  # type: ignore[no-untyped-def]
    path, version, tr, server = case
    page = goroutines_page(server.text("/goroutines"))
    ours = gt.goroutine_analysis(tr, go_version=version)
    mine = {r.name: (int(r.count), int(r.exec_ns)) for r in ours.itertuples()}
    assert mine == page
    # Sorted by execution time, descending, as the page.
    assert list(ours["exec_ns"]) == sorted(ours["exec_ns"], reverse=True)


def test_goroutine_pages(case) -> None:  # type: ignore[no-untyped-def]
    path, version, tr, server = case
    groups = gt.goroutine_analysis(tr, go_version=version)
    checked = 0
    for g in groups.itertuples():
        page = goroutine_page(server.text(f"/goroutine?name={quote(g.name, safe='')}"))
        ours = gt.goroutine_stats(tr, g.name, go_version=version)
        assert page.count == len(ours) == g.count
        assert page.exec_percent == f"{g.exec_ns / groups['exec_ns'].sum() * 100:.2f}%"

        # Breakdown: the same columns, and per goroutine the same durations.
        cols = _stat_columns(ours)
        assert sorted(page.breakdown.columns) == sorted(cols)
        by_goid = ours.set_index("goid")
        seen = set()
        totals = []
        for row in page.breakdown.rows:
            goid = int(row[0])
            seen.add(goid)
            mine = by_goid.loc[goid]
            totals.append(parse_duration(row[1]))
            # Our Duration formatting (used in plots) prints what Go prints.
            assert all(go_duration(parse_duration(t)) == t for t in row[1:])
            assert parse_duration(row[1]) == mine["total_ns"], (goid, "Total")
            for name, text in zip(page.breakdown.columns, row[2:], strict=True):
                assert parse_duration(text) == mine[cols[name]], (goid, name)
        assert seen == set(ours["goid"])
        assert totals == sorted(totals, reverse=True)

        # Special ranges: goroutines with any range time, the range columns.
        rcols = _present(ours, "range_ns[")
        has = ours[ours[rcols].sum(axis=1) != 0] if rcols else ours.iloc[:0]
        assert sorted(page.ranges.columns) == sorted(c[len("range_ns[") : -1] for c in rcols)
        assert sorted(int(r[0]) for r in page.ranges.rows) == sorted(has["goid"])
        for row in page.ranges.rows:
            mine = by_goid.loc[int(row[0])]
            assert parse_duration(row[1]) == mine["total_ns"]
            for name, text in zip(page.ranges.columns, row[2:], strict=True):
                assert parse_duration(text) == mine[f"range_ns[{name}]"], (row[0], name)
        checked += 1
    assert checked == len(groups)


def test_window_of_whole_trace_is_the_trace(case) -> None:  # type: ignore[no-untyped-def]
    path, version, tr, server = case
    whole = gt.goroutine_stats(tr, go_version=version)
    win = gt.goroutine_stats(tr, start_ns=tr.start_ns, end_ns=tr.end_ns, go_version=version)
    pd.testing.assert_frame_equal(whole, win)


def test_window_parts_add_up() -> None:
    """Stats of [a, m] and [m, b] add up to [a, b] (snapshots are additive)."""
    tr = gt.read_trace(CORPUS / "go1.26" / "sync.trace")
    a, b = tr.start_ns, tr.end_ns
    m = a + (b - a) // 3
    full = gt.goroutine_stats(tr, start_ns=a, end_ns=b).set_index("goid")
    p1 = gt.goroutine_stats(tr, start_ns=a, end_ns=m).set_index("goid")
    p2 = gt.goroutine_stats(tr, start_ns=m, end_ns=b).set_index("goid")
    for c in ("exec_ns", "sched_wait_ns", "syscall_ns", "syscall_block_ns", "block_ns", "total_ns"):
        s = p1[c].reindex(full.index, fill_value=0) + p2[c].reindex(full.index, fill_value=0)
        np.testing.assert_array_equal(s.to_numpy(), full[c].to_numpy(), err_msg=c)


def test_versions_differ_as_documented() -> None:
    """Go 1.26 charges the time between the last Sync and a goroutine's first
    status event; 1.22-1.25 leave it to unknown time. Total time agrees."""
    tr = gt.read_trace(CORPUS / "go1.26" / "preexisting.trace")
    new = gt.goroutine_stats(tr, go_version="1.26").set_index("goid").sort_index()
    old = gt.goroutine_stats(tr, go_version="1.25").set_index("goid").sort_index()
    pd.testing.assert_series_equal(new["total_ns"], old["total_ns"])
    assert (old["unknown_ns"] >= new["unknown_ns"]).all()
    assert (old["unknown_ns"] > new["unknown_ns"]).any()


ALL_TRACES = sorted(CORPUS.glob("go1.*/*.trace")) + sorted((CORPUS / "v1").glob("*.trace"))
# The views that take a trace to read and run their pass while it is parsed.
STREAMED_VIEWS = (gt.goroutine_analysis, gt.user_regions, gt.mmu, gt.user_task_details)


@pytest.mark.parametrize("path", ALL_TRACES, ids=[case_id(p) for p in ALL_TRACES])
def test_streamed_views_are_the_in_memory_ones(path: Path) -> None:
    """Given the file, the views run their pass while it is parsed (no
    tables) and give the frames of read_trace + the view, dtypes, category
    order and attrs included: for the cmd/trace of the trace's release and
    for Go 1.23's (the legacy clock and status rules), whole and in a window
    that starts before the trace (clipped to it); MMU with each flag set's
    own pass; the task pages (user_task_events excepted) likewise."""
    tr = gt.read_trace(path, progress=False)
    window = {"start_ns": tr.start_ns - 1, "end_ns": (tr.start_ns + tr.end_ns) // 2}
    calls: list[tuple[Any, dict[str, Any]]] = [
        (gt.mmu, {"percentiles": True}),
        (gt.mmu, {"per_proc": True, "sweep": True, "background": False}),
    ]
    for version in sorted({trace_version(path), "1.23"}):
        for view in (gt.goroutine_analysis, gt.goroutine_stats, gt.user_regions, gt.user_tasks):
            calls += [(view, {"go_version": version}), (view, {"go_version": version, **window})]
        # The task pages share one table: each filter once.
        calls += [
            (gt.user_task_histogram, {"go_version": version}),
            (gt.user_task_details, {"go_version": version, "logtext": "a", **window}),
        ]
    for view, kw in calls:
        got, want = view(path, **kw), view(tr, **kw)
        pd.testing.assert_frame_equal(got, want, obj=f"{view.__name__} {kw}")
        assert got.attrs == want.attrs, f"{view.__name__} {kw}"


def test_streamed_views_of_a_damaged_trace() -> None:
    """Cut or corrupted: a streamed view fails with read_trace's error, or
    keeps the same complete generations (the same warning, the same frame)."""
    seen = set()
    for i, bad in enumerate(damage.streaming_inputs()):
        want = damage.read(bad, f"input {i}")
        for view in STREAMED_VIEWS:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    got = view(bad)
                except gt.TraceError as e:
                    damage.assert_same_error(e, want, f"input {i}")
                    seen.add("error")
                    continue
            assert want.trace is not None, f"input {i}: read_trace failed: {want.error}"
            warned = [want.warning] if want.warning else []
            assert [str(w.message) for w in caught] == warned, f"input {i}"
            seen.add("warned" if want.warning else "whole")
            pd.testing.assert_frame_equal(got, view(want.trace), obj=f"input {i} {view.__name__}")
    assert seen == {"error", "warned", "whole"}
