"""Writing a :class:`~gotrace_df.Trace` elsewhere, one module per format.

* :mod:`gotrace_df.export.parquet`: a directory of Parquet files, one per table,
  read back by :func:`gotrace_df.read_parquet` (``Trace.to_parquet``);
* :mod:`gotrace_df.export.perfetto`: Chrome trace-event JSON for Perfetto and
  ``chrome://tracing`` (``Trace.to_perfetto``);
* :mod:`gotrace_df.export.godebug`: the text dumps of ``go tool trace -d=...``;
* :mod:`gotrace_df.export.redact`: a copy of a trace with the program's names,
  paths and log values replaced by placeholders, for sharing (the writers'
  ``redact=True``).

Every writer is atomic: the output appears complete or not at all, and what was
there before is replaced only once the new output is complete.
"""

from __future__ import annotations

from gotrace_df.export.parquet import read_parquet, write_parquet
from gotrace_df.export.perfetto import write_perfetto
from gotrace_df.export.redact import redact_trace

__all__ = ["read_parquet", "redact_trace", "write_parquet", "write_perfetto"]
