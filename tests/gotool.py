"""Real `go tool trace`, the answer key for the views: its HTTP pages and its
-pprof output, from the toolchain of the Go version that wrote the trace.

    with GoToolTrace(path, "1.26") as gt:
        html = gt.get("/goroutines")
    prof = pprof(path, "sched", "1.26")
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOOLCHAINS = ROOT / ".toolchains" / "bin"


def go_binary(version: str) -> Path:
    """The `go` command of Go 1.NN (from tools/install-go.sh); version like "1.26"."""
    p = TOOLCHAINS / f"go{version}"
    if not p.exists():
        raise RuntimeError(f"no Go {version} toolchain at {p}: run `make go` (tools/install-go.sh)")
    return p


def trace_version(path: Path) -> str:
    """The Go release whose `go tool trace` is the answer key for a corpus
    trace: the one that made it, from its directory (go1.NN). Old-format traces
    (Go 1.11-1.21, in go1.21/ and Go's own in v1/) get Go 1.26's, which reads
    them through Go's converter as we do; older cmd/traces are other programs."""
    name = path.parent.name
    if name in OLD_DIRS:
        return "1.26"
    if not name.startswith("go1."):
        raise ValueError(f"{path}: not in a go1.NN corpus directory")
    return name.removeprefix("go")


# `go tool trace` always opens a browser: Go's browser.Open runs $BROWSER,
# then chrome, google-chrome, chromium... until one succeeds. "none" is no
# command, so Debian's chromium (installed for the browser tests) started for
# every server, failed without a display, and left 4 MB of BrowserMetrics in
# ~/.config/chromium: 2 GB a test run. `true` succeeds and opens nothing (our
# own CLI opens nothing without a display either).
NO_BROWSER = "true"


def go_env() -> dict[str, str]:
    """The environment Go's tools run in: this toolchain, no browser, no display."""
    env = dict(os.environ, GOTOOLCHAIN="local", BROWSER=NO_BROWSER)
    env.pop("DISPLAY", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pprof(path: Path, kind: str, version: str) -> bytes:
    """`go tool trace -pprof=kind path` of Go `version`: the profile's bytes."""
    out = subprocess.run(
        [str(go_binary(version)), "tool", "trace", f"-pprof={kind}", str(path)],
        capture_output=True,
        env=go_env(),
        check=True,
        timeout=600,
    )
    return out.stdout


def pprof_raw(profile: Path, version: str = "1.26") -> str:
    """`go tool pprof -raw profile`: the text dump, which also proves the file is valid."""
    out = subprocess.run(
        [str(go_binary(version)), "tool", "pprof", "-raw", str(profile)],
        capture_output=True,
        text=True,
        env=go_env(),
        check=True,
        timeout=300,
    )
    return out.stdout


def go_run(source: str, stdin: str, workdir: Path, version: str = "1.26") -> str:
    """`go run` of a one-file main package (written to `workdir`) reading
    `stdin`: its standard output."""
    (workdir / "main.go").write_text(source)
    out = subprocess.run(
        [str(go_binary(version)), "run", "main.go"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=workdir,
        env=dict(go_env(), GO111MODULE="off"),
        check=True,
        timeout=300,
    )
    return out.stdout


def traced_run(program: Path, workdir: Path, version: str = "1.26") -> Path:
    """Build the one-file Go program `program` with Go `version` in `workdir`
    and run it with one argument, the trace it writes: that trace."""
    exe, out = workdir / program.parent.name, workdir / f"{program.parent.name}.trace"
    subprocess.run(
        [str(go_binary(version)), "build", "-o", str(exe), str(program)],
        check=True,
        env=dict(go_env(), GO111MODULE="off"),
        timeout=300,
    )
    subprocess.run([str(exe), str(out)], check=True, timeout=120)
    return out


class GoToolTrace:
    """`go tool trace -http=127.0.0.1:PORT path`, started and stopped with `with`."""

    def __init__(self, path: Path, version: str, timeout: float = 300) -> None:
        self.path = path
        self.version = version
        self.timeout = timeout
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> GoToolTrace:
        cmd = [
            str(go_binary(self.version)),
            "tool",
            "trace",
            f"-http=127.0.0.1:{self.port}",
            str(self.path),
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=go_env()
        )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(
                    f"go tool trace exited early ({self.proc.returncode}): {err[-2000:]}"
                )
            try:
                self.get("/")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise TimeoutError(f"go tool trace did not answer within {self.timeout}s")

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=120) as r:
            data: bytes = r.read()
            return data

    def text(self, path: str) -> str:
        return self.get(path).decode()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()


CORPUS = ROOT / "tests" / "data" / "traces"
VERSIONS = ["1.22", "1.23", "1.24", "1.25", "1.26", "1.27"]
# Directories of old-format traces: ours of Go 1.21 and Go's own test traces.
OLD_DIRS = ("go1.21", "v1")


def corpus_cases(scenarios: Sequence[str], extra: Mapping[str, Sequence[str]]) -> list[Path]:
    """The corpus traces of `scenarios` (plus `extra[version]`) for every Go
    version, then those of Go 1.21 and `extra["v1"]` of Go's old test traces."""
    dirs = [f"go{v}" for v in VERSIONS] + list(OLD_DIRS)
    return [
        CORPUS / d / f"{s}.trace"
        for d in dirs
        for s in [*(scenarios if d != "v1" else []), *extra.get(d.removeprefix("go"), [])]
        if (CORPUS / d / f"{s}.trace").exists()
    ]


def case_id(path: Path) -> str:
    return f"{path.parent.name}-{path.stem}"


def served(path: Path) -> Iterator[tuple[Path, str, Any, GoToolTrace]]:
    """(path, Go version, our Trace, its own version's go tool trace serving it):
    the body of the view tests' module-scoped fixtures."""
    import gotrace_df as gt

    version = trace_version(path)
    tr = gt.read_trace(path)
    with GoToolTrace(path, version) as server:
        yield path, version, tr, server
