"""``gotrace-df``: ``go tool trace``'s command line, on gotrace_df.

::

    gotrace-df [flags] [pkg.test] trace.out     serve the viewer (voila) on loopback
    gotrace-df -pprof=TYPE [pkg.test] trace.out write a pprof profile to stdout
    gotrace-df -d=parsed|wire|footprint trace.out
    gotrace-df export [--redact] --parquet DIR | --perfetto OUT.json trace.out
    gotrace-df summary trace.out
    gotrace-df version

Flags take Go's forms (``-http=:6060``, ``-http :6060``) and the double-dash
ones (``--http=:6060``, ``--http :6060``); as with Go's ``flag`` package they
come before the file arguments. ``trace.out`` may also be an
``http(s)://.../debug/pprof/trace?seconds=N`` URL, a gzip-compressed trace, or a
directory written by ``gotrace-df export --parquet``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["main"]

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
    -notebook=path: serve this voila notebook instead of notebooks/viewer.ipynb

When providing only a port to -http (e.g., ':6060'), the viewer listens only on
localhost. To listen on all addresses, explicitly add the unspecified address
(e.g., '0.0.0.0:6060'); anyone who can reach the machine can then read the
trace, and {PROG} warns so.

Commands:
    {PROG} export [--redact] --parquet DIR [--perfetto OUT.json] trace.out
    {PROG} summary trace.out
    {PROG} version
"""

_FLAGS = ("http", "pprof", "d", "go", "notebook")
_PPROF_KINDS = ("net", "sync", "syscall", "sched")
_DEBUG_MODES = ("parsed", "wire", "footprint")
_COMMANDS = ("export", "summary", "version", "help")

#: Environment variable through which the viewer notebook gets the trace path.
TRACE_ENV = "GOTRACE_DF_TRACE"


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _die(msg: str, code: int = 1) -> NoReturn:
    print(msg, file=sys.stderr)
    raise _Exit(code)


def _usage_error(msg: str) -> NoReturn:
    print(f"{PROG}: {msg}", file=sys.stderr)
    sys.stderr.write(USAGE)
    raise _Exit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gotrace-df`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in _COMMANDS:
            return _command(args[0], args[1:])
        return _go_tool_trace(args)
    except _Exit as e:
        return e.code
    except BrokenPipeError:
        # `gotrace-df -d=parsed t.out | head`: stop quietly, as Go's tools do.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130


# -- go tool trace's flags -------------------------------------------------------


def parse_go_flags(args: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Go's ``flag`` parsing: ``-f=v``, ``-f v``, ``--f=v``, ``--f v``, up to the
    first non-flag argument (or ``--``). Returns (flags, remaining arguments)."""
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
            _usage_error(f"bad flag syntax: {a}")
        value: str | None = None
        if "=" in name:
            name, value = name.split("=", 1)
        if name in ("h", "help"):
            sys.stdout.write(USAGE)
            raise _Exit(0)
        if name not in _FLAGS:
            _usage_error(f"flag provided but not defined: -{name}")
        if value is None:
            i += 1
            if i >= len(args):
                _usage_error(f"flag needs an argument: -{name}")
            value = args[i]
        flags[name] = value
        i += 1
    return flags, list(args[i:])


def _go_tool_trace(args: list[str]) -> int:
    flags, rest = parse_go_flags(args)
    # Like Go: [pkg.test] trace.out; the binary is accepted and ignored.
    if len(rest) == 1:
        source = rest[0]
    elif len(rest) == 2:
        source = rest[1]
    else:
        _usage_error("expected [pkg.test] trace.out")
    go_version = flags.get("go") or None
    # As in Go, an empty value is the flag's default (off).
    if flags.get("pprof"):
        kind = flags["pprof"]
        if kind not in _PPROF_KINDS:
            _die(f"unknown pprof type {kind}\n")
        return _pprof(source, kind, go_version)
    if flags.get("d"):
        mode = flags["d"]
        if mode not in _DEBUG_MODES:
            _die(f"invalid debug mode {mode}, want one of: parsed, wire, footprint")
        return _debug(source, mode)
    return serve(
        source,
        http=flags.get("http", "localhost:0"),
        notebook=flags.get("notebook"),
    )


# -- reading ---------------------------------------------------------------------


def _read(source: str) -> Trace:
    """read_trace for the command: errors become messages, a damaged tail a
    warning on stderr."""
    import warnings

    from gotrace_df._errors import TraceError, TraceWarning
    from gotrace_df.io import read_trace

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TraceWarning)
        try:
            trace = read_trace(source)
        except FileNotFoundError as e:
            _die(f"failed to read trace file: {e}")
        except (TraceError, ValueError, OSError) as e:
            _die(str(e))
    for w in caught:
        print(f"{PROG}: {w.message}", file=sys.stderr)
    return trace


def _damaged(trace: Trace) -> bool:
    """The trace lost a damaged tail (read_trace warned)."""
    return trace.bytes_used < trace.bytes_total


def _raw_bytes(source: str) -> bytes:
    """The trace's bytes (decompressed, downloaded) for the wire-level dumps."""
    from gotrace_df.io import fetch_bytes

    if os.path.isdir(source):
        _die(f"{source}: -d=wire and -d=footprint need the trace file, not a Parquet dataset")
    try:
        return fetch_bytes(source)
    except FileNotFoundError as e:
        _die(f"failed to read trace file: {e}")
    except (ValueError, OSError) as e:
        _die(str(e))


def _stdout() -> IO[bytes]:
    return sys.stdout.buffer


# -- -pprof and -d ---------------------------------------------------------------


def _pprof(source: str, kind: str, go_version: str | None) -> int:
    try:
        from gotrace_df.pprof import to_pprof
        from gotrace_df.views import blocking_profile
    except ImportError as e:  # pragma: no cover - the views ship with the package
        _die(f"-pprof needs gotrace_df.views: {e}")
    trace = _read(source)
    try:
        prof = blocking_profile(trace, kind, go_version=go_version)
    except ValueError as e:  # e.g. an unknown -go version
        _die(f"failed to generate pprof: {e}")
    out = _stdout()
    out.write(to_pprof(prof))
    out.flush()
    return 0


def _debug(source: str, mode: str) -> int:
    from gotrace_df.export import godebug

    out = _stdout()
    if mode == "parsed":
        trace = _read(source)
        godebug.write_parsed(trace, out)
        out.flush()
        # Go prints the events before the damage, then fails.
        return 1 if _damaged(trace) else 0
    data = _raw_bytes(source)
    try:
        if mode == "wire":
            godebug.write_wire(data, out)
        else:
            godebug.write_footprint(data, out)
    except godebug.WireError as e:
        out.flush()
        _die(str(e))
    out.flush()
    return 0


# -- the viewer ------------------------------------------------------------------


def listen_addr(addr: str) -> tuple[str, int]:
    """(host, port) to bind for ``-http=addr``: a bare ``:port`` means localhost,
    as in current Go; ``localhost`` is bound as 127.0.0.1."""
    host, sep, port = addr.rpartition(":")
    if not sep:
        raise ValueError("missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host in ("", "localhost"):
        host = "127.0.0.1"
    try:
        p = int(port) if port else 0
    except ValueError:
        raise ValueError(f"invalid port {port!r}") from None
    if not 0 <= p <= 65535:
        raise ValueError(f"invalid port {p}")
    return host, p


def is_loopback(host: str) -> bool:
    """Whether a server bound to ``host`` is reachable from this machine only:
    every address ``host`` names is a loopback address (an unresolvable name
    counts as not loopback)."""
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    addrs = {str(info[4][0]).split("%")[0] for info in infos}
    return bool(addrs) and all(ipaddress.ip_address(a).is_loopback for a in addrs)


def exposure_warning(host: str, port: int) -> str | None:
    """The warning to print when the viewer is served beyond loopback (None on
    loopback): traces hold stacks, file paths and log messages."""
    if is_loopback(host):
        return None
    shown = f"[{host}]" if ":" in host else host
    return (
        f"{PROG}: warning: serving on {shown}:{port}: anyone who can reach this machine "
        "can read the traces (stacks, file paths, log messages); use "
        f"-http=localhost:{port} to serve this machine only"
    )


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _check_free(host: str, port: int) -> None:
    """Fail as Go does when the address is taken (voila would only say so in its log)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        # As tornado binds: a port in TIME_WAIT is free, a listening one is not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            _die(f"failed to create server socket: listen tcp {host}:{port}: {e.strerror}")


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host


def find_notebook(explicit: str | None = None) -> Path:
    """The viewer notebook: ``explicit``, ``$GOTRACE_DF_NOTEBOOK``, the one
    installed with the package, or the repository's notebooks/viewer.ipynb."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    elif os.environ.get("GOTRACE_DF_NOTEBOOK"):
        candidates.append(Path(os.environ["GOTRACE_DF_NOTEBOOK"]))
    else:
        pkg = Path(__file__).resolve().parent
        candidates += [
            pkg / "notebooks" / "viewer.ipynb",
            pkg.parent / "notebooks" / "viewer.ipynb",
        ]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    _die(f"viewer notebook not found (looked for {', '.join(map(str, candidates))})")


def _should_open_browser() -> bool:
    b = os.environ.get("BROWSER")
    if b is not None and b.strip().lower() in ("none", ""):
        return False
    platform: str = sys.platform  # a variable: the answer differs by machine
    if platform in ("darwin", "win32", "cygwin"):
        return True
    # X11/Wayland desktops: no display means a server or CI, nothing to open.
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@contextlib.contextmanager
def _local_trace(source: str) -> Iterator[str]:
    """A path the viewer's kernel can open: URLs are downloaded once, here."""
    from gotrace_df.io import is_url

    if not is_url(source):
        if not os.path.exists(source):
            _die(f"failed to read trace file: open {source}: no such file or directory")
        yield os.path.abspath(source)
        return
    from gotrace_df.io import fetch_bytes

    data = fetch_bytes(source, progress=True)
    with tempfile.TemporaryDirectory(prefix="gotrace-df-") as d:
        path = os.path.join(d, "trace.out")
        with open(path, "wb") as f:
            f.write(data)
        yield path


def voila_command(notebook: Path, host: str, port: int) -> list[str]:
    """The voila command line serving ``notebook`` on ``host:port`` only."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        f"--Voila.ip={host}",
        f"--port={port}",
        "--Voila.port_retries=0",
        "--no-browser",
    ]


def serve(
    source: str,
    *,
    http: str = "localhost:0",
    notebook: str | None = None,
    ready: Callable[[str], None] | None = None,
) -> int:
    """Serve the viewer notebook on ``source`` with voila until interrupted.

    Prints the URL, opens a browser (unless ``BROWSER=none`` or there is no
    display), and on Ctrl-C (SIGINT) or SIGTERM stops voila and its kernels.
    """
    try:
        host, port = listen_addr(http)
    except ValueError as e:
        _die(f"malformed -http value {http!r}: {e}")
    import importlib.util

    if importlib.util.find_spec("voila") is None:
        _die(
            "the viewer needs voila: pip install 'gotrace_df[ui]' "
            "(or use -pprof, -d, export or summary)"
        )
    nb = find_notebook(notebook)
    with _local_trace(source) as path:
        if port == 0:
            port = _free_port(host)
        else:
            _check_free(host, port)
        warning = exposure_warning(host, port)
        if warning:
            print(warning, file=sys.stderr, flush=True)
        query = urllib.parse.urlencode({"trace": path})
        url = f"http://{_url_host(host)}:{port}/?{query}"
        env = dict(os.environ, **{TRACE_ENV: path})
        cmd = voila_command(nb, host, port)
        # voila logs every request: to a file, never to a pipe nobody drains.
        log = tempfile.TemporaryFile(prefix="gotrace-df-voila-")
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            # Its own session: the terminal's Ctrl-C reaches us, and we stop it
            # (and, through it, its kernels) in order.
            start_new_session=True,
        )
        stop = _Stopper(proc)
        old = {s: signal.signal(s, stop.handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            if not _wait_listening(proc, host, port, timeout=120.0, stop=stop):
                if not stop.requested:
                    stop.stop()
                    _die(f"the viewer (voila) did not start: {_tail(log)}")
            else:
                print(f"Trace viewer is listening on {url}", flush=True)
                if ready is not None:
                    ready(url)
                if _should_open_browser():
                    import webbrowser

                    webbrowser.open(url)
            while proc.poll() is None and not stop.requested:
                time.sleep(0.2)
            if not stop.requested:
                _die(f"the viewer (voila) exited ({proc.returncode}): {_tail(log)}")
        finally:
            stop.stop()
            log.close()
            for sig, handler in old.items():
                signal.signal(sig, handler)
    print("Trace viewer stopped.", file=sys.stderr)
    return 0


class _Stopper:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.requested = False

    def handle(self, signum: int, frame: Any) -> None:
        self.requested = True

    def stop(self) -> None:
        """SIGTERM voila (it shuts its kernels down), then its whole session."""
        p = self.proc
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        # Whatever it left in its session (a kernel it could not stop).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)


def _wait_listening(
    proc: subprocess.Popen[bytes], host: str, port: int, timeout: float, stop: _Stopper
) -> bool:
    """Whether voila accepts connections within ``timeout`` (False if it exits
    or we are interrupted first)."""
    deadline = time.monotonic() + timeout
    connect_host = "127.0.0.1" if host == "0.0.0.0" else "::1" if host == "::" else host
    while time.monotonic() < deadline and not stop.requested:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((connect_host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _tail(log: IO[bytes], n: int = 2000) -> str:
    """The end of voila's log."""
    try:
        log.flush()
        log.seek(0, os.SEEK_END)
        size = log.tell()
        log.seek(max(0, size - n))
        return log.read().decode(errors="replace")
    except (OSError, ValueError):
        return ""


# -- commands Go lacks -------------------------------------------------------------


def _command(name: str, args: list[str]) -> int:
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
    trace = _read(ns.trace)
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
        _die(f"{PROG} export: {e}")
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
    trace = _read(ns.trace)
    sys.stdout.write(summary_text(trace))
    return 0


def _fmt(value: int, unit: str) -> str:
    if unit == "ns":
        from gotrace_df._trace import _fmt_duration

        return _fmt_duration(int(value))
    if unit == "bytes":
        v = float(value)
        for u in ("B", "KiB", "MiB", "GiB", "TiB"):
            if abs(v) < 1024 or u == "TiB":
                return f"{v:.0f} {u}" if u == "B" else f"{v:.1f} {u}"
            v /= 1024
    return f"{int(value):,}"


def summary_text(trace: Trace) -> str:
    """The ``gotrace-df summary`` text: the trace, then one line per figure of
    :func:`gotrace_df.views.summary` (or the table sizes without the views)."""
    lines = [repr(trace), ""]
    rows: list[tuple[str, str, int, str]]
    try:
        from gotrace_df.views import summary
    except ImportError:
        rows = _basic_summary(trace)
    else:
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


def _basic_summary(trace: Trace) -> list[tuple[str, str, int, str]]:
    rows: list[tuple[str, str, int, str]] = [
        ("trace", "duration", trace.duration_ns, "ns"),
        ("trace", "generations", trace.generations, "count"),
    ]
    rows += [("tables", name, trace.table(name).num_rows, "count") for name in trace.table_names]
    return rows


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
