"""Redaction: a copy of a trace that is safe to attach to a bug report.

:func:`redact_trace` replaces every string that names the program, its files or
its data with a placeholder, and keeps what the Go runtime itself writes, so the
copy is still a trace to analyse (``export --redact``, ``write_parquet(...,
redact=True)``, ``write_perfetto(..., redact=True)``). Per column (schemas in
:mod:`gotrace_df.frames`):

* ``frames.function``, ``stacks.leaf_function``, ``goroutines.name`` (the start
  function): ``func#N``, unless the function is in Go's standard library
  (:func:`is_stdlib_function`): ``runtime.gopark`` stays;
* ``frames.file``: ``file#N``, every file: a GOROOT path names the machine's
  user and directories too;
* ``tasks.name`` and the ``events.name`` of TaskBegin/TaskEnd: ``task#N``; task
  types are the program's own words, as are region types: ``regions.name`` and
  the ``events.name`` of RegionBegin/RegionEnd become ``region#N``;
* ``logs.category``: ``category#N``; ``logs.message``: ``log#N``;
* ``goroutines.label`` and the ``events.name`` of Label: kept when the runtime
  wrote it (``GC (idle)`` ...), otherwise ``label#N``;
* ``metrics.name`` and the ``events.name`` of Metric: kept when it has the form
  of a runtime metric (``/gc/heap/goal:bytes``), otherwise ``metric#N``;
* ``experimental_batches.data``: null (the AllocFree experiment's raw batches
  hold type names such as ``*main.Config``);
* the trace's ``source`` (the path it was read from): ``<redacted>``.

Kept as they are: the runtime's own strings (event kinds, resources, states,
reasons, GC and stop-the-world range names, experiment names), unless one looks
like a file path (then ``path#N``); every number. Line numbers and PCs name no
code without the binary, which a trace does not hold, and the views and
``go tool pprof`` need them; the wall-clock time of each Sync stays too.
A string column this module does not know (a newer schema) becomes ``str#N``
and a binary one null: unknown means unsafe.

Within one call the same string in the same role always gets the same
placeholder (numbered in order of appearance), in every table: joins and
group-bys work, and the views give the numbers they give on the original. Empty
strings and nulls stay. Dictionary columns are redacted by rewriting their
dictionaries, leaving the per-row indices (and every other column) shared with
the original; ``events.name``, whose entries mean different things for
different event kinds, has its indices remapped with numpy. The input trace is
not modified.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from gotrace_df.export._meta import metadata, rebuild

if TYPE_CHECKING:
    from gotrace_df._trace import Trace

__all__ = [
    "Placeholders",
    "REDACTED_SOURCE",
    "RUNTIME_LABELS",
    "STDLIB_ROOTS",
    "is_stdlib_function",
    "redact_trace",
]

#: The ``source`` of a redacted trace.
REDACTED_SOURCE = "<redacted>"

#: First elements of the standard library's package paths (``go list std`` of
#: Go 1.22 to 1.27, and ``cmd``: the Go tools). A list rather than Go's "no dot
#: in the first element" rule, because a module path may have no dot (``module
#: myapp``; the corpus's ``go test`` trace is of ``corpus/gotest``), and a new
#: standard package missing here is only redacted, never leaked.
STDLIB_ROOTS = frozenset(
    """archive bufio builtin bytes cmd cmp compress container context crypto database
    debug embed encoding errors expvar flag fmt go hash html image index internal io
    iter log maps math mime net os path plugin reflect regexp runtime slices sort
    strconv strings structs sync syscall testing text time unicode unique unsafe uuid
    vendor weak""".split()
)

#: The goroutine labels the runtime sets (its GC mark workers).
RUNTIME_LABELS = frozenset({"GC (dedicated)", "GC (fractional)", "GC (idle)"})

# A file path: rooted, home- or dot-relative, a Windows drive, or a source file.
_PATHLIKE = re.compile(r"(?:^|[\s(\[=:'\"])(?:/|~/|\.\.?/|[A-Za-z]:[\\/])\S|\w\.go\b")
# A runtime/metrics name: /path/of/words:unit.
_METRIC = re.compile(r"/[a-z0-9_/.-]+:[a-z0-9_*/.-]+")

# Rows of events.name remapped at a time (bounds the temporary arrays).
_SLICE = 1 << 20
# events.name's widest type (frames.py): where a narrower key no longer fits.
_WIDE_NAMES = pa.dictionary(pa.int32(), pa.string())


def is_stdlib_function(name: str) -> bool:
    """Whether the function ``name``, as a stack frame spells it, is in Go's
    standard library: the first element of its package path is one of
    :data:`STDLIB_ROOTS`. ``main`` is the program's own package.

    Examples
    --------
    >>> from gotrace_df.export.redact import is_stdlib_function
    >>> [is_stdlib_function(f) for f in ["runtime.gopark", "net/http.(*conn).serve"]]
    [True, True]
    >>> [is_stdlib_function(f) for f in ["main.main", "github.com/x/y.F", "myapp/db.Open"]]
    [False, False, False]
    """
    slash = name.find("/")
    first = name[:slash] if slash >= 0 else name.partition(".")[0]
    return first in STDLIB_ROOTS


class Placeholders:
    """Numbered placeholders, one sequence per role: the same string in the same
    role always gets the same placeholder.

    Examples
    --------
    >>> from gotrace_df.export.redact import Placeholders
    >>> ph = Placeholders()
    >>> ph("func", "main.main"), ph("func", "main.run"), ph("func", "main.main")
    ('func#1', 'func#2', 'func#1')
    """

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, str]] = {}

    def __call__(self, role: str, s: str) -> str:
        seen = self._seen.setdefault(role, {})
        p = seen.get(s)
        if p is None:
            p = seen[s] = f"{role}#{len(seen) + 1}"
        return p


# A rule: a string (never null) -> what the copy holds.
Rule = Callable[[Placeholders, str], str]


def _user(role: str) -> Rule:
    def rule(ph: Placeholders, s: str) -> str:
        return ph(role, s) if s else s

    return rule


def _function(ph: Placeholders, s: str) -> str:
    return s if not s or is_stdlib_function(s) else ph("func", s)


def _label(ph: Placeholders, s: str) -> str:
    return s if not s or s in RUNTIME_LABELS else ph("label", s)


def _metric(ph: Placeholders, s: str) -> str:
    return s if _METRIC.fullmatch(s) else ph("metric", s)


def _runtime(ph: Placeholders, s: str) -> str:
    return ph("path", s) if _PATHLIKE.search(s) else s


_TASK = _user("task")
_REGION = _user("region")
_UNKNOWN = _user("str")

#: (table, column) -> rule, for every string column of :mod:`gotrace_df.frames`
#: but ``events.name`` (by event kind: :data:`EVENT_NAMES`).
COLUMNS: dict[tuple[str, str], Rule] = {
    **{
        key: _runtime
        for key in [
            ("events", "kind"),
            ("events", "resource"),
            ("events", "from_state"),
            ("events", "to_state"),
            ("events", "reason"),
            ("spans", "state"),
            ("spans", "reason"),
            ("goroutines", "final_state"),
            ("procs", "state"),
            ("gc", "kind"),
            ("experimental", "experiment"),
            ("experimental", "arg"),
            ("experimental_batches", "experiment"),
        ]
    },
    ("metrics", "name"): _metric,
    ("goroutines", "name"): _function,
    ("goroutines", "label"): _label,
    ("tasks", "name"): _TASK,
    ("regions", "name"): _REGION,
    ("logs", "category"): _user("category"),
    ("logs", "message"): _user("log"),
    ("stacks", "leaf_function"): _function,
    ("frames", "function"): _function,
    ("frames", "file"): _user("file"),
}

#: Event kind -> rule for ``events.name`` (other kinds have no name; one that
#: does is redacted).
EVENT_NAMES: dict[str, Rule] = {
    "TaskBegin": _TASK,
    "TaskEnd": _TASK,
    "RegionBegin": _REGION,
    "RegionEnd": _REGION,
    "Label": _label,
    "Metric": _metric,
    "RangeBegin": _runtime,
    "RangeActive": _runtime,
    "RangeEnd": _runtime,
    "Experimental": _runtime,
}


def redact_trace(trace: Trace) -> Trace:
    """A copy of ``trace`` with its program's names, paths and log values
    replaced by placeholders (see :mod:`gotrace_df.export.redact` for each column).

    Parameters
    ----------
    trace
        The trace to redact; it is not modified.

    Returns
    -------
    Trace
        The same tables with the same rows and columns, strings redacted, and
        ``source`` ``"<redacted>"``.

    Examples
    --------
    >>> import gotrace_df as gt
    >>> from gotrace_df.export.redact import redact_trace
    >>> tr = gt.read_trace(gt.example_trace())
    >>> safe = redact_trace(tr)
    >>> safe.source, safe.events.num_rows == tr.events.num_rows
    ('<redacted>', True)
    >>> safe.frames["file"][0].as_py()
    'file#1'
    """
    ph = Placeholders()
    tables = {name: _table(name, trace.table(name), ph) for name in trace.table_names}
    meta = metadata(trace)
    meta["source"] = REDACTED_SOURCE
    return rebuild(tables, meta)


def _is_text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _table(name: str, table: pa.Table, ph: Placeholders) -> pa.Table:
    for i, field in enumerate(table.schema):
        col = table.column(i)
        if name == "events" and field.name == "name" and "kind" in table.column_names:
            new = _by_kind(col, table.column("kind"), ph)
        elif _is_text(field.type):
            new = _map_column(col, COLUMNS.get((name, field.name), _UNKNOWN), ph)
        elif pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            new = pa.chunked_array([pa.nulls(len(col), field.type)], field.type)
            field = field.with_nullable(True)
        else:
            continue
        table = table.set_column(i, field.with_type(new.type), new)
    return table


def _mapped(values: pa.Array, rule: Rule, ph: Placeholders) -> pa.Array:
    """``rule`` applied to each (distinct) string of ``values``; nulls stay."""
    out = [None if v is None else rule(ph, v) for v in values.to_pylist()]
    return pa.array(out, values.type)


def _map_column(col: pa.ChunkedArray, rule: Rule, ph: Placeholders) -> pa.ChunkedArray:
    """``col`` with ``rule`` applied to every string: on the dictionary of a
    dictionary column (indices shared with ``col``), on the distinct values of a
    plain one."""
    chunks = []
    for chunk in col.chunks:
        if pa.types.is_dictionary(chunk.type):
            d = _mapped(chunk.dictionary, rule, ph)
            chunks.append(pa.DictionaryArray.from_arrays(chunk.indices, d))
        else:
            enc = chunk.dictionary_encode()
            d = _mapped(enc.dictionary, rule, ph)
            chunks.append(pa.DictionaryArray.from_arrays(enc.indices, d).cast(chunk.type))
    return pa.chunked_array(chunks, col.type)


def _by_kind(names: pa.ChunkedArray, kinds: pa.ChunkedArray, ph: Placeholders) -> pa.ChunkedArray:
    """``events.name`` redacted by each row's kind.

    One dictionary entry may be a task type on one row and a region type on
    another, so entries are redacted per (rule, entry) pair that occurs: a
    lookup table from pair to new entry, applied to the indices with numpy.
    """
    if not pa.types.is_dictionary(names.type):
        names = names.dictionary_encode()
    rules: list[Rule] = [_UNKNOWN, *dict.fromkeys(EVENT_NAMES.values())]
    rule_of_row = np.concatenate(
        [np.zeros(0, np.int8), *(_rule_codes(k, rules) for k in kinds.chunks)]
    )
    out: list[pa.Array] = []
    start = 0
    for chunk in names.chunks:
        out += _remap(chunk, rule_of_row[start : start + len(chunk)], rules, ph)
        start += len(chunk)
    if len({a.type for a in out}) > 1:  # a chunk outgrew its key type
        out = [a.cast(_WIDE_NAMES) for a in out]
    return pa.chunked_array(out, out[0].type if out else names.type)


def _rule_codes(kinds: pa.Array, rules: list[Rule]) -> np.ndarray[Any, np.dtype[np.int8]]:
    """Index in ``rules`` of each row's rule, by its event kind."""
    if not pa.types.is_dictionary(kinds.type):
        kinds = kinds.dictionary_encode()
    by_entry = [
        rules.index(EVENT_NAMES.get(k, _UNKNOWN)) if k is not None else 0
        for k in kinds.dictionary.to_pylist()
    ]
    lut = np.array([*by_entry, 0], np.int8)  # the extra entry: null kinds
    idx = kinds.indices.fill_null(len(by_entry)).to_numpy(zero_copy_only=False)
    codes: np.ndarray[Any, np.dtype[np.int8]] = lut[idx]
    return codes


def _slices(n: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, _SLICE):
        yield lo, min(lo + _SLICE, n)


def _remap(
    chunk: pa.DictionaryArray,
    rule_of_row: np.ndarray[Any, np.dtype[np.int8]],
    rules: list[Rule],
    ph: Placeholders,
) -> list[pa.Array]:
    """``chunk`` with entry ``i`` of a row under rule ``r`` replaced by
    ``rules[r](entry i)``, as chunks of at most ``_SLICE`` rows sharing one new
    dictionary that holds only the strings some row uses."""
    values = chunk.dictionary.to_pylist()
    nd = len(values)
    if nd == 0 or chunk.null_count == len(chunk):
        return [chunk]

    def pairs(lo: int, hi: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(rule * nd + entry, valid) of rows lo:hi."""
        part = chunk.indices.slice(lo, hi - lo)
        idx = part.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        valid = part.is_valid().to_numpy(zero_copy_only=False)
        return rule_of_row[lo:hi].astype(np.int64) * nd + idx, valid

    used = np.zeros(len(rules) * nd, bool)
    for lo, hi in _slices(len(chunk)):
        p, valid = pairs(lo, hi)
        used[p[valid]] = True
    new: dict[str | None, int] = {}
    codes = []
    for u in np.flatnonzero(used).tolist():
        r, i = divmod(u, nd)
        s = values[i]
        codes.append(new.setdefault(None if s is None else rules[r](ph, s), len(new)))
    # One entry may have become several (a task type that is also a region type).
    key = chunk.indices.type.to_pandas_dtype()
    if len(new) > np.iinfo(key).max:
        key = np.int32
    lut = np.zeros(len(rules) * nd, key)
    lut[np.flatnonzero(used)] = codes
    dictionary = pa.array(list(new), chunk.dictionary.type)
    out = []
    for lo, hi in _slices(len(chunk)):
        p, valid = pairs(lo, hi)
        indices = pa.array(lut[p], mask=~valid)
        out.append(pa.DictionaryArray.from_arrays(indices, dictionary))
    return out
