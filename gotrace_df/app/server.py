"""The viewer's server: voila, with the handlers a hostile client meets
replaced (``python -P .../gotrace_df/app/server.py NOTEBOOK [voila options]``,
as ``gotrace-df TRACE`` starts it: run as a file, not ``-m``, it imports no
more than voila, not the package's pyarrow and pandas).

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
- **Kernel start.** With ``--ViewerServer.spare_kernel=True`` a kernel
  process (:mod:`gotrace_df.app.spare`) starts first thing, importing the
  viewer's modules while this server imports voila; the first kernel voila
  launches is that process (:class:`SpareKernel`).
- **Refills.** A page that takes the preheated kernel makes voila start the
  next one; that start waits until the page has settled (its websocket
  open, its kernel quiet for :data:`SETTLED_S`: no messages, next to no
  CPU), so the two do not share the machine while the page loads. A page
  asking in the meantime gets a kernel started for it.
- **Request info** (``/voila/query/KERNEL``, where a preheated kernel waits
  for its page's query string): the loopback Host check, and only for
  connections from this machine, which is where kernels run.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

# jsonschema (through jupyter_events) validates the "iri" formats with
# rfc3987_syntax when it can import it, which compiles ~35 Lark grammars at
# import: a second of the server's start. No schema the server meets uses
# those formats; jsonschema skips them when the import fails. Only in the
# server's own process, not wherever this module is imported.
if __name__ == "__main__":
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


#: The option that starts the spare kernel (read before traitlets parse argv:
#: the spare starts before voila is imported).
SPARE_OPTION = "--ViewerServer.spare_kernel=True"
# The spare's command; -P: no directory of ours on its path while it imports.
_SPARE_CMD = ["-P", "-m", "gotrace_df.app.spare"]
# Interpreter settings a kernel's environment must share with the spare's to
# be launched in it (read at the interpreter's start, too late to change).
_STARTUP_ENV = ("PYTHON",)


def connection_file(kernel_id: str) -> str:
    """The name jupyter_client gives a kernel's connection file."""
    return f"kernel-{kernel_id}.json"


def _startup_env(env: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(_STARTUP_ENV)}


class SpareKernel:
    """A kernel process started before voila (:mod:`gotrace_df.app.spare`),
    handed the first kernel's launch. Its kernel ID is chosen at its start
    (the kernel manager's next one, :meth:`kernel_id`) and its command line
    names the kernel's connection file, as a launched kernel's does."""

    def __init__(self, proc: subprocess.Popen[bytes] | None, kernel_id: str = "") -> None:
        self.proc = proc
        self.id = kernel_id
        self.file = connection_file(kernel_id)

    @classmethod
    def start(cls, cwd: str | None = None) -> SpareKernel:
        kernel_id = str(uuid.uuid4())
        proc = subprocess.Popen(
            [sys.executable, *_SPARE_CMD, connection_file(kernel_id)],
            stdin=subprocess.PIPE,
            cwd=cwd,
            # As jupyter_client starts a kernel: its own session (the kernel
            # manager signals its process group).
            start_new_session=True,
        )
        return cls(proc, kernel_id)

    def kernel_id(self) -> str | None:
        """The spare's kernel ID, once (None after, or without a spare)."""
        kernel_id, self.id = self.id, ""
        return kernel_id if self.proc is not None and kernel_id else None

    def launch(self, cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes] | None:
        """The spare as the process of the kernel command ``cmd`` (with
        jupyter_client's ``launch_kernel`` arguments), once; None, and the
        spare stopped, when it cannot be: another command, output redirected,
        other interpreter settings, or the spare gone."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        env = dict(kwargs.get("env") or os.environ)
        fits = (
            cmd[:4] == [sys.executable, "-m", "ipykernel_launcher", "-f"]
            and len(cmd) == 5
            and os.path.basename(cmd[4]) == self.file
            and kwargs.get("stdout") is None
            and kwargs.get("stderr") is None
            and _startup_env(env) == _startup_env(os.environ)
            and proc.poll() is None
            and proc.stdin is not None
        )
        if fits and proc.stdin is not None:
            # What jupyter_client's launch_kernel sets for a kernel it starts.
            if not kwargs.get("independent"):
                env["JPY_PARENT_PID"] = str(os.getpid())
            cwd = str(kwargs.get("cwd") or os.getcwd())
            try:
                proc.stdin.write(json.dumps({"argv": cmd, "env": env, "cwd": cwd}).encode() + b"\n")
                proc.stdin.close()
                return proc
            except OSError:
                pass
        proc.kill()
        proc.wait()
        return None

    def stop(self) -> None:
        """End an unused spare (it exits at the end of its input)."""
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc = None


SPARE = SpareKernel.start() if __name__ == "__main__" and SPARE_OPTION in sys.argv else None

import psutil  # type: ignore[import-untyped]  # noqa: E402
from jupyter_client import launcher  # noqa: E402
from jupyter_client.provisioning import local_provisioner  # noqa: E402
from jupyter_server.base.handlers import JupyterHandler  # noqa: E402
from tornado import web  # noqa: E402
from tornado.log import app_log  # noqa: E402
from traitlets import Bool, Integer, Unicode  # noqa: E402
from voila.app import Voila  # type: ignore[import-untyped]  # noqa: E402
from voila.request_info_handler import RequestInfoSocketHandler  # type: ignore[import-untyped]  # noqa: E402
from voila.static_file_handler import AllowListFileHandler  # type: ignore[import-untyped]  # noqa: E402
from voila.tornado.handler import TornadoVoilaHandler  # type: ignore[import-untyped]  # noqa: E402
from voila.tornado.kernel_websocket_handler import (  # type: ignore[import-untyped]  # noqa: E402
    VoilaKernelWebsocketHandler,
)

__all__ = [
    "PROTOCOL",
    "IDLE_CPU",
    "SETTLED_S",
    "SPARE_OPTION",
    "KernelChannels",
    "KernelRequestInfo",
    "PageKernels",
    "SpareKernel",
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
#: A page has settled once its kernel has been this quiet (seconds) with its
#: websocket open: then the next preheated kernel starts.
SETTLED_S = 0.1
#: A kernel using less than this share of a core is quiet.
IDLE_CPU = 0.1
# A page waits at most this long for the pool's kernel to be registered.
PREHEAT_WAIT_S = 10.0
# A refill waits at most this long for its page to settle.
SETTLE_WAIT_S = 10.0
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


def _cpu_seconds(kernel: Any) -> float:
    """CPU time a kernel's process used so far (0 if unknown)."""
    pid = getattr(kernel.provisioner, "pid", None)
    try:
        times = psutil.Process(pid).cpu_times() if pid else None
    except psutil.Error:
        times = None
    return times.user + times.system if times else 0.0


class PageKernels:
    """The kernels serving pages (not the one preheated for the next page),
    and the cap on them.

    A page's kernel is the pool's kernel voila hands out
    (``get_rendered_notebook``), or one the page handler starts when the pool
    is empty or there is none (``start_kernel``): both are recorded here. The
    pool starts its kernels through the class's method, which these
    instance attributes do not intercept.

    The refill voila asks for on a handout (``fill_if_needed``) is held
    until the page settled (:meth:`settled`)."""

    def __init__(self, kernels: Any, cap: int, refill_after: str = "") -> None:
        self.kernels = kernels
        self.cap = cap
        self.refill_after = refill_after
        self.opening = 0
        self.ids: set[str] = set()
        # The refills waiting (held here: the event loop keeps weak references).
        self.refills: set[asyncio.Future[None]] = set()
        started: Callable[..., Awaitable[str]] = kernels.start_kernel

        async def start_kernel(*args: Any, **kwargs: Any) -> str:
            kernel_id = await started(*args, **kwargs)
            self.ids.add(kernel_id)
            return kernel_id

        kernels.start_kernel = start_kernel
        handout: Callable[..., Awaitable[Any]] | None = getattr(
            kernels, "get_rendered_notebook", None
        )
        fill: Callable[..., None] | None = getattr(kernels, "fill_if_needed", None)
        if handout is not None and fill is not None:
            asked: list[dict[str, Any]] = []

            def fill_later(**kwargs: Any) -> None:  # voila calls it in the handout
                asked.append(kwargs)

            async def refill(kernel_id: str, kwargs: dict[str, Any]) -> None:
                await self.settled(kernel_id)
                fill(**dict(kwargs, delay=0))

            async def get_rendered_notebook(*args: Any, **kwargs: Any) -> Any:
                result = await handout(*args, **kwargs)
                kernel_id = result[2]  # (render task, rendered cells, kernel id)
                self.ids.add(kernel_id)
                while asked:
                    task = asyncio.ensure_future(refill(kernel_id, asked.pop()))
                    self.refills.add(task)
                    task.add_done_callback(self.refills.discard)
                return result

            kernels.fill_if_needed = fill_later
            kernels.get_rendered_notebook = get_rendered_notebook

    async def settled(self, kernel_id: str) -> None:
        """Return once the page of ``kernel_id`` has settled: its websocket
        open, the file :attr:`refill_after` there (the command's trace
        published: until then the kernel waits for it, idle), and its kernel
        quiet (no message, CPU below :data:`IDLE_CPU`: it may be building
        the viewer in a thread) for :data:`SETTLED_S`; or once the kernel is
        gone, or :data:`SETTLE_WAIT_S` passed."""
        start = time.monotonic()
        quiet_since = start
        cpu = _cpu_seconds(self.kernels.get_kernel(kernel_id))
        while time.monotonic() < start + SETTLE_WAIT_S and kernel_id in self.kernels:
            await asyncio.sleep(SETTLED_S / 3)
            kernel = self.kernels.get_kernel(kernel_id)
            now, was = time.monotonic(), cpu
            cpu = _cpu_seconds(kernel)
            busy = cpu - was > IDLE_CPU * SETTLED_S / 3
            waiting = bool(self.refill_after) and not os.path.exists(self.refill_after)
            if busy or waiting or not self.kernels.kernel_model(kernel_id)["connections"]:
                quiet_since = now
            last = (datetime.now(UTC) - kernel.last_activity).total_seconds()
            quiet_since = max(quiet_since, now - last)
            if now - quiet_since >= SETTLED_S:
                return

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
            await self._preheating(path)
            await super().get(path)
        finally:
            pages.opening -= 1

    async def _preheating(self, path: str | None) -> None:
        """Wait while the pool's kernel is being started but not yet known to
        voila's handler (the first page, asked for as the server starts
        listening): voila would start another kernel for the page, which
        then waits for that one's start, on a machine busy with both."""
        km = self.kernel_manager
        notebook = self.notebook_path or path
        if not hasattr(km, "notebook_data"):
            return
        deadline = time.monotonic() + PREHEAT_WAIT_S
        while km.get_pool_size(notebook) and not km.notebook_data.get(notebook):
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.02)

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
    refill_after = Unicode(
        "",
        config=True,
        help="A file the pool's refill also waits for (the command's trace, published).",
    )
    spare_kernel = Bool(
        False,
        config=True,
        help="Launch the first kernel in a process started with the server (gotrace_df.app.spare).",
    )

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        if self.token_from_stdin:
            token = sys.stdin.readline().strip()
            if not token:
                raise SystemExit("gotrace_df.app.server: no token on standard input")
            self.token = token

    def _launch_first_in(self, spare: SpareKernel) -> None:
        """Give the first kernel the spare's ID, and launch it in the spare."""
        km = self.kernel_manager
        new_id: Callable[..., str] = km.new_kernel_id

        def new_kernel_id(**kwargs: Any) -> str:
            return spare.kernel_id() or new_id(**kwargs)

        def launch_kernel(cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
            proc = spare.launch(cmd, **kwargs)
            return proc if proc is not None else launcher.launch_kernel(cmd, **kwargs)

        km.new_kernel_id = new_kernel_id
        # jupyter_client's local provisioner starts every kernel through it.
        local_provisioner.launch_kernel = launch_kernel  # type: ignore[attr-defined,assignment]

    def init_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = super().init_settings()  # makes the kernel manager
        if SPARE is not None:
            if self.spare_kernel:
                self._launch_first_in(SPARE)
            else:
                SPARE.stop()
        settings[_PAGES] = PageKernels(self.kernel_manager, self.max_pages, self.refill_after)
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
