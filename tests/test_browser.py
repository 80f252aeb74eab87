"""End to end: real voila serving notebooks/viewer.ipynb (the link to the
packaged viewer, as ``make viewer`` serves it) on a loopback port, real headless
Chromium (tests/viewer_page.py) opening it on a corpus trace.

The test waits for the timeline, zooms with the wheel, clicks a span, opens every
tab and checks each shows its content, and fails on any browser console error
except the voila page's own requests to public CDNs, which cannot resolve
offline.

Screenshots go to build/screenshots/ (or $GOTRACE_DF_SCREENSHOTS).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_util import (
    CHROMIUM,
    CHROMIUM_ARGS,
    canvas_state,
    click_proc_lane,
    wheel_zoom,
)
from playwright.sync_api import sync_playwright
from viewer_page import open_every_tab, viewer_page, voila_viewer, wait_for_timeline

ROOT = Path(__file__).resolve().parent.parent
TRACE = "tests/data/traces/go1.26/example.trace"
SHOTS = Path(os.environ.get("GOTRACE_DF_SCREENSHOTS", ROOT / "build" / "screenshots"))


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with voila_viewer(tmp_path_factory.mktemp("voila")) as url:
        yield url


def test_viewer_in_chromium(voila_url: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with viewer_page() as open_page:
        page = open_page(f"{voila_url}?trace={TRACE}")
        header = wait_for_timeline(page)
        assert "example.trace" in header and "events" in header
        time.sleep(1.0)
        page.screenshot(path=str(SHOTS / "timeline.png"))
        # Zoom: a burst of wheel events becomes few requests (debounced).
        before, after = wheel_zoom(page)
        assert after["blocks"] > 0
        assert after["status"].split(" · ")[0] != before["status"].split(" · ")[0]

        # Click the middle of the first proc lane until it hits a span.
        click_proc_lane(page)
        details = page.locator(".gtdf-details").first.inner_text()
        assert "Duration" in details
        page.screenshot(path=str(SHOTS / "timeline-zoomed.png"))

        # The goroutine view: one lane per goroutine alive in the window.
        seq = canvas_state(page)["seq"]
        page.get_by_role("button", name="Goroutines", exact=True).first.click()
        page.wait_for_function(
            f"() => +document.querySelector('canvas.gtdf-tl-canvas').dataset.seq > {seq}",
            timeout=60_000,
        )
        assert canvas_state(page)["blocks"] > 0
        time.sleep(1.0)
        page.screenshot(path=str(SHOTS / "timeline-goroutines.png"))

        open_every_tab(page, SHOTS)

        # Back to the timeline through a row: a task opens there.
        page.locator(".lm-TabBar-tab", has_text="Tasks").first.click()
        tasks = page.locator(".gtdf-tab-tasks")
        tasks.locator(".gtdf-grid").nth(1).locator("tbody tr").first.click()
        tasks.get_by_role("button", name="on timeline").first.click()
        page.locator("canvas.gtdf-tl-canvas").wait_for(state="visible", timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('.gtdf-tl-status').innerText.includes('task')",
            timeout=30_000,
        )
        time.sleep(1.0)
        page.screenshot(path=str(SHOTS / "timeline-task.png"))


def test_widgets_display_what_python_displays() -> None:
    """widgets/units.js (the widgets' display format, run in Chromium) writes
    what gotrace_df.units writes, on the pinned values, ties and numbers of
    every magnitude."""
    import random

    from test_units import DISPLAY_BYTES, DISPLAY_DURATIONS

    from gotrace_df.units import display_bytes, display_duration

    rng = random.Random(7)
    values: list[Any] = [n for n, _ in DISPLAY_DURATIONS + DISPLAY_BYTES]
    for e in range(14):
        values += [rng.randrange(10**e, 10 ** (e + 1)) for _ in range(40)]
        values += [5 * 10**e // 10 * k for k in (1, 3, 2125, 1250)]  # ties
    values += [-v for v in values if isinstance(v, int)]
    values += [rng.uniform(-1e7, 1e7) for _ in range(100)] + [12.5, -12.5, 1_062_499.5]
    js = (ROOT / "gotrace_df" / "widgets" / "units.js").read_text(encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.add_script_tag(content=js)
            got = page.evaluate("(vs) => [vs.map(displayDuration), vs.map(displayBytes)]", values)
        finally:
            browser.close()
    assert got[0] == [display_duration(v) for v in values]
    assert got[1] == [display_bytes(v) for v in values]
