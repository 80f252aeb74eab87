"""A progress row for the viewer and its page: a bar and a message, hidden when idle."""

from __future__ import annotations

import html

import ipywidgets as W

__all__ = ["ProgressRow"]


class ProgressRow(W.HBox):  # type: ignore[misc]
    """A bar with a muted message beside it, hidden until :meth:`show`."""

    def __init__(self, width: str = "260px") -> None:
        self.bar = W.FloatProgress(
            value=0.0, min=0.0, max=1.0, bar_style="info", layout=W.Layout(width=width)
        )
        self.label = W.HTML("")
        super().__init__(
            [self.bar, self.label], layout=W.Layout(display="none", align_items="center")
        )
        self.add_class("gtdf-row")

    def show(self, message: str, fraction: float) -> None:
        """Show ``message`` with the bar at ``fraction`` (0 to 1)."""
        self.layout.display = "flex"
        self.label.value = f"<span class='gtdf-muted'>{html.escape(message)}</span>"
        self.set(fraction)

    def set(self, fraction: float) -> None:
        self.bar.value = max(0.0, min(1.0, fraction))

    def hide(self) -> None:
        self.bar.value = 1.0
        self.layout.display = "none"
