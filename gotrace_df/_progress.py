"""Progress bars for long reads and conversions.

tqdm draws them (a widget in notebooks, a line in terminals) when it is
installed; it comes with the ``ui`` and ``lake`` extras. The core install
needs only pyarrow, pandas and numpy, so without tqdm a plain line on stderr
stands in, redrawn at most a few times a second.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(total: int | None, desc: str, *, disable: bool = False) -> Any:
    """A byte-counting bar with tqdm's ``update``, ``set_postfix_str``,
    ``close`` and context-manager methods."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return LineBar(total, desc, disable=disable)
    return tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=disable
    )


class LineBar:
    """tqdm's interface, drawn as one line on stderr."""

    INTERVAL = 0.25

    def __init__(self, total: int | None, desc: str, *, disable: bool = False) -> None:
        self.total, self.desc, self.disable = total, desc, disable
        self.n = 0
        self.postfix = ""
        self._start = time.monotonic()
        self._drawn = 0.0

    def update(self, n: int) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._drawn >= self.INTERVAL:
            self._drawn = now
            self._draw(end="\r")

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        self.postfix = s

    def close(self) -> None:
        self._draw(end="\n")
        self.disable = True

    def __enter__(self) -> LineBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _draw(self, end: str) -> None:
        if self.disable:
            return
        mb = self.n / (1 << 20)
        rate = mb / max(time.monotonic() - self._start, 1e-9)
        done = f"{mb:.1f}" + (f"/{self.total / (1 << 20):.1f}" if self.total else "")
        extra = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {done} MiB, {rate:.1f} MiB/s{extra}", end=end, file=sys.stderr)
