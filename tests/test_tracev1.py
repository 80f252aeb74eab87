"""Go 1.11-1.21 traces (the old format) read as Go's converter reads them:
their events equal x/exp/trace's (compared in `parity.old_format_canonical`
form, since Go's own order of events whose times tie changes from run to
run), and what the format cannot say is said.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from oracle_util import oracle_events
from parity import assert_same_events, old_format_canonical

import gotrace_df
from gotrace_df import cli
from gotrace_df.testing import canonical_events, check_invariants

CORPUS = Path(__file__).resolve().parent / "data" / "traces"
# Go's own test traces, and ours from Go 1.21.13 (tests/data/make_corpus.py).
TRACES = sorted(CORPUS.glob("v1/*.trace")) + sorted(CORPUS.glob("go1.21/*.trace"))


def test_corpus_has_every_old_version() -> None:
    headers = {p.read_bytes()[:16].rstrip(b"\0") for p in TRACES}
    assert headers >= {b"go 1.11 trace", b"go 1.19 trace", b"go 1.21 trace"}, headers


@pytest.mark.parametrize("path", TRACES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_events_equal_go(path: Path) -> None:
    theirs, err = oracle_events(path)
    assert err is None, f"{path}: Go's parser failed: {err}"
    tr = gotrace_df.read_trace(path, progress=False)
    ours = list(canonical_events(tr))
    assert_same_events(old_format_canonical(ours), old_format_canonical(theirs), str(path))
    check_invariants(tr)


def test_format_is_reported_once() -> None:
    """The repr names the old format as converted; summary says what it lacks."""
    old = gotrace_df.read_trace(CORPUS / "v1" / "http_1_19_good.trace", progress=False)
    assert old.converted and old.generations == 1
    assert "Go 1.19/1.20 (format 19, converted)" in repr(old)
    notes = gotrace_df.summary(old).attrs["notes"]
    assert notes == list(old.format_notes) and any("no generations" in n for n in notes)
    assert not any("CPU samples" in n for n in notes)
    oldest = gotrace_df.read_trace(CORPUS / "v1" / "user_task_region_1_11_good.trace")
    assert "Go 1.11-1.18 (format 11, converted)" in repr(oldest)
    assert any("no CPU samples" in n for n in oldest.format_notes)
    new = gotrace_df.read_trace(CORPUS / "go1.26" / "tasks.trace", progress=False)
    assert not new.converted and new.format_notes == ()
    assert gotrace_df.summary(new).attrs["notes"] == []
    assert "converted" not in repr(new)


def test_summary_command_prints_the_notes(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "go1.21" / "tasks.trace"
    assert cli.main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    tr = gotrace_df.read_trace(path, progress=False)
    assert out.startswith(repr(tr) + "\n\nnotes:\n")
    for n in tr.format_notes:
        assert f"  {n}\n" in out


def test_pkg_test_binary_is_noted_and_ignored(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """`go tool trace [flags] [pkg.test] trace.out`: the binary changes nothing
    but a one-line note."""
    path = str(CORPUS / "go1.21" / "sync.trace")
    assert cli.main(["-d=parsed", path]) == 0
    plain, err = capsysbinary.readouterr()
    assert err == b""
    assert cli.main(["-d=parsed", "sync.test", path]) == 0
    out, err = capsysbinary.readouterr()
    assert out == plain
    assert err.decode().splitlines() == [
        "gotrace-df: ignoring sync.test: traces carry their own symbols"
    ]


def test_truncated_old_trace_is_an_error() -> None:
    """No generations to fall back on: a cut trace is an error, as in Go."""
    data = (CORPUS / "go1.21" / "tasks.trace").read_bytes()
    for cut in (17, len(data) // 2, len(data) - 1):
        with pytest.raises(gotrace_df.TraceError) as e:
            gotrace_df.read_trace(data[:cut], progress=False)
        assert e.value.offset is not None
