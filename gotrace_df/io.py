"""Reading traces: sources (path, bytes, file object, URL, gzip, Parquet) in,
:class:`Trace` out."""

from __future__ import annotations

import gzip
import mmap
import os
import time
import urllib.parse
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from gotrace_df import _core
from gotrace_df._errors import TraceWarning
from gotrace_df._trace import Trace

__all__ = ["example_trace", "read_parquet", "read_trace"]

TraceSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
Progress = bool | Callable[[int, int], Any] | None

# Below this size parsing takes well under a second: no progress bar by default.
_PROGRESS_THRESHOLD = 20 * 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"


def read_trace(
    source: TraceSource, *, progress: Progress = None, timeout: float | None = None
) -> Trace:
    """Read a Go execution trace (Go 1.22 and newer) into Arrow tables.

    Parameters
    ----------
    source
        A path (``str`` or ``os.PathLike``; the file is memory-mapped, not read
        into memory), the trace's bytes (``bytes``, ``bytearray``,
        ``memoryview`` or any buffer), a binary file object (read whole), or an
        ``http://``/``https://`` URL such as a Go program's
        ``/debug/pprof/trace?seconds=5`` (``net/http/pprof``), downloaded as it
        streams. Gzip-compressed traces (any of these sources) are recognised by
        their first bytes and decompressed. A directory written by
        :meth:`Trace.to_parquet` is read with :func:`read_parquet`.
        Flight-recorder snapshots (``runtime/trace.FlightRecorder.WriteTo``)
        are ordinary traces whose first generation is above 1.
    progress
        ``None`` (default): show a progress bar for inputs over 20 MB and for
        downloads. ``True``/``False``: always/never show one. A callable is called
        as ``progress(done_bytes, total_bytes)`` instead (for a download first
        with the bytes received so far and the expected total, 0 if unknown).
    timeout
        URL sources only: seconds the whole download may take. Default: the
        URL's ``seconds=`` value plus 60 (60 without one).

    Returns
    -------
    Trace
        Tables ``events``, ``spans``, ``goroutines``, ``procs``, ``tasks``,
        ``regions``, ``logs``, ``metrics``, ``gc``, ``cpu_samples``, ``stacks``,
        ``frames``, ``syncs``, ``experimental``, ``experimental_batches``; every
        column is documented in :mod:`gotrace_df.frames`.

    Raises
    ------
    TraceError
        The input is not a readable Go 1.22+ trace; the message says what is
        wrong, and ``offset``/``generation`` say where.
    FileNotFoundError
        ``source`` is a path that does not exist.
    OSError
        A URL could not be fetched (connection refused, HTTP error status, or
        ``timeout`` reached); the message includes the server's answer.

    Warns
    -----
    TraceWarning
        The end of the trace is damaged: every complete generation before it is
        kept, and the warning says how much was lost.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> tr.events.column_names[:3]
    ['ts', 'kind', 'g']
    """
    if is_url(source):
        assert isinstance(source, str)
        data = _download(source, progress=progress, timeout=timeout)
        return _parse(_maybe_gunzip(data), source, progress, stacklevel=3)
    if isinstance(source, str | os.PathLike) and os.path.isdir(source):
        return read_parquet(source)
    with _open(source) as (data, name, mapped):
        if bytes(data[:2]) == _GZIP_MAGIC:
            data, mapped = _maybe_gunzip(data), False
        return _parse(data, name, progress, stacklevel=3, mapped=mapped)


def _parse(
    data: Any, name: str, progress: Progress, stacklevel: int, mapped: bool = False
) -> Trace:
    """Parse a buffer; ``stacklevel`` makes warnings point at read_trace's caller.
    ``mapped``: ``data`` is our own read-only mmap of a file, whose pages the
    core may hand back to the kernel once read."""
    with memoryview(data) as view:
        total = view.nbytes
    callback, finish = _progress_callback(progress, total)
    try:
        result = _core.parse(data, callback, release_input=mapped)
    finally:
        finish()
    tail = result["tail_error"]
    if tail is not None:
        lost = 1.0 - result["bytes_used"] / max(result["bytes_total"], 1)
        warnings.warn(
            f"{name}: the trace is damaged; kept its first {result['generations']} "
            f"complete generation(s), {lost:.1%} of the trace was lost: {tail['message']}",
            TraceWarning,
            stacklevel=stacklevel,
        )
    # Through the Arrow C stream directly: pa.table() would import pandas to
    # ask whether the object is a DataFrame.
    tables = {
        n: pa.RecordBatchReader.from_stream(t).read_all() for n, t in result["tables"].items()
    }
    return Trace(
        tables,
        format_version=result["version"],
        start_ns=result["start_ns"],
        end_ns=result["end_ns"],
        generations=result["generations"],
        frequency=result["frequency"],
        bytes_used=result["bytes_used"],
        bytes_total=result["bytes_total"],
        source=name,
    )


@contextmanager
def _open(source: TraceSource) -> Iterator[tuple[Any, str, bool]]:
    """Yields (buffer, display name, whether the buffer is a file mapping made
    here) for ``source``, keeping the buffer valid."""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                # mmap refuses empty files; the core reports empty input.
                yield b"", path, False
                return
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                yield m, path, True
        return
    if isinstance(source, bytes | bytearray | memoryview):
        yield source, "<bytes>", False
        return
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(
                f"read_trace: the file object must be opened in binary mode "
                f"(its read() returned {type(data).__name__})"
            )
        yield data, str(getattr(source, "name", "<file>")), False
        return
    # Any other object exporting the buffer protocol (numpy array, mmap ...).
    buffer: Any = source
    try:
        memoryview(buffer)
    except TypeError:
        raise TypeError(
            "read_trace: expected a path, bytes or a binary file object, "
            f"got {type(source).__name__}"
        ) from None
    yield buffer, "<bytes>", False


def _progress_callback(
    progress: Progress, total: int
) -> tuple[Callable[[int, int], Any] | None, Callable[[], None]]:
    """The callback to give the core, and what to call when parsing ends."""
    if callable(progress):
        return progress, lambda: None
    show = progress if progress is not None else total > _PROGRESS_THRESHOLD
    if not show:
        return None, lambda: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="reading trace")

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    return update, bar.close


def read_parquet(path: str | os.PathLike[str]) -> Trace:
    """Read a directory written by :meth:`Trace.to_parquet` back into a :class:`Trace`.

    Every table comes back with the schema and data it was written with, and
    the trace's metadata (format version, times, frequency, source); every view
    accepts the result like a parsed trace.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is not a complete dataset (a write that was interrupted leaves
        none: see :mod:`gotrace_df.export.parquet`).

    Examples
    --------
    >>> import tempfile, gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> back = gt.read_parquet(tr.to_parquet(tempfile.mkdtemp() + "/example"))
    >>> back.events.equals(tr.events), back.start_ns == tr.start_ns
    (True, True)
    """
    from gotrace_df.export.parquet import read_parquet as _read

    return _read(path)


# -- URLs and compressed input --------------------------------------------------------


def is_url(source: object) -> bool:
    """Whether ``source`` is an ``http://`` or ``https://`` URL string."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def fetch_bytes(
    source: str | os.PathLike[str], *, progress: Progress = False, timeout: float | None = None
) -> bytes:
    """The uncompressed bytes of a trace path or URL (gzip undone), unparsed."""
    if is_url(source):
        data: Any = _download(str(source), progress=progress, timeout=timeout)
    else:
        with open(source, "rb") as f:
            data = f.read()
    return bytes(_maybe_gunzip(data))


def _maybe_gunzip(data: Any) -> Any:
    """``data`` decompressed if it starts with the gzip magic, else itself."""
    view = memoryview(data)
    if bytes(view[:2]) != _GZIP_MAGIC:
        return data
    out = bytearray()
    # Concatenated members are one stream, as gzip(1) writes them.
    d = zlib.decompressobj(wbits=31)
    rest = view
    try:
        while True:
            out += d.decompress(rest, 1 << 26)
            while d.unconsumed_tail:
                out += d.decompress(d.unconsumed_tail, 1 << 26)
            out += d.flush()
            rest = memoryview(d.unused_data)
            if not rest or bytes(rest[:2]) != _GZIP_MAGIC:
                break
            d = zlib.decompressobj(wbits=31)
    except zlib.error as e:
        raise gzip.BadGzipFile(f"gzip-compressed trace is damaged: {e}") from None
    if not d.eof:
        raise gzip.BadGzipFile("gzip-compressed trace is truncated")
    return out


def _url_timeout(url: str, timeout: float | None) -> float:
    if timeout is not None:
        return float(timeout)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    try:
        seconds = float(query.get("seconds", ["0"])[0])
    except ValueError:
        seconds = 0.0
    return max(seconds, 0.0) + 60.0


def _download(url: str, *, progress: Progress, timeout: float | None) -> bytearray:
    """GET ``url`` into memory as it streams, within ``timeout`` seconds in all."""
    import http.client

    limit = _url_timeout(url, timeout)
    deadline = time.monotonic() + limit
    target = url
    for _ in range(5):  # redirects
        parts = urllib.parse.urlsplit(target)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {target}")
        conn_cls = (
            http.client.HTTPSConnection
            if parts.scheme.lower() == "https"
            else http.client.HTTPConnection
        )
        conn = conn_cls(parts.hostname, parts.port, timeout=max(limit, 0.1))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", path, headers={"User-Agent": "gotrace_df", "Accept": "*/*"})
            resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
                target = urllib.parse.urljoin(target, resp.getheader("Location", ""))
                resp.read()
                continue
            if resp.status != 200:
                body = resp.read(4096).decode(errors="replace").strip()
                raise OSError(f"{url}: HTTP {resp.status} {resp.reason}: {body}")
            length = resp.getheader("Content-Length")
            total = int(length) if length and length.isdigit() else 0
            return _read_body(conn, resp, url, deadline, limit, total, progress)
        except TimeoutError:
            raise TimeoutError(f"{url}: no complete answer within {limit:g} s") from None
        except (ConnectionError, http.client.HTTPException) as e:
            raise OSError(f"{url}: {e}") from e
        finally:
            conn.close()
    raise OSError(f"{url}: too many redirects")


def _read_body(
    conn: Any,
    resp: Any,
    url: str,
    deadline: float,
    limit: float,
    total: int,
    progress: Progress,
) -> bytearray:
    out = bytearray()
    bar: Any = None
    callback = progress if callable(progress) else None
    if progress is None or progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=total or None,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="downloading trace",
        )
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if conn.sock is not None:
                conn.sock.settimeout(remaining)
            chunk = resp.read1(1 << 16)
            if not chunk:
                break
            out += chunk
            if bar is not None:
                bar.update(len(chunk))
            if callback is not None:
                callback(len(out), total)
    finally:
        if bar is not None:
            bar.close()
    if total and len(out) != total:
        raise OSError(f"{url}: connection closed after {len(out)} of {total} bytes")
    return out


def example_trace() -> Path:
    """Path of the small trace bundled with the package, for examples and tests.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> gt.example_trace().name
    'example.trace'
    """
    ref = resources.files("gotrace_df") / "data" / "example.trace"
    # The package is installed as files (wheel or editable), never zipped.
    return Path(str(ref))
