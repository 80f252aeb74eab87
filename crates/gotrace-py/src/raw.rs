//! `_core.read_raw`, `_core.raw_specs`, `_core.sort_order`: the raw wire
//! events and Go's sort, for `go tool trace -d=wire|footprint`.

use gotrace_core::raw;
use gotrace_core::spec::SPECS;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{trace_error, ArrowTable};

/// Up to `max_events` raw wire events of `data` (a whole trace) from offset
/// `start` (0, or a previous result's `next`): a dict with `version`,
/// `num_specs` (entries of the spec table that version knows), `events` (a
/// table: type, offset, size, args, data), `next` (where to go on, None at the
/// end) and `error`: None, or the TraceError where Go's raw reader fails after
/// those events (message as Go's, `offset` at the failing event). A bad
/// header raises that TraceError.
#[pyfunction]
pub fn read_raw<'py>(py: Python<'py>, data: &[u8], start: usize, max_events: usize) -> PyResult<Bound<'py, PyDict>> {
    // Go's messages, bare: `go tool trace` prints them as they are.
    let err = |e: &gotrace_core::TraceError| trace_error(py, &e.message, e.offset, e.generation);
    let r = py.detach(|| raw::read(data, start, max_events)).map_err(|e| err(&e))?;
    let d = PyDict::new(py);
    d.set_item("version", r.version)?;
    d.set_item("num_specs", r.num_specs)?;
    let schema = r.events.schema();
    d.set_item("events", Bound::new(py, ArrowTable::new(schema, vec![r.events]))?)?;
    d.set_item("next", r.next)?;
    d.set_item("error", r.error.as_ref().map(|e| err(e).into_value(py)))?;
    Ok(d)
}

/// The newest spec table, indexed by type: (name, argument names, is_stack,
/// has_data); unused types have an empty name.
#[pyfunction]
pub fn raw_specs() -> Vec<(&'static str, Vec<&'static str>, bool, bool)> {
    (0..SPECS.len())
        .map(|t| {
            let s = &SPECS[t];
            // Lossless: the table has fewer than 256 entries.
            let t = t as u8;
            (s.name, s.args.to_vec(), raw::is_stack(t), raw::has_data(t))
        })
        .collect()
}

/// The positions of `keys` in the order Go's `slices.SortFunc` leaves them,
/// comparing by key (reversed when `descending`).
#[pyfunction]
#[pyo3(signature = (keys, descending=false))]
pub fn sort_order(keys: Vec<i64>, descending: bool) -> Vec<usize> {
    gotrace_core::pdqsort::sort_order(&keys, descending)
}
