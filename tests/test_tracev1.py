"""Go 1.11-1.21 traces (the old format) read as Go's converter reads them.

Go's answer for an old trace is not unique: its parser merges the per-P
streams in Go map order, and its converter emits the goroutines that were
runnable when tracing started in map order too, so events whose times tie
come out in an order that changes from run to run (the converter then spaces
them 1 ns apart). Both sides are compared after sorting each such run of
events 1 ns apart, which leaves everything else exact.

One field is Go's converter's own: a TaskEnd's parent is the old event's
parent ID, 0 for none, where its TaskBegin says NoTask. A task has one parent
in our tasks table (the begin's), so Go's 0 is read as NoTask.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from oracle_util import oracle_events
from parity import assert_same_events

import gotrace_df
from gotrace_df.testing import NO_TASK, canonical_events, check_invariants

CORPUS = Path(__file__).resolve().parent / "data" / "traces"
# Go's own test traces, and ours from Go 1.21.13 (tests/data/make_corpus.py).
TRACES = sorted(CORPUS.glob("v1/*.trace")) + sorted(CORPUS.glob("go1.21/*.trace"))


def tie_canonical(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`events` with each maximal run of events 1 ns apart sorted by content."""
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(events):
        j = i + 1
        while j < len(events) and events[j]["t"] == events[j - 1]["t"] + 1:
            j += 1
        run = events[i:j]
        times = [e["t"] for e in run]
        body = sorted(({k: v for k, v in e.items() if k != "t"} for e in run), key=json.dumps)
        out.extend({**b, "t": t} for b, t in zip(body, times))
        i = j
    return out


def go_events(path: Path) -> list[dict[str, Any]]:
    """The oracle's events of `path`, a TaskEnd's parent 0 read as NoTask."""
    theirs, err = oracle_events(path)
    assert err is None, f"{path}: Go's parser failed: {err}"
    for e in theirs:
        if e["kind"] == "TaskEnd" and e["parent"] == 0:
            e["parent"] = NO_TASK
    return theirs


def test_corpus_has_every_old_version() -> None:
    headers = {p.read_bytes()[:16].rstrip(b"\0") for p in TRACES}
    assert headers >= {b"go 1.11 trace", b"go 1.19 trace", b"go 1.21 trace"}, headers


@pytest.mark.parametrize("path", TRACES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_events_equal_go(path: Path) -> None:
    theirs = go_events(path)
    tr = gotrace_df.read_trace(path, progress=False)
    ours = list(canonical_events(tr))
    assert_same_events(tie_canonical(ours), tie_canonical(theirs), str(path))
    check_invariants(tr)
