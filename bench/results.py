"""bench/RESULTS.md: each bench script's section, and the machine it ran on.

Every script owns one section, between ``<!-- NAME -->`` and ``<!-- /NAME -->``;
``record`` replaces that section and leaves the rest of the page alone (a
section not on the page yet is added at its end).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"


def record(name: str, title: str, command: str, body: str, *, go: str = "go") -> None:
    """Replace section ``name`` of RESULTS.md: its title, the machine, the
    command that made it and body."""
    section = (
        f"<!-- {name} -->\n## {title}\n\n{machine(go)}\n\n"
        f"Made by `{command}`\n\n{body.strip()}\n<!-- /{name} -->"
    )
    page = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
    if pattern.search(page):
        page = pattern.sub(lambda _: section, page, count=1)
    else:
        page = page.rstrip("\n") + "\n\n" + section + "\n"
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(page)
    tmp.replace(RESULTS)


def command_line() -> str:
    """How this script was started, for the page: ``python bench/NAME.py ARGS``."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = script.relative_to(ROOT)
    except ValueError:
        shown = script
    return " ".join(["python", str(shown), *sys.argv[1:]])


def machine(go: str = "go") -> str:
    """CPU, cores, memory, OS, Go version and gotrace_df commit, one line."""
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {memory_total()}, "
        f"{os_name()}; {go_version(go)}; gotrace_df {commit()}."
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_total() -> str:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return "memory unknown"
    return f"{pages / 2**30:.0f} GiB memory"


def os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip(chr(34))} ({platform.system()} {platform.release()})"
    except OSError:
        pass
    return platform.platform()


def go_version(go: str) -> str:
    try:
        out = subprocess.run(
            [go, "version"],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, GOTOOLCHAIN="local"),
        )
    except (OSError, subprocess.CalledProcessError):
        return f"{go}: no Go"
    return out.stdout.strip()


def commit() -> str:
    """The checkout's commit, ``+changes`` when the work tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!bench/RESULTS.md",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        import gotrace_df

        return f"version {gotrace_df.__version__}"
    return head + (" +changes" if dirty else "")
