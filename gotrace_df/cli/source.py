"""The trace a command is given: read it, or check it before serving it, with
every failure turned into a one-line message."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gotrace_df.cli.usage import PROG, die

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["check_trace", "damaged", "local_trace", "opened", "raw_bytes", "read"]

# Read of a file to check it: the 16-byte header, behind a gzip header if
# compressed, with room for the gzip header's optional fields.
_HEAD = 4096


def read(source: str) -> Trace:
    """read_trace for the command: errors become messages, a damaged tail a
    warning on stderr."""
    from gotrace_df.io import read_trace

    with _reported():
        trace = read_trace(source)
    return trace


@contextlib.contextmanager
def opened(source: str) -> Iterator[tuple[Any, str, bool]]:
    """For a command that parses the trace itself (a streaming pass): what
    ``gotrace_df.io.trace_buffer`` yields, with the errors of the block (the
    parse's too) and its damaged-tail warning reported as :func:`read`
    reports them."""
    from gotrace_df.io import trace_buffer

    with _reported(), trace_buffer(source) as got:
        yield got


@contextlib.contextmanager
def _reported() -> Iterator[None]:
    """Errors of reading a trace become messages, a damaged tail a warning on
    stderr."""
    from gotrace_df._errors import TraceError, TraceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TraceWarning)
        try:
            yield
        except FileNotFoundError as e:
            die(f"failed to read trace file: {e}")
        except (TraceError, ValueError, OSError, EOFError, zlib.error) as e:
            die(str(e))
        finally:
            for w in caught:
                print(f"{PROG}: {w.message}", file=sys.stderr)


def damaged(trace: Trace) -> bool:
    """The trace lost a damaged tail (read_trace warned)."""
    return trace.bytes_used < trace.bytes_total


def raw_bytes(source: str) -> bytes:
    """The trace's bytes (decompressed, downloaded) for the wire-level dumps."""
    from gotrace_df.io import fetch_bytes

    if os.path.isdir(source):
        die(f"{source}: -d=wire and -d=footprint need the trace file, not a Parquet dataset")
    try:
        return fetch_bytes(source)
    except FileNotFoundError as e:
        die(f"failed to read trace file: {e}")
    except (ValueError, OSError) as e:
        die(str(e))


def check_trace(path: str) -> None:
    """Exit with a message unless ``path`` can be the viewer's trace: an existing,
    readable file that starts as a supported Go trace (gzip-compressed or not),
    or a complete Parquet dataset.

    Only the header is checked, so that the viewer's kernel does the only
    parse; damage further in is reported on the page.
    """
    from gotrace_df import _core
    from gotrace_df._errors import TraceError

    if os.path.isdir(path):
        read(path)  # the dataset's files are memory-mapped, not parsed
        return
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
    except FileNotFoundError:
        die(f"failed to read trace file: open {path}: no such file or directory")
    except OSError as e:
        die(f"failed to read trace file: {e}")
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, _HEAD)
        except zlib.error as e:
            die(f"{path}: damaged gzip stream: {e}")
    try:
        _core.read_header(head[:16])
    except TraceError as e:
        die(f"{path}: {e}")


@contextlib.contextmanager
def local_trace(source: str) -> Iterator[str]:
    """A path the viewer's kernel can open: URLs are downloaded once, here."""
    from gotrace_df.io import fetch_bytes, is_url

    if not is_url(source):
        yield os.path.abspath(source)
        return
    try:
        data = fetch_bytes(source, progress=True)
    except (ValueError, OSError) as e:
        die(str(e))
    with tempfile.TemporaryDirectory(prefix="gotrace-df-") as d:
        path = os.path.join(d, "trace.out")
        with open(path, "wb") as f:
            f.write(data)
        yield path
