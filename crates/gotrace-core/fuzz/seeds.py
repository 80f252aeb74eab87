#!/usr/bin/env python3
"""Builds the seed corpus of the fuzz targets: small traces of our corpus and Go's
own FuzzReader corpus, converted from Go's `go test fuzz v1` text format.

    python3 seeds.py OUTDIR [--max-size BYTES] [--goroot DIR]

Go's corpus files look like

    go test fuzz v1
    []byte("go 1.22 trace\\x00\\x00\\x00\\x01...")

The argument is a Go string literal (interpreted, or a `raw` one): decoded here
to the raw bytes. Standard library only; the system python3 is enough.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TRACES = ROOT / "tests" / "data" / "traces"

_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39, '"': 34}


def go_string_literal(lit: str) -> bytes:
    """The bytes of a Go string literal ("..." with escapes, or `raw`)."""
    if lit.startswith("`") and lit.endswith("`"):
        return lit[1:-1].replace("\r", "").encode()
    if not (lit.startswith('"') and lit.endswith('"')):
        raise ValueError(f"not a Go string literal: {lit[:40]!r}")
    s = lit[1:-1]
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = s[i + 1]
        if e in _SIMPLE:
            out.append(_SIMPLE[e])
            i += 2
        elif e == "x":
            out.append(int(s[i + 2 : i + 4], 16))
            i += 4
        elif e in "01234567":
            out.append(int(s[i + 1 : i + 4], 8))
            i += 4
        elif e == "u":
            out += chr(int(s[i + 2 : i + 6], 16)).encode()
            i += 6
        elif e == "U":
            out += chr(int(s[i + 2 : i + 10], 16)).encode()
            i += 10
        else:
            raise ValueError(f"unknown escape \\{e}")
    return bytes(out)


def go_fuzz_file(text: str) -> bytes:
    """The []byte value of a one-argument `go test fuzz v1` file."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or lines[0].strip() != "go test fuzz v1" or len(lines) != 2:
        raise ValueError("not a one-value `go test fuzz v1` file")
    value = lines[1].strip()
    if not (value.startswith("[]byte(") and value.endswith(")")):
        raise ValueError(f"not a []byte value: {value[:40]!r}")
    return go_string_literal(value[len("[]byte(") : -1])


def goroot(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    out = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--max-size", type=int, default=20_000, help="largest corpus trace to copy")
    ap.add_argument("--goroot")
    args = ap.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    n = 0
    # v1/: Go's own old-format (Go 1.11-1.21) test traces.
    for trace in sorted([*TRACES.glob("go1.*/*.trace"), *TRACES.glob("v1/*.trace")]):
        if trace.stat().st_size <= args.max_size:
            shutil.copyfile(trace, args.outdir / f"{trace.parent.name}-{trace.stem}")
            n += 1
    fuzzdir = (
        goroot(args.goroot) / "src" / "internal" / "trace" / "testdata" / "fuzz" / "FuzzReader"
    )
    m = 0
    for f in sorted(fuzzdir.iterdir()) if fuzzdir.is_dir() else []:
        data = go_fuzz_file(f.read_text())
        name = "go-" + hashlib.sha1(data).hexdigest()[:16]
        (args.outdir / name).write_bytes(data)
        m += 1
    print(f"seeds.py: {n} corpus traces and {m} inputs of Go's FuzzReader corpus in {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
