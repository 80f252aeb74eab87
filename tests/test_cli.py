"""The `gotrace-df` command, run as users run it (the console script), against
`go tool trace` of the newest toolchains.

* `-d=parsed` equals `go tool trace -d=parsed` of Go 1.26 and 1.27 byte for byte
  on every corpus trace (traces of Go 1.22 ... 1.27); `-d=wire` and
  `-d=footprint` equal Go 1.27's;
* `-pprof=TYPE` passes `go tool pprof -raw` and equals `go tool trace -pprof=TYPE`
  stack for stack;
* the viewer starts (voila), answers HTTP on loopback, and stops cleanly on
  Ctrl-C, taking voila and its kernels with it; a trace it cannot open fails
  before any server starts;
* flags in Go's forms, the optional pkg.test argument, and the commands Go lacks.
"""

from __future__ import annotations

import collections
import gzip
import io
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from gotool import go_binary, go_env, pprof_raw

import gotrace_df as gt
from gotrace_df import app, cli
from gotrace_df.cli import address, flags, serve

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "traces"
TRACES = sorted(CORPUS.glob("go1.*/*.trace"))
ID = lambda p: f"{p.parent.name}/{p.stem}"  # noqa: E731
MIN_NOTEBOOK = ROOT / "tests" / "data" / "viewer_min.ipynb"
VIEWER_NOTEBOOK = app.NOTEBOOK

# The console script `make build` installs next to the interpreter.
GOTRACE_DF = Path(sys.executable).parent / "gotrace-df"


def env() -> dict[str, str]:
    e = dict(go_env(), TZ="UTC")
    e.pop("WAYLAND_DISPLAY", None)
    return e


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """The console script with ``args``; fails the test on a non-zero exit if ``check``."""
    p = subprocess.run([str(GOTRACE_DF), *args], capture_output=True, env=env(), timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(
            f"gotrace-df {' '.join(args)} exited {p.returncode}: {p.stderr.decode()[-3000:]}"
        )
    return p


def go(version: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return go_start(version, *args).result()


class go_start:
    """`go tool trace` of Go `version` started now, so it runs while we do."""

    def __init__(self, version: str, *args: str) -> None:
        self.args = [str(go_binary(version)), "tool", "trace", *args]
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env()
        )

    def result(self) -> subprocess.CompletedProcess[bytes]:
        out, err = self.proc.communicate(timeout=600)
        return subprocess.CompletedProcess(self.args, self.proc.returncode, out, err)


def first_difference(ours: bytes, theirs: bytes) -> str:
    a, b = ours.decode(errors="replace").split("\n"), theirs.decode(errors="replace").split("\n")
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"line {i + 1}:\n  ours: {x[:400]}\n  go:   {y[:400]}"
    return f"{len(a)} lines, Go has {len(b)}"


def test_console_script_is_installed() -> None:
    assert GOTRACE_DF.is_file(), "run `make build`: the gotrace-df entry point is in pyproject.toml"
    p = run("version")
    assert p.stdout.decode().startswith(f"gotrace_df {gt.__version__}")


# -- -d=parsed|wire|footprint -----------------------------------------------------------


@pytest.mark.parametrize("path", TRACES, ids=ID)
def test_parsed_equals_go(path: Path) -> None:
    started = {v: go_start(v, "-d=parsed", str(path)) for v in ("1.27", "1.26")}
    ours = run("-d=parsed", str(path)).stdout
    for version, g in started.items():
        theirs = g.result()
        assert theirs.returncode == 0, theirs.stderr
        assert ours == theirs.stdout, f"go{version}: {first_difference(ours, theirs.stdout)}"


@pytest.mark.parametrize("path", TRACES, ids=ID)
@pytest.mark.parametrize("mode", ["wire", "footprint"])
def test_wire_and_footprint_equal_go(
    path: Path, mode: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # In-process (the same code as the command) to keep the suite quick; the
    # console script runs these modes in test_flag_forms.
    started = go_start("1.27", f"-d={mode}", str(path))
    code = cli.main([f"-d={mode}", str(path)])
    out, err = capsysbinary.readouterr()
    theirs = started.result()
    assert out == theirs.stdout, first_difference(out, theirs.stdout)
    # Go fails on some traces (older formats do not know the experimental
    # events): so must we, with the same message.
    assert code == theirs.returncode
    assert err.decode().strip() == theirs.stderr.decode().strip()


def test_broken_pipe_is_quiet() -> None:
    p = subprocess.Popen(
        [str(GOTRACE_DF), "-d=parsed", str(CORPUS / "go1.27" / "example.trace")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    assert p.stdout is not None and p.stderr is not None
    assert p.stdout.readline().startswith(b"M=-1 P=-1 G=-1 Sync")
    p.stdout.close()
    p.wait(timeout=120)
    assert b"Traceback" not in p.stderr.read()
    p.stderr.close()


# -- -pprof -------------------------------------------------------------------------------


_SAMPLE = re.compile(r"^\s*(\d+)\s+(\d+):\s*([\d ]*)$")
_LOCATION = re.compile(r"^\s*(\d+): (0x[0-9a-f]+) M=\d+ (.*)$")


def pprof_by_stack(data: bytes, tmp: Path) -> dict[tuple[str, ...], tuple[int, int]]:
    """`go tool pprof -raw` of a profile (which validates it), as
    {stack (function file:line ..., leaf first): (contentions, delay)}."""
    f = tmp / "p.pb.gz"
    f.write_bytes(data)
    text = pprof_raw(f, "1.27")
    samples: list[tuple[int, int, list[str]]] = []
    locs: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if section == "Samples:":
            m = _SAMPLE.match(line)
            if m:
                samples.append((int(m.group(1)), int(m.group(2)), m.group(3).split()))
        elif section == "Locations":
            m = _LOCATION.match(line)
            if m:
                locs[m.group(1)] = m.group(3).strip()
    out: dict[tuple[str, ...], tuple[int, int]] = collections.defaultdict(lambda: (0, 0))
    for count, delay, ids in samples:
        key = tuple(locs[i] for i in ids)
        c, d = out[key]
        out[key] = (c + count, d + delay)
    return dict(out)


PPROF_CASES = [
    *(
        (p, kind)
        for p in TRACES
        if p.stem == "example"
        for kind in ("net", "sync", "syscall", "sched")
    ),
    (CORPUS / "go1.27" / "sync.trace", "sync"),
    (CORPUS / "go1.27" / "net.trace", "net"),
    (CORPUS / "go1.27" / "syscall.trace", "syscall"),
    (CORPUS / "go1.27" / "churn.trace", "sched"),
    (CORPUS / "go1.22" / "sync.trace", "sync"),
    (CORPUS / "go1.24" / "syscall.trace", "syscall"),
]


@pytest.mark.parametrize(
    ("path", "kind"), PPROF_CASES, ids=lambda x: ID(x) if isinstance(x, Path) else x
)
def test_pprof_equals_go(path: Path, kind: str, tmp_path: Path) -> None:
    started = go_start("1.27", f"-pprof={kind}", str(path))
    ours = run(f"-pprof={kind}", str(path)).stdout
    assert ours[:2] == b"\x1f\x8b", "a gzipped profile"
    theirs = started.result()
    assert theirs.returncode == 0, theirs.stderr
    a = pprof_by_stack(ours, tmp_path)
    b = pprof_by_stack(theirs.stdout, tmp_path)
    assert a.keys() == b.keys(), (sorted(a.keys() - b.keys())[:3], sorted(b.keys() - a.keys())[:3])
    diff = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    assert not diff, list(diff.items())[:5]


def test_pprof_with_go_version(tmp_path: Path) -> None:
    """-go=1.NN reproduces that release's go tool trace."""
    path = CORPUS / "go1.22" / "example.trace"
    ours = run("-go=1.22", "-pprof=sched", str(path)).stdout
    theirs = go("1.22", "-pprof=sched", str(path))
    assert theirs.returncode == 0, theirs.stderr
    assert pprof_by_stack(ours, tmp_path) == pprof_by_stack(theirs.stdout, tmp_path)


# -- flags, arguments, errors ------------------------------------------------------------


def test_flag_forms(tmp_path: Path) -> None:
    """-f=v, -f v, --f=v and --f v; the optional pkg.test before the trace."""
    path = str(CORPUS / "go1.26" / "tasks.trace")
    want = go("1.27", "-d=footprint", path).stdout
    for args in (
        ["-d=footprint", path],
        ["-d", "footprint", path],
        ["--d=footprint", path],
        ["--d", "footprint", path],
        ["-d=footprint", "pkg.test", path],
    ):
        assert run(*args).stdout == want, args
    assert run("-d=wire", path).stdout == go("1.27", "-d=wire", path).stdout


def test_parse_go_flags() -> None:
    f, rest = flags.parse_go_flags(["-http=:6060", "--pprof", "net", "a", "-d=x"])
    assert f == {"http": ":6060", "pprof": "net"} and rest == ["a", "-d=x"]
    assert flags.parse_go_flags(["--", "-d=x"]) == ({}, ["-d=x"])


def test_listen_addr() -> None:
    assert address.listen_addr(":6060") == ("127.0.0.1", 6060)
    assert address.listen_addr("localhost:0") == ("127.0.0.1", 0)
    assert address.listen_addr("0.0.0.0:80") == ("0.0.0.0", 80)
    assert address.listen_addr("[::1]:7") == ("::1", 7)
    with pytest.raises(ValueError):
        address.listen_addr("6060")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-bogus=1", "t.out"], 2, "flag provided but not defined: -bogus"),
        ([], 2, "Usage of gotrace-df"),
        (["a", "b", "c"], 2, "Usage of gotrace-df"),
        (["-d"], 2, "flag needs an argument: -d"),
        (["-pprof=cpu", "t.out"], 1, "unknown pprof type cpu"),
        (["-d=raw", "t.out"], 1, "invalid debug mode raw"),
        (["-d=parsed", "/no/such/trace.out"], 1, "failed to read trace file"),
    ],
)
def test_errors(args: list[str], code: int, message: str) -> None:
    p = run(*args, check=False)
    assert p.returncode == code, p.stderr
    assert message in p.stderr.decode()
    assert b"Traceback" not in p.stderr


def test_bad_trace_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.out"
    bad.write_bytes(b"not a trace at all")
    p = run("-d=parsed", str(bad), check=False)
    assert p.returncode == 1
    assert b"Traceback" not in p.stderr and p.stderr.strip()
    p = run("-d=wire", str(bad), check=False)
    assert p.returncode == 1
    assert p.stderr.decode().strip() == go("1.27", "-d=wire", str(bad)).stderr.decode().strip()


_EXAMPLE = CORPUS / "go1.27" / "example.trace"
DAMAGED = {
    # 300000 falls inside a varint of this trace (Go: unexpected EOF).
    "cut inside an event": lambda: _EXAMPLE.read_bytes()[:300000],
    "unknown event type": lambda: _EXAMPLE.read_bytes() + b"\xff",
    # Go's raw reader takes a v1 header as valid, with no event types.
    "v1 header": lambda: b"go 1.21 trace\0\0\0\x05\x01",
    "unknown version": lambda: b"go 1.7 trace\0\0\0\0",
}


@pytest.mark.parametrize("damage", DAMAGED)
@pytest.mark.parametrize("mode", ["wire", "footprint"])
def test_damaged_trace_fails_as_go(
    tmp_path: Path, damage: str, mode: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """The events before the damage, then Go's error, and Go's exit code."""
    bad = tmp_path / "bad.trace"
    bad.write_bytes(DAMAGED[damage]())
    started = go_start("1.27", f"-d={mode}", str(bad))
    code = cli.main([f"-d={mode}", str(bad)])
    out, err = capsysbinary.readouterr()
    theirs = started.result()
    assert theirs.returncode == code == 1
    assert out == theirs.stdout, first_difference(out, theirs.stdout)
    assert err.decode().strip() == theirs.stderr.decode().strip()


def test_wire_error_says_where() -> None:
    """The library raises Go's message as a TraceError at the failing event."""
    from gotrace_df.export import godebug

    data = _EXAMPLE.read_bytes()[:300000]
    with pytest.raises(gt.TraceError, match="^unexpected EOF$") as e:
        godebug.write_wire(data, io.BytesIO())
    assert e.value.offset is not None and 299_980 <= e.value.offset < 300_000


def test_help() -> None:
    p = run("-h")
    assert b"-pprof=type" in p.stdout and b"export --parquet" in p.stdout


# -- commands Go lacks -------------------------------------------------------------------


def test_export_parquet_and_perfetto(tmp_path: Path) -> None:
    path = CORPUS / "go1.27" / "tasks.trace"
    gz = tmp_path / "tasks.trace.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    run(
        "export", "--parquet", str(tmp_path / "ds"), "--perfetto", str(tmp_path / "t.json"), str(gz)
    )
    tr = gt.read_trace(path)
    back = gt.read_parquet(tmp_path / "ds")
    for name in tr.table_names:
        assert tr.table(name).equals(back.table(name)), name
    assert json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    # Again over the existing outputs, streamed (Parquet alone); --no-overwrite refuses.
    run("export", "--parquet", str(tmp_path / "ds"), str(path))
    back = gt.read_parquet(tmp_path / "ds")
    for name in tr.table_names:
        assert tr.table(name).equals(back.table(name)), name
    p = run("export", "--no-overwrite", "--parquet", str(tmp_path / "ds"), str(path), check=False)
    assert p.returncode == 1 and b"exists" in p.stderr
    p = run("export", str(path), check=False)
    assert p.returncode == 2


def test_summary_command(tmp_path: Path) -> None:
    path = CORPUS / "go1.27" / "example.trace"
    text = run("summary", str(path)).stdout.decode()
    tr = gt.read_trace(path)
    assert text.splitlines()[0] == repr(tr)
    assert "goroutines" in text and "duration" in text
    # A Parquet dataset works in place of the trace file.
    tr.to_parquet(tmp_path / "ds")
    again = run("summary", str(tmp_path / "ds")).stdout.decode()
    assert again.splitlines()[1:] == text.splitlines()[1:]


def test_parsed_from_parquet_dataset(tmp_path: Path) -> None:
    path = CORPUS / "go1.25" / "tasks.trace"
    gt.read_trace(path).to_parquet(tmp_path / "ds")
    assert (
        run("-d=parsed", str(tmp_path / "ds")).stdout == go("1.27", "-d=parsed", str(path)).stdout
    )


# -- the viewer -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc)."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children[ppid].append(int(d.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _serve_and_interrupt(
    notebook: Path,
    marker: str,
    trace: str | Path = CORPUS / "go1.26" / "tasks.trace",
    timeout: float = 240,
) -> None:
    """Run the viewer on `trace`, GET its page, check `marker` is in it, then
    Ctrl-C it and check everything it started is gone."""
    port = _free_port()
    args = [str(GOTRACE_DF), "--http", f":{port}", str(trace)]
    if notebook != VIEWER_NOTEBOOK:
        args[1:1] = [f"-notebook={notebook}"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), text=True)
    assert p.stdout is not None and p.stderr is not None
    try:
        line = p.stdout.readline()
        m = re.match(r"Trace viewer is listening on (http://\S+)$", line.strip())
        assert m, (line, p.stderr.read() if p.poll() is not None else "")
        url = m.group(1)
        assert url.startswith(f"http://127.0.0.1:{port}/?trace=")
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    assert r.status == 200
                    page = r.read().decode()
                break
            except (ConnectionError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert marker in page, page[-3000:]
        assert "There was an error when executing cell" not in page
        kids = _descendants(p.pid)
        assert kids, "voila runs as a child process"
        # Only loopback: nothing listens on the machine's other addresses.
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) == 0
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 0
        err = p.stderr.read()
        assert "Traceback" not in err, err
        assert "Trace viewer stopped." in err
        deadline = time.monotonic() + 20
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [k for k in kids if _alive(k)], "voila or a kernel outlived the command"
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, "the port is still open"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()


@pytest.mark.parametrize(
    ("notebook", "dataset"),
    [(MIN_NOTEBOOK, False), (VIEWER_NOTEBOOK, False), (MIN_NOTEBOOK, True)],
    ids=["min", "viewer", "min-parquet-dataset"],
)
def test_viewer_serves_and_stops_on_ctrl_c(notebook: Path, dataset: bool, tmp_path: Path) -> None:
    """Start, answer HTTP on loopback, stop on SIGINT with voila and its kernels;
    on a trace file (the packaged viewer notebook is the default) and on a
    directory written by `gotrace-df export --parquet`."""
    trace = CORPUS / "go1.26" / "tasks.trace"
    if dataset:
        run("export", "--parquet", str(tmp_path / "ds"), str(trace))
        trace = tmp_path / "ds"
    # Ours prints what it read; the viewer renders widgets.
    marker = (
        "GOTRACE-DF-VIEWER-OK"
        if notebook == MIN_NOTEBOOK
        else "application/vnd.jupyter.widget-view+json"
    )
    _serve_and_interrupt(notebook, marker, trace)


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Inputs the viewer must refuse before serving: (path, what the message says)."""
    good = (CORPUS / "go1.26" / "tasks.trace").read_bytes()
    unreadable = tmp / "unreadable.trace"
    unreadable.mkdir()  # opening a directory as a file fails: not a dataset either
    cases = {
        "missing": (tmp / "missing.trace", "no such file or directory"),
        "empty": (tmp / "empty.trace", "empty input"),
        "not-a-trace": (tmp / "notes.txt", "not a Go execution trace"),
        "unsupported-version": (tmp / "v99.trace", "unsupported trace version go 1.99"),
        "damaged-gzip": (tmp / "bad.trace.gz", "damaged gzip stream"),
        "not-a-dataset": (unreadable, "not a gotrace_df Parquet dataset"),
    }
    cases["empty"][0].write_bytes(b"")
    cases["not-a-trace"][0].write_text("hello, world\n" * 100)
    cases["unsupported-version"][0].write_bytes(b"go 1.99 trace\x00\x00\x00" + good[16:])
    cases["damaged-gzip"][0].write_bytes(gzip.compress(good)[:10] + b"\xff" * 64)
    return cases


def test_viewer_refuses_bad_input_before_serving(tmp_path: Path) -> None:
    """A trace the viewer cannot open: one line on stderr, exit 1, no server."""
    port = _free_port()
    for name, (path, message) in _bad_inputs(tmp_path).items():
        # The real viewer's notebook: nothing of voila may start.
        started = time.monotonic()
        p = run(f"-http=127.0.0.1:{port}", str(path), check=False)
        err = p.stderr.decode()
        assert p.returncode == 1, (name, err)
        assert message in err and len(err.strip().splitlines()) == 1, (name, err)
        assert not p.stdout, (name, p.stdout)
        assert time.monotonic() - started < 20, name
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "something was served"


def test_pprof_from_parquet_dataset(tmp_path: Path) -> None:
    path = CORPUS / "go1.27" / "sync.trace"
    run("export", "--parquet", str(tmp_path / "ds"), str(path))
    ours = run("-pprof=sync", str(tmp_path / "ds")).stdout
    assert pprof_by_stack(ours, tmp_path) == pprof_by_stack(
        run("-pprof=sync", str(path)).stdout, tmp_path
    )


def test_python_m_is_the_command() -> None:
    """`python -m gotrace_df` runs the same command (the -d=wire dump, an error)."""
    path = str(CORPUS / "go1.26" / "tasks.trace")
    for args in (["-d=wire", path], ["-pprof=cpu", path], ["version"]):
        p = subprocess.run(
            [sys.executable, "-m", "gotrace_df", *args], capture_output=True, env=env(), timeout=120
        )
        want = run(*args, check=False)
        assert (p.returncode, p.stdout, p.stderr) == (want.returncode, want.stdout, want.stderr)


def test_browser_opens_only_with_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("BROWSER", raising=False)
    assert not serve.should_open_browser()  # a server, CI: no display
    monkeypatch.setenv("DISPLAY", ":0")
    assert serve.should_open_browser()
    monkeypatch.setenv("BROWSER", "none")
    assert not serve.should_open_browser()


def test_voila_command_is_loopback_only(tmp_path: Path) -> None:
    cmd = serve.voila_command(MIN_NOTEBOOK, "127.0.0.1", 8123)
    assert cmd[1:3] == ["-P", str(app.SERVER)]  # voila with our handlers, run as a file
    assert {"--Voila.ip=127.0.0.1", "--port=8123", "--Voila.port_retries=0", "--no-browser"} <= set(
        cmd
    )
    # The package's voila.json, not one that happens to be in the current directory.
    assert f"--Voila.config_file_paths={app.VOILA_CONFIG.parent}" in cmd
    assert serve.find_notebook(str(MIN_NOTEBOOK)) == MIN_NOTEBOOK
    assert serve.find_notebook() == VIEWER_NOTEBOOK.resolve()


def test_address_in_use() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = run(
            f"-notebook={MIN_NOTEBOOK}",
            f"-http=127.0.0.1:{port}",
            str(CORPUS / "go1.27" / "tasks.trace"),
            check=False,
        )
    assert p.returncode == 1
    assert b"failed to create server socket" in p.stderr and b"Address already in use" in p.stderr


def test_diff_usage() -> None:
    """`diff` takes its own Go-style flags and prints its own usage."""
    assert b"diff [-top=N]" in run("-h").stdout
    p = run("diff", "-h")
    assert p.stdout.startswith(b"Usage: gotrace-df diff") and b"-diff_base" in p.stdout
    p = run("diff", "-http=:6060", "a", "b", check=False)
    assert p.returncode == 2 and b"flag provided but not defined: -http" in p.stderr
    assert b"Usage: gotrace-df diff" in p.stderr
    p = run("diff", "-o=x.pb.gz", "a", "b", check=False)
    assert p.returncode == 2 and b"give -pprof=TYPE" in p.stderr
    f, rest = flags.parse_go_flags(["-top", "3", "-pprof=net", "a", "b"], flags.DIFF_FLAGS)
    assert f == {"top": "3", "pprof": "net"} and rest == ["a", "b"]
