//! Go's `Reader`: a generation at a time, the frontier of batch cursors
//! offers its earliest event to the ordering, and what the ordering lets
//! through goes to the sink, with the Syncs between generations.

use super::batchcursor::{heap_remove, heap_update, sift_up, Cursor, Head};
use super::ordering::Ordering;
use super::{Event, SchedCtx, Sink, NO_CTX, NO_ID};
use crate::intern::Interner;
use crate::spec::{ev, SPECS};
use crate::wire::{GenReader, Generation, NextGen};
use crate::TraceError;

/// Go's Reader.ReadEvent loop, feeding `sink` until the end or an error.
pub struct Reader<'a> {
    genr: GenReader<'a>,
    version: u32,
    last_ts: i64,
    gen: Option<Box<Generation<'a>>>,
    /// Go's frontier, a heap by time of the cursors with events left.
    frontier: Vec<Head>,
    /// The generation's cursors, one per thread with batches.
    cursors: Vec<Cursor>,
    cpu_next: usize,
    order: Ordering,
    syncs: u64,
    read_gen_err: Option<TraceError>,
    spill_err_sync: bool,
    done: bool,
    pub strings: Interner,
    /// Input offset where the generation of each Sync starts.
    pub sync_offsets: Vec<usize>,
    gen_start: usize,
    /// Work spent on frontier entries when the earliest event could not
    /// advance (each time: a sort of the frontier and a scan of it). With
    /// `Ordering::work`, held to a budget linear in the input size.
    pub order_work: u64,
    work_budget: u64,
    /// See `ParseOptions::release_input`; `released` is where it got to.
    pub release_input: bool,
    released: usize,
}

/// Ordering work allowed per input byte (plus ORDER_WORK_BASE): see
/// `Reader::read_event`. Real traces stay far below: the corpus and Go's test
/// programs need at most ~0.002 per byte (tests/regressions.rs checks the
/// corpus); hostile input reaches the budget in about a second per MB.
pub const ORDER_WORK_PER_BYTE: u64 = 1;
pub const ORDER_WORK_BASE: u64 = 1 << 20;

enum Step {
    /// Events wait in the ordering queue.
    Queued,
    Event(Event),
    Sync {
        time: i64,
        with_table: bool,
    },
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], version: u32) -> Self {
        Reader {
            genr: GenReader::new(data, version),
            version,
            last_ts: 0,
            gen: None,
            frontier: Vec::new(),
            cursors: Vec::new(),
            cpu_next: 0,
            order: Ordering::new(),
            syncs: 0,
            read_gen_err: None,
            spill_err_sync: false,
            done: false,
            strings: Interner::default(),
            sync_offsets: Vec::new(),
            gen_start: 16,
            order_work: 0,
            work_budget: ORDER_WORK_BASE.saturating_add(ORDER_WORK_PER_BYTE.saturating_mul(data.len() as u64)),
            release_input: false,
            released: 0,
        }
    }

    /// Ordering work done so far, against a budget of `ORDER_WORK_BASE +
    /// ORDER_WORK_PER_BYTE` per input byte.
    pub fn ordering_work(&self) -> u64 {
        self.order_work + self.order.work
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> usize {
        self.genr.offset()
    }

    /// Runs to the end; returns the error that stopped it, if any.
    pub fn run(&mut self, sink: &mut dyn Sink, progress: &mut dyn FnMut(usize)) -> Option<TraceError> {
        loop {
            if sink.full() {
                return None;
            }
            // The queue first, as Go's ReadEvent does: most events go from
            // the handler that queued them straight to the sink.
            let r = match self.queued() {
                Ok(Some(e)) => self.deliver_event(e, sink),
                Ok(None) => match self.read_event() {
                    Ok(None) => return None,
                    Ok(Some(Step::Queued)) => continue,
                    Ok(Some(Step::Event(e))) => self.deliver_event(e, sink),
                    Ok(Some(Step::Sync { time, with_table })) => {
                        self.deliver_sync(time, with_table, sink);
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                return Some(e);
            }
            if self.frontier.is_empty() {
                progress(self.offset());
            }
        }
    }

    /// The next queued event, after the budget check that precedes it.
    #[inline]
    fn queued(&mut self) -> Result<Option<Event>, TraceError> {
        if self.order.queue.is_empty() || self.done {
            return Ok(None);
        }
        if self.order_work + self.order.work > self.work_budget {
            return Err(self.budget_error());
        }
        Ok(self.order.queue.pop_front())
    }

    fn deliver_sync(&mut self, time: i64, with_table: bool, sink: &mut dyn Sink) {
        self.sync_offsets.push(self.gen_start);
        let t = self.monotonic(time);
        let gen = if with_table { self.gen.as_deref_mut() } else { None };
        sink.sync(t, self.syncs, gen, &mut self.strings);
    }

    #[inline]
    fn deliver_event(&mut self, mut e: Event, sink: &mut dyn Sink) -> Result<(), TraceError> {
        let gen = self.gen.as_deref_mut().expect("event without a generation");
        validate_table_ids(&e, gen).map_err(|err| at_offset(err, e.at))?;
        e.time = self.monotonic(e.time);
        let gen = self.gen.as_deref_mut().expect("event without a generation");
        sink.event(&e, gen, &mut self.strings).map_err(|err| at_offset(err, e.at))
    }

    fn monotonic(&mut self, t: i64) -> i64 {
        let t = if t <= self.last_ts { self.last_ts.wrapping_add(1) } else { t };
        self.last_ts = t;
        t
    }

    fn read_event(&mut self) -> Result<Option<Step>, TraceError> {
        if self.done {
            return Ok(None);
        }
        if self.order_work + self.order.work > self.work_budget {
            return Err(self.budget_error());
        }
        if !self.order.queue.is_empty() {
            return Ok(Some(Step::Queued));
        }
        let cpu_left = self.gen.as_ref().is_some_and(|g| self.cpu_next < g.cpu_samples.len());
        if self.frontier.is_empty() && !cpu_left {
            return self.next_generation();
        }
        let gen = self.gen.as_deref().expect("generation");
        if cpu_left {
            let s = gen.cpu_samples[self.cpu_next];
            if self.frontier.is_empty() || s.time < self.frontier[0].time {
                self.cpu_next += 1;
                let g = if s.g == 0 { NO_ID } else { s.g as i64 };
                let e = Event {
                    typ: ev::CPU_SAMPLE,
                    time: s.time,
                    args: [s.stack, 0, 0, 0],
                    ctx: SchedCtx { g, p: s.p as i64, m: s.m as i64 },
                    at: s.at,
                };
                return Ok(Some(Step::Event(e)));
            }
        }
        if !self.try_advance(0)? {
            // Go's answer to a blocked head costs work in the frontier's size,
            // so input made of many threads whose events wait on each other in
            // the wrong order takes time quadratic in its size (Go's parser
            // too). Real traces rarely take this path; past a budget linear in
            // the input size, give up.
            self.order_work += self.frontier.len() as u64;
            if self.order_work + self.order.work > self.work_budget {
                return Err(self.budget_error());
            }
            // Go sorts the whole heap by time (an unstable sort: insertion sort
            // up to 12 elements, which keeps equal times in place).
            sort_frontier(&mut self.frontier);
            let mut ok = false;
            for i in 1..self.frontier.len() {
                if self.try_advance(i)? {
                    ok = true;
                    break;
                }
            }
            if !ok {
                let gen = self.gen.as_deref().expect("generation");
                let mut dump = String::new();
                for h in self.frontier.iter().take(8) {
                    let c = &self.cursors[h.cursor as usize];
                    dump.push_str(&format!("M {} [{} time={}]; ", c.m, SPECS[c.ev.typ as usize].name, c.ev.time));
                }
                if self.frontier.len() > 8 {
                    dump.push_str(&format!("and {} more", self.frontier.len() - 8));
                }
                return Err(TraceError::at(
                    format!("broken trace: failed to advance: frontier: {dump}"),
                    self.cursors[self.frontier[0].cursor as usize].ev.at,
                    Some(gen.gen),
                ));
            }
        }
        Ok(Some(Step::Queued))
    }

    /// The error for input that makes ordering take time quadratic in its size.
    fn budget_error(&self) -> TraceError {
        let what = if self.order_work >= self.order.work {
            format!("events of {} threads keep waiting on each other", self.frontier.len())
        } else {
            "events keep scanning every thread or too many open ranges".to_string()
        };
        TraceError::at(
            format!("broken trace: {what}; giving up after {} steps to order them", self.order_work + self.order.work),
            self.frontier.first().map_or(self.genr.offset(), |h| self.cursors[h.cursor as usize].ev.at),
            self.gen.as_ref().map(|g| g.gen),
        )
    }

    fn try_advance(&mut self, i: usize) -> Result<bool, TraceError> {
        let gen = self.gen.as_deref().expect("generation");
        let c = &mut self.cursors[self.frontier[i].cursor as usize];
        let mut e = c.ev;
        let ok = self.order.advance(&mut e, gen, c.m).map_err(|msg| TraceError::at(msg, e.at, Some(gen.gen)))?;
        // Go's handlers write into the cursor's own event.
        c.ev = e;
        if !ok {
            return Ok(false);
        }
        if c.next_event(gen)? {
            self.frontier[i].time = c.ev.time;
            heap_update(&mut self.frontier, i);
        } else {
            heap_remove(&mut self.frontier, i);
        }
        Ok(true)
    }

    fn next_generation(&mut self) -> Result<Option<Step>, TraceError> {
        if self.release_input {
            // Everything before the generation just finished is done with (its
            // bytes may hold the spilled first batch of that generation, so it
            // is kept until the next one).
            crate::wire::release_pages(self.genr.c.data, self.released, self.gen_start);
            self.released = self.released.max(self.gen_start);
        }
        self.gen_start = self.genr.offset();
        if self.version < 26 {
            if let Some(e) = &self.genr.spill_err {
                if self.spill_err_sync {
                    return Err(e.clone());
                }
                self.spill_err_sync = true;
                self.syncs += 1;
                return Ok(Some(Step::Sync { time: self.last_ts, with_table: false }));
            }
            if self.gen.is_some() && !self.genr.has_spill() {
                self.done = true;
                self.syncs += 1;
                return Ok(Some(Step::Sync { time: self.last_ts, with_table: false }));
            }
        } else if let Some(e) = &self.read_gen_err {
            return Err(e.clone());
        }
        match self.genr.read(&mut self.strings) {
            Err(e) => {
                self.gen = None;
                if self.version < 26 {
                    self.genr.spill_err = Some(e);
                    self.spill_err_sync = true;
                } else {
                    self.read_gen_err = Some(e);
                }
                self.syncs += 1;
                Ok(Some(Step::Sync { time: self.last_ts, with_table: false }))
            }
            Ok(NextGen::Done) => {
                self.gen = None;
                self.done = true;
                self.syncs += 1;
                Ok(Some(Step::Sync { time: self.last_ts, with_table: false }))
            }
            Ok(NextGen::Gen(g)) => {
                self.gen = Some(g);
                self.cpu_next = 0;
                let gen = self.gen.as_deref().expect("generation");
                self.cursors.clear();
                for slot in 0..gen.batches.len() {
                    let mut c = Cursor {
                        m: gen.batches[slot].0 as i64,
                        slot,
                        last_ts: 0,
                        idx: 0,
                        off: 0,
                        ev: Event { typ: 0, time: 0, args: [0; 4], ctx: NO_CTX, at: 0 },
                    };
                    if !c.next_event(gen)? {
                        continue;
                    }
                    self.frontier.push(Head { time: c.ev.time, cursor: self.cursors.len() as u32 });
                    self.cursors.push(c);
                    let n = self.frontier.len() - 1;
                    sift_up(&mut self.frontier, n);
                }
                self.syncs += 1;
                let t = gen.freq.ticks_to_ns(gen.min_ts);
                Ok(Some(Step::Sync { time: t, with_table: true }))
            }
        }
    }
}

/// Go's `slices.SortFunc` by time for the frontier: its permutation of
/// equal times depends on the times alone, so sorting the entries matches
/// Go's sort of the cursors.
fn sort_frontier(f: &mut [Head]) {
    crate::pdqsort::sort_by_time(f, |h| h.time);
}

/// Gives an error that does not say where it happened the offset `at`.
fn at_offset(mut err: TraceError, at: usize) -> TraceError {
    if err.offset.is_none() {
        err.offset = Some(at as u64);
    }
    err
}

/// Go's validateTableIDs: every stack and string an event names must exist.
fn validate_table_ids(e: &Event, gen: &Generation<'_>) -> Result<(), TraceError> {
    let spec = &SPECS[e.typ as usize];
    let err = |m: String| TraceError::msg(m).with_gen(Some(gen.gen));
    if e.typ == ev::CPU_SAMPLE {
        return Ok(());
    }
    for &i in spec.stack_ids {
        let id = e.args[i - 1];
        if !gen.stacks.contains(id) {
            return Err(err(format!("found invalid stack ID {id} for event {}", spec.name)));
        }
    }
    for &i in spec.string_ids {
        let id = e.args[i - 1];
        if !gen.strings.contains(id) {
            return Err(err(format!("found invalid string ID {id} for event {}", spec.name)));
        }
    }
    Ok(())
}
