//! `_core.critical_paths`: gotrace_core::critical over int64 columns from
//! Python (numpy arrays, read in place).

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int64Array, Int8Array};
use gotrace_core::critical::{self, Assists, Events, Queries, Spans};
use gotrace_core::take::Column;
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::views::{arrow_table, batches, chunks, contiguous};
use crate::ArrowTable;

/// The int64 buffers of `n` columns.
fn buffers(cols: &[Bound<'_, PyAny>], n: usize, what: &str) -> PyResult<Vec<PyBuffer<i64>>> {
    if cols.len() != n {
        return Err(PyValueError::new_err(format!("{what}: expected {n} columns, got {}", cols.len())));
    }
    cols.iter().map(PyBuffer::<i64>::get).collect()
}

/// The critical path of each query (gotrace_core::critical). `spans`: goid,
/// start, end, start_event, end_event in the spans table's order; `events`:
/// a table of the events' g, stack_id, transition_stack_id, from_state and
/// to_state; `assists`: goid, start, end, stack sorted by (goid, start);
/// `queries`: goid, start, end, stack. Returns the segments: query, goid,
/// category, span, start, end, stack (int64), edge (int8, -1 = none) and
/// leaf (bool).
#[pyfunction]
pub fn critical_paths<'py>(
    py: Python<'py>,
    spans: Vec<Bound<'py, PyAny>>,
    events: &Bound<'py, PyAny>,
    assists: Vec<Bound<'py, PyAny>>,
    queries: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, ArrowTable>> {
    let (sb, ab, qb) =
        (buffers(&spans, 5, "spans")?, buffers(&assists, 4, "assists")?, buffers(&queries, 4, "queries")?);
    let eb = batches(events)?;
    let ints = |name: &str| Column::ints(&chunks(&eb, name)?).map_err(PyValueError::new_err);
    let is = |name: &str, state: &'static str| {
        Column::strings(&chunks(&eb, name)?, move |s| i64::from(s == state)).map_err(PyValueError::new_err)
    };
    let state = |s: &str| match s {
        "Running" => critical::RUNNING,
        "Runnable" => critical::RUNNABLE,
        "Waiting" => critical::WAITING,
        "Syscall" => critical::SYSCALL,
        _ => -1,
    };
    let ev = Events {
        g: ints("g")?,
        stack: ints("stack_id")?,
        transition_stack: ints("transition_stack_id")?,
        to_state: Column::strings(&chunks(&eb, "to_state")?, state).map_err(PyValueError::new_err)?,
        from_not_exist: is("from_state", "NotExist")?,
        to_runnable: is("to_state", "Runnable")?,
    };
    let s = sb.iter().map(contiguous).collect::<PyResult<Vec<_>>>()?;
    let a = ab.iter().map(contiguous).collect::<PyResult<Vec<_>>>()?;
    let q = qb.iter().map(contiguous).collect::<PyResult<Vec<_>>>()?;
    let spans = Spans { goid: s[0], start: s[1], end: s[2], start_event: s[3], end_event: s[4] };
    let assists = Assists { goid: a[0], start: a[1], end: a[2], stack: a[3] };
    let queries = Queries { goid: q[0], start: q[1], end: q[2], stack: q[3] };
    let out = py.detach(|| critical::critical_paths(&spans, &ev, &assists, &queries)).map_err(PyValueError::new_err)?;
    let col = |v: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from(v)) };
    let col8 = |v: Vec<i8>| -> ArrayRef { Arc::new(Int8Array::from(v)) };
    arrow_table(
        py,
        vec![
            ("query", col(out.query)),
            ("goid", col(out.goid)),
            ("category", col8(out.category)),
            ("span", col(out.span)),
            ("start", col(out.start)),
            ("end", col(out.end)),
            ("stack", col(out.stack)),
            ("edge", col8(out.edge)),
            ("leaf", Arc::new(BooleanArray::from(out.leaf)) as ArrayRef),
        ],
    )
}
