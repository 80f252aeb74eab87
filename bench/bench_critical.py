"""Critical paths benchmark: every task's critical path in one call.

Each run is a fresh process that parses the trace, then times
``gt.critical_paths(tr)``, the path of every task that ended in the trace
(wall and CPU time: the walks run on two threads), and then
``gt.critical_path(tr, by_task_type=...)`` for the most common task type
(which reuses what the first call prepared). The target is at most 2 s for
all the tasks of the 60 MiB workload trace.

    python bench/bench_critical.py                  # the 60 MiB workload trace, made if missing
    python bench/bench_critical.py --trace FILE --runs 3 --record
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from measure import Run, mib, python_env, run, spread  # noqa: E402
from results import command_line, record  # noqa: E402
from traces import workload_trace  # noqa: E402

SCRIPT = """
import json, sys, time
import gotrace_df as gt
t0 = time.perf_counter()
tr = gt.read_trace(sys.argv[1], progress=False)
t1, c1 = time.perf_counter(), time.process_time()
paths = gt.critical_paths(tr)
t2, c2 = time.perf_counter(), time.process_time()
kind = str(paths["task"].value_counts().index[0])
gt.critical_path(tr, by_task_type=kind)
t3 = time.perf_counter()
print(json.dumps({"events": tr.row_counts()["events"], "tasks": int(paths["task_id"].nunique()),
                  "segments": len(paths), "parse": t1 - t0, "paths": t2 - t1, "paths_cpu": c2 - c1,
                  "by_task_type": t3 - t2, "kind": kind}))
"""


def measure(trace: Path, runs: int) -> list[Run]:
    return [run([sys.executable, "-c", SCRIPT, str(trace)], env=python_env()) for _ in range(runs)]


def table(trace: Path, rs: list[Run]) -> str:
    r = rs[0].report
    rows = [
        ("parse (read_trace)", spread([x.report["parse"] for x in rs])),
        (f"critical_paths: all {r['tasks']:,} tasks", spread([x.report["paths"] for x in rs])),
        ("its CPU seconds (both threads)", spread([x.report["paths_cpu"] for x in rs])),
        (
            f"critical_path(by_task_type={r['kind']!r})",
            spread([x.report["by_task_type"] for x in rs]),
        ),
        ("whole process", spread([x.wall for x in rs])),
    ]
    head = (
        f"Trace: `{trace.name}` ({mib(trace.stat().st_size)}, {r['events']:,} events, "
        f"{r['tasks']:,} tasks, {r['segments']:,} path segments); peak RSS "
        f"{mib(max(x.peak_rss for x in rs))}."
    )
    lines = ["| step | seconds |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    return head + "\n\n" + "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trace", type=Path, help="default: the 60 MiB workload trace")
    ap.add_argument("--runs", type=int, default=3, help="fresh processes")
    ap.add_argument("--record", action="store_true", help="replace this bench's RESULTS.md section")
    args = ap.parse_args()
    trace = args.trace or workload_trace(60)
    load = os.getloadavg()[0]
    rs = measure(trace, max(args.runs, 1))
    body = "\n\n".join(
        [
            f"Load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
            "cells are median (min-max) over the runs, each a fresh process; the steps "
            "are timed inside it, in turn.",
            table(trace, rs),
        ]
    )
    print(body)
    if args.record:
        record("bench_critical", "Critical paths", command_line(), body)


if __name__ == "__main__":
    main()
