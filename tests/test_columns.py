"""gotrace_df._columns: Arrow columns as numpy, on the events table's own
encodings (integer dictionaries, string dictionaries, nulls, chunks)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import gotrace_df as gt
from gotrace_df._columns import codes, int_values


def test_int_values_decode_dictionaries_and_fill_nulls() -> None:
    tr = gt.read_trace(gt.example_trace())
    m = tr.events["m"]  # thread IDs: an integer dictionary, with nulls
    assert pa.types.is_dictionary(m.type) and m.null_count
    want = np.array([-7 if v is None else v for v in m.to_pylist()], np.int64)
    np.testing.assert_array_equal(int_values(m, fill=-7), want)
    chunked = pa.chunked_array([pa.array([1, None], pa.int32()), pa.array([], pa.int32()), [3]])
    np.testing.assert_array_equal(int_values(chunked), [1, -1, 3])


def test_codes_of_plain_and_dictionary_strings() -> None:
    names = ["Running", "Waiting"]
    plain = pa.array(["Waiting", None, "Running", "Syscall"])
    np.testing.assert_array_equal(codes(plain, names), [1, -1, 0, -1])
    np.testing.assert_array_equal(
        codes(pa.chunked_array([plain.dictionary_encode()]), names), [1, -1, 0, -1]
    )
    with pytest.raises(ValueError, match="int8"):
        codes(plain, [str(i) for i in range(200)])
