"""Damaged and hostile traces: truncation at every byte offset, bit
flips, duplicated / reordered / misnumbered batches and generations, lying size
fields, oversized tables and stacks, unsatisfiable sequence numbers, unknown
event types, endless varints, and runaway memory claims.

Every input meets the contract of tests/damage.py (a Trace, or a TraceError
saying what and where; never an internal error, crash or hang), and we keep
exactly the events Go's parser keeps from the same bytes (the oracle, cut at its
last Sync as cmd/trace does). GOTRACE_DAMAGE_FULL=1 widens everything: every
offset of every trace, the oracle on every cut and every flip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import damage
import pytest
import wire
from damage import (
    VERSIONS,
    assert_matches_go,
    assert_matches_go_old,
    go_keeps,
    read,
    same_signature,
    signature,
    trace_bytes,
    truncation_classes,
)

FULL = os.environ.get("GOTRACE_DAMAGE_FULL", "") not in ("", "0")

# Small corpus traces, per version: several whole generations (a prefix of the
# tasks trace), one generation with CPU samples, one changing GOMAXPROCS, and
# from 1.25 on a flight recording (its first generation is not 1).
SMALL = {
    v: [f"{v}/tasks@2", f"{v}/gomaxprocs", f"{v}/cpuprof"]
    + ([f"{v}/flightrec@2"] if v >= "go1.25" else [])
    for v in VERSIONS
}
# Cut at every byte offset: two generations in both framings (spill before
# 1.26, EndOfGeneration after).
EVERY_OFFSET = {"go1.22/tasks@2", "go1.26/flightrec@2"}
CUT_STRIDE = 1 if FULL else 61
FLIP_STRIDE = 1 if FULL else 173
# Every this many bit flips also go to the oracle.
FLIP_ORACLE_EVERY = 1 if FULL else 5


def _ids(specs: list[str]) -> list[str]:
    return [s.replace("/", "-") for s in specs]


ALL_SMALL = [s for v in VERSIONS for s in SMALL[v]]
# Small old traces: Go's of 1.11 (user tasks), 1.19 (start/stop) and ours of 1.21.
OLD = ["v1/user_task_region_1_11_good", "v1/stress_start_stop_1_19_good", "go1.21/gomaxprocs"]


# -- truncation ----------------------------------------------------------------


@pytest.mark.parametrize("spec", ALL_SMALL, ids=_ids(ALL_SMALL))
def test_truncation_keeps_what_go_keeps(spec: str) -> None:
    """Cut the trace at every offset (or a stride of them): each cut meets the
    contract, and keeps exactly the events Go keeps.

    The oracle runs once per class of cuts Go treats alike (see
    damage.truncation_classes): the class's first cut must keep what Go keeps,
    and every other cut of the class (all of them for EVERY_OFFSET traces, a
    stride and the last for the others) exactly what the first one does."""
    data = trace_bytes(spec)
    stride = 1 if spec in EVERY_OFFSET else CUT_STRIDE
    checked = 0
    for key, offsets in truncation_classes(data).items():
        rep = offsets[0]
        assert_matches_go(data[:rep], f"{spec} cut at {rep} ({key})")
        want = signature(data[:rep], f"{spec} cut at {rep}")
        others = [o for o in offsets[1:] if o % stride == 0]
        if len(offsets) > 1 and offsets[-1] not in others:
            others.append(offsets[-1])
        for o in others:
            what = f"{spec} cut at {o} ({key})"
            if FULL:
                assert_matches_go(data[:o], what)
            got = signature(data[:o], what)
            assert same_signature(got, want), f"{what}: differs from the cut at {rep}"
            checked += 1
    assert checked > 0


def test_damaged_tail_warns_with_the_fraction_lost() -> None:
    data = trace_bytes("go1.26/tasks@2")
    header, batches = wire.split(data)
    second = wire.generations(batches)[1]
    cut = second[2].offset + 5  # inside the second generation
    out = read(data[:cut])
    assert out.trace is not None and out.warning is not None
    assert out.trace.generations == 1
    assert out.trace.bytes_used == second[0].offset
    lost = 1 - second[0].offset / cut
    assert f"{lost:.1%} of the trace was lost" in out.warning
    assert "kept its first 1 complete generation" in out.warning


def test_truncation_in_the_only_generation_raises() -> None:
    data = trace_bytes("go1.26/gomaxprocs")
    out = read(data[: len(data) // 2])
    assert out.error is not None
    assert "failed to read full batch" in str(out.error)
    assert out.error.generation == 1


# -- bit flips -----------------------------------------------------------------


@pytest.mark.parametrize("spec", ALL_SMALL + OLD, ids=_ids(ALL_SMALL + OLD))
def test_bit_flips(spec: str) -> None:
    """One flipped bit at offsets across the file (a stride), a different bit
    each time: the contract always, Go's events on a share of them."""
    data = trace_bytes(spec)
    assert_matches_go = damage.assert_matches_go_old if spec in OLD else damage.assert_matches_go
    for k, o in enumerate(range(16, len(data), FLIP_STRIDE)):
        d = bytearray(data)
        bit = (o * 5 + k) % 8
        d[o] ^= 1 << bit
        what = f"{spec} bit {bit} of byte {o} flipped"
        if k % FLIP_ORACLE_EVERY == 0:
            assert_matches_go(d, what)
        else:
            signature(d, what)


# -- batches and generations rearranged ---------------------------------------


def _spec_batches(spec: str) -> tuple[bytes, list[wire.Batch]]:
    return wire.split(trace_bytes(spec))


MULTI = [f"{v}/tasks@2" for v in VERSIONS]


@pytest.mark.parametrize("spec", MULTI, ids=_ids(MULTI))
def test_duplicated_batches(spec: str) -> None:
    header, batches = _spec_batches(spec)
    for j, b in enumerate(batches):
        if b.kind == "eog" and j % 2:
            continue
        dup = [*batches[: j + 1], b, *batches[j + 1 :]]
        assert_matches_go(wire.join(header, dup), f"{spec}: batch {j} ({b.role}) twice")


@pytest.mark.parametrize("spec", MULTI, ids=_ids(MULTI))
def test_reordered_batches(spec: str) -> None:
    header, batches = _spec_batches(spec)
    # Neighbours swapped, each pair in turn.
    for j in range(len(batches) - 1):
        swapped = [*batches[:j], batches[j + 1], batches[j], *batches[j + 2 :]]
        assert_matches_go(wire.join(header, swapped), f"{spec}: batches {j} and {j + 1} swapped")
    # Each generation's batches reversed; the whole file's batches reversed.
    gens = wire.generations(batches)
    rev = []
    for g in gens:
        body = [b for b in g if b.kind != "eog"]
        rev += body[::-1] + [b for b in g if b.kind == "eog"]
    assert_matches_go(wire.join(header, rev), f"{spec}: each generation reversed")
    assert_matches_go(wire.join(header, batches[::-1]), f"{spec}: all batches reversed")
    # A batch of the second generation moved into the first.
    first, second = gens[0], gens[1]
    mover = next(b for b in second if b.role == "events")
    moved = [*first[:1], mover, *first[1:], *(b for b in second if b is not mover)]
    assert_matches_go(wire.join(header, moved), f"{spec}: a gen-2 batch inside gen 1")


@pytest.mark.parametrize("spec", MULTI + [f"{v}/flightrec" for v in VERSIONS if v >= "go1.25"])
def test_generations_out_of_order(spec: str) -> None:
    header, batches = _spec_batches(spec)
    gens = wire.generations(batches)
    flat = lambda gs: [b for g in gs for b in g]  # noqa: E731
    cases = {
        "first two swapped": flat([gens[1], gens[0], *gens[2:]]),
        "in reverse": flat(gens[::-1]),
        "renumbered 1,3,...": wire.renumber([gens[0]], 1) + wire.renumber(gens[1:], 3),
        "all numbered 1": [b if b.kind == "eog" else replace(b, gen=1) for b in batches],
        "numbered from 2^63": wire.renumber(gens, 1 << 63),
        "numbered 0": wire.renumber(gens, 0),
        "second repeated": flat([gens[0], gens[1], gens[1], *gens[2:]]),
        "first dropped": flat(gens[1:]),
    }
    for what, bs in cases.items():
        out = assert_matches_go(wire.join(header, bs), f"{spec}: generations {what}")
        if what == "numbered 0":
            assert out.error is not None and "generation number 0" in str(out.error)


# -- lies in headers and tables -----------------------------------------------


def _sync_payload(version: int, freq: int = 15_625_000) -> bytes:
    if version >= 25:
        return (
            bytes([wire.EV_SYNC, wire.EV_FREQUENCY])
            + wire.uvarint(freq)
            + bytes([wire.EV_CLOCK_SNAPSHOT])
            + wire.uvarint(0) * 4
        )
    return bytes([wire.EV_FREQUENCY]) + wire.uvarint(freq)


def _header(version: int) -> bytes:
    return f"go 1.{version} trace".encode() + b"\0\0\0"


def _synthetic(
    version: int, payloads: list[bytes], gen: int = 1, m: int = 1, sync: bytes | None = None
) -> bytes:
    """One generation: a sync batch, then one batch per payload (thread `m`)."""
    sync = _sync_payload(version) if sync is None else sync
    bs = [wire.Batch("batch", gen=gen, m=wire.NO_ID, time=1, payload=sync)]
    bs += [wire.Batch("batch", gen=gen, m=m, time=2, payload=p) for p in payloads]
    if version >= 26:
        bs.append(wire.Batch("eog"))
    return wire.join(_header(version), bs)


FORMATS = [22, 23, 25, 26]
# One corpus trace per format, for edits in place.
BY_FORMAT = {22: "go1.22/tasks@2", 23: "go1.23/tasks@2", 25: "go1.25/tasks@2", 26: "go1.26/tasks@2"}


@pytest.mark.parametrize("version", FORMATS)
def test_batch_claiming_an_enormous_size(version: int) -> None:
    header, batches = _spec_batches(BY_FORMAT[version])
    gens = wire.generations(batches)
    target = next(b for b in gens[1] if b.role == "events")
    j = batches.index(target)
    for size in (65537, 1 << 31, 1 << 40, (1 << 64) - 1):
        bs = [*batches[:j], replace(target, claimed_size=size), *batches[j + 1 :]]
        out = assert_matches_go(wire.join(header, bs), f"{version}: batch claiming {size} bytes")
        # What came before is kept (before 1.26, so is the part of generation
        # 2 before the batch, as in Go); the error names the batch.
        assert out.trace is not None and out.warning is not None
        assert out.trace.generations == (1 if version >= 26 else 2)
        assert f"invalid batch size {size}" in out.warning
        assert f"offset {target.offset}, generation 2" in out.warning
    # A size within the limit but past the end of the file: the last batch.
    last = batches[-2] if batches[-1].kind == "eog" else batches[-1]
    k = batches.index(last)
    bs = [*batches[:k], replace(last, claimed_size=65536)]
    out = assert_matches_go(wire.join(header, bs), f"{version}: last batch claims 64 KiB")
    assert out.warning is not None
    if version >= 26:
        # Before 1.26 the generation is read without that batch, as in Go,
        # and fails on what it misses.
        assert "failed to read full batch" in out.warning


def _strings(*entries: tuple[int, bytes], claimed: dict[int, int] | None = None) -> bytes:
    out = bytearray([wire.EV_STRINGS])
    for sid, s in entries:
        n = (claimed or {}).get(sid, len(s))
        out += bytes([wire.EV_STRING]) + wire.uvarint(sid) + wire.uvarint(n) + s
    return bytes(out)


def _stacks(
    *stacks: tuple[int, list[tuple[int, int, int, int]]], claimed: int | None = None
) -> bytes:
    out = bytearray([wire.EV_STACKS])
    for sid, frames in stacks:
        out += bytes([wire.EV_STACK]) + wire.uvarint(sid)
        out += wire.uvarint(len(frames) if claimed is None else claimed)
        for f in frames:
            out += b"".join(wire.uvarint(x) for x in f)
    return bytes(out)


# A first-generation preamble that gives thread 1 a running P and goroutine.
def _running(p: int = 0, g: int = 1) -> bytes:
    return wire.event_payload((wire.EV_PROC_STATUS, 1, [p, 1]), (wire.EV_GO_STATUS, 1, [g, 1, 2]))


@pytest.mark.parametrize("version", FORMATS)
def test_string_table_larger_than_the_file(version: int) -> None:
    cases = {
        "a string claiming 2^40 bytes": (
            _strings((1, b"abc"), claimed={1: 1 << 40}),
            "invalid string size",
        ),
        "a string claiming 1 KiB in 3 bytes": (
            _strings((1, b"abc"), claimed={1: 1024}),
            "failed to read full string",
        ),
        "a string claiming 2^64-1 bytes": (
            _strings((1, b"x"), claimed={1: (1 << 64) - 1}),
            "invalid string size",
        ),
        "the same ID twice": (_strings((5, b"a"), (5, b"b")), "multiple strings with the same ID"),
        "ID 0": (
            _strings(
                (0, b"a"),
            ),
            "multiple strings with the same ID",
        ),
    }
    for what, (payload, message) in cases.items():
        out = assert_matches_go(_synthetic(version, [payload]), f"{version}: {what}")
        assert out.error is not None and message in str(out.error), (what, out.error)
        assert out.error.generation == 1


@pytest.mark.parametrize("version", FORMATS)
def test_stack_table_larger_than_the_file(version: int) -> None:
    frame = (0x1000, 1, 1, 7)
    strings = _strings((1, b"main.f"))
    cases = {
        "a stack claiming 2^50 frames": (
            _stacks((1, [frame]), claimed=1 << 50),
            "invalid stack size",
        ),
        "a stack claiming 128 frames, holding 1": (_stacks((1, [frame]), claimed=128), "varint"),
        "129 frames": (_stacks((1, [frame] * 129)), "invalid stack size 129"),
        "a frame naming a missing string": (
            _stacks((1, [(0x1000, 9, 1, 7)])),
            "invalid func string ID",
        ),
        "a frame naming string 2^40": (
            _stacks((1, [(0x1000, 1 << 40, 1, 7)])),
            "invalid func string ID",
        ),
        "the same ID twice": (_stacks((3, [frame]), (3, [frame])), "same ID"),
    }
    for what, (payload, message) in cases.items():
        out = assert_matches_go(_synthetic(version, [strings, payload]), f"{version}: {what}")
        assert out.error is not None and message in str(out.error), (what, out.error)
        assert out.error.generation == 1
    # Exactly 128 frames is fine.
    ok = _synthetic(version, [strings, _stacks((1, [frame] * 128)), _running()])
    out = assert_matches_go(ok, f"{version}: a 128-frame stack")
    assert out.trace is not None
    # A string with a 64-bit ID, named by a frame: fine, as in Go.
    wide = _synthetic(
        version,
        [_strings((1 << 40, b"main.wide")), _stacks((1, [(0x1000, 1 << 40, 0, 7)])), _running()],
    )
    assert_matches_go(wide, f"{version}: a frame naming string 2^40")


@pytest.mark.parametrize("version", FORMATS)
def test_table_batch_ending_before_a_field(version: int) -> None:
    # Go's parser reads these fields with binary.ReadUvarint, whose bare
    # io.EOF at the batch's end its readers take for the end of the input: Go
    # stops there without an error. We keep the same events and say why.
    sync = bytes([wire.EV_SYNC] if version >= 25 else []) + bytes([wire.EV_FREQUENCY])
    cut_tables = {
        "string ID": bytes([wire.EV_STRINGS, wire.EV_STRING]),
        "string length": bytes([wire.EV_STRINGS, wire.EV_STRING, 7]),
        "stack ID": bytes([wire.EV_STACKS, wire.EV_STACK]),
        "stack frame count": bytes([wire.EV_STACKS, wire.EV_STACK, 1]),
        "CPU sample": bytes([wire.EV_CPU_SAMPLES, wire.EV_CPU_SAMPLE, 5, 1]),
    }
    for field, payload in cut_tables.items():
        out = assert_matches_go(
            _synthetic(version, [payload]), f"{version}: batch ends before the {field}"
        )
        assert out.error is not None and f"batch ends before the {field}" in str(out.error)
    out = assert_matches_go(
        _synthetic(version, [_running()], sync=sync), f"{version}: no frequency"
    )
    assert out.error is not None and "batch ends before the frequency" in str(out.error)
    # In the second generation of a real trace: the first is kept, with a warning.
    header, batches = _spec_batches(BY_FORMAT[version])
    b = next(b for b in wire.generations(batches)[1] if b.role == "strings")
    j = batches.index(b)
    bad = replace(b, payload=cut_tables["string ID"])
    out = assert_matches_go(
        wire.join(header, [*batches[:j], bad, *batches[j + 1 :]]), f"{version}: gen 2"
    )
    assert out.trace is not None and out.trace.generations == 1
    assert out.warning is not None and "batch ends before the string ID" in out.warning


@pytest.mark.parametrize("version", FORMATS)
def test_sequence_numbers_that_can_never_be_satisfied(version: int) -> None:
    pre = _running()
    cases = {
        # A goroutine start far ahead of its sequence, on another thread.
        "GoStart seq 2^40": wire.event_payload((wire.EV_GO_START, 5, [1, 1 << 40])),
        # A P started out of sequence.
        "ProcStart seq 7": wire.event_payload((wire.EV_PROC_START, 5, [0, 7])),
        # Unblocking a goroutine nobody knows.
        "GoUnblock of goroutine 99": wire.event_payload((wire.EV_GO_UNBLOCK, 5, [99, 1, 0])),
    }
    for what, payload in cases.items():
        bs = wire.split(_synthetic(version, [pre]))[1]
        extra = wire.Batch("batch", gen=1, m=2, time=3, payload=payload)
        at = len(bs) - (1 if version >= 26 else 0)
        full = wire.join(_header(version), [*bs[:at], extra, *bs[at:]])
        out = assert_matches_go(full, f"{version}: {what}")
        assert out.error is not None and "failed to advance" in str(out.error), out.error
        assert out.error.offset == wire.split(full)[1][at].payload_offset
    # In a real trace: sequence numbers pushed far ahead, one event at a time,
    # in the second generation (the first is kept).
    header, batches = _spec_batches(BY_FORMAT[version])
    second = wire.generations(batches)[1]
    seqs = {wire.EV_GO_START: 1, wire.EV_GO_UNBLOCK: 1, wire.EV_PROC_START: 1, 29: 0, 30: 0}
    tried = 0
    for b in second:
        if b.role != "events" or tried >= 6:
            continue
        evs = wire.events(b.payload)
        k = next((i for i, e in enumerate(evs) if e.typ in seqs), None)
        if k is None:
            continue
        evs[k].args[seqs[evs[k].typ]] += 1 << 40
        j = batches.index(b)
        bad = replace(b, payload=wire.encode_events(evs))
        out = assert_matches_go(
            wire.join(header, [*batches[:j], bad, *batches[j + 1 :]]),
            f"{version}: event {k} of batch {j} (type {evs[k].typ}) 2^40 ahead of its sequence",
        )
        assert out.trace is not None and out.trace.generations == 1 and out.warning
        tried += 1
    assert tried > 0


UNKNOWN_TYPES = (0, 1, 8, 50, 52, 53, 90, 127, 137, 200, 255)


@pytest.mark.parametrize("version", FORMATS)
def test_unknown_event_types(version: int) -> None:
    pre = _running()
    for typ in UNKNOWN_TYPES:
        data = _synthetic(version, [pre + bytes([typ]) + wire.uvarint(3) + wire.uvarint(1)])
        out = assert_matches_go(data, f"{version}: event type {typ}")
        assert out.error is not None
        assert out.error.generation == 1
        assert out.error.offset == wire.split(data)[1][1].payload_offset + len(pre)
    # In a real trace, second generation: an event's type byte replaced.
    header, batches = _spec_batches(BY_FORMAT[version])
    b = next(b for b in wire.generations(batches)[1] if b.role == "events" and len(b.payload) > 40)
    j = batches.index(b)
    e = wire.events(b.payload)[3]
    for typ in UNKNOWN_TYPES:
        payload = b.payload[: e.offset] + bytes([typ]) + b.payload[e.offset + 1 :]
        data = wire.join(header, [*batches[:j], replace(b, payload=payload), *batches[j + 1 :]])
        out = assert_matches_go(data, f"{version}: event type {typ} in batch {j}")
        assert out.trace is not None and out.warning is not None
        assert out.trace.generations == 1


@pytest.mark.parametrize("version", FORMATS)
def test_varints_that_never_end(version: int) -> None:
    pre = _running()
    endless = b"\x80" * 12
    cases = {
        # An event's timestamp delta, then an argument, run to the batch's end.
        "timestamp delta": pre + bytes([wire.EV_HEAP_ALLOC]) + endless,
        "argument": pre + bytes([wire.EV_HEAP_ALLOC, 1]) + endless,
        "overlong (11 bytes)": pre + bytes([wire.EV_HEAP_ALLOC, 1]) + b"\xff" * 10 + b"\x01",
        "string ID": bytes([wire.EV_STRINGS, wire.EV_STRING]) + endless,
        "stack frame PC": bytes([wire.EV_STACKS, wire.EV_STACK, 1, 1]) + endless,
    }
    for what, payload in cases.items():
        out = assert_matches_go(
            _synthetic(version, [payload]), f"{version}: endless varint in the {what}"
        )
        assert out.error is not None, what
    freq = bytes([wire.EV_SYNC, wire.EV_FREQUENCY] if version >= 25 else [wire.EV_FREQUENCY])
    out = assert_matches_go(
        _synthetic(version, [pre], sync=freq + endless),
        f"{version}: endless varint in the frequency",
    )
    assert out.error is not None
    # In a batch header, up to the end of the file.
    base = trace_bytes(BY_FORMAT[version])
    for tail in (
        b"\x01" + b"\x80" * 30,
        b"\x01\x02" + b"\xff" * 40,
        b"\x01\x01\x01\x01" + b"\x80" * 9,
    ):
        assert_matches_go(base + tail, f"{version}: endless varint in a batch header")


@pytest.mark.parametrize("version", FORMATS)
def test_cpu_samples_with_equal_times(version: int) -> None:
    # Go sorts a generation's CPU samples with slices.SortFunc, which is not
    # stable: past 12 samples, equal times come out in pdqsort's order, not
    # the file's.
    n = 40
    payload = bytearray([wire.EV_CPU_SAMPLES])
    for i in range(n):
        payload.append(wire.EV_CPU_SAMPLE)
        for x in (100 + 10 * (i % 3), i + 1, i % 4, 1000 + i, 0):  # time, m, p, g, stack
            payload += wire.uvarint(x)
    data = _synthetic(version, [bytes(payload), _running()])
    out = assert_matches_go(data, f"{version}: {n} CPU samples at 3 times")
    assert out.trace is not None
    got = [e["g"] for e in go_keeps(data).kept or [] if e["kind"] == "StackSample"]
    stable = sorted(range(n), key=lambda i: 10 * (i % 3))
    assert got != [1000 + i for i in stable], "the case does not tell pdqsort from a stable sort"


# -- Go's own fuzz corpus --------------------------------------------------------


def _go_fuzz_inputs() -> list[tuple[str, bytes]]:
    sys.path.insert(
        0, str(Path(__file__).resolve().parents[1] / "crates" / "gotrace-core" / "fuzz")
    )
    try:
        import seeds  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    out = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True)
    d = Path(out.stdout.strip()) / "src" / "internal" / "trace" / "testdata" / "fuzz" / "FuzzReader"
    return [(f.name, seeds.go_fuzz_file(f.read_text())) for f in sorted(d.iterdir())]


def test_go_fuzz_corpus() -> None:
    inputs = _go_fuzz_inputs()
    assert len(inputs) >= 10
    for name, data in inputs:
        assert_matches_go(data, f"Go's FuzzReader/{name}")


# -- hostile sizes: time and memory ---------------------------------------------


def _one_generation(version: int, batches: list[wire.Batch]) -> bytes:
    bs = [
        wire.Batch("batch", gen=1, m=wire.NO_ID, time=1, payload=_sync_payload(version)),
        *batches,
    ]
    if version >= 26:
        bs.append(wire.Batch("eog"))
    return wire.join(_header(version), bs)


def _threads_waiting_in_reverse(n: int, version: int = 26) -> bytes:
    """n threads, each with a running P and goroutine, then one GC event each;
    the GC sequence runs against time order, so at every step the earliest
    event waits on the latest (Go's parser needs time quadratic in n)."""
    bs = [
        wire.Batch("batch", gen=1, m=wire.NO_ID, time=1, payload=bytes([wire.EV_STRINGS])),
        wire.Batch("batch", gen=1, m=wire.NO_ID, time=1, payload=bytes([wire.EV_STACKS])),
    ]
    for i in range(n):
        seq = 0 if i == 0 else n - i
        gc = (29, 10 * n, [seq, 0]) if seq % 2 == 0 else (30, 10 * n, [seq])
        pay = wire.event_payload((13, 0, [i, 1]), (25, 0, [i + 1, 0, 2]), gc)
        bs.append(wire.Batch("batch", gen=1, m=i + 1, time=i + 1, payload=pay, size_width=1))
    return _one_generation(version, bs)


def _abandoned_syscalls_scanning_threads(n: int, version: int = 26) -> bytes:
    """n/8 threads, then ~n ProcStatus(SyscallAbandoned) events for a P in a
    syscall: each makes Go's parser look through every thread for the P's."""
    threads = n // 8
    bs = [
        wire.Batch(
            "batch", gen=1, m=i + 2, time=i + 1, size_width=1,
            payload=wire.event_payload((wire.EV_PROC_STATUS, 0, [i + 1, 2])),
        )
        for i in range(threads)
    ]  # fmt: skip
    events = [(wire.EV_PROC_STATUS, threads + 1, [0, 3])]
    events += [(wire.EV_PROC_STATUS, 1, [0, 4])] * n
    for k in range(0, len(events), 10_000):
        bs.append(
            wire.Batch(
                "batch", gen=1, m=1, time=1, payload=wire.event_payload(*events[k : k + 10_000])
            )
        )
    return _one_generation(version, bs)


def _open_ranges_on_one_goroutine(n: int, version: int = 26) -> bytes:
    """n stop-the-world ranges of n different kinds begun on one goroutine and
    never ended: each begin looks through the ones open (Go's too)."""
    strings = [
        _strings(*((i, b"k%d" % i) for i in range(k, min(k + 4000, n + 1))))
        for k in range(1, n + 1, 4000)
    ]
    events = [(wire.EV_PROC_STATUS, 1, [0, 1]), (wire.EV_GO_STATUS, 1, [1, 1, 2])]
    events += [(26, 1, [i, 0]) for i in range(1, n + 1)]
    bs = [wire.Batch("batch", gen=1, m=wire.NO_ID, time=1, payload=p) for p in strings]
    bs.append(wire.Batch("batch", gen=1, m=wire.NO_ID, time=1, payload=bytes([wire.EV_STACKS])))
    for k in range(0, len(events), 10_000):
        bs.append(
            wire.Batch(
                "batch", gen=1, m=1, time=1, payload=wire.event_payload(*events[k : k + 10_000])
            )
        )
    return _one_generation(version, bs)


QUADRATIC = {
    "threads waiting in reverse": (_threads_waiting_in_reverse, 20_000, 300),
    "abandoned syscalls scanning threads": (_abandoned_syscalls_scanning_threads, 20_000, 2000),
    "open ranges on one goroutine": (_open_ranges_on_one_goroutine, 10_000, 300),
}


@pytest.mark.parametrize("case", list(QUADRATIC))
def test_time_stays_linear_on_input_that_makes_ordering_quadratic(case: str) -> None:
    # Go's parser takes time quadratic in the input size on these (~5 s for
    # 8000 threads waiting in reverse, 4x per doubling); we give up after work
    # linear in the input size, with an error saying why.
    make, n, few = QUADRATIC[case]
    took = []
    for k in (n, 4 * n):
        data = make(k)
        t = time.perf_counter()
        out = read(data, f"{case}, n={k}")
        took.append(time.perf_counter() - t)
        assert out.error is not None and "giving up after" in str(out.error), out
        assert out.error.generation == 1
    # 4x the input: 4x the time (quadratic would be 16x), with room for noise.
    assert took[1] < 8 * took[0] + 0.5, took
    assert took[1] < 30, took
    # Small: cheap enough to finish, and the same as Go.
    assert_matches_go(make(few), f"{case}, n={few}")


_RSS_PROBE = textwrap.dedent(
    """
    import resource, sys, warnings
    import gotrace_df as gt
    warnings.simplefilter("ignore")
    path = sys.argv[1]
    try:
        gt.read_trace(path, progress=False)
    except gt.TraceError as e:
        print("error:", e)
    print("maxrss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def _peak_rss_kib(path: Path) -> tuple[int, str]:
    p = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(path)], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    return int(lines[-1].split()[1]), "\n".join(lines[:-1])


def _gigabyte_claims(version: int, gens: int) -> bytes:
    """Generations whose headers and tables claim gigabytes: string and stack
    IDs doubling up to 2^63 (a table indexed by ID would need exabytes), stacks
    with 128 frames of 2^63-ish PCs, goroutines, Ps and threads numbered near
    2^63, batch sizes and string lengths at their limits, and a final batch
    claiming 64 KiB that is not there."""
    bs: list[wire.Batch] = []
    for gen in range(1, gens + 1):
        strings = _strings(*(((1 << k) - 1, b"s%d" % k) for k in range(1, 64)))
        frames = [((1 << 62) + 17 * i, (1 << (i % 62 + 1)) - 1, 1, i) for i in range(128)]
        # Batches hold at most 64 KiB: the stacks take four.
        stacks = [
            _stacks(*(((1 << k) - 1, frames) for k in range(lo, min(lo + 16, 64))))
            for lo in range(1, 64, 16)
        ]
        events = []
        for i in range(200):
            g = (1 << 62) + i
            events.append((wire.EV_GO_STATUS, 1, [g, wire.NO_ID, 4]))
        bs += [
            wire.Batch("batch", gen=gen, m=wire.NO_ID, time=gen, payload=_sync_payload(version)),
            wire.Batch("batch", gen=gen, m=wire.NO_ID, time=gen, payload=strings),
            *(wire.Batch("batch", gen=gen, m=wire.NO_ID, time=gen, payload=p) for p in stacks),
            wire.Batch(
                "batch", gen=gen, m=(1 << 63) + gen, time=gen, payload=wire.event_payload(*events)
            ),
        ]
        if version >= 26:
            bs.append(wire.Batch("eog"))
    bs.append(wire.Batch("batch", gen=gens + 1, m=1, time=1, payload=b"\x25", claimed_size=65536))
    return wire.join(_header(version), bs)


def test_memory_stays_bounded_on_gigabyte_claims(tmp_path: Path) -> None:
    base_file = tmp_path / "tiny.trace"
    base_file.write_bytes(trace_bytes("go1.26/gomaxprocs"))
    base, _ = _peak_rss_kib(base_file)
    hostile = tmp_path / "claims.trace"
    data = _gigabyte_claims(26, gens=3)
    hostile.write_bytes(data)
    peak, said = _peak_rss_kib(hostile)
    grew = (peak - base) * 1024
    # The tables of a real trace take ~30 bytes per input byte; the claims
    # here are over 2^40 times the input.
    assert grew <= 64 * len(data) + (16 << 20), (grew, len(data), said)


@pytest.mark.parametrize("version", FORMATS)
def test_gigabyte_claims_match_go(version: int) -> None:
    data = _gigabyte_claims(version, gens=2)
    out = assert_matches_go(data, f"{version}: gigabyte claims")
    assert out.trace is not None and out.warning is not None
    assert out.trace.generations == 2


def test_damage_helpers_round_trip() -> None:
    for spec in ALL_SMALL:
        data = trace_bytes(spec)
        header, batches = wire.split(data)
        assert wire.join(header, batches) == data
        classes = truncation_classes(data)
        offsets = sorted(o for offs in classes.values() for o in offs)
        assert offsets == list(range(len(data) + 1))
    assert damage.go_keeps(trace_bytes("go1.22/gomaxprocs")).error is None
    assert go_keeps(b"").kept is None


# -- the old format (Go 1.11-1.21) -----------------------------------------------


@pytest.mark.parametrize("spec", OLD, ids=_ids(OLD))
def test_old_format_truncation(spec: str) -> None:
    """No generations to fall back on: a cut trace is an error (mostly: the
    frequency and stacks come last), or, cut where Go still reads a whole
    trace, the same events as Go's."""
    data = trace_bytes(spec)
    errors = 0
    for cut in [*range(0, len(data), CUT_STRIDE), len(data) - 1]:
        out = assert_matches_go_old(data[:cut], f"{spec} cut at {cut}")
        errors += out.error is not None
    assert errors > 0


def _old(*events: bytes, version: int = 21) -> bytes:
    """An old-format trace: header, then P 0's batch of `events`."""
    batch = bytes([wire_v1(1, 2)]) + wire.uvarint(0) + wire.uvarint(1)
    return _header(version) + batch + b"".join(events)


def wire_v1(typ: int, nargs: int) -> int:
    """An old event's first byte: its type and how many arguments follow (the
    timestamp counts; 4 means "length-prefixed")."""
    return typ | (min(nargs, 4) - 1) << 6


@pytest.mark.parametrize(
    ("damage", "data", "message"),
    [
        ("event type 63", _old(bytes([63])), "unknown event type 63"),
        ("event type 0", _old(bytes([0])), "unknown event type 0"),
        # A CPU sample in a format that has none yet.
        ("event type of a newer format", _old(bytes([49]), version=11), "unknown event type 49"),
        (
            "GoStart with one argument",
            _old(bytes([wire_v1(14, 1)]) + wire.uvarint(5)),
            "GoStart has wrong number of arguments: want 3, got 1",
        ),
        (
            "a batch with three arguments",
            _old(bytes([wire_v1(1, 3)]) + wire.uvarint(0) * 3),
            "EvBatch has wrong number of arguments",
        ),
        (
            "arguments claiming 2^40 bytes",
            _old(bytes([wire_v1(13, 4)]) + wire.uvarint(1 << 40)),
            "length-prefixed argument too big",
        ),
        (
            "a stack of 2^40 frames",
            _old(
                bytes([wire_v1(3, 4)]) + wire.uvarint(7) + wire.uvarint(1) + wire.uvarint(1 << 40)
            ),
            "EvStack has bad number of frames",
        ),
        (
            "a stack of 3 frames with one",
            _old(bytes([wire_v1(3, 4)]) + wire.uvarint(6) + b"\x01\x03\x01\x01\x01\x01"),
            "EvStack has wrong number of arguments: want 14, got 6",
        ),
        (
            "a string of 2^40 bytes",
            _old(bytes([37]) + wire.uvarint(1) + wire.uvarint(1 << 40)),
            "string has too large length",
        ),
        (
            "a string longer than the file",
            _old(bytes([37]) + wire.uvarint(1) + wire.uvarint(1000) + b"abc"),
            "unexpected EOF",
        ),
        ("a varint that never ends", _old(bytes([wire_v1(33, 2)]) + b"\x80" * 20), "varint"),
        ("no frequency", _old(), "no EvFrequency event"),
    ],
    ids=lambda x: x if isinstance(x, str) and " " in x else "",
)
def test_old_format_damage(damage: str, data: bytes, message: str) -> None:
    """Each is a TraceError saying what and where, as Go fails too."""
    out = assert_matches_go_old(data, damage)
    assert out.error is not None and message in str(out.error), (damage, out.error)


def test_old_format_ps_waiting_on_each_other() -> None:
    """One P's events merge one by one while 2,000 others wait for a goroutine
    state that never comes: rescanning them all after every event would be
    quadratic; the merge's work budget stops it, quickly."""

    def event(typ: int, *args: int) -> bytes:
        body = b"".join(wire.uvarint(a) for a in args)
        if len(args) <= 3:
            return bytes([wire_v1(typ, len(args))]) + body
        return bytes([wire_v1(typ, 4)]) + wire.uvarint(len(body)) + body

    def batch(p: int) -> bytes:
        return bytes([wire_v1(1, 2)]) + wire.uvarint(p) + wire.uvarint(1)

    heap = b"".join(event(33, 1, i) for i in range(20_000))  # HeapAlloc: always ready
    # GoUnblock of goroutine 7 at sequence 5: never ready.
    waiting = b"".join(batch(p) + event(21, 1, 7, 5, 0) for p in range(1, 2_001))
    data = _header(21) + batch(0) + event(2, 1_000_000) + heap + waiting
    t = time.perf_counter()
    out = read(data, "Ps waiting on each other")
    assert time.perf_counter() - t < 2
    assert out.error is not None and "keep waiting on each other" in str(out.error)
