//! Streaming passes: what a view needs, computed while the trace is parsed,
//! without building its tables (gotrace_core::parse_stream).

use std::panic::{self, AssertUnwindSafe};

use gotrace_core::profile::{Pass, ProfileCompat};
use gotrace_core::{parse_stream, ParseOptions};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::views::{profile_kinds, set_samples};
use crate::{core_error, panic_message, result_dict, trace_error};

/// The profile pass of `profile_samples` over a whole trace, parsed as
/// `parse` parses it (the same errors, the same damaged-tail rule) but with
/// the events handed to the pass batch by batch and dropped.
///
/// `data` as for `parse` (read in place, GIL released; `release_input` only
/// for a read-only file mapping). Returns `parse`'s dict whose tables are
/// `stacks`, `frames`, one table per kind and `goroutines` (the columns of
/// `profile_samples`); the pass names goroutines by the stacks' outermost
/// frames, as `profile_samples` does with the namable stacks of
/// `views/profiles.py`.
#[pyfunction]
#[pyo3(signature = (data, kinds, skip_no_stack=false, release_input=false))]
pub(crate) fn stream_profile<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    kinds: Vec<String>,
    skip_no_stack: bool,
    release_input: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let parsed_kinds = profile_kinds(&kinds)?;
    let compat = ProfileCompat { skip_no_stack };
    // Checked here, so that making each pass below cannot fail.
    Pass::new(&parsed_kinds, compat).map_err(pyo3::exceptions::PyValueError::new_err)?;
    let buffer = PyUntypedBuffer::get(data)?;
    if !buffer.is_c_contiguous() {
        return Err(trace_error(py, "trace data must be a contiguous buffer", None, None));
    }
    let (addr, len) = (buffer.buf_ptr() as usize, buffer.len_bytes());
    let outcome = py.detach(|| {
        // SAFETY: as in `parse`: the held export pins `len` bytes at `addr`
        // until `buffer.release` below.
        let data: &[u8] = if len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(addr as *const u8, len) } };
        let opts = ParseOptions { progress: None, release_input };
        let pass = || Pass::new(&parsed_kinds, compat).expect("kinds checked above");
        panic::catch_unwind(AssertUnwindSafe(|| {
            parse_stream(data, opts, pass).map(|(parsed, pass)| (parsed, pass.finish()))
        }))
    });
    buffer.release(py);
    let (parsed, samples) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(core_error(py, &e)),
        Err(payload) => {
            let msg = panic_message(payload.as_ref());
            let msg = format!("internal error: {msg} (please report this with the trace file)");
            return Err(trace_error(py, &msg, None, None));
        }
    };
    let (sets, goroutines) = samples.map_err(|e| trace_error(py, &e, None, None))?;
    let d = result_dict(py, parsed)?;
    let tables = d.get_item("tables")?.ok_or_else(|| trace_error(py, "internal error: no tables", None, None))?;
    set_samples(tables.cast::<PyDict>()?, &kinds, sets, goroutines)?;
    Ok(d)
}
