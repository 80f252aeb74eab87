"""Before and after: what changed between two traces, view by view.

:func:`diff` puts side by side, per key, the statistics the single-trace views
give, with the same percentiles (the views' own):

* ``goroutine group``: a start function of :func:`goroutine_analysis`, with
  metrics ``exec``, ``sched_wait``, ``block``, ``syscall``,
  ``syscall_block`` and ``unknown`` (percentiles for ``sched_wait`` and
  ``block``, as the view has them);
* ``sched stack``, ``sync stack``, ``syscall stack``, ``net stack``: a stack
  of that :func:`blocking_profile`, metric ``delay``. Stacks are matched by
  their frames (function, file, line), never by the per-trace stack IDs or
  PCs, which another build or another trace numbers differently;
* ``task type``: a type of :func:`user_tasks`, metric ``duration`` (of the
  complete tasks);
* ``region type``: a type and frame of :func:`user_regions`, metric
  ``duration``.

Each side is a :class:`Side`: the per-key statistics of a trace
(:func:`trace_side`) or of any other source of the same views (a lake of
traces), so every pair of sides diffs the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gotrace_df.views._common import QUANTILES
from gotrace_df.views.goroutines import goroutine_analysis
from gotrace_df.views.profiles import blocking_profile
from gotrace_df.views.regions import user_regions
from gotrace_df.views.tasks import user_tasks

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["KINDS", "Side", "diff", "side_of", "trace_side"]

#: The profile kinds in the order a diff lists them.
_PROFILE_ORDER = ("sched", "sync", "syscall", "net")

#: The kinds of keys a diff compares, in the order it lists them.
KINDS: tuple[str, ...] = (
    "goroutine group",
    *(f"{k} stack" for k in _PROFILE_ORDER),
    "task type",
    "region type",
)

#: A goroutine group's metrics: goroutine_analysis' column of each total,
#: and the prefix of its percentiles (None: it has none).
_GROUP_METRICS: tuple[tuple[str, str, str | None], ...] = (
    ("exec", "exec_ns", None),
    ("sched_wait", "sched_wait_ns", "sched_wait_"),
    ("block", "block_ns", "block_"),
    ("syscall", "syscall_ns", None),
    ("syscall_block", "syscall_block_ns", None),
    ("unknown", "unknown_ns", None),
)

#: The percentiles a side gives: the views' own.
_PERCENTILES = tuple(name for name, _ in QUANTILES)

#: A side's key columns: what a row of one side is matched by in the other.
_KEY = ["kind", "name", "stack", "metric"]

#: A frame as stacks are matched: (function, file, line).
Frame = tuple[str, str, int]


@dataclass(frozen=True)
class Side:
    """One side of a diff: per key and metric, the statistics of the views.

    ``stats`` has one row per (``kind``, ``name``, ``stack``, ``metric``):
    ``kind`` one of :data:`KINDS`; ``name`` the goroutine group, task type or
    region type ("" for stacks); ``stack`` a tuple of (function, file, line)
    frames, innermost first (the profile's stack, the region's frame; empty
    otherwise); then ``count``, ``total_ns`` (int64) and ``p50_ns``,
    ``p90_ns``, ``p99_ns`` (nullable Int64) as the view gave them. Two rows
    of one view that share their key (two stacks with the same frames at
    different PCs) are summed; their percentiles, which do not add, are then
    null.
    """

    label: str
    stats: pd.DataFrame

    @classmethod
    def from_views(
        cls,
        label: str,
        *,
        goroutines: pd.DataFrame,
        profiles: dict[str, pd.DataFrame],
        tasks: pd.DataFrame,
        regions: pd.DataFrame,
    ) -> Side:
        """A side from the views' frames: :func:`goroutine_analysis`,
        :func:`blocking_profile` of each kind (by kind), :func:`user_tasks`,
        :func:`user_regions`, or any frames with their columns."""
        parts = [_group_rows(goroutines)]
        parts += [_stack_rows(k, profiles[k]) for k in _PROFILE_ORDER]
        parts += [_task_rows(tasks), _region_rows(regions)]
        return cls(label, _combine(pd.concat(parts, ignore_index=True)))


def trace_side(trace: Trace, *, go_version: str | None = None) -> Side:
    """The :class:`Side` of one trace: its views as ``go tool trace`` of
    ``go_version`` computes them (default the newest)."""
    return Side.from_views(
        trace.source,
        goroutines=goroutine_analysis(trace, go_version=go_version),
        profiles={k: blocking_profile(trace, k, go_version=go_version) for k in _PROFILE_ORDER},
        tasks=user_tasks(trace, go_version=go_version),
        regions=user_regions(trace, go_version=go_version),
    )


def side_of(x: Trace | Side | str | os.PathLike[str], *, go_version: str | None = None) -> Side:
    """A :class:`Side` as is, that of a lake (its ``diff_side()``: the fleet
    views), or that of a trace (a Trace, or a path read with
    :func:`gotrace_df.read_trace`)."""
    if isinstance(x, Side):
        return x
    # A lake (gotrace_df.lake, an optional extra this module must not import)
    # gives its fleet views as a side.
    diff_side = getattr(x, "diff_side", None)
    if callable(diff_side):
        side: Side = diff_side()
        return side
    if isinstance(x, str | os.PathLike):
        from gotrace_df.io import read_trace

        x = read_trace(x)
    return trace_side(x, go_version=go_version)


def diff(
    a: Trace | Side | str | os.PathLike[str],
    b: Trace | Side | str | os.PathLike[str],
    *,
    go_version: str | None = None,
) -> pd.DataFrame:
    """What changed from trace ``a`` (before) to trace ``b`` (after).

    Parameters
    ----------
    a, b
        Traces (:class:`gotrace_df.Trace` objects or paths), lakes
        (``gotrace_df.lake.open(...)``: their fleet views), or :class:`Side`
        objects.
    go_version
        Compute the views as ``go tool trace`` of this Go release does;
        default the newest.

    Returns
    -------
    pandas.DataFrame
        One row per key and metric seen on either side (see the module
        docstring), sorted by what changed most: ``|delta_ns|`` descending,
        then by kind (in :data:`KINDS` order), key and metric. Columns:

        ``kind``, ``key`` (the group, type or stack as text: frames
        ``function file:line`` innermost first, joined by `` < ``; a region
        type is ``type @ function file:line``), ``metric``;
        ``count_a``, ``count_b``, ``delta_count`` (goroutines of the group,
        blocking intervals of the stack, complete tasks, regions; 0 on a
        side without the key); ``total_a_ns``, ``total_b_ns`` (0 on a side
        without the key), ``delta_ns`` (``total_b_ns - total_a_ns``),
        ``ratio`` (``total_b_ns / total_a_ns``: NaN when both are 0, inf when
        only ``a``'s is); ``p50_a_ns``, ``p50_b_ns``, ``p90_a_ns``,
        ``p90_b_ns``, ``p99_a_ns``, ``p99_b_ns`` (the views' own
        percentiles, null where the view has none); then ``name`` and
        ``stack`` (the key's parts, as in :class:`Side`).

        The ``n`` largest changes of each kind are
        ``df.groupby("kind", sort=False).head(n)``.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> d = gt.diff(tr, gt.read_trace(gt.example_trace()))
    >>> bool((d["delta_ns"] == 0).all()) and bool((d["delta_count"] == 0).all())
    True
    >>> list(d.columns[:5])
    ['kind', 'key', 'metric', 'count_a', 'count_b']
    """
    sa = side_of(a, go_version=go_version).stats
    sb = side_of(b, go_version=go_version).stats
    m = sa.merge(sb, on=_KEY, how="outer", suffixes=("_a", "_b"), sort=False)
    out = pd.DataFrame(
        {
            "kind": m["kind"].to_numpy(dtype=object),
            "key": [_key_text(n, s) for n, s in zip(m["name"], m["stack"])],
            "metric": m["metric"].to_numpy(dtype=object),
        }
    )
    for col in ("count", "total_ns"):
        got = {s: m[f"{col}_{s}"].fillna(0).to_numpy(dtype=np.int64) for s in "ab"}
        stem = col.removesuffix("_ns")
        unit = "_ns" if col.endswith("_ns") else ""
        out[f"{stem}_a{unit}"] = got["a"]
        out[f"{stem}_b{unit}"] = got["b"]
        out["delta_count" if col == "count" else "delta_ns"] = got["b"] - got["a"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = out["total_b_ns"].to_numpy(dtype=np.float64) / out["total_a_ns"].to_numpy(
            dtype=np.float64
        )
    for p in _PERCENTILES:
        for s in "ab":
            out[f"{p}_{s}_ns"] = m[f"{p}_ns_{s}"].astype("Int64").array
    out["name"] = m["name"].to_numpy(dtype=object)
    out["stack"] = m["stack"].to_numpy(dtype=object)
    rank = out["kind"].map({k: i for i, k in enumerate(KINDS)}).to_numpy(dtype=np.int64)
    order = np.lexsort(
        (
            out["metric"].to_numpy(dtype=str),
            out["key"].to_numpy(dtype=str),
            rank,
            -np.abs(out["delta_ns"].to_numpy()),
        )
    )
    return out.iloc[order].reset_index(drop=True)


def _key_text(name: str, stack: tuple[Frame, ...]) -> str:
    frames = " < ".join(f"{fn} {file}:{line}" for fn, file, line in stack)
    if name and frames:
        return f"{name} @ {frames}"
    return name or frames


def _rows(
    kind: str,
    metric: str,
    names: Any,
    stacks: list[tuple[Frame, ...]],
    count: Any,
    total: Any,
    percentiles: dict[str, Any],
) -> pd.DataFrame:
    """A side's rows of one kind and metric."""
    n = len(stacks)
    return pd.DataFrame(
        {
            "kind": [kind] * n,
            "name": np.asarray(names, dtype=object),
            "stack": pd.Series(stacks, dtype=object).to_numpy(dtype=object) if n else [],
            "metric": [metric] * n,
            "count": np.asarray(count, dtype=np.int64),
            "total_ns": np.asarray(total, dtype=np.int64),
            **{
                f"{p}_ns": pd.array(percentiles[p], dtype="Int64")
                if p in percentiles
                else pd.array([None] * n, dtype="Int64")
                for p in _PERCENTILES
            },
        }
    )


def _percentiles(df: pd.DataFrame, prefix: str) -> dict[str, Any]:
    """The view's ``<prefix>p50_ns`` ... columns it has (a fleet-wide profile
    has none: percentiles of intervals are per trace)."""
    return {p: df[c] for p in _PERCENTILES if (c := f"{prefix}{p}_ns") in df.columns}


def _group_rows(df: pd.DataFrame) -> pd.DataFrame:
    names = df["name"].to_numpy(dtype=object)
    none: list[tuple[Frame, ...]] = [()] * len(df)
    return pd.concat(
        [
            _rows(
                "goroutine group",
                metric,
                names,
                none,
                df["count"],
                df[total],
                {} if prefix is None else _percentiles(df, prefix),
            )
            for metric, total, prefix in _GROUP_METRICS
        ],
        ignore_index=True,
    )


def _stack_rows(kind: str, df: pd.DataFrame) -> pd.DataFrame:
    stacks = [
        tuple((str(f["function"]), str(f["file"]), int(f["line"])) for f in frames)
        for frames in df["frames"]
    ]
    return _rows(
        f"{kind} stack",
        "delay",
        [""] * len(df),
        stacks,
        df["count"],
        df["delay_ns"],
        _percentiles(df, "delay_"),
    )


def _task_rows(df: pd.DataFrame) -> pd.DataFrame:
    # Only complete tasks have a duration (cmd/trace's histogram).
    return _rows(
        "task type",
        "duration",
        df["type"].to_numpy(dtype=object),
        [()] * len(df),
        df["complete"],
        df["total_ns"].fillna(0),
        _percentiles(df, ""),
    )


def _region_rows(df: pd.DataFrame) -> pd.DataFrame:
    stacks: list[tuple[Frame, ...]] = [
        ((str(fn), str(fi), int(li)),) if fn else ()
        for fn, fi, li in zip(df["function"], df["file"], df["line"])
    ]
    return _rows(
        "region type",
        "duration",
        df["type"].to_numpy(dtype=object),
        stacks,
        df["count"],
        df["total_ns"],
        _percentiles(df, ""),
    )


def _combine(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per key: rows sharing one are summed, their percentiles null."""
    g = rows.groupby(_KEY, sort=False, dropna=False)
    size = g["count"].transform("size").to_numpy()
    if (size == 1).all():
        return rows
    sums = g[["count", "total_ns"]].sum()
    first = g[[f"{p}_ns" for p in _PERCENTILES]].first()
    shared = g.size() > 1
    for p in _PERCENTILES:
        first.loc[shared, f"{p}_ns"] = pd.NA
    return pd.concat([sums, first], axis=1).reset_index()
