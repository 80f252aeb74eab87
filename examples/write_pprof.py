"""Write the blocking profiles of a trace as pprof files for ``go tool pprof``.

    python examples/write_pprof.py [TRACE] [OUT_DIR]

Writes ``sched.pb.gz``, ``sync.pb.gz``, ``net.pb.gz`` and ``syscall.pb.gz``
to OUT_DIR (default: the current directory): the same profiles as
``go tool trace -pprof=sched TRACE`` and its siblings. Open one with

    go tool pprof -http=: sched.pb.gz
"""

from __future__ import annotations

import sys
from pathlib import Path

import gotrace_df as gt

# What each profile charges to the stack where the goroutine blocked (or,
# for sched, where it was made runnable).
KINDS = {
    "sched": "waiting for a P after becoming runnable (scheduler latency)",
    "sync": "blocked on channels, mutexes, select, sync.Cond",
    "net": "blocked on network I/O",
    "syscall": "blocked in system calls",
}


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else gt.example_trace()
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path()
    out.mkdir(parents=True, exist_ok=True)
    tr = gt.read_trace(source)

    for kind, meaning in KINDS.items():
        # One row per stack: count, delay_ns and the frames (leaf first).
        profile = gt.blocking_profile(tr, kind)
        path = out / f"{kind}.pb.gz"
        gt.to_pprof(profile, path)
        print(
            f"{path}: {len(profile)} stacks, {profile['count'].sum()} events,"
            f" {profile['delay_ns'].sum() / 1e6:.3f} ms {meaning}"
        )
        if not profile.empty:
            top = profile.nlargest(1, "delay_ns").iloc[0]
            leaf = top["frames"][0] if len(top["frames"]) else None
            where = f"{leaf['function']} line {leaf['line']}" if leaf else "(no stack)"
            print(f"  most delay: {top['delay_ns'] / 1e6:.3f} ms at {where}")
    print(f"\nnext: go tool pprof -top {out / 'sched.pb.gz'}")


if __name__ == "__main__":
    main()
