"""Trace sources beyond files and bytes: http(s) URLs (a live Go program
serving net/http/pprof on loopback), gzip-compressed traces, and
flight-recorder snapshots."""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.compute as pc
import pytest
from parity import check_trace_against_go

import gotrace_df as gt
from gotrace_df.io import fetch_bytes
from gotrace_df.testing import check_invariants

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "traces"
PROGRAM = ROOT / "tests" / "data" / "programs" / "pprofserver" / "main.go"
TASKS = CORPUS / "go1.27" / "tasks.trace"


def same_tables(a: gt.Trace, b: gt.Trace) -> None:
    assert a.table_names == b.table_names
    for name in a.table_names:
        assert a.table(name).equals(b.table(name)), name
    assert (a.start_ns, a.end_ns, a.generations, a.format_version, a.frequency) == (
        b.start_ns,
        b.end_ns,
        b.generations,
        b.format_version,
        b.frequency,
    )


# -- a live Go program: net/http/pprof on 127.0.0.1 --------------------------------------------


@pytest.fixture(scope="module")
def pprofserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build tests/data/programs/pprofserver with the system go and run it; yields
    its base URL. It exits when its stdin closes."""
    go = shutil.which("go")
    assert go is not None, "the system go is needed (make setup)"
    work = tmp_path_factory.mktemp("pprofserver")
    shutil.copy(PROGRAM, work / "main.go")
    (work / "go.mod").write_text("module pprofserver\n\ngo 1.25\n")
    env = dict(os.environ, GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="", GOPROXY="off")
    b = subprocess.run(
        [go, "build", "-o", "pprofserver", "."],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert b.returncode == 0, b.stderr
    # Short generations, so the flight recorder's snapshot starts above generation 1.
    run_env = dict(env, GODEBUG="traceadvanceperiod=100000000")
    p = subprocess.Popen(
        [str(work / "pprofserver"), "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=run_env,
        text=True,
    )
    assert p.stdout is not None and p.stdin is not None
    line = p.stdout.readline().strip()
    assert line.startswith("listening on http://127.0.0.1:"), line
    try:
        yield line.removeprefix("listening on ")
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stdout.close()
        if p.stderr is not None:
            p.stderr.close()


def test_pprof_trace_url(pprofserver: str) -> None:
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))

    url = f"{pprofserver}/debug/pprof/trace?seconds=1"
    t0 = time.monotonic()
    tr = gt.read_trace(url, progress=progress)
    assert time.monotonic() - t0 >= 1.0
    assert tr.source == url
    assert tr.duration_ns >= 900_000_000
    check_invariants(tr)
    names = set(pc.unique(tr.goroutines["name"].cast("string")).to_pylist())
    assert any(n and n.startswith("main.work") for n in names), names
    assert "job" in set(tr.tasks["name"].cast("string").to_pylist())
    # The download reported its progress as it streamed (the length of a
    # streamed answer is unknown: total 0), then the parse its own.
    download = [d for d, total in seen if total == 0]
    assert len(download) >= 2 and download == sorted(download)
    assert seen[-1][0] == seen[-1][1] == download[-1]


def test_url_bytes_parse_as_go_parses_them(pprofserver: str, tmp_path: Path) -> None:
    """What we download is the trace Go's own parser reads, event for event."""
    data = fetch_bytes(f"{pprofserver}/debug/pprof/trace?seconds=0.5")
    path = tmp_path / "live.trace"
    path.write_bytes(data)
    assert check_trace_against_go(path) > 0


def test_gzip_url(pprofserver: str) -> None:
    tr = gt.read_trace(f"{pprofserver}/gzip/trace?seconds=0.5", progress=False)
    assert tr.events.num_rows > 0
    check_invariants(tr)


def test_flight_recorder_url(pprofserver: str) -> None:
    time.sleep(0.5)  # a few 100 ms generations since the server started
    tr = gt.read_trace(f"{pprofserver}/flightrecorder", progress=False)
    first_gen = tr.syncs["gen"].to_pylist()[0]
    assert first_gen > 1, "a snapshot starts at a later generation"
    check_invariants(tr)


def test_url_timeout(pprofserver: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(gt.TraceError, match="within 1.5 s") as e:
        gt.read_trace(f"{pprofserver}/stall", timeout=1.5, progress=False)
    assert isinstance(e.value, TimeoutError)  # what it raised before it was a TraceError
    assert time.monotonic() - t0 < 10


def test_url_http_error(pprofserver: str) -> None:
    with pytest.raises(OSError, match="HTTP 404"):
        gt.read_trace(f"{pprofserver}/no/such/page", progress=False)


def test_url_connection_refused() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError):
        gt.read_trace(f"http://127.0.0.1:{port}/debug/pprof/trace?seconds=1", progress=False)


def test_cli_reads_a_url(pprofserver: str, tmp_path: Path) -> None:
    env = dict(os.environ, BROWSER="none")
    gotrace_df = Path(sys.executable).parent / "gotrace-df"
    url = f"{pprofserver}/debug/pprof/trace?seconds=0.5"
    p = subprocess.run(
        [str(gotrace_df), "export", "--parquet", str(tmp_path / "ds"), url],
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert b"downloading trace" in p.stderr  # the progress bar
    tr = gt.read_parquet(tmp_path / "ds")
    assert tr.source == url
    assert tr.events.num_rows > 0


def test_viewer_on_a_url(pprofserver: str) -> None:
    """`gotrace-df URL` downloads the trace once and serves the viewer on it."""
    from test_cli import MIN_NOTEBOOK, _serve_and_interrupt

    _serve_and_interrupt(
        MIN_NOTEBOOK, "GOTRACE-DF-VIEWER-OK", trace=f"{pprofserver}/debug/pprof/trace?seconds=0.5"
    )


# -- URLs served from a file: byte-exact --------------------------------------------------------


@pytest.fixture(scope="module")
def static_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    d = tmp_path_factory.mktemp("static")
    shutil.copy(TASKS, d / "tasks.trace")
    (d / "tasks.trace.gz").write_bytes(gzip.compress(TASKS.read_bytes()))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(d))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", d
    srv.shutdown()


@pytest.mark.parametrize("name", ["tasks.trace", "tasks.trace.gz"])
def test_static_url_equals_file(static_server: tuple[str, Path], name: str) -> None:
    base, _ = static_server
    same_tables(gt.read_trace(f"{base}/{name}", progress=False), gt.read_trace(TASKS))


# -- gzip ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tasks() -> gt.Trace:
    return gt.read_trace(TASKS)


def test_gzip_every_source(tasks: gt.Trace, tmp_path: Path) -> None:
    data = gzip.compress(TASKS.read_bytes())
    path = tmp_path / "t.trace.gz"
    path.write_bytes(data)
    for source in (path, str(path), data, bytearray(data), memoryview(data), io.BytesIO(data)):
        same_tables(gt.read_trace(source), tasks)
    assert gt.read_trace(path).source == str(path)


def test_gzip_without_extension_and_multi_member(tasks: gt.Trace, tmp_path: Path) -> None:
    raw = TASKS.read_bytes()
    half = len(raw) // 2
    path = tmp_path / "trace.out"  # recognised by its magic bytes, not its name
    path.write_bytes(gzip.compress(raw[:half]) + gzip.compress(raw[half:]))
    same_tables(gt.read_trace(path), tasks)


# -- flight recorder snapshots -----------------------------------------------------------------

FLIGHTREC = sorted(CORPUS.glob("go1.*/flightrec.trace"))


@pytest.mark.parametrize("path", FLIGHTREC, ids=lambda p: p.parent.name)
def test_flight_recorder_snapshots(path: Path) -> None:
    tr = gt.read_trace(path)
    assert tr.syncs["gen"].to_pylist()[0] > 1
    assert tr.syncs["n"].to_pylist()[0] == 1
    check_invariants(tr)
    assert tr.tasks.num_rows > 0
    # And through the other sources.
    same_tables(gt.read_trace(gzip.compress(path.read_bytes())), tr)


def test_flight_recorder_corpus_is_there() -> None:
    assert {p.parent.name for p in FLIGHTREC} == {"go1.25", "go1.26", "go1.27"}
