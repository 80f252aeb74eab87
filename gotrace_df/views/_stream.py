"""Views over a trace too big to hold: a view given a trace to read (not a
parsed :class:`gotrace_df.Trace`) runs its pass while the core parses the
trace, which hands the pass the events batch by batch and keeps no table,
so memory is what the view keeps, not the trace. The result is the one of
``read_trace(source)``: the same errors, and a damaged tail loses the same
events with the same warning."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from gotrace_df._trace import Trace

if TYPE_CHECKING:
    from gotrace_df import _core
    from gotrace_df.io import TraceSource

# ParseResult exists only in the stub (a TypedDict): named by its string.
Result = TypeVar("Result", bound="_core.ParseResult")

__all__ = ["as_trace", "run_stream"]


def as_trace(source: Trace | TraceSource) -> Trace | None:
    """``source`` as a parsed trace where it is one (or a Parquet dataset,
    whose tables are already there: it is read); None for a trace to parse,
    which a streaming pass reads."""
    if isinstance(source, Trace):
        return source
    if isinstance(source, str | os.PathLike) and os.path.isdir(source):
        from gotrace_df.io import read_trace

        return read_trace(source)
    return None


def run_stream(source: TraceSource, parse: Callable[..., Result], *, stacklevel: int) -> Result:
    """``parse(data, progress=..., release_input=...)``, a streaming pass of
    the core, over the trace ``source`` as :func:`gotrace_df.read_trace`
    opens it (a path mapped, gzip undone, a URL downloaded) and with its
    default progress bar; a damaged tail warns, ``stacklevel`` counting from
    the caller."""
    from gotrace_df.io import progress_callback, trace_buffer, warn_damaged

    with trace_buffer(source) as (data, name, mapped):
        with memoryview(data) as view:
            total = view.nbytes
        callback, finish = progress_callback(None, total)
        try:
            result = parse(data, progress=callback, release_input=mapped)
        finally:
            finish()
    warn_damaged(result, name, stacklevel=stacklevel + 1)
    return result
