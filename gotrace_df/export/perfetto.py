"""Chrome trace-event JSON, the format Perfetto (ui.perfetto.dev) and
``chrome://tracing`` (Catapult) load.

Layout (processes and their tracks)::

    Procs        one track per P: the goroutine running on it, and its
                 syscalls until the P is stolen (as cmd/trace's proc view)
    Threads      one track per M: the goroutine it runs, and its syscalls
    Goroutines   one track per goroutine: every state interval (Running,
                 Runnable, Waiting (reason), Syscall ...), its trace.Log calls as
                 instants, and flow arrows from the goroutine that unblocked or
                 created it ("unblock" / "go") into its next run
    Regions      one track per goroutine with user regions: the regions, nested
    GC           the GC mark phases, stop-the-world pauses, mark assists and
                 sweeps
    Tasks        user tasks (async slices)
    Stats        counters: goroutines by state, heap and heap goal, GOMAXPROCS

Times are microseconds from the trace's first event with nanosecond decimals
(``displayTimeUnit`` ``ns``); ``otherData`` holds the absolute start. Stacks
(the transition stack of each state interval, the RegionBegin stack of each
region) are in ``stackFrames`` and referred to by ``sf``.

The JSON is assembled a column at a time (no Python per event) and written
atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df._columns import codes, int_values
from gotrace_df._lanes import span_lanes
from gotrace_df.export import _text as T
from gotrace_df.export._atomic import atomic_file
from gotrace_df.export.redact import redact_trace
from gotrace_df.frames import NO_HEAP_GOAL

# pandas is imported where it is used: importing this package, as reopening a
# dataset does (gotrace_df.export.parquet), should not cost its import.
if TYPE_CHECKING:
    import pandas as pd

    from gotrace_df._trace import Trace

__all__ = ["write_perfetto", "trace_events", "PIDS"]

#: Process IDs of the sections, in display order.
PIDS: dict[str, int] = {
    "Procs": 1,
    "Threads": 2,
    "Goroutines": 3,
    "Regions": 4,
    "GC": 5,
    "Tasks": 6,
    "Stats": 7,
}

_GC_TRACKS = {"GC": 1, "STW": 2, "Mark assists": 3, "Sweeps": 4}


def write_perfetto(
    trace: Trace, path: str | os.PathLike[str], *, overwrite: bool = True, redact: bool = False
) -> Path:
    """Write ``trace`` as a Chrome trace-event JSON file at ``path``, atomically.

    See the module docstring for the layout.

    Parameters
    ----------
    trace
        The trace to write.
    path
        Destination file; an existing file is replaced only with ``overwrite``.
    overwrite
        Replace an existing file at ``path`` (default True).
    redact
        Write :func:`~gotrace_df.export.redact.redact_trace` of ``trace``
        instead: track, slice, log and stack-frame names that come from the
        program (function names outside Go's standard library, file paths, log
        values, task and region names) and the source path become placeholders.
        ``trace`` is not modified.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import json, tempfile, gotrace_df as gt
    >>> from gotrace_df.export.perfetto import write_perfetto
    >>> out = write_perfetto(gt.read_trace(gt.example_trace()), tempfile.mkdtemp() + "/t.json")
    >>> doc = json.loads(out.read_text())
    >>> sorted({e["ph"] for e in doc["traceEvents"]})
    ['C', 'M', 'X', 'b', 'e', 'f', 'i', 's']
    """
    dest = Path(path)
    if dest.exists() and not overwrite:
        raise FileExistsError(f"{dest} exists (pass overwrite=True to replace it)")
    if dest.is_dir():
        raise IsADirectoryError(f"{dest} is a directory")
    if redact:
        trace = redact_trace(trace)
    with atomic_file(dest) as f:
        write_json(trace, f)
    return dest


def write_json(trace: Trace, out: IO[bytes]) -> None:
    """The JSON document, streamed to ``out``."""
    out.write(b'{"displayTimeUnit":"ns","otherData":')
    other = {
        "source": trace.source,
        "go": trace.go_versions,
        "start_ns": trace.start_ns,
        "end_ns": trace.end_ns,
        "exporter": "gotrace_df",
    }
    out.write(json.dumps(other).encode())
    out.write(b',"stackFrames":')
    out.write(json.dumps(_stack_frames(trace), separators=(",", ":")).encode())
    out.write(b',"traceEvents":[\n')
    first = True
    for arr in trace_events(trace):
        if len(arr) == 0:
            continue
        if not first:
            out.write(b",\n")
        first = False
        # Elements joined by ",\n": all but the last get the separator.
        body = T.concat(arr, ",\n")
        T.write_text(out, [body.slice(0, len(body) - 1)])
        T.write_text(out, [arr.slice(len(arr) - 1)])
    out.write(b"\n]}\n")


# -- pieces -------------------------------------------------------------------------


class _Ctx:
    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.t0 = trace.start_ns
        self.dur = max(trace.end_ns - trace.start_ns, 0)
        g = trace.goroutines
        ids = np.asarray(g["goid"].to_numpy(), np.int64)
        # Sorted IDs and their names (a reused ID keeps its last lifetime's name).
        order = np.lexsort((np.arange(len(ids)), ids))
        last = np.r_[ids[order][1:] != ids[order][:-1], True] if len(ids) else np.zeros(0, bool)
        keep = order[last]
        self.g_ids = ids[keep]
        self.g_names = _str_col(g["name"]).take(pa.array(keep, pa.int64()))
        st = trace.stacks
        self.has_frames = set(st.filter(pc.greater(st["nframes"], 0))["stack_id"].to_pylist())

    def rel(self, ns: Any, fill: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Relative ns, nulls as ``fill`` (relative), clamped to the trace."""
        a = T.plain_array(ns) if isinstance(ns, pa.ChunkedArray | pa.Array) else pa.array(ns)
        v = np.asarray(pc.fill_null(a, self.t0 + fill).to_numpy(zero_copy_only=False), np.int64)
        return np.clip(v - self.t0, 0, self.dur)

    def sf(self, stack_ids: Any) -> pa.Array:
        """``,"sf":"<id>.0"`` for stacks with frames, else ""."""
        ids = T.plain_array(stack_ids) if not isinstance(stack_ids, pa.Array) else stack_ids
        known = pc.is_in(ids, value_set=pa.array(sorted(self.has_frames), ids.type))
        ok = pc.fill_null(known, False)
        return T.when(ok, T.concat(',"sf":"', T.int_str(ids), '.0"'), "")


def _meta(pid: int, name: str, sort: int, threads: list[tuple[int, str, int]]) -> list[str]:
    d = json.dumps
    out = [
        d({"ph": "M", "pid": pid, "tid": 0, "name": "process_name", "args": {"name": name}}),
        d(
            {
                "ph": "M",
                "pid": pid,
                "tid": 0,
                "name": "process_sort_index",
                "args": {"sort_index": sort},
            }
        ),
    ]
    for tid, tname, tsort in threads:
        out.append(
            d({"ph": "M", "pid": pid, "tid": tid, "name": "thread_name", "args": {"name": tname}})
        )
        out.append(
            d(
                {
                    "ph": "M",
                    "pid": pid,
                    "tid": tid,
                    "name": "thread_sort_index",
                    "args": {"sort_index": tsort},
                }
            )
        )
    return out


_CHUNK = 1 << 20


def _x(
    pid: int,
    tid: Any,
    start: np.ndarray[Any, Any],
    end: np.ndarray[Any, Any],
    name_json: pa.Array,
    cat: str,
    extra: pa.Array | str = "",
) -> Iterator[pa.Array]:
    """Complete ("X") events, a million at a time (the text is the bulk of the
    memory an export needs)."""
    tid = np.asarray(tid, np.int64)
    dur = np.maximum(end - start, 0)
    for lo in range(0, len(start), _CHUNK):
        hi = min(lo + _CHUNK, len(start))
        more = extra if isinstance(extra, str) else extra.slice(lo, hi - lo)
        yield T.concat(
            f'{{"ph":"X","cat":"{cat}","pid":{pid},"tid":',
            T.int_str(pa.array(tid[lo:hi])),
            ',"ts":',
            T.us(start[lo:hi]),
            ',"dur":',
            T.us(dur[lo:hi]),
            ',"name":',
            name_json.slice(lo, hi - lo),
            pa.array([more] * (hi - lo), pa.string()) if isinstance(more, str) else more,
            "}",
        )


def trace_events(trace: Trace) -> Iterator[pa.Array]:
    """The ``traceEvents`` entries, as string arrays of JSON objects."""
    c = _Ctx(trace)
    yield from _goroutine_tracks(c)
    yield from _region_tracks(c)
    yield from _gc_tracks(c)
    yield from _task_tracks(c)
    yield from _counters(c)
    yield from _flows(c)


# The spans' states as codes (_spans), in this order.
_STATES = ["Undetermined", "Runnable", "Running", "Waiting", "Syscall"]
_RUNNING, _RUNNABLE = 2, 1


def _spans(c: _Ctx) -> pd.DataFrame:
    """The numeric columns of the spans table (strings stay in Arrow: ``_span_labels``)."""
    import pandas as pd

    s = c.trace.spans
    return pd.DataFrame(
        {
            "goid": np.asarray(s["goid"].to_numpy(), np.int64),
            "start": c.rel(s["start"], 0),
            "end": c.rel(s["end"], c.dur),
            "p": int_values(s["p"]),
            "m": int_values(s["m"]),
            "stack_id": int_values(s["stack_id"]),
            "start_event": int_values(s["start_event"]),
            "end_event": int_values(s["end_event"]),
            "state": codes(s["state"], _STATES),
        }
    )


def _str_col(col: Any) -> pa.Array:
    a = T.plain_array(col)
    if pa.types.is_dictionary(a.type):
        a = a.cast(pa.string())
    out: pa.Array = pc.fill_null(a, "")
    return out


def _on_tracks(
    track: np.ndarray[Any, Any], start: np.ndarray[Any, Any], end: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(order, end): rows sorted by track then start, and each end cut at the
    next slice's start on the same track: slices of one track must not overlap."""
    order = np.lexsort((end, start, track))
    t, s, e = track[order], start[order], end[order].copy()
    if len(order) > 1:
        cut = (t[1:] == t[:-1]) & (s[1:] < e[:-1])
        e[:-1][cut] = s[1:][cut]
    return order, e


# Catapult's reserved colours for thread states (Perfetto picks its own).
_STATE_COLORS = [
    "thread_state_unknown",  # Undetermined
    "thread_state_runnable",
    "thread_state_running",
    "thread_state_sleeping",  # Waiting
    "thread_state_iowait",  # Syscall
]


def _cnames(state: np.ndarray[Any, Any]) -> pa.Array:
    """``,"cname":"..."`` by state code."""
    colors = pa.array([f',"cname":"{c}"' for c in _STATE_COLORS] + [""], pa.string())
    out: pa.Array = colors.take(pa.array(np.where(state >= 0, state, len(_STATE_COLORS))))
    return out


def _gnames(c: _Ctx, goids: np.ndarray[Any, Any]) -> pa.Array:
    """``G<id> <start function>`` for each goroutine ID."""
    pos = np.searchsorted(c.g_ids, goids)
    pos = np.clip(pos, 0, max(len(c.g_ids) - 1, 0))
    if len(c.g_ids):
        name = c.g_names.take(pa.array(pos))
        name = pc.if_else(pa.array(c.g_ids[pos] == goids), name, "")
    else:
        name = pa.array([""] * len(goids), pa.string())
    out: pa.Array = pc.utf8_rtrim_whitespace(T.concat("G", T.int_str(pa.array(goids)), " ", name))
    return out


def _goroutine_tracks(c: _Ctx) -> Iterator[pa.Array]:
    sp = _spans(c)
    s = c.trace.spans
    goid = sp["goid"].to_numpy()
    start = sp["start"].to_numpy()
    end = sp["end"].to_numpy()
    state = sp["state"].to_numpy()
    # Goroutines: every state interval, named "State (reason)".
    goids = np.unique(goid)
    names = _gnames(c, goids).to_pylist()
    yield pa.array(
        _meta(
            PIDS["Goroutines"],
            "Goroutines",
            PIDS["Goroutines"],
            [(int(g), n, int(g)) for g, n in zip(goids.tolist(), names)],
        ),
        pa.string(),
    )
    st = _str_col(s["state"])
    reason = _str_col(s["reason"])
    label = pc.if_else(pc.equal(reason, ""), st, T.concat(st, " (", reason, ")"))
    yield from _x(
        PIDS["Goroutines"],
        goid,
        start,
        end,
        T.map_strings(label, T.json_str),
        "goroutine",
        T.concat(_cnames(state), c.sf(T.plain_array(s["stack_id"]))),
    )
    # Procs and Threads: the timeline's proc and thread lanes. A goroutine
    # keeps its P through a syscall until the P is stolen, as cmd/trace draws
    # it; tid 0 is reserved, so P n is track n + 1.
    procs = int_values(c.trace.procs["proc"])
    yield from _sched_track(c, "Procs", "p", goid, extra_ids=procs[procs >= 0], tid_shift=1)
    yield from _sched_track(c, "Threads", "m", goid)
    # trace.Log calls, as instants on the goroutine's track.
    lg = c.trace.logs
    if lg.num_rows:
        cat = _str_col(lg["category"])
        msg = _str_col(lg["message"])
        text = pc.if_else(pc.equal(cat, ""), msg, T.concat("[", cat, "] ", msg))
        yield T.concat(
            f'{{"ph":"i","s":"t","cat":"log","pid":{PIDS["Goroutines"]},"tid":',
            T.int_str(lg["goid"], 0),
            ',"ts":',
            T.us(c.rel(lg["ts"], 0)),
            ',"name":',
            T.map_strings(text, T.json_str),
            ',"args":{"task":',
            T.int_str(lg["task_id"]),
            "}}",
        )


def _sched_track(
    c: _Ctx,
    process: str,
    lane: str,
    goid: np.ndarray[Any, Any],
    extra_ids: np.ndarray[Any, Any] | None = None,
    tid_shift: int = 0,
) -> Iterator[pa.Array]:
    """The Procs or Threads process: the timeline's lanes by ``lane`` (p or
    m), Running spans named by goroutine and Syscall ones "syscall (G...)";
    a track for every lane and every ID in ``extra_ids``."""
    keys, first, iv = span_lanes(
        c.trace, ("Running", "Syscall"), lane, (0, 1), c.t0, held="Syscall" if lane == "p" else None
    )
    track = np.repeat(keys, np.diff(first))
    start = np.clip(np.rint(iv["start"]).astype(np.int64), 0, c.dur)
    end = np.clip(np.rint(iv["end"]).astype(np.int64), 0, c.dur)
    order, cut_end = _on_tracks(track, start, end)
    rows = iv["row"][order]
    ids = keys if extra_ids is None else np.unique(np.concatenate([keys, extra_ids]))
    resource = process.removesuffix("s")
    yield pa.array(
        _meta(
            PIDS[process],
            process,
            PIDS[process],
            [(int(q) + tid_shift, f"{resource} {q}", int(q)) for q in ids],
        ),
        pa.string(),
    )
    gn = _gnames(c, goid[rows])
    name = pc.if_else(pa.array(iv["cat"][order] == 1), T.concat("syscall (", gn, ")"), gn)
    yield from _x(
        PIDS[process],
        track[order] + tid_shift,
        start[order],
        cut_end,
        T.map_strings(name, T.json_str),
        process.lower(),
        T.concat(',"args":{"goid":', T.int_str(pa.array(goid[rows])), "}"),
    )


def _region_tracks(c: _Ctx) -> Iterator[pa.Array]:
    r = c.trace.regions
    if r.num_rows == 0:
        return
    goids = np.unique(np.asarray(r["goid"].to_numpy(), np.int64))
    yield pa.array(
        _meta(
            PIDS["Regions"],
            "Regions",
            PIDS["Regions"],
            [
                (int(g), f"{n} regions", int(g))
                for g, n in zip(goids.tolist(), _gnames(c, goids).to_pylist())
            ],
        ),
        pa.string(),
    )
    start = c.rel(r["start"], 0)
    end = c.rel(r["end"], c.dur)
    yield from _x(
        PIDS["Regions"],
        np.asarray(r["goid"].to_numpy(), np.int64),
        start,
        end,
        T.map_strings(_str_col(r["name"]), T.json_str),
        "region",
        T.concat(
            ',"args":{"task":',
            T.int_str(r["task_id"]),
            ',"depth":',
            T.int_str(r["depth"]),
            "}",
            c.sf(T.plain_array(r["start_stack_id"])),
        ),
    )


def _gc_tracks(c: _Ctx) -> Iterator[pa.Array]:
    gc = c.trace.gc
    yield pa.array(
        _meta(PIDS["GC"], "GC", PIDS["GC"], [(t, n, t) for n, t in _GC_TRACKS.items()]), pa.string()
    )
    if gc.num_rows == 0:
        return
    kind = _str_col(gc["kind"])
    start = c.rel(gc["start"], 0)
    end = c.rel(gc["end"], c.dur)
    names = T.map_strings(kind, T.json_str)
    mark = pc.starts_with(kind, "GC concurrent mark").to_numpy(zero_copy_only=False)
    stw = pc.starts_with(kind, "stop-the-world").to_numpy(zero_copy_only=False)
    sweep = pc.starts_with(kind, "GC incremental sweep").to_numpy(zero_copy_only=False)
    for mask, track in ((mark, "GC"), (stw, "STW")):
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            continue
        order, cut_end = _on_tracks(np.zeros(len(idx), np.int64), start[idx], end[idx])
        rows = idx[order]
        sel = pa.array(rows)
        goid = T.plain_array(gc["goid"]).take(sel)
        yield from _x(
            PIDS["GC"],
            np.full(len(rows), _GC_TRACKS[track]),
            start[rows],
            cut_end,
            names.take(sel),
            "gc",
            T.when(pc.is_valid(goid), T.concat(',"args":{"goid":', T.int_str(goid), "}"), ""),
        )
    # Assists and sweeps overlap one another: async slices, one id each.
    other = np.flatnonzero(~(mark | stw))
    if len(other) == 0:
        return
    sel = pa.array(other)
    tid = np.where(sweep[other], _GC_TRACKS["Sweeps"], _GC_TRACKS["Mark assists"])
    goid = T.plain_array(gc["goid"]).take(sel)
    proc = T.plain_array(gc["proc"]).take(sel)
    args = T.concat(
        ',"args":{',
        T.when(
            pc.is_valid(goid),
            T.concat('"goid":', T.int_str(goid)),
            T.concat('"proc":', T.int_str(proc)),
        ),
        T.when(
            pc.is_valid(T.plain_array(gc["bytes_swept"]).take(sel)),
            T.concat(
                ',"bytes_swept":',
                T.int_str(T.plain_array(gc["bytes_swept"]).take(sel)),
                ',"bytes_reclaimed":',
                T.int_str(T.plain_array(gc["bytes_reclaimed"]).take(sel)),
            ),
            "",
        ),
        "}",
    )
    yield from _async(
        PIDS["GC"], tid, "gc", pa.array(other + 1), start[other], end[other], names.take(sel), args
    )


def _async(
    pid: int,
    tid: np.ndarray[Any, Any],
    cat: str,
    ids: pa.Array,
    start: np.ndarray[Any, Any],
    end: np.ndarray[Any, Any],
    names: pa.Array,
    args: pa.Array,
) -> Iterator[pa.Array]:
    """Nestable async begin/end pairs ("b"/"e"), matched by ``cat`` and ``id``."""
    common = T.concat(
        f',"cat":"{cat}","pid":{pid},"tid":',
        T.int_str(pa.array(tid, pa.int64())),
        ',"id":"0x',
        pc.cast(ids, pa.string()),
        '","name":',
        names,
    )
    yield T.concat('{"ph":"b"', common, ',"ts":', T.us(start), args, "}")
    yield T.concat('{"ph":"e"', common, ',"ts":', T.us(np.maximum(end, start)), "}")


def _task_tracks(c: _Ctx) -> Iterator[pa.Array]:
    t = c.trace.tasks
    t = t.filter(pc.not_equal(t["task_id"], 0))
    if t.num_rows == 0:
        return
    yield pa.array(_meta(PIDS["Tasks"], "Tasks", PIDS["Tasks"], [(1, "Tasks", 1)]), pa.string())
    tid = T.plain_array(t["task_id"])
    name = _str_col(t["name"])
    label = pc.if_else(pc.equal(name, ""), T.concat("task ", T.int_str(tid)), name)
    args = T.concat(
        ',"args":{"task":',
        T.int_str(tid),
        ',"parent":',
        T.int_str(t["parent_id"]),
        ',"start_goid":',
        T.int_str(t["start_goid"]),
        ',"end_goid":',
        T.int_str(t["end_goid"]),
        "}",
    )
    yield from _async(
        PIDS["Tasks"],
        np.ones(t.num_rows, np.int64),
        "task",
        tid,
        c.rel(t["start"], 0),
        c.rel(t["end"], c.dur),
        T.map_strings(label, T.json_str),
        args,
    )


def _counters(c: _Ctx) -> Iterator[pa.Array]:
    import pandas as pd

    pid = PIDS["Stats"]
    yield pa.array(_meta(pid, "Stats", pid, []), pa.string())
    # Goroutines by state: +1 where a state interval starts, -1 where it ends.
    s = c.trace.spans
    state = codes(s["state"], _STATES)
    start = c.rel(s["start"], 0)
    end = c.rel(s["end"], c.dur)
    live_end = pc.is_valid(T.plain_array(s["end_event"])).to_numpy(zero_copy_only=False)
    cols = ["Running", "Runnable", "Waiting", "Syscall"]
    times = np.concatenate([start, end[live_end]])
    if len(times):
        order_t = np.unique(times)
        counts = []
        for st in cols:
            m = state == _STATES.index(st)
            up = np.searchsorted(order_t, start[m])
            dn = np.searchsorted(order_t, end[m & live_end])
            delta = np.bincount(up, minlength=len(order_t)) - np.bincount(
                dn, minlength=len(order_t)
            )
            counts.append(np.cumsum(delta))
        parts: list[Any] = [
            f'{{"ph":"C","pid":{pid},"tid":0,"name":"Goroutines","ts":',
            T.us(order_t),
            ',"args":{',
        ]
        for i, (st, v) in enumerate(zip(cols, counts)):
            parts += [("," if i else "") + f'"{st}":', T.int_str(pa.array(v))]
        parts.append("}}")
        yield T.concat(*parts)
    m = c.trace.metrics
    if m.num_rows == 0:
        return
    name = np.asarray(_str_col(m["name"]).to_numpy(zero_copy_only=False), object)
    ts = c.rel(m["ts"], 0)
    val = np.array(m["value"].to_numpy(), np.int64)
    val[(name == "/gc/heap/goal:bytes") & (val > NO_HEAP_GOAL)] = 0  # no goal, as cmd/trace
    df = pd.DataFrame({"ts": ts, "name": name, "value": val})
    heap = df[df["name"].isin(["/memory/classes/heap/objects:bytes", "/gc/heap/goal:bytes"])]
    if len(heap):
        wide = (
            heap.pivot_table(index="ts", columns="name", values="value", aggfunc="last")
            .sort_index()
            .ffill()
            .fillna(0)
            .astype(np.int64)
        )
        alloc = wide.get("/memory/classes/heap/objects:bytes", pd.Series(0, index=wide.index))
        goal = wide.get("/gc/heap/goal:bytes", pd.Series(0, index=wide.index))
        yield T.concat(
            f'{{"ph":"C","pid":{pid},"tid":0,"name":"Heap","ts":',
            T.us(wide.index.to_numpy()),
            ',"args":{"Allocated":',
            T.int_str(pa.array(alloc.to_numpy())),
            ',"Goal":',
            T.int_str(pa.array(goal.to_numpy())),
            "}}",
        )
    procs = df[df["name"] == "/sched/gomaxprocs:threads"]
    if len(procs):
        yield T.concat(
            f'{{"ph":"C","pid":{pid},"tid":0,"name":"GOMAXPROCS","ts":',
            T.us(procs["ts"].to_numpy()),
            ',"args":{"GOMAXPROCS":',
            T.int_str(pa.array(procs["value"].to_numpy())),
            "}}",
        )


def _flows(c: _Ctx) -> Iterator[pa.Array]:
    """Arrows from the goroutine that unblocked (or created) a goroutine, at the
    unblock, into the middle of that goroutine's next run."""
    import pandas as pd

    ev = c.trace.events
    st = ev.filter(
        pc.and_(pc.equal(ev["kind"], "StateTransition"), pc.equal(ev["resource"], "Goroutine"))
    )
    if st.num_rows == 0:
        return
    sp = _spans(c)
    row = np.flatnonzero(
        pc.and_(
            pc.equal(ev["kind"], "StateTransition"), pc.equal(ev["resource"], "Goroutine")
        ).to_numpy(zero_copy_only=False)
    )
    names = ["NotExist", "Runnable", "Waiting"]
    frm = codes(st["from_state"], names)
    to = codes(st["to_state"], names)
    g = int_values(st["g"])
    unblock = (frm == 2) & (to == 1)
    create = (frm == 0) & (to == 1)
    keep = (unblock | create) & (g >= 0)
    src = pd.DataFrame(
        {
            "event": row[keep],
            "g": g[keep],
            "ts": c.rel(st["ts"], 0)[keep],
            "what": np.where(unblock[keep], "unblock", "go"),
        }
    )
    if len(src) == 0:
        return
    # The target's Runnable interval begins at the event; the run that follows it.
    runnable = sp[(sp["start_event"] >= 0) & (sp["state"] == _RUNNABLE)]
    runnable = runnable.assign(event=runnable["start_event"].astype(np.int64))
    src = src.merge(runnable[["event", "goid", "end_event"]], on="event", how="inner")
    src = src[src["end_event"] >= 0]
    running = sp[(sp["state"] == _RUNNING) & (sp["start_event"] >= 0)]
    running = running.assign(
        end_event=running["start_event"].astype(np.int64),
        r_start=running["start"],
        r_end=running["end"],
    )[["goid", "end_event", "r_start", "r_end"]]
    src = src.assign(end_event=src["end_event"].astype(np.int64))
    src = src.merge(running, on=["goid", "end_event"], how="inner")
    src = src[(src["r_end"] - src["r_start"]) >= 2]
    # The source goroutine must be running at the event for the arrow to attach.
    mine = sp[sp["state"] == _RUNNING][["goid", "start", "end"]].rename(
        columns={"goid": "g", "start": "s_start", "end": "s_end"}
    )
    src = src.sort_values("ts")
    mine = mine.sort_values("s_start")
    src = pd.merge_asof(src, mine, left_on="ts", right_on="s_start", by="g", direction="backward")
    src = src[src["s_end"].notna() & (src["ts"] < src["s_end"]) & (src["ts"] > src["s_start"])]
    if len(src) == 0:
        return
    pid = PIDS["Goroutines"]
    ids = T.int_str(pa.array(src["event"].to_numpy(np.int64)))
    names = pa.array(src["what"].to_numpy(dtype=object), pa.string())
    yield T.concat(
        f'{{"ph":"s","cat":"flow","pid":{pid},"tid":',
        T.int_str(pa.array(src["g"].to_numpy(np.int64))),
        ',"ts":',
        T.us(src["ts"].to_numpy(np.int64)),
        ',"id":',
        ids,
        ',"name":"',
        names,
        '"}',
    )
    mid = (
        src["r_start"].to_numpy(np.int64) + (src["r_end"] - src["r_start"]).to_numpy(np.int64) // 2
    )
    yield T.concat(
        f'{{"ph":"f","bp":"e","cat":"flow","pid":{pid},"tid":',
        T.int_str(pa.array(src["goid"].to_numpy(np.int64))),
        ',"ts":',
        T.us(mid),
        ',"id":',
        ids,
        ',"name":"',
        names,
        '"}',
    )


def _stack_frames(trace: Trace) -> dict[str, dict[str, str]]:
    """``stackFrames``: one node per (stack, depth), parent the next frame out."""
    f = trace.frames
    if f.num_rows == 0:
        return {}
    sid = f["stack_id"].to_pylist()
    depth = f["depth"].to_pylist()
    func = f["function"].to_pylist()
    file = f["file"].to_pylist()
    line = f["line"].to_pylist()
    n = dict(zip(trace.stacks["stack_id"].to_pylist(), trace.stacks["nframes"].to_pylist()))
    out: dict[str, dict[str, str]] = {}
    for s, d, fn, fl, ln in zip(sid, depth, func, file, line):
        node = {"name": f"{fn} {fl}:{ln}", "category": "go"}
        if d + 1 < n.get(s, 0):
            node["parent"] = f"{s}.{d + 1}"
        out[f"{s}.{d}"] = node
    return out
