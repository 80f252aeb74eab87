"""A trace straight to a Parquet dataset, streamed: the dataset
:func:`~gotrace_df.export.parquet.write_parquet` writes, without ever holding
the trace.

The core parses the trace and hands every table over a record batch at a time
(``_core.convert_stream``): the events as they are parsed, then the spans,
goroutines, tasks and regions in table order (the core keeps a row per live
goroutine, open task and open region, and sorts the finished rows through a
temporary file), then the tables small by nature (procs, logs, metrics, gc,
cpu_samples, syncs, experimental, stacks, frames). Each batch is written as
it comes, on a thread of its own: memory is a row group per table being
written plus the core's bounded state, not the trace.

The events table's string columns ``reason`` and ``name`` are dictionaries of
the values seen so far: each row group carries the dictionary as it stood at
its end, which the row groups before it are a prefix of.
:func:`~gotrace_df.export.parquet.read_parquet` gives the whole column the
last one, so the table it reads is the one ``read_trace`` makes.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from gotrace_df import _core
from gotrace_df.export._atomic import atomic_dir, fsync_path
from gotrace_df.export._meta import metadata, rebuild
from gotrace_df.export.parquet import (
    GROWING,
    KV_KEY,
    check_destination,
    write_manifest,
    write_parquet,
    write_table_file,
)
from gotrace_df.frames import SCHEMAS, TABLES, key_type
from gotrace_df.io import (
    Progress,
    TraceSource,
    progress_callback,
    read_trace,
    trace_buffer,
    warn_damaged,
)

__all__ = ["convert", "convert_buffer", "ROW_GROUP", "STREAMED"]

#: Rows per row group: what ``pyarrow.parquet.write_table`` makes by default.
ROW_GROUP = 1 << 20
#: The tables that grow with the trace, written a row group at a time as
#: they come; the others come whole.
STREAMED = ("events", "spans", "goroutines", "tasks", "regions")


def convert(
    source: TraceSource,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = True,
    compression: str = "zstd",
    redact: bool = False,
    progress: Progress = None,
) -> Path:
    """Convert the trace ``source`` into the Parquet dataset ``path`` without
    holding the trace in memory.

    The dataset is the one ``read_trace(source).to_parquet(path)`` writes
    (:func:`~gotrace_df.read_parquet` reads the same tables back), published
    the same way: complete or not at all. Memory stays about the same
    whatever the trace's size; the spans are sorted through a temporary
    file in ``TMPDIR`` (about 100 bytes per span, removed as it is closed).

    Parameters
    ----------
    source
        A trace as :func:`~gotrace_df.read_trace` takes it (a path is
        memory-mapped and its pages handed back as they are read).
    path, overwrite, compression
        As for :func:`~gotrace_df.export.parquet.write_parquet`.
    redact
        Redaction renames strings consistently across every table, which
        needs the whole trace: with ``redact=True`` the trace is read whole
        and written by ``write_parquet``.
    progress
        As for :func:`~gotrace_df.read_trace`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TraceError
        As :func:`~gotrace_df.read_trace` (nothing is written then).

    Examples
    --------
    >>> import tempfile, gotrace_df as gt
    >>> d = gt.convert(gt.example_trace(), tempfile.mkdtemp() + "/example")
    >>> gt.read_parquet(d).events.equals(gt.read_trace(gt.example_trace()).events)
    True
    """
    dest = Path(path)
    if redact:
        return write_parquet(
            read_trace(source, progress=progress),
            dest,
            overwrite=overwrite,
            compression=compression,
            redact=True,
        )
    check_destination(dest, overwrite)
    with trace_buffer(source, progress=progress) as (data, name, mapped):
        return convert_buffer(
            data,
            dest,
            name=name,
            mapped=mapped,
            overwrite=overwrite,
            compression=compression,
            progress=progress,
            stacklevel=3,
        )


def convert_buffer(
    data: Any,
    path: str | os.PathLike[str],
    *,
    name: str,
    mapped: bool = False,
    overwrite: bool = True,
    compression: str = "zstd",
    progress: Progress = None,
    stacklevel: int = 2,
) -> Path:
    """:func:`convert` of a trace already in a buffer (as
    ``gotrace_df.io.trace_buffer`` yields it): ``name`` is the dataset's
    ``source``, ``mapped`` says the buffer is our own read-only file mapping
    (its pages are handed back as they are read), ``stacklevel`` places the
    damaged-tail warning as for :func:`warnings.warn`."""
    dest = Path(path)
    check_destination(dest, overwrite)
    with atomic_dir(dest, replace=overwrite) as tmp:
        with memoryview(data) as view:
            total = view.nbytes
        sink = _Sink(tmp, compression)
        callback, finish = progress_callback(progress, total)
        try:
            result = _core.convert_stream(data, sink, callback, release_input=mapped)
        except BaseException:
            sink.abandon()
            raise
        finally:
            finish()
        sink.join()
        warn_damaged(result, name, stacklevel)
        for table, stream in result["tables"].items():
            sink.take(sink.attempt, table, stream)
        # The trace's metadata without its tables, as the parse describes it.
        described = rebuild({}, {**result, "format_version": result["version"], "source": name})
        sink.finish(metadata(described))
    return dest


class _Dictionary:
    """A string column's dictionary as the core builds it over a whole table:
    its values in first-seen order, added to as batches come."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def codes_of(self, col: pa.Array) -> pa.Array:
        """``col`` (a dictionary array whose dictionary lists its values in
        first-seen order) as int32 codes into this dictionary."""
        if not pa.types.is_dictionary(col.type):
            col = col.dictionary_encode()
        known = self.codes
        lut = np.array(
            [known.setdefault(v, len(known)) for v in col.dictionary.to_pylist()] or [0],
            dtype=np.int32,
        )
        keys = col.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.intp)
        return pa.array(lut[keys], mask=col.is_null().to_numpy(zero_copy_only=False))

    def values(self) -> pa.Array:
        return pa.array(list(self.codes), pa.string())


class _Writer:
    """One table's file, written a row group at a time."""

    def __init__(self, file: Path, compression: str) -> None:
        self.file, self.compression = file, compression
        self.pending: list[pa.RecordBatch] = []
        self.rows = 0
        self.writer: Any = None

    def add(self, batch: pa.RecordBatch, seal: Any) -> None:
        """Adds ``batch``; ``seal`` makes a row group's table of its batches."""
        self.pending.append(batch)
        self.rows += batch.num_rows
        if sum(b.num_rows for b in self.pending) >= ROW_GROUP:
            self.flush(seal)

    def flush(self, seal: Any) -> None:
        import pyarrow.parquet as pq

        if not self.pending and self.writer is not None:
            return
        table = seal(self.pending)
        self.pending = []
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.file, table.schema, compression=self.compression, store_schema=True
            )
        # One row group per flush: ROW_GROUP rows but at the end.
        self.writer.write_table(table, row_group_size=max(table.num_rows, 1))

    def close(self, kv: bytes | None = None) -> None:
        if self.writer is not None:
            if kv is not None:
                self.writer.add_key_value_metadata({KV_KEY: kv})
            self.writer.close()
            self.writer = None


class _Sink:
    """Takes the core's batches (``sink(attempt, table, batch)``) and writes
    the dataset's files into ``root`` on a thread of its own, so that the
    core's table thread goes on building while a row group is compressed."""

    def __init__(self, root: Path, compression: str) -> None:
        self.root, self.compression = root, compression
        self.attempt = 0
        self._reset()
        # A few batches in flight: each is at most 65,536 rows.
        self._queue: queue.Queue[tuple[int, str, Any] | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gotrace-parquet", daemon=True)
        self._thread.start()

    def __call__(self, attempt: int, table: str, stream: Any) -> None:
        """Called by the core (on its table thread) with each batch."""
        if self._error is not None:
            raise self._error  # the core stops calling and raises it
        self._queue.put((attempt, table, stream))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.take(*item)
                except BaseException as e:  # raised in the caller's thread
                    self._error = e

    def join(self) -> None:
        """Waits for the batches taken so far to be written; raises what
        writing them raised."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            self.close()
            raise self._error

    def abandon(self) -> None:
        """Stops writing (the conversion failed) and closes the files."""
        self._error = self._error or RuntimeError("abandoned")
        self._queue.put(None)
        self._thread.join()
        self.close()

    def _reset(self) -> None:
        self.dicts = {c: _Dictionary() for c in GROWING}
        self.writers = {n: _Writer(self.root / f"{n}.parquet", self.compression) for n in STREAMED}
        self.whole: dict[str, list[pa.RecordBatch]] = {}

    def take(self, attempt: int, table: str, stream: Any) -> None:
        """Writes (or keeps, for a table written whole) one batch of ``table``."""
        if attempt < self.attempt:
            return  # the reading that found the damage, still finishing
        if attempt != self.attempt:
            # A damaged tail: the core reads the trace again, up to its last Sync.
            self.close()
            for f in self.root.iterdir():
                f.unlink()
            self.attempt = attempt
            self._reset()
        reader = pa.RecordBatchReader.from_stream(stream)
        for batch in reader:
            if table == "error":
                raise OSError(f"cannot sort the rows: {batch.column(0)[0].as_py()}")
            if table == "events":
                self.writers[table].add(self._events(batch), self._seal_events)
            elif table == "spans":
                self.writers[table].add(self._spans(batch), _seal)
            elif table in STREAMED:
                self.writers[table].add(batch, _seal)
            else:
                self.whole.setdefault(table, []).append(batch)

    def _events(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        cols = []
        for c in SCHEMAS["events"]:
            col = batch.column(c.name)
            if c.name in GROWING:
                col = self.dicts[c.name].codes_of(col)
            elif pa.types.is_dictionary(c.type) and pa.types.is_integer(c.type.value_type):
                # Parquet keeps integer dictionaries as their values; the
                # reader encodes them again.
                col = col.cast(c.type.value_type)
            cols.append(col)
        return pa.RecordBatch.from_arrays(cols, names=[c.name for c in SCHEMAS["events"]])

    def _seal_events(self, batches: list[pa.RecordBatch]) -> pa.Table:
        table = _seal(batches)
        for name in GROWING:
            i = table.schema.get_field_index(name)
            codes = table.column(i).combine_chunks()
            col = pa.DictionaryArray.from_arrays(codes, self.dicts[name].values())
            table = table.set_column(i, name, col)
        return table

    def _spans(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        # The spans' reasons are the events' reasons, keys and dictionary
        # (complete by now: the spans come after the last events).
        d = self.dicts["reason"]
        values = d.values()
        codes = d.codes_of(batch.column("reason")).cast(key_type(len(values)))
        reason = pa.DictionaryArray.from_arrays(codes, values)
        i = batch.schema.get_field_index("reason")
        return batch.set_column(i, "reason", reason)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()

    def finish(self, meta: dict[str, Any]) -> None:
        """Writes the rest of the tables, then the manifest."""
        kv = json.dumps(meta, sort_keys=True).encode()
        rows: dict[str, int] = {}
        for name, w in self.writers.items():
            w.flush(self._seal_events if name == "events" else _seal)
            w.close(kv)
            rows[name] = w.rows
        for name in TABLES:
            if name not in rows:
                table = pa.Table.from_batches(self.whole.pop(name))
                write_table_file(table, self.root / f"{name}.parquet", kv, self.compression)
                rows[name] = table.num_rows
        for name in self.writers:
            fsync_path(self.root / f"{name}.parquet")
        write_manifest(self.root, meta, {n: rows[n] for n in TABLES}, redacted=False)


def _seal(batches: list[pa.RecordBatch]) -> pa.Table:
    return pa.Table.from_batches(batches).combine_chunks()
