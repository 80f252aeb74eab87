"""The viewer page: a bar to open another trace (upload), parse progress, and
the :class:`~gotrace_df.widgets.TraceViewer`; what it opens is decided by
:mod:`gotrace_df.app`'s policy."""

from __future__ import annotations

import asyncio
import html
import json
import os
import threading
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import ipywidgets as W

import gotrace_df as gt
from gotrace_df.app import (
    ENV_CACHE,
    VOILA_CONFIG,
    AppError,
    preheat,
    requested_trace,
    resolve_trace,
)
from gotrace_df.app.mapped import open_mapped
from gotrace_df.widgets._style import style
from gotrace_df.widgets.progress import ProgressRow
from gotrace_df.widgets.timeline import Timeline
from gotrace_df.widgets.viewer import TraceViewer

if TYPE_CHECKING:
    from gotrace_df.widgets._model import TimelineModel

__all__ = ["MAX_UPLOAD", "Prepared", "ViewerApp", "main", "viewer_app"]


def _max_upload() -> int:
    settings = json.loads(VOILA_CONFIG.read_text())["Voila"]["tornado_settings"]
    return int(settings["websocket_max_message_size"])


#: The largest upload the page takes: the kernel connection's message limit set
#: in voila.json (a larger file would never reach the kernel whole).
MAX_UPLOAD = _max_upload()

# What reading a damaged or unreadable trace may raise: TraceError and the
# Parquet dataset's complaints are ValueErrors, gzip's are OSError (BadGzipFile),
# EOFError or zlib.error.
_UNREADABLE = (ValueError, OSError, EOFError, zlib.error)


class Prepared(NamedTuple):
    """A trace read for the viewer, its widgets not made yet
    (:meth:`ViewerApp.read`)."""

    trace: gt.Trace
    title: str | None
    timeline: TimelineModel


def _unreadable(e: BaseException) -> str:
    """The page's message for what reading a trace raised."""
    if isinstance(e, MemoryError):
        return "Not enough memory to open this trace on the server."
    return f"Not a readable Go execution trace: {e}"


def _size(source: Path | bytes) -> int:
    if isinstance(source, bytes):
        return len(source)
    if source.is_dir():
        return sum(f.stat().st_size for f in source.iterdir() if f.is_file())
    return source.stat().st_size


class ViewerApp(W.VBox):  # type: ignore[misc]
    """The page: a bar to open another trace (upload), parse progress, and the
    :class:`~gotrace_df.widgets.TraceViewer`."""

    def __init__(self) -> None:
        super().__init__()
        self.add_class("gtdf-app")
        self.viewer: TraceViewer | None = None
        #: Whether the trace shown was mapped from the command's shared
        #: directory rather than parsed in this kernel.
        self.mapped = False
        self.upload = W.FileUpload(
            accept="", multiple=False, description="Open a trace…", layout=W.Layout(width="auto")
        )
        self.upload.observe(self._on_upload, "value")
        self.message = W.HTML("")
        self.progress_box = ProgressRow(width="320px")
        self.body = W.VBox([])
        bar = W.HBox(
            [self.upload, self.progress_box, self.message],
            layout=W.Layout(align_items="center", margin="0 0 6px 0"),
        )
        bar.add_class("gtdf-row")
        self.children = [style(), bar, self.body]

    def show_error(self, text: str) -> None:
        self.message.value = f"<div class='gtdf-error'>{html.escape(text)}</div>"

    def load(
        self,
        source: str | Path | bytes | None,
        title: str | None = None,
        *,
        cache: str | None = None,
    ) -> None:
        """Parse ``source`` (a resolved path, bytes, or None for the example) and
        show it; a trace that cannot be read gets a message instead. With
        ``cache`` (the command's shared directory, :mod:`gotrace_df.app.mapped`)
        a path the command parsed already is mapped from there, not parsed.

        :attr:`mapped` tells which happened."""
        self.show(self.read(source, title, cache=cache))

    def read(
        self,
        source: str | Path | bytes | None,
        title: str | None = None,
        *,
        cache: str | None = None,
    ) -> Prepared | None:
        """The part of :meth:`load` that takes time, the viewer's widgets
        not made yet (:meth:`show` makes them): safe in a thread of its own
        (the progress bar moves meanwhile). None, and a message shown, if
        the trace cannot be read."""
        self.message.value = ""
        if source is None:
            source = gt.example_trace()
            title = title or "example.trace (bundled example)"
        if isinstance(source, str):
            source = Path(source)
        last = [0.0]

        def tick(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] > 0.1:
                last[0] = now
                self.progress_box.set(done / max(total, 1))

        try:
            size = _size(source)
            self.progress_box.show(f"Reading {size / 1e6:.1f} MB…", 0.0)
            trace = None
            if cache and isinstance(source, Path):
                trace = open_mapped(cache, source)
            self.mapped = trace is not None
            if trace is None:
                trace = gt.read_trace(source, progress=tick)
            self.progress_box.show("Preparing the timeline…", 1.0)
            return Prepared(trace, title, Timeline.prepare(trace))
        except (MemoryError, *_UNREADABLE) as e:
            self.progress_box.hide()
            self.show_error(_unreadable(e))
            return None
        except BaseException:
            self.progress_box.hide()
            raise

    def show(self, prepared: Prepared | None) -> None:
        """Show the viewer of a trace :meth:`read` prepared (on the kernel's
        main thread: its widgets are made here)."""
        if prepared is None:
            return
        try:
            viewer = TraceViewer(prepared.trace, title=prepared.title, timeline=prepared.timeline)
        except (MemoryError, *_UNREADABLE) as e:
            self.show_error(_unreadable(e))
            return
        finally:
            self.progress_box.hide()
        self.viewer = viewer
        self.body.children = [viewer]

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        name = str(f.get("name", "upload"))
        size = int(f.get("size") or len(f["content"]))
        if size > MAX_UPLOAD:
            self.show_error(
                f"{name}: {size / 2**20:.0f} MiB is more than this page takes "
                f"({MAX_UPLOAD / 2**20:.0f} MiB); open it with gotrace-df {name} instead."
            )
            return
        try:
            data = bytes(f["content"])
        except MemoryError:
            self.show_error(f"{name}: not enough memory on the server for this upload.")
            return
        self.load(data, title=f"{name} (uploaded)")

    def open_trace(self, source: str | None, environ: Mapping[str, str] | None = None) -> None:
        """Show ``source`` (a path, checked with :func:`resolve_trace`) or,
        when None, the example trace."""
        self.show(self.prepare(source, environ))

    def prepare(
        self, source: str | None, environ: Mapping[str, str] | None = None
    ) -> Prepared | None:
        """:meth:`open_trace` up to its widgets (:meth:`read`)."""
        if source is None:
            return self.read(None)
        try:
            path = resolve_trace(source, environ)
        except AppError as e:
            self.show_error(str(e))
            return None
        env = os.environ if environ is None else environ
        return self.read(path, title=path.name, cache=env.get(ENV_CACHE) or None)


def viewer_app(source: str | None = None, environ: Mapping[str, str] | None = None) -> ViewerApp:
    """The app showing ``source`` (:meth:`ViewerApp.open_trace`)."""
    ui = ViewerApp()
    ui.open_trace(source, environ)
    return ui


def main(environ: Mapping[str, str] | None = None) -> ViewerApp:
    """The app for this voila request (query string, environment, or example).

    In a kernel voila preheated (started, and the notebook run this far,
    before any request), the trace the server was started with is read at
    once, in a thread (:meth:`ViewerApp.prepare`), while the kernel waits
    for its request (until then the environment holds no query string).
    Read before a page asked, its viewer is shown, goroutine counters
    too, before the request. A page asking earlier for that trace, as the
    command's URL does, gets the app as it is: the page loads its scripts
    and connects while the trace is mapped and indexed, and the viewer
    appears once shown (by the kernel's event loop, on its main thread:
    widgets are made there only; the page asks for the counters once up).
    A request for another trace gets an app of its own."""
    if environ is not None or not preheat.is_preheated():
        return viewer_app(requested_trace(environ), environ)
    early_source = requested_trace()
    early = ViewerApp()
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()  # the kernel's
    except RuntimeError:  # none runs this cell: shown below, once read
        loop = None
    read = threading.Event()
    pending: list[Prepared | None] = []

    def prepare() -> None:
        try:
            pending.append(early.prepare(early_source))
        finally:
            read.set()
            if loop is not None:
                loop.call_soon_threadsafe(show)

    def show() -> None:
        if pending:
            early.show(pending.pop())

    def show_with_counters() -> None:
        show()
        if early.viewer is not None:
            early.viewer.timeline.load_counters()

    threading.Thread(target=prepare, name="gotrace-df read", daemon=True).start()
    preheat.wait_for_request(meanwhile=show_with_counters, after=read)
    source = requested_trace()
    if _same_trace(source, early_source):
        if loop is None:
            read.wait()
            show()
        return early
    read.wait()
    pending.clear()
    _close(early)
    return viewer_app(source)


def _same_trace(a: str | None, b: str | None) -> bool:
    """Whether the paths ``a`` and ``b`` (None: the example) open one trace
    under this kernel's policy (:func:`resolve_trace`)."""
    if a is None or b is None:
        return a is b
    try:
        return resolve_trace(a) == resolve_trace(b)
    except AppError:
        return False


def _close(widget: W.Widget) -> None:
    """Close ``widget`` and the widgets it holds: an app no page shows."""
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()
