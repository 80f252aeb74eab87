"""The harness that starts Go's tools (tests/gotool.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from gotool import CORPUS, GoToolTrace


def test_go_tool_trace_starts_no_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`go tool trace` opens a browser whatever its flags; every browser Go
    would try is a stand-in here that leaves a mark. A real one (Debian's
    chromium) left 4 MB on disk per server started."""
    marks = tmp_path / "marks"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("xdg-open", "chrome", "google-chrome", "chromium", "firefox"):
        exe = bindir / name
        exe.write_text(f'#!/bin/sh\necho {name} >> "{marks}"\n')
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{Path('/usr/bin')}:{Path('/bin')}")
    with GoToolTrace(CORPUS / "go1.26" / "sync.trace", "1.26") as server:
        assert server.get("/")
        # browser.Open gives each command up to 3 s to fail.
        time.sleep(1)
    assert not marks.exists(), marks.read_text()
