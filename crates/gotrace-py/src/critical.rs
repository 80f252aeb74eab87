//! `_core.critical_paths`: gotrace_core::critical over int64 columns from
//! Python (numpy arrays, read in place).

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, Int8Array};
use gotrace_core::critical::{self, Assists, Queries, Spans};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::views::{arrow_table, contiguous};
use crate::ArrowTable;

/// The int64 buffers of `n` columns.
fn buffers(cols: &[Bound<'_, PyAny>], n: usize, what: &str) -> PyResult<Vec<PyBuffer<i64>>> {
    if cols.len() != n {
        return Err(PyValueError::new_err(format!("{what}: expected {n} columns, got {}", cols.len())));
    }
    cols.iter().map(PyBuffer::<i64>::get).collect()
}

/// The critical path of each query (gotrace_core::critical). `spans`: goid,
/// state, start, end, stack, end_stack, link_kind, link, link_stack sorted
/// by (goid, start); `assists`: goid, start, end, stack sorted likewise;
/// `queries`: goid, start, end, stack. Returns the segments: query, goid,
/// category, span, start, end, stack (int64) and edge (int8, -1 = none).
#[pyfunction]
pub fn critical_paths<'py>(
    py: Python<'py>,
    spans: Vec<Bound<'py, PyAny>>,
    assists: Vec<Bound<'py, PyAny>>,
    queries: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, ArrowTable>> {
    let (sb, ab, qb) =
        (buffers(&spans, 9, "spans")?, buffers(&assists, 4, "assists")?, buffers(&queries, 4, "queries")?);
    let s = sb.iter().map(contiguous).collect::<PyResult<Vec<_>>>()?;
    let a = ab.iter().map(contiguous).collect::<PyResult<Vec<_>>>()?;
    let q = qb.iter().map(contiguous).collect::<PyResult<Vec<_>>>()?;
    let spans = Spans {
        goid: s[0],
        state: s[1],
        start: s[2],
        end: s[3],
        stack: s[4],
        end_stack: s[5],
        link_kind: s[6],
        link: s[7],
        link_stack: s[8],
    };
    let assists = Assists { goid: a[0], start: a[1], end: a[2], stack: a[3] };
    let queries = Queries { goid: q[0], start: q[1], end: q[2], stack: q[3] };
    let out = py.detach(|| critical::critical_paths(&spans, &assists, &queries)).map_err(PyValueError::new_err)?;
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
        ],
    )
}
