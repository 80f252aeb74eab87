"""The views hand the heap's freed pages back to the system (gotrace_df._memory)."""

from __future__ import annotations

import sys

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
    after = _rss_mib()
    # 252 of 256 MiB were freed: most of it must have left the process.
    assert before - after > 150, (before, after)
    assert view.__doc__ == "A view that frees most of its temporaries."


def test_public_views_keep_their_names_and_docs() -> None:
    for name in ("goroutine_analysis", "blocking_profile", "user_regions", "user_tasks", "mmu"):
        fn = getattr(gt, name)
        assert fn.__name__ == name
        assert fn.__doc__ and "Examples" in fn.__doc__
        assert hasattr(fn, "__wrapped__")
