"""prefetch and the per-trace results it fills: computed once whichever thread
asks first, the same numbers as computing each view in turn."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

import gotrace_df as gt
from gotrace_df.views._cache import once


class _Key:
    """A weak-referenceable stand-in for a trace."""


def test_once_computes_once_while_another_thread_waits() -> None:
    calls = []
    started = threading.Event()

    def slow() -> object:
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return object()

    owner = _Key()
    got: list[object] = []
    t = threading.Thread(target=lambda: got.append(once(owner, "k", slow)))
    t.start()
    started.wait(5)
    # Asked while the first is still computing: waits for that result.
    mine = once(owner, "k", slow)
    t.join()
    assert calls == [1]
    assert got == [mine]
    # Another key, or another trace, is computed on its own.
    assert once(owner, "other", object) is not mine
    assert once(_Key(), "k", object) is not mine


def test_once_does_not_keep_a_failure() -> None:
    owner = _Key()

    def fail() -> object:
        raise gt.TraceError("bad events")

    with pytest.raises(gt.TraceError, match="bad events"):
        once(owner, "k", fail)
    assert once(owner, "k", lambda: 7) == 7
    assert once(owner, "k", fail) == 7


def _views(tr: gt.Trace, go_version: str | None) -> dict[str, pd.DataFrame]:
    v = go_version
    out = {"goroutines": gt.goroutine_analysis(tr, go_version=v)}
    for kind in ("net", "sync", "syscall", "sched"):
        out[kind] = gt.blocking_profile(tr, kind, go_version=v)
    out["tasks"] = gt.user_tasks(tr, go_version=v)
    out["regions"] = gt.user_regions(tr, go_version=v)
    out["mmu"] = gt.mmu(tr, go_version=v)
    return out


@pytest.mark.parametrize("go_version", [None, "1.22"])
def test_views_after_prefetch_are_the_views_computed_in_turn(go_version: str | None) -> None:
    want = _views(gt.read_trace(gt.example_trace()), go_version)
    tr = gt.read_trace(gt.example_trace())
    thread = gt.prefetch(tr, go_version=go_version)
    # Asked at once: each view runs alongside the passes or waits for its own.
    got = _views(tr, go_version)
    thread.join(60)
    assert not thread.is_alive()
    assert set(got) == set(want)
    for name, frame in want.items():
        pd.testing.assert_frame_equal(got[name], frame, obj=name)


def test_prefetch_fills_the_passes_the_views_read() -> None:
    from gotrace_df.views import _cache

    tr = gt.read_trace(gt.example_trace())
    gt.prefetch(tr).join(60)
    keys = set(_cache._RESULTS[tr])
    assert ("summary", False, False) in keys
    assert ("profile_samples", False) in keys
    assert any(isinstance(k, tuple) and k[0] == "mmu" for k in keys)
