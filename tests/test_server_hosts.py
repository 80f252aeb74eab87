"""The viewer refuses a foreign Host header on loopback: a page of another
site whose name was rebound to 127.0.0.1 (DNS rebinding) must not get the
page nor the kernel websocket, where the widgets carry the trace's paths,
stacks and logs. A foreign Origin on the websocket is refused as well.

The same holds for ``/voila/query/KERNEL``, where a preheated kernel waits for
its page's query string. Beyond loopback a token keeps strangers out
(tests/test_server_token.py).

One real `gotrace-df -http=127.0.0.1:PORT` (the packaged viewer, its kernel
preheated) serves the module; requests are raw HTTP and websocket handshakes
with the headers set by hand."""

from __future__ import annotations

import http.client
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import websocket
from browser_util import free_port, serving
from viewer_page import STATIC

from gotrace_df.app.server import PROTOCOL

ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT / "tests" / "data" / "traces" / "go1.26" / "tasks.trace"
EVIL = "evil.example"


@contextmanager
def viewer(http: str, port: int, tmp: Path) -> Iterator[None]:
    """The real command serving the trace on ``-http=http`` (port ``port``)."""
    env = dict(os.environ, BROWSER="none", PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    cmd = [sys.executable, "-m", "gotrace_df", f"-http={http}"]
    with serving(
        [*cmd, str(TRACE)],
        f"http://127.0.0.1:{port}/{STATIC}",
        tmp / "server.log",
        cwd=tmp,
        env=env,
    ):
        yield


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    p = free_port()
    with viewer(f"127.0.0.1:{p}", p, tmp_path_factory.mktemp("hosts")):
        yield p


def get(port: int, path: str, host: str) -> tuple[int, str]:
    """GET ``path`` from the server with ``host`` as the Host header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def kernel_id(port: int) -> str:
    """The kernel voila started for a page it served to a legitimate request."""
    status, page = get(port, "/", f"127.0.0.1:{port}")
    assert status == 200
    m = re.search(r'"kernelId": "([0-9a-f-]{36})"', page)
    assert m, page[-2000:]
    return m.group(1)


def upgrade(
    port: int, kernel: str, host: str, origin: str | None, path: str = "/api/kernels/{}/channels"
) -> int:
    """The status voila answers to a websocket upgrade to the kernel's channels
    (or another websocket ``path``)."""
    try:
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}" + path.format(kernel),
            host=host,
            origin=origin,
            suppress_origin=origin is None,
            # The page's protocol, on the kernel's channels only.
            subprotocols=[PROTOCOL] if "channels" in path else None,
            timeout=60,
        )
    except websocket.WebSocketBadStatusException as e:
        return int(e.status_code)
    ws.close()
    return 101


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_names_get_the_page(port: int, host: str) -> None:
    status, page = get(port, "/", f"{host}:{port}")
    assert status == 200
    assert "kernelId" in page


def test_foreign_host_is_refused(port: int) -> None:
    assert get(port, "/", EVIL)[0] == 403
    assert get(port, "/", f"{EVIL}:{port}")[0] == 403


def test_websocket_checks_host_and_origin(port: int) -> None:
    kernel = kernel_id(port)
    good = f"127.0.0.1:{port}"
    # The same kernel: the handshake succeeds from this origin, so the refusals
    # below are for the headers, not the kernel.
    assert upgrade(port, kernel, good, f"http://{good}") == 101
    assert upgrade(port, kernel, EVIL, f"http://{EVIL}") == 403
    assert upgrade(port, kernel, EVIL, None) == 403
    assert upgrade(port, kernel, good, f"http://{EVIL}") == 403
    # The Host is checked before the kernel is looked up: an unknown kernel is
    # 404 to a loopback Host, 403 to a foreign one.
    unknown = "0" * 8 + "-0000-0000-0000-" + "0" * 12
    assert upgrade(port, unknown, good, None) == 404
    assert upgrade(port, unknown, EVIL, None) == 403


def test_request_info_checks_host(port: int) -> None:
    """A page of another site must not wait on a kernel's request info (nor
    take a kernel's place there): voila's handler had no Host check."""
    unknown = "0" * 8 + "-0000-0000-0000-" + "0" * 12
    query = "/voila/query/{}"
    assert upgrade(port, unknown, EVIL, None, query) == 403
    assert upgrade(port, unknown, f"{EVIL}:{port}", f"http://{EVIL}", query) == 403
    # From this machine, by a loopback name: the way the kernels connect.
    assert upgrade(port, unknown, f"127.0.0.1:{port}", None, query) == 101
