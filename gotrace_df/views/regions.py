"""User-defined regions: ``go tool trace``'s /userregions and /userregion pages.

Regions are cmd/trace's (``internal/trace.Summarizer``): those of every
goroutine, including a region still open when its goroutine exits (closed
there) or when the trace ends (no end), a region whose begin is not in the
trace (no start), and a made-up region with an empty type for a goroutine
created inside a region (it carries the creator's task). Open regions of system
goroutines are dropped. A region's interval runs from its start (or the trace
start) to its end (or the trace end); unlike the page's text says, incomplete
regions are in the histograms too.

Regions are grouped by type and one frame of the RegionBegin stack: the
outermost frame since Go 1.24, the leaf frame in Go 1.22 and 1.23
(``go_version``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gotrace_df._trace import Trace
from gotrace_df.views._cache import once
from gotrace_df.views._common import (
    ORDER_COLUMNS,
    GoSemantics,
    check_window,
    factorize_ints,
    group_stats,
    grouped_histogram,
    semantics,
)
from gotrace_df.views._summary import (
    STAT_COLUMNS,
    StackFrames,
    Summary,
    frame,
    region_stats,
    region_times,
    summarized,
    take,
    wide_stats,
)

if TYPE_CHECKING:
    from gotrace_df.io import TraceSource

__all__ = ["user_regions", "user_region_histogram", "user_region_stats"]


@dataclass(frozen=True)
class _Regions:
    """The listed regions (cmd/trace's): per region its group and interval
    length. A group is (type, grouping frame): its type and frame are read
    through one of its RegionBegin stacks; the rest is read from the
    summary's regions by :meth:`row` when a view needs it."""

    #: Summary row of each listed region (None: every region is listed).
    rows: Any
    #: Group of each region: (type, frame PC), numbered in the page's order
    #: (type, then PC); per group its type (a code into ``types``) and one of
    #: its stacks (-1: none), whose frame is read through ``frames``.
    group: Any
    group_type: Any
    group_stack: Any
    types: pd.Index
    frames: StackFrames
    leaf: bool
    duration_ns: Any
    #: cmd/trace's trace span, for regions without a start or an end.
    span: tuple[int, int]

    def row(self, idx: Any) -> Any:
        """Summary rows of regions ``idx``."""
        return idx if self.rows is None else self.rows[idx]

    def type(self, idx: Any) -> pd.Categorical:
        """Type of regions ``idx``."""
        return pd.Categorical.from_codes(self.group_type[self.group[idx]], categories=self.types)

    def pc(self, idx: Any) -> Any:
        """PC of the grouping frame of regions ``idx`` (0: none)."""
        return self.frames.pc(self.group_stack, leaf=self.leaf)[self.group[idx]]

    def frame(self, idx: Any) -> pd.DataFrame:
        """The grouping frame of regions ``idx`` (see ``StackFrames.frame``)."""
        return self.frames.frame(self.group_stack[self.group[idx]], leaf=self.leaf)

    def interval(self, s: Summary, idx: Any) -> tuple[Any, Any]:
        """(start, end) of regions ``idx``, the trace's ends for missing ones."""
        lo, hi = region_times(s, self.row(idx))
        return (
            lo.to_numpy(dtype=np.int64, na_value=self.span[0]),
            hi.to_numpy(dtype=np.int64, na_value=self.span[1]),
        )


def _regions(source: Trace | TraceSource, sem: GoSemantics) -> tuple[_Regions, Summary]:
    """Listed regions with their grouping frame (cached on a Trace), and the
    summary (:func:`summarized`: a trace file is summarised as it is parsed)."""
    sm = summarized(source, sem)
    if not isinstance(source, Trace):
        return _listed(sm.summary, sm.frames, sem), sm.summary
    key = ("regions", sem.legacy_undetermined, sem.legacy_sync, sem.region_leaf_frame)
    return once(source, key, lambda: _listed(sm.summary, sm.frames, sem)), sm.summary


def _listed(s: Summary, frames: StackFrames, sem: GoSemantics) -> _Regions:
    src = s.regions
    listed = src["in_goroutine"].to_numpy(dtype=bool)
    # Usually every region is listed: then no column is copied to select them.
    sel: Any = slice(None) if listed.all() else np.flatnonzero(listed)
    # RegionBegin stacks (-1 for none).
    stack = src["stack_id"].to_numpy(dtype=np.int32, na_value=-1)[sel]
    types = pd.Categorical(src["name"].array[sel])
    group, group_type, group_stack = _group(types, stack, frames, sem.region_leaf_frame)
    del stack
    # Every listed region has a duration: read in place when all are listed.
    dur = src["duration_ns"].to_numpy(dtype=np.int64, na_value=0)[sel]
    return _Regions(
        rows=None if isinstance(sel, slice) else sel.astype(np.int32),
        group=group,
        group_type=group_type,
        group_stack=group_stack,
        types=types.categories,
        frames=frames,
        leaf=sem.region_leaf_frame,
        duration_ns=dur,
        span=(s.start_ns, s.end_ns),
    )


def _group(
    types: pd.Categorical, stack: Any, frames: StackFrames, leaf: bool
) -> tuple[Any, Any, Any]:
    """cmd/trace's region groups, (type, frame PC), numbered in the page's
    order: the group of each region, and per group its type code and a stack.
    The few distinct (type, stack) pairs are ordered, not the regions."""
    n_stacks = int(stack.max(initial=-1)) + 2
    cats = types.categories.astype(object).to_numpy()
    n_pairs = max(len(cats), 1) * n_stacks
    pair: Any = types.codes.astype(np.int32 if n_pairs < 2**31 else np.int64) * n_stacks
    pair += stack
    pair += 1
    # Usually a table over every (type, stack): no sort of the regions.
    pairs, of_pair = factorize_ints(pair)
    del pair
    p_type, p_stack = pairs // n_stacks, pairs % n_stacks - 1
    rank = np.empty(len(cats), dtype=np.int64)
    rank[np.argsort(cats.astype(str), kind="stable")] = np.arange(len(cats))
    p_rank, p_pc = rank[p_type], frames.pc(p_stack, leaf=leaf)
    order = np.lexsort((p_pc, p_rank))
    new = np.ones(len(order), dtype=bool)
    new[1:] = (p_rank[order][1:] != p_rank[order][:-1]) | (p_pc[order][1:] != p_pc[order][:-1])
    g_of_pair = np.empty(len(order), dtype=np.int32)
    g_of_pair[order] = np.cumsum(new) - 1
    head = order[new]
    group = g_of_pair[of_pair]
    return group, p_type[head].astype(np.int32), p_stack[head].astype(np.int32)


def _select(
    r: _Regions,
    s: Summary,
    type: str | None,
    pc: int | None,
    latmin_ns: int | None,
    latmax_ns: int | None,
    window: tuple[int, int] | None,
) -> Any:
    """Positions of the regions that pass cmd/trace's region filter (every
    region, without a filter: ``slice(None)``, which copies no column)."""
    if type is None and pc is None and latmin_ns is None and latmax_ns is None and window is None:
        return slice(None)
    keep = np.ones(len(r.group), dtype=bool)
    if type is not None:
        code = r.types.get_indexer(pd.Index([type]))[0]
        keep &= (r.group_type == code)[r.group]
    if pc is not None:
        keep &= r.pc(slice(None)) == np.uint64(pc)
    if latmin_ns is not None:
        keep &= r.duration_ns >= latmin_ns
    if latmax_ns is not None:
        keep &= r.duration_ns <= latmax_ns
    idx = np.flatnonzero(keep)
    if window is not None:
        lo, hi = r.interval(s, idx)
        idx = idx[(lo <= window[1]) & (hi >= window[0])]
    return idx


def user_regions(
    trace: Trace | TraceSource,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """Regions by type and start location: cmd/trace's /userregions page, with
    duration percentiles.

    Parameters
    ----------
    trace
        A parsed trace, or a trace to read (a path, bytes, a file object or a
        URL, as :func:`gotrace_df.read_trace` takes them): then the regions
        are summarised while it is parsed, keeping no table, so memory is
        the regions', not the trace's; the result is the same as for
        ``read_trace(trace)``.
    start_ns, end_ns
        Only regions whose interval overlaps this window (absolute ns).
    go_version
        Mimic ``go tool trace`` of this Go release ("1.22" and "1.23" group by
        the leaf frame); default the newest.

    Returns
    -------
    pandas.DataFrame
        One row per (type, frame), sorted by ``type`` then ``pc`` (as the
        page): ``type`` (region type; ``""`` for the made-up regions of
        goroutines created inside a region), the frame ``pc``, ``function``,
        ``file``, ``line`` (0/empty when the begin has no stack or is not in
        the trace), ``count``, and over the regions' intervals ``total_ns``,
        ``min_ns``, ``p50_ns``, ``p90_ns``, ``p99_ns``, ``max_ns``
        (percentiles are observed values). The histogram is
        :func:`user_region_histogram`.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> df = gt.user_regions(tr)
    >>> list(df.columns[:6])
    ['type', 'pc', 'function', 'file', 'line', 'count']
    >>> df.equals(gt.user_regions(gt.example_trace()))  # a file, streamed
    True
    """
    sem = semantics(go_version)
    r, s = _regions(trace, sem)
    idx = _select(r, s, None, None, None, None, check_window(start_ns, end_ns))
    gid, groups, n = _groups(r, idx)
    d = r.duration_ns[idx]
    # Every group has a region: no nulls.
    st = group_stats(gid, d, n)
    f = r.frames.frame(r.group_stack[groups], leaf=r.leaf)
    out = pd.DataFrame(
        {
            "type": r.types.to_numpy(dtype=object)[r.group_type[groups]],
            "pc": f["pc"].to_numpy(),
            "function": f["function"].to_numpy(dtype=object),
            "file": f["file"].to_numpy(dtype=object),
            "line": f["line"].to_numpy(dtype=np.int64),
            "count": st.count,
            "total_ns": st.total,
            **{c: v.to_numpy(dtype=np.int64) for c, v in st.columns("", ORDER_COLUMNS).items()},
        }
    )
    return out


def _groups(r: _Regions, idx: Any) -> tuple[Any, Any, int]:
    """Regions ``idx``'s groups, numbered in the page's order: the group of
    each, the groups' numbers in ``r`` (for their type and stack), and how
    many there are."""
    if isinstance(idx, slice) or len(idx) == len(r.group):
        n = len(r.group_type)
        return r.group, np.arange(n), n
    sub = r.group[idx]
    present = np.bincount(sub, minlength=len(r.group_type)) > 0
    renumber = np.cumsum(present) - 1
    return renumber[sub], np.flatnonzero(present), int(present.sum())


def user_region_histogram(
    trace: Trace,
    type: str | None = None,
    pc: int | None = None,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """cmd/trace's duration histogram of regions, per (type, frame).

    Parameters
    ----------
    trace
        A parsed trace.
    type, pc
        Only regions of this type / whose grouping frame has this PC.
    start_ns, end_ns
        Only regions whose interval overlaps this window.
    go_version
        Mimic ``go tool trace`` of this Go release; default the newest.

    Returns
    -------
    pandas.DataFrame
        Per group in the order of :func:`user_regions`, one row per bucket from
        its smallest to its largest used (empty ones included): ``type``,
        ``pc``, ``bucket``, ``lower_ns`` (the label cmd/trace prints),
        ``upper_ns``, ``count``.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> h = gt.user_region_histogram(tr)
    >>> list(h.columns)
    ['type', 'pc', 'bucket', 'lower_ns', 'upper_ns', 'count']
    """
    sem = semantics(go_version)
    r, s = _regions(trace, sem)
    idx = _select(r, s, type, pc, None, None, check_window(start_ns, end_ns))
    gid, groups, _ = _groups(r, idx)
    stacks = r.group_stack[groups]
    types = r.types.to_numpy(dtype=object)[r.group_type[groups]]
    keys = pd.DataFrame({"type": types, "pc": r.frames.pc(stacks, leaf=r.leaf)})
    return grouped_histogram(keys, gid, r.duration_ns[idx])


def user_region_stats(
    trace: Trace,
    type: str | None = None,
    pc: int | None = None,
    *,
    latmin_ns: int | None = None,
    latmax_ns: int | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """Where each region's goroutine spent the region's time: cmd/trace's
    /userregion?type=&pc= page.

    Parameters
    ----------
    trace
        A parsed trace.
    type, pc
        Only regions of this type / whose grouping frame has this PC.
    latmin_ns, latmax_ns
        Only regions whose interval lasts at least / at most this.
    start_ns, end_ns
        Only regions whose interval overlaps this window.
    go_version
        Mimic ``go tool trace`` of this Go release; default the newest.

    Returns
    -------
    pandas.DataFrame
        One row per region, sorted by ``total_ns`` descending (the page's
        order), then ``start_ns``: ``goid``, ``task_id`` (0: background),
        ``type``, the grouping frame ``pc``, ``function``, ``file``, ``line``,
        ``start_ns`` and ``end_ns`` (null when not in the trace),
        ``duration_ns`` (the region interval), then the breakdown of
        :func:`goroutine_stats` over the region: ``total_ns``, ``exec_ns``,
        ``sched_wait_ns``, ``syscall_ns``, ``syscall_block_ns``, ``block_ns``,
        ``unknown_ns``, ``block_ns[<reason>]`` ..., ``range_ns[<range>]`` ....

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> df = gt.user_region_stats(tr)
    >>> bool((df["exec_ns"] <= df["total_ns"]).all())
    True
    """
    sem = semantics(go_version)
    r, s = _regions(trace, sem)
    idx = _select(r, s, type, pc, latmin_ns, latmax_ns, check_window(start_ns, end_ns))
    if isinstance(idx, slice):
        idx = np.arange(len(r.group))
    rows = r.row(idx)
    rs = region_stats(trace, sem)
    base_cols = ["goid", "task_id", "type", "pc", "function", "file", "line"]
    base_cols += ["start_ns", "end_ns", "duration_ns", "total_ns", *STAT_COLUMNS]
    base: dict[str, Any] = {}
    f = r.frame(idx)
    times = dict(zip(("start_ns", "end_ns"), region_times(s, rows), strict=True))
    for c in base_cols:
        if c in ("pc", "function", "file", "line"):
            base[c] = f[c].array
        elif c in times:
            base[c] = times[c]
        elif c == "type":
            base[c] = r.type(idx)
        elif c == "duration_ns":
            base[c] = r.duration_ns[idx]
        elif c in rs.stats:
            base[c] = rs.stats[c].array[rows]
        else:
            base[c] = s.regions[c].array[rows]
    cols, bcols, rcols = wide_stats(base, rs.block, rs.range, rows)
    names: list[str] = [*base_cols[:11], *STAT_COLUMNS, "block_ns", "unknown_ns", *bcols, *rcols]
    start = np.asarray(cols["start_ns"].fillna(np.iinfo(np.int64).min), dtype=np.int64)
    order = np.lexsort((start, -np.asarray(cols["total_ns"], dtype=np.int64)))
    return frame(take({k: cols[k] for k in names}, order))
