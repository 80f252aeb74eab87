"""Checks for parsed traces, public so users can run them in their own tests.

* :func:`canonical_events` renders the events table the way the oracle program
  (``tests/oracle``, built on ``golang.org/x/exp/trace``) prints Go's own
  events, so the two can be compared row by row.
* :func:`check_invariants` checks that every derived table agrees with the
  events table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any, Protocol

import pyarrow as pa

from gotrace_df.frames import end_parents

__all__ = ["canonical_events", "check_invariants", "InvariantError", "NO_TASK"]

#: ``trace.NoTask``: how Go prints a missing task or parent.
NO_TASK = 2**64 - 1


class _Tables(Protocol):
    events: pa.Table
    spans: pa.Table
    goroutines: pa.Table
    tasks: pa.Table
    regions: pa.Table
    logs: pa.Table
    gc: pa.Table
    stacks: pa.Table
    frames: pa.Table
    syncs: pa.Table
    experimental: pa.Table
    experimental_batches: pa.Table
    metrics: pa.Table
    cpu_samples: pa.Table
    procs: pa.Table


class InvariantError(AssertionError):
    """A derived table disagrees with the events table."""


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _by(table: pa.Table, key: str) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in _rows(table):
        if r[key] is not None:
            out[r[key]].append(r)
    return out


def _stacks(tr: _Tables) -> dict[int, list[list[Any]]]:
    frames: dict[int, list[list[Any]]] = defaultdict(list)
    for f in _rows(tr.frames):
        frames[f["stack_id"]].append([f["pc"], f["function"], f["file"], f["line"]])
    return {sid: frames.get(sid, []) for sid in tr.stacks.column("stack_id").to_pylist()}


def _id(v: int | None) -> int:
    return -1 if v is None else v


def _task(v: int | None) -> int:
    return NO_TASK if v is None else v


def canonical_events(tr: _Tables) -> Iterator[dict[str, Any]]:
    """Yield one dict per event, in the oracle's JSON form (see tests/oracle/README.md)."""
    stacks = _stacks(tr)
    syncs = {r["event"]: r for r in _rows(tr.syncs)}
    batches = _by(tr.experimental_batches, "event")
    ranges_end = {r["end_event"]: r for r in _rows(tr.gc) if r["end_event"] is not None}
    task_begin = {r["start_event"]: r for r in _rows(tr.tasks) if r["start_event"] is not None}
    end_parent = end_parents(tr.tasks, getattr(tr, "converted", False)).to_pylist()
    task_end = {
        r["end_event"]: {**r, "parent_id": p}
        for r, p in zip(_rows(tr.tasks), end_parent)
        if r["end_event"] is not None
    }
    logs = {r["event"]: r for r in _rows(tr.logs)}
    exp = _by(tr.experimental, "event")
    for i, e in enumerate(_rows(tr.events)):
        kind = e["kind"]
        d: dict[str, Any] = {
            "kind": kind,
            "t": e["ts"],
            "g": _id(e["g"]),
            "p": _id(e["p"]),
            "m": _id(e["m"]),
        }
        if e["stack_id"] is not None:
            d["stack"] = stacks[e["stack_id"]]
        if kind == "Sync":
            d["n"] = e["value"]
            s = syncs[i]
            if s["clock_trace"] is not None:
                d["clock"] = {
                    "trace": s["clock_trace"],
                    "wall": s["clock_wall"],
                    "mono": s["clock_mono"],
                }
            if i in batches:
                eb: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for b in batches[i]:
                    eb[b["experiment"]].append({"thread": b["thread"], "data": b["data"].hex()})
                d["expbatches"] = {k: eb[k] for k in sorted(eb)}
        elif kind == "Metric":
            d["name"] = e["name"]
            d["value"] = e["value"]
        elif kind == "Label":
            d["label"] = e["name"]
            d["resource"] = e["resource"]
            d["rid"] = _id(e["resource_id"])
        elif kind in ("RangeBegin", "RangeActive", "RangeEnd"):
            d["name"] = e["name"]
            d["resource"] = e["resource"]
            d["rid"] = _id(e["resource_id"])
            r = ranges_end.get(i)
            if kind == "RangeEnd" and r is not None and r["bytes_swept"] is not None:
                d["attrs"] = [
                    {"name": "bytes swept", "value": r["bytes_swept"]},
                    {"name": "bytes reclaimed", "value": r["bytes_reclaimed"]},
                ]
        elif kind in ("TaskBegin", "TaskEnd"):
            t = (task_begin if kind == "TaskBegin" else task_end)[i]
            d["task"] = _task(e["task_id"])
            d["parent"] = _task(t["parent_id"])
            d["type"] = e["name"]
        elif kind in ("RegionBegin", "RegionEnd"):
            d["task"] = _task(e["task_id"])
            d["type"] = e["name"]
        elif kind == "Log":
            lg = logs[i]
            d["task"] = _task(e["task_id"])
            d["category"] = lg["category"]
            d["message"] = lg["message"]
        elif kind == "StateTransition":
            d["resource"] = e["resource"]
            d["rid"] = _id(e["resource_id"])
            d["from"] = e["from_state"]
            d["to"] = e["to_state"]
            d["reason"] = e["reason"]
            if e["transition_stack_id"] is not None:
                d["tstack"] = stacks[e["transition_stack_id"]]
        elif kind == "Experimental":
            d["name"] = e["name"]
            args = exp.get(i, [])
            d["experiment"] = args[0]["experiment"] if args else ""
            d["args"] = {a["arg"]: a["value"] for a in args}
        yield d


def _fail(msg: str) -> None:
    raise InvariantError(msg)


def check_invariants(tr: _Tables) -> None:
    """Check that the derived tables agree with the events table.

    Raises :class:`InvariantError` naming the first disagreement.
    """
    ev = tr.events
    n = ev.num_rows
    ts = ev.column("ts").to_pylist()
    if any(b <= a for a, b in zip(ts, ts[1:])):
        _fail("event times are not strictly increasing")
    kinds = ev.column("kind").to_pylist()
    if n and (kinds[0] != "Sync" or kinds[-1] != "Sync"):
        _fail("the event stream must start and end with a Sync")
    nsync = [v for k, v in zip(kinds, ev.column("value").to_pylist()) if k == "Sync"]
    if nsync != list(range(1, len(nsync) + 1)):
        _fail(f"Sync numbers are not consecutive: {nsync[:10]}")
    if tr.syncs.num_rows != len(nsync):
        _fail("syncs table does not have one row per Sync event")

    stack_ids = set(tr.stacks.column("stack_id").to_pylist())
    for table, cols in [
        ("events", ["stack_id", "transition_stack_id"]),
        ("spans", ["stack_id", "end_stack_id"]),
        ("goroutines", ["creation_stack_id", "start_stack_id"]),
        ("regions", ["start_stack_id", "end_stack_id"]),
        ("logs", ["stack_id"]),
        ("cpu_samples", ["stack_id"]),
    ]:
        t = getattr(tr, table)
        for c in cols:
            missing = {s for s in t.column(c).to_pylist() if s is not None} - stack_ids
            if missing:
                _fail(f"{table}.{c} refers to unknown stacks {sorted(missing)[:5]}")

    for table, cols in [
        ("spans", ["start_event", "end_event"]),
        ("tasks", ["start_event", "end_event"]),
        ("regions", ["start_event", "end_event"]),
        ("logs", ["event"]),
        ("metrics", ["event"]),
        ("gc", ["start_event", "end_event"]),
        ("cpu_samples", ["event"]),
        ("syncs", ["event"]),
        ("experimental", ["event"]),
    ]:
        t = getattr(tr, table)
        for c in cols:
            for v in t.column(c).to_pylist():
                if v is not None and not 0 <= v < n:
                    _fail(f"{table}.{c} refers to event row {v} of {n}")

    # Rows referring to an event carry that event's time.
    for table, col, tcol in [
        ("logs", "event", "ts"),
        ("metrics", "event", "ts"),
        ("cpu_samples", "event", "ts"),
    ]:
        t = getattr(tr, table)
        for e, t_ in zip(t.column(col).to_pylist(), t.column(tcol).to_pylist()):
            if ts[e] != t_:
                _fail(f"{table}: time {t_} differs from event {e} at {ts[e]}")

    goids = set(tr.goroutines.column("goid").to_pylist())
    # Spans of one goroutine never overlap and tile its lifetime.
    by_g: dict[int, list[tuple[int, int, int | None, int | None]]] = defaultdict(list)
    for r in _rows(tr.spans):
        if r["goid"] not in goids:
            _fail(f"span of unknown goroutine {r['goid']}")
        if r["end"] < r["start"]:
            _fail(f"span of goroutine {r['goid']} ends before it starts")
        by_g[r["goid"]].append((r["start"], r["end"], r["start_event"], r["end_event"]))
    to_state = ev.column("to_state").to_pylist()
    from_state = ev.column("from_state").to_pylist()
    for g, spans in by_g.items():
        spans.sort()
        for a, b in zip(spans, spans[1:]):
            if a[1] == b[0] and a[3] == b[2]:
                continue
            # A gap is only allowed between two lifetimes: Go reuses the IDs of
            # goroutines made for cgo callbacks (GoCreateSyscall).
            if a[3] is None or to_state[a[3]] != "NotExist" or from_state[b[2]] != "NotExist":
                _fail(f"spans of goroutine {g} do not tile its lifetime: {a} then {b}")
    end_ns = ts[-1] if ts else 0
    for r in _rows(tr.goroutines):
        sp = by_g.get(r["goid"], [])
        if r["end"] is not None and not any(s[1] == r["end"] for s in sp):
            _fail(f"goroutine {r['goid']} ends at {r['end']} but no span of it ends then")
        if r["end"] is None and sp and sp[-1][1] != end_ns:
            _fail(f"live goroutine {r['goid']}'s last span does not reach the trace end")

    # Region nesting is well formed per goroutine: each region lies inside the
    # one open around it, and its depth counts the regions open around it.
    regions: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for r in _rows(tr.regions):
        if r["start"] is not None and r["end"] is not None and r["end"] < r["start"]:
            _fail(f"region {r['name']!r} ends before it starts")
        if r["start_event"] is not None:
            regions[r["goid"]].append(r)
    big = n + 1
    for goid, rs in regions.items():
        stack: list[int] = []  # end_event of each open region, innermost last
        for r in sorted(rs, key=lambda r: r["start_event"]):
            while stack and stack[-1] < r["start_event"]:
                stack.pop()
            if r["depth"] != len(stack):
                _fail(
                    f"region {r['name']!r} of goroutine {goid} has depth {r['depth']}, {len(stack)} open around it"
                )
            end: int = big if r["end_event"] is None else int(r["end_event"])
            if stack and end > stack[-1]:
                _fail(f"region {r['name']!r} of goroutine {goid} outlives the region around it")
            stack.append(end)
    # Tasks: durations agree with their ends.
    for r in _rows(tr.tasks):
        if (
            r["start"] is not None
            and r["end"] is not None
            and r["duration"] != r["end"] - r["start"]
        ):
            _fail(f"task {r['task_id']} duration disagrees with its times")
