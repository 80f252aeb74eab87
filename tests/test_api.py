"""The Python API: sources, errors, the Trace container. Not parse details
(those are the oracle and golden tests' job)."""

from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import gotrace_df as gt
from gotrace_df import frames

EXAMPLE = gt.example_trace()


@pytest.fixture(scope="module")
def example() -> gt.Trace:
    return gt.read_trace(EXAMPLE)


@pytest.fixture(scope="module")
def example_bytes() -> bytes:
    return EXAMPLE.read_bytes()


def assert_same_tables(a: gt.Trace, b: gt.Trace) -> None:
    assert a.table_names == b.table_names
    for name in a.table_names:
        assert a.table(name).equals(b.table(name)), name
    assert (a.start_ns, a.end_ns, a.generations, a.format_version) == (
        b.start_ns,
        b.end_ns,
        b.generations,
        b.format_version,
    )


# -- package surface -----------------------------------------------------------


def test_all_names_exist() -> None:
    for name in gt.__all__:
        assert hasattr(gt, name), name
    assert isinstance(gt.__version__, str) and gt.__version__


def test_example_trace_is_bundled() -> None:
    assert EXAMPLE.name == "example.trace"
    assert EXAMPLE.is_file()
    assert EXAMPLE.read_bytes()[:5] == b"go 1."


# -- sources -------------------------------------------------------------------


def test_sources_give_equal_tables(example: gt.Trace, example_bytes: bytes) -> None:
    others = [
        gt.read_trace(str(EXAMPLE)),
        gt.read_trace(example_bytes),
        gt.read_trace(bytearray(example_bytes)),
        gt.read_trace(memoryview(example_bytes)),
        gt.read_trace(io.BytesIO(example_bytes)),
    ]
    with open(EXAMPLE, "rb") as f:
        others.append(gt.read_trace(f))
    for other in others:
        assert_same_tables(example, other)


def test_source_names(example: gt.Trace, example_bytes: bytes) -> None:
    assert example.source == str(EXAMPLE)
    assert gt.read_trace(example_bytes).source == "<bytes>"


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        gt.read_trace(tmp_path / "nope.trace")


def test_text_file_object_is_type_error(tmp_path: Path) -> None:
    p = tmp_path / "t.trace"
    p.write_bytes(b"go 1.26 trace\x00\x00\x00")
    with open(p) as f, pytest.raises(TypeError, match="binary"):
        gt.read_trace(f)  # type: ignore[arg-type]


def test_non_source_is_type_error() -> None:
    with pytest.raises(TypeError):
        gt.read_trace(12345)  # type: ignore[arg-type]


# -- bad input -----------------------------------------------------------------


def test_trace_error_is_value_error() -> None:
    assert issubclass(gt.TraceError, ValueError)
    assert issubclass(gt.TraceWarning, UserWarning)
    assert gt.TraceError.__module__ == "gotrace_df"
    assert gt.TraceError.__name__ == "TraceError"


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 100, b"PK\x03\x04 this is a zip file" + bytes(64), b"go 1.2"],
    ids=["empty", "zeros", "zip", "short"],
)
def test_not_a_trace(data: bytes) -> None:
    with pytest.raises(gt.TraceError, match="not a Go execution trace") as info:
        gt.read_trace(data)
    assert info.value.offset == 0
    assert "offset 0" in str(info.value)


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.trace"
    p.write_bytes(b"")
    with pytest.raises(gt.TraceError, match="empty"):
        gt.read_trace(p)


@pytest.mark.parametrize("minor", [5, 9, 12, 20])
def test_old_version_not_supported(minor: int) -> None:
    """Go reads old traces from 1.11 on, whose headers say 11, 19 or 21."""
    nuls = b"\x00" * (4 if minor < 10 else 3)
    data = f"go 1.{minor} trace".encode() + nuls + b"\x01\x02\x03junk" * 10
    with pytest.raises(gt.TraceError, match=f"unknown or unsupported trace version go 1.{minor}"):
        gt.read_trace(data)


@pytest.mark.parametrize("minor", [11, 19, 21])
def test_old_format_junk(minor: int) -> None:
    data = f"go 1.{minor} trace".encode() + b"\x00" * 3 + b"\x01\x02\x03junk" * 10
    with pytest.raises(gt.TraceError) as info:
        gt.read_trace(data)
    assert info.value.offset is not None


@pytest.mark.parametrize("minor", [24, 27, 99])
def test_unknown_version(minor: int) -> None:
    with pytest.raises(gt.TraceError, match=f"version go 1.{minor}"):
        gt.read_trace(f"go 1.{minor} trace\x00\x00\x00".encode() + b"\x00" * 32)


def test_truncated_keeps_complete_generations_or_raises(
    example: gt.Trace, example_bytes: bytes
) -> None:
    # Cut at several points: every cut either raises TraceError naming where, or
    # keeps whole generations and says how much was lost.
    for frac in (0.1, 0.5, 0.9, 0.99):
        cut = example_bytes[: int(len(example_bytes) * frac)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                tr = gt.read_trace(cut)
            except gt.TraceError as e:
                assert e.offset is not None, str(e)
                assert str(e.offset) in str(e)
                continue
        msgs = [str(w.message) for w in caught if issubclass(w.category, gt.TraceWarning)]
        assert len(msgs) == 1, (frac, msgs)
        assert "of the trace was lost" in msgs[0]
        assert f"{tr.generations} complete generation" in msgs[0]
        assert tr.generations < example.generations
        assert tr.bytes_used < tr.bytes_total == len(cut)
        assert tr.events.num_rows < example.events.num_rows


def test_no_warning_on_intact_trace(example_bytes: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = gt.read_trace(example_bytes)
    assert tr.bytes_used == tr.bytes_total == len(example_bytes)


def test_trace_error_pickles() -> None:
    with pytest.raises(gt.TraceError) as info:
        gt.read_trace(b"")
    again = pickle.loads(pickle.dumps(info.value))
    assert isinstance(again, gt.TraceError)
    assert str(again) == str(info.value)


# -- the Trace container -------------------------------------------------------


def test_every_table_has_its_schema(example: gt.Trace) -> None:
    assert example.table_names == frames.TABLES
    for name in frames.TABLES:
        table = getattr(example, name)
        assert isinstance(table, pa.Table)
        assert table is example.table(name)
        got = [(f.name, _widest(f.type)) for f in table.schema]
        want = [(f.name, _widest(f.type)) for f in frames.schema(name)]
        assert got == want, name
        for f, doc, col in zip(table.schema, frames.schema(name), table.columns, strict=True):
            if pa.types.is_dictionary(f.type) and col.num_chunks:
                # Fixed enumerations have int8 keys; other dictionaries keys
                # as narrow as the column's number of values allows.
                n = len(col.chunk(0).dictionary)
                narrow = pa.int8() if doc.type.index_type == pa.int8() else frames.key_type(n)
                assert f.type.index_type == narrow, (name, f.name, n)


def _widest(t: pa.DataType) -> pa.DataType:
    """``t`` with dictionary keys at one width, to compare value types."""
    return pa.dictionary(pa.int32(), t.value_type) if pa.types.is_dictionary(t) else t


def test_unknown_table(example: gt.Trace) -> None:
    with pytest.raises(KeyError, match="events"):
        example.table("nope")


def test_metadata(example: gt.Trace) -> None:
    assert example.format_version in (22, 23, 25, 26)
    assert example.version == f"1.{example.format_version}"
    assert f"(format {example.format_version})" in example.go_versions
    assert example.go_versions.startswith("Go 1.")
    assert example.duration_ns == example.end_ns - example.start_ns > 0
    assert example.generations >= 1
    assert example.frequency > 0
    ts = example.events["ts"]
    assert ts[0].as_py() == example.start_ns
    assert ts[-1].as_py() == example.end_ns


def test_go_versions_labels() -> None:
    def label(v: int) -> str:
        return gt.Trace(
            {},
            format_version=v,
            start_ns=0,
            end_ns=0,
            generations=0,
            frequency=1,
            bytes_used=0,
            bytes_total=0,
        ).go_versions

    assert label(22) == "Go 1.22 (format 22)"
    assert label(23) == "Go 1.23/1.24 (format 23)"
    assert label(25) == "Go 1.25 (format 25)"
    assert label(26) == "Go 1.26/1.27 (format 26)"


def test_repr(example: gt.Trace) -> None:
    r = repr(example)
    assert r.startswith("<Trace ") and r.endswith(">")
    assert "\n" not in r
    assert example.go_versions in r
    assert f"{example.events.num_rows:,} events" in r
    assert f"{example.goroutines.num_rows:,} goroutines" in r
    assert "ms" in r or " s," in r


def test_repr_html(example: gt.Trace) -> None:
    h = example._repr_html_()
    assert h.startswith("<div") and h.endswith("</div>")
    for name in frames.TABLES:
        assert f"<code>{name}</code>" in h
        assert f"{example.table(name).num_rows:,}</td>" in h
    assert example.go_versions in h
    assert "duration" in h


def test_to_pandas(example: gt.Trace) -> None:
    for name in frames.TABLES:
        df = example.to_pandas(name)
        assert isinstance(df, pd.DataFrame)
        assert list(df.columns) == example.table(name).column_names
        assert len(df) == example.table(name).num_rows
    ev = example.to_pandas("events")
    assert isinstance(ev["kind"].dtype, pd.CategoricalDtype)
    assert ev["ts"].dtype == "int64"
    # g is null for events without a goroutine: nullable, never float.
    assert example.events["g"].null_count > 0
    assert ev["g"].dtype == pd.Int64Dtype()
    assert ev["g"].isna().sum() == example.events["g"].null_count
    for df in (ev, example.to_pandas("goroutines"), example.to_pandas("frames")):
        assert not any(pd.api.types.is_float_dtype(t) for t in df.dtypes), df.dtypes


def test_stack(example: gt.Trace) -> None:
    stacks = example.stacks.filter(pc.greater(example.stacks["nframes"], 1))
    sid = stacks["stack_id"][0].as_py()
    nframes = stacks["nframes"][0].as_py()
    frames_ = example.stack(sid)
    assert len(frames_) == nframes
    assert [f["depth"] for f in frames_] == list(range(nframes))
    assert set(frames_[0]) == {"depth", "pc", "function", "file", "line"}
    assert frames_[0]["function"] == stacks["leaf_function"][0].as_py()
    assert example.stack(-1) == []


# -- progress ------------------------------------------------------------------


def test_progress_callable(example_bytes: bytes) -> None:
    calls: list[tuple[int, int]] = []
    gt.read_trace(example_bytes, progress=lambda done, total: calls.append((done, total)))
    assert calls
    assert all(total == len(example_bytes) for _, total in calls)
    assert all(0 <= done <= total for done, total in calls)
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)


def test_progress_true_shows_bar(example_bytes: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    gt.read_trace(example_bytes, progress=True)
    assert "reading trace" in capsys.readouterr().err


def test_progress_default_is_quiet_for_small_input(
    example_bytes: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    gt.read_trace(example_bytes)
    gt.read_trace(example_bytes, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_exception_stops_parse(example_bytes: bytes) -> None:
    class Stop(Exception):
        pass

    def boom(done: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        gt.read_trace(example_bytes, progress=boom)


# -- the binding ---------------------------------------------------------------


def test_tables_are_exported_without_copy(example_bytes: bytes) -> None:
    from gotrace_df import _core

    obj = _core.parse(example_bytes)["tables"]["events"]
    a, b = pa.table(obj), pa.table(obj)

    def address(t: pa.Table) -> int:
        return int(t.column("ts").chunk(0).buffers()[1].address)

    # Both imports point at the core's one buffer.
    assert address(a) == address(b)
    assert a.equals(b)
    assert len(obj) == a.num_rows


def test_non_contiguous_buffer_is_rejected(example_bytes: bytes) -> None:
    with pytest.raises(gt.TraceError, match="contiguous"):
        gt.read_trace(memoryview(example_bytes)[::2])
