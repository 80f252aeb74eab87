//! A streaming conversion ([`crate::parse_convert`]): every table handed to
//! a [`TableBatches`] consumer while the trace is parsed, holding only
//! bounded state for the tables that grow with the trace.
//!
//! - The events table goes out batch by batch as [`super::pipe`]'s stream
//!   makes it, with its `task_id` and `value` columns (which the whole-trace
//!   parse keeps in the tables that own those events) filled in.
//! - Spans: a span's public columns are columns of its start and end events,
//!   which are gone by the time it ends. Each open span (one per live
//!   goroutine) keeps what its row needs of its start event; its row is made
//!   when it ends. The table lists spans in the order they start, not end:
//!   ended rows are sorted into runs spilled to a temporary file and merged
//!   at the end ([`Spill`]).
//! - Regions keep the few columns of their begin and end events that their
//!   public columns read (the `region_events` table; gotrace_df/_expand.py
//!   gathers from it as from the events).
//! - Every other table is built as the whole-trace parse builds it
//!   ([`Derived`]) and handed over at the end.

use super::cols::{enum_array, prim_array, Chunked, Sentinel};
use super::derive::Derived;
use super::pipe::{Fill, Filled, Rec};
use super::{batch, batches, finish_events, kind, EventCols, Row, STATES, STREAM_ROWS};
use crate::intern::Interner;
use crate::model::resource;
use crate::order::gostate;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{ArrayRef, RecordBatch};
use rustc_hash::FxHashMap;
use std::collections::BinaryHeap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Takes the tables of a streaming conversion, one record batch at a time:
/// the events table's batches in order while the trace is parsed, then the
/// spans' (in order), then every other table's.
pub trait TableBatches: Send {
    fn batch(&mut self, table: &'static str, batch: RecordBatch);
}

/// A span's row, every column an i64 (nulls as each column's sentinel), so
/// that rows spill to disk as they are.
type SpanRow = [i64; 12];
const KEY: usize = 0; // the span's number: its row in the table
const GOID: usize = 1;
const STATE: usize = 2;
const REASON: usize = 3;
const START: usize = 4;
const P: usize = 5;
const M: usize = 6;
const STACK: usize = 7;
const START_EVENT: usize = 8;
const END: usize = 9;
const END_STACK: usize = 10;
const END_EVENT: usize = 11;

/// Ended span rows sorted into runs of this many (48 MiB) before spilling.
const RUN: usize = if cfg!(test) { 1000 } else { 1 << 19 };
/// Rows read ahead from each run while merging (384 KiB per run).
const READ_AHEAD: usize = 4096;

/// Rows that come in any order, given back in key order: sorted runs in an
/// unlinked temporary file, merged.
#[derive(Default)]
struct Spill {
    rows: Vec<SpanRow>,
    file: Option<File>,
    /// (first row, rows) of each run in the file.
    runs: Vec<(u64, u64)>,
    written: u64,
}

const ROW_BYTES: usize = std::mem::size_of::<SpanRow>();

fn as_bytes(rows: &[SpanRow]) -> &[u8] {
    // SAFETY: a SpanRow is plain i64s, no padding; the bytes live as long as `rows`.
    unsafe { std::slice::from_raw_parts(rows.as_ptr().cast::<u8>(), std::mem::size_of_val(rows)) }
}

fn as_bytes_mut(rows: &mut [SpanRow]) -> &mut [u8] {
    // SAFETY: as `as_bytes`; any bytes are a valid SpanRow.
    unsafe { std::slice::from_raw_parts_mut(rows.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(rows)) }
}

/// A temporary file that no other process can open and that goes away with
/// its handle.
fn temp_file() -> std::io::Result<File> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(".gotrace-spans-{}-{n}", std::process::id()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

impl Spill {
    fn push(&mut self, row: SpanRow) -> std::io::Result<()> {
        self.rows.push(row);
        if self.rows.len() == RUN {
            self.spill()?;
        }
        Ok(())
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

    /// Every row in key order, `each` called with up to `n` at a time.
    fn merge(mut self, n: usize, mut each: impl FnMut(&[SpanRow])) -> std::io::Result<()> {
        if !self.rows.is_empty() {
            self.spill()?;
        }
        let Some(file) = self.file else { return Ok(()) };
        struct Run {
            next: u64,
            end: u64,
            buf: Vec<SpanRow>,
            at: usize,
        }
        let fill = |r: &mut Run| -> std::io::Result<()> {
            let k = (r.end - r.next).min(READ_AHEAD as u64) as usize;
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
                out.clear();
            }
        }
        if !out.is_empty() {
            each(&out);
        }
        Ok(())
    }
}

/// The spans, as [`Derived`] makes them (one per goroutine state entered,
/// ended by the goroutine's next transition), with their public columns.
#[derive(Default)]
struct Spans {
    open: FxHashMap<i64, SpanRow>,
    ended: Spill,
    started: i64,
    /// Time of the last Sync: the start of a span entered from Undetermined
    /// (`lanes::SpanClock`).
    sync_ts: Option<i64>,
    error: Option<std::io::Error>,
}

impl Spans {
    fn transition(&mut self, idx: usize, row: &Row) {
        let t = row.transition();
        if t.from == t.to || t.resource == resource::PROC {
            return;
        }
        if let Some(mut span) = self.open.remove(&t.id) {
            span[END] = row.ts;
            span[END_STACK] = row.tstack as i64;
            span[END_EVENT] = idx as i64;
            if let Err(e) = self.ended.push(span) {
                self.error.get_or_insert(e);
            }
        }
        if t.to == gostate::NOT_EXIST {
            return;
        }
        let start = match self.sync_ts {
            Some(s) if t.from == gostate::UNDETERMINED => s,
            _ => row.ts,
        };
        let mut span = [0; 12];
        span[KEY] = self.started;
        span[GOID] = row.resource_id;
        span[STATE] = row.to as i64;
        span[REASON] = row.reason as i64;
        span[START] = start;
        span[P] = row.p as i64;
        span[M] = row.m;
        span[STACK] = row.tstack as i64;
        span[START_EVENT] = idx as i64;
        span[END] = i64::NULL;
        span[END_STACK] = -1;
        span[END_EVENT] = -1;
        self.started += 1;
        self.open.insert(t.id, span);
    }

    /// Every span in table order, `each` called with record batches of
    /// [`STREAM_ROWS`]; a span still open ends at `end_ns`.
    fn finish(mut self, strings: &Interner, end_ns: i64, each: &mut dyn FnMut(RecordBatch)) -> std::io::Result<()> {
        if let Some(e) = self.error {
            return Err(e);
        }
        for (_, mut span) in self.open.drain() {
            span[END] = end_ns;
            self.ended.push(span)?;
        }
        let mut any = false;
        self.ended.merge(STREAM_ROWS, |rows| {
            any = true;
            each(span_batch(rows, strings));
        })?;
        if !any {
            each(span_batch(&[], strings));
        }
        Ok(())
    }
}

fn span_batch(rows: &[SpanRow], strings: &Interner) -> RecordBatch {
    let i64s = |c: usize| prim_array::<Int64Type>(rows.iter().map(|r| r[c]).collect());
    let i32s = |c: usize| prim_array::<Int32Type>(rows.iter().map(|r| r[c] as i32).collect());
    let mut reason = super::coded::Coded::<u32>::default();
    for r in rows {
        reason.push(r[REASON] as u32);
    }
    let reason = reason.into_string_arrays(strings).pop().expect("one chunk");
    let state = enum_array(rows.iter().map(|r| r[STATE] as i8).collect(), &STATES);
    batch(vec![
        ("goid", i64s(GOID)),
        ("state", state),
        ("reason", reason),
        ("start", i64s(START)),
        ("end", i64s(END)),
        ("p", i32s(P)),
        ("m", i64s(M)),
        ("stack_id", i32s(STACK)),
        ("end_stack_id", i32s(END_STACK)),
        ("start_event", i32s(START_EVENT)),
        ("end_event", i32s(END_EVENT)),
    ])
}

/// The columns of the region begin and end events that the regions'
/// public columns read.
#[derive(Default)]
struct RegionEvents {
    event: Chunked<i32>,
    g: Chunked<i64>,
    name: super::coded::Coded<u32>,
    ts: Chunked<i64>,
    stack: Chunked<i32>,
}

impl RegionEvents {
    fn finish(self, strings: &Interner) -> Vec<RecordBatch> {
        let p32 = |c: Chunked<i32>| c.into_chunks().into_iter().map(prim_array::<Int32Type>).collect();
        let p64 = |c: Chunked<i64>| c.into_chunks().into_iter().map(prim_array::<Int64Type>).collect();
        batches(vec![
            ("event", p32(self.event)),
            ("g", p64(self.g)),
            ("name", self.name.into_string_arrays(strings)),
            ("ts", p64(self.ts)),
            ("stack_id", p32(self.stack)),
        ])
    }
}

/// The second thread's side of a streaming conversion.
pub(super) struct Convert<C> {
    consumer: C,
    ev: EventCols,
    /// Events rows handed over so far.
    base: usize,
    strings: Interner,
    derived: Derived,
    spans: Spans,
    regions: RegionEvents,
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
            derived: {
                let mut d = Derived::default();
                d.no_spans = true;
                d
            },
            spans: Spans::default(),
            regions: RegionEvents::default(),
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
}

impl<C: TableBatches + 'static> Fill for Convert<C> {
    fn take(&mut self, batch: &mut Vec<Rec>) {
        for rec in batch.drain(..) {
            match rec {
                Rec::Row(row) => {
                    self.roll();
                    let k = row.kind as u8;
                    if k == kind::REGION_BEGIN || k == kind::REGION_END {
                        let idx = self.idx();
                        let r = &mut self.regions;
                        r.event.push(idx as i32);
                        r.g.push(row.g);
                        r.name.push(row.name);
                        r.ts.push(row.ts);
                        r.stack.push(row.stack);
                    }
                    self.last_ts = row.ts;
                    self.ev.push(row);
                }
                Rec::Transition(mut row) => {
                    self.roll();
                    let idx = self.idx();
                    self.derived.transition(idx, &row);
                    self.spans.transition(idx, &row);
                    row.name = u32::NULL;
                    self.last_ts = row.ts;
                    self.ev.push(row);
                }
                Rec::Strings(new) => {
                    let (bytes, lens) = *new;
                    let mut at = 0;
                    for n in lens {
                        let end = at + n as usize;
                        self.strings.intern(&bytes[at..end]);
                        at = end;
                    }
                }
                Rec::Region { idx, begin, g, task } => {
                    let task = self.derived.region(idx, begin, g, task);
                    // NoTask (all bits set) is no task_id.
                    if task != -1 {
                        self.task_ids.push((idx, task));
                    }
                }
                rec => {
                    match &rec {
                        Rec::Sync(s) => {
                            self.ev.set_gen(s.n);
                            self.spans.sync_ts = Some(s.time);
                            self.values.push((s.idx, s.n as i64));
                        }
                        &Rec::Task { idx, task, .. } => self.task_ids.push((idx, task)),
                        &Rec::Log { idx, task, .. } if task != -1 => self.task_ids.push((idx, task)),
                        &Rec::Metric { idx, value, .. } => self.values.push((idx, value)),
                        _ => {}
                    }
                    self.derived.apply(rec);
                }
            }
        }
    }

    fn done(mut self: Box<Self>) -> Filled {
        if self.ev.rows() > 0 || self.base == 0 {
            self.emit();
        }
        let Convert { mut consumer, strings, derived, spans, regions, last_ts, .. } = *self;
        let mut each = |b: RecordBatch| consumer.batch("spans", b);
        if let Err(e) = spans.finish(&strings, last_ts, &mut each) {
            // The consumer learns of it as a table of its own: the parse
            // itself went well.
            let msg: ArrayRef = Arc::new(arrow_array::StringArray::from(vec![e.to_string()]));
            consumer.batch("error", batch(vec![("message", msg)]));
        }
        for (name, batches) in derived.finish(&strings, last_ts) {
            if name == "spans" {
                continue;
            }
            for b in batches {
                consumer.batch(name, b);
            }
        }
        for b in regions.finish(&strings) {
            consumer.batch("region_events", b);
        }
        Filled::Stream(Box::new(consumer))
    }
}
