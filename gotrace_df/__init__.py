"""gotrace_df: Go execution traces as Arrow tables and pandas DataFrames.

>>> import gotrace_df as gt
>>> tr = gt.read_trace(gt.example_trace())
>>> tr.events.num_rows > 0
True

Every table's columns are documented in :mod:`gotrace_df.frames`
(``print(gt.describe("events"))``).
"""

from __future__ import annotations

from gotrace_df._core import __version__
from gotrace_df._errors import TraceError, TraceWarning
from gotrace_df._trace import Trace
from gotrace_df.frames import SCHEMAS, TABLES, describe, schema
from gotrace_df.io import example_trace, read_parquet, read_trace
from gotrace_df.pprof import read_pprof, to_pprof
from gotrace_df.views import (
    blocking_profile,
    goroutine_analysis,
    goroutine_stats,
    latency_histogram,
    mmu,
    mmu_windows,
    mmu_worst_windows,
    mutator_utilization,
    plot_blocking_profile,
    plot_goroutine_analysis,
    plot_goroutine_stats,
    plot_latency_histogram,
    plot_mmu,
    summary,
    user_region_histogram,
    user_region_stats,
    user_regions,
    user_task_details,
    user_task_events,
    user_task_histogram,
    user_tasks,
)

__all__ = [
    "blocking_profile",
    "mmu",
    "mmu_windows",
    "mmu_worst_windows",
    "mutator_utilization",
    "plot_blocking_profile",
    "plot_mmu",
    "read_pprof",
    "to_pprof",
    "SCHEMAS",
    "TABLES",
    "Trace",
    "TraceError",
    "TraceWarning",
    "__version__",
    "describe",
    "example_trace",
    "goroutine_analysis",
    "goroutine_stats",
    "latency_histogram",
    "plot_goroutine_analysis",
    "plot_goroutine_stats",
    "plot_latency_histogram",
    "read_parquet",
    "read_trace",
    "schema",
    "summary",
    "user_region_histogram",
    "user_region_stats",
    "user_regions",
    "user_task_details",
    "user_task_events",
    "user_task_histogram",
    "user_tasks",
]
