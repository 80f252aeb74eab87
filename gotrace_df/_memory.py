"""Giving the memory the views freed back to the system.

A view makes numpy temporaries of tens of megabytes. glibc's malloc keeps
freed blocks under its mmap threshold (which grows to 32 MB once large
arrays have been freed) in the heap, resident, and the next view's arrays
seldom fit those holes: each view leaves its temporaries behind as RSS. On
the bench trace that is about 50 MB at the peak. ``malloc_trim`` hands the
free pages back (a few milliseconds); elsewhere than glibc this does nothing.

The trim waits until no view has run for :data:`QUIET_SECONDS`. Views called
one after another (a notebook cell, the viewer's tabs, a script) reuse the
pages the previous one freed; trimming between them made each fault its pages
in again, which cost more than the trim: 0.15 s of 1.9 s for every view on the
bench trace, for 24 MB less at the peak (``bench/RESULTS.md``).
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["QUIET_SECONDS", "gives_back_memory", "trim"]

F = TypeVar("F", bound=Callable[..., Any])

#: Seconds without a view running after which the heap is trimmed.
QUIET_SECONDS = 0.5


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        # The process's own symbols: libc's, without looking for the library.
        fn: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return fn


_TRIM = _malloc_trim()

_lock = threading.Lock()
#: Views running now (nested calls and other threads included).
_running = 0
#: The trim waiting for the views to go quiet, if any.
_pending: threading.Timer | None = None


def trim() -> None:
    """Returns the heap's free pages to the system (glibc only)."""
    if _TRIM is not None:
        _TRIM(0)


def trim_pending() -> bool:
    """Whether a trim is waiting for the views to go quiet."""
    with _lock:
        return _pending is not None


def _enter() -> None:
    global _running, _pending
    with _lock:
        _running += 1
        if _pending is not None:
            _pending.cancel()
            _pending = None


def _leave() -> None:
    global _running, _pending
    with _lock:
        _running -= 1
        if _running or _TRIM is None:
            return
        _pending = threading.Timer(QUIET_SECONDS, _quiet_trim)
        # A pending trim must not keep the interpreter from exiting.
        _pending.daemon = True
        _pending.start()


def _quiet_trim() -> None:
    global _pending
    with _lock:
        if _running or _pending is not threading.current_thread():
            return  # a view started meanwhile: its return schedules the trim
        _pending = None
    trim()


def gives_back_memory(view: F) -> F:
    """Decorates a view: :func:`trim` once no view has run for
    :data:`QUIET_SECONDS`."""

    @functools.wraps(view)
    def call(*args: Any, **kwargs: Any) -> Any:
        _enter()
        try:
            return view(*args, **kwargs)
        finally:
            _leave()

    return call  # type: ignore[return-value]
