"""Where the traces are converted: this process, local worker processes, or a
Dask cluster. Each runner yields every source's :class:`Outcome` as it
completes; stopping early (an error, an interrupt) cancels what has not
started."""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from gotrace_df.lake.extras import require
from gotrace_df.lake.sources import Source
from gotrace_df.lake.worker import Outcome, convert_trace

__all__ = ["default_workers", "run_dask", "run_local"]


def default_workers() -> int:
    """One worker per core this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def run_local(
    sources: Sequence[Source], root: str, known: frozenset[str], workers: int
) -> Generator[Outcome, None, None]:
    """``workers`` processes; with one, this process (no pool to start)."""
    if workers == 1 or len(sources) <= 1:
        for source in sources:
            yield convert_trace(source, root, known)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(sources))) as pool:
        futures = [pool.submit(convert_trace, s, root, known) for s in sources]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def run_dask(
    sources: Sequence[Source], root: str, known: frozenset[str], client: Any
) -> Generator[Outcome, None, None]:
    """One task per trace on the cluster of ``client`` (a
    ``dask.distributed.Client``); the workers write the partitions, so
    ``root`` must be a directory they all see at the same path."""
    distributed = require("distributed")
    # Sent to every worker once, not with each task.
    [known_future] = client.scatter([known], broadcast=True)
    futures = client.map(convert_trace, sources, root=root, known=known_future, pure=False)
    try:
        for future in distributed.as_completed(futures):
            yield future.result()
    finally:
        client.cancel(futures)
