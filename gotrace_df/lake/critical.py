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

from gotrace_df.views.critical import TASK_ROW, breakdown_keys, critical_paths

if TYPE_CHECKING:
    from gotrace_df._trace import Trace
    from gotrace_df.lake.fleet import By

__all__ = ["CRITICAL_SCHEMA", "critical_path", "critical_path_times"]

#: The breakdown keys, in the order a grouping names them.
KEYS = ("category", "stack")

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
    type_of, types = pd.factorize(names)
    paths = critical_paths(trace)
    # Each segment's task as a row of the ended tasks (paths are of those only).
    order = np.argsort(ids, kind="stable")
    task = order[np.searchsorted(ids[order], paths["task_id"].to_numpy())]
    dur = paths["duration_ns"].to_numpy().astype(np.int64)
    cats = paths["category"].cat
    stacks = paths["stack"].cat
    cat_words = cats.categories.to_numpy(dtype=object)
    stack_words = stacks.categories.to_numpy(dtype=object)
    n_stacks = len(stack_words)
    # Integer codes throughout (2.7 million segments for 143 thousand tasks in
    # a 60 MiB trace); strings only for the counted rows. The per-task time
    # per (category, stack) is summed from the segments, the coarser ones
    # from it.
    key = cats.codes.to_numpy().astype(np.int64) * n_stacks + stacks.codes.to_numpy()
    fine_task, fine_key, fine = _per_task(task, key, dur, len(cat_words) * n_stacks)
    fine_cat, fine_stack = fine_key // n_stacks, fine_key % n_stacks
    durations = pd.Series(dur).groupby(task).sum().reindex(range(len(ids)), fill_value=0)
    whole = np.zeros(len(ids), dtype=np.int64)
    frames = [
        _counted(types, type_of, whole, durations.to_numpy(), TASK_ROW, {"category": TASK_ROW}),
        _counted(
            types,
            type_of[fine_task],
            fine_key,
            fine,
            "category+stack",
            {
                "category": np.repeat(cat_words, n_stacks),
                "stack": np.tile(stack_words, len(cat_words)),
            },
        ),
    ]
    for grouping, codes, words in (
        ("category", fine_cat, cat_words),
        ("stack", fine_stack, stack_words),
    ):
        task_of, code, per = _per_task(fine_task, codes, fine, len(words))
        frames.append(_counted(types, type_of[task_of], code, per, grouping, {grouping: words}))
    return pd.concat(frames, ignore_index=True)[list(CRITICAL_SCHEMA.names)]


def _per_task(task: Any, key: Any, time: Any, n_keys: int) -> tuple[Any, Any, Any]:
    """Per distinct (task, key) of the rows: the task, the key and the sum of
    their ``time`` (int64, exact)."""
    sums = pd.Series(time).groupby(task * n_keys + key, sort=False).sum()
    pair = sums.index.to_numpy()
    return pair // n_keys, pair % n_keys, sums.to_numpy().astype(np.int64)


def _counted(
    types: Any, type_of: Any, key: Any, per: Any, grouping: str, words: dict[str, Any]
) -> pd.DataFrame:
    """Per distinct (type, key, time) how many tasks: ``per[i]`` is a task of
    type ``types[type_of[i]]``'s time under ``key[i]``; ``words`` names the
    key's columns (arrays indexed by the key, or one word)."""
    df = pd.DataFrame({"type": type_of, "key": key, "duration_ns": per})
    counted = df.groupby(list(df.columns), sort=False).size().rename("tasks").reset_index()
    k = counted["key"].to_numpy()
    for col in KEYS:
        w = words.get(col, "")
        counted[col] = w if isinstance(w, str) else w[k]
    counted["type"] = np.asarray(types, dtype=object)[counted["type"].to_numpy()]
    counted["grouping"] = grouping
    return counted


def critical_path(
    con: Any, by_task_type: str, by: By, breakdown: str | Sequence[str] = "category"
) -> pd.DataFrame:
    """:func:`gotrace_df.critical_path` with ``by_task_type`` (its ``by`` is
    ``breakdown`` here) per trace, or over every task of the type in the
    fleet (``by=None``); rows ordered by total time, ties by key."""
    from gotrace_df.lake.fleet import distribution

    if by not in ("trace", None):
        raise ValueError(f'by must be "trace" or None, not {by!r}')
    keys = breakdown_keys(breakdown, name="breakdown")
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
