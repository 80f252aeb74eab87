"""Giving the memory a view freed back to the system.

A view makes numpy temporaries of tens of megabytes. glibc's malloc keeps
freed blocks under its mmap threshold (which grows to 32 MB once large
arrays have been freed) in the heap, resident, and the next view's arrays
seldom fit those holes: each view leaves its temporaries behind as RSS. On
the bench trace that is about 50 MB at the peak. ``malloc_trim`` hands the
free pages back (a few milliseconds); elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["gives_back_memory", "trim"]

F = TypeVar("F", bound=Callable[..., Any])


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        # The process's own symbols: libc's, without looking for the library.
        fn: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return fn


_TRIM = _malloc_trim()


def trim() -> None:
    """Returns the heap's free pages to the system (glibc only)."""
    if _TRIM is not None:
        _TRIM(0)


def gives_back_memory(view: F) -> F:
    """Decorates a view: :func:`trim` once it returns."""

    @functools.wraps(view)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        finally:
            trim()

    return call  # type: ignore[return-value]
