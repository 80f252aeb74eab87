//! What cmd/trace's user-task pages read, over a streaming parse: the
//! Summarizer's tables (its regions make the tasks' region lists) with the
//! task begins and ends and the logs, which a streaming parse's events table
//! does not carry whole ([`crate::build::TaskEvent`],
//! [`crate::build::LogEvent`]). `gotrace_df/views/tasks.py` makes the tasks
//! of them as it does of a parsed trace's events, tasks and logs tables.
//!
//! Memory: one row per task event and per log, and the summary's; no row
//! per event.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, BooleanArray, DictionaryArray, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use rustc_hash::FxHashMap;

use crate::build::{EventBatches, LogEvent, TaskEvent};
use crate::intern::Interner;
use crate::order::NO_ID;
use crate::summary::{self, SummaryOptions};
use crate::TraceError;

/// The summary pass, with the task events and logs kept aside.
pub struct Pass {
    summary: summary::Pass,
    strings: Interner,
    /// Task begins and ends, in events order.
    te: Rows,
    /// Their begin flags and parents (NO_ID: none).
    begin: Vec<bool>,
    parent: Vec<i64>,
    /// Logs, in events order, with their categories.
    logs: Rows,
    category: Vec<i32>,
    /// The parent of each task whose last event is a begin: the end that
    /// follows closes it and has its parent, as a parsed trace's tasks
    /// table pairs them (Go's conversion of old traces gives such an end
    /// parent 0 where the begin has none).
    open: FxHashMap<i64, i64>,
}

/// The columns task events and logs share; `name` is a task's type or a
/// log's message, an ID into [`Pass::strings`].
#[derive(Default)]
struct Rows {
    event: Vec<i64>,
    ts: Vec<i64>,
    g: Vec<i64>,
    task: Vec<i64>,
    name: Vec<i32>,
}

impl Rows {
    fn push(&mut self, row: usize, ts: i64, g: i64, task: i64, name: i32) {
        self.event.push(row as i64);
        self.ts.push(ts);
        self.g.push(g);
        self.task.push(task);
        self.name.push(name);
    }
}

impl Pass {
    /// `opts` as for [`summary::Pass::new`]; the tasks need its regions.
    pub fn new(opts: SummaryOptions) -> Self {
        Pass {
            summary: summary::Pass::new(SummaryOptions { skip_regions: false, ..opts }),
            strings: Interner::default(),
            te: Rows::default(),
            begin: Vec::new(),
            parent: Vec::new(),
            logs: Rows::default(),
            category: Vec::new(),
            open: FxHashMap::default(),
        }
    }

    fn intern(&mut self, s: &[u8]) -> i32 {
        self.strings.intern(s) as i32
    }

    /// The summary's tables (`system` as for [`summary::Pass::finish`]),
    /// then `task_events` (event, ts, begin, g, task_id, parent_id, type)
    /// and `task_logs` (event, ts, goid, task_id, category, message).
    pub fn finish(self, system: &[bool]) -> Result<Vec<(&'static str, RecordBatch)>, TraceError> {
        let mut out = self.summary.finish(system)?;
        let dict = |keys: Vec<i32>| -> ArrayRef {
            let values = (0..self.strings.len() as u32).map(|i| String::from_utf8_lossy(self.strings.get(i)));
            let values = Arc::new(StringArray::from_iter_values(values));
            let keys = Int32Array::new(ScalarBuffer::from(keys), None);
            // Every key is an ID of `strings`: this cannot fail.
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).expect("string IDs index the table"))
        };
        let batch = |cols: Vec<(&'static str, ArrayRef)>| {
            // Every column has a value per row: this cannot fail.
            RecordBatch::try_from_iter(cols).expect("task columns have equal lengths")
        };
        let Rows { event, ts, g, task, name } = self.te;
        out.push((
            "task_events",
            batch(vec![
                ("event", ints(event, None)),
                ("ts", ints(ts, None)),
                ("begin", Arc::new(BooleanArray::new(BooleanBuffer::from(self.begin), None))),
                ("g", ints(g, Some(NO_ID))),
                ("task_id", ints(task, None)),
                ("parent_id", ints(self.parent, Some(NO_ID))),
                ("type", dict(name)),
            ]),
        ));
        let Rows { event, ts, g, task, name } = self.logs;
        out.push((
            "task_logs",
            batch(vec![
                ("event", ints(event, None)),
                ("ts", ints(ts, None)),
                ("goid", ints(g, Some(NO_ID))),
                ("task_id", ints(task, None)),
                ("category", dict(self.category)),
                ("message", dict(name)),
            ]),
        ));
        Ok(out)
    }
}

/// An int64 column, null where the value is `none`.
fn ints(v: Vec<i64>, none: Option<i64>) -> ArrayRef {
    let nulls =
        none.filter(|n| v.contains(n)).map(|n| NullBuffer::new(BooleanBuffer::from_iter(v.iter().map(|x| *x != n))));
    Arc::new(Int64Array::new(ScalarBuffer::from(v), nulls))
}

impl EventBatches for Pass {
    fn batch(&mut self, batch: &RecordBatch, named: &[bool]) {
        self.summary.batch(batch, named);
    }

    fn region(&mut self, row: usize, task: i64) {
        self.summary.region(row, task);
    }

    fn task(&mut self, e: TaskEvent<'_>) {
        let name = self.intern(e.name);
        self.te.push(e.row, e.ts, e.g, e.task, name);
        let mut parent = e.parent.unwrap_or(NO_ID);
        if e.begin {
            self.open.insert(e.task, parent);
        } else if let Some(begun) = self.open.remove(&e.task) {
            parent = begun;
        }
        self.begin.push(e.begin);
        self.parent.push(parent);
    }

    fn log(&mut self, e: LogEvent<'_>) {
        let (category, message) = (self.intern(e.category), self.intern(e.message));
        self.logs.push(e.row, e.ts, e.g, e.task, message);
        self.category.push(category);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testdata::{corpus, ints, table};
    use std::collections::BTreeMap;

    /// Each task begin and end (events row -> task, parent) as a parsed
    /// trace's tasks table pairs them (-1: none).
    fn paired(parsed: &crate::ParsedTrace) -> BTreeMap<i64, (i64, i64)> {
        let tasks = table(parsed, "tasks");
        let (id, parent) = (ints(tasks, "task_id"), ints(tasks, "parent_id"));
        let mut out = BTreeMap::new();
        for col in ["start_event", "end_event"] {
            for (i, &ev) in ints(tasks, col).iter().enumerate() {
                if ev >= 0 {
                    out.insert(ev, (id[i], parent[i]));
                }
            }
        }
        out
    }

    #[test]
    fn a_streaming_parse_gives_the_tasks_and_logs_of_parse() {
        // Tasks and logs over many batches; an old trace whose task end
        // carries parent 0 where its begin has none.
        for name in ["go1.22/example.trace", "go1.26/tasks.trace", "v1/user_task_region_1_11_good.trace"] {
            let data = corpus(name);
            let parsed = crate::parse(&data, crate::ParseOptions::default()).expect("parses");
            let opts = SummaryOptions { skip_episodes: true, ..Default::default() };
            let (streamed, pass) =
                crate::parse_stream(&data, crate::ParseOptions::default(), || Pass::new(opts)).expect("streams");
            let (_, alone) = crate::parse_stream(&data, crate::ParseOptions::default(), || summary::Pass::new(opts))
                .expect("streams");
            let (_, system) = summary::stack_names(table(&streamed, "frames")).expect("frames");
            let mut got = pass.finish(&system).expect("tasks");
            let logs = got.pop().expect("task_logs");
            let te = got.pop().expect("task_events");
            assert_eq!(got, alone.finish(&system).expect("summary"), "{name}: the summary");

            let te = [te.1];
            let (event, task, parent) = (ints(&te, "event"), ints(&te, "task_id"), ints(&te, "parent_id"));
            let got: BTreeMap<i64, (i64, i64)> =
                event.iter().zip(task.iter().zip(&parent)).map(|(&e, (&t, &p))| (e, (t, p))).collect();
            assert!(!got.is_empty(), "{name}: no tasks");
            assert_eq!(got, paired(&parsed), "{name}: task events");

            let (logs, want) = ([logs.1], table(&parsed, "logs"));
            assert!(name.starts_with("v1") || logs[0].num_rows() > 0, "{name}: no logs");
            for (col, want_col) in [("event", "event"), ("ts", "ts"), ("goid", "goid"), ("task_id", "task_id")] {
                assert_eq!(ints(&logs, col), ints(want, want_col), "{name}: logs {col}");
            }
            if name.ends_with("example.trace") {
                let events: usize = table(&parsed, "events").iter().map(RecordBatch::num_rows).sum();
                assert!(events > crate::build::STREAM_ROWS, "{name}: one batch");
            }
        }
    }
}
