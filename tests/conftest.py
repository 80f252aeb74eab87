"""Session-wide pytest hooks."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Free disk space at the end: the suite builds Go programs and writes
    traces and exports, and a full disk fails tests in ways that look like
    anything else."""
    where = {"checkout": Path(__file__).parent, "temp": Path(tempfile.gettempdir())}
    free = ", ".join(
        f"{name} {shutil.disk_usage(path).free / 2**30:.1f} GiB" for name, path in where.items()
    )
    terminalreporter.write_line(f"free disk: {free}")
