"""Every corpus trace of every Go version parses exactly as Go's parser does."""

from __future__ import annotations

from pathlib import Path

import pytest
from parity import check_trace_against_go

CORPUS = Path(__file__).resolve().parent / "data" / "traces"
# Go 1.21 traces are of the old format, whose order Go leaves open where
# times tie: tests/test_tracev1.py compares them.
TRACES = sorted(p for p in CORPUS.glob("go1.*/*.trace") if p.parent.name != "go1.21")


def test_corpus_is_complete() -> None:
    versions = {p.parent.name for p in TRACES}
    assert versions == {f"go1.{v}" for v in range(22, 28)}, versions


@pytest.mark.parametrize("path", TRACES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_events_equal_go(path: Path) -> None:
    assert check_trace_against_go(path) > 0
