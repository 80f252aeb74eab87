"""``go tool trace``'s flags, parsed as Go's ``flag`` package parses them."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gotrace_df.cli.usage import USAGE, CommandExit, usage_error

__all__ = ["DEBUG_MODES", "DIFF_FLAGS", "FLAGS", "PPROF_KINDS", "parse_go_flags"]

FLAGS = ("http", "pprof", "d", "go", "notebook")
#: The flags of ``gotrace-df diff``.
DIFF_FLAGS = ("pprof", "o", "go", "top")
PPROF_KINDS = ("net", "sync", "syscall", "sched")
DEBUG_MODES = ("parsed", "wire", "footprint")


def parse_go_flags(
    args: Sequence[str], known: Sequence[str] = FLAGS, usage: str = USAGE
) -> tuple[dict[str, str], list[str]]:
    """Go's ``flag`` parsing: ``-f=v``, ``-f v``, ``--f=v``, ``--f v``, up to the
    first non-flag argument (or ``--``), of the flags ``known`` (``-h`` prints
    ``usage``). Returns (flags, remaining arguments).

    >>> parse_go_flags(["-http=:6060", "--pprof", "net", "t.out", "-d=x"])
    ({'http': ':6060', 'pprof': 'net'}, ['t.out', '-d=x'])
    """
    flags: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            i += 1
            break
        if len(a) < 2 or not a.startswith("-"):
            break
        name = a[2:] if a.startswith("--") else a[1:]
        if not name or name.startswith("-") or name.startswith("="):
            usage_error(f"bad flag syntax: {a}", usage)
        value: str | None = None
        if "=" in name:
            name, value = name.split("=", 1)
        if name in ("h", "help"):
            sys.stdout.write(usage)
            raise CommandExit(0)
        if name not in known:
            usage_error(f"flag provided but not defined: -{name}", usage)
        if value is None:
            i += 1
            if i >= len(args):
                usage_error(f"flag needs an argument: -{name}", usage)
            value = args[i]
        flags[name] = value
        i += 1
    return flags, list(args[i:])
