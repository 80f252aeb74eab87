"""The viewer app: the page voila serves from this package's ``viewer.ipynb``
(``gotrace-df trace.out``, ``make viewer``, or ``voila notebooks/viewer.ipynb``
in a checkout, where that path links here).

Which trace is opened:

1. ``?trace=PATH`` on the page's query string (voila hands it to the kernel
   as ``QUERY_STRING``);
2. else the ``GOTRACE_DF_TRACE`` environment variable;
3. else the bundled example trace (:func:`gotrace_df.example_trace`).

PATH is a trace file or a directory written by ``gotrace-df export --parquet``.
A trace can also be uploaded in the page. Traces carry stacks, paths and log
values, so a path is opened only if the server was started for it. Started by
``gotrace-df TRACE`` (which sets ``GOTRACE_DF_TRACE_ONLY``), that is TRACE
itself and the directories listed in ``GOTRACE_DF_TRACE_DIRS`` (separated by
``os.pathsep``); started as ``voila viewer.ipynb``, also the directory voila
was started in, the notebook's directory and the directory of
``GOTRACE_DF_TRACE``. The bundled example is always allowed. Any other path
gets a message saying so (naming where the allowed places come from, not the
server's directories), never the file; a path that cannot be looked up at all
(a symlink loop, an unknown ``~user``, a name too long, a NUL byte) gets a
message too.

This module holds that policy and the packaged files, without importing the
widgets; the page itself is :mod:`gotrace_df.app.page` (``ViewerApp``,
``viewer_app`` and ``main`` are also reachable from here). In a notebook:

>>> from gotrace_df import app
>>> ui = app.viewer_app(source=None)  # the example trace
>>> type(ui.viewer).__name__
'TraceViewer'
"""

from __future__ import annotations

import os
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from gotrace_df.io import example_trace

if TYPE_CHECKING:
    from gotrace_df.app.page import ViewerApp, main, viewer_app

__all__ = [
    "ENV_CACHE",
    "ENV_DIRS",
    "ENV_ONLY",
    "ENV_TRACE",
    "NOTEBOOK",
    "SERVER",
    "VOILA_CONFIG",
    "AppError",
    "ViewerApp",
    "allowed_dirs",
    "main",
    "requested_trace",
    "resolve_trace",
    "viewer_app",
]

#: The trace the server was started with (set by ``gotrace-df trace.out``).
ENV_TRACE = "GOTRACE_DF_TRACE"
#: More directories whose traces the page may open, separated by ``os.pathsep``.
ENV_DIRS = "GOTRACE_DF_TRACE_DIRS"
#: The directory where the command shares its trace, parsed once, with every
#: page (:mod:`gotrace_df.app.mapped`).
ENV_CACHE = "GOTRACE_DF_CACHE"
#: Set to ``1`` (by ``gotrace-df TRACE``): paths are limited to that trace and
#: ``GOTRACE_DF_TRACE_DIRS``, not the directories the server runs in.
ENV_ONLY = "GOTRACE_DF_TRACE_ONLY"

_HERE = Path(__file__).resolve().parent
#: The notebook voila serves.
NOTEBOOK = _HERE / "viewer.ipynb"
#: The viewer's server (voila with our handlers), run as a file.
SERVER = _HERE / "server.py"
#: voila's configuration for it (loopback only, the upload size limit).
VOILA_CONFIG = _HERE / "voila.json"

_PAGE = ("ViewerApp", "main", "viewer_app")

# Paths in messages: a request's path may be thousands of characters long.
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = 160


def __getattr__(name: str) -> Any:
    # The page's names load the widgets on first use: the command imports
    # this module for the policy and the paths alone.
    if name in _PAGE:
        from gotrace_df.app import page

        return getattr(page, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class AppError(Exception):
    """A trace the app may not or cannot open; the message is for the page."""


def _only_trace(env: Mapping[str, str]) -> bool:
    return env.get(ENV_ONLY, "") == "1" and bool(env.get(ENV_TRACE, "").strip())


def _started_trace(env: Mapping[str, str]) -> Path | None:
    """The trace the server was started with, as a path (relative to ``PWD``)."""
    value = env.get(ENV_TRACE, "").strip()
    if not value:
        return None
    base = env.get("PWD") or os.getcwd()
    return Path(base) / Path(value).expanduser()


def allowed_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Directories whose traces may be opened by path: ``GOTRACE_DF_TRACE_DIRS``
    and the package's bundled data; unless ``GOTRACE_DF_TRACE_ONLY`` is set,
    also where the server was started (``PWD`` as the shell set it for voila),
    the current directory (the notebook's, for a voila kernel) and the
    directory of ``GOTRACE_DF_TRACE``."""
    env = os.environ if environ is None else environ
    only = _only_trace(env)
    dirs = [] if only else [os.getcwd(), env.get("PWD", "")]
    dirs += env.get(ENV_DIRS, "").split(os.pathsep)
    # The trace the server was started with (``gotrace-df trace.out`` sets it):
    # configuration, not a request, so its directory is allowed too.
    started = _started_trace(env)
    if started is not None and not only:
        dirs.append(str(started.parent))
    dirs.append(str(example_trace().parent))
    out: list[Path] = []
    for d in dirs:
        if not d.strip():
            continue
        p = Path(d).expanduser().resolve()
        if p not in out:
            out.append(p)
    return out


def requested_trace(environ: Mapping[str, str] | None = None) -> str | None:
    """The trace path asked for: ``?trace=`` in ``QUERY_STRING``, else
    ``GOTRACE_DF_TRACE``; None for the example."""
    env = os.environ if environ is None else environ
    qs = parse_qs(env.get("QUERY_STRING", ""))
    if qs.get("trace") and qs["trace"][0].strip():
        return qs["trace"][0].strip()
    value = env.get(ENV_TRACE, "").strip()
    return value or None


def resolve_trace(path: str, environ: Mapping[str, str] | None = None) -> Path:
    """``path`` made absolute (relative paths are taken from the directory the
    server was started in), if it is an existing file or Parquet dataset
    directory the server was started for (:func:`allowed_dirs`, or the trace
    itself); otherwise :class:`AppError`."""
    env = os.environ if environ is None else environ
    try:
        return _resolve(path, env)
    except OSError as e:  # a name too long, a loop as the OS reports it
        reason = e.strerror or type(e).__name__
    except ValueError:
        reason = "the path holds a NUL byte"
    except RuntimeError:
        # pathlib's own errors, whose text would show the resolved path.
        reason = "no such user" if path.startswith("~") else "a symbolic link loop"
    raise AppError(f"Cannot open {_SHOWN.repr(path)}: {reason}.")


def _resolve(path: str, env: Mapping[str, str]) -> Path:
    dirs = allowed_dirs(env)
    started = _started_trace(env)
    files = [started.resolve()] if started is not None else []
    raw = Path(path).expanduser()
    bases = [Path(env["PWD"])] if env.get("PWD") else []
    bases.append(Path.cwd())
    candidates = [raw] if raw.is_absolute() else [b / raw for b in bases]
    for cand in candidates:
        real = cand.resolve()
        if real not in files and not any(real == d or d in real.parents for d in dirs):
            continue
        if not (real.is_file() or real.is_dir()):
            raise AppError(f"No trace file or dataset directory at {_SHOWN.repr(path)}.")
        return real
    # Named by where they come from: the server's absolute directories are
    # no business of a client beyond loopback.
    where = (
        "the trace the server was started with"
        if _only_trace(env)
        else "the directory the server was started in, the trace's directory"
    )
    raise AppError(
        f"{_SHOWN.repr(path)} is outside the directories this viewer may open "
        f"({where}, {ENV_DIRS} and the bundled example). "
        f"Add the trace's directory to {ENV_DIRS} where the server is started."
    )
