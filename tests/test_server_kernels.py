"""The viewer's kernels against hostile clients: page loads that never
connect cannot pile up kernels (a cap, then a page saying so; abandoned
kernels culled), a closed tab's kernel goes away while an open one stays, and
a kernel websocket that speaks the old protocol or sends a malformed v1
message is shut out without stalling the server or growing it.

One real ``gotrace-df -http=127.0.0.1:PORT`` serves the module, with a small
page cap and idle time, under a memory cap (RLIMIT_AS, inherited by voila and
its kernels) so that a regression fails instead of taking the machine down.
Kernels are counted as the server's child processes (jupyter_server's
``/api/kernels`` is what an attacker would not get on a token server)."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import websocket
from browser_util import free_port, launch, serving
from playwright.sync_api import sync_playwright
from viewer_page import STATIC, wait_for_timeline

from gotrace_df.app import SERVER
from gotrace_df.app.server import PROTOCOL, SpareKernel, connection_file, v1_framing_ok
from gotrace_df.cli.serve import ENV_IDLE, ENV_MAX_PAGES, Limits
from gotrace_df.cli.usage import CommandExit

ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT / "tests" / "data" / "traces" / "go1.26" / "tasks.trace"
MAX_PAGES = 2
IDLE = 10  # seconds; the command looks every IDLE // 4 = 2 s
GONE = (
    IDLE + 2 + 10
)  # culled by then, with time to shut the kernel down  # culled by then, with time to shut the kernel down
# Address space per process: a kernel reserves ~2.4 GiB here (more on
# machines with more cores: malloc keeps arenas per thread).
CAP = 6 << 30
CAPPED = (
    "import resource, runpy, sys; "
    f"resource.setrlimit(resource.RLIMIT_AS, ({CAP}, {CAP})); "
    "runpy.run_module('gotrace_df', run_name='__main__', alter_sys=True)"
)


class Server:
    def __init__(self, proc: psutil.Process, port: int) -> None:
        self.proc = proc
        self.port = port

    def tree(self) -> list[psutil.Process]:
        return [self.proc, *self.proc.children(recursive=True)]

    def kernels(self) -> dict[str, psutil.Process]:
        """The live kernel processes, by kernel id (from their connection file)."""
        out = {}
        for p in self.tree():
            try:
                with_id = re.search(r"kernel-([0-9a-f-]{36})\.json", " ".join(p.cmdline()))
            except psutil.Error:  # exited (a zombie until voila reaps it)
                continue
            if with_id:
                out[with_id.group(1)] = p
        return out

    def rss_mb(self) -> float:
        total = 0
        for p in self.tree():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total / 2**20

    def voila(self) -> psutil.Process:
        return next(p for p in self.tree() if str(SERVER) in p.cmdline())

    def get(self, path: str = "/") -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            conn.close()

    def page_kernel(self) -> str:
        status, page = self.get()
        assert status == 200, page[-2000:]
        m = re.search(r'"kernelId": "([0-9a-f-]{36})"', page)
        assert m, page[-2000:]
        return m.group(1)


def wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("kernels")
    port = free_port()
    env = dict(
        os.environ,
        BROWSER="none",
        PYTHONPATH=str(ROOT),
        GOTRACE_DF_MAX_PAGES=str(MAX_PAGES),
        GOTRACE_DF_IDLE_SECONDS=str(IDLE),
    )
    env.pop("DISPLAY", None)
    cmd = [sys.executable, "-c", CAPPED, f"-http=127.0.0.1:{port}", str(TRACE)]
    url = f"http://127.0.0.1:{port}/{STATIC}"
    with serving(cmd, url, tmp / "server.log", cwd=tmp, env=env) as proc:
        s = Server(psutil.Process(proc.pid), port)
        # The preheated kernel, ready for the first page.
        wait_until(lambda: len(s.kernels()) == 1, 120, "no preheated kernel")
        yield s


def channels(server: Server, kernel: str) -> websocket.WebSocket:
    """A kernel websocket as a page opens it."""
    return websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/api/kernels/{kernel}/channels",
        subprotocols=[PROTOCOL],
        timeout=10,
    )


def test_page_loads_are_capped_and_idle_kernels_culled(server: Server) -> None:
    """20 loads: the first page connects its websocket (as a browser does),
    the others never do."""
    before = server.rss_mb()
    statuses, pages = [], []
    for _ in range(20):
        status, page = server.get()
        statuses.append(status)
        m = re.search(r'"kernelId": "([0-9a-f-]{36})"', page)
        if status == 200 and m:
            pages.append(m.group(1))
            if len(pages) == 1:
                ws = channels(server, m.group(1))
    assert statuses == [200] * MAX_PAGES + [503] * (20 - MAX_PAGES)
    assert "Too many open viewer pages" in page and "Close some tabs" in page
    # The cap holds: its pages' kernels and the one preheated for the next.
    assert set(pages) <= set(server.kernels())
    assert len(server.kernels()) <= MAX_PAGES + 1
    grown = server.rss_mb() - before
    print(f"20 loads: {MAX_PAGES} served, {grown:.0f} MB more")
    # The abandoned page's kernel goes; the connected one, idle longer, stays.
    kernel, abandoned = pages
    wait_until(lambda: abandoned not in server.kernels(), GONE, "an abandoned kernel lives")
    assert kernel in server.kernels()
    # Room again, once the server has dropped the kernel (its process goes
    # first: shutdown_kernel removes it from the manager after).
    wait_until(lambda: server.get()[0] == 200, 10, "no room once the abandoned kernel went")
    # Once its websocket is gone, the first page's kernel goes too.
    ws.close()
    wait_until(lambda: kernel not in server.kernels(), GONE, "a disconnected kernel lives")


def test_closed_tab_kernel_goes(server: Server) -> None:
    with sync_playwright() as p:
        browser = launch(p)
        try:
            tab = browser.new_page()
            tab.goto(f"http://127.0.0.1:{server.port}/", timeout=180_000)
            try:
                wait_for_timeline(tab, 120_000)
            except Exception:
                raise AssertionError(tab.inner_text("body")[:3000]) from None
            m = re.search(r'"kernelId": "([0-9a-f-]{36})"', tab.content())
            assert m and m.group(1) in server.kernels()
            tab.close()
            wait_until(
                lambda: m.group(1) not in server.kernels(), GONE, "closed tab's kernel lives"
            )
        finally:
            browser.close()


def send_hostile(server: Server, kernel: str, subprotocols: list[str] | None) -> str:
    """Connect to the kernel's channels and send eight 0xFF bytes (a v1 frame
    claiming 2**64 - 1 offsets); what became of the connection."""
    try:
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/api/kernels/{kernel}/channels",
            subprotocols=subprotocols,
            timeout=10,
        )
    except websocket.WebSocketBadStatusException as e:
        return f"refused {e.status_code}"
    try:
        ws.send_binary(b"\xff" * 64)
        # The kernel's status messages may come first.
        for _ in range(50):
            opcode, frame = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return f"closed {int.from_bytes(frame[:2], 'big')}"
        raise AssertionError("the connection stayed open")
    finally:
        ws.close()


def test_v1_framing() -> None:
    """What jupyter_server's own v1 serializer writes passes; a count or an
    offset beyond the message does not."""
    from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

    parts = [b'{"msg_type": "comm_msg"}', b"{}", b"{}", b'{"data": {}}', b"\0" * 100]
    good = serialize_msg_to_ws_v1(parts, "shell")
    assert v1_framing_ok(good)
    n = int.from_bytes(good[:8], "little")
    assert not v1_framing_ok(b"\xff" * 64)
    assert not v1_framing_ok((n + 100).to_bytes(8, "little") + good[8:])
    assert not v1_framing_ok(good[:-1])  # the last offset past the end
    assert not v1_framing_ok(good[:8] + good[16:24] + good[8:16] + good[24:])  # not sorted
    assert not v1_framing_ok(good.decode("latin-1"))  # text on a v1 socket
    assert not v1_framing_ok((2).to_bytes(8, "little") + bytes(16))  # no message parts


def test_hostile_kernel_websocket_is_shut_out(server: Server) -> None:
    kernel = server.page_kernel()
    voila = server.voila()
    before = voila.memory_info().rss
    # The old protocol: refused at the handshake.
    assert send_hostile(server, kernel, None) == "refused 400"
    assert send_hostile(server, kernel, ["v0.kernel.websocket.jupyter.org"]) == "refused 400"
    # A v1 frame whose offset count exceeds the message: the connection is
    # closed (1007: inconsistent data) instead of parsed.
    assert send_hostile(server, kernel, [PROTOCOL]) == "closed 1007"
    started = time.monotonic()
    assert server.get(f"/{STATIC}")[0] == 200
    assert time.monotonic() - started < 1.0
    grown = (voila.memory_info().rss - before) / 2**20
    print(f"voila RSS after the hostile messages: {grown:+.1f} MB")
    assert grown < 20
    # A well-formed client still gets through.
    channels(server, kernel).close()


def test_spare_kernel_is_only_the_kernel_it_was_started_as(tmp_path: Path) -> None:
    """The server's spare process becomes the kernel whose ID it was given,
    launched with this interpreter's settings; any other launch stops it."""
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f"]
    for launch_other in (
        lambda s: s.launch([*kernel, str(tmp_path / connection_file("other"))]),
        lambda s: s.launch(
            [*kernel, str(tmp_path / s.file)], env=dict(os.environ, PYTHONSTARTUPSETTING="other")
        ),
        lambda s: s.launch(["/bin/true", "-f", str(tmp_path / s.file)]),
    ):
        spare = SpareKernel.start()
        proc = spare.proc
        assert proc is not None
        assert launch_other(spare) is None
        assert proc.poll() is not None and spare.proc is None
    spare = SpareKernel.start()
    kernel_id = spare.kernel_id()
    assert kernel_id and spare.file == connection_file(kernel_id)
    assert spare.kernel_id() is None  # given once
    spare.stop()


def test_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_MAX_PAGES, raising=False)
    monkeypatch.delenv(ENV_IDLE, raising=False)
    assert Limits.from_env() == Limits(max_pages=8, idle_seconds=60)
    monkeypatch.setenv(ENV_MAX_PAGES, "3")
    monkeypatch.setenv(ENV_IDLE, "40")
    limits = Limits.from_env()
    assert limits == Limits(3, 40)
    assert {
        "--ViewerServer.max_pages=3",
        "--MappingKernelManager.cull_idle_timeout=40",
        "--MappingKernelManager.cull_interval=10",
    } == set(limits.voila_options())
    for bad in ("0", "-2", "many"):
        monkeypatch.setenv(ENV_IDLE, bad)
        with pytest.raises(CommandExit):
            Limits.from_env()
