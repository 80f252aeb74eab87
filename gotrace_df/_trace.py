"""The Trace container: every table of one parsed trace, plus what describes it."""

from __future__ import annotations

import html
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import pyarrow as pa

from gotrace_df.frames import SCHEMAS, TABLES, decode_ints
from gotrace_df.units import display_duration

__all__ = ["Trace"]

# Header format version -> Go releases that write it (the format changes only in
# some releases: 1.24 writes 1.23's, 1.27 writes 1.26's).
_GO_RELEASES: dict[int, tuple[str, ...]] = {
    22: ("1.22",),
    23: ("1.23", "1.24"),
    25: ("1.25",),
    26: ("1.26", "1.27"),
}

if TYPE_CHECKING:
    import pandas as pd


def _nullable_ints() -> dict[pa.DataType, Any]:
    """Integer columns holding nulls become pandas' nullable dtypes, not float64."""
    import pandas as pd

    return {
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(),
        pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(),
    }


class _TableProperty:
    """A read-only attribute returning one of the trace's tables."""

    def __init__(self, name: str) -> None:
        self.name = name
        columns = ", ".join(c.name for c in SCHEMAS.get(name, []))
        self.__doc__ = (
            f"The ``{name}`` table (pyarrow.Table): {columns}. "
            f"See ``gotrace_df.describe({name!r})``."
        )

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _TableProperty: ...
    @overload
    def __get__(self, obj: Trace, objtype: type | None = None) -> pa.Table: ...
    def __get__(self, obj: Trace | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return obj.table(self.name)


class Trace:
    """One parsed Go execution trace: Arrow tables and the trace's metadata.

    Made by :func:`gotrace_df.read_trace`. Each table is a ``pyarrow.Table``
    holding the core's buffers (no copy); :meth:`to_pandas` converts one on demand.
    Columns of every table are in :mod:`gotrace_df.frames`.

    Attributes
    ----------
    format_version : int
        Trace format version from the file header (22, 23, 25 or 26).
    start_ns, end_ns : int
        Time of the first and last event, ns (the values Go's parser reports).
    generations : int
        Number of complete generations read.
    frequency : int
        Timestamp ticks per second.
    source : str
        The path the trace was read from, or ``"<bytes>"``.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> tr.duration_ns > 0
    True
    >>> df = tr.to_pandas("goroutines")
    """

    events = _TableProperty("events")
    spans = _TableProperty("spans")
    goroutines = _TableProperty("goroutines")
    procs = _TableProperty("procs")
    tasks = _TableProperty("tasks")
    regions = _TableProperty("regions")
    logs = _TableProperty("logs")
    metrics = _TableProperty("metrics")
    gc = _TableProperty("gc")
    cpu_samples = _TableProperty("cpu_samples")
    stacks = _TableProperty("stacks")
    frames = _TableProperty("frames")
    syncs = _TableProperty("syncs")
    experimental = _TableProperty("experimental")
    experimental_batches = _TableProperty("experimental_batches")

    def __init__(
        self,
        tables: Mapping[str, pa.Table],
        *,
        format_version: int,
        start_ns: int,
        end_ns: int,
        generations: int,
        frequency: int,
        bytes_used: int,
        bytes_total: int,
        source: str = "<bytes>",
    ) -> None:
        self._tables = dict(tables)
        self.format_version = format_version
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.generations = generations
        self.frequency = frequency
        self.bytes_used = bytes_used
        self.bytes_total = bytes_total
        self.source = source

    # -- metadata -----------------------------------------------------------

    @property
    def version(self) -> str:
        """The header's version, e.g. ``"1.23"`` (also written by Go 1.24: see
        :attr:`go_versions`)."""
        return f"1.{self.format_version}"

    @property
    def go_versions(self) -> str:
        """The Go releases that write this format, e.g. ``"Go 1.23/1.24 (format 23)"``."""
        releases = _GO_RELEASES.get(self.format_version, (self.version,))
        return f"Go {'/'.join(releases)} (format {self.format_version})"

    @property
    def duration_ns(self) -> int:
        """``end_ns - start_ns``."""
        return self.end_ns - self.start_ns

    @property
    def table_names(self) -> tuple[str, ...]:
        """Names of the tables present, in the order of :data:`gotrace_df.frames.TABLES`."""
        known = [n for n in TABLES if n in self._tables]
        return (*known, *(n for n in self._tables if n not in TABLES))

    # -- tables -------------------------------------------------------------

    def table(self, name: str) -> pa.Table:
        """The table called ``name`` (see :data:`gotrace_df.frames.TABLES`).

        Raises
        ------
        KeyError
            If there is no such table.
        """
        try:
            table = self._tables[name]
        except KeyError:
            raise KeyError(
                f"no table {name!r}; tables are: {', '.join(self.table_names)}"
            ) from None
        # pyarrow.compute (and _expand) load on first use: read_trace needs neither.
        from gotrace_df import _expand

        if _expand.is_compact(name, table):
            # Gathered once, on first use: read_trace keeps only the references.
            table = self._tables[name] = _expand.expand(name, table, self._tables, self.end_ns)
        return table

    def columns(self, name: str, columns: Sequence[str], rows: Any = None) -> pa.Table:
        """Some columns of table ``name``, for all rows or only ``rows`` (row
        numbers), without gathering the columns the core stores by reference
        that are not asked for: the timeline needs a few columns of some spans
        long before anyone needs the whole table.

        Examples
        --------
        >>> import gotrace_df as gt
        >>> tr = gt.read_trace(gt.example_trace())
        >>> part = tr.columns("spans", ["goid", "end"], rows=[0, 2])
        >>> part.to_pylist() == tr.spans.select(["goid", "end"]).take([0, 2]).to_pylist()
        True
        """
        from gotrace_df import _expand

        stored = self._tables.get(name)
        if stored is not None and _expand.is_compact(name, stored):
            if name == "spans":
                return _expand.span_columns(stored, self._tables, self.end_ns, columns, rows)
            if not set(columns) <= set(stored.column_names):
                stored = self.table(name)
        elif stored is None:
            stored = self.table(name)  # raises the KeyError naming the tables
        part = stored.select(list(columns))
        return part if rows is None else part.take(pa.array(rows, pa.int64()))

    def event_values(self, name: str) -> tuple[Any, Any]:
        """The events' ``task_id`` or ``value`` as ``(rows, values)``: the events
        rows (ascending, int64 numpy) that have one and their values, read
        from the tables that own those events without building the column.

        Examples
        --------
        >>> import gotrace_df as gt
        >>> tr = gt.read_trace(gt.example_trace())
        >>> rows, tasks = tr.event_values("task_id")
        >>> tasks.tolist() == tr.events["task_id"].take(rows).to_pylist()
        True
        """
        from gotrace_df import _expand

        if name not in ("task_id", "value"):
            raise KeyError(f"no sparse events column {name!r}; they are task_id and value")
        return _expand.sparse(self._tables, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.table_names)

    def to_pandas(self, name: str) -> pd.DataFrame:
        """Table ``name`` as a pandas DataFrame.

        Dictionary-encoded strings become ``category`` columns; integer columns
        that hold nulls become pandas' nullable integer dtypes (``Int64`` ...)
        instead of float, so IDs and times stay exact; other integer columns
        stay numpy ``int64``/``int32``.

        Examples
        --------
        >>> import gotrace_df as gt
        >>> tr = gt.read_trace(gt.example_trace())
        >>> list(tr.to_pandas("events").columns[:2])
        ['ts', 'kind']
        """
        import pandas as pd

        nullable_ints = _nullable_ints()
        table = decode_ints(self.table(name))
        with_nulls = [
            f.name
            for f, col in zip(table.schema, table.columns, strict=True)
            if f.type in nullable_ints and col.null_count > 0
        ]
        if not with_nulls:
            df: pd.DataFrame = table.to_pandas()
            return df
        nullable = table.select(with_nulls).to_pandas(types_mapper=nullable_ints.get)
        rest = table.drop_columns(with_nulls).to_pandas()
        df = pd.concat([rest, nullable], axis=1)[table.column_names]
        return df

    def stack(self, stack_id: int) -> list[dict[str, Any]]:
        """Frames of stack ``stack_id``, innermost (leaf) first.

        Each frame is a dict with the ``frames`` table's columns: depth, pc,
        function, file, line. An unknown ID gives an empty list.
        """
        import pyarrow.compute as pc

        frames = self.table("frames")
        rows = frames.filter(pc.equal(frames["stack_id"], stack_id)).sort_by("depth")
        out: list[dict[str, Any]] = rows.drop_columns(["stack_id"]).to_pylist()
        return out

    # -- export -------------------------------------------------------------

    def to_parquet(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = True,
        compression: str = "zstd",
        redact: bool = False,
    ) -> Path:
        """Write every table and the trace's metadata to the directory ``path``.

        One Parquet file per table (``events.parquet`` ...) and a manifest
        ``trace.json``; :func:`gotrace_df.read_parquet` reads it back unchanged.
        The directory is written beside ``path`` and renamed into place when
        complete, so an interrupted write never leaves a dataset that reads as
        valid, and an existing dataset is replaced only by a complete one.
        ``redact=True`` replaces file paths, non-standard-library function
        names, task and region names and log text first (see
        :func:`gotrace_df.export.redact_trace`), for sharing the trace.
        See :func:`gotrace_df.export.parquet.write_parquet`.

        Examples
        --------
        >>> import tempfile, gotrace_df as gt
        >>> tr = gt.read_trace(gt.example_trace())
        >>> d = tr.to_parquet(tempfile.mkdtemp() + "/example")
        >>> sorted(p.name for p in d.iterdir())[:3]
        ['cpu_samples.parquet', 'events.parquet', 'experimental.parquet']
        """
        from gotrace_df.export.parquet import write_parquet

        return write_parquet(
            self, path, overwrite=overwrite, compression=compression, redact=redact
        )

    def to_perfetto(
        self, path: str | os.PathLike[str], *, overwrite: bool = True, redact: bool = False
    ) -> Path:
        """Write a Chrome trace-event JSON file for Perfetto and ``chrome://tracing``.

        Procs, threads and goroutines are tracks; goroutine states, GC, STW,
        tasks and regions are slices; unblocks and creations are flow arrows.
        Written atomically; ``redact=True`` as for :meth:`to_parquet`.
        See :func:`gotrace_df.export.perfetto.write_perfetto`.

        Examples
        --------
        >>> import json, tempfile, gotrace_df as gt
        >>> tr = gt.read_trace(gt.example_trace())
        >>> out = tr.to_perfetto(tempfile.mkdtemp() + "/example.json")
        >>> "traceEvents" in json.loads(out.read_text())
        True
        """
        from gotrace_df.export.perfetto import write_perfetto

        return write_perfetto(self, path, overwrite=overwrite, redact=redact)

    # -- display ------------------------------------------------------------

    def row_counts(self) -> dict[str, int]:
        """Rows of every table, by name, without gathering any table's columns
        (``spans`` is stored as references to its events until first used).

        Examples
        --------
        >>> import gotrace_df as gt
        >>> tr = gt.read_trace(gt.example_trace())
        >>> tr.row_counts()["events"] == tr.events.num_rows
        True
        """
        return {n: self._tables[n].num_rows for n in self.table_names}

    def __repr__(self) -> str:
        counts = self.row_counts()
        parts = [
            f"{counts.get(n, 0):,} {n}"
            for n in ("events", "goroutines", "tasks", "regions")
            if n in counts
        ]
        return (
            f"<Trace {self.source}: {self.go_versions}, "
            f"{display_duration(self.duration_ns)}, {self.generations} generations, "
            f"{', '.join(parts)}>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(n)}</code></td>"
            f"<td style='text-align:right'>{c:,}</td></tr>"
            for n, c in self.row_counts().items()
        )
        return (
            "<div class='gotrace-df-trace'>"
            f"<b>Trace</b> <code>{html.escape(self.source)}</code><br>"
            f"{html.escape(self.go_versions)} &middot; "
            f"duration {html.escape(display_duration(self.duration_ns))} &middot; "
            f"{self.generations} generations"
            "<table><thead><tr><th>table</th><th>rows</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )
