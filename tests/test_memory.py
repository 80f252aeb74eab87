"""gt.release_memory hands the heap's freed pages back; the views never do it
behind the caller's back (gotrace_df._memory)."""

from __future__ import annotations

import sys
import threading

import pytest

import gotrace_df as gt


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_release_memory_gives_back_the_heap_blocks_freed() -> None:
    # Blocks under glibc's mmap threshold live in the heap; freeing all but
    # every 64th leaves holes glibc keeps resident until it is asked.
    blocks = [bytearray(64 * 1024) for _ in range(4096)]
    kept = blocks[::64]
    blocks.clear()
    before = _rss_mib()
    gt.release_memory()
    after = _rss_mib()
    # 252 of 256 MiB were freed: most of it must have left the process (CI
    # runs on glibc, where malloc_trim must have been found and called).
    assert before - after > 150, (before, after)
    assert len(kept) == 64


def test_views_start_no_threads() -> None:
    # A library must not leave timers or helper threads behind in the
    # caller's process (the views once scheduled a trim 0.5 s after each).
    tr = gt.read_trace(gt.example_trace())
    before = set(threading.enumerate())
    # The summary runs the four profiles, the tasks' and the regions' views.
    gt.summary(tr)
    gt.goroutine_analysis(tr)
    gt.mmu(tr)
    assert set(threading.enumerate()) == before
