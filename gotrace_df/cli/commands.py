"""The commands that print and write: ``-pprof``, ``-d``, and those Go lacks
(``export``, ``summary``, ``diff``, ``version``, ``help``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

from gotrace_df._errors import TraceError
from gotrace_df.cli.flags import DIFF_FLAGS, PPROF_KINDS, parse_go_flags
from gotrace_df.cli.source import damaged, opened, raw_bytes, read
from gotrace_df.cli.usage import DIFF_USAGE, PROG, USAGE, die, usage_error
from gotrace_df.units import display_bytes, display_duration

if TYPE_CHECKING:
    import pandas as pd

    from gotrace_df._trace import Trace

__all__ = ["COMMANDS", "debug", "diff_text", "pprof", "run_command", "summary_text"]

COMMANDS = ("export", "summary", "diff", "version", "help")

#: How many changes of each kind ``gotrace-df diff`` prints by default.
DIFF_TOP = 10
#: Frames of a stack ``gotrace-df diff`` prints (innermost first).
_DIFF_FRAMES = 4


def _stdout() -> IO[bytes]:
    return sys.stdout.buffer


def pprof(source: str, kind: str, go_version: str | None) -> int:
    """``-pprof=kind``: the blocking profile, gzipped protobuf, on stdout.

    A trace file (or URL) is not read into tables: the profile's pass runs
    while it is parsed (``streamed_profile``), so memory is the profile's,
    not the trace's. A Parquet dataset has its tables already."""
    from gotrace_df.pprof import to_pprof
    from gotrace_df.views import blocking_profile
    from gotrace_df.views.profiles import streamed_profile

    if os.path.isdir(source):
        trace = read(source)
        try:
            prof = blocking_profile(trace, kind, go_version=go_version)
        except ValueError as e:  # e.g. an unknown -go version
            die(f"failed to generate pprof: {e}")
    else:
        with opened(source) as (data, name, mapped):
            try:
                prof = streamed_profile(data, kind, name=name, go_version=go_version, mapped=mapped)
            except TraceError:
                raise  # the trace's fault: reported as read_trace's errors are
            except ValueError as e:
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
    if name == "diff":
        return _diff(args)
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
    if ns.parquet and not ns.perfetto and not ns.redact and not os.path.isdir(ns.trace):
        return _convert(ns.trace, ns.parquet, overwrite=not ns.no_overwrite)
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


def _convert(source: str, dest: str, *, overwrite: bool) -> int:
    """``export --parquet`` alone: the trace streamed into the dataset
    (``convert``), never held whole, so any size converts in bounded memory."""
    from gotrace_df.export.convert import convert_buffer
    from gotrace_df.export.parquet import check_destination
    from gotrace_df.frames import TABLES

    try:
        check_destination(Path(dest), overwrite)
    except OSError as e:
        die(f"{PROG} export: {e}")
    with opened(source) as (data, name, mapped):
        d = convert_buffer(data, dest, name=name, mapped=mapped, overwrite=overwrite)
    print(f"wrote {len(TABLES)} tables to {d}", file=sys.stderr)
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
    if df.attrs["notes"]:
        lines += ["notes:", *(f"  {n}" for n in df.attrs["notes"]), ""]
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


def _whole(source: str) -> Trace:
    """:func:`read`, refusing a trace that lost a damaged tail: a diff of part of
    one trace against the whole of another would show the loss as a change."""
    trace = read(source)
    if damaged(trace):
        die(f"{PROG} diff: {source} is damaged; a diff needs both traces whole")
    return trace


def _diff(args: list[str]) -> int:
    flags, rest = parse_go_flags(args, DIFF_FLAGS, DIFF_USAGE)
    if len(rest) != 2:
        usage_error("diff: expected before.trace after.trace", DIFF_USAGE)
    kind = flags.get("pprof")
    if kind is not None and kind not in PPROF_KINDS:
        die(f"unknown pprof type {kind}")
    if "o" in flags and not kind:
        usage_error("diff: -o writes the -pprof profile; give -pprof=TYPE", DIFF_USAGE)
    top = flags.get("top", str(DIFF_TOP))
    if not top.isdigit() or int(top) < 1:
        usage_error(f"diff: invalid value {top!r} for -top: want a positive number", DIFF_USAGE)
    go_version = flags.get("go") or None
    a, b = (_whole(source) for source in rest)
    if kind:
        return _diff_pprof(a, b, kind, go_version, flags.get("o"))
    from gotrace_df.views import diff

    try:
        d = diff(a, b, go_version=go_version)
    except ValueError as e:  # e.g. an unknown -go version
        die(f"{PROG} diff: {e}")
    sys.stdout.write(f"a: {a!r}\nb: {b!r}\n\n" + diff_text(d, int(top)))
    return 0


def _diff_pprof(a: Trace, b: Trace, kind: str, go_version: str | None, out: str | None) -> int:
    """``diff -pprof=kind``: b's profile with a's as its -diff_base, in one file."""
    from gotrace_df.export._atomic import atomic_file
    from gotrace_df.pprof import to_pprof
    from gotrace_df.views import blocking_profile

    try:
        pa, pb = (blocking_profile(t, kind, go_version=go_version) for t in (a, b))
    except ValueError as e:
        die(f"failed to generate pprof: {e}")
    data = to_pprof(pb, base=pa)
    if out is None:
        stdout = _stdout()
        stdout.write(data)
        stdout.flush()
        return 0
    try:
        with atomic_file(out) as f:
            f.write(data)
    except OSError as e:
        die(f"{PROG} diff: {e}")
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _signed(ns: int) -> str:
    return ("+" if ns > 0 else "") + display_duration(ns)


def _ratio(count_a: int, count_b: int, ratio: float) -> str:
    if count_a == 0:
        return "new"
    if count_b == 0:
        return "gone"
    return "–" if ratio != ratio else f"{ratio:.2f}x"  # NaN: both totals 0


def _short_key(kind: str, key: str, name: str, stack: tuple[tuple[str, str, int], ...]) -> str:
    """The key with file base names and at most a few frames."""
    if not stack:
        empty = {"goroutine group": "(no name)", "task type": '""', "region type": '""'}
        return key or empty.get(kind, "(no stack)")
    frames = [f"{fn} {file.rsplit('/', 1)[-1]}:{line}" for fn, file, line in stack]
    text = " < ".join(frames[:_DIFF_FRAMES]) + (" < ..." if len(frames) > _DIFF_FRAMES else "")
    return f"{name} @ {text}" if name else text


def diff_text(d: pd.DataFrame, top: int = DIFF_TOP) -> str:
    """The ``gotrace-df diff`` text of a :func:`gotrace_df.diff` result: per
    kind, its ``top`` largest changes (rows with no change left out)."""
    from gotrace_df.views.diff import KINDS

    head = ("delta", "ratio", "total a", "total b", "count a→b", "p50 a→b", "p99 a→b", "metric")
    lines = [f"Largest changes from a to b by |delta| of total time (top {top} of each kind):"]
    for kind in KINDS:
        rows = d[d["kind"] == kind]
        changed = rows[(rows["delta_ns"] != 0) | (rows["delta_count"] != 0)]
        lines += ["", f"{kind}: {len(changed)} of {len(rows)} rows changed"]
        table = [
            (
                _signed(r["delta_ns"]),
                _ratio(r["count_a"], r["count_b"], r["ratio"]),
                display_duration(r["total_a_ns"]),
                display_duration(r["total_b_ns"]),
                f"{r['count_a']}→{r['count_b']}",
                f"{display_duration(r['p50_a_ns'])}→{display_duration(r['p50_b_ns'])}",
                f"{display_duration(r['p99_a_ns'])}→{display_duration(r['p99_b_ns'])}",
                str(r["metric"]),
                _short_key(kind, r["key"], r["name"], r["stack"]),
            )
            for r in changed.head(top).to_dict("records")
        ]
        if not table:
            continue
        widths = [max(len(c) for c in col) for col in zip(head, *table)]
        for row in [(*head, "key"), *table]:
            cells = [c.rjust(w) for c, w in zip(row[:-2], widths)]
            lines.append("  " + "  ".join([*cells, row[-2].ljust(widths[-1]), row[-1]]))
    return "\n".join(lines) + "\n"
