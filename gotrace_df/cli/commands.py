"""The commands that print and write: ``-pprof``, ``-d``, and those Go lacks
(``export``, ``summary``, ``version``, ``help``)."""

from __future__ import annotations

import argparse
import sys
from typing import IO, TYPE_CHECKING

from gotrace_df._errors import TraceError
from gotrace_df.cli.source import damaged, raw_bytes, read
from gotrace_df.cli.usage import PROG, USAGE, die
from gotrace_df.units import display_bytes, display_duration

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["COMMANDS", "debug", "pprof", "run_command", "summary_text"]

COMMANDS = ("export", "summary", "version", "help")


def _stdout() -> IO[bytes]:
    return sys.stdout.buffer


def pprof(source: str, kind: str, go_version: str | None) -> int:
    """``-pprof=kind``: the blocking profile, gzipped protobuf, on stdout."""
    from gotrace_df.pprof import to_pprof
    from gotrace_df.views import blocking_profile

    trace = read(source)
    try:
        prof = blocking_profile(trace, kind, go_version=go_version)
    except ValueError as e:  # e.g. an unknown -go version
        die(f"failed to generate pprof: {e}")
    out = _stdout()
    out.write(to_pprof(prof))
    out.flush()
    return 0


def debug(source: str, mode: str) -> int:
    """``-d=parsed|wire|footprint``: Go's debug dumps on stdout."""
    from gotrace_df.export import godebug

    out = _stdout()
    if mode == "parsed":
        trace = read(source)
        godebug.write_parsed(trace, out)
        out.flush()
        # Go prints the events before the damage, then fails.
        return 1 if damaged(trace) else 0
    data = raw_bytes(source)
    try:
        if mode == "wire":
            godebug.write_wire(data, out)
        else:
            godebug.write_footprint(data, out)
    except TraceError as e:
        out.flush()
        die(str(e))
    out.flush()
    return 0


def run_command(name: str, args: list[str]) -> int:
    """Run one of :data:`COMMANDS` with its arguments."""
    if name == "help":
        sys.stdout.write(USAGE)
        return 0
    if name == "version":
        return _version(args)
    if name == "export":
        return _export(args)
    return _summary(args)


def _parser(name: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"{PROG} {name}", description=description)


def _version(args: list[str]) -> int:
    _parser("version", "Print the gotrace_df version.").parse_args(args)
    import pyarrow

    from gotrace_df import __version__

    print(
        f"gotrace_df {__version__} (pyarrow {pyarrow.__version__}, Python {sys.version.split()[0]})"
    )
    return 0


def _export(args: list[str]) -> int:
    p = _parser(
        "export",
        "Write the trace as Parquet (a directory, one file per table) and/or as "
        "Chrome trace-event JSON for Perfetto / chrome://tracing.",
    )
    p.add_argument("--parquet", metavar="DIR", help="write every table to this directory")
    p.add_argument("--perfetto", metavar="OUT.json", help="write a Perfetto/Chrome JSON trace")
    p.add_argument(
        "--no-overwrite", action="store_true", help="fail instead of replacing existing output"
    )
    p.add_argument(
        "--redact",
        action="store_true",
        help="replace function names outside Go's standard library, file paths, log "
        "messages and categories, task, region and label names and the source path by "
        "placeholders (func#1, file#2, log#3 ...), the same in every table and file, "
        "for sharing the trace",
    )
    p.add_argument("trace", help="trace file, URL, or Parquet dataset directory")
    ns = p.parse_args(args)
    if not ns.parquet and not ns.perfetto:
        p.error("give --parquet DIR and/or --perfetto OUT.json")
    trace = read(ns.trace)
    from gotrace_df.export import write_parquet, write_perfetto

    # Redaction is deterministic: both outputs get the same placeholders.
    try:
        if ns.parquet:
            d = write_parquet(trace, ns.parquet, overwrite=not ns.no_overwrite, redact=ns.redact)
            print(f"wrote {len(trace.table_names)} tables to {d}", file=sys.stderr)
        if ns.perfetto:
            out = write_perfetto(
                trace, ns.perfetto, overwrite=not ns.no_overwrite, redact=ns.redact
            )
            print(f"wrote {out}", file=sys.stderr)
    except (OSError, ValueError) as e:
        die(f"{PROG} export: {e}")
    if ns.redact:
        print(
            "redacted: function names outside Go's standard library, file paths, log "
            "messages and categories, task, region and label names, the source path",
            file=sys.stderr,
        )
    return 0


def _summary(args: list[str]) -> int:
    p = _parser("summary", "Print a text summary of a trace.")
    p.add_argument("trace", help="trace file, URL, or Parquet dataset directory")
    ns = p.parse_args(args)
    trace = read(ns.trace)
    sys.stdout.write(summary_text(trace))
    return 0


def _fmt(value: int, unit: str) -> str:
    if unit == "ns":
        return display_duration(int(value))
    if unit == "bytes":
        return display_bytes(int(value))
    return f"{int(value):,}"


def summary_text(trace: Trace) -> str:
    """The ``gotrace-df summary`` text: the trace, then one line per figure of
    :func:`gotrace_df.views.summary`."""
    from gotrace_df.views import summary

    lines = [repr(trace), ""]
    df = summary(trace)
    rows = list(df[["section", "metric", "value", "unit"]].itertuples(index=False, name=None))
    width = max((len(m) for _, m, _, _ in rows), default=0)
    section = None
    for sec, metric, value, unit in rows:
        if sec != section:
            if section is not None:
                lines.append("")
            lines.append(f"{sec}:")
            section = sec
        shown = "n/a" if value is None or value < 0 and unit != "count" else _fmt(value, unit)
        lines.append(f"  {metric:<{width}}  {shown}")
    return "\n".join(lines) + "\n"
