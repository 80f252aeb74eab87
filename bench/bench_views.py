"""Views benchmark: whole processes, as users run them, against ``go tool trace``.

Four processes per round, each its own so its peak RSS is its own, in turn
(Go last in even rounds, first in odd ones), ``--runs`` rounds:

- ``gotrace-df -pprof=sched TRACE > /dev/null``: our command line, which
  runs the profile's pass while it parses (no tables kept);
- a script that parses the trace and computes every view in
  ``gotrace_df.__all__`` (VIEWS below; each blocking profile also written as
  pprof bytes), in turn. It reports the views' own time too, taken after the
  parse: the extra row "every view, after the parse";
- the same script calling ``gotrace_df.prefetch`` right after the parse,
  which starts the views' passes on a thread of its own;
- ``go tool trace -pprof=sched TRACE > /dev/null`` of the Go release that
  wrote the trace (.toolchains/bin/go1.NN, from ``make go``), with
  ``BROWSER=true`` as the tests run it.

``go tool trace -pprof=sched`` parses the whole trace and computes one profile,
so the script's row does more work than the Go side it is compared with.
Peak RSS is wait4's ru_maxrss (bench/measure.py): for ``go tool trace``, which
runs the trace tool as a child of the go command, that is the tool's peak (the
larger of the two processes; the go command's own, about 30 MiB, is not added).

    python bench/bench_views.py                  # the 25 MiB workload trace, made if missing
    python bench/bench_views.py --trace FILE --runs 3 --record
    python bench/bench_views.py --sizes 25 130 --runs 3 --record   # a table per trace

Mind the memory: ``go tool trace`` peaks at several hundred bytes per event
(about 3 GiB on the 25 MiB trace's 4.7 M events, so about 15 GiB on the
130 MiB one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from gotool import go_binary, go_env  # noqa: E402
from measure import Run, mib, python_env, run, spread  # noqa: E402
from results import command_line, record  # noqa: E402
from traces import trace_go_version, workload_trace  # noqa: E402

# Our command, as the console script gotrace-df (pyproject's
# gotrace_df.cli:main) runs it.
CLI = "import sys; from gotrace_df.cli import main; sys.argv[0] = 'gotrace-df'; sys.exit(main())"

# Every public view, called as a notebook would: the names not called are
# NOT_VIEWS, and the script stops if gotrace_df.__all__ names anything else.
VIEWS = """
import json, sys, time
t0 = time.perf_counter()
import gotrace_df as gt

NOT_VIEWS = {
    # Not views of a trace: the API around them.
    "SCHEMAS", "TABLES", "Trace", "TraceError", "TraceWarning", "__version__",
    "describe", "schema", "example_trace", "read_parquet", "read_trace", "read_pprof",
    # A conversion, not a view (bench_stream.py times it).
    "convert",
    # Figures drawn from the views' frames, not computed from the trace.
    "plot_blocking_profile", "plot_goroutine_analysis", "plot_goroutine_stats",
    "plot_latency_histogram", "plot_mmu",
    # Starts the views' passes on another thread: the script's "prefetch" run.
    "prefetch",
    # The API around the views: input limits, memory, many traces.
    "DEFAULT_MAX_BYTES", "DownloadTimeout", "release_memory", "lake", "set_threads",
    "get_threads",
    # Answers go tool trace has no page for: timing them would make our side
    # do work Go's does not (diff compares two traces).
    "wakeups", "wakeup_events", "plot_wakeups", "diff",
    "critical_path", "critical_paths", "critical_path_breakdown",
}
CALLED = {
    "summary", "goroutine_analysis", "goroutine_stats", "latency_histogram",
    "blocking_profile", "to_pprof", "user_tasks", "user_task_histogram",
    "user_task_details", "user_task_events", "user_regions", "user_region_stats",
    "user_region_histogram", "mmu", "mmu_windows", "mutator_utilization",
    "mmu_worst_windows",
}
unknown = set(gt.__all__) - NOT_VIEWS - CALLED
if unknown:
    sys.exit(f"bench_views: new public names, not benchmarked: {sorted(unknown)}")

t1 = time.perf_counter()
tr = gt.read_trace(sys.argv[1], progress=False)
t2 = time.perf_counter()
if sys.argv[2] == "prefetch":
    gt.prefetch(tr)
took = {}

def timed(name, f):
    t = time.perf_counter()
    out = f()
    took[name] = took.get(name, 0.0) + time.perf_counter() - t
    return out

timed("summary", lambda: gt.summary(tr))
timed("goroutine_analysis", lambda: gt.goroutine_analysis(tr))
stats = timed("goroutine_stats", lambda: gt.goroutine_stats(tr))
timed("latency_histogram", lambda: gt.latency_histogram(stats["exec_ns"]))
for kind in ("net", "sync", "syscall", "sched"):
    profile = timed("blocking_profile x4", lambda: gt.blocking_profile(tr, kind))
    timed("to_pprof x4", lambda: gt.to_pprof(profile))
timed("user_tasks", lambda: gt.user_tasks(tr))
timed("user_task_histogram", lambda: gt.user_task_histogram(tr))
timed("user_task_details", lambda: gt.user_task_details(tr))
timed("user_task_events", lambda: gt.user_task_events(tr))
timed("user_regions", lambda: gt.user_regions(tr))
timed("user_region_stats", lambda: gt.user_region_stats(tr))
timed("user_region_histogram", lambda: gt.user_region_histogram(tr))
timed("mmu", lambda: gt.mmu(tr))
timed("mmu_windows", lambda: gt.mmu_windows(tr))
timed("mutator_utilization", lambda: gt.mutator_utilization(tr))
timed("mmu_worst_windows", lambda: gt.mmu_worst_windows(tr, 1_000_000))
t3 = time.perf_counter()
print(json.dumps({"events": tr.row_counts()["events"], "import": t1 - t0,
                  "parse": t2 - t1, "views": t3 - t2, "each": took}))
"""


@dataclass
class Side:
    name: str
    cmd: list[str]
    env: dict[str, str]
    report: bool = False
    runs: list[Run] = field(default_factory=list)


def measure(trace: Path, go: Path, runs: int) -> list[Side]:
    # go tool trace builds the trace tool on first use: not what is timed.
    run([str(go), "tool", "-n", "trace"], env=go_env(), report=False)
    ss = [
        Side(
            "`gotrace-df -pprof=sched`",
            [sys.executable, "-c", CLI, "-pprof=sched", str(trace)],
            python_env(),
        ),
        Side(
            "parse + every view",
            [sys.executable, "-c", VIEWS, str(trace), "in turn"],
            python_env(),
            True,
        ),
        Side(
            "parse + `prefetch` + every view",
            [sys.executable, "-c", VIEWS, str(trace), "prefetch"],
            python_env(),
            True,
        ),
        Side(
            "`go tool trace -pprof=sched`",
            [str(go), "tool", "trace", "-pprof=sched", str(trace)],
            go_env(),
        ),
    ]
    for r in range(runs):
        for s in ss if r % 2 == 0 else ss[::-1]:
            s.runs.append(run(s.cmd, env=s.env, report=s.report))
    return ss


def table(trace: Path, version: str, ss: list[Side]) -> str:
    go = ss[-1]
    script, pre = ss[1], ss[2]
    events = int(script.runs[0].report["events"])
    lines = [
        f"### {trace.name}: {trace.stat().st_size / 2**20:,.1f} MiB, {events:,} events, "
        f"Go {version}; against go{version} tool trace",
        "",
        "| process | runs | wall s | vs go tool trace (time) | CPU s | peak RSS "
        "| vs go tool trace (peak) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in ss:
        walls = [x.wall for x in s.runs]
        peaks = [x.peak_rss for x in s.runs]
        # Round i against go tool trace's round i (the sides alternate).
        vs = [g.wall / x.wall for x, g in zip(s.runs, go.runs, strict=True)]
        vs_peak = [g.peak_rss / x.peak_rss for x, g in zip(s.runs, go.runs, strict=True)]
        lines.append(
            f"| {s.name} | {len(s.runs)} | {spread(walls)} "
            f"| {'1' if s is go else spread(vs, '{:.1f}x')} | {spread([x.cpu for x in s.runs])} "
            f"| {mib(statistics.median(peaks))} "
            f"| {'1' if s is go else spread(vs_peak, '{:.1f}x')} |"
        )
    for s, name in ((script, "every view"), (pre, "`prefetch` + every view")):
        views = [float(x.report["views"]) for x in s.runs]
        vs_views = [g.wall / v for v, g in zip(views, go.runs, strict=True)]
        lines.append(
            f"| {name}, after the parse (in the script) | {len(views)} | {spread(views)} "
            f"| {spread(vs_views, '{:.1f}x')} | | | |"
        )

    def each(key: str) -> str:
        return spread([float(x.report[key]) for x in script.runs])

    lines += [
        "",
        f"In the script: `import gotrace_df` {each('import')} s, read_trace {each('parse')} s, "
        f"every view {each('views')} s; the rest of its wall time is the interpreter starting "
        "and exiting. Each view's seconds, in turn (the first view to need a pass over the "
        "events pays for it; later ones reuse it):",
        "",
        "| view | s |",
        "|---|---:|",
    ]
    for name in script.runs[0].report["each"]:
        lines.append(f"| {name} | {spread([float(x.report['each'][name]) for x in script.runs])} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trace", type=Path, nargs="+", help="trace files (default: --sizes)")
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[25],
        help="workload traces of these MiB, made if missing (default: 25)",
    )
    ap.add_argument("--go", help="Go release whose go tool trace to run (default: the trace's)")
    ap.add_argument("--runs", type=int, default=3, help="rounds of the four processes")
    ap.add_argument("--record", action="store_true", help="replace this bench's RESULTS.md section")
    args = ap.parse_args()
    traces = args.trace or [workload_trace(size) for size in args.sizes]
    load = os.getloadavg()[0]
    tables = []
    for trace in traces:
        version = args.go or trace_go_version(trace)
        go = go_binary(version)
        tables.append(table(trace, version, measure(trace, go, max(args.runs, 1))))
        print(tables[-1], flush=True)
    body = "\n\n".join(
        [
            f"Load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
            "cells are median (min-max) over the runs. Wall and CPU s: the whole process, "
            "stdout to /dev/null. vs go tool trace: its figure over ours in the same round; "
            "above 1, gotrace_df is faster or smaller. The script computes every view, "
            "go tool trace -pprof=sched one profile.",
            *tables,
        ]
    )
    if args.record:
        record("bench_views", "Views", command_line(), body, go=str(go))


if __name__ == "__main__":
    main()
