"""notebooks/fleet.ipynb, executed top to bottom in a real kernel on a handful
of corpus traces: its worst p99 scheduler latency (trace and goroutine group)
is the one the single-trace views give, and it ends on the viewer widget."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

import gotrace_df as gt

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "traces"
TRACES = ("go1.26/gotest", "go1.26/sync", "go1.25/net", "go1.24/tasks", "go1.22/churn")


def test_fleet_notebook_finds_the_worst_p99(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    for name in TRACES:
        shutil.copy(CORPUS / f"{name}.trace", tmp_path / (name.replace("/", "-") + ".trace"))
    # The kernel inherits this process's environment.
    monkeypatch.setenv("GOTRACE_DF_FLEET_TRACES", str(tmp_path))
    nb = nbformat.read(ROOT / "notebooks" / "fleet.ipynb", as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs)
    got = re.search(
        r"worst p99 sched latency: (\d+) ns\ntrace: (\w+) \((.+)\)\ngroup: (.*) \(", text
    )
    assert got is not None, text

    # The same question, trace by trace with the single-trace view.
    best: tuple[int, str, str, str] | None = None
    for path in sorted(tmp_path.glob("*.trace")):
        tid = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
        ga = gt.goroutine_analysis(gt.read_trace(path)).dropna(subset=["sched_wait_p99_ns"])
        for name, p99 in zip(ga["name"], ga["sched_wait_p99_ns"]):
            key = (-int(p99), tid, name, path.name)
            if best is None or key < best:
                best = key
    assert best is not None
    p99, tid, name, file = best
    assert (int(got[1]), got[2], got[3], got[4]) == (-p99, tid, file, name or "(no stack)")
    # The last cell shows the viewer widget.
    last = nb.cells[-1].outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in last)
