"""Type stub of the compiled module (crates/gotrace-py). Private: use gotrace_df."""

from collections.abc import Callable, Sequence
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

def parse(
    data: Buffer,
    progress: Callable[[int, int], Any] | None = None,
    release_input: bool = False,
    threads: int | None = None,
) -> ParseResult: ...
def read_header(head: bytes) -> int: ...
def set_threads(n: int | None) -> None: ...
def get_threads() -> int: ...

# -- view passes (crates/gotrace-py/src/views.rs) ---------------------------

def profile_samples(
    events: object, kinds: list[str], namable: Buffer, skip_no_stack: bool = False
) -> dict[str, ArrowTable]: ...
def clipped(start: Buffer, end: Buffer, at: Buffer, t0: Buffer, t1: Buffer) -> bytes: ...
def outermost_intervals(goid: object, start: object, end: object) -> bytes: ...
def mutator_utilization(
    events: object, flags: int, value_rows: Buffer | None = None, value_values: Buffer | None = None
) -> list[tuple[bytes, bytes]]: ...
def take_rows(table: object, rows: object, subset: Buffer | None = None) -> ArrowTable: ...
def span_lanes(
    events: object,
    refs: object,
    sync_rows: Buffer,
    states: list[str],
    lane: str | None,
    origin: int,
    end_ns: int,
    state_cats: list[int],
    goids: Buffer,
    groups: Buffer,
    other: int,
    held: tuple[str, object] | None = None,
) -> tuple[ArrowTable, ArrowTable]: ...
def goroutine_counts(events: object, origin: int) -> list[ArrowTable]: ...
def scatter_rows(n: int, rows: Buffer, values: Buffer) -> ArrowTable: ...
def group_sum(codes: Buffer, values: Buffer, n_groups: int) -> bytes: ...
def group_stats(
    codes: Buffer, values: Buffer, n_groups: int, quantiles: list[float]
) -> tuple[bytes, bytes, bytes]: ...
def merge_sparse(parts: list[tuple[object, int | None]]) -> tuple[bytes, bytes]:
    """Parts (a table of events rows and values, the value meaning none)
    merged into (rows ascending, values) as int64 bytes; a row listed twice
    keeps its later value."""

class MmuCurve:
    """An MMU curve over utilisation series (times int64, utils float64 buffers)."""

    def __init__(self, times: list[object], utils: list[object]) -> None: ...
    def mmu(self, windows: list[int]) -> list[float]: ...
    def examples(self, window: int, n: int) -> list[tuple[int, float]]: ...
    def mud(self, windows: list[int], quantiles: list[float]) -> list[list[float]]: ...
    def plot_windows(self) -> tuple[int, int, list[int]]: ...
    def span(self) -> tuple[int, int]: ...

# -- goroutine summary (crates/gotrace-py/src/summary.rs) -------------------

def summarize(
    events: object,
    namable: bytes,
    system: bytes,
    legacy_undetermined: bool = False,
    legacy_sync: bool = False,
    window: tuple[int, int] | None = None,
    regions: tuple[Buffer, Buffer, Buffer] | None = None,
    region_stats: bool = False,
    capacity: tuple[int, int] | None = None,
) -> dict[str, ArrowTable]: ...

# -- raw wire events and Go's sort (crates/gotrace-py/src/raw.rs) -------------

class RawResult(TypedDict):
    version: int
    num_specs: int
    events: ArrowTable
    next: int | None
    error: TraceError | None

def read_raw(data: bytes, start: int, max_events: int) -> RawResult: ...
def raw_specs() -> list[tuple[str, list[str], bool, bool]]: ...
def sort_order(keys: list[int], descending: bool = False) -> list[int]: ...

# -- critical paths (crates/gotrace-py/src/critical.rs) ----------------------

def critical_paths(
    spans: object, events: object, assists: Sequence[Buffer], queries: Sequence[Buffer]
) -> tuple[ArrowTable, list[str]]: ...

# -- the spans table (crates/gotrace-py/src/spans.rs) -----------------------

def span_columns(
    events: object,
    refs: object,
    sync_rows: Buffer,
    end_ns: int,
    columns: Sequence[tuple[str, str, str | None]],
    subset: Buffer | None = None,
) -> ArrowTable: ...

# -- streaming passes (crates/gotrace-py/src/stream.rs) ----------------------

def stream_profile(
    data: Buffer,
    kinds: list[str],
    skip_no_stack: bool = False,
    progress: Callable[[int, int], Any] | None = None,
    release_input: bool = False,
) -> ParseResult: ...
def stream_summary(
    data: Buffer,
    legacy_undetermined: bool = False,
    legacy_sync: bool = False,
    window: tuple[int, int] | None = None,
    regions: bool = True,
    progress: Callable[[int, int], Any] | None = None,
    release_input: bool = False,
) -> ParseResult: ...
def stream_tasks(
    data: Buffer,
    legacy_undetermined: bool = False,
    legacy_sync: bool = False,
    progress: Callable[[int, int], Any] | None = None,
    release_input: bool = False,
) -> ParseResult: ...
def stack_names(frames: object) -> tuple[bytes, bytes]: ...

class MmuResult(ParseResult):
    series: list[tuple[bytes, bytes]]

def stream_mmu(
    data: Buffer,
    flags: int,
    progress: Callable[[int, int], Any] | None = None,
    release_input: bool = False,
) -> MmuResult: ...

# -- streaming conversion (crates/gotrace-py/src/convert.rs) -----------------

def convert_stream(
    data: Buffer,
    sink: Callable[[int, str, ArrowTable], Any],
    progress: Callable[[int, int], Any] | None = None,
    release_input: bool = False,
) -> ParseResult: ...
