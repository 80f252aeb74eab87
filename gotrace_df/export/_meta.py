"""A trace's metadata (everything but its tables), for the writers that copy a trace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from gotrace_df._trace import Deferred, Trace

__all__ = ["FIELDS", "metadata", "rebuild"]

#: The :class:`~gotrace_df.Trace` attributes that describe it, besides its tables.
FIELDS = (
    "format_version",
    "start_ns",
    "end_ns",
    "generations",
    "frequency",
    "bytes_used",
    "bytes_total",
    "source",
)


def metadata(trace: Trace) -> dict[str, Any]:
    """``trace``'s metadata as JSON-ready values (plus ``go_versions``, for readers)."""
    meta = {f: getattr(trace, f) for f in FIELDS}
    meta["go_versions"] = trace.go_versions
    return meta


def rebuild(tables: Mapping[str, pa.Table | Deferred], meta: Mapping[str, Any]) -> Trace:
    """A :class:`~gotrace_df.Trace` of ``tables`` (read on first use where
    :class:`~gotrace_df._trace.Deferred`) described by ``meta`` (as
    :func:`metadata` gives it; extra keys are ignored)."""
    from gotrace_df._trace import Trace

    return Trace(
        tables,
        format_version=int(meta["format_version"]),
        start_ns=int(meta["start_ns"]),
        end_ns=int(meta["end_ns"]),
        generations=int(meta["generations"]),
        frequency=int(meta["frequency"]),
        bytes_used=int(meta["bytes_used"]),
        bytes_total=int(meta["bytes_total"]),
        source=str(meta["source"]),
    )
