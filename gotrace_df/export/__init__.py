"""Writing a :class:`~gotrace_df.Trace` elsewhere, one module per format.

* :mod:`gotrace_df.export.parquet`: a directory of Parquet files, one per table,
  read back by :func:`gotrace_df.read_parquet` (``Trace.to_parquet``);
* :mod:`gotrace_df.export.perfetto`: Chrome trace-event JSON for Perfetto and
  ``chrome://tracing`` (``Trace.to_perfetto``);
* :mod:`gotrace_df.export.godebug`: the text dumps of ``go tool trace -d=...``.

Every writer is atomic: the output appears complete or not at all, and what was
there before is replaced only once the new output is complete.
"""

from __future__ import annotations

from gotrace_df.export.parquet import read_parquet, write_parquet
from gotrace_df.export.perfetto import write_perfetto

__all__ = ["read_parquet", "write_parquet", "write_perfetto"]
