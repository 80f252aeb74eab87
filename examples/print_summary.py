"""Read a Go execution trace and print what is in it.

    python examples/print_summary.py [TRACE]

TRACE is a trace file (``go test -trace``, ``runtime/trace``,
``/debug/pprof/trace``), a ``.gz`` of one, a URL or an exported Parquet
directory; without it, the small trace bundled with gotrace_df.
"""

from __future__ import annotations

import sys

import gotrace_df as gt


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else gt.example_trace()
    try:
        tr = gt.read_trace(source)
    except (gt.TraceError, OSError) as e:
        sys.exit(f"cannot read {source}: {e}")

    # The repr: Go version, duration, generations and the main tables' sizes.
    print(tr)
    print()

    # gt.summary is the whole trace in one long table (section, metric,
    # value, unit): goroutines, scheduling, GC, heap, blocking, user
    # annotations. Print it section by section.
    summary = gt.summary(tr)
    for section, rows in summary.groupby("section", sort=False):
        print(f"[{section}]")
        for metric, value, unit in zip(rows["metric"], rows["value"], rows["unit"], strict=True):
            print(f"  {metric:<56} {value:>14,} {unit}")


if __name__ == "__main__":
    main()
