"""The command's name and usage text, and how it stops with a message."""

from __future__ import annotations

import sys
from typing import NoReturn

__all__ = ["DIFF_USAGE", "PROG", "USAGE", "CommandExit", "die", "usage_error"]

PROG = "gotrace-df"

USAGE = f"""\
Usage of {PROG} (gotrace_df's `go tool trace`):
Given a trace file produced by 'go test':
    go test -trace=trace.out pkg

Open a web browser displaying trace:
    {PROG} [flags] [pkg.test] trace.out

Generate a pprof-like profile from the trace:
    {PROG} -pprof=TYPE [pkg.test] trace.out

[pkg.test] is accepted for compatibility and ignored: Go 1.7+ traces carry
their symbols.

trace.out may also be an http(s) URL of /debug/pprof/trace?seconds=N, a
gzip-compressed trace, or a directory written by `{PROG} export --parquet`.

Supported profile types are:
    - net: network blocking profile
    - sync: synchronization blocking profile
    - syscall: syscall blocking profile
    - sched: scheduler latency profile

Flags:
    -http=addr: HTTP server listen address (e.g., ':6060'; default a random
                port on localhost)
    -pprof=type: print a pprof-like profile instead
    -d=mode: print debug info and exit (modes: wire, parsed, footprint)
    -go=1.NN: reproduce the profiles of that Go release's go tool trace
    -notebook=path: serve this voila notebook instead of the viewer's

When providing only a port to -http (e.g., ':6060'), the viewer listens only on
localhost. To listen on all addresses, explicitly add the unspecified address
(e.g., '0.0.0.0:6060'); anyone who can reach the machine can then read the
trace, and {PROG} warns so.

Commands:
    {PROG} export [--redact] --parquet DIR [--perfetto OUT.json] trace.out
    {PROG} summary trace.out
    {PROG} diff [-top=N] [-pprof=TYPE [-o=OUT]] before.trace after.trace
    {PROG} version
"""

DIFF_USAGE = f"""\
Usage: {PROG} diff [flags] before.trace after.trace

Print what changed from before.trace to after.trace: per goroutine group,
blocking-profile stack (sched, sync, syscall, net), task type and region type,
the largest changes of total time first (gotrace_df.diff).

Flags:
    -top=N: print the N largest changes of each kind (default 10)
    -pprof=type: write the change of that blocking profile (net, sync, syscall,
                 sched) as one pprof profile instead: after's samples and
                 before's negated, as `go tool pprof -diff_base` builds it
    -o=file: write the profile to this file (atomically) instead of stdout
    -go=1.NN: compute the views as that Go release's go tool trace does
"""


class CommandExit(Exception):
    """Stop the command with this exit code (its message is already printed)."""

    def __init__(self, code: int) -> None:
        self.code = code


def die(msg: str, code: int = 1) -> NoReturn:
    """Print ``msg`` on stderr and exit with ``code``."""
    print(msg, file=sys.stderr)
    raise CommandExit(code)


def usage_error(msg: str, usage: str = USAGE) -> NoReturn:
    """Go's answer to bad arguments: the message, the usage, exit code 2."""
    print(f"{PROG}: {msg}", file=sys.stderr)
    sys.stderr.write(usage)
    raise CommandExit(2)
