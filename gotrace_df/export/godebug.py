"""The text dumps of ``go tool trace -d=parsed|wire|footprint``.

* :func:`write_parsed` prints every event the way Go's ``Event.String()`` does
  (``$(go env GOROOT)/src/internal/trace/event.go``, Go 1.26/1.27 format), one
  ``fmt.Println`` per event, from a :class:`~gotrace_df.Trace`. The lines are
  built a column at a time (``_text``), not per event.
* :func:`write_wire` prints the raw wire events (``internal/trace/raw``'s
  ``Event.String()``): batch headers, string and stack tables and every timed
  event with its arguments, read straight from the bytes with no checking.
* :func:`write_footprint` prints the bytes and counts per wire event type, the
  table ``go tool trace -d=footprint`` prints.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df.export import _text as T

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["write_parsed", "write_wire", "write_footprint", "WireError", "read_wire"]

_NO_TASK = str(2**64 - 1)
_CHUNK = 1 << 16


# -- -d=parsed ------------------------------------------------------------------


def _stack_texts(trace: Trace) -> list[str]:
    """printStack(prefix "\\t") of every stack, indexed by stack_id."""
    frames = trace.frames
    stacks = trace.stacks
    n = int(pc.max(stacks["stack_id"]).as_py() or 0) + 1 if stacks.num_rows else 0
    texts = [""] * n
    if frames.num_rows == 0:
        return texts
    f = frames.sort_by([("stack_id", "ascending"), ("depth", "ascending")])
    sid = f["stack_id"].to_numpy()
    pcs = f["pc"].to_pylist()
    func = f["function"].to_pylist()
    file = f["file"].to_pylist()
    line = f["line"].to_pylist()
    parts: dict[int, list[str]] = defaultdict(list)
    for i, s in enumerate(sid.tolist()):
        parts[s].append(f"\t{func[i]} @ 0x{pcs[i]:x}\n\t\t{file[i]}:{line[i]}\n")
    for s, p in parts.items():
        texts[s] = "".join(p)
    return texts


def _u64(a: pa.Array | pa.ChunkedArray, null: str = _NO_TASK) -> pa.Array:
    """Decimal text of int64 values read as Go's uint64 (null: ``null``)."""
    a = T.plain_array(a)
    valid = pc.is_valid(a)
    v = np.asarray(pc.fill_null(a, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    s = pc.cast(pa.array(v.view(np.uint64)), pa.string())
    out: pa.Array = pc.if_else(valid, s, null)
    return out


def _resource(res: pa.Array, rid: pa.Array) -> pa.Array:
    """ResourceID.String(): ``Goroutine(5)``, ``Proc(1)``, or ``None``."""
    kind = pc.fill_null(pc.cast(res, pa.string()), "None")
    full = T.concat(kind, "(", T.int_str(rid), ")")
    out: pa.Array = pc.if_else(pc.equal(kind, "None"), kind, full)
    return out


def _rfc3339nano(unix_ns: int) -> str:
    """Go's ``time.Unix(0, ns).Format(time.RFC3339Nano)`` in the local zone."""
    sec, nsec = divmod(unix_ns, 1_000_000_000)
    t = _dt.datetime.fromtimestamp(sec, tz=_dt.UTC).astimezone()
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if nsec:
        s += "." + f"{nsec:09d}".rstrip("0")
    off = t.utcoffset() or _dt.timedelta(0)
    if off == _dt.timedelta(0):
        return s + "Z"
    mins = int(off.total_seconds()) // 60
    sign = "+" if mins >= 0 else "-"
    mins = abs(mins)
    return f"{s}{sign}{mins // 60:02d}:{mins % 60:02d}"


def _lookup(idx: pa.Array, table: pa.Table, key: str) -> pa.Array:
    """Row of ``table`` whose ``key`` equals each of ``idx`` (null: none)."""
    out: pa.Array = pc.index_in(idx, value_set=T.plain_array(table[key]).cast(pa.int32()))
    return out


class _Parsed:
    """What the parsed dump needs beyond the events table, keyed by event row."""

    def __init__(self, trace: Trace) -> None:
        self.stacks = _stack_texts(trace)
        self.tasks = trace.tasks
        self.logs = trace.logs
        sweeps = trace.gc.filter(pc.is_valid(trace.gc["bytes_swept"]))
        self.sweeps = sweeps.filter(pc.is_valid(sweeps["end_event"]))
        self.syncs = {r["event"]: r for r in trace.syncs.to_pylist()}
        exp = trace.experimental
        self.exp_events = T.plain_array(exp["event"]).cast(pa.int32())
        # "arg=Value{Uint64(v)}" per argument row, grouped per event below.
        self.exp_pieces = T.concat(
            T.map_strings(exp["arg"], str), "=Value{Uint64(", T.int_str(exp["value"]), ")}"
        )

    def stack(self, ids: pa.Array) -> pa.Array:
        return T.take_text(self.stacks, ids)

    def detail(self, t: pa.Table, idx: pa.Array, kind: pa.Array) -> pa.Array:
        n = t.num_rows
        detail = pa.array([""] * n, pa.string())
        for k in pc.unique(kind).to_pylist():
            if k is None:
                continue
            mask = pc.equal(kind, k)
            sub = t.filter(mask)
            sidx = idx.filter(mask)
            text = self._kind(k, sub, sidx)
            if text is not None:
                detail = pc.replace_with_mask(detail, mask, text)
        return detail

    def _kind(self, k: str, t: pa.Table, idx: pa.Array) -> pa.Array | None:
        q = T.go_quote
        if k == "Sync":
            out = []
            for i, n in zip(idx.to_pylist(), t["value"].to_pylist()):
                s = self.syncs.get(i)
                text = f" N={n}"
                if s is not None and s["clock_trace"] is not None:
                    text += (
                        f" Trace={s['clock_trace']} Mono={s['clock_mono']} "
                        f"Wall={_rfc3339nano(s['clock_wall'])}"
                    )
                out.append(text)
            return pa.array(out, pa.string())
        if k == "Metric":
            return T.concat(
                " Name=",
                T.map_strings(t["name"], q),
                " Value=Value{Uint64(",
                _u64(t["value"], "0"),
                ")}",
            )
        if k == "Label":
            return T.concat(
                " Label=",
                T.map_strings(t["name"], q),
                " Resource=",
                _resource(T.plain_array(t["resource"]), T.plain_array(t["resource_id"])),
            )
        if k in ("RangeBegin", "RangeActive", "RangeEnd"):
            base = T.concat(
                " Name=",
                T.map_strings(t["name"], q),
                " Scope=",
                _resource(T.plain_array(t["resource"]), T.plain_array(t["resource_id"])),
            )
            if k != "RangeEnd":
                return base
            row = _lookup(idx, self.sweeps, "end_event")
            sw = T.plain_array(self.sweeps["bytes_swept"]).take(row)
            rc = T.plain_array(self.sweeps["bytes_reclaimed"]).take(row)
            attrs = T.concat(
                '"bytes swept"=Value{Uint64(',
                _u64(sw, "0"),
                ')} "bytes reclaimed"=Value{Uint64(',
                _u64(rc, "0"),
                ")}",
            )
            return T.concat(base, " Attributes=[", T.when(pc.is_valid(row), attrs), "]")
        if k in ("TaskBegin", "TaskEnd"):
            key = "start_event" if k == "TaskBegin" else "end_event"
            row = _lookup(idx, self.tasks, key)
            parent = T.plain_array(self.tasks["parent_id"]).take(row)
            return T.concat(
                " ID=",
                _u64(t["task_id"]),
                " Parent=",
                _u64(parent),
                " Type=",
                T.map_strings(t["name"], q),
            )
        if k in ("RegionBegin", "RegionEnd"):
            return T.concat(" Task=", _u64(t["task_id"]), " Type=", T.map_strings(t["name"], q))
        if k == "Log":
            row = _lookup(idx, self.logs, "event")
            cat = T.plain_array(self.logs["category"]).take(row)
            msg = T.plain_array(self.logs["message"]).take(row)
            return T.concat(
                " Task=",
                _u64(t["task_id"]),
                " Category=",
                T.map_strings(cat, q),
                " Message=",
                T.map_strings(msg, q),
            )
        if k == "StateTransition":
            res = pc.fill_null(pc.cast(T.plain_array(t["resource"]), pa.string()), "None")
            rid = T.int_str(t["resource_id"])
            states = T.concat(
                pc.fill_null(pc.cast(T.plain_array(t["from_state"]), pa.string()), "Bad"),
                "->",
                pc.fill_null(pc.cast(T.plain_array(t["to_state"]), pa.string()), "Bad"),
            )
            what = pc.if_else(
                pc.equal(res, "Goroutine"),
                T.concat(" GoID=", rid, " ", states),
                pc.if_else(pc.equal(res, "Proc"), T.concat(" ProcID=", rid, " ", states), ""),
            )
            ts = T.plain_array(t["transition_stack_id"])
            tstack = T.when(pc.is_valid(ts), T.concat("\nTransitionStack=\n", self.stack(ts)), "")
            return T.concat(what, " Reason=", T.map_strings(t["reason"], q), tstack)
        if k == "Experimental":
            return T.concat(
                " Name=", T.map_strings(t["name"], str), " Args=[", self._args(idx), "]"
            )
        return None

    def _args(self, idx: pa.Array) -> pa.Array:
        """ ", "-joined ``arg=Value{Uint64(v)}`` of each experimental event."""
        if len(self.exp_events) == 0:
            return pa.array([""] * len(idx), pa.string())
        ev = self.exp_events.to_numpy()
        want = np.asarray(idx.to_numpy(), dtype=np.int64)
        lo = np.searchsorted(ev, want, side="left")
        hi = np.searchsorted(ev, want, side="right")
        # The argument rows of each event are contiguous: concatenate the ranges.
        n = hi - lo
        first = np.cumsum(n) - n
        take = np.repeat(lo - first, n) + np.arange(int(n.sum()))
        pieces = self.exp_pieces.take(pa.array(take, pa.int64()))
        offsets = pa.array(np.concatenate([[0], np.cumsum(n)]).astype(np.int32))
        lists = pa.ListArray.from_arrays(offsets, pieces)
        out: pa.Array = pc.binary_join(lists, ", ")
        return out


def parsed_lines(trace: Trace) -> Iterator[pa.Array]:
    """The ``-d=parsed`` text, as string arrays of whole lines (with newlines)."""
    ev = trace.events
    aux = _Parsed(trace)
    for lo in range(0, max(ev.num_rows, 1), _CHUNK):
        t = ev.slice(lo, _CHUNK)
        if t.num_rows == 0:
            break
        idx = pa.array(np.arange(lo, lo + t.num_rows, dtype=np.int32))
        kind = pc.cast(T.plain_array(t["kind"]), pa.string())
        head = T.concat(
            "M=",
            T.int_str(t["m"]),
            " P=",
            T.int_str(t["p"]),
            " G=",
            T.int_str(t["g"]),
            " ",
            kind,
            " Time=",
            T.int_str(t["ts"]),
        )
        sid = T.plain_array(t["stack_id"])
        stack = T.when(pc.is_valid(sid), T.concat("\nStack=\n", aux.stack(sid)), "")
        yield T.concat(head, aux.detail(t, idx, kind), stack, "\n")


def write_parsed(trace: Trace, out: IO[bytes]) -> None:
    """Write ``go tool trace -d=parsed``'s output for ``trace`` to ``out``.

    Line for line what Go 1.26/1.27 print (``Event.String()`` of each event);
    older toolchains printed some fields differently.

    Examples
    --------
    >>> import io, gotrace_df as gt
    >>> from gotrace_df.export.godebug import write_parsed
    >>> buf = io.BytesIO()
    >>> write_parsed(gt.read_trace(gt.example_trace()), buf)
    >>> buf.getvalue().decode().splitlines()[0][:20]
    'M=-1 P=-1 G=-1 Sync '
    """
    T.write_text(out, parsed_lines(trace))


# -- the wire format (internal/trace/raw) ------------------------------------------


@dataclass(frozen=True)
class _Spec:
    name: str
    args: tuple[str, ...] = ()
    is_stack: bool = False
    has_data: bool = False


def _specs() -> list[_Spec]:
    """tracev2.Specs(): the event table of the newest format, indexed by type."""
    s = [_Spec("")] * 137
    table: dict[int, _Spec] = {
        1: _Spec("EventBatch", ("gen", "m", "time", "size")),
        2: _Spec("Stacks"),
        3: _Spec("Stack", ("id", "nframes"), is_stack=True),
        4: _Spec("Strings"),
        5: _Spec("String", ("id",), has_data=True),
        6: _Spec("CPUSamples"),
        7: _Spec("CPUSample", ("time", "m", "p", "g", "stack")),
        8: _Spec("Frequency", ("freq",)),
        9: _Spec("ProcsChange", ("dt", "procs_value", "stack")),
        10: _Spec("ProcStart", ("dt", "p", "p_seq")),
        11: _Spec("ProcStop", ("dt",)),
        12: _Spec("ProcSteal", ("dt", "p", "p_seq", "m")),
        13: _Spec("ProcStatus", ("dt", "p", "pstatus")),
        14: _Spec("GoCreate", ("dt", "new_g", "new_stack", "stack")),
        15: _Spec("GoCreateSyscall", ("dt", "new_g")),
        16: _Spec("GoStart", ("dt", "g", "g_seq")),
        17: _Spec("GoDestroy", ("dt",)),
        18: _Spec("GoDestroySyscall", ("dt",)),
        19: _Spec("GoStop", ("dt", "reason_string", "stack")),
        20: _Spec("GoBlock", ("dt", "reason_string", "stack")),
        21: _Spec("GoUnblock", ("dt", "g", "g_seq", "stack")),
        22: _Spec("GoSyscallBegin", ("dt", "p_seq", "stack")),
        23: _Spec("GoSyscallEnd", ("dt",)),
        24: _Spec("GoSyscallEndBlocked", ("dt",)),
        25: _Spec("GoStatus", ("dt", "g", "m", "gstatus")),
        26: _Spec("STWBegin", ("dt", "kind_string", "stack")),
        27: _Spec("STWEnd", ("dt",)),
        28: _Spec("GCActive", ("dt", "gc_seq")),
        29: _Spec("GCBegin", ("dt", "gc_seq", "stack")),
        30: _Spec("GCEnd", ("dt", "gc_seq")),
        31: _Spec("GCSweepActive", ("dt", "p")),
        32: _Spec("GCSweepBegin", ("dt", "stack")),
        33: _Spec("GCSweepEnd", ("dt", "swept_value", "reclaimed_value")),
        34: _Spec("GCMarkAssistActive", ("dt", "g")),
        35: _Spec("GCMarkAssistBegin", ("dt", "stack")),
        36: _Spec("GCMarkAssistEnd", ("dt",)),
        37: _Spec("HeapAlloc", ("dt", "heapalloc_value")),
        38: _Spec("HeapGoal", ("dt", "heapgoal_value")),
        39: _Spec("GoLabel", ("dt", "label_string")),
        40: _Spec("UserTaskBegin", ("dt", "task", "parent_task", "name_string", "stack")),
        41: _Spec("UserTaskEnd", ("dt", "task", "stack")),
        42: _Spec("UserRegionBegin", ("dt", "task", "name_string", "stack")),
        43: _Spec("UserRegionEnd", ("dt", "task", "name_string", "stack")),
        44: _Spec("UserLog", ("dt", "task", "key_string", "value_string", "stack")),
        45: _Spec("GoSwitch", ("dt", "g", "g_seq")),
        46: _Spec("GoSwitchDestroy", ("dt", "g", "g_seq")),
        47: _Spec("GoCreateBlocked", ("dt", "new_g", "new_stack", "stack")),
        48: _Spec("GoStatusStack", ("dt", "g", "m", "gstatus", "stack")),
        49: _Spec("ExperimentalBatch", ("exp", "gen", "m", "time"), has_data=True),
        50: _Spec("Sync"),
        51: _Spec("ClockSnapshot", ("dt", "mono", "sec", "nsec")),
        52: _Spec("EndOfGeneration"),
        128: _Spec("Span", ("dt", "id", "npages_value", "kindclass")),
        129: _Spec("SpanAlloc", ("dt", "id", "npages_value", "kindclass")),
        130: _Spec("SpanFree", ("dt", "id")),
        131: _Spec("HeapObject", ("dt", "id", "type")),
        132: _Spec("HeapObjectAlloc", ("dt", "id", "type")),
        133: _Spec("HeapObjectFree", ("dt", "id")),
        134: _Spec("GoroutineStack", ("dt", "id", "order")),
        135: _Spec("GoroutineStackAlloc", ("dt", "id", "order")),
        136: _Spec("GoroutineStackFree", ("dt", "id")),
    }
    s = list(s)
    for k, v in table.items():
        s[k] = v
    return s


_SPECS = _specs()
# version.Version.Specs(): each format knows a prefix of the table.
_VERSION_SPECS = {22: 45, 23: 50, 25: 52, 26: len(_SPECS)}
_HEADER = 16


class WireError(ValueError):
    """The bytes are not a readable trace at the wire level (message as Go's)."""


@dataclass
class WireEvent:
    """One raw wire event: its type, arguments (frames flattened in for stacks),
    trailing data, and its offset in the input."""

    type: int
    args: list[int]
    data: bytes | None
    offset: int


def _read_header(data: bytes | memoryview) -> tuple[int, int]:
    """(format version, number of specs) from the 16-byte header."""
    import re

    head = bytes(data[:_HEADER])
    m = re.fullmatch(rb"go 1\.(\d+) trace\x00\x00\x00", head)
    if m is None:
        raise WireError("bad file format: not a Go execution trace?")
    v = int(m.group(1))
    if v in (11, 19, 21):
        raise WireError(f"go 1.{v} traces are not in the v2 wire format")
    if v not in _VERSION_SPECS:
        raise WireError(f"unknown or unsupported trace version go 1.{v}")
    return v, _VERSION_SPECS[v]


def read_wire(data: bytes | memoryview) -> tuple[int, Iterator[WireEvent]]:
    """The format version and an iterator of raw events (``raw.Reader``).

    The iterator raises :class:`WireError` where Go's reader fails, after
    yielding every event before it.
    """
    version, nspecs = _read_header(data)
    buf = bytes(data) if not isinstance(data, bytes) else data
    return version, _events(buf, nspecs)


def _events(buf: bytes, nspecs: int) -> Iterator[WireEvent]:
    pos = _HEADER
    end = len(buf)

    def uvarint() -> int:
        nonlocal pos
        x = 0
        s = 0
        for i in range(10):
            if pos >= end:
                raise WireError("unexpected EOF" if i else "EOF")
            b = buf[pos]
            pos += 1
            if b < 0x80:
                if i == 9 and b > 1:
                    raise WireError("binary: varint overflows a 64-bit integer")
                return x | (b << s)
            x |= (b & 0x7F) << s
            s += 7
        raise WireError("binary: varint overflows a 64-bit integer")

    while pos < end:
        start = pos
        ev = buf[pos]
        pos += 1
        if ev >= nspecs or ev == 0:
            raise WireError(f"invalid event type: {ev}")
        spec = _SPECS[ev]
        args = [uvarint() for _ in spec.args]
        if spec.is_stack:
            for _ in range(args[1] * 4):
                args.append(uvarint())
        data: bytes | None = None
        if spec.has_data:
            n = uvarint()
            if pos + n > end:
                raise WireError("EOF")
            data = buf[pos : pos + n]
            pos += n
        yield WireEvent(ev, args, data, start)


_FRAME_FIELDS = ("pc", "func", "file", "line")


def _wire_string(e: WireEvent) -> str:
    spec = _SPECS[e.type]
    parts = [spec.name]
    for name, v in zip(spec.args, e.args):
        parts.append(f" {name}={v}")
    if spec.is_stack:
        frames = e.args[len(spec.args) :]
        for i, v in enumerate(frames):
            parts.append("\n\t" if i % 4 == 0 else " ")
            parts.append(f"{_FRAME_FIELDS[i % 4]}={v}")
    if e.data is not None:
        parts.append("\n\tdata=")
        parts.append(
            T.go_quote(e.data.decode("utf-8", "replace"))
            if _is_utf8(e.data)
            else _go_quote_bytes(e.data)
        )
    return "".join(parts)


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _go_quote_bytes(b: bytes) -> str:
    """strconv.Quote of a Go string holding arbitrary bytes: invalid UTF-8 bytes
    are written as \\xNN, valid sequences as Quote writes them."""
    out = ['"']
    i = 0
    n = len(b)
    while i < n:
        # Find the longest valid UTF-8 prefix starting at i, one rune at a time.
        c = b[i]
        width = (
            1 if c < 0x80 else 2 if c >> 5 == 6 else 3 if c >> 4 == 14 else 4 if c >> 3 == 30 else 0
        )
        chunk = b[i : i + width] if width else b""
        try:
            ch = chunk.decode("utf-8") if width else None
        except UnicodeDecodeError:
            ch = None
        if ch is None or len(ch) != 1:
            out.append(f"\\x{c:02x}")
            i += 1
            continue
        out.append(T.go_quote(ch)[1:-1])
        i += width
    out.append('"')
    return "".join(out)


def write_wire(data: bytes | memoryview, out: IO[bytes]) -> None:
    """Write ``go tool trace -d=wire``'s output: every raw wire event, one per
    line (stack frames and data on indented lines below their event).

    Raises :class:`WireError` (after writing every event before it) where
    Go's raw reader fails.
    """
    _, events = read_wire(data)
    batch: list[str] = []
    try:
        for e in events:
            batch.append(_wire_string(e))
            if len(batch) >= 4096:
                out.write(("\n".join(batch) + "\n").encode())
                batch.clear()
    finally:
        if batch:
            out.write(("\n".join(batch) + "\n").encode())


# -- -d=footprint ------------------------------------------------------------------


def _uvarint_len(v: int) -> int:
    n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


def footprint(data: bytes | memoryview) -> list[tuple[str, int, int]]:
    """(event type name, bytes, count) for all 256 type codes, in the order
    ``go tool trace -d=footprint`` prints them (bytes descending, ties in the
    order Go's unstable sort leaves them).

    Bytes are each event's minimal encoding: the type byte, its arguments as
    minimal varints and its data (the runtime's padded batch sizes not counted).
    """
    version, events = read_wire(data)
    nspecs = _VERSION_SPECS[version]
    count = [0] * 256
    size = [0] * 256
    for e in events:
        n = 1 + sum(_uvarint_len(a) for a in e.args)
        if e.data is not None:
            n += _uvarint_len(len(e.data)) + len(e.data)
        count[e.type] += 1
        size[e.type] += n
    stats = [(t, size[t], count[t]) for t in range(256)]
    _go_pdqsort(stats, lambda a, b: (b[1] > a[1]) - (b[1] < a[1]))
    out = []
    for t, b, c in stats:
        name = _SPECS[t].name if t < nspecs else f"<unknown ({t})>"
        out.append((name, b, c))
    return out


def write_footprint(data: bytes | memoryview, out: IO[bytes]) -> None:
    """Write ``go tool trace -d=footprint``'s table (same columns, order and
    layout: text/tabwriter with minwidth 3, padding 2)."""
    rows = footprint(data)
    total_bytes = len(data)
    total_events = sum(c for _, _, c in rows)
    cells = [["Event", "Bytes", "%", "Count", "%"], ["-", "-", "-", "-", "-"]]
    for name, b, c in rows:
        bp = b / total_bytes * 100 if total_bytes else float("nan")
        cp = c / total_events * 100 if total_events else float("nan")
        cells.append([name, str(b), _go_pct(bp), str(c), _go_pct(cp)])
    out.write(_tabwriter(cells, minwidth=3, padding=2).encode())


def _go_pct(v: float) -> str:
    if v != v:
        return "NaN%"
    return f"{v:.2f}%"


def _tabwriter(rows: list[list[str]], *, minwidth: int, padding: int) -> str:
    """text/tabwriter for lines whose every cell ends in a tab but the last:
    each column as wide as its widest cell plus padding (at least minwidth)."""
    ncols = max(len(r) for r in rows)
    widths = [0] * (ncols - 1)
    for r in rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(cell.encode()) if not cell.isascii() else len(cell))
    widths = [max(w + padding, minwidth) for w in widths]
    lines = []
    for r in rows:
        line = "".join(c + " " * (widths[i] - len(c)) for i, c in enumerate(r[:-1]))
        lines.append(line + r[-1] + "\n")
    return "".join(lines)


# Go's slices.SortFunc (pdqsort, not stable): the footprint rows tie on bytes,
# and their printed order is whatever this leaves.


def _go_pdqsort(data: list[Any], cmp: Any) -> None:
    n = len(data)
    limit = n.bit_length()
    _pdqsort(data, 0, n, limit, cmp)


def _insertion_sort(d: list[Any], a: int, b: int, cmp: Any) -> None:
    for i in range(a + 1, b):
        j = i
        while j > a and cmp(d[j], d[j - 1]) < 0:
            d[j], d[j - 1] = d[j - 1], d[j]
            j -= 1


def _sift_down(d: list[Any], lo: int, hi: int, first: int, cmp: Any) -> None:
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            return
        if child + 1 < hi and cmp(d[first + child], d[first + child + 1]) < 0:
            child += 1
        if not cmp(d[first + root], d[first + child]) < 0:
            return
        d[first + root], d[first + child] = d[first + child], d[first + root]
        root = child


def _heap_sort(d: list[Any], a: int, b: int, cmp: Any) -> None:
    first = a
    lo = 0
    hi = b - a
    for i in range((hi - 1) // 2, -1, -1):
        _sift_down(d, i, hi, first, cmp)
    for i in range(hi - 1, -1, -1):
        d[first], d[first + i] = d[first + i], d[first]
        _sift_down(d, lo, i, first, cmp)


def _pdqsort(d: list[Any], a: int, b: int, limit: int, cmp: Any) -> None:
    max_insertion = 12
    was_balanced = True
    was_partitioned = True
    while True:
        length = b - a
        if length <= max_insertion:
            _insertion_sort(d, a, b, cmp)
            return
        if limit == 0:
            _heap_sort(d, a, b, cmp)
            return
        if not was_balanced:
            _break_patterns(d, a, b)
            limit -= 1
        pivot, hint = _choose_pivot(d, a, b, cmp)
        if hint == _DECREASING:
            _reverse_range(d, a, b)
            pivot = (b - 1) - (pivot - a)
            hint = _INCREASING
        if was_balanced and was_partitioned and hint == _INCREASING:
            if _partial_insertion_sort(d, a, b, cmp):
                return
        if a > 0 and not cmp(d[a - 1], d[pivot]) < 0:
            mid = _partition_equal(d, a, b, pivot, cmp)
            a = mid
            continue
        mid, already = _partition(d, a, b, pivot, cmp)
        was_partitioned = already
        left_len, right_len = mid - a, b - mid
        balance_threshold = length // 8
        if left_len < right_len:
            was_balanced = left_len >= balance_threshold
            _pdqsort(d, a, mid, limit, cmp)
            a = mid + 1
        else:
            was_balanced = right_len >= balance_threshold
            _pdqsort(d, mid + 1, b, limit, cmp)
            b = mid


def _partition(d: list[Any], a: int, b: int, pivot: int, cmp: Any) -> tuple[int, bool]:
    d[a], d[pivot] = d[pivot], d[a]
    i, j = a + 1, b - 1
    while i <= j and cmp(d[i], d[a]) < 0:
        i += 1
    while i <= j and not cmp(d[j], d[a]) < 0:
        j -= 1
    if i > j:
        d[j], d[a] = d[a], d[j]
        return j, True
    d[i], d[j] = d[j], d[i]
    i += 1
    j -= 1
    while True:
        while i <= j and cmp(d[i], d[a]) < 0:
            i += 1
        while i <= j and not cmp(d[j], d[a]) < 0:
            j -= 1
        if i > j:
            break
        d[i], d[j] = d[j], d[i]
        i += 1
        j -= 1
    d[j], d[a] = d[a], d[j]
    return j, False


def _partition_equal(d: list[Any], a: int, b: int, pivot: int, cmp: Any) -> int:
    d[a], d[pivot] = d[pivot], d[a]
    i, j = a + 1, b - 1
    while True:
        while i <= j and not cmp(d[a], d[i]) < 0:
            i += 1
        while i <= j and cmp(d[a], d[j]) < 0:
            j -= 1
        if i > j:
            break
        d[i], d[j] = d[j], d[i]
        i += 1
        j -= 1
    return i


def _partial_insertion_sort(d: list[Any], a: int, b: int, cmp: Any) -> bool:
    max_steps = 5
    shortest_shifting = 50
    i = a + 1
    for _ in range(max_steps):
        while i < b and not cmp(d[i], d[i - 1]) < 0:
            i += 1
        if i == b:
            return True
        if b - a < shortest_shifting:
            return False
        d[i], d[i - 1] = d[i - 1], d[i]
        if i - a >= 2:
            j = i - 1
            while j >= 1:
                if not cmp(d[j], d[j - 1]) < 0:
                    break
                d[j], d[j - 1] = d[j - 1], d[j]
                j -= 1
        if b - i >= 2:
            j = i + 1
            while j < b:
                if not cmp(d[j], d[j - 1]) < 0:
                    break
                d[j], d[j - 1] = d[j - 1], d[j]
                j += 1
    return False


def _break_patterns(d: list[Any], a: int, b: int) -> None:
    length = b - a
    if length < 8:
        return
    mask64 = (1 << 64) - 1
    random = length  # xorshift seeded with the length
    modulus = 1 << length.bit_length()
    first = a + (length // 4) * 2 - 1
    for idx in range(first, first + 3):
        random ^= (random << 13) & mask64
        random ^= random >> 7
        random ^= (random << 17) & mask64
        other = random & (modulus - 1)
        if other >= length:
            other -= length
        d[idx], d[a + other] = d[a + other], d[idx]


_UNKNOWN, _INCREASING, _DECREASING = 0, 1, 2


def _choose_pivot(d: list[Any], a: int, b: int, cmp: Any) -> tuple[int, int]:
    shortest_ninther = 50
    max_swaps = 4 * 3
    length = b - a
    swaps = [0]
    i = a + length // 4 * 1
    j = a + length // 4 * 2
    k = a + length // 4 * 3
    if length >= 8:
        if length >= shortest_ninther:
            i = _median_adjacent(d, i, swaps, cmp)
            j = _median_adjacent(d, j, swaps, cmp)
            k = _median_adjacent(d, k, swaps, cmp)
        j = _median(d, i, j, k, swaps, cmp)
    if swaps[0] == 0:
        return j, _INCREASING
    if swaps[0] == max_swaps:
        return j, _DECREASING
    return j, _UNKNOWN


def _order2(d: list[Any], a: int, b: int, swaps: list[int], cmp: Any) -> tuple[int, int]:
    if cmp(d[b], d[a]) < 0:
        swaps[0] += 1
        return b, a
    return a, b


def _median(d: list[Any], a: int, b: int, c: int, swaps: list[int], cmp: Any) -> int:
    a, b = _order2(d, a, b, swaps, cmp)
    b, c = _order2(d, b, c, swaps, cmp)
    a, b = _order2(d, a, b, swaps, cmp)
    return b


def _median_adjacent(d: list[Any], a: int, swaps: list[int], cmp: Any) -> int:
    return _median(d, a - 1, a, a + 1, swaps, cmp)


def _reverse_range(d: list[Any], a: int, b: int) -> None:
    i, j = a, b - 1
    while i < j:
        d[i], d[j] = d[j], d[i]
        i += 1
        j -= 1
