"""Parse benchmark: gotrace_df.read_trace (every table built) against Go's own
parser (golang.org/x/exp/trace, reading every event: tests/oracle -stats), on
the same file, in one run. Prints events/s of each, the ratio and peak RSS.

    python bench/bench_parse.py                 # makes bench/data/workload.trace (60 MiB) if missing
    python bench/bench_parse.py --trace FILE --repeat 3 --record

Each side runs in its own process so its peak RSS (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from oracle_util import oracle_binary  # noqa: E402

DEFAULT_TRACE = ROOT / "bench" / "data" / "workload.trace"

OURS = """
import json, resource, sys, time
import gotrace_df

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

base = rss()
t = time.perf_counter()
tr = gotrace_df.read_trace(sys.argv[1], progress=False)
secs = time.perf_counter() - t
rows = tr.row_counts()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# The spans table's columns, gathered from its events on first use.
t = time.perf_counter()
tr.spans
gather = time.perf_counter() - t
out = {"events": rows["events"], "seconds": secs, "rows": rows, "base_rss": base,
       "peak_after_parse": after, "spans_gather_seconds": gather}
print(json.dumps(out))
"""


def make_workload(path: Path, mb: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOTOOLCHAIN="local")
    cmd = ["go", "run", ".", "-o", str(path), "-mb", str(mb)]
    subprocess.run(cmd, cwd=ROOT / "bench" / "workload", env=env, check=True)


def run_side(cmd: list[str]) -> tuple[dict[str, Any], int]:
    """Run cmd and return (its last JSON line, its peak RSS in bytes)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} exited with {proc.returncode}")
    return json.loads(out.decode().strip().splitlines()[-1]), usage.ru_maxrss * 1024


def best(cmd: list[str], repeat: int) -> tuple[int, float, int, dict[str, Any]]:
    """(events, best seconds, worst peak RSS, the last run's report) over
    `repeat` runs."""
    runs = [run_side(cmd) for _ in range(repeat)]
    events = int(runs[0][0]["events"])
    secs = min(float(r[0]["seconds"]) for r in runs)
    rss = max(r[1] for r in runs)
    return events, secs, rss, runs[-1][0]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    ap.add_argument(
        "--mb", type=int, default=60, help="size of the workload trace to make if missing"
    )
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    args = ap.parse_args()
    if not args.trace.exists():
        make_workload(args.trace, args.mb)
    size = args.trace.stat().st_size

    ours_ev, ours_s, ours_rss, report = best(
        [sys.executable, "-c", OURS, str(args.trace)], args.repeat
    )
    go_ev, go_s, go_rss, _ = best([str(oracle_binary()), "-stats", str(args.trace)], args.repeat)
    if ours_ev != go_ev:
        raise SystemExit(f"event counts differ: gotrace_df {ours_ev}, Go {go_ev}")

    parse_peak = report["peak_after_parse"]
    rows = [
        ("gotrace_df.read_trace (all tables)", ours_ev / ours_s, ours_s, parse_peak),
        ("Go x/exp/trace (every event)", go_ev / go_s, go_s, go_rss),
    ]
    lines = [
        f"trace: {args.trace.name}, {size / 2**20:.1f} MiB, {ours_ev:,} events; "
        f"best of {args.repeat}; {os.cpu_count()} cores, {cpu_model()}; "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        "",
        "| parser | events/s | seconds | peak RSS | RSS bytes/event |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, eps, secs, rss in rows:
        lines.append(
            f"| {name} | {eps / 1e6:.2f} M | {secs:.2f} | {rss / 2**20:.0f} MiB | {rss / ours_ev:.1f} |"
        )
    base = report["base_rss"]
    lines += [
        "",
        f"speed ratio (gotrace_df / Go): **{go_s / ours_s:.2f}x**",
        "",
        f"- gotrace_df's peak RSS includes the interpreter with pyarrow and gotrace_df "
        f"imported: {base / 2**20:.0f} MiB before read_trace; the parse itself added "
        f"{(parse_peak - base) / 2**20:.0f} MiB ({(parse_peak - base) / ours_ev:.1f} B/event).",
        f"- spans are stored as their two events; gathering their public columns on first "
        f"use (`tr.spans`) took {report['spans_gather_seconds']:.2f} s and brought the "
        f"process peak to {ours_rss / 2**20:.0f} MiB ({ours_rss / ours_ev:.1f} B/event).",
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        cmd = "python bench/bench_parse.py " + " ".join(sys.argv[1:])
        with (ROOT / "bench" / "RESULTS.md").open("a") as f:
            f.write(f"\n## Parse, {time.strftime('%Y-%m-%d')}\n\n`{cmd}`\n\n{text}\n")


if __name__ == "__main__":
    main()
