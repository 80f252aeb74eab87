"""The Trace container: every table of one parsed trace, plus what describes it."""

from __future__ import annotations

import html
import os
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import pyarrow as pa

from gotrace_df.frames import SCHEMAS, TABLES, decode_ints, time_columns
from gotrace_df.units import display_duration

__all__ = ["Trace", "Deferred"]

# Header format version -> Go releases that write it (the format changes only in
# some releases: 1.24 writes 1.23's, 1.27 writes 1.26's). 11, 19 and 21 are the
# old format, read through Go's conversion to the new one.
_GO_RELEASES: dict[int, tuple[str, ...]] = {
    11: ("1.11-1.18",),
    19: ("1.19", "1.20"),
    21: ("1.21",),
    22: ("1.22",),
    23: ("1.23", "1.24"),
    25: ("1.25",),
    26: ("1.26", "1.27"),
}

# Header version of the first generational format (Go 1.22).
_FIRST_NEW_FORMAT = 22

if TYPE_CHECKING:
    import datetime

    import numpy as np
    import pandas as pd

    #: A wall-clock time: an aware datetime, a pandas Timestamp or Unix ns.
    WallClock = datetime.datetime | pd.Timestamp | np.datetime64 | int


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


def _anchor(anchor: Any) -> tuple[int, int]:
    """``(trace_ns, Unix ns)`` of a ``wall_time`` anchor."""
    import datetime

    import numpy as np
    import pandas as pd

    try:
        trace_ns, when = anchor
    except (TypeError, ValueError):
        raise ValueError(f"anchor must be (trace_ns, wall time), got {anchor!r}") from None
    if isinstance(when, datetime.datetime) and when.tzinfo is None:
        raise ValueError(
            f"anchor time {when!r} has no time zone: give an aware datetime "
            "(e.g. datetime.timezone.utc) or Unix ns"
        )
    if isinstance(when, (int, np.integer)) and not isinstance(when, bool):
        unix = int(when)
    elif isinstance(when, (datetime.datetime, np.datetime64)):
        stamp = pd.Timestamp(when)
        unix = (stamp.tz_localize("UTC") if stamp.tz is None else stamp).value
    else:
        raise ValueError(f"anchor time must be a datetime or Unix ns, got {when!r}")
    if not isinstance(trace_ns, (int, np.integer)) or isinstance(trace_ns, bool):
        raise ValueError(f"anchor trace time must be ns (int), got {trace_ns!r}")
    return int(trace_ns), unix


class Deferred:
    """A table read when it is first asked for, whose row count is known
    before: how a trace reopened from its Parquet dataset
    (:func:`gotrace_df.read_parquet`) holds its tables, so that reopening
    costs the tables used, not the dataset. ``read`` is called once, under
    ``lock`` (the viewer asks from several threads)."""

    __slots__ = ("num_rows", "read", "lock")

    def __init__(self, num_rows: int, read: Callable[[], pa.Table]) -> None:
        self.num_rows = num_rows
        self.read = read
        self.lock = threading.Lock()


class _Tables(MutableMapping[str, pa.Table]):
    """A trace's tables by name: a :class:`Deferred` one is read on first
    access and held."""

    def __init__(self, tables: Mapping[str, pa.Table | Deferred]) -> None:
        self._held: dict[str, pa.Table | Deferred] = dict(tables)

    def __getitem__(self, name: str) -> pa.Table:
        table = self._held[name]
        if isinstance(table, Deferred):
            with table.lock:
                held = self._held[name]
                if held is table:
                    held = self._held[name] = table.read()
            return held
        return table

    def __setitem__(self, name: str, table: pa.Table) -> None:
        self._held[name] = table

    def __delitem__(self, name: str) -> None:
        del self._held[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, name: object) -> bool:
        # Mapping's would read the table.
        return name in self._held

    def rows(self, name: str) -> int:
        """Rows of table ``name``, without reading it."""
        return self._held[name].num_rows

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickled trace carries its tables, not the files they would be read from.
        return (_Tables, (dict(self),))


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
    Columns of every table are in :mod:`gotrace_df.frames`. A trace reopened
    from its Parquet dataset reads each table when it is first asked for.

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
        tables: Mapping[str, pa.Table | Deferred],
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
        self._tables = _Tables(tables)
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
        """The Go releases that write this format, e.g. ``"Go 1.23/1.24 (format 23)"``;
        ``"Go 1.19/1.20 (format 19, converted)"`` for the old format."""
        releases = _GO_RELEASES.get(self.format_version, (self.version,))
        converted = ", converted" if self.converted else ""
        return f"Go {'/'.join(releases)} (format {self.format_version}{converted})"

    @property
    def converted(self) -> bool:
        """The trace is of the old format (Go 1.11-1.21), converted to the new
        one's events as Go's own reader converts it."""
        return self.format_version < _FIRST_NEW_FORMAT

    @property
    def format_notes(self) -> tuple[str, ...]:
        """What this trace's format cannot say, one sentence each (empty for the
        new format): shown by :func:`gotrace_df.summary` and ``gotrace-df summary``."""
        if not self.converted:
            return ()
        notes = [
            "old format (Go 1.11-1.21): no generations, the whole trace is one; "
            "a damaged trace cannot be read in part",
            "metrics are only what Go's conversion makes of old events: GOMAXPROCS "
            "changes after the first, heap goal and heap objects",
            "goroutines in a syscall at the start have no thread",
        ]
        if self.format_version < 19:
            notes.append("no CPU samples: the old format has them from Go 1.19")
        return tuple(notes)

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

    def stored_tables(self) -> dict[str, pa.Table]:
        """Every table as the trace holds it now: the core's stored form for the
        tables not used yet (spans and regions as references to their events,
        the events table without ``task_id`` and ``value``; see
        ``HACKING.md``), which ``Trace(tables, ...)`` takes back and gathers
        on first use as :func:`gotrace_df.read_trace`'s trace does (a reopened
        dataset's tables not read yet are read). Writing these is a fraction
        of writing the public tables.

        Examples
        --------
        >>> import gotrace_df as gt
        >>> tr = gt.read_trace(gt.example_trace())
        >>> stored = tr.stored_tables()
        >>> stored["spans"].num_rows == tr.spans.num_rows
        True
        >>> stored["spans"].column_names == tr.spans.column_names
        False
        """
        return dict(self._tables)

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

    def to_pandas(
        self,
        name: str,
        *,
        wall_time: bool = False,
        anchor: tuple[int, WallClock] | None = None,
    ) -> pd.DataFrame:
        """Table ``name`` as a pandas DataFrame.

        Dictionary-encoded strings become ``category`` columns; integer columns
        that hold nulls become pandas' nullable integer dtypes (``Int64`` ...)
        instead of float, so IDs and times stay exact; other integer columns
        stay numpy ``int64``/``int32``.

        ``wall_time=True`` adds after each time column ``c`` of the trace
        clock (:func:`gotrace_df.frames.time_columns`: not durations) a column
        ``c_wall``: that time as ``datetime64[ns, UTC]`` (:meth:`wall_time`,
        with ``anchor``; NaT where the time is null).

        Examples
        --------
        >>> import gotrace_df as gt
        >>> tr = gt.read_trace(gt.example_trace())
        >>> list(tr.to_pandas("events").columns[:2])
        ['ts', 'kind']
        >>> list(tr.to_pandas("tasks", wall_time=True).columns[3:7])
        ['start', 'start_wall', 'end', 'end_wall']
        """
        df = self._pandas(name)
        if wall_time:
            for c in time_columns(name) if name in SCHEMAS else []:
                where = list(df.columns).index(c) + 1
                df.insert(where, f"{c}_wall", self.wall_time(df[c], anchor=anchor))
        elif anchor is not None:
            raise ValueError("anchor= is only used with wall_time=True")
        return df

    def _pandas(self, name: str) -> pd.DataFrame:
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

    def wall_time(self, ns: Any, *, anchor: tuple[int, WallClock] | None = None) -> Any:
        """Trace times (ns, as the events' ``ts``) as wall-clock times in UTC.

        Go 1.25+ writes a clock snapshot in each Sync (the ``syncs`` table's
        ``clock_trace``, ``clock_wall``): a time ``ns`` takes the snapshot of
        the latest Sync at or before it (the first Sync's for a time before
        it), and is ``clock_wall + (ns - clock_trace)``, the arithmetic Go's
        ``ClockSnapshot`` implies. Successive snapshots re-anchor the trace
        clock to the wall clock, so drift between them does not accumulate.

        Parameters
        ----------
        ns
            One time (int) or many (list, numpy array, pandas Series; nulls
            give NaT).
        anchor
            ``(trace_ns, when)``: the wall-clock time of trace time
            ``trace_ns``, used for every time instead of the snapshots (and
            the only way for traces of Go < 1.25, which have none). ``when``
            is a timezone-aware ``datetime``, a ``pandas.Timestamp`` (naive
            ones are refused: their zone is unknown), a ``numpy.datetime64``
            (read as UTC) or Unix ns (int).

        Returns
        -------
        pandas.Timestamp or pandas.DatetimeIndex or pandas.Series
            UTC (``datetime64[ns, UTC]``): a Timestamp for one time, a Series
            (same index) for a Series, else a DatetimeIndex. These join with
            logs parsed by ``pd.to_datetime(..., utc=True)``
            (``pd.merge_asof``); ``.value`` / ``.asi8`` give the Unix ns of
            OpenTelemetry's ``time_unix_nano``.

        Raises
        ------
        ValueError
            If the trace has no clock snapshots (Go < 1.25) and no ``anchor``
            is given, or ``anchor`` is not a time.

        Examples
        --------
        >>> import gotrace_df as gt
        >>> tr = gt.read_trace(gt.example_trace())
        >>> t = tr.wall_time(tr.start_ns)
        >>> str(t.tz)
        'UTC'
        >>> int((tr.wall_time(tr.end_ns) - t).value) <= tr.duration_ns + 1_000_000
        True
        """
        import numpy as np
        import pandas as pd

        at, trace_clock, wall_clock = self._clock_snapshots(anchor)
        scalar = np.ndim(ns) == 0
        series = ns if isinstance(ns, pd.Series) else None
        values = pd.array(np.atleast_1d(ns) if scalar else ns)
        missing = np.asarray(pd.isna(values), dtype=bool)
        t = values.to_numpy(dtype=np.int64, na_value=0)
        snap = np.maximum(np.searchsorted(at, t, side="right") - 1, 0)
        wall = wall_clock[snap] + (t - trace_clock[snap])
        wall[missing] = np.iinfo(np.int64).min  # NaT
        out = pd.DatetimeIndex(wall.view("datetime64[ns]")).tz_localize("UTC")
        if scalar:
            return out[0]
        if series is not None:
            return pd.Series(out, index=series.index, name=series.name)
        return out

    def _clock_snapshots(self, anchor: tuple[int, WallClock] | None) -> tuple[Any, Any, Any]:
        """(Sync times, snapshot trace times, snapshot wall times as Unix ns)
        of the trace's clock snapshots, or the one ``anchor`` gives."""
        import numpy as np

        if anchor is not None:
            trace_ns, when = _anchor(anchor)
            return (np.array([trace_ns]),) * 2 + (np.array([when]),)
        syncs = self.table("syncs").select(["event", "clock_trace", "clock_wall"])
        syncs = syncs.filter(syncs["clock_trace"].is_valid())
        if syncs.num_rows == 0:
            raise ValueError(
                f"{self.source} has no clock snapshots ({self.go_versions}: Go writes them "
                "in its Syncs from Go 1.25 on); give wall_time anchor=(trace_ns, datetime)"
            )
        ts = self.columns("events", ["ts"], rows=syncs["event"].to_numpy())["ts"]
        return (
            ts.to_numpy(),
            syncs["clock_trace"].to_numpy(),
            syncs["clock_wall"].to_numpy(),
        )

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
        (``spans`` is stored as references to its events until first used) or
        reading any table of a reopened dataset.

        Examples
        --------
        >>> import gotrace_df as gt
        >>> tr = gt.read_trace(gt.example_trace())
        >>> tr.row_counts()["events"] == tr.events.num_rows
        True
        """
        return {n: self._tables.rows(n) for n in self.table_names}

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
