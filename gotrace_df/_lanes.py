"""Which spans go on which lane (a P, an M or a goroutine) and when, read by
the core straight from the events through the spans' references
(``_core.span_lanes``): the timeline draws these lanes and the Perfetto
export writes its Procs and Threads tracks from them, so both show what
cmd/trace's proc and thread views show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from gotrace_df import _core
from gotrace_df._expand import sync_rows

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["span_lanes"]


def span_lanes(
    trace: Trace,
    states: Sequence[str],
    lane: str | None,
    state_cats: Sequence[int],
    origin: int,
    *,
    held: str | None = None,
    goids: np.ndarray[Any, Any] | None = None,
    groups: np.ndarray[Any, Any] | None = None,
    other: int = 0,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], dict[str, np.ndarray[Any, Any]]]:
    """The spans in ``states`` grouped by ``lane`` ("p", "m"; None: the
    goroutine): (lane keys ascending, ``first`` (lane ``i`` holds intervals
    ``first[i]:first[i + 1]``, one more entry than keys), intervals: ``row``
    (spans row), ``cat``, ``start`` and ``end`` (float ns from ``origin``)),
    sorted by start within a lane.

    An interval is drawn in category ``state_cats[i]`` of its state, or for
    -1 in its goroutine's group (``groups[j]`` for goroutine ``goids[j]``,
    else ``other``). Spans in state ``held`` (Syscall, on P lanes) end when
    their P stops running, if sooner: a goroutine keeps its P through a
    syscall until the P is stolen, as cmd/trace draws it.
    """
    events = trace.columns(
        "events", ["ts", "from_state", "to_state", "resource_id", *([lane] if lane else [])]
    )
    procs = (
        None if held is None else trace.columns("procs", ["proc", "state", "start_event", "end"])
    )
    lanes_t, iv_t = _core.span_lanes(
        events,
        trace.columns("spans", ["start_event", "end_event"]),
        sync_rows(trace.syncs).data,
        list(states),
        lane,
        origin,
        trace.end_ns,
        list(state_cats),
        np.ascontiguousarray(np.empty(0) if goids is None else goids, np.int64).data,
        np.ascontiguousarray(np.empty(0) if groups is None else groups, np.uint8).data,
        other,
        None if held is None else (held, procs),
    )
    lanes = pa.RecordBatchReader.from_stream(lanes_t).read_all()
    iv = pa.RecordBatchReader.from_stream(iv_t).read_all()
    cols = {name: iv[name].combine_chunks().to_numpy() for name in iv.column_names}
    keys = lanes["key"].combine_chunks().to_numpy()
    first = np.append(lanes["first"].combine_chunks().to_numpy(), iv.num_rows)
    return keys, first, cols
