//! A streaming conversion ([`crate::parse_convert`]): every table handed to
//! a [`TableBatches`] consumer while the trace is parsed, holding only
//! bounded state for the tables that grow with the trace.
//!
//! - The events table goes out batch by batch as [`super::pipe`]'s stream
//!   makes it, with its `task_id` and `value` columns (which the whole-trace
//!   parse keeps in the tables that own those events) filled in.
//! - Spans, goroutines, tasks and regions: their public columns are columns of
//!   events that are gone by the time a row is finished. Each open row (a
//!   span or goroutine per live goroutine, a task or region per open one) keeps
//!   what it needs of its events, and is finished when it ends. Tables list
//!   rows in the order they began, not ended: finished rows are sorted into
//!   runs spilled to a temporary file and merged at the end ([`Spill`]).
//! - Every other table is small by nature (procs, logs, metrics, gc,
//!   cpu_samples, syncs, experimental: a row per GC phase, metric change,
//!   log or sample, tens of bytes each): built as the whole-trace parse
//!   builds it ([`Derived`]) and handed over at the end.

use super::cols::{enum_array, keyed_arrays, prim_array, Sentinel};
use super::derive::Derived;
use super::pipe::{mirror, Fill, Filled, Rec};
use super::{batch, finish_events, kind, EventCols, Row, STATES, STREAM_ROWS};
use crate::intern::Interner;
use crate::model::resource;
use crate::order::{gostate, NO_ID};
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{ArrayRef, RecordBatch};
use rustc_hash::FxHashMap;
use std::collections::BinaryHeap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Takes the tables of a streaming conversion, one record batch at a time:
/// the events table's batches in order while the trace is parsed, then the
/// spans', goroutines', tasks' and regions' (each in order), then every
/// other table's.
pub trait TableBatches: Send {
    fn batch(&mut self, table: &'static str, batch: RecordBatch);
}

/// A row of a table that grows with the trace, every column an i64 (nulls
/// as each column's sentinel), so that rows spill to disk as they are.
/// Column 0 is the row's number in its table.
type Row12 = [i64; 12];
const KEY: usize = 0;

/// Columns of a span's row.
mod span {
    pub const GOID: usize = 1;
    pub const STATE: usize = 2;
    pub const REASON: usize = 3;
    pub const START: usize = 4;
    pub const P: usize = 5;
    pub const M: usize = 6;
    pub const STACK: usize = 7;
    pub const START_EVENT: usize = 8;
    pub const END: usize = 9;
    pub const END_STACK: usize = 10;
    pub const END_EVENT: usize = 11;
}

/// Columns of a goroutine's row.
mod gor {
    pub const GOID: usize = 1;
    pub const NAME: usize = 2;
    pub const CREATED: usize = 3;
    pub const CREATOR: usize = 4;
    pub const FIRST_RUN: usize = 5;
    pub const END: usize = 6;
    pub const FINAL_STATE: usize = 7;
    pub const CREATION_STACK: usize = 8;
    pub const START_STACK: usize = 9;
    pub const LABEL: usize = 10;
}

/// Columns of a region's row.
mod reg {
    pub const GOID: usize = 1;
    pub const TASK: usize = 2;
    pub const NAME: usize = 3;
    pub const START: usize = 4;
    pub const END: usize = 5;
    pub const DEPTH: usize = 6;
    pub const START_STACK: usize = 7;
    pub const END_STACK: usize = 8;
    pub const START_EVENT: usize = 9;
    pub const END_EVENT: usize = 10;
}

/// Columns of a task's row.
mod task {
    pub const ID: usize = 1;
    pub const PARENT: usize = 2;
    pub const NAME: usize = 3;
    pub const START: usize = 4;
    pub const END: usize = 5;
    pub const START_GOID: usize = 6;
    pub const END_GOID: usize = 7;
    pub const START_EVENT: usize = 8;
    pub const END_EVENT: usize = 9;
}

/// Finished rows sorted into runs of this many (24 MiB) before spilling.
const RUN: usize = if cfg!(test) { 1000 } else { 1 << 18 };
/// Bytes read ahead from all the runs of a merge together (at most 4096
/// rows of each run, at least 64).
const READ_AHEAD: usize = 32 << 20;

/// Rows that finish in any order, given back in table order: sorted runs
/// in an unlinked temporary file, merged.
#[derive(Default)]
struct Spill {
    rows: Vec<Row12>,
    file: Option<File>,
    /// (first row, rows) of each run in the file.
    runs: Vec<(u64, u64)>,
    written: u64,
    error: Option<std::io::Error>,
}

const ROW_BYTES: usize = std::mem::size_of::<Row12>();

fn as_bytes(rows: &[Row12]) -> &[u8] {
    // SAFETY: a Row12 is plain i64s, no padding; the bytes live as long as `rows`.
    unsafe { std::slice::from_raw_parts(rows.as_ptr().cast::<u8>(), std::mem::size_of_val(rows)) }
}

fn as_bytes_mut(rows: &mut [Row12]) -> &mut [u8] {
    // SAFETY: as `as_bytes`; any bytes are a valid Row12.
    unsafe { std::slice::from_raw_parts_mut(rows.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(rows)) }
}

/// A temporary file that no other process can open and that goes away with
/// its handle.
fn temp_file() -> std::io::Result<File> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(".gotrace-rows-{}-{n}", std::process::id()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

impl Spill {
    /// Takes a finished row; a failure to spill is kept for [`Spill::merge`].
    fn push(&mut self, row: Row12) {
        self.rows.push(row);
        if self.rows.len() == RUN {
            if let Err(e) = self.spill() {
                self.error.get_or_insert(e);
                self.rows.clear();
            }
        }
    }

    fn spill(&mut self) -> std::io::Result<()> {
        self.rows.sort_unstable_by_key(|r| r[KEY]);
        if self.file.is_none() {
            self.file = Some(temp_file()?);
        }
        let file = self.file.as_ref().expect("opened above");
        file.write_all_at(as_bytes(&self.rows), self.written * ROW_BYTES as u64)?;
        self.runs.push((self.written, self.rows.len() as u64));
        self.written += self.rows.len() as u64;
        self.rows.clear();
        Ok(())
    }

    /// Spills what is left: then [`Spill::merge`] may read the rows.
    fn seal(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if !self.rows.is_empty() {
            self.spill()?;
        }
        Ok(())
    }

    /// Every row in table order, `each` called with up to `n` at a time
    /// (at least once, maybe with none).
    fn merge(&self, n: usize, mut each: impl FnMut(&[Row12])) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            each(&[]);
            return Ok(());
        };
        struct Run {
            next: u64,
            end: u64,
            buf: Vec<Row12>,
            at: usize,
        }
        let ahead = (READ_AHEAD / ROW_BYTES / self.runs.len().max(1)).clamp(64, 4096) as u64;
        let fill = |r: &mut Run| -> std::io::Result<()> {
            let k = (r.end - r.next).min(ahead) as usize;
            r.buf.resize(k, [0; 12]);
            file.read_exact_at(as_bytes_mut(&mut r.buf), r.next * ROW_BYTES as u64)?;
            r.next += k as u64;
            r.at = 0;
            Ok(())
        };
        let mut runs = Vec::new();
        let mut heap = BinaryHeap::new();
        for &(first, len) in &self.runs {
            let mut r = Run { next: first, end: first + len, buf: Vec::new(), at: 0 };
            fill(&mut r)?;
            heap.push(std::cmp::Reverse((r.buf[0][KEY], runs.len())));
            runs.push(r);
        }
        let mut out = Vec::with_capacity(n);
        let mut any = false;
        while let Some(std::cmp::Reverse((_, i))) = heap.pop() {
            let r = &mut runs[i];
            out.push(r.buf[r.at]);
            r.at += 1;
            if r.at == r.buf.len() && r.next < r.end {
                fill(r)?;
            }
            if r.at < r.buf.len() {
                heap.push(std::cmp::Reverse((r.buf[r.at][KEY], i)));
            }
            if out.len() == n {
                each(&out);
                any = true;
                out.clear();
            }
        }
        if !out.is_empty() || !any {
            each(&out);
        }
        Ok(())
    }
}

/// A string column's dictionary as `cols::dict_arrays` makes it: the
/// values in the order the table's rows first name them.
struct FirstSeen {
    code: Vec<i32>,
    values: Vec<u32>,
}

impl FirstSeen {
    fn new(strings: &Interner) -> Self {
        FirstSeen { code: vec![-1; strings.len()], values: Vec::new() }
    }

    fn code(&mut self, g: i64) -> i32 {
        let Ok(g) = u32::try_from(g) else { return -1 };
        if g == u32::NULL {
            return -1;
        }
        let slot = &mut self.code[g as usize];
        if *slot < 0 {
            *slot = self.values.len() as i32;
            self.values.push(g);
        }
        *slot
    }

    fn column(&self, rows: &[Row12], c: usize, strings: &Interner) -> ArrayRef {
        let codes = rows.iter().map(|r| self.code.get(r[c] as usize).copied().unwrap_or(-1)).collect();
        let dict: ArrayRef = Arc::new(arrow_array::StringArray::from_iter_values(
            self.values.iter().map(|&g| String::from_utf8_lossy(strings.get(g)).into_owned()),
        ));
        keyed_arrays(vec![codes], dict).pop().expect("one array")
    }
}

/// The rows of `spill` in table order as record batches of `n` rows made
/// by `make`, with the dictionaries of the string columns `dicts` (read in
/// a first pass).
fn emit(
    spill: &mut Spill,
    n: usize,
    dicts: &[usize],
    strings: &Interner,
    make: impl Fn(&[Row12], &[FirstSeen]) -> RecordBatch,
    each: &mut dyn FnMut(RecordBatch),
) -> std::io::Result<()> {
    spill.seal()?;
    let mut seen: Vec<FirstSeen> = dicts.iter().map(|_| FirstSeen::new(strings)).collect();
    if !dicts.is_empty() {
        spill.merge(n, |rows| {
            for r in rows {
                for (d, &c) in seen.iter_mut().zip(dicts) {
                    d.code(r[c]);
                }
            }
        })?;
    }
    spill.merge(n, |rows| each(make(rows, &seen)))
}

fn i64s(rows: &[Row12], c: usize) -> ArrayRef {
    prim_array::<Int64Type>(rows.iter().map(|r| r[c]).collect())
}

fn i32s(rows: &[Row12], c: usize) -> ArrayRef {
    prim_array::<Int32Type>(rows.iter().map(|r| r[c] as i32).collect())
}

/// The spans, as `Derived` makes them (one per goroutine state entered,
/// ended by the goroutine's next transition), with their public columns.
#[derive(Default)]
struct Spans {
    open: FxHashMap<i64, Row12>,
    ended: Spill,
    started: i64,
    /// Time of the last Sync: the start of a span entered from Undetermined
    /// (`lanes::SpanClock`).
    sync_ts: Option<i64>,
}

impl Spans {
    fn transition(&mut self, idx: usize, row: &Row, t: &super::Transition) {
        use span::*;
        if let Some(mut s) = self.open.remove(&t.id) {
            s[END] = row.ts;
            s[END_STACK] = row.tstack as i64;
            s[END_EVENT] = idx as i64;
            self.ended.push(s);
        }
        if t.to == gostate::NOT_EXIST {
            return;
        }
        let start = match self.sync_ts {
            Some(s) if t.from == gostate::UNDETERMINED => s,
            _ => row.ts,
        };
        let mut s = [0; 12];
        s[KEY] = self.started;
        s[GOID] = row.resource_id;
        s[STATE] = row.to as i64;
        s[REASON] = row.reason as i64;
        s[START] = start;
        s[P] = row.p as i64;
        s[M] = row.m;
        s[STACK] = row.tstack as i64;
        s[START_EVENT] = idx as i64;
        s[END] = i64::NULL;
        s[END_STACK] = -1;
        s[END_EVENT] = -1;
        self.started += 1;
        self.open.insert(t.id, s);
    }

    /// Every span in table order; a span still open ends at `end_ns`. The
    /// reasons' dictionary is the batch's: the events' is not known here.
    fn finish(mut self, strings: &Interner, end_ns: i64, each: &mut dyn FnMut(RecordBatch)) -> std::io::Result<()> {
        use span::*;
        for (_, mut s) in self.open.drain() {
            s[END] = end_ns;
            self.ended.push(s);
        }
        let make = |rows: &[Row12], _: &[FirstSeen]| {
            let mut reason = super::coded::Coded::<u32>::default();
            for r in rows {
                reason.push(r[REASON] as u32);
            }
            let reason = reason.into_string_arrays(strings).pop().expect("one chunk");
            let state = enum_array(rows.iter().map(|r| r[STATE] as i8).collect(), &STATES);
            batch(vec![
                ("goid", i64s(rows, GOID)),
                ("state", state),
                ("reason", reason),
                ("start", i64s(rows, START)),
                ("end", i64s(rows, END)),
                ("p", i32s(rows, P)),
                ("m", i64s(rows, M)),
                ("stack_id", i32s(rows, STACK)),
                ("end_stack_id", i32s(rows, END_STACK)),
                ("start_event", i32s(rows, START_EVENT)),
                ("end_event", i32s(rows, END_EVENT)),
            ])
        };
        emit(&mut self.ended, STREAM_ROWS, &[], strings, make, each)
    }
}

/// The goroutines table as `Derived` makes it: a row per goroutine
/// lifetime, finished when the goroutine ends (or a new row takes its ID).
#[derive(Default)]
struct Goroutines {
    live: FxHashMap<i64, Row12>,
    done: Spill,
    rows: i64,
}

impl Goroutines {
    fn transition(&mut self, row: &Row, t: &super::Transition) {
        use gor::*;
        let goid = t.id;
        let fresh = matches!(t.from, gostate::NOT_EXIST | gostate::UNDETERMINED) || !self.live.contains_key(&goid);
        if fresh {
            let created = t.from == gostate::NOT_EXIST;
            let mut g = [0; 12];
            g[KEY] = self.rows;
            g[GOID] = goid;
            g[NAME] = u32::NULL as i64;
            g[CREATED] = if created { row.ts } else { i64::NULL };
            g[CREATOR] = if created { row.g } else { i64::NULL };
            g[FIRST_RUN] = i64::NULL;
            g[END] = i64::NULL;
            g[FINAL_STATE] = 0;
            g[CREATION_STACK] = if created { row.stack as i64 } else { -1 };
            g[START_STACK] = if created { row.tstack as i64 } else { -1 };
            g[LABEL] = u32::NULL as i64;
            self.rows += 1;
            // The row this one replaces gets no more updates.
            if let Some(old) = self.live.insert(goid, g) {
                self.done.push(old);
            }
        }
        let g = self.live.get_mut(&goid).expect("inserted above");
        // Go's summarizer names a goroutine after the outermost frame of
        // the first transition stack that has one.
        if let Some(f) = row.outer_func() {
            if g[NAME] == u32::NULL as i64 {
                g[NAME] = f as i64;
            }
        }
        if t.to == gostate::RUNNING && g[FIRST_RUN] == i64::NULL {
            g[FIRST_RUN] = row.ts;
        }
        g[FINAL_STATE] = t.to as i64;
        if t.to == gostate::NOT_EXIST {
            g[END] = row.ts;
            let g = self.live.remove(&goid).expect("live");
            self.done.push(g);
        }
    }

    fn label(&mut self, goid: i64, label: u32) {
        if let Some(g) = self.live.get_mut(&goid) {
            g[gor::LABEL] = label as i64;
        }
    }

    fn finish(mut self, strings: &Interner, each: &mut dyn FnMut(RecordBatch)) -> std::io::Result<()> {
        use gor::*;
        for (_, g) in self.live.drain() {
            self.done.push(g);
        }
        let make = |rows: &[Row12], dicts: &[FirstSeen]| {
            batch(vec![
                ("goid", i64s(rows, GOID)),
                ("name", dicts[0].column(rows, NAME, strings)),
                ("created", i64s(rows, CREATED)),
                ("creator_goid", i64s(rows, CREATOR)),
                ("first_run", i64s(rows, FIRST_RUN)),
                ("end", i64s(rows, END)),
                ("final_state", enum_array(rows.iter().map(|r| r[FINAL_STATE] as i8).collect(), &STATES)),
                ("creation_stack_id", i32s(rows, CREATION_STACK)),
                ("start_stack_id", i32s(rows, START_STACK)),
                ("label", dicts[1].column(rows, LABEL, strings)),
            ])
        };
        emit(&mut self.done, STREAM_ROWS, &[NAME, LABEL], strings, make, each)
    }
}

/// The regions table as `Derived` makes it, with the public columns that
/// gotrace_df/_expand.py gathers from the regions' begin and end events.
#[derive(Default)]
struct Regions {
    /// Each goroutine's open regions, innermost last.
    open: FxHashMap<i64, Vec<Row12>>,
    done: Spill,
    rows: i64,
    /// (g, name, ts, stack) of the region event just taken: its region
    /// record comes next.
    event: Option<(i64, i64, i64, i64)>,
}

impl Regions {
    /// A region begins or ends at events row `idx`; returns its row's task.
    fn region(&mut self, idx: usize, begin: bool, g: i64, task: i64) -> i64 {
        use reg::*;
        let (who, name, ts, stack) = self.event.take().unwrap_or((i64::NULL, u32::NULL as i64, i64::NULL, -1));
        let open = self.open.entry(g).or_default();
        if begin {
            let mut r = [0; 12];
            r[KEY] = self.rows;
            r[GOID] = who;
            r[TASK] = task;
            r[NAME] = name;
            r[START] = ts;
            r[END] = i64::NULL;
            // A region's depth is the number of regions open around it.
            r[DEPTH] = open.last().map_or(0, |t| t[DEPTH] + 1);
            r[START_STACK] = stack;
            r[END_STACK] = -1;
            r[START_EVENT] = idx as i64;
            r[END_EVENT] = -1;
            self.rows += 1;
            open.push(r);
            return task;
        }
        let mut r = match open.pop() {
            Some(r) => r,
            None => {
                // A region begun before the trace is known by its end alone.
                let mut r = [0; 12];
                r[KEY] = self.rows;
                r[GOID] = who;
                r[TASK] = task;
                r[NAME] = name;
                r[START] = i64::NULL;
                r[DEPTH] = 0;
                r[START_STACK] = -1;
                r[START_EVENT] = -1;
                self.rows += 1;
                r
            }
        };
        if open.is_empty() {
            self.open.remove(&g);
        }
        r[END] = ts;
        r[END_STACK] = stack;
        r[END_EVENT] = idx as i64;
        self.done.push(r);
        r[TASK]
    }

    /// The goroutine `g` ended: its open regions never end.
    fn forget(&mut self, g: i64) {
        for r in self.open.remove(&g).unwrap_or_default() {
            self.done.push(r);
        }
    }

    fn finish(mut self, strings: &Interner, each: &mut dyn FnMut(RecordBatch)) -> std::io::Result<()> {
        use reg::*;
        for (_, open) in self.open.drain() {
            for r in open {
                self.done.push(r);
            }
        }
        let make = |rows: &[Row12], dicts: &[FirstSeen]| {
            let duration = |r: &Row12| {
                if r[START] == i64::NULL || r[END] == i64::NULL {
                    i64::NULL
                } else {
                    r[END].wrapping_sub(r[START])
                }
            };
            batch(vec![
                ("goid", i64s(rows, GOID)),
                ("task_id", i64s(rows, TASK)),
                ("name", dicts[0].column(rows, NAME, strings)),
                ("start", i64s(rows, START)),
                ("end", i64s(rows, END)),
                ("duration", prim_array::<Int64Type>(rows.iter().map(duration).collect())),
                ("depth", i32s(rows, DEPTH)),
                ("start_stack_id", i32s(rows, START_STACK)),
                ("end_stack_id", i32s(rows, END_STACK)),
                ("start_event", i32s(rows, START_EVENT)),
                ("end_event", i32s(rows, END_EVENT)),
            ])
        };
        emit(&mut self.done, STREAM_ROWS, &[NAME], strings, make, each)
    }
}

/// The tasks table as `Derived` makes it: a row per task, finished at its
/// end (or when a new begin takes its ID).
#[derive(Default)]
struct Tasks {
    open: FxHashMap<i64, Row12>,
    done: Spill,
    rows: i64,
}

impl Tasks {
    #[allow(clippy::too_many_arguments)]
    fn task(&mut self, idx: usize, begin: bool, ts: i64, id: i64, parent: Option<i64>, name: u32, g: i64) {
        use task::*;
        let g = if g == NO_ID { i64::NULL } else { g };
        if !begin {
            if let Some(mut t) = self.open.remove(&id) {
                t[END] = ts;
                t[END_GOID] = g;
                t[END_EVENT] = idx as i64;
                self.done.push(t);
                return;
            }
        }
        let mut t = [0; 12];
        t[KEY] = self.rows;
        t[ID] = id;
        t[PARENT] = parent.unwrap_or(i64::NULL);
        t[NAME] = name as i64;
        t[START] = if begin { ts } else { i64::NULL };
        t[END] = if begin { i64::NULL } else { ts };
        t[START_GOID] = if begin { g } else { i64::NULL };
        t[END_GOID] = if begin { i64::NULL } else { g };
        t[START_EVENT] = if begin { idx as i64 } else { -1 };
        t[END_EVENT] = if begin { -1 } else { idx as i64 };
        self.rows += 1;
        if !begin {
            // A task begun before the trace is known by its end alone.
            self.done.push(t);
        } else if let Some(old) = self.open.insert(id, t) {
            // The task this begin replaces never ends.
            self.done.push(old);
        }
    }

    fn finish(mut self, strings: &Interner, each: &mut dyn FnMut(RecordBatch)) -> std::io::Result<()> {
        use task::*;
        for (_, t) in self.open.drain() {
            self.done.push(t);
        }
        let make = |rows: &[Row12], dicts: &[FirstSeen]| {
            let duration = |r: &Row12| {
                if r[START] == i64::NULL || r[END] == i64::NULL {
                    i64::NULL
                } else {
                    r[END] - r[START]
                }
            };
            batch(vec![
                ("task_id", i64s(rows, ID)),
                ("parent_id", i64s(rows, PARENT)),
                ("name", dicts[0].column(rows, NAME, strings)),
                ("start", i64s(rows, START)),
                ("end", i64s(rows, END)),
                ("duration", prim_array::<Int64Type>(rows.iter().map(duration).collect())),
                ("start_goid", i64s(rows, START_GOID)),
                ("end_goid", i64s(rows, END_GOID)),
                ("start_event", i32s(rows, START_EVENT)),
                ("end_event", i32s(rows, END_EVENT)),
            ])
        };
        emit(&mut self.done, STREAM_ROWS, &[NAME], strings, make, each)
    }
}

/// The second thread's side of a streaming conversion.
pub(super) struct Convert<C> {
    consumer: C,
    ev: EventCols,
    /// Events rows handed over so far.
    base: usize,
    strings: Interner,
    /// The tables small by nature (procs, logs, metrics, gc, cpu_samples,
    /// syncs, experimental): built as the whole-trace parse builds them. It
    /// never sees a goroutine's transition, label, task or region.
    derived: Derived,
    spans: Spans,
    goroutines: Goroutines,
    regions: Regions,
    tasks: Tasks,
    /// (events row, value) of the events' task_id and value columns, rows
    /// ascending, from the row of the batch being built on.
    task_ids: Vec<(usize, i64)>,
    values: Vec<(usize, i64)>,
    last_ts: i64,
}

impl<C: TableBatches> Convert<C> {
    pub(super) fn new(consumer: C) -> Self {
        Convert {
            consumer,
            ev: EventCols::default(),
            base: 0,
            strings: Interner::default(),
            derived: Derived::default(),
            spans: Spans::default(),
            goroutines: Goroutines::default(),
            regions: Regions::default(),
            tasks: Tasks::default(),
            task_ids: Vec::new(),
            values: Vec::new(),
            last_ts: 0,
        }
    }

    /// The events row the next row pushed will be.
    fn idx(&self) -> usize {
        self.base + self.ev.rows()
    }

    /// Hands the events rows built so far over as one batch.
    fn emit(&mut self) {
        let full = std::mem::take(&mut self.ev);
        self.ev.set_gen(full.cur_gen as u64);
        let rows = full.rows();
        let end = self.base + rows;
        let sparse = |list: &mut Vec<(usize, i64)>| {
            let mut col = vec![i64::NULL; rows];
            let k = list.partition_point(|&(i, _)| i < end);
            for &(i, v) in &list[..k] {
                col[i - self.base] = v;
            }
            list.drain(..k);
            prim_array::<Int64Type>(col)
        };
        let (task_id, value) = (sparse(&mut self.task_ids), sparse(&mut self.values));
        for b in finish_events(full, &self.strings) {
            let schema = b.schema();
            let mut cols: Vec<(&str, ArrayRef)> =
                schema.fields().iter().map(|f| f.name().as_str()).zip(b.columns().iter().cloned()).collect();
            cols.push(("task_id", task_id.clone()));
            cols.push(("value", value.clone()));
            self.consumer.batch("events", batch(cols));
        }
        self.base = end;
    }

    fn roll(&mut self) {
        if self.ev.rows() == STREAM_ROWS {
            self.emit();
        }
    }

    /// A StateTransition row at events row `idx`.
    fn transition(&mut self, idx: usize, row: &Row) {
        let t = row.transition();
        if t.from == t.to {
            return;
        }
        if t.resource == resource::PROC {
            self.derived.transition(idx, row);
            return;
        }
        self.goroutines.transition(row, &t);
        if t.to == gostate::NOT_EXIST {
            self.regions.forget(t.id);
        }
        self.spans.transition(idx, row, &t);
    }
}

impl<C: TableBatches + 'static> Fill for Convert<C> {
    fn take(&mut self, batch: &mut Vec<Rec>) {
        for rec in batch.drain(..) {
            match rec {
                Rec::Row(row) => {
                    self.roll();
                    let k = row.kind as u8;
                    if k == kind::REGION_BEGIN || k == kind::REGION_END {
                        self.regions.event = Some((row.g, row.name as i64, row.ts, row.stack as i64));
                    }
                    self.last_ts = row.ts;
                    self.ev.push(row);
                }
                Rec::Transition(mut row) => {
                    self.roll();
                    let idx = self.idx();
                    self.transition(idx, &row);
                    row.name = u32::NULL;
                    self.last_ts = row.ts;
                    self.ev.push(row);
                }
                Rec::Strings(new) => mirror(&mut self.strings, *new),
                Rec::Region { idx, begin, g, task } => {
                    let task = self.regions.region(idx, begin, g, task);
                    // NoTask (all bits set) is no task_id.
                    if task != -1 {
                        self.task_ids.push((idx, task));
                    }
                }
                Rec::Label { g, label } => self.goroutines.label(g, label),
                rec => {
                    match &rec {
                        Rec::Sync(s) => {
                            self.ev.set_gen(s.n);
                            self.spans.sync_ts = Some(s.time);
                            self.values.push((s.idx, s.n as i64));
                        }
                        &Rec::Task { idx, begin, ts, task, parent, name, g } => {
                            self.task_ids.push((idx, task));
                            self.tasks.task(idx, begin, ts, task, parent, name, g);
                            continue;
                        }
                        &Rec::Log { idx, task, .. } if task != -1 => self.task_ids.push((idx, task)),
                        &Rec::Metric { idx, value, .. } => self.values.push((idx, value)),
                        _ => {}
                    }
                    self.derived.apply(rec);
                }
            }
        }
    }

    /// Hands every table but the events over, the events' last rows first.
    fn done(self: Box<Self>) -> Filled {
        let mut this = *self;
        if this.ev.rows() > 0 || this.base == 0 {
            this.emit();
        }
        let Convert { mut consumer, strings, derived, spans, goroutines, regions, tasks, last_ts, .. } = this;
        let grown = (|| -> std::io::Result<()> {
            spans.finish(&strings, last_ts, &mut |b| consumer.batch("spans", b))?;
            goroutines.finish(&strings, &mut |b| consumer.batch("goroutines", b))?;
            tasks.finish(&strings, &mut |b| consumer.batch("tasks", b))?;
            regions.finish(&strings, &mut |b| consumer.batch("regions", b))
        })();
        if let Err(e) = grown {
            // The consumer learns of it as a table of its own: the parse
            // itself went well.
            let msg: ArrayRef = Arc::new(arrow_array::StringArray::from(vec![e.to_string()]));
            consumer.batch("error", batch(vec![("message", msg)]));
        }
        for (name, batches) in derived.finish(&strings, last_ts) {
            if matches!(name, "spans" | "goroutines" | "tasks" | "regions") {
                continue;
            }
            for b in batches {
                consumer.batch(name, b);
            }
        }
        Filled::Stream(Box::new(consumer))
    }
}
