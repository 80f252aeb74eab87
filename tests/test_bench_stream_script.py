"""bench/bench_stream.py's in-process scripts, run on the example trace so
that an API change breaks this test, not the next benchmark run: both sides
of each pair agree, as the bench checks on its traces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench_util import load_bench

import gotrace_df as gt


def _run(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_stream_scripts_agree_on_the_example_trace(tmp_path: Path) -> None:
    bench = load_bench("bench_stream")
    trace = str(gt.example_trace())
    reports = [
        json.loads(_run("-c", bench.GOROUTINES, trace, side).strip().splitlines()[-1])
        for side in ("stream", "whole")
    ]
    assert reports[0] == reports[1]
    assert reports[0]["goroutines"] > 0
    _run("-c", bench.CLI, "export", "--parquet", str(tmp_path / "streamed"), trace)
    _run("-c", bench.WHOLE_EXPORT, trace, str(tmp_path / "whole"))
    rows = [bench.rows_of(tmp_path / side) for side in ("streamed", "whole")]
    assert rows[0] == rows[1] == gt.read_trace(trace).row_counts()
