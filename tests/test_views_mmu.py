"""Minimum mutator utilisation against the real `go tool trace` of each release.

For corpus traces of every Go version 1.22-1.27, `go tool trace` of the same
release serves /mmu?mode=plot&flags=... (the plotted windows and the MMU at
each) and /mmu?mode=details&window=...&flags=... (the worst windows). For
several flag sets, `mmu` must give the same windows (exactly: they are
truncated floats) and the same MMU to 1e-9, and `mmu_worst_windows` the same
windows (start time exactly, utilisation to 1e-9).

The one cmd/trace behaviour we deliberately do not copy: with the "mut" flag
("Show percentiles") cmd/trace's percentile columns are all equal to its MMU,
because `MMUCurve.MUD` never feeds its distribution (`accumulator.addMU`
returns before the update when no worst windows are tracked). The test checks
that cmd/trace still does that, and checks our percentiles against an exact
computation of the distribution instead.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import wire
from gotool import CORPUS, VERSIONS, GoToolTrace, case_id, corpus_cases, served

import gotrace_df as gt
from gotrace_df.views.mmu import MMU_PERCENTILES

SCENARIOS = ["example", "gc", "gomaxprocs", "generations", "sync", "preexisting"]
EXTRA = {
    "1.22": ["churn", "tasks"],
    "1.23": ["coro", "allocfree"],
    "1.24": ["net", "syscall"],
    "1.25": ["flightrec", "cpuprof"],
    "1.26": ["gotest", "allocfree"],
    "1.27": ["cpuprof", "flightrec", "churn"],
    "v1": ["http_1_19_good", "stress_start_stop_1_21_good"],
}
# Go's converter takes an old trace's first GOMAXPROCS event for the end of
# its initial state and makes no metric of it: an old trace that never changes
# GOMAXPROCS has none, and Go 1.26's /mmu handler fails on it (index out of
# range). test_old_trace_without_gomaxprocs holds ours.
NO_GOMAXPROCS = CORPUS / "go1.21" / "sync.trace"
CASES = [p for p in corpus_cases(SCENARIOS, EXTRA) if p != NO_GOMAXPROCS]
# cmd/trace's flag names -> our keyword arguments.
FLAG_SETS = [
    "stw|background|assist",  # the page's default (its "system" flag means nothing)
    "perProc|stw|background|assist",
    "stw|background|assist|sweep",
    "perProc|stw|background|assist|sweep",
    "stw",
    "background",
    "perProc|background",
    "assist|sweep",
    "",
]


def _kw(flags: str) -> dict[str, bool]:
    f = set(flags.split("|"))
    return {
        "stw": "stw" in f,
        "background": "background" in f,
        "assist": "assist" in f,
        "sweep": "sweep" in f,
        "per_proc": "perProc" in f,
    }


@pytest.fixture(scope="module", params=CASES, ids=[case_id(p) for p in CASES])
def case(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    yield from served(request.param)


def test_mmu_plot_and_details(case) -> None:  # type: ignore[no-untyped-def]
    path, version, tr, server = case
    _check_pages(tr, version, server)


def _check_pages(tr: gt.Trace, version: str, server: GoToolTrace) -> None:
    """Our curve and worst windows against the server's, for every flag set."""
    for flags in FLAG_SETS:
        kw = _kw(flags)
        plot = json.loads(server.text(f"/mmu?mode=plot&flags={flags}"))
        assert plot["quantiles"] is None
        curve = gt.mmu(tr, **kw, go_version=version)
        assert curve.attrs == {"x_min_ns": plot["xMin"], "x_max_ns": plot["xMax"]}, flags
        windows = [int(r[0]) for r in plot["curve"]]
        assert [float(w) for w in windows] == [r[0] for r in plot["curve"]]
        assert curve["window_ns"].tolist() == windows, flags
        np.testing.assert_allclose(
            curve["mmu"], [r[1] for r in plot["curve"]], rtol=0, atol=1e-9, err_msg=flags
        )

        # Worst windows: some plotted sizes and one that is not.
        for w in [windows[25], windows[60], windows[-1], 7_654_321]:
            details = json.loads(server.text(f"/mmu?mode=details&window={w}&flags={flags}")) or []
            ours = gt.mmu_worst_windows(tr, w, **kw, go_version=version)
            assert ours["start_ns"].tolist() == [d["Time"] for d in details], (flags, w)
            np.testing.assert_allclose(
                ours["util"],
                [d["MutatorUtil"] for d in details],
                rtol=0,
                atol=1e-9,
                err_msg=f"{flags} {w}",
            )
            assert (ours["end_ns"] - ours["start_ns"] == w).all()


# Wire event types (Go's internal/trace/tracev2/events.go).
_PROCS_CHANGE, _GO_START, _GO_UNBLOCK, _GC_MARK_ASSIST_ACTIVE = 9, 16, 21, 34


def _assists_active_at_start(data: bytes) -> bytes:
    """The trace with two mark assists shown as already active in the first
    generation (GCMarkAssistActive): one right after a goroutine starts
    running (GoStart), one right after another is made runnable (GoUnblock).
    Both come after the first GOMAXPROCS (ProcsChange), before which the
    utilisation is not kept."""
    header, batches = wire.split(data)
    first = [
        b for b in batches if b.kind == "batch" and b.gen == batches[0].gen and b.role == "events"
    ]

    def timed(b: wire.Batch) -> list[tuple[int, wire.Event]]:
        """(ticks, event) of an event batch."""
        t, out = b.time, []
        for e in wire.events(b.payload):
            t += e.dt
            out.append((t, e))
        return out

    procs = min(t for b in first for t, e in timed(b) if e.typ == _PROCS_CHANGE)
    found: dict[int, int] = {}
    out = []
    for b in batches:
        if b in first:
            evs = []
            for t, e in timed(b):
                evs.append(e)
                new = t > procs and e.typ in (_GO_START, _GO_UNBLOCK) and e.typ not in found
                if new and e.args[0] not in found.values():
                    found[e.typ] = e.args[0]
                    evs.append(wire.Event(_GC_MARK_ASSIST_ACTIVE, 0, [e.args[0]], -1))
            b = replace(b, payload=wire.encode_events(evs))
        out.append(b)
    assert set(found) == {_GO_START, _GO_UNBLOCK}, found
    return wire.join(header, out)


@pytest.mark.parametrize("version", VERSIONS)
def test_mmu_of_assists_active_at_the_start(version: str, tmp_path: Path) -> None:
    """A mark assist active at the trace start counts from the start only if
    its goroutine is running (the MMU's one look at goroutine states). No
    corpus trace has one: they are added to a real trace."""
    path = tmp_path / "assists.trace"
    path.write_bytes(
        _assists_active_at_start((CORPUS / f"go{version}" / "preexisting.trace").read_bytes())
    )
    tr = gt.read_trace(path)
    ev = tr.to_pandas("events")
    active = ev[(ev["kind"] == "RangeActive") & (ev["name"] == "GC mark assist")]
    gomaxprocs = ev.index[(ev["kind"] == "Metric") & (ev["name"] == "/sched/gomaxprocs:threads")]
    assert (active.index > gomaxprocs.min()).all()
    # Each goroutine's state when its assist shows up: one running, one not.
    states = set()
    for row, g in zip(active.index, active["resource_id"], strict=True):
        before = ev.loc[: row - 1]
        moves = before[(before["kind"] == "StateTransition") & (before["resource_id"] == g)]
        states.add(moves["to_state"].iloc[-1])
    assert states == {"Running", "Runnable"}
    with GoToolTrace(path, version) as server:
        _check_pages(tr, version, server)


def test_mut_flag_quirk(case) -> None:  # type: ignore[no-untyped-def]
    """cmd/trace's percentiles equal its MMU (the quirk we do not copy); its
    p100 column is the MMU, which ours equals."""
    path, version, tr, server = case
    flags = "stw|background|assist|mut"
    plot = json.loads(server.text(f"/mmu?mode=plot&flags={flags}"))
    assert plot["quantiles"] == [0, 0.001, 0.01, 0.05]
    rows = np.asarray(plot["curve"], dtype=np.float64)
    assert (rows[:, 2:] == rows[:, 1:2]).all(), "cmd/trace now feeds its MUD: copy it"
    ours = gt.mmu(
        tr, [int(w) for w in rows[:, 0]], **_kw(flags), percentiles=True, go_version=version
    )
    np.testing.assert_allclose(ours["mmu"], rows[:, 1], rtol=0, atol=1e-9)
    for col in MMU_PERCENTILES:
        assert (ours[col] >= ours["mmu"] - 1e-12).all()


# -- against exact computations from the utilisation function -----------------


def _windowed(
    t: npt.NDArray[np.int64], u: npt.NDArray[np.float64], w: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The windowed mean utilisation at every breakpoint of one series (its
    left edge or right edge meets a change): (positions, values). Between two
    consecutive positions it is linear."""
    w = min(w, int(t[-1] - t[0]))
    # float64 with times relative to the first point is plenty here.
    rel = (t - t[0]).astype(np.float64)
    cum = np.concatenate(([0.0], np.cumsum(u[:-1] * np.diff(rel))))

    def integral(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        i = np.searchsorted(rel, x, side="right") - 1
        i = np.clip(i, 0, len(rel) - 1)
        return cum[i] + u[i] * (x - rel[i])

    hi = rel[-1] - w
    pos = np.unique(np.concatenate((rel, rel - w)))
    pos = pos[(pos >= 0) & (pos <= hi)]
    return pos, (integral(pos + w) - integral(pos)) / w


def _series(tr: gt.Trace, **kw: Any) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
    mu = gt.mutator_utilization(tr, **kw)
    return [
        (g["time_ns"].to_numpy(), g["util"].to_numpy()) for _, g in mu.groupby("series", sort=True)
    ]


PROPERTY_CASES = [
    CORPUS / "go1.27" / "gc.trace",
    CORPUS / "go1.24" / "example.trace",
    CORPUS / "go1.26" / "gomaxprocs.trace",
]


@pytest.mark.parametrize("path", PROPERTY_CASES, ids=case_id)
@pytest.mark.parametrize("flags", ["stw|background|assist", "perProc|stw|background|assist|sweep"])
def test_mmu_is_the_exact_minimum(path: Path, flags: str) -> None:
    """The band search finds the true minimum over all window positions."""
    tr = gt.read_trace(path)
    kw = _kw(flags)
    series = _series(tr, **kw)
    windows = [1_000, 100_000, 1_000_000, 10_000_000]
    got = gt.mmu(tr, windows, **kw)["mmu"].tolist()
    for w, g in zip(windows, got, strict=True):
        want = min(float(_windowed(t, u, w)[1].min()) for t, u in series if t[-1] > t[0])
        assert abs(g - want) < 1e-9, (w, g, want)


def _quantile(
    segments: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]], q: float
) -> float:
    """The utilisation u with exactly a fraction q of the window positions at
    or below it (positions weighted by time), by bisection."""
    x0 = np.concatenate([p[:-1] for p, _ in segments])
    x1 = np.concatenate([p[1:] for p, _ in segments])
    a = np.concatenate([v[:-1] for _, v in segments])
    b = np.concatenate([v[1:] for _, v in segments])
    length = x1 - x0
    lo_v, hi_v = np.minimum(a, b), np.maximum(a, b)
    total = length.sum()

    def mass(u: float) -> float:
        span = hi_v - lo_v
        frac = np.where(
            span > 0, np.clip((u - lo_v) / np.where(span > 0, span, 1), 0, 1), (lo_v <= u) * 1.0
        )
        return float((frac * length).sum())

    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if mass(mid) >= q * total:
            hi = mid
        else:
            lo = mid
    return hi


@pytest.mark.parametrize("path", PROPERTY_CASES, ids=case_id)
@pytest.mark.parametrize("flags", ["stw|background|assist", "perProc|stw|background|assist"])
def test_percentiles_are_the_distribution(path: Path, flags: str) -> None:
    tr = gt.read_trace(path)
    kw = _kw(flags)
    series = _series(tr, **kw)
    windows = [10_000, 1_000_000]
    got = gt.mmu(tr, windows, **kw, percentiles=True)
    for _, row in got.iterrows():
        w = int(row["window_ns"])
        segs = [_windowed(t, u, w) for t, u in series if t[-1] - t[0] > w]
        for name, q in MMU_PERCENTILES.items():
            want = _quantile(segs, q)
            assert abs(row[name] - want) < 1e-9, (w, name, row[name], want)


def test_utilization_function_shape() -> None:
    tr = gt.read_trace(CORPUS / "go1.26" / "gomaxprocs.trace")
    mu = gt.mutator_utilization(tr)
    assert (mu["series"] == 0).all()
    assert mu["time_ns"].is_monotonic_increasing and mu["time_ns"].is_unique
    assert mu["util"].between(0, 1).all()
    assert mu["util"].iloc[-1] == 0 and mu["time_ns"].iloc[-1] == tr.end_ns
    # Only changes are kept.
    assert (np.diff(mu["util"].to_numpy()) != 0).all()
    per = gt.mutator_utilization(tr, per_proc=True)
    assert per["series"].nunique() > 1  # GOMAXPROCS changes: Ps come and go
    assert set(per["util"].unique()) <= {0.0, 1.0}


def test_plot_mmu() -> None:
    tr = gt.read_trace(CORPUS / "go1.27" / "gc.trace")
    curve = gt.mmu(tr, percentiles=True)
    fig = gt.plot_mmu(curve)
    assert [d.name for d in fig.data] == ["MMU", "p99.9 MU", "p99 MU", "p95 MU"]
    assert fig.layout.xaxis.type == "log"


def test_old_trace_without_gomaxprocs() -> None:
    """No GOMAXPROCS metric, no utilization (Go's /mmu fails on such a trace)."""
    tr = gt.read_trace(NO_GOMAXPROCS)
    assert "/sched/gomaxprocs:threads" not in set(tr.metrics["name"].to_pylist())
    assert gt.mutator_utilization(tr).empty
    assert gt.mmu(tr).empty
