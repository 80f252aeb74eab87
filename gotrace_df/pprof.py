"""pprof files (``profile.proto``, gzipped) without a protobuf dependency.

:func:`to_pprof` writes a blocking profile the way ``go tool trace
-pprof=TYPE`` does (``traceviewer.BuildProfile``): sample types
``contentions/count`` and ``delay/nanoseconds``, period type ``trace/count``
with period 1, one location per PC with a single line (the trace's frames are
already logical, so no inline expansion), one function per (file, name), IDs
from 1, string table entry 0 empty, gzip with mtime 0 (the same profile gives
the same bytes). :func:`read_pprof` reads any pprof file back.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd

__all__ = ["DIFF_BASE_LABEL", "read_pprof", "to_pprof"]


# -- encoding ---------------------------------------------------------------


def _varint(v: int, out: bytearray) -> None:
    v &= (1 << 64) - 1  # negative int64 values take ten bytes, as in protobuf
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _key(field: int, wire: int, out: bytearray) -> None:
    _varint(field << 3 | wire, out)


def _uint(field: int, v: int, out: bytearray) -> None:
    """A varint field, left out when zero (proto3 default)."""
    if v:
        _key(field, 0, out)
        _varint(v, out)


def _bytes(field: int, data: bytes | bytearray, out: bytearray) -> None:
    _key(field, 2, out)
    _varint(len(data), out)
    out += data


def _packed(field: int, values: Iterable[int], out: bytearray) -> None:
    body = bytearray()
    for v in values:
        _varint(v, body)
    if body:
        _bytes(field, body, out)


class _Strings:
    def __init__(self) -> None:
        self.index: dict[str, int] = {"": 0}
        self.table: list[str] = [""]

    def __call__(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.table)
            self.table.append(s)
        return i


def _value_type(strings: _Strings, typ: str, unit: str) -> bytearray:
    b = bytearray()
    _uint(1, strings(typ), b)
    _uint(2, strings(unit), b)
    return b


#: The label ``go tool pprof -diff_base`` puts on the base profile's samples.
DIFF_BASE_LABEL = ("pprof::base", "true")


def to_pprof(
    profile: pd.DataFrame,
    path: str | os.PathLike[str] | None = None,
    *,
    base: pd.DataFrame | None = None,
) -> bytes:
    """A blocking profile as a gzipped pprof file (``go tool pprof`` reads it).

    Parameters
    ----------
    profile
        A :func:`gotrace_df.blocking_profile` result (columns ``count``,
        ``delay_ns`` and ``frames``; other columns are ignored, so a filtered
        or edited frame works too).
    path
        Also write the bytes to this file.
    base
        Another profile to subtract, as ``go tool pprof -diff_base`` does:
        its samples follow with their values negated and the label
        ``pprof::base=true``, so pprof shows ``profile - base`` and takes
        its percentages of ``base``'s total.

    Returns
    -------
    bytes
        The gzipped ``profile.proto`` message: one sample per row, values
        ``[count, delay_ns]``, locations innermost first.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> data = gt.to_pprof(gt.blocking_profile(tr, "sched"))
    >>> data[:2] == b"\\x1f\\x8b"
    True
    >>> back = gt.read_pprof(data)
    >>> int(back["delay"].sum()) == int(gt.blocking_profile(tr, "sched")["delay_ns"].sum())
    True
    """
    strings = _Strings()
    body = bytearray()
    # Sample types first, then the samples (Go's field order).
    _bytes(1, _value_type(strings, "contentions", "count"), body)
    _bytes(1, _value_type(strings, "delay", "nanoseconds"), body)
    # A location per PC, as Go builds them; with a base (another binary, maybe)
    # one PC may be another frame there.
    locations: dict[tuple[int, str, str, int], int] = {}
    loc_msgs: list[bytearray] = []
    functions: dict[tuple[str, str], int] = {}
    fn_msgs: list[bytearray] = []
    parts = [(profile, 1, b"")]
    if base is not None:
        label = bytearray()
        _uint(1, strings(DIFF_BASE_LABEL[0]), label)
        _uint(2, strings(DIFF_BASE_LABEL[1]), label)
        parts.append((base, -1, bytes(label)))
    rows = (
        (sign, labels, count, delay, frames)
        for part, sign, labels in parts
        for count, delay, frames in zip(part["count"], part["delay_ns"], part["frames"])
    )
    for sign, labels, count, delay, frames in rows:
        ids: list[int] = []
        for f in frames:
            pc = int(f["pc"])
            where = (pc, str(f["function"]), str(f["file"]), int(f["line"]))
            loc = locations.get(where)
            if loc is None:
                key = (str(f["file"]), str(f["function"]))
                fid = functions.get(key)
                if fid is None:
                    fid = functions[key] = len(fn_msgs) + 1
                    fm = bytearray()
                    _uint(1, fid, fm)
                    name = strings(key[1])
                    _uint(2, name, fm)
                    _uint(3, name, fm)  # system_name
                    _uint(4, strings(key[0]), fm)
                    fn_msgs.append(fm)
                loc = locations[where] = len(loc_msgs) + 1
                line = bytearray()
                _uint(1, fid, line)
                _uint(2, int(f["line"]), line)
                lm = bytearray()
                _uint(1, loc, lm)
                _uint(3, pc, lm)
                _bytes(4, line, lm)
                loc_msgs.append(lm)
            ids.append(loc)
        sm = bytearray()
        _packed(1, ids, sm)
        _packed(2, [sign * int(count), sign * int(delay)], sm)
        if labels:
            _bytes(3, labels, sm)
        _bytes(2, sm, body)
    for lm in loc_msgs:
        _bytes(4, lm, body)
    for fm in fn_msgs:
        _bytes(5, fm, body)
    period_type = _value_type(strings, "trace", "count")
    for s in strings.table:
        _bytes(6, s.encode(), body)
    _bytes(11, period_type, body)
    _uint(12, 1, body)
    data = gzip.compress(bytes(body), mtime=0)
    if path is not None:
        with open(path, "wb") as fh:
            fh.write(data)
    return data


# -- decoding ---------------------------------------------------------------


def _read_varint(b: bytes, i: int) -> tuple[int, int]:
    shift = v = 0
    while True:
        if i >= len(b):
            raise ValueError("truncated varint in pprof data")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long in pprof data")


def _fields(b: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field, wire type, value): ints for varints, bytes for the rest."""
    i = 0
    while i < len(b):
        key, i = _read_varint(b, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(b, i)
            yield field, wire, v
        elif wire == 2:
            n, i = _read_varint(b, i)
            if i + n > len(b):
                raise ValueError("truncated field in pprof data")
            yield field, wire, b[i : i + n]
            i += n
        elif wire == 1:
            yield field, wire, b[i : i + 8]
            i += 8
        elif wire == 5:
            yield field, wire, b[i : i + 4]
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wire} in pprof data")


def _ints(wire: int, v: Any) -> list[int]:
    """A repeated integer field: packed (bytes) or one varint."""
    if wire == 0:
        return [int(v)]
    out = []
    i = 0
    while i < len(v):
        x, i = _read_varint(v, i)
        out.append(x)
    return out


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def read_pprof(data: bytes | str | os.PathLike[str]) -> pd.DataFrame:
    """Read a pprof file (gzipped or not; e.g. ``go tool trace -pprof=sched``).

    Parameters
    ----------
    data
        The file's bytes, or its path.

    Returns
    -------
    pandas.DataFrame
        One row per sample: one column per sample type (e.g. ``contentions``
        and ``delay``), then ``frames``: the sample's locations' lines, innermost
        first, as dicts ``pc``, ``function``, ``file``, ``line``. ``attrs``
        holds ``sample_types`` [(type, unit)], ``period_type`` and ``period``.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> df = gt.read_pprof(gt.to_pprof(gt.blocking_profile(tr, "sync")))
    >>> df.attrs["sample_types"]
    [('contentions', 'count'), ('delay', 'nanoseconds')]
    """
    if not isinstance(data, bytes | bytearray):
        with open(data, "rb") as fh:
            data = fh.read()
    raw = bytes(data)
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    strings: list[str] = []
    sample_types: list[tuple[int, int]] = []
    samples: list[tuple[list[int], list[int]]] = []
    locations: dict[int, tuple[int, list[tuple[int, int]]]] = {}
    functions: dict[int, tuple[int, int]] = {}
    period_type = (0, 0)
    period = 0

    def value_type(b: bytes) -> tuple[int, int]:
        t = u = 0
        for f, _, v in _fields(b):
            if f == 1:
                t = v
            elif f == 2:
                u = v
        return t, u

    for field, _wire, v in _fields(raw):
        if field == 1:
            sample_types.append(value_type(v))
        elif field == 2:
            locs: list[int] = []
            vals: list[int] = []
            for f, w, x in _fields(v):
                if f == 1:
                    locs += _ints(w, x)
                elif f == 2:
                    vals += [_signed(y) for y in _ints(w, x)]
            samples.append((locs, vals))
        elif field == 4:
            lid = addr = 0
            lines: list[tuple[int, int]] = []
            for f, _, x in _fields(v):
                if f == 1:
                    lid = x
                elif f == 3:
                    addr = x
                elif f == 4:
                    fid = ln = 0
                    for g, _, y in _fields(x):
                        if g == 1:
                            fid = y
                        elif g == 2:
                            ln = _signed(y)
                    lines.append((fid, ln))
            locations[lid] = (addr, lines)
        elif field == 5:
            fid = name = fname = 0
            for f, _, x in _fields(v):
                if f == 1:
                    fid = x
                elif f == 2:
                    name = x
                elif f == 4:
                    fname = x
            functions[fid] = (name, fname)
        elif field == 6:
            strings.append(v.decode())
        elif field == 11:
            period_type = value_type(v)
        elif field == 12:
            period = _signed(v)

    def s(i: int) -> str:
        return strings[i] if 0 <= i < len(strings) else ""

    types = [(s(t), s(u)) for t, u in sample_types]
    cols: dict[str, list[Any]] = {t: [] for t, _ in types}
    frames_col: list[list[dict[str, Any]]] = []
    for locs, vals in samples:
        for (t, _), val in zip(types, vals):
            cols[t].append(val)
        frames: list[dict[str, Any]] = []
        for lid in locs:
            addr, lines = locations.get(lid, (0, []))
            # pprof lists a location's inlined lines innermost first too.
            for fid, ln in lines:
                name, fname = functions.get(fid, (0, 0))
                frames.append({"pc": addr, "function": s(name), "file": s(fname), "line": ln})
        frames_col.append(frames)
    df = pd.DataFrame({**cols, "frames": frames_col})
    df.attrs["sample_types"] = types
    df.attrs["period_type"] = (s(period_type[0]), s(period_type[1]))
    df.attrs["period"] = period
    return df
