"""Write a trace as a Perfetto (Chrome trace-event JSON) file.

    python examples/write_perfetto.py [TRACE] [OUT]

OUT (default: ``<trace name>.perfetto.json`` in the current directory) opens in
https://ui.perfetto.dev ("Open trace file") or chrome://tracing: procs,
threads and goroutines are tracks; goroutine states, GC, stop-the-world
pauses, tasks and regions are slices; unblocks and creations are arrows.
``--redact`` replaces the program's names, paths and log text with
placeholders, so the file can be shared.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import gotrace_df as gt


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--redact"]
    redact = len(args) < len(sys.argv) - 1
    source = Path(args[0]) if args else gt.example_trace()
    out = Path(args[1]) if len(args) > 1 else Path(f"{source.stem}.perfetto.json")

    tr = gt.read_trace(source)
    path = tr.to_perfetto(out, redact=redact)  # written atomically
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB){' redacted' if redact else ''}")

    # What is in it: trace events by phase and category.
    events = json.loads(path.read_text())["traceEvents"]
    tracks = Counter(
        e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"
    )
    print(f"{len(events):,} trace events; track groups: {', '.join(sorted(tracks))}")
    phases = Counter((e["ph"], e.get("cat", "")) for e in events)
    for (ph, cat), n in sorted(phases.items()):
        print(f"  ph={ph} cat={cat or '-':<10} {n:>8,}")
    print("open it at https://ui.perfetto.dev")


if __name__ == "__main__":
    main()
