"""TraceViewer: the timeline and every tab in one widget."""

from __future__ import annotations

import html
import os
import time
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from gotrace_df._trace import Trace
from gotrace_df.units import display_duration
from gotrace_df.widgets._style import style
from gotrace_df.widgets.progress import ProgressRow
from gotrace_df.widgets.tabs import TABS, TabContext, error_box
from gotrace_df.widgets.timeline import Timeline

if TYPE_CHECKING:
    from gotrace_df.widgets._model import TimelineModel

__all__ = ["TraceViewer"]


class TraceViewer(W.VBox):  # type: ignore[misc]
    """The whole viewer: a header naming the trace, the timeline, and the tabs
    of ``go tool trace`` (goroutines, blocking profiles, tasks, regions, MMU)
    plus a summary and the logs. Tabs are built the first time they are
    selected, with a progress bar.

    Parameters
    ----------
    trace
        The parsed trace.
    title
        Name shown in the header (default: the trace's file name).
    height
        Height of the timeline canvas, pixels.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> from gotrace_df.widgets import TraceViewer
    >>> v = TraceViewer(gt.read_trace(gt.example_trace()))
    >>> v.tab_titles[:2]
    ['Timeline', 'Goroutines']
    >>> v.select_tab("Summary").__class__.__name__
    'VBox'
    """

    def __init__(
        self,
        trace: Trace,
        *,
        title: str | None = None,
        height: int = 560,
        timeline: TimelineModel | None = None,
    ) -> None:
        """``timeline``: the timeline's model, if made already
        (:meth:`Timeline.prepare`)."""
        super().__init__()
        self.trace = trace
        self.add_class("gtdf-viewer")
        self.progress_box = ProgressRow()
        self.timeline = Timeline(trace, height=height, model=timeline, progress=self._progress_msg)
        self._progress("", 1.0)
        self.header = W.HTML(self._header_html(title))
        self.tab_titles = ["Timeline", *(name for name, _ in TABS)]
        self._builders = dict(TABS)
        self._built: dict[str, W.Widget] = {"Timeline": self.timeline}
        self.build_seconds: dict[str, float] = {}
        placeholders = [self.timeline] + [
            W.VBox([W.HTML("<div class='gtdf-help'>Loading…</div>")]) for _ in TABS
        ]
        self.tabs = W.Tab(children=placeholders, titles=self.tab_titles)
        self.tabs.observe(self._on_tab, "selected_index")
        self.children = [style(), self.header, self.progress_box, self.tabs]

    # -- public ---------------------------------------------------------------------

    def select_tab(self, title: str) -> W.Widget:
        """Select the tab called ``title`` (building it if needed) and return
        its widget."""
        self.tabs.selected_index = self.tab_titles.index(title)
        return self.tab(title)

    def tab(self, title: str) -> W.Widget:
        """The widget of tab ``title``, built if it was not yet."""
        if title not in self._built:
            self._build(title)
        return self._built[title]

    def show_timeline(self) -> None:
        """Bring the timeline tab to the front."""
        self.tabs.selected_index = 0

    # -- internals ------------------------------------------------------------------------

    def _header_html(self, title: str | None) -> str:
        tr = self.trace
        name = title or os.path.basename(str(tr.source)) or str(tr.source)
        n_g = tr.goroutines.num_rows
        pills = [
            tr.go_versions,
            f"duration {display_duration(tr.duration_ns)}",
            f"{tr.row_counts()['events']:,} events",
            f"{n_g:,} goroutines",
            f"{tr.generations} generations",
        ]
        pill_html = "".join(f"<span class='gtdf-pill'>{html.escape(p)}</span>" for p in pills)
        return (
            "<div class='gtdf-header'><span class='gtdf-logo'>gotrace_df</span>"
            f"<span class='gtdf-title' title='{html.escape(str(tr.source))}'>"
            f"{html.escape(name)}</span>{pill_html}</div>"
        )

    def _progress_msg(self, message: str) -> None:
        self._progress(message, 0.5 if message else 1.0)

    def _progress(self, message: str, fraction: float) -> None:
        if message:
            self.progress_box.show(message, max(0.05, fraction))
        else:
            self.progress_box.hide()

    def _on_tab(self, change: dict[str, Any]) -> None:
        idx = change["new"]
        if idx is None:
            return
        title = self.tab_titles[idx]
        if title not in self._built:
            self._build(title)

    def _build(self, title: str) -> None:
        ctx = TabContext(
            trace=self.trace,
            timeline=self.timeline,
            show_timeline=self.show_timeline,
            progress=self._progress,
        )
        start = time.perf_counter()
        self._progress(f"Building {title}…", 0.1)
        try:
            widget = self._builders[title](ctx)
        except Exception as exc:  # a broken view must not take the viewer down
            widget = W.VBox([error_box(title, exc)])
        finally:
            self._progress("", 1.0)
        widget.add_class(f"gtdf-tab-{title.lower().replace(' ', '-')}")
        self._built[title] = widget
        self.build_seconds[title] = time.perf_counter() - start
        children = list(self.tabs.children)
        children[self.tab_titles.index(title)] = widget
        self.tabs.children = children
