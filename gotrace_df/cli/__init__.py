"""``gotrace-df``: ``go tool trace``'s command line, on gotrace_df.

::

    gotrace-df [flags] [pkg.test] trace.out     serve the viewer (voila) on loopback
    gotrace-df -pprof=TYPE [pkg.test] trace.out write a pprof profile to stdout
    gotrace-df -d=parsed|wire|footprint trace.out
    gotrace-df export [--redact] --parquet DIR | --perfetto OUT.json trace.out
    gotrace-df summary trace.out
    gotrace-df version

Also ``python -m gotrace_df ...``. Flags take Go's forms (``-http=:6060``,
``-http :6060``) and the double-dash ones (``--http=:6060``, ``--http :6060``);
as with Go's ``flag`` package they come before the file arguments.
``trace.out`` may also be an ``http(s)://.../debug/pprof/trace?seconds=N`` URL,
a gzip-compressed trace, or a directory written by ``gotrace-df export --parquet``.

Modules: :mod:`~gotrace_df.cli.usage` (the usage text, exiting with a message),
:mod:`~gotrace_df.cli.flags` (Go's flag syntax), :mod:`~gotrace_df.cli.source`
(reading and checking the trace argument), :mod:`~gotrace_df.cli.commands`
(``-pprof``, ``-d``, export, summary, version), :mod:`~gotrace_df.cli.address`
(``-http`` addresses and ports) and :mod:`~gotrace_df.cli.serve` (voila's
lifecycle).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

from gotrace_df.cli.commands import COMMANDS, debug, pprof, run_command
from gotrace_df.cli.flags import DEBUG_MODES, PPROF_KINDS, parse_go_flags
from gotrace_df.cli.usage import PROG, CommandExit, die, usage_error

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gotrace-df`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in COMMANDS:
            return run_command(args[0], args[1:])
        return _go_tool_trace(args)
    except CommandExit as e:
        return e.code
    except BrokenPipeError:
        # `gotrace-df -d=parsed t.out | head`: stop quietly, as Go's tools do.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130


def _go_tool_trace(args: list[str]) -> int:
    flags, rest = parse_go_flags(args)
    # Like Go: [pkg.test] trace.out; the binary is accepted and ignored.
    if len(rest) == 1:
        source = rest[0]
    elif len(rest) == 2:
        source = rest[1]
        print(f"{PROG}: ignoring {rest[0]}: traces carry their own symbols", file=sys.stderr)
    else:
        usage_error("expected [pkg.test] trace.out")
    go_version = flags.get("go") or None
    # As in Go, an empty value is the flag's default (off).
    if flags.get("pprof"):
        kind = flags["pprof"]
        if kind not in PPROF_KINDS:
            die(f"unknown pprof type {kind}\n")
        return pprof(source, kind, go_version)
    if flags.get("d"):
        mode = flags["d"]
        if mode not in DEBUG_MODES:
            die(f"invalid debug mode {mode}, want one of: parsed, wire, footprint")
        return debug(source, mode)
    # The server's modules (and voila) only when serving.
    from gotrace_df.cli.serve import serve

    return serve(source, http=flags.get("http", "localhost:0"), notebook=flags.get("notebook"))
