"""Arrow columns as numpy arrays, for the passes that read them in Python (the
widgets' timeline model, the Perfetto export)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gotrace_df.frames import plain

__all__ = ["codes", "int_values", "primitive_values"]


def primitive_values(array: pa.Array, fill: int) -> npt.NDArray[Any]:
    """The values of a primitive (fixed-width) array as numpy, nulls as
    ``fill``: a view of Arrow's buffer, not a copy, when nothing is null."""
    dtype = np.dtype(array.type.to_pandas_dtype())
    raw = np.frombuffer(array.buffers()[1], dtype=dtype)[array.offset : array.offset + len(array)]
    if array.null_count:
        bitmap = np.frombuffer(array.buffers()[0], np.uint8)
        pos = np.arange(len(array)) + array.offset
        valid = (bitmap[pos >> 3] >> (pos & 7)) & 1
        raw = np.where(valid.astype(bool), raw, fill)
    return raw


def int_values(col: pa.ChunkedArray | pa.Array, fill: int = -1) -> npt.NDArray[np.int64]:
    """An integer column (an integer dictionary decoded) as int64 numpy,
    nulls as ``fill``."""
    col = plain(col)
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    parts = [primitive_values(ch, fill).astype(np.int64, copy=False) for ch in chunks if len(ch)]
    if not parts:
        return np.empty(0, np.int64)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def codes(col: pa.ChunkedArray | pa.Array, names: Iterable[str]) -> npt.NDArray[np.int8]:
    """A string column as positions in ``names`` (at most 127 of them), -1 for
    another value or null."""
    index = {n: i for i, n in enumerate(names)}
    if len(index) > 127:
        raise ValueError(f"{len(index)} names do not fit int8 codes")
    parts = []
    for chunk in col.chunks if isinstance(col, pa.ChunkedArray) else [col]:
        if len(chunk) == 0:
            continue
        if not pa.types.is_dictionary(chunk.type):
            chunk = pc.dictionary_encode(chunk)
        values = chunk.dictionary.to_pylist()
        lut = np.array([index.get(v, -1) for v in values] + [-1], np.int8)
        parts.append(lut[primitive_values(chunk.indices, len(values))])
    if not parts:
        return np.empty(0, np.int8)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
