"""Find the worst scheduler latency in a trace, and the stacks behind it.

    python examples/worst_sched_latency.py [TRACE]

Scheduler latency is time a goroutine spent Runnable: ready to run, waiting
for a P. Every such wait is a row of the ``spans`` table with
``state == "Runnable"``; the longest is the worst latency. Two stacks explain
it: the stack of the event that made the goroutine runnable (an unblocking
goroutine's, a creator's, or the goroutine's own when it was preempted), and
the goroutine's own stack, where it resumes once it runs.
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd

import gotrace_df as gt


def print_stack(title: str, frames: list[dict[str, Any]]) -> None:
    print(f"  {title}:")
    if not frames:
        print("    (no stack)")
    for f in frames:  # innermost first, as Go prints them
        print(f"    {f['function']}  {f['file']}:{f['line']}")


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else gt.example_trace()
    tr = gt.read_trace(source)

    spans = tr.to_pandas("spans")
    waits = spans[spans["state"] == "Runnable"]
    # A goroutine still runnable when the trace ends waited at least this
    # long, but how long is unknown: only waits that ended count.
    waits = waits[waits["end_event"].notna()]
    waits = waits.assign(latency_ns=waits["end"] - waits["start"])
    if waits.empty:
        sys.exit("no goroutine waited for a P in this trace")
    worst = waits.nlargest(5, "latency_ns")

    names = tr.to_pandas("goroutines").drop_duplicates("goid", keep="last").set_index("goid")
    w = worst.iloc[0]
    goid = int(w["goid"])
    print(f"worst scheduler latency: {w['latency_ns'] / 1e6:.3f} ms")
    print(
        f"  G{goid} {names.loc[goid, 'name']}: Runnable from {w['start']} ns to {w['end']} ns"
        f" (+{(w['start'] - tr.start_ns) / 1e6:.3f} ms into the trace)"
    )

    # The event that made it runnable: a row of the events table.
    entered = tr.columns(
        "events", ["g", "from_state", "stack_id"], rows=[int(w["start_event"])]
    ).to_pylist()[0]
    # No goroutine: the scheduler itself (timers, the network poller, GC).
    by = "the runtime" if entered["g"] is None else f"G{entered['g']}"
    print(f"  made runnable by {by} ({entered['from_state']} -> Runnable)")
    stack_id = entered["stack_id"]
    print_stack(f"where {by} did it", [] if stack_id is None else tr.stack(stack_id))
    own = w["stack_id"]  # a nullable integer: pd.NA when the transition had no stack
    print_stack(f"G{goid}'s own stack", [] if pd.isna(own) else tr.stack(int(own)))

    print()
    print("the five worst waits:")
    for _, row in worst.iterrows():
        g = int(row["goid"])
        print(f"  {row['latency_ns'] / 1e6:8.3f} ms  G{g} {names.loc[g, 'name']}")


if __name__ == "__main__":
    main()
