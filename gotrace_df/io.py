"""Reading traces: sources (path, bytes, file object, URL, gzip, Parquet) in,
:class:`Trace` out."""

from __future__ import annotations

import gzip
import math
import mmap
import os
import socket
import threading
import time
import urllib.parse
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from gotrace_df import _core
from gotrace_df._errors import DownloadTimeout, TraceError, TraceWarning
from gotrace_df._progress import progress_bar
from gotrace_df._trace import Trace

__all__ = [
    "DEFAULT_MAX_BYTES",
    "example_trace",
    "get_threads",
    "read_parquet",
    "read_trace",
    "set_threads",
]

TraceSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
Progress = bool | Callable[[int, int], Any] | None

# Below this size parsing takes well under a second: no progress bar by default.
_PROGRESS_THRESHOLD = 20 * 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"

#: Default ``max_bytes`` of :func:`read_trace` (and of the ``gotrace-df``
#: command): 4 GiB. The parsed tables take about 11 times the trace (64 bytes
#: per event against 5.7 on the wire for the bench trace), so a trace this
#: large needs nearly 50 GB to read: no trace a usual machine can read is
#: refused, while an endless download or a gzip bomb stops at a size that is
#: the same on every machine.
DEFAULT_MAX_BYTES = 4 << 30


def read_trace(
    source: TraceSource,
    *,
    progress: Progress = None,
    timeout: float | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    threads: int | None = None,
) -> Trace:
    """Read a Go execution trace into Arrow tables: Go 1.22 and newer, and Go
    1.11-1.21 traces converted to the same events as Go converts them.

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
        URL sources only: seconds the whole download may take (finite and
        positive). Default: the URL's ``seconds=`` value plus 60 (60 without
        one).
    max_bytes
        The most bytes of trace read_trace brings into memory: a download or a
        file object that sends more, and a gzip stream (from any source) that
        decompresses to more, stop with :class:`TraceError` (so does a stream
        whose first bytes are not a trace header, at once). A path or buffer
        that is not compressed is read in place, whatever its size. Default
        :data:`DEFAULT_MAX_BYTES` (4 GiB).
    threads
        How many threads this parse may use (1: all on the calling thread; the
        parse uses two at most). Default ``None``: :func:`get_threads`. The
        tables are the same whatever the count.

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
        wrong, and ``offset``/``generation`` say where. Also a damaged or
        truncated gzip stream, more than ``max_bytes``, memory running out
        while decompressing or downloading, and ``timeout`` reached (that
        error, ``DownloadTimeout``, is also a :class:`TimeoutError`).
    ValueError
        ``timeout``, ``max_bytes`` or the URL's ``seconds=`` is not a usable
        number (not finite, negative); ``threads`` (or, without it,
        ``GOTRACE_DF_THREADS``) is not an integer from 1 to 1024.
    FileNotFoundError
        ``source`` is a path that does not exist.
    OSError
        A URL could not be fetched (connection refused, HTTP error status, the
        connection closed early); the message includes the server's answer.

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
    _check_max_bytes(max_bytes)
    if is_url(source):
        assert isinstance(source, str)
        data = _download(source, progress=progress, timeout=timeout, max_bytes=max_bytes)
        return _parse(data, source, progress, stacklevel=3, threads=threads)
    if isinstance(source, str | os.PathLike) and os.path.isdir(source):
        return read_parquet(source)
    with _open(source, max_bytes) as (data, name, mapped):
        return _parse(data, name, progress, stacklevel=3, mapped=mapped, threads=threads)


def set_threads(n: int | None) -> None:
    """Set how many threads gotrace_df may use from now on, in every call that
    runs in parallel (:func:`read_trace` and the views that gather rows, draw
    the timeline or walk critical paths): 1 runs everything on the calling
    thread. ``None`` goes back to the default: the ``GOTRACE_DF_THREADS``
    environment variable (read once, at the first call that needs it), else
    the cores available. Results never depend on the count.

    Raises
    ------
    ValueError
        ``n`` is not an integer from 1 to 1024.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> gt.set_threads(1)
    >>> gt.get_threads()
    1
    >>> gt.set_threads(None)
    """
    _core.set_threads(n)


def get_threads() -> int:
    """How many threads gotrace_df may use: the count of :func:`set_threads`,
    else ``GOTRACE_DF_THREADS``, else the cores available.

    Raises
    ------
    ValueError
        No count was set and ``GOTRACE_DF_THREADS`` is not an integer from 1
        to 1024.
    """
    return _core.get_threads()


def _parse(
    data: Any,
    name: str,
    progress: Progress,
    stacklevel: int,
    mapped: bool = False,
    threads: int | None = None,
) -> Trace:
    """Parse a buffer; ``stacklevel`` makes warnings point at read_trace's caller.
    ``mapped``: ``data`` is our own read-only mmap of a file, whose pages the
    core may hand back to the kernel once read."""
    with memoryview(data) as view:
        total = view.nbytes
    callback, finish = progress_callback(progress, total)
    try:
        result = _core.parse(data, callback, release_input=mapped, threads=threads)
    finally:
        finish()
    warn_damaged(result, name, stacklevel)
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


def warn_damaged(result: _core.ParseResult, name: str, stacklevel: int) -> None:
    """The :class:`TraceWarning` of a parse that dropped a damaged tail (the
    core's ``tail_error``); ``stacklevel`` counts from the caller, as for
    :func:`warnings.warn`."""
    tail = result["tail_error"]
    if tail is not None:
        lost = 1.0 - result["bytes_used"] / max(result["bytes_total"], 1)
        warnings.warn(
            f"{name}: the trace is damaged; kept its first {result['generations']} "
            f"complete generation(s), {lost:.1%} of the trace was lost: {tail['message']}",
            TraceWarning,
            stacklevel=stacklevel + 1,
        )


@contextmanager
def trace_buffer(
    source: TraceSource, *, max_bytes: int = DEFAULT_MAX_BYTES, progress: Progress = None
) -> Iterator[tuple[Any, str, bool]]:
    """For a caller that parses the trace itself: yields (buffer, display name,
    whether the buffer is a read-only file mapping made here) for the sources
    of :func:`read_trace` but a Parquet dataset, with the same rules (a path
    is mapped, gzip undone, a URL downloaded with ``progress`` as
    :func:`read_trace` takes it)."""
    _check_max_bytes(max_bytes)
    if is_url(source):
        assert isinstance(source, str)
        yield _download(source, progress=progress, timeout=None, max_bytes=max_bytes), source, False
        return
    with _open(source, max_bytes) as opened:
        yield opened


@contextmanager
def _open(source: TraceSource, max_bytes: int) -> Iterator[tuple[Any, str, bool]]:
    """Yields (buffer, display name, whether the buffer is a file mapping made
    here) for ``source``, keeping the buffer valid; gzip is undone."""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                # mmap refuses empty files; the core reports empty input.
                yield b"", path, False
                return
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                if m[:2] != _GZIP_MAGIC:
                    yield m, path, True
                    return
                data = _gunzip(m, path, max_bytes)
        # The compressed file is unmapped before the parse.
        yield data, path, False
        return
    read = getattr(source, "read", None)
    if not isinstance(source, bytes | bytearray | memoryview) and callable(read):
        name = str(getattr(source, "name", "<file>"))
        yield _read_stream(read, name, max_bytes), name, False
        return
    # bytes, bytearray, memoryview, or any other object exporting the buffer
    # protocol (numpy array, mmap ...).
    buffer: Any = source
    try:
        memoryview(buffer).release()
    except TypeError:
        raise TypeError(
            "read_trace: expected a path, bytes or a binary file object, "
            f"got {type(source).__name__}"
        ) from None
    if _starts_with_gzip(buffer):
        buffer = _gunzip(buffer, "<bytes>", max_bytes)
    yield buffer, "<bytes>", False


def progress_callback(
    progress: Progress, total: int
) -> tuple[Callable[[int, int], Any] | None, Callable[[], None]]:
    """The callback to give the core's parse for ``progress`` (as
    :func:`read_trace` takes it) over ``total`` bytes, and what to call when
    the parse ends."""
    if callable(progress):
        return progress, lambda: None
    show = progress if progress is not None else total > _PROGRESS_THRESHOLD
    if not show:
        return None, lambda: None
    bar = progress_bar(total, "reading trace")

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    return update, bar.close


def read_parquet(path: str | os.PathLike[str]) -> Trace:
    """Read a directory written by :meth:`Trace.to_parquet` back into a :class:`Trace`.

    Every table comes back with the schema and data it was written with, and
    the trace's metadata (format version, times, frequency, source); every view
    accepts the result like a parsed trace. Only the files' footers are read
    here: each table is read when it is first asked for.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is not a complete dataset (a write that was interrupted leaves
        none: see :mod:`gotrace_df.export.parquet`); raised by the first use
        of a table whose data pages are damaged.

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

# Compressed bytes handed to zlib at a time: what it does not consume yet it
# copies (``unconsumed_tail``), so a large piece would be copied over and over.
_IN_PIECE = 1 << 16
# Decompressed bytes taken from zlib at a time: what a bomb can add past
# max_bytes before it is stopped.
_OUT_PIECE = 1 << 20
# The Go trace header's length: the first bytes of a stream are checked when
# this many have arrived.
_HEADER_BYTES = 16


def is_url(source: object) -> bool:
    """Whether ``source`` is an ``http://`` or ``https://`` URL string."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def fetch_bytes(
    source: str | os.PathLike[str],
    *,
    progress: Progress = False,
    timeout: float | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> bytes:
    """The uncompressed bytes of a trace path or URL (gzip undone), unparsed;
    ``timeout`` and ``max_bytes`` as for :func:`read_trace`."""
    _check_max_bytes(max_bytes)
    if is_url(source):
        return bytes(
            _download(str(source), progress=progress, timeout=timeout, max_bytes=max_bytes)
        )
    with _open(source, max_bytes) as (data, _name, _mapped):
        return bytes(data)


def _check_max_bytes(max_bytes: int) -> None:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive number of bytes, got {max_bytes!r}")


def _starts_with_gzip(buffer: Any) -> bool:
    with memoryview(buffer) as view:
        # The core refuses a buffer that is not contiguous, compressed or not.
        if not view.c_contiguous:
            return False
        with view.cast("B") as raw:
            return raw[:2].tobytes() == _GZIP_MAGIC


def _gunzip(buffer: Any, name: str, max_bytes: int) -> bytearray:
    """The gzip stream in ``buffer``, decompressed."""
    stream = _Stream(name, max_bytes, limit_input=False)
    with memoryview(buffer) as view, view.cast("B") as raw:
        for start in range(0, raw.nbytes, _IN_PIECE):
            with raw[start : start + _IN_PIECE] as piece:
                stream.feed(piece)
    return stream.finish()


def _read_stream(read: Callable[[int], Any], name: str, max_bytes: int) -> bytearray:
    """A binary file object's contents (gzip undone), read in pieces."""
    stream = _Stream(name, max_bytes, limit_input=True)
    while True:
        try:
            chunk = read(_OUT_PIECE)
        # A gzip.GzipFile given as the source: its own decompression failed.
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise TraceError(f"{name}: reading failed after {stream.received} bytes: {e}") from None
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(
                f"read_trace: the file object must be opened in binary mode "
                f"(its read() returned {type(chunk).__name__})"
            )
        if not chunk:
            return stream.finish()
        stream.feed(chunk)


class _Stream:
    """Bytes arriving in pieces (a download, a file object, a gzip stream),
    gathered into the one buffer the core parses.

    Gzip (concatenated members are one stream, as gzip(1) writes them) is
    undone as the pieces arrive, so the compressed bytes are never held whole;
    the trace header is checked by the core as soon as its 16 bytes are there,
    so that a stream that is no trace stops at once; and the buffer never holds
    more than ``max_bytes`` (nor, with ``limit_input``, may more arrive). The
    buffer grows in place (realloc: for large sizes the kernel moves the
    pages, it does not copy them), and the core takes it without a copy.
    """

    def __init__(self, name: str, max_bytes: int, *, limit_input: bool) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self.limit_input = limit_input
        self.out = bytearray()
        self.received = 0
        self._gzip: bool | None = None  # unknown until two bytes arrived
        self._member: Any = None  # zlib decompressor of the current gzip member
        self._between = b""  # bytes after a member, until they show another
        self._trailing = False  # data after the last member (ignored, as gzip(1) does)
        self._header_checked = False

    def feed(self, chunk: Any) -> None:
        self.received += len(chunk)
        if self.limit_input and self.received > self.max_bytes:
            raise self._too_large("the source sent")
        try:
            if self._gzip is None:
                self._between += bytes(chunk)
                if len(self._between) < 2:
                    return
                self._gzip = self._between[:2] == _GZIP_MAGIC
                chunk, self._between = self._between, b""
            if self._gzip:
                self._inflate(chunk)
            else:
                self._keep(chunk)
        except MemoryError:
            raise self._out_of_memory() from None

    def finish(self) -> bytearray:
        """The whole trace, once the last piece was fed."""
        if self._gzip is None:  # fewer than two bytes: the core says what is wrong
            self._keep(self._between)
        elif self._member is not None:
            try:
                while not self._member.eof and (piece := self._member.decompress(b"", _OUT_PIECE)):
                    self._keep(piece)
            except zlib.error as e:
                raise self._damaged(e) from None
            except MemoryError:
                raise self._out_of_memory() from None
            if not self._member.eof:
                raise TraceError(
                    f"{self.name}: truncated gzip stream: it ends after {self.received} "
                    f"compressed bytes ({len(self.out)} decompressed) inside a member"
                )
        return self.out

    def _inflate(self, data: Any) -> None:
        while len(data) and not self._trailing:
            if self._member is None:
                head = self._between + bytes(data[: 2 - len(self._between)])
                if len(head) < 2:
                    self._between = head
                    return
                if head != _GZIP_MAGIC:
                    self._trailing = True
                    return
                self._member = zlib.decompressobj(wbits=31)
                data = self._between + bytes(data) if self._between else data
                self._between = b""
            try:
                self._keep(self._member.decompress(data, _OUT_PIECE))
            except zlib.error as e:
                raise self._damaged(e) from None
            if self._member.eof:
                data = self._member.unused_data
                self._member = None
            else:
                data = self._member.unconsumed_tail

    def _too_large(self, what: str) -> TraceError:
        return TraceError(
            f"{self.name}: {what} more than max_bytes={self.max_bytes} bytes (stopped "
            f"after {self.received} bytes received); pass a larger max_bytes to read it"
        )

    def _damaged(self, e: zlib.error) -> TraceError:
        # The damage lies in the piece fed last, which ends at self.received.
        return TraceError(
            f"{self.name}: damaged gzip stream before compressed byte {self.received} "
            f"({len(self.out)} bytes decompressed): {e}"
        )

    def _out_of_memory(self) -> TraceError:
        return TraceError(
            f"{self.name}: out of memory with {len(self.out)} bytes of trace read "
            f"({self.received} received); a smaller max_bytes stops earlier"
        )

    def _keep(self, piece: Any) -> None:
        if len(self.out) + len(piece) > self.max_bytes:
            raise self._too_large("the trace decompresses to" if self._gzip else "the trace is")
        self.out += piece
        if not self._header_checked and len(self.out) >= _HEADER_BYTES:
            self._header_checked = True
            _check_header(bytes(self.out[:_HEADER_BYTES]), self.name, bool(self._gzip))


def _check_header(head: bytes, name: str, compressed: bool) -> None:
    """Raises the core's TraceError if ``head`` (the first 16 bytes) is not a
    supported trace header."""
    try:
        _core.read_header(head)
    except TraceError as e:
        where = "the decompressed gzip stream" if compressed else "its first bytes"
        err = TraceError(f"{name}: {where}: {e}")
        err.offset, err.generation = e.offset, e.generation
        raise err from None


def _url_timeout(url: str, timeout: float | None) -> float:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    try:
        seconds = float(query.get("seconds", ["0"])[0])
    except ValueError:
        seconds = 0.0  # not a number: the server picks its default
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(
            f"{url}: seconds={query['seconds'][0]} is not a finite, non-negative number"
        )
    if timeout is None:
        return seconds + 60.0
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ValueError(f"timeout must be a number of seconds, got {timeout!r}")
    if not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a finite, positive number of seconds, got {timeout!r}")
    return float(timeout)


# Sockets and timers refuse waits that overflow the OS's time type (about
# 1e10 s): a wait is cut to 30 years, which no download reaches.
_MAX_WAIT = 1e9


def _download(url: str, *, progress: Progress, timeout: float | None, max_bytes: int) -> bytearray:
    """GET ``url`` as it streams (gzip undone), within ``timeout`` seconds in all."""
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
        remaining = min(max(deadline - time.monotonic(), 0.1), _MAX_WAIT)
        conn = conn_cls(parts.hostname, parts.port, timeout=remaining)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            with _shut_down_after(conn, remaining):
                conn.request("GET", path, headers={"User-Agent": "gotrace_df", "Accept": "*/*"})
                resp = conn.getresponse()
                if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
                    # The body is not read: the connection is closed below.
                    target = urllib.parse.urljoin(target, resp.getheader("Location", ""))
                    continue
                if resp.status != 200:
                    body = resp.read(4096).decode(errors="replace").strip()
                    raise OSError(f"{url}: HTTP {resp.status} {resp.reason}: {body}")
                length = resp.getheader("Content-Length")
                total = int(length) if length and length.isdigit() else 0
                if total > max_bytes:
                    raise TraceError(
                        f"{url}: the server announces {total} bytes, more than "
                        f"max_bytes={max_bytes}; pass a larger max_bytes to read it"
                    )
                stream = _Stream(url, max_bytes, limit_input=True)
                _read_body(resp, stream, deadline, total, progress)
                if total and stream.received != total:
                    raise OSError(
                        f"{url}: connection closed after {stream.received} of {total} bytes"
                    )
                return stream.finish()
        except TimeoutError:
            raise DownloadTimeout(f"{url}: no complete answer within {limit:g} s") from None
        except (ConnectionError, http.client.HTTPException) as e:
            if time.monotonic() >= deadline:  # the connection was shut down at the deadline
                raise DownloadTimeout(f"{url}: no complete answer within {limit:g} s") from None
            raise OSError(f"{url}: {e}") from e
        finally:
            conn.close()
    raise OSError(f"{url}: too many redirects")


@contextmanager
def _shut_down_after(conn: Any, seconds: float) -> Iterator[None]:
    """Shuts ``conn``'s socket down after ``seconds``, which ends whatever read
    is waiting: a socket timeout bounds each wait, not their sum, and a server
    that trickles its headers a byte at a time would never time out."""

    def shut_down() -> None:
        sock = conn.sock
        if sock is not None:
            with suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, shut_down)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _read_body(
    resp: Any,
    stream: _Stream,
    deadline: float,
    total: int,
    progress: Progress,
) -> None:
    bar: Any = None
    callback = progress if callable(progress) else None
    if progress is None or progress is True:
        bar = progress_bar(total or None, "downloading trace")
    try:
        while True:
            chunk = resp.read1(1 << 16)
            # Past the deadline the connection was shut down: what came is not all.
            if time.monotonic() >= deadline:
                raise TimeoutError
            if not chunk:
                break
            stream.feed(chunk)
            if bar is not None:
                bar.update(len(chunk))
            if callback is not None:
                callback(stream.received, total)
    finally:
        if bar is not None:
            bar.close()


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
