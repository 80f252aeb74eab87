"""The browser UI served by ``voila notebooks/viewer.ipynb``.

Which trace is opened:

1. ``?trace=PATH`` on the page's query string (voila hands it to the kernel
   as ``QUERY_STRING``);
2. else the ``GOTRACE_DF_TRACE`` environment variable;
3. else the bundled example trace (:func:`gotrace_df.example_trace`).

A trace can also be uploaded in the page. Traces carry stacks, paths and log
values, so a path is opened only if it lies inside a directory the server was
started for: the directory voila was started in, the notebook's directory,
the directory of ``GOTRACE_DF_TRACE`` and those listed in
``GOTRACE_DF_TRACE_DIRS`` (separated by ``os.pathsep``).
Any other path gets a message saying so, never the file.

Run it with ``make viewer`` (voila on 127.0.0.1), or in a notebook:

>>> from gotrace_df import app
>>> ui = app.viewer_app(source=None)  # the example trace
>>> type(ui.viewer).__name__
'TraceViewer'
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import ipywidgets as W

import gotrace_df as gt
from gotrace_df.widgets._style import style
from gotrace_df.widgets.viewer import TraceViewer

__all__ = ["AppError", "ViewerApp", "allowed_dirs", "main", "resolve_trace", "viewer_app"]

ENV_TRACE = "GOTRACE_DF_TRACE"
ENV_DIRS = "GOTRACE_DF_TRACE_DIRS"


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
    dirs.append(str(gt.example_trace().parent))
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
    server was started in), if it is an existing file inside an allowed
    directory; otherwise :class:`AppError`."""
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
        if not real.is_file():
            raise AppError(f"No trace file at {path!r}.")
        return real
    listed = ", ".join(str(d) for d in dirs)
    raise AppError(
        f"{path!r} is outside the directories this viewer may open ({listed}). "
        f"Start voila from the trace's directory, or add that directory to {ENV_DIRS}."
    )


class ViewerApp(W.VBox):  # type: ignore[misc]
    """The page: a bar to open another trace (upload), parse progress, and the
    :class:`~gotrace_df.widgets.TraceViewer`."""

    def __init__(self) -> None:
        super().__init__()
        self.add_class("gtdf-app")
        self.viewer: TraceViewer | None = None
        self.upload = W.FileUpload(
            accept="", multiple=False, description="Open a trace…", layout=W.Layout(width="auto")
        )
        self.upload.observe(self._on_upload, "value")
        self.message = W.HTML("")
        self.progress = W.FloatProgress(
            value=0, min=0, max=1, bar_style="info", layout=W.Layout(width="320px")
        )
        self.progress_label = W.HTML("")
        self.progress_box = W.HBox(
            [self.progress, self.progress_label],
            layout=W.Layout(display="none", align_items="center"),
        )
        self.progress_box.add_class("gtdf-row")
        self.body = W.VBox([])
        bar = W.HBox(
            [self.upload, self.progress_box, self.message],
            layout=W.Layout(align_items="center", margin="0 0 6px 0"),
        )
        bar.add_class("gtdf-row")
        self.children = [style(), bar, self.body]

    def show_error(self, text: str) -> None:
        self.message.value = f"<div class='gtdf-error'>{html.escape(text)}</div>"

    def load(self, source: str | Path | bytes | None, title: str | None = None) -> None:
        """Parse ``source`` (a resolved path, bytes, or None for the example) and
        show it."""
        self.message.value = ""
        if source is None:
            source = gt.example_trace()
            title = title or "example.trace (bundled example)"
        size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
        self.progress_box.layout.display = "flex"
        self.progress_label.value = f"<span class='gtdf-muted'>Reading {size / 1e6:.1f} MB…</span>"
        self.progress.value = 0.0
        last = [0.0]

        def tick(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] > 0.1:
                last[0] = now
                self.progress.value = done / max(total, 1)

        try:
            trace = gt.read_trace(source, progress=tick)
        except gt.TraceError as e:
            self.progress_box.layout.display = "none"
            self.show_error(f"Not a readable Go execution trace: {e}")
            return
        self.progress_label.value = "<span class='gtdf-muted'>Preparing the timeline…</span>"
        self.progress.value = 1.0
        self.viewer = TraceViewer(trace, title=title)
        self.body.children = [self.viewer]
        self.progress_box.layout.display = "none"

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        self.load(bytes(f["content"]), title=f"{f['name']} (uploaded)")


def viewer_app(source: str | None = None, environ: Mapping[str, str] | None = None) -> ViewerApp:
    """The app showing ``source`` (a path, checked with :func:`resolve_trace`)
    or, when None, the example trace."""
    ui = ViewerApp()
    if source is None:
        ui.load(None)
        return ui
    try:
        path = resolve_trace(source, environ)
    except AppError as e:
        ui.show_error(str(e))
        return ui
    ui.load(path, title=path.name)
    return ui


def main(environ: Mapping[str, str] | None = None) -> ViewerApp:
    """The app for this voila request (query string, environment, or example)."""
    return viewer_app(requested_trace(environ), environ)
