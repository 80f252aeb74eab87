"""A small batch-level reader and writer for the Go trace wire format (v2, Go 1.22+).

Enough to take a trace apart into batches, damage it on purpose and put it back
together (the layout Go's reader parses: `internal/trace/batch.go`):

    header (16 bytes) | batch* [EndOfGeneration] | batch* [EndOfGeneration] | ...
    batch   = 0x01 gen m time size payload[size]
    expbatch= 0x31 exp(byte) gen m time size payload[size]
    EndOfGeneration (Go 1.26+) = the single byte 0x34

`split(data)` gives the header and a list of `Batch` records (EndOfGeneration
markers included, as `Batch(kind="eog")`); `join(header, batches)` writes them
back, byte-identical when nothing was changed (the original size-field encoding,
padded to 10 bytes by the runtime, is kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

HEADER_SIZE = 16

# Batch framing bytes.
EV_BATCH = 1
EV_EXPERIMENTAL_BATCH = 49
EV_END_OF_GENERATION = 52

# First payload byte of the special batches.
EV_STACKS = 2
EV_STACK = 3
EV_STRINGS = 4
EV_STRING = 5
EV_CPU_SAMPLES = 6
EV_CPU_SAMPLE = 7
EV_FREQUENCY = 8
EV_SYNC = 50
EV_CLOCK_SNAPSHOT = 51

# A few timed events, with their argument counts after dt.
EV_PROCS_CHANGE = 9  # procs, stack
EV_PROC_START = 10  # p, p_seq
EV_PROC_STATUS = 13  # p, pstatus
EV_GO_START = 16  # g, g_seq
EV_GO_UNBLOCK = 21  # g, g_seq, stack
EV_GO_STATUS = 25  # g, m, gstatus
EV_HEAP_ALLOC = 37  # value

NO_ID = (1 << 64) - 1


def uvarint(value: int, width: int = 0) -> bytes:
    """LEB128 encoding of `value`; `width` > 0 pads it to that many bytes, as the
    runtime pads batch sizes to 10."""
    assert 0 <= value < 1 << 64, value
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value == 0 and len(out) + 1 >= width:
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def read_uvarint(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    """(value, new position); ValueError at EOF or on an overlong varint."""
    x = 0
    for i in range(10):
        if pos + i >= len(data):
            raise ValueError(f"EOF in varint at {pos}")
        b = data[pos + i]
        x |= (b & 0x7F) << (7 * i)
        if b < 0x80:
            if i == 9 and b > 1:
                break
            return x, pos + i + 1
    raise ValueError(f"varint overflows at {pos}")


@dataclass
class Batch:
    """One batch as it sits in the file (or an EndOfGeneration marker)."""

    kind: str  # "batch", "exp" or "eog"
    gen: int = 0
    m: int = 0
    time: int = 0
    payload: bytes = b""
    exp: int = 0
    #: Byte offset of the batch's first byte in the file it was read from.
    offset: int = -1
    #: Width the size field had on disk (10 when written by the runtime).
    size_width: int = 10
    #: Overrides the size field (a lie about the payload length) when set.
    claimed_size: int | None = field(default=None)

    @property
    def role(self) -> str:
        """What the payload holds: strings, stacks, cpu, sync, events, exp or eog."""
        if self.kind != "batch":
            return self.kind
        first = self.payload[:1]
        return {
            bytes([EV_STRINGS]): "strings",
            bytes([EV_STACKS]): "stacks",
            bytes([EV_CPU_SAMPLES]): "cpu",
            bytes([EV_FREQUENCY]): "sync",
            bytes([EV_SYNC]): "sync",
        }.get(first, "events")

    def encode(self) -> bytes:
        if self.kind == "eog":
            return bytes([EV_END_OF_GENERATION])
        size = len(self.payload) if self.claimed_size is None else self.claimed_size
        head = (
            bytes([EV_BATCH]) if self.kind == "batch" else bytes([EV_EXPERIMENTAL_BATCH, self.exp])
        )
        return (
            head
            + uvarint(self.gen)
            + uvarint(self.m)
            + uvarint(self.time)
            + uvarint(size, self.size_width)
            + self.payload
        )

    @property
    def end(self) -> int:
        """Offset just past this batch in the file it was read from."""
        return self.offset + len(self.encode())

    @property
    def payload_offset(self) -> int:
        return self.end - len(self.payload)


def version(data: bytes | bytearray) -> int:
    """The header's minor version (22, 23, 25, 26)."""
    head = bytes(data[:HEADER_SIZE])
    assert head.startswith(b"go 1.") and head[7:13] == b" trace", head
    return int(head[5:7])


def iter_batches(data: bytes | bytearray) -> Iterator[Batch]:
    """Batches of a well-formed trace, in file order; ValueError where it breaks."""
    v = version(data)
    pos = HEADER_SIZE
    while pos < len(data):
        start = pos
        typ = data[pos]
        pos += 1
        if typ == EV_END_OF_GENERATION and v >= 26:
            yield Batch(kind="eog", offset=start)
            continue
        if typ not in (EV_BATCH, EV_EXPERIMENTAL_BATCH):
            raise ValueError(f"expected a batch at {start}, got byte {typ}")
        exp = 0
        if typ == EV_EXPERIMENTAL_BATCH:
            exp = data[pos]
            pos += 1
        gen, pos = read_uvarint(data, pos)
        m, pos = read_uvarint(data, pos)
        time, pos = read_uvarint(data, pos)
        size_at = pos
        size, pos = read_uvarint(data, pos)
        if pos + size > len(data):
            raise ValueError(f"batch at {start} runs past the end")
        yield Batch(
            kind="batch" if typ == EV_BATCH else "exp",
            gen=gen,
            m=m,
            time=time,
            payload=bytes(data[pos : pos + size]),
            exp=exp,
            offset=start,
            size_width=pos - size_at,
        )
        pos += size


def split(data: bytes | bytearray) -> tuple[bytes, list[Batch]]:
    return bytes(data[:HEADER_SIZE]), list(iter_batches(data))


def join(header: bytes, batches: Iterable[Batch]) -> bytes:
    return header + b"".join(b.encode() for b in batches)


def generations(batches: list[Batch]) -> list[list[Batch]]:
    """Batches grouped by generation, in file order (an EndOfGeneration marker
    goes with the generation it ends)."""
    out: list[list[Batch]] = []
    cur: list[Batch] = []
    gen: int | None = None
    for b in batches:
        if b.kind == "eog":
            cur.append(b)
            out.append(cur)
            cur, gen = [], None
            continue
        if gen is not None and b.gen != gen:
            out.append(cur)
            cur = []
        gen = b.gen
        cur.append(b)
    if cur:
        out.append(cur)
    return out


def renumber(gens: list[list[Batch]], first: int = 1) -> list[Batch]:
    """Flattens generations, numbering them first, first+1, ... in list order."""
    out: list[Batch] = []
    for i, g in enumerate(gens):
        out.extend(b if b.kind == "eog" else replace(b, gen=first + i) for b in g)
    return out


def event_payload(*events: tuple[int, int, Iterable[int]]) -> bytes:
    """An event batch payload from (type, dt, args) triples."""
    out = bytearray()
    for typ, dt, args in events:
        out.append(typ)
        out += uvarint(dt)
        for a in args:
            out += uvarint(a)
    return bytes(out)


# Arguments after dt of each timed event type (the spec's Args minus "dt").
EVENT_ARGS: dict[int, int] = {
    9: 2, 10: 2, 11: 0, 12: 3, 13: 2, 14: 3, 15: 1, 16: 2, 17: 0, 18: 0,
    19: 2, 20: 2, 21: 3, 22: 2, 23: 0, 24: 0, 25: 3, 26: 2, 27: 0, 28: 1,
    29: 2, 30: 1, 31: 1, 32: 1, 33: 2, 34: 1, 35: 1, 36: 0, 37: 1, 38: 1,
    39: 1, 40: 4, 41: 2, 42: 3, 43: 3, 44: 4, 45: 2, 46: 2, 47: 3, 48: 4,
    128: 3, 129: 3, 130: 1, 131: 2, 132: 2, 133: 1, 134: 2, 135: 2, 136: 1,
}  # fmt: skip


@dataclass
class Event:
    """One timed event of an event batch's payload."""

    typ: int
    dt: int
    args: list[int]
    #: Offset of its type byte in the payload.
    offset: int

    def encode(self) -> bytes:
        return bytes([self.typ]) + uvarint(self.dt) + b"".join(uvarint(a) for a in self.args)


def events(payload: bytes) -> list[Event]:
    """The events of an event batch's payload (ValueError if it does not decode)."""
    out: list[Event] = []
    pos = 0
    while pos < len(payload):
        start, typ = pos, payload[pos]
        if typ not in EVENT_ARGS:
            raise ValueError(f"unknown event type {typ} at {pos}")
        dt, pos = read_uvarint(payload, pos + 1)
        args = []
        for _ in range(EVENT_ARGS[typ]):
            a, pos = read_uvarint(payload, pos)
            args.append(a)
        out.append(Event(typ, dt, args, start))
    return out


def encode_events(evs: Iterable[Event]) -> bytes:
    return b"".join(e.encode() for e in evs)
