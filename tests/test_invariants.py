"""The invariant checker catches tables that disagree with the events."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import gotrace_df as gt
from gotrace_df.testing import InvariantError, check_invariants


@pytest.fixture(scope="module")
def tr() -> gt.Trace:
    return gt.read_trace(gt.example_trace(), progress=False)


def tables(tr: gt.Trace, **replace: pa.Table) -> Any:
    t = {name: tr.table(name) for name in gt.TABLES}
    t.update(replace)
    return SimpleNamespace(**t)


def with_column(t: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return t.set_column(t.schema.get_field_index(name), name, values)


def test_example_trace_is_consistent(tr: gt.Trace) -> None:
    check_invariants(tr)


def test_overlapping_spans_are_caught(tr: gt.Trace) -> None:
    spans = tr.spans
    end = pc.add(spans.column("end"), 1000)
    with pytest.raises(InvariantError, match="tile"):
        check_invariants(tables(tr, spans=with_column(spans, "end", end)))


def test_wrong_region_depth_is_caught(tr: gt.Trace) -> None:
    regions = tr.regions
    assert regions.num_rows > 0
    depth = pc.add(regions.column("depth"), 1)
    with pytest.raises(InvariantError, match="depth"):
        check_invariants(tables(tr, regions=with_column(regions, "depth", depth)))


def test_unknown_stack_is_caught(tr: gt.Trace) -> None:
    logs = tr.logs
    assert logs.num_rows > 0
    bad = pa.array([10**6] * logs.num_rows, pa.int32())
    with pytest.raises(InvariantError, match="unknown stacks"):
        check_invariants(tables(tr, logs=with_column(logs, "stack_id", bad)))


def test_time_order_is_checked(tr: gt.Trace) -> None:
    ev = tr.events
    ts = pc.subtract(ev.column("ts"), pa.array(range(0, 2 * ev.num_rows, 2), pa.int64()))
    ts = pc.multiply(ts, -1)
    with pytest.raises(InvariantError, match="strictly increasing"):
        check_invariants(tables(tr, events=with_column(ev, "ts", ts)))
