"""The lake's manifest: one row per trace, the lake's table of contents.

A trace is in the lake when its row is: the views of
:class:`gotrace_df.lake.Lake` read the partitions the manifest lists, so a
partition left by an interrupted run before its row was committed is not seen
(the next :func:`~gotrace_df.lake.convert` writes it again).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from gotrace_df.export._atomic import atomic_file
from gotrace_df.lake.layout import MANIFEST

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = [
    "SCHEMA",
    "OK",
    "DAMAGED_TAIL",
    "ERROR",
    "append",
    "read_manifest",
    "row",
    "write_manifest",
]

#: Status of a trace read whole.
OK = "ok"
#: Status of a trace whose damaged end was dropped (the complete generations
#: before it are in the lake; ``error`` says how much was lost).
DAMAGED_TAIL = "damaged-tail"
#: Status of a trace that could not be read (no partition; ``error`` says why).
ERROR = "error"

_TS = pa.timestamp("ns", tz="UTC")

SCHEMA = pa.schema(
    [
        pa.field("trace_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("format_version", pa.int32()),
        pa.field("go_versions", pa.string()),
        # Wall clock of the first and last event, from the trace's clock
        # snapshots (Go 1.25+); null without them.
        pa.field("start", _TS),
        pa.field("end", _TS),
        pa.field("duration_ns", pa.int64()),
        pa.field("events", pa.int64()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("error", pa.string()),
        pa.field("converted_at", _TS, nullable=False),
    ]
)


def row(
    trace_id: str, source: str, size: int, trace: Trace | None, status: str, error: str | None
) -> dict[str, Any]:
    """A manifest row; ``trace`` is None for a trace that could not be read."""
    start = end = None
    if trace is not None:
        start, end = _wall_clock(trace)
    return {
        "trace_id": trace_id,
        "source": source,
        "size": size,
        "format_version": None if trace is None else trace.format_version,
        "go_versions": None if trace is None else trace.go_versions,
        "start": start,
        "end": end,
        "duration_ns": None if trace is None else trace.duration_ns,
        "events": None if trace is None else trace.events.num_rows,
        "status": status,
        "error": error,
        "converted_at": dt.datetime.now(dt.UTC),
    }


def _wall_clock(trace: Trace) -> tuple[int | None, int | None]:
    """Unix ns of the trace's first and last event, placed by its first clock
    snapshot (one offset for both, so ``end - start`` is the duration)."""
    snaps = trace.syncs.select(["clock_trace", "clock_wall"]).drop_null()
    if snaps.num_rows == 0:
        return None, None
    first = snaps.slice(0, 1).to_pylist()[0]
    offset = first["clock_wall"] - first["clock_trace"]
    return trace.start_ns + offset, trace.end_ns + offset


def read_manifest(root: Path) -> pa.Table:
    """The manifest of the lake at ``root``; an empty one if it has none yet.

    Raises
    ------
    ValueError
        The file is not a lake manifest (not Parquet, or other columns).
    """
    import pyarrow.parquet as pq

    file = root / MANIFEST
    if not file.exists():
        return SCHEMA.empty_table()
    try:
        table = pq.read_table(file)
    except pa.ArrowException as e:
        raise ValueError(f"{file}: not a readable lake manifest: {e}") from None
    if table.schema.remove_metadata() != SCHEMA:
        raise ValueError(
            f"{file}: not a gotrace_df lake manifest: its columns are "
            f"{', '.join(table.schema.names)}, not {', '.join(SCHEMA.names)}"
        )
    return table


def write_manifest(root: Path, table: pa.Table) -> None:
    """Replace the manifest with ``table`` atomically: a reader sees the old
    manifest or the new one, never part of one."""
    import pyarrow.parquet as pq

    with atomic_file(root / MANIFEST) as f:
        pq.write_table(table, f, compression="zstd")


def append(table: pa.Table, rows: list[dict[str, Any]]) -> pa.Table:
    """``table`` with ``rows`` after it."""
    if not rows:
        return table
    return pa.concat_tables([table, pa.Table.from_pylist(rows, schema=SCHEMA)])
