//! `_core.summarize`: cmd/trace's goroutine summary over an events table
//! given back from Python (any object with `__arrow_c_stream__`, e.g. the
//! pyarrow Table that `parse` produced; imported without copying).

use arrow_array::RecordBatch;
use gotrace_core::summary::{summarize as core_summarize, RegionTasks, SummaryOptions};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::views::contiguous;
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
/// into the difference of snapshots at its ends. `regions` = (start_event,
/// end_event, task_id), int64 buffers of the regions table (-1: none), give
/// the tasks of region events. `region_stats` adds each region's stats
/// (columns `exec_ns` ... `total_ns` and the `region_block` / `region_range`
/// rows). `capacity` = (goroutine creations, region begins) or more, to size the
/// results up front. Returns a dict of tables.
#[pyfunction]
#[pyo3(signature = (
    events, namable, system, legacy_undetermined=false, legacy_sync=false, window=None,
    regions=None, region_stats=false, capacity=None,
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
    regions: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    region_stats: bool,
    capacity: Option<(usize, usize)>,
) -> PyResult<Bound<'py, PyDict>> {
    let batches = import_stream(py, events)?;
    let bufs = match &regions {
        Some((s, e, t)) => Some((PyBuffer::<i32>::get(s)?, PyBuffer::<i32>::get(e)?, PyBuffer::<i64>::get(t)?)),
        None => None,
    };
    let tasks = match &bufs {
        Some((s, e, t)) => RegionTasks { start_event: contiguous(s)?, end_event: contiguous(e)?, task: contiguous(t)? },
        None => RegionTasks::default(),
    };
    let namable: Vec<bool> = namable.iter().map(|&b| b != 0).collect();
    let system: Vec<bool> = system.iter().map(|&b| b != 0).collect();
    let opts = SummaryOptions {
        legacy_undetermined,
        legacy_sync,
        window,
        region_stats,
        capacity,
        skip_regions: false,
        skip_episodes: false,
    };
    let tables =
        py.detach(|| core_summarize(&batches, &namable, &system, opts, tasks)).map_err(|e| core_error(py, &e))?;
    let out = PyDict::new(py);
    for (name, batch) in tables {
        let schema = batch.schema();
        out.set_item(name, Bound::new(py, ArrowTable { schema, batches: vec![batch] })?)?;
    }
    Ok(out)
}
