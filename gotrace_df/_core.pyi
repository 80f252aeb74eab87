"""Type stub of the compiled module (crates/gotrace-py). Private: use gotrace_df."""

from collections.abc import Callable
from typing import Any, TypedDict

from typing_extensions import Buffer

__version__: str

class TraceError(ValueError):
    """A Go execution trace could not be read: what is wrong, and where."""

    offset: int | None
    generation: int | None

class ArrowTable:
    """One parsed table; pyarrow imports it without copying (``pyarrow.table(obj)``)."""

    @property
    def num_rows(self) -> int: ...
    def __len__(self) -> int: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...

class TailError(TypedDict):
    message: str
    offset: int | None
    generation: int | None

class ParseResult(TypedDict):
    version: int
    start_ns: int
    end_ns: int
    generations: int
    frequency: int
    bytes_used: int
    bytes_total: int
    tail_error: TailError | None
    tables: dict[str, ArrowTable]

def parse(data: Buffer, progress: Callable[[int, int], Any] | None = None) -> ParseResult: ...
