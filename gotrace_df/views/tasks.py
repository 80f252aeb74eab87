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
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df import _core
from gotrace_df._expand import event_rows, gather, merge_sparse
from gotrace_df._trace import Trace
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
from gotrace_df.views._stream import as_trace, run_stream
from gotrace_df.views._summary import (
    Summary,
    event_times,
    frame,
    stack_frames_of,
    summarize,
    summary_of,
)

if TYPE_CHECKING:
    from gotrace_df.io import TraceSource

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


def _task_table(source: Trace | TraceSource, sem: GoSemantics) -> _Tasks:
    """cmd/trace's tasks of a parsed trace (cached per trace and semantics),
    or of a trace to read, made while it is parsed
    (:mod:`gotrace_df.views._stream`): the same tasks."""
    trace = as_trace(source)
    if trace is not None:
        key = ("tasks", sem.legacy_undetermined, sem.legacy_sync)
        return once(trace, key, lambda: _tasks_of(summarize(trace, sem), *_parsed_tasks(trace)))
    assert not isinstance(source, Trace)

    def parse(data: Any, **kw: Any) -> _core.ParseResult:
        return _core.stream_tasks(
            data, legacy_undetermined=sem.legacy_undetermined, legacy_sync=sem.legacy_sync, **kw
        )

    tables: dict[str, Any] = dict(run_stream(source, parse, stacklevel=4)["tables"])
    sf = stack_frames_of(pa.table(tables.pop("stacks")), pa.table(tables.pop("frames")))
    te = pa.table(tables.pop("task_events"))
    logs = pa.table(tables.pop("task_logs"))
    parent, no_parent = _ints(te["parent_id"])
    events = _TaskEvents(
        event=te["event"].to_numpy(),
        ts=te["ts"].to_numpy(),
        begin=te["begin"].to_numpy(),
        g=pd.arrays.IntegerArray(*_ints(te["g"])),
        type=_objects(te["type"]),
        task_id=te["task_id"].to_numpy(),
        parent_id=np.where(no_parent, -1, parent),
        has_parent=~no_parent,
    )
    log_frame = frame(
        {
            "event": logs["event"].to_numpy(),
            "ts": logs["ts"].to_numpy(),
            "goid": pd.arrays.IntegerArray(*_ints(logs["goid"])),
            "task_id": logs["task_id"].to_numpy(),
            "category": _objects(logs["category"]),
            "message": _objects(logs["message"]),
        }
    )
    return _tasks_of(summary_of(tables, sf), events, log_frame)


def _objects(col: pa.ChunkedArray) -> Any:
    """A string column as an object array of str ('' for null)."""
    codes, words = _dictionary(col)
    return np.asarray(words.to_pylist(), dtype=object)[codes]


@dataclass(frozen=True)
class _TaskEvents:
    """The task begins and ends, in events order, with the task and parent of
    each as the tasks table gives them (an end has the parent of the begin
    it closes)."""

    event: Any
    ts: Any
    begin: Any
    g: Any  # nullable Int64
    type: Any  # str objects
    task_id: Any
    parent_id: Any  # -1 where has_parent is False
    has_parent: Any


def _parsed_tasks(trace: Trace) -> tuple[_TaskEvents, pd.DataFrame]:
    """The task events and the logs table of a parsed trace."""
    te = take_events(
        trace, rows_of_kind(trace, ["TaskBegin", "TaskEnd"]), ["ts", "kind", "g", "name"]
    )
    # The task and parent of each begin and end: from the tasks table, which
    # keeps both events' rows.
    tt = trace.tasks
    rows = te["event"]

    def per_event(col: str) -> tuple[Any, Any]:
        """Column ``col`` of the tasks table at each of ``te``'s events (-1 where
        null), and where it is not null."""
        parts = [(tt["start_event"], tt[col], None), (tt["end_event"], tt[col], None)]
        got, hit = values_at(*merge_sparse(parts), rows)
        return np.where(hit, got, -1), hit

    parent, has_parent = per_event("parent_id")
    events = _TaskEvents(
        event=rows,
        ts=te["ts"],
        begin=te["kind"] == "TaskBegin",
        g=te["g"],
        type=te["name"],
        task_id=per_event("task_id")[0],
        parent_id=parent,
        has_parent=has_parent,
    )
    return events, trace.to_pandas("logs")


def _tasks_of(s: Summary, te: _TaskEvents, logs: pd.DataFrame) -> _Tasks:
    """The tasks of the summary ``s``, the task events ``te`` and the logs
    table ``logs``."""
    ts = event_times(s, te.event, te.ts)
    te_parent, has_parent = te.parent_id, te.has_parent
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

    te_task = te.task_id
    log_task = logs["task_id"].to_numpy(dtype=np.int64)
    reg_task = regs["task_id"].to_numpy(dtype=np.int64)
    parts = [te_task, te_parent[has_parent], log_task, reg_task]
    ids, where = factorize_ints(np.concatenate(parts))
    # Each part's positions among the tasks, cut from the one inverse.
    cuts = np.cumsum([len(p) for p in parts])
    at, _, log_at, reg_at = np.split(where, cuts[:-1])
    del where
    n = len(ids)
    is_begin, ev = te.begin, te.event
    # Later rows overwrite earlier ones: the last begin/end/type per task.
    type_ = np.full(n, "", dtype=object)
    type_[at] = te.type
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
        te=pd.DataFrame({"task_id": te_task, "g": te.g}),
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
    # Unique (task, goroutine) pairs, sorted: packed into one int64 when they
    # fit, and deduplicated after a sort (np.unique's hashing is slower).
    tmin, gspan = int(tid.min()), int(gid.max()) + 1
    if (int(tid.max()) - tmin + 1) * gspan < 2**62:
        packed = np.sort((tid - tmin) * gspan + gid)
        packed = packed[np.r_[True, packed[1:] != packed[:-1]]]
        ptid, pgid = packed // gspan + tmin, packed % gspan
    else:
        pairs = np.unique(np.stack([tid, gid], axis=1), axis=0)
        ptid, pgid = pairs[:, 0], pairs[:, 1]
    # Every pair belongs to one of ``ids``: slice the sorted pairs per task.
    by_id = np.argsort(ids, kind="stable")
    bounds = np.searchsorted(ptid, ids[by_id], side="left").tolist() + [len(ptid)]
    goids = pgid.tolist()
    out: list[list[int]] = [[] for _ in range(len(ids))]
    for i, k in enumerate(by_id.tolist()):
        out[k] = goids[bounds[i] : bounds[i + 1]]
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
    trace: Trace | TraceSource,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    go_version: str | None = None,
) -> pd.DataFrame:
    """Tasks by type: cmd/trace's /usertasks page, with duration percentiles.

    Parameters
    ----------
    trace
        A parsed trace, or a trace to read (as :func:`gotrace_df.read_trace`
        takes it): then its tasks are found while it is parsed, keeping no
        table, so memory is the tasks', logs' and the summary's, not the
        trace's; the result is the same as for ``read_trace(trace)``.
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
    trace: Trace | TraceSource,
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
        A parsed trace, or a trace to read (as :func:`gotrace_df.read_trace`
        takes it): then its tasks are found while it is parsed, keeping no
        table, so memory is the tasks', logs' and the summary's, not the
        trace's; the result is the same as for ``read_trace(trace)``.
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
    trace: Trace | TraceSource,
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
        A parsed trace, or a trace to read (as :func:`gotrace_df.read_trace`
        takes it): then its tasks are found while it is parsed, keeping no
        table, so memory is the tasks', logs' and the summary's, not the
        trace's; the result is the same as for ``read_trace(trace)``.
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
    tasks = tasks.iloc[_page_order(tasks)].copy()
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

    Parameters are those of :func:`user_task_details`, but ``trace`` is a
    parsed trace: the rows' columns are read from its events table.

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
    if not isinstance(trace, Trace):
        raise TypeError("user_task_events needs a parsed trace (gotrace_df.read_trace)")
    sem = semantics(go_version)
    t = _task_table(trace, sem)
    s = t.summary
    window = check_window(start_ns, end_ns)
    tasks = _filter(t, type, complete, latmin_ns, latmax_ns, logtext, window)
    tasks = tasks.iloc[_page_order(tasks)]
    rank, event = _task_lists(t, tasks)
    ev = gather(trace.columns("events", _EVENT_COLUMNS), _EVENT_COLUMNS, event)
    ts = event_times(s, event, _ints(ev["ts"])[0])
    kind, kinds = _dictionary(ev["kind"])
    what_kind = np.array([_DESCRIBED.get(k, -1) for k in kinds.to_pylist()], dtype=np.int8)[kind]
    # Transitions (region ends by a goroutine's exit) are read apart: they are
    # few, and cmd/trace lists only those of goroutines.
    moved = np.flatnonzero(what_kind == _TRANSITION)
    transitions = gather(
        trace.columns("events", _TRANSITION_COLUMNS), _TRANSITION_COLUMNS, event[moved]
    )
    resource, resources = _dictionary(transitions["resource"])
    of_goroutine = np.asarray(resources.to_pylist(), dtype=object)[resource] == "Goroutine"
    what_kind[moved[~of_goroutine]] = -1
    sel = np.flatnonzero(what_kind >= 0)
    sel = sel[_time_order(rank[sel], ts[sel])]
    if len(sel) == 0:
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
    rank, ts = rank[sel], ts[sel]
    name, names = _dictionary(ev["name"])
    # Each transition row's place in transitions.
    in_tr = np.full(len(kind), -1, dtype=np.intp)
    in_tr[moved] = np.arange(len(moved))
    in_tr = in_tr[sel]
    rows = _PageRows(
        event=event[sel],
        task_id=tasks["task_id"].to_numpy(dtype=np.int64)[rank],
        how=what_kind[sel],
        name=name[sel],
        names=names,
        moved=transitions.take(pa.array(in_tr[in_tr >= 0])),
    )
    # The goroutine of a transition is the one it moves, not the one running.
    g, no_g = _ints(ev["g"])
    g, no_g = g[sel], no_g[sel]
    is_moved = rows.how == _TRANSITION
    g[is_moved], no_g[is_moved] = _ints(rows.moved["resource_id"])
    first = np.ones(len(sel), dtype=bool)
    first[1:] = rank[1:] != rank[:-1]
    prev = np.empty_like(ts)
    prev[1:] = ts[:-1]
    prev[first] = s.start_ns
    return frame(
        {
            "task_id": rows.task_id,
            "event": rows.event,
            "ts": ts,
            "since_start_ns": ts - s.start_ns,
            "elapsed_ns": ts - prev,
            "goid": pd.arrays.IntegerArray(g, no_g),
            "kind": kinds.take(pa.array(kind[sel])).to_pandas(),
            "what": _describe(trace, t, rows, sem).to_pandas(),
        }
    )


_EVENT_COLUMNS = ["ts", "kind", "g", "name"]
_TRANSITION_COLUMNS = ["resource", "resource_id", "from_state", "to_state"]


@dataclass(frozen=True)
class _PageRows:
    """The rows of the /usertask page, in its order."""

    event: Any  # events row
    task_id: Any
    how: Any  # _DESCRIBED of the event's kind
    name: Any  # the event's name, a code into names
    names: pa.Array
    #: _TRANSITION_COLUMNS of the transitions among the rows, in order.
    moved: pa.Table


#: The kinds of events cmd/trace's describeEvent describes, by how (the
#: first three print the event's name).
_DESCRIBED = {
    "RegionBegin": 0,
    "RegionEnd": 1,
    "TaskBegin": 2,
    "TaskEnd": 3,
    "Log": 4,
    "StateTransition": 5,
}
_TRANSITION = _DESCRIBED["StateTransition"]


def _page_order(tasks: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Positions of ``tasks`` in the /usertask page's order: by duration, then
    task ID."""
    return np.lexsort(
        (tasks["task_id"].to_numpy(dtype=np.int64), tasks["duration_ns"].to_numpy(dtype=np.int64))
    )


def _task_lists(t: _Tasks, tasks: pd.DataFrame) -> tuple[Any, Any]:
    """cmd/trace's event list of each task of ``tasks`` before its sort by
    time: its begin, end, logs, then each region's begin and end in the task's
    region order. Per event, the task's position in ``tasks`` and the events
    row; the events of one task come in their list's order."""
    ranks, events = [], []
    for col in ("start_event", "end_event"):
        ev = tasks[col].array
        has = ~ev.isna()
        ranks.append(np.flatnonzero(has))
        events.append(ev[has].to_numpy(dtype=np.int64))
    # The rank of each task ID, -1 for tasks not shown.
    ids = tasks["task_id"].to_numpy(dtype=np.int64)
    by_id = np.argsort(ids, kind="stable")

    def rank_of(task: Any) -> Any:
        task = np.asarray(task, dtype=np.int64)
        if len(ids) == 0:
            return np.full(len(task), -1, dtype=np.int64)
        at = np.clip(np.searchsorted(ids, task, sorter=by_id), 0, len(ids) - 1)
        return np.where(ids[by_id[at]] == task, by_id[at], -1)

    lr = rank_of(t.logs["task_id"].to_numpy(dtype=np.int64))
    shown = np.flatnonzero(lr >= 0)
    ranks.append(lr[shown])
    events.append(t.logs["event"].to_numpy(dtype=np.int64)[shown])
    # A region's position in regs is its place in its task's list: its begin
    # then its end.
    rr = rank_of(t.regs["task_id"].to_numpy(dtype=np.int64))
    ends = np.stack(
        [t.regs[c].to_numpy(dtype=np.int64, na_value=-1) for c in ("start_event", "end_event")],
        axis=1,
    ).ravel()
    rr = np.repeat(rr, 2)
    seq = np.flatnonzero((rr >= 0) & (ends >= 0))
    ranks.append(rr[seq])
    events.append(ends[seq])
    return np.concatenate(ranks), np.concatenate(events)


def _time_order(rank: Any, ts: Any) -> Any:
    """The stable order of events by task rank, then time (Go sorts each
    task's list stably by time). One sort of a packed key where it fits."""
    if len(ts) == 0:
        return np.zeros(0, dtype=np.intp)
    lo = int(ts.min())
    span = int(ts.max()) - lo + 1
    if (int(rank.max()) + 1) * span < 2**63:
        return np.argsort(rank * span + (ts - lo), kind="stable")
    return np.lexsort((ts, rank))


def _ints(col: pa.ChunkedArray) -> tuple[Any, Any]:
    """A gathered integer column as int64 numpy (0 where null) and where it is null."""
    arr = col.combine_chunks()
    if arr.null_count:
        arr = arr.fill_null(0)
        null = col.is_null().to_numpy()
    else:
        null = np.zeros(len(arr), dtype=bool)
    return arr.to_numpy(zero_copy_only=False).astype(np.int64), null


def _dictionary(col: pa.ChunkedArray) -> tuple[Any, pa.Array]:
    """A gathered string column as codes into its distinct strings (large
    strings; null is the last, as ``""``)."""
    arr = col.combine_chunks()
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    words = pa.concat_arrays(
        [arr.dictionary.cast(pa.large_string()).fill_null(""), pa.array([""], pa.large_string())]
    )
    codes = arr.indices.fill_null(len(words) - 1).to_numpy(zero_copy_only=False)
    return codes.astype(np.intp), words


def _strings(col: pa.ChunkedArray) -> pa.Array:
    """A gathered string column as large strings (null: ``""``)."""
    codes, words = _dictionary(col)
    return words.take(pa.array(codes))


def _quoted(words: pa.Array) -> pa.Array:
    """go_quote of each of ``words`` (distinct strings, as few as the trace has)."""
    return pa.array([go_quote(w) for w in words.to_pylist()], pa.large_string())


def _used(codes: Any, n: int) -> tuple[Any, Any]:
    """The distinct values of ``codes`` (in 0..n-1, ascending) and each code's
    position among them."""
    used = np.flatnonzero(np.bincount(codes, minlength=n))
    at = np.zeros(n, dtype=np.intp)
    at[used] = np.arange(len(used))
    return used, at[codes]


def _join(*parts: Any) -> pa.Array:
    """Element-wise concatenation of large-string arrays and Python strings."""
    args = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", pa.large_string()))


def _describe(trace: Trace, t: _Tasks, rows: _PageRows, sem: GoSemantics) -> pa.Array:
    """cmd/trace's describeEvent of each row, as large strings. Each text is
    made once per distinct name or per event, then taken per row: no string
    is built per row in Python."""
    n = len(rows.event)
    code = np.zeros(n, dtype=np.int64)
    texts: list[pa.Array] = []
    base = 0

    def add(where: Any, words: pa.Array, at: Any) -> None:
        """Rows ``where`` say ``words[at]``."""
        nonlocal base
        code[where] = base + at
        texts.append(words)
        base += len(words)

    def rows_of(kind: str) -> Any:
        return np.flatnonzero(rows.how == _DESCRIBED[kind])

    named = np.flatnonzero(rows.how <= _DESCRIBED["TaskBegin"])  # region or task begin
    used, name_at = _used(rows.name[named], len(rows.names))
    quoted = _quoted(rows.names.take(pa.array(used)))
    qname = np.zeros(n, dtype=np.intp)
    qname[named] = name_at
    for kind, verb in (("RegionBegin", "begin"), ("RegionEnd", "end")):
        at = rows_of(kind)
        add(at, _join("region ", quoted, " " + verb), qname[at])

    at = rows_of("TaskBegin")
    d = "D" if sem.task_text_typo else "ID"
    add(
        at,
        _join(
            "task ",
            quoted.take(pa.array(qname[at])),
            f" ({d} ",
            pc.cast(pa.array(rows.task_id[at]), pa.large_string()),
            ", parent ",
            _begin_parents(trace, rows.event[at]),
            ") begin",
        ),
        np.arange(len(at)),
    )
    at = rows_of("TaskEnd")
    add(at, pa.array(["task end"], pa.large_string()), np.zeros(len(at), dtype=np.int64))
    at = rows_of("Log")
    add(at, _log_texts(t, rows.event[at], sem), np.arange(len(at)))
    at = rows_of("StateTransition")
    src, dst = (_strings(rows.moved[c]) for c in ("from_state", "to_state"))
    add(at, _join(src, " -> ", dst), np.arange(len(at)))
    return pa.concat_arrays(texts).take(pa.array(code))


def _begin_parents(trace: Trace, events: Any) -> pa.Array:
    """The parent task ID of each TaskBegin of ``events`` (events rows) as
    describeEvent prints it: NO_TASK's number for none."""
    tt = trace.tasks
    begin = event_rows(tt["start_event"])
    # The first tasks row that a begin event opens.
    by = np.flatnonzero(begin >= 0)
    by = by[np.argsort(begin[by], kind="stable")]
    at, hit = values_at(begin[by], by, events)
    parent = tt["parent_id"].combine_chunks().take(pa.array(at, mask=~hit))
    return pc.cast(parent, pa.large_string()).fill_null(str(NO_TASK))


def _log_texts(t: _Tasks, events: Any, sem: GoSemantics) -> pa.Array:
    """describeEvent of each Log of ``events`` (events rows): its message, and
    its category where the release prints it."""
    logs = t.logs
    ev = logs["event"].to_numpy(dtype=np.int64)
    by = np.argsort(ev, kind="stable")
    at, hit = values_at(ev[by], by, events)
    at[~hit] = len(logs)  # a Log the logs table lacks: "" (an empty row last)
    cat = np.append(logs["category"].to_numpy(dtype=object), "")[at]
    msg = np.append(logs["message"].to_numpy(dtype=object), "")[at]
    codes, distinct = pd.factorize(msg)
    qmsg = _quoted(pa.array(distinct, pa.large_string())).take(pa.array(codes))
    # Go 1.22-1.26 print the category-less format when there is one.
    plain = (cat != "") if sem.task_text_typo else (cat == "")
    return pc.if_else(
        pa.array(plain, pa.bool_()),
        _join("log ", qmsg),
        _join("log (category: ", pa.array(cat, pa.large_string()), "): ", qmsg),
    )
