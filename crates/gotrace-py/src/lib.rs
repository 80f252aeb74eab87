//! The Python face of gotrace-core: `gotrace_df._core`.
//!
//! Only type and error conversion lives here. Tables leave through the Arrow C
//! stream interface (`__arrow_c_stream__`), so pyarrow takes the core's buffers
//! without copying them.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::SchemaRef;
use gotrace_core::{ParseOptions, ParsedTrace};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyCapsule, PyDict};

mod views;

mod summary;

mod raw;

mod critical;

mod convert;
mod spans;
mod stream;

// Named `gotrace_df.TraceError` because that is where users catch it from
// (gotrace_df re-exports this class).
pyo3::create_exception!(
    gotrace_df,
    TraceError,
    PyValueError,
    "A Go execution trace could not be read: what is wrong, and where.\n\n\
     Attributes `offset` (byte offset in the input) and `generation` (wire generation\n\
     being read) are ints, or None when unknown."
);

/// Payload of the unwind that aborts a parse when the progress callback raised.
struct Cancelled;

fn trace_error(py: Python<'_>, message: &str, offset: Option<u64>, generation: Option<u64>) -> PyErr {
    let err = TraceError::new_err(message.to_owned());
    let value = err.value(py);
    // Setting attributes on a fresh exception instance cannot fail in practice;
    // if it did, the class-level defaults (None) still apply.
    let _ = value.setattr("offset", offset);
    let _ = value.setattr("generation", generation);
    err
}

fn core_error(py: Python<'_>, e: &gotrace_core::TraceError) -> PyErr {
    trace_error(py, &e.to_string(), e.offset, e.generation)
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// One table (one or more record batches of one schema), exported to Python
/// through the Arrow PyCapsule interface.
#[pyclass(module = "gotrace_df._core", frozen)]
struct ArrowTable {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl ArrowTable {
    fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        ArrowTable { schema, batches }
    }
}

impl ArrowTable {
    fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

#[pymethods]
impl ArrowTable {
    /// Exports the table as an `ArrowArrayStream` capsule (zero copy).
    ///
    /// `requested_schema` is accepted for protocol compatibility and ignored:
    /// the table is always given in its own schema.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        // Cloning batches clones Arcs to the buffers, not the data.
        let batches: Vec<_> = self.batches.iter().cloned().map(Ok).collect();
        let reader = RecordBatchIterator::new(batches, self.schema.clone());
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        // The consumer moves the stream out (leaving `release` null); if it never
        // does, dropping the box releases it.
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }

    #[getter]
    fn num_rows(&self) -> usize {
        self.rows()
    }

    fn __len__(&self) -> usize {
        self.rows()
    }

    fn __repr__(&self) -> String {
        format!(
            "<ArrowTable {} rows x {} columns in {} batches>",
            self.rows(),
            self.schema.fields().len(),
            self.batches.len()
        )
    }
}

fn result_dict<'py>(py: Python<'py>, parsed: ParsedTrace) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("version", parsed.version)?;
    d.set_item("start_ns", parsed.start_ns)?;
    d.set_item("end_ns", parsed.end_ns)?;
    d.set_item("generations", parsed.generations)?;
    d.set_item("frequency", parsed.frequency)?;
    d.set_item("bytes_used", parsed.bytes_used)?;
    d.set_item("bytes_total", parsed.bytes_total)?;
    match &parsed.tail_error {
        None => d.set_item("tail_error", py.None())?,
        Some(e) => {
            let t = PyDict::new(py);
            t.set_item("message", e.to_string())?;
            t.set_item("offset", e.offset)?;
            t.set_item("generation", e.generation)?;
            d.set_item("tail_error", t)?;
        }
    }
    let tables = PyDict::new(py);
    for (name, batches) in parsed.tables {
        // The core gives every table at least one (maybe empty) batch: the
        // schema travels with it.
        let Some(first) = batches.first() else {
            return Err(trace_error(py, &format!("internal error: table {name} came without a schema"), None, None));
        };
        let schema = first.schema();
        tables.set_item(name, Bound::new(py, ArrowTable { schema, batches })?)?;
    }
    d.set_item("tables", tables)?;
    Ok(d)
}

/// Parses a whole Go execution trace.
///
/// `data` is any object with the buffer protocol (bytes, bytearray, mmap,
/// memoryview); it is read in place, without a copy, with the GIL released.
/// `progress`, if given, is called as `progress(done_bytes, total_bytes)`; an
/// exception it raises stops the parse and propagates. `release_input` says
/// `data` is a read-only mmap of a file, whose pages can be handed back to
/// the kernel once read; never pass it for other memory.
/// `threads`, if given, is how many threads this parse may use (else the
/// count of `get_threads`).
#[pyfunction]
#[pyo3(signature = (data, progress=None, release_input=false, threads=None))]
fn parse<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    progress: Option<Py<PyAny>>,
    release_input: bool,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let threads = Some(match threads {
        Some(n) => thread_count(n)?,
        None => configured_threads()?,
    });
    let parsed = run_parse(py, data, progress, release_input, |data, opts| {
        gotrace_core::threads::with(threads, || gotrace_core::parse(data, opts))
    })?;
    result_dict(py, parsed)
}

/// Runs `parse` (the core's `parse` or a streaming pass) over `data` as
/// [`parse`] documents it: the buffer read in place with the GIL released,
/// `progress` called now and then (Ctrl-C and its exceptions stop the parse),
/// and every failure a `TraceError`.
pub(crate) fn run_parse<T: Send>(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    progress: Option<Py<PyAny>>,
    release_input: bool,
    parse: impl FnOnce(&[u8], ParseOptions<'_>) -> Result<T, gotrace_core::TraceError> + Send,
) -> PyResult<T> {
    let buffer = PyUntypedBuffer::get(data)?;
    if !buffer.is_c_contiguous() {
        return Err(trace_error(py, "trace data must be a contiguous buffer", None, None));
    }
    let len = buffer.len_bytes();
    let ptr = NonNull::new(buffer.buf_ptr().cast::<u8>()).unwrap_or(NonNull::dangling());
    // Both are addresses/sizes, hence Send: the closure below runs without the GIL.
    let addr = ptr.as_ptr() as usize;

    let mut callback_error: Option<PyErr> = None;
    let outcome = py.detach(|| {
        // SAFETY: `buffer` stays alive (the export is held) until after this
        // closure returns, and a held export pins the memory: bytearray and mmap
        // refuse to resize while it exists. `len` is the exported length.
        let data: &[u8] = unsafe { std::slice::from_raw_parts(addr as *const u8, len) };
        let mut hook = |done: u64, total: u64| {
            if let Some(cb) = &progress {
                let failed = Python::attach(|py| {
                    // Let Ctrl-C interrupt a long parse when someone is watching it.
                    py.check_signals().and_then(|()| cb.call1(py, (done, total)).map(drop)).err()
                });
                if let Some(err) = failed {
                    callback_error = Some(err);
                    // resume_unwind skips the panic hook: nothing is printed.
                    panic::resume_unwind(Box::new(Cancelled));
                }
            }
        };
        let opts = ParseOptions {
            progress: if progress.is_some() { Some(&mut hook as &mut dyn FnMut(u64, u64)) } else { None },
            release_input,
        };
        panic::catch_unwind(AssertUnwindSafe(|| parse(data, opts)))
    });
    buffer.release(py);

    match outcome {
        Ok(Ok(parsed)) => Ok(parsed),
        Ok(Err(e)) => Err(core_error(py, &e)),
        Err(payload) => {
            if payload.is::<Cancelled>() {
                if let Some(err) = callback_error {
                    return Err(err);
                }
            }
            Err(trace_error(
                py,
                &format!(
                    "internal error: {} (please report this with the trace file)",
                    panic_message(payload.as_ref())
                ),
                None,
                None,
            ))
        }
    }
}

/// A thread count from Python: an int (not a bool) the core accepts, else
/// ValueError.
fn thread_count(n: &Bound<'_, PyAny>) -> PyResult<usize> {
    let int = if n.is_instance_of::<PyBool>() { None } else { n.extract::<i64>().ok() };
    int.and_then(gotrace_core::threads::count).ok_or_else(|| {
        let shown = n.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string());
        PyValueError::new_err(format!(
            "threads must be an integer from 1 to {}, got {shown}",
            gotrace_core::threads::MAX
        ))
    })
}

fn configured_threads() -> PyResult<usize> {
    gotrace_core::threads::configured().map_err(PyValueError::new_err)
}

/// Sets how many threads the core may use, for every call after this one
/// (`None`: back to `GOTRACE_DF_THREADS`, else the cores available);
/// ValueError unless 1 <= n <= 1024.
#[pyfunction]
#[pyo3(signature = (n))]
fn set_threads(n: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    gotrace_core::threads::set(n.map(thread_count).transpose()?);
    Ok(())
}

/// How many threads the core may use; ValueError when that comes from a
/// `GOTRACE_DF_THREADS` that is no count.
#[pyfunction]
fn get_threads() -> PyResult<usize> {
    configured_threads()
}

/// The trace format version of a trace's first 16 bytes, or TraceError (at
/// offset 0) when they are no Go trace header the core reads. Lets a reader of
/// a stream (a download, a gzip) stop on its first bytes.
#[pyfunction]
fn read_header(py: Python<'_>, head: &[u8]) -> PyResult<u32> {
    gotrace_core::wire::read_header(head).map_err(|e| core_error(py, &e))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let err_type = py.get_type::<TraceError>();
    err_type.setattr("offset", py.None())?;
    err_type.setattr("generation", py.None())?;
    m.add("TraceError", err_type)?;
    m.add_class::<ArrowTable>()?;
    m.add_function(wrap_pyfunction!(parse, m)?)?;
    m.add_function(wrap_pyfunction!(read_header, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_threads, m)?)?;
    views::register(m)?;
    m.add_function(wrap_pyfunction!(summary::summarize, m)?)?;
    m.add_function(wrap_pyfunction!(raw::read_raw, m)?)?;
    m.add_function(wrap_pyfunction!(raw::raw_specs, m)?)?;
    m.add_function(wrap_pyfunction!(raw::sort_order, m)?)?;
    m.add_function(wrap_pyfunction!(critical::critical_paths, m)?)?;
    m.add_function(wrap_pyfunction!(stream::stream_profile, m)?)?;
    m.add_function(wrap_pyfunction!(stream::stream_summary, m)?)?;
    m.add_function(wrap_pyfunction!(stream::stream_tasks, m)?)?;
    m.add_function(wrap_pyfunction!(stream::stack_names, m)?)?;
    m.add_function(wrap_pyfunction!(stream::stream_mmu, m)?)?;
    m.add_function(wrap_pyfunction!(convert::convert_stream, m)?)?;
    m.add_function(wrap_pyfunction!(spans::span_columns, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
