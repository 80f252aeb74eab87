"""Lake benchmark: converting many traces, and the fleet views against the same
views computed trace by trace.

The traces: ``--traces`` workload traces of about ``--mb`` MiB each
(bench/workload, one run each, cached in bench/data/lake/), plus the go1.26
corpus traces of Go's test programs (tests/data/traces/go1.26).

- **Conversion**, each mode its own process (peak RSS: the largest single
  process, workers included; bench/measure.py), on the first
  ``--convert-traces`` traces: one process (``workers=1``), local worker
  processes (``workers=2``), and a 2-worker Dask ``LocalCluster`` (started
  before the clock starts). MB/s and traces/s are of the trace files' bytes.
  The modes alternate for ``--runs`` rounds; each cell is the median (and
  min-max) over the rounds, the ratio taken within each round.
- **Fleet views**: the whole set is converted (2 local workers), then each
  fleet view runs in a process of its own (open the lake, ``by="trace"``
  and ``by=None``; the views alternate for ``--runs`` rounds, medians),
  against one process that reads every trace with
  ``read_trace`` and computes the same single-trace views, one trace at a
  time (its time per view is summed over the traces; reading them is a row
  of its own).

    python bench/bench_lake.py                    # 50 x 20 MiB, made if missing
    python bench/bench_lake.py --traces 50 --mb 20 --runs 3 --record
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from measure import Run, mib, python_env, run, spread  # noqa: E402
from results import command_line, record  # noqa: E402
from traces import DATA, build  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "traces" / "go1.26"

CONVERT = """
import json, sys, time
from gotrace_df import lake
paths, root, mode = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
if mode == "dask":
    import distributed
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    t = time.perf_counter()
    added = lake.convert(paths, root, client=client, progress=False)
    took = time.perf_counter() - t
    client.close()
    cluster.close()
else:
    t = time.perf_counter()
    added = lake.convert(paths, root, workers=int(mode), progress=False)
    took = time.perf_counter() - t
assert (added.status == "ok").all(), added[added.status != "ok"]
print(json.dumps({"seconds": took, "traces": len(added), "bytes": int(added["size"].sum())}))
"""

# One fleet view, both ways of grouping.
FLEET = """
import json, sys, time
from gotrace_df import lake
lk = lake.open(sys.argv[1])
view = sys.argv[2]
t = time.perf_counter()
for by in ("trace", None):
    if view == "blocking_profile":
        for kind in ("sched", "sync", "net", "syscall"):
            lk.blocking_profile(kind, by=by)
    else:
        getattr(lk, view)(by=by)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""

# The same views, trace by trace.
SINGLE = """
import json, sys, time
import gotrace_df as gt
took = {"read_trace": 0.0}
def timed(name, f):
    t = time.perf_counter()
    f()
    took[name] = took.get(name, 0.0) + time.perf_counter() - t
for path in json.loads(sys.argv[1]):
    t = time.perf_counter()
    tr = gt.read_trace(path, progress=False)
    took["read_trace"] += time.perf_counter() - t
    timed("goroutine_analysis", lambda: gt.goroutine_analysis(tr))
    timed("blocking_profile", lambda: [gt.blocking_profile(tr, k) for k in ("sched", "sync", "net", "syscall")])
    timed("user_tasks", lambda: gt.user_tasks(tr))
    timed("user_regions", lambda: gt.user_regions(tr))
    timed("summary", lambda: gt.summary(tr))
    del tr
print(json.dumps(took))
"""

VIEWS = ("goroutine_analysis", "blocking_profile", "user_tasks", "user_regions", "summary")


def workload_traces(n: int, mb: int) -> list[Path]:
    """``n`` workload traces of about ``mb`` MiB, each its own run (so its own
    bytes), made if missing."""
    out = DATA / "lake"
    out.mkdir(parents=True, exist_ok=True)
    binary = build("workload")
    paths = []
    for i in range(n):
        path = out / f"workload-{mb}mb-{i:03d}.trace"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            subprocess.run(
                [str(binary), "-o", str(tmp), "-mb", str(mb)], check=True, capture_output=True
            )
            tmp.replace(path)
        paths.append(path)
    return paths


def python(script: str, *args: str) -> Run:
    return run([sys.executable, "-c", script, *args], env=python_env())


def convert(paths: list[Path], root: Path, mode: str) -> Run:
    import json

    shutil.rmtree(root, ignore_errors=True)
    return python(CONVERT, json.dumps([str(p) for p in paths]), str(root), mode)


def main() -> None:
    import json

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--traces", type=int, default=50, help="workload traces (default 50)")
    ap.add_argument("--mb", type=int, default=20, help="MiB per workload trace (default 20)")
    ap.add_argument(
        "--convert-traces", type=int, default=12, help="traces each conversion mode converts"
    )
    ap.add_argument("--runs", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--record", action="store_true", help="write bench/RESULTS.md's section")
    args = ap.parse_args()

    paths = workload_traces(args.traces, args.mb) + sorted(CORPUS.glob("*.trace"))
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} traces, {total / 2**20:.0f} MiB", flush=True)
    lines = []
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        root = Path(tmp) / "lake"
        some = paths[: args.convert_traces]
        modes = (
            ("one process (`workers=1`)", "1"),
            ("2 local worker processes (`workers=2`)", "2"),
            ("2-worker Dask LocalCluster", "dask"),
        )
        conv: dict[str, list[Run]] = {label: [] for label, _ in modes}
        for _ in range(args.runs):
            for label, mode in modes:
                r = convert(some, root, mode)
                conv[label].append(r)
                print(label, r.report, mib(r.peak_rss), flush=True)
        nbytes = conv[modes[0][0]][0].report["bytes"]
        base = [r.report["seconds"] for r in conv[modes[0][0]]]
        lines += [
            f"### Conversion: {len(some)} traces, {nbytes / 2**20:.0f} MiB, "
            f"{args.runs} alternating rounds",
            "",
            "| mode | time s | MB/s | traces/s | vs one process | CPU s | peak RSS |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for label, runs in conv.items():
            secs = [r.report["seconds"] for r in runs]
            lines.append(
                f"| {label} | {spread(secs, '{:.1f}')} | "
                f"{spread([nbytes / 1e6 / x for x in secs], '{:.1f}')} | "
                f"{spread([len(some) / x for x in secs])} | "
                f"{spread([b / x for b, x in zip(base, secs, strict=True)], '{:.2f}x')} | "
                f"{spread([r.cpu for r in runs], '{:.0f}')} | "
                f"{mib(max(r.peak_rss for r in runs))} |"
            )

        full = convert(paths, root, "2")
        print("full lake", full.report, flush=True)
        on_disk = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        fleet: dict[str, list[Run]] = {v: [] for v in VIEWS}
        for _ in range(args.runs):
            for v in VIEWS:
                r = python(FLEET, str(root), v)
                fleet[v].append(r)
                print(v, r.report, mib(r.peak_rss), flush=True)
        single = python(SINGLE, json.dumps([str(p) for p in paths]))
        print("trace by trace", single.report, mib(single.peak_rss), flush=True)
    s = full.report["seconds"]
    lines += [
        "",
        f"### Fleet views: {len(paths)} traces, {total / 2**20:.0f} MiB of traces",
        "",
        f"Converted with 2 local workers in {s:.0f} s ({total / 1e6 / s:.1f} MB/s); "
        f"the lake is {on_disk / 2**20:.0f} MiB on disk. A fleet view's time is "
        '`by="trace"` and `by=None` (the four profile kinds for `blocking_profile`) '
        f"on an open lake, median (min-max) of {args.runs} alternating rounds; its "
        "process (Python and DuckDB starting, opening the lake, the view) has the "
        "wall time and the largest peak RSS given beside it. Trace by trace: "
        "one process, each trace read with `read_trace`, then the same views; the "
        "view's time summed over the traces, and the process's peak RSS.",
        "",
        "| view | fleet view (DuckDB) | its process: wall, peak RSS | trace by trace |",
        "|---|---:|---:|---:|",
    ]
    for v, runs in fleet.items():
        lines.append(
            f"| `{v}` | {spread([r.report['seconds'] for r in runs])} s | "
            f"{spread([r.wall for r in runs], '{:.1f}')} s, "
            f"{mib(max(r.peak_rss for r in runs))} | {single.report[v]:.1f} s |"
        )
    lines.append(f"| reading the traces (`read_trace`) | | | {single.report['read_trace']:.1f} s |")
    lines.append(f"| whole process | | | {single.wall:.1f} s, {mib(single.peak_rss)} peak RSS |")
    body = "\n".join(lines)
    print(body)
    if args.record:
        record("bench_lake", "Trace lake: conversion and fleet views", command_line(), body)


if __name__ == "__main__":
    main()
