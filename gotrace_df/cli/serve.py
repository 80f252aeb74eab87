"""The viewer's server: voila (:mod:`gotrace_df.app.server`) started on the
packaged viewer notebook, the browser pointed at it, and voila (with its
kernels) stopped on Ctrl-C.

On loopback the Host check keeps other sites' pages out; beyond loopback a
random token, handed to voila on its standard input, must be in the URL (the
command prints it). Every page gets a kernel: at most ``GOTRACE_DF_MAX_PAGES``
(8) at once, and a kernel whose page is gone (no websocket) is stopped after
``GOTRACE_DF_IDLE_SECONDS`` (60) without activity."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NamedTuple

from gotrace_df.app import ENV_CACHE, ENV_ONLY, ENV_TRACE, NOTEBOOK, SERVER, VOILA_CONFIG
from gotrace_df.app.mapped import FAILED, MANIFEST, TRACE_DIR
from gotrace_df.cli.address import (
    check_free,
    connect_host,
    exposure_warning,
    free_port,
    is_loopback,
    listen_addr,
    url_host,
)
from gotrace_df.cli.source import check_trace, local_trace
from gotrace_df.cli.usage import die

__all__ = [
    "ENV_IDLE",
    "ENV_MAX_PAGES",
    "ENV_NOTEBOOK",
    "Limits",
    "find_notebook",
    "remote_tornado_settings",
    "serve",
    "should_open_browser",
    "voila_command",
]

#: Environment variable naming another notebook to serve (as ``-notebook``).
ENV_NOTEBOOK = "GOTRACE_DF_NOTEBOOK"
#: Environment variable: how many pages (kernels, about 200 MB each) may be
#: open at once; another page is refused with a page saying so.
ENV_MAX_PAGES = "GOTRACE_DF_MAX_PAGES"
#: Environment variable: seconds after which a kernel with no open page (no
#: websocket) and no activity is stopped.
ENV_IDLE = "GOTRACE_DF_IDLE_SECONDS"


class Limits(NamedTuple):
    """What one server may hold: pages open at once, and how long an
    abandoned page's kernel lives."""

    max_pages: int = 8
    idle_seconds: int = 60

    @classmethod
    def from_env(cls) -> Limits:
        """The limits ``GOTRACE_DF_MAX_PAGES`` and ``GOTRACE_DF_IDLE_SECONDS`` set
        (positive integers), else the defaults."""
        values = []
        for name, default in ((ENV_MAX_PAGES, cls().max_pages), (ENV_IDLE, cls().idle_seconds)):
            text = os.environ.get(name, "").strip()
            if not text:
                values.append(default)
                continue
            try:
                value = int(text)
            except ValueError:
                value = 0
            if value < 1:
                die(f"{name}={text!r}: want a positive number")
            values.append(value)
        return cls(*values)

    def voila_options(self) -> list[str]:
        """jupyter_server's culler stops a kernel idle (and without a websocket:
        cull_connected stays False) for ``idle_seconds``, looking a few times
        per period."""
        interval = max(1, min(15, self.idle_seconds // 4))
        return [
            f"--ViewerServer.max_pages={self.max_pages}",
            f"--MappingKernelManager.cull_idle_timeout={self.idle_seconds}",
            f"--MappingKernelManager.cull_interval={interval}",
        ]


def find_notebook(explicit: str | None = None) -> Path:
    """The notebook to serve: ``explicit``, ``$GOTRACE_DF_NOTEBOOK``, else the
    viewer installed with the package."""
    chosen = explicit or os.environ.get(ENV_NOTEBOOK) or str(NOTEBOOK)
    path = Path(chosen)
    if not path.is_file():
        die(f"viewer notebook not found: {path}")
    return path.resolve()


def should_open_browser() -> bool:
    """Whether to open the page: not with ``BROWSER=none``, nor on a Linux or BSD
    machine without a display (a server, CI)."""
    b = os.environ.get("BROWSER")
    if b is not None and b.strip().lower() in ("none", ""):
        return False
    platform: str = sys.platform  # a variable: the answer differs by machine
    if platform in ("darwin", "win32", "cygwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def voila_command(
    notebook: Path,
    host: str,
    port: int,
    limits: Limits | None = None,
    *,
    token: bool = False,
    published: Path | None = None,
) -> list[str]:
    """The command serving ``notebook`` on ``host:port`` only: voila with the
    viewer's handlers (:mod:`gotrace_df.app.server`), the package's voila
    configuration (not one that happens to be in the current directory), and
    ``limits``; with ``token``, the token is read from standard input.

    The packaged viewer gets a preheated kernel: voila keeps one started with
    the notebook run up to the point where it waits for its request, the
    command's trace opened and its viewer built by then
    (:func:`gotrace_df.app.page.main`), so a page, the first or the next, does
    not wait for a kernel to start, import the widgets and open the trace;
    the first one's process starts with the server and imports while voila
    does (:mod:`gotrace_df.app.spare`).
    Other notebooks may read their request at once, so theirs start on
    request. The next kernel starts once the first page settled, and not
    before ``published`` exists (the command's trace: until then the first
    page's kernel waits for it, and the converter needs the machine)."""
    cmd = [
        sys.executable,
        # Run as a file: the server needs voila, not this package (pyarrow,
        # pandas); -P: nor its directory on the module path.
        "-P",
        str(SERVER),
        str(notebook),
        f"--Voila.config_file_paths={VOILA_CONFIG.parent}",
        f"--Voila.ip={host}",
        f"--port={port}",
        "--Voila.port_retries=0",
        "--no-browser",
        *(limits or Limits()).voila_options(),
    ]
    if notebook.resolve() == NOTEBOOK.resolve():
        cmd += ["--preheat_kernel=True", "--pool_size=1", "--ViewerServer.spare_kernel=True"]
        if published is not None:
            cmd.append(f"--ViewerServer.refill_after={published}")
    if token:
        cmd.append("--ViewerServer.token_from_stdin=True")
    if not is_loopback(host):
        cmd.append(f"--Voila.tornado_settings={remote_tornado_settings()!r}")
    return cmd


def remote_tornado_settings() -> dict[str, Any]:
    """The package's tornado settings for serving beyond loopback.

    On loopback voila.json's ``allow_remote_access: false`` makes voila answer
    403 to a Host header that is not a loopback address or ``localhost``, on the
    page and on the kernel websocket, so a page of another site whose name was
    rebound to 127.0.0.1 cannot read the trace. Beyond loopback the machine's
    own names, which voila cannot know, must reach it: any Host is accepted,
    and the token keeps other sites' pages (and everyone without the URL) out.
    A foreign
    ``Origin`` on the websocket is refused either way (jupyter_server's empty
    ``allow_origin``). The whole dict is given: a command-line dict replaces
    the file's."""
    settings: dict[str, Any] = json.loads(VOILA_CONFIG.read_text())["Voila"]["tornado_settings"]
    return dict(settings, allow_remote_access=True)


def serve(
    source: str,
    *,
    http: str = "localhost:0",
    notebook: str | None = None,
    ready: Callable[[str], bool | None] | None = None,
) -> int:
    """Serve the viewer notebook on ``source`` with voila until interrupted.

    The trace is checked first (:func:`~gotrace_df.cli.source.check_trace`), so
    a missing or damaged file fails here, before any server starts. Prints the
    URL, calls ``ready(url)`` (which stops the server by returning True, e.g.
    once it checked the page), opens a browser (unless ``BROWSER=none`` or there
    is no display), and on Ctrl-C (SIGINT) or SIGTERM stops voila and its
    kernels.
    """
    try:
        host, port = listen_addr(http)
    except ValueError as e:
        die(f"malformed -http value {http!r}: {e}")
    if importlib.util.find_spec("voila") is None:
        die(
            "the viewer needs voila: pip install 'gotrace_df[ui]' "
            "(or use -pprof, -d, export or summary)"
        )
    nb = find_notebook(notebook)
    with local_trace(source) as path:
        check_trace(path)
        if port == 0:
            port = free_port(host)
        else:
            check_free(host, port)
        limits = Limits.from_env()
        warning = exposure_warning(host, port)
        if warning:
            print(warning, file=sys.stderr, flush=True)
        # Beyond loopback only the URL's holder may read the trace.
        token = None if is_loopback(host) else secrets.token_urlsafe(32)
        query = urllib.parse.urlencode({"trace": path, **({"token": token} if token else {})})
        url = f"http://{url_host(host)}:{port}/?{query}"
        # The trace is parsed once, while voila starts, into a private (0700)
        # directory every page's kernel maps (gotrace_df.app.mapped).
        with contextlib.ExitStack() as cleanup:
            cache = Path(
                cleanup.enter_context(
                    tempfile.TemporaryDirectory(prefix="gotrace-df-", ignore_cleanup_errors=True)
                )
            )
            # voila logs every request: to a file, never to a pipe nobody drains.
            log = cleanup.enter_context(tempfile.TemporaryFile(prefix="gotrace-df-voila-"))
            converter = subprocess.Popen(
                [sys.executable, "-m", "gotrace_df.app.mapped", path, str(cache)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
            cleanup.callback(Stopper(converter).stop)
            # The pages open this trace (and GOTRACE_DF_TRACE_DIRS), not what lies
            # around it; relative paths are taken from PWD, this process's
            # directory, whatever the parent's environment says. A preheated
            # kernel reaches voila at VOILA_APP_IP for its request.
            env = dict(
                os.environ,
                **{ENV_TRACE: path, ENV_ONLY: "1", "PWD": os.getcwd(), ENV_CACHE: str(cache)},
                VOILA_APP_IP=url_host(connect_host(host)),
            )
            proc = subprocess.Popen(
                voila_command(
                    nb,
                    host,
                    port,
                    limits,
                    token=token is not None,
                    published=cache / TRACE_DIR / MANIFEST,
                ),
                env=env,
                stdin=subprocess.PIPE if token else subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own session: the terminal's Ctrl-C reaches us, and we stop it
                # (and, through it, its kernels) in order.
                start_new_session=True,
            )
            if token and proc.stdin is not None:
                # Not in argv (world-readable in /proc), nor the environment
                # (every kernel inherits it), nor a file.
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.write(token.encode() + b"\n")
                proc.stdin.close()
            stop = Stopper(proc)
            old = {s: signal.signal(s, stop.handle) for s in (signal.SIGINT, signal.SIGTERM)}
            try:
                if not _wait_listening(proc, connect_host(host), port, timeout=120.0, stop=stop):
                    if not stop.requested:
                        stop.stop()
                        die(f"the viewer (voila) did not start: {_tail(log)}")
                else:
                    print(f"Trace viewer is listening on {url}", flush=True)
                    if ready is not None and ready(url):
                        stop.requested = True
                    elif should_open_browser():
                        import webbrowser

                        webbrowser.open(url)
                while proc.poll() is None and not stop.requested:
                    _check_converter(converter, cache)
                    time.sleep(0.2)
                if not stop.requested:
                    die(f"the viewer (voila) exited ({proc.returncode}): {_tail(log)}")
            finally:
                stop.stop()
                for sig, handler in old.items():
                    signal.signal(sig, handler)
    print("Trace viewer stopped.", file=sys.stderr)
    return 0


class Stopper:
    """Stops a process we started (voila, the converter) on request: the signal
    handler records it, :meth:`stop` does it."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.requested = False

    def handle(self, signum: int, frame: Any) -> None:
        self.requested = True

    def stop(self) -> None:
        """SIGTERM the process (voila shuts its kernels down), then its whole session."""
        p = self.proc
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        # Whatever it left in its session (a kernel it could not stop).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)


def _check_converter(converter: subprocess.Popen[bytes], cache: Path) -> None:
    """If the converter stopped without publishing the trace (killed, out of
    memory), mark the cache failed: the kernels waiting for it parse instead."""
    if converter.poll() is None or (cache / TRACE_DIR).is_dir():
        return
    failed = cache / FAILED
    if not failed.exists():
        failed.write_text(f"the converter exited ({converter.returncode})\n")


def _wait_listening(
    proc: subprocess.Popen[bytes], host: str, port: int, timeout: float, stop: Stopper
) -> bool:
    """Whether voila accepts connections within ``timeout`` (False if it exits
    or we are interrupted first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.requested:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _tail(log: IO[bytes], n: int = 2000) -> str:
    """The end of voila's log."""
    try:
        log.flush()
        log.seek(0, os.SEEK_END)
        size = log.tell()
        log.seek(max(0, size - n))
        return log.read().decode(errors="replace")
    except (OSError, ValueError):
        return ""
