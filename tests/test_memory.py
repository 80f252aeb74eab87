"""The views hand the heap's freed pages back to the system (gotrace_df._memory)."""

from __future__ import annotations

import sys
import time

import pytest

import gotrace_df as gt
from gotrace_df import _memory


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_a_view_gives_back_the_heap_blocks_it_freed() -> None:
    # CI runs on glibc: there the trim must be found, not silently skipped.
    assert _memory._TRIM is not None

    # Blocks under glibc's mmap threshold live in the heap; freeing all but
    # every 64th leaves holes glibc keeps resident.
    blocks = [bytearray(64 * 1024) for _ in range(4096)]
    kept = blocks[::64]

    @_memory.gives_back_memory
    def view() -> int:
        """A view that frees most of its temporaries."""
        blocks.clear()
        return len(kept)

    before = _rss_mib()
    assert view() == 64
    # Given back once no view has run for QUIET_SECONDS, not before.
    assert _memory.trim_pending()
    deadline = time.monotonic() + _memory.QUIET_SECONDS + 10
    while _memory.trim_pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    after = _rss_mib()
    # 252 of 256 MiB were freed: most of it must have left the process.
    assert before - after > 150, (before, after)
    assert view.__doc__ == "A view that frees most of its temporaries."


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_views_in_a_row_trim_only_once_they_are_done() -> None:
    seen: list[bool] = []

    @_memory.gives_back_memory
    def inner() -> None:
        seen.append(_memory.trim_pending())

    @_memory.gives_back_memory
    def outer() -> None:
        inner()
        # The inner view returned, but a view is still running.
        seen.append(_memory.trim_pending())

    inner()
    assert _memory.trim_pending()
    # The next view cancels the trim pending: it reuses the freed pages.
    outer()
    assert seen == [False, False, False]
    assert _memory.trim_pending()


def test_public_views_keep_their_names_and_docs() -> None:
    for name in ("goroutine_analysis", "blocking_profile", "user_regions", "user_tasks", "mmu"):
        fn = getattr(gt, name)
        assert fn.__name__ == name
        assert fn.__doc__ and "Examples" in fn.__doc__
        assert hasattr(fn, "__wrapped__")
