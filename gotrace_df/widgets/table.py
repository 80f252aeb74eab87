"""A sortable table whose rows can be clicked, for the viewer's tabs."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import anywidget
import pandas as pd
import traitlets as T

from gotrace_df.widgets._esm import esm

__all__ = ["DataTable", "Col"]


def Col(  # noqa: N802 - reads like a record constructor
    key: str,
    label: str | None = None,
    kind: str = "str",
    *,
    bar: bool = False,
    code: bool = False,
    title: str = "",
) -> dict[str, Any]:
    """A column: DataFrame column ``key`` shown as ``label``; ``kind`` is one of
    str, int, ns, pct, float, bytes (formatting and sorting); ``bar`` draws a
    bar proportional to the value."""
    return {
        "key": key,
        "label": label or key,
        "kind": kind,
        "bar": bar,
        "code": code,
        "title": title,
    }


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if hasattr(v, "item"):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
        return v
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return v if isinstance(v, (int, str, bool)) else str(v)


class DataTable(anywidget.AnyWidget):
    """Rows of a DataFrame; a click sets ``selected`` to the row's id (its
    DataFrame index position) and calls the ``on_select`` callbacks."""

    _esm = esm("table.js")
    columns: T.List[Any] = T.List().tag(sync=True)
    rows: T.List[Any] = T.List().tag(sync=True)
    row_ids: T.List[Any] = T.List().tag(sync=True)
    selected = T.Int(-1).tag(sync=True)
    clicks = T.Int(0).tag(sync=True)
    note = T.Unicode("").tag(sync=True)
    max_height = T.Int(360).tag(sync=True)

    def __init__(
        self,
        columns: Sequence[dict[str, Any]],
        df: pd.DataFrame | None = None,
        *,
        limit: int = 2000,
        max_height: int = 360,
    ) -> None:
        super().__init__(columns=[dict(c) for c in columns], max_height=max_height)
        self.limit = limit
        self.df = pd.DataFrame()
        self._callbacks: list[Callable[[int, pd.Series], None]] = []
        self.observe(self._on_click, "clicks")
        if df is not None:
            self.set_data(df)

    def set_data(self, df: pd.DataFrame, note: str = "") -> None:
        """Show ``df`` (its first ``limit`` rows)."""
        self.df = df.reset_index(drop=True)
        shown = self.df.head(self.limit)
        keys = [c["key"] for c in self.columns]
        rows = [[_cell(v) for v in rec] for rec in shown[keys].itertuples(index=False, name=None)]
        if len(self.df) > self.limit and not note:
            note = f"showing the first {self.limit:,} of {len(self.df):,} rows"
        with self.hold_sync():
            self.selected = -1
            self.rows = rows
            self.row_ids = list(range(len(rows)))
            self.note = note

    def on_select(self, callback: Callable[[int, pd.Series], None]) -> None:
        """Call ``callback(position, row)`` when a row is clicked."""
        self._callbacks.append(callback)

    def select(self, position: int) -> None:
        """Select row ``position`` as a click would."""
        self.selected = position
        self.clicks += 1

    def _on_click(self, _change: dict[str, Any]) -> None:
        pos = self.selected
        if 0 <= pos < len(self.df):
            row = self.df.iloc[pos]
            for cb in self._callbacks:
                cb(pos, row)
