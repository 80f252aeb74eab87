"""Computing, on a thread of its own, the passes over the events that the views
build on, while the caller goes on with something else (a first view, the
timeline): every view is pure and its pass is cached per trace, so only the
waiting changes, never a number."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from gotrace_df.views._common import semantics
from gotrace_df.views._summary import summarize
from gotrace_df.views.mmu import mmu_windows
from gotrace_df.views.profiles import profile_pass

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["prefetch"]


def prefetch(trace: Trace, *, go_version: str | None = None) -> threading.Thread:
    """Starts computing the passes the views share, in the background.

    The core's passes over the events run on a new thread, one after the
    other: cmd/trace's goroutine summary (goroutine analysis, tasks,
    regions), the blocking profiles' intervals (all four profiles), the
    utilisation behind the MMU curve (default flags). The core releases the
    GIL while it works, so a view computed meanwhile on the calling thread
    runs alongside; a view that needs a pass still in progress waits for it
    instead of computing it again. On two cores, computing every view right
    after ``prefetch`` takes about a tenth less time than computing them in
    turn (``bench/RESULTS.md``). The passes never overlap one another, but the
    profiles' pass does overlap the view computed from the summary: on the
    bench trace the peak is up to about 90 MB (7%) higher than in turn.

    A pass that fails is not kept: the view that needs it computes it again
    and raises its :class:`gotrace_df.TraceError` itself.

    Parameters
    ----------
    trace
        A parsed trace.
    go_version
        The ``go tool trace`` release the views will be asked to mimic
        (their ``go_version``); default the newest.

    Returns
    -------
    threading.Thread
        The (daemon) thread, already started: ``join()`` it to wait.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> t = gt.prefetch(tr)
    >>> groups = gt.goroutine_analysis(tr)  # meanwhile, or waits for the summary
    >>> t.join()
    >>> int(groups["count"].sum()) == len(gt.goroutine_stats(tr))
    True
    """
    sem = semantics(go_version)

    def run() -> None:
        try:
            summarize(trace, sem)
            # The profiles next: the first view after goroutine_analysis
            # needs them (the MMU pass is the lightest and needed last).
            profile_pass(trace, sem)
            mmu_windows(trace, go_version=go_version)
        except Exception:  # noqa: BLE001, S110
            # Not kept (see once): the view that needs it raises it itself.
            pass

    thread = threading.Thread(target=run, name="gotrace-prefetch", daemon=True)
    thread.start()
    return thread
