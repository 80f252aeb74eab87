"""The text dumps of ``go tool trace -d=parsed|wire|footprint``.

* :func:`write_parsed` prints every event the way Go's ``Event.String()`` does
  (``$(go env GOROOT)/src/internal/trace/event.go``, Go 1.26/1.27 format), one
  ``fmt.Println`` per event, from a :class:`~gotrace_df.Trace`. The lines are
  built a column at a time (``_text``), not per event.
* :func:`write_wire` prints the raw wire events (``internal/trace/raw``'s
  ``Event.String()``): batch headers, string and stack tables and every timed
  event with its arguments, as the core's raw reader reads them.
* :func:`write_footprint` prints the bytes and counts per wire event type, the
  table ``go tool trace -d=footprint`` prints.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df import _core
from gotrace_df._errors import TraceError
from gotrace_df.export import _text as T
from gotrace_df.frames import end_parents

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["write_parsed", "write_wire", "write_footprint", "RawEvents", "read_wire"]

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
        self.end_parents = end_parents(self.tasks, trace.converted)
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
            parents = self.tasks["parent_id"] if k == "TaskBegin" else self.end_parents
            parent = T.plain_array(parents).take(row)
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
    args: tuple[str, ...]
    is_stack: bool
    has_data: bool


# tracev2.Specs(): the core's event table of the newest format, indexed by type.
_SPECS = [_Spec(n, tuple(a), s, d) for n, a, s, d in _core.raw_specs()]
_FRAME_FIELDS = ("pc", "func", "file", "line")


@dataclass(frozen=True)
class RawEvents:
    """A run of a trace's raw wire events (``raw.Reader``), read by the core.

    ``events`` has one row per event: ``type``, ``offset``, ``size`` (Go's
    ``EncodedSize``), ``args`` (stack frames flattened in) and ``data``.
    ``error`` is the :class:`~gotrace_df.TraceError` where Go's reader fails,
    after those events (its message is Go's, its ``offset`` the event's).
    """

    version: int
    num_specs: int
    events: pa.Table
    error: TraceError | None


def read_wire(data: bytes) -> Iterator[RawEvents]:
    """The raw wire events of ``data`` in runs of up to 65536, so that memory
    stays bounded; the last run carries the error, if any. A bad header
    raises TraceError."""
    start: int | None = 0
    while start is not None:
        r = _core.read_raw(data, start, _CHUNK)
        yield RawEvents(r["version"], r["num_specs"], pa.table(r["events"]), r["error"])
        start = r["next"]


def _wire_string(t: int, args: list[int], data: bytes | None) -> str:
    spec = _SPECS[t]
    parts = [spec.name]
    for name, v in zip(spec.args, args):
        parts.append(f" {name}={v}")
    if spec.is_stack:
        frames = args[len(spec.args) :]
        for i, v in enumerate(frames):
            parts.append("\n\t" if i % 4 == 0 else " ")
            parts.append(f"{_FRAME_FIELDS[i % 4]}={v}")
    if data is not None:
        parts.append("\n\tdata=")
        parts.append(
            T.go_quote(data.decode("utf-8", "replace")) if _is_utf8(data) else _go_quote_bytes(data)
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


def write_wire(data: bytes, out: IO[bytes]) -> None:
    """Write ``go tool trace -d=wire``'s output: every raw wire event, one per
    line (stack frames and data on indented lines below their event).

    Raises :class:`~gotrace_df.TraceError` (after writing every event before
    it) where Go's raw reader fails.
    """
    for raw in read_wire(data):
        cols = [raw.events[k].to_pylist() for k in ("type", "args", "data")]
        lines = [_wire_string(t, a, d) for t, a, d in zip(*cols)]
        if lines:
            out.write(("\n".join(lines) + "\n").encode())
        if raw.error is not None:
            raise raw.error


# -- -d=footprint ------------------------------------------------------------------


def footprint(data: bytes) -> list[tuple[str, int, int]]:
    """(event type name, bytes, count) for all 256 type codes, in the order
    ``go tool trace -d=footprint`` prints them (bytes descending, ties in the
    order Go's unstable sort leaves them).

    Bytes are each event's minimal encoding (``EncodedSize``): the runtime's
    padded batch sizes are not counted. Raises TraceError where Go's reader
    fails.
    """
    count = np.zeros(256, np.int64)
    size = np.zeros(256, np.int64)
    num_specs = 0
    for raw in read_wire(data):
        if raw.error is not None:
            raise raw.error
        types = raw.events["type"].to_numpy()
        count += np.bincount(types, minlength=256)
        # float64 weights are exact: a run's bytes are far below 2**53.
        size += np.bincount(types, raw.events["size"].to_numpy(), 256).astype(np.int64)
        num_specs = raw.num_specs
    out = []
    for t in _core.sort_order(size.tolist(), descending=True):
        name = _SPECS[t].name if t < num_specs else f"<unknown ({t})>"
        out.append((name, int(size[t]), int(count[t])))
    return out


def write_footprint(data: bytes, out: IO[bytes]) -> None:
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
