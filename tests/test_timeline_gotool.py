"""The timeline against the real `go tool trace`'s own timeline (/jsontrace).

For every corpus trace, `go tool trace -http` serves the Chrome-trace JSON
of its "View trace by proc" and "by thread" pages. Its goroutine slices
(complete events named "G<id> ...") must be exactly the pieces of our proc
and thread lanes, joined where one goroutine's pieces touch on one lane (we
draw a goroutine's Running and Syscall time on its P or M as separate pieces,
cmd/trace as one slice), to the nanosecond, and so must the Procs and
Threads tracks of our Perfetto export. Its counters (goroutines running,
runnable and waiting inside a GC mark assist, procs running, heap in use and
to the goal) must equal ours at every time either changes, and its GC row
and stop-the-world slices must be our GC and STW lanes. This checks, with
Go's answer, the Undetermined-start rule (a span first seen through a status
event starts at the trace start), the end of unended spans, and that a
goroutine holds its P through a syscall until the P is stolen.

Before Go 1.25 the reader emitted a generation's Sync at its end, not its
start, so those releases' cmd/trace measure from the first event and date
Undetermined starts there; Go 1.25's reader and ours start with the Sync.
Traces of Go 1.22-1.24 are therefore checked against the Go 1.26 toolchain,
which reads them as we do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from gotool import (
    CORPUS,
    VERSIONS,
    GoToolTrace,
    case_id,
    go_binary,
    trace_version,
)

import gotrace_df as gt
from gotrace_df.export.perfetto import PIDS
from gotrace_df.widgets._model import TimelineModel

CASES = sorted(p for v in VERSIONS for p in (CORPUS / f"go{v}").glob("*.trace")) + [
    *sorted((CORPUS / "go1.21").glob("*.trace")),
    CORPUS / "v1" / "http_1_19_good.trace",
    CORPUS / "v1" / "stress_start_stop_1_11_good.trace",
]

_GOROUTINE = re.compile(r"G(\d+)\b")
GCP = 1_000_004  # cmd/trace's GC row (traceviewer.GCP)


def _tool_version(path: Path) -> str:
    v = trace_version(path)
    return "1.26" if v in ("1.22", "1.23", "1.24") else v


@pytest.fixture(scope="module", params=CASES, ids=[case_id(p) for p in CASES])
def case(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TimelineModel, dict[str, Any], list[dict[str, Any]]]]:
    path = request.param
    tr = gt.read_trace(path)
    out = tmp_path_factory.mktemp("perfetto") / "trace.json"
    tr.to_perfetto(out)
    perfetto = json.loads(out.read_text())["traceEvents"]
    out.unlink()  # read: 85 of them would take 400 MB of disk to the end
    with GoToolTrace(path, _tool_version(path)) as server:
        pages = {v: json.loads(server.get(f"/jsontrace?view={v}")) for v in ("proc", "thread")}
    pages = {v: p["traceEvents"] if isinstance(p, dict) else p for v, p in pages.items()}
    yield TimelineModel(tr), pages, perfetto


def _ns(us: float) -> int:
    """A JSON time (µs, printed to the ns) back to ns."""
    return round(us * 1000)


def _go_slices(events: list[dict[str, Any]]) -> list[tuple[int, int, int, int]]:
    """(lane, goid, start, end) of the goroutine slices, ns from the start."""
    out = []
    for e in events:
        if e.get("ph") == "X" and e.get("pid") == 0:
            m = _GOROUTINE.match(e.get("name", ""))
            if m:
                out.append((e["tid"], int(m.group(1)), _ns(e["ts"]), _ns(e["ts"] + e["dur"])))
    return sorted(out)


def _joined(pieces: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """(lane, goid, start, end) pieces, those of one goroutine that touch on
    a lane joined."""
    out: list[tuple[int, int, int, int]] = []
    for k, g, s, e in sorted(pieces):
        if out and out[-1][:2] == (k, g) and out[-1][3] == s:
            out[-1] = (k, g, out[-1][2], e)
        else:
            out.append((k, g, s, e))
    return out


def _timeline_slices(model: TimelineModel, view: str) -> list[tuple[int, int, int, int]]:
    ls = model.view(view)
    lanes = ls.lanes
    lane = np.repeat(np.arange(lanes.nlanes), np.diff(lanes.ptr))
    return _joined(
        list(
            zip(
                ls.keys[lane].tolist(),
                model.span_goids[lanes.ref].tolist(),
                lanes.start.astype(np.int64).tolist(),
                lanes.end.astype(np.int64).tolist(),
            )
        )
    )


def _perfetto_slices(events: list[dict[str, Any]], view: str) -> list[tuple[int, int, int, int]]:
    """The Procs (tid P+1) or Threads process of our Perfetto export."""
    pid, shift = (PIDS["Procs"], 1) if view == "proc" else (PIDS["Threads"], 0)
    return _joined(
        [
            (e["tid"] - shift, e["args"]["goid"], _ns(e["ts"]), _ns(e["ts"] + e["dur"]))
            for e in events
            if e["ph"] == "X" and e["pid"] == pid
        ]
    )


def _assert_same(ours: list[Any], go: list[Any]) -> None:
    assert go, "cmd/trace drew no goroutine slice"
    only_go = sorted(set(go) - set(ours))[:5]
    only_ours = sorted(set(ours) - set(go))[:5]
    assert ours == go, f"only cmd/trace: {only_go}; only ours: {only_ours}"


@pytest.mark.parametrize("view", ["proc", "thread"])
def test_lanes_equal_cmd_trace_slices(case: Any, view: str) -> None:
    model, pages, _ = case
    _assert_same(_timeline_slices(model, view), _go_slices(pages[view]))


@pytest.mark.parametrize("view", ["proc", "thread"])
def test_perfetto_tracks_equal_cmd_trace_slices(case: Any, view: str) -> None:
    _, pages, perfetto = case
    _assert_same(_perfetto_slices(perfetto, view), _go_slices(pages[view]))


def test_gc_lanes_equal_cmd_trace(case: Any) -> None:
    """The GC lane is cmd/trace's GC row (the mark phases), the STW lane its
    stop-the-world slices. cmd/trace draws a stop-the-world on the P of the
    goroutine that stopped the world, so in pieces where that goroutine
    changed P (GOMAXPROCS): each of our intervals is the hull of the pieces
    inside it, and every piece is inside one."""
    model, pages, _ = case
    go: dict[str, list[tuple[str, int, int]]] = {"GC": [], "STW": []}
    for e in pages["proc"]:
        if e.get("ph") != "X" or e.get("pid") != 0:
            continue
        span = (e["name"], _ns(e["ts"]), _ns(e["ts"] + e["dur"]))
        if e["name"].startswith("stop-the-world"):
            go["STW"].append(span)
        elif e["tid"] == GCP:
            go["GC"].append(span)
    ls = model.gc_lanes()
    kinds = [str(k) for k in model.trace.gc["kind"].to_pylist()]
    for i, lane in enumerate(ls.names):
        a, b = ls.lanes.ptr[i], ls.lanes.ptr[i + 1]
        ours = sorted(
            (kinds[r], int(s), int(e))
            for r, s, e in zip(ls.lanes.ref[a:b], ls.lanes.start[a:b], ls.lanes.end[a:b])
        )
        hull: dict[int, tuple[int, int]] = {}
        for name, s, e in go[lane]:
            inside = [j for j, (n, lo, hi) in enumerate(ours) if n == name and lo <= s <= e <= hi]
            assert len(inside) == 1, (lane, name, s, e, inside)
            lo, hi = hull.get(inside[0], (s, e))
            hull[inside[0]] = (min(lo, s), max(hi, e))
        assert [hull.get(j) for j in range(len(ours))] == [(lo, hi) for _, lo, hi in ours], lane


def _go_counters(events: list[dict[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """cmd/trace's counter series (name.arg -> times, values), in order."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    for e in events:
        if e.get("ph") == "C":
            for arg, v in e["args"].items():
                t, vs = series.setdefault(f"{e['name']}.{arg}", ([], []))
                t.append(_ns(e["ts"]))
                vs.append(float(v))
    return {k: (np.array(t, np.int64), np.array(v)) for k, (t, v) in series.items()}


def _at(t: np.ndarray, v: np.ndarray, when: np.ndarray, before: float) -> np.ndarray:
    """A step function's value at times ``when``, after every change made then."""
    if t.size == 0:
        return np.full(when.size, before)
    i = np.searchsorted(t, when, side="right") - 1
    return np.where(i >= 0, v[np.maximum(i, 0)], before)


def test_counters_equal_cmd_trace(case: Any) -> None:
    model, pages, _ = case
    _check_counters(model, pages["proc"])


# A program that allocates with the GC off: Go 1.22's runtime then reports a
# heap goal of about 2^63 bytes, which cmd/trace does not draw.
_NO_GC_PROGRAM = """package main

import (
	"os"
	"runtime/trace"
)

var sink [][]byte

func main() {
	trace.Start(os.Stdout)
	for i := 0; i < 2000; i++ {
		sink = append(sink, make([]byte, 4096))
	}
	trace.Stop()
}
"""


def test_counters_without_a_heap_goal(tmp_path: Path) -> None:
    (tmp_path / "main.go").write_text(_NO_GC_PROGRAM)
    (tmp_path / "go.mod").write_text("module nogc\n\ngo 1.22\n")
    env = dict(os.environ, GOTOOLCHAIN="local", GOGC="off", GOFLAGS="-buildvcs=false")
    path = tmp_path / "nogc.trace"
    with path.open("wb") as out:
        subprocess.run(
            [str(go_binary("1.22")), "run", "."], cwd=tmp_path, env=env, stdout=out, check=True
        )
    tr = gt.read_trace(path)
    goal = tr.metrics.filter(pc.equal(tr.metrics["name"].cast(pa.string()), "/gc/heap/goal:bytes"))
    assert goal.num_rows and min(goal["value"].to_pylist()) > 2**50
    model = TimelineModel(tr)
    meta, _ = model.payload("proc", 0, model.duration, 800)
    heap = next(c for c in meta["counters"] if c["title"] == "Heap")
    assert heap["max"] < 2**40  # the heap chart's axis is not stretched to 2^63
    with GoToolTrace(path, "1.26") as server:
        page = json.loads(server.get("/jsontrace?view=proc"))
    _check_counters(model, page["traceEvents"] if isinstance(page, dict) else page)
    # The Perfetto export's heap counter has no goal either.
    tr.to_perfetto(tmp_path / "nogc.json")
    doc = json.loads((tmp_path / "nogc.json").read_text())
    goals = [e["args"]["Goal"] for e in doc["traceEvents"] if e.get("name") == "Heap"]
    assert goals and max(goals) == 0


def _check_counters(model: TimelineModel, events: list[dict[str, Any]]) -> None:
    """Our counters equal cmd/trace's at every time either changes."""
    go = _go_counters(events)
    ours = {
        k: (s.levels[0][0].astype(np.int64), s.levels[0][1]) for k, s in model.counters().items()
    }
    empty = (np.empty(0, np.int64), np.empty(0))

    def compare(name: str, mine: list[str], theirs: str, combine: Any = None) -> None:
        got = [ours.get(k, empty) for k in mine]
        want = go.get(theirs, empty)
        when = np.unique(np.concatenate([want[0], *(g[0] for g in got)]))
        # A converted old trace (Go 1.11-1.21) names a P first when it starts,
        # as a status from Undetermined, which cmd/trace counts from the
        # trace's start: a sample back at the start, out of time order, with
        # the count of its own moment. Before the last such sample Go's series
        # is no function of time; from the sample before it (when it was
        # made, at the latest) on, it is, and must equal ours.
        t, v = want
        late = np.flatnonzero(np.diff(t) < 0) + 1
        if late.size:
            assert (t[late] == t.min()).all(), (name, t[late])
            k = late[-1]
            want = (np.concatenate([[t[k - 1]], t[k + 1 :]]), np.concatenate([[v[k]], v[k + 1 :]]))
            when = when[when >= t[k - 1]]
        vals = [_at(t, v.astype(np.float64), when, 0.0) for t, v in got]
        mine_v = combine(*vals) if combine else vals[0]
        theirs_v = _at(want[0], want[1], when, 0.0)
        bad = np.flatnonzero(mine_v != theirs_v)
        assert bad.size == 0, (
            f"{name}: {bad.size} of {when.size} times differ, first at "
            f"{when[bad[0]]} ns: ours {mine_v[bad[0]]}, cmd/trace {theirs_v[bad[0]]}"
        )

    # cmd/trace counts a goroutine in a syscall as running; we show it apart.
    compare("running", ["Running", "Syscall"], "Goroutines.Running", np.add)
    compare("runnable", ["Runnable"], "Goroutines.Runnable")
    compare("gc waiting", ["GC waiting"], "Goroutines.GCWaiting")
    compare("procs", ["Procs running"], "Threads.Running")
    compare("heap", ["Heap in use"], "Heap.Allocated")
    # The heap chart stacks the distance to the goal on the heap in use.
    compare(
        "goal",
        ["Heap goal", "Heap in use"],
        "Heap.NextGC",
        # No goal (NaN) draws none.
        lambda goal, alloc: np.where(goal > alloc, goal - alloc, 0.0),
    )
