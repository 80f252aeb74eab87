"""What the views compute once per trace (the summary, the profiles' pass, the
MMU curves, ...): kept while the trace lives, and computed by whichever thread
asks first. Another thread asking meanwhile waits for that result rather than
computing it again and holding it twice (:func:`gotrace_df.prefetch` runs the
passes on a thread of its own)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["once"]

T = TypeVar("T")

_LOCK = threading.Lock()
_RESULTS: weakref.WeakKeyDictionary[Any, dict[Hashable, Future[Any]]] = weakref.WeakKeyDictionary()


def once(trace: object, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``'s result for ``(trace, key)``, computed on first use.

    A failure is not kept: the next call computes again (and sees its own
    error), while callers already waiting get this one's.
    """
    with _LOCK:
        per = _RESULTS.setdefault(trace, {})
        fut = per.get(key)
        mine = fut is None
        if fut is None:
            fut = per[key] = Future()
    if mine:
        try:
            fut.set_result(compute())
        except BaseException as e:
            with _LOCK:
                per.pop(key, None)
            fut.set_exception(e)
            raise
    result: T = fut.result()
    return result
