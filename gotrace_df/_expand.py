"""Public columns of the tables the core stores by reference to events rows.

The core keeps derived tables as the events rows that bound each row (a span is
its start and end event): every other column is a column of one of those
events, so storing it again would only cost memory (DESIGN.md §3). These
functions gather the documented columns when a table is first asked for.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df.frames import SCHEMAS

__all__ = ["is_compact", "expand"]


def is_compact(name: str, table: pa.Table) -> bool:
    """Whether ``table`` is the core's by-reference form of table ``name``."""
    if name != "spans":
        return False
    return bool(table.column_names == ["start_event", "end_event"])


def _take(col: pa.ChunkedArray, idx: pa.Array) -> pa.Array:
    # One contiguous column first: a take across chunks is several times slower.
    return col.combine_chunks().take(idx) if col.num_chunks > 1 else col.chunk(0).take(idx)


def _spans(refs: pa.Table, events: pa.Table, syncs: pa.Table, end_ns: int) -> pa.Table:
    start_ev = refs["start_event"].combine_chunks()
    end_ev = refs["end_event"].combine_chunks()
    ts = events["ts"].combine_chunks()
    start = ts.take(start_ev).to_numpy()
    # A state first seen through a status event (from Undetermined) holds since
    # the Sync that opened its generation, not since the status event.
    undetermined = pc.equal(_take(events["from_state"], start_ev), "Undetermined")
    undetermined = undetermined.to_numpy(zero_copy_only=False)
    if undetermined.any():
        sync_rows = np.asarray(syncs["event"].to_numpy(), dtype=np.int64)
        sync_ts = np.asarray(ts.take(pa.array(sync_rows)).to_numpy(), dtype=np.int64)
        rows = start_ev.to_numpy()[undetermined]
        start = start.copy()
        start[undetermined] = sync_ts[np.searchsorted(sync_rows, rows, side="right") - 1]
    end = pc.fill_null(ts.take(end_ev), end_ns)
    tstack = events["transition_stack_id"]
    columns = {
        "goid": _take(events["resource_id"], start_ev),
        "state": _take(events["to_state"], start_ev),
        "reason": _take(events["reason"], start_ev),
        "start": pa.array(start, pa.int64()),
        "end": end,
        "p": _take(events["p"], start_ev),
        "m": _take(events["m"], start_ev),
        "stack_id": _take(tstack, start_ev),
        "end_stack_id": _take(tstack, end_ev),
        "start_event": start_ev,
        "end_event": end_ev,
    }
    # Integer dictionaries of the events table become the plain integers the
    # spans schema declares; string dictionaries keep their (narrow) keys.
    want = {c.name: c.type for c in SCHEMAS["spans"]}
    return pa.table(
        {
            n: a.cast(want[n]) if a.type != want[n] and not pa.types.is_dictionary(want[n]) else a
            for n, a in columns.items()
        }
    )


def expand(name: str, compact: pa.Table, tables: dict[str, pa.Table], end_ns: int) -> pa.Table:
    """The public form of table ``name`` from its compact form."""
    if name == "spans":
        return _spans(compact, tables["events"], tables["syncs"], end_ns)
    raise KeyError(name)
