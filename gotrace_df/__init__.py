"""gotrace_df: Go execution traces as Arrow tables and pandas DataFrames.

>>> import gotrace_df as gt
>>> tr = gt.read_trace(gt.example_trace())
>>> tr.events.num_rows > 0
True

Every table's columns are documented in :mod:`gotrace_df.frames`
(``print(gt.describe("events"))``).
"""

from __future__ import annotations

from gotrace_df._core import __version__
from gotrace_df._errors import TraceError, TraceWarning
from gotrace_df._trace import Trace
from gotrace_df.frames import SCHEMAS, TABLES, describe, schema
from gotrace_df.io import example_trace, read_trace

__all__ = [
    "SCHEMAS",
    "TABLES",
    "Trace",
    "TraceError",
    "TraceWarning",
    "__version__",
    "describe",
    "example_trace",
    "read_trace",
    "schema",
]
