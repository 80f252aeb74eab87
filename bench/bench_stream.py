"""Streaming benchmark: what a trace too big to hold needs, streamed, against
the same work on the trace read whole.

Whole processes, as users run them, each its own so its peak RSS is its own,
in turn (the order reversed every other round), ``--runs`` rounds:

- ``gotrace-df export --parquet DIR TRACE``, which streams the trace into
  its Parquet dataset (``gt.convert``), against a script doing
  ``gt.read_trace(TRACE).to_parquet(DIR)``, the same dataset written from
  the trace held whole;
- ``gt.goroutine_analysis(TRACE)``, computed while the core parses, against
  ``gt.goroutine_analysis(gt.read_trace(TRACE))``.

Both pairs give the same result (the tests hold them equal on the corpus);
the script checks the goroutine count and the dataset's row counts match.
The issue's bound for a conversion is its peak RSS over the trace's size:
1.5 GB for a 2 GB trace, 0.75. Traces larger than ``--whole-max`` MiB run the
streamed sides only (read whole, the 1 GiB trace needs 10 GB and more).

    python bench/bench_stream.py                          # the 130 MiB workload trace
    python bench/bench_stream.py --sizes 130 1024 --runs 3 --record

The datasets go to a temporary directory beside the trace (``--tmp``) and are
removed after each run; the spans' sort uses ``TMPDIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from measure import Run, mib, python_env, run, spread  # noqa: E402
from results import command_line, record  # noqa: E402
from traces import workload_trace  # noqa: E402

# Our command, as the console script gotrace-df (pyproject's
# gotrace_df.cli:main) runs it.
CLI = "import sys; from gotrace_df.cli import main; sys.argv[0] = 'gotrace-df'; sys.exit(main())"

# The whole-trace conversion as a user writes it.
WHOLE_EXPORT = """
import sys, gotrace_df as gt
gt.read_trace(sys.argv[1], progress=False).to_parquet(sys.argv[2])
"""

# goroutine_analysis of a path (streamed) or of the trace read whole; prints
# the goroutine count so the two sides can be checked to agree.
GOROUTINES = """
import json, sys, gotrace_df as gt
path, whole = sys.argv[1], sys.argv[2] == "whole"
df = gt.goroutine_analysis(gt.read_trace(path, progress=False) if whole else path)
print(json.dumps({"groups": len(df), "goroutines": int(df["count"].sum())}))
"""


@dataclass
class Side:
    name: str
    cmd: list[str]
    export: bool  # writes the dataset at the command's DIR
    report: bool = False
    runs: list[Run] = field(default_factory=list)


def rows_of(dataset: Path) -> dict[str, int]:
    manifest = json.loads((dataset / "trace.json").read_text())
    return {name: int(t["rows"]) for name, t in manifest["tables"].items()}


def measure(trace: Path, runs: int, whole: bool, tmp: Path) -> tuple[list[Side], dict[str, int]]:
    env = python_env()
    out = tmp / "dataset"
    ss = [
        Side(
            "`gotrace-df export --parquet` (streamed)",
            [sys.executable, "-c", CLI, "export", "--parquet", str(out), str(trace)],
            True,
        ),
        Side(
            "`read_trace(...).to_parquet(...)`",
            [sys.executable, "-c", WHOLE_EXPORT, str(trace), str(out)],
            True,
        ),
        Side(
            "`goroutine_analysis(path)` (streamed)",
            [sys.executable, "-c", GOROUTINES, str(trace), "stream"],
            False,
            True,
        ),
        Side(
            "`goroutine_analysis(read_trace(path))`",
            [sys.executable, "-c", GOROUTINES, str(trace), "whole"],
            False,
            True,
        ),
    ]
    if not whole:
        ss = [ss[0], ss[2]]
    rows: dict[str, dict[str, int]] = {}
    for r in range(runs):
        for s in ss if r % 2 == 0 else ss[::-1]:
            s.runs.append(run(s.cmd, env=env, report=s.report))
            if s.export:
                rows[s.name] = rows_of(out)
                shutil.rmtree(out)
    if len({json.dumps(v, sort_keys=True) for v in rows.values()}) > 1:
        raise SystemExit(f"{trace.name}: the two conversions wrote different row counts: {rows}")
    reports = {json.dumps(x.report, sort_keys=True) for s in ss if s.report for x in s.runs}
    if len(reports) > 1:
        raise SystemExit(f"{trace.name}: the goroutine analyses disagree: {reports}")
    return ss, next(iter(rows.values()))


def table(trace: Path, ss: list[Side], rows: dict[str, int], whole: bool) -> str:
    size = trace.stat().st_size
    events = rows["events"]
    lines = [
        f"### {trace.name}: {size / 2**20:,.1f} MiB, {events:,} events, "
        f"{rows['spans']:,} spans, {rows['goroutines']:,} goroutines",
        "",
        "| process | runs | wall s | CPU s | peak RSS | peak / trace size | vs read whole (time) "
        "| vs read whole (peak) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    pairs = {0: 1, 2: 3} if whole else {}
    for i, s in enumerate(ss):
        peaks = [x.peak_rss for x in s.runs]
        vs_time = vs_peak = "1" if whole and i in pairs.values() else ""
        if i in pairs:
            ref = ss[pairs[i]]
            vs_time = spread(
                [r.wall / x.wall for x, r in zip(s.runs, ref.runs, strict=True)], "{:.2f}x"
            )
            vs_peak = spread(
                [r.peak_rss / x.peak_rss for x, r in zip(s.runs, ref.runs, strict=True)], "{:.1f}x"
            )
        lines.append(
            f"| {s.name} | {len(s.runs)} | {spread([x.wall for x in s.runs])} "
            f"| {spread([x.cpu for x in s.runs])} | {mib(statistics.median(peaks))} "
            f"| {statistics.median(peaks) / size:.2f} | {vs_time} | {vs_peak} |"
        )
    if not whole:
        lines += [
            "",
            "Read whole, this trace needs more memory than the bench allows (`--whole-max`).",
        ]
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
        default=[130],
        help="workload traces of these MiB (default: 130)",
    )
    ap.add_argument("--runs", type=int, default=3, help="rounds")
    ap.add_argument("--large-runs", type=int, default=1, help="rounds for traces above --whole-max")
    ap.add_argument(
        "--whole-max", type=int, default=256, help="MiB above which only the streamed sides run"
    )
    ap.add_argument("--tmp", type=Path, help="where the datasets go (default: beside the trace)")
    ap.add_argument("--record", action="store_true", help="replace this bench's RESULTS.md section")
    args = ap.parse_args()
    traces = args.trace or [workload_trace(size) for size in args.sizes]
    load = os.getloadavg()[0]
    tables = []
    for trace in traces:
        whole = trace.stat().st_size <= args.whole_max * 2**20
        with tempfile.TemporaryDirectory(dir=args.tmp or trace.parent) as tmp:
            ss, rows = measure(
                trace, max(args.runs if whole else args.large_runs, 1), whole, Path(tmp)
            )
        tables.append(table(trace, ss, rows, whole))
        print(tables[-1], flush=True)
    body = "\n\n".join(
        [
            f"Load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; cells are "
            "median (min-max) over the runs. Wall and CPU s: the whole process. vs read whole: "
            "the same work on the trace read whole (`read_trace`), its figure over ours in the "
            "same round; above 1, streaming is faster or smaller. The issue's bound for a "
            "conversion: peak / trace size at most 0.75 (1.5 GB for a 2 GB trace).",
            *tables,
        ]
    )
    if args.record:
        record("bench_stream", "Streaming", command_line(), body)


if __name__ == "__main__":
    main()
