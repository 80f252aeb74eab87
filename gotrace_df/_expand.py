"""Public columns of the tables the core stores by reference.

The core keeps spans and regions as the events rows that bound each row (a
span is its start and end event): every other column is a column of one of
those events, so storing it again would only cost memory (the budget is about
64 bytes per event, every table together: HACKING.md). And the events table's
task_id and value, set on a few kinds of events only, live in the tables that
own those events (tasks, regions, logs, metrics, syncs) rather than in two
mostly-null columns. These functions gather the documented
columns when a table is first asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df import _core
from gotrace_df.frames import key_type

__all__ = ["is_compact", "expand", "gather", "span_columns", "sync_rows", "SPAN_COLUMNS"]


# Columns of each table as the core stores it, when that is not the public form.
_COMPACT = {
    "spans": ["start_event", "end_event"],
    "regions": ["task_id", "depth", "start_event", "end_event"],
}


def is_compact(name: str, table: pa.Table) -> bool:
    """Whether ``table`` is the core's stored form of table ``name``."""
    if name == "events":
        return "task_id" not in table.column_names and "value" not in table.column_names
    return bool(table.column_names == _COMPACT.get(name))


def gather(
    events: pa.Table,
    columns: list[str],
    rows: np.ndarray[Any, Any] | pa.Table,
    subset: np.ndarray[Any, Any] | None = None,
) -> pa.Table:
    """``columns`` of events ``rows`` (-1 or null: null), integer dictionaries
    decoded. ``rows`` is int64 numpy or a table whose one column holds the
    rows; only its positions ``subset`` are read if given."""
    if isinstance(rows, np.ndarray):
        rows = np.ascontiguousarray(rows, dtype=np.int64).data
    sub = None if subset is None else np.ascontiguousarray(subset, dtype=np.int64).data
    out = _core.take_rows(_shared_dictionaries(events.select(columns)), rows, sub)
    return pa.RecordBatchReader.from_stream(out).read_all()


def _shared_dictionaries(table: pa.Table) -> pa.Table:
    """``table`` with one dictionary per string column, as the core gathers
    them (the core's tables have it already; one read from Parquet may have a
    dictionary per row group)."""
    for col in table.columns:
        if pa.types.is_dictionary(col.type) and col.num_chunks > 1:
            first = col.chunk(0).dictionary
            if not all(c.dictionary.equals(first) for c in col.chunks[1:]):
                return table.unify_dictionaries()
    return table


def event_rows(col: pa.ChunkedArray, dtype: type = np.int64) -> np.ndarray[Any, Any]:
    """An events-row (or other non-negative integer) column as ``dtype``
    numpy, -1 for null; read in place when it is one chunk of that type
    without nulls (int32 is the parser's own type for rows). Raises if a
    value does not fit."""
    col = col.cast(pa.from_numpy_dtype(dtype))
    col = pc.fill_null(col, -1) if col.null_count else col
    # Not ChunkedArray.to_numpy, which imports pandas.
    parts: list[np.ndarray[Any, Any]] = [c.to_numpy() for c in col.chunks]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


# Where each spans column is read: a column of the span's start or end
# event, or (None) the span's time at that event by the core's SpanClock,
# as the timeline's times are.
_SPAN_AT: dict[str, tuple[str, str | None]] = {
    "goid": ("start_event", "resource_id"),
    "state": ("start_event", "to_state"),
    "reason": ("start_event", "reason"),
    "start": ("start_event", None),
    "end": ("end_event", None),
    "p": ("start_event", "p"),
    "m": ("start_event", "m"),
    "stack_id": ("start_event", "transition_stack_id"),
    "end_stack_id": ("end_event", "transition_stack_id"),
}
SPAN_COLUMNS = (*_SPAN_AT, "start_event", "end_event")


def span_columns(
    refs: pa.Table,
    tables: Mapping[str, pa.Table],
    end_ns: int,
    columns: Sequence[str] = SPAN_COLUMNS,
    rows: np.ndarray[Any, Any] | None = None,
) -> pa.Table:
    """``columns`` of the spans (only ``rows`` of them, if given) from their
    stored form ``refs``, gathered by the core in one pass that reads only
    the events columns those need."""
    unknown = set(columns) - set(SPAN_COLUMNS)
    if unknown:
        raise KeyError(f"no spans column {sorted(unknown)[0]!r}")
    wanted = [(c, *_SPAN_AT[c]) for c in dict.fromkeys(columns) if c in _SPAN_AT]
    read = [ev_col for _, _, ev_col in wanted if ev_col is not None]
    timed = any(ev_col is None for _, _, ev_col in wanted)
    if timed:
        read += ["ts", "from_state"]
    sub = None if rows is None else np.ascontiguousarray(rows, dtype=np.int64)
    got = pa.table({})
    if wanted:
        events = _shared_dictionaries(tables["events"].select(list(dict.fromkeys(read))))
        stream = _core.span_columns(
            events,
            refs.select(["start_event", "end_event"]),
            (sync_rows(tables["syncs"]) if timed else np.zeros(0, np.int64)).data,
            end_ns,
            wanted,
            None if sub is None else sub.data,
        )
        got = pa.RecordBatchReader.from_stream(stream).read_all()
    out: dict[str, Any] = {}
    for c in columns:
        if c in _SPAN_AT:
            out[c] = got[c]
        elif sub is None:
            out[c] = refs[c]
        else:
            out[c] = refs[c].take(pa.array(sub, pa.int64()))
    return pa.Table.from_arrays(list(out.values()), names=list(out))


def sync_rows(syncs: pa.Table) -> np.ndarray[Any, Any]:
    """Events rows of the Sync events (the ``syncs`` table), ascending."""
    rows = event_rows(syncs["event"])
    return np.ascontiguousarray(np.sort(rows[rows >= 0]))


def _own_dictionary(col: pa.ChunkedArray) -> pa.Array:
    """A string dictionary column gathered from the events' ``name`` (which
    lists metric, range, task and region names alike) with a dictionary of
    only the values it uses, in first-seen order, keys as narrow as they go."""
    d = col.combine_chunks().cast(pa.string()).dictionary_encode()
    return pa.DictionaryArray.from_arrays(d.indices.cast(key_type(len(d.dictionary))), d.dictionary)


def _regions(refs: pa.Table, events: pa.Table) -> pa.Table:
    start_ev, end_ev = event_rows(refs["start_event"]), event_rows(refs["end_event"])
    # A region that began before the trace is known by its end event alone.
    either = np.where(start_ev >= 0, start_ev, end_ev)
    who = gather(events, ["g", "name"], either)
    at_start = gather(events, ["ts", "stack_id"], start_ev)
    at_end = gather(events, ["ts", "stack_id"], end_ev)
    start, end = at_start["ts"], at_end["ts"]
    columns = {
        "goid": who["g"],
        "task_id": refs["task_id"],
        "name": _own_dictionary(who["name"]),
        "start": start,
        "end": end,
        "duration": pc.subtract(end, start),
        "depth": refs["depth"],
        "start_stack_id": at_start["stack_id"],
        "end_stack_id": at_end["stack_id"],
        "start_event": refs["start_event"],
        "end_event": refs["end_event"],
    }
    return pa.Table.from_arrays(list(columns.values()), names=list(columns))


def _sparse_parts(tables: Mapping[str, pa.Table], name: str) -> list[tuple[Any, Any, int | None]]:
    """(events rows, values, the value meaning none) of the events' ``name``
    ("task_id" or "value"), from the tables that own those events."""
    if name == "task_id":
        tasks, regions, logs = tables["tasks"], tables["regions"], tables["logs"]
        # Regions and logs outside any task (NoTask, all bits set) have no task_id.
        return [
            (tasks["start_event"], tasks["task_id"], None),
            (tasks["end_event"], tasks["task_id"], None),
            (regions["start_event"], regions["task_id"], -1),
            (regions["end_event"], regions["task_id"], -1),
            (logs["event"], logs["task_id"], -1),
        ]
    metrics, syncs = tables["metrics"], tables["syncs"]
    return [(metrics["event"], metrics["value"], None), (syncs["event"], syncs["n"], None)]


def sparse(
    tables: Mapping[str, pa.Table], name: str
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The events' ``name`` ("task_id" or "value") as (rows ascending, values):
    the rows that have one (a null row or value has none; a row listed twice
    keeps its last value), without building the column."""
    return merge_sparse(_sparse_parts(tables, name))


def merge_sparse(
    parts: Sequence[tuple[Any, Any, int | None]],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(rows ascending, values) of parts (events rows, values, the value
    meaning none), merged by the core: a row listed twice keeps its later
    value; null rows and values are left out."""
    tables = [(pa.table({"row": rows, "value": values}), none) for rows, values, none in parts]
    rows_b, vals_b = _core.merge_sparse(tables)
    return np.frombuffer(rows_b, dtype=np.int64), np.frombuffer(vals_b, dtype=np.int64)


def _events(events: pa.Table, tables: Mapping[str, pa.Table]) -> pa.Table:
    """The events table with task_id and value, which the core keeps in the
    table that owns each such event (tasks, regions, logs; metrics, syncs)."""
    n = events.num_rows
    for name in ("task_id", "value"):
        rows, values = sparse(tables, name)
        # A table read from elsewhere may point outside the events: the core skips those.
        col = _core.scatter_rows(n, rows.data, values.data)
        events = events.append_column(name, pa.RecordBatchReader.from_stream(col).read_all()[0])
    return events


def expand(name: str, compact: pa.Table, tables: Mapping[str, pa.Table], end_ns: int) -> pa.Table:
    """The public form of table ``name`` from its compact form."""
    if name == "spans":
        return span_columns(compact, tables, end_ns)
    if name == "regions":
        return _regions(compact, tables["events"])
    if name == "events":
        return _events(compact, tables)
    raise KeyError(name)
