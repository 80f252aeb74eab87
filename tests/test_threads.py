"""The core's thread count (``threads=``, ``gt.set_threads``,
``GOTRACE_DF_THREADS``): every table and the critical paths are the same
with one thread as with several, the count is honoured, bad counts are a
ValueError."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from gotool import CORPUS

import gotrace_df as gt

# Go 1.27's example is past 2**16 events (the events table's columns then
# finish on two threads); tasks.trace has 8 generations to cut into.
TRACES = ["go1.27/example.trace", "go1.26/tasks.trace", "v1/stress_1_21_good.trace"]
TESTS = Path(__file__).resolve().parent
BAD = [0, -1, 1025, True, 1.5, "2", 10**30]


@pytest.fixture(autouse=True)
def _default_count() -> Iterator[None]:
    yield
    gt.set_threads(None)


def _digest(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _everything(source: bytes, threads: int) -> dict[str, str]:
    """Every table and the critical paths of every task, hashed, all computed
    with `threads` threads."""
    gt.set_threads(threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gt.TraceWarning)
        tr = gt.read_trace(source, progress=False)
    out = {name: _digest(tr.table(name)) for name in tr.table_names}
    paths = gt.critical_paths(tr).reset_index(drop=True)
    out["critical_paths"] = hashlib.sha256(paths.to_csv().encode()).hexdigest()
    out["rows"] = str(len(paths))
    return out


@pytest.mark.parametrize("name", [*TRACES, "cut"])
def test_one_thread_gives_what_two_give(name: str) -> None:
    if name == "cut":  # a damaged tail: parsed twice, up to the last Sync
        data = (CORPUS / TRACES[1]).read_bytes()
        source = data[: len(data) * 2 // 3]
    else:
        source = (CORPUS / name).read_bytes()
    one, two = _everything(source, 1), _everything(source, 2)
    assert one == two
    if name != TRACES[2]:  # Go 1.21's stress test ends no task
        assert int(one["rows"]) > 0


def build_thread_seen(threads: int | None) -> bool:
    """Whether the table-building thread ran during a parse, as the progress
    callback (on the parsing thread) sees the process's threads."""
    seen = []

    def progress(done: int, total: int) -> None:
        names = [p.read_text().strip() for p in Path("/proc/self/task").glob("*/comm")]
        seen.append("gotrace-build" in names)

    # 25 generations: progress is reported after each.
    gt.read_trace(CORPUS / "go1.26/generations.trace", progress=progress, threads=threads)
    assert len(seen) > 1
    return any(seen)


def test_the_count_is_honoured() -> None:
    default = gt.get_threads()
    assert not build_thread_seen(1)
    assert build_thread_seen(2)
    gt.set_threads(1)
    assert gt.get_threads() == 1
    assert not build_thread_seen(None)
    # A call's own count is for that call.
    assert build_thread_seen(2)
    assert gt.get_threads() == 1
    gt.set_threads(None)
    assert gt.get_threads() == default


def _with_env(value: str, code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GOTRACE_DF_THREADS=value)
    return subprocess.run(
        [sys.executable, "-c", f"import gotrace_df as gt\n{code}"],
        cwd=TESTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_environment_variable_is_honoured() -> None:
    code = "import test_threads as t\nprint(gt.get_threads(), t.build_thread_seen(None))"
    for value, want in [("1", "1 False"), ("3", "3 True")]:
        out = _with_env(value, code)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == want.split()


def test_a_bad_environment_variable_is_a_value_error() -> None:
    code = (
        "for f in (gt.get_threads, lambda: gt.read_trace(gt.example_trace())):\n"
        "    try:\n"
        "        f()\n"
        "    except ValueError as e:\n"
        "        print(e)\n"
        "gt.set_threads(2)\n"
        "print(gt.get_threads(), gt.read_trace(gt.example_trace()).events.num_rows > 0)"
    )
    out = _with_env("lots", code)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:2] == ['GOTRACE_DF_THREADS must be an integer from 1 to 1024, got "lots"'] * 2
    assert lines[2] == "2 True"


@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_bad_counts_are_value_errors(bad: object) -> None:
    with pytest.raises(ValueError, match="threads must be an integer from 1 to 1024"):
        gt.set_threads(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threads must be an integer from 1 to 1024"):
        gt.read_trace(gt.example_trace(), threads=bad)  # type: ignore[arg-type]
