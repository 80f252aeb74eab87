//! cmd/trace's goroutine summary (`internal/trace.Summarizer`) over the events table.
//!
//! The Summarizer is a sequential state machine whose quirks depend on event
//! order (the P -> goroutine syscall map that a later syscall exit can clobber,
//! P-scoped ranges charged only if the same goroutine ends them, snapshots taken
//! at region boundaries, summaries replaced when a goroutine ID is reused), so
//! it runs here once over the events and hands back flat tables: one row per
//! goroutine summary and per user region, plus long tables of the per-reason
//! block times and per-name range times. `gotrace_df/views` groups and filters
//! them; Go's `internal/trace/summary.go` is the reference, and the docstrings
//! of `gotrace_df/views/goroutines.py`, `tasks.py` and `regions.py` list the
//! behaviours copied.
//!
//! Memory: the goroutine summaries and the regions are kept as the output
//! columns themselves; a goroutine's in-flight state lives in a slab only while
//! it is alive, and only open regions hold a snapshot.

use crate::model::{kind, kind_code, resource, resource_code, state, state_code};
use std::sync::Arc;

use crate::evtable::{int_col, IntCol, StrCol, SLICE};
use arrow_array::types::{ArrowDictionaryKeyType, Int16Type, Int32Type, Int8Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Int32Array, Int64Array, Int8Array, PrimitiveArray, RecordBatch,
    StringArray,
};
use arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

use crate::build::EventBatches;
use crate::idmap::IdMap;
use crate::TraceError;

/// How to summarise.
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryOptions {
    /// Go 1.22-1.25 behaviour for a goroutine first seen through a status event
    /// (from Undetermined): the time since the last Sync is not charged to its
    /// state, it inherits the task of its context goroutine's innermost region,
    /// and the event's stack does not name it (the transition had no stack).
    /// Go 1.26 charges that time, does not inherit, and names it.
    pub legacy_undetermined: bool,
    /// Go 1.22-1.24 readers: see [`LegacyClock`].
    pub legacy_sync: bool,
    /// `(start, end)`: the goroutine stats become snapshot(end) - snapshot(start),
    /// as the Summarizer computes a region's stats, for every goroutine.
    pub window: Option<(i64, i64)>,
    /// Each region's stats (snapshot at its end - snapshot at its start), as
    /// the per-region breakdown shows them. Without, the regions have no
    /// stats columns and no snapshots are taken at their boundaries.
    pub region_stats: bool,
    /// The goroutines alone: no region is made (the regions table is empty)
    /// and no time or memory goes to them; the goroutines' stats are the
    /// same.
    pub skip_regions: bool,
    /// No goroutine's stays in Runnable and Waiting are kept (the episodes
    /// table is empty): they grow with the events, and only the latency
    /// percentiles read them.
    pub skip_episodes: bool,
    /// At least as many goroutine creations and region begins as the events
    /// hold (the parser's goroutines and regions rows), to size the results
    /// up front.
    pub capacity: Option<(usize, usize)>,
}

// The event vocabulary (kinds, states, resources) is the model's.
/// No state: a from/to column that is null.
const S_NONE: u8 = 255;

fn state_of(s: &str) -> u8 {
    state_code(s).unwrap_or(S_NONE)
}

/// "None" in the u32 and i64 fields below.
const NONE32: u32 = u32::MAX;
const NONE64: i64 = i64::MIN;
/// A region's `at_end` when its goroutine's end did not close it.
const NOT_AT_END: i32 = i32::MIN;

/// Strings (block reasons, range names, region types) by content.
#[derive(Default)]
struct Strings {
    ids: FxHashMap<String, u32>,
    all: Vec<String>,
}

impl Strings {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.all.len() as u32;
        self.all.push(s.to_owned());
        self.ids.insert(s.to_owned(), i);
        i
    }
}

/// A vector whose first two items live inline: the per-goroutine lists below
/// (block reasons, ranges, open regions) rarely hold more, and copying a
/// snapshot then allocates nothing.
#[derive(Clone, Default)]
struct Inline2<T: Copy + Default> {
    len: u8,
    inline: [T; 2],
    // Boxed so the common, inline case stays two words smaller.
    #[allow(clippy::box_collection)]
    spill: Option<Box<Vec<T>>>,
}

impl<T: Copy + Default> Inline2<T> {
    fn as_slice(&self) -> &[T] {
        match &self.spill {
            Some(v) => v,
            None => &self.inline[..self.len as usize],
        }
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        match &mut self.spill {
            Some(v) => v,
            None => &mut self.inline[..self.len as usize],
        }
    }

    fn push(&mut self, e: T) {
        if let Some(v) = &mut self.spill {
            v.push(e);
        } else if (self.len as usize) < self.inline.len() {
            self.inline[self.len as usize] = e;
            self.len += 1;
        } else {
            let mut v = self.inline.to_vec();
            v.push(e);
            self.spill = Some(Box::new(v));
        }
    }

    fn pop(&mut self) -> Option<T> {
        if let Some(v) = &mut self.spill {
            return v.pop();
        }
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        Some(self.inline[self.len as usize])
    }

    fn last(&self) -> Option<&T> {
        self.as_slice().last()
    }

    fn iter(&self) -> std::slice::Iter<'_, T> {
        self.as_slice().iter()
    }

    fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.as_mut_slice().iter_mut()
    }

    fn retain(&mut self, f: impl Fn(&T) -> bool) {
        let kept: Vec<T> = self.iter().copied().filter(|e| f(e)).collect();
        *self = Inline2::default();
        for e in kept {
            self.push(e);
        }
    }
}

impl<'a, T: Copy + Default> IntoIterator for &'a Inline2<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A small map from a string ID to a duration or time, in insertion order. A
/// key that is present with a zero value is kept: cmd/trace shows a column for
/// every key present.
type SmallMap = Inline2<(u32, i64)>;

fn map_add(m: &mut SmallMap, k: u32, d: i64) {
    match m.iter_mut().find(|e| e.0 == k) {
        Some(e) => e.1 += d,
        None => m.push((k, d)),
    }
}

fn map_get(m: &SmallMap, k: u32) -> i64 {
    m.iter().find(|e| e.0 == k).map_or(0, |e| e.1)
}

fn map_set(m: &mut SmallMap, k: u32, v: i64) {
    match m.iter_mut().find(|e| e.0 == k) {
        Some(e) => e.1 = v,
        None => m.push((k, v)),
    }
}

fn map_remove(m: &mut SmallMap, k: u32) {
    if m.iter().any(|e| e.0 == k) {
        m.retain(|e| e.0 != k);
    }
}

/// `GoroutineExecStats`.
#[derive(Clone, Default)]
struct Stats {
    exec: i64,
    sched: i64,
    syscall: i64,
    syscall_block: i64,
    total: i64,
    block: SmallMap,
    range: SmallMap,
}

impl Stats {
    /// `self - v`, over the keys of `self` (as Go's `sub`).
    fn sub(&self, v: &Stats) -> Stats {
        let mut r = self.clone();
        r.exec -= v.exec;
        r.sched -= v.sched;
        r.syscall -= v.syscall;
        r.syscall_block -= v.syscall_block;
        r.total -= v.total;
        for e in r.block.iter_mut() {
            e.1 -= map_get(&v.block, e.0);
        }
        for e in r.range.iter_mut() {
            e.1 -= map_get(&v.range, e.0);
        }
        r
    }
}

/// State used only while summarising (Go's private `goroutineSummary`). Zero
/// values mean "not in that state", as in Go.
#[derive(Default)]
struct Pending {
    last_start: i64,
    last_runnable: i64,
    last_block: i64,
    /// The current Runnable / Waiting stay began with a status event (its
    /// start is unknown): not an episode for the latency percentiles.
    from_status: bool,
    last_block_reason: u32,
    last_syscall: i64,
    last_syscall_block: i64,
    last_range: SmallMap,
    /// Open regions, innermost last: (region row, slot in the snapshot slab of
    /// its stats at its start; NONE32: zero stats).
    active: Inline2<(u32, u32)>,
}

/// The goroutine summaries (Go's `GoroutineSummary`), a column per field
/// indexed by summary number: they become the goroutines table's columns
/// as they are, with no records to copy from.
#[derive(Default)]
struct Summaries {
    goid: Vec<i64>,
    creation: Vec<i64>,
    /// First time running (0: never, as Go's StartTime).
    start: Vec<i64>,
    /// Exit time (0: none).
    end: Vec<i64>,
    /// Stack whose outermost frame named the goroutine (-1: not named).
    name_stack: Vec<i32>,
    /// Slab slot of its `Pending` (NONE32 once finalized: all zero).
    pend: Vec<u32>,
    totals: StatCols,
    block: Vec<SmallMap>,
    /// Slot of its range times in `ranges` (NONE32: none). Few goroutines
    /// have any (GC mark assist, sweep).
    range: Vec<u32>,
    ranges: Vec<SmallMap>,
}

impl Summaries {
    fn len(&self) -> usize {
        self.goid.len()
    }

    fn reserve(&mut self, n: usize) {
        for c in [&mut self.goid, &mut self.creation, &mut self.start, &mut self.end] {
            c.reserve_exact(n);
        }
        self.totals.reserve(n);
        self.name_stack.reserve_exact(n);
        self.pend.reserve_exact(n);
        self.block.reserve_exact(n);
        self.range.reserve_exact(n);
    }

    /// A new summary, not yet named, with zero stats.
    fn push(&mut self, goid: i64, creation: i64) -> u32 {
        let gi = self.len() as u32;
        self.goid.push(goid);
        self.creation.push(creation);
        for c in [&mut self.start, &mut self.end] {
            c.push(0);
        }
        self.totals.push_zero();
        self.name_stack.push(-1);
        self.pend.push(NONE32);
        self.block.push(SmallMap::default());
        self.range.push(NONE32);
        gi
    }

    fn range_of(&self, gi: usize) -> &SmallMap {
        match self.range[gi] {
            NONE32 => &EMPTY,
            slot => &self.ranges[slot as usize],
        }
    }

    fn range_mut(&mut self, gi: usize) -> &mut SmallMap {
        if self.range[gi] == NONE32 {
            self.range[gi] = self.ranges.len() as u32;
            self.ranges.push(SmallMap::default());
        }
        &mut self.ranges[self.range[gi] as usize]
    }

    fn stats(&self, gi: usize) -> Stats {
        Stats { block: self.block[gi].clone(), range: self.range_of(gi).clone(), ..self.totals.get(gi) }
    }

    fn set_stats(&mut self, gi: usize, st: Stats) {
        self.totals.set(gi, &st);
        self.block[gi] = st.block;
        if !st.range.as_slice().is_empty() || self.range[gi] != NONE32 {
            *self.range_mut(gi) = st.range;
        }
    }

    /// Keeps the summaries where `keep` is true, in order, in place.
    fn retain(&mut self, keep: &[bool]) {
        fn compact<T: Clone>(v: &mut Vec<T>, keep: &[bool]) {
            let mut w = 0;
            for (r, &k) in keep.iter().enumerate().take(v.len()) {
                if k {
                    v.swap(w, r);
                    w += 1;
                }
            }
            v.truncate(w);
        }
        for c in [&mut self.goid, &mut self.creation, &mut self.start, &mut self.end] {
            compact(c, keep);
        }
        for c in self.totals.all_mut() {
            compact(c, keep);
        }
        compact(&mut self.name_stack, keep);
        compact(&mut self.pend, keep);
        compact(&mut self.block, keep);
        compact(&mut self.range, keep);
    }
}

static EMPTY: SmallMap = Inline2 { len: 0, inline: [(0, 0); 2], spill: None };

/// The totals of [`Stats`] as columns, a row per goroutine summary or region.
#[derive(Default)]
struct StatCols {
    exec: Vec<i64>,
    sched: Vec<i64>,
    syscall: Vec<i64>,
    syscall_block: Vec<i64>,
    total: Vec<i64>,
}

impl StatCols {
    fn all_mut(&mut self) -> [&mut Vec<i64>; 5] {
        [&mut self.exec, &mut self.sched, &mut self.syscall, &mut self.syscall_block, &mut self.total]
    }

    fn reserve(&mut self, n: usize) {
        for c in self.all_mut() {
            c.reserve_exact(n);
        }
    }

    fn push_zero(&mut self) {
        for c in self.all_mut() {
            c.push(0);
        }
    }

    /// Row `i`'s totals (no block or range times).
    fn get(&self, i: usize) -> Stats {
        Stats {
            exec: self.exec[i],
            sched: self.sched[i],
            syscall: self.syscall[i],
            syscall_block: self.syscall_block[i],
            total: self.total[i],
            ..Stats::default()
        }
    }

    fn set(&mut self, i: usize, st: &Stats) {
        self.exec[i] = st.exec;
        self.sched[i] = st.sched;
        self.syscall[i] = st.syscall;
        self.syscall_block[i] = st.syscall_block;
        self.total[i] = st.total;
    }

    /// The output columns, as the tables name them.
    fn columns(self) -> [(&'static str, ArrayRef); 5] {
        [
            ("exec_ns", i64_col(self.exec, None)),
            ("sched_wait_ns", i64_col(self.sched, None)),
            ("syscall_ns", i64_col(self.syscall, None)),
            ("syscall_block_ns", i64_col(self.syscall_block, None)),
            ("total_ns", i64_col(self.total, None)),
        ]
    }
}

/// Output columns of the user regions, one row per region summary made.
#[derive(Default)]
struct RegionCols {
    goid: Vec<i64>,
    owner: Vec<u32>,
    task: Vec<i64>,
    name: Vec<u32>,
    start_event: Vec<u32>,
    end_event: Vec<u32>,
    /// In its task's region list (Go's `UserTaskSummary.Regions`); such rows
    /// are made in that list's order.
    in_task: Vec<bool>,
    /// Its start time while open (the trace's first for a region with no
    /// begin), then end - start once closed (the trace's last time for one
    /// closed by the trace's end), as cmd/trace measures a region.
    duration: Vec<i64>,
    /// In its goroutine's region list (closed, or open at its goroutine's end).
    listed: Vec<bool>,
    /// Closed by its goroutine's end: the stack that named the goroutine then
    /// (-1: none; [`NOT_AT_END`]: closed otherwise). A system goroutine's
    /// regions are not listed, and which names are a system goroutine's is
    /// known once the stacks are ([`Pass::finish`]).
    at_end: Vec<i32>,
    /// `Stack()` of its start event (-1: none).
    stack: Vec<i32>,
    /// Times of its start and end events as cmd/trace's reader gives them
    /// (NONE64: no such event).
    start_ns: Vec<i64>,
    end_ns: Vec<i64>,
    /// Only with the region_stats option.
    totals: StatCols,
    /// Long tables: (region row, string ID, ns).
    block: Long,
    range: Long,
}

/// Complete stays in Runnable (state 0) or Waiting (state 1), entered and left
/// by an event: the scheduling and blocking latencies behind the percentiles
/// (not part of cmd/trace's summary).
#[derive(Default)]
struct Episodes {
    g: Vec<u32>,
    state: Vec<i8>,
    end: Vec<i64>,
    dur: Vec<i64>,
}

impl Episodes {
    fn push(&mut self, gi: u32, state: i8, end: i64, dur: i64) {
        self.g.push(gi);
        self.state.push(state);
        self.end.push(end);
        self.dur.push(dur);
    }
}

#[derive(Default)]
struct Long {
    row: Vec<i32>,
    key: Vec<i32>,
    ns: Vec<i64>,
}

impl Long {
    /// Room for `n` rows (a row per goroutine or region usually suffices).
    fn reserve(&mut self, n: usize) {
        self.row.reserve_exact(n);
        self.key.reserve_exact(n);
        self.ns.reserve_exact(n);
    }

    fn extend(&mut self, row: usize, m: &SmallMap) {
        for &(k, v) in m {
            self.row.push(row as i32);
            self.key.push(k as i32);
            self.ns.push(v);
        }
    }
}

struct Summarizer {
    opts: SummaryOptions,
    strings: Strings,
    empty: u32,
    forever: u32,
    sums: Summaries,
    /// Goroutine ID -> index of its summary in `sums`.
    gs: IdMap,
    pends: Vec<Pending>,
    free: Vec<u32>,
    /// Stats snapshots at the start of open regions, and free slots.
    snaps: Vec<Stats>,
    free_snaps: Vec<u32>,
    regs: RegionCols,
    eps: Episodes,
    syscalling_p: FxHashMap<i32, i64>,
    syscalling_g: FxHashMap<i64, i32>,
    ranges_p: FxHashMap<(i64, u32), i64>,
    last_ts: i64,
    sync_ts: i64,
    first_ts: Option<i64>,
    clock: Option<LegacyClock>,
    snap_a: Option<Vec<Stats>>,
    snap_b: Option<Vec<Stats>>,
    /// `Stack()` of the event being read (-1: none).
    row_stack: i32,
}

static ZERO: Pending = Pending {
    last_start: 0,
    last_runnable: 0,
    last_block: 0,
    from_status: false,
    last_block_reason: 0,
    last_syscall: 0,
    last_syscall_block: 0,
    last_range: Inline2 { len: 0, inline: [(0, 0); 2], spill: None },
    active: Inline2 { len: 0, inline: [(0, 0); 2], spill: None },
};

/// `snapshotStat`: the stats as if the goroutine stopped at `last`. Note the
/// quirk: time since a syscall lost its P goes to sched wait (and the syscall
/// time runs on too), unlike at a real syscall exit.
fn snapshot(sums: &Summaries, gi: usize, p: &Pending, last: i64) -> Stats {
    let mut r = sums.stats(gi);
    if r.total == 0 {
        r.total = last - sums.creation[gi];
    }
    if p.last_start != 0 {
        r.exec += last - p.last_start;
    }
    if p.last_runnable != 0 {
        r.sched += last - p.last_runnable;
    }
    if p.last_block != 0 {
        map_add(&mut r.block, p.last_block_reason, last - p.last_block);
    }
    if p.last_syscall != 0 {
        r.syscall += last - p.last_syscall;
    }
    if p.last_syscall_block != 0 {
        r.sched += last - p.last_syscall_block;
    }
    for &(name, ts) in &p.last_range {
        map_add(&mut r.range, name, last - ts);
    }
    r
}

impl Summarizer {
    fn new(opts: SummaryOptions) -> Self {
        let mut strings = Strings::default();
        let empty = strings.id("");
        let forever = strings.id("forever");
        Summarizer {
            opts,
            strings,
            empty,
            forever,
            sums: Summaries::default(),
            gs: IdMap::default(),
            pends: Vec::new(),
            free: Vec::new(),
            snaps: Vec::new(),
            free_snaps: Vec::new(),
            regs: RegionCols::default(),
            eps: Episodes::default(),
            syscalling_p: FxHashMap::default(),
            syscalling_g: FxHashMap::default(),
            ranges_p: FxHashMap::default(),
            last_ts: 0,
            sync_ts: 0,
            first_ts: None,
            clock: opts.legacy_sync.then(LegacyClock::default),
            snap_a: None,
            snap_b: None,
            row_stack: -1,
        }
    }

    /// The index of goroutine `id`'s summary, if it has one.
    fn summary_of(&self, id: i64) -> Option<u32> {
        self.gs.get(id).map(|gi| gi as u32)
    }

    fn pending(&self, gi: u32) -> &Pending {
        match self.sums.pend[gi as usize] {
            NONE32 => &ZERO,
            slot => &self.pends[slot as usize],
        }
    }

    /// The goroutine's pending state, made anew (all zero) if it was finalized.
    fn pending_mut(&mut self, gi: u32) -> &mut Pending {
        let slot = match self.sums.pend[gi as usize] {
            NONE32 => {
                let slot = match self.free.pop() {
                    Some(s) => s,
                    None => {
                        self.pends.push(Pending::default());
                        (self.pends.len() - 1) as u32
                    }
                };
                self.sums.pend[gi as usize] = slot;
                slot
            }
            slot => slot,
        };
        &mut self.pends[slot as usize]
    }

    fn keep_snap(&mut self, st: Stats) -> u32 {
        match self.free_snaps.pop() {
            Some(slot) => {
                self.snaps[slot as usize] = st;
                slot
            }
            None => {
                self.snaps.push(st);
                (self.snaps.len() - 1) as u32
            }
        }
    }

    /// `now` minus the start snapshot in `slot` (which is freed).
    fn since(&mut self, now: &Stats, slot: u32) -> Stats {
        if slot == NONE32 {
            return now.clone();
        }
        self.free_snaps.push(slot);
        now.sub(&self.snaps[slot as usize])
    }

    fn snap(&self, gi: u32, last: i64) -> Stats {
        snapshot(&self.sums, gi as usize, self.pending(gi), last)
    }

    /// The window moved inside the trace, which starts at `start` (the first
    /// event's time), as the views clip it. Its end needs no clipping: no
    /// event comes after the trace's end to take a snapshot there.
    fn clip_window(&mut self, start: i64) {
        if let Some((a, b)) = self.opts.window {
            self.opts.window = Some((a.max(start), b.max(start)));
        }
    }

    /// What happens at every event before its kind matters.
    fn tick(&mut self, ts: i64) {
        if self.sync_ts == 0 {
            self.sync_ts = ts;
        }
        if let Some((a, b)) = self.opts.window {
            if self.snap_a.is_none() && ts > a {
                self.snap_a = Some(self.snapshot_all(a));
            }
            if self.snap_b.is_none() && ts > b {
                self.snap_b = Some(self.snapshot_all(b));
            }
        }
        if self.first_ts.is_none() {
            self.first_ts = Some(ts);
        }
        self.last_ts = ts;
    }

    fn snapshot_all(&self, at: i64) -> Vec<Stats> {
        (0..self.sums.len() as u32).map(|gi| self.snap(gi, at)).collect()
    }

    /// Sizes the summaries and region columns up front from the capacity
    /// option, so they never regrow (without it they grow as needed). The
    /// episodes get room for their most (`events` bounds them, see
    /// [`crate::room`]), the regions' long tables for a row per region.
    fn reserve(&mut self, events: usize) {
        let Some((created, begins)) = self.opts.capacity else { return };
        let e = &mut self.eps;
        crate::room(&mut e.g, events);
        crate::room(&mut e.state, events);
        crate::room(&mut e.end, events);
        crate::room(&mut e.dur, events);
        self.sums.reserve(created);
        // Each goroutine may carry one inherited region.
        let r = &mut self.regs;
        let n = begins + created;
        r.goid.reserve_exact(n);
        r.owner.reserve_exact(n);
        r.task.reserve_exact(n);
        r.name.reserve_exact(n);
        r.start_event.reserve_exact(n);
        r.end_event.reserve_exact(n);
        r.in_task.reserve_exact(n);
        r.duration.reserve_exact(n);
        r.listed.reserve_exact(n);
        r.at_end.reserve_exact(n);
        r.stack.reserve_exact(n);
        r.start_ns.reserve_exact(n);
        r.end_ns.reserve_exact(n);
        if self.opts.region_stats {
            r.totals.reserve(n);
            r.block.reserve(n);
            r.range.reserve(n);
        }
    }

    /// A new region row beginning at `start` (stats filled in when it closes).
    #[allow(clippy::too_many_arguments)]
    fn new_region(
        &mut self,
        goid: i64,
        owner: u32,
        task: i64,
        name: u32,
        start_event: u32,
        start: i64,
        in_task: bool,
    ) -> u32 {
        let r = &mut self.regs;
        r.duration.push(start);
        r.goid.push(goid);
        r.owner.push(owner);
        r.task.push(task);
        r.name.push(name);
        r.start_event.push(start_event);
        r.end_event.push(NONE32);
        r.in_task.push(in_task);
        r.listed.push(false);
        r.at_end.push(NOT_AT_END);
        r.stack.push(if start_event == NONE32 { -1 } else { self.row_stack });
        r.start_ns.push(if start_event == NONE32 { NONE64 } else { start });
        r.end_ns.push(NONE64);
        if self.opts.region_stats {
            r.totals.push_zero();
        }
        (r.goid.len() - 1) as u32
    }

    /// Closes region `ri` at `end` with `stats` (end - start; None without
    /// region stats) and lists it on its goroutine.
    fn close_region(&mut self, ri: u32, end_event: Option<u32>, end: i64, stats: Option<&Stats>) {
        let r = &mut self.regs;
        let i = ri as usize;
        if let Some(ev) = end_event {
            r.end_event[i] = ev;
            r.end_ns[i] = end;
        }
        r.duration[i] = end - r.duration[i];
        r.listed[i] = true;
        let Some(stats) = stats else { return };
        r.totals.set(i, stats);
        r.block.extend(i, &stats.block);
        r.range.extend(i, &stats.range);
    }

    /// A new summary for goroutine `id`, replacing any earlier one.
    fn create(&mut self, id: i64, creation: i64) -> u32 {
        self.sums.push(id, creation)
    }

    /// A goroutine created while its creator is inside a region inherits that
    /// region's task through a made-up region with no name.
    fn inherit_region(&mut self, gi: u32, creator: i64, event: u32, ts: i64) {
        if self.opts.skip_regions {
            return;
        }
        let Some(ci) = self.summary_of(creator) else { return };
        let Some(&(top, _)) = self.pending(ci).active.last() else { return };
        let task = self.regs.task[top as usize];
        let goid = self.sums.goid[gi as usize];
        let ri = self.new_region(goid, gi, task, self.empty, event, ts, false);
        // Its stats start from zero, not from a snapshot.
        let p = self.pending_mut(gi);
        p.active = Inline2::default();
        p.active.push((ri, NONE32));
    }

    /// `finalize`: the goroutine ended (`trigger`) or the trace did (`None`).
    fn finalize(&mut self, gi: u32, last: i64, trigger: Option<(u32, i64)>) {
        if let Some((_, ts)) = trigger {
            self.sums.end[gi as usize] = ts;
        }
        let fin = self.snap(gi, last);
        let slot = self.sums.pend[gi as usize];
        if slot != NONE32 {
            let active = std::mem::take(&mut self.pends[slot as usize].active);
            // System goroutines are never part of regions, even those they
            // inherited at creation: closed here, undone at the end for them.
            let named_by = self.sums.name_stack[gi as usize];
            for &(ri, start) in &active {
                let st = self.opts.region_stats.then(|| self.since(&fin, start));
                self.close_region(ri, trigger.map(|t| t.0), trigger.map_or(last, |t| t.1), st.as_ref());
                self.regs.at_end[ri as usize] = named_by;
            }
            self.pends[slot as usize] = Pending::default();
            self.free.push(slot);
            self.sums.pend[gi as usize] = NONE32;
        }
        self.sums.set_stats(gi as usize, fin);
    }

    #[allow(clippy::too_many_arguments)]
    fn goroutine_transition(
        &mut self,
        i: u32,
        ts: i64,
        ctx_g: i64,
        ctx_p: i32,
        id: i64,
        old: u8,
        new: u8,
        reason: u32,
        stack: Option<i32>,
        namable: &[bool],
    ) {
        if old == new {
            return;
        }
        let gi = match old {
            state::UNDETERMINED => {
                let gi = self.create(id, self.sync_ts);
                if self.opts.legacy_undetermined {
                    self.inherit_region(gi, ctx_g, i, ts);
                } else {
                    // Charge the time since the Sync to the state it was found in.
                    let st = ts - self.sync_ts;
                    let (s, g) = (&mut self.sums.totals, gi as usize);
                    match new {
                        state::RUNNING => s.exec[g] += st,
                        state::WAITING => map_add(&mut self.sums.block[g], reason, st),
                        state::RUNNABLE => s.sched[g] += st,
                        // With a P it had that P all along: syscall time.
                        state::SYSCALL if ctx_p < 0 => s.syscall_block[g] += st,
                        state::SYSCALL => s.syscall[g] += st,
                        _ => {}
                    }
                }
                self.gs.insert(id, gi as usize);
                gi
            }
            state::NOT_EXIST => {
                let gi = self.create(id, ts);
                self.inherit_region(gi, ctx_g, i, ts);
                self.gs.insert(id, gi as usize);
                gi
            }
            _ => {
                // Go dereferences a nil summary here; a valid trace never gets here.
                let Some(gi) = self.summary_of(id) else { return };
                self.leave(gi, id, ts, old);
                gi
            }
        };

        // Before Go 1.26 a status event's transition carried no stack, so it
        // never named the goroutine.
        let stack = if self.opts.legacy_undetermined && old == state::UNDETERMINED { None } else { stack };
        let g = gi as usize;
        if self.sums.name_stack[g] < 0 {
            if let Some(st) = stack {
                if namable.get(st as usize).copied().unwrap_or(false) {
                    self.sums.name_stack[g] = st;
                }
            }
        }

        match new {
            state::RUNNING => {
                let start = &mut self.sums.start[gi as usize];
                if *start == 0 {
                    *start = ts;
                }
                self.pending_mut(gi).last_start = ts;
            }
            state::RUNNABLE => {
                let p = self.pending_mut(gi);
                p.last_runnable = ts;
                p.from_status = old == state::UNDETERMINED;
            }
            state::WAITING if reason != self.forever => {
                let p = self.pending_mut(gi);
                p.last_block = ts;
                p.last_block_reason = reason;
                p.from_status = old == state::UNDETERMINED;
            }
            // Waiting "forever" is like goroutine death.
            state::WAITING | state::NOT_EXIST => self.finalize(gi, ts, Some((i, ts))),
            state::SYSCALL => {
                self.pending_mut(gi).last_syscall = ts;
                self.syscalling_p.insert(ctx_p, id);
                self.syscalling_g.insert(id, ctx_p);
            }
            _ => {}
        }
    }

    /// The time spent in `old`, as the goroutine leaves it.
    // One arm per state reads better than guards on the match.
    #[allow(clippy::collapsible_match)]
    fn leave(&mut self, gi: u32, id: i64, ts: i64, old: u8) {
        // A finalized goroutine's state is all zero, as Go's after finalize.
        self.pending_mut(gi);
        let g = gi as usize;
        let slot = self.sums.pend[g];
        let mut ended_syscall = false;
        let mut episode: Option<(i8, i64)> = None;
        {
            let s = &mut self.sums.totals;
            let p = &mut self.pends[slot as usize];
            match old {
                state::RUNNING => {
                    s.exec[g] += ts - p.last_start;
                    p.last_start = 0;
                }
                state::WAITING => {
                    if p.last_block != 0 {
                        map_add(&mut self.sums.block[g], p.last_block_reason, ts - p.last_block);
                        if !p.from_status {
                            episode = Some((1, ts - p.last_block));
                        }
                        p.last_block = 0;
                    }
                }
                state::RUNNABLE => {
                    if p.last_runnable != 0 {
                        s.sched[g] += ts - p.last_runnable;
                        if !p.from_status {
                            episode = Some((0, ts - p.last_runnable));
                        }
                        p.last_runnable = 0;
                    }
                }
                state::SYSCALL => {
                    if p.last_syscall != 0 {
                        if p.last_syscall_block != 0 {
                            s.syscall_block[g] += ts - p.last_syscall_block;
                            s.syscall[g] += p.last_syscall_block - p.last_syscall;
                        } else {
                            s.syscall[g] += ts - p.last_syscall;
                        }
                        p.last_syscall = 0;
                        p.last_syscall_block = 0;
                        ended_syscall = true;
                    }
                }
                _ => {}
            }
        }
        if let Some((state, dur)) = episode.filter(|_| !self.opts.skip_episodes) {
            self.eps.push(gi, state, ts, dur);
        }
        if ended_syscall {
            // Clears whatever goroutine the P now maps to (a missing entry
            // reads as P 0), as Go does.
            let p = self.syscalling_g.get(&id).copied().unwrap_or(0);
            self.syscalling_p.remove(&p);
            self.syscalling_g.remove(&id);
        }
    }

    fn proc_transition(&mut self, ts: i64, pid: i64, old: u8, new: u8) {
        if old == new || new != state::IDLE {
            return;
        }
        // A P going idle under a goroutine in a syscall: the syscall blocked.
        let Ok(p) = i32::try_from(pid) else { return };
        if let Some(goid) = self.syscalling_p.remove(&p) {
            if let Some(gi) = self.summary_of(goid) {
                self.pending_mut(gi).last_syscall_block = ts;
            }
        }
    }

    fn range_begin(&mut self, ts: i64, active: bool, ctx_g: i64, res: u8, rid: i64, name: u32) {
        let gi = match res {
            resource::GOROUTINE => self.summary_of(rid),
            resource::PROC => {
                // Bound to the P, but charged to the goroutine if the same one
                // is there at the end.
                let gi = self.summary_of(ctx_g);
                if gi.is_some() {
                    self.ranges_p.insert((rid, name), ctx_g);
                }
                gi
            }
            _ => None,
        };
        let Some(gi) = gi else { return };
        if active {
            let sync_ts = self.sync_ts;
            let t = map_get(&self.pending(gi).last_range, name);
            if t != 0 {
                map_add(self.sums.range_mut(gi as usize), name, sync_ts - t);
            }
            map_set(&mut self.pending_mut(gi).last_range, name, sync_ts);
        } else {
            map_set(&mut self.pending_mut(gi).last_range, name, ts);
        }
    }

    fn range_end(&mut self, ts: i64, ctx_g: i64, res: u8, rid: i64, name: u32) {
        let gi = match res {
            resource::GOROUTINE => self.summary_of(rid),
            resource::PROC => match self.ranges_p.remove(&(rid, name)) {
                Some(goid) if goid == ctx_g => self.summary_of(goid),
                _ => None,
            },
            _ => None,
        };
        let Some(gi) = gi else { return };
        let t = map_get(&self.pending(gi).last_range, name);
        if t == 0 {
            return;
        }
        map_add(self.sums.range_mut(gi as usize), name, ts - t);
        map_remove(&mut self.pending_mut(gi).last_range, name);
    }

    fn region_begin(&mut self, i: u32, ts: i64, ctx_g: i64, task: i64, name: u32) {
        let Some(gi) = self.summary_of(ctx_g) else { return };
        let start = match self.opts.region_stats {
            true => {
                let st = self.snap(gi, ts);
                self.keep_snap(st)
            }
            false => NONE32,
        };
        let ri = self.new_region(ctx_g, gi, task, name, i, ts, true);
        self.pending_mut(gi).active.push((ri, start));
    }

    fn region_end(&mut self, i: u32, ts: i64, ctx_g: i64, tasks: &mut TaskOf, name: u32) {
        let Some(gi) = self.summary_of(ctx_g) else { return };
        let (ri, start) = match self.pending_mut(gi).active.pop() {
            Some(open) => open,
            None => {
                // An end without a begin: made up now, with no start.
                let task = tasks.at(i);
                (self.new_region(ctx_g, gi, task, name, NONE32, self.first_ts.unwrap_or(ts), true), NONE32)
            }
        };
        let st = self.opts.region_stats.then(|| {
            let now = self.snap(gi, ts);
            self.since(&now, start)
        });
        self.close_region(ri, Some(i), ts, st.as_ref());
    }

    fn finish(&mut self) -> Vec<u32> {
        let mut live: Vec<u32> = self.gs.values().map(|gi| gi as u32).collect();
        live.sort_unstable();
        let last = self.last_ts;
        for &gi in &live {
            self.finalize(gi, last, None);
        }
        live
    }
}

/// The event times cmd/trace of Go 1.22-1.24 sees.
///
/// Those readers emit a generation's Sync at its *end*, at the previous event's
/// time + 1, where newer readers (and the events table) put it at the start, at
/// the generation's first batch time. Each reader then forces every event
/// strictly after the previous one, so the first events of a generation whose
/// time was pushed up by one past the start Sync keep their own time there: the
/// times differ by 1 ns on such a run of events, and the Syncs move. Timestamps
/// are whole ticks (64 ns here), so an event exactly 1 ns after the one before
/// was pushed, and one pushed right after a start Sync (not itself pushed) had
/// the Sync's own time.
#[derive(Default)]
struct LegacyClock {
    prev_new: Option<i64>,
    prev_old: i64,
    /// A start Sync just passed: its time, and whether it was itself pushed.
    after_sync: Option<(i64, bool)>,
    seen_event: bool,
    fixes: Vec<(u32, i64)>,
}

impl LegacyClock {
    /// A Sync row: the time of the old reader's end-of-generation Sync, if it
    /// emits one here (not before the first generation).
    fn sync(&mut self, t: i64) -> Option<i64> {
        let pushed = self.prev_new.is_some_and(|p| t == p + 1);
        let end = if self.seen_event {
            self.prev_old += 1;
            Some(self.prev_old)
        } else {
            None
        };
        self.after_sync = Some((t, pushed));
        self.prev_new = Some(t);
        end
    }

    /// Any other row: its time as the old reader gives it.
    fn event(&mut self, idx: u32, t: i64) -> i64 {
        let pushed = self.prev_new.is_some_and(|p| t == p + 1);
        let old = if !pushed {
            t
        } else {
            match self.after_sync {
                Some((s, false)) => s.max(self.prev_old + 1),
                _ => self.prev_old + 1,
            }
        };
        self.after_sync = None;
        self.prev_new = Some(t);
        self.prev_old = old;
        self.seen_event = true;
        if old != t {
            self.fixes.push((idx, old));
        }
        old
    }
}

/// The regions table's events and tasks: where the Summarizer reads the task
/// of a region event (the events table keeps no task_id column). Rows are
/// events rows, -1 for none; a task of -1 is none (the region is outside any
/// task).
#[derive(Clone, Copy, Debug, Default)]
pub struct RegionTasks<'a> {
    pub start_event: &'a [i32],
    pub end_event: &'a [i32],
    pub task: &'a [i64],
}

/// The tasks of region events, looked up in row order: (events row, task)
/// of each region begin and end, in row order, dropped once passed. Filled
/// up front from a regions table, or as a streaming parse meets the events.
/// A streaming parse tells an end its own task (what Go's Summarizer reads
/// for an end it has no open region for), the regions table its begin's:
/// the same for every end a runtime wrote, which ends the region it began.
#[derive(Default)]
struct TaskOf {
    rows: VecDeque<(u32, i64)>,
}

impl TaskOf {
    fn new(src: RegionTasks<'_>) -> Result<Self, TraceError> {
        let n = src.start_event.len();
        if src.end_event.len() != n || src.task.len() != n {
            return Err(TraceError::msg("region events and tasks differ in length"));
        }
        let events = src.start_event.iter().chain(src.end_event);
        let mut rows: Vec<(u32, i64)> = events
            .zip(src.task.iter().chain(src.task))
            .filter_map(|(&e, &t)| u32::try_from(e).ok().map(|e| (e, t)))
            .collect();
        // The parser lists regions in begin order; a table from elsewhere may not.
        rows.sort_unstable();
        Ok(TaskOf { rows: rows.into() })
    }

    /// The task of the region event at events row `row` (NONE64: none); the
    /// rows before it are passed.
    fn at(&mut self, row: u32) -> i64 {
        while self.rows.front().is_some_and(|e| e.0 < row) {
            self.rows.pop_front();
        }
        match self.rows.front() {
            Some(&(r, t)) if r == row => task(t),
            _ => NONE64,
        }
    }
}

/// A regions-table task as the Summarizer keeps it.
fn task(t: i64) -> i64 {
    if t == -1 {
        NONE64
    } else {
        t
    }
}

/// The columns of one batch of the events table the Summarizer reads, decoded
/// a slice of rows at a time: integers as they are, strings as codes (reason
/// and name as the Summarizer's string IDs).
struct EventCols<'b> {
    ts: IntCol<'b>,
    g: IntCol<'b>,
    p: IntCol<'b>,
    resource_id: IntCol<'b>,
    stack: IntCol<'b>,
    tstack: IntCol<'b>,
    kind: StrCol<'b, u8>,
    resource: StrCol<'b, u8>,
    from: StrCol<'b, u8>,
    to: StrCol<'b, u8>,
    reason: StrCol<'b, u32>,
    name: StrCol<'b, u32>,
}

impl<'b> EventCols<'b> {
    /// Batch `b` of the table.
    fn new(b: &'b RecordBatch, s: &mut Summarizer) -> Result<Self, String> {
        let empty = s.empty;
        Ok(EventCols {
            ts: int_col(b, "ts", true)?,
            g: int_col(b, "g", true)?,
            p: int_col(b, "p", true)?,
            resource_id: int_col(b, "resource_id", true)?,
            stack: int_col(b, "stack_id", true)?,
            tstack: int_col(b, "transition_stack_id", true)?,
            kind: StrCol::new(b, "kind", true, kind::BAD, kind_code)?,
            resource: StrCol::new(b, "resource", true, resource::NONE, resource_code)?,
            from: StrCol::new(b, "from_state", true, S_NONE, state_of)?,
            to: StrCol::new(b, "to_state", true, S_NONE, state_of)?,
            reason: StrCol::new(b, "reason", true, empty, |v| s.strings.id(v))?,
            name: StrCol::new(b, "name", true, empty, |v| s.strings.id(v))?,
        })
    }

    /// Rows `lo..hi` into `d` (see [`SLICE`]).
    fn decode(&self, lo: usize, hi: usize, d: &mut Decoded) {
        self.ts.decode(lo, hi, &mut d.ts);
        self.g.decode(lo, hi, &mut d.g);
        self.p.decode(lo, hi, &mut d.p);
        self.resource_id.decode(lo, hi, &mut d.resource_id);
        self.stack.decode(lo, hi, &mut d.stack);
        self.tstack.decode(lo, hi, &mut d.tstack);
        self.kind.decode(lo, hi, &mut d.kind);
        self.resource.decode(lo, hi, &mut d.resource);
        self.from.decode(lo, hi, &mut d.from);
        self.to.decode(lo, hi, &mut d.to);
        self.reason.decode(lo, hi, &mut d.reason);
        self.name.decode(lo, hi, &mut d.name);
    }
}

/// A slice of [`EventCols`], decoded.
#[derive(Default)]
struct Decoded {
    ts: Vec<i64>,
    g: Vec<i64>,
    p: Vec<i64>,
    resource_id: Vec<i64>,
    stack: Vec<i64>,
    tstack: Vec<i64>,
    kind: Vec<u8>,
    resource: Vec<u8>,
    from: Vec<u8>,
    to: Vec<u8>,
    reason: Vec<u32>,
    name: Vec<u32>,
}

/// Runs the Summarizer over the events table (its record batches, in order).
///
/// `namable[s]` says whether stack `s` names a goroutine (it has frames and its
/// outermost function is not empty); `system[s]` whether that name is a system
/// goroutine's (`runtime.` other than `runtime.main`); [`stack_names`] reads
/// both from the frames table. Returns the tables
/// `ts_fixes`, `span`, `goroutines`, `goroutine_block`, `goroutine_range`,
/// `regions`, `region_stats`, `region_block`, `region_range` and `episodes` (columns
/// described in `gotrace_df/views/_summary.py`).
pub fn summarize(
    events: &[RecordBatch],
    namable: &[bool],
    system: &[bool],
    opts: SummaryOptions,
    regions: RegionTasks<'_>,
) -> Result<Vec<(&'static str, RecordBatch)>, TraceError> {
    let mut pass = Pass::new(opts);
    pass.tasks = TaskOf::new(regions)?;
    pass.s.reserve(events.iter().map(RecordBatch::num_rows).sum());
    for batch in events {
        pass.feed(batch, namable)?;
    }
    pass.finish(system)
}

/// [`summarize`] as a state machine over the events, fed their record
/// batches in order: a streaming parse hands it each batch and drops it
/// ([`crate::build::EventBatches`]), and the tasks of region events as it
/// meets them. What only the whole trace tells (which stacks name system
/// goroutines) is applied by [`Pass::finish`].
pub struct Pass {
    s: Summarizer,
    tasks: TaskOf,
    /// Events row of the next batch's first row.
    base: usize,
    d: Decoded,
    /// The first error of a batch fed by a streaming parse.
    error: Option<TraceError>,
}

impl Pass {
    pub fn new(opts: SummaryOptions) -> Self {
        Pass { s: Summarizer::new(opts), tasks: TaskOf::default(), base: 0, d: Decoded::default(), error: None }
    }

    /// The next batch of events; `namable` as for [`summarize`] (covering at
    /// least the transition stacks of these events).
    pub fn feed(&mut self, batch: &RecordBatch, namable: &[bool]) -> Result<(), TraceError> {
        let Pass { s, tasks, base, d, .. } = self;
        let c = EventCols::new(batch, s).map_err(TraceError::msg)?;
        let n = batch.num_rows();
        if *base + n > u32::MAX as usize {
            return Err(TraceError::msg("too many events to summarise"));
        }
        for lo in (0..n).step_by(SLICE) {
            let hi = (lo + SLICE).min(n);
            c.decode(lo, hi, d);
            if *base + lo == 0 && hi > 0 {
                s.clip_window(d.ts[0]);
            }
            for i in 0..hi - lo {
                let idx = (*base + lo + i) as u32;
                let mut ts = d.ts[i];
                let k = d.kind[i];
                if s.clock.is_some() {
                    if k == kind::SYNC {
                        if let Some(end) = s.clock.as_mut().and_then(|c| c.sync(ts)) {
                            s.tick(end);
                            s.sync_ts = end;
                        }
                        continue;
                    }
                    ts = s.clock.as_mut().map_or(ts, |c| c.event(idx, ts));
                }
                s.tick(ts);
                s.row_stack = d.stack[i] as i32;
                let ctx_g = d.g[i];
                match k {
                    kind::SYNC => s.sync_ts = ts,
                    kind::STATE_TRANSITION => {
                        let rid = d.resource_id[i];
                        let (old, new) = (d.from[i], d.to[i]);
                        match d.resource[i] {
                            resource::GOROUTINE => {
                                let ctx_p = d.p[i] as i32;
                                let stack = Some(d.tstack[i]).filter(|&x| x >= 0).map(|x| x as i32);
                                let reason = d.reason[i];
                                s.goroutine_transition(idx, ts, ctx_g, ctx_p, rid, old, new, reason, stack, namable);
                            }
                            resource::PROC => s.proc_transition(ts, rid, old, new),
                            _ => {}
                        }
                    }
                    kind::RANGE_BEGIN | kind::RANGE_ACTIVE | kind::RANGE_END => {
                        let (res, rid, name) = (d.resource[i], d.resource_id[i], d.name[i]);
                        if k == kind::RANGE_END {
                            s.range_end(ts, ctx_g, res, rid, name);
                        } else {
                            s.range_begin(ts, k == kind::RANGE_ACTIVE, ctx_g, res, rid, name);
                        }
                    }
                    kind::REGION_BEGIN | kind::REGION_END if s.opts.skip_regions => {}
                    kind::REGION_BEGIN => s.region_begin(idx, ts, ctx_g, tasks.at(idx), d.name[i]),
                    kind::REGION_END => s.region_end(idx, ts, ctx_g, tasks, d.name[i]),
                    _ => {}
                }
            }
        }
        *base += n;
        // The region events of the rows read are passed.
        tasks.at(*base as u32);
        Ok(())
    }

    /// The tables of [`summarize`]; `system` as there.
    pub fn finish(mut self, system: &[bool]) -> Result<Vec<(&'static str, RecordBatch)>, TraceError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let live = self.s.finish();
        Ok(tables(self.s, &live, system))
    }
}

impl EventBatches for Pass {
    fn batch(&mut self, batch: &RecordBatch, named: &[bool]) {
        if self.error.is_none() {
            self.error = self.feed(batch, named).err();
        }
    }

    fn region(&mut self, row: usize, task: i64) {
        // Rows past u32 fail the batch that holds them.
        if let Ok(row) = u32::try_from(row) {
            self.tasks.rows.push_back((row, task));
        }
    }
}

/// Per stack ID of a frames table (columns `stack_id`, `depth`, `function`):
/// whether its outermost frame has a function (the stack names a goroutine),
/// and whether that is a system goroutine's (`runtime.` other than
/// `runtime.main`), as [`summarize`] takes them.
pub fn stack_names(frames: &[RecordBatch]) -> Result<(Vec<bool>, Vec<bool>), String> {
    const NAMED: u8 = 1;
    const SYSTEM: u8 = 2;
    let class = |f: &str| match f {
        "" => 0,
        "runtime.main" => NAMED,
        f if f.starts_with("runtime.") => NAMED | SYSTEM,
        _ => NAMED,
    };
    // (depth, class) of each stack's outermost frame so far.
    let mut outer: Vec<(i64, u8)> = Vec::new();
    let (mut sid, mut depth, mut func) = (Vec::new(), Vec::new(), Vec::new());
    for b in frames {
        let n = b.num_rows();
        let s = int_col(b, "stack_id", true)?;
        let dp = int_col(b, "depth", true)?;
        let f = StrCol::new(b, "function", true, 0, class)?;
        for lo in (0..n).step_by(SLICE) {
            let hi = (lo + SLICE).min(n);
            s.decode(lo, hi, &mut sid);
            dp.decode(lo, hi, &mut depth);
            f.decode(lo, hi, &mut func);
            for ((&s, &d), &c) in sid.iter().zip(&depth).zip(&func) {
                let Ok(s) = usize::try_from(s) else { continue };
                if s >= outer.len() {
                    outer.resize(s + 1, (-1, 0));
                }
                if d > outer[s].0 {
                    outer[s] = (d, c);
                }
            }
        }
    }
    Ok(outer.iter().map(|&(_, c)| (c & NAMED != 0, c & SYSTEM != 0)).unzip())
}

fn arr<A: Array + 'static>(a: A) -> ArrayRef {
    Arc::new(a)
}

fn batch(cols: Vec<(&'static str, ArrayRef)>) -> RecordBatch {
    // Every column is built here with the same length: this cannot fail.
    RecordBatch::try_from_iter(cols).expect("summary columns have equal lengths")
}

/// Bits of `v`, packed 64 at a time (arrow's `from_iter` appends one by one).
fn bits<T>(v: &[T], f: impl Fn(&T) -> bool) -> BooleanBuffer {
    BooleanBuffer::collect_bool(v.len(), |i| f(&v[i]))
}

/// Validity of `v`: None if no value is `none`.
fn nulls_where<T: PartialEq>(v: &[T], none: &T) -> Option<NullBuffer> {
    v.contains(none).then(|| NullBuffer::new(bits(v, |x| x != none)))
}

/// An int64 column (no copy) with nulls where the value is `none`.
fn i64_col(v: Vec<i64>, none: Option<i64>) -> ArrayRef {
    let nulls = none.and_then(|n| nulls_where(&v, &n));
    arr(Int64Array::new(ScalarBuffer::from(v), nulls))
}

/// An int32 column (no copy), null where the value is `none`.
fn i32_col(v: Vec<i32>, none: i32) -> ArrayRef {
    let nulls = nulls_where(&v, &none);
    arr(Int32Array::new(ScalarBuffer::from(v), nulls))
}

fn bool_col(v: &[bool]) -> ArrayRef {
    arr(BooleanArray::new(bits(v, |&b| b), None))
}

/// An int32 column from u32 values, null where NONE32.
fn u32_col(v: Vec<u32>) -> ArrayRef {
    i32_col(v.into_iter().map(|x| x as i32).collect(), NONE32 as i32)
}

/// Strings by ID as a dictionary column over the string table, with the
/// narrowest keys that hold every ID (pandas keeps its codes that narrow: a
/// wider column would only be copied down).
fn dict_col(keys: Vec<i32>, strings: &Strings) -> ArrayRef {
    fn dict<K: ArrowDictionaryKeyType>(keys: Vec<K::Native>, values: ArrayRef) -> ArrayRef {
        let keys = PrimitiveArray::<K>::new(ScalarBuffer::from(keys), None);
        // Every key is an index into the table: this cannot fail.
        arr(DictionaryArray::<K>::try_new(keys, values).expect("string IDs index the table"))
    }
    let values: ArrayRef = Arc::new(StringArray::from_iter_values(strings.all.iter()));
    match strings.all.len() {
        n if n <= i8::MAX as usize => dict::<Int8Type>(keys.into_iter().map(|k| k as i8).collect(), values),
        n if n <= i16::MAX as usize => dict::<Int16Type>(keys.into_iter().map(|k| k as i16).collect(), values),
        _ => dict::<Int32Type>(keys, values),
    }
}

fn long_batch(l: Long, strings: &Strings, key: &'static str) -> RecordBatch {
    batch(vec![
        ("row", arr(Int32Array::new(ScalarBuffer::from(l.row), None))),
        (key, dict_col(l.key, strings)),
        ("ns", i64_col(l.ns, None)),
    ])
}

fn tables(mut s: Summarizer, live: &[u32], system: &[bool]) -> Vec<(&'static str, RecordBatch)> {
    let is_system = |named_by: i32| match usize::try_from(named_by) {
        Ok(st) => system.get(st).copied().unwrap_or(false),
        // Never named: cmd/trace counts it as a system goroutine.
        Err(_) => true,
    };
    // Only the summaries left in Go's map are in its result: one whose
    // goroutine ID was reused is gone. Live summaries are numbered in
    // summary order.
    let mut row_of: Vec<u32> = vec![NONE32; s.sums.len()];
    for (r, &gi) in live.iter().enumerate() {
        row_of[gi as usize] = r as u32;
    }

    // Stats per goroutine: the window's difference, or (None) the final ones.
    let window_stats: Option<Vec<Stats>> = s.opts.window.map(|_| {
        live.iter()
            .map(|&gi| {
                // Taken before the trace ended: summaries made after it are zero.
                let b = match &s.snap_b {
                    Some(v) => v.get(gi as usize).cloned().unwrap_or_default(),
                    None => s.sums.stats(gi as usize),
                };
                match s.snap_a.as_ref().and_then(|v| v.get(gi as usize)) {
                    Some(a) => b.sub(a),
                    None => b,
                }
            })
            .collect()
    });

    let mut g = std::mem::take(&mut s.sums);
    if live.len() < g.len() {
        g.retain(&row_of.iter().map(|&r| r != NONE32).collect::<Vec<bool>>());
    }
    let n = live.len();
    let (mut gb, mut gr) = (Long::default(), Long::default());
    // Sized exactly (regrowing copies them and faults in their pages twice).
    let (nb, nr) = match &window_stats {
        Some(w) => w.iter().fold((0, 0), |(b, r), st| (b + st.block.as_slice().len(), r + st.range.as_slice().len())),
        None => (g.block.iter().map(|m| m.as_slice().len()).sum(), g.ranges.iter().map(|m| m.as_slice().len()).sum()),
    };
    gb.reserve(nb);
    gr.reserve(nr);
    match window_stats {
        Some(w) => {
            for (r, st) in w.into_iter().enumerate() {
                gb.extend(r, &st.block);
                gr.extend(r, &st.range);
                g.set_stats(r, st);
            }
        }
        None => {
            for r in 0..n {
                gb.extend(r, &g.block[r]);
                gr.extend(r, g.range_of(r));
            }
        }
    }
    drop((std::mem::take(&mut g.block), std::mem::take(&mut g.ranges)));
    let g_system: Vec<bool> = g.name_stack.iter().map(|&st| is_system(st)).collect();
    let mut gcols = vec![
        ("goid", i64_col(g.goid, None)),
        ("name_stack_id", i32_col(g.name_stack, -1)),
        ("system", bool_col(&g_system)),
        ("creation_ns", i64_col(g.creation, None)),
        // Go's 0 ("never ran", "did not exit") becomes null.
        ("start_ns", i64_col(g.start, Some(0))),
        ("end_ns", i64_col(g.end, Some(0))),
    ];
    gcols.extend(g.totals.columns());
    let goroutines = batch(gcols);

    // Regions: every region summary made, in creation order. `in_goroutine`
    // marks those in a live goroutine's region list (what /userregions shows);
    // `in_task` marks those in their task's list (what /usertask shows), in order.
    let mut r = s.regs;
    undo_system_ends(&mut r, &is_system);
    // A region never closed (dropped with its goroutine) has no duration.
    let mut duration = std::mem::take(&mut r.duration);
    for (d, &l) in duration.iter_mut().zip(&r.listed) {
        if !l {
            *d = NONE64;
        }
    }
    let in_goroutine: Vec<bool> =
        r.listed.iter().zip(&r.owner).map(|(&l, &o)| l && row_of[o as usize] != NONE32).collect();
    let rcols: Vec<(&'static str, ArrayRef)> = vec![
        ("goid", i64_col(r.goid, None)),
        ("task_id", i64_col(r.task, Some(NONE64))),
        ("name", dict_col(r.name.into_iter().map(|x| x as i32).collect(), &s.strings)),
        ("start_event", u32_col(r.start_event)),
        ("end_event", u32_col(r.end_event)),
        ("stack_id", i32_col(r.stack, -1)),
        ("start_ns", i64_col(r.start_ns, Some(NONE64))),
        ("end_ns", i64_col(r.end_ns, Some(NONE64))),
        ("in_goroutine", bool_col(&in_goroutine)),
        ("in_task", bool_col(&r.in_task)),
        ("duration_ns", i64_col(duration, Some(NONE64))),
    ];
    let regions = batch(rcols);
    // Only with the region_stats option (else empty), rows as in regions.
    let region_stats = batch(r.totals.columns().into());

    let e = s.eps;
    let e_row: Vec<u32> = e.g.iter().map(|&gi| row_of[gi as usize]).collect();
    let episodes = batch(vec![
        ("row", u32_col(e_row)),
        ("state", arr(Int8Array::new(ScalarBuffer::from(e.state), None))),
        ("end", i64_col(e.end, None)),
        ("dur", i64_col(e.dur, None)),
    ]);
    let fixes = s.clock.as_ref().map_or(&[][..], |c| &c.fixes[..]);
    let ts_fixes = batch(vec![
        ("event", u32_col(fixes.iter().map(|f| f.0).collect())),
        ("ts", i64_col(fixes.iter().map(|f| f.1).collect(), None)),
    ]);
    let span = batch(vec![
        ("start_ns", i64_col(vec![s.first_ts.unwrap_or(0)], None)),
        ("end_ns", i64_col(vec![s.last_ts], None)),
    ]);
    vec![
        ("ts_fixes", ts_fixes),
        ("span", span),
        ("goroutines", goroutines),
        ("goroutine_block", long_batch(gb, &s.strings, "reason")),
        ("goroutine_range", long_batch(gr, &s.strings, "name")),
        ("regions", regions),
        ("region_stats", region_stats),
        ("region_block", long_batch(r.block, &s.strings, "reason")),
        ("region_range", long_batch(r.range, &s.strings, "name")),
        ("episodes", episodes),
    ]
}

/// Reopens the regions a system goroutine's end closed (cmd/trace never
/// closes them): unlisted, with no end and zero stats.
fn undo_system_ends(r: &mut RegionCols, is_system: &impl Fn(i32) -> bool) {
    let mut undone = vec![false; r.at_end.len()];
    for (i, &named_by) in r.at_end.iter().enumerate() {
        if named_by == NOT_AT_END || !is_system(named_by) {
            continue;
        }
        undone[i] = true;
        r.listed[i] = false;
        r.end_event[i] = NONE32;
        r.end_ns[i] = NONE64;
        if !r.totals.exec.is_empty() {
            r.totals.set(i, &Stats::default());
        }
    }
    if undone.contains(&true) {
        for l in [&mut r.block, &mut r.range] {
            let keep: Vec<bool> = l.row.iter().map(|&row| !undone[row as usize]).collect();
            let mut k = keep.iter();
            l.row.retain(|_| *k.next().unwrap_or(&true));
            let mut k = keep.iter();
            l.key.retain(|_| *k.next().unwrap_or(&true));
            let mut k = keep.iter();
            l.ns.retain(|_| *k.next().unwrap_or(&true));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_batches_and_null_typed_columns_give_the_same_summary() {
        use arrow_array::{NullArray, StringArray};
        // Three goroutines cycling Runnable -> Running -> Waiting -> Runnable
        // over several decoding slices.
        let n = 3 * SLICE + 17;
        let cycle = [("Runnable", "Running"), ("Running", "Waiting"), ("Waiting", "Runnable")];
        let (mut rid, mut from, mut to, mut reason) = (vec![], vec![], vec![], vec![]);
        for i in 0..n {
            let (f, t) = if i < 3 { ("NotExist", "Runnable") } else { cycle[(i / 3 - 1) % 3] };
            rid.push((i % 3) as i64 + 1);
            from.push(f);
            to.push(t);
            reason.push((t == "Waiting").then_some("chan receive"));
        }
        let events = |p: ArrayRef| {
            batch(vec![
                ("ts", arr(Int64Array::from_iter_values((0..n as i64).map(|i| 10 * i)))),
                ("kind", arr(StringArray::from(vec!["StateTransition"; n]))),
                ("g", arr(Int64Array::from(vec![-1i64; n]))),
                ("p", p),
                ("resource", arr(StringArray::from(vec!["Goroutine"; n]))),
                ("resource_id", arr(Int64Array::from(rid.clone()))),
                ("stack_id", arr(Int64Array::from(vec![-1i64; n]))),
                ("from_state", arr(StringArray::from(from.clone()))),
                ("to_state", arr(StringArray::from(to.clone()))),
                ("reason", arr(StringArray::from(reason.clone()))),
                ("transition_stack_id", arr(Int64Array::from(vec![-1i64; n]))),
                ("name", arr(StringArray::from(vec![None::<&str>; n]))),
            ])
        };
        let run = |batches: &[RecordBatch]| {
            summarize(batches, &[], &[], SummaryOptions::default(), RegionTasks::default()).unwrap()
        };
        let typed = events(arr(Int64Array::from(vec![-1i64; n])));
        let want = run(std::slice::from_ref(&typed));
        let g = &want.iter().find(|t| t.0 == "goroutines").unwrap().1;
        assert_eq!(g.num_rows(), 3);
        let exec = g.column_by_name("exec_ns").unwrap().as_any().downcast_ref::<Int64Array>().unwrap();
        assert!(exec.values().iter().all(|&e| e > 0));
        // A null-typed column reads as -1, as before slices.
        assert_eq!(run(&[events(arr(NullArray::new(n)))]), want);
        // Batches that end inside a slice.
        assert_eq!(run(&[typed.slice(0, 1000), typed.slice(1000, n - 1000)]), want);
    }

    #[test]
    fn a_reused_goroutine_id_drops_the_old_summary_and_keeps_the_range_times() {
        use arrow_array::StringArray;
        // Goroutine 1 lives and exits, 2 is created, then ID 1 is reused and
        // spends 5 ns in a range; the trace ends at 100.
        type Row = (i64, &'static str, i64, &'static str, &'static str, Option<&'static str>);
        let rows: [Row; 10] = [
            (10, "StateTransition", 1, "NotExist", "Runnable", None),
            (20, "StateTransition", 1, "Runnable", "Running", None),
            (40, "StateTransition", 1, "Running", "NotExist", None),
            (50, "StateTransition", 2, "NotExist", "Runnable", None),
            (60, "StateTransition", 1, "NotExist", "Runnable", None),
            (70, "StateTransition", 1, "Runnable", "Running", None),
            (75, "RangeBegin", 1, "", "", Some("GC mark assist")),
            (80, "RangeEnd", 1, "", "", Some("GC mark assist")),
            (90, "StateTransition", 3, "NotExist", "Runnable", None),
            (100, "StateTransition", 2, "Runnable", "Running", None),
        ];
        let str_of = |f: fn(&Row) -> Option<&'static str>| -> ArrayRef {
            arr(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
        };
        let n = rows.len();
        let events = batch(vec![
            ("ts", arr(Int64Array::from_iter_values(rows.iter().map(|r| r.0)))),
            ("kind", str_of(|r| Some(r.1))),
            ("g", arr(Int64Array::from(vec![-1i64; n]))),
            ("p", arr(Int64Array::from(vec![-1i64; n]))),
            ("resource", arr(StringArray::from(vec!["Goroutine"; n]))),
            ("resource_id", arr(Int64Array::from_iter_values(rows.iter().map(|r| r.2)))),
            ("stack_id", arr(Int64Array::from(vec![-1i64; n]))),
            ("from_state", str_of(|r| Some(r.3).filter(|s| !s.is_empty()))),
            ("to_state", str_of(|r| Some(r.4).filter(|s| !s.is_empty()))),
            ("reason", arr(StringArray::from(vec![None::<&str>; n]))),
            ("transition_stack_id", arr(Int64Array::from(vec![-1i64; n]))),
            ("name", str_of(|r| r.5)),
        ]);
        let tables = summarize(&[events], &[], &[], SummaryOptions::default(), RegionTasks::default()).unwrap();
        let table = |name: &str| tables.iter().find(|t| t.0 == name).unwrap().1.clone();
        let ints = |b: &RecordBatch, c: &str| -> Vec<i64> {
            let a = b.column_by_name(c).unwrap().as_any().downcast_ref::<Int64Array>().unwrap();
            a.iter().map(|v| v.unwrap_or(-1)).collect()
        };
        let g = table("goroutines");
        // The live summaries in the order they were made: 2, the second 1, 3.
        assert_eq!(ints(&g, "goid"), [2, 1, 3]);
        assert_eq!(ints(&g, "creation_ns"), [50, 60, 90]);
        assert_eq!(ints(&g, "start_ns"), [100, 70, -1]);
        assert_eq!(ints(&g, "exec_ns"), [0, 30, 0]);
        assert_eq!(ints(&g, "sched_wait_ns"), [50, 10, 10]);
        assert_eq!(ints(&g, "total_ns"), [50, 40, 10]);
        let r = table("goroutine_range");
        let row = r.column_by_name("row").unwrap().as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(row.values().to_vec(), [1]);
        assert_eq!(ints(&r, "ns"), [5]);
    }

    #[test]
    fn inline2_spills_and_keeps_order() {
        let mut m = SmallMap::default();
        for k in 0..5 {
            map_add(&mut m, k, 10);
        }
        map_add(&mut m, 3, 1);
        assert_eq!(m.as_slice(), &[(0, 10), (1, 10), (2, 10), (3, 11), (4, 10)]);
        map_remove(&mut m, 1);
        assert_eq!(m.as_slice(), &[(0, 10), (2, 10), (3, 11), (4, 10)]);
        let mut a: Inline2<(u32, u32)> = Inline2::default();
        a.push((1, 1));
        a.push((2, 2));
        a.push((3, 3));
        assert_eq!(a.pop(), Some((3, 3)));
        assert_eq!(a.last(), Some(&(2, 2)));
    }

    #[test]
    fn stats_sub_uses_the_later_keys() {
        let mut later = Stats { exec: 10, total: 20, ..Stats::default() };
        map_add(&mut later.block, 1, 5);
        map_add(&mut later.block, 2, 0);
        let mut earlier = Stats { exec: 4, total: 5, ..Stats::default() };
        map_add(&mut earlier.block, 1, 2);
        let d = later.sub(&earlier);
        assert_eq!((d.exec, d.total), (6, 15));
        // A key present with 0 stays present: cmd/trace shows its column.
        assert_eq!(d.block.as_slice(), &[(1, 3), (2, 0)]);
    }

    #[test]
    fn region_tasks_by_begin_and_end_row() {
        // Regions listed out of begin order; one began before the trace (no
        // begin row), one is outside any task (-1).
        let start = [30, 10, -1, 20];
        let end = [40, 50, 15, 25];
        let task = [3, 1, 7, -1];
        let mut t = TaskOf::new(RegionTasks { start_event: &start, end_event: &end, task: &task }).unwrap();
        assert_eq!(t.at(10), 1);
        assert_eq!(t.at(12), NONE64);
        assert_eq!(t.at(15), 7);
        assert_eq!(t.at(20), NONE64);
        assert_eq!(t.at(30), 3);
        assert_eq!(t.at(50), 1);
        assert_eq!(t.at(51), NONE64);
        assert!(TaskOf::new(RegionTasks { start_event: &start, end_event: &end[..2], task: &task }).is_err());
    }

    #[test]
    fn legacy_clock_moves_syncs_to_generation_ends() {
        let mut c = LegacyClock::default();
        // Generation 1: its start Sync, an event pushed 1 ns past it (it had
        // the Sync's own time), then an ordinary one.
        assert_eq!(c.sync(100), None);
        assert_eq!(c.event(1, 101), 100);
        assert_eq!(c.event(2, 200), 200);
        // Generation 2 starts: the old reader's Sync ends generation 1 at
        // 201; an event pushed past the new Sync at 300 keeps 300, and the
        // one pushed after it moves down with it.
        assert_eq!(c.sync(300), Some(201));
        assert_eq!(c.event(4, 301), 300);
        assert_eq!(c.event(5, 302), 301);
        assert_eq!(c.event(6, 400), 400);
        // The final Sync: the same in both readers.
        assert_eq!(c.sync(401), Some(401));
        assert_eq!(c.fixes, vec![(1, 100), (4, 300), (5, 301)]);
    }

    #[test]
    fn legacy_clock_after_a_pushed_sync() {
        let mut c = LegacyClock::default();
        assert_eq!(c.sync(100), None);
        assert_eq!(c.event(1, 150), 150);
        // The start Sync was itself pushed (its generation began before the
        // last event): the old reader's end Sync has that time, and the next
        // event is pushed past it in both.
        assert_eq!(c.sync(151), Some(151));
        assert_eq!(c.event(3, 152), 152);
        assert!(c.fixes.is_empty());
    }

    #[test]
    fn a_streaming_parse_gives_the_summary_of_parse() {
        use crate::analysis::testdata::{corpus, ints, table, whole_and_cut};
        let [whole, cut] = whole_and_cut();
        let inputs = [whole, cut, ("example", corpus("go1.22/example.trace"))];
        let legacy = SummaryOptions { legacy_undetermined: true, legacy_sync: true, ..Default::default() };
        let options = [
            SummaryOptions { region_stats: true, ..Default::default() },
            SummaryOptions { region_stats: true, ..legacy },
            // A window that starts before the trace: clipped to its start.
            SummaryOptions { window: Some((i64::MIN, 2_000_000)), ..legacy },
        ];
        for (what, data) in inputs {
            let parsed = crate::parse(&data, crate::ParseOptions::default()).expect("parses");
            let (namable, system) = stack_names(table(&parsed, "frames")).expect("frames");
            let regions = table(&parsed, "regions");
            let (start, end) = (ints(regions, "start_event"), ints(regions, "end_event"));
            let start: Vec<i32> = start.iter().map(|&e| e as i32).collect();
            let end: Vec<i32> = end.iter().map(|&e| e as i32).collect();
            let task = ints(regions, "task_id");
            let tasks = RegionTasks { start_event: &start, end_event: &end, task: &task };
            let events = table(&parsed, "events");
            assert!(events.iter().map(RecordBatch::num_rows).sum::<usize>() > crate::build::STREAM_ROWS);
            for opts in options {
                let want = summarize(events, &namable, &system, opts, tasks).expect("summary");
                // Without regions: the same goroutines.
                let skip = SummaryOptions { skip_regions: true, ..opts };
                let alone = summarize(events, &namable, &system, skip, tasks).expect("summary");
                for (t, (name, table)) in alone.iter().zip(&want) {
                    match *name {
                        "regions" | "region_stats" | "region_block" | "region_range" => assert_eq!(t.1.num_rows(), 0),
                        _ => assert_eq!(t, &(*name, table.clone()), "{what}: {name} without regions"),
                    }
                }
                let pass = || Pass::new(opts);
                let (streamed, got) =
                    crate::parse_stream(&data, crate::ParseOptions::default(), pass).expect("streams");
                let (_, system) = stack_names(table(&streamed, "frames")).expect("frames");
                let got = got.finish(&system).expect("streamed summary");
                assert_eq!(got, want, "{what}: {opts:?}");
                let regions = &want.iter().find(|t| t.0 == "regions").expect("regions").1;
                assert!(what != "example" || regions.num_rows() > 0, "{what}: no regions to compare");
            }
        }
    }
}
