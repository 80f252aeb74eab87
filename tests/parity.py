"""Row-by-row comparison of our events with the oracle's (Go's own parser)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from oracle_util import oracle_events

import gotrace_df
from gotrace_df.testing import canonical_events, check_invariants


def _show(d: dict[str, Any] | None) -> str:
    return "<none>" if d is None else json.dumps(d, sort_keys=True)[:2000]


def assert_same_events(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], what: str) -> None:
    """Fail with the first differing event, its neighbours and the differing keys."""
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            ctx = "\n".join(f"  go[{j}]: {_show(theirs[j])}" for j in range(max(0, i - 3), i))
            raise AssertionError(
                f"{what}: event {i} differs in {keys}\n{ctx}\n  ours : {_show(a)}\n  go   : {_show(b)}"
            )
    assert len(ours) == len(theirs), f"{what}: {len(ours)} events, Go's parser has {len(theirs)}"


def old_format_canonical(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events of an old-format trace (Go 1.11-1.21) in a form that is one
    answer where Go's is several.

    Go's parser merges the per-P streams in Go map order, and its converter
    emits the goroutines that were runnable when tracing started in map order
    too: events whose times tie come out in an order that changes from run to
    run (then spaced 1 ns apart). Each maximal run of events 1 ns apart is
    sorted by content, its times kept in place.
    """
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(events):
        j = i + 1
        while j < len(events) and events[j]["t"] == events[j - 1]["t"] + 1:
            j += 1
        body = sorted(
            ({k: v for k, v in e.items() if k != "t"} for e in events[i:j]), key=json.dumps
        )
        out.extend({**b, "t": e["t"]} for b, e in zip(body, events[i:j]))
        i = j
    return out


def check_trace_against_go(path: Path) -> int:
    """Parse `path` with gotrace_df and the oracle; assert identical events. Returns the count."""
    theirs, err = oracle_events(path)
    assert err is None, f"{path}: Go's parser failed: {err}"
    tr = gotrace_df.read_trace(path, progress=False)
    ours = list(canonical_events(tr))
    assert_same_events(ours, theirs, str(path))
    check_invariants(tr)
    return len(ours)
