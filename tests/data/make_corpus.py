#!/usr/bin/env python3
"""Regenerate the Go execution-trace corpus in tests/data/traces.

For every Go release (1.21 ... 1.27, toolchains from tools/install-go.sh as
.toolchains/bin/go1.NN) and every scenario valid for that release, build the
program in tests/data/programs/<scenario> with that toolchain, run it with the
scenario's environment, and write tests/data/traces/go1.NN/<scenario>.trace.
Each trace is then checked with the same toolchain's `go tool trace -d=...`
(and, with --check-newest, with the newest toolchain too). Size limits are
enforced: every file < 1 MB, total < 30 MB. PROVENANCE.tsv records file, full
`go version`, the exact commands and environment, bytes and sha256.

Stdlib only (Python 3.11).

    python3 tests/data/make_corpus.py                       # everything
    python3 tests/data/make_corpus.py --versions 1.26 --scenarios tasks,net
    python3 tests/data/make_corpus.py --check-only          # just re-verify
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROGRAMS = HERE / "programs"
TRACES = HERE / "traces"
PROVENANCE = TRACES / "PROVENANCE.tsv"
TOOLCHAINS = REPO / ".toolchains" / "bin"
EXAMPLE_DEST = REPO / "gotrace_df" / "data" / "example.trace"
EXAMPLE_VERSION = "1.26"

# 1.21 writes the old trace format, which Go 1.23+ converts: a few scenarios.
VERSIONS = ["1.21", "1.22", "1.23", "1.24", "1.25", "1.26", "1.27"]
MAX_FILE = 1_000_000  # bytes; every trace must be strictly smaller
MAX_TOTAL = 30_000_000
MIN_FILE = 2_000  # anything smaller is surely a failed run
SOFT_MAX = (
    700_000  # retry above this (sizes vary run to run); accept below MAX_FILE on the last try
)
ATTEMPTS = 3  # timing-dependent programs: retry when out of the size bounds
RUN_TIMEOUT = 120


@dataclass
class Scenario:
    name: str
    min_version: str = "1.22"
    env: dict[str, str] = field(default_factory=dict)
    kind: str = "run"  # "run": ./prog <trace>; "test": go test -trace=<trace>


SCENARIOS = [
    Scenario("churn"),
    Scenario("sync", min_version="1.21"),
    Scenario("net"),
    Scenario("syscall"),
    Scenario("gc"),
    Scenario("tasks", min_version="1.21", env={"GODEBUG": "traceadvanceperiod=5000000"}),
    Scenario("coro", min_version="1.23"),  # iter.Pull needs Go 1.23
    Scenario("cpuprof"),
    Scenario("gomaxprocs", min_version="1.21"),
    Scenario("preexisting"),
    Scenario("generations", env={"GODEBUG": "traceadvanceperiod=5000000"}),
    # the AllocFree experiment exists from Go 1.23
    Scenario("allocfree", min_version="1.23", env={"GODEBUG": "traceallocfree=1"}),
    # runtime/trace.FlightRecorder is public from Go 1.25
    Scenario("flightrec", min_version="1.25", env={"GODEBUG": "traceadvanceperiod=5000000"}),
    Scenario("gotest", kind="test"),
    Scenario("example", env={"GODEBUG": "traceadvanceperiod=100000000"}),
]
BY_NAME = {s.name: s for s in SCENARIOS}


def vkey(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def go_bin(version: str) -> Path:
    exe = TOOLCHAINS / f"go{version}"
    if not exe.exists():
        log(f"toolchain go{version} missing: running tools/install-go.sh")
        subprocess.run(["bash", str(REPO / "tools" / "install-go.sh")], check=True, cwd=REPO)
    if not exe.exists():
        sys.exit(f"toolchain {exe} still missing after tools/install-go.sh")
    return exe


def base_env(version: str) -> dict[str, str]:
    env = dict(os.environ)
    for k in (
        "GOFLAGS",
        "GODEBUG",
        "GOROOT",
        "GOPATH",
        "GOCACHE",
        "GO111MODULE",
        "GOTOOLCHAIN",
        "GOMAXPROCS",
        "GOOS",
        "GOARCH",
        "GOTRACEBACK",
    ):
        env.pop(k, None)
    tmp = Path(tempfile.gettempdir()) / "gotrace-corpus"
    env.update(
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
        GOCACHE=str(tmp / f"gocache-go{version}"),
        GOPATH=str(tmp / f"gopath-go{version}"),
        GOPROXY="off",
        GOFLAGS="",
    )
    return env


def go_version_string(version: str) -> str:
    out = subprocess.run(
        [str(go_bin(version)), "version"],
        env=base_env(version),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = RUN_TIMEOUT) -> None:
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def produce(version: str, sc: Scenario) -> tuple[Path, str]:
    """Build and run one scenario; returns (trace path, command description)."""
    go = go_bin(version)
    out_dir = TRACES / f"go{version}"
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / f"{sc.name}.trace"
    env = base_env(version)
    # a fixed build directory, so that file paths in the traces' stacks are stable
    td = Path(tempfile.gettempdir()) / "gotrace-corpus" / "build" / f"go{version}"
    work = td / sc.name
    shutil.rmtree(work, ignore_errors=True)
    td.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROGRAMS / sc.name, work)
    # language version = toolchain version; stdlib only, no requirements
    (work / "go.mod").write_text(f"module corpus/{sc.name}\n\ngo {version}\n")
    tmp_trace = td / f"{sc.name}.out.trace"
    build_env = "GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="
    run_env = dict(env)
    run_env.update(sc.env)
    env_str = " ".join(f"{k}={v}" for k, v in sc.env.items())
    if sc.kind == "run":
        build = [str(go), "build", "-o", "prog", "."]
        run(build, work, env)
        cmd = ["./prog", str(tmp_trace)]
        desc = (
            f"(go.mod: go {version}) {build_env} go{version} build -o prog . && "
            f"{env_str + ' ' if env_str else ''}./prog {dest.name}"
        )
    else:
        cmd = [
            str(go),
            "test",
            f"-trace={tmp_trace}",
            "-run=.",
            "-bench=.",
            "-benchtime=20x",
            "-cpu=2",
            ".",
        ]
        desc = (
            f"(go.mod: go {version}) {build_env} {env_str + ' ' if env_str else ''}"
            f"go{version} test -trace={dest.name} -run=. -bench=. -benchtime=20x -cpu=2 ."
        )
    last = ""
    for attempt in range(1, ATTEMPTS + 1):
        tmp_trace.unlink(missing_ok=True)
        run(cmd, work, run_env)
        size = tmp_trace.stat().st_size
        if MIN_FILE <= size < SOFT_MAX or (attempt == ATTEMPTS and MIN_FILE <= size < MAX_FILE):
            break
        last = f"size {size} outside [{MIN_FILE}, {SOFT_MAX})"
        log(f"  go{version}/{sc.name}: attempt {attempt}: {last}; retrying")
    else:
        raise RuntimeError(
            f"go{version}/{sc.name}: {last} after {ATTEMPTS} attempts; "
            "adjust the program's parameters"
        )
    shutil.move(str(tmp_trace), dest)
    return dest, desc


def check(trace: Path, version: str) -> str | None:
    """Parse `trace` with toolchain `version`'s go tool trace; None if OK else an error."""
    go = go_bin(version)
    flag = "-d=1" if vkey(version) < (1, 24) else "-d=parsed"
    p = subprocess.run(
        [str(go), "tool", "trace", flag, str(trace)],
        env=base_env(version),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    if p.returncode != 0:
        return f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-500:]}"
    # -d prints events on stdout; failures print on stderr (Go 1.21 also logs
    # its progress there)
    err = "\n".join(
        ln for ln in p.stderr.splitlines() if not ln.endswith("Parsing trace...")
    ).strip()
    if err:
        return f"stderr: {err[-500:]}"
    if "error" in p.stdout[-2000:].lower():
        return "'error' at end of output: " + p.stdout[-300:]
    return None


def header(trace: Path) -> str:
    return trace.read_bytes()[:16].rstrip(b"\x00").decode("ascii", "replace")


def read_provenance() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    if PROVENANCE.exists():
        for line in PROVENANCE.read_text().splitlines()[1:]:
            if line.strip():
                parts = line.split("\t")
                rows[parts[0]] = parts
    return rows


def write_provenance(rows: dict[str, list[str]]) -> None:
    lines = ["file\tgo_version\tcommand\tbytes\tsha256\theader"]
    for key in sorted(rows, key=lambda f: (vkey(f.split("/")[0][2:]), f)):
        lines.append("\t".join(rows[key]))
    PROVENANCE.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--versions", default=",".join(VERSIONS), help="comma list, e.g. 1.22,1.26")
    ap.add_argument("--scenarios", default=",".join(BY_NAME), help="comma list of scenario names")
    ap.add_argument("--check-only", action="store_true", help="do not regenerate, only verify")
    ap.add_argument(
        "--no-check-newest",
        action="store_true",
        help=f"skip parsing every trace with go{VERSIONS[-1]} as well",
    )
    args = ap.parse_args()
    versions = [v.strip().removeprefix("go") for v in args.versions.split(",") if v.strip()]
    names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for n in names:
        if n not in BY_NAME:
            sys.exit(f"unknown scenario {n!r}; known: {', '.join(BY_NAME)}")
    for v in versions:
        if v not in VERSIONS:
            sys.exit(f"unknown version {v!r}; known: {', '.join(VERSIONS)}")

    rows = read_provenance()
    produced: list[tuple[Path, str]] = []
    failures: list[str] = []
    for v in versions:
        gv = go_version_string(v)
        for n in names:
            sc = BY_NAME[n]
            if vkey(v) < vkey(sc.min_version):
                continue
            rel = f"go{v}/{n}.trace"
            if args.check_only:
                path = TRACES / rel
                if not path.exists():
                    failures.append(f"{rel}: missing")
                    continue
            else:
                log(f"go{v} {n} ...")
                try:
                    path, desc = produce(v, sc)
                except Exception as e:  # noqa: BLE001
                    failures.append(f"{rel}: {e}")
                    log(f"  FAILED: {e}")
                    continue
                rows[rel] = [rel, gv, desc, str(path.stat().st_size), sha256(path), header(path)]
                log(f"  {path.stat().st_size} bytes, header {header(path)!r}")
            produced.append((path, v))

    # verify
    newest = VERSIONS[-1]
    for path, v in produced:
        rel = f"{path.parent.name}/{path.name}"
        err = check(path, v)
        if err:
            failures.append(f"{rel}: go{v} tool trace: {err}")
        if not args.no_check_newest and v != newest:
            err = check(path, newest)
            if err:
                failures.append(f"{rel}: go{newest} tool trace: {err}")

    if not args.check_only:
        write_provenance(rows)
        ex = TRACES / f"go{EXAMPLE_VERSION}" / "example.trace"
        if EXAMPLE_VERSION in versions and "example" in names and ex.exists():
            EXAMPLE_DEST.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ex, EXAMPLE_DEST)
            log(f"copied {ex.relative_to(REPO)} -> {EXAMPLE_DEST.relative_to(REPO)}")

    # limits over the whole corpus
    all_traces = sorted(TRACES.glob("go*/*.trace"))
    total = sum(p.stat().st_size for p in all_traces)
    for p in all_traces:
        if p.stat().st_size >= MAX_FILE:
            failures.append(f"{p.relative_to(TRACES)}: {p.stat().st_size} bytes >= {MAX_FILE}")
    if total >= MAX_TOTAL:
        failures.append(f"corpus total {total} bytes >= {MAX_TOTAL}")
    log(f"{len(all_traces)} traces, {total} bytes total")
    if failures:
        log("FAILURES:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
