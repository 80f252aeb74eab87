"""Trace.wall_time and to_pandas(wall_time=True), checked against the clock
snapshots Go's parser (the oracle, x/exp/trace) reports in each Sync."""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from oracle_util import oracle_binary

import gotrace_df as gt
from gotrace_df.frames import time_columns

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "traces"
WITH_SNAPSHOTS = sorted(
    p for v in ("go1.25", "go1.26", "go1.27") for p in (CORPUS / v).glob("*.trace")
)


def go_snapshots(path: Path) -> list[tuple[int, dict]]:
    """(Sync time, ClockSnapshot) of each Sync with one, as the oracle prints
    them (only those lines are decoded: the rest is most of the output)."""
    out = subprocess.run(
        [str(oracle_binary()), str(path)], capture_output=True, check=True, timeout=120
    ).stdout
    syncs = [json.loads(line) for line in out.splitlines() if line.startswith(b'{"kind":"Sync"')]
    return [(e["t"], e["clock"]) for e in syncs if "clock" in e]


def go_wall(snapshots: list[tuple[int, dict]], t: int) -> int:
    """Unix ns of trace time ``t`` by the snapshot of the latest Sync at or
    before it (the first one before the first Sync): wall + (t - trace)."""
    at = [s for s in snapshots if s[0] <= t] or snapshots[:1]
    clock = at[-1][1]
    return int(clock["wall"] + (t - clock["trace"]))


def test_corpus_has_snapshot_traces() -> None:
    assert len(WITH_SNAPSHOTS) >= 40


@pytest.mark.parametrize("path", WITH_SNAPSHOTS, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_wall_time_equals_go_snapshots(path: Path) -> None:
    snapshots = go_snapshots(path)
    assert snapshots, "Go 1.25+ writes a clock snapshot in its Syncs"
    tr = gt.read_trace(path)
    times = [t for t, _ in snapshots]
    # Between Syncs (and after the last one), and before the first.
    ends = [*times[1:], tr.end_ns]
    times += [a + (b - a) // 2 for a, b in zip(times, ends, strict=True)]
    times += [times[0] - 1_000, tr.end_ns]
    got = tr.wall_time(times)
    assert str(got.tz) == "UTC"
    assert got.asi8.tolist() == [go_wall(snapshots, t) for t in times]
    # At a snapshot's own trace time, its wall time exactly.
    first = snapshots[0][1]
    assert tr.wall_time(first["trace"]).value == first["wall"]


def test_to_pandas_wall_time_columns() -> None:
    tr = gt.read_trace(CORPUS / "go1.26" / "tasks.trace")
    for name in ("events", "goroutines", "tasks", "syncs"):
        df = tr.to_pandas(name, wall_time=True)
        plain = tr.to_pandas(name)
        cols = time_columns(name)
        assert cols
        added = {f"{c}_wall" for c in cols}
        assert [c for c in df.columns if c not in added] == list(plain.columns)
        for c in cols:
            wall = df[f"{c}_wall"]
            assert list(df.columns).index(f"{c}_wall") == list(df.columns).index(c) + 1
            assert str(wall.dtype) == "datetime64[ns, UTC]"
            assert (wall.isna() == plain[c].isna()).all()
            have = plain[c].notna()
            want = tr.wall_time(plain[c][have].to_numpy(dtype=np.int64)).asi8
            assert (wall[have].astype("int64").to_numpy() == want).all()
    # Durations are not times.
    assert "duration_wall" not in tr.to_pandas("tasks", wall_time=True).columns


def test_wall_time_scalar_series_and_nulls() -> None:
    tr = gt.read_trace(gt.example_trace())
    one = tr.wall_time(tr.start_ns)
    assert isinstance(one, pd.Timestamp) and str(one.tz) == "UTC"
    s = pd.Series([tr.start_ns, None, tr.end_ns], dtype="Int64", index=[5, 6, 7], name="ts")
    got = tr.wall_time(s)
    assert list(got.index) == [5, 6, 7] and got.name == "ts"
    assert got.iloc[0] == one and pd.isna(got.iloc[1])
    assert got.iloc[2] == tr.wall_time(tr.end_ns)


def test_no_snapshots_is_a_clear_error_and_anchor_supplies_one() -> None:
    tr = gt.read_trace(CORPUS / "go1.24" / "sync.trace")
    assert tr.syncs["clock_trace"].null_count == tr.syncs.num_rows
    with pytest.raises(ValueError, match="no clock snapshots.*Go 1.25.*anchor="):
        tr.wall_time(tr.start_ns)
    with pytest.raises(ValueError, match="no clock snapshots"):
        tr.to_pandas("events", wall_time=True)
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=datetime.UTC)
    unix = int(pd.Timestamp(when).value)
    for given in (when, pd.Timestamp(when), np.datetime64(when.replace(tzinfo=None), "ns"), unix):
        got = tr.wall_time([tr.start_ns, tr.start_ns + 1_500], anchor=(tr.start_ns, given))
        assert got.asi8.tolist() == [unix, unix + 1_500]
    df = tr.to_pandas("events", wall_time=True, anchor=(tr.start_ns, when))
    assert df["ts_wall"].iloc[0].value == unix + int(df["ts"].iloc[0]) - tr.start_ns
    # A zone is another instant: 03:04 at UTC+2 is 01:04 UTC.
    cest = when.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert tr.wall_time(tr.start_ns, anchor=(tr.start_ns, cest)).value == unix - 2 * 3600 * 10**9


@pytest.mark.parametrize(
    "anchor",
    [(0, datetime.datetime(2026, 1, 1)), (0, "2026-01-01"), 5, (1.5, 0)],
    ids=["naive", "text", "not-a-pair", "float-trace-ns"],
)
def test_bad_anchor(anchor: object) -> None:
    tr = gt.read_trace(gt.example_trace())
    with pytest.raises(ValueError, match="anchor"):
        tr.wall_time(0, anchor=anchor)  # type: ignore[arg-type]


def test_anchor_without_wall_time_is_refused() -> None:
    tr = gt.read_trace(gt.example_trace())
    with pytest.raises(ValueError, match="wall_time=True"):
        tr.to_pandas("events", anchor=(0, 0))
