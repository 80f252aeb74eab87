"""Goroutine analysis: ``go tool trace``'s /goroutines and /goroutine?name= pages.

Numbers are those of cmd/trace's summariser (``internal/trace.Summarizer``),
run by the Rust core over the events table, including its quirks:

* a goroutine first seen through a status event was "created" at the last Sync
  before it; Go 1.26+ charges the time from there to the event to the state it
  was found in (Go 1.22-1.25 leave it to unknown time: ``go_version``);
* a goroutine that never ran has no start (cmd/trace's ``StartTime`` 0);
* a snapshot taken while a syscall has lost its P (at the end of the trace, and
  at the ends of regions and windows) puts the time since the P was lost in
  sched wait *and* keeps counting syscall time, unlike a real syscall exit;
* "system" goroutines (no name, or ``runtime.*`` other than ``runtime.main``)
  are counted like the others;
* a goroutine ID that is reused (cgo callbacks) keeps only its last lifetime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gotrace_df.views._common import group_stats, group_sum, semantics
from gotrace_df.views._summary import (
    STAT_COLUMNS,
    Summarized,
    Summary,
    episodes_in,
    frame,
    summarized,
    take,
    totals,
    wide_stats,
)

if TYPE_CHECKING:
    from gotrace_df._trace import Trace
    from gotrace_df.io import TraceSource

__all__ = ["goroutine_analysis", "goroutine_stats"]

_ID_COLUMNS = ["goid", "name", "system", "creation_ns", "start_ns", "end_ns"]
_TOTAL_COLUMNS = ["total_ns", *STAT_COLUMNS, "block_ns", "unknown_ns"]


def goroutine_stats(
    trace: Trace | TraceSource,
    name: str | None = None,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """Where each goroutine spent its time: cmd/trace's /goroutine?name= table.

    Parameters
    ----------
    trace
        A parsed trace, or a trace to read, summarised while it is parsed
        (as :func:`goroutine_analysis` takes it).
    name
        Only goroutines of this group (start function, as in
        :func:`goroutine_analysis`; ``""`` for goroutines with no stack).
    start_ns, end_ns
        Restrict to this time window (absolute ns, as the events' ``ts``): each
        goroutine's stats are its snapshot at ``end_ns`` minus its snapshot at
        ``start_ns``, the way cmd/trace computes a region's stats; only
        goroutines alive during the window are listed.
    go_version
        Mimic ``go tool trace`` of this Go release ("1.22" ... "1.27");
        default the newest.

    Returns
    -------
    pandas.DataFrame
        One row per goroutine, sorted by ``total_ns`` descending (cmd/trace's
        default order), then ``goid``:

        ``goid``, ``name`` (start function: outermost frame of its first
        transition stack), ``system`` (a runtime goroutine),
        ``creation_ns`` (creation, or the last Sync before it was first seen),
        ``start_ns`` (first run; null if it never ran), ``end_ns`` (exit; null
        if alive at the end), ``total_ns`` (time in the trace), and the
        non-overlapping breakdown: ``exec_ns`` (Execution time),
        ``sched_wait_ns`` (Sched wait time), ``syscall_ns`` (Syscall execution
        time), ``syscall_block_ns`` (Block time (syscall)), ``block_ns`` (all
        blocking), ``unknown_ns`` (Unknown time), then one
        ``block_ns[<reason>]`` per wait reason (Block time (<reason>)) and one
        ``range_ns[<range>]`` per special range (GC mark assist, sweep, STW;
        these overlap the others). Absent reasons and ranges are 0.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> df = gt.goroutine_stats(tr)
    >>> list(df.columns[:7])
    ['goid', 'name', 'system', 'creation_ns', 'start_ns', 'end_ns', 'total_ns']
    >>> bool((df["exec_ns"] + df["sched_wait_ns"] + df["syscall_ns"] + df["syscall_block_ns"]
    ...       + df["block_ns"] + df["unknown_ns"] >= df["total_ns"]).all())
    True
    """
    cols, names, _ = goroutine_columns(trace, name, start_ns, end_ns, go_version)
    order = np.lexsort((cols["goid"], -np.asarray(cols["total_ns"])))
    return frame(take({k: cols[k] for k in names}, order))


def goroutine_columns(
    trace: Trace | TraceSource,
    name: str | None,
    start_ns: int | None,
    end_ns: int | None,
    go_version: str | None,
) -> tuple[dict[str, Any], list[str], Any]:
    """:func:`goroutine_stats`'s columns (unsorted), their order, and the
    summary rows they are."""
    sm = summarized(trace, semantics(go_version), start_ns, end_ns, regions=False)
    s, rows = _selected(sm, name)
    g = s.goroutines
    base = {c: g[c].array[rows] for c in [*_ID_COLUMNS, "total_ns", *STAT_COLUMNS]}
    cols, bcols, rcols = wide_stats(base, s.goroutine_block, s.goroutine_range, rows)
    return cols, [*_ID_COLUMNS, *_TOTAL_COLUMNS, *bcols, *rcols], rows


def _selected(sm: Summarized, name: str | None) -> tuple[Summary, Any]:
    """The summary :func:`goroutine_stats` reads and its selected rows."""
    s, window = sm.summary, sm.window
    g = s.goroutines
    keep = np.ones(len(g), dtype=bool)
    if window is not None:
        lo, hi = window
        end = g["end_ns"].fillna(hi).to_numpy(dtype=np.int64)
        keep &= (g["creation_ns"].to_numpy() <= hi) & (end >= lo)
    if name is not None:
        keep &= (g["name"] == name).to_numpy(dtype=bool)
    return s, np.flatnonzero(keep)


def goroutine_analysis(
    trace: Trace | TraceSource,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """Goroutines grouped by start function: cmd/trace's /goroutines page, with
    the group totals of :func:`goroutine_stats` and latency percentiles.

    Parameters
    ----------
    trace
        A parsed trace, or a trace to read (a path, bytes, a file object or a
        URL, as :func:`gotrace_df.read_trace` takes them): then the
        goroutines are summarised while it is parsed, keeping no table, so
        memory is the summary's, not the trace's (a trace too big to read
        whole still fits); the result is the same as for
        ``read_trace(trace)``.
    start_ns, end_ns
        Restrict to this time window (see :func:`goroutine_stats`). Latency
        percentiles then use the waits that ended inside the window.
    go_version
        Mimic ``go tool trace`` of this Go release; default the newest.

    Returns
    -------
    pandas.DataFrame
        One row per group, sorted by ``exec_ns`` descending (cmd/trace's order),
        then ``name``:

        ``name`` (start function; ``""`` is cmd/trace's "(Inactive, no stack
        trace sampled)"), ``count`` (goroutines), ``exec_ns`` (Total execution
        time), ``share`` (fraction of all goroutines' execution time: the
        group page's "Execution Time" percentage / 100), the group sums
        ``total_ns``, ``sched_wait_ns``, ``syscall_ns``, ``syscall_block_ns``,
        ``block_ns``, ``unknown_ns``, then per-episode percentiles of
        scheduling latency (time Runnable before running) ``sched_wait_p50_ns``,
        ``sched_wait_p90_ns``, ``sched_wait_p99_ns``, ``sched_wait_max_ns`` and
        of blocking (time Waiting) ``block_p50_ns`` ... ``block_max_ns``, over
        the waits that began and ended inside the trace (null if none).
        Percentiles are observed values (``inverted_cdf``).

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> df = gt.goroutine_analysis(tr)
    >>> list(df.columns[:4])
    ['name', 'count', 'exec_ns', 'share']
    >>> int(df["count"].sum()) == len(gt.goroutine_stats(tr))
    True
    >>> df.equals(gt.goroutine_analysis(gt.example_trace()))  # a file, streamed
    True
    """
    sm = summarized(trace, semantics(go_version), start_ns, end_ns, regions=False)
    sel, rows = _selected(sm, None)
    g = sel.goroutines
    # Usually every goroutine is selected: then their columns are not copied.
    every = len(rows) == len(g)
    stats = totals(
        {
            c: g[c].to_numpy() if every else g[c].to_numpy()[rows]
            for c in ["total_ns", *STAT_COLUMNS]
        },
        sel.goroutine_block,
        rows,
    )
    names = (g["name"].array if every else g["name"].array[rows]).remove_unused_categories()
    codes = names.codes.astype(np.int64)
    labels = names.categories
    n = len(labels)
    count = np.bincount(codes, minlength=n).astype(np.int64)
    groups = pd.DataFrame({"name": labels.to_numpy(dtype=object), "count": count})
    for c in _TOTAL_COLUMNS:
        groups[c] = group_sum(codes, stats[c], n)
    all_exec = int(groups["exec_ns"].sum())
    groups["share"] = groups["exec_ns"] / all_exec if all_exec > 0 else np.nan

    # Latency percentiles over each group's complete waits (the same in
    # the summary of any window: one pass serves both).
    window, s = sm.window, sel
    # Both states in one pass: group 2 * code + state (-1, the last slot, is
    # an episode of a replaced summary or of an unselected goroutine).
    code_of_row = np.full(len(s.goroutines) + 1, -1, dtype=np.int32)
    code_of_row[rows] = codes
    row, state, dur = episodes_in(s, window)
    key = code_of_row[row]
    ok = key >= 0
    key *= 2
    key += state
    if not ok.all():
        key, dur = key[ok], dur[ok]
    del ok
    st = group_stats(key, dur, 2 * n)
    del key
    for state, prefix in ((0, "sched_wait_"), (1, "block_")):
        for c, v in st.columns(prefix).items():
            groups[c] = v[state::2]
    groups = groups[groups["count"] > 0]
    cols = ["name", "count", "exec_ns", "share"]
    cols += [c for c in _TOTAL_COLUMNS if c != "exec_ns"]
    cols += [c for c in groups.columns if c.endswith("_ns") and c not in cols]
    groups = groups[cols]
    groups = groups.sort_values(["exec_ns", "name"], ascending=[False, True], kind="stable")
    return groups.reset_index(drop=True)
