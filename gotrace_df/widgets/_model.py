"""The timeline's data side: lanes, filters, LOD payloads and click details.

No widget code here: :class:`TimelineModel` turns a :class:`~gotrace_df.Trace`
and a viewport into a compact payload (a dict for JSON plus one bytes buffer)
that the browser draws, so it can be tested and benchmarked on its own.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df import _core
from gotrace_df._columns import codes, int_values, primitive_values
from gotrace_df._expand import SPAN_COLUMNS
from gotrace_df._lanes import span_lanes
from gotrace_df._trace import Trace
from gotrace_df.frames import NO_HEAP_GOAL
from gotrace_df.widgets._lod import (
    DIM,
    Blocks,
    IntervalLanes,
    StepSeries,
    path_pieces,
    step_from_deltas,
)

__all__ = [
    "TimelineModel",
    "Filter",
    "Path",
    "VIEWS",
    "STATE_COLORS",
    "came_from",
    "path_color",
]

VIEWS = ("proc", "goroutine", "thread")

# Goroutine states, in category order, and their colours.
STATES = ("Running", "Runnable", "Waiting", "Syscall", "Undetermined")
STATE_COLORS = {
    "Running": "#3e9c5c",
    "Runnable": "#8fc3e8",
    "Waiting": "#d9d4cc",
    "Syscall": "#c98a3c",
    "Undetermined": "#b8b8b8",
}
# Goroutine groups (start functions) in the proc and thread views.
PALETTE = (
    "#4e79a7",
    "#59a14f",
    "#e15759",
    "#f28e2b",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#6b9ac4",
    "#8cd17d",
    "#d37295",
    "#fabfd2",
    "#499894",
    "#86bcb6",
    "#f1ce63",
    "#a0cbe8",
    "#ffbe7d",
    "#d4a6c8",
    "#bab0ac",
)
GC_COLORS = {"GC": "#f0a35e", "STW": "#c0392b", "assist": "#e8c07d"}
SYSCALL_COLOR = STATE_COLORS["Syscall"]
#: The counter series counted from the events (the core's goroutine_counts, in
#: its order): one pass over every event, so the page gets them after its first
#: paint.
FROM_EVENTS = ("Running", "Runnable", "Syscall", "GC waiting")
# A highlighted path's categories (the critical path's): strong colours that
# stand out against every state's fill on the canvas's white background.
PATH_COLORS = {
    "running": "#6f42c1",
    "runnable": "#0969da",
    "syscall": "#bc4c00",
    "GC assist": "#cf222e",
    "blocked": "#24292f",
    "before trace": "#8c959f",
}
_PATH_OTHER = ("#1a7f37", "#9a6700", "#bf3989", "#0550ae", "#6e7781")
# A path's arrows by its edge (timeline.js): to the goroutine the previous one
# woke or created (""), to the one it began waiting for ("waited").
PATH_ARROWS = {"": "#d6336c", "waited": "#6e7781"}
# How a path passes to another goroutine (its ``edge``), said of the previous one.
_EDGE_TEXT = {
    "unblocked": "which unblocked it",
    "created": "which created it",
    "waited": "which began waiting here",
}
_MAX_GROUPS = 120  # categories are 7 bits; the last is "other"
_LABEL_PX = 56  # exact blocks at least this wide get a text label


def _strings(col: pa.ChunkedArray) -> tuple[list[str], npt.NDArray[np.int32]]:
    """A dictionary column as (distinct values, code per row); null is ''."""
    values: list[str] = []
    index: dict[str, int] = {}
    parts = []
    for chunk in col.chunks:
        if not pa.types.is_dictionary(chunk.type):
            chunk = pc.dictionary_encode(chunk)
        lut = []
        for v in chunk.dictionary.to_pylist():
            v = v or ""
            if v not in index:
                index[v] = len(values)
                values.append(v)
            lut.append(index[v])
        if "" not in index:
            index[""] = len(values)
            values.append("")
        lut.append(index[""])
        idx = pc.fill_null(chunk.indices, len(lut) - 1).to_numpy(zero_copy_only=False)
        parts.append(np.asarray(lut, np.int32)[np.asarray(idx, dtype=np.int64)])
    codes = np.concatenate(parts) if parts else np.empty(0, np.int32)
    return values, codes


@dataclass
class Filter:
    """What the timeline highlights: a set of goroutines and/or a set of spans.

    ``goids`` None means every goroutine; ``span_mask`` (bool per spans row)
    None means every span of those goroutines. ``window`` is a time range to
    mark (ns relative to the trace start).
    """

    label: str = ""
    goids: npt.NDArray[np.int64] | None = None
    span_mask: npt.NDArray[np.bool_] | None = None
    window: tuple[float, float] | None = None

    @property
    def active(self) -> bool:
        return self.goids is not None or self.span_mask is not None


def path_color(category: str) -> str:
    """The colour of a path category, on the timeline and in the figures."""
    return (
        PATH_COLORS.get(category) or _PATH_OTHER[zlib.crc32(category.encode()) % len(_PATH_OTHER)]
    )


def came_from(prev: int | None, goid: int, edge: str) -> str:
    """How a path reached a segment on ``goid`` from the previous segment's
    goroutine ``prev`` ("" at the start or on the same goroutine)."""
    if prev is None or prev == goid:
        return ""
    how = _EDGE_TEXT.get(edge, edge)
    return f"G{prev}, {how}" if how else f"G{prev}"


@dataclass
class Path:
    """A path highlighted on the timeline: segments one after another in time,
    each on one goroutine (what :func:`gotrace_df.critical_path` returns).

    ``frame`` is the segments' table sorted by start; ``start``/``end`` its
    times relative to the trace start; ``cat`` each segment's index into
    ``categories``. Where two consecutive segments are on different goroutines
    the path passed from the earlier one's goroutine to the later one's
    (``edge`` of the later one says how: "unblocked", "created").
    """

    label: str
    frame: pd.DataFrame
    goid: npt.NDArray[np.int64]
    start: npt.NDArray[np.float64]
    end: npt.NDArray[np.float64]
    cat: npt.NDArray[np.int64]
    categories: list[str]
    edge: list[str]
    text: list[str]

    @classmethod
    def from_frame(cls, segments: pd.DataFrame, origin: int, label: str) -> Path:
        """Read ``segments``: columns ``goid``, ``category``, ``start_ns`` and
        ``end_ns`` (absolute ns); ``reason``, ``leaf``, ``stack`` and ``edge``
        if present."""
        missing = {"goid", "category", "start_ns", "end_ns"} - set(segments.columns)
        if missing:
            raise ValueError(f"path segments need columns {', '.join(sorted(missing))}")
        df = segments.sort_values("start_ns", kind="stable").reset_index(drop=True)
        if df[["goid", "start_ns", "end_ns"]].isna().any().any():
            raise ValueError("path segments need a goroutine, a start and an end")
        cats = pd.Categorical(df["category"].astype("string").fillna("?"))
        n = len(df)

        def texts(col: str) -> list[str]:
            if col not in df.columns:
                return [""] * n
            return ["" if pd.isna(v) else str(v) for v in df[col]]

        reason, leaf, stack = texts("reason"), texts("leaf"), texts("stack")
        text = []
        for c, r, lf, st in zip(cats.astype(str), reason, leaf, stack):
            t = f"{c}: {r}" if r else c
            t += f" {lf}" if lf else ""
            text.append(f"{t} · {st}" if st else t)
        start = df["start_ns"].to_numpy(np.int64)
        end = df["end_ns"].to_numpy(np.int64)
        return cls(
            label=label,
            frame=df,
            goid=df["goid"].to_numpy(np.int64),
            start=(start - origin).astype(np.float64),
            end=(end - origin).astype(np.float64),
            cat=np.asarray(cats.codes, np.int64),
            categories=[str(c) for c in cats.categories],
            edge=texts("edge"),
            text=text,
        )


@dataclass
class _LaneSet:
    lanes: IntervalLanes
    names: list[str]
    keys: npt.NDArray[np.int64]  # proc, goid or thread of each lane
    categories: list[tuple[str, str]]  # (label, colour)
    source: str  # table the refs point into
    first: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    last: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))


class TimelineModel:
    """Lanes and LOD payloads of one trace.

    Parameters
    ----------
    trace
        The parsed trace.
    progress
        Optional ``progress(message)`` called before slow preparation steps
        (building a view's lane index).

    Examples
    --------
    >>> import gotrace_df as gt
    >>> from gotrace_df.widgets._model import TimelineModel
    >>> m = TimelineModel(gt.read_trace(gt.example_trace()))
    >>> meta, buf = m.payload("proc", 0, m.duration, 800)
    >>> meta["n"] <= 800 * len(meta["lanes"]) * 2
    True
    """

    def __init__(self, trace: Trace, progress: Callable[[str], None] | None = None) -> None:
        self.trace = trace
        self.origin = int(trace.start_ns)
        self.duration = float(max(trace.duration_ns, 1))
        self._progress = progress or (lambda _msg: None)
        self.filter = Filter()
        self.marks: list[dict[str, Any]] = []
        #: The path drawn over the goroutine view (None: none).
        self.path: Path | None = None
        self._views: dict[str, _LaneSet] = {}
        # The spans table is not needed to draw (the lane index reads the
        # events through the spans' references): columns are read as used.
        self._sp_goid_all: npt.NDArray[np.int64] | None = None
        self._groups()
        self._counters: dict[str, StepSeries] | None = None
        self._full_counters = False
        self._counting: Future[list[pa.Table]] | None = None
        # The widget sets this so that the first payload does not wait for the
        # goroutine counters (one pass over every event); they follow.
        self.defer_counters = False
        self._gc: _LaneSet | None = None

    # -- preparation --------------------------------------------------------

    @property
    def span_goids(self) -> npt.NDArray[np.int64]:
        """goid of every spans row (built on first use: filters need it)."""
        if self._sp_goid_all is None:
            self._sp_goid_all = int_values(self.trace.columns("spans", ["goid"])["goid"])
        return self._sp_goid_all

    def _span_lanes(
        self,
        states: Sequence[str],
        lane: str | None,
        state_cats: Sequence[int],
        held: str | None = None,
    ) -> tuple[npt.NDArray[np.int64], IntervalLanes]:
        """The lanes of :func:`gotrace_df._lanes.span_lanes`, -1 categories
        drawn in the goroutine's group: (lane keys, intervals)."""
        keys, first, iv = span_lanes(
            self.trace,
            states,
            lane,
            state_cats,
            self.origin,
            held=held,
            goids=self._g_rows,
            groups=self._g_cat,
            other=len(self.group_categories) - 1,
        )
        intervals = IntervalLanes.from_sorted(first, iv["start"], iv["end"], iv["cat"], iv["row"])
        return keys, intervals

    def _span_goid(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """goid of some spans rows (those of the blocks in view)."""
        if rows.size == 0:
            return np.empty(0, np.int64)
        if self._sp_goid_all is not None:
            return self.span_goids[rows]
        return int_values(self.trace.columns("spans", ["goid"], rows)["goid"])

    def _rel(self, ns: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Absolute ns to float ns relative to the trace start."""
        out: npt.NDArray[np.float64] = (ns - self.origin).astype(np.float64)
        return out

    def _groups(self) -> None:
        """Goroutine group (start function) of each goroutine, as a category."""
        g = self.trace.goroutines
        goid = int_values(g["goid"])
        names, codes = _strings(g["name"])
        labels, lcodes = _strings(g["label"])
        self.group_names = names
        # Rank groups by how many goroutines they have; the top ones get
        # their own category and colour.
        counts = np.bincount(codes, minlength=len(names))
        top = [int(i) for i in np.argsort(-counts, kind="stable")[:_MAX_GROUPS] if counts[i] > 0]
        cat_of_code = np.full(len(names) + 1, len(top), np.int64)
        cat_of_code[top] = np.arange(len(top))
        self.group_categories = [
            (names[i] or "(unknown)", PALETTE[zlib.crc32(names[i].encode()) % len(PALETTE)])
            for i in top
        ] + [("other", "#999999")]
        self._goid_max = int(goid.max()) if goid.size else 0
        self._g_rows = goid
        # goid -> goroutines row (the last row for a reused goid).
        if self._goid_max < 1 << 26:
            lut = np.full(self._goid_max + 2, -1, np.int64)
            lut[goid] = np.arange(goid.size)
            self._g_lut: npt.NDArray[np.int64] | None = lut
        else:
            self._g_lut = None
            self._g_sorted = np.argsort(goid, kind="stable")
        self._g_cat = cat_of_code[codes] if codes.size else np.empty(0, np.int64)
        self._g_name_codes = codes
        self._g_labels = labels
        self._g_label = lcodes if labels != [""] else None

    def goroutine_row(self, goids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Row of the goroutines table of each goid (-1: unknown)."""
        goids = np.asarray(goids, np.int64)
        if self._g_lut is not None:
            ok = (goids >= 0) & (goids <= self._goid_max)
            return np.where(ok, self._g_lut[np.clip(goids, 0, self._goid_max + 1)], -1)
        pos = np.searchsorted(self._g_rows[self._g_sorted], goids)
        pos = np.minimum(pos, self._g_sorted.size - 1)
        rows = self._g_sorted[pos]
        return np.where(self._g_rows[rows] == goids, rows, -1)

    def goroutine_name(self, goid: int) -> str:
        row = int(self.goroutine_row(np.array([goid]))[0])
        if row < 0:
            return ""
        name = self.group_names[int(self._g_name_codes[row])]
        if self._g_label is not None and self._g_labels[int(self._g_label[row])]:
            name = f"{name} {self._g_labels[int(self._g_label[row])]}".strip()
        return name

    def view(self, name: str) -> _LaneSet:
        """The lane set of view ``name`` (built on first use)."""
        if name not in VIEWS:
            raise ValueError(f"unknown view {name!r}; views are {', '.join(VIEWS)}")
        if name not in self._views:
            self._progress(f"Indexing the {name} view…")
            try:
                self._views[name] = getattr(self, f"_build_{name}")()
            finally:
                self._progress("")
            self._apply_filter(name)
        return self._views[name]

    def _build_proc(self) -> _LaneSet:
        # As in cmd/trace, a goroutine holds its P through a syscall until
        # the P is stolen: that part is drawn in the syscall colour.
        syscall = len(self.group_categories)
        procs, lanes = self._span_lanes(("Running", "Syscall"), "p", (-1, syscall), held="Syscall")
        names = [f"Proc {int(k)}" for k in procs]
        cats = [*self.group_categories, ("syscall", SYSCALL_COLOR)]
        return _LaneSet(lanes, names, procs, cats, "spans")

    def _build_thread(self) -> _LaneSet:
        syscall = len(self.group_categories)
        threads, lanes = self._span_lanes(("Running", "Syscall"), "m", (-1, syscall))
        cats = [*self.group_categories, ("syscall", SYSCALL_COLOR)]
        return _LaneSet(lanes, [f"Thread {int(k)}" for k in threads], threads, cats, "spans")

    def _build_goroutine(self) -> _LaneSet:
        goids, lanes = self._span_lanes(STATES, None, range(len(STATES)))
        # Lifetime of each lane: from its first span to the end of its last.
        has = lanes.ptr[1:] > lanes.ptr[:-1]
        first = np.where(has, lanes.start[np.minimum(lanes.ptr[:-1], len(lanes) - 1)], np.inf)
        last = np.where(has, lanes.end[np.maximum(lanes.ptr[1:] - 1, 0)], -np.inf)
        cats = [(s, STATE_COLORS[s]) for s in STATES]
        return _LaneSet(lanes, [], goids, cats, "spans", first, last)

    def _build_gc(self) -> _LaneSet:
        gc = self.trace.gc
        kinds, codes = _strings(gc["kind"])
        kind = np.array(kinds, dtype=object)[codes] if codes.size else np.empty(0, object)
        is_mark = kind == "GC concurrent mark phase"
        is_stw = np.array([k.startswith("stop-the-world") for k in kind], bool)
        start = int_values(gc["start"]).astype(np.float64) - self.origin
        end_raw = int_values(gc["end"], fill=self.origin + int(self.duration))
        end = end_raw.astype(np.float64) - self.origin
        rows = np.flatnonzero(is_mark | is_stw)
        lane = np.where(is_stw[rows], 1, 0)
        cat = np.where(is_stw[rows], 1, 0)
        lanes = IntervalLanes(lane, start[rows], end[rows], cat, rows, 2)
        return _LaneSet(
            lanes,
            ["GC", "STW"],
            np.array([0, 1]),
            [("GC mark phase", GC_COLORS["GC"]), ("stop-the-world", GC_COLORS["STW"])],
            "gc",
        )

    def gc_lanes(self) -> _LaneSet:
        if self._gc is None:
            self._gc = self._build_gc()
        return self._gc

    def count_goroutines(self, background: bool = False) -> None:
        """Start the one pass over every event the goroutine counters take
        (:meth:`counters` uses its result), in a thread of its own with
        ``background``: the core's pass does not hold the GIL, so the
        kernel draws and talks meanwhile."""
        if self._counting is not None:
            return
        ev = self.trace.columns(
            "events", ["ts", "kind", "resource", "resource_id", "from_state", "to_state", "name"]
        )

        def count() -> list[pa.Table]:
            streams = _core.goroutine_counts(ev, self.origin)
            return [pa.RecordBatchReader.from_stream(s).read_all() for s in streams]

        self._counting = Future()
        if background:
            threading.Thread(target=_settle, args=(self._counting, count), daemon=True).start()
        else:
            _settle(self._counting, count)

    def counted(self) -> bool:
        """Whether the goroutine counters' pass (:meth:`count_goroutines`)
        has finished, and not failed."""
        counting = self._counting
        return counting is not None and counting.done() and counting.exception() is None

    def counters(self, full: bool = True) -> dict[str, StepSeries]:
        """Counter series: heap in use and goal, procs running (cheap: from the
        metrics and procs tables) and, with ``full``, goroutines running,
        runnable and in syscall (one pass over the events' transitions)."""
        if self._counters is None:
            out: dict[str, StepSeries] = {}
            procs = self.trace.procs
            pst = codes(procs["state"], ("Running",)) == 0
            if pst.any():
                ps = self._rel(int_values(procs["start"])[pst])
                end = int_values(procs["end"])[pst]
                # A period still running at the end has not stopped (cmd/trace
                # draws no drop there).
                pe = self._rel(end[end < self.trace.end_ns])
                t = np.concatenate((ps, pe))
                d = np.concatenate((np.ones(ps.size, np.int8), -np.ones(pe.size, np.int8)))
                order = np.argsort(t, kind="stable")
                out["Procs running"] = step_from_deltas(t[order], d[order], is_sorted=True)
            met = self.trace.metrics
            names = ("/memory/classes/heap/objects:bytes", "/gc/heap/goal:bytes")
            mname = codes(met["name"], names)
            mts = self._rel(int_values(met["ts"]))
            mval = int_values(met["value"]).astype(np.float64)
            mval[(mname == 1) & (mval > NO_HEAP_GOAL)] = np.nan  # no goal: none drawn
            for code, label in ((0, "Heap in use"), (1, "Heap goal")):
                sel = mname == code
                if sel.any():
                    out[label] = StepSeries(mts[sel], mval[sel])
            self._counters = out
        if full and not self._full_counters:
            if self._counting is None:
                self.count_goroutines()
            assert self._counting is not None
            series = self._counting.result()
            if any(s.num_rows for s in series):
                for state, s in zip(FROM_EVENTS, series):
                    if state == "GC waiting" and not s.num_rows:
                        continue  # no goroutine blocked in a mark assist: no series
                    t, n = (primitive_values(s[c].combine_chunks(), 0) for c in ("t", "n"))
                    self._counters[state] = StepSeries(t, n, is_sorted=True)
            self._full_counters = True
        return self._counters

    # -- filters --------------------------------------------------------------

    def set_filter(self, flt: Filter | None) -> None:
        """Highlight ``flt`` (None clears it) in every view built so far."""
        self.filter = flt or Filter()
        for name in self._views:
            self._apply_filter(name)

    def _span_highlight(self) -> npt.NDArray[np.bool_] | None:
        f = self.filter
        if not f.active:
            return None
        mask = np.ones(self.span_goids.size, bool) if f.span_mask is None else f.span_mask
        if f.goids is not None:
            mask = mask & np.isin(self.span_goids, f.goids)
        return mask

    def _apply_filter(self, name: str) -> None:
        self._views[name].lanes.set_highlight(self._span_highlight())

    def path_filter(self, path: Path) -> Filter:
        """The highlight of a path: its goroutines' spans that overlap one of
        their segments (the rest fades)."""
        goids = np.unique(path.goid)
        rows = np.flatnonzero(np.isin(self.span_goids, goids))
        mask = np.zeros(self.span_goids.size, bool)
        if rows.size:
            sp = self.trace.columns("spans", ["start", "end"], rows)
            s, e = self._rel(int_values(sp["start"])), self._rel(int_values(sp["end"]))
            # Spans and segments grouped by goroutine (stable: still by time).
            g = self.span_goids[rows]
            by_g = np.argsort(g, kind="stable")
            seg = np.argsort(path.goid, kind="stable")
            span_at = np.searchsorted(g[by_g], goids)
            seg_at = np.searchsorted(path.goid[seg], goids)
            for k in range(goids.size):
                r = by_g[span_at[k] : span_at[k + 1] if k + 1 < goids.size else None]
                mine = seg[seg_at[k] : seg_at[k + 1] if k + 1 < goids.size else None]
                ps, pe = path.start[mine], path.end[mine]
                # The first of the goroutine's segments ending after the span
                # starts must start before the span ends.
                j = np.searchsorted(pe, s[r], side="right")
                mask[rows[r]] = (j < ps.size) & (ps[np.minimum(j, ps.size - 1)] < e[r])
        # The mask alone picks the lanes too (no goids: no second pass over
        # every span's goroutine).
        return Filter(label=path.label, span_mask=mask)

    def filter_goroutines(self, goids: Iterable[int], label: str = "") -> Filter:
        arr = np.unique(np.fromiter((int(g) for g in goids), np.int64))
        return Filter(label=label or f"{arr.size} goroutines", goids=arr)

    # -- lanes and payloads ---------------------------------------------------

    def lane_list(self, view: str, t0: float, t1: float) -> npt.NDArray[np.int64]:
        """Lanes shown in ``view`` over ``[t0, t1)``: every proc or thread;
        the goroutines alive in the window (and matching the filter)."""
        ls = self.view(view)
        if view != "goroutine":
            return np.arange(ls.lanes.nlanes, dtype=np.int64)
        alive = (ls.first < t1) & (ls.last > t0)
        if self.filter.goids is not None:
            alive &= np.isin(ls.keys, self.filter.goids)
        if self.filter.span_mask is not None:
            hit = np.unique(self.span_goids[self.filter.span_mask])
            alive &= np.isin(ls.keys, hit)
        return np.flatnonzero(alive).astype(np.int64)

    def lane_name(self, view: str, lane: int) -> str:
        ls = self.view(view)
        if view == "goroutine":
            goid = int(ls.keys[lane])
            return f"G{goid} {self.goroutine_name(goid)}".strip()
        return ls.names[lane]

    def payload(
        self,
        view: str,
        t0: float,
        t1: float,
        width: int,
        lane_offset: int = 0,
        lane_rows: int = 40,
    ) -> tuple[dict[str, Any], bytes]:
        """The LOD payload for a viewport: ``(meta, buffer)``.

        ``meta`` is JSON-able: lanes (name, key, block count), categories,
        counters, labels and the layout of ``buffer``, which holds the blocks
        (x0, x1 as uint16 in 1/8 px; id int32; cat, occ uint8) and the
        counters' per-column maxima (float32).
        """
        t_start = time.perf_counter()
        width = int(max(1, min(width, 8000)))
        t0 = float(max(0.0, min(t0, self.duration)))
        t1 = float(max(t0 + 1.0, min(t1, self.duration)))
        if t1 - t0 < 1.0:
            t0 = max(0.0, t1 - 1.0)
        ls = self.view(view)
        all_lanes = self.lane_list(view, t0, t1)
        total = int(all_lanes.size)
        lane_offset = int(max(0, min(lane_offset, max(total - 1, 0))))
        lanes = all_lanes[lane_offset : lane_offset + max(0, lane_rows)]
        gc = self.gc_lanes()
        gc_blocks = gc.lanes.query(np.arange(2), t0, t1, width)
        blocks = ls.lanes.query(lanes, t0, t1, width)
        ncat = len(ls.categories)
        parts = [
            self._encode_blocks(gc_blocks, ncat, gc_offset=True),
            self._encode_blocks(blocks, 0),
        ]
        n = len(gc_blocks) + len(blocks)
        x0 = np.concatenate([p[0] for p in parts])
        x1 = np.concatenate([p[1] for p in parts])
        cat = np.concatenate([p[2] for p in parts])
        occ = np.concatenate([p[3] for p in parts])
        ids = np.concatenate(
            [np.full(len(gc_blocks), -1, np.int32), self._ids(view, ls, blocks.ref)]
        )
        counters_meta, counter_arrays = self._counter_payload(t0, t1, width)
        buf = bytearray()
        buf += x0.tobytes() + x1.tobytes() + ids.tobytes() + cat.tobytes() + occ.tobytes()
        buf += b"\0" * (-len(buf) % 4)
        off = len(buf)
        for meta_c in counters_meta:
            for s in meta_c["series"]:
                s["offset"] = off
                arr = counter_arrays[s["key"]]
                buf += arr.tobytes()
                off += arr.nbytes
        lanes_meta = [
            {"name": "GC", "key": -1, "n": gc_blocks.counts[0], "kind": "gc"},
            {"name": "STW", "key": -1, "n": gc_blocks.counts[1], "kind": "gc"},
        ] + [
            {
                "name": self.lane_name(view, int(lane)),
                "key": int(ls.keys[int(lane)]),
                "lane": int(lane),
                "n": c,
                "kind": view,
            }
            for lane, c in zip(lanes, blocks.counts)
        ]
        categories = [*ls.categories, *gc.categories]
        meta: dict[str, Any] = {
            "view": view,
            "t0": t0,
            "t1": t1,
            "width": width,
            "n": n,
            "lanes": lanes_meta,
            "lane_total": total,
            "lane_offset": lane_offset,
            "categories": [{"label": c[0], "color": c[1]} for c in categories],
            "counters": counters_meta,
            "labels": self._labels(view, ls, blocks, len(gc_blocks)),
            "marks": self._marks(),
            "path": self._path_payload(view, t0, t1, width, ls.keys[all_lanes]),
            "filter": self.filter.label,
            "compute_ms": 0.0,
        }
        meta["compute_ms"] = round((time.perf_counter() - t_start) * 1e3, 2)
        return meta, bytes(buf)

    @staticmethod
    def payload_size(meta: dict[str, Any], buf: bytes) -> int:
        """Bytes sent to the browser for one payload (JSON + buffer)."""
        return len(json.dumps(meta, separators=(",", ":"))) + len(buf)

    def _encode_blocks(
        self, b: Blocks, cat_offset: int, gc_offset: bool = False
    ) -> tuple[
        npt.NDArray[np.uint16], npt.NDArray[np.uint16], npt.NDArray[np.uint8], npt.NDArray[np.uint8]
    ]:
        x0 = np.clip(np.rint(b.x0 * 8), 0, 65535).astype(np.uint16)
        x1 = np.clip(np.rint(b.x1 * 8), 0, 65535).astype(np.uint16)
        cat = b.cat.astype(np.int64)
        if gc_offset:
            cat = (cat & 0x7F) + cat_offset | (cat & DIM)
        return x0, x1, cat.astype(np.uint8), b.occ

    def _ids(self, view: str, ls: _LaneSet, refs: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        """Goroutine of each exact block (proc/thread views), else -1."""
        if view == "goroutine" or refs.size == 0:
            return np.full(refs.size, -1, np.int32)
        ok = refs >= 0
        out = np.full(refs.size, -1, np.int64)
        out[ok] = self._span_goid(refs[ok])
        return np.clip(out, -1, 2**31 - 1).astype(np.int32)

    def _labels(self, view: str, ls: _LaneSet, b: Blocks, base: int) -> list[tuple[int, str]]:
        if len(b) == 0:
            return []
        wide = np.flatnonzero((b.x1 - b.x0 >= _LABEL_PX) & (b.ref >= 0))
        if wide.size == 0:
            return []
        refs = b.ref[wide]
        out: list[tuple[int, str]] = []
        if view == "goroutine":
            reasons = self.trace.columns("spans", ["reason"], refs)["reason"].to_pylist()
            for i, r, c in zip(wide, reasons, b.cat[wide]):
                state = ls.categories[int(c) & 0x7F][0]
                out.append((base + int(i), f"{state}: {r}" if r else state))
        else:
            goids = self._span_goid(refs)
            for i, g in zip(wide, goids):
                out.append((base + int(i), f"G{int(g)} {self.goroutine_name(int(g))}"))
        return out

    def _counter_payload(
        self, t0: float, t1: float, width: int
    ) -> tuple[list[dict[str, Any]], dict[str, npt.NDArray[np.float32]]]:
        cs = self.counters(full=not self.defer_counters)
        # Series counted from the events come later (deferred): their groups
        # say they are loading rather than show a maximum of 0.
        pending = not self._full_counters
        arrays: dict[str, npt.NDArray[np.float32]] = {}
        groups = (
            (
                "Goroutines",
                "count",
                (
                    ("Running", STATE_COLORS["Running"]),
                    ("Runnable", STATE_COLORS["Runnable"]),
                    ("GC waiting", GC_COLORS["assist"]),
                ),
            ),
            (
                "Heap",
                "bytes",
                (("Heap in use", "#7b6fb0"), ("Heap goal", "#c2bbe0")),
            ),
            (
                "Threads",
                "count",
                (("Procs running", "#5a8fc2"), ("Syscall", SYSCALL_COLOR)),
            ),
        )
        meta: list[dict[str, Any]] = []
        for title, unit, series in groups:
            sm = []
            ymax = 0.0
            for key, color in series:
                if key not in cs:
                    continue
                arr = cs[key].column_max(t0, t1, width)
                arrays[key] = arr
                finite = arr[np.isfinite(arr)]
                if finite.size:
                    ymax = max(ymax, float(finite.max()))
                label = {"Syscall": "In syscall"}.get(key, key)
                sm.append({"key": key, "label": label, "color": color})
            loading = pending and any(key in FROM_EVENTS for key, _ in series)
            if sm or title == "Goroutines":
                meta.append(
                    {"title": title, "unit": unit, "series": sm, "max": ymax, "loading": loading}
                )
        return meta, arrays

    def _path_payload(
        self, view: str, t0: float, t1: float, width: int, lane_keys: npt.NDArray[np.int64]
    ) -> dict[str, Any] | None:
        """The path's label and categories and, in the goroutine view (the
        only one it is drawn in), its pieces in view: ``segments`` as [start,
        end, goid, category, segment, text], ``edges`` as [time, from goid, to
        goid, how], and ``rank``, the position of each of its goroutines among
        the view's lanes (to point at lanes scrolled away)."""
        p = self.path
        if p is None:
            return None
        out: dict[str, Any] = {
            "label": p.label,
            "categories": [{"label": c, "color": path_color(c)} for c in p.categories],
            "arrows": PATH_ARROWS,
            "segments": [],
            "edges": [],
            "rank": {},
        }
        if view != "goroutine":
            return out
        ref, a, b = path_pieces(p.start, p.end, t0, t1, width)
        px = width / (t1 - t0)
        goid = p.goid[ref]
        out["segments"] = [
            [
                float(a[k]),
                float(b[k]),
                int(goid[k]),
                int(p.cat[r]),
                int(r),
                p.text[r] if (b[k] - a[k]) * px >= 1.0 else "",
            ]
            for k, r in enumerate(ref)
        ]
        for k in np.flatnonzero(goid[1:] != goid[:-1]) + 1:
            adjacent = ref[k] == ref[k - 1] + 1
            t = float(p.start[ref[k]]) if adjacent else float(a[k])
            how = p.edge[ref[k]] if adjacent else ""
            out["edges"].append([t, int(goid[k - 1]), int(goid[k]), how])
        pos = np.flatnonzero(np.isin(lane_keys, p.goid))
        out["rank"] = {str(int(lane_keys[i])): int(i) for i in pos}
        return out

    def _marks(self) -> list[dict[str, Any]]:
        out = list(self.marks)
        if self.filter.window is not None:
            a, b = self.filter.window
            out.append({"t0": a, "t1": b, "label": self.filter.label, "color": "#f5c542"})
        return out

    # -- clicks ---------------------------------------------------------------

    def details(self, view: str, lane: int, t: float, slack: float = 0.0) -> dict[str, Any] | None:
        """What is at time ``t`` on a lane: the span (goroutine, state, reason,
        times, stack), or the GC range. ``lane`` is the view's lane index, or
        -1 / -2 for the GC / STW lanes. None if nothing is within ``slack`` ns."""
        if lane < 0:
            gc = self.gc_lanes()
            pos = gc.lanes.find(-lane - 1, t, slack)
            if pos < 0:
                return None
            row = self.trace.gc.slice(int(gc.lanes.ref[pos]), 1).to_pylist()[0]
            return self._gc_details(row)
        ls = self.view(view)
        pos = ls.lanes.find(lane, t, slack)
        if pos < 0:
            return None
        out = self.span_details(int(ls.lanes.ref[pos]))
        # A syscall on a proc lane ends where its P was stolen, if sooner.
        drawn_end = int(ls.lanes.end[pos])
        if drawn_end < out["end"]:
            out["p_held_until"] = drawn_end
        return out

    def span_details(self, row: int) -> dict[str, Any]:
        """Everything about one spans row, for the details panel."""
        r = self.trace.columns("spans", SPAN_COLUMNS, [row]).to_pylist()[0]
        goid = int(r["goid"])
        start, end = int(r["start"]), int(r["end"])
        out: dict[str, Any] = {
            "kind": "span",
            "row": row,
            "goid": goid,
            "goroutine": self.goroutine_name(goid),
            "state": r["state"],
            "reason": r["reason"] or "",
            "start": start - self.origin,
            "end": end - self.origin,
            "duration": end - start,
            "p": r["p"],
            "m": r["m"],
            "stack": self.trace.stack(r["stack_id"]) if r["stack_id"] is not None else [],
            "end_stack": (
                self.trace.stack(r["end_stack_id"]) if r["end_stack_id"] is not None else []
            ),
            "regions": self._regions_at(goid, start, end),
        }
        return out

    def _regions_at(self, goid: int, start: int, end: int) -> list[dict[str, Any]]:
        reg = self.trace.regions
        if reg.num_rows == 0:
            return []
        rg = reg.filter(pc.equal(reg["goid"], goid))
        if rg.num_rows == 0:
            return []
        rs = int_values(rg["start"], fill=self.origin)
        re_ = int_values(rg["end"], fill=self.origin + int(self.duration))
        hit = np.flatnonzero((rs < end) & (re_ > start))
        rows = rg.take(pa.array(hit)).select(["name", "task_id", "depth", "start", "end"])
        out: list[dict[str, Any]] = rows.to_pylist()
        return out

    def _gc_details(self, row: dict[str, Any]) -> dict[str, Any]:
        start = int(row["start"])
        end = int(row["end"]) if row["end"] is not None else self.origin + int(self.duration)
        return {
            "kind": "gc",
            "name": row["kind"],
            "start": start - self.origin,
            "end": end - self.origin,
            "duration": end - start,
            "goid": row["goid"],
            "stack": [],
        }


def _settle(future: Future[Any], work: Callable[[], Any]) -> None:
    """Run ``work`` and put its result, or what it raised, into ``future``."""
    try:
        future.set_result(work())
    except BaseException as e:
        future.set_exception(e)
