"""The viewer's trace is parsed once by the command and shared: two pages on
one ``gotrace-df -http`` server in real headless Chromium, each page's kernel
maps the command's Arrow files (none parses), and the private directory they
live in is gone when the command stops. The first page's kernel is the
server's spare process; the next kernel starts only once that page is up."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import psutil
from browser_util import SHOTS, free_port, serving
from viewer_page import STATIC, viewer_page, wait_until_ready

from gotrace_df.app import ENV_CACHE, SERVER
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


def _kernels(pid: int) -> dict[int, str]:
    """The kernels under ``pid``: process ID -> command line (which names the
    kernel's ID in its connection file; the first kernel's process started
    as the server's spare, :mod:`gotrace_df.app.spare`)."""
    return {
        k: cmd for k, cmd in _tree(pid).items() if re.search(r"kernel-[0-9a-f-]{36}\.json", cmd)
    }


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_second_page_maps_the_trace_the_command_parsed(tmp_path: Path) -> None:
    port = free_port()
    root = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, BROWSER="none", PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    cmd = [sys.executable, "-m", "gotrace_df", f"-http=127.0.0.1:{port}", str(TRACE)]
    with serving(cmd, root + STATIC, tmp_path / "server.log", cwd=tmp_path, env=env) as p:
        voila = next(k for k, c in _tree(p.pid).items() if str(SERVER) in c)
        environ = Path(f"/proc/{voila}/environ").read_bytes().split(b"\0")
        prefix = ENV_CACHE.encode() + b"="
        cache = Path(next(e for e in environ if e.startswith(prefix))[len(prefix) :].decode())
        assert cache.stat().st_mode & 0o777 == 0o700, "the trace's tables are private"
        events = str(cache / TRACE_DIR / "events.arrow")
        served: set[int] = set()
        loaded = 0.0
        with viewer_page() as open_page:
            for n in (1, 2):
                page = open_page(f"{root}?{urlencode({'trace': TRACE})}")
                loaded = loaded or time.time()  # the first page's HTML and scripts
                wait_until_ready(page)
                assert page.locator(".gtdf-app .gtdf-error").count() == 0
                # The page's kernel has its tables in the command's files,
                # mapped: it parsed nothing.
                m = re.search(r'"kernelId": "([0-9a-f-]{36})"', page.content())
                assert m, "no kernel id in the page"
                kernel = next(k for k, c in _kernels(p.pid).items() if m.group(1) in c)
                assert events in _maps(kernel), f"page {n}: its kernel does not map {events}"
                if n == 1:  # the process the server started with it, importing meanwhile
                    assert "gotrace_df.app.spare" in _kernels(p.pid)[kernel]
                else:  # the next kernel started only after: it did not compete
                    assert psutil.Process(kernel).create_time() > loaded
                served.add(kernel)
            assert len(served) == 2, "two pages, two kernels"
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "ready-second-page.png"), full_page=True)
    # Stopped (SIGTERM): voila, its kernels and the cache are gone.
    deadline = time.monotonic() + 20
    while cache.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not cache.exists(), "the command left its trace cache behind"
