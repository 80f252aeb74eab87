"""An open lake: its tables as DuckDB views and pyarrow datasets, its manifest,
and each of its traces as a :class:`~gotrace_df.Trace`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from gotrace_df.frames import TABLES
from gotrace_df.lake import fleet, manifest
from gotrace_df.lake.extras import require
from gotrace_df.lake.layout import MANIFEST, PARTITION_KEY, check_trace_id, partition, table_file
from gotrace_df.lake.rows import FLEET_SCHEMAS

if TYPE_CHECKING:
    import pandas as pd

    from gotrace_df._trace import Trace
    from gotrace_df.views.diff import Side

__all__ = ["Lake", "open_lake"]


def open_lake(path: str | os.PathLike[str]) -> Lake:
    """Open the lake directory ``path`` written by :func:`gotrace_df.lake.convert`.

    Raises
    ------
    FileNotFoundError
        ``path`` has no lake manifest.
    ValueError
        Its manifest is not a lake's.
    """
    return Lake(path)


class Lake:
    """The traces of one lake directory, queried in place.

    Each table of :data:`gotrace_df.frames.TABLES` is a DuckDB view over the
    partitions of the traces the manifest lists (status ``ok`` or
    ``damaged-tail``), with a ``trace_id`` column; ``traces`` is a view of the
    manifest. Nothing is read until a query needs it. The lake is the one the
    manifest described when it was opened: open it again to see a later
    conversion.

    The fleet views (:meth:`goroutine_analysis`, :meth:`blocking_profile`,
    :meth:`user_tasks`, :meth:`user_regions`, :meth:`summary`) run in DuckDB
    over the fleet tables conversion stores per trace
    (:mod:`gotrace_df.lake.rows`, also views of this connection); see
    :mod:`gotrace_df.lake.fleet` for what ``by`` means.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        duckdb = require("duckdb")
        self.path = Path(path).absolute()
        if not (self.path / MANIFEST).is_file():
            raise FileNotFoundError(f"{self.path}: not a gotrace_df lake (no {MANIFEST})")
        self._manifest = manifest.read_manifest(self.path)
        status = self._manifest.column("status").to_pylist()
        ids = self._manifest.column("trace_id").to_pylist()
        self._readable = [t for t, s in zip(ids, status) if s != manifest.ERROR]
        self._con = duckdb.connect()
        self._con.execute(
            f"CREATE VIEW traces AS SELECT * FROM read_parquet({_quote(self.path / MANIFEST)})"
        )
        for name in self.table_names:
            self._view(name)
        # The first fleet file missing: a lake converted before they existed.
        self._missing = next(
            (
                f
                for t in self._readable
                for n in FLEET_SCHEMAS
                if not (f := self._file(t, n)).exists()
            ),
            None,
        )
        if self._missing is None:
            for name, schema in FLEET_SCHEMAS.items():
                if self._readable:
                    self._view(name)
                else:  # empty views of the right columns
                    empty = schema.append(pa.field(PARTITION_KEY, pa.string())).empty_table()
                    self._con.register(name, empty)

    def _view(self, name: str) -> None:
        """Table ``name`` of the readable traces as a DuckDB view."""
        files = ", ".join(_quote(self._file(t, name)) for t in self._readable)
        self._con.execute(
            f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet([{files}], '
            f"hive_partitioning = true, hive_types = {{'{PARTITION_KEY}': VARCHAR}})"
        )

    @property
    def table_names(self) -> tuple[str, ...]:
        """The tables the lake holds: every table of :data:`gotrace_df.frames.TABLES`,
        or none while it has no readable trace."""
        return TABLES if self._readable else ()

    @property
    def traces(self) -> pd.DataFrame:
        """The manifest: one row per trace (see :mod:`gotrace_df.lake.manifest`)."""
        df: pd.DataFrame = self._manifest.to_pandas()
        return df

    def sql(self, query: str) -> Any:
        """Run ``query`` on the lake's DuckDB connection; a DuckDB relation
        (``.df()``, ``.arrow()``, ``.fetchall()`` ...)."""
        return self._con.sql(query)

    def table(self, name: str, *, as_: Literal["duckdb", "arrow"] = "duckdb") -> Any:
        """Table ``name`` of every trace, with its ``trace_id``: a DuckDB relation,
        or with ``as_="arrow"`` a ``pyarrow.dataset.Dataset``. Neither reads
        the data until asked."""
        if name not in self.table_names:
            raise KeyError(f"the lake has no table {name!r}; it has {', '.join(self.table_names)}")
        if as_ == "duckdb":
            return self._con.table(name)
        if as_ != "arrow":
            raise ValueError(f'as_ must be "duckdb" or "arrow", not {as_!r}')
        import pyarrow.dataset as ds

        return ds.dataset(
            [str(self._file(t, name)) for t in self._readable],
            format="parquet",
            partitioning=ds.partitioning(pa.schema([(PARTITION_KEY, pa.string())]), flavor="hive"),
            partition_base_dir=str(self.path),
        )

    def _fleet(self) -> Any:
        """The connection, once the lake is known to hold the fleet tables."""
        if self._missing is not None:
            raise ValueError(
                f"{self.path} was converted without the fleet tables the fleet views read "
                f"(no {self._missing.relative_to(self.path)}): convert its traces again "
                "into a new lake directory with gotrace_df.lake.convert"
            )
        return self._con

    def goroutine_analysis(self, by: fleet.By = "trace") -> pd.DataFrame:
        """:func:`gotrace_df.goroutine_analysis` of every trace (``by="trace"``:
        its rows with a ``trace_id``) or of the fleet (``by=None``: a row per
        goroutine group across all traces, percentiles over all their waits,
        ``traces`` the number of traces the group is in)."""
        return fleet.goroutine_analysis(self._fleet(), by)

    def blocking_profile(self, kind: str, by: fleet.By = None) -> pd.DataFrame:
        """:func:`gotrace_df.blocking_profile` of kind ``kind`` of every trace
        (``by="trace"``), or one profile of the fleet (``by=None``, the default:
        stacks merged by their frames, ``traces`` the number of traces a stack
        is in; :func:`gotrace_df.to_pprof` writes it as one pprof file)."""
        return fleet.blocking_profile(self._fleet(), kind, by)

    def user_tasks(self, by: fleet.By = "trace") -> pd.DataFrame:
        """:func:`gotrace_df.user_tasks` of every trace, or by type across the
        fleet (``by=None``)."""
        return fleet.user_tasks(self._fleet(), by)

    def user_regions(self, by: fleet.By = "trace") -> pd.DataFrame:
        """:func:`gotrace_df.user_regions` of every trace, or by type and frame
        across the fleet (``by=None``)."""
        return fleet.user_regions(self._fleet(), by)

    def summary(self, by: fleet.By = "trace") -> pd.DataFrame:
        """:func:`gotrace_df.summary` of every trace, or of the fleet (``by=None``)."""
        return fleet.summary(self._fleet(), by)

    def critical_path(
        self,
        by_task_type: str,
        by: fleet.By = "trace",
        breakdown: str | Sequence[str] = "category",
    ) -> pd.DataFrame:
        """:func:`gotrace_df.critical_path` with ``by_task_type`` (its ``by``
        is ``breakdown``) of every trace, or over every task of that type in
        the fleet (``by=None``: percentiles over all of them, a task counting
        0 under a key its path never touches)."""
        from gotrace_df.lake.critical import critical_path

        return critical_path(self._fleet(), by_task_type, by, breakdown)

    def diff_side(self) -> Side:
        """This lake's fleet views as one side of :func:`gotrace_df.diff`, so
        ``gt.diff(lake_before, lake_after)`` compares two fleets."""
        from gotrace_df.lake.diff import lake_side

        return lake_side(self)

    def trace(self, trace_id: str) -> Trace:
        """The trace ``trace_id`` as a :class:`~gotrace_df.Trace` (read from its
        partition), for any single-trace view."""
        from gotrace_df.io import read_parquet

        check_trace_id(trace_id)
        if trace_id not in self._readable:
            ids = self._manifest.column("trace_id").to_pylist()
            if trace_id in ids:
                raise KeyError(f"trace {trace_id} could not be read when it was converted")
            raise KeyError(f"no trace {trace_id} in the lake")
        return read_parquet(partition(self.path, trace_id))

    def _file(self, trace_id: str, name: str) -> Path:
        return table_file(self.path, trace_id, name)

    def close(self) -> None:
        """Close the DuckDB connection."""
        self._con.close()

    def __enter__(self) -> Lake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<gotrace_df.lake.Lake {self.path}: {len(self._readable)} traces>"


def _quote(path: Path) -> str:
    """``path`` as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"
