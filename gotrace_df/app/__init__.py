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
values, so a path is opened only if it lies inside a directory the server was
started for: the directory voila was started in, the notebook's directory,
the directory of ``GOTRACE_DF_TRACE`` and those listed in
``GOTRACE_DF_TRACE_DIRS`` (separated by ``os.pathsep``).
Any other path gets a message saying so, never the file.

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
    "ENV_TRACE",
    "NOTEBOOK",
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

_HERE = Path(__file__).resolve().parent
#: The notebook voila serves.
NOTEBOOK = _HERE / "viewer.ipynb"
#: voila's configuration for it (loopback only, the upload size limit).
VOILA_CONFIG = _HERE / "voila.json"

_PAGE = ("ViewerApp", "main", "viewer_app")


def __getattr__(name: str) -> Any:
    # The page's names load the widgets on first use: the command imports
    # this module for the policy and the paths alone.
    if name in _PAGE:
        from gotrace_df.app import page

        return getattr(page, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class AppError(Exception):
    """A trace the app may not or cannot open; the message is for the page."""


def allowed_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Directories whose traces may be opened by path: where the server was
    started (``PWD`` as the shell set it for voila), the current directory
    (the notebook's, for a voila kernel), the directory of ``GOTRACE_DF_TRACE``,
    ``GOTRACE_DF_TRACE_DIRS`` and the package's bundled data."""
    env = os.environ if environ is None else environ
    dirs = [os.getcwd()]
    if env.get("PWD"):
        dirs.append(env["PWD"])
    dirs += [d for d in env.get(ENV_DIRS, "").split(os.pathsep) if d.strip()]
    # The trace the server was started with (``gotrace-df trace.out`` sets it):
    # configuration, not a request, so its directory is allowed too.
    if env.get(ENV_TRACE, "").strip():
        base = env.get("PWD") or os.getcwd()
        dirs.append(str((Path(base) / Path(env[ENV_TRACE].strip()).expanduser()).parent))
    dirs.append(str(example_trace().parent))
    out: list[Path] = []
    for d in dirs:
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
    directory inside an allowed directory; otherwise :class:`AppError`."""
    env = os.environ if environ is None else environ
    dirs = allowed_dirs(env)
    raw = Path(path).expanduser()
    bases = [Path(env["PWD"])] if env.get("PWD") else []
    bases.append(Path.cwd())
    candidates = [raw] if raw.is_absolute() else [b / raw for b in bases]
    for cand in candidates:
        real = cand.resolve()
        if not any(real == d or d in real.parents for d in dirs):
            continue
        if not (real.is_file() or real.is_dir()):
            raise AppError(f"No trace file or dataset directory at {path!r}.")
        return real
    listed = ", ".join(str(d) for d in dirs)
    raise AppError(
        f"{path!r} is outside the directories this viewer may open ({listed}). "
        f"Start voila from the trace's directory, or add that directory to {ENV_DIRS}."
    )
