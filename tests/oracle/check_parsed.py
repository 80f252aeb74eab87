"""Cross-check the oracle against `go tool trace -d=parsed` (developer aid).

Usage: python3 tests/oracle/check_parsed.py GO_BINARY TRACE [TRACE ...]

For each trace, runs the oracle and `GO_BINARY tool trace -d=parsed TRACE`
(-d=1 before Go 1.24; the toolchain's own internal/trace). For Go 1.26+ it
re-renders every oracle JSON line in the format of Event.String() and compares
the whole text (stacks included); for older toolchains see check(). Prints the
first difference, if any. Exit status 1 on a mismatch.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from oracle_util import oracle_events  # noqa: E402

NO_TASK = 2**64 - 1


def goquote(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\v":
            out.append("\\v")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif ch == "\ufffd":
            out.append("\\ufffd")  # approximate; invalid UTF-8 is lossy
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def val(v) -> str:
    return f"Value{{Uint64({v})}}" if isinstance(v, int) else str(v)


def stack_lines(prefix_header: str, frames) -> list[str]:
    lines = [prefix_header]
    for pc, fn, file, line in frames:
        lines.append(f"\t{fn} @ {pc:#x}")
        lines.append(f"\t\t{file}:{line}")
    return lines


def rfc3339nano(ns: int) -> str:
    sec, frac = divmod(ns, 10**9)
    dt = datetime.datetime.fromtimestamp(sec, datetime.UTC).astimezone()
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        s += "." + f"{frac:09d}".rstrip("0")
    off = dt.utcoffset()
    if not off:
        return s + "Z"
    mins = int(off.total_seconds()) // 60
    sign = "+" if mins >= 0 else "-"
    mins = abs(mins)
    return s + f"{sign}{mins // 60:02d}:{mins % 60:02d}"


def render(e: dict) -> list[str]:
    k = e["kind"]
    s = f"M={e['m']} P={e['p']} G={e['g']} {k} Time={e['t']}"
    res = lambda: "None" if e["resource"] == "None" else f"{e['resource']}({e['rid']})"  # noqa: E731
    extra: list[str] = []
    if k == "Metric":
        s += f" Name={goquote(e['name'])} Value={val(e['value'])}"
    elif k == "Label":
        s += f" Label={goquote(e['label'])} Resource={res()}"
    elif k in ("RangeBegin", "RangeActive", "RangeEnd"):
        s += f" Name={goquote(e['name'])} Scope={res()}"
        if k == "RangeEnd":
            attrs = " ".join(f"{goquote(a['name'])}={val(a['value'])}" for a in e.get("attrs", []))
            s += f" Attributes=[{attrs}]"
    elif k in ("TaskBegin", "TaskEnd"):
        s += f" ID={e['task']} Parent={e['parent']} Type={goquote(e['type'])}"
    elif k in ("RegionBegin", "RegionEnd"):
        s += f" Task={e['task']} Type={goquote(e['type'])}"
    elif k == "Log":
        s += f" Task={e['task']} Category={goquote(e['category'])} Message={goquote(e['message'])}"
    elif k == "StateTransition":
        if e["resource"] == "Goroutine":
            s += f" GoID={e['rid']} {e['from']}->{e['to']}"
        elif e["resource"] == "Proc":
            s += f" ProcID={e['rid']} {e['from']}->{e['to']}"
        s += f" Reason={goquote(e['reason'])}"
        if "tstack" in e:
            extra += stack_lines("TransitionStack=", e["tstack"])
    elif k == "Experimental":
        args = ", ".join(f"{n}={val(v)}" for n, v in e["args"].items())
        s += f" Name={e['name']} Args=[{args}]"
    elif k == "Sync":
        s += f" N={e['n']}"
        if "clock" in e:
            c = e["clock"]
            s += f" Trace={c['trace']} Mono={c['mono']} Wall={rfc3339nano(c['wall'])}"
    lines = [s] + extra
    if "stack" in e:
        lines += stack_lines("Stack=", e["stack"])
    return lines


HEADER = re.compile(r"^M=(-?\d+) P=(-?\d+) G=(-?\d+) (\w+) Time=(-?\d+)")


def go_minor(go: str) -> int:
    out = subprocess.run(
        [go, "env", "GOVERSION"],
        capture_output=True,
        text=True,
        env=dict(os.environ, GOTOOLCHAIN="local"),
    ).stdout
    m = re.match(r"go1\.(\d+)", out.strip())
    return int(m[1]) if m else 0


def check(go: str, trace: str) -> bool:
    """Go 1.26+: the whole -d=parsed text must equal the re-rendered oracle.

    Older toolchains print events differently (and 1.22-1.24 emit no leading
    Sync), so there only the (M, P, G, kind, time) of every non-Sync event is
    compared, and the Sync positions are reported.
    """
    minor = go_minor(go)
    events, err = oracle_events(trace)
    env = dict(os.environ, GOTOOLCHAIN="local")
    flag = "-d=parsed" if minor >= 24 else "-d=1"
    p = subprocess.run([go, "tool", "trace", flag, trace], capture_output=True, text=True, env=env)
    want = [ln for ln in p.stdout.split("\n") if ln != ""]
    nwant = sum(1 for ln in want if ln.startswith("M="))
    ok = True
    if minor >= 26:
        got: list[str] = []
        for e in events:
            got += render(e)
        for i, (a, b) in enumerate(zip(got, want)):
            if a != b:
                print(f"{trace}: line {i}: oracle {a!r}\n{'':{len(trace)}}  go     {b!r}")
                ok = False
                break
        if ok and len(got) != len(want):
            print(
                f"{trace}: length differs: oracle {len(got)} lines, go {len(want)}; last go: {want[-1:]!r}"
            )
            ok = False
        mode = "full text"
    else:
        mine = [(e["m"], e["p"], e["g"], e["kind"], e["t"]) for e in events]
        theirs = [
            (int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])) for m in map(HEADER.match, want) if m
        ]
        ok = [x for x in mine if x[3] != "Sync"] == [x for x in theirs if x[3] != "Sync"]
        ms = [i for i, x in enumerate(mine) if x[3] == "Sync"]
        ts = [i for i, x in enumerate(theirs) if x[3] == "Sync"]
        mode = f"non-Sync headers; Sync at oracle {ms[:6]} go {ts[:6]}"
    print(
        f"{trace}: go1.{minor} {mode}: oracle events={len(events)} err={err!r}; go {flag} events={nwant}"
        f" rc={p.returncode} stderr={p.stderr.strip()[-200:]!r} -> {'OK' if ok else 'MISMATCH'}"
    )
    return ok


def main() -> int:
    go, *traces = sys.argv[1:]
    ok = all([check(go, t) for t in traces])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
