"""Go's own trace test programs, built and run now with the installed Go, parse
exactly as Go's parser reads them, in normal and stress (a new generation at
every chance) modes, as Go's own tests run them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from parity import check_trace_against_go

GO = shutil.which("go") or "go"


def _goroot() -> Path:
    out = subprocess.run([GO, "env", "GOROOT"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


TESTPROG = _goroot() / "src" / "internal" / "trace" / "testdata" / "testprog"
PROGRAMS = sorted(p.name for p in TESTPROG.glob("*.go"))


@pytest.fixture(scope="module")
def bindir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("testprog")


_MAX_TRACE = 64 << 20
_ATTEMPTS = 3


def _run(bindir: Path, prog: str, stress: bool) -> Path:
    exe = bindir / prog.removesuffix(".go")
    if not exe.exists():
        env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false")
        subprocess.run(
            [GO, "build", "-o", str(exe), str(TESTPROG / prog)], check=True, env=env, cwd=TESTPROG
        )
    godebug = "tracecheckstackownership=1" + (",traceadvanceperiod=0" if stress else "")
    env = dict(os.environ, GODEBUG=godebug, GOTRACEBACK="crash")
    out = bindir / f"{exe.name}{'-stress' if stress else ''}.trace"
    # How much a program writes depends on timing: in stress mode gomaxprocs.go
    # usually writes a few MB but once wrote 829 MB, whose comparison (every
    # event of both parsers held in Python) took 18 GB. Such a run is made again.
    for _ in range(_ATTEMPTS):
        with out.open("wb") as f:
            # The protocol of these programs: the trace on stdout, expectations on stderr.
            subprocess.run(
                [str(exe)], stdout=f, stderr=subprocess.DEVNULL, env=env, check=True, timeout=300
            )
        if out.stat().st_size <= _MAX_TRACE:
            return out
    raise AssertionError(f"{prog}: {_ATTEMPTS} runs each wrote over {_MAX_TRACE >> 20} MiB")


def test_testprogs_found() -> None:
    assert len(PROGRAMS) >= 10, PROGRAMS


@pytest.mark.parametrize("stress", [False, True], ids=["normal", "stress"])
@pytest.mark.parametrize("prog", PROGRAMS)
def test_go_testprog_equals_go(bindir: Path, prog: str, stress: bool) -> None:
    path = _run(bindir, prog, stress)
    assert check_trace_against_go(path) > 0
