"""Progress bars: tqdm's where it is installed, a plain stderr line where it is not
(the core install needs only pyarrow, pandas and numpy)."""

from __future__ import annotations

import sys

import pytest

import gotrace_df as gt
from gotrace_df._progress import LineBar, progress_bar


def test_without_tqdm_a_line_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    assert isinstance(progress_bar(10, "x"), LineBar)
    tr = gt.read_trace(gt.example_trace(), progress=True)
    assert tr.events.num_rows > 0
    err = capsys.readouterr().err
    size = gt.example_trace().stat().st_size / (1 << 20)
    assert err.endswith("\n") and "reading trace: " in err
    # The last line is drawn at close: every byte read, of the whole file.
    assert f"{size:.1f}/{size:.1f} MiB" in err.splitlines()[-1]


def test_line_bar_counts_and_stays_quiet_when_disabled(capsys: pytest.CaptureFixture[str]) -> None:
    with LineBar(3 << 20, "converting") as bar:
        bar.update(1 << 20)
        bar.update(2 << 20)
        bar.set_postfix_str("2/2 traces")
        assert bar.n == 3 << 20
    assert "converting: 3.0/3.0 MiB" in capsys.readouterr().err.splitlines()[-1]
    with LineBar(1, "quiet", disable=True) as bar:
        bar.update(1)
    assert capsys.readouterr().err == ""


def test_with_tqdm_a_tqdm_bar() -> None:
    from tqdm.auto import tqdm  # the ui extra brings it

    bar = progress_bar(10, "x", disable=True)
    assert isinstance(bar, tqdm)
    bar.close()
