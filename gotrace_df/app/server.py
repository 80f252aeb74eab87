"""The viewer's server: voila, with the handlers a hostile client meets
replaced (``python -m gotrace_df.app.server NOTEBOOK [voila options]``, as
``gotrace-df TRACE`` starts it).

What it changes, and why:

- **Token.** With ``--ViewerServer.token_from_stdin=True`` the first line of
  standard input is the token (jupyter_server's IdentityProvider checks it in
  ``?token=`` or ``Authorization: token``, then sets its login cookie): never
  in argv, the environment or a file. A page asked for without it is refused
  with 403 (no login form). The page's static assets (voila's and the
  widgets' JavaScript, CSS, themes) are the package's public files and stay
  open; voila's ``/voila/files/`` route (files beside the notebook) is
  removed, the viewer uses none.
- **Pages and kernels.** Every page gets a kernel (a process of about
  200 MB). At most ``max_pages`` pages' kernels live at once; another page
  gets a 503 page asking to close some tabs. A page's kernel goes away once the page is gone:
  jupyter_server's culler (``MappingKernelManager.cull_idle_timeout``, given
  by the command) stops a kernel that has had no websocket and no activity
  for that long; a kernel with an open page (a websocket) is never culled.
- **Kernel websocket.** Only the v1 protocol (``v1.kernel.websocket.jupyter.org``)
  is spoken, and each message's framing is checked before jupyter_server
  parses it (:func:`v1_framing_ok`).
- **Request info** (``/voila/query/KERNEL``, where a preheated kernel waits
  for its page's query string): the loopback Host check, and only for
  connections from this machine, which is where kernels run.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

# jsonschema (through jupyter_events) validates the "iri" formats with
# rfc3987_syntax when it can import it, which compiles ~35 Lark grammars at
# import: a second of the server's start. No schema the server meets uses
# those formats; jsonschema skips them when the import fails. Only in the
# server's own process, not wherever this module is imported.
if __name__ == "__main__":
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from jupyter_server.base.handlers import JupyterHandler  # noqa: E402
from tornado import web  # noqa: E402
from tornado.log import app_log  # noqa: E402
from traitlets import Bool, Integer  # noqa: E402
from voila.app import Voila  # type: ignore[import-untyped]  # noqa: E402
from voila.request_info_handler import RequestInfoSocketHandler  # type: ignore[import-untyped]  # noqa: E402
from voila.static_file_handler import AllowListFileHandler  # type: ignore[import-untyped]  # noqa: E402
from voila.tornado.handler import TornadoVoilaHandler  # type: ignore[import-untyped]  # noqa: E402
from voila.tornado.kernel_websocket_handler import (  # type: ignore[import-untyped]  # noqa: E402
    VoilaKernelWebsocketHandler,
)

__all__ = [
    "PROTOCOL",
    "KernelChannels",
    "KernelRequestInfo",
    "PageKernels",
    "ViewerPage",
    "ViewerServer",
    "from_this_machine",
    "main",
    "v1_framing_ok",
]

#: The kernel websocket protocol the viewer's pages speak (JupyterLab's services).
PROTOCOL = "v1.kernel.websocket.jupyter.org"
# The tornado setting holding the server's PageKernels.
_PAGES = "gotrace_df_pages"
# The tornado setting saying how soon a closed page's kernel stops.
_IDLE = "gotrace_df_idle"
# A message's parts in the v1 protocol: channel, header, parent header,
# metadata, content (then buffers).
_MIN_OFFSETS = 6

TOO_MANY = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Trace viewer busy</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>Too many open viewer pages</h1>
<p>This trace viewer serves at most {cap} pages at once. Close some tabs,
then reload this one{idle}.</p>
</body></html>
"""


def v1_framing_ok(message: str | bytes) -> bool:
    """Whether ``message`` is framed as the v1 kernel websocket protocol says:
    8 bytes little-endian ``n``, then ``n`` 8-byte offsets, nondecreasing,
    from the end of that table to at most the message's end.

    Upstream (jupyter_server 2.21, voila 0.5.13), ``n`` is trusted:
    ``deserialize_msg_from_ws_v1`` builds a list of ``n`` offsets, reading
    past the message's end as zeros, so eight 0xFF bytes from a client make
    the event loop walk 2**64 entries (the server stops answering, memory
    grows by ~300 MB/s). voila's ``read_header_from_binary_message``, which
    ``VoilaKernelWebsocketHandler.write_message`` runs on every binary message
    *to* the client, has the same loop and assumes v1: to a client that asked
    for no subprotocol the kernel's binary messages (any with buffers, such
    as widget updates) are framed by ``serialize_binary_message`` with 4-byte
    big-endian counts, which read as an 8-byte little-endian ``n`` of about
    8.6e17. Hence: v1 only (:class:`KernelChannels`), and ``8 * (n + 1) <=
    len(message)`` checked before parsing, which bounds the work by the
    message's size. The fix upstream is the same bound in both functions."""
    if not isinstance(message, bytes) or len(message) < 8:
        return False
    n = int.from_bytes(message[:8], "little")
    end = 8 * (n + 1)
    if n < _MIN_OFFSETS or end > len(message):
        return False
    offsets = [int.from_bytes(message[8 * i : 8 * (i + 1)], "little") for i in range(1, n + 1)]
    return offsets[0] >= end and offsets[-1] <= len(message) and offsets == sorted(offsets)


def from_this_machine(remote_ip: str, local_ip: str) -> bool:
    """Whether a connection from ``remote_ip`` to our ``local_ip`` comes from
    this machine: over loopback, or from the very address it reached."""
    try:
        return ipaddress.ip_address(remote_ip).is_loopback or remote_ip == local_ip
    except ValueError:
        return False


class PageKernels:
    """The kernels serving pages (not the one preheated for the next page),
    and the cap on them.

    A page's kernel is the pool's kernel voila hands out
    (``get_rendered_notebook``), or one the page handler starts when the pool
    is empty or there is none (``start_kernel``): both are recorded here. The
    pool starts its kernels through the class's method, which these
    instance attributes do not intercept."""

    def __init__(self, kernels: Any, cap: int) -> None:
        self.kernels = kernels
        self.cap = cap
        self.opening = 0
        self.ids: set[str] = set()
        started: Callable[..., Awaitable[str]] = kernels.start_kernel

        async def start_kernel(*args: Any, **kwargs: Any) -> str:
            kernel_id = await started(*args, **kwargs)
            self.ids.add(kernel_id)
            return kernel_id

        kernels.start_kernel = start_kernel
        handout: Callable[..., Awaitable[Any]] | None = getattr(
            kernels, "get_rendered_notebook", None
        )
        if handout is not None:

            async def get_rendered_notebook(*args: Any, **kwargs: Any) -> Any:
                result = await handout(*args, **kwargs)
                self.ids.add(result[2])  # (render task, rendered cells, kernel id)
                return result

            kernels.get_rendered_notebook = get_rendered_notebook

    def live(self) -> int:
        """Pages whose kernel runs, or is being started or handed out (those
        may be counted twice for a moment: never too few)."""
        self.ids &= set(self.kernels.list_kernel_ids())
        return len(self.ids) + self.opening


class ViewerPage(TornadoVoilaHandler):  # type: ignore[misc]
    """The page: refused (403) without the token, where one is set, rather
    than sent to a login form; a 503 page past the cap on pages."""

    def get_login_url(self) -> str:
        raise web.HTTPError(403, "this viewer needs the token of the URL gotrace-df printed")

    async def get(self, path: str | None = None) -> None:
        pages: PageKernels = self.settings[_PAGES]
        if pages.live() >= pages.cap:
            app_log.warning("refused a page: %d pages open (the cap)", pages.cap)
            self.set_status(503)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Retry-After", "30")
            self.finish(TOO_MANY.format(cap=pages.cap, idle=self.settings[_IDLE]))
            return
        self._drop_token()
        pages.opening += 1
        try:
            await super().get(path)
        finally:
            pages.opening -= 1

    def _drop_token(self) -> None:
        """Take the token out of the request once it served: voila hands the
        query string to the page's kernel and the full URL to the next
        preheated kernel's environment."""
        req = self.request
        if "token" not in req.query_arguments:
            return
        kept = [(k, v) for k, v in parse_qsl(req.query, keep_blank_values=True) if k != "token"]
        req.query = urlencode(kept)
        req.uri = req.path + (f"?{req.query}" if req.query else "")
        req.query_arguments.pop("token")
        req.arguments.pop("token", None)


class KernelChannels(VoilaKernelWebsocketHandler):  # type: ignore[misc]
    """The kernel websocket, v1 protocol only, with each message's framing
    checked (:func:`v1_framing_ok`) before jupyter_server parses it."""

    async def pre_get(self) -> None:
        offered = self.request.headers.get("Sec-WebSocket-Protocol", "")
        if PROTOCOL not in (p.strip() for p in offered.split(",")):
            raise web.HTTPError(400, f"the kernel websocket needs the {PROTOCOL} subprotocol")
        await super().pre_get()

    def on_message(self, message: str | bytes) -> None:
        if not v1_framing_ok(message):
            self.log.warning("closing a kernel websocket: a message not framed as %s", PROTOCOL)
            self.close(1007, "malformed kernel message")
            return
        super().on_message(message)


class KernelRequestInfo(RequestInfoSocketHandler):  # type: ignore[misc]
    """Where a preheated kernel waits for its page's request: for kernels,
    which run on this machine, behind the same Host check as the pages."""

    log = app_log  # what jupyter_server's check_host logs with

    def prepare(self) -> None:
        local = self.request.connection.stream.socket.getsockname()[0]
        if not from_this_machine(self.request.remote_ip or "", local):
            raise web.HTTPError(403)
        if not JupyterHandler.check_host(self):
            raise web.HTTPError(403)


class ViewerServer(Voila):  # type: ignore[misc]
    """voila with the viewer's handlers (see the module's docstring)."""

    max_pages = Integer(8, config=True, help="Pages whose kernels may live at once.")
    token_from_stdin = Bool(
        False, config=True, help="Read the token from the first line of standard input."
    )

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        if self.token_from_stdin:
            token = sys.stdin.readline().strip()
            if not token:
                raise SystemExit("gotrace_df.app.server: no token on standard input")
            self.token = token

    def init_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = super().init_settings()
        settings[_PAGES] = PageKernels(self.kernel_manager, self.max_pages)
        km = self.kernel_manager
        idle = int(km.cull_idle_timeout)
        wait = f" (a closed page's kernel stops within {idle + int(km.cull_interval)} s)"
        settings[_IDLE] = wait if idle > 0 else ""
        return settings

    def init_handlers(self) -> list[Any]:
        ours = {
            TornadoVoilaHandler: ViewerPage,
            VoilaKernelWebsocketHandler: KernelChannels,
            RequestInfoSocketHandler: KernelRequestInfo,
        }
        handlers = []
        for pattern, cls, *rest in super().init_handlers():
            if cls is not AllowListFileHandler:
                handlers.append((pattern, ours.get(cls, cls), *rest))
        return handlers


def main() -> None:
    ViewerServer.launch_instance()


if __name__ == "__main__":
    main()
