"""Parquet round trip: every table of every corpus trace survives to_parquet /
read_parquet unchanged, the views agree on both, writes are atomic, and the
datasets work in DuckDB and polars as they are."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import damage
import pandas as pd
import pyarrow.parquet as pq
import pytest

import gotrace_df as gt
from gotrace_df.export import convert as gconvert
from gotrace_df.export import parquet as gpq

CORPUS = Path(__file__).resolve().parent / "data" / "traces"
TRACES = sorted(CORPUS.glob("go1.*/*.trace"))
OLD_TRACES = sorted(CORPUS.glob("v1/*.trace"))
ID = lambda p: f"{p.parent.name}/{p.stem}"  # noqa: E731

META = (
    "format_version",
    "start_ns",
    "end_ns",
    "generations",
    "frequency",
    "bytes_used",
    "bytes_total",
    "source",
)


def assert_same_trace(a: gt.Trace, b: gt.Trace) -> None:
    assert a.table_names == b.table_names
    for name in a.table_names:
        ta, tb = a.table(name), b.table(name)
        assert ta.schema.equals(tb.schema, check_metadata=True), (name, ta.schema, tb.schema)
        assert ta.equals(tb), name
    for f in META:
        assert getattr(a, f) == getattr(b, f), f
    assert repr(a) == repr(b)


def assert_same_dataset(a: Path, b: Path) -> None:
    """The same manifest, and the same trace metadata in every file."""
    assert json.loads((a / gpq.MANIFEST).read_text()) == json.loads((b / gpq.MANIFEST).read_text())
    for f in sorted(a.glob("*.parquet")):
        want = pq.ParquetFile(f).metadata.metadata[gpq.KV_KEY]
        assert pq.ParquetFile(b / f.name).metadata.metadata[gpq.KV_KEY] == want, f.name


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("path", [*TRACES, *OLD_TRACES], ids=ID)
def test_round_trip_every_table(
    path: Path, streamed: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tr = gt.read_trace(path, progress=False)
    if streamed:
        # A row group per events batch (65,536 rows): the events' growing
        # string dictionaries are read back across row groups.
        monkeypatch.setattr(gconvert, "ROW_GROUP", 1)
        out = gt.convert(path, tmp_path / "ds", progress=False)
        assert_same_dataset(tr.to_parquet(tmp_path / "whole"), out)
    else:
        out = tr.to_parquet(tmp_path / "ds")
    assert out == tmp_path / "ds"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [gpq.MANIFEST, *(f"{n}.parquet" for n in tr.table_names)]
    )
    back = gt.read_parquet(out)
    assert_same_trace(tr, back)
    # read_trace accepts a dataset directory too.
    assert_same_trace(tr, gt.read_trace(out))


def _cuts() -> list[tuple[str, int]]:
    """A damaged tail of each version's multi-generation trace: cut inside a
    batch of its last generation, and at the start of one."""
    cuts = []
    for v in damage.VERSIONS:
        classes = damage.truncation_classes(damage.trace_bytes(f"{v}/generations"))
        inside = [offs for (kind, _), offs in classes.items() if kind == "inside"]
        at = [offs for (kind, _), offs in classes.items() if kind == "at"]
        cuts += [(v, inside[-2][len(inside[-2]) // 2]), (v, at[-2][0])]
    return cuts


@pytest.mark.parametrize(("version", "cut"), _cuts(), ids=lambda c: str(c))
def test_streamed_damaged_tail(version: str, cut: int, tmp_path: Path) -> None:
    """A damaged tail is read again up to its last Sync, as read_trace does:
    the same tables, metadata and warning."""
    data = damage.trace_bytes(f"{version}/generations")[:cut]
    with pytest.warns(gt.TraceWarning) as whole:
        tr = gt.read_trace(data, progress=False)
    with pytest.warns(gt.TraceWarning) as streamed:
        out = gt.convert(data, tmp_path / "ds", progress=False)
    assert [str(w.message) for w in streamed] == [str(w.message) for w in whole]
    assert tr.bytes_used < tr.bytes_total
    assert_same_trace(tr, gt.read_parquet(out))
    assert_same_dataset(tr.to_parquet(tmp_path / "whole"), out)


def test_streamed_errors_leave_nothing(tmp_path: Path) -> None:
    data = damage.trace_bytes("go1.27/generations")
    for bad in (data[:40], b"not a trace at all, not at all"):
        with pytest.raises(gt.TraceError) as whole:
            gt.read_trace(bad, progress=False)
        with pytest.raises(gt.TraceError) as streamed:
            gt.convert(bad, tmp_path / "ds", progress=False)
        assert str(streamed.value) == str(whole.value)
        assert not (tmp_path / "ds").exists() and _leftovers(tmp_path) == []


# A trace per Go version, and the scenarios each view is about.
VIEW_TRACES = [p for p in TRACES if p.stem == "tasks"] + [
    CORPUS / "go1.22" / "example.trace",
    *(CORPUS / "go1.27" / f"{n}.trace" for n in ("example", "sync", "net", "syscall", "gc")),
]


def _view_calls() -> dict[str, Any]:
    """Every view of gotrace_df.views with the arguments to call it with."""
    import gotrace_df.views as v

    calls: dict[str, Any] = {}
    simple = [
        "goroutine_analysis",
        "goroutine_stats",
        "summary",
        "user_tasks",
        "user_task_histogram",
        "user_task_details",
        "user_task_events",
        "user_regions",
        "user_region_histogram",
        "user_region_stats",
        "mutator_utilization",
        "mmu",
    ]
    for name in simple:
        f = getattr(v, name, None)
        if f is not None:
            calls[name] = f
    if hasattr(v, "mmu_worst_windows"):
        calls["mmu_worst_windows"] = lambda tr: v.mmu_worst_windows(tr, 1_000_000)
    if hasattr(v, "blocking_profile"):
        for kind in ("net", "sync", "syscall", "sched"):
            calls[f"blocking_profile[{kind}]"] = lambda tr, k=kind: v.blocking_profile(tr, k)
    return calls


def _call(f: Any, tr: gt.Trace) -> Any:
    try:
        return ("ok", f(tr))
    except TypeError as e:
        if "required" in str(e):  # a view that needs more than the trace
            return ("needs-args", str(e))
        return ("error", repr(e))
    except Exception as e:  # the same failure on both is still agreement
        return ("error", repr(e))


def _same(a: Any, b: Any) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    elif isinstance(a, tuple | list):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    else:
        assert a == b


@pytest.mark.parametrize("path", VIEW_TRACES, ids=ID)
def test_views_agree_on_round_trip(path: Path, tmp_path: Path) -> None:
    tr = gt.read_trace(path, progress=False)
    back = gt.read_parquet(tr.to_parquet(tmp_path / "ds"))
    calls = _view_calls()
    assert calls, "gotrace_df.views has no views"
    ran = 0
    for name, f in calls.items():
        ra, rb = _call(f, tr), _call(f, back)
        assert ra[0] == rb[0], (name, ra, rb)
        if ra[0] == "ok":
            _same(ra[1], rb[1])
            ran += 1
        elif ra[0] == "error":
            assert ra == rb, name
    assert ran >= len(calls) // 2, "most views should run on a plain trace"


# -- atomicity -------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> gt.Trace:
    return gt.read_trace(gt.example_trace())


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_failure_midway_leaves_nothing(
    example: gt.Trace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    real = pq.write_table
    n = {"files": 0}

    def failing(table: Any, where: Any, **kw: Any) -> None:
        n["files"] += 1
        if n["files"] == 4:
            raise OSError("disk full (simulated)")
        real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError, match="simulated"):
        if streamed:
            gt.convert(gt.example_trace(), tmp_path / "ds", progress=False)
        else:
            example.to_parquet(tmp_path / "ds")
    assert not (tmp_path / "ds").exists()
    assert _leftovers(tmp_path) == []


def test_failed_overwrite_keeps_the_old_dataset(
    example: gt.Trace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = gt.read_trace(CORPUS / "go1.26" / "tasks.trace")
    small.to_parquet(tmp_path / "ds")
    real = pq.write_table

    def failing(table: Any, where: Any, **kw: Any) -> None:
        if str(where).endswith("goroutines.parquet"):
            raise OSError("disk full (simulated)")
        real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError, match="simulated"):
        example.to_parquet(tmp_path / "ds")
    assert_same_trace(small, gt.read_parquet(tmp_path / "ds"))
    assert _leftovers(tmp_path) == []


def test_overwrite_replaces_a_dataset(example: gt.Trace, tmp_path: Path) -> None:
    small = gt.read_trace(CORPUS / "go1.26" / "tasks.trace")
    small.to_parquet(tmp_path / "ds")
    example.to_parquet(tmp_path / "ds")
    assert_same_trace(example, gt.read_parquet(tmp_path / "ds"))
    assert _leftovers(tmp_path) == []
    with pytest.raises(FileExistsError):
        small.to_parquet(tmp_path / "ds", overwrite=False)
    assert_same_trace(example, gt.read_parquet(tmp_path / "ds"))


def test_never_replaces_what_it_did_not_write(example: gt.Trace, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a gotrace_df"):
        example.to_parquet(mine)
    assert (mine / "notes.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError):
        example.to_parquet(tmp_path / "file")
    assert (tmp_path / "file").read_text() == "x"


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import pyarrow.parquet as pq
    import gotrace_df as gt

    real = pq.write_table
    def slow(table, where, **kw):
        real(table, where, **kw)
        print("wrote", where, flush=True)
        time.sleep(0.5)
    pq.write_table = slow
    if sys.argv[3] == "streamed":
        gt.convert(sys.argv[1], sys.argv[2], progress=False)
    else:
        gt.read_trace(sys.argv[1]).to_parquet(sys.argv[2])
    print("done", flush=True)
    """
)


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "over-existing"])
def test_crash_midway_never_reads_as_valid(tmp_path: Path, existing: bool, streamed: bool) -> None:
    """SIGKILL the writer halfway: no dataset appears (or the old one is intact)."""
    dest = tmp_path / "ds"
    old = gt.read_trace(CORPUS / "go1.26" / "tasks.trace")
    if existing:
        old.to_parquet(dest)
    p = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _KILL_SCRIPT,
            str(gt.example_trace()),
            str(dest),
            "streamed" if streamed else "whole",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    for _ in range(5):
        line = p.stdout.readline()
        assert line.startswith("wrote"), line
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    p.stdout.close()
    if existing:
        assert_same_trace(old, gt.read_parquet(dest))
    else:
        assert not dest.exists()
        with pytest.raises(FileNotFoundError):
            gt.read_parquet(dest)
    # What the crash left is a hidden, manifest-less directory: never a dataset.
    left = [tmp_path / n for n in _leftovers(tmp_path)]
    assert len(left) == 1 and left[0].is_dir()
    assert not (left[0] / gpq.MANIFEST).exists()
    with pytest.raises(ValueError, match="not a gotrace_df Parquet dataset"):
        gt.read_parquet(left[0])


def test_read_rejects_damaged_datasets(example: gt.Trace, tmp_path: Path) -> None:
    d = example.to_parquet(tmp_path / "ds")
    (d / "spans.parquet").unlink()
    with pytest.raises(ValueError, match="spans.parquet is missing"):
        gt.read_parquet(d)
    d = example.to_parquet(tmp_path / "ds2")
    m = json.loads((d / gpq.MANIFEST).read_text())
    m["tables"]["events"]["rows"] += 1
    (d / gpq.MANIFEST).write_text(json.dumps(m))
    with pytest.raises(ValueError, match="rows, the manifest says"):
        gt.read_parquet(d)
    with pytest.raises(FileNotFoundError):
        gt.read_parquet(tmp_path / "nothing")


def test_metadata_in_every_file(example: gt.Trace, tmp_path: Path) -> None:
    d = example.to_parquet(tmp_path / "ds")
    manifest = json.loads((d / gpq.MANIFEST).read_text())
    assert manifest["trace"]["go_versions"] == example.go_versions
    assert manifest["trace"]["source"] == example.source
    for name in example.table_names:
        kv = pq.read_schema(d / f"{name}.parquet").metadata
        meta = json.loads(kv[gpq.KV_KEY])
        assert meta["start_ns"] == example.start_ns
        assert meta["frequency"] == example.frequency


# -- DuckDB and polars, as they are ----------------------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_duckdb_query() -> str:
    """The SQL of the README's DuckDB example (the ```sql block)."""
    text = README.read_text()
    start = text.index("```sql\n") + len("```sql\n")
    return text[start : text.index("```", start)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, gt.Trace]]:
    root = tmp_path_factory.mktemp("exports")
    traces = {}
    for v in ("go1.22", "go1.25", "go1.27"):
        tr = gt.read_trace(CORPUS / v / "tasks.trace")
        tr.to_parquet(root / f"tasks-{v}")
        traces[f"tasks-{v}"] = tr
    return root, traces


def test_readme_duckdb_query(
    exported: tuple[Path, dict[str, gt.Trace]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    root, traces = exported
    monkeypatch.chdir(root.parent)
    sql = _readme_duckdb_query().replace("exports/", f"{root.name}/")
    got = duckdb.sql(sql).df()
    # The query: per exported trace, its Go version, duration, and the p99 of
    # the time goroutines waited to run (Runnable spans).
    assert sorted(got["trace"]) == sorted(traces)
    for _, row in got.iterrows():
        tr = traces[row["trace"]]
        assert row["go"] == tr.go_versions
        assert row["duration_ms"] == pytest.approx(tr.duration_ns / 1e6)
        spans = tr.to_pandas("spans")
        runnable = spans[spans["state"] == "Runnable"]
        wait = runnable["end"] - runnable["start"]
        assert row["runnable_spans"] == len(runnable)
        assert row["p99_sched_wait_us"] == pytest.approx(
            wait.quantile(0.99, interpolation="linear") / 1e3, rel=1e-6
        )


def test_duckdb_reads_dictionary_columns_and_metadata(
    exported: tuple[Path, dict[str, gt.Trace]],
) -> None:
    import duckdb

    root, traces = exported
    con = duckdb.connect()
    got = con.execute(
        "SELECT kind, count(*) AS n FROM read_parquet(?) GROUP BY kind ORDER BY kind",
        [str(root / "tasks-go1.27" / "events.parquet")],
    ).df()
    want = traces["tasks-go1.27"].to_pandas("events")["kind"].astype(str).value_counts()
    assert dict(zip(got["kind"], got["n"])) == want.to_dict()
    kv = con.execute(
        "SELECT value FROM parquet_kv_metadata(?) WHERE key = 'gotrace_df.trace'",
        [str(root / "tasks-go1.27" / "spans.parquet")],
    ).fetchone()
    assert kv is not None
    raw = kv[0]
    meta = json.loads(raw.decode() if isinstance(raw, bytes | bytearray) else raw)
    assert meta["start_ns"] == traces["tasks-go1.27"].start_ns


def test_polars_reads_a_dataset(exported: tuple[Path, dict[str, gt.Trace]]) -> None:
    import polars as pl

    root, traces = exported
    for name, tr in traces.items():
        for table in ("events", "spans", "goroutines", "frames", "tasks"):
            df = pl.read_parquet(root / name / f"{table}.parquet")
            assert df.height == tr.table(table).num_rows
            assert df.columns == tr.table(table).column_names
        ev = pl.read_parquet(root / name / "events.parquet")
        counts = dict(ev.group_by("kind").len().iter_rows())
        want = tr.to_pandas("events")["kind"].astype(str).value_counts().to_dict()
        assert {str(k): v for k, v in counts.items()} == want


def test_example_round_trip_is_quick(example: gt.Trace, tmp_path: Path) -> None:
    t0 = time.perf_counter()
    back = gt.read_parquet(example.to_parquet(tmp_path / "ds"))
    assert back.events.num_rows == example.events.num_rows
    assert time.perf_counter() - t0 < 30


# -- reopening: each table read when first asked for ------------------------------------


def _zero_data(file: Path) -> None:
    """Zero every byte of a Parquet file between its magic and its footer:
    the footer (schema, row counts) stays readable, no data page does."""
    raw = file.read_bytes()
    footer = int.from_bytes(raw[-8:-4], "little")
    with file.open("r+b") as f:
        f.seek(4)
        f.write(bytes(len(raw) - 8 - footer - 4))


def test_reopen_reads_no_table_before_it_is_asked_for(
    example: gt.Trace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = example.to_parquet(tmp_path / "ds")
    reads: list[str] = []
    read = pq.ParquetFile.read

    def counted(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Any:
        reads.append(self.schema_arrow.names[0])
        return read(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read", counted)
    tr = gt.read_trace(d)
    assert tr.row_counts() == example.row_counts() and repr(tr) == repr(example)
    assert reads == []
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: tr.events, range(4)))
    assert all(t is got[0] for t in got) and tr.events is got[0]
    assert set(reads) == {"ts"}  # the events file alone (ts is its first column)...
    assert len(reads) <= len(example.events.column_names)  # ...read once
    assert got[0].equals(example.events)
    # A pickled trace carries its tables, read now, not the files.
    again = pickle.loads(pickle.dumps(tr))
    assert again.spans.equals(example.spans) and repr(again) == repr(example)


def test_reopen_damaged_data_raises_at_first_use(example: gt.Trace, tmp_path: Path) -> None:
    d = example.to_parquet(tmp_path / "ds")
    for name in example.table_names:
        if name != "events":
            _zero_data(d / f"{name}.parquet")
    # Only the footers are read at open: the damage is not seen yet.
    tr = gt.read_parquet(d)
    assert tr.events.equals(example.events)
    for name in ("spans", "goroutines", "stacks"):
        assert example.table(name).num_rows > 0
        with pytest.raises(ValueError, match=rf"{name}\.parquet: not a readable Parquet file"):
            tr.table(name)


def test_reopen_file_changed_after_open(example: gt.Trace, tmp_path: Path) -> None:
    d = example.to_parquet(tmp_path / "ds")
    tr = gt.read_parquet(d)
    _zero_data(d / "spans.parquet")
    with pytest.raises(ValueError, match=r"spans\.parquet: not a readable Parquet file"):
        tr.table("spans")
    (d / "procs.parquet").write_bytes((d / "gc.parquet").read_bytes())
    with pytest.raises(ValueError, match=r"procs\.parquet: the columns of table procs"):
        tr.table("procs")
    (d / "tasks.parquet").unlink()
    with pytest.raises(ValueError, match=r"tasks\.parquet is missing"):
        tr.table("tasks")
    assert tr.goroutines.equals(example.goroutines)
