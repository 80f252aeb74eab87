"""A preheated kernel's side of voila's request handoff, without importing voila.

voila (``--preheat_kernel=True``) starts a kernel and runs the notebook before
any page asks for it; the notebook then waits for its request: it opens the
websocket ``/voila/query/KERNEL_ID`` of the server that started it, and the
server sends the request's CGI-style variables (``QUERY_STRING``, ...) as one
JSON object once a page takes the kernel. voila's own helper,
``voila.utils.wait_for_request``, does the same, but importing it imports
voila's whole server (jupyter_server, jupyterlab_server, jsonschema's format
checkers): 2 to 4 seconds of a kernel's start, on the path of every page.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, MutableMapping

__all__ = ["is_preheated", "query_url", "wait_for_request"]

# How long to wait for the server to accept the websocket (as voila's helper).
OPEN_TIMEOUT_S = 5.0
# A page that asked before this kernel was ready has its request sent as the
# websocket opens: one that came within this time was waiting. Also how
# often the wait looks whether its ``after`` event came.
WAITING_S = 0.1


def is_preheated(environ: MutableMapping[str, str] | None = None) -> bool:
    """Whether this kernel was started by voila ahead of its request."""
    env = os.environ if environ is None else environ
    return env.get("VOILA_PREHEAT") == "True"


def query_url(environ: MutableMapping[str, str] | None = None) -> str:
    """Where this kernel's request arrives: the variables voila set when it
    started the kernel, read as voila's helper reads them."""
    env = os.environ if environ is None else environ
    protocol = env.get("VOILA_WS_PROTOCOL", "ws")
    ip = env.get("VOILA_APP_IP", "127.0.0.1")
    port = env.get("VOILA_APP_PORT", "8866")
    base = env.get("VOILA_WS_BASE_URL") or env.get("VOILA_SERVER_URL", "/")
    return f"{protocol}://{ip}:{port}{base}voila/query/{env.get('VOILA_KERNEL_ID', '')}"


def wait_for_request(
    environ: MutableMapping[str, str] | None = None,
    meanwhile: Callable[[], None] | None = None,
    after: threading.Event | None = None,
) -> bool:
    """Block until a page takes this kernel, then put its request's variables
    into ``environ`` (the process environment by default). If no page has
    asked by the time ``after`` is set (at once without it), ``meanwhile``
    runs (a page asking while it runs waits for it). False (nothing set) if
    the server cannot be reached."""
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    env = os.environ if environ is None else environ
    try:
        # The server is on this machine: never through a proxy the
        # environment may name for the outside world.
        with connect(query_url(env), open_timeout=OPEN_TIMEOUT_S, proxy=None) as ws:
            message = None
            while message is None:
                try:
                    message = ws.recv(timeout=WAITING_S)
                except TimeoutError:
                    if after is None or after.is_set():
                        if meanwhile is not None:
                            meanwhile()
                        message = ws.recv()
    except (OSError, TimeoutError, WebSocketException):
        return False
    for key, value in json.loads(message).items():
        env[str(key)] = str(value)
    return True
