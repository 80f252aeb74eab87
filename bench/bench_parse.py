"""Parse benchmark: gotrace_df.read_trace against Go's own parser, on the same
files, as users run them.

Three sides, each a process of its own so its peak RSS is its own, run in turn
(Go first in even rounds, last in odd ones) ``--runs`` times per trace; ours
once per ``--threads`` count (``gotrace_df.set_threads``), each count its own
rows, so scaling shows:

- Go: bench/readevents, golang.org/x/exp/trace's ``ReadEvent`` in a loop, every
  event read and dropped: the least a Go program can do with a trace. Its
  event count must equal ours.
- ``read_trace``: ``gotrace_df.read_trace(path)`` and nothing else.
- ``read_trace`` + every table: then every table the Trace offers
  (``Trace.table_names``) taken once, which gathers the ones kept compact
  (spans from their two events, the events' task_id and value).

Each side is timed two ways: the parse, inside the process (Go: opening the
file to the last event; ours: ``read_trace`` called to the last table, after
``import gotrace_df``), and the whole process, from start to exit. The ratio
to Go is the one the targets use: our events/s over Go's events/s from the
parse times of the same round, median over rounds; above 1 gotrace_df is
faster. Peak RSS is the process's ru_maxrss (bench/measure.py).

    python bench/bench_parse.py                  # 25 and 130 MiB workload traces, made if missing,
                                                 # and the 25 MiB one written by Go 1.21 (old format)
    python bench/bench_parse.py --sizes 25 130 1024 --runs 3 --record
    python bench/bench_parse.py --sizes 25 --runs 1 --threads 1 2 --old-sizes 25
    python bench/bench_parse.py --trace FILE --runs 5

A side whose peak would not fit in the memory available (estimated from the
bytes/event of the smaller traces) is reported as not possible, not run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Run, available_memory, mib, python_env, run, spread  # noqa: E402
from results import command_line, record  # noqa: E402
from traces import build, go_command, trace_go_version, workload_trace  # noqa: E402

# A trace this big runs --large-runs times (one run is minutes and GBs).
LARGE = 512 * 2**20

# The Go release that writes the old-format workload traces: the last one
# whose runtime wrote the old format.
OLD_GO = "1.21"

OURS = """
import json, sys, time
import gotrace_df

def rss():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None

path, every_table, threads = sys.argv[1], sys.argv[2] == "all", int(sys.argv[3])
# For the parse and the gathers of every table after it.
gotrace_df.set_threads(threads)
base = rss()
t = time.perf_counter()
tr = gotrace_df.read_trace(path, progress=False)
parsed = time.perf_counter() - t
if every_table:
    for name in tr.table_names:
        tr.table(name)
secs = time.perf_counter() - t
print(json.dumps({"events": tr.row_counts()["events"], "seconds": secs,
                  "read_trace": parsed, "base_rss": base}))
"""


@dataclass
class Side:
    name: str
    cmd: list[str]
    # Peak RSS per event assumed before a smaller trace has measured it: the
    # figures of a 24 M-event Go 1.26 trace, rounded up.
    bytes_per_event: float
    python: bool = True
    runs: list[Run] = field(default_factory=list)
    refused: str = ""


def threads_label(n: int) -> str:
    return f"{n} thread" + ("s" if n > 1 else "")


def sides(trace: Path, reader: Path, threads: list[int]) -> list[Side]:
    """Go's side first, then ours per thread count."""
    ours = [sys.executable, "-c", OURS, str(trace)]
    out = [Side("Go: ReadEvent loop", [str(reader), str(trace)], 8, python=False)]
    for n in threads:
        out += [
            Side(f"read_trace, {threads_label(n)}", [*ours, "read", str(n)], 65),
            Side(f"read_trace + every table, {threads_label(n)}", [*ours, "all", str(n)], 110),
        ]
    return out


def estimate_events(trace: Path, per_byte: float | None) -> int:
    # The workload's traces hold about 0.18 events per byte.
    return int(trace.stat().st_size * (per_byte or 0.18))


def measure(
    trace: Path,
    reader: Path,
    runs: int,
    threads: list[int],
    learned: dict[str, float],
    reserve: int,
) -> tuple[list[Side], int]:
    """Run the sides on trace, alternating; returns them and the event count."""
    ss = sides(trace, reader, threads)
    events = estimate_events(trace, learned.get("events/byte"))
    for r in range(runs):
        order = ss if r % 2 == 0 else ss[::-1]
        for s in order:
            if s.refused:
                continue
            need = events * learned.get(s.name, s.bytes_per_event)
            avail = available_memory()
            if avail is not None and need > avail - reserve:
                s.refused = (
                    f"not possible (RSS would be about {need / 2**30:.1f} GiB; "
                    f"{avail / 2**30:.1f} GiB available, {reserve / 2**30:.0f} GiB kept for others)"
                )
                continue
            try:
                res = run(s.cmd, env=python_env() if s.python else None)
            except RuntimeError as e:  # killed for memory after all, say
                s.refused = f"failed: {e}"
                continue
            s.runs.append(res)
            events = int(res.report["events"])
    counts = {int(x.report["events"]) for s in ss for x in s.runs}
    if len(counts) > 1:
        raise SystemExit(f"{trace}: the sides read different event counts: {sorted(counts)}")
    learned["events/byte"] = events / trace.stat().st_size
    # The largest trace so far predicts best (the interpreter's fixed share
    # weighs less): traces are measured smallest first.
    for s in ss:
        if s.runs:
            learned[s.name] = max(x.peak_rss for x in s.runs) / events
    return ss, events


def table(trace: Path, ss: list[Side], events: int, threads: list[int]) -> str:
    go = ss[0]
    counted = f"{events:,}" if any(s.runs for s in ss) else f"about {events:,} (none read)"
    lines = [
        f"### {trace.name}: {trace.stat().st_size / 2**20:,.1f} MiB, {counted} events, "
        f"Go {trace_go_version(trace)}; threads: {', '.join(map(str, threads))}",
        "",
        "| side | runs | parse s | events/s | vs Go (events/s) | process s | vs Go (process) "
        "| process CPU s | peak RSS | RSS bytes/event |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in ss:
        if s.refused:
            lines.append(f"| {s.name} | 0 | {s.refused} | | | | | | | |")
            continue
        secs = [float(x.report["seconds"]) for x in s.runs]
        walls = [x.wall for x in s.runs]
        # Round i of one side against round i of Go's (the sides alternate).
        pairs = list(zip(s.runs, go.runs, strict=False))
        vs = [float(g.report["seconds"]) / float(x.report["seconds"]) for x, g in pairs]
        vs_wall = [g.wall / x.wall for x, g in pairs]
        peak = statistics.median(x.peak_rss for x in s.runs)
        ratio = "1" if s is go else spread(vs, "{:.2f}x")
        ratio_wall = "1" if s is go else spread(vs_wall, "{:.2f}x")
        lines.append(
            f"| {s.name} | {len(s.runs)} | {spread(secs)} "
            f"| {events / statistics.median(secs) / 1e6:.2f} M | {ratio if pairs else '-'} "
            f"| {spread(walls)} | {ratio_wall if pairs else '-'} "
            f"| {spread([x.cpu for x in s.runs])} | {mib(peak)} "
            f"| {peak / events:.0f} |"
        )
    ours = [x for s in ss[1:] for x in s.runs if x.report.get("base_rss")]
    if ours:
        base = statistics.median(x.report["base_rss"] for x in ours)
        lines += [
            "",
            f"Our peaks include the interpreter with gotrace_df and pyarrow imported: "
            f"{mib(base)} before read_trace.",
        ]
    for n, every in zip(threads, ss[2::2], strict=True):
        if every.runs:
            gather = [
                float(x.report["seconds"]) - float(x.report["read_trace"]) for x in every.runs
            ]
            lines.append(
                f"Taking every table after read_trace, {threads_label(n)}: {spread(gather)} s."
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[25, 130],
        metavar="MIB",
        help="workload traces of these sizes (bench/data, made if missing)",
    )
    ap.add_argument(
        "--old-sizes",
        type=int,
        nargs="*",
        default=[25],
        metavar="MIB",
        help="also the workload traces of these sizes written by Go 1.21, in the old format "
        "(bench/data/workload-go1.21-NNmb.trace, made if missing); none with no value",
    )
    ap.add_argument("--trace", type=Path, action="append", help="these traces instead")
    ap.add_argument("--runs", type=int, default=3, help="rounds of the three sides per trace")
    ap.add_argument(
        "--large-runs", type=int, default=1, help="rounds for traces over 512 MiB (minutes each)"
    )
    ap.add_argument(
        "--reserve-gb",
        type=float,
        default=4,
        help="memory left to the rest of the machine: a side that would need it is not run",
    )
    ap.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1, 2],
        metavar="N",
        help="run our sides with each of these thread counts (gotrace_df.set_threads)",
    )
    ap.add_argument("--record", action="store_true", help="replace this bench's RESULTS.md section")
    args = ap.parse_args()

    reader = build("readevents")
    paths = args.trace or [
        *(workload_trace(mb) for mb in args.sizes),
        *(workload_trace(mb, OLD_GO) for mb in args.old_sizes),
    ]
    for path in paths:
        trace_go_version(path)  # stops here on a file that is not a trace
    # Smallest first: each trace's bytes/event give the next one's estimate.
    paths.sort(key=lambda p: p.stat().st_size)
    load = os.getloadavg()[0]
    learned: dict[str, float] = {}
    parts = []
    for path in paths:
        runs = args.large_runs if path.stat().st_size > LARGE else args.runs
        ss, events = measure(
            path, reader, runs, args.threads, learned, int(args.reserve_gb * 2**30)
        )
        parts.append(table(path, ss, events, args.threads))
        print(parts[-1] + "\n", flush=True)
    body = "\n\n".join(
        [
            f"Load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
            "cells are median (min-max) over the runs. Go: bench/readevents, x/exp/trace's "
            "ReadEvent in a loop, each event dropped. parse s: inside the process (Go: opening "
            "the file to the last event; ours: read_trace, then the tables, after the import); "
            "process s and CPU s: the whole process. vs Go: Go's time over ours in the same "
            "round, i.e. our events/s over Go's; above 1, gotrace_df is faster.",
            *parts,
        ]
    )
    if args.record:
        record("bench_parse", "Parse", command_line(), body, go=go_command())


if __name__ == "__main__":
    main()
