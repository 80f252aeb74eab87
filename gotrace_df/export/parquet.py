"""A trace as a directory of Parquet files: one file per table, plus its metadata.

Layout of a dataset directory::

    trace.json          manifest, written last: the trace's metadata, each table's
                        file and row count
    events.parquet      one file per table (see gotrace_df.frames), with the
    spans.parquet       Arrow schema stored, so dictionary columns and integer
    ...                 widths come back exactly as they were

Each Parquet file also carries the trace metadata in its key/value metadata
(key ``gotrace_df.trace``), so a query engine reading the files alone (DuckDB's
``parquet_kv_metadata``) still knows where they came from.

The directory is written beside its destination and renamed into place once
every file is complete and on disk (:func:`gotrace_df.export._atomic.atomic_dir`):
a crash midway leaves no directory that reads as a dataset, and an existing
dataset is replaced only by a complete one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from gotrace_df.export._atomic import atomic_dir, fsync_path
from gotrace_df.export._meta import metadata, rebuild
from gotrace_df.export.redact import redact_trace
from gotrace_df.frames import SCHEMAS, encode_ints

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = ["read_parquet", "write_parquet", "MANIFEST", "FORMAT"]

#: Name of the manifest file inside a dataset directory.
MANIFEST = "trace.json"
#: ``format`` field of the manifest.
FORMAT = "gotrace_df.parquet"
#: Bumped when the layout changes incompatibly.
LAYOUT_VERSION = 1
#: Key of the trace metadata in each Parquet file's key/value metadata.
KV_KEY = b"gotrace_df.trace"


def write_parquet(
    trace: Trace,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = True,
    compression: str = "zstd",
    redact: bool = False,
) -> Path:
    """Write every table of ``trace`` and its metadata to the directory ``path``.

    Parameters
    ----------
    trace
        The trace to write.
    path
        Destination directory. It must not exist, or be a dataset written by this
        function (replaced only when the new one is complete, and only with
        ``overwrite``); any other existing path is refused.
    overwrite
        Replace an existing dataset at ``path`` (default True).
    compression
        Parquet compression codec (``"zstd"``, ``"snappy"``, ``"none"`` ...).
    redact
        Write :func:`~gotrace_df.export.redact.redact_trace` of ``trace``
        instead: function names outside Go's standard library, file paths, log
        values, task, region and label names and the source path replaced by
        placeholders, consistently across tables. ``trace`` is not modified.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> d = tr.to_parquet(tempfile.mkdtemp() + "/example")
    >>> gt.read_parquet(d).events.equals(tr.events)
    True
    """
    import pyarrow.parquet as pq

    dest = Path(path)
    if dest.exists() or dest.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{dest} exists (pass overwrite=True to replace it)")
        if not (dest / MANIFEST).is_file():
            # Never delete a directory (or a file) we did not write.
            raise FileExistsError(
                f"{dest} exists and is not a gotrace_df Parquet dataset (no {MANIFEST}): "
                "refusing to replace it"
            )
    if redact:
        trace = redact_trace(trace)
    meta = metadata(trace)
    kv = json.dumps(meta, sort_keys=True).encode()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "layout_version": LAYOUT_VERSION,
        "trace": meta,
        "redacted": redact,
        "tables": {},
    }
    with atomic_dir(dest, replace=overwrite) as tmp:
        for name in trace.table_names:
            table = trace.table(name)
            file = f"{name}.parquet"
            schema_meta = dict(table.schema.metadata or {})
            schema_meta[KV_KEY] = kv
            pq.write_table(
                table.replace_schema_metadata(schema_meta),
                tmp / file,
                compression=compression,
                store_schema=True,
            )
            fsync_path(tmp / file)
            manifest["tables"][name] = {"file": file, "rows": table.num_rows}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        fsync_path(tmp / MANIFEST)
    return dest


def read_parquet(path: str | os.PathLike[str]) -> Trace:
    """Read a dataset written by :meth:`Trace.to_parquet` back into a :class:`Trace`.

    Tables come back with the schemas (dictionary columns, integer widths) and
    data they were written with, memory-mapped.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is not a complete gotrace_df dataset (no manifest, a missing
        table file, or a row count that disagrees with the manifest).

    Examples
    --------
    >>> import tempfile, gotrace_df as gt
    >>> d = gt.read_trace(gt.example_trace()).to_parquet(tempfile.mkdtemp() + "/t")
    >>> gt.read_parquet(d).format_version
    26
    """
    import pyarrow.parquet as pq

    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such dataset directory")
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        raise ValueError(
            f"{root}: not a gotrace_df Parquet dataset (no {MANIFEST}; an interrupted "
            "write leaves none)"
        ) from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{root / MANIFEST}: damaged manifest: {e}") from None
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{root / MANIFEST}: not a gotrace_df Parquet manifest")
    if manifest.get("layout_version", 0) > LAYOUT_VERSION:
        raise ValueError(
            f"{root}: written by a newer gotrace_df (layout {manifest['layout_version']}); "
            "upgrade gotrace_df to read it"
        )
    tables: dict[str, pa.Table] = {}
    for name, entry in manifest["tables"].items():
        file = root / entry["file"]
        if not file.is_file():
            raise ValueError(f"{root}: table file {entry['file']} is missing")
        table = pq.read_table(file, memory_map=True)
        if table.num_rows != entry["rows"]:
            raise ValueError(f"{file}: {table.num_rows} rows, the manifest says {entry['rows']}")
        meta = dict(table.schema.metadata or {})
        meta.pop(KV_KEY, None)
        table = table.replace_schema_metadata(meta or None)
        tables[name] = _conform(name, table)
    return rebuild(tables, manifest["trace"])


def _conform(name: str, table: pa.Table) -> pa.Table:
    """Restore the core's encodings where Parquet lost them: it reads integer
    dictionaries back as plain integers (and a file written by another tool may
    have dropped any dictionary)."""
    cols = {c.name: c.type for c in SCHEMAS.get(name, [])}
    for i, f in enumerate(table.schema):
        want = cols.get(f.name)
        if want is None or not pa.types.is_dictionary(want) or pa.types.is_dictionary(f.type):
            continue
        if pa.types.is_integer(want.value_type):
            col = encode_ints(table.column(i), want.value_type)
        else:
            col = table.column(i).cast(want.value_type).dictionary_encode()
        table = table.set_column(i, pa.field(f.name, col.type), col)
    return table
