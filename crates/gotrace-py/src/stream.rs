//! Streaming passes: what a view needs, computed while the trace is parsed,
//! without building its tables (gotrace_core::parse_stream).

use arrow_array::RecordBatch;
use gotrace_core::analysis::tasks;
use gotrace_core::build::EventBatches;
use gotrace_core::profile::{Pass, ProfileCompat};
use gotrace_core::summary::{self, SummaryOptions};
use gotrace_core::{mmu, parse_stream, TraceError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::views::{profile_kinds, series_bytes, set_samples};
use crate::{core_error, result_dict, run_parse, trace_error, ArrowTable};

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

/// The Summarizer of `summarize` over a whole trace, parsed as `parse`
/// parses it (the same errors, the same damaged-tail rule) but with the
/// events handed to the Summarizer batch by batch and dropped.
///
/// `data`, `progress` and `release_input` as for `parse`;
/// `legacy_undetermined`, `legacy_sync` and `window` as for `summarize`
/// (the window is clipped to the trace's start, as the views clip it);
/// `regions` false: the goroutines alone, with empty region tables.
/// Returns `parse`'s dict whose tables are `stacks`, `frames` and the
/// tables of `summarize`; the stacks that name goroutines and system
/// goroutines are those `stack_names` finds in the frames.
#[pyfunction]
#[pyo3(signature = (
    data, legacy_undetermined=false, legacy_sync=false, window=None, regions=true, progress=None,
    release_input=false,
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn stream_summary<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    legacy_undetermined: bool,
    legacy_sync: bool,
    window: Option<(i64, i64)>,
    regions: bool,
    progress: Option<Py<PyAny>>,
    release_input: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let skip_regions = !regions;
    let opts = SummaryOptions { legacy_undetermined, legacy_sync, window, skip_regions, ..Default::default() };
    summary_tables(py, data, progress, release_input, || summary::Pass::new(opts), summary::Pass::finish)
}

/// What the user-task views read, over a whole trace parsed as
/// `stream_summary` parses it: the tables of `stream_summary` (without a
/// window; `episodes` empty) and `task_events` and `task_logs`
/// (`gotrace_core::tasks`). `legacy_undetermined` and `legacy_sync` as for
/// `summarize`.
#[pyfunction]
#[pyo3(signature = (data, legacy_undetermined=false, legacy_sync=false, progress=None, release_input=false))]
pub(crate) fn stream_tasks<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    legacy_undetermined: bool,
    legacy_sync: bool,
    progress: Option<Py<PyAny>>,
    release_input: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = SummaryOptions { legacy_undetermined, legacy_sync, skip_episodes: true, ..Default::default() };
    summary_tables(py, data, progress, release_input, || tasks::Pass::new(opts), tasks::Pass::finish)
}

/// `parse`'s dict for a streaming parse with the pass `make` makes, its
/// tables `stacks`, `frames` and those `finish` gives of the pass, told
/// which stacks name system goroutines (`stack_names` of the frames).
fn summary_tables<'py, P: EventBatches + 'static>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    progress: Option<Py<PyAny>>,
    release_input: bool,
    make: impl Fn() -> P + Send,
    finish: impl FnOnce(P, &[bool]) -> Result<Vec<(&'static str, RecordBatch)>, TraceError> + Send,
) -> PyResult<Bound<'py, PyDict>> {
    let (parsed, pass) =
        run_parse(py, data, progress, release_input, |data, parse_opts| parse_stream(data, parse_opts, make))?;
    let frames = parsed.tables.iter().find(|(n, _)| *n == "frames").map(|(_, t)| t.as_slice()).unwrap_or_default();
    let (_, system) = summary::stack_names(frames).map_err(|e| trace_error(py, &e, None, None))?;
    let tables = py.detach(|| finish(pass, &system)).map_err(|e| core_error(py, &e))?;
    let d = result_dict(py, parsed)?;
    let out = d.get_item("tables")?.ok_or_else(|| trace_error(py, "internal error: no tables", None, None))?;
    let out = out.cast::<PyDict>()?;
    for (name, batch) in tables {
        let schema = batch.schema();
        out.set_item(name, Bound::new(py, ArrowTable { schema, batches: vec![batch] })?)?;
    }
    Ok(d)
}

/// Per stack ID of `frames` (the frames table, any object with
/// `__arrow_c_stream__`), as bytes (1 = true): whether the stack names a
/// goroutine (its outermost frame has a function) and whether that is a
/// system goroutine's: the `namable` and `system` of `summarize`.
#[pyfunction]
pub(crate) fn stack_names<'py>(py: Python<'py>, frames: &Bound<'py, PyAny>) -> PyResult<(Vec<u8>, Vec<u8>)> {
    let batches = crate::views::batches(frames)
        .map_err(|e| trace_error(py, &format!("cannot import the frames table: {e}"), None, None))?;
    let (named, system) = summary::stack_names(&batches).map_err(|e| trace_error(py, &e, None, None))?;
    let bytes = |v: Vec<bool>| v.into_iter().map(u8::from).collect();
    Ok((bytes(named), bytes(system)))
}

/// `mutator_utilization` over a whole trace, parsed as `parse` parses it
/// (the same errors, the same damaged-tail rule) but with the events handed
/// to the utilisation pass batch by batch and dropped. `data`, `progress`
/// and `release_input` as for `parse`, `flags` as for `mutator_utilization`.
/// Returns `parse`'s dict (tables `stacks` and `frames`) with `series`, the
/// list `mutator_utilization` returns.
#[pyfunction]
#[pyo3(signature = (data, flags, progress=None, release_input=false))]
pub(crate) fn stream_mmu<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    flags: u32,
    progress: Option<Py<PyAny>>,
    release_input: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let (parsed, pass) =
        run_parse(py, data, progress, release_input, |data, opts| parse_stream(data, opts, || mmu::Pass::new(flags)))?;
    let series = pass.finish().map_err(|e| trace_error(py, &e, None, None))?;
    let d = result_dict(py, parsed)?;
    d.set_item("series", series_bytes(py, &series))?;
    Ok(d)
}
