//! Runs the table building on a second thread: the main thread orders events
//! and hands each events row, and each event's facts for the derived tables,
//! over in batches; the second thread fills the events table and derives the
//! rest. A streaming parse ([`DerivedThread::stream`]) instead has the second
//! thread finish the events rows into record batches of [`STREAM_ROWS`] and
//! hand each to an [`EventBatches`] consumer, keeping none, and derive nothing.
//! When the core may use only one thread ([`crate::threads`]), the ordering
//! thread does the same work itself, one batch at a time.

use super::cols::Sentinel;
use super::derive::Derived;
use super::{finish_events, EventCols, Row};
use crate::intern::Interner;
use crate::wire::ClockSnapshot;
use arrow_array::RecordBatch;
use std::any::Any;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

type Ctx = (i64, i64, i64);

/// An events row, or what the derived tables need to know of one event.
/// Aligned to a cache line, which it fills: the reading thread then takes
/// each record from one line the other core wrote.
#[repr(align(64))]
pub enum Rec {
    Row(Row),
    /// A StateTransition row: the derived tables read the transition from it.
    Transition(Row),
    /// Boxed: rare, and it would make every record bigger.
    Sync(Box<SyncRec>),
    Sample {
        idx: usize,
        ts: i64,
        ctx: Ctx,
        stack: Option<i32>,
    },
    Metric {
        idx: usize,
        ts: i64,
        name: u32,
        value: i64,
    },
    Label {
        g: i64,
        label: u32,
    },
    Range {
        idx: usize,
        kind: u8,
        ts: i64,
        name: u32,
        res: u8,
        rid: i64,
        attrs: Option<(i64, i64)>,
    },
    Task {
        idx: usize,
        begin: bool,
        ts: i64,
        task: i64,
        parent: Option<i64>,
        name: u32,
        g: i64,
    },
    Region {
        idx: usize,
        begin: bool,
        g: i64,
        task: i64,
    },
    Log {
        idx: usize,
        ts: i64,
        g: i64,
        task: i64,
        cat: u32,
        msg: u32,
        stack: Option<i32>,
    },
    Exp {
        idx: usize,
        exp: u32,
        arg: u32,
        value: u64,
    },
    /// Streaming only: strings interned since the last of these (their
    /// bytes, concatenated, and lengths), which the rows after it may name.
    Strings(Box<(Vec<u8>, Vec<u32>)>),
}

/// A Sync event: the generation it opens (the frequency, clock snapshot and
/// experimental batches of its wire generation).
pub struct SyncRec {
    pub idx: usize,
    pub time: i64,
    pub n: u64,
    pub gen: Option<i64>,
    pub clock: Option<ClockSnapshot>,
    pub batches: Vec<(u32, i64, Vec<u8>)>,
}

const _: () = assert!(std::mem::size_of::<Rec>() == 64);

const BATCH: usize = 4096;

/// Rows of each record batch a streaming parse hands over: large enough that
/// finishing a batch costs little per row, small enough to stay in cache
/// (about 2.5 MB). The unit tests' corpus traces are smaller: they cut them
/// into many batches.
pub const STREAM_ROWS: usize = if cfg!(test) { 1000 } else { 1 << 16 };

/// What the second thread leaves: every table, or a streaming consumer.
pub enum Filled {
    Tables(Box<(Derived, EventCols)>),
    Stream(Box<dyn Any + Send>),
}

/// What takes the records: the events table and the derived tables, or a
/// streaming consumer.
pub(super) trait Fill: Send {
    /// Takes every record of `batch`, leaving it empty.
    fn take(&mut self, batch: &mut Vec<Rec>);
    fn done(self: Box<Self>) -> Filled;
}

/// Every table.
#[derive(Default)]
struct Tables {
    d: Derived,
    ev: EventCols,
}

impl Fill for Tables {
    fn take(&mut self, batch: &mut Vec<Rec>) {
        let Tables { d, ev } = self;
        for rec in batch.drain(..) {
            match rec {
                Rec::Row(row) => ev.push(row),
                Rec::Transition(mut row) => {
                    d.transition(ev.rows(), &row);
                    // The outermost frame function: not an events column.
                    row.name = u32::NULL;
                    ev.push(row);
                }
                rec => {
                    if let Rec::Sync(s) = &rec {
                        ev.set_gen(s.n);
                    }
                    d.apply(rec)
                }
            }
        }
    }

    fn done(self: Box<Self>) -> Filled {
        let Tables { d, ev } = *self;
        Filled::Tables(Box::new((d, ev)))
    }
}

/// A streaming parse: the events rows become record batches of
/// [`STREAM_ROWS`] for the consumer, with the strings they name mirrored
/// from the ordering thread's interner ([`Rec::Strings`]); the derived
/// tables' records are dropped.
struct Stream<C> {
    consumer: C,
    ev: EventCols,
    strings: Interner,
    /// Per stack ID: whether its outermost frame names a goroutine, as the
    /// transition rows that carried it said.
    named: Vec<bool>,
    /// Task and log records of the rows not yet handed over: told with the
    /// batch, when the strings they name have come ([`Rec::Strings`]
    /// follows the event that interned them).
    held: Vec<Rec>,
}

impl<C: EventBatches + 'static> Stream<C> {
    fn emit(&mut self) {
        for rec in self.held.drain(..) {
            let s = |id: u32| self.strings.get(id);
            match rec {
                Rec::Task { idx, begin, ts, task, parent, name, g } => {
                    self.consumer.task(TaskEvent { row: idx, begin, ts, g, task, parent, name: s(name) })
                }
                Rec::Log { idx, ts, g, task, cat, msg, .. } => {
                    self.consumer.log(LogEvent { row: idx, ts, g, task, category: s(cat), message: s(msg) })
                }
                _ => {}
            }
        }
        let full = std::mem::take(&mut self.ev);
        self.ev.cur_gen = full.cur_gen;
        for b in finish_events(full, &self.strings) {
            self.consumer.batch(&b, &self.named);
        }
    }
}

impl<C: EventBatches + 'static> Fill for Stream<C> {
    fn take(&mut self, batch: &mut Vec<Rec>) {
        for rec in batch.drain(..) {
            match rec {
                Rec::Row(row) => {
                    // A row's strings were sent before the next row.
                    if self.ev.rows() == STREAM_ROWS {
                        self.emit();
                    }
                    self.ev.push(row)
                }
                Rec::Transition(mut row) => {
                    if self.ev.rows() == STREAM_ROWS {
                        self.emit();
                    }
                    if let Ok(s) = usize::try_from(row.tstack) {
                        if s >= self.named.len() {
                            self.named.resize((s + 1).next_power_of_two(), false);
                        }
                        self.named[s] = row.name != u32::NULL;
                    }
                    row.name = u32::NULL;
                    self.ev.push(row);
                }
                Rec::Sync(s) => {
                    self.ev.set_gen(s.n);
                    self.consumer.value(s.idx, s.n as i64);
                }
                Rec::Metric { idx, value, .. } => self.consumer.value(idx, value),
                Rec::Region { idx, task, .. } => self.consumer.region(idx, task),
                rec @ (Rec::Task { .. } | Rec::Log { .. }) => self.held.push(rec),
                Rec::Strings(new) => mirror(&mut self.strings, *new),
                _ => {}
            }
        }
    }

    fn done(mut self: Box<Self>) -> Filled {
        if self.ev.rows() > 0 {
            self.emit();
        }
        Filled::Stream(Box::new(self.consumer))
    }
}

/// Interns into the second thread's mirror of the interner the strings of
/// a [`Rec::Strings`] (their bytes, concatenated, and lengths), so they get
/// the IDs they have in the ordering thread's.
pub(super) fn mirror(strings: &mut Interner, (bytes, lens): (Vec<u8>, Vec<u32>)) {
    let mut at = 0;
    for n in lens {
        let end = at + n as usize;
        strings.intern(&bytes[at..end]);
        at = end;
    }
}

/// Where the records go: to a [`Fill`] on this thread (the core may use one
/// thread), or to the one on a second thread.
enum Sink {
    Inline(Box<dyn Fill>),
    Thread {
        tx: Option<SyncSender<Vec<Rec>>>,
        /// Emptied batches coming back for reuse: a fresh batch costs a page
        /// fault per 4 KiB on this thread and an munmap on the other.
        spent: Receiver<Vec<Rec>>,
        handle: Option<JoinHandle<Filled>>,
    },
}

pub struct DerivedThread {
    buf: Vec<Rec>,
    sink: Sink,
}

impl Default for DerivedThread {
    fn default() -> Self {
        Self::start(Box::<Tables>::default())
    }
}

impl DerivedThread {
    /// `fill` taking the batches pushed: on a second thread if the core may
    /// use two ([`crate::threads`]), else on this one as each batch fills.
    fn start(mut fill: Box<dyn Fill>) -> Self {
        let buf = Vec::with_capacity(BATCH);
        if crate::threads::get() < 2 {
            return DerivedThread { buf, sink: Sink::Inline(fill) };
        }
        // A few batches in flight keep both threads busy; more would only hold
        // memory (each is ~400 kB).
        let (tx, rx) = sync_channel::<Vec<Rec>>(32);
        let (spent_tx, spent) = channel::<Vec<Rec>>();
        // Named, so profilers tell the two threads apart.
        let handle = std::thread::Builder::new()
            .name("gotrace-build".into())
            .spawn(move || {
                let cpu = crate::thread_cpu();
                for mut batch in rx {
                    fill.take(&mut batch);
                    // The reader may be gone (finishing); the batch is then freed.
                    let _ = spent_tx.send(batch);
                }
                if crate::timing() {
                    eprintln!("build thread: {:.3}s cpu", crate::thread_cpu() - cpu);
                }
                fill.done()
            })
            .expect("cannot start the table-building thread");
        DerivedThread { buf, sink: Sink::Thread { tx: Some(tx), spent, handle: Some(handle) } }
    }

    /// A streaming parse's builder: the events rows become record batches of
    /// [`STREAM_ROWS`] for `consumer`; nothing else is kept.
    pub fn stream<C: EventBatches + 'static>(consumer: C) -> Self {
        Self::start(Box::new(Stream {
            consumer,
            ev: EventCols::default(),
            strings: Interner::default(),
            named: Vec::new(),
            held: Vec::new(),
        }))
    }

    /// A streaming conversion's builder: every table handed to `consumer`
    /// ([`super::convert`]).
    pub fn convert<C: super::TableBatches + 'static>(consumer: C) -> Self {
        Self::start(Box::new(super::convert::Convert::new(consumer)))
    }

    #[inline]
    pub fn push(&mut self, rec: Rec) {
        self.buf.push(rec);
        if self.buf.len() == BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        match &mut self.sink {
            Sink::Inline(fill) => fill.take(&mut self.buf),
            Sink::Thread { tx, spent, .. } => {
                let next = spent.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                let batch = std::mem::replace(&mut self.buf, next);
                if let Some(sender) = tx {
                    // A send fails only if the thread died; join() reports why.
                    if sender.send(batch).is_err() {
                        *tx = None;
                    }
                }
            }
        }
    }

    /// Waits for the records to be taken and returns what they made.
    pub fn finish(mut self) -> Filled {
        self.flush();
        match self.sink {
            Sink::Inline(fill) => fill.done(),
            Sink::Thread { tx, handle, .. } => {
                drop(tx);
                match handle.map(JoinHandle::join) {
                    Some(Ok(d)) => d,
                    Some(Err(panic)) => std::panic::resume_unwind(panic),
                    None => Filled::Tables(Box::default()),
                }
            }
        }
    }
}

/// Takes record batches of the events table, in order, one at a time.
pub trait EventBatches: Send {
    /// The next batch; `named[s]` says whether stack `s`'s outermost frame
    /// names a goroutine, for every stack a transition so far carried
    /// (the IDs past its end carried none yet).
    fn batch(&mut self, batch: &RecordBatch, named: &[bool]);

    /// The task of the region begin or end at events row `row`, which the
    /// events table does not hold; told before the batch with that row.
    fn region(&mut self, _row: usize, _task: i64) {}

    /// The value of the event at events row `row` (a metric's; a Sync's
    /// generation number), which the events table does not hold; told
    /// before the batch with that row.
    fn value(&mut self, _row: usize, _value: i64) {}

    /// A task begin or end (what the tasks table takes of it); told before
    /// the batch with its row.
    fn task(&mut self, _event: TaskEvent<'_>) {}

    /// A log (what the logs table takes of it); told before the batch with
    /// its row.
    fn log(&mut self, _event: LogEvent<'_>) {}
}

/// A task begin or end at events row `row`: its task and parent (None:
/// none; an end carries its begin's) and type, which the events table does
/// not hold, with its time and goroutine (`NO_ID`: none).
pub struct TaskEvent<'a> {
    pub row: usize,
    pub begin: bool,
    pub ts: i64,
    pub g: i64,
    pub task: i64,
    pub parent: Option<i64>,
    pub name: &'a [u8],
}

/// A log at events row `row`: its task, category and message, which the
/// events table does not hold, with its time and goroutine (`NO_ID`: none).
pub struct LogEvent<'a> {
    pub row: usize,
    pub ts: i64,
    pub g: i64,
    pub task: i64,
    pub category: &'a [u8],
    pub message: &'a [u8],
}
