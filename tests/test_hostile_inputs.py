"""Inputs made to hurt: gzip bombs, truncated and non-trace gzip, endless and
stalled downloads (a loopback server started here), unusable numbers, and
tampered Parquet datasets. Each must end in a clear TraceError or ValueError;
memory bounds are asserted in a child process under an address-space cap
(RLIMIT_AS), so that a regression fails there instead of exhausting the machine."""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import json
import math
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gotrace_df as gt
from gotrace_df.export import parquet as gpq
from gotrace_df.io import DEFAULT_MAX_BYTES, fetch_bytes

TASKS = Path(__file__).resolve().parent / "data" / "traces" / "go1.27" / "tasks.trace"
HEADER = TASKS.read_bytes()[:16]  # a valid trace header: "go 1.27 trace\0\0\0"
MiB = 1 << 20
GiB = 1 << 30


@functools.cache
def zeros_member() -> bytes:
    """One gzip member of 64 MiB of zeros, 65 KB: members repeated make a bomb
    of any size in no time (concatenated members are one stream)."""
    return gzip.compress(bytes(64 * MiB), 9)


def bomb(size: int, head: bytes = b"") -> bytes:
    """A gzip stream of ``head`` then zeros, ``size`` bytes decompressed."""
    n = (size - len(head)) // (64 * MiB)
    return gzip.compress(head) + zeros_member() * n


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bombs")
    files = {"zeros": bomb(2 * GiB), "trace": bomb(2 * GiB, HEADER)}
    for name, data in files.items():
        (d / f"{name}.gz").write_bytes(data)
    return {name: d / f"{name}.gz" for name in files}


# -- a child under an address-space cap -------------------------------------------------

_CAPPED = textwrap.dedent(
    """
    import json, resource, sys, time
    import gotrace_df as gt
    cap, above, code, ARGS = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    if above:  # a cap this far above what the interpreter already maps
        with open("/proc/self/status") as f:
            cap = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:")) + above
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    t0 = time.monotonic()
    try:
        exec(code)
        out = {"error": None}
    except BaseException as e:
        out = {"error": type(e).__name__, "trace_error": isinstance(e, gt.TraceError),
               "message": str(e)}
    out["seconds"] = time.monotonic() - t0
    print(json.dumps(out))
    """
)


def run_capped(code: str, *args: str, cap: int = 0, above: int = 0) -> dict[str, Any]:
    """Runs ``code`` (``gt`` imported, ``ARGS`` = ``args``) in a child whose
    address space is capped at ``cap`` bytes, or ``above`` bytes more than it
    maps once gotrace_df is imported; returns what it raised."""
    p = subprocess.run(
        [sys.executable, "-c", _CAPPED, str(cap), str(above), code, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    result: dict[str, Any] = json.loads(p.stdout)
    return result


def assert_trace_error(result: dict[str, Any], match: str) -> None:
    assert result["error"] is not None, "no error raised"
    assert result["trace_error"], f"{result['error']}: {result['message']}"
    assert match in result["message"], result["message"]


# -- gzip bombs ---------------------------------------------------------------------------

SOURCES = {
    "path": "gt.read_trace(ARGS[0], **KW)",
    "bytes": "gt.read_trace(open(ARGS[0], 'rb').read(), **KW)",
    "file object": "gt.read_trace(open(ARGS[0], 'rb'), **KW)",
}


@pytest.mark.parametrize("source", SOURCES)
def test_bomb_stops_at_max_bytes(bombs: dict[str, Path], source: str) -> None:
    """A trace header then 2 GiB of zeros, max_bytes 256 MiB, under a 1.5 GiB cap."""
    code = "KW = {'max_bytes': 256 << 20}\n" + SOURCES[source]
    result = run_capped(code, str(bombs["trace"]), cap=3 * GiB // 2)
    assert_trace_error(result, "decompresses to more than max_bytes=268435456")


@pytest.mark.parametrize("source", SOURCES)
def test_non_trace_bomb_fails_on_its_first_bytes(bombs: dict[str, Path], source: str) -> None:
    """2 GiB of zeros, the default max_bytes, 64 MiB of room: stopped by the header."""
    result = run_capped("KW = {}\n" + SOURCES[source], str(bombs["zeros"]), above=64 * MiB)
    assert_trace_error(result, "not a Go execution trace")
    assert "decompressed gzip stream" in result["message"]
    assert result["seconds"] < 5


def test_fetch_bytes_keeps_max_bytes(bombs: dict[str, Path]) -> None:
    """The command's wire dumps and the viewer's downloads read through fetch_bytes."""
    with pytest.raises(gt.TraceError, match="max_bytes=1048576"):
        fetch_bytes(bombs["trace"], max_bytes=MiB)


def test_default_max_bytes() -> None:
    import inspect

    assert DEFAULT_MAX_BYTES == 4 * GiB
    for f in (gt.read_trace, fetch_bytes):
        assert inspect.signature(f).parameters["max_bytes"].default == DEFAULT_MAX_BYTES


@pytest.mark.parametrize("value", [0, -1, 1.5, True, None])
def test_max_bytes_must_be_a_positive_int(value: Any) -> None:
    with pytest.raises(ValueError, match="max_bytes must be a positive number"):
        gt.read_trace(TASKS, max_bytes=value)


# -- truncated, damaged and non-trace gzip --------------------------------------------------


def _sources(data: bytes, tmp_path: Path) -> list[Any]:
    path = tmp_path / "input.gz"
    path.write_bytes(data)
    return [path, data, bytearray(data), memoryview(data), io.BytesIO(data)]


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(TASKS.read_bytes())
    cut = len(data) // 2
    for source in _sources(data[:cut], tmp_path):
        with pytest.raises(gt.TraceError, match=f"ends after {cut} compressed bytes"):
            gt.read_trace(source)


def test_damaged_gzip(tmp_path: Path) -> None:
    bad = bytearray(gzip.compress(TASKS.read_bytes()))
    bad[len(bad) // 2] ^= 0xFF
    for source in _sources(bytes(bad), tmp_path):
        with pytest.raises(gt.TraceError, match="damaged gzip stream before compressed byte"):
            gt.read_trace(source)


def test_truncated_gzip_file_object(tmp_path: Path) -> None:
    """A gzip.GzipFile given as the source fails in its own read(): EOFError."""
    path = tmp_path / "cut.gz"
    data = gzip.compress(TASKS.read_bytes())
    path.write_bytes(data[: len(data) // 2])
    with gzip.open(path, "rb") as f, pytest.raises(gt.TraceError, match="reading failed"):
        gt.read_trace(f)


def test_non_trace_in_gzip(tmp_path: Path) -> None:
    for source in _sources(gzip.compress(b"<html>not a trace</html>\n" * 100), tmp_path):
        with pytest.raises(gt.TraceError, match="no 'go 1.NN trace' header") as e:
            gt.read_trace(source)
        assert e.value.offset == 0


def test_unsupported_version_in_gzip(tmp_path: Path) -> None:
    old = b"go 1.10 trace\x00\x00\x00" + bytes(100)
    with pytest.raises(gt.TraceError, match="unsupported trace version go 1.10"):
        gt.read_trace(gzip.compress(old))


# -- URLs: a loopback server ----------------------------------------------------------------

# Every handler ends by itself within this many seconds (or when the client goes).
SERVE_SECONDS = 20


class Hostile(http.server.BaseHTTPRequestHandler):
    stop = threading.Event()

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        route = self.path.split("?")[0]
        if route == "/announce":  # a length no one should wait for
            self.send_response(200)
            self.send_header("Content-Length", str(64 * GiB))
            self.end_headers()
            self._send_for_a_while(HEADER, bytes(MiB))
        elif route.startswith("/endless"):
            self.send_response(200)
            self.end_headers()
            if route == "/endless/trace":
                self._send_for_a_while(HEADER, bytes(MiB))
            elif route == "/endless/zeros":
                self._send_for_a_while(b"", bytes(MiB))
            else:  # /endless/gzip
                self._send_for_a_while(gzip.compress(HEADER), zeros_member())
        elif route == "/trickle/headers":  # a header line a byte at a time
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self._send_for_a_while(b"", b"x", pause=0.1)
        elif route == "/trickle/body":
            self.send_response(200)
            self.end_headers()
            self._send_for_a_while(HEADER, b"\x00", pause=0.1)
        elif route.startswith("/stall"):
            self.send_response(200)
            self.end_headers()
            if route == "/stall/body":
                self.wfile.write(HEADER)
            self.wfile.flush()
            self.stop.wait(SERVE_SECONDS)
        else:
            self.send_error(404)

    def _send_for_a_while(self, first: bytes, block: bytes, pause: float = 0) -> None:
        deadline = time.monotonic() + SERVE_SECONDS
        try:
            self.wfile.write(first)
            while time.monotonic() < deadline and not self.stop.wait(pause):
                self.wfile.write(block)
                self.wfile.flush()
        except OSError:  # the client stopped reading
            pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    Hostile.stop.set()
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize(
    ("route", "match"),
    [
        ("/endless/trace", "the source sent more than max_bytes=33554432"),
        ("/endless/gzip", "decompresses to more than max_bytes=33554432"),
    ],
)
def test_endless_url_stops_at_max_bytes(server: str, route: str, match: str) -> None:
    result = run_capped(
        "gt.read_trace(ARGS[0], max_bytes=32 << 20, progress=False)",
        server + route,
        above=256 * MiB,
    )
    assert_trace_error(result, match)
    assert result["seconds"] < 10


def test_endless_non_trace_url_fails_on_its_first_bytes(server: str) -> None:
    result = run_capped(
        "gt.read_trace(ARGS[0], progress=False)", server + "/endless/zeros", above=64 * MiB
    )
    assert_trace_error(result, "not a Go execution trace")
    assert result["seconds"] < 5


def test_announced_length_over_max_bytes(server: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(gt.TraceError, match=f"announces {64 * GiB} bytes"):
        gt.read_trace(server + "/announce", progress=False)
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("route", ["/stall", "/stall/body", "/trickle/headers", "/trickle/body"])
def test_stalled_url_ends_at_the_timeout(server: str, route: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(gt.TraceError, match="no complete answer within 1 s") as e:
        gt.read_trace(server + route, timeout=1, progress=False)
    assert 1 <= time.monotonic() - t0 < 5
    assert isinstance(e.value, TimeoutError)


@pytest.mark.parametrize("seconds", ["inf", "-inf", "nan", "-1", "1e400"])
def test_unusable_seconds_in_url(seconds: str) -> None:
    # Refused before connecting: nothing listens on the discard port.
    with pytest.raises(ValueError, match=f"seconds={seconds} is not a finite, non-negative"):
        gt.read_trace(f"http://127.0.0.1:9/debug/pprof/trace?seconds={seconds}")


@pytest.mark.parametrize("timeout", [math.inf, math.nan, 0, -1, "5"])
def test_unusable_timeout(timeout: Any) -> None:
    with pytest.raises(ValueError, match="timeout must be a"):
        gt.read_trace("http://127.0.0.1:9/debug/pprof/trace", timeout=timeout)


# -- tampered Parquet datasets ----------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return gt.read_trace(gt.example_trace()).to_parquet(tmp_path_factory.mktemp("ds") / "orig")


@pytest.fixture()
def ds(dataset: Path, tmp_path: Path) -> Path:
    """A fresh copy of the dataset to tamper with, beside a table outside it."""
    shutil.copy(dataset / "logs.parquet", tmp_path / "outside.parquet")
    return Path(shutil.copytree(dataset, tmp_path / "ds"))


def edit_manifest(d: Path, **tables: dict[str, Any] | None) -> None:
    m = json.loads((d / gpq.MANIFEST).read_text())
    for name, entry in tables.items():
        if entry is None:
            del m["tables"][name]
        else:
            m["tables"][name] = entry
    (d / gpq.MANIFEST).write_text(json.dumps(m))


def rows(d: Path, name: str) -> int:
    return int(pq.read_metadata(d / f"{name}.parquet").num_rows)


def test_untampered_dataset_reads(ds: Path) -> None:
    assert gt.read_parquet(ds).logs.equals(gt.read_trace(gt.example_trace()).logs)


def test_file_outside_by_dotdot(ds: Path) -> None:
    edit_manifest(ds, logs={"file": "../outside.parquet", "rows": rows(ds, "logs")})
    with pytest.raises(ValueError, match=r"\.\./outside\.parquet lies outside the dataset"):
        gt.read_parquet(ds)


def test_file_outside_by_absolute_path(ds: Path) -> None:
    outside = ds.parent / "outside.parquet"
    edit_manifest(ds, logs={"file": str(outside), "rows": rows(ds, "logs")})
    with pytest.raises(ValueError, match="lies outside the dataset"):
        gt.read_parquet(ds)


def test_symlink_outside(ds: Path) -> None:
    (ds / "logs.parquet").unlink()
    (ds / "logs.parquet").symlink_to(ds.parent / "outside.parquet")
    with pytest.raises(ValueError, match="logs.parquet lies outside the dataset"):
        gt.read_parquet(ds)
    # A symlink that stays inside is a file of the dataset.
    (ds / "logs.parquet").unlink()
    (ds / "logs-copy.parquet").write_bytes((ds.parent / "outside.parquet").read_bytes())
    (ds / "logs.parquet").symlink_to("logs-copy.parquet")
    assert gt.read_parquet(ds).logs.num_rows == rows(ds, "logs")


def test_manifest_symlink_outside(ds: Path) -> None:
    real = ds.parent / "elsewhere.json"
    real.write_text((ds / gpq.MANIFEST).read_text())
    (ds / gpq.MANIFEST).unlink()
    (ds / gpq.MANIFEST).symlink_to(real)
    with pytest.raises(ValueError, match="trace.json lies outside the dataset"):
        gt.read_parquet(ds)


def test_missing_table(ds: Path) -> None:
    edit_manifest(ds, goroutines=None)
    (ds / "goroutines.parquet").unlink()
    with pytest.raises(ValueError, match="tables missing from the dataset: goroutines"):
        gt.read_parquet(ds)


def test_unknown_table(ds: Path) -> None:
    edit_manifest(ds, bogus={"file": "logs.parquet", "rows": rows(ds, "logs")})
    with pytest.raises(ValueError, match="unknown tables in the dataset: bogus"):
        gt.read_parquet(ds)


def test_unlisted_file_is_not_read(ds: Path) -> None:
    (ds / "bogus.parquet").write_bytes(b"not parquet")
    (ds / "notes.txt").write_text("mine")
    assert gt.read_parquet(ds).events.num_rows == rows(ds, "events")


def test_wrong_column_type(ds: Path) -> None:
    t = pq.read_table(ds / "goroutines.parquet")
    i = t.schema.get_field_index("goid")
    pq.write_table(
        t.set_column(i, "goid", t.column(i).cast(pa.string())), ds / "goroutines.parquet"
    )
    with pytest.raises(ValueError, match="column goroutines.goid is string, not int64"):
        gt.read_parquet(ds)


def test_missing_column(ds: Path) -> None:
    pq.write_table(pq.read_table(ds / "tasks.parquet").drop_columns(["name"]), ds / "tasks.parquet")
    with pytest.raises(ValueError, match="the columns of table tasks are"):
        gt.read_parquet(ds)


def test_wider_dictionary_keys(ds: Path) -> None:
    t = pq.read_table(ds / "events.parquet")
    i = t.schema.get_field_index("kind")
    wide = t.column(i).cast(pa.dictionary(pa.int64(), pa.string()))
    pq.write_table(t.set_column(i, "kind", wide), ds / "events.parquet")
    with pytest.raises(
        ValueError, match="column events.kind is dictionary<values=string, indices=int64"
    ):
        gt.read_parquet(ds)


def test_plain_dictionary_column_is_restored(ds: Path, dataset: Path) -> None:
    """Another tool may drop a dictionary: the values are the same table."""
    t = pq.read_table(ds / "events.parquet")
    i = t.schema.get_field_index("kind")
    pq.write_table(t.set_column(i, "kind", t.column(i).cast(pa.string())), ds / "events.parquet")
    back = gt.read_parquet(ds).events
    assert (
        back.column("kind").to_pylist()
        == gt.read_parquet(dataset).events.column("kind").to_pylist()
    )


def test_not_parquet(ds: Path) -> None:
    (ds / "spans.parquet").write_bytes(b"PAR1 but not really")
    with pytest.raises(ValueError, match="spans.parquet: not a readable Parquet file"):
        gt.read_parquet(ds)


@pytest.mark.parametrize(
    ("manifest", "match"),
    [
        ("{not json", "damaged manifest"),
        ("[]", "not a gotrace_df Parquet manifest"),
        ('{"format": "gotrace_df.parquet", "layout_version": "1"}', "layout_version is '1'"),
        ('{"format": "gotrace_df.parquet", "layout_version": 1}', "no trace metadata"),
    ],
)
def test_damaged_manifest(ds: Path, manifest: str, match: str) -> None:
    (ds / gpq.MANIFEST).write_text(manifest)
    with pytest.raises(ValueError, match=match):
        gt.read_parquet(ds)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m["trace"].pop("start_ns"), "trace start_ns is None"),
        (lambda m: m["trace"].update(source=7), "trace source is 7"),
        (lambda m: m.update(tables=[]), "no table list"),
        (lambda m: m["tables"]["logs"].update(rows="3"), "table logs is"),
        (lambda m: m["tables"]["logs"].update(file=None), "table logs is"),
        (lambda m: m["tables"]["logs"].update(rows=10**6), "rows, the manifest says 1000000"),
    ],
)
def test_wrong_manifest_fields(ds: Path, edit: Any, match: str) -> None:
    m = json.loads((ds / gpq.MANIFEST).read_text())
    edit(m)
    (ds / gpq.MANIFEST).write_text(json.dumps(m))
    with pytest.raises(ValueError, match=match):
        gt.read_parquet(ds)
