"""Views benchmark: every view of go tool trace computed by gotrace_df (goroutine
analysis, the four blocking profiles, user tasks, user regions, the MMU curve
with the default flags) against `go tool trace -pprof=sched` alone, on the same
file, in one run. Prints both times, the ratio and both peak RSS.

Ours is timed two ways, each in a process of its own: the views called in
turn, and the same calls right after `gotrace_df.prefetch(trace)`, which runs
the passes they share on a second thread while the first views compute.

    python bench/bench_views.py                  # bench/data/workload.trace, made if missing
    python bench/bench_views.py --trace FILE --runs 5 --record

Each side runs in its own process so its peak RSS is its own. Our time counts
the views only (the parse is timed separately and printed; importing the
views modules and pandas happens before either); cmd/trace's time is the whole
command, which is what its users wait for.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_parse import DEFAULT_TRACE, cpu_model, make_workload, run_side  # noqa: E402
from gotool import go_binary  # noqa: E402

# The views modules (and pandas, which they import) are loaded before the
# clock starts, as in any notebook that has imported the library: loading
# them is not computing a view.
OURS = """
import json, sys, time
import gotrace_df as gt
import gotrace_df.views
t0 = time.perf_counter()
tr = gt.read_trace(sys.argv[1], progress=False)
t1 = time.perf_counter()
if sys.argv[2] == "prefetch":
    gt.prefetch(tr)
gt.goroutine_analysis(tr)
for kind in ("net", "sync", "syscall", "sched"):
    gt.blocking_profile(tr, kind)
gt.user_tasks(tr)
gt.user_regions(tr)
gt.mmu(tr)
t2 = time.perf_counter()
print(json.dumps({"events": tr.row_counts()["events"], "parse": t1 - t0, "seconds": t2 - t1}))
"""


def go_side(go: str, trace: Path) -> tuple[float, int]:
    """(seconds, peak RSS in bytes) of `go tool trace -pprof=sched trace`."""
    env = dict(os.environ, GOTOOLCHAIN="local")
    t = time.perf_counter()
    proc = subprocess.Popen(
        [go, "tool", "trace", "-pprof=sched", str(trace)], stdout=subprocess.DEVNULL, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("go tool trace -pprof=sched failed")
    # `go tool trace` runs the trace tool as a child: its peak is the children's.
    return secs, usage.ru_maxrss * 1024


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    ap.add_argument("--go", default="1.26", help="Go toolchain whose go tool trace to time")
    ap.add_argument(
        "--runs",
        type=int,
        default=1,
        help="run both sides this many times, alternating (this machine's speed drifts "
        "over minutes); prints every run and the medians",
    )
    ap.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    args = ap.parse_args()
    if not args.trace.exists():
        make_workload(args.trace, 60)
    go = str(go_binary(args.go))
    runs = []
    for _ in range(max(args.runs, 1)):
        turn, turn_rss = run_side([sys.executable, "-c", OURS, str(args.trace), "turn"])
        pre, pre_rss = run_side([sys.executable, "-c", OURS, str(args.trace), "prefetch"])
        go_s, go_rss = go_side(go, args.trace)
        runs.append(
            (float(turn["seconds"]), turn_rss, float(pre["seconds"]), pre_rss, go_s, go_rss)
        )
    ours = turn
    lines = [
        f"trace: {args.trace.name}, {args.trace.stat().st_size / 2**20:.1f} MiB, {ours['events']:,} events; "
        f"{os.cpu_count()} cores, {cpu_model()}; load average {os.getloadavg()[0]:.1f} at the end",
        "",
        f"gotrace_df: every view (the parse, {float(ours['parse']):.2f} s in the last run, not included; "
        f"its peak RSS includes the parsed trace); go{args.go} tool trace -pprof=sched:",
        "",
        "| run | views in turn s | after prefetch s | go tool trace s | speed in turn | speed after prefetch "
        "| peak in turn | peak after prefetch | go tool trace peak | memory (higher peak) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (t, t_rss, p, p_rss, g_s, g_rss) in enumerate(runs, 1):
        lines.append(
            f"| {i} | {t:.2f} | {p:.2f} | {g_s:.2f} | {g_s / t:.1f}x | {g_s / p:.1f}x | "
            f"{t_rss / 2**20:.0f} MiB | {p_rss / 2**20:.0f} MiB | {g_rss / 2**20:.0f} MiB | "
            f"{g_rss / max(t_rss, p_rss):.1f}x |"
        )

    def med(f: Callable[[tuple[float, int, float, int, float, int]], float]) -> float:
        return statistics.median(f(r) for r in runs)

    lines += [
        "",
        f"median of {len(runs)}: views in turn {med(lambda r: r[0]):.2f} s, after prefetch "
        f"{med(lambda r: r[2]):.2f} s, go tool trace {med(lambda r: r[4]):.2f} s; speed ratio "
        f"in turn **{med(lambda r: r[4] / r[0]):.1f}x**, after prefetch "
        f"**{med(lambda r: r[4] / r[2]):.1f}x**; memory ratio **{med(lambda r: r[5] / max(r[1], r[3])):.1f}x** "
        "less",
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        cmd = "python bench/bench_views.py " + " ".join(sys.argv[1:])
        with (ROOT / "bench" / "RESULTS.md").open("a") as f:
            f.write(f"\n## Views, {time.strftime('%Y-%m-%d')}\n\n`{cmd}`\n\n{text}\n")


if __name__ == "__main__":
    main()
