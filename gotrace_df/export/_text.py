"""Column-at-a-time text building with pyarrow.compute, for the text exports.

Every output line (or JSON object) is built as one element of a string array by
concatenating columns and literals, so no Python code runs per event; Python
only formats the distinct values of dictionary columns and stacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df.frames import plain

# A string literal or a string column (pyarrow is untyped: Any).
Part = Any

__all__ = [
    "concat",
    "int_str",
    "map_strings",
    "plain_array",
    "go_quote",
    "json_str",
    "take_text",
    "write_text",
    "us",
    "when",
]


def plain_array(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``a`` as one array, an integer dictionary decoded (:func:`frames.plain`)."""
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks() if a.num_chunks != 1 else a.chunk(0)
    return plain(a)


def concat(*parts: Part) -> pa.Array:
    """Element-wise concatenation of string arrays and literals (nulls must be
    filled first: a null anywhere makes the element null)."""
    args: list[Any] = []
    for p in parts:
        args.append(p if isinstance(p, str) else plain_array(p))
    if not any(not isinstance(a, str) for a in args):
        raise ValueError("concat needs at least one array")
    out: pa.Array = pc.binary_join_element_wise(*args, "")
    return out


def int_str(a: pa.Array | pa.ChunkedArray, null: int = -1) -> pa.Array:
    """Decimal text of an integer column, nulls written as ``null``."""
    a = plain_array(a)
    if a.null_count:
        a = pc.fill_null(a, pa.scalar(null, a.type))
    out: pa.Array = pc.cast(a, pa.string())
    return out


def us(ns: pa.Array | pa.ChunkedArray | np.ndarray[Any, Any]) -> pa.Array:
    """Microseconds with three decimals (exact ns) from int64 ns >= 0."""
    v = np.asarray(ns, dtype=np.int64)
    q = pa.array(v // 1000)
    r = pa.array(v % 1000)
    return concat(pc.cast(q, pa.string()), ".", pc.utf8_lpad(pc.cast(r, pa.string()), 3, "0"))


def map_strings(
    a: pa.Array | pa.ChunkedArray, fn: Callable[[str], str], null: str = ""
) -> pa.Array:
    """Apply ``fn`` to each distinct value of a (dictionary or plain) string column."""
    a = plain_array(a)
    if pa.types.is_dictionary(a.type):
        indices, values = a.indices, a.dictionary
    else:
        enc = pc.dictionary_encode(a)
        indices, values = enc.indices, enc.dictionary
    mapped = pa.array([fn(v) for v in values.to_pylist()] + [fn(null)], pa.string())
    idx = pc.fill_null(pc.cast(indices, pa.int64()), len(values))
    out: pa.Array = mapped.take(idx)
    return out


def take_text(texts: list[str], ids: pa.Array | pa.ChunkedArray, missing: str = "") -> pa.Array:
    """``texts[id]`` for each id (ids index ``texts``); nulls give ``missing``."""
    table = pa.array([*texts, missing], pa.string())
    ids = plain_array(ids)
    idx = pc.fill_null(pc.cast(ids, pa.int64()), len(texts))
    out: pa.Array = table.take(idx)
    return out


def when(mask: pa.Array, yes: Part, no: Part = "") -> pa.Array:
    """``yes`` where ``mask`` else ``no`` (strings or arrays)."""
    y = pa.scalar(yes, pa.string()) if isinstance(yes, str) else plain_array(yes)
    n = pa.scalar(no, pa.string()) if isinstance(no, str) else plain_array(no)
    out: pa.Array = pc.if_else(mask, y, n)
    return out


def write_text(out: IO[bytes], pieces: Iterable[pa.Array], sep: str = "") -> None:
    """Write each element of each array followed by ``sep``, straight from the
    arrays' data buffers."""
    for arr in pieces:
        if len(arr) == 0:
            continue
        if sep:
            arr = concat(arr, sep)
        if arr.null_count:
            arr = pc.fill_null(arr, "")
        if arr.type != pa.string():
            arr = arr.cast(pa.string())
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[
            arr.offset : arr.offset + len(arr) + 1
        ]
        data = arr.buffers()[2]
        out.write(memoryview(data)[int(offsets[0]) : int(offsets[-1])])


# -- quoting --------------------------------------------------------------------

_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote`` (what ``%q`` prints for a string)."""
    out = ['"']
    for ch in s:
        esc = _GO_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch == "\ufffd":
            # Invalid UTF-8 arrives here as U+FFFD; Go prints a real U+FFFD as is.
            out.append(ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            c = ord(ch)
            if c < 0x20 or c == 0x7F:
                out.append(f"\\x{c:02x}")
            elif c < 0x10000:
                out.append(f"\\u{c:04x}")
            else:
                out.append(f"\\U{c:08x}")
    out.append('"')
    return "".join(out)


def json_str(s: str) -> str:
    """A JSON string literal."""
    import json

    return json.dumps(s)
