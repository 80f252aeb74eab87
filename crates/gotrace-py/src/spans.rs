//! `_core.span_columns`: gotrace_core::spans over the events table and the
//! stored spans.

use gotrace_core::spans::{self, Refs, Source, Want};
use gotrace_core::take::Column;
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::views::{arrow_table, batches, chunks, clock, contiguous};
use crate::ArrowTable;

/// Columns of the spans (gotrace_core::spans::span_columns), at positions
/// `subset` (an int64 buffer) if given. `events` has the events columns
/// read (and ts, from_state if a time is wanted), `refs` is the stored spans
/// table (start_event, end_event), `sync_rows` an int64 buffer of the Sync
/// events' rows. Each of `columns` is (name, "start_event" or "end_event",
/// the events column read at that event, or None for the span's time there).
#[pyfunction]
#[pyo3(signature = (events, refs, sync_rows, end_ns, columns, subset=None))]
pub fn span_columns<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    refs: &Bound<'py, PyAny>,
    sync_rows: &Bound<'py, PyAny>,
    end_ns: i64,
    columns: Vec<(String, String, Option<String>)>,
    subset: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, ArrowTable>> {
    let (ev, rf) = (batches(events)?, batches(refs)?);
    let sync = PyBuffer::<i64>::get(sync_rows)?;
    let subset = subset.map(PyBuffer::<i64>::get).transpose()?;
    let subset = subset.as_ref().map(contiguous).transpose()?;
    let err = PyValueError::new_err;
    let timed = columns.iter().any(|c| c.2.is_none());
    let clock = if timed { Some(clock(&ev, &sync, end_ns)?) } else { None };
    let start_event = Column::ints(&chunks(&rf, "start_event")?).map_err(err)?;
    let end_event = Column::ints(&chunks(&rf, "end_event")?).map_err(err)?;
    let wants = columns
        .iter()
        .map(|(name, at, source)| {
            let at_end = match at.as_str() {
                "start_event" => false,
                "end_event" => true,
                _ => return Err(err(format!("{name}: no span reference {at:?}"))),
            };
            let source = match source {
                Some(c) => Source::Event(chunks(&ev, c)?),
                None => Source::Time,
            };
            Ok(Want { at_end, source })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let chunk_lens: Vec<usize> = ev.iter().map(|b| b.num_rows()).collect();
    let refs =
        Refs { start_event: &start_event, end_event: &end_event, chunk_lens: &chunk_lens, clock: clock.as_ref() };
    let out = py.detach(|| spans::span_columns(&refs, &wants, subset)).map_err(err)?;
    arrow_table(py, columns.iter().map(|c| c.0.as_str()).zip(out).collect())
}
