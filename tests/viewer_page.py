"""The viewer page in a real headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright, which never downloads a browser of its own): shared by the
browser test of a checkout and the test of the installed wheel.

    with viewer_page() as open_page:
        page = open_page(url)
        wait_for_timeline(page)
        open_every_tab(page)

On leaving, ``viewer_page`` fails on any browser console error except the voila
page's own requests to public CDNs, which cannot resolve offline (listed in
``browser_util.OFFLINE_CDN``, matched by URL and error text).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from browser_util import (
    OFFLINE_CDN,
    ROOT,
    Message,
    console_problems,
    free_port,
    launch,
    record_console,
    serving,
)
from playwright.sync_api import Page, sync_playwright

TABS = ["Goroutines", "Blocking profiles", "Tasks", "Regions", "MMU", "Summary", "Logs"]
# What each tab must show once built (CSS selectors inside the tab).
CONTENT = {
    "Goroutines": [".gtdf-grid tbody tr"],
    "Blocking profiles": [".gtdf-grid tbody tr", "a.gtdf-download"],
    "Tasks": [".gtdf-grid tbody tr", ".js-plotly-plot .bars"],
    "Regions": [".gtdf-grid tbody tr", ".js-plotly-plot .bars"],
    "MMU": [".js-plotly-plot .scatterlayer .trace", ".gtdf-grid tbody tr"],
    "Summary": [".gtdf-card"],
    "Logs": [".gtdf-grid tbody tr"],
}


@contextlib.contextmanager
def viewer_page(viewport: tuple[int, int] = (1400, 1000)) -> Iterator[Callable[[str], Page]]:
    """``open(url)``: a fresh page in headless Chromium at ``url`` (the previous
    one closed). Console errors of every page fail the test on exit.

    A fresh page per URL, closed without its unload handlers: leaving a voila
    page makes it post a kernel shutdown that voila 0.5 refuses (403, the post
    carries no XSRF token), a console error of voila's, not of the viewer.
    """
    consoles: list[list[Message]] = []
    with sync_playwright() as p:
        browser = launch(p)
        pages: list[Page] = []

        def open_page(url: str) -> Page:
            while pages:
                pages.pop().close(run_before_unload=False)
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            pages.append(page)
            consoles.append(record_console(page))
            page.goto(url, timeout=180_000)
            return page

        try:
            yield open_page
        finally:
            browser.close()
    problems = console_problems([m for seen in consoles for m in seen], OFFLINE_CDN)
    assert not problems, f"browser console errors: {problems}"


@contextlib.contextmanager
def voila_viewer(log_dir: Path) -> Iterator[str]:
    """Real voila serving notebooks/viewer.ipynb (as ``make viewer`` does) on a
    free loopback port; yields its URL (add ``?trace=PATH``)."""
    voila = ROOT / ".venv" / "bin" / "voila"
    found = str(voila) if voila.exists() else shutil.which("voila")
    assert found, "voila is missing: make setup"
    env = dict(os.environ, PWD=str(ROOT))
    env.pop("GOTRACE_DF_TRACE", None)
    port = free_port()
    cmd = [
        found,
        "notebooks/viewer.ipynb",
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--port={port}",
        "--Voila.port_retries=0",
    ]
    url = f"http://127.0.0.1:{port}/"
    with serving(cmd, url, log_dir / "voila.log", cwd=ROOT, env=env):
        yield url


def wait_for_timeline(page: Page, timeout_ms: int = 240_000) -> str:
    """Wait until the timeline is drawn (its first payload arrived); returns the
    header text (trace name, event count)."""
    page.wait_for_function(
        "() => { const c = document.querySelector('canvas.gtdf-tl-canvas');"
        " return c && +c.dataset.blocks > 0; }",
        timeout=timeout_ms,
    )
    return page.locator(".gtdf-header").inner_text()


# A URL of a voila server that answers without running the notebook: a wait for
# the server must not take a preheated kernel (as a GET of the page would).
STATIC = "voila/static/voila.js"

# Ready for its user: the timeline drawn, its goroutine counters counted (no
# longer loading: the payload the page's ``ready`` message asks for), the tabs.
READY = (
    "() => { const c = document.querySelector('canvas.gtdf-tl-canvas');"
    " return !!c && +c.dataset.blocks > 0 && c.dataset.counters === 'ready'"
    " && !!document.querySelector('.lm-TabBar-tab'); }"
)


def wait_until_ready(page: Page, timeout_ms: int = 240_000) -> None:
    """Wait until the page is ready for its user (:data:`READY`)."""
    page.wait_for_function(READY, timeout=timeout_ms)


def open_every_tab(page: Page, shots: Path | None = None) -> None:
    """Open each tab of :data:`TABS` and wait for its content; no tab may show an
    error. Full-page screenshots go to ``shots`` if given."""
    for name in TABS:
        page.locator(".lm-TabBar-tab", has_text=name).first.click()
        tab = page.locator(".gtdf-tab-" + name.lower().replace(" ", "-"))
        tab.wait_for(timeout=180_000)
        for sel in CONTENT[name]:
            tab.locator(sel).first.wait_for(timeout=180_000)
        assert tab.locator(".gtdf-error").count() == 0, tab.inner_text()[:500]
        if shots is not None:
            time.sleep(0.8)
            page.screenshot(
                path=str(shots / f"tab-{name.lower().replace(' ', '-')}.png"), full_page=True
            )


def page_error(page: Page, timeout_ms: int = 120_000) -> str:
    """The app's message (``.gtdf-error``) once shown."""
    err = page.locator(".gtdf-app .gtdf-error").first
    err.wait_for(timeout=timeout_ms)
    return err.inner_text()
