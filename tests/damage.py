"""Helpers of the damage and fuzz tests: the contract every input must meet, and
the comparison with what Go's parser keeps from the same bytes.

The contract: `read_trace` returns a Trace, or raises
`gotrace_df.TraceError` (a ValueError) saying what is wrong and where (byte
offset, generation when known); never any other exception, an "internal error"
(a Rust panic turned into TraceError by the binding), a crash or a hang. A trace
whose tail is damaged keeps every complete generation and warns
(`TraceWarning`); with no complete generation left it raises.

What Go keeps: its parser prints every event it read before its error; Go's
consumers (cmd/trace) keep those up to the last Sync. With fewer than two Syncs
kept, no generation is complete: we must raise.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import wire
from oracle_util import oracle_events_bytes
from parity import assert_same_events, old_format_canonical

import gotrace_df as gt
from gotrace_df import _core
from gotrace_df.testing import canonical_events

CORPUS = Path(__file__).resolve().parent / "data" / "traces"
VERSIONS = tuple(f"go1.{v}" for v in range(22, 28))

_cache: dict[str, bytes] = {}


def trace_bytes(spec: str) -> bytes:
    """A corpus trace: "go1.22/tasks", or "go1.22/tasks@2" for its first two
    generations only (a whole, smaller trace)."""
    if spec not in _cache:
        name, _, ngen = spec.partition("@")
        data = (CORPUS / f"{name}.trace").read_bytes()
        if ngen:
            header, batches = wire.split(data)
            gens = wire.generations(batches)
            assert len(gens) > int(ngen), f"{name} has only {len(gens)} generations"
            data = wire.join(header, [b for g in gens[: int(ngen)] for b in g])
        _cache[spec] = data
    return _cache[spec]


def check_error(e: BaseException, data: bytes | bytearray, what: str) -> None:
    """The contract for an error: a TraceError saying what and where."""
    assert isinstance(e, gt.TraceError) and isinstance(e, ValueError), f"{what}: {e!r}"
    msg = str(e)
    assert "internal error" not in msg, f"{what}: {msg}"
    assert e.offset is not None, f"{what}: error without an offset: {msg}"
    assert 0 <= e.offset <= len(data), f"{what}: offset {e.offset} outside the input: {msg}"
    assert f"offset {e.offset}" in msg, f"{what}: {msg}"
    if e.generation is not None:
        assert f"generation {e.generation}" in msg, f"{what}: {msg}"


@dataclass
class Outcome:
    trace: gt.Trace | None = None
    error: gt.TraceError | None = None
    warning: str | None = None


def streaming_inputs() -> list[bytes]:
    """Cut and corrupted copies of a trace of several generations: a
    streaming pass must read each as read_trace does (the same error, or the
    same complete generations kept with the same warning)."""
    data = trace_bytes("go1.26/generations")
    flipped = bytearray(data)
    flipped[len(data) * 3 // 4] ^= 0xFF
    cuts = (17, 100, len(data) // 3, len(data) // 2, len(data) - 1)
    return [*(data[:cut] for cut in cuts), bytes(flipped)]


def assert_same_error(got: gt.TraceError, want: Outcome, what: str) -> None:
    """read_trace failed too, with the same error, offset and generation."""
    assert want.error is not None, f"{what}: {got}"
    assert (str(got), got.offset, got.generation) == (
        str(want.error),
        want.error.offset,
        want.error.generation,
    ), what


def read(data: bytes | bytearray, what: str = "input") -> Outcome:
    """read_trace(data), checking the contract; any other exception propagates."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            tr = gt.read_trace(bytes(data), progress=False)
        except gt.TraceError as e:
            check_error(e, data, what)
            return Outcome(error=e)
    others = [w for w in caught if not issubclass(w.category, gt.TraceWarning)]
    assert not others, f"{what}: unexpected warnings {[str(w.message) for w in others]}"
    msgs = [str(w.message) for w in caught if issubclass(w.category, gt.TraceWarning)]
    assert len(msgs) <= 1, f"{what}: {msgs}"
    assert tr.bytes_total == len(data)
    if msgs:
        assert "of the trace was lost" in msgs[0], msgs[0]
        assert "internal error" not in msgs[0], f"{what}: {msgs[0]}"
        assert "offset" in msgs[0], f"{what}: {msgs[0]}"
        assert tr.bytes_used <= tr.bytes_total, msgs[0]
        assert tr.generations >= 1, f"{what}: a damaged trace kept with no complete generation"
        return Outcome(trace=tr, warning=msgs[0])
    assert tr.bytes_used == tr.bytes_total, what
    return Outcome(trace=tr)


def signature(data: bytes | bytearray, what: str) -> tuple[Any, ...]:
    """A cheap fingerprint of what we make of `data` (the core's parse, without
    building a Trace): ("error",) or ("ok", warned, events, frames, generations)."""
    try:
        r = _core.parse(bytes(data))
    except gt.TraceError as e:
        check_error(e, data, what)
        return ("error",)
    tail = r["tail_error"]
    if tail is not None:
        assert "internal error" not in tail["message"], f"{what}: {tail['message']}"
        assert tail["offset"] is not None, f"{what}: {tail['message']}"
    tables = r["tables"]
    return (
        "ok",
        tail is not None,
        pa.table(tables["events"]),
        pa.table(tables["frames"]),
        r["generations"],
    )


def same_signature(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "error":
        return True
    return bool(a[1] == b[1] and a[4] == b[4] and a[2].equals(b[2]) and a[3].equals(b[3]))


@dataclass
class GoResult:
    """What Go's consumers keep from some bytes."""

    #: Events up to the last Sync, or None when no generation is complete.
    kept: list[dict[str, Any]] | None
    #: Go's error, None when it read everything.
    error: str | None


def go_keeps(data: bytes | bytearray) -> GoResult:
    events, err = oracle_events_bytes(bytes(data))
    if err is None:
        return GoResult(events, None)
    last = max((i for i, e in enumerate(events) if e["kind"] == "Sync"), default=-1)
    kept = events[: last + 1]
    if sum(e["kind"] == "Sync" for e in kept) < 2:
        return GoResult(None, err)
    return GoResult(kept, err)


# Our message for a table batch that ends right before an entry's field: Go's
# parser gets a bare io.EOF there and stops as at the end of the input, without
# an error (wire.rs BATCH_ENDS_BEFORE). We report the damage; events agree.
SWALLOWED_BY_GO = "batch ends before the"


def _syncs(events: list[dict[str, Any]]) -> int:
    return sum(e["kind"] == "Sync" for e in events)


def assert_matches_go(data: bytes | bytearray, what: str, go: GoResult | None = None) -> Outcome:
    """Reads `data` under the contract and checks we keep exactly what Go keeps:
    the same events, a warning exactly when Go failed after a complete
    generation, an error when it kept none."""
    go = go_keeps(data) if go is None else go
    out = read(data, what)
    if go.kept is None:
        assert out.error is not None, (
            f"{what}: Go keeps no complete generation ({go.error}), we returned {out.trace!r}"
        )
        return out
    if out.error is not None:
        # Go stopped "cleanly" where we found damage, with nothing complete.
        assert go.error is None and SWALLOWED_BY_GO in str(out.error) and _syncs(go.kept) < 2, (
            f"{what}: we raised {out.error} but Go keeps {len(go.kept)} events (Go's error: {go.error})"
        )
        return out
    assert out.trace is not None
    if go.error is None:
        assert out.warning is None or SWALLOWED_BY_GO in out.warning, (
            f"{what}: Go read everything, we warned: {out.warning}"
        )
    else:
        assert out.warning is not None, f"{what}: Go failed ({go.error}), we did not warn"
    assert_same_events(list(canonical_events(out.trace)), go.kept, what)
    return out


def truncation_classes(data: bytes | bytearray) -> dict[tuple[str, int], list[int]]:
    """Every cut offset 0..len(data), grouped by what Go makes of the cut.

    Within a class Go reads the same whole batches before the cut and fails (or
    stops) the same way, so it keeps the same events: a cut inside the header;
    exactly at a batch's start (a clean end of input there); just after an
    experimental batch's type byte (Go takes the missing experiment byte for a
    clean end of input); anywhere else inside a batch. (GOTRACE_DAMAGE_FULL=1
    runs the oracle on every cut, which checks this grouping.)
    """
    header, batches = wire.split(data)
    classes: dict[tuple[str, int], list[int]] = {("header", 0): list(range(len(header)))}
    for j, b in enumerate(batches):
        classes[("at", j)] = [b.offset]
        inside = b.offset + 1
        if b.kind == "exp":
            classes[("type", j)] = [inside]
            inside += 1
        if b.end > inside:
            classes[("inside", j)] = list(range(inside, b.end))
    classes[("end", len(batches))] = [len(data)]
    return classes


def assert_matches_go_old(data: bytes | bytearray, what: str, tries: int = 5) -> Outcome:
    """`assert_matches_go` for the old format (Go 1.11-1.21): Go reads it whole
    before its first event, so it keeps all or nothing (a failure on the way,
    even after events, leaves no complete generation), and its order of
    events whose times tie is compared as `parity.old_format_canonical` does.
    On damaged input even whether Go's merge succeeds can depend on Go's map
    order: ours must be one of the answers of up to `tries` runs of Go."""
    out = read(data, what)
    ours = None if out.trace is None else old_format_canonical(list(canonical_events(out.trace)))
    assert out.warning is None, f"{what}: {out.warning}"
    failure = ""
    for _ in range(tries):
        events, err = oracle_events_bytes(bytes(data))
        if err is not None:
            if out.error is not None:
                return out
            failure = f"{what}: Go failed ({err}), we returned {out.trace!r}"
            continue
        if ours is None:
            failure = f"{what}: we raised {out.error}, Go read {len(events)} events"
            continue
        try:
            assert_same_events(ours, old_format_canonical(events), what)
            return out
        except AssertionError as e:
            failure = str(e)
    raise AssertionError(failure)
