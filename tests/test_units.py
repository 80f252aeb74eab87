"""The text formats of gotrace_df.units: Go's Duration String checked against
Go itself, the display formats pinned."""

from __future__ import annotations

from pathlib import Path

from gotool import go_run

from gotrace_df.units import display_bytes, display_duration, go_duration

_DURATION_GO = """package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Split(bufio.ScanWords)
	for in.Scan() {
		n, err := strconv.ParseInt(in.Text(), 10, 64)
		if err != nil {
			panic(err)
		}
		fmt.Println(time.Duration(n).String())
	}
}
"""


def _durations() -> list[int]:
    """Every unit's edges, fractions with and without trailing zeros, and the
    int64 extremes."""
    out = {0, 1, 999, 1000, 1001, 1500, 1_584_893, 999_999_999, 10**9, 60 * 10**9 - 1}
    out |= {123_000_000_001, 3600 * 10**9, 3661 * 10**9 + 5, 2**63 - 1, -(2**63)}
    for e in range(19):
        out |= {10**e - 1, 10**e, 10**e + 1, 7 * 10**e + 30}
    out |= {-n for n in list(out) if n != -(2**63)}
    return sorted(n for n in out if -(2**63) <= n < 2**63)


def test_go_duration_is_gos_string(tmp_path: Path) -> None:
    ns = _durations()
    out = go_run(_DURATION_GO, " ".join(map(str, ns)), tmp_path).splitlines()
    assert len(out) == len(ns)
    assert [go_duration(n) for n in ns] == out


# The display format: three decimals of the largest unit that is at most the
# value, rounded half up; whole nanoseconds and bytes as integers.
DISPLAY_DURATIONS = [
    (0, "0 ns"),
    (999, "999 ns"),
    (-999, "-999 ns"),
    (999.5, "1.000 µs"),
    (1000, "1.000 µs"),
    (1_062_500, "1.063 ms"),
    (-1_062_500, "-1.062 ms"),
    (56_700, "56.700 µs"),
    (999_999_499, "999.999 ms"),
    (999_999_500, "1000.000 ms"),
    (130_398_848, "130.399 ms"),
    (2_000_000_000, "2.000 s"),
    (3_723_000_000_000, "3723.000 s"),
    (None, "–"),
    (float("nan"), "–"),
    (float("inf"), "–"),
]
DISPLAY_BYTES = [
    (0, "0 B"),
    (1023, "1023 B"),
    (1024, "1.0 KiB"),
    (1280, "1.3 KiB"),
    (1_048_575, "1024.0 KiB"),
    (5 << 20, "5.0 MiB"),
    (3 << 30, "3.0 GiB"),
    (1 << 40, "1.0 TiB"),
    (None, "–"),
]


def test_display_formats() -> None:
    assert [display_duration(n) for n, _ in DISPLAY_DURATIONS] == [s for _, s in DISPLAY_DURATIONS]
    assert [display_bytes(n) for n, _ in DISPLAY_BYTES] == [s for _, s in DISPLAY_BYTES]
