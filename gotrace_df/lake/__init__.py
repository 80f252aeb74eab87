"""Many traces in one Parquet dataset, queried with DuckDB: the trace lake.

:func:`convert` turns traces (a glob, paths, fsspec URLs) into a lake
directory, in local worker processes or on a Dask cluster; :func:`open` gives
a :class:`Lake`, whose tables are SQL views with a ``trace_id`` column and
whose traces read back as :class:`~gotrace_df.Trace` for every single-trace
view, and whose fleet views (:mod:`gotrace_df.lake.fleet`) answer the
single-trace views' questions for every trace at once. Needs the ``lake``
extra (``pip install 'gotrace_df[lake]'``).

Examples
--------
>>> import tempfile, gotrace_df as gt
>>> from gotrace_df import lake
>>> d = tempfile.mkdtemp() + "/lake"
>>> added = lake.convert(str(gt.example_trace()), d, workers=1, progress=False)
>>> added.status.tolist()
['ok']
>>> lk = lake.open(d)
>>> n = lk.sql("SELECT count(*) FROM events WHERE trace_id = $$%s$$" % added.trace_id[0])
>>> n.fetchall()[0][0] == gt.read_trace(gt.example_trace()).events.num_rows
True
>>> tr = lk.trace(added.trace_id[0])
>>> gt.goroutine_analysis(tr).equals(gt.goroutine_analysis(gt.read_trace(gt.example_trace())))
True
>>> fleet = lk.goroutine_analysis(by=None)  # in DuckDB, over every trace
>>> int(fleet["count"].sum()) == len(gt.goroutine_stats(tr))
True
"""

from __future__ import annotations

from gotrace_df.lake.convert import convert
from gotrace_df.lake.lake import Lake
from gotrace_df.lake.lake import open_lake as open

__all__ = ["Lake", "convert", "open"]
