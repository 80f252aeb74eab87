"""An open lake: its tables as DuckDB views and pyarrow datasets, its manifest,
and each of its traces as a :class:`~gotrace_df.Trace`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gotrace_df.frames import TABLES
from gotrace_df.lake import manifest
from gotrace_df.lake.extras import require
from gotrace_df.lake.layout import MANIFEST, PARTITION_KEY, check_trace_id, partition, table_file

if TYPE_CHECKING:
    import pandas as pd

    from gotrace_df._trace import Trace

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
        import pyarrow as pa
        import pyarrow.dataset as ds

        return ds.dataset(
            [str(self._file(t, name)) for t in self._readable],
            format="parquet",
            partitioning=ds.partitioning(pa.schema([(PARTITION_KEY, pa.string())]), flavor="hive"),
            partition_base_dir=str(self.path),
        )

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
