"""Open the gotrace_df viewer on a trace from Python.

    python examples/open_viewer.py [trace.out] [--check]

Serves the viewer (voila on a random loopback port) on the trace, or on the
bundled example trace without one, prints its URL and opens a browser where
there is a display; Ctrl-C stops it. ``--check`` only checks that the page
answers with the viewer, then stops (exit status 0 if it did): how the
examples are run unattended.
"""

from __future__ import annotations

import argparse
import urllib.request

import gotrace_df as gt
from gotrace_df.cli.serve import serve


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Open the gotrace_df viewer on a trace.")
    p.add_argument("trace", nargs="?", default=str(gt.example_trace()), help="trace file")
    p.add_argument("--check", action="store_true", help="check the page answers, then stop")
    args = p.parse_args(argv)
    answered = []

    def ready(url: str) -> bool:
        if not args.check:
            return False  # serve until Ctrl-C
        with urllib.request.urlopen(url, timeout=300) as r:
            page = r.read().decode()
        # The page of widgets, its cells run without error.
        if "application/vnd.jupyter.widget-view+json" in page and "Traceback" not in page:
            answered.append(url)
            print("the viewer answered")
        return True

    code = serve(args.trace, ready=ready)
    return code if code or not args.check else 0 if answered else 1


if __name__ == "__main__":
    raise SystemExit(main())
