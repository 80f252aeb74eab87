"""The viewer page's answers to what it cannot open: every upload or path that
is no readable trace gets a message on the page, never an exception; a Parquet
dataset directory opens like a trace file."""

from __future__ import annotations

import contextlib
import datetime
import gzip
import html
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus, urlencode

import numpy as np
import pyarrow as pa
import pytest
from websockets.sync.server import ServerConnection, serve

import gotrace_df as gt
from gotrace_df import app
from gotrace_df.app import mapped, page
from gotrace_df.widgets._model import TimelineModel
from gotrace_df.widgets.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT / "tests" / "data" / "traces" / "go1.26" / "tasks.trace"


def upload(ui: app.ViewerApp, name: str, content: bytes, size: int | None = None) -> str:
    """Upload ``content`` through the widget; returns the page's message."""
    ui.upload.value = (
        {
            "name": name,
            "type": "application/octet-stream",
            "size": len(content) if size is None else size,
            "content": memoryview(content),
            "last_modified": datetime.datetime.now(datetime.UTC),
        },
    )
    return html.unescape(ui.message.value)


def test_uploads_that_are_no_trace_get_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    good = TRACE.read_bytes()
    packed = gzip.compress(good)
    cases = {
        "notes.txt": (b"hello\n" * 50, "not a Go execution trace"),
        "empty.trace": (b"", "empty input"),
        "bad.trace.gz": (packed[:10] + b"\xff" * 64, "damaged gzip stream"),
        "cut.trace.gz": (packed[: len(packed) // 2], "truncated gzip stream"),
    }
    for name, (content, message) in cases.items():
        ui = app.ViewerApp()
        text = upload(ui, name, content)
        assert "Not a readable Go execution trace" in text and message in text, (name, text)
        assert ui.viewer is None
    ui = app.ViewerApp()
    text = upload(ui, "huge.trace", b"go 1.26 trace\0\0\0", size=page.MAX_UPLOAD + 1)
    assert "more than this page takes" in text and ui.viewer is None

    def no_memory(*args: object, **kwargs: object) -> gt.Trace:
        raise MemoryError

    monkeypatch.setattr(gt, "read_trace", no_memory)
    ui = app.ViewerApp()
    assert "Not enough memory" in upload(ui, "tasks.trace", good)
    monkeypatch.undo()
    # And a good one still opens.
    assert upload(ui, "tasks.trace", good) == "" and ui.viewer is not None


def test_parquet_dataset_opens_by_path(tmp_path: Path) -> None:
    gt.read_trace(TRACE).to_parquet(tmp_path / "ds")
    env = {"PWD": str(tmp_path)}
    ui = app.viewer_app("ds", env)
    assert ui.viewer is not None, ui.message.value
    (tmp_path / "empty").mkdir()
    ui = app.viewer_app("empty", env)
    assert ui.viewer is None
    assert "not a gotrace_df Parquet dataset" in html.unescape(ui.message.value)


# -- the command's trace, parsed once and mapped by every page ----------------------


def test_mapped_trace_is_the_parsed_one_without_a_copy(tmp_path: Path) -> None:
    tr = gt.read_trace(TRACE)
    mapped.write_mapped(tr, tmp_path / mapped.TRACE_DIR, TRACE)
    before = pa.total_allocated_bytes()
    back = mapped.open_mapped(tmp_path, TRACE)
    assert back is not None
    # The tables point into the mapped files: nothing came from Arrow's pool.
    assert pa.total_allocated_bytes() == before
    assert back.table_names == tr.table_names
    for name in tr.table_names:
        assert back.table(name).equals(tr.table(name)), name
    for field in ("format_version", "start_ns", "end_ns", "frequency", "source"):
        assert getattr(back, field) == getattr(tr, field), field
    assert gt.goroutine_stats(back).equals(gt.goroutine_stats(tr))


def test_mapped_trace_only_for_its_own_file(tmp_path: Path) -> None:
    other = tmp_path / "other.trace"
    other.write_bytes(TRACE.read_bytes())
    assert mapped.open_mapped(tmp_path / "gone", TRACE) is None
    (tmp_path / mapped.FAILED).write_text("out of memory\n")
    assert mapped.open_mapped(tmp_path, TRACE) is None
    mapped.write_mapped(gt.read_trace(TRACE), tmp_path / mapped.TRACE_DIR, TRACE)
    assert mapped.open_mapped(tmp_path, other) is None  # another file, same bytes
    (tmp_path / mapped.TRACE_DIR / "events.arrow").write_bytes(b"ARROW1\0\0damaged")
    assert mapped.open_mapped(tmp_path, TRACE) is None


def test_page_maps_the_commands_trace_and_keeps_the_path_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapped.write_mapped(gt.read_trace(TRACE), tmp_path / mapped.TRACE_DIR, TRACE)

    def no_parse(*args: object, **kwargs: object) -> gt.Trace:
        raise AssertionError("parsed although the command's trace was mapped")

    monkeypatch.setattr(gt, "read_trace", no_parse)
    env = {"PWD": str(tmp_path), app.ENV_TRACE: str(TRACE), app.ENV_CACHE: str(tmp_path)}
    ui = app.viewer_app(str(TRACE), env)
    assert ui.viewer is not None and ui.mapped, ui.message.value
    # The cache does not widen what a page may open.
    outside = app.viewer_app("/etc/passwd", env)
    assert outside.viewer is None and "outside the directories" in outside.message.value


@contextlib.contextmanager
def voila_query(monkeypatch: pytest.MonkeyPatch, query: str, *, later: bool) -> Iterator[list[str]]:
    """A stand-in for voila's ``/voila/query/KERNEL`` websocket, with the
    environment of a kernel voila preheated: the one message it sends is the
    request's variables, ``query`` as its query string; at once, or
    ``later``, once the kernel counted its goroutines. Yields what happened,
    in order: "built NAME" (an app), "counted" (counters shown), "sent"."""
    log: list[str] = []
    counted = threading.Event()

    def handler(ws: ServerConnection) -> None:
        assert ws.request is not None and ws.request.path == "/voila/query/K1"
        if later:
            counted.wait(60)
        log.append("sent")
        ws.send(json.dumps({"QUERY_STRING": query, "SERVER_NAME": "127.0.0.1"}))

    with serve(handler, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.socket.getsockname()[1]
        env = {"VOILA_PREHEAT": "True", "VOILA_APP_IP": "127.0.0.1", "VOILA_APP_PORT": str(port)}
        env |= {"VOILA_SERVER_URL": "/", "VOILA_KERNEL_ID": "K1"}
        env |= {app.ENV_TRACE: str(TRACE), app.ENV_ONLY: "1", app.ENV_DIRS: str(TRACE.parent)}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        monkeypatch.delenv("QUERY_STRING", raising=False)
        shown, load_counters = page.ViewerApp.show, Timeline.load_counters

        def show(self: app.ViewerApp, prepared: page.Prepared | None) -> None:
            shown(self, prepared)
            if prepared is not None:
                log.append(f"built {Path(prepared.trace.source).name}")

        def counting(self: Timeline) -> None:
            load_counters(self)
            log.append("counted")
            counted.set()

        monkeypatch.setattr(page.ViewerApp, "show", show)
        monkeypatch.setattr(Timeline, "load_counters", counting)
        yield log
        server.shutdown()


def test_preheated_kernel_opens_the_commands_trace_before_its_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with voila_query(monkeypatch, urlencode({"trace": str(TRACE)}), later=True) as log:
        ui = page.main()
    assert log == ["built tasks.trace", "counted", "sent"]
    assert os.environ["QUERY_STRING"] == f"trace={quote_plus(str(TRACE))}"
    assert ui.viewer is not None and not ui.viewer.timeline.model.defer_counters


def test_preheated_kernel_opens_another_trace_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    other = TRACE.parent / "gc.trace"
    with voila_query(monkeypatch, urlencode({"trace": str(other)}), later=False) as log:
        ui = page.main()
    # (Whether the early app was shown, and its counters, before the request
    # came depends on how fast it came: a page waiting already does not wait.)
    assert [e for e in log if e not in ("counted", "built tasks.trace")] == [
        "sent",
        "built gc.trace",
    ]
    assert ui.viewer is not None and ui.viewer.trace.source == str(other)


def test_goroutines_counted_in_the_background_are_the_same(tmp_path: Path) -> None:
    tr = gt.read_trace(TRACE)
    mapped.write_mapped(tr, tmp_path / mapped.TRACE_DIR, TRACE)
    back = mapped.open_mapped(tmp_path, TRACE)
    assert back is not None
    here, there = TimelineModel(tr), TimelineModel(back)
    there.count_goroutines(background=True)
    want, got = here.counters(), there.counters()
    assert want.keys() == got.keys() and "Running" in got
    for key, series in want.items():
        (t0, v0, _), (t1, v1, _) = series.levels[0], got[key].levels[0]
        assert np.array_equal(t0, t1) and np.array_equal(v0, v1, equal_nan=True), key


# -- the path policy of a page served by the command ----------------------------------


def test_command_opens_its_trace_not_the_working_directory(tmp_path: Path) -> None:
    """``gotrace-df TRACE`` (as it sets the environment): TRACE, and the
    directories of GOTRACE_DF_TRACE_DIRS, not what lies beside it or under the
    directory the command was started in."""
    (tmp_path / "traces").mkdir()
    trace = tmp_path / "traces" / "a.trace"
    trace.write_bytes(TRACE.read_bytes())
    (tmp_path / "traces" / "b.trace").write_bytes(TRACE.read_bytes())
    (tmp_path / "c.trace").write_bytes(TRACE.read_bytes())
    env = {"PWD": str(tmp_path), app.ENV_TRACE: str(trace), app.ENV_ONLY: "1"}
    assert app.resolve_trace(str(trace), env) == trace
    assert app.resolve_trace("traces/a.trace", env) == trace
    for other in ("c.trace", "traces/b.trace", str(TRACE)):
        ui = app.viewer_app(other, env)
        message = html.unescape(ui.message.value)
        assert ui.viewer is None and "outside the directories this viewer may open" in message
        # Where the allowed places come from, not the server's directories
        # (the path asked for is repeated).
        told = message.replace(other, "")
        assert str(tmp_path) not in told and str(ROOT) not in told, message
    # Started in /: everything lies under the working directory, nothing opens.
    root = dict(env, PWD="/")
    assert app.viewer_app(str(TRACE), root).viewer is None
    more = dict(env, **{app.ENV_DIRS: str(tmp_path / "traces")})
    assert app.resolve_trace("traces/b.trace", more) == tmp_path / "traces" / "b.trace"
    assert app.viewer_app("c.trace", more).viewer is None


def test_unusable_paths_get_a_message(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop")
    env = {"PWD": str(tmp_path)}
    cases = {
        "loop": "a symbolic link loop",
        "loop/x.trace": "a symbolic link loop",
        "~nosuchuser-gotrace/x.trace": "no such user",
        "x" * 5000: "File name too long",
        "a\0b.trace": "NUL byte",
    }
    for path, reason in cases.items():
        ui = app.viewer_app(path, env)
        message = html.unescape(ui.message.value)
        assert ui.viewer is None and reason in message, (path[:20], message)
        assert "Traceback" not in message and len(message) < 400, message
        assert str(tmp_path) not in message.replace(repr(path)[1:-1], ""), message
