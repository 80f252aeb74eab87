"""A one-call summary of a whole trace (or a time window of it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from gotrace_df.views._common import QUANTILES, semantics, trace_window
from gotrace_df.views._summary import episodes_in, summarize
from gotrace_df.views.goroutines import goroutine_columns
from gotrace_df.views.profiles import blocking_profile
from gotrace_df.views.regions import user_regions
from gotrace_df.views.tasks import user_tasks

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["summary"]


def summary(
    trace: Trace,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
    top_stacks: int = 3,
) -> pd.DataFrame:
    """The trace at a glance: duration, goroutines, GC, scheduling latency, tasks.

    Parameters
    ----------
    trace
        A parsed trace.
    start_ns, end_ns
        Summarise only this time window (absolute ns): goroutine times as
        :func:`gotrace_df.goroutine_stats` gives them for the window, GC ranges clipped to
        it, latencies of waits that ended in it, tasks and regions overlapping it.
    go_version
        Mimic ``go tool trace`` of this Go release; default the newest.
    top_stacks
        How many of the longest-blocking stacks to list per blocking profile.

    Returns
    -------
    pandas.DataFrame
        ``attrs["notes"]`` holds :attr:`gotrace_df.Trace.format_notes`, what
        the trace's format cannot say. One row per figure: ``section`` (trace, goroutines, scheduling, gc,
        heap, blocking, user), ``metric``, ``value`` (int64; -1 where a time
        or size has no value) and ``unit`` (ns, count, bytes). Among them: the duration, goroutine count and
        total execution time, the worst and the p50/p90/p99 scheduler
        latency, the number of GC cycles and their total and worst
        stop-the-world pause, the peak heap, per blocking profile (sched,
        sync, net, syscall) its total delay and its ``top_stacks`` stacks by
        delay (named by their innermost frame; see
        :func:`gotrace_df.blocking_profile` for the whole stacks), task and
        region counts.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> s = gt.summary(tr)
    >>> list(s.columns)
    ['section', 'metric', 'value', 'unit']
    >>> int(s.set_index("metric").loc["duration", "value"]) == tr.duration_ns
    True
    """
    window = trace_window(trace, start_ns, end_ns)
    lo, hi = window if window is not None else (trace.start_ns, trace.end_ns)
    rows: list[tuple[str, str, int, str]] = []

    def add(section: str, metric: str, value: Any, unit: str) -> None:
        rows.append((section, metric, int(value) if pd.notna(value) else -1, unit))

    add("trace", "duration", hi - lo, "ns")
    ts = trace.columns("events", ["ts"])["ts"]
    n_events = len(ts)
    if window is not None:
        n_events = int(
            pc.sum(pc.and_(pc.greater_equal(ts, lo), pc.less_equal(ts, hi))).as_py() or 0
        )
    add("trace", "events", n_events, "count")
    add("trace", "generations", trace.generations, "count")

    g, _, _ = goroutine_columns(trace, None, start_ns, end_ns, go_version)
    add("goroutines", "goroutines", len(g["goid"]), "count")
    created = trace.goroutines["created"]
    made = pc.sum(pc.and_(pc.greater_equal(created, lo), pc.less_equal(created, hi))).as_py()
    add("goroutines", "created", int(made or 0), "count")
    ends = g["end_ns"]
    add("goroutines", "exited", int(((ends >= lo) & (ends <= hi)).sum()), "count")
    for c, label in (
        ("exec_ns", "execution time"),
        ("sched_wait_ns", "sched wait time"),
        ("syscall_ns", "syscall execution time"),
        ("syscall_block_ns", "syscall block time"),
        ("block_ns", "block time"),
    ):
        add("goroutines", label, int(np.asarray(g[c], dtype=np.int64).sum()), "ns")

    row, state, dur = episodes_in(summarize(trace, semantics(go_version)), window)
    lat = dur[(state == 0) & (row >= 0)]
    add("scheduling", "runnable waits", len(lat), "count")
    if len(lat):
        s = np.sort(lat)
        for name, q in QUANTILES:
            rank = max(int(np.ceil(len(s) * q)), 1)
            add("scheduling", f"sched latency {name}", s[rank - 1], "ns")
        add("scheduling", "sched latency max", s[-1], "ns")

    gc = trace.to_pandas("gc")
    kinds = gc["kind"].astype(str)
    start = gc["start"].astype("Int64").fillna(trace.start_ns).to_numpy(dtype=np.int64)
    end = gc["end"].astype("Int64").fillna(trace.end_ns).to_numpy(dtype=np.int64)
    clipped = np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0, None)
    inside = (start <= hi) & (end >= lo)
    mark = (kinds == "GC concurrent mark phase").to_numpy() & inside
    stw = kinds.str.startswith("stop-the-world").to_numpy() & inside
    assist = (kinds == "GC mark assist").to_numpy() & inside
    add("gc", "GC cycles", int(mark.sum()), "count")
    add("gc", "mark phase time", int(clipped[mark].sum()), "ns")
    add("gc", "stop-the-world pauses", int(stw.sum()), "count")
    add("gc", "stop-the-world total", int(clipped[stw].sum()), "ns")
    add("gc", "stop-the-world max", int(clipped[stw].max()) if stw.any() else 0, "ns")
    add("gc", "mark assist time", int(clipped[assist].sum()), "ns")

    m = trace.to_pandas("metrics")
    m = m[(m["ts"] >= lo) & (m["ts"] <= hi)]
    heap = m[m["name"].astype(str) == "/memory/classes/heap/objects:bytes"]["value"]
    if len(heap):
        add("heap", "peak heap objects", int(heap.max()), "bytes")
    procs = m[m["name"].astype(str) == "/sched/gomaxprocs:threads"]["value"]
    if len(procs):
        add("scheduling", "GOMAXPROCS max", int(procs.max()), "count")

    t = user_tasks(trace, start_ns=start_ns, end_ns=end_ns, go_version=go_version)
    add("user", "tasks", int(t["count"].sum()), "count")
    add("user", "complete tasks", int(t["complete"].sum()), "count")
    r = user_regions(trace, start_ns=start_ns, end_ns=end_ns, go_version=go_version)
    add("user", "regions", int(r["count"].sum()), "count")
    # The stacks that blocked longest, per blocking profile.
    for kind in ("sched", "sync", "net", "syscall"):
        prof = blocking_profile(
            trace, kind, start_ns=start_ns, end_ns=end_ns, go_version=go_version
        )
        add("blocking", f"{kind} total delay", int(prof["delay_ns"].sum()), "ns")
        for i, row in enumerate(prof.head(top_stacks).itertuples(), 1):
            where = f"{row.function} {str(row.file).rsplit('/', 1)[-1]}:{row.line}"
            label = where if row.function else "(no stack)"
            add("blocking", f"{kind} #{i}: {label}", row.delay_ns, "ns")

    lts = trace.logs["ts"]
    add(
        "user",
        "logs",
        int(pc.sum(pc.and_(pc.greater_equal(lts, lo), pc.less_equal(lts, hi))).as_py() or 0),
        "count",
    )

    order = ["trace", "goroutines", "scheduling", "gc", "heap", "blocking", "user"]
    rows.sort(key=lambda r: order.index(r[0]))
    df = pd.DataFrame(rows, columns=["section", "metric", "value", "unit"])
    df.attrs["notes"] = list(trace.format_notes)
    return df
