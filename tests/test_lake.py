"""The trace lake: conversion (local processes, Dask, fsspec sources), skipping,
damage, interruption, and queries, each held to the single-trace API."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import warnings
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import distributed
import fsspec
import pandas as pd
import pyarrow.parquet as pq
import pytest

import gotrace_df as gt
from gotrace_df import lake
from gotrace_df.export.convert import STREAMED
from gotrace_df.lake.extras import require
from gotrace_df.lake.rows import FLEET_TABLES
from gotrace_df.lake.sources import content_id

CORPUS = Path(__file__).resolve().parent / "data" / "traces"
GOOD = ("go1.22/cpuprof", "go1.25/gomaxprocs", "go1.24/syscall", "go1.26/flightrec")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The good corpus traces, plus a trace cut in half (its tail dropped), one
    cut before its first complete generation, and a file that is no trace."""
    d = tmp_path_factory.mktemp("sources")
    out = {}
    for name in GOOD:
        out[name] = d / (name.replace("/", "-") + ".trace")
        shutil.copy(CORPUS / f"{name}.trace", out[name])
    for name, base in (("tail", "go1.26/flightrec"), ("cut", "go1.24/syscall")):
        data = (CORPUS / f"{base}.trace").read_bytes()
        out[name] = d / f"{name}.trace"
        out[name].write_bytes(data[: len(data) // 2])
    out["junk"] = d / "junk.trace"
    out["junk"].write_bytes(b"not a Go trace\n" * 100)
    return out


@pytest.fixture(scope="module")
def local(sources: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("local") / "lake"
    lake.convert([str(p) for p in sources.values()], root, workers=2, progress=False)
    return root


def _ids(root: Path) -> dict[str, str]:
    """source path -> trace_id of a lake's manifest."""
    df = lake.open(root).traces
    return dict(zip(df.source, df.trace_id))


def _expected(path: Path) -> tuple[str, str | None, gt.Trace | None]:
    """What read_trace makes of ``path``: status, error message, trace."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", gt.TraceWarning)
        try:
            tr = gt.read_trace(path)
        except gt.TraceError as e:
            return "error", str(e), None
    if caught:
        return "damaged-tail", str(caught[0].message).removeprefix(f"{path}: "), tr
    return "ok", None, tr


def test_manifest_records_every_trace(local: Path, sources: dict[str, Path]) -> None:
    df = lake.open(local).traces.set_index("source")
    assert len(df) == len(sources)
    statuses = set()
    for path in sources.values():
        row = df.loc[str(path)]
        status, error, tr = _expected(path)
        statuses.add(status)
        assert row.status == status
        assert (row.error if status != "ok" else None) == error
        assert row["size"] == path.stat().st_size
        if tr is None:
            assert pd.isna(row.events) and not (local / f"trace_id={row.trace_id}").exists()
            continue
        assert row.events == tr.events.num_rows
        assert row.duration_ns == tr.duration_ns
        assert row.format_version == tr.format_version
        assert row.go_versions == tr.go_versions
        # Not through pandas: Unix ns do not survive float64.
        clocks = tr.syncs.filter(tr.syncs["clock_wall"].is_valid()).to_pylist()
        if not clocks:  # before Go 1.25: no clock snapshots
            assert pd.isna(row.start) and pd.isna(row.end)
        else:
            wall, at = clocks[0]["clock_wall"], clocks[0]["clock_trace"] - tr.start_ns
            assert row.start == pd.Timestamp(wall - at, tz="UTC")
            assert row.end - row.start == pd.Timedelta(tr.duration_ns)
    assert statuses == {"ok", "damaged-tail", "error"}
    assert df.trace_id.is_unique and df.trace_id.str.fullmatch("[0-9a-f]{32}").all()


def test_partitions_equal_to_parquet(local: Path, sources: dict[str, Path], tmp_path: Path) -> None:
    ids = _ids(local)
    for name in (*GOOD, "tail"):
        tr = _expected(sources[name])[2]
        assert tr is not None
        single = tr.to_parquet(tmp_path / name.replace("/", "-"))
        part = local / f"trace_id={ids[str(sources[name])]}"
        fleet = [f"{t}.parquet" for t in FLEET_TABLES]
        assert sorted(p.name for p in part.iterdir()) == sorted(
            [p.name for p in single.iterdir()] + fleet
        )
        # Streamed into the partition: the events' string dictionaries grow
        # row group by row group, which read_parquet reads as one.
        got, want = gt.read_parquet(part), gt.read_parquet(single)
        for table in gt.TABLES:
            g, w = got.table(table), want.table(table)
            assert g.schema.equals(w.schema, check_metadata=True), (name, table)
            assert g.equals(w), (name, table)
        assert json.loads((part / "trace.json").read_text()) == json.loads(
            (single / "trace.json").read_text()
        )


def test_second_convert_skips_everything(local: Path, sources: dict[str, Path]) -> None:
    before = {p: p.stat().st_mtime_ns for p in local.rglob("*")}
    manifest = (local / "_manifest.parquet").read_bytes()
    added = lake.convert([str(p) for p in sources.values()], local, workers=2, progress=False)
    assert added.empty
    assert (local / "_manifest.parquet").read_bytes() == manifest
    assert {p: p.stat().st_mtime_ns for p in local.rglob("*")} == before


def test_sql_counts_equal_each_trace(local: Path, sources: dict[str, Path]) -> None:
    lk = lake.open(local)
    ids = _ids(local)
    for table in gt.TABLES:
        got = dict(lk.sql(f"SELECT trace_id, count(*) FROM {table} GROUP BY trace_id").fetchall())
        want = {}
        for path in sources.values():
            tr = _expected(path)[2]
            if tr is not None and tr.table(table).num_rows:
                want[ids[str(path)]] = tr.table(table).num_rows
        assert got == want, table
        dataset = lk.table(table, as_="arrow")
        assert dataset.count_rows() == sum(want.values())
        assert "trace_id" in dataset.schema.names
    assert lk.table("spans").count("*").fetchall()[0][0] == sum(
        _expected(p)[2].spans.num_rows  # type: ignore[union-attr]
        for p in sources.values()
        if _expected(p)[2] is not None
    )


def test_trace_views_equal_the_original(local: Path, sources: dict[str, Path]) -> None:
    lk = lake.open(local)
    ids = _ids(local)
    for name in (*GOOD, "tail"):
        tr = lk.trace(ids[str(sources[name])])
        orig = _expected(sources[name])[2]
        assert gt.goroutine_analysis(tr).equals(gt.goroutine_analysis(orig))
        assert gt.blocking_profile(tr, "sync").equals(gt.blocking_profile(orig, "sync"))
        assert gt.user_tasks(tr).equals(gt.user_tasks(orig))
    with pytest.raises(KeyError, match="could not be read"):
        lk.trace(ids[str(sources["junk"])])
    with pytest.raises(KeyError, match="no trace"):
        lk.trace("0" * 32)
    with pytest.raises(ValueError, match="not a trace_id"):
        lk.trace("../../etc")


def test_memory_sources(local: Path, sources: dict[str, Path], tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    for name in GOOD:
        fs.pipe(f"/lake-test/{name}.trace", sources[name].read_bytes())
    try:
        added = lake.convert("memory://lake-test/*/*.trace", tmp_path, workers=2, progress=False)
    finally:
        fs.rm("/lake-test", recursive=True)
    # fsspec spells the memory root with three slashes.
    assert sorted(added.source) == sorted(f"memory:///lake-test/{n}.trace" for n in GOOD)
    ids = _ids(local)
    assert set(added.trace_id) == {ids[str(sources[n])] for n in GOOD}
    lk = lake.open(tmp_path)
    for tid in added.trace_id:
        assert lk.trace(tid).events.equals(lake.open(local).trace(tid).events)


def test_interrupted_conversion_leaves_a_readable_lake(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [str(sources[n]) for n in GOOD]
    calls = 0
    write_table = pq.write_table

    def fail_in_second_trace(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        # The second trace's third table written whole (the tables that grow
        # with the trace are streamed, not written by write_table).
        if calls == len(gt.TABLES) - len(STREAMED) + len(FLEET_TABLES) + 3:
            raise KeyboardInterrupt
        write_table(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", fail_in_second_trace)
    with pytest.raises(KeyboardInterrupt):
        lake.convert(paths, tmp_path, workers=1, progress=False)
    monkeypatch.undo()
    # The first trace is committed; the second left nothing behind.
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["_manifest.parquet", *(f"trace_id={t}" for t in lake.open(tmp_path).traces.trace_id)]
    )
    lk = lake.open(tmp_path)
    assert lk.traces.source.tolist() == paths[:1]
    assert lk.sql("SELECT count(*) FROM events").fetchall()[0][0] > 0
    added = lake.convert(paths, tmp_path, workers=1, progress=False)
    assert added.source.tolist() == paths[1:]
    assert len(lake.open(tmp_path).traces) == len(paths)


def test_killed_worker_leaves_a_readable_lake(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pool forks its workers, so they run the patched writer.
    assert multiprocessing.get_start_method() == "fork"
    paths = [str(sources[n]) for n in GOOD]
    victim = content_id(sources[GOOD[1]].read_bytes())
    parent = os.getpid()
    write_table = pq.write_table

    def die_in_victim(table: object, where: object, **kwargs: object) -> None:
        if os.getpid() != parent and f"trace_id={victim}" in str(where):
            if str(where).endswith("procs.parquet"):
                os.kill(os.getpid(), signal.SIGKILL)
        write_table(table, where, **kwargs)

    lake.convert(paths[0], tmp_path, workers=1, progress=False)
    monkeypatch.setattr(pq, "write_table", die_in_victim)
    with pytest.raises(BrokenProcessPool):
        lake.convert(paths, tmp_path, workers=2, progress=False)
    monkeypatch.undo()
    # The pool ends the other worker too: each may leave its trace half-written,
    # hidden, and out of the manifest.
    lk = lake.open(tmp_path)
    left = {p.name.split(".")[1] for p in tmp_path.iterdir() if p.name.startswith(".")}
    assert f"trace_id={victim}" in left
    assert not left & {f"trace_id={t}" for t in lk.traces.trace_id}
    assert paths[0] in set(lk.traces.source)
    counted = lk.sql("SELECT count(*) FROM events").fetchall()[0][0]
    assert counted == lk.traces.events.sum()
    added = lake.convert(paths, tmp_path, workers=2, progress=False)
    assert victim in set(added.trace_id)
    assert len(lake.open(tmp_path).traces) == len(paths)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_dask_cluster_converts_the_same_lake(
    local: Path, sources: dict[str, Path], tmp_path: Path
) -> None:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        lake.convert([str(p) for p in sources.values()], tmp_path, client=client, progress=False)
    ignore = ["converted_at"]
    want = lake.open(local).traces.drop(columns=ignore).sort_values("trace_id")
    got = lake.open(tmp_path).traces.drop(columns=ignore).sort_values("trace_id")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    for tid in want.trace_id[want.status != "error"]:
        for table in gt.TABLES:
            a = pq.read_table(local / f"trace_id={tid}" / f"{table}.parquet")
            b = pq.read_table(tmp_path / f"trace_id={tid}" / f"{table}.parquet")
            assert a.equals(b, check_metadata=True), (tid, table)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no file matches"):
        lake.convert(str(tmp_path / "*.trace"), tmp_path / "lake", progress=False)
    with pytest.raises(FileNotFoundError, match="no such trace file"):
        lake.convert([str(tmp_path / "missing.trace")], tmp_path / "lake", progress=False)
    with pytest.raises(FileNotFoundError, match="not a gotrace_df lake"):
        lake.open(tmp_path)
    (tmp_path / "_manifest.parquet").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable lake manifest"):
        lake.open(tmp_path)
    with pytest.raises(ImportError, match=r"'lake' extra: pip install 'gotrace_df\[lake\]'"):
        require("gotrace_df_no_such_module")
