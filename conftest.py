"""pytest hooks for the doctests (the tests' own are in tests/conftest.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _doctest_tempdir(request: pytest.FixtureRequest) -> Iterator[None]:
    """A doctest's ``tempfile.mkdtemp()`` under its own tmp_path, which pytest
    removes when it passes: the examples write Parquet datasets and exports
    that would otherwise pile up in /tmp run after run."""
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    before = tempfile.tempdir
    tempfile.tempdir = str(request.getfixturevalue("tmp_path"))
    try:
        yield
    finally:
        tempfile.tempdir = before
