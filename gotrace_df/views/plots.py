"""Plotly figures of the goroutine, task and region views (the ``ui`` extra).

Each function takes the DataFrame a view returned and gives a
``plotly.graph_objects.Figure``; the widgets reuse them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gotrace_df.units import go_duration
from gotrace_df.views._common import horizontal_bars, plotly

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "plot_goroutine_analysis",
    "plot_goroutine_stats",
    "plot_latency_histogram",
    "plot_wakeups",
]

# cmd/trace's colours for the breakdown (goroutines.go, stat2Color).
_COLORS = {
    "exec_ns": "#d7191c",
    "sched_wait_ns": "#2c7bb6",
    "syscall_ns": "#7b3294",
    "syscall_block_ns": "#d01c8b",
    "block_ns": "#f1a7d2",
    "unknown_ns": "#636363",
}
_LABELS = {
    "exec_ns": "Execution",
    "sched_wait_ns": "Sched wait",
    "syscall_ns": "Syscall execution",
    "syscall_block_ns": "Syscall blocked",
    "block_ns": "Blocked",
    "unknown_ns": "Unknown",
}


def _stacked(
    labels: list[str], df: pd.DataFrame, title: str, hover: list[str] | None = None
) -> go.Figure:
    go = plotly()
    fig = go.Figure()
    for col, color in _COLORS.items():
        if col not in df.columns:
            continue
        v = df[col].to_numpy(dtype=np.float64)
        fig.add_trace(
            go.Bar(
                name=_LABELS[col],
                x=(v / 1e6).tolist(),
                y=labels,
                orientation="h",
                marker_color=color,
                hovertext=[f"{_LABELS[col]}: {go_duration(int(x))}" for x in v],
                hoverinfo="text+y",
            )
        )
    fig.update_layout(
        barmode="stack",
        title=title,
        xaxis_title="time (ms)",
        yaxis={"automargin": True},
        legend={"orientation": "h"},
        height=max(300, 28 * len(labels) + 160),
    )
    return fig


def plot_goroutine_analysis(
    groups: pd.DataFrame, top: int = 20, *, title: str | None = None
) -> go.Figure:
    """The ``top`` goroutine groups by execution time, each bar split into
    cmd/trace's non-overlapping times (summed over the group).

    Parameters
    ----------
    groups
        A :func:`gotrace_df.goroutine_analysis` result.
    top
        How many groups (largest ``exec_ns`` first, the table's order).
    title
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Horizontal stacked bars in ms: execution, sched wait, syscall
        execution, syscall blocked, blocked, unknown. Needs the ``ui`` extra.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> fig = gt.plot_goroutine_analysis(gt.goroutine_analysis(tr), top=5)
    >>> len(fig.data[0].y) <= 5
    True
    """
    df = groups.head(top).iloc[::-1]
    labels = [
        f"{n or '(Inactive, no stack trace sampled)'} ×{c}"
        for n, c in zip(df["name"], df["count"], strict=True)
    ]
    return _stacked(labels, df, title or "Goroutine groups by execution time")


def plot_goroutine_stats(
    stats: pd.DataFrame, top: int = 30, *, title: str | None = None
) -> go.Figure:
    """Where each goroutine spent its time, for the ``top`` goroutines by
    total time: the bars of cmd/trace's /goroutine?name= breakdown.

    Parameters
    ----------
    stats
        A :func:`gotrace_df.goroutine_stats` (or ``user_region_stats``) result.
    top
        How many rows (the table's order: largest total first).
    title
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One horizontal stacked bar per goroutine (or region), in ms.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> fig = gt.plot_goroutine_stats(gt.goroutine_stats(tr), top=3)
    >>> len(fig.data) > 0
    True
    """
    df = stats.head(top).iloc[::-1]
    if "type" in df.columns:
        labels = [f"G{g} {t!r}" for g, t in zip(df["goid"], df["type"], strict=True)]
    else:
        labels = [f"G{g}" for g in df["goid"]]
    return _stacked(labels, df, title or "Time breakdown")


def plot_latency_histogram(hist: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """cmd/trace's latency histogram as bars, one series per group.

    Parameters
    ----------
    hist
        A :func:`gotrace_df.user_task_histogram`,
        :func:`gotrace_df.user_region_histogram` or
        :func:`gotrace_df.latency_histogram` result.
    title
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Counts per bucket (five per decade), the x axis labelled with each
        bucket's lower bound as cmd/trace prints it; one bar series per task
        type or (region type, PC). Needs the ``ui`` extra.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> fig = gt.plot_latency_histogram(gt.user_region_histogram(tr))
    >>> len(fig.data) >= 1
    True
    """
    go = plotly()
    fig = go.Figure()
    keys = [c for c in ("type", "pc") if c in hist.columns]
    if hist.empty:
        groups: list[tuple[Any, pd.DataFrame]] = []
    elif keys:
        groups = list(hist.groupby(keys, sort=False))
    else:
        groups = [("", hist)]
    lo = int(hist["bucket"].min()) if len(hist) else 0
    hi = int(hist["bucket"].max()) if len(hist) else -1
    buckets = np.arange(lo, hi + 1)
    labels = {int(b): go_duration(int(v)) for b, v in zip(hist["bucket"], hist["lower_ns"])}
    for key, g in groups:
        counts = pd.Series(g["count"].to_numpy(), index=g["bucket"].to_numpy())
        counts = counts.reindex(buckets, fill_value=0)
        if isinstance(key, tuple):
            name = " @ ".join(
                f"{k:#x}" if c == "pc" else str(k) for c, k in zip(keys, key, strict=True)
            )
        else:
            name = str(key)
        fig.add_trace(
            go.Bar(
                name=name or "(none)",
                x=[labels.get(int(b), str(b)) for b in buckets],
                y=counts.tolist(),
            )
        )
    fig.update_layout(
        title=title or "Duration distribution",
        xaxis_title="duration (bucket lower bound)",
        yaxis_title="count",
        barmode="group",
    )
    return fig


def plot_wakeups(edges: pd.DataFrame, top: int = 20, *, title: str | None = None) -> go.Figure:
    """The ``top`` edges of who woke whom, as horizontal bars of their count.

    Parameters
    ----------
    edges
        A :func:`gotrace_df.wakeups` result.
    top
        How many edges (the table's order: most wakeups first).
    title
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar per edge labelled ``waker → wakee (reason)``, most wakeups at
        the top, the hover text giving the wait the wakeups ended (total, p50,
        p99, max). Needs the ``ui`` extra.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> fig = gt.plot_wakeups(gt.wakeups(tr), top=5)
    >>> len(fig.data[0].y)
    5
    """
    df = edges.head(top).iloc[::-1]
    labels = [
        f"{w or '(no stack)'} → {e or '(no stack)'} ({r})"
        for w, e, r in zip(df["waker"], df["wakee"], df["reason"], strict=True)
    ]

    def dur(v: Any) -> str:
        return "–" if pd.isna(v) else go_duration(int(v))

    hover = [
        f"{c} wakeups; wait total {dur(t)}, p50 {dur(p50)}, p99 {dur(p99)}, max {dur(mx)}"
        for c, t, p50, p99, mx in zip(
            df["count"],
            df["wait_ns"],
            df["wait_p50_ns"],
            df["wait_p99_ns"],
            df["wait_max_ns"],
            strict=True,
        )
    ]
    return horizontal_bars(
        df["count"].tolist(),
        labels,
        hover,
        title=title or "Who woke whom",
        xaxis_title="wakeups",
        row_px=28,
        pad_px=160,
        hoverinfo="text+y",
        marker_color="#2c7bb6",
    )
