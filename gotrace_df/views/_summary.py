"""cmd/trace's goroutine summary (``internal/trace.Summarizer``), run by the
Rust core (``crates/gotrace-core/src/analysis/summary.rs``) over the events table, as
pandas frames the views share.

The core returns, for the summaries left in Go's map (a summary whose goroutine
ID is reused is replaced, as in Go):

* ``goroutines``: goid, system, creation_ns, start_ns, end_ns, exec_ns,
  sched_wait_ns, syscall_ns, syscall_block_ns, total_ns and ``name`` (the
  outermost function of the stack that named it; the core gives that
  stack's ID, name_stack_id);
* ``goroutine_block`` / ``goroutine_range``: (row, reason | name, ns), the
  per-reason block times and per-name range times of goroutine ``row``;
* ``regions``: every user-region summary made (incl. the made-up ones that
  carry an inherited task, with an empty name): goid, task_id,
  name, start_event, end_event, stack_id (its start event's stack),
  start_ns, end_ns (its events' times as cmd/trace's reader gives them,
  null where it has no such event: :func:`region_times`), duration_ns
  (cmd/trace's: the trace's ends stand for a missing start or end; null for
  a region never closed, which no page shows), in_goroutine (in a live
  goroutine's region list: what /userregions shows), in_task (in its task's
  region list, what /usertask shows; such rows come in that list's order);
* only when asked for (:func:`region_stats`, a run of its own: the snapshots
  at every region boundary cost time and memory the other views do not
  need), ``region_stats``: each region's total_ns and STAT_COLUMNS, rows as
  in ``regions``, with ``region_block`` / ``region_range`` keyed by region row;
* ``episodes``: each complete stay of a goroutine in Runnable (state 0) or
  Waiting (state 1), entered and left by an event: row (goroutine row; null
  for a replaced summary), state, end, dur (for the latency percentiles);
* ``ts_fixes`` and ``span``: the event times and trace span cmd/trace's own
  reader gives, where they differ (Go 1.22-1.24, see ``GoSemantics``).

The views that take a trace to read instead of a :class:`gotrace_df.Trace`
run the same Summarizer while it is parsed (:func:`summarized`,
:mod:`gotrace_df.views._stream`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df import _core, _expand
from gotrace_df._trace import Trace
from gotrace_df.views._cache import once
from gotrace_df.views._common import (
    GoSemantics,
    check_window,
    clip_window,
    group_sum,
    trace_window,
)
from gotrace_df.views._stream import as_trace, run_stream

if TYPE_CHECKING:
    from gotrace_df.io import TraceSource

__all__ = [
    "STAT_COLUMNS",
    "StackFrames",
    "RegionStats",
    "Summarized",
    "Summary",
    "episodes_in",
    "event_times",
    "frame",
    "region_times",
    "stack_frames",
    "stack_table",
    "region_stats",
    "summarize",
    "summarized",
    "summary_of",
    "take",
    "totals",
    "wide_stats",
]

#: The non-overlapping totals, in cmd/trace's order of meaning.
STAT_COLUMNS = ("exec_ns", "sched_wait_ns", "syscall_ns", "syscall_block_ns")

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Summary:
    #: cmd/trace's trace start and end (its reader's first and last event).
    start_ns: int
    end_ns: int
    #: Event times that differ in cmd/trace's reader (Go 1.22-1.24): events row -> ns.
    ts_fixes: pd.Series
    goroutines: pd.DataFrame
    goroutine_block: pd.DataFrame
    goroutine_range: pd.DataFrame
    regions: pd.DataFrame
    #: Complete Runnable (state 0) / Waiting (state 1) stays: row, state, end, dur.
    episodes: pd.DataFrame


def episodes_in(s: Summary, window: tuple[int, int] | None) -> tuple[Any, Any, Any]:
    """(summary row, state, duration) of each complete stay in Runnable (state
    0) or Waiting (1), ending inside ``window`` if given; row -1 for a stay of
    a replaced summary."""
    e = s.episodes
    # -1 for a replaced summary's stays (null rows): one pass, no masked
    # copies; without nulls, the column itself.
    row = e["row"].to_numpy(dtype=np.int32, na_value=-1)
    state, dur = e["state"].to_numpy(), e["dur"].to_numpy()
    if window is not None:
        end = e["end"].to_numpy()
        ok = (end > window[0]) & (end <= window[1])
        row, state, dur = row[ok], state[ok], dur[ok]
    return row, state, dur


@dataclass(frozen=True)
class RegionStats:
    """The stats of every region of :attr:`Summary.regions` (same rows)."""

    #: total_ns and STAT_COLUMNS.
    stats: pd.DataFrame
    block: pd.DataFrame
    range: pd.DataFrame


@dataclass(frozen=True)
class StackFrames:
    """One frame per stack ID (dense arrays indexed by stack_id): the outermost
    and the leaf frame. Strings are codes into ``functions`` / ``files``;
    stacks with no frames have pc 0, the code of "" and line 0."""

    functions: pd.Index
    files: pd.Index
    outer_pc: Array
    outer_fn: Array
    outer_file: Array
    outer_line: Array
    leaf_pc: Array
    leaf_fn: Array
    leaf_file: Array
    leaf_line: Array

    def pc(self, stack_ids: Any, *, leaf: bool) -> Array:
        """The frame's ``pc`` of each stack (0: none), as in :meth:`frame`."""
        ok, i = self._at(stack_ids)
        return np.where(ok, (self.leaf_pc if leaf else self.outer_pc)[i], 0).astype(np.uint64)

    def function(self, stack_ids: Any, *, leaf: bool) -> pd.Categorical:
        """The frame's ``function`` of each stack, as in :meth:`frame`."""
        ok, i = self._at(stack_ids)
        fns = self.leaf_fn if leaf else self.outer_fn
        empty_fn = _loc(self.functions, "")
        return pd.Categorical.from_codes(np.where(ok, fns[i], empty_fn), categories=self.functions)

    def frame(self, stack_ids: Any, *, leaf: bool) -> pd.DataFrame:
        """``pc``, ``function``, ``file``, ``line`` of each stack (-1: none)."""
        ok, i = self._at(stack_ids)
        files, lines = (
            (self.leaf_file, self.leaf_line) if leaf else (self.outer_file, self.outer_line)
        )
        empty_file = _loc(self.files, "")
        return pd.DataFrame(
            {
                "pc": self.pc(stack_ids, leaf=leaf),
                "function": self.function(stack_ids, leaf=leaf),
                "file": pd.Categorical.from_codes(
                    np.where(ok, files[i], empty_file), categories=self.files
                ),
                "line": np.where(ok, lines[i], 0).astype(np.int64),
            }
        )

    def _at(self, stack_ids: Any) -> tuple[Array, Array]:
        """Which stack IDs are known, and each one's index (0 where not)."""
        sid = np.asarray(stack_ids, dtype=np.int64)
        ok = (sid >= 0) & (sid < len(self.outer_pc))
        return ok, np.where(ok, sid, 0)


def _loc(index: pd.Index, value: str) -> int:
    """Position of ``value`` in a unique index."""
    at = index.get_loc(value)
    assert isinstance(at, int)
    return at


def _codes(col: pa.ChunkedArray | pa.Array) -> tuple[Array, pd.Index]:
    """A string column as (codes, categories); null reads as ''; '' is always
    a category."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    arr = pc.fill_null(arr, "")
    enc = pc.dictionary_encode(pa.concat_arrays([arr, pa.array([""], arr.type)]))
    codes = enc.indices.to_numpy(zero_copy_only=False)[:-1].astype(np.int32)
    cats = pd.Index(enc.dictionary.to_pylist(), dtype=object)
    return codes, cats


def stack_frames(trace: Trace, *, leaf: bool = False) -> pd.DataFrame:
    """One frame per stack that has frames (the outermost, or the leaf),
    indexed by stack_id: ``pc``, ``function``, ``file``, ``line`` (str
    columns as objects)."""
    sf = stack_table(trace)
    fns = sf.leaf_fn if leaf else sf.outer_fn
    has = np.zeros(len(fns), dtype=bool)
    sid = trace.frames["stack_id"].to_numpy().astype(np.int64)
    has[sid] = True
    ids = np.flatnonzero(has)
    f = sf.frame(ids, leaf=leaf)
    f["function"] = f["function"].astype(object)
    f["file"] = f["file"].astype(object)
    f.index = pd.Index(ids, name="stack_id")
    return f


def stack_table(trace: Trace) -> StackFrames:
    """The trace's :class:`StackFrames` (cached per trace)."""
    return once(trace, "stack_table", lambda: _stack_table(trace))


def _stack_table(trace: Trace) -> StackFrames:
    return stack_frames_of(trace.stacks, trace.frames)


def stack_frames_of(stacks: pa.Table, fr: pa.Table) -> StackFrames:
    """The :class:`StackFrames` of a stacks and a frames table."""
    top = pc.max(stacks["stack_id"]).as_py() if stacks.num_rows else None
    n = int(top) + 1 if top is not None else 1
    sid = fr["stack_id"].to_numpy().astype(np.int64)
    depth = fr["depth"].to_numpy().astype(np.int64)
    pcs = fr["pc"].to_numpy().astype(np.uint64)
    lines = fr["line"].to_numpy().astype(np.int64)
    fn, functions = _codes(fr["function"])
    fl, files = _codes(fr["file"])
    empty_fn = _loc(functions, "")
    empty_file = _loc(files, "")

    def pick(order: Array) -> tuple[Array, Array, Array, Array]:
        s = sid[order]
        first = np.ones(len(s), dtype=bool)
        first[1:] = s[1:] != s[:-1]
        rows = order[first]
        out_pc = np.zeros(n, dtype=np.uint64)
        out_fn = np.full(n, empty_fn, dtype=np.int32)
        out_file = np.full(n, empty_file, dtype=np.int32)
        out_line = np.zeros(n, dtype=np.int64)
        at = sid[rows]
        out_pc[at] = pcs[rows]
        out_fn[at] = fn[rows]
        out_file[at] = fl[rows]
        out_line[at] = lines[rows]
        return out_pc, out_fn, out_file, out_line

    outer = pick(np.lexsort((-depth, sid)))
    leaf = pick(np.lexsort((depth, sid)))
    return StackFrames(functions, files, *outer, *leaf)


def _frame(t: object) -> pd.DataFrame:
    """An Arrow table from the core as pandas (no copy where possible):
    dictionary strings become categoricals, integer columns with nulls
    nullable integers of the same width (``Int64``, ``Int32``), the others
    numpy integers."""
    table = pa.table(t)
    data: dict[str, Any] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        if pa.types.is_integer(arr.type) and arr.null_count:
            # The values in place: the imported batch stays alive as a whole
            # while any of its columns is used, so a copy would hold the
            # column twice.
            mask = arr.is_null().to_numpy(zero_copy_only=False)
            data[name] = pd.arrays.IntegerArray(_values(arr), mask)
        elif pa.types.is_integer(arr.type):
            data[name] = arr.to_numpy()
        else:
            data[name] = arr.to_pandas()
    return frame(data)


def _values(arr: pa.Array) -> Array:
    """An integer array's values buffer as numpy, in place: what lies under a
    null is whatever the producer wrote, never to be read."""
    dtype = arr.type.to_pandas_dtype()
    values = np.frombuffer(arr.buffers()[1], dtype=dtype, count=arr.offset + len(arr))
    return values[arr.offset :]


def frame(data: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame over these columns without copying them into one block."""
    return pd.DataFrame(data, copy=False)


# The events columns the Summarizer reads.
_SUMMARY_COLUMNS = [
    "ts",
    "kind",
    "g",
    "p",
    "resource",
    "resource_id",
    "stack_id",
    "from_state",
    "to_state",
    "reason",
    "transition_stack_id",
    "name",
]


def _run(
    trace: Trace, sem: GoSemantics, window: tuple[int, int] | None, *, region_stats: bool
) -> dict[str, Any]:
    """The core Summarizer's tables for ``trace``."""
    named, system = _core.stack_names(trace.frames)
    # The tasks of region events come from the regions table, which owns them.
    regions = trace.columns("regions", ["start_event", "end_event", "task_id"])
    start, end = (_expand.event_rows(regions[c], np.int32) for c in ("start_event", "end_event"))
    task = _expand.event_rows(regions["task_id"])
    counts = trace.row_counts()
    raw: dict[str, Any] = _core.summarize(
        trace.columns("events", _SUMMARY_COLUMNS),
        named,
        system,
        legacy_undetermined=sem.legacy_undetermined,
        legacy_sync=sem.legacy_sync,
        window=window,
        regions=(start.data, end.data, task.data),
        region_stats=region_stats,
        # The parser's goroutines and regions rows bound the creations and
        # begins: the core sizes its results without counting them.
        capacity=(counts["goroutines"], counts["regions"]),
    )
    return raw


def region_stats(trace: Trace, sem: GoSemantics) -> RegionStats:
    """Each region's stats, rows as in :func:`summarize`'s regions (cached
    per trace)."""
    key = ("region_stats", sem.legacy_undetermined, sem.legacy_sync)
    return once(trace, key, lambda: _region_stats(trace, sem))


def _region_stats(trace: Trace, sem: GoSemantics) -> RegionStats:
    raw = _run(trace, sem, None, region_stats=True)
    return RegionStats(
        stats=_frame(raw["region_stats"]),
        block=_frame(raw["region_block"]),
        range=_frame(raw["region_range"]),
    )


def summarize(trace: Trace, sem: GoSemantics, window: tuple[int, int] | None = None) -> Summary:
    """The Summarizer's result for ``trace`` under ``sem`` (cached per trace
    when there is no window)."""
    if window is None:
        key = ("summary", sem.legacy_undetermined, sem.legacy_sync)
        return once(trace, key, lambda: _summarize(trace, sem, None))
    return _summarize(trace, sem, window)


def _summarize(trace: Trace, sem: GoSemantics, window: tuple[int, int] | None) -> Summary:
    return summary_of(_run(trace, sem, window, region_stats=False), stack_table(trace))


def summary_of(raw: dict[str, Any], sf: StackFrames) -> Summary:
    """The :class:`Summary` of the core's tables (``raw``), goroutines
    named through the stacks' frames ``sf``."""
    g = _frame(raw["goroutines"])
    named_by = g.pop("name_stack_id").to_numpy(dtype=np.int64, na_value=-1)
    g["name"] = sf.function(named_by, leaf=False)
    del named_by
    fixes = _frame(raw["ts_fixes"])
    span = _frame(raw["span"])
    return Summary(
        start_ns=int(span["start_ns"].iloc[0]),
        end_ns=int(span["end_ns"].iloc[0]),
        ts_fixes=pd.Series(
            fixes["ts"].to_numpy(dtype=np.int64), index=fixes["event"].to_numpy(dtype=np.int64)
        ),
        goroutines=g,
        goroutine_block=_frame(raw["goroutine_block"]),
        goroutine_range=_frame(raw["goroutine_range"]),
        regions=_frame(raw["regions"]),
        episodes=_frame(raw["episodes"]),
    )


def event_times(s: Summary, rows: Any, ts: Any) -> Array:
    """Times of events ``rows`` (``ts`` from the events table) as cmd/trace's
    own reader gives them."""
    out = np.asarray(ts, dtype=np.int64).copy()
    if len(s.ts_fixes) and len(out):
        ev = s.ts_fixes.index.to_numpy()
        r = np.asarray(rows, dtype=np.int64)
        at = np.clip(np.searchsorted(ev, r), 0, len(ev) - 1)
        hit = ev[at] == r
        out[hit] = s.ts_fixes.to_numpy()[at[hit]]
    return out


def region_times(s: Summary, rows: Any = None) -> tuple[Any, Any]:
    """(start, end) of the summary's regions ``rows`` (all if None): the times
    cmd/trace's reader gives their begin and end events, null (nullable
    ``IntegerArray``) where a region has no such event."""

    def at(col: str) -> Any:
        times = s.regions[col].array
        return times if rows is None else times[rows]

    return at("start_ns"), at("end_ns")


def wide_stats(
    base: dict[str, Any], block: pd.DataFrame, ranges: pd.DataFrame, rows: Array
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Columns ``base`` (one value per selected row) with cmd/trace's breakdown
    added: ``block_ns`` (all reasons), ``unknown_ns``, one
    ``block_ns[<reason>]`` per reason and one ``range_ns[<name>]`` per range
    name (0 where absent). ``block`` and ``ranges`` are long tables whose
    ``row`` refers to ``rows`` (the row ID of each selected row). Also returns
    the reason and range column names, sorted; a column exists for every key
    present in a selected row, even if all its values are 0 (as cmd/trace
    shows them)."""
    out = dict(base)
    rows = np.asarray(rows, dtype=np.int64)
    n = len(rows)
    top = int(max(rows.max(initial=-1), 0)) + 1
    pos_of = np.full(top, -1, dtype=np.int64)
    pos_of[rows] = np.arange(n)

    def spread(long: pd.DataFrame, col: str, fmt: str) -> dict[str, Array]:
        if long.empty or n == 0:
            return {}
        r = long["row"].to_numpy(dtype=np.int64)
        pos = np.where(r < top, pos_of[np.minimum(r, top - 1)], -1)
        keep = pos >= 0
        pos, ns = pos[keep], long["ns"].to_numpy(dtype=np.int64)[keep]
        key = long[col]
        labels: Any
        if isinstance(key.dtype, pd.CategoricalDtype):
            codes, labels = key.cat.codes.to_numpy()[keep], key.cat.categories
        else:
            codes, labels = pd.factorize(key.to_numpy()[keep])
        cols: dict[str, Array] = {}
        for code in sorted(np.unique(codes), key=lambda c: str(labels[c])):
            sel = codes == code
            v = np.zeros(n, dtype=np.int64)
            # Each (row, key) is in the long table once: a plain scatter.
            v[pos[sel]] = ns[sel]
            cols[fmt.format(labels[code])] = v
        return cols

    bcols = spread(block, "reason", "block_ns[{}]")
    rcols = spread(ranges, "name", "range_ns[{}]")
    total_block = np.zeros(n, dtype=np.int64)
    for v in bcols.values():
        total_block += v
    _block_unknown(out, total_block)
    out.update(bcols)
    out.update(rcols)
    return out, list(bcols), list(rcols)


def totals(base: dict[str, Any], block: pd.DataFrame, rows: Array) -> dict[str, Any]:
    """Columns ``base`` with ``block_ns`` and ``unknown_ns`` added, as
    :func:`wide_stats` computes them, without a column per reason (what the
    group totals need)."""
    out = dict(base)
    rows = np.asarray(rows, dtype=np.int64)
    top = int(max(rows.max(initial=-1), 0)) + 1
    r = block["row"].to_numpy(dtype=np.int64)
    keep = r < top
    per_row = group_sum(r[keep], block["ns"].to_numpy(dtype=np.int64)[keep], top)
    _block_unknown(out, per_row[rows])
    return out


def _block_unknown(out: dict[str, Any], total_block: Array) -> None:
    """Adds ``block_ns`` and cmd/trace's ``unknown_ns``: the time in the
    trace not accounted for by the non-overlapping totals (never negative)."""
    acc = total_block.copy()
    for c in STAT_COLUMNS:
        acc += np.asarray(out[c], dtype=np.int64)
    out["block_ns"] = total_block
    out["unknown_ns"] = np.maximum(np.asarray(out["total_ns"], dtype=np.int64) - acc, 0)


def take(columns: dict[str, Any], order: Array) -> dict[str, Any]:
    """Each column reordered by ``order``."""
    return {k: v[order] for k, v in columns.items()}


@dataclass(frozen=True)
class Summarized:
    """A summary and what the views read beside it: the stacks' frames, the
    trace's span and the views' time window within it."""

    summary: Summary
    frames: StackFrames
    start_ns: int
    end_ns: int
    #: The window asked for, clipped to the trace (None: the whole trace).
    window: tuple[int, int] | None


def summarized(
    source: Trace | TraceSource,
    sem: GoSemantics,
    start_ns: int | None = None,
    end_ns: int | None = None,
    *,
    regions: bool = True,
) -> Summarized:
    """The Summarizer's result over ``source`` in the window ``start_ns`` to
    ``end_ns`` (see :func:`gotrace_df.goroutine_stats`): a parsed trace's
    (:func:`summarize`), or that of a trace to read, summarised while it is
    parsed (:mod:`gotrace_df.views._stream`), equal to what it gives for
    ``read_trace(source)``. ``regions`` False: a trace to read is summarised
    without its regions (the regions table is empty; the goroutines are the
    same), which a view of the goroutines alone does not keep."""
    trace = as_trace(source)
    if trace is not None:
        window = trace_window(trace, start_ns, end_ns)
        s = summarize(trace, sem, window)
        return Summarized(s, stack_table(trace), trace.start_ns, trace.end_ns, window)
    assert not isinstance(source, Trace)
    window = check_window(start_ns, end_ns)

    def parse(data: Any, **kw: Any) -> _core.ParseResult:
        # The core clips the window's start to the trace's, as trace_window.
        return _core.stream_summary(
            data,
            legacy_undetermined=sem.legacy_undetermined,
            legacy_sync=sem.legacy_sync,
            window=window,
            regions=regions,
            **kw,
        )

    result = run_stream(source, parse, stacklevel=3)
    tables: dict[str, Any] = dict(result["tables"])
    sf = stack_frames_of(pa.table(tables.pop("stacks")), pa.table(tables.pop("frames")))
    start, end = int(result["start_ns"]), int(result["end_ns"])
    return Summarized(summary_of(tables, sf), sf, start, end, clip_window(window, start, end))
