"""Beyond loopback the viewer wants the token of the URL the command prints:
a page, the kernel websocket, without it get 403, whatever the Host; the
package's static assets stay open. The token is in no process's argv or
environment, and the command warns what an exposed server allows.

One real ``gotrace-df -http=0.0.0.0:PORT`` serves the module; requests are
raw HTTP and websocket handshakes from this machine."""

from __future__ import annotations

import http.client
import os
import re
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import websocket
from browser_util import free_port, serving
from viewer_page import STATIC

from gotrace_df.app import SERVER
from gotrace_df.app.server import PROTOCOL, from_this_machine
from gotrace_df.cli import serve

ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT / "tests" / "data" / "traces" / "go1.26" / "tasks.trace"
EVIL = "evil.example"


@dataclass
class Server:
    proc: psutil.Process
    port: int
    path: str  # the printed URL's path and query, token included
    token: str
    log: Path
    cookie: str = ""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("token")
    port = free_port()
    env = dict(os.environ, BROWSER="none", PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    cmd = [sys.executable, "-m", "gotrace_df", f"-http=0.0.0.0:{port}", str(TRACE)]
    log = tmp / "server.log"
    url = f"http://127.0.0.1:{port}/{STATIC}"  # open without the token
    with serving(cmd, url, log, cwd=tmp, env=env) as proc:
        printed = re.search(r"Trace viewer is listening on (\S+)", log.read_text())
        assert printed, log.read_text()
        parts = urllib.parse.urlsplit(printed.group(1))
        token = urllib.parse.parse_qs(parts.query)["token"][0]
        yield Server(psutil.Process(proc.pid), port, f"{parts.path}?{parts.query}", token, log)


def page(server: Server, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET ``path``: the status and the body; the login cookie, if one was
    set, is kept in ``server.cookie``."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        for c in r.headers.get_all("Set-Cookie") or []:
            if c.startswith("username-"):
                server.cookie = c.split(";")[0]
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def upgrade(server: Server, kernel: str, query: str = "", cookie: str | None = None) -> int:
    try:
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/api/kernels/{kernel}/channels{query}",
            subprotocols=[PROTOCOL],
            cookie=cookie,
            timeout=60,
        )
    except websocket.WebSocketBadStatusException as e:
        return int(e.status_code)
    ws.close()
    return 101


def test_command_prints_the_token_and_warns(server: Server) -> None:
    text = server.log.read_text()
    assert len(server.token) >= 40  # secrets.token_urlsafe(32)
    assert f"warning: serving on 0.0.0.0:{server.port}" in text
    assert "can read the traces" in text and "deny service" in text


def test_page_needs_the_token(server: Server) -> None:
    assert page(server, "/")[0] == 403
    assert page(server, "/?token=" + "x" * len(server.token))[0] == 403
    assert page(server, "/", {"Authorization": "token nope"})[0] == 403
    # voila's login form is not offered: refused, not redirected.
    assert page(server, "/?trace=x")[0] == 403
    status, body = page(server, server.path)
    assert status == 200 and "kernelId" in body
    # Beyond loopback any Host reaches the page, with the token.
    status, body = page(server, "/", {"Authorization": f"token {server.token}", "Host": EVIL})
    assert status == 200 and "kernelId" in body


def test_kernel_websocket_needs_the_token(server: Server) -> None:
    status, body = page(server, server.path)
    kernel = re.search(r'"kernelId": "([0-9a-f-]{36})"', body)
    assert status == 200 and kernel, body[-2000:]
    assert upgrade(server, kernel.group(1)) == 403
    assert upgrade(server, kernel.group(1), cookie="username-x=forged") == 403
    # The page's browser holds the login cookie the token bought.
    assert server.cookie and upgrade(server, kernel.group(1), cookie=server.cookie) == 101
    assert upgrade(server, kernel.group(1), query=f"?token={server.token}") == 101


def test_static_assets_stay_open(server: Server) -> None:
    """The package's public files: voila's and the widgets' scripts."""
    assert page(server, f"/{STATIC}")[0] == 200
    # voila's files beside the notebook are not served: the path is a page.
    assert page(server, "/voila/files/viewer.ipynb")[0] == 403


def test_token_is_in_no_argv_or_environment(server: Server) -> None:
    tree = [server.proc, *server.proc.children(recursive=True)]
    assert any(str(SERVER) in p.cmdline() for p in tree)
    for p in tree:
        assert not any(server.token in a for a in p.cmdline()), p.cmdline()
        assert not any(server.token in v for v in p.environ().values()), p.cmdline()


def test_pages_open_only_the_trace(server: Server) -> None:
    """The command's environment for voila limits the pages to its trace
    (the policy itself: tests/test_app.py)."""
    voila = next(p for p in server.proc.children() if str(SERVER) in p.cmdline())
    assert voila.environ()["GOTRACE_DF_TRACE_ONLY"] == "1"
    assert voila.environ()["GOTRACE_DF_TRACE"] == str(TRACE)


def test_request_info_only_from_this_machine() -> None:
    assert from_this_machine("127.0.0.1", "127.0.0.1")
    assert from_this_machine("::1", "::1")
    assert from_this_machine("192.0.2.1", "192.0.2.1")  # a kernel reaching -http=192.0.2.1
    assert not from_this_machine("192.0.2.7", "192.0.2.1")
    assert not from_this_machine("", "192.0.2.1")


def test_voila_command_reads_the_token_from_stdin() -> None:
    notebook = Path(serve.find_notebook())
    cmd = serve.voila_command(notebook, "0.0.0.0", 8123, token=True)
    assert "--ViewerServer.token_from_stdin=True" in cmd
    assert not any("token=" in a.lower() and "stdin" not in a for a in cmd), cmd
    assert "--ViewerServer.token_from_stdin=True" not in serve.voila_command(
        notebook, "127.0.0.1", 8123
    )
    # Beyond loopback any Host is served; the package's other settings stay.
    settings = serve.remote_tornado_settings()
    assert settings["allow_remote_access"] and settings["websocket_max_message_size"] == 512 << 20
