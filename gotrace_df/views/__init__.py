"""The views of ``go tool trace`` as pandas DataFrames: pure functions, trace in,
DataFrame out (one module per view)."""

from __future__ import annotations

from gotrace_df.views._common import histogram as latency_histogram
from gotrace_df.views.critical import critical_path, critical_path_breakdown, critical_paths
from gotrace_df.views.goroutines import goroutine_analysis, goroutine_stats
from gotrace_df.views.mmu import (
    mmu,
    mmu_windows,
    mmu_worst_windows,
    mutator_utilization,
    plot_mmu,
)
from gotrace_df.views.plots import (
    plot_goroutine_analysis,
    plot_goroutine_stats,
    plot_latency_histogram,
    plot_wakeups,
)
from gotrace_df.views.prefetch import prefetch
from gotrace_df.views.profiles import blocking_profile, plot_blocking_profile
from gotrace_df.views.regions import user_region_histogram, user_region_stats, user_regions
from gotrace_df.views.summary import summary
from gotrace_df.views.tasks import (
    user_task_details,
    user_task_events,
    user_task_histogram,
    user_tasks,
)
from gotrace_df.views.wakeups import wakeup_events, wakeups

__all__ = [
    "blocking_profile",
    "critical_path",
    "critical_path_breakdown",
    "critical_paths",
    "mmu",
    "mmu_windows",
    "mmu_worst_windows",
    "mutator_utilization",
    "plot_blocking_profile",
    "plot_mmu",
    "goroutine_analysis",
    "goroutine_stats",
    "latency_histogram",
    "plot_goroutine_analysis",
    "plot_goroutine_stats",
    "plot_latency_histogram",
    "plot_wakeups",
    "prefetch",
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
