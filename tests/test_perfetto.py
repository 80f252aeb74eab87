"""The Perfetto / Chrome trace-event JSON export.

Validated three ways:

* a strict JSON Schema of the Chrome trace-event format (the phases we write,
  every field typed, nothing else allowed);
* the rules consumers enforce beyond the schema: complete slices on one track
  nest, async begin/end and flow start/end pair up, every flow end lies inside
  a slice of its track, ``sf`` refers to ``stackFrames``;
* a real consumer: Catapult's trace viewer (the ``chrome://tracing`` importer,
  shipped with Go as ``trace_viewer_full.html``) loads each file in headless
  Chromium with no import warning, and its model holds the slices, async
  slices, flows and counters the file has. (Perfetto's own trace processor is a
  separate binary its Python package downloads at run time, which cannot run
  here.)
"""

from __future__ import annotations

import bisect
import collections
import functools
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from browser_util import CHROMIUM, CHROMIUM_ARGS

import gotrace_df as gt
from gotrace_df.export.perfetto import PIDS

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "traces"
TRACES = sorted(CORPUS.glob("go1.*/*.trace"))
ID = lambda p: f"{p.parent.name}/{p.stem}"  # noqa: E731

_NUM = {"type": "number", "minimum": 0}
_ID = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
_NAME = {"type": "string"}
_BASE = {"pid": _ID, "tid": _ID, "name": _NAME, "cat": {"type": "string", "minLength": 1}}


def _event(ph: str, required: list[str], **props: Any) -> dict[str, Any]:
    properties = {"ph": {"const": ph}, **_BASE, **props}
    return {
        "type": "object",
        "properties": properties,
        "required": ["ph", *required],
        "additionalProperties": False,
    }


_ARGS = {"type": "object"}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["traceEvents", "displayTimeUnit"],
    "additionalProperties": False,
    "properties": {
        "displayTimeUnit": {"enum": ["ns", "ms"]},
        "otherData": {"type": "object"},
        "stackFrames": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {"name": _NAME, "category": _NAME, "parent": _NAME},
            },
        },
        "traceEvents": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["ph"],
                "properties": {"ph": {"enum": ["X", "M", "b", "e", "s", "f", "i", "C"]}},
            },
        },
    },
}

#: One schema per phase: every event must match the schema of its "ph".
EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "X": _event(
        "X",
        ["pid", "tid", "ts", "dur", "name", "cat"],
        ts=_NUM,
        dur=_NUM,
        args=_ARGS,
        sf=_NAME,
        cname={"pattern": "^[a-z_]+$"},
    ),
    "M": _event(
        "M",
        ["pid", "tid", "name", "args"],
        name={"enum": ["process_name", "process_sort_index", "thread_name", "thread_sort_index"]},
        args=_ARGS,
    ),
    "b": _event("b", ["pid", "tid", "ts", "id", "name", "cat"], ts=_NUM, id=_NAME, args=_ARGS),
    "e": _event("e", ["pid", "tid", "ts", "id", "name", "cat"], ts=_NUM, id=_NAME),
    "s": _event("s", ["pid", "tid", "ts", "id", "name", "cat"], ts=_NUM, id={"type": "integer"}),
    "f": _event(
        "f",
        ["pid", "tid", "ts", "id", "name", "cat", "bp"],
        ts=_NUM,
        id={"type": "integer"},
        bp={"const": "e"},
    ),
    "i": _event(
        "i",
        ["pid", "tid", "ts", "name", "cat", "s"],
        ts=_NUM,
        s={"enum": ["t", "p", "g"]},
        args=_ARGS,
    ),
    "C": _event(
        "C",
        ["pid", "tid", "ts", "name", "args"],
        ts=_NUM,
        args={"type": "object", "additionalProperties": {"type": "number"}},
    ),
}


def export(path: Path, out: Path) -> dict[str, Any]:
    gt.read_trace(path, progress=False).to_perfetto(out)
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def schema_errors(doc: dict[str, Any]) -> list[str]:
    V = jsonschema.Draft202012Validator
    V.check_schema(SCHEMA)
    errors = [f"document: {e.message[:300]}" for e in V(SCHEMA).iter_errors(doc)]
    validators = {ph: V(sch) for ph, sch in EVENT_SCHEMAS.items()}
    for i, e in enumerate(doc["traceEvents"]):
        for err in validators[e["ph"]].iter_errors(e):
            errors.append(f"traceEvents/{i}: {err.message[:300]}")
    return errors


def check_semantics(doc: dict[str, Any]) -> collections.Counter[str]:
    """What consumers require beyond the schema; returns the count per phase."""
    ev = doc["traceEvents"]
    frames = doc["stackFrames"]
    for k, f in frames.items():
        assert "parent" not in f or f["parent"] in frames, k
    named: set[tuple[int, int]] = set()
    slices: dict[tuple[int, int], list[tuple[int, int]]] = collections.defaultdict(list)
    opened: dict[tuple[str, str], int] = collections.Counter()
    flows: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for e in ev:
        ph = e["ph"]
        if ph == "M" and e["name"] == "thread_name":
            named.add((e["pid"], e["tid"]))
        elif ph == "X":
            # Integer ns, as Perfetto reads them: floats would round differently.
            ts, dur = round(e["ts"] * 1000), round(e["dur"] * 1000)
            slices[(e["pid"], e["tid"])].append((ts, ts + dur))
            if "sf" in e:
                assert e["sf"] in frames, e
        elif ph == "b":
            opened[(e["cat"], e["id"])] += 1
        elif ph == "e":
            opened[(e["cat"], e["id"])] -= 1
        elif ph in "sf":
            flows[e["id"]].append(e)
    assert all(v == 0 for v in opened.values()), "unmatched async begin/end"
    for track, sl in slices.items():
        assert track in named, f"track {track} has no thread_name"
        sl.sort(key=lambda s: (s[0], -s[1]))
        stack: list[int] = []
        for s, e in sl:
            while stack and stack[-1] <= s:
                stack.pop()
            assert not stack or e <= stack[-1], f"slices overlap on {track} at {s} ns"
            stack.append(e)
    starts = {k: [s for s, _ in v] for k, v in slices.items()}
    for fid, pair in flows.items():
        assert [p["ph"] for p in pair] == ["s", "f"], (fid, pair)
        for p in pair:
            # Both ends lie strictly inside a slice of their track.
            track = (p["pid"], p["tid"])
            sl = slices[track]
            ts = round(p["ts"] * 1000)
            i = bisect.bisect_right(starts[track], ts) - 1
            assert i >= 0 and sl[i][0] < ts < sl[i][1], (p, sl[i] if i >= 0 else None)
    return collections.Counter(e["ph"] for e in ev)


# The schema on a trace of every Go version and the special scenarios
# (jsonschema is slow on big files); the semantic rules on every corpus trace.
SCHEMA_TRACES = [p for p in TRACES if p.stem == "tasks"] + [
    CORPUS / "go1.27" / "flightrec.trace",
    CORPUS / "go1.27" / "syscall.trace",
    CORPUS / "go1.27" / "cpuprof.trace",
    CORPUS / "go1.24" / "allocfree.trace",
]


@pytest.mark.parametrize("path", SCHEMA_TRACES, ids=ID)
def test_schema(path: Path, tmp_path: Path) -> None:
    errors = schema_errors(export(path, tmp_path / "t.json"))
    assert not errors, errors[:5]


@pytest.mark.parametrize("path", TRACES, ids=ID)
def test_tracks_slices_flows(path: Path, tmp_path: Path) -> None:
    tr = gt.read_trace(path, progress=False)
    tr.to_perfetto(tmp_path / "t.json")
    doc = json.loads((tmp_path / "t.json").read_text())
    counts = check_semantics(doc)
    ev = doc["traceEvents"]
    processes = {e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
    assert {"Procs", "Threads", "Goroutines", "GC", "Stats"} <= processes
    # One goroutine track per goroutine, one state slice per span.
    g_tracks = {
        e["tid"]
        for e in ev
        if e["ph"] == "M" and e["pid"] == PIDS["Goroutines"] and e["name"] == "thread_name"
    }
    assert g_tracks == set(tr.goroutines["goid"].to_pylist()) | set(tr.spans["goid"].to_pylist())
    g_slices = [e for e in ev if e["ph"] == "X" and e["pid"] == PIDS["Goroutines"]]
    assert len(g_slices) == tr.spans.num_rows
    # GC and STW ranges, regions and tasks are all there.
    gc_kinds = collections.Counter(str(k) for k in tr.gc["kind"].to_pylist())
    on_gc = collections.Counter(e["name"] for e in ev if e["pid"] == PIDS["GC"] and e["ph"] in "Xb")
    assert on_gc == gc_kinds
    assert (
        sum(1 for e in ev if e["ph"] == "X" and e["pid"] == PIDS["Regions"]) == tr.regions.num_rows
    )
    tasks = [t for t in tr.tasks["task_id"].to_pylist() if t != 0]
    assert sum(1 for e in ev if e["ph"] == "b" and e["pid"] == PIDS["Tasks"]) == len(tasks)
    assert sum(1 for e in ev if e["ph"] == "i") == tr.logs.num_rows
    # Flow arrows: most unblocks by a running goroutine get one, from the
    # unblocker's track to the unblocked goroutine's.
    unblocks = tr.events.to_pandas()
    unblocks = unblocks[
        (unblocks["kind"] == "StateTransition")
        & (unblocks["from_state"] == "Waiting")
        & (unblocks["to_state"] == "Runnable")
        & unblocks["g"].notna()
    ]
    arrows = [e for e in ev if e["ph"] == "s" and e["name"] == "unblock"]
    assert len(arrows) <= len(unblocks)
    if len(unblocks) >= 20:
        assert len(arrows) >= 0.5 * len(unblocks), (len(arrows), len(unblocks))
    by_id = {e["id"]: e for e in ev if e["ph"] == "f"}
    for a in arrows[:200]:
        row = unblocks.loc[a["id"]]
        assert a["tid"] == row["g"]
        assert by_id[a["id"]]["tid"] == row["resource_id"]
    assert counts["C"] > 0


def test_plain_ascii_one_event_per_line(tmp_path: Path) -> None:
    """The file is plain ASCII JSON (non-ASCII names escaped), one event a line."""
    out = tmp_path / "t.json"
    gt.read_trace(gt.example_trace()).to_perfetto(out)
    raw = out.read_bytes()
    assert raw.isascii()
    lines = raw.decode().splitlines()
    assert lines[-1] == "]}"
    assert all(line.startswith("{") for line in lines[1:-1])


def test_atomic_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gotrace_df.export import perfetto

    tr = gt.read_trace(gt.example_trace())
    out = tmp_path / "t.json"
    out.write_text("previous")
    real = perfetto.trace_events

    def failing(trace: Any) -> Iterator[Any]:
        it = real(trace)
        yield next(it)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(perfetto, "trace_events", failing)
    with pytest.raises(OSError, match="simulated"):
        tr.to_perfetto(out)
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]
    monkeypatch.undo()
    with pytest.raises(FileExistsError):
        tr.to_perfetto(out, overwrite=False)
    tr.to_perfetto(out)
    assert json.loads(out.read_text())["traceEvents"]


# -- a real consumer: Catapult in headless Chromium ----------------------------------------

PAGE = """<html><head>
<script src="webcomponents.min.js"></script>
<link rel="import" href="trace_viewer_full.html">
<style>html,body{margin:0;width:100%;height:100%;overflow:hidden}#tv{width:100%;height:100%}</style>
<script>
'use strict';
document.addEventListener('WebComponentsReady', async function() {
  try {
    const text = await (await fetch(location.hash.substr(1))).text();
    const model = new tr.Model();
    const opts = new tr.importer.ImportOptions();
    opts.shiftWorldToZero = false;
    new tr.importer.Import(model, opts).importTraces([text]);
    let slices = 0, asyncSlices = 0, counters = 0, threads = 0;
    for (const p of Object.values(model.processes)) {
      for (const t of Object.values(p.threads)) {
        threads++;
        slices += t.sliceGroup.length;
        asyncSlices += t.asyncSliceGroup.slices.length;
      }
      counters += Object.keys(p.counters).length;
    }
    const viewer = document.createElement('tr-ui-timeline-view');
    const container = document.createElement('track-view-container');
    container.id = 'track_view_container';
    viewer.track_view_container = container;
    Polymer.dom(viewer).appendChild(container);
    viewer.id = 'tv';
    viewer.globalMode = true;
    Polymer.dom(document.body).appendChild(viewer);
    viewer.model = model;
    window.__result = {
      warnings: model.importWarnings.map(w => w.type + ': ' + w.message),
      processes: Object.values(model.processes).map(p => p.name),
      threads, slices, asyncSlices, counters,
      flows: model.flowEvents.length,
      stackFrames: Object.keys(model.stackFrames).length,
    };
  } catch (e) {
    window.__result = {error: String(e && e.stack || e)};
  }
});
</script></head><body></body></html>
"""


def _catapult_static() -> Path:
    go = ROOT / ".toolchains" / "bin" / "go1.27"
    goroot = subprocess.run(
        [str(go), "env", "GOROOT"],
        capture_output=True,
        text=True,
        check=True,
        env={"GOTOOLCHAIN": "local", "PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    return Path(goroot) / "src" / "internal" / "trace" / "traceviewer" / "static"


@pytest.fixture(scope="module")
def catapult(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    """A loopback server over a directory holding Catapult and our exports, and
    a headless Chromium page factory."""
    from playwright.sync_api import sync_playwright

    d = tmp_path_factory.mktemp("catapult")
    static = _catapult_static()
    for f in ("trace_viewer_full.html", "webcomponents.min.js"):
        shutil.copy(static / f, d / f)
    (d / "index.html").write_text(PAGE)
    (d / "favicon.ico").write_bytes(b"")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(d))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def load(name: str, screenshot: Path | None = None) -> tuple[dict[str, Any], list[str]]:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}/index.html#{name}")
            page.wait_for_function("window.__result !== undefined", timeout=180_000)
            result: dict[str, Any] = page.evaluate("window.__result")
            if screenshot is not None:
                page.wait_for_timeout(1000)
                page.screenshot(path=str(screenshot))
            page.close()
            return result, errors

        yield d, load
        browser.close()
    srv.shutdown()


CATAPULT_TRACES = [
    CORPUS / "go1.27" / "example.trace",
    CORPUS / "go1.26" / "tasks.trace",
    CORPUS / "go1.22" / "gc.trace",
    CORPUS / "go1.25" / "flightrec.trace",
    CORPUS / "go1.23" / "allocfree.trace",
]


@pytest.mark.parametrize("path", CATAPULT_TRACES, ids=ID)
def test_catapult_loads_it(path: Path, catapult: tuple[Path, Any], tmp_path: Path) -> None:
    d, load = catapult
    name = f"{path.parent.name}-{path.stem}.json"
    doc = export(path, d / name)
    shot = tmp_path / "shot.png"
    result, errors = load(name, shot)
    assert "error" not in result, result.get("error")
    assert result["warnings"] == []
    assert errors == []
    ev = doc["traceEvents"]
    c = collections.Counter(e["ph"] for e in ev)
    # Thread-scoped instants become zero-length slices in Catapult's model.
    assert result["slices"] == c["X"] + c["i"]
    assert result["asyncSlices"] == c["b"]
    assert result["flows"] == c["s"]
    assert result["stackFrames"] == len(doc["stackFrames"])
    assert set(result["processes"]) == {
        e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"
    }
    assert result["counters"] == len({(e["pid"], e["name"]) for e in ev if e["ph"] == "C"})
    assert shot.stat().st_size > 10_000
