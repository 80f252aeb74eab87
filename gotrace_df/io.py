"""Reading traces: sources (path, bytes, file object) in, :class:`Trace` out."""

from __future__ import annotations

import mmap
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from gotrace_df import _core
from gotrace_df._errors import TraceWarning
from gotrace_df._trace import Trace

__all__ = ["example_trace", "read_trace"]

TraceSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
Progress = bool | Callable[[int, int], Any] | None

# Below this size parsing takes well under a second: no progress bar by default.
_PROGRESS_THRESHOLD = 20 * 1024 * 1024


def read_trace(source: TraceSource, *, progress: Progress = None) -> Trace:
    """Read a Go execution trace (Go 1.22 and newer) into Arrow tables.

    Parameters
    ----------
    source
        A path (``str`` or ``os.PathLike``; the file is memory-mapped, not read
        into memory), the trace's bytes (``bytes``, ``bytearray``,
        ``memoryview`` or any buffer), or a binary file object (read whole).
    progress
        ``None`` (default): show a progress bar for inputs over 20 MB.
        ``True``/``False``: always/never show one. A callable is called as
        ``progress(done_bytes, total_bytes)`` instead.

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
    with _open(source) as (data, name):
        with memoryview(data) as view:
            total = view.nbytes
        callback, finish = _progress_callback(progress, total)
        try:
            result = _core.parse(data, callback)
        finally:
            finish()
    tail = result["tail_error"]
    if tail is not None:
        lost = 1.0 - result["bytes_used"] / max(result["bytes_total"], 1)
        warnings.warn(
            f"{name}: the trace is damaged; kept its first {result['generations']} "
            f"complete generation(s), {lost:.1%} of the trace was lost: {tail['message']}",
            TraceWarning,
            stacklevel=2,
        )
    tables = {n: pa.table(t) for n, t in result["tables"].items()}
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
def _open(source: TraceSource) -> Iterator[tuple[Any, str]]:
    """Yields (buffer, display name) for ``source``, keeping the buffer valid."""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                # mmap refuses empty files; the core reports empty input.
                yield b"", path
                return
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                yield m, path
        return
    if isinstance(source, bytes | bytearray | memoryview):
        yield source, "<bytes>"
        return
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(
                f"read_trace: the file object must be opened in binary mode "
                f"(its read() returned {type(data).__name__})"
            )
        yield data, str(getattr(source, "name", "<file>"))
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
    yield buffer, "<bytes>"


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
