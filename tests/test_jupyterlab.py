"""End to end in JupyterLab: a real `jupyter lab` (token, loopback, no browser,
its own settings and workspaces) serving a temporary copy of
notebooks/tour.ipynb, real headless Chromium (Debian's, through Playwright)
running every cell, then the TraceViewer's timeline drawing, answering the
wheel (zoom) and a click (the span's details).

Every browser console error fails the test: with its news feed and update
check off (as started here), JupyterLab loads nothing from the network, so
unlike voila's page it has no offline CDN errors to tell apart.
Screenshots go to build/screenshots/ (or $GOTRACE_DF_SCREENSHOTS).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_util import (
    SHOTS,
    canvas_state,
    click_proc_lane,
    console_problems,
    free_port,
    launch,
    record_console,
    serving,
    wheel_zoom,
)
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "tour.ipynb"
JUPYTER = Path(sys.executable).parent / "jupyter"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`jupyter lab` on a free loopback port; yields the notebook's URL (with token)."""
    work = tmp_path_factory.mktemp("jupyterlab")
    root = work / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    # No "get notified about Jupyter news?" toast over the output.
    notification = work / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = free_port(), secrets.token_hex(16)
    # Nothing read from or written to the user's ~/.jupyter: settings,
    # workspaces and runtime files live in the test's directory.
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        JUPYTER_CONFIG_DIR=str(work / "config"),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(work / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"),
    )
    cmd = [
        str(JUPYTER),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.allow_root=True",  # CI containers run as root
        # Offline: no news feed, no update check, no PyPI extension manager.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    base = f"http://127.0.0.1:{port}"
    with serving(cmd, f"{base}/api/status?token={token}", work / "lab.log", cwd=root, env=env):
        yield f"{base}/lab/tree/{NOTEBOOK.name}?token={token}"


# The notebook's code cells from JupyterLab's model (the DOM holds only the
# cells in view): execution count and output types of each.
_CELLS = """() => {
    const nb = window.jupyterapp.shell.currentWidget.content;
    return [...nb.model.cells].filter(c => c.type === 'code').map(c => ({
        count: c.executionCount,
        outputs: c.outputs.toJSON().map(o => o.output_type),
        error: c.outputs.toJSON().filter(o => o.output_type === 'error')
                 .map(o => o.ename + ': ' + o.evalue).join('; '),
    }));
}"""


def test_tour_in_jupyterlab(lab: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            console = record_console(page)
            page.goto(lab, timeout=120_000)
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.started"
                " && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.content.model",
                timeout=120_000,
            )
            # The kernel is up (the notebook names python3, which this .venv runs).
            page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.ready")

            # Run all: the command's promise is not awaited, the cells are.
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            page.wait_for_function(
                f"() => ({_CELLS})().every(c => c.count !== null)", timeout=180_000
            )
            cells = page.evaluate(_CELLS)
            errors = [c["error"] for c in cells if c["error"]]
            assert not errors, errors
            counts = [c["count"] for c in cells]
            assert counts == list(range(1, len(counts) + 1)), counts
            assert all(c["outputs"] for c in cells[1:]), (
                cells
            )  # every cell but the imports shows something
            run_s = time.monotonic() - t0

            # The last cell's TraceViewer: its header, then the timeline drawn.
            header = page.locator(".gtdf-header")
            header.wait_for(timeout=60_000)
            assert "example.trace" in header.inner_text() and "events" in header.inner_text()
            # The whole viewer in view: the timeline's lanes start at the top.
            page.locator(".gtdf-header").evaluate("h => h.scrollIntoView({block: 'start'})")
            page.wait_for_function(
                "() => { const c = document.querySelector('canvas.gtdf-tl-canvas');"
                " return c && +c.dataset.blocks > 0; }",
                timeout=60_000,
            )
            # The cell jumped to the slowest task (show_task): the window says so.
            assert "task" in canvas_state(page)["status"]
            page.screenshot(path=str(SHOTS / "jupyterlab-timeline.png"))
            before, after = wheel_zoom(page)
            assert after["blocks"] > 0
            assert after["status"].split(" · ")[0] != before["status"].split(" · ")[0], after
            click_proc_lane(page)
            assert "Duration" in page.locator(".gtdf-details").first.inner_text()
            page.locator(".gtdf-details").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "jupyterlab-details.png"))

            # A plotly tab: JupyterLab renders plotly itself (voila differently).
            page.locator(".lm-TabBar-tab", has_text="MMU").first.click()
            mmu = page.locator(".gtdf-tab-mmu")
            mmu.locator(".js-plotly-plot .scatterlayer .trace").first.wait_for(timeout=60_000)
            assert mmu.locator(".gtdf-error").count() == 0, mmu.inner_text()[:500]
            mmu.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "jupyterlab-mmu.png"))
        finally:
            browser.close()
    problems = console_problems(console, offline_hosts=frozenset())
    assert not problems, f"browser console errors: {problems}"
    print(f"JupyterLab: cells ran in {run_s:.1f} s, test {time.monotonic() - t0:.1f} s")
