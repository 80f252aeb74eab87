"""Every script in examples/ run as a user runs it (``python examples/NAME.py``,
from a temporary directory), its output checked against Go where Go has the
answer: the event oracle (golang.org/x/exp/trace) for counts, times and
stacks, ``go tool trace -pprof`` read back with ``go tool pprof`` for the
profiles, a live Go program serving net/http/pprof for the download.

Each example has one check in ``CHECKS``; an example without one fails.
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_sources
from gotool import go_binary, go_env, pprof
from oracle_util import oracle_events

import gotrace_df as gt

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
TRACE = gt.example_trace()
TRACE_GO = "1.26"  # the Go release that wrote the bundled trace (tests/data/traces/go1.26)
PPROF = [str(go_binary(TRACE_GO)), "tool", "pprof"]

# The live Go program of tests/test_sources.py (tests/data/programs/pprofserver).
pprofserver = test_sources.pprofserver


def run(script: str, *args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """``python examples/SCRIPT args`` in ``cwd``, importing this checkout's gotrace_df."""
    env = dict(go_env(), PYTHONPATH=str(ROOT))
    p = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if ok:
        assert p.returncode == 0, f"{script} exited {p.returncode}:\n{p.stderr[-3000:]}"
        assert "Traceback" not in p.stderr, p.stderr
    return p


@pytest.fixture(scope="module")
def oracle() -> list[dict[str, Any]]:
    """Every event of the bundled trace as Go's parser yields it."""
    events, err = oracle_events(TRACE)
    assert err is None, err
    return events


def runnable_waits(events: list[dict[str, Any]]) -> list[tuple[int, int, int, int, dict[str, Any]]]:
    """(length, goid, start, end, entering event) of every goroutine's wait in
    Runnable that ended, from Go's events: entered by a transition to Runnable
    (at the Sync before it for a status event from Undetermined), left by one
    from Runnable; generation-boundary status events (Runnable -> Runnable)
    do not end it."""
    sync_t = 0
    entered: dict[int, tuple[int, dict[str, Any]]] = {}
    waits = []
    for e in events:
        if e["kind"] == "Sync":
            sync_t = e["t"]
        if e["kind"] != "StateTransition" or e["resource"] != "Goroutine":
            continue
        g = e["rid"]
        if e["to"] == "Runnable" and e["from"] != "Runnable":
            entered[g] = (sync_t if e["from"] == "Undetermined" else e["t"], e)
        elif e["from"] == "Runnable" and e["to"] != "Runnable":
            start, ev = entered.pop(g)
            waits.append((e["t"] - start, g, start, e["t"], ev))
    return waits


def frames_of(stack: list[list[Any]] | None) -> list[str]:
    """An oracle stack as the examples print a frame: ``function  file:line``."""
    return [f"{fn}  {file}:{line}" for _pc, fn, file, line in stack or []]


def number(text: str, label: str) -> int:
    """The integer printed after ``label`` on its line (thousands separated by commas)."""
    m = re.search(rf"^\s*{re.escape(label)}\s+([\d,]+)\b", text, re.M)
    assert m, f"no {label!r} in:\n{text}"
    return int(m[1].replace(",", ""))


# -- the checks, one per example ------------------------------------------------------------


def check_print_summary(tmp_path: Path, oracle: list[dict[str, Any]]) -> None:
    out = run("print_summary.py", cwd=tmp_path).stdout
    assert out.startswith(f"<Trace {TRACE}: Go 1.26/1.27 (format 26)")
    assert "[scheduling]" in out and "[gc]" in out
    assert number(out, "events") == len(oracle)
    assert number(out, "duration") == oracle[-1]["t"] - oracle[0]["t"]
    waits = runnable_waits(oracle)
    assert number(out, "sched latency max") == max(waits, key=lambda w: w[0])[0]
    # A file that is not a trace: a one-line error, no traceback.
    bad = tmp_path / "not-a-trace.out"
    bad.write_bytes(b"not a trace at all")
    p = run("print_summary.py", str(bad), cwd=tmp_path, ok=False)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.startswith(f"cannot read {bad}:"), p.stderr


def check_worst_sched_latency(tmp_path: Path, oracle: list[dict[str, Any]]) -> None:
    out = run("worst_sched_latency.py", cwd=tmp_path).stdout
    length, goid, start, end, entering = max(runnable_waits(oracle), key=lambda w: w[0])
    assert out.startswith(f"worst scheduler latency: {length / 1e6:.3f} ms\n"), out
    assert re.search(rf"^  G{goid} \S.*: Runnable from {start} ns to {end} ns ", out, re.M), out
    by = "the runtime" if entering["g"] == -1 else f"G{entering['g']}"
    assert f"  made runnable by {by} ({entering['from']} -> Runnable)\n" in out
    # The two stacks, frame for frame as Go's parser gives them.
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        if line.startswith("  ") and line.endswith(":") and not line.startswith("   "):
            current = sections.setdefault(line.strip().rstrip(":"), [])
        elif line.startswith("    ") and line.strip() != "(no stack)":
            current.append(line.strip())
        elif not line.strip():
            current = []
    assert sections[f"where {by} did it"] == frames_of(entering.get("stack"))
    assert sections[f"G{goid}'s own stack"] == frames_of(entering.get("tstack"))
    assert sections[f"where {by} did it"], "the bundled trace's worst wait has a stack"


def _printed_counts(table: str) -> collections.Counter[str]:
    """``kind | count`` rows of a DuckDB or polars table printout."""
    return collections.Counter(
        {m[1]: int(m[2]) for m in re.finditer(r"^│ (\w+)\s+[│┆]\s+(\d+)\s+│$", table, re.M)}
    )


def check_query_parquet(tmp_path: Path, oracle: list[dict[str, Any]]) -> None:
    out = run("query_parquet.py", cwd=tmp_path).stdout
    dataset = tmp_path / "example-parquet"
    assert (dataset / "trace.json").is_file() and (dataset / "events.parquet").is_file()
    assert gt.read_parquet(dataset).events.num_rows == len(oracle)
    kinds = collections.Counter(e["kind"] for e in oracle)
    duck = out.split("DuckDB: events by kind")[1].split("DuckDB: scheduler latency")[0]
    polars = out.split("polars: events by kind")[1].split("polars: where the time went")[0]
    assert _printed_counts(duck) == kinds
    assert _printed_counts(polars) == kinds
    waits = runnable_waits(oracle)
    latency = out.split("DuckDB: scheduler latency")[1].split("polars:")[0]
    row = re.search(r"^│ +(\d+) │ +([\d.]+) │ +([\d.]+) │$", latency, re.M)
    assert row, latency
    assert int(row[1]) == len(waits)
    assert float(row[3]) == max(w[0] for w in waits) / 1e3
    assert "net/http.(*conn).serve" in out.split("polars: where the time went")[1]


def pprof_traces(profile: Path, sample_index: str) -> list[str]:
    """The samples of ``go tool pprof -traces``, exact nanoseconds and lines,
    each as one text block, sorted (a profile's sample order is free)."""
    p = subprocess.run(
        [*PPROF, "-traces", "-lines", "-unit=ns", f"-sample_index={sample_index}", str(profile)],
        capture_output=True,
        text=True,
        env=go_env(),
        check=True,
        timeout=120,
    )
    blocks = p.stdout.split("-----------+-------------------------------------------------------")
    return sorted(b.strip() for b in blocks[1:] if b.strip())


def pprof_total(profile: Path, sample_index: str) -> int:
    """The total of a sample value, as ``go tool pprof -top`` reports it."""
    p = subprocess.run(
        [*PPROF, "-top", "-unit=ns", f"-sample_index={sample_index}", str(profile)],
        capture_output=True,
        text=True,
        env=go_env(),
        check=True,
        timeout=120,
    )
    m = re.search(r" of (\d+)(?:ns)? total$", p.stdout, re.M)
    assert m, p.stdout
    return int(m[1])


def check_write_pprof(tmp_path: Path, oracle: list[dict[str, Any]]) -> None:
    out = run("write_pprof.py", str(TRACE), "profiles", cwd=tmp_path).stdout
    for kind in ("sched", "sync", "net", "syscall"):
        ours = tmp_path / "profiles" / f"{kind}.pb.gz"
        assert f"{Path('profiles') / ours.name}: " in out
        theirs = tmp_path / f"go-{kind}.pb.gz"
        theirs.write_bytes(pprof(TRACE, kind, TRACE_GO))
        for index in ("contentions", "delay"):
            want = pprof_traces(theirs, index)
            assert want, f"go tool trace -pprof={kind} is empty"
            assert pprof_traces(ours, index) == want, f"{kind} {index}"
        # -traces leaves out samples without a stack; go tool pprof's totals count them.
        events, delay = pprof_total(theirs, "contentions"), pprof_total(theirs, "delay")
        line = f"profiles/{kind}.pb.gz: {{}} stacks, {events} events, {delay / 1e6:.3f} ms "
        assert re.search("^" + re.escape(line).replace(r"\{\}", r"\d+"), out, re.M), out


def check_write_perfetto(tmp_path: Path, oracle: list[dict[str, Any]]) -> None:
    out = run("write_perfetto.py", cwd=tmp_path).stdout
    path = tmp_path / "example.perfetto.json"
    assert out.startswith(f"wrote {path.name} ")
    events = json.loads(path.read_text())["traceEvents"]
    assert f"{len(events):,} trace events" in out
    pids = {e["args"]["name"]: e["pid"] for e in events if e["name"] == "process_name"}
    tracks = {
        e["tid"] for e in events if e["name"] == "thread_name" and e["pid"] == pids["Goroutines"]
    }
    goroutines = {
        e["rid"] for e in oracle if e["kind"] == "StateTransition" and e["resource"] == "Goroutine"
    }
    assert tracks == goroutines
    kinds = collections.Counter(e["kind"] for e in oracle)
    phases = collections.Counter((e["ph"], e.get("cat")) for e in events)
    assert phases["b", "task"] == phases["e", "task"] == kinds["TaskBegin"]
    assert phases["X", "region"] == kinds["RegionBegin"]
    assert phases["i", "log"] == kinds["Log"]


def check_fetch_trace(tmp_path: Path, pprofserver: str) -> None:
    url = f"{pprofserver}/debug/pprof/trace?seconds=1"
    out = run("fetch_trace.py", url, cwd=tmp_path).stdout
    header = re.match(rf"<Trace {re.escape(url)}: Go 1\.\d+.*?, ([\d.]+) (m?s),", out)
    assert header, out
    assert float(header[1]) * (1e3 if header[2] == "s" else 1) >= 900
    groups = out.split("busiest goroutine groups:")[1].split("user tasks:")[0]
    assert "main.work" in groups
    jobs = re.search(r"^\s*job\s+(\d+)\s+(\d+)", out.split("user tasks:")[1], re.M)
    assert jobs and int(jobs[1]) > 0 and int(jobs[2]) > 0
    # Nothing listening: a one-line error, no traceback.
    closed = url.rsplit(":", 1)[0] + ":9/debug/pprof/trace?seconds=1"
    p = run("fetch_trace.py", closed, cwd=tmp_path, ok=False)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.startswith("cannot fetch a trace: ") and "refused" in p.stderr, p.stderr


def check_open_viewer(tmp_path: Path) -> None:
    # --check serves the viewer, fetches its page once and stops.
    p = run("open_viewer.py", "--check", cwd=tmp_path)
    assert "the viewer answered" in p.stdout, p.stdout + p.stderr


CHECKS: dict[str, Callable[..., None]] = {
    "print_summary.py": check_print_summary,
    "worst_sched_latency.py": check_worst_sched_latency,
    "query_parquet.py": check_query_parquet,
    "write_pprof.py": check_write_pprof,
    "write_perfetto.py": check_write_perfetto,
    "fetch_trace.py": check_fetch_trace,
    "open_viewer.py": check_open_viewer,
}


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example(script: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    check = CHECKS.get(script.name)
    if check is None:
        pytest.fail(f"examples/{script.name} has no check in tests/test_examples.py CHECKS")
    # Each check asks for what it needs: the oracle's events or the live server.
    names = check.__code__.co_varnames[: check.__code__.co_argcount]
    check(tmp_path, *(request.getfixturevalue(n) for n in names[1:]))


def test_readme_lists_every_example() -> None:
    readme = (ROOT / "examples" / "README.md").read_text()
    assert EXAMPLES
    for script in EXAMPLES:
        assert f"`{script.name}" in readme, script.name
