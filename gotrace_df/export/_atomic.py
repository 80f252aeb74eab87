"""Atomic publication of files and directories (write aside, fsync, rename).

A reader sees either the old output or the complete new one: never a partial
file, and an existing output is replaced only once its successor is complete and
on disk.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_file", "atomic_dir", "fsync_path"]


def fsync_path(path: str | os.PathLike[str]) -> None:
    """fsync a file or a directory by path (directories: so a rename inside it lasts)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(dest: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``dest``; on success it replaces ``dest``.

    On an exception the temporary file is removed and ``dest`` is untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_path(dest.parent)


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike[str], *, replace: bool) -> Iterator[Path]:
    """A temporary directory beside ``dest``, published as ``dest`` on success.

    The caller fills the directory (and fsyncs its files); this fsyncs the
    directory, then renames it into place. An existing ``dest`` (only allowed
    with ``replace``) is swapped out in the same step where the platform can
    (Linux ``renameat2(RENAME_EXCHANGE)``), otherwise (macOS, other systems)
    moved aside first, and deleted only after the new directory is in place.
    """
    dest = Path(dest)
    parent = dest.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        yield tmp
        fsync_path(tmp)
        if dest.exists() or dest.is_symlink():
            if not replace:
                raise FileExistsError(f"{dest} exists")
            _replace_dir(tmp, dest)
        else:
            os.rename(tmp, dest)
        fsync_path(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_dir(new: Path, dest: Path) -> None:
    """Put directory ``new`` at ``dest`` (which exists); delete the old one after."""
    if _exchange(new, dest):
        # `new` now holds the old dataset.
        fsync_path(dest.parent)
        shutil.rmtree(new, ignore_errors=True)
        return
    old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".old"))
    os.rmdir(old)
    os.rename(dest, old)  # a crash here leaves the old dataset intact at `old`
    os.rename(new, dest)
    fsync_path(dest.parent)
    shutil.rmtree(old, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2() -> Any:
    """Linux's renameat2 from the C library already loaded (a lookup, no file
    search), or None (other systems, or a C library without it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2; False where unsupported (then
    the caller renames twice: macOS and the BSDs, some filesystems)."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.ENOTSUP):
        return False  # the filesystem cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))
