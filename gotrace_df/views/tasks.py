"""User-defined tasks: ``go tool trace``'s /usertasks and /usertask pages.

Tasks are cmd/trace's (``internal/trace.Summarizer``): one per task ID seen in
a TaskBegin, TaskEnd, Log or user region, or named as a parent. So the
background task 0 and parents whose begin is not in the trace are tasks with an
empty type. A task's type is that of its last begin or end (an end with no
begin still open carries ``""``); it is *complete* when both a begin and an end
were seen. A task's interval runs from its begin (or the trace start) to its
end (or the trace end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gotrace_df._expand import merge_sparse
from gotrace_df.export._text import go_quote
from gotrace_df.testing import NO_TASK
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
from gotrace_df.views._events import rows_of_kind, take_events, values_at
from gotrace_df.views._summary import Summary, event_times, frame, summarize

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["user_tasks", "user_task_histogram", "user_task_details", "user_task_events"]


@dataclass(frozen=True)
class _Tasks:
    tasks: pd.DataFrame
    logs: pd.DataFrame
    #: Regions in task lists, in their lists' order: task_id, name, goid,
    #: start_event, end_event.
    regs: pd.DataFrame
    #: Begin/end events: task_id, g.
    te: pd.DataFrame
    summary: Summary


def _last_per(keys: Any, n: int, values: Any, fill: Any) -> Any:
    """values of the last row per key position 0..n-1 (rows in order)."""
    out = np.full(n, fill, dtype=np.asarray(values).dtype if fill is not None else object)
    out[np.asarray(keys)] = np.asarray(values)
    return out


def _task_table(trace: Trace, sem: GoSemantics) -> _Tasks:
    """cmd/trace's tasks (cached per trace and semantics)."""
    key = ("tasks", sem.legacy_undetermined, sem.legacy_sync)
    return once(trace, key, lambda: _make_task_table(trace, sem))


def _make_task_table(trace: Trace, sem: GoSemantics) -> _Tasks:
    s = summarize(trace, sem)
    te = take_events(
        trace, rows_of_kind(trace, ["TaskBegin", "TaskEnd"]), ["ts", "kind", "g", "name"]
    )
    te["ts"] = event_times(s, te["event"], te["ts"])
    # The task and parent of each begin and end, as the parser gives them (an
    # end carries its begin's parent): from the tasks table, which keeps both
    # events' rows.
    tt = trace.tasks
    rows = te["event"]

    def per_event(col: str) -> tuple[Any, Any]:
        """Column ``col`` of the tasks table at each of ``te``'s events (-1 where
        null), and where it is not null."""
        parts = [(tt["start_event"], tt[col], None), (tt["end_event"], tt[col], None)]
        got, hit = values_at(*merge_sparse(parts), rows)
        return np.where(hit, got, -1), hit

    te_parent, has_parent = per_event("parent_id")

    logs = trace.to_pandas("logs")
    for c in ("category", "message"):
        logs[c] = logs[c].astype(object).fillna("")
    logs["task_id"] = logs["task_id"].astype("Int64").fillna(-1).astype(np.int64)
    logs["ts"] = event_times(s, logs["event"].to_numpy(), logs["ts"].to_numpy(dtype=np.int64))

    r = s.regions
    # The Summarizer makes the regions of task lists in their lists' order.
    sel = np.flatnonzero(r["in_task"].to_numpy(dtype=bool))
    regs = frame(
        {
            "task_id": r["task_id"].array[sel].to_numpy(dtype=np.int64, na_value=-1),
            "name": r["name"].array[sel],
            "goid": r["goid"].to_numpy(dtype=np.int64)[sel],
            "start_event": r["start_event"].array[sel],
            "end_event": r["end_event"].array[sel],
        }
    )
    del sel

    te_task, _ = per_event("task_id")
    log_task = logs["task_id"].to_numpy(dtype=np.int64)
    reg_task = regs["task_id"].to_numpy(dtype=np.int64)
    parts = [te_task, te_parent[has_parent], log_task, reg_task]
    ids, where = factorize_ints(np.concatenate(parts))
    # Each part's positions among the tasks, cut from the one inverse.
    cuts = np.cumsum([len(p) for p in parts])
    at, _, log_at, reg_at = np.split(where, cuts[:-1])
    del where
    n = len(ids)
    is_begin = te["kind"] == "TaskBegin"
    ts, ev = te["ts"], te["event"]
    # Later rows overwrite earlier ones: the last begin/end/type per task.
    type_ = np.full(n, "", dtype=object)
    type_[at] = te["name"]
    start = np.full(n, -1, dtype=np.int64)
    start[at[is_begin]] = ts[is_begin]
    start_ev = np.full(n, -1, dtype=np.int64)
    start_ev[at[is_begin]] = ev[is_begin]
    end = np.full(n, -1, dtype=np.int64)
    end[at[~is_begin]] = ts[~is_begin]
    end_ev = np.full(n, -1, dtype=np.int64)
    end_ev[at[~is_begin]] = ev[~is_begin]
    # The first known parent (reversed order: the first row wins).
    parent = np.full(n, -1, dtype=np.int64)
    rev = np.flatnonzero(has_parent)[::-1]
    parent[at[rev]] = te_parent[rev]
    has_par = np.zeros(n, dtype=bool)
    has_par[at[rev]] = True

    def nullable(v: Any, ok: Any) -> pd.arrays.IntegerArray:
        return pd.arrays.IntegerArray(v, ~ok)

    complete = (start_ev >= 0) & (end_ev >= 0)
    lo = np.where(start_ev >= 0, start, s.start_ns)
    hi = np.where(end_ev >= 0, end, s.end_ns)
    tasks = pd.DataFrame(
        {
            "task_id": ids,
            "type": type_,
            "parent_id": nullable(parent, has_par),
            "start_ns": nullable(start, start_ev >= 0),
            "end_ns": nullable(end, end_ev >= 0),
            "start_event": nullable(start_ev, start_ev >= 0),
            "end_event": nullable(end_ev, end_ev >= 0),
            "complete": complete,
            "duration_ns": hi - lo,
            "since_start_ns": lo - s.start_ns,
            "_start": lo,
            "_end": hi,
            "regions": np.bincount(reg_at, minlength=n),
            "logs": np.bincount(log_at, minlength=n),
        }
    )
    return _Tasks(
        tasks=tasks,
        logs=logs,
        regs=regs,
        te=pd.DataFrame({"task_id": te_task, "g": te["g"]}),
        summary=s,
    )


def _goroutines(t: _Tasks, ids: Any) -> list[list[int]]:
    """Per task of ``ids``, the sorted goroutines that began, ended, logged in
    or ran regions of it."""
    tid = np.concatenate(
        [
            t.te["task_id"].to_numpy(dtype=np.int64),
            t.logs["task_id"].to_numpy(dtype=np.int64),
            t.regs["task_id"].to_numpy(dtype=np.int64),
        ]
    )
    gid = np.concatenate(
        [
            t.te["g"].fillna(-1).to_numpy(dtype=np.int64),
            t.logs["goid"].fillna(-1).to_numpy(dtype=np.int64),
            t.regs["goid"].to_numpy(dtype=np.int64),
        ]
    )
    ids = np.asarray(ids, dtype=np.int64)
    keep = (gid >= 0) & np.isin(tid, ids)
    tid, gid = tid[keep], gid[keep]
    if len(tid) == 0:
        return [[] for _ in ids]
    # Unique (task, goroutine) pairs, sorted: packed into one int64 when they fit.
    tmin, gspan = int(tid.min()), int(gid.max()) + 1
    if (int(tid.max()) - tmin + 1) * gspan < 2**62:
        packed = np.unique((tid - tmin) * gspan + gid)
        ptid, pgid = packed // gspan + tmin, packed % gspan
    else:
        pairs = np.unique(np.stack([tid, gid], axis=1), axis=0)
        ptid, pgid = pairs[:, 0], pairs[:, 1]
    # Every pair belongs to one of ``ids``: split the sorted pairs per task.
    by_id = np.argsort(ids, kind="stable")
    parts = np.split(pgid, np.searchsorted(ptid, ids[by_id][1:], side="left"))
    out: list[list[int]] = [[] for _ in range(len(ids))]
    for k, part in zip(by_id.tolist(), parts, strict=True):
        out[k] = part.tolist()
    return out


def _filter(
    t: _Tasks,
    type: str | None,
    complete: bool | None,
    latmin_ns: int | None,
    latmax_ns: int | None,
    logtext: str | None,
    window: tuple[int, int] | None,
) -> pd.DataFrame:
    tasks = t.tasks
    keep = np.ones(len(tasks), dtype=bool)
    if type is not None:
        keep &= (tasks["type"] == type).to_numpy()
    if complete is not None:
        keep &= (tasks["complete"] == complete).to_numpy()
    # cmd/trace's latency filters apply to complete tasks only.
    if latmin_ns is not None:
        keep &= (tasks["complete"] & (tasks["duration_ns"] >= latmin_ns)).to_numpy()
    if latmax_ns is not None:
        keep &= (tasks["complete"] & (tasks["duration_ns"] <= latmax_ns)).to_numpy()
    if logtext:
        hit = set(tasks["task_id"][tasks["type"].str.contains(logtext, regex=False)])
        names = t.regs["name"].astype(str)
        hit |= set(t.regs["task_id"][names.str.contains(logtext, regex=False).to_numpy()])
        logs = t.logs
        lm = logs["category"].str.contains(logtext, regex=False) | logs["message"].str.contains(
            logtext, regex=False
        )
        hit |= set(logs["task_id"][lm])
        keep &= tasks["task_id"].isin(hit).to_numpy()
    if window is not None:
        keep &= ((tasks["_start"] <= window[1]) & (tasks["_end"] >= window[0])).to_numpy()
    return tasks[keep]


def user_tasks(
    trace: Trace,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """Tasks by type: cmd/trace's /usertasks page, with duration percentiles.

    Parameters
    ----------
    trace
        A parsed trace.
    start_ns, end_ns
        Only tasks whose interval overlaps this window (absolute ns).
    go_version
        Mimic ``go tool trace`` of this Go release; default the newest.

    Returns
    -------
    pandas.DataFrame
        One row per task type, sorted by type (as the page): ``type``
        (``""`` for the background task and tasks whose begin is not in the
        trace), ``count`` (all tasks), ``complete`` (tasks with a begin and an
        end: the ones in the histogram), and over complete tasks' durations
        ``total_ns``, ``min_ns``, ``p50_ns``, ``p90_ns``, ``p99_ns``,
        ``max_ns`` (null without complete tasks; percentiles are observed
        values). The histogram is :func:`user_task_histogram`.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> df = gt.user_tasks(tr)
    >>> list(df.columns[:3])
    ['type', 'count', 'complete']
    """
    sem = semantics(go_version)
    t = _task_table(trace, sem)
    tasks = _filter(t, None, None, None, None, None, check_window(start_ns, end_ns))
    codes, types = pd.factorize(tasks["type"].to_numpy(), sort=True)
    n = len(types)
    done = tasks["complete"].to_numpy()
    d = tasks["duration_ns"].to_numpy(dtype=np.int64)
    st = group_stats(codes[done], d[done], n)
    out = pd.DataFrame(
        {
            "type": np.asarray(types, dtype=object),
            "count": np.bincount(codes, minlength=n).astype(np.int64),
            "complete": st.count,
            "total_ns": pd.arrays.IntegerArray(st.total, st.count == 0),
            **st.columns("", ORDER_COLUMNS),
        }
    )
    return out


def user_task_histogram(
    trace: Trace,
    type: str | None = None,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """cmd/trace's duration histogram of complete tasks, per type.

    Buckets are cmd/trace's: five per decade, bucket *b* holding durations in
    [10^(b/5), 10^((b+1)/5)) ns.

    Parameters
    ----------
    trace
        A parsed trace.
    type
        Only this task type.
    start_ns, end_ns
        Only tasks whose interval overlaps this window.
    go_version
        Mimic ``go tool trace`` of this Go release; default the newest.

    Returns
    -------
    pandas.DataFrame
        Per type (sorted), one row per bucket from its smallest to its largest
        used bucket (empty ones included, as the page draws them): ``type``,
        ``bucket``, ``lower_ns`` (the label cmd/trace prints, and its
        ``latmin`` link), ``upper_ns`` (its ``latmax``), ``count``.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> h = gt.user_task_histogram(tr)
    >>> list(h.columns)
    ['type', 'bucket', 'lower_ns', 'upper_ns', 'count']
    """
    sem = semantics(go_version)
    t = _task_table(trace, sem)
    tasks = _filter(t, type, True, None, None, None, check_window(start_ns, end_ns))
    codes, types = pd.factorize(tasks["type"].to_numpy(), sort=True)
    groups = pd.DataFrame({"type": np.asarray(types, dtype=object)})
    return grouped_histogram(groups, codes, tasks["duration_ns"].to_numpy(dtype=np.int64))


def user_task_details(
    trace: Trace,
    type: str | None = None,
    *,
    complete: bool | None = None,
    latmin_ns: int | None = None,
    latmax_ns: int | None = None,
    logtext: str | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """One row per task, with the filters of cmd/trace's /usertask page.

    Parameters
    ----------
    trace
        A parsed trace.
    type
        Only tasks of this type (exact; ``""`` selects the untyped ones).
    complete
        True: only tasks with both a begin and an end; False: only the others.
    latmin_ns, latmax_ns
        Only *complete* tasks with ``duration_ns`` at least / at most this.
    logtext
        Only tasks whose type, a region type in them, or a log category or
        message in them contains this text.
    start_ns, end_ns
        Only tasks whose interval overlaps this window.
    go_version
        Mimic ``go tool trace`` of this Go release; default the newest.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``duration_ns`` (as the page), then ``task_id``:
        ``task_id``, ``type``, ``parent_id`` (null: none), ``start_ns`` and
        ``end_ns`` (begin and end times; null if not in the trace),
        ``complete``, ``since_start_ns`` (start of the task interval, from
        the trace start: the page's "When"), ``duration_ns`` (the task
        interval, from the begin or trace start to the end or trace end),
        ``goroutines`` (sorted goids of
        the goroutines that began, ended, logged in or ran regions of it),
        ``regions`` and ``logs`` (how many). Its events in time order are
        :func:`user_task_events`.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> df = gt.user_task_details(tr, complete=True)
    >>> bool(df["complete"].all())
    True
    """
    sem = semantics(go_version)
    t = _task_table(trace, sem)
    window = check_window(start_ns, end_ns)
    tasks = _filter(t, type, complete, latmin_ns, latmax_ns, logtext, window)
    tasks = tasks.sort_values(["duration_ns", "task_id"], kind="stable").copy()
    tasks["goroutines"] = _goroutines(t, tasks["task_id"].to_numpy())
    cols = [
        "task_id",
        "type",
        "parent_id",
        "start_ns",
        "end_ns",
        "complete",
        "since_start_ns",
        "duration_ns",
        "goroutines",
        "regions",
        "logs",
    ]
    return tasks[cols].reset_index(drop=True)


_GO_STATE = {
    "Undetermined": "Undetermined",
    "NotExist": "NotExist",
    "Runnable": "Runnable",
    "Running": "Running",
    "Waiting": "Waiting",
    "Syscall": "Syscall",
}


def user_task_events(
    trace: Trace,
    type: str | None = None,
    *,
    complete: bool | None = None,
    latmin_ns: int | None = None,
    latmax_ns: int | None = None,
    logtext: str | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """The events of each task in time order: the rows of cmd/trace's /usertask page.

    Parameters are those of :func:`user_task_details`.

    Returns
    -------
    pandas.DataFrame
        Tasks in the order of :func:`user_task_details`; per task its begin,
        end, logs and the begins and ends of its regions, sorted by time:
        ``task_id``, ``event`` (events row), ``ts``, ``since_start_ns`` (the
        page's "When", from the trace start), ``elapsed_ns`` (since the
        task's previous row, or the trace start for the first), ``goid`` (the
        event's goroutine; for a region closed by its goroutine's exit, the
        exiting goroutine; null: none), ``kind`` (TaskBegin, TaskEnd, Log,
        RegionBegin, RegionEnd or StateTransition) and ``what`` (the page's
        description, in the wording of ``go_version``).

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> ev = gt.user_task_events(tr, complete=True)
    >>> list(ev.columns)
    ['task_id', 'event', 'ts', 'since_start_ns', 'elapsed_ns', 'goid', 'kind', 'what']
    """
    sem = semantics(go_version)
    t = _task_table(trace, sem)
    s, logs, regs = t.summary, t.logs, t.regs
    window = check_window(start_ns, end_ns)
    tasks = _filter(t, type, complete, latmin_ns, latmax_ns, logtext, window)
    tasks = tasks.sort_values(["duration_ns", "task_id"], kind="stable")
    ids = tasks["task_id"].to_numpy(dtype=np.int64)
    order = pd.Series(np.arange(len(ids)), index=ids)

    # Go's list before its stable sort by time: begin, end, logs, then each
    # region's begin and end in the task's region order.
    parts: list[pd.DataFrame] = []
    for col, pos in (("start_event", 0), ("end_event", 1)):
        tk = tasks[tasks[col].notna()]
        parts.append(
            pd.DataFrame(
                {
                    "task_id": tk["task_id"].to_numpy(),
                    "event": tk[col].to_numpy(dtype=np.int64),
                    "pos": pos,
                }
            )
        )
    lg = logs[logs["task_id"].isin(ids)]
    parts.append(
        pd.DataFrame(
            {
                "task_id": lg["task_id"].to_numpy(),
                "event": lg["event"].to_numpy(dtype=np.int64),
                "pos": 2,
            }
        )
    )
    # A region's position in regs is its place in its task's list.
    rseq = np.flatnonzero(regs["task_id"].isin(ids).to_numpy())
    rg = regs.iloc[rseq]
    for col, half in (("start_event", 0), ("end_event", 1)):
        sel = rg[col].notna().to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "task_id": rg["task_id"].to_numpy()[sel],
                    "event": rg[col].array[sel].to_numpy(dtype=np.int64),
                    "pos": 3 + 2 * rseq[sel] + half,
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True)
    if rows.empty:
        return pd.DataFrame(
            {
                "task_id": pd.Series(dtype="int64"),
                "event": pd.Series(dtype="int64"),
                "ts": pd.Series(dtype="int64"),
                "since_start_ns": pd.Series(dtype="int64"),
                "elapsed_ns": pd.Series(dtype="int64"),
                "goid": pd.Series(dtype="Int64"),
                "kind": pd.Series(dtype=object),
                "what": pd.Series(dtype=object),
            }
        )
    ev = take_events(
        trace,
        rows["event"].to_numpy(),
        ["ts", "kind", "g", "resource", "resource_id", "from_state", "to_state", "name"],
    )
    ev.pop("event")
    rows = pd.concat([rows, pd.DataFrame(ev)], axis=1)
    rows["ts"] = event_times(s, rows["event"].to_numpy(), rows["ts"].to_numpy(dtype=np.int64))
    rows["_t"] = order.reindex(rows["task_id"].to_numpy()).to_numpy()
    rows = rows.sort_values(["_t", "ts", "pos"], kind="stable").reset_index(drop=True)
    rows = rows[_describable(rows)].reset_index(drop=True)

    rows["what"] = _describe(rows, trace, sem)
    transition = (rows["kind"] == "StateTransition").to_numpy()
    goid = rows["g"].astype("Int64")  # a copy, nullable as resource_id is
    goid[transition] = rows["resource_id"][transition]
    ts = rows["ts"].to_numpy(dtype=np.int64)
    first = np.ones(len(rows), dtype=bool)
    tid = rows["_t"].to_numpy()
    first[1:] = tid[1:] != tid[:-1]
    prev = np.empty_like(ts)
    prev[1:] = ts[:-1]
    prev[first] = s.start_ns
    out = pd.DataFrame(
        {
            "task_id": rows["task_id"].to_numpy(dtype=np.int64),
            "event": rows["event"].to_numpy(dtype=np.int64),
            "ts": ts,
            "since_start_ns": ts - s.start_ns,
            "elapsed_ns": ts - prev,
            "goid": goid.astype("Int64").array,
            "kind": rows["kind"].to_numpy(),
            "what": rows["what"].to_numpy(),
        }
    )
    return out


def _describable(rows: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.bool_]]:
    k = rows["kind"]
    ok = k.isin(["RegionBegin", "RegionEnd", "TaskBegin", "TaskEnd", "Log"])
    ok |= (k == "StateTransition") & (rows["resource"] == "Goroutine")
    return ok.to_numpy(dtype=bool)


def _quoted(values: np.ndarray[Any, Any]) -> pd.Series:
    """go_quote of each value, computed once per distinct string."""
    ser = pd.Series(values, dtype=object)
    uniq = pd.unique(ser)
    return ser.map(dict(zip(uniq, (go_quote(str(u)) for u in uniq), strict=True)))


def _describe(rows: pd.DataFrame, trace: Trace, sem: GoSemantics) -> np.ndarray[Any, Any]:
    """cmd/trace's describeEvent for each row, with vectorised string ops."""
    logs = trace.to_pandas("logs")
    by_event = logs.set_index("event")
    evs = rows["event"].to_numpy()
    cat = by_event["category"].astype(object).reindex(evs).fillna("").to_numpy()
    msg = by_event["message"].astype(object).reindex(evs).fillna("").to_numpy()
    tt = trace.to_pandas("tasks")
    parent = pd.Series(tt["parent_id"].to_numpy(), index=tt["start_event"].to_numpy())
    parent = parent[parent.index.notna()]
    parent.index = parent.index.astype(np.int64)
    parent = parent[~parent.index.duplicated()]
    par = parent.reindex(evs).astype("Int64")
    par = pd.Series(
        np.where(par.isna().to_numpy(), str(NO_TASK), par.astype(str).to_numpy()), dtype=object
    )
    kinds = rows["kind"].to_numpy()
    qname = _quoted(rows["name"].to_numpy()).to_numpy()
    qmsg = _quoted(msg).to_numpy()
    d = "D" if sem.task_text_typo else "ID"
    tid = rows["task_id"].astype(str).to_numpy()
    trans = rows["from_state"].to_numpy() + " -> " + rows["to_state"].to_numpy()
    plain = (cat != "") if sem.task_text_typo else (cat == "")
    cat_o = np.asarray(cat, dtype=object)
    log = np.where(plain, "log " + qmsg, "log (category: " + cat_o + "): " + qmsg)
    task_begin = "task " + qname + f" ({d} " + tid + ", parent " + par.to_numpy() + ") begin"
    conds = [
        kinds == "RegionBegin",
        kinds == "RegionEnd",
        kinds == "TaskBegin",
        kinds == "TaskEnd",
        kinds == "Log",
    ]
    choices = [
        "region " + qname + " begin",
        "region " + qname + " end",
        task_begin,
        np.full(len(rows), "task end", dtype=object),
        np.asarray(log, dtype=object),
    ]
    out: np.ndarray[Any, Any] = np.select(conds, choices, default=trans)
    return out
