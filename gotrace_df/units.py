"""Durations and byte counts as text, each format defined once.

Two kinds of text exist:

* :func:`go_duration` is Go's ``time.Duration.String()``, for text that must
  equal what ``go tool trace`` prints ("1.584893ms").
* :func:`display_duration` and :func:`display_bytes` are the display format of
  the trace's repr, the viewer and the command ("1.585 ms", "2.5 KiB"). The
  widgets' canvas reformats as the user zooms, in the browser: ``widgets/units.js``
  writes the same text (rounding half up, in whole units of the last digit),
  and the tests hold the two equal.
"""

from __future__ import annotations

import math
import operator

__all__ = ["MISSING", "display_bytes", "display_duration", "go_duration"]

#: What the display writes for a missing value (null, NaN, infinite).
MISSING = "–"


def go_duration(ns: int) -> str:
    """Go's ``time.Duration.String()`` of ``ns`` (what cmd/trace prints).

    Examples
    --------
    >>> [go_duration(n) for n in (0, 1_584_893, 123_000_000_001, -1_500)]
    ['0s', '1.584893ms', '2m3.000000001s', '-1.5µs']
    """
    ns = int(ns)
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < 1_000_000_000:
        # Below a second: ns, µs or ms with the fraction's trailing zeros cut.
        for unit, div in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
            if u < div * 1000:
                whole, frac = divmod(u, div)
                digits = len(str(div)) - 1
                text = str(whole)
                if frac:
                    text += "." + str(frac).rjust(digits, "0").rstrip("0")
                return ("-" if neg else "") + text + unit
    secs, frac = divmod(u, 1_000_000_000)
    text = ""
    if frac:
        text = "." + str(frac).rjust(9, "0").rstrip("0")
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    text = f"{s}{text}s"
    if h or m:
        text = f"{m}m" + text
    if h:
        text = f"{h}h" + text
    return ("-" if neg else "") + text


def _whole(x: object) -> int | None:
    """``x`` rounded half up to an integer, None when it is not a number (null,
    NaN, infinite, pandas' NA)."""
    try:
        return operator.index(x)  # type: ignore[arg-type]
    except TypeError:
        pass
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return math.floor(f + 0.5) if math.isfinite(f) else None


def _fixed(n: int, scale: int, decimals: int) -> str:
    """``n / scale`` with ``decimals`` digits, rounded half up, exactly."""
    one = 10**decimals
    q = (2 * n * one + scale) // (2 * scale)
    sign = "-" if q < 0 else ""
    whole, frac = divmod(abs(q), one)
    return f"{sign}{whole}.{frac:0{decimals}d}"


def display_duration(ns: float | None) -> str:
    """A duration for people: "1.235 s", "56.700 µs", "12 ns" ("–" when missing).

    Examples
    --------
    >>> [display_duration(n) for n in (12, 56_700, 1_062_500, -2_000_000_000, None)]
    ['12 ns', '56.700 µs', '1.063 ms', '-2.000 s', '–']
    """
    n = _whole(ns)
    if n is None:
        return MISSING
    for unit, scale in (("s", 10**9), ("ms", 10**6), ("µs", 10**3)):
        if abs(n) >= scale:
            return f"{_fixed(n, scale, 3)} {unit}"
    return f"{n} ns"


def display_bytes(n: float | None) -> str:
    """A byte count for people: "512 B", "2.5 KiB", "1.0 GiB" ("–" when missing).

    Examples
    --------
    >>> [display_bytes(b) for b in (512, 2560, 1 << 30, None)]
    ['512 B', '2.5 KiB', '1.0 GiB', '–']
    """
    b = _whole(n)
    if b is None:
        return MISSING
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(b) >= scale:
            return f"{_fixed(b, scale, 1)} {unit}"
    return f"{b} B"
