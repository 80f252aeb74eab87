//! `_core.summarize`: cmd/trace's goroutine summary over an events table
//! given back from Python (any object with `__arrow_c_stream__`, e.g. the
//! pyarrow Table that `parse` produced; imported without copying).

use arrow_array::RecordBatch;
use gotrace_core::summary::{summarize as core_summarize, SummaryOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{core_error, trace_error, ArrowTable};

fn import_stream(py: Python<'_>, table: &Bound<'_, PyAny>) -> PyResult<Vec<RecordBatch>> {
    crate::views::batches(table)
        .map_err(|e| trace_error(py, &format!("cannot import the events table: {e}"), None, None))
}

/// Runs cmd/trace's Summarizer over `events` (the events table).
///
/// `namable` and `system` are bytes indexed by stack ID (1 = true): whether the
/// stack names a goroutine, and whether that name is a system goroutine's.
/// `legacy_undetermined` selects Go 1.22-1.25 handling of goroutines first seen
/// through a status event, `legacy_sync` the Go 1.22-1.24 readers' Sync
/// placement (and the event times that follow from it); `window` = (start_ns, end_ns) turns goroutine stats
/// into the difference of snapshots at its ends. `task_rows`/`task_values`
/// (int64 buffers) stand for the events' task_id column when the table has
/// none. `capacity` = (goroutine creations, region begins) or more, to size the
/// results up front. Returns a dict of tables.
#[pyfunction]
#[pyo3(signature = (
    events, namable, system, legacy_undetermined=false, legacy_sync=false, window=None,
    task_rows=None, task_values=None, capacity=None,
))]
#[allow(clippy::too_many_arguments)]
pub fn summarize<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    namable: Vec<u8>,
    system: Vec<u8>,
    legacy_undetermined: bool,
    legacy_sync: bool,
    window: Option<(i64, i64)>,
    task_rows: Option<&Bound<'py, PyAny>>,
    task_values: Option<&Bound<'py, PyAny>>,
    capacity: Option<(usize, usize)>,
) -> PyResult<Bound<'py, PyDict>> {
    let batches = import_stream(py, events)?;
    let bufs = crate::views::sparse_buffers(task_rows, task_values)?;
    let tasks = crate::views::sparse(&bufs)?;
    let namable: Vec<bool> = namable.iter().map(|&b| b != 0).collect();
    let system: Vec<bool> = system.iter().map(|&b| b != 0).collect();
    let opts = SummaryOptions { legacy_undetermined, legacy_sync, window, capacity };
    let tables = py
        .detach(|| core_summarize(&batches, &namable, &system, opts, tasks.as_ref()))
        .map_err(|e| core_error(py, &e))?;
    let out = PyDict::new(py);
    for (name, batch) in tables {
        let schema = batch.schema();
        out.set_item(name, Bound::new(py, ArrowTable { schema, batches: vec![batch] })?)?;
    }
    Ok(out)
}
