"""Trace a running Go program through its ``/debug/pprof/trace`` endpoint.

    python examples/fetch_trace.py [URL]

The program must serve ``net/http/pprof`` (``import _ "net/http/pprof"``),
for example on ``localhost:6060``. URL defaults to
``http://127.0.0.1:6060/debug/pprof/trace?seconds=2``: the program traces
itself for ``seconds`` and streams the trace, which ``read_trace`` parses
as it arrives (with a progress bar, and a timeout of ``seconds`` + 60 s).
"""

from __future__ import annotations

import sys

import gotrace_df as gt

DEFAULT_URL = "http://127.0.0.1:6060/debug/pprof/trace?seconds=2"


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_URL
    try:
        tr = gt.read_trace(url)
    except (OSError, gt.TraceError) as e:  # refused, HTTP error, timeout; not a trace
        sys.exit(f"cannot fetch a trace: {e}")
    print(tr)

    # What the program was doing: its goroutines grouped by start function,
    # with cmd/trace's goroutine analysis (the /goroutines page).
    groups = gt.goroutine_analysis(tr).sort_values("exec_ns", ascending=False)
    print("\nbusiest goroutine groups:")
    for _, g in groups.head(5).iterrows():
        print(
            f"  {g['name'] or '(unnamed)':<50} {g['count']:>5} goroutines"
            f"  {g['exec_ns'] / 1e6:9.3f} ms running"
            f"  {g['sched_wait_ns'] / 1e6:9.3f} ms waiting for a P"
        )

    # Its user tasks (runtime/trace.NewTask), if it makes any.
    tasks = gt.user_tasks(tr)
    if not tasks.empty:
        print("\nuser tasks:")
        print(tasks.to_string(index=False))


if __name__ == "__main__":
    main()
