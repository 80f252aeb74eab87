"""Interactive widgets for JupyterLab and voila (needs the ``ui`` extra).

* :class:`TraceViewer`: the header, the timeline and every tab.
* :class:`Timeline`: procs, goroutines or threads over time, with counters,
  GC lanes, zoom, pan, highlight and click-for-details.
* :class:`DataTable`: the sortable, clickable table the tabs use.

>>> import gotrace_df as gt
>>> from gotrace_df.widgets import TraceViewer
>>> viewer = TraceViewer(gt.read_trace(gt.example_trace()))
"""

from __future__ import annotations

try:
    import anywidget  # noqa: F401
    import ipywidgets  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"gotrace_df.widgets needs the 'ui' extra: pip install 'gotrace_df[ui]' (missing: {e.name})"
    ) from e

from gotrace_df.widgets.table import Col, DataTable
from gotrace_df.widgets.timeline import Timeline, TimelineCanvas
from gotrace_df.widgets.viewer import TraceViewer

__all__ = ["Col", "DataTable", "Timeline", "TimelineCanvas", "TraceViewer"]
