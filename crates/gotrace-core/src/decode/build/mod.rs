//! The columnar stage: turns the ordered stream into the events table and,
//! in the same pass, every derived table (gotrace_df/frames.py documents
//! them all); or, streaming, the events table batch by batch to a consumer
//! that keeps none of it ([`Builder::streaming`]).

mod coded;
mod cols;
mod convert;
mod derive;
mod pipe;
mod stacks;

use crate::intern::{Interner, EMPTY};
use crate::order::{go_status_to_state, gostate, proc_status_to_state, procstate, Event, Sink, NO_ID, NO_TASK};
use crate::spec::{ev, experiment_name, pstatus, SPECS};
use crate::wire::Generation;
use crate::TraceError;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use coded::Coded;
use cols::{enum_array, opt, prim_array, Chunked, Sentinel};
pub use convert::TableBatches;
use pipe::{DerivedThread, Filled, Rec, SyncRec};
pub use pipe::{EventBatches, LogEvent, TaskEvent, STREAM_ROWS};
use stacks::Stacks;
use std::sync::Arc;

// The vocabulary the tables are written in is defined once, in `model`.
pub use crate::model::{kind, KINDS, RESOURCES, STATES};
use crate::model::{proc_state_code, resource};

fn kind_of(typ: u8) -> u8 {
    use kind::*;
    match typ {
        ev::SYNC_EVENT => SYNC,
        ev::CPU_SAMPLE => STACK_SAMPLE,
        ev::PROCS_CHANGE | ev::HEAP_ALLOC | ev::HEAP_GOAL => METRIC,
        ev::GO_LABEL => LABEL,
        ev::STW_BEGIN | ev::GC_BEGIN | ev::GC_SWEEP_BEGIN | ev::GC_MARK_ASSIST_BEGIN => RANGE_BEGIN,
        ev::GC_ACTIVE | ev::GC_SWEEP_ACTIVE | ev::GC_MARK_ASSIST_ACTIVE => RANGE_ACTIVE,
        ev::STW_END | ev::GC_END | ev::GC_SWEEP_END | ev::GC_MARK_ASSIST_END => RANGE_END,
        ev::USER_TASK_BEGIN => TASK_BEGIN,
        ev::USER_TASK_END => TASK_END,
        ev::USER_REGION_BEGIN => REGION_BEGIN,
        ev::USER_REGION_END => REGION_END,
        ev::USER_LOG => LOG,
        ev::SPAN..=ev::GOROUTINE_STACK_FREE => EXPERIMENTAL,
        _ => STATE_TRANSITION,
    }
}

#[inline]
fn opt_id(v: i64) -> Option<i64> {
    (v != NO_ID).then_some(v)
}

#[inline]
fn opt_task(v: u64) -> Option<i64> {
    (v != NO_TASK).then_some(v as i64)
}

/// A state transition as Go's Event.StateTransition() describes it.
pub struct Transition {
    pub resource: u8,
    pub id: i64,
    /// Codes into STATES.
    pub from: u8,
    pub to: u8,
    pub reason: u32,
    /// Global stack ID; None is NoStack.
    pub stack: Option<i32>,
}

/// One events row, nulls as sentinels (see `cols::Sentinel`). Every event
/// crosses to the build thread as one of these (in a `pipe::Rec`), so it is
/// kept to 56 bytes, which makes a record one cache line: its generation is
/// not in it (the build thread counts the Syncs), and a StateTransition row,
/// whose name is null, carries its outermost frame function in `name`.
pub struct Row {
    ts: i64,
    kind: i8,
    g: i64,
    p: i32,
    m: i64,
    stack: i32,
    resource: i8,
    resource_id: i64,
    from: i8,
    to: i8,
    reason: u32,
    tstack: i32,
    name: u32,
}

impl Row {
    /// The state transition this row records (a StateTransition row).
    fn transition(&self) -> Transition {
        Transition {
            resource: self.resource as u8,
            id: if self.resource_id == i64::NULL { NO_ID } else { self.resource_id },
            from: self.from as u8,
            to: self.to as u8,
            reason: self.reason,
            stack: (self.tstack != i32::NULL).then_some(self.tstack),
        }
    }

    /// A StateTransition row's outermost frame function, for the goroutines
    /// table.
    fn outer_func(&self) -> Option<u32> {
        (self.name != u32::NULL).then_some(self.name)
    }

    /// The scheduling context (g, p, m), NO_ID where absent.
    fn ctx(&self) -> (i64, i64, i64) {
        let id = |v: i64| if v == i64::NULL { NO_ID } else { v };
        (id(self.g), if self.p == i32::NULL { NO_ID } else { self.p as i64 }, id(self.m))
    }
}

/// The events table under construction. Its task_id and value columns are
/// not stored here: every event that has one has a row of its own in the
/// table that owns it (tasks, regions, logs, metrics, syncs), and
/// gotrace_df/_expand.py scatters them back when the events table is used.
#[derive(Default)]
pub struct EventCols {
    ts: Chunked<i64>,
    kind: Chunked<i8>,
    g: Chunked<i64>,
    p: Coded<i32>,
    m: Coded<i64>,
    gen: Coded<i32>,
    stack: Coded<i32>,
    resource: Chunked<i8>,
    resource_id: Chunked<i64>,
    from: Chunked<i8>,
    to: Chunked<i8>,
    reason: Coded<u32>,
    tstack: Coded<i32>,
    name: Coded<u32>,
    /// The generation of the rows pushed now (the number of Syncs so far).
    cur_gen: i32,
}

impl EventCols {
    /// Starts generation `n`: the rows from the next on belong to it.
    pub fn set_gen(&mut self, n: u64) {
        self.cur_gen = n as i32;
    }

    /// Rows pushed so far: the events index of the next row.
    pub fn rows(&self) -> usize {
        self.ts.len()
    }

    pub fn push(&mut self, r: Row) {
        self.ts.push(r.ts);
        self.kind.push(r.kind);
        self.g.push(r.g);
        self.p.push(r.p);
        self.m.push(r.m);
        self.gen.push(self.cur_gen);
        self.stack.push(r.stack);
        self.resource.push(r.resource);
        self.resource_id.push(r.resource_id);
        self.from.push(r.from);
        self.to.push(r.to);
        self.reason.push(r.reason);
        self.tstack.push(r.tstack);
        self.name.push(r.name);
    }
}

/// Per-event details that are not common to all kinds.
#[derive(Default)]
struct Detail {
    resource: Option<u8>,
    resource_id: Option<i64>,
    from: Option<u8>,
    to: Option<u8>,
    reason: Option<u32>,
    tstack: Option<i32>,
    name: Option<u32>,
}

/// The sink: events table, stacks and derived tables.
pub struct Builder {
    n: usize,
    /// Stop accepting events after this many (truncation to the last Sync).
    limit: usize,
    syncs: u64,
    pub last_sync_event: usize,
    pub last_ts: i64,
    pub first_ts: Option<i64>,
    pub stacks: Stacks,
    derived: DerivedThread,
    /// Interned names of the ranges and metrics.
    names: Names,
    pub first_freq: Option<f64>,
    /// Streaming: the interner's strings already mirrored to the second
    /// thread; None when building every table.
    sent_strings: Option<usize>,
}

struct Names {
    gc_mark: u32,
    sweep: u32,
    assist: u32,
    gomaxprocs: u32,
    heap_objects: u32,
    heap_goal: u32,
}

impl Builder {
    pub fn new(strings: &mut Interner, limit: usize) -> Self {
        Self::with_thread(strings, limit, DerivedThread::default(), None)
    }

    /// A builder that hands the events table to `consumer` batch by batch and
    /// builds no other table but the stacks.
    pub fn streaming<C: EventBatches + 'static>(strings: &mut Interner, limit: usize, consumer: C) -> Self {
        Self::with_thread(strings, limit, DerivedThread::stream(consumer), Some(0))
    }

    /// A builder that hands every table to `consumer` ([`TableBatches`]),
    /// keeping only bounded state for the tables that grow with the trace.
    pub fn converting<C: TableBatches + 'static>(strings: &mut Interner, limit: usize, consumer: C) -> Self {
        Self::with_thread(strings, limit, DerivedThread::convert(consumer), Some(0))
    }

    fn with_thread(strings: &mut Interner, limit: usize, derived: DerivedThread, sent: Option<usize>) -> Self {
        let names = Names {
            gc_mark: strings.intern_str("GC concurrent mark phase"),
            sweep: strings.intern_str("GC incremental sweep"),
            assist: strings.intern_str("GC mark assist"),
            gomaxprocs: strings.intern_str("/sched/gomaxprocs:threads"),
            heap_objects: strings.intern_str("/memory/classes/heap/objects:bytes"),
            heap_goal: strings.intern_str("/gc/heap/goal:bytes"),
        };
        Builder {
            n: 0,
            limit,
            syncs: 0,
            last_sync_event: 0,
            last_ts: 0,
            first_ts: None,
            stacks: Stacks::default(),
            derived,
            names,
            first_freq: None,
            sent_strings: sent,
        }
    }

    /// Streaming: sends the strings interned since the last call to the
    /// second thread, ahead of the rows that may name them.
    #[inline(always)]
    fn mirror(&mut self, strings: &Interner) {
        if let Some(sent) = self.sent_strings {
            if strings.len() > sent {
                self.send_strings(strings, sent);
            }
        }
    }

    #[cold]
    fn send_strings(&mut self, strings: &Interner, sent: usize) {
        // The empty string (ID 0) is sent too on the first call: the
        // mirror, which starts with it, interns it to the same ID.
        let ids = sent as u32..strings.len() as u32;
        let lens = ids.clone().map(|i| strings.get(i).len() as u32).collect();
        let bytes = ids.flat_map(|i| strings.get(i).iter().copied()).collect();
        self.derived.push(Rec::Strings(Box::new((bytes, lens))));
        self.sent_strings = Some(strings.len());
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Number of Sync events taken.
    pub fn syncs_seen(&self) -> usize {
        self.syncs as usize
    }

    /// Sends one events row to the second thread, which fills the columns.
    // Inlined, as is `row`, so `Detail` never goes through memory: read back
    // whole right after its fields were written one by one, it stalled on
    // store forwarding for every event.
    #[inline(always)]
    fn push_row(&mut self, typ: u8, time: i64, ctx: (i64, i64, i64), stack: Option<i32>, d: Detail) -> usize {
        let row = self.row(typ, time, ctx, stack, d);
        self.derived.push(Rec::Row(row));
        self.n - 1
    }

    /// The events row of one event (counted as taken).
    #[inline(always)]
    fn row(&mut self, typ: u8, time: i64, ctx: (i64, i64, i64), stack: Option<i32>, d: Detail) -> Row {
        let code = |c: Option<u8>| c.map_or(-1, |c| c as i8);
        let row = Row {
            ts: time,
            kind: kind_of(typ) as i8,
            g: opt(opt_id(ctx.0)),
            p: opt(opt_id(ctx.1).map(|p| p as i32)),
            m: opt(opt_id(ctx.2)),
            stack: opt(stack),
            resource: code(d.resource),
            resource_id: opt(d.resource_id),
            from: code(d.from),
            to: code(d.to),
            reason: opt(d.reason),
            tstack: opt(d.tstack),
            name: opt(d.name),
        };
        self.last_ts = time;
        self.first_ts.get_or_insert(time);
        self.n += 1;
        row
    }

    /// Go's Event.Stack(): the first stack argument, 0 meaning none.
    fn event_stack(&mut self, e: &Event, gen: &mut Generation<'_>) -> Result<Option<i32>, TraceError> {
        if e.typ == ev::CPU_SAMPLE {
            return self.stacks.resolve(e.args[0], gen).map(Some);
        }
        let spec = &SPECS[e.typ as usize];
        let Some(&pos) = spec.stack_ids.first() else { return Ok(None) };
        let id = e.args[pos - 1];
        if id == 0 {
            return Ok(None);
        }
        self.stacks.resolve(id, gen).map(Some)
    }

    fn string(&self, gen: &Generation<'_>, id: u64) -> Result<u32, TraceError> {
        crate::order::lookup_string(gen, id)
            .ok_or_else(|| TraceError::msg(format!("found invalid string ID {id}")).with_gen(Some(gen.gen)))
    }

    fn transition(
        &mut self,
        e: &Event,
        gen: &mut Generation<'_>,
        stack: Option<i32>,
    ) -> Result<Transition, TraceError> {
        use gostate::*;
        let a = e.args;
        let go = |id: i64, from: u8, to: u8| Transition {
            resource: resource::GOROUTINE,
            id,
            from,
            to,
            reason: EMPTY,
            stack: None,
        };
        let pr = |id: i64, from: u8, to: u8| Transition {
            resource: resource::PROC,
            id,
            from: proc_state_code(from),
            to: proc_state_code(to),
            reason: EMPTY,
            stack: None,
        };
        let g = e.ctx.g;
        Ok(match e.typ {
            ev::PROC_START => pr(a[0] as i64, procstate::IDLE, procstate::RUNNING),
            ev::PROC_STOP => pr(e.ctx.p, procstate::RUNNING, procstate::IDLE),
            ev::PROC_STEAL => {
                let before = if a[3] == pstatus::SYSCALL_ABANDONED { procstate::IDLE } else { procstate::RUNNING };
                pr(a[0] as i64, before, procstate::IDLE)
            }
            ev::PROC_STATUS => pr(a[0] as i64, a[2] as u8, proc_status_to_state(a[1])),
            ev::GO_CREATE | ev::GO_CREATE_BLOCKED => {
                let to = if e.typ == ev::GO_CREATE_BLOCKED { WAITING } else { RUNNABLE };
                // Go builds this stack even for ID 0: an empty stack, not NoStack.
                let s = self.stacks.resolve(a[1], gen)?;
                Transition { stack: Some(s), ..go(a[0] as i64, NOT_EXIST, to) }
            }
            ev::GO_CREATE_SYSCALL => go(a[0] as i64, NOT_EXIST, SYSCALL),
            ev::GO_START => go(a[0] as i64, RUNNABLE, RUNNING),
            ev::GO_DESTROY => go(g, RUNNING, NOT_EXIST),
            ev::GO_DESTROY_SYSCALL => go(g, SYSCALL, NOT_EXIST),
            ev::GO_STOP | ev::GO_BLOCK => {
                let to = if e.typ == ev::GO_STOP { RUNNABLE } else { WAITING };
                Transition { reason: self.string(gen, a[0])?, stack, ..go(g, RUNNING, to) }
            }
            ev::GO_UNBLOCK | ev::GO_SWITCH | ev::GO_SWITCH_DESTROY => go(a[0] as i64, WAITING, RUNNABLE),
            ev::GO_SYSCALL_BEGIN => Transition { stack, ..go(g, RUNNING, SYSCALL) },
            ev::GO_SYSCALL_END => go(g, SYSCALL, RUNNING),
            ev::GO_SYSCALL_END_BLOCKED => go(g, SYSCALL, RUNNABLE),
            ev::GO_STATUS | ev::GO_STATUS_STACK => {
                let from = (a[2] >> 32) as u8;
                let to = go_status_to_state(a[2] & 0xffff_ffff);
                Transition { stack, ..go(a[0] as i64, from, to) }
            }
            t => return Err(TraceError::msg(format!("internal error: event type {t} is not a transition"))),
        })
    }

    /// Streaming: hands the last events to the consumer and returns it, with
    /// the stacks and frames tables.
    pub fn finish_stream<C: Send + 'static>(
        mut self,
        strings: &Interner,
    ) -> (C, Vec<(&'static str, Vec<RecordBatch>)>) {
        self.mirror(strings);
        let Builder { derived, stacks, .. } = self;
        let consumer = match derived.finish() {
            Filled::Stream(c) => *c.downcast::<C>().expect("the consumer the builder was made with"),
            Filled::Tables(..) => panic!("finish_stream of a builder that builds tables"),
        };
        (consumer, stacks.finish(strings).into_iter().map(|(n, b)| (n, vec![b])).collect())
    }

    /// Finishes every table.
    pub fn finish(self, strings: &Interner, end_ns: i64) -> Vec<(&'static str, Vec<RecordBatch>)> {
        let Builder { derived, stacks, .. } = self;
        let Filled::Tables(filled) = derived.finish() else {
            panic!("finish of a streaming builder");
        };
        let (derived, ev) = *filled;
        // The events table and the derived ones finish on two threads.
        let (rest, events) = crate::threads::join(
            move || {
                let mut rest = derived.finish(strings, end_ns);
                rest.extend(stacks.finish(strings).into_iter().map(|(n, b)| (n, vec![b])));
                rest
            },
            || finish_events(ev, strings),
        );
        let mut out = vec![("events", events)];
        out.extend(rest);
        // Keep the documented order: stacks and frames come before syncs.
        let order = [
            "events",
            "spans",
            "goroutines",
            "procs",
            "tasks",
            "regions",
            "logs",
            "metrics",
            "gc",
            "cpu_samples",
            "stacks",
            "frames",
            "syncs",
            "experimental",
            "experimental_batches",
        ];
        out.sort_by_key(|(n, _)| order.iter().position(|o| o == n).unwrap_or(usize::MAX));
        out
    }
}

/// The events table, one record batch per chunk. Its dictionary-coded columns
/// finish on a thread of their own when the core may use two: this is the
/// parse's last serial step. A
/// streaming parse's batch finishes on its own thread (the ordering thread
/// keeps the other core busy).
pub(crate) fn finish_events(e: EventCols, strings: &Interner) -> Vec<RecordBatch> {
    let p64 = |c: Chunked<i64>| c.into_chunks().into_iter().map(prim_array::<Int64Type>).collect();
    let en = |c: Chunked<i8>, names: &[&str]| c.into_chunks().into_iter().map(|v| enum_array(v, names)).collect();
    let alone = e.rows() <= STREAM_ROWS;
    let EventCols { ts, kind, g, p, m, gen, stack, resource, resource_id, from, to, reason, tstack, name, .. } = e;
    // Procs, threads, generations and stacks take few distinct values over
    // millions of rows: dictionary-encoded, they cost a byte or two per event
    // instead of four or eight.
    let coded = move || {
        [
            p.into_int_arrays::<Int32Type>(),
            m.into_int_arrays::<Int64Type>(),
            gen.into_int_arrays::<Int32Type>(),
            stack.into_int_arrays::<Int32Type>(),
            reason.into_string_arrays(strings),
            tstack.into_int_arrays::<Int32Type>(),
            name.into_string_arrays(strings),
        ]
    };
    let plain = move || {
        [
            p64(ts),
            en(kind, &KINDS),
            p64(g),
            en(resource, &RESOURCES),
            p64(resource_id),
            en(from, &STATES),
            en(to, &STATES),
        ]
    };
    let ([p, m, gen, stack, reason, tstack, name], [ts, kind, g, resource, resource_id, from, to]) =
        if alone { (coded(), plain()) } else { crate::threads::join(coded, plain) };
    batches(vec![
        ("ts", ts),
        ("kind", kind),
        ("g", g),
        ("p", p),
        ("m", m),
        ("gen", gen),
        ("stack_id", stack),
        ("resource", resource),
        ("resource_id", resource_id),
        ("from_state", from),
        ("to_state", to),
        ("reason", reason),
        ("transition_stack_id", tstack),
        ("name", name),
    ])
}

/// A record batch from named columns (all nullable, as frames.py declares).
pub fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = cols.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    let arrays: Vec<ArrayRef> = cols.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("columns of equal length")
}

/// Record batches from chunked columns: chunk i of every column makes batch i.
/// A table with no rows still gets one (empty) batch, which carries the schema.
pub fn batches(cols: Vec<(&str, Vec<ArrayRef>)>) -> Vec<RecordBatch> {
    let n = cols.first().map_or(0, |c| c.1.len());
    let mut iters: Vec<(&str, std::vec::IntoIter<ArrayRef>)> =
        cols.into_iter().map(|(name, arrays)| (name, arrays.into_iter())).collect();
    let mut out = Vec::with_capacity(n.max(1));
    for _ in 0..n {
        let cols = iters.iter_mut().map(|(name, it)| (*name, it.next().expect("aligned chunks"))).collect();
        out.push(batch(cols));
    }
    out
}

impl Sink for Builder {
    fn full(&self) -> bool {
        self.n >= self.limit
    }

    fn sync(&mut self, time: i64, n: u64, gen: Option<&mut Generation<'_>>, strings: &mut Interner) {
        if self.full() {
            return;
        }
        self.mirror(strings);
        self.syncs = n;
        let idx = self.n;
        let mut batches = Vec::new();
        let (wire_gen, clock) = match gen {
            Some(g) => {
                self.first_freq.get_or_insert(g.freq.0);
                for &(exp, m, data) in &g.exp_batches {
                    batches.push((strings.intern_str(&experiment_name(exp)), m as i64, data.to_vec()));
                }
                (Some(g.gen as i64), g.clock)
            }
            None => (None, None),
        };
        // Before its row: the build thread learns the row's generation from it.
        self.derived.push(Rec::Sync(Box::new(SyncRec { idx, time, n, gen: wire_gen, clock, batches })));
        self.push_row(ev::SYNC_EVENT, time, (NO_ID, NO_ID, NO_ID), None, Detail::default());
        self.last_sync_event = idx;
    }

    fn event(&mut self, e: &Event, gen: &mut Generation<'_>, strings: &mut Interner) -> Result<(), TraceError> {
        if self.full() {
            return Ok(());
        }
        self.mirror(strings);
        let stack = self.event_stack(e, gen)?;
        let ctx = (e.ctx.g, e.ctx.p, e.ctx.m);
        let a = e.args;
        let k = kind_of(e.typ);
        let mut d = Detail::default();
        let idx = self.n;
        match k {
            kind::STACK_SAMPLE => {
                self.push_row(e.typ, e.time, ctx, stack, d);
                self.derived.push(Rec::Sample { idx, ts: e.time, ctx, stack });
            }
            kind::METRIC => {
                d.name = Some(match e.typ {
                    ev::PROCS_CHANGE => self.names.gomaxprocs,
                    ev::HEAP_ALLOC => self.names.heap_objects,
                    _ => self.names.heap_goal,
                });
                let (name, value) = (d.name, a[0] as i64);
                self.push_row(e.typ, e.time, ctx, stack, d);
                self.derived.push(Rec::Metric { idx, ts: e.time, name: name.unwrap_or(EMPTY), value });
            }
            kind::LABEL => {
                let label = self.string(gen, a[0])?;
                d.name = Some(label);
                d.resource = Some(resource::GOROUTINE);
                d.resource_id = opt_id(e.ctx.g);
                self.push_row(e.typ, e.time, ctx, stack, d);
                self.derived.push(Rec::Label { g: e.ctx.g, label });
            }
            kind::RANGE_BEGIN | kind::RANGE_ACTIVE | kind::RANGE_END => {
                let (name, res, rid) = match e.typ {
                    ev::STW_BEGIN | ev::STW_END => {
                        let kind_str = self.string(gen, a[0])?;
                        let mut s = b"stop-the-world (".to_vec();
                        s.extend_from_slice(strings.get(kind_str));
                        s.push(b')');
                        (strings.intern(&s), resource::GOROUTINE, e.ctx.g)
                    }
                    ev::GC_BEGIN | ev::GC_ACTIVE | ev::GC_END => (self.names.gc_mark, resource::NONE, 0),
                    ev::GC_SWEEP_ACTIVE => (self.names.sweep, resource::PROC, a[0] as i64),
                    ev::GC_SWEEP_BEGIN | ev::GC_SWEEP_END => (self.names.sweep, resource::PROC, e.ctx.p),
                    ev::GC_MARK_ASSIST_ACTIVE => (self.names.assist, resource::GOROUTINE, a[0] as i64),
                    _ => (self.names.assist, resource::GOROUTINE, e.ctx.g),
                };
                d.name = Some(name);
                d.resource = Some(res);
                d.resource_id = if res == resource::NONE { None } else { opt_id(rid) };
                self.push_row(e.typ, e.time, ctx, stack, d);
                let attrs = (e.typ == ev::GC_SWEEP_END).then_some((a[0] as i64, a[1] as i64));
                self.derived.push(Rec::Range { idx, kind: k, ts: e.time, name, res, rid, attrs });
            }
            kind::TASK_BEGIN | kind::TASK_END => {
                let (parent, name) =
                    if k == kind::TASK_BEGIN { (a[1], self.string(gen, a[2])?) } else { (a[2], a[3] as u32) };
                d.name = Some(name);
                self.push_row(e.typ, e.time, ctx, stack, d);
                self.derived.push(Rec::Task {
                    idx,
                    begin: k == kind::TASK_BEGIN,
                    ts: e.time,
                    task: a[0] as i64,
                    parent: opt_task(parent),
                    name,
                    g: e.ctx.g,
                });
            }
            kind::REGION_BEGIN | kind::REGION_END => {
                let name = self.string(gen, a[1])?;
                d.name = Some(name);
                self.push_row(e.typ, e.time, ctx, stack, d);
                self.derived.push(Rec::Region { idx, begin: k == kind::REGION_BEGIN, g: e.ctx.g, task: a[0] as i64 });
            }
            kind::LOG => {
                let cat = self.string(gen, a[1])?;
                let msg = self.string(gen, a[2])?;
                self.push_row(e.typ, e.time, ctx, stack, d);
                self.derived.push(Rec::Log { idx, ts: e.time, g: e.ctx.g, task: a[0] as i64, cat, msg, stack });
            }
            kind::EXPERIMENTAL => {
                let spec = &SPECS[e.typ as usize];
                d.name = Some(strings.intern_str(spec.name));
                self.push_row(e.typ, e.time, ctx, stack, d);
                let exp = strings.intern_str(&experiment_name(spec.experiment));
                for (i, arg) in spec.args[1..].iter().enumerate() {
                    let an = strings.intern_str(arg);
                    self.derived.push(Rec::Exp { idx, exp, arg: an, value: a[i] });
                }
            }
            _ => {
                let t = self.transition(e, gen, stack)?;
                d.resource = Some(t.resource);
                d.resource_id = opt_id(t.id);
                d.from = Some(t.from);
                d.to = Some(t.to);
                d.reason = Some(t.reason);
                d.tstack = t.stack;
                let mut row = self.row(e.typ, e.time, ctx, stack, d);
                let outer_func =
                    t.stack.and_then(|s| self.stacks.frames_of(s).last()).map(|f| f.func).filter(|&f| f != EMPTY);
                row.name = opt(outer_func);
                self.derived.push(Rec::Transition(row));
            }
        }
        Ok(())
    }
}
