//! `_core.critical_paths`: gotrace_core::critical over the spans and events
//! tables (Arrow, read in place) and int64 columns from Python.

use std::cell::RefCell;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int32Array, Int64Array, Int8Array};
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

/// The critical path of each query (gotrace_core::critical). `spans`: a
/// table of goid, start, end, start_event, end_event in the spans table's
/// order; `events`: a table of the events' g, stack_id, transition_stack_id,
/// from_state, to_state and reason; `assists`: goid, start, end, stack
/// sorted by (goid, start); `queries`: goid, start, end, stack. Returns the
/// segments: query, goid, category (int8), start, end, stack (int64), edge
/// (int8, -1 = none), leaf (bool) and reason (int32: a position in the
/// reasons returned alongside, in the order they first appear; -1 but on
/// blocked segments).
#[pyfunction]
pub fn critical_paths<'py>(
    py: Python<'py>,
    spans: &Bound<'py, PyAny>,
    events: &Bound<'py, PyAny>,
    assists: Vec<Bound<'py, PyAny>>,
    queries: Vec<Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, ArrowTable>, Vec<String>)> {
    let (ab, qb) = (buffers(&assists, 4, "assists")?, buffers(&queries, 4, "queries")?);
    let (sb, eb) = (batches(spans)?, batches(events)?);
    let err = PyValueError::new_err;
    let ints = |b, name: &str| Column::ints(&chunks(b, name)?).map_err(err);
    let is = |name: &str, state: &'static str| {
        Column::strings(&chunks(&eb, name)?, move |s| i64::from(s == state)).map_err(err)
    };
    let state = |s: &str| match s {
        "Running" => critical::RUNNING,
        "Runnable" => critical::RUNNABLE,
        "Waiting" => critical::WAITING,
        "Syscall" => critical::SYSCALL,
        _ => -1,
    };
    // Each distinct reason a code, in the order the dictionaries list them.
    let words: RefCell<Vec<String>> = RefCell::default();
    let word = |s: &str| {
        let mut w = words.borrow_mut();
        let at = w.iter().position(|x| x == s).unwrap_or_else(|| {
            w.push(s.to_owned());
            w.len() - 1
        });
        at as i64
    };
    let ev = Events {
        g: ints(&eb, "g")?,
        stack: ints(&eb, "stack_id")?,
        transition_stack: ints(&eb, "transition_stack_id")?,
        to_state: Column::strings(&chunks(&eb, "to_state")?, state).map_err(err)?,
        from_not_exist: is("from_state", "NotExist")?,
        to_runnable: is("to_state", "Runnable")?,
        reason: Column::strings(&chunks(&eb, "reason")?, word).map_err(err)?,
    };
    let spans = Spans {
        goid: ints(&sb, "goid")?,
        start: ints(&sb, "start")?,
        end: ints(&sb, "end")?,
        start_event: ints(&sb, "start_event")?,
        end_event: ints(&sb, "end_event")?,
    };
    let a = ab.iter().map(contiguous).collect::<PyResult<Vec<_>>>()?;
    let q = qb.iter().map(contiguous).collect::<PyResult<Vec<_>>>()?;
    let assists = Assists { goid: a[0], start: a[1], end: a[2], stack: a[3] };
    let queries = Queries { goid: q[0], start: q[1], end: q[2], stack: q[3] };
    let out = py.detach(|| critical::critical_paths(&spans, &ev, &assists, &queries)).map_err(err)?;
    // A blocked segment whose wait began without a reason has reason "".
    let mut words = words.into_inner();
    let blank = words.iter().position(String::is_empty).unwrap_or_else(|| {
        words.push(String::new());
        words.len() - 1
    }) as i64;
    let blocked = |(&r, &c): (&i64, &i8)| if r < 0 && c == critical::C_BLOCKED { blank } else { r };
    let codes: Vec<i64> = out.reason.iter().zip(&out.category).map(blocked).collect();
    let (reason, reasons) = first_seen(&codes, &words);
    let col = |v: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from(v)) };
    let col8 = |v: Vec<i8>| -> ArrayRef { Arc::new(Int8Array::from(v)) };
    let table = arrow_table(
        py,
        vec![
            ("query", col(out.query)),
            ("goid", col(out.goid)),
            ("category", col8(out.category)),
            ("start", col(out.start)),
            ("end", col(out.end)),
            ("stack", col(out.stack)),
            ("edge", col8(out.edge)),
            ("leaf", Arc::new(BooleanArray::from(out.leaf)) as ArrayRef),
            ("reason", Arc::new(reason) as ArrayRef),
        ],
    )?;
    Ok((table, reasons))
}

/// Reason codes (-1: none) renumbered in the order the reasons first
/// appear, and the reasons in that order.
fn first_seen(codes: &[i64], words: &[String]) -> (Int32Array, Vec<String>) {
    let mut remap = vec![-1i32; words.len()];
    let mut seen = Vec::new();
    let keys = codes
        .iter()
        .map(|&c| {
            let Some(slot) = usize::try_from(c).ok().and_then(|c| remap.get_mut(c)) else { return -1 };
            if *slot < 0 {
                *slot = seen.len() as i32;
                seen.push(words[c as usize].clone());
            }
            *slot
        })
        .collect();
    (keys, seen)
}
