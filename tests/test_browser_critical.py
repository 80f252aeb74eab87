"""The critical path in the viewer, end to end: real voila serving the viewer on
a loopback port, real headless Chromium (tests/viewer_page.py) on a corpus
trace with tasks.

Pick a task in the Tasks tab, see its Critical path section (breakdown tables,
bars, segments), press "Show on timeline" and find the path drawn (the canvas's
counts and the highlight's colours in a screenshot), then click a segment and
find the timeline zoomed to it. No console errors.

Screenshots go to build/screenshots/ (or $GOTRACE_DF_SCREENSHOTS).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pandas as pd
import pytest
from browser_util import SHOTS, canvas_state, colour_pixels
from playwright.sync_api import Page
from viewer_page import viewer_page, voila_viewer, wait_until_ready

import gotrace_df as gt
from gotrace_df.widgets._model import PATH_ARROWS, path_color

TRACE = "tests/data/traces/go1.26/example.trace"
CANVAS = "document.querySelector('canvas.gtdf-tl-canvas')"


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with voila_viewer(tmp_path_factory.mktemp("voila")) as url:
        yield url


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    v = int(hex_colour[1:], 16)
    return (v >> 16) & 255, (v >> 8) & 255, v & 255


def _view(page: Page) -> tuple[float, float]:
    t0, t1 = page.evaluate(f"() => {CANVAS}.dataset.view").split(",")
    return float(t0), float(t1)


def _hops(goids: pd.Series) -> int:
    """How many times a path passes to another goroutine."""
    g = goids.to_numpy()
    return int((g[1:] != g[:-1]).sum())


def test_critical_path_in_the_viewer(voila_url: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tr = gt.read_trace(TRACE)
    # The task whose path passes through the most goroutines.
    task_id = int(gt.critical_paths(tr).groupby("task_id")["goid"].agg(_hops).idxmax())
    path = gt.critical_path(tr, task=task_id)
    kind = tr.to_pandas("tasks").set_index("task_id").loc[task_id, "name"]
    hops = _hops(path["goid"])
    assert hops > 0
    with viewer_page() as open_page:
        page = open_page(f"{voila_url}?trace={TRACE}")
        wait_until_ready(page)
        page.locator(".lm-TabBar-tab", has_text="Tasks").first.click()
        tab = page.locator(".gtdf-tab-tasks")
        grids = tab.locator(".gtdf-grid")
        types = grids.nth(0).locator("tbody tr")
        types.first.wait_for(timeout=60_000)
        types.filter(has_text=kind).first.click()
        first_cell = page.locator("td:first-child", has_text=re.compile(f"^{task_id}$"))
        grids.nth(1).locator("tbody tr").filter(has=first_cell).click()
        head = tab.locator(".gtdf-section", has_text=f"Critical path of task {task_id}")
        head.wait_for(timeout=60_000)
        # The section: category and stack tables, their bars, the segments.
        assert grids.count() == 6  # types, tasks, events; category, stack, segments
        segments = grids.nth(5).locator("tbody tr")
        segments.first.wait_for(timeout=30_000)
        assert segments.count() == len(path)
        assert tab.locator(".js-plotly-plot .bars").count() >= 3  # histogram, 2 breakdowns
        categories = grids.nth(3).locator("tbody tr").all_inner_texts()
        want = gt.critical_path_breakdown(path, by="category")
        assert [c.split("\t")[0] for c in categories] == [str(c) for c in want["category"]]
        time.sleep(0.8)
        head.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "critical-path-tab.png"))
        segments.first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "critical-path-segments.png"))

        # Show on timeline: the path drawn over its goroutines' lanes.
        seq = canvas_state(page)["seq"]
        tab.locator("button", has_text="Show on timeline").click()
        page.wait_for_function(
            f"() => +{CANVAS}.dataset.seq > {seq} && +{CANVAS}.dataset.pathSegments > 0",
            timeout=30_000,
        )
        time.sleep(1.0)
        state = page.evaluate(
            f"() => ({{segments: +{CANVAS}.dataset.pathSegments,"
            f" arrows: +{CANVAS}.dataset.pathArrows}})"
        )
        assert state["segments"] > 0 and state["arrows"] > 0
        status = canvas_state(page)["status"]
        assert f"highlight: task {task_id}" in status
        a, b = path["start_ns"].min() - tr.start_ns, path["end_ns"].max() - tr.start_ns
        t0, t1 = _view(page)
        assert t0 <= a and t1 >= b and t1 - t0 < 1.2 * (b - a)
        shot = page.locator("canvas.gtdf-tl-canvas").screenshot(
            path=str(SHOTS / "critical-path-timeline.png")
        )
        top = str(want["category"].iloc[0])
        assert colour_pixels(page, shot, _rgb(path_color(top))) > 50
        arrows = [colour_pixels(page, shot, _rgb(c)) for c in PATH_ARROWS.values()]
        assert sum(arrows) > 20

        # A segment row opens it on the timeline, the path still drawn.
        i = int(path["duration_ns"].to_numpy().argmax())
        page.locator(".lm-TabBar-tab", has_text="Tasks").first.click()
        seq = canvas_state(page)["seq"]
        segments.nth(i).click()
        page.wait_for_function(f"() => +{CANVAS}.dataset.seq > {seq}", timeout=30_000)
        time.sleep(1.0)
        s0 = int(path["start_ns"].iloc[i]) - tr.start_ns
        s1 = int(path["end_ns"].iloc[i]) - tr.start_ns
        t0, t1 = _view(page)
        assert t0 <= s0 and t1 >= s1 and (t1 - t0) <= 3.5 * max(s1 - s0, 1000)
        assert page.evaluate(f"() => +{CANVAS}.dataset.pathSegments") > 0
        details = page.locator(".gtdf-details-head").first.inner_text()
        assert f"segment {i + 1} of {len(path)}" in details
        page.locator("canvas.gtdf-tl-canvas").screenshot(
            path=str(SHOTS / "critical-path-segment.png")
        )
