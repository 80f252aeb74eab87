"""The rows the fleet views aggregate, made per trace at conversion by the
single-trace views and stored beside the trace's tables.

Every number comes from the single-trace code (``go tool trace``'s semantics of
the newest Go release, the whole trace); the fleet views in
:mod:`gotrace_df.lake.fleet` only sum, count and take observed percentiles of
these rows in DuckDB, so one trace's slice of a fleet view is that trace's view.
Durations are stored once per distinct value with how many times it occurs
(a 20 MiB trace's 1.4 million waits are 33 thousand rows): the percentiles
stay exact, and the fleet views read about forty times fewer rows.

* ``goroutine_groups``: :func:`gotrace_df.goroutine_analysis`' groups (start
  function ``name``), their goroutine count and time sums;
* ``goroutine_waits``: the complete waits of the goroutines, which
  goroutine_analysis and :func:`gotrace_df.summary` take their latency
  percentiles over: ``name``, ``state`` (``"sched_wait"``: Runnable,
  ``"block"``: Waiting), ``dur_ns`` and ``waits`` (how many lasted that long);
* ``blocking_stacks``: every kind's :func:`gotrace_df.blocking_profile`, one row
  per stack with its frames;
* ``task_durations``: the tasks (:func:`gotrace_df.user_task_details`) by
  ``type``, ``complete`` and ``duration_ns``, ``tasks`` of each;
* ``region_durations``: the regions (:func:`gotrace_df.user_region_stats`) by
  type, frame and ``duration_ns``, ``regions`` of each;
* ``summary_rows``: :func:`gotrace_df.summary`, with each row's ``position``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from gotrace_df.lake.critical import CRITICAL_SCHEMA, critical_path_times

# The views package keeps its summariser and its percentiles to itself; this
# module is the one place outside it that reads them (a public per-wait view
# would replace these imports).
from gotrace_df.views._common import QUANTILES, semantics
from gotrace_df.views._summary import episodes_in, summarize

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["FLEET_SCHEMAS", "FLEET_TABLES", "QUANTILES", "WAIT_STATES", "fleet_tables"]

#: The summariser's wait states (0: Runnable, 1: Waiting) as goroutine_analysis
#: names their percentile columns.
WAIT_STATES = ("sched_wait", "block")

_GOROUTINE_TIMES = (
    "exec_ns",
    "total_ns",
    "sched_wait_ns",
    "syscall_ns",
    "syscall_block_ns",
    "block_ns",
    "unknown_ns",
)
_DELAYS = ("delay_p50_ns", "delay_p90_ns", "delay_p99_ns", "delay_max_ns")
_FRAME = pa.struct(
    [("pc", pa.uint64()), ("function", pa.string()), ("file", pa.string()), ("line", pa.int64())]
)

FLEET_SCHEMAS: dict[str, pa.Schema] = {
    "goroutine_groups": pa.schema(
        [("name", pa.string()), ("count", pa.int64())] + [(c, pa.int64()) for c in _GOROUTINE_TIMES]
    ),
    "goroutine_waits": pa.schema(
        [("name", pa.string()), ("state", pa.string()), ("dur_ns", pa.int64())]
        + [("waits", pa.int64())]
    ),
    "blocking_stacks": pa.schema(
        [("kind", pa.string()), ("stack_id", pa.int64()), ("count", pa.int64())]
        + [("delay_ns", pa.int64())]
        + [(c, pa.int64()) for c in _DELAYS]
        + [("function", pa.string()), ("file", pa.string()), ("line", pa.int64())]
        + [("frames", pa.list_(_FRAME))]
    ),
    "task_durations": pa.schema(
        [("type", pa.string()), ("complete", pa.bool_()), ("duration_ns", pa.int64())]
        + [("tasks", pa.int64())]
    ),
    "region_durations": pa.schema(
        [("type", pa.string()), ("pc", pa.uint64()), ("function", pa.string())]
        + [("file", pa.string()), ("line", pa.int64()), ("duration_ns", pa.int64())]
        + [("regions", pa.int64())]
    ),
    "summary_rows": pa.schema(
        [("position", pa.int64()), ("section", pa.string()), ("metric", pa.string())]
        + [("value", pa.int64()), ("unit", pa.string())]
    ),
    "critical_path_times": CRITICAL_SCHEMA,
}
#: The fleet tables, in the order they are written.
FLEET_TABLES = tuple(FLEET_SCHEMAS)


def fleet_tables(trace: Trace) -> dict[str, pa.Table]:
    """Every fleet table of one trace (``FLEET_SCHEMAS``)."""
    import gotrace_df as gt
    from gotrace_df.views.profiles import PROFILE_KINDS

    profiles = []
    for kind in PROFILE_KINDS:
        p = gt.blocking_profile(trace, kind)
        profiles.append(p.assign(kind=kind))
    summary = gt.summary(trace)
    summary.insert(0, "position", range(len(summary)))
    frames: dict[str, Any] = {
        "goroutine_groups": gt.goroutine_analysis(trace),
        "goroutine_waits": _counted(goroutine_waits(trace), "goroutine_waits"),
        "blocking_stacks": _concat(profiles),
        "task_durations": _counted(gt.user_task_details(trace), "task_durations"),
        "region_durations": _counted(gt.user_region_stats(trace), "region_durations"),
        "summary_rows": summary,
        "critical_path_times": critical_path_times(trace),
    }
    out = {}
    for name, schema in FLEET_SCHEMAS.items():
        df = frames[name][list(schema.names)]
        out[name] = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    return out


def goroutine_waits(trace: Trace) -> Any:
    """Each complete Runnable or Waiting stay of a goroutine summary left in the
    map, with the goroutine's group: the waits goroutine_analysis' and summary's
    percentiles are taken over."""
    import numpy as np
    import pandas as pd

    s = summarize(trace, semantics(None))
    row, state, dur = episodes_in(s, None)
    kept = row >= 0
    row, state, dur = row[kept], state[kept], dur[kept]
    names = s.goroutines["name"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "name": names[row],
            "state": np.asarray(WAIT_STATES, dtype=object)[np.asarray(state, dtype=np.int64)],
            "dur_ns": np.asarray(dur, dtype=np.int64),
        }
    )


def _counted(df: Any, table: str) -> Any:
    """The rows of fleet table ``table`` from ``df``: the distinct values of all
    its columns but the last, which counts how many rows of ``df`` have them."""
    *keys, count = FLEET_SCHEMAS[table].names
    # Categories become their strings: the same type in every trace's file.
    df = df[keys].astype({c: object for c in keys if df[c].dtype == "category"})
    return df.groupby(keys, sort=False, dropna=False).size().rename(count).reset_index()


def _concat(frames: list[Any]) -> Any:
    import pandas as pd

    nonempty = [f for f in frames if len(f)]
    return pd.concat(nonempty, ignore_index=True) if nonempty else frames[0]
