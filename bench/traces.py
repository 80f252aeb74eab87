"""The bench traces: bench/data/workload-NNNmb.trace, written by the Go program
in bench/workload (with the machine's ``go``) when missing, the same workload
written by Go 1.21 in the old format (workload-go1.21-NNNmb.trace), and Go
programs built for the bench."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT / "tests"))

from gotool import go_binary, go_env  # noqa: E402


def go_command() -> str:
    go = os.environ.get("GO") or shutil.which("go")
    if go is None:
        raise SystemExit("no `go` on PATH (set $GO): the bench builds Go programs")
    return go


def workload_trace(mb: int, go: str | None = None) -> Path:
    """The workload trace of about mb MiB, made first if missing: by the
    machine's ``go``, or by Go ``go`` (e.g. "1.21", from .toolchains) as
    workload-go1.21-NNmb.trace, so the bench can read old-format traces too."""
    name = f"workload-{mb}mb.trace" if go is None else f"workload-go{go}-{mb}mb.trace"
    path = DATA / name
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        command = go_command() if go is None else str(go_binary(go))
        subprocess.run(
            [command, "run", ".", "-o", str(tmp), "-mb", str(mb)],
            cwd=ROOT / "bench" / "workload",
            env=go_env(),
            check=True,
        )
        tmp.replace(path)
    return path


def build(program: str) -> Path:
    """Build bench/PROGRAM into bench/data/bin/PROGRAM (the go command's cache
    makes a rebuild of unchanged sources quick)."""
    out = DATA / "bin" / program
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go_command(), "build", "-o", str(out), "."],
        cwd=ROOT / "bench" / program,
        env=go_env(),
        check=True,
    )
    return out


def trace_go_version(path: Path) -> str:
    """The Go release in the trace's header ("go 1.26 trace"), e.g. "1.26"."""
    with path.open("rb") as f:
        head = f.read(16)
    m = re.match(rb"go (1\.\d+) trace", head)
    if m is None:
        raise SystemExit(f"{path}: not a Go execution trace (header {head!r})")
    return m.group(1).decode()
