"""bench/bench_views.py's in-process script calls every public view and stops
when gotrace_df exports a name it does not know: run it on the example trace
so a new public name breaks this test, not the next benchmark run."""

from __future__ import annotations

import json
import subprocess
import sys

from bench_util import load_bench

import gotrace_df as gt


def test_views_script_runs_on_the_example_trace() -> None:
    module = load_bench("bench_views")
    out = subprocess.run(
        [sys.executable, "-c", module.VIEWS, str(gt.example_trace()), "in turn"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["events"] == gt.read_trace(gt.example_trace()).row_counts()["events"]
    assert "mmu_worst_windows" in report["each"]
