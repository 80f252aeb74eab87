"""One side of a benchmark run as its own process, and the summaries of
several runs.

A side's wall time is from starting its process to its exit, what a user
waits for; its CPU time (user and system, every thread) is what it cost the
machine, and moves less than wall time when other programs compete for it. Its peak RSS is ru_maxrss from wait4: on Linux the largest peak of
the process and of every descendant it waited for (the largest single
process, not their sum; ``/usr/bin/time -v`` reports the same number).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    wall: float  # seconds, process start to exit
    peak_rss: int  # bytes
    cpu: float  # seconds of CPU, user and system, of the process and its children
    report: dict[str, Any] = field(default_factory=dict)  # the child's last stdout line


def run(cmd: Sequence[str], *, env: Mapping[str, str] | None = None, report: bool = True) -> Run:
    """Run cmd to its end. With report, its last stdout line is JSON and
    returned; without, its stdout goes to /dev/null."""
    out = subprocess.PIPE if report else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=out, env=None if env is None else dict(env))
    text = proc.stdout.read() if proc.stdout is not None else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    # wait4 reaped it: tell Popen, so it does not wait again.
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stdout is not None:
        proc.stdout.close()
    if proc.returncode != 0:
        code = proc.returncode
        how = f"killed by signal {-code}" if code < 0 else f"exited with {code}"
        raise RuntimeError(f"{Path(cmd[0]).name} {how}")
    lines = text.decode().strip().splitlines()
    data = json.loads(lines[-1]) if report and lines else {}
    return Run(wall, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, data)


def python_env() -> dict[str, str]:
    """The environment for our side: this checkout's gotrace_df first on the
    path, so the bench measures the code it sits beside."""
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{path}" if path else str(ROOT))


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """``median (min-max)`` of values; just the value for one run."""
    med = fmt.format(statistics.median(values))
    if len(values) == 1:
        return med
    return f"{med} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def available_memory() -> int | None:
    """MemAvailable in bytes (Linux), None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
