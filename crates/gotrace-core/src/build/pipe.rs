//! Runs the table building on a second thread: the main thread orders events
//! and hands each events row, and each event's facts for the derived tables,
//! over in batches; the second thread fills the events table and derives the
//! rest.

use super::derive::Derived;
use super::{EventCols, Row};
use crate::wire::ClockSnapshot;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

type Ctx = (i64, i64, i64);

/// An events row, or what the derived tables need to know of one event.
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

const BATCH: usize = 4096;

pub struct DerivedThread {
    buf: Vec<Rec>,
    tx: Option<SyncSender<Vec<Rec>>>,
    handle: Option<JoinHandle<(Derived, EventCols)>>,
}

impl Default for DerivedThread {
    fn default() -> Self {
        // A few batches in flight keep both threads busy; more would only hold
        // memory (each is ~400 kB).
        let (tx, rx) = sync_channel::<Vec<Rec>>(32);
        let worker = move || {
            let mut d = Derived::default();
            let mut ev = EventCols::default();
            let cpu = crate::thread_cpu();
            for batch in rx {
                for rec in batch {
                    match rec {
                        Rec::Row(row) => ev.push(row),
                        Rec::Transition(row) => {
                            d.transition(ev.rows(), &row);
                            ev.push(row);
                        }
                        rec => d.apply(rec),
                    }
                }
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
        DerivedThread { buf: Vec::with_capacity(BATCH), tx: Some(tx), handle: Some(handle) }
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
        let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH));
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
