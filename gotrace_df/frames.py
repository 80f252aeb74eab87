"""Every table's schema in one place: name, Arrow type, unit and meaning of each column.

The Rust core builds exactly these columns (``crates/gotrace-core/src/build``);
``tests/test_api.py`` checks the two agree. Conventions:

* times are int64 nanoseconds, the values Go's parser reports (``Time=``);
* IDs are int64 (``p`` is int32: GOMAXPROCS bounds it), null where Go says
  "none" (``NoGoroutine``, ``NoProc``, ``NoThread``, ``NoTask``);
* strings that repeat are dictionary-encoded, and so are the events table's
  integer columns that take few distinct values over millions of rows (``p``,
  ``m``, ``gen``, ``stack_id``, ``transition_stack_id``, ``task_id``,
  ``value``: one sorted dictionary per column).
  Dictionary keys are as narrow as the number of values allows (int8, int16
  or int32); the types below give the widest. :meth:`Trace.to_pandas` turns
  integer dictionaries back into plain (nullable) integers, and
  :func:`decode_ints` does the same for a pyarrow table;
* ``stack_id`` is unique across the whole trace: identical stacks share one ID
  across generations. Null means "no stack".
* derived tables refer back to the events table by row index (``event`` and
  ``*_event`` columns, int32: 2^31 events would be a trace of about 8 GB).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "Column",
    "end_parents",
    "SCHEMAS",
    "TABLES",
    "schema",
    "describe",
    "time_columns",
    "decode_ints",
    "encode_ints",
    "key_type",
    "plain",
]

_DICT8 = pa.dictionary(pa.int8(), pa.string())
_DICT32 = pa.dictionary(pa.int32(), pa.string())
# Integer columns stored as a dictionary of their distinct values.
_DICT_I32 = pa.dictionary(pa.int32(), pa.int32())
_DICT_I64 = pa.dictionary(pa.int32(), pa.int64())


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    name: str
    type: pa.DataType
    unit: str
    meaning: str
    #: The clock a point in time is read on: "trace" (the events' ``ts``),
    #: "wall" (Unix ns) or "mono"; "" for anything else, durations included.
    clock: str = ""


# A /gc/heap/goal:bytes value above this (1 PiB) is the runtime's "no goal"
# (GOGC=off in Go 1.22 reports about 2^63; Go issue 63864): cmd/trace draws
# none, and neither do the timeline and the Perfetto export.
NO_HEAP_GOAL = 1 << 50


def _c(name: str, type_: pa.DataType, unit: str, meaning: str, clock: str | None = None) -> Column:
    # An "ns" column is a time on the trace clock unless it says otherwise.
    if clock is None:
        clock = "trace" if unit == "ns" else ""
    return Column(name, type_, unit, meaning, clock)


_I64, _I32, _U64 = pa.int64(), pa.int32(), pa.uint64()

SCHEMAS: dict[str, list[Column]] = {
    "events": [
        _c("ts", _I64, "ns", "Event time, as Go's parser reports it (strictly increasing)"),
        _c(
            "kind",
            _DICT8,
            "",
            "EventKind: Sync, Metric, Label, StackSample, RangeBegin, RangeActive, RangeEnd, "
            "TaskBegin, TaskEnd, RegionBegin, RegionEnd, Log, StateTransition, Experimental",
        ),
        _c("g", _I64, "", "Goroutine of the event's context (before the event); null: NoGoroutine"),
        _c("p", _DICT_I32, "", "Proc of the context; null: NoProc"),
        _c("m", _DICT_I64, "", "Thread (M) of the context; null: NoThread"),
        _c(
            "gen",
            _DICT_I32,
            "",
            "Generation the event belongs to, counted from 1 (the Sync N before it)",
        ),
        _c("stack_id", _DICT_I32, "", "Event's stack (Event.Stack); null: no stack"),
        _c(
            "resource",
            _DICT8,
            "",
            "StateTransition: the resource that changes state; Range*: the range's scope; "
            "Label: the labelled resource. Goroutine, Proc, Thread or None",
        ),
        _c("resource_id", _I64, "", "ID of that resource (null for None)"),
        _c(
            "from_state",
            _DICT8,
            "",
            "StateTransition: state before (Undetermined, NotExist, Runnable, Running, "
            "Waiting, Syscall for goroutines; Undetermined, NotExist, Running, Idle for procs)",
        ),
        _c("to_state", _DICT8, "", "StateTransition: state after"),
        _c("reason", _DICT32, "", "StateTransition: reason as the runtime wrote it ('' if none)"),
        _c(
            "transition_stack_id",
            _DICT_I32,
            "",
            "StateTransition.Stack: for goroutine creation the new goroutine's start stack, "
            "otherwise the transitioning goroutine's stack",
        ),
        _c(
            "name",
            _DICT32,
            "",
            "Metric name, label, range name, task type, region type, or experimental event name",
        ),
        _c(
            "task_id",
            _DICT_I64,
            "",
            "Task*/Region*/Log: the task (null: NoTask; 0 is the background task)",
        ),
        _c("value", _DICT_I64, "", "Metric value; Sync: N"),
    ],
    "spans": [
        _c("goid", _I64, "", "Goroutine"),
        _c(
            "state",
            _DICT8,
            "",
            "Runnable, Running, Waiting or Syscall (Undetermined before the first status)",
        ),
        _c("reason", _DICT32, "", "Reason of the transition that entered the state"),
        _c("start", _I64, "ns", "Time the state was entered (trace start when Undetermined)"),
        _c("end", _I64, "ns", "Time the state was left (trace end if never)"),
        _c("p", _I32, "", "Proc of the entering event's context"),
        _c("m", _I64, "", "Thread of the entering event's context"),
        _c("stack_id", _I32, "", "Transition stack of the entering event"),
        _c("end_stack_id", _I32, "", "Transition stack of the leaving event"),
        _c("start_event", _I32, "", "events row that entered the state (null: none)"),
        _c(
            "end_event", _I32, "", "events row that left the state (null: still in it at trace end)"
        ),
    ],
    "goroutines": [
        _c("goid", _I64, "", "Goroutine ID"),
        _c(
            "name",
            _DICT32,
            "",
            "Start function: outermost frame of the first non-empty transition stack",
        ),
        _c("created", _I64, "ns", "Creation time (null: existed before the trace started)"),
        _c("creator_goid", _I64, "", "Goroutine that created it"),
        _c("first_run", _I64, "ns", "First time it was Running"),
        _c("end", _I64, "ns", "Time it exited (null: still alive at trace end)"),
        _c("final_state", _DICT8, "", "State at the end of the trace (NotExist if it exited)"),
        _c("creation_stack_id", _I32, "", "Creator's stack at creation"),
        _c("start_stack_id", _I32, "", "The new goroutine's start stack (one frame)"),
        _c("label", _DICT32, "", "Last GoLabel given to it (GC workers)"),
    ],
    "procs": [
        _c("proc", _I32, "", "P"),
        _c("state", _DICT8, "", "Running or Idle"),
        _c("start", _I64, "ns", "Interval start"),
        _c("end", _I64, "ns", "Interval end"),
        _c("m", _I64, "", "Thread of the event that started the interval"),
        _c("goid", _I64, "", "Goroutine of the event that started the interval"),
        _c("start_event", _I32, "", "events row that started it"),
    ],
    "tasks": [
        _c("task_id", _I64, "", "Task ID"),
        _c("parent_id", _I64, "", "Parent task (null: none)"),
        _c("name", _DICT32, "", "Task type ('' when the begin was not in the trace)"),
        _c("start", _I64, "ns", "TaskBegin time (null: began before the trace)"),
        _c("end", _I64, "ns", "TaskEnd time (null: still running at trace end)"),
        _c("duration", _I64, "ns", "end - start when both are known", clock=""),
        _c("start_goid", _I64, "", "Goroutine that began it"),
        _c("end_goid", _I64, "", "Goroutine that ended it"),
        _c("start_event", _I32, "", "events row of TaskBegin"),
        _c("end_event", _I32, "", "events row of TaskEnd"),
    ],
    "regions": [
        _c("goid", _I64, "", "Goroutine the region ran on"),
        _c("task_id", _I64, "", "Task of the region (0: background)"),
        _c("name", _DICT32, "", "Region type"),
        _c("start", _I64, "ns", "RegionBegin time (null: began before the trace)"),
        _c("end", _I64, "ns", "RegionEnd time (null: still open at trace end)"),
        _c("duration", _I64, "ns", "end - start when both are known", clock=""),
        _c("depth", _I32, "", "Nesting depth on its goroutine, 0 outermost"),
        _c("start_stack_id", _I32, "", "Stack of RegionBegin"),
        _c("end_stack_id", _I32, "", "Stack of RegionEnd"),
        _c("start_event", _I32, "", "events row of RegionBegin"),
        _c("end_event", _I32, "", "events row of RegionEnd"),
    ],
    "logs": [
        _c("event", _I32, "", "events row"),
        _c("ts", _I64, "ns", "Time"),
        _c("goid", _I64, "", "Goroutine that logged"),
        _c("task_id", _I64, "", "Task (0: background)"),
        _c("category", _DICT32, "", "Log category"),
        _c("message", _DICT32, "", "Log message"),
        _c("stack_id", _I32, "", "Stack of the trace.Log call"),
    ],
    "metrics": [
        _c("event", _I32, "", "events row"),
        _c("ts", _I64, "ns", "Time"),
        _c(
            "name",
            _DICT32,
            "",
            "/sched/gomaxprocs:threads, /memory/classes/heap/objects:bytes or /gc/heap/goal:bytes",
        ),
        _c("value", _I64, "", "Value (threads or bytes; a heap goal over NO_HEAP_GOAL is none)"),
    ],
    "gc": [
        _c(
            "kind",
            _DICT32,
            "",
            "Range name: GC concurrent mark phase, stop-the-world (<kind>), GC mark assist, GC incremental sweep",
        ),
        _c("start", _I64, "ns", "Begin (or the generation's start for a range already active)"),
        _c("end", _I64, "ns", "End (null: open at trace end)"),
        _c("goid", _I64, "", "Goroutine for goroutine-scoped ranges (STW, assist)"),
        _c("proc", _I32, "", "Proc for proc-scoped ranges (sweep)"),
        _c("start_event", _I32, "", "events row of RangeBegin / RangeActive"),
        _c("end_event", _I32, "", "events row of RangeEnd"),
        _c("bytes_swept", _I64, "bytes", "Sweep: bytes swept"),
        _c("bytes_reclaimed", _I64, "bytes", "Sweep: bytes reclaimed"),
    ],
    "cpu_samples": [
        _c("event", _I32, "", "events row"),
        _c("ts", _I64, "ns", "Time"),
        _c("goid", _I64, "", "Goroutine running (null: none)"),
        _c("proc", _I32, "", "Proc (null: none)"),
        _c("thread", _I64, "", "Thread"),
        _c("stack_id", _I32, "", "Sampled stack"),
    ],
    "stacks": [
        _c("stack_id", _I32, "", "Stack ID, unique across the trace"),
        _c("nframes", _I32, "", "Number of frames"),
        _c("first_frame", _I32, "", "frames row of the leaf frame"),
        _c("leaf_function", _DICT32, "", "Function of the innermost frame"),
    ],
    "frames": [
        _c("stack_id", _I32, "", "Stack"),
        _c("depth", _I32, "", "0 is the innermost (leaf) frame"),
        _c("pc", _U64, "", "Program counter"),
        _c("function", _DICT32, "", "Function name"),
        _c("file", _DICT32, "", "Source file"),
        _c("line", _I64, "", "Source line"),
    ],
    "syncs": [
        _c("event", _I32, "", "events row of the Sync"),
        _c("n", _I64, "", "Sync number, from 1"),
        _c("gen", _I64, "", "Wire generation number it opens (null for the final Sync)"),
        _c("clock_trace", _I64, "ns", "ClockSnapshot.Trace (Go 1.25+)"),
        _c("clock_wall", _I64, "ns", "ClockSnapshot.Wall as Unix ns", clock="wall"),
        _c("clock_mono", _I64, "ns", "ClockSnapshot.Mono", clock="mono"),
    ],
    "experimental": [
        _c("event", _I32, "", "events row"),
        _c("experiment", _DICT8, "", "Experiment (AllocFree)"),
        _c("arg", _DICT8, "", "Argument name"),
        _c("value", _U64, "", "Argument value"),
    ],
    "experimental_batches": [
        _c("event", _I32, "", "events row of the Sync that carries it"),
        _c("experiment", _DICT8, "", "Experiment"),
        _c("thread", _I64, "", "Thread of the batch"),
        _c("data", pa.binary(), "", "Raw batch data"),
    ],
}

TABLES: tuple[str, ...] = tuple(SCHEMAS)


def schema(table: str) -> pa.Schema:
    """The Arrow schema of ``table``."""
    return pa.schema([pa.field(c.name, c.type) for c in SCHEMAS[table]])


def describe(table: str) -> str:
    """A text table of ``table``'s columns, for docs and ``help``."""
    rows = [f"{c.name:<20} {str(c.type):<32} {c.unit:<6} {c.meaning}" for c in SCHEMAS[table]]
    return "\n".join(rows)


def time_columns(table: str) -> list[str]:
    """The columns of ``table`` that are points in time on the trace clock.

    Examples
    --------
    >>> from gotrace_df.frames import time_columns
    >>> time_columns("tasks")
    ['start', 'end']
    """
    return [c.name for c in SCHEMAS[table] if c.clock == "trace"]


def key_type(n_values: int) -> pa.DataType:
    """The dictionary key type the core uses for ``n_values`` distinct values."""
    if n_values <= 127:
        return pa.int8()
    if n_values <= 32767:
        return pa.int16()
    return pa.int32()


def _is_int_dict(t: pa.DataType) -> bool:
    return bool(pa.types.is_dictionary(t) and pa.types.is_integer(t.value_type))


def plain(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """``column`` with an integer dictionary decoded to its plain integers."""
    if _is_int_dict(column.type):
        return column.cast(column.type.value_type)
    return column


def decode_ints(table: pa.Table) -> pa.Table:
    """``table`` with its dictionary-encoded integer columns as plain integers.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> tr = gt.read_trace(gt.example_trace())
    >>> gt.frames.decode_ints(tr.events).schema.field("p").type
    DataType(int32)
    """
    for i, f in enumerate(table.schema):
        if _is_int_dict(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(f.type.value_type))
    return table


def encode_ints(column: pa.ChunkedArray | pa.Array, value_type: pa.DataType) -> pa.Array:
    """A plain integer column as the core encodes it: a sorted dictionary of its
    distinct values with the narrowest keys (see :func:`key_type`)."""
    import pyarrow.compute as pc

    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    col = col.cast(value_type)
    values = pc.drop_null(pc.unique(col)).sort()
    keys = pc.index_in(col, value_set=values).cast(key_type(len(values)))
    return pa.DictionaryArray.from_arrays(keys, values)


def end_parents(tasks: pa.Table, converted: bool) -> pa.ChunkedArray | pa.Array:
    """The tasks' ``parent_id`` as their TaskEnd events report it. Go's
    conversion of old traces (Go 1.11-1.21, ``Trace.converted``) passes the old
    event's parent through to a task's end, 0 for none, where its TaskBegin
    says NoTask (null here); a task begun before the trace has NoTask in both."""
    parent = tasks["parent_id"]
    if not converted:
        return parent
    begun_without_parent = pc.and_(pc.is_null(parent), pc.is_valid(tasks["start_event"]))
    return pc.if_else(begun_without_parent, pa.scalar(0, parent.type), parent)
