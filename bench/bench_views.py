"""Views benchmark: every view of go tool trace computed by gotrace_df (goroutine
analysis, the four blocking profiles, user tasks, user regions, the MMU curve
with the default flags) against `go tool trace -pprof=sched` alone, on the same
file, in one run. Prints both times, the ratio and both peak RSS.

    python bench/bench_views.py                  # bench/data/workload.trace, made if missing
    python bench/bench_views.py --trace FILE --record

Each side runs in its own process so its peak RSS is its own. Our time counts
the views only (the parse is timed separately and printed); cmd/trace's time is
the whole command, which is what its users wait for.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_parse import DEFAULT_TRACE, cpu_model, make_workload, run_side  # noqa: E402
from gotool import go_binary  # noqa: E402

OURS = """
import json, sys, time
import gotrace_df as gt
t0 = time.perf_counter()
tr = gt.read_trace(sys.argv[1], progress=False)
t1 = time.perf_counter()
gt.goroutine_analysis(tr)
for kind in ("net", "sync", "syscall", "sched"):
    gt.blocking_profile(tr, kind)
gt.user_tasks(tr)
gt.user_regions(tr)
gt.mmu(tr)
t2 = time.perf_counter()
print(json.dumps({"events": tr.row_counts()["events"], "parse": t1 - t0, "seconds": t2 - t1}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    ap.add_argument("--go", default="1.26", help="Go toolchain whose go tool trace to time")
    ap.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    args = ap.parse_args()
    if not args.trace.exists():
        make_workload(args.trace, 60)
    ours, ours_rss = run_side([sys.executable, "-c", OURS, str(args.trace)])
    go = str(go_binary(args.go))
    env = dict(os.environ, GOTOOLCHAIN="local")
    t = time.perf_counter()
    proc = subprocess.Popen(
        [go, "tool", "trace", "-pprof=sched", str(args.trace)], stdout=subprocess.DEVNULL, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    go_s = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("go tool trace -pprof=sched failed")
    # `go tool trace` runs the trace tool as a child: its peak is the children's.
    go_rss = usage.ru_maxrss * 1024
    views_s = float(ours["seconds"])  # type: ignore[arg-type]
    lines = [
        f"trace: {args.trace.name}, {args.trace.stat().st_size / 2**20:.1f} MiB, {ours['events']:,} events; "
        f"{os.cpu_count()} cores, {cpu_model()}; load average {os.getloadavg()[0]:.1f} at the end",
        "",
        "| what | seconds | peak RSS |",
        "|---|---:|---:|",
        f"| gotrace_df: every view (parse {float(ours['parse']):.2f} s not included) | {views_s:.2f} | "  # type: ignore[arg-type]
        f"{ours_rss / 2**20:.0f} MiB (with the parsed trace) |",
        f"| go{args.go} tool trace -pprof=sched | {go_s:.2f} | {go_rss / 2**20:.0f} MiB |",
        "",
        f"speed ratio: **{go_s / views_s:.1f}x**; memory ratio: **{go_rss / ours_rss:.1f}x** less",
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        cmd = "python bench/bench_views.py " + " ".join(sys.argv[1:])
        with (ROOT / "bench" / "RESULTS.md").open("a") as f:
            f.write(f"\n## Views, {time.strftime('%Y-%m-%d')}\n\n`{cmd}`\n\n{text}\n")


if __name__ == "__main__":
    main()
