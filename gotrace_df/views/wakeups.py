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
import pyarrow as pa

from gotrace_df.views._common import factorize_ints, group_stats, semantics, trace_window
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
#: The waker leaves, in the order of their codes.
_LEAVES = (*LEAF_BY_REASON.values(), RUNTIME_LEAF)


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
        there is none), ``waker_leaf`` (category: ``"(netpoller)"``,
        ``"(timer)"`` or ``"(runtime)"`` when ``waker_goid`` is null, else
        null), ``wakee_goid``, ``reason`` (category: the wakee's block reason,
        or ``"created"``), ``wait_start_ns`` (Int64: when the wait began; a
        wait first seen through a status event began at the Sync before it,
        as the ``spans`` table has it; null for a creation) and ``wait_ns``
        (Int64: ``ts - wait_start_ns``).

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> ev = gt.wakeup_events(tr)
    >>> bool((ev["wait_ns"].dropna() >= 0).all())
    True
    """
    e = _edges(trace, start_ns, end_ns)
    no_g = e.waker < 0
    no_wait = e.wait_start < 0
    leaf = np.where(no_g, e.leaf, -1)
    return pd.DataFrame(
        {
            "event": e.event,
            "ts": e.ts,
            "waker_goid": pd.arrays.IntegerArray(e.waker, no_g),
            "waker_leaf": pd.Categorical.from_codes(leaf, categories=pd.Index(_LEAVES)),
            "wakee_goid": e.wakee,
            "reason": pd.Categorical.from_codes(e.reason, categories=pd.Index(e.reasons)),
            "wait_start_ns": pd.arrays.IntegerArray(e.wait_start, no_wait.copy()),
            "wait_ns": pd.arrays.IntegerArray(e.ts - e.wait_start, no_wait),
        }
    )


class _Edges:
    """Wakeups and creations as numpy columns, in event order: waker goid
    (-1: none) and its leaf code (into ``_LEAVES``), wakee goid, reason code
    (into ``reasons``, which holds ``"created"``), wait start (-1: none)."""

    def __init__(self, cols: dict[str, Any], reasons: list[str]) -> None:
        self.event: np.ndarray[Any, np.dtype[np.int64]] = cols["event"]
        self.ts: np.ndarray[Any, np.dtype[np.int64]] = cols["ts"]
        self.waker: np.ndarray[Any, np.dtype[np.int64]] = cols["waker"]
        self.wakee: np.ndarray[Any, np.dtype[np.int64]] = cols["wakee"]
        self.reason: np.ndarray[Any, np.dtype[np.int64]] = cols["reason"]
        self.wait_start: np.ndarray[Any, np.dtype[np.int64]] = cols["wait_start"]
        self.reasons = reasons
        # The leaf of each reason, then of each edge.
        leaf_of = np.array(
            [_LEAVES.index(LEAF_BY_REASON.get(r, RUNTIME_LEAF)) for r in reasons], dtype=np.int64
        )
        self.leaf = leaf_of[self.reason]


def _edges(trace: Trace, start_ns: int | None, end_ns: int | None) -> _Edges:
    """The trace's wakeups and creations (in the time window, if any)."""
    unblocks, reasons = _unblocks(trace)
    if CREATED not in reasons:
        reasons = [*reasons, CREATED]
    created = _creations(trace, reasons.index(CREATED))
    cols = {k: np.concatenate([unblocks[k], created[k]]) for k in unblocks}
    order = np.argsort(cols["event"], kind="stable")
    window = trace_window(trace, start_ns, end_ns)
    if window is not None:
        ts = cols["ts"][order]
        order = order[(ts >= window[0]) & (ts <= window[1])]
    return _Edges({k: v[order] for k, v in cols.items()}, reasons)


def _unblocks(trace: Trace) -> tuple[dict[str, Any], list[str]]:
    """The Waiting spans ended by a transition to Runnable, as edge columns,
    and the reasons their codes index."""
    spans = trace.columns("spans", ["state"])
    rows = rows_where(spans, "state", ["Waiting"])
    w = trace.columns("spans", ["goid", "reason", "start", "end_event"], rows=rows)
    w = w.filter(w["end_event"].is_valid())
    end_event = w["end_event"].to_numpy().astype(np.int64)
    ev = take_events(trace, end_event, ["ts", "g", "to_state"])
    ok = ev["to_state"] == "Runnable"
    reason, reasons = _codes(w["reason"])
    return {
        "event": end_event[ok],
        "ts": ev["ts"][ok],
        "waker": _goid_or_none(ev["g"])[ok],
        "wakee": w["goid"].to_numpy()[ok],
        "reason": reason[ok],
        "wait_start": w["start"].to_numpy()[ok],
    }, reasons


def _codes(col: pa.ChunkedArray) -> tuple[np.ndarray[Any, np.dtype[np.int64]], list[str]]:
    """A string column as codes into a list of its values (null: '')."""
    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    arr = col.unify_dictionaries().combine_chunks() if col.num_chunks else None
    if arr is None:
        return np.zeros(0, dtype=np.int64), [""]
    words = [w or "" for w in arr.dictionary.to_pylist()]
    if "" not in words:
        words.append("")
    null = words.index("")
    codes = arr.indices.fill_null(null).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, words


def _creations(trace: Trace, created: int) -> dict[str, Any]:
    """The goroutine creations (NotExist -> Runnable) as edge columns with
    reason code ``created``."""
    rows = rows_where(trace.columns("events", ["from_state"]), "from_state", ["NotExist"])
    ev = take_events(trace, rows, ["ts", "g", "resource", "resource_id", "to_state"])
    ok = (ev["resource"] == "Goroutine") & (ev["to_state"] == "Runnable")
    n = int(ok.sum())
    return {
        "event": rows[ok],
        "ts": ev["ts"][ok],
        "waker": _goid_or_none(ev["g"])[ok],
        "wakee": np.asarray(ev["resource_id"], dtype=np.int64)[ok],
        "reason": np.full(n, created, dtype=np.int64),
        "wait_start": np.full(n, -1, dtype=np.int64),
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
        Sorted by ``count`` descending, then ``waker``, ``wakee`` (by name
        alphabetically; by goroutine by ID, leaves last), ``reason``:

        ``waker``, ``wakee`` (category of str node labels: the group name or
        leaf; with ``by="goroutine"`` ``"G<id>"`` or the leaf), with
        ``by="goroutine"`` also ``waker_goid`` (Int64, null for a leaf) and
        ``wakee_goid``; ``reason`` (category: the wakee's block reason as the
        runtime wrote it:
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
    e = _edges(trace, start_ns, end_ns)
    labels, ids, waker, wakee = _nodes(trace, e, by)
    n_nodes = len(labels)
    reasons = np.asarray(e.reasons, dtype=object)
    n_reasons = len(reasons)
    keys, edge = factorize_ints((waker * n_nodes + wakee) * n_reasons + e.reason)
    n = len(keys)
    count = np.bincount(edge, minlength=n).astype(np.int64)
    waited = e.wait_start >= 0
    st = group_stats(edge[waited], (e.ts - e.wait_start)[waited], n)
    we_r, r = np.divmod(keys, n_reasons)
    wk, we = np.divmod(we_r, n_nodes)
    # Most wakeups first, then by node (groups by name, goroutines by ID,
    # leaves last) and reason; integer ranks, not a sort of the strings.
    node_rank = _rank(labels) if ids is None else np.arange(n_nodes)
    order = np.lexsort((_rank(reasons)[r], node_rank[we], node_rank[wk], -count))
    wk, we, r = wk[order], we[order], r[order]
    edges = pd.DataFrame(
        {
            c: pd.Categorical.from_codes(v, categories=pd.Index(labels)).remove_unused_categories()
            for c, v in (("waker", wk), ("wakee", we))
        }
    )
    if ids is not None:
        leaf = wk >= len(ids)
        edges["waker_goid"] = pd.arrays.IntegerArray(np.where(leaf, 0, ids[wk % len(ids)]), leaf)
        edges["wakee_goid"] = ids[we]
    edges["reason"] = pd.Categorical.from_codes(
        r, categories=pd.Index(reasons)
    ).remove_unused_categories()
    edges["count"] = count[order]
    edges["wait_ns"] = pd.arrays.IntegerArray(st.total[order], st.count[order] == 0)
    for c, v in st.columns("wait_", _STATS).items():
        edges[c] = v[order]
    return edges


def _rank(words: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The alphabetical rank of each string."""
    rank = np.empty(len(words), dtype=np.int64)
    rank[np.argsort(words, kind="stable")] = np.arange(len(words))
    return rank


def _nodes(
    trace: Trace, e: _Edges, by: str
) -> tuple[np.ndarray[Any, Any], Any, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Node labels, the goroutine ID of each node (None by name), and the
    node of each edge's waker and wakee: goroutines (or their groups) first,
    then the leaves."""
    both = np.concatenate([e.waker, e.wakee])
    ids = None
    if by == "name":
        names, codes = _group_codes(trace, both)
    else:
        # The -1 of "no goroutine" gets a node too, never used: leaves replace it.
        ids, found = factorize_ints(both)
        codes = found.astype(np.int64)
        names = np.asarray(pd.Series(ids).astype(str).radd("G"), dtype=object)
    waker, wakee = codes[: len(e.waker)], codes[len(e.waker) :]
    no_g = e.waker < 0
    waker[no_g] = len(names) + e.leaf[no_g]
    return np.concatenate([names, np.asarray(_LEAVES, dtype=object)]), ids, waker, wakee


def _group_codes(
    trace: Trace, goids: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, np.dtype[np.int64]]]:
    """The goroutine views' group names (object array) and the code of each
    goroutine's group among them (a goroutine they do not know: '')."""
    g = summarize(trace, semantics(None)).goroutines
    code_of, labels = pd.factorize(g["name"].astype(object).fillna(""))
    names = np.asarray(labels, dtype=object)
    if "" not in set(names):
        names = np.append(names, "")
    unknown = int(np.flatnonzero(names == "")[0])
    known = g["goid"].to_numpy(dtype=np.int64)
    out = np.full(len(goids), unknown, dtype=np.int64)
    if len(known):
        order = np.argsort(known, kind="stable")
        at = np.clip(np.searchsorted(known, goids, sorter=order), 0, len(known) - 1)
        hit = known[order[at]] == goids
        out[hit] = code_of[order[at[hit]]]
    return names, out
