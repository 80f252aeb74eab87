"""Trace sources: globs, paths and fsspec URLs expanded into one task per trace,
and each trace's content-based id."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

from gotrace_df.lake.extras import require

__all__ = ["Source", "expand", "content_id", "read_source"]

#: The characters that make a path a glob (fsspec's glob syntax).
_GLOB = "*?["

SourceSpec = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


@dataclass(frozen=True)
class Source:
    """One trace to convert: its URL or path, its size in bytes, and its bytes
    when they live only in this process (``memory://``), where a worker
    process could not open the URL."""

    url: str
    size: int
    data: bytes | None = None


def expand(sources: SourceSpec) -> list[Source]:
    """The traces ``sources`` names, in order, each once.

    A string or path may be a glob; so may each item of a list. URLs go
    through fsspec (``file://``, ``memory://``, ``s3://`` with s3fs ...).

    Raises
    ------
    FileNotFoundError
        A path or URL without glob characters does not exist, or a glob
        matches nothing.
    """
    fsspec = require("fsspec")
    memory = require("fsspec.implementations.memory").MemoryFileSystem
    specs = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    out: dict[str, Source] = {}
    for item in specs:
        spec = os.fspath(item)
        fs, path = fsspec.core.url_to_fs(spec)
        if any(c in path for c in _GLOB):
            paths = sorted(p for p in fs.glob(path) if fs.isfile(p))
            if not paths:
                raise FileNotFoundError(f"{spec}: no file matches")
        else:
            if not fs.isfile(path):
                raise FileNotFoundError(f"{spec}: no such trace file")
            paths = [path]
        local = "file" in _protocols(fs)
        for p in paths:
            url = p if local else fs.unstrip_protocol(p)
            if url in out:
                continue
            data = fs.cat_file(p) if isinstance(fs, memory) else None
            out[url] = Source(url, int(fs.size(p)), data)
    return list(out.values())


def _protocols(fs: object) -> tuple[str, ...]:
    protocol = getattr(fs, "protocol", ())
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def read_source(source: Source) -> bytes:
    """The bytes of ``source`` as stored (a gzip trace stays compressed)."""
    if source.data is not None:
        return source.data
    fsspec = require("fsspec")
    with fsspec.open(source.url, "rb") as f:
        data: bytes = f.read()
    return data


def content_id(data: bytes) -> str:
    """A trace's id: the first 128 bits of the SHA-256 of its bytes as stored,
    in hex. The same bytes get the same id on every machine and every run, so a
    trace converted once is recognised again wherever it comes from."""
    return hashlib.sha256(data).hexdigest()[:32]
