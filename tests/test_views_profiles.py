"""The four blocking profiles against the real `go tool trace` of each Go release.

For corpus traces of every Go version 1.22-1.27, `go tool trace` of the same
release computes the net, sync, syscall and sched profiles: `-pprof=TYPE` on
the command line, and /io, /block, /syscall, /sched (with ``name=``) and
/regionio ... (with ``type=``, ``pc=``, ``latmin=``, ``latmax=``) with
``raw=1`` over HTTP. Each is decoded and compared with `blocking_profile`
(``go_version`` of that release) stack by stack: count and total delay exactly,
and the frames (pc, function, file, line). Our own pprof files must pass
`go tool pprof -raw` and give back the same samples.

The one cmd/trace behaviour we deliberately do not copy: ``name=`` with an
empty value selects *every* goroutine in cmd/trace (it cannot select the
nameless group), while ``blocking_profile(name="")`` selects the goroutines
with no name (``name=None`` is "all"). That group is therefore not compared.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import damage
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from gotool import (
    CORPUS,
    VERSIONS,
    case_id,
    corpus_cases,
    pprof,
    pprof_raw,
    served,
    trace_version,
)

import gotrace_df as gt
from gotrace_df import _core
from gotrace_df.views._common import semantics
from gotrace_df.views._summary import region_times, summarize
from gotrace_df.views.profiles import _region_pcs, profile_pass, streamed_profile

KINDS = ["net", "sync", "syscall", "sched"]
ENDPOINT = {"net": "io", "sync": "block", "syscall": "syscall", "sched": "sched"}
# Every version gets these; the other scenarios are spread over the versions so
# that every corpus program is compared at least once.
SCENARIOS = ["example", "sync", "syscall", "net", "gc", "tasks", "preexisting"]
EXTRA = {
    "1.22": ["churn", "gotest"],
    "1.23": ["coro", "gomaxprocs"],
    "1.24": ["generations", "allocfree"],
    "1.25": ["flightrec", "cpuprof"],
    "1.26": ["gotest", "gomaxprocs", "allocfree"],
    "1.27": ["cpuprof", "coro", "flightrec", "churn", "generations"],
    "v1": ["http_1_19_good", "fmt_1_21_pprof_good"],
}
CASES = corpus_cases(SCENARIOS, EXTRA)
# `go tool trace -pprof=TYPE` itself (one process per profile) for these.
CLI_CASES = [CORPUS / f"go{v}" / f"{s}.trace" for v in VERSIONS for s in ("example", "syscall")] + [
    CORPUS / "go1.21" / "sync.trace",
    CORPUS / "v1" / "http_1_21_good.trace",
]
# The streaming -pprof pass against the in-memory one: every corpus trace.
ALL_TRACES = sorted(CORPUS.glob("go1.*/*.trace")) + sorted((CORPUS / "v1").glob("*.trace"))

Frame = tuple[int, str, str, int]
Profile = dict[tuple[Frame, ...], tuple[int, int]]


def _key(frames: list[dict[str, Any]]) -> tuple[Frame, ...]:
    return tuple((int(f["pc"]), f["function"], f["file"], int(f["line"])) for f in frames)


def _ours(df: pd.DataFrame) -> Profile:
    out: Profile = {}
    for c, d, fr in zip(df["count"], df["delay_ns"], df["frames"], strict=True):
        k = _key(fr)
        assert k not in out, "two rows with the same stack"
        out[k] = (int(c), int(d))
    return out


def _go(data: bytes) -> Profile:
    df = gt.read_pprof(data)
    assert df.attrs["sample_types"] == [("contentions", "count"), ("delay", "nanoseconds")]
    assert df.attrs["period_type"] == ("trace", "count") and df.attrs["period"] == 1
    out: Profile = {}
    for c, d, fr in zip(df["contentions"], df["delay"], df["frames"], strict=True):
        k = _key(fr)
        assert k not in out, "cmd/trace gave two samples with the same stack"
        out[k] = (int(c), int(d))
    return out


def _assert_same(go: Profile, ours: Profile, what: str) -> None:
    diff = {
        (k[0][1] if k else "(no stack)"): (go.get(k), ours.get(k))
        for k in set(go) | set(ours)
        if go.get(k) != ours.get(k)
    }
    assert not diff, f"{what}: {len(diff)} stacks differ (go, ours): {list(diff.items())[:5]}"


@pytest.fixture(scope="module", params=CASES, ids=[case_id(p) for p in CASES])
def case(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    yield from served(request.param)


def test_profiles_match_go(case) -> None:  # type: ignore[no-untyped-def]
    """/io, /block, /syscall, /sched?raw=1: what -pprof computes (name="" = all)."""
    path, version, tr, server = case
    for kind in KINDS:
        go = _go(server.get(f"/{ENDPOINT[kind]}?raw=1"))
        _assert_same(go, _ours(gt.blocking_profile(tr, kind, go_version=version)), kind)


def test_goroutine_group_filter(case) -> None:  # type: ignore[no-untyped-def]
    """/io?name=<group> ... for the largest goroutine groups."""
    path, version, tr, server = case
    names = tr.to_pandas("goroutines")["name"].astype(object).dropna()
    # "" is not comparable: cmd/trace reads name= as "all goroutines".
    groups = [n for n in names.value_counts().index if n != ""][:3]
    assert groups
    for name in groups:
        for kind in KINDS:
            go = _go(server.get(f"/{ENDPOINT[kind]}?raw=1&name={quote(name, safe='')}"))
            ours = gt.blocking_profile(tr, kind, name=name, go_version=version)
            _assert_same(go, _ours(ours), f"{kind} name={name}")


def test_region_filters(case) -> None:  # type: ignore[no-untyped-def]
    """/regionio ... with no filter, type=, type=&pc=, latmin=, latmax=."""
    path, version, tr, server = case
    sem = semantics(version)
    s = summarize(tr, sem)
    listed = np.flatnonzero(s.regions["in_goroutine"].to_numpy(dtype=bool))
    regions = s.regions.iloc[listed]
    queries: list[tuple[str, dict[str, Any]]] = [("", {"region": True})]
    if not regions.empty:
        pcs = _region_pcs(tr, sem, regions["start_event"])
        for name in regions["name"].value_counts().index[:3]:
            queries.append((f"type={quote(name, safe='')}", {"region": name}))
        for name, pc in list(dict.fromkeys(zip(regions["name"], pcs.tolist(), strict=True)))[:3]:
            queries.append(
                (f"type={quote(name, safe='')}&pc={pc:x}", {"region": name, "region_pc": pc})
            )
        lo, hi = region_times(s, listed)
        dur = hi.to_numpy(dtype=np.int64, na_value=tr.end_ns) - lo.to_numpy(
            dtype=np.int64, na_value=tr.start_ns
        )
        med = int(np.median(dur))
        queries.append((f"latmin={med}ns", {"region_min_ns": med}))
        queries.append((f"latmax={med}ns", {"region_max_ns": med}))
    for query, kw in queries:
        for kind in KINDS:
            go = _go(server.get(f"/region{ENDPOINT[kind]}?raw=1&{query}"))
            ours = gt.blocking_profile(tr, kind, go_version=version, **kw)
            _assert_same(go, _ours(ours), f"region{ENDPOINT[kind]}?{query}")


@pytest.mark.parametrize("path", CLI_CASES, ids=[case_id(p) for p in CLI_CASES])
def test_cli_pprof(path: Path, tmp_path: Path) -> None:
    """`go tool trace -pprof=TYPE` against ours, in memory and streamed (what
    `gotrace-df -pprof` runs); our pprof file through `go tool pprof -raw`."""
    version = trace_version(path)
    tr = gt.read_trace(path)
    with ThreadPoolExecutor(2) as pool:
        go_bytes = dict(zip(KINDS, pool.map(lambda k: pprof(path, k, version), KINDS), strict=True))
    data = path.read_bytes()
    for kind in KINDS:
        ours = gt.blocking_profile(tr, kind, go_version=version)
        streamed = streamed_profile(data, kind, name=str(path), go_version=version)
        for how, prof in (("in memory", ours), ("streamed", streamed)):
            _assert_same(_go(go_bytes[kind]), _ours(prof), f"-pprof={kind} {how}")
        if ours.empty:
            continue
        f = tmp_path / f"{kind}.pb.gz"
        gt.to_pprof(ours, f)
        raw = _parse_pprof_raw(pprof_raw(f))
        want = Counter(
            (
                int(c),
                int(d),
                tuple((int(x["pc"]), x["function"], x["file"], int(x["line"])) for x in fr),
            )
            for c, d, fr in zip(ours["count"], ours["delay_ns"], ours["frames"], strict=True)
        )
        assert raw == want


@pytest.mark.parametrize("path", ALL_TRACES, ids=[case_id(p) for p in ALL_TRACES])
def test_streamed_profile_is_the_in_memory_one(path: Path) -> None:
    """The profile pass run while the trace is parsed (no tables) gives the
    frame and the pprof bytes of read_trace + blocking_profile, for every kind
    and the cmd/trace of the trace's release (1.22-1.25 skip stackless
    transitions, 1.26+ do not)."""
    version = trace_version(path)
    tr = gt.read_trace(path, progress=False)
    data = path.read_bytes()
    # The pass itself, all kinds at once: intervals and goroutine fields
    # (naming stacks too, which the whole-trace profile does not read).
    sem = semantics(version)
    raw = _core.stream_profile(data, KINDS, skip_no_stack=sem.minor <= 25)["tables"]
    for part, cols in profile_pass(tr, sem)[1].items():
        got = pa.table(raw[part])
        for c, want_col in cols.items():
            np.testing.assert_array_equal(got[c].to_numpy(), want_col, err_msg=f"{part}.{c}")
    for kind in KINDS:
        want = gt.blocking_profile(tr, kind, go_version=version)
        got = streamed_profile(data, kind, name=str(path), go_version=version)
        pd.testing.assert_frame_equal(got, want, obj=f"{kind} profile")
        assert gt.to_pprof(got) == gt.to_pprof(want), kind


def test_streamed_profile_of_a_damaged_trace() -> None:
    """Cut or corrupted: the streaming pass fails with read_trace's error, or
    keeps the same complete generations (the same warning, the same profile)."""
    seen = set()
    for i, bad in enumerate(damage.streaming_inputs()):
        want = damage.read(bad, f"input {i}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                got = {k: streamed_profile(bad, k, name="<bytes>") for k in KINDS}
            except gt.TraceError as e:
                damage.assert_same_error(e, want, f"input {i}")
                seen.add("error")
                continue
        assert want.trace is not None, f"input {i}: read_trace failed: {want.error}"
        warned = [want.warning] * len(KINDS) if want.warning else []
        assert [str(w.message) for w in caught] == warned, f"input {i}"
        seen.add("warned" if want.warning else "whole")
        for kind, prof in got.items():
            assert gt.to_pprof(prof) == gt.to_pprof(gt.blocking_profile(want.trace, kind))
    assert {"error", "warned"} <= seen, seen


_SAMPLE = re.compile(r"^\s*(-?\d+)\s+(-?\d+):((?:\s+\d+)*)\s*$")
# A frame without symbol information prints as "0x0 M=1  :0:0 s=0".
_LOCATION = re.compile(r"^\s*(\d+): 0x([0-9a-f]+) M=\d+ (\S*) (.*):(\d+):\d+ s=\d+\s*$")


def _parse_pprof_raw(text: str) -> Counter[tuple[int, int, tuple[Frame, ...]]]:
    """Samples of `go tool pprof -raw`: (count, delay, frames) with frames
    (address, function, file, line) innermost first."""
    lines = text.splitlines()
    assert "PeriodType: trace count" in lines and "Period: 1" in lines
    i = lines.index("Samples:")
    assert lines[i + 1].split() == ["contentions/count", "delay/nanoseconds"]
    samples = []
    j = i + 2
    while not lines[j].startswith("Locations"):
        m = _SAMPLE.match(lines[j])
        assert m, lines[j]
        samples.append((int(m[1]), int(m[2]), [int(x) for x in m[3].split()]))
        j += 1
    locs: dict[int, Frame] = {}
    for line in lines[j + 1 :]:
        if line.startswith("Mappings"):
            break
        m = _LOCATION.match(line)
        assert m, line
        locs[int(m[1])] = (int(m[2], 16), m[3], m[4], int(m[5]))
    return Counter((c, d, tuple(locs[x] for x in ids)) for c, d, ids in samples)


# -- our own properties (no cmd/trace equivalent) ----------------------------


@pytest.mark.parametrize(
    "path", [CORPUS / "go1.27" / "example.trace", CORPUS / "go1.22" / "net.trace"], ids=case_id
)
@pytest.mark.parametrize("kind", KINDS)
def test_time_window_splits_delay(path: Path, kind: str) -> None:
    """A window covering the trace changes nothing; two halves add up."""
    tr = gt.read_trace(path)
    full = gt.blocking_profile(tr, kind)
    whole = gt.blocking_profile(tr, kind, start_ns=tr.start_ns, end_ns=tr.end_ns)
    pd.testing.assert_frame_equal(full.drop(columns="frames"), whole.drop(columns="frames"))
    mid = (tr.start_ns + tr.end_ns) // 2
    a = gt.blocking_profile(tr, kind, end_ns=mid)
    b = gt.blocking_profile(tr, kind, start_ns=mid)
    both = pd.concat([a, b]).groupby("stack_id")["delay_ns"].sum()
    assert both.to_dict() == full.set_index("stack_id")["delay_ns"].to_dict()


@pytest.mark.parametrize("kind", KINDS)
def test_pprof_round_trip(kind: str) -> None:
    tr = gt.read_trace(CORPUS / "go1.26" / "example.trace")
    prof = gt.blocking_profile(tr, kind)
    data = gt.to_pprof(prof)
    assert data == gt.to_pprof(prof)  # gzip mtime 0: reproducible
    back = gt.read_pprof(data)
    assert back["contentions"].tolist() == prof["count"].tolist()
    assert back["delay"].tolist() == prof["delay_ns"].tolist()
    assert [_key(f) for f in back["frames"]] == [_key(f) for f in prof["frames"]]


def test_percentiles_are_observed_delays() -> None:
    tr = gt.read_trace(CORPUS / "go1.27" / "sync.trace")
    prof = gt.blocking_profile(tr, "sync")
    assert (prof["delay_p50_ns"] <= prof["delay_p90_ns"]).all()
    assert (prof["delay_p90_ns"] <= prof["delay_p99_ns"]).all()
    assert (prof["delay_p99_ns"] <= prof["delay_max_ns"]).all()
    assert (prof["delay_max_ns"] <= prof["delay_ns"]).all()
    one = prof[prof["count"] == 1]
    assert (one["delay_max_ns"] == one["delay_ns"]).all()


def test_plot_blocking_profile() -> None:
    tr = gt.read_trace(CORPUS / "go1.27" / "sync.trace")
    prof = gt.blocking_profile(tr, "sync")
    fig = gt.plot_blocking_profile(prof, top=5)
    bars = fig.data[0]
    assert len(bars.y) == min(5, len(prof))
    assert list(bars.x)[::-1] == (prof["delay_ns"].head(5) / 1e6).tolist()


def test_bad_kind() -> None:
    tr = gt.read_trace(gt.example_trace())
    with pytest.raises(ValueError, match="kind must be one of"):
        gt.blocking_profile(tr, "io")


def test_name_and_region_together() -> None:
    tr = gt.read_trace(CORPUS / "go1.27" / "tasks.trace")
    names = tr.to_pandas("goroutines")["name"].astype(object).dropna()
    for name in names.value_counts().index[:3]:
        for kind in KINDS:
            both = gt.blocking_profile(tr, kind, name=name, region=True)["delay_ns"].sum()
            assert both <= gt.blocking_profile(tr, kind, region=True)["delay_ns"].sum()
            assert both <= gt.blocking_profile(tr, kind, name=name)["delay_ns"].sum()


def test_streamed_profile_reports_progress_and_stops_on_its_error() -> None:
    """The streaming pass calls ``progress`` as read_trace does, up to the
    whole input, and an exception the callback raises stops it and comes out."""
    data = damage.trace_bytes("go1.26/generations")
    calls: list[tuple[int, int]] = []
    streamed_profile(data, "sched", name="<bytes>", progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1] == (len(data), len(data))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    class Stop(Exception):
        pass

    def stop(_done: int, _total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        streamed_profile(data, "sched", name="<bytes>", progress=stop)
