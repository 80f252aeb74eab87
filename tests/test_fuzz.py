"""Fuzzing read_trace from Python (hypothesis): corpus traces cut, flipped,
spliced and patched at random. Every input meets the contract (tests/damage.py:
a Trace or a TraceError with offset and generation, never another exception, an
internal error, a crash or a hang); a share of them are also compared with Go's
parser.

Bounded to about a minute in CI. For longer runs:

    GOTRACE_FUZZ_EXAMPLES=200000 .venv/bin/python -m pytest tests/test_fuzz.py

(GOTRACE_FUZZ_EXAMPLES scales both tests; the differential one gets a fifth.)
The Rust parser has its own coverage-guided fuzzer: `make fuzz`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pytest
import wire
from damage import (
    VERSIONS,
    assert_matches_go,
    assert_matches_go_old,
    check_error,
    read,
    trace_bytes,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gotrace_df as gt

EXAMPLES = int(os.environ.get("GOTRACE_FUZZ_EXAMPLES", "4000"))
SEEDS = [f"{v}/{name}" for v in VERSIONS for name in ("tasks@2", "gomaxprocs", "cpuprof")] + [
    f"{v}/flightrec" for v in VERSIONS if v >= "go1.25"
]
# Old-format traces (Go 1.11-1.21): no batches of the new kind to edit.
OLD_SEEDS = ["v1/user_task_region_1_21_good", "v1/stress_start_stop_1_11_good", "go1.21/tasks"]
# A parse of these (<= 17 KB) takes milliseconds; anything near this is a hang.
SLOW = 2.0
# Long local runs outlast the suite's default per-test timeout (pyproject.toml).
_timeout = pytest.mark.timeout(max(600, EXAMPLES // 10))


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )


@dataclass(frozen=True)
class Mutation:
    kind: str
    at: float  # where, as a fraction of the input
    arg: int

    def apply(self, data: bytearray) -> bytearray:
        i = min(int(self.at * len(data)), max(len(data) - 1, 0))
        if self.kind == "truncate":
            return data[:i]
        if not data:
            return data
        if self.kind == "flip":
            data[i] ^= 1 << (self.arg % 8)
        elif self.kind == "byte":
            data[i] = self.arg % 256
        elif self.kind == "insert":
            data[i:i] = bytes([self.arg % 256]) * (1 + self.arg // 256 % 16)
        elif self.kind == "delete":
            del data[i : i + 1 + self.arg % 64]
        elif self.kind == "duplicate":
            n = 1 + self.arg % 512
            data[i:i] = data[i : i + n]
        elif self.kind == "varint":
            # An endless or overlong varint at a random place.
            data[i:i] = b"\x80" * (1 + self.arg % 12) + (b"\x02" if self.arg % 2 else b"")
        elif self.kind == "big":
            # A large value where a small one was: sizes, IDs, counts, seqs.
            data[i : i + 1] = wire.uvarint((1 << (self.arg % 64)) - 1, 10)
        return data


mutations = st.builds(
    Mutation,
    st.sampled_from(["truncate", "flip", "byte", "insert", "delete", "duplicate", "varint", "big"]),
    st.floats(min_value=0.0, max_value=1.0),
    st.integers(min_value=0, max_value=1 << 16),
)


@st.composite
def batch_edits(draw: st.DrawFn, data: bytes) -> bytes:
    """Structure-aware damage: batches dropped, duplicated, swapped or given
    another generation, thread or size."""
    header, batches = wire.split(data)
    for _ in range(draw(st.integers(1, 3))):
        if not batches:
            break
        j = draw(st.integers(0, len(batches) - 1))
        b = batches[j]
        op = draw(st.sampled_from(["drop", "dup", "swap", "gen", "m", "size", "time"]))
        if op == "drop":
            del batches[j]
        elif op == "dup":
            batches.insert(draw(st.integers(0, len(batches))), b)
        elif op == "swap":
            k = draw(st.integers(0, len(batches) - 1))
            batches[j], batches[k] = batches[k], batches[j]
        elif b.kind != "eog":
            field = {"gen": "gen", "m": "m", "time": "time", "size": "claimed_size"}[op]
            value = draw(st.one_of(st.integers(0, 8), st.integers(0, (1 << 64) - 1)))
            if field == "claimed_size":
                value = draw(st.integers(0, 70000))
            batches[j] = wire.Batch(**{**b.__dict__, field: value})
    return wire.join(header, batches)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = trace_bytes(draw(st.sampled_from(SEEDS)))
    if draw(st.booleans()):
        data = draw(batch_edits(data))
    buf = bytearray(data)
    for m in draw(st.lists(mutations, min_size=1, max_size=4)):
        buf = m.apply(buf)
    return bytes(buf)


def _timed_read(data: bytes) -> None:
    t = time.perf_counter()
    try:
        read(data, "fuzzed input")
    except gt.TraceError as e:  # read() checks and returns errors; be explicit
        check_error(e, data, "fuzzed input")
    took = time.perf_counter() - t
    assert took < SLOW, f"{took:.1f} s for {len(data)} bytes"


@_timeout
@_settings(EXAMPLES)
@given(damaged())
def test_fuzzed_traces_meet_the_contract(data: bytes) -> None:
    _timed_read(data)


@_timeout
@_settings(max(EXAMPLES // 5, 20))
@given(damaged())
def test_fuzzed_traces_keep_what_go_keeps(data: bytes) -> None:
    assert_matches_go(data, "fuzzed input")


@st.composite
def damaged_old(draw: st.DrawFn) -> bytes:
    buf = bytearray(trace_bytes(draw(st.sampled_from(OLD_SEEDS))))
    for m in draw(st.lists(mutations, min_size=1, max_size=4)):
        buf = m.apply(buf)
    return bytes(buf)


@_timeout
@_settings(max(EXAMPLES // 4, 20))
@given(damaged_old())
def test_fuzzed_old_traces_meet_the_contract(data: bytes) -> None:
    _timed_read(data)


@_timeout
@_settings(max(EXAMPLES // 20, 20))
@given(damaged_old())
def test_fuzzed_old_traces_keep_what_go_keeps(data: bytes) -> None:
    assert_matches_go_old(data, "fuzzed old input")


@pytest.mark.parametrize("blob", [b"", b"go 1.26 trace\0\0\0", b"go 1.22 trace\0\0\0\x01"])
def test_tiny_inputs(blob: bytes) -> None:
    assert_matches_go(blob, repr(blob))
