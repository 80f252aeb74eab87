"""bench/bench_stream.py's in-process scripts, run on the example trace so
that an API change breaks this test, not the next benchmark run: both sides
of each pair agree, as the bench checks on its traces."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import gotrace_df as gt

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_stream.py"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_stream", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up by name.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _run(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_stream_scripts_agree_on_the_example_trace(tmp_path: Path) -> None:
    bench = _bench()
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
