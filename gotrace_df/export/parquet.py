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

import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import pyarrow as pa

from gotrace_df.export._atomic import atomic_dir, fsync_path
from gotrace_df.export._meta import FIELDS, metadata, rebuild
from gotrace_df.export.redact import redact_trace
from gotrace_df.frames import SCHEMAS, TABLES, Column, encode_ints, key_type

if TYPE_CHECKING:
    import pyarrow.parquet as pq

    from gotrace_df._trace import Trace

__all__ = [
    "read_parquet",
    "write_parquet",
    "write_table_file",
    "write_manifest",
    "check_destination",
    "MANIFEST",
    "FORMAT",
    "KV_KEY",
]

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

    dest = Path(path)
    check_destination(dest, overwrite)
    if redact:
        trace = redact_trace(trace)
    meta = metadata(trace)
    kv = json.dumps(meta, sort_keys=True).encode()
    rows: dict[str, int] = {}
    with atomic_dir(dest, replace=overwrite) as tmp:
        for name in trace.table_names:
            table = trace.table(name)
            write_table_file(table, tmp / f"{name}.parquet", kv, compression)
            rows[name] = table.num_rows
        write_manifest(tmp, meta, rows, redacted=redact)
    return dest


def write_table_file(table: pa.Table, file: Path, kv: bytes, compression: str) -> None:
    """One table's file of a dataset: its Arrow schema stored, the trace
    metadata ``kv`` under :data:`KV_KEY`, and on disk before it returns."""
    import pyarrow.parquet as pq

    schema_meta = dict(table.schema.metadata or {})
    schema_meta[KV_KEY] = kv
    pq.write_table(
        table.replace_schema_metadata(schema_meta),
        file,
        compression=compression,
        store_schema=True,
    )
    fsync_path(file)


def write_manifest(
    root: Path, meta: dict[str, Any], rows: dict[str, int], *, redacted: bool
) -> None:
    """The dataset's manifest, written last: the trace metadata ``meta`` and
    each table's file and row count ``rows``."""
    manifest = {
        "format": FORMAT,
        "layout_version": LAYOUT_VERSION,
        "trace": meta,
        "redacted": redacted,
        "tables": {n: {"file": f"{n}.parquet", "rows": r} for n, r in rows.items()},
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    fsync_path(root / MANIFEST)


def check_destination(dest: Path, overwrite: bool) -> None:
    """Refuses ``dest`` unless it does not exist or is a dataset to replace."""
    if dest.exists() or dest.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{dest} exists (pass overwrite=True to replace it)")
        if not (dest / MANIFEST).is_file():
            # Never delete a directory (or a file) we did not write.
            raise FileExistsError(
                f"{dest} exists and is not a gotrace_df Parquet dataset (no {MANIFEST}): "
                "refusing to replace it"
            )


def read_parquet(path: str | os.PathLike[str]) -> Trace:
    """Reopen a dataset written by :meth:`Trace.to_parquet` as a :class:`Trace`.

    Tables come back with the schemas (dictionary columns, integer widths) and
    data they were written with. Opening reads the manifest and each file's
    footer only; a table's data is read when the table is first asked for
    (then held), so reopening costs the tables used, not the dataset.

    A dataset is checked when it is opened: the manifest's shape, that it
    lists exactly the tables of :data:`gotrace_df.frames.TABLES`, and that
    every file lies inside ``path`` (symlinks resolved); and each file's
    footer, that it has its table's columns with the types
    :data:`gotrace_df.frames.SCHEMAS` gives them (a dictionary column may
    have narrower keys, or be stored plain) and the manifest's row count.
    Files in ``path`` that the manifest does not list are not read. When a
    table is first read, its file is checked again in the same way, and its
    data pages are decoded: a damaged page, or a file changed since the
    dataset was opened, raises the same ValueError then.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is not a complete gotrace_df dataset, or one that was tampered
        with: no manifest or a damaged one, a missing or unknown table, a file
        outside ``path``, a file that is not Parquet or has the wrong columns,
        or a row count that disagrees with the manifest (at open); a damaged
        data page (when its table is first read). The message names the file
        and what is wrong.

    Examples
    --------
    >>> import tempfile, gotrace_df as gt
    >>> d = gt.read_trace(gt.example_trace()).to_parquet(tempfile.mkdtemp() + "/t")
    >>> gt.read_parquet(d).format_version
    26
    """
    from gotrace_df._trace import Deferred

    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such dataset directory")
    manifest = _read_manifest(root)
    tables: dict[str, Deferred] = {}
    for name in TABLES:
        file, rows = manifest["tables"][name]["file"], manifest["tables"][name]["rows"]
        _footer(name, _inside(root, file), rows).close()
        tables[name] = Deferred(rows, functools.partial(_read_table, root, name, file, rows))
    return rebuild(tables, manifest["trace"])


def _footer(name: str, path: Path, rows: int) -> pq.ParquetFile:
    """The Parquet file ``path``, open, its footer checked to hold table
    ``name`` with ``rows`` rows."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise ValueError(f"{path}: not a readable Parquet file: {e}") from None
    try:
        _check_columns(name, path, pf.schema_arrow)
        if pf.metadata.num_rows != rows:
            raise ValueError(f"{path}: {pf.metadata.num_rows} rows, the manifest says {rows}")
    except BaseException:
        pf.close()
        raise
    return pf


def _read_table(root: Path, name: str, file: str, rows: int) -> pa.Table:
    """Table ``name`` of the dataset ``root``, read from ``file``, which is
    checked again: it may have changed since the dataset was opened."""
    path = _inside(root, file)
    fields, columns = [], []
    with _footer(name, path, rows) as pf:
        schema = pf.schema_arrow
        for want, field in zip(SCHEMAS[name], schema):
            # A column at a time, each conformed before the next is read: the
            # plain integers Parquet gives back for a dictionary column are
            # freed at once (the 23 M events: 1.6 GB at most, not 2.7 GB).
            try:
                column = pf.read(columns=[field.name]).column(0)
            except (pa.ArrowException, OSError) as e:
                raise ValueError(f"{path}: not a readable Parquet file: {e}") from None
            column = _conform(name, want, column)
            fields.append(field.with_type(column.type))
            columns.append(column)
    meta = dict(schema.metadata or {})
    meta.pop(KV_KEY, None)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=meta or None))


def _read_manifest(root: Path) -> dict[str, Any]:
    """The dataset's manifest, checked to have the shape :func:`write_parquet` gives it."""
    file = root / MANIFEST
    if not file.exists():
        raise ValueError(
            f"{root}: not a gotrace_df Parquet dataset (no {MANIFEST}; an interrupted "
            "write leaves none)"
        )
    try:
        manifest = json.loads(_inside(root, MANIFEST).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{file}: damaged manifest: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{file}: not a gotrace_df Parquet manifest")
    layout = manifest.get("layout_version")
    if not _is_int(layout):
        raise ValueError(f"{file}: damaged manifest: layout_version is {layout!r}")
    if layout > LAYOUT_VERSION:
        raise ValueError(
            f"{root}: written by a newer gotrace_df (layout {layout}); "
            "upgrade gotrace_df to read it"
        )
    trace = manifest.get("trace")
    if not isinstance(trace, dict):
        raise ValueError(f"{file}: damaged manifest: no trace metadata")
    for field in FIELDS:
        value = trace.get(field)
        if not (isinstance(value, str) if field == "source" else _is_int(value)):
            raise ValueError(f"{file}: damaged manifest: trace {field} is {value!r}")
    tables = manifest.get("tables")
    if not isinstance(tables, dict):
        raise ValueError(f"{file}: damaged manifest: no table list")
    missing = [n for n in TABLES if n not in tables]
    if missing:
        raise ValueError(f"{file}: tables missing from the dataset: {', '.join(missing)}")
    unknown = [n for n in tables if n not in SCHEMAS]
    if unknown:
        raise ValueError(f"{file}: unknown tables in the dataset: {', '.join(map(str, unknown))}")
    for name, entry in tables.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("file"), str)
            or not _is_int(entry.get("rows"))
        ):
            raise ValueError(f"{file}: damaged manifest: table {name} is {entry!r}")
    return manifest


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _inside(root: Path, name: str) -> Path:
    """The file ``name`` of the dataset ``root``, refused unless it lies inside
    ``root`` once every symlink is resolved: a manifest names its files, and a
    tampered one must not make us read (or memory-map) any other."""
    real = (root / name).resolve()
    if not real.is_relative_to(root.resolve()):
        raise ValueError(f"{root}: {name} lies outside the dataset directory (it is {real})")
    if not real.is_file():
        raise ValueError(f"{root}: table file {name} is missing")
    return real


def _check_columns(name: str, file: Path, got: pa.Schema) -> None:
    """Refuses a table file whose columns are not those SCHEMAS gives ``name``."""
    want = SCHEMAS[name]
    if got.names != [c.name for c in want]:
        raise ValueError(
            f"{file}: the columns of table {name} are {', '.join(c.name for c in want)}; "
            f"the file has {', '.join(got.names)}"
        )
    for column, field in zip(want, got):
        if not _stores(column.type, field.type):
            raise ValueError(
                f"{file}: column {name}.{column.name} is {field.type}, not {column.type}"
            )


def _stores(want: pa.DataType, got: pa.DataType) -> bool:
    """Whether a column of type ``got`` holds a column of type ``want``: the
    same type, or for a dictionary column its values plain (Parquet drops
    integer dictionaries) or as a dictionary with keys no wider."""
    if got == want:
        return True
    if not pa.types.is_dictionary(want):
        return False
    if got == want.value_type:
        return True
    return bool(
        pa.types.is_dictionary(got)
        and got.value_type == want.value_type
        and pa.types.is_signed_integer(got.index_type)
        and got.index_type.bit_width <= want.index_type.bit_width
    )


def _conform(name: str, want: Column, col: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Column ``want`` of table ``name`` with the core's encoding where Parquet
    lost it: it reads integer dictionaries back as plain integers (and a file
    written by another tool may have dropped any dictionary); a streamed
    events table's growing string dictionaries become the whole column's."""
    if name == "events" and want.name in GROWING and pa.types.is_dictionary(col.type):
        return _grown(col)
    if not pa.types.is_dictionary(want.type) or pa.types.is_dictionary(col.type):
        return col
    if pa.types.is_integer(want.type.value_type):
        return encode_ints(col, want.type.value_type)
    return col.cast(want.type.value_type).dictionary_encode()


#: The events' string columns that the core encodes as a dictionary of the
#: values in first-seen order (keys as narrow as their number allows); a
#: streamed write (gotrace_df.export.convert) stores each row group with the
#: dictionary as it stood at the row group's end.
GROWING = ("reason", "name")


def _grown(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """``col`` with every chunk on the last chunk's dictionary, keys as the
    core makes them, when each chunk's dictionary is a prefix of it (the
    codes then stay valid); anything else is returned as it is."""
    if col.num_chunks == 0:
        return col
    last = col.chunk(col.num_chunks - 1).dictionary
    keys = key_type(len(last))
    if col.type.index_type == keys and all(c.dictionary.equals(last) for c in col.chunks):
        return col
    chunks = []
    for c in col.chunks:
        d = c.dictionary
        if len(d) > len(last) or not last.slice(0, len(d)).equals(d):
            return col
        chunks.append(pa.DictionaryArray.from_arrays(c.indices.cast(keys), last))
    return pa.chunked_array(chunks, pa.dictionary(keys, last.type))
