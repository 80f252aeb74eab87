"""The rows the fleet views aggregate, made per trace at conversion by the
single-trace views and stored beside the trace's tables.

Every number comes from the single-trace code (``go tool trace``'s semantics of
the newest Go release, the whole trace); the fleet views in
:mod:`gotrace_df.lake.fleet` only sum, count and take observed percentiles of
these rows in DuckDB, so one trace's slice of a fleet view is that trace's view.
Durations are stored once per distinct value with how many times it occurs
(a 20 MiB trace's 1.4 million waits are 33 thousand rows): the percentiles
stay exact, and the fleet views read about forty times fewer rows.

* ``goroutine_analysis_rows``, ``user_tasks_rows``, ``user_regions_rows``,
  ``summary_rows``: the rows of :func:`gotrace_df.goroutine_analysis`,
  :func:`gotrace_df.user_tasks`, :func:`gotrace_df.user_regions` and
  :func:`gotrace_df.summary` as they are, with each row's ``position``: a fleet
  view ``by="trace"`` reads them back, and ``by=None`` sums their counts and
  times;
* ``goroutine_waits``: the complete waits of the goroutines, which
  goroutine_analysis and :func:`gotrace_df.summary` take their latency
  percentiles over: ``position`` (the goroutine_analysis_rows row of the
  goroutine's group), ``state`` (``"sched_wait"``: Runnable, ``"block"``:
  Waiting), ``dur_ns`` and ``waits`` (how many lasted that long);
* ``blocking_stacks``: every kind's :func:`gotrace_df.blocking_profile`, one row
  per stack with its frames;
* ``task_durations``: the tasks (:func:`gotrace_df.user_task_details`) by
  ``type``, ``complete`` and ``duration_ns``, ``tasks`` of each;
* ``region_durations``: the regions (:func:`gotrace_df.user_region_stats`) by
  group (``position``, the user_regions_rows row of their type and frame) and
  ``duration_ns``, ``regions`` of each.

The counted rows name their group by its row in the trace's view rows, a
small integer: the fleet views group millions of them on integers and join
the few names, types and frames back at the end.

A fleet table is registered once: its schema in ``FLEET_SCHEMAS`` and the
function that makes its rows from a trace in ``ROW_BUILDERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from gotrace_df.lake.critical import CRITICAL_SCHEMA, critical_path_times

# The views package keeps its summariser and its percentiles to itself; this
# module is the one place outside it that reads them (a public per-wait view
# would replace these imports).
from gotrace_df.views._common import QUANTILES, semantics
from gotrace_df.views._summary import episodes_in, summarize

if TYPE_CHECKING:
    import pandas as pd

    from gotrace_df._trace import Trace

__all__ = [
    "FLEET_SCHEMAS",
    "FLEET_TABLES",
    "QUANTILES",
    "ROW_BUILDERS",
    "WAIT_STATES",
    "fleet_tables",
    "goroutine_waits",
]

#: The summariser's wait states (0: Runnable, 1: Waiting) as goroutine_analysis
#: names their percentile columns.
WAIT_STATES = ("sched_wait", "block")

GOROUTINE_TIMES = (
    "exec_ns",
    "total_ns",
    "sched_wait_ns",
    "syscall_ns",
    "syscall_block_ns",
    "block_ns",
    "unknown_ns",
)
_WAIT_STATS = tuple(f"{s}_{n}_ns" for s in WAIT_STATES for n in (*(n for n, _ in QUANTILES), "max"))
_DURATION_STATS = ("min_ns", *(f"{n}_ns" for n, _ in QUANTILES), "max_ns")
_DELAYS = ("delay_p50_ns", "delay_p90_ns", "delay_p99_ns", "delay_max_ns")
_FRAME = pa.struct(
    [("pc", pa.uint64()), ("function", pa.string()), ("file", pa.string()), ("line", pa.int64())]
)


def _ints(*names: str) -> list[tuple[str, pa.DataType]]:
    return [(c, pa.int64()) for c in names]


FLEET_SCHEMAS: dict[str, pa.Schema] = {
    "goroutine_analysis_rows": pa.schema(
        [("position", pa.int64()), ("name", pa.string())]
        + _ints("count", "exec_ns")
        + [("share", pa.float64())]
        + _ints(*GOROUTINE_TIMES[1:], *_WAIT_STATS)
    ),
    "goroutine_waits": pa.schema(
        [("position", pa.int64()), ("state", pa.string())] + _ints("dur_ns", "waits")
    ),
    "blocking_stacks": pa.schema(
        [("kind", pa.string())]
        + _ints("stack_id", "count", "delay_ns", *_DELAYS)
        + [("function", pa.string()), ("file", pa.string()), ("line", pa.int64())]
        + [("frames", pa.list_(_FRAME))]
    ),
    "user_tasks_rows": pa.schema(
        [("position", pa.int64()), ("type", pa.string())]
        + _ints("count", "complete", "total_ns", *_DURATION_STATS)
    ),
    "task_durations": pa.schema(
        [("type", pa.string()), ("complete", pa.bool_())] + _ints("duration_ns", "tasks")
    ),
    "user_regions_rows": pa.schema(
        [("position", pa.int64()), ("type", pa.string()), ("pc", pa.uint64())]
        + [("function", pa.string()), ("file", pa.string()), ("line", pa.int64())]
        + _ints("count", "total_ns", *_DURATION_STATS)
    ),
    "region_durations": pa.schema(_ints("position", "duration_ns", "regions")),
    "summary_rows": pa.schema(
        [("position", pa.int64()), ("section", pa.string()), ("metric", pa.string())]
        + [("value", pa.int64()), ("unit", pa.string())]
    ),
    "critical_path_times": CRITICAL_SCHEMA,
}
#: The fleet tables, in the order they are written.
FLEET_TABLES = tuple(FLEET_SCHEMAS)


def _blocking_stacks(trace: Trace) -> pa.Table:
    import gotrace_df as gt
    from gotrace_df.views.profiles import PROFILE_KINDS

    return pa.concat_tables(
        [
            _table(gt.blocking_profile(trace, kind).assign(kind=kind), "blocking_stacks")
            for kind in PROFILE_KINDS
        ]
    )


def _view_rows(view: str, table: str) -> Callable[[Trace], pa.Table]:
    """The rows of the single-trace view ``gotrace_df.<view>`` as fleet table
    ``table``."""

    def rows(trace: Trace) -> pa.Table:
        import gotrace_df as gt

        df = getattr(gt, view)(trace)
        return _table(df.assign(position=range(len(df))), table)

    return rows


def _durations(view: str, table: str) -> Callable[[Trace], pa.Table]:
    """The rows of ``gotrace_df.<view>`` counted as fleet table ``table``: the
    distinct values of all its columns but the last, which counts how many
    rows have them."""

    def rows(trace: Trace) -> pa.Table:
        import gotrace_df as gt

        *keys, count = FLEET_SCHEMAS[table].names
        df = getattr(gt, view)(trace)[keys]
        # Categories become their strings: the same type in every trace's file.
        df = df.astype({c: object for c in keys if df[c].dtype == "category"})
        return _counted(pa.Table.from_pandas(df, preserve_index=False), table)

    return rows


def fleet_tables(trace: Trace) -> dict[str, pa.Table]:
    """Every fleet table of one trace (``FLEET_SCHEMAS``)."""
    return {name: ROW_BUILDERS[name](trace) for name in FLEET_SCHEMAS}


def _table(df: pd.DataFrame, table: str) -> pa.Table:
    schema = FLEET_SCHEMAS[table]
    return pa.Table.from_pandas(df[list(schema.names)], schema=schema, preserve_index=False)


def _counted(rows: pa.Table, table: str) -> pa.Table:
    """Fleet table ``table`` of ``rows``, which have its columns but the last:
    each distinct row once, the last column how many times it occurs."""
    schema = FLEET_SCHEMAS[table]
    *keys, count = schema.names
    rows = rows.select(keys).cast(pa.schema([schema.field(k) for k in keys]))
    counted = rows.group_by(keys, use_threads=False).aggregate([([], "count_all")])
    return counted.rename_columns([*keys, count]).cast(schema)


def goroutine_waits(trace: Trace) -> pd.DataFrame:
    """Each complete Runnable or Waiting stay of a goroutine summary left in the
    map, with the goroutine's group: the waits goroutine_analysis' and summary's
    percentiles are taken over."""
    import pandas as pd

    name, state, dur = _waits(trace)
    return pd.DataFrame(
        {
            "name": name.dictionary.take(name.indices).to_numpy(zero_copy_only=False),
            "state": state.dictionary.take(state.indices).to_numpy(zero_copy_only=False),
            "dur_ns": dur,
        }
    )


def _waits(trace: Trace) -> tuple[pa.DictionaryArray, pa.DictionaryArray, Any]:
    """goroutine_waits' columns: names and states as codes into their values."""
    import pandas as pd

    s = summarize(trace, semantics(None))
    row, state, dur = episodes_in(s, None)
    kept = row >= 0
    codes, names = pd.factorize(s.goroutines["name"].to_numpy(dtype=object))
    return (
        pa.DictionaryArray.from_arrays(codes[row[kept]], pa.array(names, pa.string())),
        pa.DictionaryArray.from_arrays(
            np.asarray(state, dtype=np.int8)[kept], pa.array(WAIT_STATES, pa.string())
        ),
        np.asarray(dur, dtype=np.int64)[kept],
    )


def _goroutine_waits(trace: Trace) -> pa.Table:
    # Counted on codes: no string per wait.
    import gotrace_df as gt

    name, state, dur = _waits(trace)
    names = name.dictionary.to_pandas().to_frame("name")
    at = _positions(gt.goroutine_analysis(trace), names, ["name"])
    codes = pa.table({"position": at[name.indices], "state": state.indices, "dur_ns": dur})
    counted = codes.group_by(["position", "state", "dur_ns"], use_threads=False).aggregate(
        [([], "count_all")]
    )
    return pa.table(
        [
            counted["position"],
            state.dictionary.take(counted["state"]),
            counted["dur_ns"],
            counted["count_all"],
        ],
        schema=FLEET_SCHEMAS["goroutine_waits"],
    )


def _region_durations(trace: Trace) -> pa.Table:
    import gotrace_df as gt

    regions = gt.user_region_stats(trace)
    at = _positions(gt.user_regions(trace), regions, ["type", "pc"])
    rows = pa.table({"position": at, "duration_ns": regions["duration_ns"].to_numpy(np.int64)})
    return _counted(rows, "region_durations")


def _positions(view: pd.DataFrame, rows: pd.DataFrame, keys: list[str]) -> Any:
    """For each of ``rows``, the row of ``view`` with the same ``keys``."""
    import pandas as pd

    # Looked up once per distinct key, not per row.
    code = np.zeros(len(rows), dtype=np.int64)
    for k in keys:
        c, uniques = pd.factorize(rows[k].to_numpy(dtype=object), use_na_sentinel=False)
        code = code * len(uniques) + c
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    index = pd.MultiIndex.from_frame(view[keys].astype(object))
    distinct = rows[keys].iloc[first].astype(object)
    at = index.get_indexer(pd.MultiIndex.from_frame(distinct))
    if (at < 0).any():
        raise AssertionError(f"a group of {keys} missing from its view's rows")
    return at.astype(np.int64)[inverse]


#: How each fleet table of ``FLEET_SCHEMAS`` is made from one trace.
ROW_BUILDERS: dict[str, Callable[[Trace], pa.Table]] = {
    "goroutine_analysis_rows": _view_rows("goroutine_analysis", "goroutine_analysis_rows"),
    "goroutine_waits": _goroutine_waits,
    "blocking_stacks": _blocking_stacks,
    "user_tasks_rows": _view_rows("user_tasks", "user_tasks_rows"),
    "task_durations": _durations("user_task_details", "task_durations"),
    "user_regions_rows": _view_rows("user_regions", "user_regions_rows"),
    "region_durations": _region_durations,
    "summary_rows": _view_rows("summary", "summary_rows"),
    "critical_path_times": lambda trace: _table(critical_path_times(trace), "critical_path_times"),
}
