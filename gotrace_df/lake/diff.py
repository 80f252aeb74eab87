"""Before and after for lakes: a lake's fleet views (``by=None``) as one side
of :func:`gotrace_df.diff`, so a fleet diffs against a fleet, or a trace.

A lake side holds, per key, the sums over all its traces and the fleet
views' percentiles over all their waits and durations at once; a fleet-wide
blocking profile has no per-interval percentiles, so its stacks' are null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gotrace_df.views.diff import Side
from gotrace_df.views.profiles import PROFILE_KINDS

if TYPE_CHECKING:
    from gotrace_df.lake.lake import Lake

__all__ = ["lake_side"]


def lake_side(lake: Lake) -> Side:
    """The :class:`~gotrace_df.views.diff.Side` of a lake: its fleet views
    (what :meth:`Lake.diff_side` gives :func:`gotrace_df.diff`).

    Examples
    --------
    A lake of one trace against that trace: no change.

    >>> import tempfile, gotrace_df as gt
    >>> from gotrace_df import lake
    >>> before = tempfile.mkdtemp() + "/before"
    >>> _ = lake.convert([str(gt.example_trace())], before, workers=1, progress=False)
    >>> int(gt.diff(lake.open(before), gt.example_trace())["delta_ns"].abs().sum())
    0
    """
    return Side.from_views(
        str(lake.path),
        goroutines=lake.goroutine_analysis(by=None),
        profiles={k: lake.blocking_profile(k, by=None) for k in PROFILE_KINDS},
        tasks=lake.user_tasks(by=None),
        regions=lake.user_regions(by=None),
    )
