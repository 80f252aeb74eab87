//! Streaming passes: what a view needs, computed while the trace is parsed,
//! without building its tables (gotrace_core::parse_stream).

use gotrace_core::parse_stream;
use gotrace_core::profile::{Pass, ProfileCompat};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::views::{profile_kinds, set_samples};
use crate::{result_dict, run_parse, trace_error};

/// The profile pass of `profile_samples` over a whole trace, parsed as
/// `parse` parses it (the same errors, the same damaged-tail rule) but with
/// the events handed to the pass batch by batch and dropped.
///
/// `data`, `progress` and `release_input` as for `parse` (read in place,
/// GIL released; `release_input` only for a read-only file mapping). Returns `parse`'s dict whose tables are
/// `stacks`, `frames`, one table per kind and `goroutines` (the columns of
/// `profile_samples`); the pass names goroutines by the stacks' outermost
/// frames, as `profile_samples` does with the namable stacks of
/// `views/profiles.py`.
#[pyfunction]
#[pyo3(signature = (data, kinds, skip_no_stack=false, progress=None, release_input=false))]
pub(crate) fn stream_profile<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    kinds: Vec<String>,
    skip_no_stack: bool,
    progress: Option<Py<PyAny>>,
    release_input: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let parsed_kinds = profile_kinds(&kinds)?;
    let compat = ProfileCompat { skip_no_stack };
    // Checked here, so that making each pass below cannot fail.
    Pass::new(&parsed_kinds, compat).map_err(pyo3::exceptions::PyValueError::new_err)?;
    let pass = || Pass::new(&parsed_kinds, compat).expect("kinds checked above");
    let (parsed, samples) = run_parse(py, data, progress, release_input, |data, opts| {
        parse_stream(data, opts, pass).map(|(parsed, pass)| (parsed, pass.finish()))
    })?;
    let (sets, goroutines) = samples.map_err(|e| trace_error(py, &e, None, None))?;
    let d = result_dict(py, parsed)?;
    let tables = d.get_item("tables")?.ok_or_else(|| trace_error(py, "internal error: no tables", None, None))?;
    set_samples(tables.cast::<PyDict>()?, &kinds, sets, goroutines)?;
    Ok(d)
}
