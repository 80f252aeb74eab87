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
* time to ready, in alternating runs (median): ``gotrace-df
  -http=127.0.0.1:PORT FILE`` (BROWSER=none) from its start until a page in
  headless Chromium shows the drawn timeline, its goroutine counters and the
  tab bar; then a second tab on the same server (its time to ready and how much
  the server's process tree grew); the tree's peak RSS;
* ``go tool trace -http=127.0.0.1:PORT FILE`` from its start until its index
  page answers and until its first timeline page's data (``/jsontrace``)
  does, and its peak RSS (the Go release that wrote the trace, from
  .toolchains/bin as the tests use it).

Targets: first payload under 1 s after parsing, each update under 100 ms and
200 kB; ready in 1/8 of go tool trace's time to its index page, a second tab
in 1.5 s. ``--record`` replaces this bench's section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import resource
import statistics
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # this checkout's gotrace_df, as the other benches run it

from browser_util import free_port, serving  # noqa: E402
from gotool import go_binary, go_env  # noqa: E402
from results import command_line, record  # noqa: E402
from traces import trace_go_version, workload_trace  # noqa: E402
from viewer_page import STATIC, wait_until_ready  # noqa: E402

ZOOMS = (1, 10, 100, 1_000, 10_000, 100_000)
WIDTH = 1200
ROWS = 24  # lanes visible in a 560 px canvas


# -- time to ready: the command and a real browser, against go tool trace ------------


def _family(pid: int) -> set[int]:
    """``pid`` and all its live descendants."""
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
    return family


def _tree_kb(pid: int, field: str, file: str = "status") -> int:
    """Sum of ``field`` (kB) of /proc/PID/FILE over ``pid``'s process tree, in bytes."""
    total = 0
    for p in _family(pid):
        try:
            for line in Path(f"/proc/{p}/{file}").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _rss_of(pid: int) -> int:
    """Peak RSS (VmHWM) of a live process and all its descendants (``go tool
    trace`` runs the trace binary as a child of the go command)."""
    return _tree_kb(pid, "VmHWM")


def ours_ready(trace: Path, browser: Any, log: Path) -> dict[str, float]:
    """``gotrace-df -http=127.0.0.1:PORT TRACE`` from its start until a page shows
    the drawn timeline, its goroutine counters and the tab bar; then a second
    tab on the same server: its time to ready and the server tree's memory
    growth (RSS, and PSS, which splits pages shared between processes)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, BROWSER="none", PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    cmd = [sys.executable, "-m", "gotrace_df", f"-http=127.0.0.1:{port}", str(trace)]
    out: dict[str, float] = {}
    pages = [browser.new_page(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    start = time.perf_counter()
    try:
        with serving(cmd, url + STATIC, log, cwd=trace.parent, env=env, timeout=300) as proc:
            out["listening_s"] = time.perf_counter() - start
            pages[0].goto(f"{url}?trace={trace}", timeout=300_000)
            wait_until_ready(pages[0], 300_000)
            out["ready_s"] = time.perf_counter() - start
            time.sleep(1.0)  # let the first kernel settle before measuring the second
            rss0 = _tree_kb(proc.pid, "Rss", "smaps_rollup")
            pss0 = _tree_kb(proc.pid, "Pss", "smaps_rollup")
            t = time.perf_counter()
            pages[1].goto(f"{url}?trace={trace}", timeout=300_000)
            wait_until_ready(pages[1], 300_000)
            out["second_s"] = time.perf_counter() - t
            time.sleep(1.0)
            out["second_rss"] = _tree_kb(proc.pid, "Rss", "smaps_rollup") - rss0
            out["second_pss"] = _tree_kb(proc.pid, "Pss", "smaps_rollup") - pss0
            out["first_rss"] = rss0
            out["peak_rss"] = _rss_of(proc.pid)
    finally:
        for page in pages:
            page.close(run_before_unload=False)
    return out


def go_ready(trace: Path, log: Path) -> dict[str, float]:
    """``go tool trace -http=127.0.0.1:PORT TRACE`` (BROWSER=true, as the tests
    run it) from its start until its index page answers, then until its first
    timeline page's data (the first ``/jsontrace?...`` the index links) answers;
    its tree's peak RSS."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    go = str(go_binary(trace_go_version(trace)))
    cmd = [go, "tool", "trace", f"-http=127.0.0.1:{port}", str(trace)]
    start = time.perf_counter()
    with serving(cmd, base + "/", log, cwd=ROOT, env=go_env(), timeout=1800) as proc:
        index_s = time.perf_counter() - start
        index = urllib.request.urlopen(base + "/", timeout=60).read().decode()
        m = re.search(r'href="/trace(\?[^"]*)"', index)
        query = html.unescape(m.group(1)) if m else ""
        urllib.request.urlopen(base + "/jsontrace" + query, timeout=1800).read()
        timeline_s = time.perf_counter() - start
        return {"index_s": index_s, "timeline_s": timeline_s, "peak_rss": _rss_of(proc.pid)}


def ready_runs(
    trace: Path, runs: int, with_go: bool
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """``runs`` alternating runs of ours and (``with_go``) go tool trace's
    (the servers' output goes to build/bench_viewer-server.log)."""
    from browser_util import launch
    from playwright.sync_api import sync_playwright

    log = ROOT / "build" / "bench_viewer-server.log"
    log.parent.mkdir(exist_ok=True)
    ours: list[dict[str, float]] = []
    go: list[dict[str, float]] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            for _ in range(runs):
                ours.append(ours_ready(trace, browser, log))
                if with_go:
                    go.append(go_ready(trace, log))
        finally:
            browser.close()
    return ours, go


def ready_lines(ours: list[dict[str, float]], go: list[dict[str, float]]) -> list[str]:
    """The time-to-ready section: medians of the runs."""

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    lines = [
        "",
        f"Time to ready, median of {len(ours)} alternating runs (each a fresh server; "
        "headless Chromium; ready = timeline drawn, goroutine counters drawn, tab bar shown):",
        "",
        f"- `gotrace-df -http=127.0.0.1:PORT TRACE` to a ready page: **{med(ours, 'ready_s'):.2f} s** "
        f"(listening after {med(ours, 'listening_s'):.2f} s; runs: "
        + ", ".join(f"{r['ready_s']:.2f}" for r in ours)
        + f"); server tree peak RSS {med(ours, 'peak_rss') / 2**20:.0f} MiB",
        f"- a second tab on that server: ready in **{med(ours, 'second_s'):.2f} s**; the server tree "
        f"grew by {med(ours, 'second_rss') / 2**20:.0f} MiB RSS ({med(ours, 'second_pss') / 2**20:.0f} MiB PSS; "
        f"{med(ours, 'first_rss') / 2**20:.0f} MiB RSS with one tab)",
    ]
    if go:
        lines += [
            f"- `go tool trace -http`: index page after **{med(go, 'index_s'):.2f} s**, first timeline "
            f"page's data (`/jsontrace`) after {med(go, 'timeline_s'):.2f} s; "
            f"peak RSS {med(go, 'peak_rss') / 2**20:.0f} MiB",
            f"- ours took {med(ours, 'ready_s') / med(go, 'index_s'):.3f} of go tool trace's time "
            "to its index page (target: 0.125 or less); second tab target: 1.5 s",
        ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trace", type=Path, help="default: the 25 MiB workload trace")
    ap.add_argument("--record", action="store_true", help="replace this bench's RESULTS.md section")
    ap.add_argument("--no-go", action="store_true", help="skip go tool trace")
    ap.add_argument("--runs", type=int, default=3, help="time-to-ready runs of each (median)")
    args = ap.parse_args()
    args.trace = (args.trace or workload_trace(25)).resolve()

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

    n_events, n_goroutines = trace.row_counts()["events"], trace.goroutines.num_rows
    del viewer, tl, trace  # the servers below measure memory of their own
    ours, go = ready_runs(args.trace, args.runs, not args.no_go)

    worst_ms = max(r[2] for r in rows) * 1e3
    worst_kb = max(r[4] for r in rows) / 1e3
    load = os.getloadavg()[0]
    lines = [
        f"trace: {args.trace.name}, {size / 2**20:.1f} MiB, {n_events:,} events, "
        f"{n_goroutines:,} goroutines; {os.cpu_count()} cores; "
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
    lines += ready_lines(ours, go)
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
