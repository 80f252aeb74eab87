"""The viewer page's answers to what it cannot open: every upload or path that
is no readable trace gets a message on the page, never an exception; a Parquet
dataset directory opens like a trace file."""

from __future__ import annotations

import datetime
import gzip
import html
from pathlib import Path

import pytest

import gotrace_df as gt
from gotrace_df import app
from gotrace_df.app import page

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
