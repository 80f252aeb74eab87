//! A streaming conversion: every table of a trace handed to a Python
//! callable while the trace is parsed (gotrace_core::parse_convert), so the
//! writer holds one batch at a time, never the trace.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use gotrace_core::build::TableBatches;
use gotrace_core::parse_convert;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{result_dict, run_parse, ArrowTable};

/// Calls the sink with each batch; after its first exception it takes no more.
struct Forward {
    sink: Arc<Py<PyAny>>,
    /// Which reading of the trace this is: a damaged tail is read again from
    /// the start, and the sink then starts over.
    attempt: u32,
    /// The latest attempt: the first reading's thread may still be finishing
    /// while the second runs, and must not reach the sink.
    latest: Arc<AtomicU32>,
    error: Arc<Mutex<Option<PyErr>>>,
}

impl TableBatches for Forward {
    fn batch(&mut self, table: &'static str, batch: RecordBatch) {
        if self.latest.load(Ordering::SeqCst) != self.attempt {
            return;
        }
        let mut error = self.error.lock().unwrap_or_else(|e| e.into_inner());
        if error.is_some() {
            return;
        }
        let failed = Python::attach(|py| {
            let t = Bound::new(py, ArrowTable::new(batch.schema(), vec![batch]))?;
            self.sink.call1(py, (self.attempt, table, t)).map(drop)
        });
        if let Err(e) = failed {
            *error = Some(e);
        }
    }
}

/// Parses `data` as `parse` does (the same errors, the same damaged-tail
/// rule), calling `sink(attempt, table, batch)` with every table's record
/// batches instead of keeping them: the events table's in order as they are
/// parsed (with `task_id` and `value` as plain int64 columns at the end,
/// string dictionaries per batch), then the spans', goroutines' and
/// regions' public columns in table order (the spans' reasons with a
/// dictionary per batch), then every other table, and `error` if the
/// temporary file that sorts them failed. A larger `attempt` means the trace
/// is being read again (a damaged tail): start over. Returns `parse`'s dict,
/// whose tables are `stacks` and `frames`. An exception from `sink` stops
/// the calls and is raised here.
#[pyfunction]
#[pyo3(signature = (data, sink, progress=None, release_input=false))]
pub(crate) fn convert_stream<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    sink: Py<PyAny>,
    progress: Option<Py<PyAny>>,
    release_input: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let sink = Arc::new(sink);
    let error = Arc::new(Mutex::new(None));
    let latest = Arc::new(AtomicU32::new(0));
    let consumer = || {
        let attempt = latest.fetch_add(1, Ordering::SeqCst) + 1;
        Forward { sink: sink.clone(), attempt, latest: latest.clone(), error: error.clone() }
    };
    let (parsed, _) = run_parse(py, data, progress, release_input, |data, opts| parse_convert(data, opts, consumer))?;
    if let Some(e) = error.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(e);
    }
    result_dict(py, parsed)
}
