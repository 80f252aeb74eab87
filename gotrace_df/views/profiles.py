"""The four blocking profiles of ``go tool trace`` (/io, /block, /syscall,
/sched, their /region* variants, and ``go tool trace -pprof=TYPE``).

A profile is the time goroutines spend in one state, by the stack of the event
that put them there (cmd/trace's ``pprof.go``):

========  ==========  ===========================================================
kind      state       tracked when entered for a reason ...
========  ==========  ===========================================================
net       Waiting     exactly ``network``
sync      Waiting     containing ``chan``, ``sync`` or ``select``
syscall   Syscall     any
sched     Runnable    any (the stack is the one that made it runnable: the
                      unblocking goroutine's, the creator's, its own at GoStop)
========  ==========  ===========================================================

A goroutine is tracked from the first transition into the state (with a
matching reason) until the first transition out of it; the interval counts only
where it overlaps the goroutine's allowed time, and the record goes to the
stack of the event that started it. Reproduced quirks:

* the allowed time of a goroutine is [first run, exit or trace end] (its last
  lifetime if the ID was reused), so the runnable wait before a goroutine first
  runs is left out of ``sched``;
* a goroutine found in the state by a status event starts with an empty reason:
  it counts for ``syscall`` and ``sched`` but never for ``net`` or ``sync``;
* an interval still open at the end of the trace is not counted;
* stacks are grouped by their first 128 PCs, and a row keeps the frames of the
  most recently recorded stack of its group, cut at 128;
* Go 1.22-1.25 (``go_version``) skip every transition whose event has no stack
  (e.g. GoStart), so a wait lasts until the next transition that has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df import _core
from gotrace_df._expand import gather
from gotrace_df.io import Progress, progress_callback, warn_damaged
from gotrace_df.views._cache import once
from gotrace_df.views._common import (
    GoSemantics,
    check_window,
    factorize_ints,
    group_stats,
    horizontal_bars,
    index_data,
    int64_data,
    semantics,
)
from gotrace_df.views._summary import region_times, stack_frames, summarize

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from typing_extensions import Buffer

    from gotrace_df._trace import Trace

__all__ = [
    "PROFILE_KINDS",
    "PROFILE_STATES",
    "blocking_profile",
    "plot_blocking_profile",
    "streamed_profile",
]

#: Profile kinds, as ``go tool trace -pprof=`` names them, with their pages.
PROFILE_KINDS: dict[str, str] = {
    "net": "Network blocking profile (/io)",
    "sync": "Synchronization blocking profile (/block)",
    "syscall": "Syscall profile (/syscall)",
    "sched": "Scheduler latency profile (/sched)",
}

#: The goroutine state each kind's time is spent in (the table above).
PROFILE_STATES: dict[str, str] = {
    "net": "Waiting",
    "sync": "Waiting",
    "syscall": "Syscall",
    "sched": "Runnable",
}

#: cmd/trace's pprofMaxStack: stacks are told apart by this many PCs.
MAX_STACK = 128

#: The columns of a profile, in order.
COLUMNS = [
    "stack_id",
    "count",
    "delay_ns",
    "delay_p50_ns",
    "delay_p90_ns",
    "delay_p99_ns",
    "delay_max_ns",
    "function",
    "file",
    "line",
    "frames",
]


def blocking_profile(
    trace: Trace,
    kind: str,
    *,
    name: str | None = None,
    region: str | bool | None = None,
    region_pc: int | None = None,
    region_min_ns: int | None = None,
    region_max_ns: int | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """A blocking profile: time spent blocked, by stack, as cmd/trace computes it.

    Parameters
    ----------
    trace
        A parsed trace.
    kind
        ``"net"``, ``"sync"``, ``"syscall"`` or ``"sched"`` (see the module
        docstring, and ``go tool trace -pprof=kind``).
    name
        Only goroutines of this group (start function, as in
        :func:`gotrace_df.goroutine_analysis`), like ``/io?name=``. ``""`` is
        the group of goroutines without a name (cmd/trace reads an empty
        ``name=`` as "all"); an unknown name gives an empty profile (cmd/trace
        answers with an error).
    region, region_pc, region_min_ns, region_max_ns
        Only time inside user regions, like ``/regionio?type=&pc=&latmin=&latmax=``:
        of this type (``True``: any type), whose RegionBegin location has this
        PC (the frame cmd/trace's /userregions page groups by), lasting at least
        / at most this many ns. Giving any of them selects regions; nested
        matching regions count once (the outermost). With ``name`` too, only
        the regions of that group's goroutines.
    start_ns, end_ns
        Only time inside this window (absolute ns, as the events' ``ts``).
    go_version
        Reproduce ``go tool trace`` of this Go release (``"1.22"`` ...);
        default: the newest behaviour.

    Returns
    -------
    pandas.DataFrame
        One row per stack, largest ``delay_ns`` first:

        ``stack_id``
            The stack (see ``trace.stack(stack_id)``); -1 for no stack.
        ``count``, ``delay_ns``
            Number of blocking intervals and their total time: pprof's
            ``contentions`` and ``delay`` samples.
        ``delay_p50_ns``, ``delay_p90_ns``, ``delay_p99_ns``, ``delay_max_ns``
            Percentiles of the individual intervals (observed values).
        ``function``, ``file``, ``line``
            The innermost frame ("" and 0 for an empty stack).
        ``frames``
            The stack as a list of dicts ``pc``, ``function``, ``file``,
            ``line``, innermost first (at most 128).

        :func:`gotrace_df.to_pprof` turns it into a pprof file.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> prof = gt.blocking_profile(tr, "sched")
    >>> list(prof.columns[:3])
    ['stack_id', 'count', 'delay_ns']
    >>> bool((prof["delay_ns"] > 0).all())
    True
    """
    if kind not in PROFILE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(PROFILE_KINDS)} (got {kind!r})")
    sem = semantics(go_version)
    window = check_window(start_ns, end_ns)
    outer, raw = profile_pass(trace, sem)
    row, t0, t1 = raw[kind]["row"], raw[kind]["start"], raw[kind]["end"]
    stack = raw[kind]["stack"]

    use_regions = region is not None or any(
        v is not None for v in (region_pc, region_min_ns, region_max_ns)
    )
    if name is None and not use_regions and window is None:
        return _whole_profile(raw, kind, trace.end_ns, trace.frames)
    # -1 (no goroutine) matches no interval.
    goid = np.where(row >= 0, raw["goroutines"]["goid"][np.maximum(row, 0)], -1)
    iv = _goroutine_intervals(trace, raw["goroutines"], outer, name)
    if use_regions:
        named = iv["goid"].to_numpy() if name is not None else None
        iv = _region_intervals(trace, sem, region, region_pc, region_min_ns, region_max_ns)
        if named is not None:
            iv = iv[np.isin(iv["goid"].to_numpy(), named)]
    if window is not None:
        lo, hi = window
        iv = iv.assign(start=iv["start"].clip(lower=lo), end=iv["end"].clip(upper=hi))
        iv = iv[iv["end"] > iv["start"]]
    delay = _overlap(iv, goid, t0, t1)
    keep = delay > 0
    return _by_stack(trace.frames, stack[keep], delay[keep])


def streamed_profile(
    data: Buffer,
    kind: str,
    *,
    name: str,
    go_version: str | None = None,
    mapped: bool = False,
    progress: Progress = None,
) -> pd.DataFrame:
    """:func:`blocking_profile` of the whole trace in ``data`` (``kind`` and
    ``go_version`` alone), computed while the trace is parsed: the core hands
    the events to the profile's pass batch by batch and builds no table, so
    memory is what the profile keeps, not the trace (``go tool trace
    -pprof=TYPE``, ``gotrace-df -pprof=TYPE``).

    ``data`` is a trace's uncompressed bytes (``mapped``: our own read-only
    mapping of a file, whose pages the core may give back once read); ``name``
    names it in the :class:`gotrace_df.TraceWarning` of a damaged tail, which
    loses the same events as in :func:`gotrace_df.read_trace`. ``progress``
    as :func:`gotrace_df.read_trace` takes it.
    """
    if kind not in PROFILE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(PROFILE_KINDS)} (got {kind!r})")
    sem = semantics(go_version)
    with memoryview(data) as view:
        total = view.nbytes
    callback, finish = progress_callback(progress, total)
    try:
        result = _core.stream_profile(
            data, [kind], skip_no_stack=sem.minor <= 25, progress=callback, release_input=mapped
        )
    finally:
        finish()
    warn_damaged(result, name, stacklevel=2)
    tables = result["tables"]
    raw = {part: _numpy_columns(tables[part]) for part in (kind, "goroutines")}
    frames = pa.RecordBatchReader.from_stream(tables["frames"]).read_all()
    return _whole_profile(raw, kind, result["end_ns"], frames)


def _whole_profile(
    raw: dict[str, dict[str, np.ndarray[Any, Any]]], kind: str, end_ns: int, frames: pa.Table
) -> pd.DataFrame:
    """The profile of every goroutine over the whole trace, from the core's
    pass (``raw``, as :func:`_samples` gives it) and the frames table."""
    s = raw[kind]
    delay = _own_overlap(end_ns, raw["goroutines"], s["row"], s["start"], s["end"])
    keep = delay > 0
    return _by_stack(frames, s["stack"][keep], delay[keep])


# The events columns the profiles' pass reads.
_PROFILE_COLUMNS = [
    "ts",
    "kind",
    "resource",
    "resource_id",
    "from_state",
    "to_state",
    "reason",
    "stack_id",
    "transition_stack_id",
]


def profile_pass(
    trace: Trace, sem: GoSemantics
) -> tuple[pd.Series, dict[str, dict[str, np.ndarray[Any, Any]]]]:
    """The outermost function of each stack, and the core's pass as
    :func:`_samples` gives it for ``sem``."""
    outer = stack_frames(trace)["function"]
    return outer, _samples(trace, outer, skip_no_stack=sem.minor <= 25)


def _samples(
    trace: Trace, outer: pd.Series, *, skip_no_stack: bool
) -> dict[str, dict[str, np.ndarray[Any, Any]]]:
    """The core's pass: per kind and for "goroutines", its columns as numpy
    arrays over the core's own memory. Cached per trace and ``skip_no_stack``:
    one pass tracks all four profiles, the first profile asked for pays."""

    def run() -> dict[str, dict[str, np.ndarray[Any, Any]]]:
        raw = _core.profile_samples(
            trace.columns("events", _PROFILE_COLUMNS),
            list(PROFILE_KINDS),
            _namable(trace, outer),
            skip_no_stack=skip_no_stack,
        )
        return {part: _numpy_columns(table) for part, table in raw.items()}

    return once(trace, ("profile_samples", skip_no_stack), run)


def _numpy_columns(table: _core.ArrowTable) -> dict[str, np.ndarray[Any, Any]]:
    """A one-batch table of the core as numpy arrays over the core's memory."""
    t = pa.table(table)
    return {c: t[c].chunk(0).to_numpy() for c in t.column_names}


def _namable(trace: Trace, outer: pd.Series) -> bytes:
    """Per stack ID, 1 if its outermost frame names a goroutine (the Summarizer
    takes the first transition stack that has one)."""
    top = pc.max(trace.stacks["stack_id"]).as_py() if trace.stacks.num_rows else None
    out = np.zeros(int(top) + 1 if top is not None else 1, dtype=np.uint8)
    named = outer[outer != ""]
    out[named.index.to_numpy(dtype=np.int64)] = 1
    return out.tobytes()


def _goroutine_intervals(
    trace: Trace, raw: dict[str, np.ndarray[Any, Any]], outer: pd.Series, name: str | None
) -> pd.DataFrame:
    """pprofMatchingGoroutines: [StartTime, EndTime or trace end] per goroutine
    (StartTime 0 if it never ran), from the Summarizer fields of the core pass."""
    goid, start, end = raw["goid"], raw["start"], raw["end"]
    end = np.where(end == 0, trace.end_ns, end)
    if name is not None:
        ns = raw["name_stack"].astype(np.int64)
        names = outer.reindex(ns).fillna("").to_numpy()
        keep = names == name
        goid, start, end = goid[keep], start[keep], end[keep]
    return pd.DataFrame({"goid": goid, "start": start, "end": end})


def _own_overlap(
    end_ns: int,
    raw: dict[str, np.ndarray[Any, Any]],
    row: np.ndarray[Any, Any],
    t0: np.ndarray[Any, Any],
    t1: np.ndarray[Any, Any],
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """:func:`_overlap` with every goroutine's interval (those of
    :func:`_goroutine_intervals`, ``end_ns`` the trace's end): each sample's
    goroutine found by its row."""
    end = np.where(raw["end"] == 0, end_ns, raw["end"])
    return _clipped(raw["start"], end, row, t0, t1)


def _clipped(
    start: np.ndarray[Any, Any],
    end: np.ndarray[Any, Any],
    at: np.ndarray[Any, Any],
    t0: np.ndarray[Any, Any],
    t1: np.ndarray[Any, Any],
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Time of each [t0, t1] inside interval ``at`` of (start, end); 0 where
    ``at`` is -1 (no interval). Read-only (the core's bytes)."""
    if len(start) == 0:
        return np.zeros(len(at), dtype=np.int64)
    i64 = [int64_data(a) for a in (start, end, t0, t1)]
    return np.frombuffer(_core.clipped(i64[0], i64[1], index_data(at), i64[2], i64[3]), np.int64)


def _region_intervals(
    trace: Trace,
    sem: GoSemantics,
    region: str | bool | None,
    region_pc: int | None,
    lat_min: int | None,
    lat_max: int | None,
) -> pd.DataFrame:
    """pprofMatchingRegions: per goroutine, its outermost matching regions."""
    s = summarize(trace, sem)
    listed = np.flatnonzero(s.regions["in_goroutine"].to_numpy(dtype=bool))
    r = s.regions.iloc[listed]
    lo, hi = region_times(s, listed)
    start = lo.to_numpy(dtype=np.int64, na_value=trace.start_ns)
    end = hi.to_numpy(dtype=np.int64, na_value=trace.end_ns)
    ok = np.ones(len(r), dtype=bool)
    if isinstance(region, str):
        ok &= (r["name"] == region).to_numpy()
    if region_pc is not None:
        ok &= _region_pcs(trace, sem, r["start_event"]) == np.uint64(region_pc)
    dur = end - start
    if lat_min is not None:
        ok &= dur >= lat_min
    if lat_max is not None:
        ok &= dur <= lat_max
    goid = r["goid"].to_numpy(dtype=np.int64)[ok]
    start, end = start[ok], end[ok]
    order = np.lexsort((end, start, goid))
    goid, start, end = goid[order], start[order], end[order]
    # Keep a region only if it starts at or after the end of the last one kept
    # on its goroutine (Go scans them sorted by start, then end).
    keep = np.frombuffer(
        _core.outermost_intervals(int64_data(goid), int64_data(start), int64_data(end)),
        dtype=np.uint8,
    ).astype(bool)
    return pd.DataFrame({"goid": goid[keep], "start": start[keep], "end": end[keep]})


def _region_pcs(trace: Trace, sem: GoSemantics, start_event: pd.Series) -> np.ndarray[Any, Any]:
    """regionTopStackFrame(r).PC: the RegionBegin stack's outermost frame
    (Go 1.24+) or leaf frame (1.22-1.23); 0 without a start or a stack."""
    ev = start_event.to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.zeros(len(ev), dtype=np.uint64)
    have = ~np.isnan(ev)
    if not have.any():
        return out
    rows = ev[have].astype(np.int64)
    sids = gather(trace.columns("events", ["stack_id"]), ["stack_id"], rows)["stack_id"]
    sid = pc.fill_null(sids, -1).to_numpy().astype(np.int64)
    fr = trace.frames
    fsid = fr["stack_id"].to_numpy().astype(np.int64)
    depth = fr["depth"].to_numpy().astype(np.int64)
    pcs = fr["pc"].to_numpy().astype(np.uint64)
    # One frame per stack: the smallest depth (leaf) or the largest (outermost).
    key = depth if sem.region_leaf_frame else -depth
    order = np.lexsort((key, fsid))
    first = np.ones(len(order), dtype=bool)
    first[1:] = fsid[order][1:] != fsid[order][:-1]
    pick = order[first]
    table = pd.Series(pcs[pick], index=fsid[pick])
    got = table.reindex(sid).to_numpy(dtype=np.float64, na_value=0)
    res = out.copy()
    res[have] = got.astype(np.uint64)
    return res


def _overlap(
    iv: pd.DataFrame,
    goid: np.ndarray[Any, Any],
    t0: np.ndarray[Any, Any],
    t1: np.ndarray[Any, Any],
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """pprofOverlappingDuration: time of [t0, t1] inside goid's intervals.

    The intervals of one goroutine do not overlap, so the sum of the clipped
    overlaps is cover(t1) - cover(t0), cover(t) being the interval time up to t.
    """
    n = len(goid)
    if n == 0 or iv.empty:
        return np.zeros(n, dtype=np.int64)
    index = pd.Index(iv["goid"].to_numpy(dtype=np.int64))
    if not index.has_duplicates:
        pos = index.get_indexer(pd.Index(goid))
        start, end = (iv[c].to_numpy(dtype=np.int64) for c in ("start", "end"))
        return _clipped(start, end, pos, t0, t1)
    ivs = iv.sort_values(["start", "goid"], kind="stable")
    ig = ivs["goid"].to_numpy(dtype=np.int64)
    s = ivs["start"].to_numpy(dtype=np.int64)
    lens = np.maximum(ivs["end"].to_numpy(dtype=np.int64) - s, 0)
    # Interval time before each interval, per goroutine.
    before = pd.Series(lens).groupby(ig).cumsum().to_numpy(dtype=np.int64) - lens
    right = pd.DataFrame({"goid": ig, "t": s, "k": np.arange(len(s), dtype=np.int64)})

    def cover(t: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
        left = pd.DataFrame({"goid": goid, "t": t, "i": np.arange(n)}).sort_values("t")
        m = pd.merge_asof(left, right, on="t", by="goid", direction="backward")
        k = m["k"].to_numpy(dtype=np.float64, na_value=-1).astype(np.int64)
        tt = m["t"].to_numpy(dtype=np.int64)
        hit = k >= 0
        kk = np.where(hit, k, 0)
        got = np.where(hit, before[kk] + np.clip(tt - s[kk], 0, lens[kk]), 0)
        out = np.zeros(n, dtype=np.int64)
        out[m["i"].to_numpy()] = got
        return out

    return cover(t1) - cover(t0)


def _stack_keys(
    fr: pa.Table, stack_ids: np.ndarray[Any, Any]
) -> tuple[dict[int, tuple[int, ...]], pd.DataFrame]:
    """For each stack: its first 128 PCs (Go's deduplication key) and frames
    (of the frames table ``fr``)."""
    ids = [int(s) for s in stack_ids if s >= 0]
    sel = fr.filter(pc.is_in(fr["stack_id"], pa.array(ids, type=fr["stack_id"].type)))
    sel = sel.filter(pc.less(sel["depth"], MAX_STACK))
    df = pd.DataFrame(
        {
            "stack_id": sel["stack_id"].to_numpy().astype(np.int64),
            "depth": sel["depth"].to_numpy().astype(np.int64),
            "pc": sel["pc"].to_numpy().astype(np.uint64),
            "function": _str(sel["function"]),
            "file": _str(sel["file"]),
            "line": sel["line"].to_numpy().astype(np.int64),
        }
    ).sort_values(["stack_id", "depth"], kind="stable")
    keys: dict[int, tuple[int, ...]] = {int(s): () for s in stack_ids}
    sid = df["stack_id"].to_numpy()
    pcs = df["pc"].to_numpy()
    for lo, hi in _runs(sid):
        k = [int(x) for x in pcs[lo:hi]]
        # Go compares zero-padded [128]uint64 arrays: trailing zero PCs vanish.
        while k and k[-1] == 0:
            k.pop()
        keys[int(sid[lo])] = tuple(k)
    return keys, df


def _runs(v: np.ndarray[Any, Any]) -> list[tuple[int, int]]:
    """[lo, hi) of each run of equal values."""
    if len(v) == 0:
        return []
    cut = np.flatnonzero(v[1:] != v[:-1]) + 1
    starts = np.concatenate(([0], cut)).tolist()
    ends = np.concatenate((cut, [len(v)])).tolist()
    return list(zip(starts, ends))


def _str(col: pa.ChunkedArray) -> np.ndarray[Any, Any]:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    out: np.ndarray[Any, Any] = arr.fill_null("").to_numpy(zero_copy_only=False).astype(object)
    return out


def _by_stack(
    frames_table: pa.Table, stack: np.ndarray[Any, Any], delay: np.ndarray[Any, Any]
) -> pd.DataFrame:
    """stackMap + profile(): one row per group of stacks with the same PCs."""
    if len(stack) == 0:
        return _empty()
    uniq, of_uniq = factorize_ints(stack)
    keys, frames = _stack_keys(frames_table, uniq)
    key_ids: dict[tuple[int, ...], int] = {}
    group_of = np.asarray(
        [key_ids.setdefault(keys[int(s)], len(key_ids)) for s in uniq], dtype=np.int32
    )
    group = group_of[of_uniq]
    del of_uniq
    ng = len(key_ids)
    # The stack a row shows: the last one recorded in its group.
    width = np.int32 if len(stack) < 2**31 else np.int64
    last = np.zeros(ng, dtype=width)
    np.maximum.at(last, group, np.arange(len(stack), dtype=width))
    rep = stack[last]
    st = group_stats(group, delay, ng)
    # Every group has an interval: no nulls.
    q = {c: v.to_numpy(dtype=np.int64) for c, v in st.columns("delay_").items()}
    fsid = frames["stack_id"].to_numpy()
    by_id = {int(fsid[lo]): frames.iloc[lo:hi] for lo, hi in _runs(fsid)}
    frame_lists: list[list[dict[str, Any]]] = []
    leaf_fn: list[str] = []
    leaf_file: list[str] = []
    leaf_line: list[int] = []
    for sid in rep.tolist():
        f = by_id.get(int(sid))
        if f is None:
            frame_lists.append([])
            leaf_fn.append("")
            leaf_file.append("")
            leaf_line.append(0)
            continue
        rows = [
            {"pc": int(p), "function": fn, "file": fi, "line": int(li)}
            for p, fn, fi, li in zip(f["pc"], f["function"], f["file"], f["line"])
        ]
        frame_lists.append(rows)
        leaf_fn.append(rows[0]["function"])
        leaf_file.append(rows[0]["file"])
        leaf_line.append(rows[0]["line"])
    out = pd.DataFrame(
        {
            "stack_id": rep.astype(np.int64),
            "count": st.count,
            "delay_ns": st.total,
            **q,
            "function": leaf_fn,
            "file": leaf_file,
            "line": np.asarray(leaf_line, dtype=np.int64),
            "frames": frame_lists,
        }
    )
    out = out.sort_values(["delay_ns", "count", "stack_id"], ascending=[False, False, True])
    return out.reset_index(drop=True)


def _empty() -> pd.DataFrame:
    obj = {"function", "file", "frames"}
    return pd.DataFrame({c: pd.Series(dtype=object if c in obj else "int64") for c in COLUMNS})


def plot_blocking_profile(
    profile: pd.DataFrame, top: int = 20, *, title: str | None = None
) -> go.Figure:
    """A horizontal bar chart of the ``top`` stacks of a profile by total delay.

    Parameters
    ----------
    profile
        A :func:`blocking_profile` result.
    top
        How many stacks to show.
    title
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar per stack (labelled by its innermost function and location),
        length ``delay_ns`` in ms; the hover text gives count, percentiles and
        the whole stack. Needs the ``ui`` extra (plotly).

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> fig = gt.plot_blocking_profile(gt.blocking_profile(tr, "sched"), top=5)
    >>> len(fig.data[0].y) <= 5
    True
    """
    df = profile.head(top).iloc[::-1]
    labels = [
        f"{fn or '(no stack)'} {fi.rsplit('/', 1)[-1]}:{li}" if fn else "(no stack)"
        for fn, fi, li in zip(df["function"], df["file"], df["line"])
    ]
    # Make labels unique so plotly does not merge bars of the same function.
    seen: dict[str, int] = {}
    uniq = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        uniq.append(lab if seen[lab] == 1 else f"{lab} #{seen[lab]}")
    hover = [
        "<br>".join(
            [
                f"count {c}, total {d / 1e6:.3f} ms",
                f"p50 {p50 / 1e3:.1f} µs, p90 {p90 / 1e3:.1f} µs, p99 {p99 / 1e3:.1f} µs, max {mx / 1e3:.1f} µs",
                *(f"{f['function']} {f['file']}:{f['line']}" for f in frames[:16]),
            ]
        )
        for c, d, p50, p90, p99, mx, frames in zip(
            df["count"],
            df["delay_ns"],
            df["delay_p50_ns"],
            df["delay_p90_ns"],
            df["delay_p99_ns"],
            df["delay_max_ns"],
            df["frames"],
        )
    ]
    return horizontal_bars(
        (df["delay_ns"] / 1e6).tolist(),
        uniq,
        hover,
        title=title or "Top stacks by delay",
        xaxis_title="total delay (ms)",
        row_px=24,
        pad_px=120,
        hoverinfo="text",
    )
