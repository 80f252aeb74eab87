"""Converting many traces into a lake: which to convert, where they run, and
committing the manifest as they finish."""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from gotrace_df._progress import progress_bar
from gotrace_df.lake import manifest
from gotrace_df.lake.layout import leftovers
from gotrace_df.lake.runners import default_workers, run_dask, run_local
from gotrace_df.lake.sources import SourceSpec, expand

if TYPE_CHECKING:
    import pandas as pd

    from gotrace_df.lake.worker import Outcome

__all__ = ["COMMIT_EVERY", "convert"]

#: The manifest is committed after this many new rows (and at the end), so an
#: interrupted run keeps what it finished at the cost of rewriting a small file.
COMMIT_EVERY = 32


def convert(
    sources: SourceSpec,
    lake: str | os.PathLike[str],
    *,
    client: Any = None,
    workers: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Convert traces into the lake directory ``lake`` (created if needed).

    Each trace becomes the partition ``lake/trace_id=<id>/``, the tables and
    metadata :meth:`Trace.to_parquet` writes, published in one rename; its row
    goes into ``lake/_manifest.parquet``. ``trace_id`` is a hash of the
    trace's bytes: a trace whose id the manifest already has is skipped, so
    running again on the same sources (or more of them) converts only what is
    new. A trace that cannot be read is recorded with status ``error`` and its
    TraceError, one with a damaged end with status ``damaged-tail``; the others
    go on. Interrupted (even killed), a run keeps the traces whose rows it
    committed; the next one converts the rest and removes what the killed
    run left half-written. Run one conversion at a time per lake.

    Parameters
    ----------
    sources
        A glob (``"traces/*.trace"``), a path, or a list of them; fsspec URLs
        (``file://``, ``memory://``, ``s3://`` with s3fs installed) as well.
    lake
        The lake directory (local, or shared by the Dask workers).
    client
        A ``dask.distributed.Client``: each trace is a task on its cluster and
        the workers write the partitions. Default: local worker processes.
    workers
        Number of local worker processes (default: one per core); 1 converts
        in this process.
    progress
        Show traces done, MB/s and the time left.

    Returns
    -------
    pandas.DataFrame
        The manifest rows this run added, in the order they finished.

    Raises
    ------
    FileNotFoundError
        A source does not exist, or a glob matches nothing.
    ValueError
        ``lake`` holds a manifest that is not a lake's; ``workers`` below 1.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    root = Path(lake).absolute()
    todo = expand(sources)
    table = manifest.read_manifest(root)
    root.mkdir(parents=True, exist_ok=True)
    for path in leftovers(root):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    known = frozenset(table.column("trace_id").to_pylist())
    if client is not None:
        outcomes = run_dask(todo, str(root), known, client)
    else:
        outcomes = run_local(todo, str(root), known, workers or default_workers())
    stream = _progress(outcomes, len(todo), sum(s.size for s in todo), progress)
    added = manifest.SCHEMA.empty_table()
    pending: list[dict[str, Any]] = []
    try:
        for outcome in stream:
            if outcome.row is None or outcome.trace_id in known:
                continue  # already in the lake, or the same bytes twice in this run
            known |= {outcome.trace_id}
            pending.append(outcome.row)
            if len(pending) >= COMMIT_EVERY:
                table, added = _commit(root, table, added, pending)
    finally:
        stream.close()
        outcomes.close()  # cancels what has not started
        if pending:
            table, added = _commit(root, table, added, pending)
    df: pd.DataFrame = added.to_pandas()
    return df


def _commit(
    root: Path, table: pa.Table, added: pa.Table, pending: list[dict[str, Any]]
) -> tuple[pa.Table, pa.Table]:
    """Append ``pending`` to the manifest on disk (and to ``added``), and empty it."""
    table = manifest.append(table, pending)
    added = manifest.append(added, pending)
    manifest.write_manifest(root, table)
    pending.clear()
    return table, added


def _progress(
    outcomes: Iterator[Outcome], n: int, total_bytes: int, show: bool
) -> Generator[Outcome, None, None]:
    """``outcomes``, counted on a progress bar of bytes (MB/s, time left) and traces."""
    with progress_bar(total_bytes, "converting", disable=not show) as bar:
        for done, outcome in enumerate(outcomes, 1):
            bar.update(outcome.size)
            bar.set_postfix_str(f"{done}/{n} traces", refresh=False)
            yield outcome
