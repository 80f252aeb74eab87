"""What the browser tests share: Debian's Chromium as Playwright drives it (it
never downloads a browser of its own), the console errors a page may have
offline and no others, and a local server started and awaited on a free
loopback port.

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        console = record_console(page)
        ...  # wheel_zoom(page), click_proc_lane(page)
    assert not console_problems(console, OFFLINE_CDN)
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from playwright.sync_api import Browser, Page, Playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Pages that link public CDNs (voila's lab template: Font Awesome, MathJax)
# cannot load them offline. Only these hosts, with this error, pass.
OFFLINE_CDN = frozenset({"cdn.jsdelivr.net", "cdnjs.cloudflare.com"})
OFFLINE_ERROR = "net::ERR_NAME_NOT_RESOLVED"
SHOTS = Path(os.environ.get("GOTRACE_DF_SCREENSHOTS", ROOT / "build" / "screenshots"))

# (type, text, url) of a console message or page error.
Message = tuple[str, str, str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(p: Playwright) -> Browser:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: make browser"
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def record_console(page: Page) -> list[Message]:
    """The page's console errors and uncaught exceptions, as they happen."""
    seen: list[Message] = []
    page.on(
        "console",
        lambda m: (
            seen.append((m.type, m.text, str(m.location.get("url", ""))))
            if m.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda e: seen.append(("pageerror", str(e), "")))
    return seen


def console_problems(messages: Sequence[Message], offline_hosts: frozenset[str]) -> list[Message]:
    """Every message except a request to one of ``offline_hosts`` that failed
    to resolve (the machine has no network)."""
    return [
        (kind, text, url)
        for kind, text, url in messages
        if not ((urlparse(url).hostname or "") in offline_hosts and OFFLINE_ERROR in text)
    ]


def canvas_state(page: Page) -> dict[str, Any]:
    """The timeline canvas's draw counters (blocks drawn, payloads received)
    and its status line."""
    state: dict[str, Any] = page.evaluate(
        "() => { const c = document.querySelector('canvas.gtdf-tl-canvas');"
        " return {blocks: +c.dataset.blocks, seq: +c.dataset.seq,"
        " status: document.querySelector('.gtdf-tl-status').innerText}; }"
    )
    return state


def wheel_zoom(page: Page) -> tuple[dict[str, Any], dict[str, Any]]:
    """Eight wheel steps in over the timeline; the canvas state before, and
    once the redraw they asked for arrived. A burst of wheel events must
    become few requests (debounced)."""
    box = page.locator("canvas.gtdf-tl-canvas").bounding_box()
    assert box is not None
    before = canvas_state(page)
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.7)
    for _ in range(8):
        page.mouse.wheel(0, -240)
    page.wait_for_function(
        f"() => +document.querySelector('canvas.gtdf-tl-canvas').dataset.seq > {before['seq']}",
        timeout=60_000,
    )
    time.sleep(1.5)
    after = canvas_state(page)
    assert after["seq"] - before["seq"] <= 4, "wheel events were not debounced"
    return before, after


def colour_pixels(page: Page, png: bytes, rgb: tuple[int, int, int], tol: int = 6) -> int:
    """How many pixels of the screenshot ``png`` have colour ``rgb`` (each
    channel within ``tol``), decoded by the browser of ``page``."""
    count: int = page.evaluate(
        """async ([b64, rgb, tol]) => {
          const img = new Image();
          img.src = "data:image/png;base64," + b64;
          await img.decode();
          const c = document.createElement("canvas");
          c.width = img.width; c.height = img.height;
          const ctx = c.getContext("2d");
          ctx.drawImage(img, 0, 0);
          const d = ctx.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4)
            if (Math.abs(d[i] - rgb[0]) <= tol && Math.abs(d[i + 1] - rgb[1]) <= tol
                && Math.abs(d[i + 2] - rgb[2]) <= tol) n++;
          return n;
        }""",
        [base64.b64encode(png).decode(), list(rgb), tol],
    )
    return count


def click_proc_lane(page: Page) -> None:
    """Click the first proc lane, around the middle, until a span's details show."""
    box = page.locator("canvas.gtdf-tl-canvas").bounding_box()
    assert box is not None
    for frac in (0.5, 0.45, 0.55, 0.6, 0.4, 0.65, 0.35):
        page.mouse.click(box["x"] + box["width"] * frac, box["y"] + 196)
        try:
            page.wait_for_selector(".gtdf-details-head", timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError("clicking the first proc lane never showed a span")


@contextmanager
def serving(
    cmd: Sequence[str], url: str, log: Path, *, cwd: Path, env: dict[str, str], timeout: float = 120
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``cmd`` (output to ``log``), wait until ``url`` answers, stop it on exit."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd[0]} did not start:\n{log.read_text()}") from None
                time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
