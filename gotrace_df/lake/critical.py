"""Critical paths across a lake: :func:`gotrace_df.critical_path` with
``by_task_type`` over every trace, in DuckDB, out of core.

Conversion stores per trace ``critical_path_times`` (:func:`critical_path_times`):
for every task type and every grouping of the breakdown (``"category"``,
``"stack"``, ``"category+stack"``), each distinct per-task time on the path
under one key with how many tasks spent it (``tasks``), and under grouping
``"(task)"`` the task durations. A task whose path never touches a key spent
0 there; those zeros are not stored but added in SQL from the number of tasks
of the type, since a key of one trace is 0 for every task of the others. The
percentiles are then those of :func:`gotrace_df.lake.fleet.distribution`,
which are the single-trace view's (``inverted_cdf``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df.views.critical import TASK_ROW, critical_paths

if TYPE_CHECKING:
    from gotrace_df._trace import Trace
    from gotrace_df.lake.fleet import By

__all__ = ["CRITICAL_SCHEMA", "critical_path", "critical_path_times"]

#: The breakdown keys, in the order a grouping names them.
KEYS = ("category", "stack")
#: The groupings stored: each non-empty set of KEYS.
GROUPINGS = ("category", "stack", "category+stack")

CRITICAL_SCHEMA = pa.schema(
    [("type", pa.string()), ("grouping", pa.string()), ("category", pa.string())]
    + [("stack", pa.string()), ("duration_ns", pa.int64()), ("tasks", pa.int64())]
)


def critical_path_times(trace: Trace) -> pd.DataFrame:
    """The rows of ``critical_path_times`` for one trace (``CRITICAL_SCHEMA``):
    per task type, grouping, key and per-task time, how many ended tasks
    spent that time there; keys a grouping leaves out are ``""``."""
    t = trace.columns("tasks", ["task_id", "name", "end"])
    ended = t.filter(pc.is_valid(t["end"]))
    ids = ended["task_id"].to_numpy().astype(np.int64)
    names = ended["name"].cast(pa.string()).fill_null("").to_numpy(zero_copy_only=False)
    paths = critical_paths(trace)
    # Each segment's task as a row of the ended tasks (paths are of those only).
    order = np.argsort(ids, kind="stable")
    task = order[np.searchsorted(ids[order], paths["task_id"].to_numpy())]
    dur = paths["duration_ns"].to_numpy().astype(np.int64)
    frames = [_counted(names, np.arange(len(ids)), np.bincount(task, dur, len(ids)), TASK_ROW, {})]
    for grouping in GROUPINGS:
        keys = grouping.split("+")
        codes = [paths[k].cat.codes.to_numpy().astype(np.int64) for k in keys]
        words = [paths[k].cat.categories.to_numpy(dtype=object) for k in keys]
        # One code per (task, key): the per-task time under each key it has.
        flat, first = np.unique(np.stack([task, *codes]), axis=1, return_inverse=True)
        per = np.bincount(first.ravel(), dur, flat.shape[1]).astype(np.int64)
        labels = {k: w[c] for k, w, c in zip(keys, words, flat[1:])}
        frames.append(_counted(names, flat[0], per, grouping, labels))
    return pd.concat(frames, ignore_index=True)[list(CRITICAL_SCHEMA.names)]


def _counted(
    names: Any, task: Any, per: Any, grouping: str, labels: dict[str, Any]
) -> pd.DataFrame:
    """Per (type, key, time) how many tasks: ``per[i]`` is task ``task[i]``'s
    time under key ``labels[.][i]``."""
    df = pd.DataFrame(
        {
            "type": names[task],
            "grouping": grouping,
            "category": labels.get("category", TASK_ROW if grouping == TASK_ROW else ""),
            "stack": labels.get("stack", ""),
            "duration_ns": np.asarray(per, dtype=np.int64),
        }
    )
    cols = list(df.columns)
    return df.groupby(cols, sort=False).size().rename("tasks").reset_index()


def breakdown_keys(breakdown: str | Sequence[str]) -> list[str]:
    """The key columns of ``breakdown``, as the single-trace view's ``by``."""
    keys = [breakdown] if isinstance(breakdown, str) else list(breakdown)
    if not keys or any(k not in KEYS for k in keys) or len(set(keys)) != len(keys):
        raise ValueError(
            f"breakdown must be 'category', 'stack' or ('category', 'stack') (got {breakdown!r})"
        )
    return keys


def critical_path(
    con: Any, by_task_type: str, by: By, breakdown: str | Sequence[str] = "category"
) -> pd.DataFrame:
    """:func:`gotrace_df.critical_path` with ``by_task_type`` (its ``by`` is
    ``breakdown`` here) per trace, or over every task of the type in the
    fleet (``by=None``); rows ordered by total time, ties by key."""
    from gotrace_df.lake.fleet import distribution

    if by not in ("trace", None):
        raise ValueError(f'by must be "trace" or None, not {by!r}')
    keys = breakdown_keys(breakdown)
    grouping = "+".join(k for k in KEYS if k in keys)
    part = ["trace_id"] if by == "trace" else []
    p = "".join(f"{c}, " for c in part)
    on = "USING (trace_id)" if part else "ON TRUE"
    groups = [*part, "grouping", *keys]
    g = ", ".join(groups)
    name = "'" + by_task_type.replace("'", "''") + "'"
    stats = ("p50", "p90", "p99", "max")
    query = f"""
        WITH t AS (
            SELECT {p}grouping, category, stack, duration_ns, tasks FROM critical_path_times
            WHERE type = {name} AND grouping IN ('{TASK_ROW}', '{grouping}')
        ),
        n AS (SELECT {p}sum(tasks) AS n FROM t WHERE grouping = '{TASK_ROW}' {_group(part)}),
        seen AS (SELECT {g}, sum(tasks) AS seen FROM t GROUP BY {g}),
        v AS (
            SELECT {g}, duration_ns, tasks FROM t
            UNION ALL
            SELECT {", ".join(f"seen.{c}" for c in groups)}, 0, n.n - seen.seen
            FROM seen JOIN n {on} WHERE n.n > seen.seen
        ),
        d AS ({distribution("v", groups, "duration_ns", "tasks")}),
        busy AS (
            SELECT {g}, sum(tasks) FILTER (WHERE duration_ns > 0) AS tasks FROM v GROUP BY {g}
        )
        SELECT {p}{", ".join(keys)}, coalesce(busy.tasks, 0)::BIGINT AS tasks, total_ns,
            total_ns::DOUBLE / count::DOUBLE AS mean_ns,
            {", ".join(f"{s}_ns" for s in stats)},
            CASE WHEN whole > 0 THEN total_ns::DOUBLE / whole::DOUBLE ELSE 0.0 END AS share
        FROM (
            SELECT *, sum(total_ns) FILTER (WHERE grouping = '{TASK_ROW}')
                OVER ({"PARTITION BY trace_id" if part else ""}) AS whole
            FROM d
        ) JOIN busy USING ({g})
        ORDER BY {p}grouping <> '{TASK_ROW}', total_ns DESC, {", ".join(keys)}
    """
    table: pa.Table = con.sql(query).to_arrow_table()
    if not table.num_rows:
        raise ValueError(f"no ended task of type {by_task_type!r} in the lake")
    df: pd.DataFrame = table.to_pandas()
    for c in ("tasks", "total_ns", *(f"{s}_ns" for s in stats)):
        df[c] = df[c].astype(np.int64)
    for k in keys:
        df[k] = df[k].astype("category")
    return df


def _group(cols: list[str]) -> str:
    return f"GROUP BY {', '.join(cols)}" if cols else ""
