"""Viewer benchmark: how fast the timeline answers on a big trace, against how long
``go tool trace`` takes before its web UI answers at all, in one run.

    python bench/bench_viewer.py                     # the 25 MiB workload trace (made if missing)
    python bench/bench_viewer.py --trace FILE --record

Measures, after parsing (parse time printed apart):

* ``TraceViewer(trace)`` until its first timeline payload exists (the widget
  computes it in its constructor), and the payload's size;
* the goroutine counters the page asks for once it is up (the ``ready``
  message: one pass over every event, deferred so the first paint does not wait);
* viewport updates (the browser's ``viewport`` message) at zoom levels from the
  whole trace down to 1/100000 of it, in each view: time and bytes sent;
* ``go tool trace -http=127.0.0.1:0 FILE`` from start until its web UI
  answers HTTP (the Go release that wrote the trace, from .toolchains/bin as
  the tests use it).

Targets: first payload under 1 s after parsing, each update under 100 ms and
200 kB. ``--record`` replaces this bench's section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # this checkout's gotrace_df, as the other benches run it

from gotool import go_binary, go_env  # noqa: E402
from results import command_line, record  # noqa: E402
from traces import trace_go_version, workload_trace  # noqa: E402

ZOOMS = (1, 10, 100, 1_000, 10_000, 100_000)
WIDTH = 1200
ROWS = 24  # lanes visible in a 560 px canvas


def go_tool_trace_ready(trace: Path, timeout: float = 1800.0) -> tuple[float, int]:
    """Seconds from starting ``go tool trace`` until its UI answers, and its
    peak RSS (bytes) by then."""
    env = go_env()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(go_binary(trace_go_version(trace))), "tool", "trace", "-http=127.0.0.1:0", str(trace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    url = None
    try:
        for line in proc.stdout:
            m = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            if m:
                url = m.group(1)
                break
            if time.perf_counter() - start > timeout:
                break
        if url is None:
            raise RuntimeError("go tool trace printed no address")
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=5).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if proc.poll() is not None or time.perf_counter() - start > timeout:
                    raise RuntimeError("go tool trace did not answer") from None
                time.sleep(0.05)
        ready = time.perf_counter() - start
        rss = _rss_of(proc.pid)
        return ready, rss
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _rss_of(pid: int) -> int:
    """Peak RSS (VmHWM) of a live process and all its descendants (``go tool
    trace`` runs the trace binary as a child of the go command)."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                parent[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    family = {pid}
    grew = True
    while grew:
        grew = False
        for child, ppid in parent.items():
            if ppid in family and child not in family:
                family.add(child)
                grew = True
    total = 0
    for p in family:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trace", type=Path, help="default: the 25 MiB workload trace")
    ap.add_argument("--record", action="store_true", help="replace this bench's RESULTS.md section")
    ap.add_argument("--no-go", action="store_true", help="skip go tool trace")
    args = ap.parse_args()
    args.trace = args.trace or workload_trace(25)

    import gotrace_df as gt
    from gotrace_df.widgets import TraceViewer

    size = args.trace.stat().st_size
    t = time.perf_counter()
    trace = gt.read_trace(args.trace, progress=False)
    parse_s = time.perf_counter() - t

    t, c = time.perf_counter(), time.process_time()
    viewer = TraceViewer(trace)
    first_s = time.perf_counter() - t
    first_cpu = time.process_time() - c
    tl = viewer.timeline
    first_bytes = tl.canvas.payload_bytes
    first_blocks = tl.canvas.meta["n"]

    t = time.perf_counter()
    tl._on_msg(tl.canvas, {"type": "ready"}, [])
    ready_s = time.perf_counter() - t
    ready_bytes = tl.canvas.payload_bytes

    rows: list[tuple[str, int, float, float, int, int]] = []
    view_build: dict[str, float] = {}
    for view in ("proc", "thread", "goroutine"):
        t = time.perf_counter()
        tl.set_view(view)
        view_build[view] = time.perf_counter() - t
        for zoom in ZOOMS:
            span = tl.duration / zoom
            start = tl.duration * 0.42 - span / 2
            times, cpus = [], []
            for i in range(3):  # a pan step between repeats: no cache to hit
                t, c = time.perf_counter(), time.process_time()
                meta = tl.relayout(
                    start + i * span * 0.1, start + span * (1 + i * 0.1), WIDTH, 0, ROWS
                )
                times.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
            rows.append((view, zoom, min(times), min(cpus), tl.canvas.payload_bytes, meta["n"]))
    ours_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    go_s = go_rss = None
    if not args.no_go:
        go_s, go_rss = go_tool_trace_ready(args.trace)

    worst_ms = max(r[2] for r in rows) * 1e3
    worst_kb = max(r[4] for r in rows) / 1e3
    load = os.getloadavg()[0]
    lines = [
        f"trace: {args.trace.name}, {size / 2**20:.1f} MiB, {trace.row_counts()['events']:,} events, "
        f"{trace.goroutines.num_rows:,} goroutines; {os.cpu_count()} cores; "
        f"load average {load:.1f} at the end; canvas {WIDTH} px, {ROWS} lanes",
        "",
        f"- parse (read_trace): {parse_s:.2f} s",
        f"- `TraceViewer(trace)` to first timeline payload: **{first_s * 1e3:.0f} ms** "
        f"({first_cpu * 1e3:.0f} ms of CPU; {first_blocks:,} blocks, {first_bytes / 1e3:.1f} kB)",
        f"- goroutine counters when the page is up (`ready`): {ready_s * 1e3:.0f} ms "
        f"({ready_bytes / 1e3:.1f} kB)",
        "- first switch to a view (lane index): "
        + ", ".join(f"{v} {s * 1e3:.0f} ms" for v, s in view_build.items()),
        f"- peak RSS of this process (trace + viewer): {ours_rss / 2**20:.0f} MiB",
    ]
    if go_s is not None and go_rss is not None:
        lines.append(
            f"- `go tool trace` until its web UI answers: **{go_s:.2f} s** "
            f"(peak RSS {go_rss / 2**20:.0f} MiB)"
        )
    lines += [
        "",
        "| view | zoom (fraction of trace shown) | update ms | CPU ms | bytes sent | blocks |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for view, zoom, secs, cpu, nbytes, blocks in rows:
        lines.append(
            f"| {view} | 1/{zoom:,} | {secs * 1e3:.1f} | {cpu * 1e3:.1f} | {nbytes:,} | {blocks:,} |"
        )
    lines += [
        "",
        f"worst update: {worst_ms:.1f} ms, {worst_kb:.1f} kB "
        f"(targets: first payload < 1 s, updates < 100 ms and < 200 kB)",
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        record(
            "bench_viewer",
            "Viewer",
            command_line(),
            text,
            go=str(go_binary(trace_go_version(args.trace))),
        )


if __name__ == "__main__":
    main()
