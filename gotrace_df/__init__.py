"""gotrace_df: Go execution traces as Arrow tables and pandas DataFrames.

>>> import gotrace_df as gt
>>> tr = gt.read_trace(gt.example_trace())
>>> tr.events.num_rows > 0
True

Every table's columns are documented in :mod:`gotrace_df.frames`
(``print(gt.describe("events"))``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gotrace_df._core import __version__
from gotrace_df._errors import DownloadTimeout, TraceError, TraceWarning
from gotrace_df._memory import release_memory
from gotrace_df._trace import Trace
from gotrace_df.frames import SCHEMAS, TABLES, describe, schema
from gotrace_df.io import (
    DEFAULT_MAX_BYTES,
    example_trace,
    get_threads,
    read_parquet,
    read_trace,
    set_threads,
)

if TYPE_CHECKING:  # the names __getattr__ below provides
    from gotrace_df.export.convert import convert
    from gotrace_df.pprof import read_pprof, to_pprof
    from gotrace_df.views import (
        blocking_profile,
        critical_path,
        critical_path_breakdown,
        critical_paths,
        goroutine_analysis,
        goroutine_stats,
        latency_histogram,
        mmu_windows,
        mmu_worst_windows,
        mutator_utilization,
        plot_blocking_profile,
        plot_goroutine_analysis,
        plot_goroutine_stats,
        plot_latency_histogram,
        plot_mmu,
        plot_wakeups,
        user_region_histogram,
        user_region_stats,
        user_regions,
        user_task_details,
        user_task_events,
        user_task_histogram,
        user_tasks,
    )
    from gotrace_df.views.diff import diff
    from gotrace_df.views.mmu import mmu
    from gotrace_df.views.prefetch import prefetch
    from gotrace_df.views.summary import summary
    from gotrace_df.views.wakeups import wakeup_events, wakeups

# The views and pprof need pandas: importing them on first use keeps
# `import gotrace_df` and read_trace free of pandas (40 MB and most of the
# import time).
_LAZY = {
    "convert": "gotrace_df.export.convert",
    "read_pprof": "gotrace_df.pprof",
    "to_pprof": "gotrace_df.pprof",
    "blocking_profile": "gotrace_df.views",
    "critical_path": "gotrace_df.views",
    "critical_path_breakdown": "gotrace_df.views",
    "critical_paths": "gotrace_df.views",
    "diff": "gotrace_df.views",
    "goroutine_analysis": "gotrace_df.views",
    "goroutine_stats": "gotrace_df.views",
    "latency_histogram": "gotrace_df.views",
    "mmu": "gotrace_df.views",
    "mmu_windows": "gotrace_df.views",
    "mmu_worst_windows": "gotrace_df.views",
    "mutator_utilization": "gotrace_df.views",
    "plot_blocking_profile": "gotrace_df.views",
    "plot_goroutine_analysis": "gotrace_df.views",
    "plot_goroutine_stats": "gotrace_df.views",
    "plot_latency_histogram": "gotrace_df.views",
    "plot_mmu": "gotrace_df.views",
    "plot_wakeups": "gotrace_df.views",
    "prefetch": "gotrace_df.views",
    "summary": "gotrace_df.views",
    "user_region_histogram": "gotrace_df.views",
    "user_region_stats": "gotrace_df.views",
    "user_regions": "gotrace_df.views",
    "user_task_details": "gotrace_df.views",
    "user_task_events": "gotrace_df.views",
    "user_task_histogram": "gotrace_df.views",
    "user_tasks": "gotrace_df.views",
    "wakeup_events": "gotrace_df.views",
    "wakeups": "gotrace_df.views",
}


#: Submodules imported on first use: their extras (duckdb, dask) load only then.
_SUBMODULES = {"lake"}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"gotrace_df.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gotrace_df' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES})


__all__ = [
    "blocking_profile",
    "convert",
    "critical_path",
    "critical_path_breakdown",
    "critical_paths",
    "diff",
    "lake",
    "mmu",
    "mmu_windows",
    "mmu_worst_windows",
    "mutator_utilization",
    "plot_blocking_profile",
    "plot_mmu",
    "plot_wakeups",
    "read_pprof",
    "to_pprof",
    "SCHEMAS",
    "TABLES",
    "Trace",
    "DEFAULT_MAX_BYTES",
    "DownloadTimeout",
    "TraceError",
    "TraceWarning",
    "__version__",
    "describe",
    "example_trace",
    "get_threads",
    "goroutine_analysis",
    "goroutine_stats",
    "latency_histogram",
    "plot_goroutine_analysis",
    "plot_goroutine_stats",
    "plot_latency_histogram",
    "prefetch",
    "read_parquet",
    "read_trace",
    "release_memory",
    "schema",
    "set_threads",
    "summary",
    "user_region_histogram",
    "user_region_stats",
    "user_regions",
    "user_task_details",
    "user_task_events",
    "user_task_histogram",
    "user_tasks",
    "wakeup_events",
    "wakeups",
]
