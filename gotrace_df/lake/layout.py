"""Where things are in a lake directory.

::

    lake/_manifest.parquet            one row per trace (gotrace_df.lake.manifest)
    lake/trace_id=<id>/trace.json     one partition per trace: the directory
    lake/trace_id=<id>/events.parquet Trace.to_parquet writes (trace.json
    lake/trace_id=<id>/spans.parquet  lists these tables) ...
    ...
    lake/trace_id=<id>/goroutine_waits.parquet  ... and beside them the fleet
    ...                                         tables (gotrace_df.lake.rows)

Partitioned by trace first, then table, because a trace is the unit that is
converted, skipped and published: its whole directory appears in one rename,
so every table of a trace is there or none is, and the partition is itself a
dataset :func:`gotrace_df.read_parquet` reads (it ignores the fleet tables,
which its ``trace.json`` does not list). DuckDB and pyarrow.dataset both
take the ``trace_id=<id>`` directory level as a hive partition column.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = [
    "MANIFEST",
    "PARTITION_KEY",
    "check_trace_id",
    "leftovers",
    "partition",
    "table_file",
]

#: The manifest file; the leading underscore keeps dataset readers from taking
#: it for data.
MANIFEST = "_manifest.parquet"
#: The hive partition column naming each trace.
PARTITION_KEY = "trace_id"

_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def check_trace_id(trace_id: str) -> str:
    """``trace_id`` if it has the shape of one (so it never names a path outside
    the lake), else ValueError."""
    if not isinstance(trace_id, str) or not _TRACE_ID.fullmatch(trace_id):
        raise ValueError(f"{trace_id!r} is not a trace_id (32 lowercase hex digits)")
    return trace_id


def partition(root: Path, trace_id: str) -> Path:
    """The directory of one trace."""
    return root / f"{PARTITION_KEY}={check_trace_id(trace_id)}"


def table_file(root: Path, trace_id: str, table: str) -> Path:
    """One table's file of one trace (as :meth:`Trace.to_parquet` names it)."""
    return partition(root, trace_id) / f"{table}.parquet"


def leftovers(root: Path) -> list[Path]:
    """What a run killed midway left in ``root``: the hidden directories and
    files :mod:`gotrace_df.export._atomic` writes aside before renaming them
    into place (never seen by readers, which read only what the manifest lists)."""
    return sorted(
        [*root.glob(f".{PARTITION_KEY}=*.tmp"), *root.glob(f".{PARTITION_KEY}=*.old")]
        + list(root.glob(f".{MANIFEST}.*.tmp"))
    )
