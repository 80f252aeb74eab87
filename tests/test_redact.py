"""Redacted exports (``redact=True``, ``gotrace-df export --redact``): safe to share,
still a trace to analyse.

What should be gone is collected from the unredacted trace (functions outside
the standard library, by `go list std` of the trace's Go release; every file
path; log categories and messages; task, region and non-runtime label names;
the source path), and every string the outputs hold is searched for it: each
value of each Parquet column, the manifest and key/value metadata, the raw bytes
of uncompressed Parquet files, and the Perfetto JSON text. The same search on
the unredacted outputs must find those strings, so the test can fail.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from gotool import go_binary, trace_version

import gotrace_df as gt
from gotrace_df.cli.address import exposure_warning
from gotrace_df.cli.serve import serve
from gotrace_df.export import redact_trace, write_parquet, write_perfetto
from gotrace_df.export.redact import REDACTED_SOURCE, RUNTIME_LABELS, Placeholders, _table

CORPUS = Path(__file__).resolve().parent / "data" / "traces"
# User tasks, regions and logs; a `go test` binary (module path without a dot);
# net/http; the AllocFree experiment's raw batches; blocking on sync.
TRACES = [
    CORPUS / "go1.27" / "tasks.trace",
    CORPUS / "go1.27" / "gotest.trace",
    CORPUS / "go1.26" / "net.trace",
    CORPUS / "go1.25" / "allocfree.trace",
    CORPUS / "go1.23" / "sync.trace",
]
ID = lambda p: f"{p.parent.name}/{p.stem}"  # noqa: E731
GOTRACE_DF = Path(sys.executable).parent / "gotrace-df"


@functools.cache
def std_packages(version: str) -> frozenset[str]:
    """`go list std` of Go ``version``: the oracle for "standard library"."""
    out = subprocess.run(
        [str(go_binary(version)), "list", "std"],
        capture_output=True,
        text=True,
        check=True,
        env={"GOTOOLCHAIN": "local", "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    return frozenset(out.stdout.split())


def package_of(function: str) -> str:
    """Package path of a function as stacks spell it (``net/http.(*conn).serve``)."""
    slash = function.rfind("/")
    dot = function.find(".", slash + 1)
    return function[:dot] if dot >= 0 else function


def strings(col: pa.ChunkedArray) -> set[str]:
    """Every distinct string in a column, dictionary entries included."""
    out: set[str] = set()
    for chunk in col.chunks:
        values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
        out.update(v for v in values.to_pylist() if v is not None)
    return out


def is_text(t: pa.DataType) -> bool:
    t = t.value_type if pa.types.is_dictionary(t) else t
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def text_columns(table: pa.Table) -> list[pa.ChunkedArray]:
    return [c for c in table.columns if is_text(c.type)]


def column_strings(trace: gt.Trace, *cols: tuple[str, str]) -> set[str]:
    return set().union(*(strings(trace.table(t).column(c)) for t, c in cols))


FUNCTION_COLUMNS = [("frames", "function"), ("stacks", "leaf_function"), ("goroutines", "name")]


def classify(trace: gt.Trace, path: Path) -> tuple[set[str], set[str]]:
    """(strings that must be gone, standard-library function names that must stay)."""
    std = std_packages(trace_version(path))
    functions = column_strings(trace, *FUNCTION_COLUMNS) - {""}
    stdlib = {f for f in functions if package_of(f) in std}
    secret = functions - stdlib
    secret |= column_strings(
        trace,
        ("frames", "file"),
        ("logs", "category"),
        ("logs", "message"),
        ("tasks", "name"),
        ("regions", "name"),
        ("goroutines", "label"),
    )
    secret |= {trace.source}
    return secret - {""} - RUNTIME_LABELS, stdlib


def dataset_strings(d: Path) -> set[str]:
    """Every string a Parquet dataset holds: column values (dictionaries
    included), and the manifest's and the files' key/value metadata."""
    out: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, str):
            out.add(x)
        elif isinstance(x, dict):
            for k, v in x.items():
                out.add(k)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(json.loads((d / "trace.json").read_text()))
    for f in d.glob("*.parquet"):
        table = pq.read_table(f)
        for key, value in (table.schema.metadata or {}).items():
            if key == b"gotrace_df.trace":
                walk(json.loads(value))
        for col in text_columns(table):
            out |= strings(col)
    return out


def binary_values(d: Path) -> int:
    """Non-null values of the binary columns of a dataset."""
    n = 0
    for f in d.glob("*.parquet"):
        table = pq.read_table(f)
        for col in table.columns:
            if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
                n += len(col) - col.null_count
    return n


def raw_bytes(d: Path) -> bytes:
    return b"".join(f.read_bytes() for f in sorted(d.iterdir()))


def leaks(secret: set[str], kept: set[str], text: bytes) -> set[str]:
    """Secrets found in ``text``. A secret inside a string that may stay (the
    log category "phase" in "GC concurrent mark phase") cannot be told apart
    there and is not looked for."""
    findable = {s for s in secret if not any(s in k for k in kept)}
    return {s for s in findable if s.encode() in text}


@pytest.fixture(scope="module", params=TRACES, ids=ID)
def case(request: pytest.FixtureRequest) -> tuple[Path, gt.Trace]:
    return request.param, gt.read_trace(request.param)


# -- nothing survives -----------------------------------------------------------------


def test_parquet_holds_no_secret(case: tuple[Path, gt.Trace], tmp_path: Path) -> None:
    path, tr = case
    secret, stdlib = classify(tr, path)
    assert secret, "the trace has user strings to redact"
    plain = write_parquet(tr, tmp_path / "plain", compression="none")
    safe = write_parquet(tr, tmp_path / "safe", compression="none", redact=True)
    values = dataset_strings(safe)
    assert not secret & values
    assert binary_values(safe) == 0, "raw batches are dropped"
    assert secret <= dataset_strings(plain) | {tr.source}
    assert stdlib <= values, "standard-library functions stay"
    # Byte for byte, in uncompressed files: dictionary pages, statistics, metadata.
    found = leaks(secret, values, raw_bytes(plain))
    assert found, "the search finds the secrets where they are"
    assert not leaks(secret, values, raw_bytes(safe))
    # And compressed as usual.
    assert not secret & dataset_strings(write_parquet(tr, tmp_path / "zstd", redact=True))


def test_trace_methods_redact(case: tuple[Path, gt.Trace], tmp_path: Path) -> None:
    """Trace.to_parquet / to_perfetto take redact= like the writers."""
    path, tr = case
    secret, _ = classify(tr, path)
    out = tr.to_parquet(tmp_path / "safe", compression="none", redact=True)
    assert json.loads((out / "trace.json").read_text())["redacted"] is True
    assert not secret & dataset_strings(out)
    doc = json.loads(tr.to_perfetto(tmp_path / "safe.json", redact=True).read_text())
    assert doc["otherData"]["source"] == REDACTED_SOURCE
    plain = tr.to_parquet(tmp_path / "plain", compression="none")
    assert secret & dataset_strings(plain), "without redact= the strings stay"


def test_perfetto_holds_no_secret(case: tuple[Path, gt.Trace], tmp_path: Path) -> None:
    path, tr = case
    secret, stdlib = classify(tr, path)
    red = redact_trace(tr)
    # What may stay: the redacted tables' strings, less any secret among them.
    kept = {s for n in red.table_names for c in text_columns(red.table(n)) for s in strings(c)}
    kept -= secret
    plain = write_perfetto(tr, tmp_path / "plain.json").read_bytes()
    safe = write_perfetto(tr, tmp_path / "safe.json", redact=True).read_bytes()
    assert leaks(secret, kept, plain), "the search finds the secrets where they are"
    assert not leaks(secret, kept, safe)
    doc = json.loads(safe)
    assert doc["otherData"]["source"] == REDACTED_SOURCE
    frames = {node["name"].split(" ")[0] for node in doc["stackFrames"].values()}
    assert stdlib & column_strings(tr, ("frames", "function")) <= frames
    assert all(not f or f in stdlib or f.startswith("func#") for f in frames)


# -- placeholders are consistent ----------------------------------------------------


def mapping(orig: pa.ChunkedArray, red: pa.ChunkedArray) -> dict[Any, Any]:
    """original -> redacted value, row by row; fails if one value maps to two."""
    out: dict[Any, Any] = {}
    for a, b in zip(orig.to_pylist(), red.to_pylist()):
        assert out.setdefault(a, b) == b, (a, out[a], b)
    return out


def test_placeholders_are_consistent(case: tuple[Path, gt.Trace]) -> None:
    path, tr = case
    red = redact_trace(tr)
    _, stdlib = classify(tr, path)
    funcs: dict[Any, Any] = {}
    for t, c in FUNCTION_COLUMNS:
        for a, b in mapping(tr.table(t)[c], red.table(t)[c]).items():
            assert funcs.setdefault(a, b) == b, f"{a} is {funcs[a]} in one table, {b} in {t}"
    for a, b in funcs.items():
        assert b == a if a in stdlib or not a else b.startswith("func#"), (a, b)
    assert len(set(funcs.values())) == len(funcs), "distinct functions stay distinct"
    files = mapping(tr.frames["file"], red.frames["file"])
    assert all(b.startswith("file#") for a, b in files.items() if a)
    assert len(set(files.values())) == len(files)
    # Task and region types: the same placeholder in the events table and their own.
    ev, rev = tr.events, red.events
    for kinds, table in (
        (["TaskBegin", "TaskEnd"], "tasks"),
        (["RegionBegin", "RegionEnd"], "regions"),
    ):
        rows = pc.is_in(ev["kind"].cast(pa.string()), pa.array(kinds))
        by_event = mapping(ev.filter(rows)["name"], rev.filter(rows)["name"])
        own = mapping(tr.table(table)["name"], red.table(table)["name"])
        prefix = table[:-1] + "#"
        for a, b in {**by_event, **own}.items():
            assert b == a if not a else b.startswith(prefix), (a, b)
            assert by_event.get(a, b) == own.get(a, b) == b
    for c, prefix in (("category", "category#"), ("message", "log#")):
        m = mapping(tr.logs[c], red.logs[c])
        assert all(b.startswith(prefix) for a, b in m.items() if a)
    # Runtime strings stay: metrics, GC ranges, reasons, runtime labels.
    for t, c in [("metrics", "name"), ("gc", "kind"), ("spans", "reason"), ("events", "reason")]:
        assert red.table(t)[c].equals(tr.table(t)[c]) or strings(red.table(t)[c]) == strings(
            tr.table(t)[c]
        )
    assert strings(red.goroutines["label"]) == strings(tr.goroutines["label"])


def test_deterministic_and_input_untouched(case: tuple[Path, gt.Trace]) -> None:
    path, tr = case
    fresh = gt.read_trace(path)
    a, b = redact_trace(tr), redact_trace(tr)
    for name in tr.table_names:
        assert a.table(name).equals(b.table(name)), name
        assert tr.table(name).equals(fresh.table(name)), name
        assert tr.table(name).schema.equals(fresh.table(name).schema), name
    assert tr.source == fresh.source == str(path)


# -- still a trace to analyse -------------------------------------------------------


def numbers(df: pd.DataFrame) -> pd.DataFrame:
    """The numeric columns, rows in a canonical order (names, now placeholders,
    may have ordered ties)."""
    num = df.select_dtypes(include="number")
    return num.sort_values(list(num.columns)).reset_index(drop=True)


def test_read_back_gives_the_same_numbers(case: tuple[Path, gt.Trace], tmp_path: Path) -> None:
    path, tr = case
    write_parquet(tr, tmp_path / "safe", redact=True)
    back = gt.read_trace(tmp_path / "safe")
    assert back.table_names == tr.table_names
    assert back.source == REDACTED_SOURCE
    for name in tr.table_names:
        a, b = tr.table(name), back.table(name)
        assert a.num_rows == b.num_rows, name
        assert a.schema.names == b.schema.names and a.schema.types == b.schema.types, name
        for field in a.schema:
            t = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
            if not (pa.types.is_string(t) or pa.types.is_binary(t)):
                assert a[field.name].equals(b[field.name]), (name, field.name)
    for kind in ("sync", "net", "syscall", "sched"):
        want, got = gt.blocking_profile(tr, kind), gt.blocking_profile(back, kind)
        pd.testing.assert_frame_equal(numbers(want), numbers(got))
        funcs = dict(zip(want["stack_id"], want["function"]))
        for sid, f in zip(got["stack_id"], got["function"]):
            assert f == funcs[sid] or f.startswith("func#")
    pd.testing.assert_frame_equal(
        numbers(gt.goroutine_analysis(tr)), numbers(gt.goroutine_analysis(back))
    )
    pd.testing.assert_frame_equal(numbers(gt.user_tasks(tr)), numbers(gt.user_tasks(back)))
    pd.testing.assert_frame_equal(
        numbers(gt.user_region_stats(tr)), numbers(gt.user_region_stats(back))
    )
    assert json.loads((tmp_path / "safe" / "trace.json").read_text())["redacted"] is True


def test_plain_string_columns_and_unknown_columns() -> None:
    """A column the module does not know is redacted whole; plain (not
    dictionary) string columns are redacted as dictionary ones are."""
    tr = gt.read_trace(gt.example_trace())
    logs = pa.table(
        {
            "event": pa.array([1, 2], pa.int32()),
            "category": pa.array(["secret-cat", ""]),
            "message": pa.array(["/home/me/key.pem", None]),
        }
    )
    extra = pa.table({"note": pa.array(["hello", "hello"]), "blob": pa.array([b"x", b"y"])})
    tables = {n: tr.table(n) for n in tr.table_names} | {"logs": logs, "extra": extra}
    meta = ("format_version", "start_ns", "end_ns", "generations", "frequency")
    meta += ("bytes_used", "bytes_total")
    other = gt.Trace(tables, **{f: getattr(tr, f) for f in meta})
    red = redact_trace(other)
    assert red.logs["category"].to_pylist() == ["category#1", ""]
    assert red.logs["message"].to_pylist() == ["log#1", None]
    assert red.logs["message"].type == pa.string()
    assert red.table("extra")["note"].to_pylist() == ["str#1", "str#1"]
    assert red.table("extra")["blob"].null_count == 2


def test_one_name_in_two_roles() -> None:
    """An events.name entry that is a task type on some rows and a region type on
    others gets each role's placeholder; a narrow dictionary key widens when the
    entries outgrow it."""
    names = [f"n{i}" for i in range(100)]
    kinds = ["TaskBegin"] * 100 + ["RegionBegin"] * 100 + ["Metric", "StateTransition"]
    idx = [*range(100), *range(100), 100, None]
    events = pa.table(
        {
            "kind": pa.array(kinds).dictionary_encode(),
            "name": pa.DictionaryArray.from_arrays(
                pa.array(idx, pa.int8()), pa.array([*names, "/gc/heap/goal:bytes"])
            ),
        }
    )
    red = _table("events", events, Placeholders())
    got = red["name"].to_pylist()
    assert got[:100] == [f"task#{i + 1}" for i in range(100)]
    assert got[100:200] == [f"region#{i + 1}" for i in range(100)]
    assert got[200:] == ["/gc/heap/goal:bytes", None]
    assert red["name"].type == pa.dictionary(pa.int32(), pa.string())
    assert red["kind"].equals(events["kind"])


# -- the command ----------------------------------------------------------------------


def test_cli_export_redact(tmp_path: Path) -> None:
    path = CORPUS / "go1.27" / "tasks.trace"
    tr = gt.read_trace(path)
    secret, stdlib = classify(tr, path)
    p = subprocess.run(
        [
            str(GOTRACE_DF),
            "export",
            "--redact",
            "--parquet",
            str(tmp_path / "ds"),
            "--perfetto",
            str(tmp_path / "t.json"),
            str(path),
        ],
        capture_output=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    assert b"redacted" in p.stderr
    values = dataset_strings(tmp_path / "ds")
    assert not secret & values and stdlib <= values
    assert binary_values(tmp_path / "ds") == 0
    assert not leaks(secret, values, (tmp_path / "t.json").read_bytes())
    back = gt.read_trace(tmp_path / "ds")
    assert {n: back.table(n).num_rows for n in back} == {n: tr.table(n).num_rows for n in tr}
    # One placeholder per string in both outputs: the JSON's task names are the
    # dataset's.
    doc = json.loads((tmp_path / "t.json").read_text())
    tasks = {e["name"] for e in doc["traceEvents"] if e.get("cat") == "task"}
    assert tasks and tasks <= strings(back.tasks["name"]) | {
        f"task {i}" for i in back.tasks["task_id"].to_pylist()
    }


# -- serving beyond loopback ----------------------------------------------------------


def test_exposure_warning() -> None:
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert exposure_warning(host, 6060) is None, host
    for host in ("0.0.0.0", "::", "192.0.2.1"):
        w = exposure_warning(host, 6060)
        assert w and "warning: serving on" in w and ":6060" in w
        assert "anyone who can reach this machine can read the traces" in w


def test_serve_warns_before_serving_beyond_loopback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Started(Exception):
        pass

    def popen(*args: Any, **kwargs: Any) -> Any:
        raise Started

    monkeypatch.setattr(subprocess, "Popen", popen)
    notebook = Path(__file__).resolve().parent / "data" / "viewer_min.ipynb"
    trace = str(CORPUS / "go1.27" / "tasks.trace")
    with pytest.raises(Started):
        serve(trace, http="0.0.0.0:0", notebook=str(notebook))
    err = capsys.readouterr().err
    assert "warning: serving on 0.0.0.0:" in err and "anyone who can reach" in err
    with pytest.raises(Started):
        serve(trace, http="localhost:0", notebook=str(notebook))
    assert "warning" not in capsys.readouterr().err
