"""Critical paths: why a request took as long as it did.

The critical path of a window on one goroutine (a task from its begin to its
end, or a goroutine's own time) is found walking *backwards* from the window's
end, following the goroutines that unblocked or created the one on the path,
but only while the one on the path was waiting (Go's runtime team's rule):

* running, in a syscall or runnable just before time ``t``: a segment of that
  state on the same goroutine (``"running"`` time inside one of its GC mark
  assist ranges is ``"GC assist"``);
* waiting in ``[ws, we)`` with ``we == t``, ended by goroutine ``W`` (the
  waker of :func:`~gotrace_df.wakeup_events`) running at ``we``: the path
  jumps to ``W`` at ``we`` and walks ``W`` back no further than ``ws`` (nor
  the window start), never into ``W``'s unrelated past, then returns to the
  waiting goroutine at that bound;
* a wait ended by the scheduler (the waker is a leaf: ``"(netpoller)"``,
  ``"(timer)"``, ``"(runtime)"``) or still going on at ``t``: one
  ``"blocked"`` segment, named by the wait's reason and leaf;
* the goroutine's creation at ``t``: the path continues on its creator;
* before the goroutine's first state in the trace (a goroutine or a wait that
  began before the trace): one ``"before trace"`` segment down to the window
  start.

Every segment is a piece of one ``spans`` row (same goroutine, same state)
but ``"before trace"``, and the segments partition the window. The walk is
gotrace-core's (``critical.rs``); this module picks its inputs and labels its
output.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from gotrace_df import _core
from gotrace_df.export.redact import is_stdlib_function
from gotrace_df.views._cache import once
from gotrace_df.views._common import int64_data
from gotrace_df.views._events import take_events
from gotrace_df.views._summary import frame
from gotrace_df.views.wakeups import LEAF_BY_REASON, RUNTIME_LEAF

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = [
    "CATEGORIES",
    "EDGES",
    "LEAVES",
    "TASK_ROW",
    "breakdown_keys",
    "critical_path",
    "critical_path_breakdown",
    "critical_paths",
]

#: Segment categories, in the order of the core's codes.
CATEGORIES = ("running", "runnable", "syscall", "GC assist", "blocked", "before trace")
#: How the path enters a segment's goroutine from the segment before it.
EDGES = ("unblocked", "created", "waited")
#: The leaves that end waits, as wakeup_events names them.
LEAVES = (*LEAF_BY_REASON.values(), RUNTIME_LEAF)
#: The row of the per-task-type breakdown that holds the task durations.
TASK_ROW = "(task)"

Array = np.ndarray[Any, Any]


class _Graph:
    """The core's inputs for one trace: the spans (goid, times, the events
    that enter and leave them), the events columns the states, stacks,
    reasons and edges are read from, and the GC mark assist ranges; Arrow
    tables the core reads in place."""

    def __init__(self, trace: Trace) -> None:
        self.spans = trace.columns("spans", ["goid", "start", "end", "start_event", "end_event"])
        self.events = trace.columns(
            "events", ["g", "stack_id", "transition_stack_id", "from_state", "to_state", "reason"]
        )
        self.assists = _assists(trace)

    def paths(
        self, goid: Array, start: Array, end: Array, stack: Array
    ) -> tuple[pa.Table, list[str]]:
        """The core's segments of each query (see ``critical.rs``) and the
        reasons their ``reason`` codes name."""
        seg, reasons = _core.critical_paths(
            self.spans,
            self.events,
            [int64_data(c) for c in self.assists],
            [int64_data(c) for c in (goid, start, end, stack)],
        )
        return pa.table(seg), reasons


def _graph(trace: Trace) -> _Graph:
    return once(trace, "critical_graph", lambda: _Graph(trace))


def _ints(col: pa.ChunkedArray) -> Array:
    """An integer column as int64, -1 for null."""
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if col.null_count:
        col = col.fill_null(-1)
    return np.asarray(col.to_numpy(), dtype=np.int64)


def _fill(values: Any) -> Array:
    """take_events' integers as int64, -1 for null."""
    if isinstance(values, pd.arrays.IntegerArray):
        return np.asarray(values.to_numpy(dtype=np.int64, na_value=-1))
    return np.asarray(values, dtype=np.int64)


def _codes(col: pa.ChunkedArray) -> tuple[Array, list[str]]:
    """A string column as codes into its distinct values (null: '')."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    enc = arr.fill_null("").dictionary_encode()
    words = [str(w) for w in enc.dictionary.to_pylist()]
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), words


def _assists(trace: Trace) -> list[Array]:
    """The GC mark assist ranges (goid, start, end, stack where each began),
    sorted by (goid, start); one open at the trace end ends there."""
    gc = trace.columns("gc", ["kind", "goid", "start", "end", "start_event"])
    kind, kinds = _codes(gc["kind"])
    mine = kind == (kinds.index("GC mark assist") if "GC mark assist" in kinds else -2)
    goid = _ints(gc["goid"])[mine]
    start = _ints(gc["start"])[mine]
    end = _ints(gc["end"])[mine]
    end[end < 0] = trace.end_ns
    stack = _fill(take_events(trace, _ints(gc["start_event"])[mine], ["stack_id"])["stack_id"])
    order = np.lexsort((start, goid))
    return [np.ascontiguousarray(c[order]) for c in (goid, start, end, stack)]


# -- queries -----------------------------------------------------------------


def _task_queries(trace: Trace, tasks: Iterable[int] | None) -> pd.DataFrame:
    """task_id, name, goid, start, end, stack of the tasks (those that ended
    in the trace when ``tasks`` is None)."""
    t = trace.columns("tasks", ["task_id", "name", "start", "end", "end_goid", "end_event"])
    ids = _ints(t["task_id"])
    end = _ints(t["end"])
    if tasks is None:
        rows = np.flatnonzero(end >= 0)
    else:
        want = np.asarray(list(tasks), dtype=np.int64)
        pos = {int(v): i for i, v in enumerate(ids)}
        missing = [int(v) for v in want if int(v) not in pos]
        if missing:
            raise ValueError(f"no task {missing[0]} in the trace")
        rows = np.array([pos[int(v)] for v in want], dtype=np.int64)
        open_ = rows[end[rows] < 0]
        if len(open_):
            raise ValueError(f"task {int(ids[open_[0]])} did not end in the trace")
    start = _ints(t["start"])[rows]
    start[start < 0] = trace.start_ns
    names, words = _codes(t["name"])
    stack = _fill(take_events(trace, _ints(t["end_event"])[rows], ["stack_id"])["stack_id"])
    return pd.DataFrame(
        {
            "task_id": ids[rows],
            "name": pd.Categorical.from_codes(names[rows], categories=pd.Index(words)),
            "goid": _ints(t["end_goid"])[rows],
            "start": np.minimum(start, end[rows]),
            "end": end[rows],
            "stack": stack,
        }
    )


def _goroutine_query(
    trace: Trace, g: _Graph, goid: int, start_ns: int | None, end_ns: int | None
) -> tuple[int, int]:
    """The window of a goroutine: its life in the trace unless given, clipped
    to the trace and to its life's end."""
    goids, starts, ends = (_ints(g.spans[c]) for c in ("goid", "start", "end"))
    mine = np.flatnonzero(goids == goid)
    if not len(mine):
        raise ValueError(f"no goroutine {goid} in the trace")
    life_end = int(ends[mine[-1]])
    start = int(starts[mine[0]]) if start_ns is None else int(start_ns)
    end = life_end if end_ns is None else min(int(end_ns), life_end)
    start = max(start, trace.start_ns)
    if start > end:
        raise ValueError(f"empty window: start_ns {start} after end_ns {end}")
    return start, end


# -- output ------------------------------------------------------------------


def _frame(trace: Trace, paths: tuple[pa.Table, list[str]]) -> pd.DataFrame:
    """The core's segments as the documented columns."""
    seg, reasons = paths
    goid, start, end, stack = (seg[c].to_numpy() for c in ("goid", "start", "end", "stack"))
    cat = seg["category"].to_numpy()
    edge = seg["edge"].to_numpy()
    # A blocked segment's reason: that of the event that began its wait.
    reason = seg["reason"].to_numpy()
    # A wait the scheduler ended is named for its reason, as wakeup_events does.
    leaf_of = np.array(
        [LEAVES.index(LEAF_BY_REASON.get(w, RUNTIME_LEAF)) for w in reasons], dtype=np.int8
    )
    by_leaf = np.flatnonzero(seg["leaf"].to_numpy(zero_copy_only=False))
    leaf = np.full(len(cat), -1, dtype=np.int8)
    leaf[by_leaf] = leaf_of[reason[by_leaf]]
    no_stack = stack < 0
    has_edge = edge >= 0
    return frame(
        {
            "goid": goid,
            "category": pd.Categorical.from_codes(cat, categories=pd.Index(CATEGORIES)),
            "reason": pd.Categorical.from_codes(reason, categories=pd.Index(reasons)),
            "leaf": pd.Categorical.from_codes(leaf, categories=pd.Index(LEAVES)),
            "start_ns": start,
            "end_ns": end,
            "duration_ns": end - start,
            "stack_id": pd.arrays.IntegerArray(np.where(no_stack, 0, stack), no_stack),
            "stack": _stack_labels(trace, stack),
            "edge": pd.Categorical.from_codes(edge, categories=pd.Index(EDGES)),
            "edge_ns": pd.arrays.IntegerArray(np.where(has_edge, start, 0), ~has_edge),
        }
    )


def _stack_labels(trace: Trace, stack: Array) -> pd.Categorical[str]:
    """Each stack's telling frame, ``"pkg.func file.go:42"``: its innermost
    frame outside Go's standard library (the program's own code), else its
    innermost frame; ``""`` for no stack. Labelled once per distinct stack."""
    # Stack IDs are few and small: a table by ID rather than a sort.
    ids = np.flatnonzero(np.bincount(stack + 1)[1:]) if len(stack) else np.zeros(0, np.int64)
    labels = _telling_frames(trace, ids)
    words = ["", *sorted(set(labels.values()))]
    code_of = {w: i for i, w in enumerate(words)}
    table = np.zeros(int(ids[-1]) + 2 if len(ids) else 1, dtype=np.int32)
    for i in ids:
        table[i] = code_of[labels.get(int(i), "")]
    # -1 (no stack) reads the table's last slot, 0: "".
    return pd.Categorical.from_codes(table[stack], categories=pd.Index(words))


def _telling_frames(trace: Trace, ids: Array) -> dict[int, str]:
    """The label of each of the stacks ``ids`` that has frames (see
    :func:`_stack_labels`)."""
    if not len(ids):
        return {}
    fr = trace.frames
    sid = _ints(fr["stack_id"])
    rows = np.flatnonzero(np.isin(sid, ids))
    part = fr.select(["depth", "function", "file", "line"]).take(pa.array(rows, pa.int64()))
    fn, fns = _codes(part["function"])
    file, files = _codes(part["file"])
    line = _ints(part["line"])
    # Innermost first within each stack; the first own frame, else the first.
    order = np.lexsort((_ints(part["depth"]), sid[rows]))
    stack_of = sid[rows][order]
    first = np.flatnonzero(np.r_[True, stack_of[1:] != stack_of[:-1]])
    own = ~np.array([is_stdlib_function(f) for f in fns], dtype=bool)[fn[order]]
    group = np.cumsum(np.r_[False, stack_of[1:] != stack_of[:-1]])
    pick = first.copy()
    own_rows = np.flatnonzero(own)
    found, at = np.unique(group[own_rows], return_index=True)
    pick[found] = own_rows[at]
    picked = order[pick]
    return {
        int(stack_of[f]): f"{fns[fn[r]]} {os.path.basename(files[file[r]])}:{line[r]}"
        for f, r in zip(first, picked, strict=True)
    }


# -- the API -----------------------------------------------------------------


def critical_path(
    trace: Trace,
    *,
    task: int | None = None,
    goroutine: int | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    by_task_type: str | None = None,
    by: str | Sequence[str] = "category",
) -> pd.DataFrame:
    """The critical path of a task or a goroutine's window: what the time went
    to, following the goroutines that kept it waiting.

    The walk (:mod:`gotrace_df.views.critical`) starts at the window's end
    on its goroutine and goes back in time. On goroutine G at time t: running,
    in a syscall or runnable just before t is a segment of G; a wait that a
    goroutine W ended at t sends the path to W, walked back only while G was
    waiting (to the wait's start or the window start), then back to G; a wait
    ended by the netpoller, a timer or the runtime (or not over yet) is one
    ``"blocked"`` segment; G's creation sends it to the creator; before G's
    first state in the trace it is ``"before trace"``.

    Parameters
    ----------
    trace
        A parsed trace.
    task
        A task ID: the window is the task's begin (or the trace start, if it
        began before) to its end, the walk starts on the goroutine that ended
        it. The task must have ended in the trace.
    goroutine
        A goroutine ID: the window is ``start_ns``..``end_ns``, by default the
        goroutine's life in the trace (an end after it exited is clipped to
        its exit); the walk starts on it at the window end.
    start_ns, end_ns
        With ``goroutine`` only: the window (absolute ns).
    by_task_type
        A task type (name): instead of one path, :func:`critical_path_breakdown`
        of every ended task of that type, aggregated: one row per ``by`` key
        with ``tasks`` (how many tasks' paths have time there), ``total_ns``,
        ``mean_ns`` (over all the type's tasks), ``p50_ns``, ``p90_ns``,
        ``p99_ns``, ``max_ns`` (observed per-task times, ``inverted_cdf``,
        tasks without that key counting 0) and ``share`` (of the tasks' total
        time); a first row, category ``"(task)"``, holds the task durations.
        Exactly one of ``task``, ``goroutine`` and ``by_task_type``.
    by
        With ``by_task_type``: ``"category"``, ``"stack"`` or
        ``("category", "stack")``.

    Returns
    -------
    pandas.DataFrame
        One row per segment, in time order; the segments are contiguous and
        their durations sum to the window:

        ``goid`` (int64); ``category`` (category): ``"running"``,
        ``"runnable"`` (scheduler latency), ``"syscall"``, ``"GC assist"``
        (running inside one of the goroutine's GC mark assist ranges),
        ``"blocked"`` (a wait with no goroutine to follow), ``"before trace"``
        (no state of the goroutine in the trace yet); ``reason`` (category:
        a blocked segment's block reason as the runtime wrote it, e.g.
        ``"chan receive"``, ``"sync"``, ``"sleep"``; else null); ``leaf``
        (category: the waker of a blocked segment's wait when it was
        ``"(netpoller)"``, ``"(timer)"`` or ``"(runtime)"``, as
        :func:`~gotrace_df.wakeup_events` names them; null when a goroutine
        ended it after the window or it never ended); ``start_ns``,
        ``end_ns``, ``duration_ns`` (int64, absolute ns); ``stack_id``
        (Int64) and ``stack`` (category, ``"pkg.func file.go:42"``: the
        innermost frame of the program's own code, else the innermost frame;
        ``""`` for none): for blocked, runnable and syscall segments the stack
        that entered the state (where it blocked, made the syscall), for
        running ones where it stood at the segment's end (where it next
        blocked, woke the next goroutine on the path, began an assist, ended
        the task), for GC assist where the assist began; ``edge`` (category):
        how the path reached this segment's goroutine from the previous
        segment's: ``"unblocked"`` (the previous goroutine unblocked this
        one), ``"created"`` (created it), ``"waited"`` (the previous goroutine
        began to wait here, and the path follows the one that ended the wait),
        null on the same goroutine; ``edge_ns`` (Int64: when, the segment's
        start; null with no edge).

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> task = int(gt.user_task_details(tr)["task_id"].iloc[0])
    >>> path = gt.critical_path(tr, task=task)
    >>> t = tr.tasks.to_pandas().set_index("task_id").loc[task]
    >>> int(path["duration_ns"].sum()) == int(t["end"] - t["start"])
    True
    >>> bool((path["start_ns"].iloc[1:].to_numpy() == path["end_ns"].iloc[:-1].to_numpy()).all())
    True
    """
    chosen = [x is not None for x in (task, goroutine, by_task_type)]
    if sum(chosen) != 1:
        raise ValueError("give exactly one of task, goroutine and by_task_type")
    if (start_ns is not None or end_ns is not None) and goroutine is None:
        raise ValueError("start_ns and end_ns go with goroutine")
    if by_task_type is not None:
        return _by_task_type(trace, by_task_type, by)
    g = _graph(trace)
    if task is not None:
        q = _task_queries(trace, [int(task)])
        query = [q[c].to_numpy() for c in ("goid", "start", "end", "stack")]
    else:
        assert goroutine is not None
        s, e = _goroutine_query(trace, g, int(goroutine), start_ns, end_ns)
        query = [np.array([v], dtype=np.int64) for v in (int(goroutine), s, e, -1)]
    seg = g.paths(*query)
    return _frame(trace, seg)


def critical_paths(trace: Trace, *, tasks: Iterable[int] | None = None) -> pd.DataFrame:
    """The critical paths of many tasks in one pass.

    Parameters
    ----------
    trace
        A parsed trace.
    tasks
        Task IDs (each must have ended in the trace); None: every task that
        ended in the trace.

    Returns
    -------
    pandas.DataFrame
        :func:`critical_path`'s columns, after ``task_id`` (int64) and
        ``task`` (category: the task type); each task's path in time order.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> paths = gt.critical_paths(tr)
    >>> per_task = paths.groupby("task_id")["duration_ns"].sum()
    >>> t = tr.tasks.to_pandas().dropna(subset=["end"]).set_index("task_id")
    >>> bool((per_task == (t["end"] - t["start"].fillna(tr.start_ns))).all())
    True
    """
    g = _graph(trace)
    q = _task_queries(trace, tasks)
    seg = g.paths(
        q["goid"].to_numpy(), q["start"].to_numpy(), q["end"].to_numpy(), q["stack"].to_numpy()
    )
    out = _frame(trace, seg)
    which = seg[0]["query"].to_numpy()
    # The types of the tasks with segments only (the paths are in query
    # order), in the order of all of them.
    name = q["name"].array
    first = np.ones(len(which), dtype=bool)
    np.not_equal(which[1:], which[:-1], out=first[1:])
    present = which[first]
    used = np.unique(name.codes[present])
    code = np.zeros(len(name.categories), dtype=np.int32)
    code[used] = np.arange(len(used))
    task = pd.Categorical.from_codes(code[name.codes[which]], categories=name.categories[used])
    out.insert(0, "task", pd.Series(task, index=out.index))
    out.insert(0, "task_id", q["task_id"].to_numpy()[which])
    return out


def critical_path_breakdown(
    path: pd.DataFrame, by: str | Sequence[str] = "category"
) -> pd.DataFrame:
    """Where a critical path's time went: total and share per category, per
    stack or per (category, stack), largest first.

    Parameters
    ----------
    path
        :func:`critical_path` (or :func:`critical_paths`: all its paths together).
    by
        ``"category"``, ``"stack"`` or ``("category", "stack")``.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``duration_ns`` (int64, the time on the path) and
        ``share`` (of the path's total), sorted by ``duration_ns`` descending;
        keys with no time are left out.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> task = int(gt.user_task_details(tr)["task_id"].iloc[0])
    >>> b = gt.critical_path_breakdown(gt.critical_path(tr, task=task))
    >>> round(float(b["share"].sum()), 6)
    1.0
    """
    keys = breakdown_keys(by)
    total = int(path["duration_ns"].sum())
    out = (
        path.groupby(keys, observed=True, sort=False)["duration_ns"]
        .sum()
        .reset_index()
        .astype({"duration_ns": np.int64})
    )
    out = out[out["duration_ns"] > 0]
    out["share"] = out["duration_ns"] / total if total else 0.0
    out = out.sort_values(["duration_ns", *keys], ascending=[False] + [True] * len(keys))
    return out.reset_index(drop=True)


def breakdown_keys(by: str | Sequence[str], *, name: str = "by") -> list[str]:
    """The key columns of a breakdown ``by`` (``"category"``, ``"stack"`` or
    both); a ValueError naming the argument ``name`` otherwise."""
    keys = [by] if isinstance(by, str) else list(by)
    if not keys or any(k not in ("category", "stack") for k in keys) or len(set(keys)) != len(keys):
        raise ValueError(
            f"{name} must be 'category', 'stack' or ('category', 'stack') (got {by!r})"
        )
    return keys


_STATS = {"p50": 0.50, "p90": 0.90, "p99": 0.99, "max": 1.0}


def _by_task_type(trace: Trace, name: str, by: str | Sequence[str]) -> pd.DataFrame:
    """critical_path(by_task_type=name): the breakdown over that type's tasks."""
    keys = breakdown_keys(by)
    q = _task_queries(trace, None)
    ids = q["task_id"][(q["name"] == name).to_numpy()].to_numpy()
    if not len(ids):
        raise ValueError(f"no ended task of type {name!r} in the trace")
    paths = critical_paths(trace, tasks=ids)
    order = np.argsort(ids, kind="stable")
    task_of = order[np.searchsorted(ids[order], paths["task_id"].to_numpy())]
    n_tasks = len(ids)
    key_codes, key_values = pd.MultiIndex.from_frame(paths[keys].astype(object)).factorize()
    per = np.zeros((n_tasks, len(key_values)), dtype=np.int64)
    np.add.at(per, (task_of, key_codes), paths["duration_ns"].to_numpy())
    duration = per.sum(axis=1)
    rows = (
        pd.DataFrame(list(key_values), columns=keys)
        if len(key_values)
        else pd.DataFrame(columns=keys)
    )
    table = np.concatenate([duration[:, None], per], axis=1)
    first = pd.DataFrame({k: [TASK_ROW if k == "category" else ""] for k in keys})
    out = pd.concat([first, rows], ignore_index=True)
    out["tasks"] = (table > 0).sum(axis=0).astype(np.int64)
    out["total_ns"] = table.sum(axis=0).astype(np.int64)
    out["mean_ns"] = out["total_ns"] / n_tasks
    for label, q_ in _STATS.items():
        out[f"{label}_ns"] = np.percentile(table, q_ * 100, axis=0, method="inverted_cdf").astype(
            np.int64
        )
    whole = int(duration.sum())
    out["share"] = out["total_ns"] / whole if whole else 0.0
    body = out.iloc[1:].sort_values("total_ns", ascending=False, kind="stable")
    out = pd.concat([out.iloc[:1], body], ignore_index=True)
    for k in keys:
        out[k] = out[k].astype("category")
    return out
