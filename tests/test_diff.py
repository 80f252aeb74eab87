"""gt.diff and `gotrace-df diff`: a trace against itself and against its
redacted copy, a before/after pair built from one Go program run with a knob
doubled, the -pprof diff against `go tool pprof -diff_base`, and bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from gotool import go_binary, go_env

import gotrace_df as gt
from gotrace_df.export import redact_trace
from gotrace_df.views.diff import KINDS, Side, diff, trace_side

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "traces"
PROGRAM = ROOT / "tests" / "data" / "programs" / "diffpair" / "main.go"
GOTRACE_DF = Path(sys.executable).parent / "gotrace-df"
# The knob of that program (ms each worker holds the mutex), before and after.
HOLD_A, HOLD_B = 5, 10
# How far a doubled total may stray from 2x (timers fire late on a busy
# machine, adding to every sleep; contention adds to the mutex waits), and an
# unchanged one from 1x.
DOUBLED = (1.6, 2.4)
UNCHANGED = (0.8, 1.25)
# Tasks, regions, logs and stacks of every profile kind but net.
TASKS = CORPUS / "go1.27" / "tasks.trace"


def gotrace_df(*args: str) -> subprocess.CompletedProcess[bytes]:
    """The console script, as users run it."""
    return subprocess.run(
        [str(GOTRACE_DF), *map(str, args)], capture_output=True, env=go_env(), timeout=300
    )


def assert_no_change(d: pd.DataFrame) -> None:
    assert len(d) > 0
    assert (d["delta_ns"] == 0).all() and (d["delta_count"] == 0).all()
    assert (d["count_a"] == d["count_b"]).all() and (d["total_a_ns"] == d["total_b_ns"]).all()
    for p in ("p50", "p90", "p99"):
        a, b = d[f"{p}_a_ns"], d[f"{p}_b_ns"]
        assert (a.isna() == b.isna()).all() and (a.dropna() == b.dropna()).all()
    some = d["total_a_ns"] > 0
    assert (d.loc[some, "ratio"] == 1.0).all()
    assert d.loc[~some, "ratio"].isna().all()


def test_diff_with_itself_is_zero() -> None:
    a, b = gt.read_trace(TASKS), gt.read_trace(TASKS)
    d = gt.diff(a, b)
    assert_no_change(d)
    assert set(d["kind"]) == set(KINDS) - {"net stack"}
    # The rows are the views' own numbers.
    ga = gt.goroutine_analysis(a)
    exec_rows = d[(d["kind"] == "goroutine group") & (d["metric"] == "exec")]
    assert (
        exec_rows.set_index("key")["total_a_ns"].to_dict()
        == ga.set_index("name")["exec_ns"].to_dict()
    )
    for kind in ("sched", "sync", "syscall"):
        prof = gt.blocking_profile(a, kind)
        rows = d[d["kind"] == f"{kind} stack"]
        assert rows["total_a_ns"].sum() == prof["delay_ns"].sum() > 0
        assert rows["count_a"].sum() == prof["count"].sum()
    regions = d[d["kind"] == "region type"]
    assert regions["total_a_ns"].sum() == gt.user_regions(a)["total_ns"].sum()
    # Largest change first: here every |delta| is 0, so kinds in order.
    assert list(pd.unique(d["kind"])) == [k for k in KINDS if k in set(d["kind"])]


def _mapping(orig: pa.ChunkedArray, red: pa.ChunkedArray) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for x, y in zip(orig.to_pylist(), red.to_pylist()):
        assert out.setdefault(x, y) == y
    return out


def test_diff_with_redacted_copy_matches_after_mapping() -> None:
    tr = gt.read_trace(TASKS)
    red = redact_trace(tr)
    funcs = _mapping(tr.frames["function"], red.frames["function"])
    funcs.update(_mapping(tr.goroutines["name"], red.goroutines["name"]))
    files = _mapping(tr.frames["file"], red.frames["file"])
    names = {
        "goroutine group": funcs,
        "task type": _mapping(tr.tasks["name"], red.tasks["name"]),
        "region type": _mapping(tr.regions["name"], red.regions["name"]),
    }
    plain = trace_side(tr)
    # The placeholders really differ: unmapped, most keys find no partner.
    unmatched = diff(plain, red)
    assert ((unmatched["count_a"] == 0) | (unmatched["count_b"] == 0)).sum() > len(unmatched) // 3
    s = plain.stats.copy()
    s["name"] = [names.get(k, {}).get(n, n) for k, n in zip(s["kind"], s["name"])]
    s["stack"] = [tuple((funcs[f], files[fi], ln) for f, fi, ln in st) for st in s["stack"]]
    d = diff(Side("mapped", s), red)
    assert_no_change(d)
    assert len(d) == len(plain.stats), "every key found its placeholder"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """tests/data/programs/diffpair built with Go 1.26 and run with the knob
    at HOLD_A, then HOLD_B: the traces before and after."""
    work = tmp_path_factory.mktemp("diffpair")
    exe = work / "diffpair"
    subprocess.run(
        [str(go_binary("1.26")), "build", "-o", str(exe), str(PROGRAM)],
        check=True,
        env=dict(go_env(), GO111MODULE="off"),
        timeout=300,
    )
    out = []
    for hold in (HOLD_A, HOLD_B):
        path = work / f"hold{hold}.trace"
        subprocess.run([str(exe), str(hold), str(path)], check=True, timeout=120)
        out.append(path)
    return out[0], out[1]


def _one(d: pd.DataFrame, kind: str, metric: str, match: Any) -> pd.Series:
    rows = d[(d["kind"] == kind) & (d["metric"] == metric) & match(d)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def _within(ratio: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= ratio <= bounds[1]


def test_designed_change_shows_where_designed(pair: tuple[Path, Path]) -> None:
    d = gt.diff(*pair)
    # The "hold" regions: 3 workers x 12 rounds, each twice as long.
    hold = _one(d, "region type", "duration", lambda d: d["name"] == "hold")
    assert hold["count_a"] == hold["count_b"] == 36
    assert hold["delta_ns"] > 0 and _within(hold["ratio"], DOUBLED), hold
    assert _within(hold["p50_b_ns"] / hold["p50_a_ns"], DOUBLED)
    assert hold["stack"][0][0] == "main.worker"
    steady = _one(d, "region type", "duration", lambda d: d["name"] == "steady")
    assert _within(steady["ratio"], UNCHANGED), steady
    regions = d[d["kind"] == "region type"]
    assert regions.iloc[0]["name"] == "hold", "the largest region change comes first"
    rounds = _one(d, "task type", "duration", lambda d: d["name"] == "round")
    assert rounds["delta_ns"] > 0 and _within(rounds["ratio"], DOUBLED), rounds
    # The workers block (on the mutex, and asleep holding it) twice as long.
    workers = _one(d, "goroutine group", "block", lambda d: d["key"] == "main.worker")
    assert workers["delta_ns"] > 0 and _within(workers["ratio"], DOUBLED), workers
    # The Lock in main.worker: one stack, matched by its frames in both traces.
    lock = d[
        (d["kind"] == "sync stack")
        & d["stack"].map(lambda st: any(f[0] == "main.worker" for f in st))
        & d["stack"].map(lambda st: bool(st) and st[0][0].endswith("Mutex).Lock"))
    ]
    assert len(lock) == 1, lock
    lock = lock.iloc[0]
    assert lock["count_a"] > 0 and lock["count_b"] > 0
    assert lock["delta_ns"] > 0 and _within(lock["ratio"], DOUBLED), lock
    assert d[d["kind"] == "sync stack"].iloc[0]["key"] == lock["key"]


def test_command_prints_top_changes(pair: tuple[Path, Path]) -> None:
    p = gotrace_df("diff", "-top=2", *pair)
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    for kind in KINDS:
        assert f"\n{kind}: " in text
    region = text.split("\nregion type: ", 1)[1].splitlines()
    # Header, then the two largest changes: hold (about +180 ms) first.
    assert region[1].split()[0] == "delta" and "hold @ main.worker main.go:" in region[2]
    assert region[2].lstrip().startswith("+") and region[2].split()[1] == "ms"
    assert "steady @ main.steady" in region[3]


def _top(version: str, *args: Path | str) -> str:
    out = subprocess.run(
        [str(go_binary(version)), "tool", "pprof", "-top", *map(str, args)],
        capture_output=True,
        env=go_env(),
        check=True,
        timeout=120,
    )
    return out.stdout.decode()


@pytest.mark.parametrize("kind", ["sched", "sync"])
def test_pprof_diff_equals_go_diff_base(pair: tuple[Path, Path], kind: str, tmp_path: Path) -> None:
    """`go tool pprof -top` of our diff file equals `go tool pprof -top
    -diff_base` of the two traces' `gotrace-df -pprof` profiles."""
    prof = {}
    for side, trace in zip("ab", pair):
        p = gotrace_df(f"-pprof={kind}", trace)
        assert p.returncode == 0, p.stderr
        prof[side] = tmp_path / f"{side}.pb.gz"
        prof[side].write_bytes(p.stdout)
    out = tmp_path / "out" / "diff.pb.gz"
    p = gotrace_df("diff", f"-pprof={kind}", f"-o={out}", *pair)
    assert p.returncode == 0, p.stderr
    assert [f.name for f in out.parent.iterdir()] == ["diff.pb.gz"], "no temporary left"
    ours = _top("1.26", out)
    theirs = _top("1.26", "-diff_base", prof["a"], prof["b"])
    assert ours == theirs
    assert "main.worker" in ours
    if kind == "sched":  # on stdout too, the same bytes
        assert gotrace_df("diff", f"-pprof={kind}", *pair).stdout == out.read_bytes()


def test_pprof_diff_of_two_binaries(tmp_path: Path) -> None:
    """Two builds of one program by different Go releases: the same PC may be
    another frame in each, and pprof must still see each side's own frames."""
    a, b = CORPUS / "go1.26" / "sync.trace", CORPUS / "go1.27" / "sync.trace"
    for side, trace in zip("ab", (a, b)):
        (tmp_path / side).write_bytes(gotrace_df("-pprof=sync", trace).stdout)
    out = tmp_path / "diff.pb.gz"
    assert gotrace_df("diff", "-pprof=sync", f"-o={out}", a, b).returncode == 0
    ours = _top("1.27", out)
    assert ours == _top("1.27", "-diff_base", tmp_path / "a", tmp_path / "b")
    assert "main." in ours


def test_bad_inputs(tmp_path: Path) -> None:
    good = CORPUS / "go1.26" / "generations.trace"
    missing = tmp_path / "missing.trace"
    p = gotrace_df("diff", good, missing)
    assert p.returncode == 1 and b"failed to read trace file" in p.stderr
    assert str(missing).encode() in p.stderr and not p.stdout
    garbage = tmp_path / "garbage.trace"
    garbage.write_bytes(b"not a Go trace at all")
    p = gotrace_df("diff", garbage, good)
    assert p.returncode == 1 and b"Traceback" not in p.stderr and p.stderr.strip()
    # A damaged tail: the complete generations read, but a diff refuses it.
    data = good.read_bytes()
    cut = tmp_path / "cut.trace"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.warns(gt.TraceWarning):
        assert gt.read_trace(cut).bytes_used < len(data)
    for args in (("diff", good, cut), ("diff", "-pprof=sched", cut, good)):
        p = gotrace_df(*args)
        assert p.returncode == 1 and b"is damaged" in p.stderr and not p.stdout, p.stderr
    # Usage errors.
    p = gotrace_df("diff", good)
    assert p.returncode == 2 and b"expected before.trace after.trace" in p.stderr
    p = gotrace_df("diff", "-pprof=cpu", good, good)
    assert p.returncode == 1 and b"unknown pprof type cpu" in p.stderr
    p = gotrace_df("diff", "-top=0", good, good)
    assert p.returncode == 2 and b"-top" in p.stderr
    with pytest.raises(FileNotFoundError):
        gt.diff(good, missing)


def test_stacks_sharing_frames_are_one_key() -> None:
    """Two stacks of one trace with the same frames at other PCs (as two
    builds give) are one key: counts and totals add, percentiles do not."""
    tr = gt.read_trace(TASKS)
    views: dict[str, Any] = {
        "goroutines": gt.goroutine_analysis(tr),
        "profiles": {k: gt.blocking_profile(tr, k) for k in ("sched", "sync", "syscall", "net")},
        "tasks": gt.user_tasks(tr),
        "regions": gt.user_regions(tr),
    }
    prof = views["profiles"]["sync"]
    twin = prof.iloc[[0]].copy()
    twin["frames"] = [[{**f, "pc": f["pc"] + 1} for f in twin["frames"].iloc[0]]]
    twin["stack_id"] = -2
    doubled = dict(views, profiles={**views["profiles"], "sync": pd.concat([prof, twin])})
    d = diff(Side.from_views("a", **views), Side.from_views("b", **doubled))
    row = d.iloc[0]
    top = prof.iloc[0]
    assert row["kind"] == "sync stack" and row["ratio"] == 2.0
    assert row["count_b"] == 2 * top["count"] and row["delta_ns"] == top["delay_ns"]
    assert row["p50_a_ns"] == top["delay_p50_ns"] and pd.isna(row["p50_b_ns"])
    assert (d.iloc[1:]["delta_ns"] == 0).all()


def test_lake_sides(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """A lake of the before trace diffs as that trace does; adding the after
    trace to it changes each key by exactly the after trace's numbers."""
    from gotrace_df import lake

    a, b = pair
    lake.convert([str(a)], tmp_path / "a", workers=1, progress=False)
    lake.convert([str(a), str(b)], tmp_path / "ab", workers=1, progress=False)
    la, lab = lake.open(tmp_path / "a"), lake.open(tmp_path / "ab")
    d = gt.diff(la, a)
    assert (d["delta_ns"] == 0).all() and (d["delta_count"] == 0).all()
    stacks = d["kind"].str.endswith(" stack")
    # Fleet-wide profiles have no per-interval percentiles; the rest are the trace's.
    assert d.loc[stacks, "p50_a_ns"].isna().all() and d.loc[stacks, "p50_b_ns"].notna().all()
    for p in ("p50", "p90", "p99"):
        rest = d.loc[~stacks]
        assert (rest[f"{p}_a_ns"].isna() == rest[f"{p}_b_ns"].isna()).all()
        assert (rest[f"{p}_a_ns"].dropna() == rest[f"{p}_b_ns"].dropna()).all()
    grown = gt.diff(la, lab).set_index(["kind", "key", "metric"])
    after = gt.diff(a, b).set_index(["kind", "key", "metric"])
    after = after[after["count_b"] > 0]
    assert (grown.loc[after.index, "delta_ns"] == after["total_b_ns"]).all()
    assert (grown.loc[after.index, "delta_count"] == after["count_b"]).all()
    assert (grown.drop(after.index)["delta_ns"] == 0).all()
