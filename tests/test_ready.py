"""The viewer's trace is parsed once by the command and shared: two pages on
one ``gotrace-df -http`` server in real headless Chromium, each page's kernel
maps the command's Arrow files (none parses), and the private directory they
live in is gone when the command stops."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from browser_util import SHOTS, free_port
from viewer_page import viewer_page, wait_until_ready

from gotrace_df.app import ENV_CACHE
from gotrace_df.app.mapped import TRACE_DIR

ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT / "tests" / "data" / "traces" / "go1.26" / "tasks.trace"


def _tree(pid: int) -> dict[int, str]:
    """``pid``'s live descendants and their command lines."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out: dict[int, str] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        for child, ppid in parent.items():
            if ppid == p and child not in out:
                try:
                    out[child] = Path(f"/proc/{child}/cmdline").read_bytes().decode()
                except OSError:
                    continue
                todo.append(child)
    return out


def _kernels(pid: int) -> set[int]:
    return {k for k, cmd in _tree(pid).items() if "ipykernel" in cmd}


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_second_page_maps_the_trace_the_command_parsed(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, BROWSER="none", PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    cmd = [sys.executable, "-m", "gotrace_df", f"-http=127.0.0.1:{port}", str(TRACE)]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stderr is not None
    try:
        line = p.stdout.readline()
        m = re.match(r"Trace viewer is listening on (http://\S+)$", line.strip())
        assert m, line
        url = m.group(1)
        voila = next(k for k, c in _tree(p.pid).items() if "voila" in c)
        environ = Path(f"/proc/{voila}/environ").read_bytes().split(b"\0")
        cache = Path(
            next(e for e in environ if e.startswith(ENV_CACHE.encode() + b"="))
            .split(b"=", 1)[1]
            .decode()
        )
        assert cache.stat().st_mode & 0o777 == 0o700, "the trace's tables are private"
        events = str(cache / TRACE_DIR / "events.arrow")
        with viewer_page() as open_page:
            for n in (1, 2):
                page = open_page(url)
                wait_until_ready(page)
                assert page.locator(".gtdf-app .gtdf-error").count() == 0
                # Each page's kernel has its tables in the command's files,
                # mapped: it parsed nothing. (voila keeps one more kernel
                # preheated, waiting for a request: that one maps nothing yet.)
                mapping = [k for k in _kernels(p.pid) if events in _maps(k)]
                assert len(mapping) == n, f"page {n}: kernels mapping {events}: {mapping}"
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "ready-second-page.png"), full_page=True)
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 0
        deadline = time.monotonic() + 20
        while cache.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not cache.exists(), "the command left its trace cache behind"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
