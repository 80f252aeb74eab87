"""Helpers shared by the views: cmd/trace version semantics, time windows,
percentiles and cmd/trace's latency histogram."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from gotrace_df import _core

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = [
    "GoSemantics",
    "semantics",
    "check_window",
    "clip_window",
    "trace_window",
    "factorize_ints",
    "group_sum",
    "GroupStats",
    "group_stats",
    "ORDER_COLUMNS",
    "index_data",
    "int64_data",
    "histogram",
    "QUANTILES",
]

#: The newest cmd/trace whose behaviour is known: the default semantics.
NEWEST = 26 + 1

#: Percentiles given next to totals (as column suffixes p50, p90, p99).
QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99))


@dataclass(frozen=True)
class GoSemantics:
    """Where cmd/trace's views differ between Go releases.

    Attributes
    ----------
    minor : int
        The Go 1.N release whose ``go tool trace`` is mimicked.
    legacy_undetermined : bool
        Go 1.22-1.25: a goroutine first seen through a status event gets no time
        charged from the last Sync to that event (it shows as unknown time),
        inherits its context goroutine's region task, and is not named by the
        status event's stack (the reader gave that transition no stack). Go
        1.26 charges the time to the state it was found in and names it.
    region_leaf_frame : bool
        Go 1.22-1.23: /userregions groups regions by the *leaf* frame of the
        RegionBegin stack; Go 1.24+ by the outermost frame.
    task_text_typo : bool
        Go 1.22-1.26: /usertask prints ``task "t" (D 4, parent 2) begin`` and
        swaps the two log formats (``log "m"`` when there *is* a category).
    legacy_sync : bool
        Go 1.22-1.24: the trace reader emits each generation's Sync at its end
        rather than at its start. cmd/trace's trace then starts at the first
        event after the Sync, goroutines found at a generation start are
        "created" at the previous generation's end, and an event that newer
        readers push 1 ns past the start Sync keeps its own time.
    """

    minor: int
    legacy_undetermined: bool
    legacy_sync: bool
    region_leaf_frame: bool
    task_text_typo: bool


def semantics(go_version: str | None) -> GoSemantics:
    """Semantics of ``go tool trace`` of ``go_version`` ("1.26", "go1.24.3"; None: newest)."""
    if go_version is None:
        minor = NEWEST
    else:
        m = re.fullmatch(r"(?:go)?1\.(\d+)(?:\.\d+)?", go_version.strip())
        if m is None:
            raise ValueError(f"go_version must look like '1.26' (got {go_version!r})")
        minor = int(m.group(1))
        if minor < 22:
            raise ValueError(f"go tool trace of Go {go_version} reads no Go 1.22+ traces")
    return GoSemantics(
        minor=minor,
        legacy_undetermined=minor <= 25,
        legacy_sync=minor <= 24,
        region_leaf_frame=minor <= 23,
        task_text_typo=minor <= 26,
    )


def check_window(start_ns: int | None, end_ns: int | None) -> tuple[int, int] | None:
    """``(start, end)`` of a time window, or None when both are None."""
    if start_ns is None and end_ns is None:
        return None
    lo = int(start_ns) if start_ns is not None else np.iinfo(np.int64).min
    hi = int(end_ns) if end_ns is not None else np.iinfo(np.int64).max
    if lo > hi:
        raise ValueError(f"empty time window: start_ns {lo} > end_ns {hi}")
    return lo, hi


def trace_window(trace: Trace, start_ns: int | None, end_ns: int | None) -> tuple[int, int] | None:
    """:func:`check_window`'s window within the trace's span (None: the whole
    trace); a window outside the trace becomes an empty one at its nearer end."""
    return clip_window(check_window(start_ns, end_ns), trace.start_ns, trace.end_ns)


def clip_window(window: tuple[int, int] | None, start: int, end: int) -> tuple[int, int] | None:
    """``window`` within the span ``start`` to ``end`` (see :func:`trace_window`)."""
    if window is None:
        return None
    lo = max(window[0], start)
    hi = min(window[1], end)
    if lo > hi:
        lo = hi = min(max(window[0], start), end)
    return lo, hi


def factorize_ints(
    values: npt.ArrayLike, *, inverse: bool = True
) -> tuple[npt.NDArray[Any], npt.NDArray[np.integer[Any]]]:
    """``np.unique(values, return_inverse=True)`` for integers: the sorted
    distinct values and the position of each value among them (empty unless
    ``inverse``). When the values span at most a few times their count (IDs,
    stack IDs, packed small codes), a table over that span finds them with no
    sort and no hash, and the positions are int32 where they fit."""
    v = np.asarray(values)
    if len(v) and v.dtype.kind in "iu":
        lo, hi = int(v.min()), int(v.max())
        at: Any
        if lo >= 0 and hi <= 4 * len(v) + 4096:
            # Non-negative: the values index the table themselves.
            lo, at = 0, v
        elif hi - lo <= 4 * len(v) + 4096 and hi < 2**63:
            at = v.astype(np.intp)
            at -= lo
        else:
            at = None
        if at is not None:
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[at] = True
            uniq = np.flatnonzero(present)
            uniq += lo
            uniq = uniq.astype(v.dtype, copy=False)
            if not inverse:
                return uniq, np.empty(0, dtype=np.intp)
            width = np.int32 if len(present) < 2**31 else np.intp
            position: npt.NDArray[np.integer[Any]] = np.cumsum(present, dtype=width)
            position -= 1
            return uniq, position[at]
    if not inverse:
        return np.unique(v), np.empty(0, dtype=np.intp)
    uniq, where = np.unique(v, return_inverse=True)
    return uniq, where.reshape(-1)


def index_data(index: npt.ArrayLike) -> memoryview:
    """Positions or codes as the core reads them in place: int32 or int64,
    contiguous (converted only if they are not)."""
    a = np.ascontiguousarray(index)
    if a.dtype not in (np.int32, np.int64):
        a = a.astype(np.int64)
    return a.data


def int64_data(values: npt.ArrayLike) -> memoryview:
    """Values as the core reads them in place: int64, contiguous."""
    return np.ascontiguousarray(values, dtype=np.int64).data


def group_sum(codes: npt.ArrayLike, values: npt.ArrayLike, n_groups: int) -> npt.NDArray[np.int64]:
    """Per group ``0..n_groups-1`` (any other code is a ``ValueError``), the
    exact int64 sum of ``values``, wrapping as int64 does. One pass in the
    core: numpy's exact route (``np.add.at``) is slow, its fast one
    (``np.bincount``) sums in float64."""
    sums = _core.group_sum(index_data(codes), int64_data(values), n_groups)
    return np.frombuffer(sums, dtype=np.int64).copy()


#: The order statistics :class:`GroupStats` holds, by name, and their quantile.
_ORDER = (("min", 0.0), *QUANTILES, ("max", 1.0))
#: All of them, as the region and task pages' columns list them.
ORDER_COLUMNS = tuple(name for name, _ in _ORDER)


@dataclass(frozen=True)
class GroupStats:
    """Per group ``0..n-1`` (a row per group code): ``count`` and ``total``
    (exact int64 sum) as numpy int64, and by name (``min``, ``p50``, ``p90``,
    ``p99``, ``max``) the observed values at those quantiles as nullable
    Int64, null for a group with no values.

    Percentiles are observed values (numpy's ``inverted_cdf``: the smallest
    value with at least that fraction of values at or below it), so they stay
    exact integer nanoseconds.
    """

    count: npt.NDArray[np.int64]
    total: npt.NDArray[np.int64]
    order: dict[str, pd.arrays.IntegerArray]

    def columns(
        self, prefix: str, names: tuple[str, ...] = ("p50", "p90", "p99", "max")
    ) -> dict[str, pd.arrays.IntegerArray]:
        """``{<prefix><name>_ns: values}`` for ``names``, in that order."""
        return {f"{prefix}{name}_ns": self.order[name] for name in names}


def group_stats(codes: npt.ArrayLike, values: npt.ArrayLike, n_groups: int) -> GroupStats:
    """Count, total and order statistics of ``values`` per group ``codes``
    (``0..n_groups-1``; any other code is a ``ValueError``).

    The core scatters the values by group once and selects each rank within
    its group (linear time), where sorting (group, value) pairs took most of
    goroutine_analysis' Python time.
    """
    count, total, picked = _core.group_stats(
        index_data(codes), int64_data(values), n_groups, [q for _, q in _ORDER]
    )
    n = np.frombuffer(count, dtype=np.int64).copy()
    got = np.frombuffer(picked, dtype=np.int64).reshape(len(_ORDER), n_groups)
    empty = n == 0
    return GroupStats(
        count=n,
        total=np.frombuffer(total, dtype=np.int64).copy(),
        order={
            name: pd.arrays.IntegerArray(got[k].copy(), empty.copy())
            for k, (name, _) in enumerate(_ORDER)
        },
    )


# -- cmd/trace's TimeHistogram (internal/trace/traceviewer/histogram.go) -----

# Five buckets per decade: bucket b holds durations in [10^(b/5), 10^((b+1)/5)) ns,
# computed in float64 exactly as Go does (checked against Go for every bucket
# bound below 290 days; a duration <= 0 goes to bucket 0).
_LOG_DIV = float(np.log(np.power(10.0, 1.0 / 5)))
_MAX_BUCKET = 94


def bucket_of(durations_ns: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """cmd/trace's histogram bucket of each duration."""
    d = np.asarray(durations_ns, dtype=np.int64)
    out = np.zeros(d.shape, dtype=np.int64)
    pos = d > 0
    out[pos] = np.floor(np.log(d[pos].astype(np.float64)) / _LOG_DIV).astype(np.int64)
    return out


def bucket_min(buckets: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Lower bound of each bucket in ns, as cmd/trace prints it (``BucketMin``)."""
    b = np.asarray(buckets, dtype=np.int64)
    with np.errstate(over="ignore"):
        f = np.exp(b.astype(np.float64) * _LOG_DIV)
    out = np.full(b.shape, np.iinfo(np.int64).min, dtype=np.int64)
    ok = f < 2.0**63
    out[ok] = f[ok].astype(np.int64)
    return out


def histogram(durations_ns: npt.ArrayLike) -> pd.DataFrame:
    """cmd/trace's latency histogram of ``durations_ns``.

    One row per bucket from the smallest used to the largest used, empty ones
    included, as the HTML table shows them: ``bucket``, ``lower_ns``
    (``BucketMin``, the label), ``upper_ns`` (the next bucket's lower bound),
    ``count``.

    Note
    ----
    cmd/trace starts the table at the first bucket it filled when that was
    bucket 0 (a duration of 0 or 1 ns) followed by a larger one; here the table
    always starts at the smallest bucket used.
    """
    b = bucket_of(durations_ns)
    if len(b) == 0:
        return pd.DataFrame(
            {
                "bucket": pd.Series(dtype="int64"),
                "lower_ns": pd.Series(dtype="int64"),
                "upper_ns": pd.Series(dtype="int64"),
                "count": pd.Series(dtype="int64"),
            }
        )
    lo, hi = int(b.min()), int(b.max())
    buckets = np.arange(lo, hi + 1, dtype=np.int64)
    counts = np.bincount(b - lo, minlength=hi - lo + 1).astype(np.int64)
    return pd.DataFrame(
        {
            "bucket": buckets,
            "lower_ns": bucket_min(buckets),
            "upper_ns": bucket_min(buckets + 1),
            "count": counts,
        }
    )


def grouped_histogram(
    groups: pd.DataFrame, gid: npt.ArrayLike, durations_ns: npt.ArrayLike
) -> pd.DataFrame:
    """:func:`histogram` per group: ``groups`` has one row per group (its key
    columns), ``gid`` the group of each duration. Rows: the key columns, then
    ``bucket``, ``lower_ns``, ``upper_ns``, ``count``, groups in order."""
    g = np.asarray(gid, dtype=np.int64)
    b = bucket_of(durations_ns)
    n = len(groups)
    if n == 0 or len(g) == 0:
        out = pd.DataFrame({c: pd.Series(dtype=groups[c].dtype) for c in groups.columns})
        for c in ("bucket", "lower_ns", "upper_ns", "count"):
            out[c] = pd.Series(dtype="int64")
        return out
    lo = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(n, -1, dtype=np.int64)
    np.minimum.at(lo, g, b)
    np.maximum.at(hi, g, b)
    width = np.where(hi >= lo, hi - lo + 1, 0)
    rep = np.repeat(np.arange(n), width)
    offs = np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width)
    buckets = lo[rep] + offs
    # Count per (group, bucket): position of each duration's row in the output.
    row0 = np.cumsum(width) - width
    counts = np.bincount(row0[g] + (b - lo[g]), minlength=len(buckets)).astype(np.int64)
    out = groups.iloc[rep].reset_index(drop=True)
    out["bucket"] = buckets
    out["lower_ns"] = bucket_min(buckets)
    out["upper_ns"] = bucket_min(buckets + 1)
    out["count"] = counts
    return out


def plotly() -> Any:
    """``plotly.graph_objects``, or an ImportError naming the extra to install."""
    try:
        import plotly.graph_objects as go
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plots need plotly: install the 'ui' extra (pip install 'gotrace_df[ui]')"
        ) from e
    return go


def horizontal_bars(
    x: list[float],
    labels: list[str],
    hover: list[str],
    *,
    title: str,
    xaxis_title: str,
    row_px: int,
    pad_px: int,
    **bar: Any,
) -> Any:
    """A plotly bar chart, one horizontal bar per label, tall enough for all:
    the top-N figures of the profiles and the wakeups."""
    go = plotly()
    fig = go.Figure(go.Bar(x=x, y=labels, orientation="h", hovertext=hover, **bar))
    fig.update_layout(
        title=title,
        xaxis_title=xaxis_title,
        yaxis={"automargin": True},
        height=max(300, row_px * len(labels) + pad_px),
    )
    return fig
