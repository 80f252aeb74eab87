"""What a worker does with one trace: read it, write its partition, and return
its manifest row. Runs in a worker process (local or Dask), so it takes and
returns only picklable values."""

from __future__ import annotations

import os
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gotrace_df._errors import TraceError, TraceWarning
from gotrace_df._trace import Trace
from gotrace_df.export._atomic import atomic_dir, fsync_path
from gotrace_df.export.convert import convert_buffer
from gotrace_df.export.parquet import write_parquet
from gotrace_df.io import read_trace
from gotrace_df.lake import manifest
from gotrace_df.lake.layout import partition
from gotrace_df.lake.rows import fleet_tables
from gotrace_df.lake.sources import Source, content_id, read_source

__all__ = ["Outcome", "convert_trace", "write_partition"]


@dataclass(frozen=True)
class Outcome:
    """The result of one source: its manifest row, or None when the lake
    already holds its content (``trace_id`` is then that trace's)."""

    trace_id: str
    size: int
    row: dict[str, Any] | None


def convert_trace(source: Source, root: str, known: Collection[str]) -> Outcome:
    """Convert ``source`` into its partition of the lake at ``root``, unless its
    id is in ``known``.

    A trace Go cannot read gets a manifest row with status ``error`` and no
    partition; a damaged end gets status ``damaged-tail`` and the complete
    generations before it. Any other failure (the source cannot be opened,
    the disk is full) propagates: the run stops there.

    The partition's tables are streamed into it (:func:`gotrace_df.convert`),
    never held whole; the fleet rows are the single-trace views', which read
    the trace whole afterwards.
    """
    data = read_source(source)
    trace_id, size = content_id(data), len(data)
    if trace_id in known:
        return Outcome(trace_id, size, None)
    dest = partition(Path(root), trace_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TraceWarning)
        try:
            with atomic_dir(dest, replace=True) as tmp:
                convert_buffer(data, tmp / "trace", name=source.url, progress=False)
                trace = read_trace(data, progress=False)
                del data
                # read_trace names the source "<bytes>"; the row has the real one.
                trace.source = source.url
                _publish(tmp, trace)
        except TraceError as e:
            row = manifest.row(trace_id, source.url, size, None, manifest.ERROR, str(e))
            return Outcome(trace_id, size, row)
    damage = [
        str(w.message).removeprefix(f"{source.url}: ")
        for w in caught
        if issubclass(w.category, TraceWarning) and str(w.message).startswith(f"{source.url}: ")
    ]
    status = manifest.DAMAGED_TAIL if damage else manifest.OK
    error = "; ".join(damage) or None
    row = manifest.row(trace_id, source.url, size, trace, status, error)
    return Outcome(trace_id, size, row)


def write_partition(trace: Trace, dest: Path) -> None:
    """Publish ``dest`` in one rename: the directory :meth:`Trace.to_parquet`
    writes (its ``trace.json`` lists only those tables), and beside its tables
    the fleet tables of :mod:`gotrace_df.lake.rows`."""
    with atomic_dir(dest, replace=True) as tmp:
        write_parquet(trace, tmp / "trace")
        _publish(tmp, trace)


def _publish(tmp: Path, trace: Trace) -> None:
    """Moves the dataset written to ``tmp / "trace"`` up into ``tmp`` and
    writes the fleet tables of ``trace`` beside it."""
    import pyarrow.parquet as pq

    fleet = fleet_tables(trace)
    inner = tmp / "trace"
    for file in inner.iterdir():
        os.rename(file, tmp / file.name)
    inner.rmdir()
    for name, table in fleet.items():
        pq.write_table(table, tmp / f"{name}.parquet", compression="zstd")
        fsync_path(tmp / f"{name}.parquet")
