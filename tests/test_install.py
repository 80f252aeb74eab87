"""The package as users get it: the wheel built by ``maturin build --release``,
installed with its ``ui`` extra into a fresh virtualenv outside the checkout,
and run from another directory with the checkout nowhere on ``sys.path``.

One wheel, one virtualenv, one server: the commands (``version``, ``summary``,
``-pprof``, ``export --parquet``, ``python -m gotrace_df``) are checked against
the checkout's own results (which the other tests check against Go) and the
profile with ``go tool pprof``; the viewer (``gotrace-df -http=...``) in headless
Chromium: the timeline drawn, every tab opened, the Parquet dataset opened, and
a path outside the allowed directories refused.

The wheel build reuses the cargo cache of ``make setup`` (``target/``, or
``$CARGO_TARGET_DIR``); pip may use its cache and the index.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gotool import go_env, pprof_raw
from viewer_page import open_every_tab, page_error, viewer_page, wait_for_timeline

import gotrace_df as gt
from gotrace_df.cli.commands import summary_text
from gotrace_df.pprof import to_pprof
from gotrace_df.views import blocking_profile

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Installed:
    venv: Path
    work: Path  # the current directory of every command: not the checkout
    env: dict[str, str]
    example: Path  # the example trace inside the installed package

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``args[0]`` from the virtualenv's bin/, in ``work``; must succeed."""
        cmd = [str(self.venv / "bin" / args[0]), *args[1:]]
        p = subprocess.run(
            cmd, cwd=self.work, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert p.returncode == 0, f"{' '.join(args)} exited {p.returncode}: {p.stderr[-3000:]}"
        return p


def _timed(
    what: str, times: dict[str, float], cmd: list[str], timeout: float, cwd: Path | None = None
) -> None:
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    times[what] = time.monotonic() - start
    assert p.returncode == 0, f"{what} failed: {p.stdout[-2000:]}\n{p.stderr[-4000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("install")
    times: dict[str, float] = {}
    maturin = Path(sys.executable).parent / "maturin"
    _timed(
        "maturin build",
        times,
        [str(maturin), "build", "--release", "-i", sys.executable, "-o", str(base / "wheels")],
        cwd=ROOT,
        timeout=1800,
    )
    (wheel,) = (base / "wheels").glob("gotrace_df-*.whl")
    venv = base / "venv"
    _timed("venv", times, [sys.executable, "-m", "venv", str(venv)], timeout=300)
    _timed(
        "pip install",
        times,
        # No bytecode compiled ahead: a third of the install's time, for
        # modules this test never imports.
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]
        + ["--disable-pip-version-check", f"{wheel}[ui]"],
        timeout=1200,
    )
    print("install:", ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    work = base / "work"
    work.mkdir()
    env = dict(
        go_env(), TZ="UTC", PWD=str(work), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    )
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "WAYLAND_DISPLAY", "GOTRACE_DF_TRACE"):
        env.pop(name, None)
    inst = Installed(venv, work, env, Path())
    where = inst.run(
        "python",
        "-c",
        "import sys, gotrace_df as gt; print(gt.__file__); print(gt.example_trace()); "
        "print(*sys.path, sep='\\n')",
    ).stdout.splitlines()
    module, example, *path = where
    # The installed package, not the checkout's.
    assert Path(module).is_relative_to(venv) and "site-packages" in Path(module).parts, module
    assert not [p for p in path if p and Path(p).resolve().is_relative_to(ROOT)], path
    inst.example = Path(example)
    assert inst.example.is_file() and inst.example.is_relative_to(venv)
    yield inst


def test_installed_commands(installed: Installed, tmp_path: Path) -> None:
    run = installed.run
    version = run("gotrace-df", "version").stdout
    assert version.startswith(f"gotrace_df {gt.__version__} ")
    assert run("python", "-m", "gotrace_df", "version").stdout == version

    example = str(installed.example)
    tr = gt.read_trace(gt.example_trace())
    # The summary as the checkout computes it (the trace's line names the file).
    summary = run("gotrace-df", "summary", example).stdout
    assert summary.splitlines()[1:] == summary_text(tr).splitlines()[1:]

    # The profile: valid for go tool pprof, the checkout's (which test_cli checks
    # against go tool trace).
    ours = tmp_path / "installed.pb.gz"
    p = subprocess.run(
        [str(installed.venv / "bin" / "gotrace-df"), "-pprof=sched", example],
        cwd=installed.work,
        env=installed.env,
        stdout=ours.open("wb"),
        stderr=subprocess.PIPE,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    want = tmp_path / "checkout.pb.gz"
    want.write_bytes(to_pprof(blocking_profile(tr, "sched")))
    raw = pprof_raw(ours, "1.26")
    assert "Samples:" in raw and raw == pprof_raw(want, "1.26")

    # A Parquet dataset, read back by the checkout and by the installed package.
    run("gotrace-df", "export", "--parquet", "example-ds", example)
    back = gt.read_parquet(installed.work / "example-ds")
    for name in tr.table_names:
        assert back.table(name).equals(tr.table(name)), name
    rows = run(
        "python",
        "-c",
        "import gotrace_df as gt; print(gt.read_parquet('example-ds').events.num_rows)",
    ).stdout
    assert int(rows) == tr.events.num_rows


def test_installed_viewer(installed: Installed, tmp_path: Path) -> None:
    """``gotrace-df -http=127.0.0.1:PORT example`` in Chromium: the timeline and
    every tab; another trace by ``?trace=`` only inside the allowed directories."""
    if not (installed.work / "example-ds").is_dir():
        installed.run("gotrace-df", "export", "--parquet", "example-ds", str(installed.example))
    outside = tmp_path / "private"
    outside.mkdir()
    shutil.copy(installed.example, outside / "secret.trace")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [
                str(installed.venv / "bin" / "gotrace-df"),
                f"-http=127.0.0.1:{port}",
                str(installed.example),
            ],
            cwd=installed.work,
            # The command opens its trace; the dataset beside it, by this.
            env=dict(installed.env, GOTRACE_DF_TRACE_DIRS=str(installed.work)),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline().strip()
        prefix = "Trace viewer is listening on "
        assert line.startswith(prefix), (line, log.read_text())
        url = line.removeprefix(prefix)
        base = f"http://127.0.0.1:{port}/"
        assert url.startswith(base + "?trace=")
        with viewer_page() as open_page:
            page = open_page(url)
            assert "example.trace" in wait_for_timeline(page)
            open_every_tab(page)
            # The dataset written above, by a path relative to where the
            # command was started.
            page = open_page(base + "?trace=example-ds")
            assert "events" in wait_for_timeline(page)
            # A trace outside the directories the server was started for.
            page = open_page(
                base + "?" + urllib.parse.urlencode({"trace": str(outside / "secret.trace")})
            )
            assert "outside the directories this viewer may open" in page_error(page)
            assert page.locator("canvas.gtdf-tl-canvas").count() == 0
        print(f"viewer: {time.monotonic() - started:.1f} s")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "Trace viewer stopped." in log.read_text()
    finally:
        if proc.poll() is None:
            # As Ctrl-C would: the command stops voila (its own session) and
            # its kernels; a kill would leave them running.
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()
