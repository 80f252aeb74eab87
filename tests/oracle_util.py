"""Build and run the Go oracle (tests/oracle), the answer key for event parsing.

oracle_binary() builds tests/oracle into tests/oracle/.bin/oracle with the
system Go (GOTOOLCHAIN=local) when the binary is missing or older than its
sources. oracle_events(path) runs it and returns (events, error message).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ORACLE_DIR = Path(__file__).resolve().parent / "oracle"
BIN_DIR = ORACLE_DIR / ".bin"
BINARY = BIN_DIR / "oracle"
_SOURCES = ("main.go", "go.mod", "go.sum")


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GOTOOLCHAIN"] = "local"
    env.setdefault("GOFLAGS", "-buildvcs=false")
    return env


def _stale() -> bool:
    if not BINARY.exists():
        return True
    built = BINARY.stat().st_mtime
    return any(
        (ORACLE_DIR / s).stat().st_mtime > built for s in _SOURCES if (ORACLE_DIR / s).exists()
    )


def oracle_binary() -> Path:
    """Return the path of the oracle binary, building it first if needed."""
    if not _stale():
        return BINARY
    go = os.environ.get("GO") or shutil.which("go")
    if go is None:
        raise RuntimeError("oracle: no `go` on PATH (set $GO)")
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    # Build to a temporary name and rename, so concurrent test workers never
    # run a half-written binary.
    fd, tmp = tempfile.mkstemp(prefix="oracle.", dir=BIN_DIR)
    os.close(fd)
    try:
        p = subprocess.run(
            [go, "build", "-o", tmp, "."],
            cwd=ORACLE_DIR,
            env=_go_env(),
            capture_output=True,
            text=True,
        )
        if p.returncode != 0:
            raise RuntimeError(f"oracle: go build failed:\n{p.stderr}")
        os.replace(tmp, BINARY)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return BINARY


def oracle_events(path: str | os.PathLike[str]) -> tuple[list[dict], str | None]:
    """Parse the trace at `path` with Go's parser.

    Returns (events, error): every event Go produced, in order, as dicts (see
    tests/oracle/README.md for the keys), and Go's error message if reading
    stopped on an error (events then holds everything read before it), else None.
    """
    p = subprocess.run([str(oracle_binary()), os.fspath(path)], capture_output=True)
    return _events(p, str(path))


def oracle_events_bytes(data: bytes) -> tuple[list[dict], str | None]:
    """oracle_events for a trace held in memory (given to the oracle on stdin)."""
    p = subprocess.run([str(oracle_binary()), "-"], input=data, capture_output=True)
    return _events(p, f"<{len(data)} bytes>")


def _events(p: subprocess.CompletedProcess[bytes], what: str) -> tuple[list[dict], str | None]:
    lines = p.stdout.splitlines()
    error: str | None = None
    if p.returncode != 0:
        last = json.loads(lines[-1]) if lines else {}
        if isinstance(last, dict) and set(last) == {"error"}:
            lines.pop()
            error = last["error"]
        else:
            raise RuntimeError(
                f"oracle failed on {what} (status {p.returncode}): {p.stderr.decode(errors='replace')}"
            )
    return [json.loads(line) for line in lines], error


def oracle_stats(path: str | os.PathLike[str]) -> dict:
    """Run `oracle -stats` (benchmark helper): {"events": N, "seconds": S, ...}."""
    p = subprocess.run([str(oracle_binary()), "-stats", os.fspath(path)], capture_output=True)
    lines = p.stdout.splitlines()
    if not lines:
        raise RuntimeError(f"oracle -stats failed on {path}: {p.stderr.decode(errors='replace')}")
    out = json.loads(lines[0])
    if len(lines) > 1:
        out["error"] = json.loads(lines[1])["error"]
    return out
