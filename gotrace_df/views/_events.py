"""Selecting and decoding rows of the events table without a pass per event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from gotrace_df._expand import gather

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["rows_of_kind", "rows_where", "take_events"]


def rows_of_kind(trace: Trace, kinds: Sequence[str]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Indices (events rows, ascending) of the events whose kind is in ``kinds``."""
    return rows_where(trace.columns("events", ["kind"]), "kind", kinds)


def rows_where(
    table: pa.Table, column: str, values: Sequence[str]
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Rows (ascending) of ``table`` whose string ``column`` is in ``values``,
    comparing dictionary codes rather than strings."""
    col = table[column]
    kinds = values
    out: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    base = 0
    for chunk in col.chunks:
        if pa.types.is_dictionary(chunk.type):
            values = chunk.dictionary.to_pylist()
            codes = [i for i, v in enumerate(values) if v in kinds]
            idx = chunk.indices.to_numpy(zero_copy_only=False)
            hit = np.isin(idx, np.asarray(codes, dtype=idx.dtype)) if codes else None
        else:
            hit = np.isin(chunk.to_numpy(zero_copy_only=False), list(kinds))
        if hit is not None:
            out.append(np.flatnonzero(hit).astype(np.int64) + base)
        base += len(chunk)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def values_at(
    have: np.ndarray[Any, Any], values: np.ndarray[Any, Any], rows: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A sparse column (``have`` ascending, ``values``) at ``rows``: the values
    (0 where it has none) and where it has one."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(have) == 0:
        return np.zeros(len(rows), dtype=np.int64), np.zeros(len(rows), dtype=bool)
    at = np.clip(np.searchsorted(have, rows), 0, len(have) - 1)
    hit = have[at] == rows
    return np.where(hit, values[at], 0), hit


def take_events(trace: Trace, rows: np.ndarray[Any, Any], columns: Sequence[str]) -> dict[str, Any]:
    """``columns`` of events ``rows`` by name (strings as an object array of
    str, '' for null; integers int64, nullable ``Int64`` where any is null),
    plus ``event`` (the row). A dict of arrays, not a DataFrame: building one
    costs more than the gather itself."""
    # The core's gather (two threads, integer dictionaries decoded) rather
    # than Table.take, which is several times slower on dictionary columns.
    rows = np.asarray(rows, dtype=np.int64)
    sparse = [c for c in columns if c in ("task_id", "value")]
    stored = [c for c in columns if c not in sparse]
    t = gather(trace.columns("events", stored), stored, rows) if stored else pa.table({})
    for name in sparse:
        # Read from the tables that own those events, not a built column.
        got, hit = values_at(*trace.event_values(name), rows)
        t = t.append_column(name, pa.array(got, pa.int64(), mask=~hit))
    data: dict[str, Any] = {"event": rows}
    for name in columns:
        data[name] = _column(t[name])
    return data


def _column(col: pa.ChunkedArray) -> Any:
    """One gathered column as take_events gives it: strings as an object array
    ('' for null), integers int64 (nullable ``Int64`` when any is null)."""
    if pa.types.is_dictionary(col.type) and pa.types.is_integer(col.type.value_type):
        col = col.cast(col.type.value_type)
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        # Each distinct string becomes a Python str once, not once per row.
        words = np.asarray(arr.dictionary.fill_null("").to_pylist() + [""], dtype=object)
        codes = arr.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.intp)
        if arr.null_count:
            codes[arr.is_null().to_numpy(zero_copy_only=False)] = len(words) - 1
        return words[codes]
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr.fill_null("").to_numpy(zero_copy_only=False).astype(object)
    if pa.types.is_integer(arr.type):
        values = arr.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        if arr.null_count == 0:
            return values
        return pd.arrays.IntegerArray(values, arr.is_null().to_numpy(zero_copy_only=False))
    return arr.to_numpy(zero_copy_only=False)
