"""The lake's fleet views, held to the single-trace views: each trace's slice
equals its view number for number, fleet-wide rows are the exact sums and
observed percentiles over every trace's waits and durations, and the merged
blocking profile is Go's own profiles (`go tool trace -pprof`) merged by frames."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from gotool import pprof, pprof_raw

import gotrace_df as gt
from gotrace_df import lake
from gotrace_df.lake.fleet import distribution
from gotrace_df.lake.rows import goroutine_waits

CORPUS = Path(__file__).resolve().parent / "data" / "traces"
# Every go1.26 trace, and older ones with tasks, regions and blocking.
TRACES = sorted(CORPUS.glob("go1.26/*.trace")) + [
    CORPUS / f"go1.{v}/{name}.trace" for v in (22, 24) for name in ("tasks", "sync", "gotest")
]
KINDS = ("sched", "sync", "net", "syscall")
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[lake.Lake, dict[str, gt.Trace]]:
    """The lake of TRACES, and each trace by its id, read by read_trace."""
    root = tmp_path_factory.mktemp("fleet") / "lake"
    added = lake.convert([str(p) for p in TRACES], root, workers=2, progress=False)
    assert (added.status == "ok").all()
    return lake.open(root), {t: gt.read_trace(s) for t, s in zip(added.trace_id, added.source)}


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its string columns as object: pandas types a column of
    strings str or object depending on how it was built; values and every
    other dtype are compared as they are."""
    return df.astype(
        {c: object for c in df.columns if isinstance(df[c].dtype, pd.StringDtype)}
    ).reset_index(drop=True)


def _each_trace(got: pd.DataFrame, trs: dict[str, gt.Trace], view: Callable[..., Any]) -> None:
    assert set(got.trace_id) <= set(trs)
    for tid, tr in trs.items():
        mine = got[got.trace_id == tid].drop(columns="trace_id")
        pd.testing.assert_frame_equal(_plain(mine), _plain(view(tr)), obj=f"trace {tid}")


def test_each_trace_equals_its_single_trace_view(
    fleet: tuple[lake.Lake, dict[str, gt.Trace]],
) -> None:
    lk, trs = fleet
    _each_trace(lk.goroutine_analysis(by="trace"), trs, gt.goroutine_analysis)
    _each_trace(lk.user_tasks(by="trace"), trs, gt.user_tasks)
    _each_trace(lk.user_regions(by="trace"), trs, gt.user_regions)
    _each_trace(lk.summary(by="trace"), trs, gt.summary)
    for kind in KINDS:
        _each_trace(
            lk.blocking_profile(kind, by="trace"),
            trs,
            functools.partial(gt.blocking_profile, kind=kind),
        )


def _observed(values: Any) -> dict[str, int | None]:
    """The single-trace views' percentiles and max of ``values``."""
    v = np.asarray(values, dtype=np.int64)
    if not len(v):
        return {**dict.fromkeys(QUANTILES), "max": None}
    out: dict[str, int | None] = {
        n: int(np.quantile(v, q, method="inverted_cdf")) for n, q in QUANTILES.items()
    }
    return {**out, "max": int(v.max())}


def _nullable(v: Any) -> int | None:
    return None if pd.isna(v) else int(v)


def test_fleet_goroutine_analysis(fleet: tuple[lake.Lake, dict[str, gt.Trace]]) -> None:
    lk, trs = fleet
    got = lk.goroutine_analysis(by=None).set_index("name")
    singles = pd.concat([gt.goroutine_analysis(tr) for tr in trs.values()])
    cols = ["count", "exec_ns", "total_ns", "block_ns", "unknown_ns"]
    sums = singles.groupby("name")[cols].sum()
    pd.testing.assert_frame_equal(got.loc[sums.index, cols], sums)
    assert got.loc[sums.index, "traces"].tolist() == singles.groupby("name").size().tolist()
    assert got["share"].sum() == pytest.approx(1.0)
    assert got["exec_ns"].is_monotonic_decreasing
    # Percentiles over every wait of every trace at once.
    waits = pd.concat([goroutine_waits(tr) for tr in trs.values()])
    assert len(waits) > 10_000
    for (name, state), w in waits.groupby(["name", "state"]):
        want = _observed(w["dur_ns"])
        have = {n: _nullable(got.loc[name, f"{state}_{n}_ns"]) for n in want}
        assert have == want, (name, state)
    # A fleet of one trace is that trace.
    tid, tr = next(iter(trs.items()))
    one = lk.goroutine_analysis(by="trace")
    pd.testing.assert_frame_equal(
        _plain(one[one.trace_id == tid].drop(columns="trace_id")),
        _plain(gt.goroutine_analysis(tr)),
    )


def test_fleet_tasks_and_regions(fleet: tuple[lake.Lake, dict[str, gt.Trace]]) -> None:
    lk, trs = fleet
    tasks = pd.concat([gt.user_task_details(tr) for tr in trs.values()])
    got = lk.user_tasks(by=None)
    assert got["type"].tolist() == sorted(set(tasks["type"]))
    for row in got.itertuples():
        mine = tasks[tasks["type"] == row.type]
        done = mine[mine["complete"]]["duration_ns"]
        assert (row.count, row.complete) == (len(mine), len(done))
        want = {"min": int(done.min()) if len(done) else None, **_observed(done)}
        assert {n: _nullable(getattr(row, f"{n}_ns")) for n in want} == want
    regions = pd.concat([gt.user_region_stats(tr) for tr in trs.values()])
    key = ["type", "function", "file", "line"]
    got = lk.user_regions(by=None)
    assert len(got) == len(regions.groupby(key, observed=True)) > 10
    for row in got.itertuples():
        d = regions[(regions[key] == pd.Series(row._asdict())[key]).all(axis=1)]["duration_ns"]
        assert (row.count, row.total_ns, row.min_ns) == (len(d), d.sum(), d.min())
        assert {n: getattr(row, f"{n}_ns") for n in QUANTILES} | {"max": row.max_ns} == _observed(d)


def _frames_key(frames: Any) -> tuple[tuple[str, str, int], ...]:
    return tuple((f["function"], f["file"], int(f["line"])) for f in frames)


def test_merged_profile_is_gos_profiles_merged(
    fleet: tuple[lake.Lake, dict[str, gt.Trace]], tmp_path: Path
) -> None:
    """The fleet's sync profile of the go1.26 traces as one pprof file equals
    `go tool trace -pprof=sync` of each trace, merged by frames."""
    root = tmp_path / "lake"
    paths = [p for p in TRACES if p.parent.name == "go1.26"][:6]
    lake.convert([str(p) for p in paths], root, workers=2, progress=False)
    merged = lake.open(root).blocking_profile("sync")
    want: dict[tuple[tuple[str, str, int], ...], list[int]] = {}
    for path in paths:
        go = gt.read_pprof(pprof(path, "sync", "1.26"))
        for c, d, fr in zip(go["contentions"], go["delay"], go["frames"]):
            sums = want.setdefault(_frames_key(fr), [0, 0])
            sums[0] += int(c)
            sums[1] += int(d)
    file = tmp_path / "fleet-sync.pb.gz"
    gt.to_pprof(merged, file)
    assert "Samples:" in pprof_raw(file)
    back = gt.read_pprof(file.read_bytes())
    got = {
        _frames_key(fr): [int(c), int(d)]
        for c, d, fr in zip(back["contentions"], back["delay"], back["frames"])
    }
    assert len(got) == len(back) == len(merged)  # one sample per distinct stack
    assert got == want
    # Each distinct frame is one location: its pc names the same frame everywhere.
    where = {}
    for fr in merged["frames"]:
        for f in fr:
            assert where.setdefault(f["pc"], _frames_key([f])) == _frames_key([f])
    assert merged["traces"].max() > 1


def test_fleet_summary(fleet: tuple[lake.Lake, dict[str, gt.Trace]]) -> None:
    lk, trs = fleet
    got = lk.summary(by=None).set_index("metric")["value"]
    singles = pd.concat([gt.summary(tr) for tr in trs.values()])
    by_metric = singles.groupby("metric")["value"]
    assert got["traces"] == len(trs)
    for metric in ("duration", "events", "goroutines", "execution time", "tasks", "logs"):
        assert got[metric] == by_metric.sum()[metric], metric
    for metric in ("stop-the-world max", "peak heap objects", "GOMAXPROCS max"):
        assert got[metric] == by_metric.max()[metric], metric
    waits = pd.concat([goroutine_waits(tr) for tr in trs.values()])
    lat = _observed(waits[waits["state"] == "sched_wait"]["dur_ns"])
    assert {n: got[f"sched latency {n}"] for n in lat} == lat
    for kind in KINDS:
        prof = lk.blocking_profile(kind)
        assert got[f"{kind} total delay"] == prof["delay_ns"].sum()
        top = [v for m, v in got.items() if m.startswith(f"{kind} #")]
        assert top == prof["delay_ns"].head(3).tolist()


def test_old_lake_and_bad_arguments(
    fleet: tuple[lake.Lake, dict[str, gt.Trace]], tmp_path: Path
) -> None:
    lk, _ = fleet
    with pytest.raises(ValueError, match="by must be"):
        lk.goroutine_analysis(by="trace_id")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind must be one of"):
        lk.blocking_profile("mutex")
    # A lake written before the fleet tables: a message saying what to do.
    old = tmp_path / "old"
    shutil.copytree(lk.path, old)
    next(old.glob("trace_id=*/goroutine_waits.parquet")).unlink()
    with pytest.raises(ValueError, match="convert its traces again into a new lake directory"):
        lake.open(old).summary()
    # No readable trace: empty views.
    junk = tmp_path / "junk.trace"
    junk.write_bytes(b"not a trace")
    lake.convert(str(junk), tmp_path / "empty", progress=False)
    empty = lake.open(tmp_path / "empty")
    assert empty.goroutine_analysis(by=None).empty
    assert empty.blocking_profile("sync").empty
    assert empty.user_tasks().empty


def test_percentiles_of_counted_durations() -> None:
    """The fleet tables' percentiles, found in running counts of distinct
    durations, are numpy's inverted_cdf over the durations themselves: ties,
    counts, and sizes where n * q lands on or next to an integer."""
    import duckdb

    rng = np.random.default_rng(7)
    con = duckdb.connect()
    for n in [*range(1, 40), 99, 100, 101, 199, 200, 1000, 1001]:
        values = rng.integers(0, 5 if n % 3 else 10**9, n)
        uniq, counts = np.unique(values, return_counts=True)
        data = pd.DataFrame(  # noqa: F841 - read by DuckDB by name
            {"g": rng.integers(0, 2, len(uniq)), "v": uniq, "w": counts}
        )
        query = distribution("data", ["g"], "v", "w")
        got = {row[0]: row[1:] for row in con.sql(f"{query} ORDER BY g").fetchall()}
        for g, have in got.items():
            mine = np.repeat(data.v[data.g == g], data.w[data.g == g])
            want = (len(mine), int(mine.sum()), int(mine.min()), *_observed(mine).values())
            assert have == want, (n, g)
