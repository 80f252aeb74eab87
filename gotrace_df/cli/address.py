"""The ``-http`` address: what to bind, whether it is loopback only, and the
port checks Go makes before serving."""

from __future__ import annotations

import ipaddress
import socket

from gotrace_df.cli.usage import PROG, die

__all__ = [
    "check_free",
    "connect_host",
    "exposure_warning",
    "free_port",
    "is_loopback",
    "listen_addr",
    "url_host",
]


def listen_addr(addr: str) -> tuple[str, int]:
    """(host, port) to bind for ``-http=addr``: a bare ``:port`` means localhost,
    as in current Go; ``localhost`` is bound as 127.0.0.1.

    >>> listen_addr(":6060"), listen_addr("[::1]:0")
    (('127.0.0.1', 6060), ('::1', 0))
    """
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
    loopback): what such a server allows. The URL's token keeps out who does
    not have it, but travels in the clear over HTTP; traces hold stacks, file
    paths and log messages; every page holds a kernel's memory."""
    if is_loopback(host):
        return None
    shown = f"[{host}]" if ":" in host else host
    return (
        f"{PROG}: warning: serving on {shown}:{port}: anyone who can reach this machine "
        "can read the traces (stacks, file paths, log messages) given the URL below, "
        "whose token travels unencrypted, and can deny service (every page holds a "
        f"kernel's memory, up to the page limit); use -http=localhost:{port} to serve "
        "this machine only"
    )


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(host: str) -> int:
    """A port nothing listens on at ``host`` now."""
    with socket.socket(_family(host)) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_free(host: str, port: int) -> None:
    """Fail as Go does when the address is taken (voila would only say so in its log)."""
    with socket.socket(_family(host)) as s:
        # As tornado binds: a port in TIME_WAIT is free, a listening one is not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            die(f"failed to create server socket: listen tcp {host}:{port}: {e.strerror}")


def url_host(host: str) -> str:
    """``host`` as it goes in a URL a browser on this machine opens."""
    if host in ("0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host


def connect_host(host: str) -> str:
    """The address to connect to a server bound to ``host`` from this machine."""
    return "127.0.0.1" if host == "0.0.0.0" else "::1" if host == "::" else host
