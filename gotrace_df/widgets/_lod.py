"""Level of detail for the timeline: numpy only, no widgets.

The browser must receive about one shape per pixel per lane whatever the trace
size. Two building blocks:

* :class:`IntervalLanes`: intervals (spans, proc runs, GC ranges) grouped by
  lane. A query for a viewport returns *blocks*: an interval drawn as itself
  where it is at least a pixel wide, and, where many intervals share a pixel
  column, one block per run of columns with the same dominant category and
  occupancy. The cost of a query is bounded by the visible lanes times the
  width (searchsorted on prefix sums), not by the number of intervals in view.
* :class:`StepSeries`: counters (goroutines per state, heap, threads) as step
  functions, reduced to their maximum per pixel column.

:func:`path_pieces` reduces a highlighted path (one interval at a time, across
goroutines) the same way.

Times are float64 nanoseconds relative to the trace start (exact below 2^53 ns,
about 104 days).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["Blocks", "IntervalLanes", "StepSeries", "DIM", "occupancy_levels", "path_pieces"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# Category flag: the interval is outside the current highlight (drawn faded).
DIM = 0x80
# Sub-pixel runs are merged when their occupancy falls in the same bucket.
_OCC_BUCKETS = 16
# A lane with more intervals in view than this many per pixel column is drawn
# from prefix sums and samples instead of interval by interval.
_EXACT_PER_PX = 1.0
# Samples per pixel column used to pick the dominant category of a dense column.
_SAMPLES = (0.125, 0.375, 0.625, 0.875)


def occupancy_levels() -> int:
    """Number of distinct occupancy values a merged block can carry."""
    return _OCC_BUCKETS


@dataclass
class Blocks:
    """Blocks of one query, all lanes concatenated in lane order.

    ``x0``/``x1`` are pixel positions (float, clipped to ``[0, width]``),
    ``cat`` the category (with :data:`DIM` set for faded ones), ``occ`` the
    busy fraction of the block in 1/255ths (255: an interval drawn exactly),
    ``ref`` the interval's row for exact blocks (-1 for merged ones) and
    ``counts[i]`` how many blocks lane ``i`` has.
    """

    x0: F64
    x1: F64
    cat: npt.NDArray[np.uint8]
    occ: npt.NDArray[np.uint8]
    ref: I64
    counts: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.x0.size)


def _empty_blocks() -> Blocks:
    return Blocks(
        np.empty(0),
        np.empty(0),
        np.empty(0, np.uint8),
        np.empty(0, np.uint8),
        np.empty(0, np.int64),
        [],
    )


def _runs(keys: npt.NDArray[np.int64]) -> tuple[I64, I64]:
    """Start and end (exclusive) index of each run of equal consecutive keys."""
    if keys.size == 0:
        e = np.empty(0, np.int64)
        return e, e
    change = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    ends = np.concatenate((change, [keys.size])).astype(np.int64)
    return starts, ends


class IntervalLanes:
    """Intervals grouped by lane, for viewport queries.

    Parameters
    ----------
    lane, start, end, cat
        One entry per interval: lane index (``0 <= lane < nlanes``), start and
        end (ns relative to the trace start), category (0..127).
    ref
        A row number to report back for each interval (e.g. the spans row).
    nlanes
        Number of lanes.
    highlight
        Optional boolean per interval; intervals where it is False are faded.

    Intervals of one lane are expected not to overlap (a proc runs one
    goroutine at a time, a goroutine is in one state at a time); where they do,
    drawing is still bounded but a covered interval may not show.
    """

    def __init__(
        self,
        lane: npt.ArrayLike,
        start: npt.ArrayLike,
        end: npt.ArrayLike,
        cat: npt.ArrayLike,
        ref: npt.ArrayLike,
        nlanes: int,
    ) -> None:
        lane_a = np.asarray(lane)
        start_a = np.asarray(start, dtype=np.float64)
        end_a = np.asarray(end, dtype=np.float64)
        # Sort by (lane, start). Lanes are small integers: a stable sort on a
        # narrow type is a radix sort. Intervals usually come in start order
        # already (tables follow the events), so the stable lane sort alone
        # is enough; otherwise sort by start first.
        narrow = lane_a.astype(np.int32 if nlanes > 65535 else np.uint16)
        order = np.argsort(narrow, kind="stable")
        counts = np.bincount(narrow, minlength=nlanes)[:nlanes]
        ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        s_sorted = start_a[order]
        descending = np.flatnonzero(s_sorted[1:] < s_sorted[:-1]) + 1
        # A descent at a lane's first interval is the lane change, not disorder.
        if not np.isin(descending, ptr).all():
            by_start = np.argsort(start_a, kind="stable")
            order = by_start[np.argsort(narrow[by_start], kind="stable")]
            s_sorted = start_a[order]
        self._set(
            ptr,
            s_sorted,
            np.maximum(end_a[order], s_sorted),
            np.asarray(cat).astype(np.uint8, copy=False)[order],
            np.asarray(ref).astype(np.int64, copy=False)[order],
        )

    @classmethod
    def from_sorted(
        cls,
        ptr: npt.ArrayLike,
        start: npt.ArrayLike,
        end: npt.ArrayLike,
        cat: npt.ArrayLike,
        ref: npt.ArrayLike,
    ) -> IntervalLanes:
        """Intervals already grouped by lane and sorted by start within each,
        none ending before it starts: lane ``i`` holds ``ptr[i]:ptr[i + 1]``
        (``len(ptr)`` is lanes + 1)."""
        self = cls.__new__(cls)
        self._set(
            np.asarray(ptr, np.int64),
            np.asarray(start, np.float64),
            np.asarray(end, np.float64),
            np.asarray(cat).astype(np.uint8, copy=False),
            np.asarray(ref).astype(np.int64, copy=False),
        )
        return self

    def _set(self, ptr: I64, start: F64, end: F64, cat: npt.NDArray[np.uint8], ref: I64) -> None:
        self.nlanes = int(ptr.size - 1)
        self.ptr = ptr
        self.start = start
        self.end = end
        self.cat = cat
        self.ref = ref
        self.cum = np.empty(start.size + 1)
        self.cum[0] = 0.0
        np.cumsum(self.end - self.start, out=self.cum[1:])
        self._hl: npt.NDArray[np.bool_] | None = None

    def __len__(self) -> int:
        return int(self.start.size)

    def set_highlight(self, mask_by_ref: npt.NDArray[np.bool_] | None) -> None:
        """Fade intervals whose ``mask_by_ref[ref]`` is False (None: no fading)."""
        self._hl = None if mask_by_ref is None else np.asarray(mask_by_ref, bool)[self.ref]

    def lane_has_any(self) -> npt.NDArray[np.bool_]:
        """Whether each lane has at least one interval."""
        out: npt.NDArray[np.bool_] = np.diff(self.ptr) > 0
        return out

    def find(self, lane: int, t: float, slack: float = 0.0) -> int:
        """Position (into the sorted arrays) of the interval of ``lane`` at time
        ``t``, or the nearest one within ``slack`` ns; -1 if none."""
        lo, hi = int(self.ptr[lane]), int(self.ptr[lane + 1])
        if lo == hi:
            return -1
        s, e = self.start[lo:hi], self.end[lo:hi]
        j = int(np.searchsorted(s, t, side="right")) - 1
        best, best_d = -1, slack
        for k in (j, j + 1, j - 1):
            if 0 <= k < hi - lo:
                d = max(s[k] - t, t - e[k], 0.0)
                if d < best_d or (d == 0.0 and best_d == 0.0 and best < 0):
                    best, best_d = k, d
                if d == 0.0:
                    return lo + k
        return lo + best if best >= 0 else -1

    def query(
        self,
        lanes: Sequence[int] | npt.NDArray[np.int64],
        t0: float,
        t1: float,
        width: int,
    ) -> Blocks:
        """Blocks for ``lanes`` over ``[t0, t1)`` drawn ``width`` pixels wide.

        At most about ``2 * width`` blocks per lane: exact blocks are at least a
        pixel wide (or alone in their column), merged blocks cover whole columns.
        """
        if width <= 0 or t1 <= t0 or len(lanes) == 0:
            return _empty_blocks()
        px = (t1 - t0) / width
        parts: list[tuple[F64, F64, npt.NDArray[np.uint8], npt.NDArray[np.uint8], I64]] = []
        counts: list[int] = []
        for lane in lanes:
            lo, hi = int(self.ptr[lane]), int(self.ptr[lane + 1])
            if lo == hi:
                counts.append(0)
                continue
            s = self.start[lo:hi]
            # First interval ending after t0 (ends are sorted when intervals do
            # not overlap), last one starting before t1.
            i0 = lo + int(np.searchsorted(self.end[lo:hi], t0, side="right"))
            i1 = lo + int(np.searchsorted(s, t1, side="left"))
            n = i1 - i0
            if n <= 0:
                counts.append(0)
                continue
            if n <= _EXACT_PER_PX * width:
                part = self._exact(i0, i1, t0, px, width)
            else:
                part = self._dense(lo, hi, t0, px, width)
            parts.append(part)
            counts.append(int(part[0].size))
        if not parts:
            out = _empty_blocks()
            out.counts = counts
            return out
        return Blocks(
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
            np.concatenate([p[3] for p in parts]),
            np.concatenate([p[4] for p in parts]),
            counts,
        )

    def _cats(self, idx: I64 | slice) -> npt.NDArray[np.uint8]:
        cat = self.cat[idx]
        if self._hl is not None:
            cat = np.where(self._hl[idx], cat, cat | DIM).astype(np.uint8)
        return cat

    def _exact(
        self, i0: int, i1: int, t0: float, px: float, width: int
    ) -> tuple[F64, F64, npt.NDArray[np.uint8], npt.NDArray[np.uint8], I64]:
        x0 = np.clip((self.start[i0:i1] - t0) / px, 0.0, width)
        x1 = np.clip((self.end[i0:i1] - t0) / px, 0.0, width)
        cat = self._cats(slice(i0, i1))
        ref = self.ref[i0:i1]
        wide = (x1 - x0) >= 1.0
        if wide.all():
            return x0, x1, cat, np.full(x0.size, 255, np.uint8), ref
        # Narrow intervals: per column, the busy fraction and the category of
        # the longest one; then runs of equal columns become one block.
        nx0, nx1, ncat = x0[~wide], x1[~wide], cat[~wide]
        col = np.minimum(((nx0 + nx1) * 0.5).astype(np.int64), width - 1)
        busy = np.bincount(col, weights=nx1 - nx0, minlength=width)
        order = np.argsort(nx1 - nx0, kind="stable")
        colcat = np.full(width, -1, np.int64)
        colcat[col[order]] = ncat[order]
        cols = np.flatnonzero(colcat >= 0)
        occ = np.minimum(np.rint(busy[cols] * 255), 255).astype(np.uint8)
        mx0, mx1, mcat, mocc = _merge_columns(cols, colcat[cols], occ)
        # A narrow interval alone in its column keeps its identity (ref).
        single = np.bincount(col, minlength=width)[cols] == 1
        mref = np.full(mx0.size, -1, np.int64)
        if single.any():
            ref_by_col = np.full(width, -1, np.int64)
            ref_by_col[col] = ref[~wide]
            run_single = (mx1 - mx0 == 1.0) & single[np.searchsorted(cols, mx0.astype(np.int64))]
            mref[run_single] = ref_by_col[mx0[run_single].astype(np.int64)]
        return (
            np.concatenate((mx0, x0[wide])),
            np.concatenate((mx1, x1[wide])),
            np.concatenate((mcat, cat[wide])),
            np.concatenate((mocc, np.full(int(wide.sum()), 255, np.uint8))),
            np.concatenate((mref, ref[wide])),
        )

    def _dense(
        self, lo: int, hi: int, t0: float, px: float, width: int
    ) -> tuple[F64, F64, npt.NDArray[np.uint8], npt.NDArray[np.uint8], I64]:
        s, e = self.start[lo:hi], self.end[lo:hi]
        edges = t0 + px * np.arange(width + 1, dtype=np.float64)
        # Busy time before each edge, from the prefix sums.
        j = np.searchsorted(s, edges, side="right") - 1
        jc = np.maximum(j, 0)
        part = np.clip(edges - s[jc], 0.0, e[jc] - s[jc])
        before = np.where(j >= 0, self.cum[lo + jc] - self.cum[lo] + part, 0.0)
        busy = np.diff(before) / px
        # Dominant category: the most frequent among a few samples per column.
        ts = t0 + px * (np.arange(width)[:, None] + np.asarray(_SAMPLES)[None, :])
        k = np.searchsorted(s, ts, side="right") - 1
        kc = np.maximum(k, 0)
        cats = self._cats(lo + kc).astype(np.int64)
        inside = (k >= 0) & (ts < e[kc])
        samp = np.where(inside, cats, -1)
        votes = (samp[:, :, None] == samp[:, None, :]).sum(axis=2)
        votes = np.where(samp >= 0, votes, -1)
        colcat = samp[np.arange(width), votes.argmax(axis=1)]
        # A busy column no sample landed in: the last interval starting in it.
        miss = (colcat < 0) & (busy > 0)
        if miss.any():
            m = np.searchsorted(s, edges[1:][miss], side="right") - 1
            colcat[miss] = self._cats(lo + np.maximum(m, 0)).astype(np.int64)
        cols = np.flatnonzero((colcat >= 0) & (busy > 0))
        occ = np.minimum(np.rint(busy[cols] * 255), 255).astype(np.uint8)
        mx0, mx1, mcat, mocc = _merge_columns(cols, colcat[cols], occ)
        return mx0, mx1, mcat, mocc, np.full(mx0.size, -1, np.int64)


def _merge_columns(
    cols: I64, cat: npt.NDArray[np.int64], occ: npt.NDArray[np.uint8]
) -> tuple[F64, F64, npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Merge consecutive columns of equal category and occupancy bucket."""
    if cols.size == 0:
        return np.empty(0), np.empty(0), np.empty(0, np.uint8), np.empty(0, np.uint8)
    bucket = occ.astype(np.int64) * _OCC_BUCKETS // 256
    # A gap between columns starts a new run too: fold the column minus its
    # rank into the key (constant along a run of adjacent columns).
    gap = cols - np.arange(cols.size)
    key = (gap * 256 + cat) * _OCC_BUCKETS + bucket
    a, b = _runs(key)
    # Occupancy of a run: its mean, so merging keeps the total busy time.
    csum = np.concatenate(([0], np.cumsum(occ.astype(np.int64))))
    mocc = ((csum[b] - csum[a]) // (b - a)).astype(np.uint8)
    return (
        cols[a].astype(np.float64),
        (cols[b - 1] + 1).astype(np.float64),
        cat[a].astype(np.uint8),
        mocc,
    )


def path_pieces(start: F64, end: F64, t0: float, t1: float, width: int) -> tuple[I64, F64, F64]:
    """The pieces of a path to draw over ``[t0, t1)`` at ``width`` pixels.

    ``start``/``end`` are the path's segments, sorted and not overlapping. A
    segment at least a pixel wide is drawn as itself; where narrower ones
    share a pixel column, the longest of them stands for them all, drawn over
    the whole column. Returns (segment index, drawn start, drawn end) in time
    order: at most about two pieces per column.
    """
    empty = np.empty(0, np.int64), np.empty(0), np.empty(0)
    if width <= 0 or t1 <= t0 or start.size == 0:
        return empty
    lo = int(np.searchsorted(end, t0, side="right"))
    hi = int(np.searchsorted(start, t1, side="left"))
    if hi <= lo:
        return empty
    idx = np.arange(lo, hi, dtype=np.int64)
    s = np.maximum(start[lo:hi], t0)
    e = np.minimum(end[lo:hi], t1)
    px = width / (t1 - t0)
    wide = (e - s) * px >= 1.0
    n = np.flatnonzero(~wide)
    col = np.floor((s[n] - t0) * px).astype(np.int64)
    # Longest first within each column, then the first of each column.
    order = np.lexsort((-(e[n] - s[n]), col))
    first = order[np.concatenate(([True], col[order][1:] != col[order][:-1]))] if n.size else n
    keep_n = n[first]
    ncol = col[first].astype(np.float64)
    ref = np.concatenate((idx[wide], idx[keep_n]))
    x0 = np.concatenate((s[wide], t0 + ncol / px))
    x1 = np.concatenate((e[wide], np.minimum(t0 + (ncol + 1) / px, t1)))
    by_time = np.argsort(ref, kind="stable")
    return ref[by_time], x0[by_time], x1[by_time]


class StepSeries:
    """A step function (value ``v[i]`` from ``t[i]`` until ``t[i+1]``) reduced to
    its maximum per pixel column; NaN before the first point.

    Pre-reduced levels (maxima of blocks of 16, 256, 4096 points) keep a query
    bounded by the width when many points fall in one column.
    """

    _LEVELS = (16, 256, 4096)

    def __init__(self, t: npt.ArrayLike, v: npt.ArrayLike, is_sorted: bool = False) -> None:
        t_a = np.asarray(t, dtype=np.float64)
        v_a = np.asarray(v)
        if not is_sorted and t_a.size and np.any(np.diff(t_a) < 0):
            order = np.argsort(t_a, kind="stable")
            t_a, v_a = t_a[order], v_a[order]
        self.levels: list[tuple[F64, F64, int]] = [(t_a, v_a, 1)]
        for b in self._LEVELS:
            if t_a.size < 4 * b:
                break
            idx = np.arange(0, t_a.size, b)
            self.levels.append((t_a[idx], np.maximum.reduceat(v_a, idx), b))
        finite = v_a[np.isfinite(v_a)]
        self.max = float(finite.max()) if finite.size else 0.0

    def __len__(self) -> int:
        return int(self.levels[0][0].size)

    def value_at(self, t: float) -> float:
        ts, vs, _ = self.levels[0]
        i = int(np.searchsorted(ts, t, side="right")) - 1
        return float(vs[i]) if i >= 0 else float("nan")

    def column_max(self, t0: float, t1: float, width: int) -> npt.NDArray[np.float32]:
        """Maximum of the function over each of ``width`` columns of ``[t0, t1)``."""
        if width <= 0 or t1 <= t0:
            return np.empty(0, np.float32)
        t, v, _ = self.levels[0]
        if t.size == 0:
            return np.full(width, np.nan, np.float32)
        n_in = int(np.searchsorted(t, t1)) - int(np.searchsorted(t, t0))
        per_col = n_in / width
        for lt, lv, b in reversed(self.levels):
            # Coarse maxima shift a spike by at most one block: fine when a
            # column holds several blocks.
            if b == 1 or per_col >= 4 * b:
                t, v = lt, lv
                break
        edges = t0 + (t1 - t0) / width * np.arange(width + 1, dtype=np.float64)
        idx = np.searchsorted(t, edges, side="right")
        left = np.where(idx[:-1] > 0, v[np.maximum(idx[:-1] - 1, 0)], np.nan)
        nonempty = idx[1:] > idx[:-1]
        out = left.copy()
        if nonempty.any():
            starts = np.minimum(idx[:-1], v.size - 1)
            inner = np.maximum.reduceat(v, starts)
            out = np.where(nonempty, np.fmax(left, inner), left)
        return out.astype(np.float32)


def step_from_deltas(t: npt.ArrayLike, delta: npt.ArrayLike, is_sorted: bool = False) -> StepSeries:
    """A counter from +/- changes at times ``t``, starting at 0."""
    d = np.asarray(delta)
    keep = np.flatnonzero(d)
    tt = np.asarray(t, dtype=np.float64)[keep]
    return StepSeries(tt, np.cumsum(d[keep], dtype=np.int32), is_sorted=is_sorted)


LabelFn = Callable[[I64], list[str]]
