"""Who woke whom: the edges between goroutines that unblock or create others.

A *wakeup* is a goroutine StateTransition Waiting -> Runnable (the runtime's
GoUnblock): the goroutine of the event's context is the waker, the goroutine
that changes state the wakee, and the wait it ends is the ``Waiting`` span the
transition closes (its reason is the wakee's block reason, as the runtime wrote
it). A *creation* (NotExist -> Runnable, GoCreate) is an edge from the creator
with reason ``"created"`` and no wait.

An unblock whose event has no goroutine was done by the scheduler itself, on a
thread between goroutines (or by sysmon, with no P). The events say no more
than the wakee's block reason, so the waker is a named leaf chosen by it:

* ``"(netpoller)"``: reason ``"network"`` (the network poller made it ready);
* ``"(timer)"``: reason ``"sleep"`` (time.Sleep's timer fired);
* ``"(runtime)"``: any other reason (timer channels, GC and system goroutine
  waits, a wait found at the trace start with no reason, ...).

The same rule names a creation with no goroutine in its context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gotrace_df.views._common import group_stats, semantics, trace_window
from gotrace_df.views._events import rows_where, take_events
from gotrace_df.views._summary import summarize

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["wakeup_events", "wakeups", "LEAF_BY_REASON", "RUNTIME_LEAF", "CREATED"]

#: The waker of an unblock with no goroutine, by the wakee's block reason.
LEAF_BY_REASON = {"network": "(netpoller)", "sleep": "(timer)"}
#: The waker of an unblock with no goroutine for every other reason.
RUNTIME_LEAF = "(runtime)"
#: The reason of a creation edge.
CREATED = "created"

_STATS = ("p50", "p90", "p99", "max")


def wakeup_events(
    trace: Trace, *, start_ns: int | None = None, end_ns: int | None = None
) -> pd.DataFrame:
    """Every wakeup and creation of the trace, one row each, in event order:
    the edge data :func:`wakeups` aggregates (and critical paths follow).

    Parameters
    ----------
    trace
        A parsed trace.
    start_ns, end_ns
        Only the wakeups whose event is inside this time window (absolute ns).

    Returns
    -------
    pandas.DataFrame
        ``event`` (events row of the transition), ``ts`` (its time),
        ``waker_goid`` (Int64: the goroutine of the event's context, null when
        there is none), ``waker_leaf`` (``"(netpoller)"``, ``"(timer)"`` or
        ``"(runtime)"`` when ``waker_goid`` is null, else ``""``),
        ``wakee_goid``, ``reason`` (the wakee's block reason, or
        ``"created"``), ``wait_start_ns`` (Int64: when the wait began; a wait
        already under way when the trace began counts from when the trace first
        saw it; null for a creation) and ``wait_ns`` (Int64: ``ts -
        wait_start_ns``).

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> ev = gt.wakeup_events(tr)
    >>> bool((ev["wait_ns"].dropna() >= 0).all())
    True
    """
    unblocks = _unblocks(trace)
    created = _creations(trace)
    cols = {k: np.concatenate([unblocks[k], created[k]]) for k in unblocks}
    order = np.argsort(cols["event"], kind="stable")
    window = trace_window(trace, start_ns, end_ns)
    if window is not None:
        ts = cols["ts"][order]
        order = order[(ts >= window[0]) & (ts <= window[1])]
    cols = {k: v[order] for k, v in cols.items()}
    no_g = cols["waker_goid"] < 0
    wait_null = cols["wait_start_ns"] < 0
    leaf = np.full(len(no_g), "", dtype=object)
    if no_g.any():
        reasons = pd.Series(cols["reason"][no_g])
        leaf[no_g] = reasons.map(LEAF_BY_REASON).fillna(RUNTIME_LEAF).to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "event": cols["event"],
            "ts": cols["ts"],
            "waker_goid": pd.arrays.IntegerArray(cols["waker_goid"], no_g),
            "waker_leaf": leaf,
            "wakee_goid": cols["wakee_goid"],
            "reason": cols["reason"],
            "wait_start_ns": pd.arrays.IntegerArray(cols["wait_start_ns"], wait_null.copy()),
            "wait_ns": pd.arrays.IntegerArray(cols["ts"] - cols["wait_start_ns"], wait_null),
        }
    )


def _unblocks(trace: Trace) -> dict[str, Any]:
    """The Waiting spans ended by a transition to Runnable, as wakeup columns
    (waker -1 for none)."""
    spans = trace.columns("spans", ["state"])
    rows = rows_where(spans, "state", ["Waiting"])
    w = trace.columns("spans", ["goid", "reason", "start", "end_event"], rows=rows)
    ended = w["end_event"].is_valid().to_numpy(zero_copy_only=False)
    w = w.filter(ended)
    end_event = w["end_event"].to_numpy().astype(np.int64)
    ev = take_events(trace, end_event, ["ts", "g", "to_state"])
    ok = ev["to_state"] == "Runnable"
    reason = w["reason"].to_numpy(zero_copy_only=False)
    return {
        "event": end_event[ok],
        "ts": ev["ts"][ok],
        "waker_goid": _goid_or_none(ev["g"])[ok],
        "wakee_goid": w["goid"].to_numpy()[ok],
        "reason": np.asarray(pd.Series(reason).fillna(""), dtype=object)[ok],
        "wait_start_ns": w["start"].to_numpy()[ok],
    }


def _creations(trace: Trace) -> dict[str, Any]:
    """The goroutine creations (NotExist -> Runnable) as wakeup columns."""
    rows = rows_where(trace.columns("events", ["from_state"]), "from_state", ["NotExist"])
    ev = take_events(trace, rows, ["ts", "g", "resource", "resource_id", "to_state"])
    ok = (ev["resource"] == "Goroutine") & (ev["to_state"] == "Runnable")
    n = int(ok.sum())
    return {
        "event": rows[ok],
        "ts": ev["ts"][ok],
        "waker_goid": _goid_or_none(ev["g"])[ok],
        "wakee_goid": np.asarray(ev["resource_id"], dtype=np.int64)[ok],
        "reason": np.full(n, CREATED, dtype=object),
        "wait_start_ns": np.full(n, -1, dtype=np.int64),
    }


def _goid_or_none(g: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    """A goroutine column as int64, -1 where the event has no goroutine."""
    if isinstance(g, pd.arrays.IntegerArray):
        return np.asarray(g.to_numpy(dtype=np.int64, na_value=-1))
    return np.asarray(g, dtype=np.int64)


def wakeups(
    trace: Trace,
    *,
    by: str = "name",
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> pd.DataFrame:
    """Who woke whom: one row per (waker, wakee, reason), a tidy edge list.

    ``nx.from_pandas_edgelist(df, "waker", "wakee", edge_attr=True,
    create_using=nx.MultiDiGraph)`` and DuckDB take it as is. The waker of an
    unblock is the goroutine of the event that made the wakee Runnable; an
    unblock with no goroutine comes from a named leaf (``"(netpoller)"``,
    ``"(timer)"``, ``"(runtime)"``: see :mod:`gotrace_df.views.wakeups`).
    Creations are edges with reason ``"created"``.

    Parameters
    ----------
    trace
        A parsed trace.
    by
        ``"name"``: goroutines grouped by start function, named as
        :func:`goroutine_analysis` names its groups (``""``: no stack);
        ``"goroutine"``: one node per goroutine.
    start_ns, end_ns
        Only the wakeups whose event is inside this time window (absolute ns).

    Returns
    -------
    pandas.DataFrame
        Sorted by ``count`` descending, then ``waker``, ``wakee``, ``reason``:

        ``waker``, ``wakee`` (str node labels: the group name or leaf; with
        ``by="goroutine"`` ``"G<id>"`` or the leaf), with ``by="goroutine"``
        also ``waker_goid`` (Int64, null for a leaf) and ``wakee_goid``;
        ``reason`` (the wakee's block reason as the runtime wrote it:
        ``"chan receive"``, ``"sync"``, ``"sleep"``, ...; or ``"created"``),
        ``count`` (wakeups), and of the waits these wakeups ended (null for
        creations) ``wait_ns`` (total), ``wait_p50_ns``, ``wait_p90_ns``,
        ``wait_p99_ns``, ``wait_max_ns`` (observed values, ``inverted_cdf``).

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> df = gt.wakeups(tr)
    >>> list(df.columns)[:4]
    ['waker', 'wakee', 'reason', 'count']
    >>> int(df["count"].sum()) == len(gt.wakeup_events(tr))
    True
    """
    if by not in ("name", "goroutine"):
        raise ValueError(f"by must be 'name' or 'goroutine' (got {by!r})")
    ev = wakeup_events(trace, start_ns=start_ns, end_ns=end_ns)
    waker_goid = ev["waker_goid"].to_numpy(dtype=np.int64, na_value=-1)
    wakee_goid = ev["wakee_goid"].to_numpy()
    leaf = ev["waker_leaf"].to_numpy(dtype=object)
    if by == "name":
        waker = _names(trace, waker_goid)
        wakee = _names(trace, wakee_goid)
    else:
        waker = _labels(waker_goid)
        wakee = _labels(wakee_goid)
    waker[waker_goid < 0] = leaf[waker_goid < 0]

    # One code per distinct (waker, wakee, reason) (and goroutine pair when
    # by goroutine, so two goroutines never share a label's row).
    keys = pd.DataFrame({"waker": waker, "wakee": wakee, "reason": ev["reason"].to_numpy()})
    if by == "goroutine":
        keys["waker_goid"] = waker_goid
        keys["wakee_goid"] = wakee_goid
    parts = [pd.factorize(keys[c]) for c in keys.columns]
    stacked = np.stack([p[0] for p in parts], axis=1).reshape(len(keys), len(parts))
    combos, codes = np.unique(stacked, axis=0, return_inverse=True)
    codes = codes.reshape(-1)
    n = len(combos)
    edges = pd.DataFrame(
        {c: np.asarray(p[1])[combos[:, i]] for i, (c, p) in enumerate(zip(keys.columns, parts))}
    )
    edges["count"] = np.bincount(codes, minlength=n).astype(np.int64)
    waited = ev["wait_ns"].notna().to_numpy()
    st = group_stats(codes[waited], ev["wait_ns"].to_numpy(dtype=np.int64, na_value=0)[waited], n)
    edges["wait_ns"] = pd.arrays.IntegerArray(st.total, st.count == 0)
    for c, v in st.columns("wait_", _STATS).items():
        edges[c] = v
    if by == "goroutine":
        w = edges["waker_goid"].to_numpy(dtype=np.int64)
        edges["waker_goid"] = pd.arrays.IntegerArray(w, w < 0)
        edges["wakee_goid"] = edges["wakee_goid"].astype(np.int64)
        first = ["waker", "wakee", "waker_goid", "wakee_goid", "reason"]
        edges = edges[first + [c for c in edges.columns if c not in first]]
    edges = edges.sort_values(
        ["count", "waker", "wakee", "reason"], ascending=[False, True, True, True], kind="stable"
    )
    return edges.reset_index(drop=True)


def _names(trace: Trace, goids: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The goroutine views' group name of each goroutine ID ('' if unknown)."""
    g = summarize(trace, semantics(None)).goroutines
    known = g["goid"].to_numpy(dtype=np.int64)
    names = np.asarray(g["name"].astype(object).fillna(""), dtype=object)
    if len(known) == 0:
        return np.full(len(goids), "", dtype=object)
    order = np.argsort(known, kind="stable")
    at = np.clip(np.searchsorted(known, goids, sorter=order), 0, len(known) - 1)
    hit = known[order[at]] == goids
    return np.where(hit, names[order[at]], "").astype(object)


def _labels(goids: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``"G<id>"`` per goroutine ID, as cmd/trace labels goroutines."""
    return np.asarray(pd.Series(goids).astype(str).radd("G"), dtype=object)
