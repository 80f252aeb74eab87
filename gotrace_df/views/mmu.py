"""Minimum mutator utilisation: ``go tool trace``'s /mmu page.

The mutator utilisation function, the MMU curve, the worst windows and the
utilisation distribution are computed by the Rust core
(``crates/gotrace-core/src/analysis/mmu.rs``) exactly as cmd/trace does
(``internal/trace/gc.go``), including its quirks:

* only stop-the-worlds whose name contains "GC" count (``stw``);
* a GC range already active when the trace starts (RangeActive) counts only in
  the first generation;
* with ``background``, a goroutine labelled "GC ..." (not "GC (idle)"; not
  "GC (dedicated)" per P) is a mark worker from then on; the runtime labels a
  worker each time it starts, and each label adds one to its P's GC counter
  on top of the one its start adds, while its stop takes only one off. The
  counters drift up, so once workers have run a few times their Ps count as
  GC time until the end of the trace (utilisation 0 from there on with the
  page's default flags): cmd/trace's curves show exactly that;
* of two points at the same time the lower utilisation is kept;
* the MMU is found by cmd/trace's band search, and the plot's windows are its
  100 log-spaced windows (``mmu_windows``).

One deliberate difference: cmd/trace's percentiles ("Show percentiles") are
all equal to the MMU, because its distribution is never fed (its accumulator
returns before updating it); ``percentiles=True`` gives the real distribution.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gotrace_df import _core
from gotrace_df._trace import Trace
from gotrace_df.views._cache import once
from gotrace_df.views._common import plotly, semantics
from gotrace_df.views._stream import as_trace, run_stream

if TYPE_CHECKING:
    from collections.abc import Sequence

    import plotly.graph_objects as go

    from gotrace_df.io import TraceSource

__all__ = [
    "MMU_PERCENTILES",
    "mmu",
    "mmu_windows",
    "mmu_worst_windows",
    "mutator_utilization",
    "plot_mmu",
]

# trace.UtilFlags.
_STW, _BACKGROUND, _ASSIST, _SWEEP, _PER_PROC = 1, 2, 4, 8, 16

#: The page's percentile columns and the distribution quantile of each
#: ("p99.9" is the utilisation 99.9% of the windows exceed).
MMU_PERCENTILES: dict[str, float] = {"p99.9": 0.001, "p99": 0.01, "p95": 0.05}


class _Curve:
    """Utilisation series and MMU curve for one flag set."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        """``raw``: the core's series, (times int64, utils float64) bytes."""
        self.series = [
            (np.frombuffer(t, dtype="<i8").copy(), np.frombuffer(u, dtype="<f8").copy())
            for t, u in raw
        ]
        self.curve = (
            _core.MmuCurve([t for t, _ in self.series], [u for _, u in self.series])
            if self.series
            else None
        )


def _flags(stw: bool, background: bool, assist: bool, sweep: bool, per_proc: bool) -> int:
    return (
        (_STW if stw else 0)
        | (_BACKGROUND if background else 0)
        | (_ASSIST if assist else 0)
        | (_SWEEP if sweep else 0)
        | (_PER_PROC if per_proc else 0)
    )


# The events columns the utilisation pass reads (value comes apart).
_MMU_COLUMNS = ["ts", "kind", "g", "p", "resource", "resource_id", "from_state", "to_state", "name"]


def _curve(source: Trace | TraceSource, flags: int, go_version: str | None) -> _Curve:
    """The curve of a parsed trace (cached), or of a trace to read, made
    while it is parsed (:mod:`gotrace_df.views._stream`)."""
    # Every release from 1.22 computes the same function on our event stream
    # (1.22-1.24's "before the first Sync" is the first generation too); the
    # version is still checked so that a bad one is reported.
    semantics(go_version)
    trace = as_trace(source)
    if trace is None:
        assert not isinstance(source, Trace)
        parse = functools.partial(_core.stream_mmu, flags=flags)
        return _Curve(run_stream(source, parse, stacklevel=3)["series"])

    def run() -> _Curve:
        events = trace.columns("events", _MMU_COLUMNS)
        rows, values = trace.event_values("value")
        return _Curve(_core.mutator_utilization(events, flags, rows.data, values.data))

    return once(trace, ("mmu", flags), run)


def mutator_utilization(
    trace: Trace,
    *,
    stw: bool = True,
    background: bool = True,
    assist: bool = True,
    sweep: bool = False,
    per_proc: bool = False,
    go_version: str | None = None,
) -> pd.DataFrame:
    """The mutator utilisation function (cmd/trace's ``MutatorUtilizationV2``).

    Parameters
    ----------
    trace
        A parsed trace.
    stw, background, assist, sweep
        Count GC stop-the-worlds, background mark workers, mark assists and
        sweeping as time taken from the mutator (the /mmu page's check boxes;
        the defaults are the page's).
    per_proc
        One function per P ("Per-goroutine" on the page: a P doing GC work has
        utilisation 0) instead of one for the whole program (the fraction of Ps
        not doing GC work).
    go_version
        Reproduce ``go tool trace`` of this Go release; all of 1.22+ agree here.

    Returns
    -------
    pandas.DataFrame
        ``series`` (0, or one per P and P lifetime with ``per_proc``),
        ``time_ns`` (absolute, as the events' ``ts``) and ``util``: from
        ``time_ns`` until the series' next point, utilisation ``util`` (0..1).
        Each series ends with a point at the last event, utilisation 0. Empty if
        the trace has no GOMAXPROCS metric.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> mu = gt.mutator_utilization(tr)
    >>> list(mu.columns)
    ['series', 'time_ns', 'util']
    >>> bool(mu["util"].between(0, 1).all())
    True
    """
    c = _curve(trace, _flags(stw, background, assist, sweep, per_proc), go_version)
    if not c.series:
        return pd.DataFrame(
            {
                "series": pd.Series(dtype="int64"),
                "time_ns": pd.Series(dtype="int64"),
                "util": pd.Series(dtype="float64"),
            }
        )
    return pd.DataFrame(
        {
            "series": np.concatenate(
                [np.full(len(t), i, dtype=np.int64) for i, (t, _) in enumerate(c.series)]
            ),
            "time_ns": np.concatenate([t for t, _ in c.series]),
            "util": np.concatenate([u for _, u in c.series]),
        }
    )


def mmu_windows(
    trace: Trace,
    *,
    stw: bool = True,
    background: bool = True,
    assist: bool = True,
    sweep: bool = False,
    per_proc: bool = False,
    go_version: str | None = None,
) -> tuple[int, int, list[int]]:
    """The windows cmd/trace plots: ``(x_min_ns, x_max_ns, windows_ns)``.

    ``x_min_ns`` is 1 s divided by 1000 (down to 1 ns) while the MMU at it is
    at least 0.0001; ``x_max_ns`` is a million times that, at most the span of
    the utilisation function; the 100 windows are spaced evenly on a log scale
    between them, each truncated to an integer (computed with Go's own
    ``math.Exp``/``math.Log``, so they are the same integers: the first is
    often ``x_min_ns - 1``). Flags as for :func:`mutator_utilization`.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> lo, hi, windows = gt.mmu_windows(tr)
    >>> len(windows), windows[0] <= windows[-1] <= hi
    (100, True)
    """
    c = _curve(trace, _flags(stw, background, assist, sweep, per_proc), go_version)
    if c.curve is None:
        return 0, 0, []
    lo, hi, windows = c.curve.plot_windows()
    return int(lo), int(hi), [int(w) for w in windows]


def mmu(
    trace: Trace | TraceSource,
    windows_ns: Sequence[int] | None = None,
    *,
    stw: bool = True,
    background: bool = True,
    assist: bool = True,
    sweep: bool = False,
    per_proc: bool = False,
    percentiles: bool = False,
    go_version: str | None = None,
) -> pd.DataFrame:
    """The minimum mutator utilisation curve, as /mmu plots it.

    Parameters
    ----------
    trace
        A parsed trace, or a trace to read (a path, bytes, a file object or a
        URL, as :func:`gotrace_df.read_trace` takes them): then the
        utilisation is computed while it is parsed, keeping no table, so
        memory is the utilisation function's, not the trace's; the result
        is the same as for ``read_trace(trace)``.
    windows_ns
        Window sizes in ns; default: the 100 windows cmd/trace plots
        (:func:`mmu_windows`).
    stw, background, assist, sweep, per_proc
        What counts as GC time; see :func:`mutator_utilization`.
    percentiles
        Also give the mutator utilisation distribution's percentiles (the
        page's "Show percentiles"), computed for real: cmd/trace's are all
        equal to the MMU (see the module docstring).
    go_version
        Reproduce ``go tool trace`` of this Go release.

    Returns
    -------
    pandas.DataFrame
        ``window_ns`` and ``mmu``: the lowest mean utilisation over any window
        of that size (0..1). With ``percentiles``, also ``p99.9``, ``p99`` and
        ``p95``: the utilisation that 99.9%, 99% and 95% of the windows (by
        start time) exceed. ``attrs`` holds ``x_min_ns`` and ``x_max_ns`` when
        the windows are the default ones. Empty if the trace has no GOMAXPROCS
        metric.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> curve = gt.mmu(tr)
    >>> len(curve), list(curve.columns)
    (100, ['window_ns', 'mmu'])
    >>> bool(curve["mmu"].between(0, 1).all())
    True
    >>> gt.mmu(tr, [1_000_000], percentiles=True).columns.tolist()
    ['window_ns', 'mmu', 'p99.9', 'p99', 'p95']
    >>> curve.equals(gt.mmu(gt.example_trace()))  # a file, streamed
    True
    """
    c = _curve(trace, _flags(stw, background, assist, sweep, per_proc), go_version)
    attrs: dict[str, Any] = {}
    if windows_ns is None:
        if c.curve is None:
            windows: list[int] = []
        else:
            lo, hi, windows = c.curve.plot_windows()
            attrs = {"x_min_ns": int(lo), "x_max_ns": int(hi)}
    else:
        windows = [int(w) for w in windows_ns]
    cols: dict[str, Any] = {"window_ns": np.asarray(windows, dtype=np.int64)}
    if c.curve is None:
        cols["mmu"] = np.full(len(windows), np.nan)
    else:
        cols["mmu"] = np.asarray(c.curve.mmu(windows), dtype=np.float64)
    if percentiles:
        qs = list(MMU_PERCENTILES.values())
        if c.curve is None or not windows:
            vals = np.full((len(windows), len(qs)), np.nan)
        else:
            vals = np.asarray(c.curve.mud(windows, qs), dtype=np.float64)
        for j, name in enumerate(MMU_PERCENTILES):
            cols[name] = vals[:, j]
    out = pd.DataFrame(cols)
    out.attrs.update(attrs)
    return out


def mmu_worst_windows(
    trace: Trace,
    window_ns: int,
    n: int = 10,
    *,
    stw: bool = True,
    background: bool = True,
    assist: bool = True,
    sweep: bool = False,
    per_proc: bool = False,
    go_version: str | None = None,
) -> pd.DataFrame:
    """The lowest-utilisation windows of one size (/mmu?mode=details).

    Parameters
    ----------
    trace
        A parsed trace.
    window_ns
        Window size in ns.
    n
        How many windows (the page lists 10).
    stw, background, assist, sweep, per_proc, go_version
        As for :func:`mmu`.

    Returns
    -------
    pandas.DataFrame
        Up to ``n`` windows that do not overlap, lowest utilisation first
        (cmd/trace's ``Examples``): ``start_ns`` (absolute, the page's
        ``Time``), ``end_ns`` (``start_ns + window_ns``) and ``util``
        (the page's ``MutatorUtil``).

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> worst = gt.mmu_worst_windows(tr, 1_000_000, n=3)
    >>> list(worst.columns), len(worst) <= 3
    (['start_ns', 'end_ns', 'util'], True)
    """
    c = _curve(trace, _flags(stw, background, assist, sweep, per_proc), go_version)
    rows = [] if c.curve is None else c.curve.examples(int(window_ns), int(n))
    start = np.asarray([r[0] for r in rows], dtype=np.int64)
    return pd.DataFrame(
        {
            "start_ns": start,
            "end_ns": start + np.int64(window_ns),
            "util": np.asarray([r[1] for r in rows], dtype=np.float64),
        }
    )


def plot_mmu(curve: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """The MMU curve (and percentiles, if present) against the window size.

    Parameters
    ----------
    curve
        A :func:`mmu` result.
    title
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Utilisation (0..1) against window size on a log axis, one line per
        column (``mmu``, ``p99.9``, ``p99``, ``p95``), like the /mmu page's
        chart. Needs the ``ui`` extra (plotly).

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> fig = gt.plot_mmu(gt.mmu(tr))
    >>> fig.data[0].name
    'MMU'
    """
    go = plotly()
    x = curve["window_ns"].to_numpy(dtype=np.float64) / 1e6
    fig = go.Figure()
    names = {"mmu": "MMU", **{k: f"{k} MU" for k in MMU_PERCENTILES}}
    for col, label in names.items():
        if col in curve.columns:
            fig.add_trace(go.Scatter(x=x, y=curve[col].to_numpy(), mode="lines", name=label))
    fig.update_layout(
        title=title or "Minimum mutator utilization",
        xaxis={"title": "window (ms)", "type": "log"},
        yaxis={"title": "mutator utilization", "range": [0, 1]},
    )
    return fig
