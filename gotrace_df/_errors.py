"""The exception and warning classes users catch."""

from __future__ import annotations

from gotrace_df._core import TraceError

__all__ = ["DownloadTimeout", "TraceError", "TraceWarning"]

# TraceError is defined in the compiled module so that the core's errors arrive
# as it directly; it subclasses ValueError and carries `offset` and `generation`
# (int, or None when unknown). Its qualified name is already gotrace_df.TraceError.


class TraceWarning(UserWarning):
    """Something in a trace was skipped but the rest was read, e.g. a damaged tail."""


class DownloadTimeout(TraceError, TimeoutError):
    """A URL's trace did not arrive within the timeout: the trace could not be
    read (a :class:`TraceError`), and a :class:`TimeoutError` as well, for
    callers that catch network failures as ``OSError``."""
