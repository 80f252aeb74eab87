//! Runs the table building on a second thread: the main thread orders events
//! and hands each events row, and each event's facts for the derived tables,
//! over in batches; the second thread fills the events table and derives the
//! rest.

use super::cols::Sentinel;
use super::derive::Derived;
use super::{EventCols, Row};
use crate::wire::ClockSnapshot;
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

pub struct DerivedThread {
    buf: Vec<Rec>,
    tx: Option<SyncSender<Vec<Rec>>>,
    /// Emptied batches coming back for reuse: a fresh batch costs a page
    /// fault per 4 KiB on this thread and an munmap on the other.
    spent: Receiver<Vec<Rec>>,
    handle: Option<JoinHandle<(Derived, EventCols)>>,
}

impl Default for DerivedThread {
    fn default() -> Self {
        // A few batches in flight keep both threads busy; more would only hold
        // memory (each is ~400 kB).
        let (tx, rx) = sync_channel::<Vec<Rec>>(32);
        let (spent_tx, spent) = channel::<Vec<Rec>>();
        let worker = move || {
            let mut d = Derived::default();
            let mut ev = EventCols::default();
            let cpu = crate::thread_cpu();
            for mut batch in rx {
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
                // The reader may be gone (finishing); the batch is then freed.
                let _ = spent_tx.send(batch);
            }
            if crate::timing() {
                eprintln!("build thread: {:.3}s cpu", crate::thread_cpu() - cpu);
            }
            (d, ev)
        };
        // Named, so profilers tell the two threads apart.
        let handle = std::thread::Builder::new()
            .name("gotrace-build".into())
            .spawn(worker)
            .expect("cannot start the table-building thread");
        DerivedThread { buf: Vec::with_capacity(BATCH), tx: Some(tx), spent, handle: Some(handle) }
    }
}

impl DerivedThread {
    #[inline]
    pub fn push(&mut self, rec: Rec) {
        self.buf.push(rec);
        if self.buf.len() == BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let next = self.spent.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let batch = std::mem::replace(&mut self.buf, next);
        if let Some(tx) = &self.tx {
            // A send fails only if the thread died; join() reports why.
            if tx.send(batch).is_err() {
                self.tx = None;
            }
        }
    }

    /// Waits for the thread to take every event and returns its tables.
    pub fn finish(mut self) -> (Derived, EventCols) {
        self.flush();
        self.tx = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(d)) => d,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => (Derived::default(), EventCols::default()),
        }
    }
}
