"""Atomic publication of an export directory over an existing one, with Linux's
renameat2 exchange and with the two-rename fallback other systems (macOS) use."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gotrace_df.export._atomic import atomic_dir


@pytest.mark.parametrize("platform", [sys.platform, "darwin"])
def test_atomic_dir_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    dest = tmp_path / "ds"
    dest.mkdir()
    (dest / "old.parquet").write_text("old")
    with atomic_dir(dest, replace=True) as tmp:
        (tmp / "new.parquet").write_text("new")
        assert [p.name for p in dest.iterdir()] == ["old.parquet"], "replaced before success"
    assert [p.name for p in dest.iterdir()] == ["new.parquet"]
    assert [p.name for p in tmp_path.iterdir()] == ["ds"], "a temporary directory was left"
    with pytest.raises(FileExistsError), atomic_dir(dest, replace=False) as tmp:
        (tmp / "x").write_text("x")
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]
