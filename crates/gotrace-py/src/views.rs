//! Bindings of the sequential view passes (gotrace_core::profile, ::mmu).
//!
//! Tables come in through the Arrow C stream interface (`__arrow_c_stream__`,
//! no copy); arrays go out as little-endian `bytes` that numpy reads with
//! `frombuffer`.

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch};
use gotrace_core::mmu::{self, MmuCurve as CoreCurve};
use gotrace_core::profile::{self, ProfileCompat, ProfileKind};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyCapsuleMethods, PyDict};

/// The int64 buffers of a sparse column (rows ascending, values), if given.
pub(crate) fn sparse_buffers(
    rows: Option<&Bound<'_, PyAny>>,
    values: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<(PyBuffer<i64>, PyBuffer<i64>)>> {
    match (rows, values) {
        (Some(r), Some(v)) => {
            let (r, v) = (PyBuffer::<i64>::get(r)?, PyBuffer::<i64>::get(v)?);
            if r.item_count() != v.item_count() {
                return Err(err("a sparse column's rows and values differ in length".into()));
            }
            Ok(Some((r, v)))
        }
        (None, None) => Ok(None),
        _ => Err(err("a sparse column needs both rows and values".into())),
    }
}

/// A sparse column over buffers from [`sparse_buffers`].
pub(crate) fn sparse(
    b: &Option<(PyBuffer<i64>, PyBuffer<i64>)>,
) -> PyResult<Option<gotrace_core::evtable::Sparse<'_>>> {
    b.as_ref()
        .map(|(r, v)| Ok(gotrace_core::evtable::Sparse { rows: contiguous(r)?, values: contiguous(v)? }))
        .transpose()
}

/// Reads every record batch of an object with `__arrow_c_stream__` (a pyarrow Table).
pub(crate) fn batches(obj: &Bound<'_, PyAny>) -> PyResult<Vec<RecordBatch>> {
    let capsule = obj.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>()?;
    let ptr = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
    // SAFETY: the capsule holds a valid FFI_ArrowArrayStream (its name says so);
    // from_raw moves it out, leaving a released stream for the capsule to drop.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr.as_ptr().cast::<FFI_ArrowArrayStream>()) };
    let reader = RecordBatchStreamReader::try_new(stream).map_err(|e| PyValueError::new_err(e.to_string()))?;
    reader.collect::<Result<Vec<_>, _>>().map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The items of a C-contiguous buffer, read in place (the views' arrays are
/// tens of megabytes: copying them costs more than the work).
pub(crate) fn contiguous<T: pyo3::buffer::Element>(b: &PyBuffer<T>) -> PyResult<&[T]> {
    if !b.is_c_contiguous() {
        return Err(err("expected a contiguous buffer".into()));
    }
    if b.item_count() == 0 {
        return Ok(&[]);
    }
    // SAFETY: PyBuffer::get checked that the items are T; the buffer is
    // C-contiguous with item_count items and stays exported while `b` lives.
    Ok(unsafe { std::slice::from_raw_parts(b.buf_ptr().cast::<T>(), b.item_count()) })
}

fn err(e: String) -> PyErr {
    PyValueError::new_err(e)
}

/// The values' little-endian bytes, for numpy's frombuffer.
fn le<'py, T: Copy, const N: usize>(py: Python<'py>, v: &[T], f: impl Fn(T) -> [u8; N]) -> Bound<'py, PyBytes> {
    // Written straight into the bytes object: no second copy.
    PyBytes::new_with(py, v.len() * N, |out| {
        for (to, &x) in out.chunks_exact_mut(N).zip(v) {
            to.copy_from_slice(&f(x));
        }
        Ok(())
    })
    .expect("filling a new bytes object cannot fail")
}

/// Intervals goroutines spent in each profile's state (cmd/trace's tracking;
/// `kinds` are up to four of "net", "sync", "syscall", "sched", done in one
/// pass), and the Summarizer's first run / end / naming stack of every goroutine.
///
/// `namable` is a buffer of bytes indexed by stack ID: nonzero if the stack
/// names a goroutine. Returns a dict of tables (made without copying the
/// core's vectors): for each kind the columns row (int32: the goroutine's row
/// under "goroutines", -1 = none), start, end (int64) and stack (int32, -1 =
/// none) per interval; under "goroutines" goid, start, end (int64, 0 = never)
/// and name_stack (int32, -1 = unnamed).
#[pyfunction]
#[pyo3(signature = (events, kinds, namable, skip_no_stack=false))]
fn profile_samples<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    kinds: Vec<String>,
    namable: &Bound<'py, PyAny>,
    skip_no_stack: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let parsed = profile_kinds(&kinds)?;
    let namable: Vec<bool> = PyBuffer::<u8>::get(namable)?.to_vec(py)?.into_iter().map(|b| b != 0).collect();
    let b = batches(events)?;
    let (sets, g) =
        py.detach(|| profile::samples(&b, &parsed, ProfileCompat { skip_no_stack }, &namable)).map_err(err)?;
    let d = PyDict::new(py);
    set_samples(&d, &kinds, sets, g)?;
    Ok(d)
}

/// The profiles named by `kinds` ("net", "sync", "syscall", "sched").
pub(crate) fn profile_kinds(kinds: &[String]) -> PyResult<Vec<ProfileKind>> {
    kinds
        .iter()
        .map(|k| ProfileKind::parse(k).ok_or_else(|| PyValueError::new_err(format!("unknown profile {k:?}"))))
        .collect()
}

/// `d[kind]` for each of `kinds` and `d["goroutines"]`: the profile pass's
/// results as [`profile_samples`] gives them.
pub(crate) fn set_samples(
    d: &Bound<'_, PyDict>,
    kinds: &[String],
    sets: Vec<profile::Samples>,
    g: profile::Goroutines,
) -> PyResult<()> {
    let py = d.py();
    let col = |v: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from(v)) };
    let col32 = |v: Vec<i32>| -> ArrayRef { Arc::new(Int32Array::from(v)) };
    for (name, s) in kinds.iter().zip(sets) {
        let cols = vec![("row", col32(s.row)), ("start", col(s.start)), ("end", col(s.end)), ("stack", col32(s.stack))];
        d.set_item(name, arrow_table(py, cols)?)?;
    }
    let cols = vec![
        ("goid", col(g.goid)),
        ("start", col(g.start_time)),
        ("end", col(g.end_time)),
        ("name_stack", col32(g.name_stack)),
    ];
    d.set_item("goroutines", arrow_table(py, cols)?)
}

/// Which of the (goroutine, start, end)-sorted intervals are outermost (see
/// gotrace_core::profile::outermost): bytes, 1 = keep.
#[pyfunction]
fn outermost_intervals<'py>(
    py: Python<'py>,
    goid: &Bound<'py, PyAny>,
    start: &Bound<'py, PyAny>,
    end: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let [goid, start, end] = [goid, start, end].map(PyBuffer::<i64>::get);
    let (goid, start, end) = (goid?, start?, end?);
    let (g, s, e) = (contiguous(&goid)?, contiguous(&start)?, contiguous(&end)?);
    if g.len() != s.len() || g.len() != e.len() {
        return Err(PyValueError::new_err("goid, start and end differ in length"));
    }
    let keep: Vec<u8> = py.detach(|| profile::outermost(g, s, e)).into_iter().map(u8::from).collect();
    Ok(PyBytes::new(py, &keep))
}

/// gotrace_core::profile::clipped: `at` an int32 or int64 buffer, the others
/// int64 buffers; int64 bytes.
#[pyfunction]
fn clipped<'py>(
    py: Python<'py>,
    start: &Bound<'py, PyAny>,
    end: &Bound<'py, PyAny>,
    at: &Bound<'py, PyAny>,
    t0: &Bound<'py, PyAny>,
    t1: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let [start, end, t0, t1] = [start, end, t0, t1].map(PyBuffer::<i64>::get);
    let (start, end, t0, t1) = (start?, end?, t0?, t1?);
    let (s, e, lo, hi) = (contiguous(&start)?, contiguous(&end)?, contiguous(&t0)?, contiguous(&t1)?);
    let out = with_index(py, at, |a| profile::clipped(s, e, a, lo, hi), |a| profile::clipped(s, e, a, lo, hi))?;
    Ok(le(py, &out, i64::to_le_bytes))
}

/// `MutatorUtilizationV2`: a list of (times int64 bytes, utils float64 bytes),
/// one per series. `value_rows`/`value_values` (int64 buffers) stand for the
/// events' value column when the table has none.
#[pyfunction]
#[pyo3(signature = (events, flags, value_rows=None, value_values=None))]
fn mutator_utilization<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    flags: u32,
    value_rows: Option<&Bound<'py, PyAny>>,
    value_values: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>> {
    let b = batches(events)?;
    let bufs = sparse_buffers(value_rows, value_values)?;
    let value = sparse(&bufs)?;
    let series = py.detach(|| mmu::mutator_utilization(&b, flags, value.as_ref())).map_err(err)?;
    Ok(series_bytes(py, &series))
}

/// Utilisation series as (times int64 bytes, utils float64 bytes).
pub(crate) fn series_bytes<'py>(
    py: Python<'py>,
    series: &[Vec<mmu::MutatorUtil>],
) -> Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    series
        .iter()
        .map(|s| {
            let t: Vec<i64> = s.iter().map(|p| p.0).collect();
            let u: Vec<f64> = s.iter().map(|p| p.1).collect();
            (le(py, &t, i64::to_le_bytes), le(py, &u, f64::to_le_bytes))
        })
        .collect()
}

/// An MMU curve over utilisation series (`trace.MMUCurve`).
#[pyclass(module = "gotrace_df._core", frozen)]
struct MmuCurve {
    curve: CoreCurve,
}

#[pymethods]
impl MmuCurve {
    /// `times[i]` (int64) and `utils[i]` (float64) are the points of series i.
    #[new]
    fn new(py: Python<'_>, times: Vec<Bound<'_, PyAny>>, utils: Vec<Bound<'_, PyAny>>) -> PyResult<Self> {
        if times.len() != utils.len() {
            return Err(PyValueError::new_err("times and utils must have one entry per series"));
        }
        let mut series = Vec::with_capacity(times.len());
        for (t, u) in times.iter().zip(&utils) {
            let t = PyBuffer::<i64>::get(t)?.to_vec(py)?;
            let u = PyBuffer::<f64>::get(u)?.to_vec(py)?;
            if t.len() != u.len() {
                return Err(PyValueError::new_err("a series' times and utils differ in length"));
            }
            series.push(t.into_iter().zip(u).collect::<Vec<_>>());
        }
        let curve = py.detach(|| CoreCurve::new(&series)).map_err(err)?;
        Ok(MmuCurve { curve })
    }

    /// MMU for each window (ns).
    fn mmu(&self, py: Python<'_>, windows: Vec<i64>) -> PyResult<Vec<f64>> {
        py.detach(|| windows.iter().map(|&w| self.curve.mmu(w)).collect::<Result<Vec<_>, _>>()).map_err(err)
    }

    /// The n lowest-utilisation non-overlapping windows: [(start ns, util)], lowest first.
    fn examples(&self, py: Python<'_>, window: i64, n: usize) -> PyResult<Vec<(i64, f64)>> {
        py.detach(|| self.curve.examples(window, n)).map_err(err)
    }

    /// Mutator utilisation distribution quantiles for each window.
    fn mud(&self, py: Python<'_>, windows: Vec<i64>, quantiles: Vec<f64>) -> PyResult<Vec<Vec<f64>>> {
        py.detach(|| windows.iter().map(|&w| self.curve.mud(w, &quantiles)).collect::<Result<Vec<_>, _>>()).map_err(err)
    }

    /// cmd/trace's plot windows: (xMin, xMax, [100 windows]).
    fn plot_windows(&self, py: Python<'_>) -> PyResult<(i64, i64, Vec<i64>)> {
        py.detach(|| self.curve.plot_windows()).map_err(err)
    }

    /// (first, last) time over every series.
    fn span(&self) -> (i64, i64) {
        self.curve.span()
    }
}

/// Rows of every column of `table` (gotrace_core::take): `rows` is either a
/// buffer of int64 global row numbers (-1: null) or an Arrow table whose one
/// integer column holds them (null: null), then read only at positions
/// `subset` (an int64 buffer) if given. Integer dictionaries come out
/// decoded; string dictionaries keep theirs. Returns an ArrowTable of the
/// same column names.
#[pyfunction]
#[pyo3(signature = (table, rows, subset=None))]
fn take_rows<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    rows: &Bound<'py, PyAny>,
    subset: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, crate::ArrowTable>> {
    let subset = subset.map(PyBuffer::<i64>::get).transpose()?;
    let subset = subset.as_ref().map(contiguous).transpose()?;
    let plain;
    let owned: Vec<i64>;
    let rows: &[i64] = if rows.hasattr("__arrow_c_stream__")? {
        let refs = batches(rows)?;
        let chunks: Vec<&dyn arrow_array::Array> = refs.iter().map(|b| b.column(0).as_ref()).collect();
        owned = py.detach(|| gotrace_core::take::ref_rows(&chunks, subset)).map_err(err)?;
        &owned
    } else if subset.is_some() {
        return Err(err("take_rows: subset goes with a table of rows".into()));
    } else {
        plain = PyBuffer::<i64>::get(rows)?;
        contiguous(&plain)?
    };
    let b = batches(table)?;
    let schema = match b.first() {
        Some(x) => x.schema(),
        None => return Err(err("take_rows: the table has no batches".into())),
    };
    let cols = py
        .detach(|| {
            let columns: Vec<Vec<&dyn arrow_array::Array>> =
                (0..schema.fields().len()).map(|c| b.iter().map(|x| x.column(c).as_ref()).collect()).collect();
            gotrace_core::take::take_columns(&columns, rows).map_err(|e| format!("take_rows: {e}"))
        })
        .map_err(err)?;
    arrow_table(py, schema.fields().iter().map(|f| f.name().as_str()).zip(cols).collect())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(take_rows, m)?)?;
    m.add_function(wrap_pyfunction!(span_lanes, m)?)?;
    m.add_function(wrap_pyfunction!(goroutine_counts, m)?)?;
    m.add_function(wrap_pyfunction!(scatter_rows, m)?)?;
    m.add_function(wrap_pyfunction!(merge_sparse, m)?)?;
    m.add_function(wrap_pyfunction!(group_sum, m)?)?;
    m.add_function(wrap_pyfunction!(group_stats, m)?)?;
    m.add_function(wrap_pyfunction!(profile_samples, m)?)?;
    m.add_function(wrap_pyfunction!(outermost_intervals, m)?)?;
    m.add_function(wrap_pyfunction!(clipped, m)?)?;
    m.add_function(wrap_pyfunction!(mutator_utilization, m)?)?;
    m.add_class::<MmuCurve>()?;
    Ok(())
}

/// The chunks of column `name` of some record batches.
pub(crate) fn chunks<'a>(b: &'a [RecordBatch], name: &str) -> PyResult<Vec<&'a dyn arrow_array::Array>> {
    b.iter()
        .map(|x| x.column_by_name(name).map(|c| c.as_ref()).ok_or_else(|| err(format!("no column {name:?}"))))
        .collect()
}

/// One record batch of named arrays, as an ArrowTable.
pub(crate) fn arrow_table<'py>(
    py: Python<'py>,
    cols: Vec<(&str, arrow_array::ArrayRef)>,
) -> PyResult<Bound<'py, crate::ArrowTable>> {
    let fields: Vec<arrow_schema::Field> =
        cols.iter().map(|(n, a)| arrow_schema::Field::new(*n, a.data_type().clone(), a.null_count() > 0)).collect();
    let schema = std::sync::Arc::new(arrow_schema::Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), cols.into_iter().map(|(_, a)| a).collect())
        .map_err(|e| err(e.to_string()))?;
    Bound::new(py, crate::ArrowTable::new(schema, vec![batch]))
}

/// The spans' clock (gotrace_core::lanes::SpanClock) over events batches
/// with columns ts and from_state.
pub(crate) fn clock<'a>(
    ev: &'a [RecordBatch],
    sync_rows: &'a PyBuffer<i64>,
    end_ns: i64,
) -> PyResult<gotrace_core::lanes::SpanClock<'a>> {
    use gotrace_core::take::Column;
    Ok(gotrace_core::lanes::SpanClock {
        ts: Column::ints(&chunks(ev, "ts")?).map_err(err)?,
        from_undetermined: Column::strings(&chunks(ev, "from_state")?, |s| i64::from(s == "Undetermined"))
            .map_err(err)?,
        sync_rows: contiguous(sync_rows)?,
        end_ns,
    })
}

/// The timeline's lane index (gotrace_core::lanes): `events` has columns ts,
/// from_state, to_state, resource_id and, if `lane` names it, p or m; `refs`
/// is the stored spans table (start_event, end_event); `sync_rows` an int64
/// buffer of the Sync events' rows; `states` the states kept, and
/// `state_cats` the category of each (-1: the goroutine's group, from the
/// int64 buffer `goids` and uint8 buffer `groups`, else `other`). With
/// `held` = (state, procs table), spans in that state end when their P stops
/// running (gotrace_core::lanes::ProcHeld). Returns (lanes: key, first;
/// intervals: row, cat, start, end).
#[pyfunction]
#[pyo3(signature = (events, refs, sync_rows, states, lane, origin, end_ns, state_cats, goids, groups, other, held=None))]
#[allow(clippy::too_many_arguments)]
fn span_lanes<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    refs: &Bound<'py, PyAny>,
    sync_rows: &Bound<'py, PyAny>,
    states: Vec<String>,
    lane: Option<String>,
    origin: i64,
    end_ns: i64,
    state_cats: Vec<i16>,
    goids: &Bound<'py, PyAny>,
    groups: &Bound<'py, PyAny>,
    other: u8,
    held: Option<(String, Bound<'py, PyAny>)>,
) -> PyResult<(Bound<'py, crate::ArrowTable>, Bound<'py, crate::ArrowTable>)> {
    use arrow_array::{Float64Array, Int64Array, UInt8Array};
    use gotrace_core::take::Column;
    use std::sync::Arc;
    let ev = batches(events)?;
    let rf = batches(refs)?;
    let (sync, goids, groups) =
        (PyBuffer::<i64>::get(sync_rows)?, PyBuffer::<i64>::get(goids)?, PyBuffer::<u8>::get(groups)?);
    let ints = |b, name| Column::ints(&chunks(b, name)?).map_err(err);
    let src = gotrace_core::lanes::SpanRefs {
        start_event: ints(&rf, "start_event")?,
        end_event: ints(&rf, "end_event")?,
        clock: clock(&ev, &sync, end_ns)?,
        to_state: Column::strings(&chunks(&ev, "to_state")?, |s| {
            states.iter().position(|x| x == s).map_or(-1, |i| i as i64)
        })
        .map_err(err)?,
        goid: ints(&ev, "resource_id")?,
        lane: lane.as_deref().map(|name| ints(&ev, name)).transpose()?,
        held: held
            .map(|(state, procs)| {
                let i = states.iter().position(|s| *s == state);
                PyResult::Ok((i.ok_or_else(|| err(format!("{state:?} is not a kept state")))?, proc_held(&procs)?))
            })
            .transpose()?,
    };
    let colours = gotrace_core::lanes::Colours {
        by_state: state_cats.iter().map(|&c| u8::try_from(c).ok()).collect(),
        goids: contiguous(&goids)?,
        groups: contiguous(&groups)?,
        other,
    };
    let l = py.detach(|| gotrace_core::lanes::span_lanes(&src, &colours, origin));
    let lanes = arrow_table(
        py,
        vec![("key", Arc::new(Int64Array::from(l.keys))), ("first", Arc::new(Int64Array::from(l.first)))],
    )?;
    let intervals = arrow_table(
        py,
        vec![
            ("row", Arc::new(Int64Array::from(l.rows))),
            ("cat", Arc::new(UInt8Array::from(l.cat))),
            ("start", Arc::new(Float64Array::from(l.start))),
            ("end", Arc::new(Float64Array::from(l.end))),
        ],
    )?;
    Ok((lanes, intervals))
}

/// The Running periods of the procs table (columns proc, state,
/// start_event, end).
fn proc_held(procs: &Bound<'_, PyAny>) -> PyResult<gotrace_core::lanes::ProcHeld> {
    use gotrace_core::take::Column;
    let b = batches(procs)?;
    let ints = |name| Column::ints(&chunks(&b, name)?).map_err(err);
    let (proc, start_event, end) = (ints("proc")?, ints("start_event")?, ints("end")?);
    let running = Column::strings(&chunks(&b, "state")?, |s| i64::from(s == "Running")).map_err(err)?;
    let mut h = [0usize; 4];
    let mut runs = Vec::new();
    for r in 0..proc.len() as i64 {
        if running.get(r, &mut h[0]) == 1 {
            runs.push((proc.get(r, &mut h[1]), start_event.get(r, &mut h[2]), end.get(r, &mut h[3])));
        }
    }
    Ok(gotrace_core::lanes::ProcHeld::new(runs))
}

/// Goroutines running, runnable, in a syscall and waiting in a GC mark assist
/// over time (gotrace_core::lanes::goroutine_counts): four ArrowTables of t (ns from
/// `origin`, float64) and n (int32), one row per change.
#[pyfunction]
fn goroutine_counts<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    origin: i64,
) -> PyResult<Vec<Bound<'py, crate::ArrowTable>>> {
    use arrow_array::{Float64Array, Int32Array};
    use std::sync::Arc;
    let b = batches(events)?;
    let series = py.detach(|| gotrace_core::lanes::goroutine_counts(&b, origin)).map_err(err)?;
    series
        .into_iter()
        .map(|(t, n)| {
            arrow_table(py, vec![("t", Arc::new(Float64Array::from(t))), ("n", Arc::new(Int32Array::from(n)))])
        })
        .collect()
}

/// gotrace_core::evtable::merge_sparse over `parts`, a list of (table of two
/// columns: events row, value; the value meaning "none", or None): (rows,
/// values) as int64 bytes.
#[pyfunction]
fn merge_sparse<'py>(
    py: Python<'py>,
    parts: Vec<(Bound<'py, PyAny>, Option<i64>)>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let parts = parts.iter().map(|(t, none)| Ok((batches(t)?, *none))).collect::<PyResult<Vec<_>>>()?;
    let (rows, values) = py.detach(|| gotrace_core::evtable::merge_sparse(&parts)).map_err(err)?;
    Ok((le(py, &rows, i64::to_le_bytes), le(py, &values, i64::to_le_bytes)))
}

/// Runs `f32` or `f64` over an index buffer (int32 or int64, read in place),
/// without the GIL: numpy's index arrays come in either width.
fn with_index<R: Send>(
    py: Python<'_>,
    index: &Bound<'_, PyAny>,
    f32: impl FnOnce(&[i32]) -> Result<R, String> + Send,
    f64: impl FnOnce(&[i64]) -> Result<R, String> + Send,
) -> PyResult<R> {
    match PyBuffer::<i32>::get(index) {
        Ok(c) => {
            let c = contiguous(&c)?;
            py.detach(|| f32(c))
        }
        Err(_) => {
            let c = PyBuffer::<i64>::get(index)?;
            let c = contiguous(&c)?;
            py.detach(|| f64(c))
        }
    }
    .map_err(err)
}

/// gotrace_core::group::group_sum: int64 bytes, a sum per group.
#[pyfunction]
fn group_sum<'py>(
    py: Python<'py>,
    codes: &Bound<'py, PyAny>,
    values: &Bound<'py, PyAny>,
    n_groups: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    use gotrace_core::group::group_sum as run;
    let values = PyBuffer::<i64>::get(values)?;
    let v = contiguous(&values)?;
    let sums = with_index(py, codes, |c| run(c, v, n_groups), |c| run(c, v, n_groups))?;
    Ok(le(py, &sums, i64::to_le_bytes))
}

/// gotrace_core::group::group_stats: (count, sum, the values at each
/// quantile, quantile after quantile), int64 bytes.
#[pyfunction]
fn group_stats<'py>(
    py: Python<'py>,
    codes: &Bound<'py, PyAny>,
    values: &Bound<'py, PyAny>,
    n_groups: usize,
    quantiles: Vec<f64>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    use gotrace_core::group::group_stats as run;
    let (values, q) = (PyBuffer::<i64>::get(values)?, &quantiles);
    let v = contiguous(&values)?;
    let st = with_index(py, codes, |c| run(c, v, n_groups, q), |c| run(c, v, n_groups, q))?;
    let count: Vec<i64> = st.count.into_iter().map(|n| n as i64).collect();
    let bytes = |x: &[i64]| le(py, x, i64::to_le_bytes);
    Ok((bytes(&count), bytes(&st.sum), bytes(&st.quantiles.concat())))
}

/// A column of `n` rows, null except at `rows` (int64 buffer), which hold
/// `values` (int64 buffer): gotrace_core::take::scatter, as an ArrowTable of
/// one column "value".
#[pyfunction]
fn scatter_rows<'py>(
    py: Python<'py>,
    n: usize,
    rows: &Bound<'py, PyAny>,
    values: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, crate::ArrowTable>> {
    let (rows, values) = (PyBuffer::<i64>::get(rows)?, PyBuffer::<i64>::get(values)?);
    let (r, v) = (contiguous(&rows)?, contiguous(&values)?);
    if r.len() != v.len() {
        return Err(err("scatter_rows: rows and values differ in length".into()));
    }
    let col = py.detach(|| gotrace_core::take::scatter(n, r, v));
    arrow_table(py, vec![("value", col)])
}
