"""The views' grouping helpers against numpy's own (slower) ways to the same
answers, on both of each helper's paths."""

from __future__ import annotations

import numpy as np
import pytest

from gotrace_df.views._common import factorize_ints, group_stats, group_sum

RNG = np.random.default_rng(7)


@pytest.mark.parametrize(
    "values",
    [
        RNG.integers(-5, 300, 10_000),  # a small span: the table over it
        RNG.integers(3, 300, 10_000).astype(np.int32),  # non-negative: indexed directly
        RNG.integers(0, 2**40, 1_000),  # a wide span: np.unique
        RNG.integers(-100, 100, 50).astype(np.int32),
        np.array([], dtype=np.int64),
        np.array([2**62, -(2**62)], dtype=np.int64),
        np.array([2**64 - 1, 2**64 - 3, 2**64 - 1], dtype=np.uint64),
    ],
)
def test_factorize_ints_is_unique_with_inverse(values: np.ndarray) -> None:
    uniq, inverse = factorize_ints(values)
    want_uniq, want_inverse = np.unique(values, return_inverse=True)
    assert uniq.dtype == values.dtype
    assert uniq.tolist() == want_uniq.tolist()
    assert inverse.tolist() == want_inverse.reshape(-1).tolist()
    alone, none = factorize_ints(values, inverse=False)
    assert alone.tolist() == want_uniq.tolist() and len(none) == 0


@pytest.mark.parametrize(
    "values",
    [
        RNG.integers(0, 10**9, 100_000),
        RNG.integers(2**50, 2**52, 5_000),  # sums past 2**53, where float64 rounds
        np.array([2**53 + 1, 1, -1], dtype=np.int64),
        np.array([-(2**63), 2**53, 1], dtype=np.int64),
    ],
)
def test_group_sum_is_exact(values: np.ndarray) -> None:
    codes = RNG.integers(0, 17, len(values))
    want = np.zeros(20, dtype=np.int64)
    np.add.at(want, codes, values)
    assert group_sum(codes, values, 20).tolist() == want.tolist()


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint32])
def test_group_sum_takes_any_integer_codes(dtype: type) -> None:
    codes, values = np.array([0, 2, 2, 1]), np.array([5, 7, 11, 2**62])
    want = np.zeros(3, dtype=np.int64)
    np.add.at(want, codes, values)
    assert group_sum(codes.astype(dtype), values, 3).tolist() == want.tolist()


@pytest.mark.parametrize("code", [-1, 3])
def test_group_sum_refuses_a_code_outside_the_groups(code: int) -> None:
    with pytest.raises(ValueError, match="group code"):
        group_sum(np.array([0, code]), np.array([1, 2]), 3)


@pytest.mark.parametrize(
    "values",
    [
        RNG.integers(-1_000, 10**6, 20_000),
        RNG.integers(-(2**62), 2**62, 2_000),  # wider than (group, value) packs
    ],
)
def test_group_stats_are_numpys(values: np.ndarray) -> None:
    groups = 9  # groups 3 and 8 stay empty, group 5 has one value
    codes = RNG.integers(0, groups - 1, len(values))
    codes[(codes == 3) | (codes == 5)] = 4
    codes[len(values) // 2] = 5
    st = group_stats(codes, values, groups)
    for g in range(groups):
        mine = values[codes == g]
        assert st.count[g] == len(mine)
        assert st.total[g] == mine.sum()
        if not len(mine):
            assert all(v.isna()[g] for v in st.order.values())
            continue
        assert st.order["min"][g] == mine.min() and st.order["max"][g] == mine.max()
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            assert st.order[name][g] == np.percentile(mine, q * 100, method="inverted_cdf")
    assert list(st.columns("d_")) == ["d_p50_ns", "d_p90_ns", "d_p99_ns", "d_max_ns"]


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16])
def test_group_stats_take_any_integer_codes(dtype: type) -> None:
    values = RNG.integers(0, 10**9, 5_000)
    codes = RNG.integers(0, 5, len(values))
    st = group_stats(codes.astype(dtype), values, 5)
    for g in range(5):
        mine = values[codes == g]
        assert (st.count[g], st.total[g], st.order["p90"][g]) == (
            len(mine),
            mine.sum(),
            np.percentile(mine, 90, method="inverted_cdf"),
        )


@pytest.mark.parametrize("code", [-1, 3])
def test_group_stats_refuse_a_code_outside_the_groups(code: int) -> None:
    with pytest.raises(ValueError, match="group code"):
        group_stats(np.array([0, code], dtype=np.int32), np.array([1, 2]), 3)
