//! cmd/trace's goroutine summary (`internal/trace.Summarizer`) over the events table.
//!
//! The Summarizer is a sequential state machine whose quirks depend on event
//! order (the P -> goroutine syscall map that a later syscall exit can clobber,
//! P-scoped ranges charged only if the same goroutine ends them, snapshots taken
//! at region boundaries, summaries replaced when a goroutine ID is reused), so
//! it runs here once over the events and hands back flat tables: one row per
//! goroutine summary and per user region, plus long tables of the per-reason
//! block times and per-name range times. `gotrace_df/views` groups and filters
//! them; `go-trace-format.md` §9.4 describes the semantics.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, Int8Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Int32Array, Int64Array, PrimitiveArray, RecordBatch, StringArray,
};
use rustc_hash::FxHashMap;

use crate::TraceError;

/// How to summarise.
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryOptions {
    /// Go 1.22-1.25 behaviour for a goroutine first seen through a status event
    /// (from Undetermined): the time since the last Sync is not charged to its
    /// state, and it inherits the task of its context goroutine's innermost
    /// region. Go 1.26 charges that time and does not inherit.
    pub legacy_undetermined: bool,
    /// `(start, end)`: the goroutine stats become snapshot(end) - snapshot(start),
    /// as the Summarizer computes a region's stats, for every goroutine.
    pub window: Option<(i64, i64)>,
}

// Event kinds, goroutine/proc states and resource kinds the Summarizer looks at.
const K_OTHER: u8 = 0;
const K_SYNC: u8 = 1;
const K_RANGE_BEGIN: u8 = 2;
const K_RANGE_ACTIVE: u8 = 3;
const K_RANGE_END: u8 = 4;
const K_REGION_BEGIN: u8 = 5;
const K_REGION_END: u8 = 6;
const K_TRANSITION: u8 = 7;

const S_UNDETERMINED: u8 = 0;
const S_NOT_EXIST: u8 = 1;
const S_RUNNABLE: u8 = 2;
const S_RUNNING: u8 = 3;
const S_WAITING: u8 = 4;
const S_SYSCALL: u8 = 5;
const S_IDLE: u8 = 6;
const S_NONE: u8 = 255;

const R_OTHER: u8 = 0;
const R_GOROUTINE: u8 = 1;
const R_PROC: u8 = 2;

fn kind_code(s: &str) -> u8 {
    match s {
        "Sync" => K_SYNC,
        "RangeBegin" => K_RANGE_BEGIN,
        "RangeActive" => K_RANGE_ACTIVE,
        "RangeEnd" => K_RANGE_END,
        "RegionBegin" => K_REGION_BEGIN,
        "RegionEnd" => K_REGION_END,
        "StateTransition" => K_TRANSITION,
        _ => K_OTHER,
    }
}

fn state_code(s: &str) -> u8 {
    match s {
        "Undetermined" => S_UNDETERMINED,
        "NotExist" => S_NOT_EXIST,
        "Runnable" => S_RUNNABLE,
        "Running" => S_RUNNING,
        "Waiting" => S_WAITING,
        "Syscall" => S_SYSCALL,
        "Idle" => S_IDLE,
        _ => S_NONE,
    }
}

fn resource_code(s: &str) -> u8 {
    match s {
        "Goroutine" => R_GOROUTINE,
        "Proc" => R_PROC,
        _ => R_OTHER,
    }
}

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

/// A small map from a string ID to a duration or time, in insertion order. A
/// key that is present with a zero value is kept: cmd/trace shows a column for
/// every key present.
type SmallMap = Vec<(u32, i64)>;

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
    m.retain(|e| e.0 != k);
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
        for e in &mut r.block {
            e.1 -= map_get(&v.block, e.0);
        }
        for e in &mut r.range {
            e.1 -= map_get(&v.range, e.0);
        }
        r
    }
}

/// State used only while summarising (Go's private `goroutineSummary`).
#[derive(Default)]
struct Pending {
    last_start: i64,
    last_runnable: i64,
    last_block: i64,
    last_block_reason: u32,
    last_syscall: i64,
    last_syscall_block: i64,
    last_range: SmallMap,
    active: Vec<usize>,
}

struct Goroutine {
    goid: i64,
    /// Stack whose outermost frame named the goroutine.
    name_stack: Option<i32>,
    system: bool,
    creation: i64,
    create_event: u32,
    start: i64,
    end: i64,
    end_event: Option<u32>,
    stats: Stats,
    pend: Pending,
    regions: Vec<usize>,
}

struct Region {
    goid: i64,
    owner: usize,
    task: Option<i64>,
    name: u32,
    start_event: Option<u32>,
    start_ts: Option<i64>,
    end_event: Option<u32>,
    end_ts: Option<i64>,
    /// Position in its task's region list (Go's `UserTaskSummary.Regions`).
    task_seq: Option<u32>,
    /// Snapshot at the start while open; the difference once closed.
    stats: Stats,
}

struct Summarizer<'a> {
    opts: SummaryOptions,
    namable: &'a [bool],
    system: &'a [bool],
    strings: Strings,
    empty: u32,
    forever: u32,
    gors: Vec<Goroutine>,
    gs: FxHashMap<i64, usize>,
    regs: Vec<Region>,
    task_seq: u32,
    syscalling_p: FxHashMap<i32, i64>,
    syscalling_g: FxHashMap<i64, i32>,
    ranges_p: FxHashMap<(i64, u32), i64>,
    last_ts: i64,
    sync_ts: i64,
    snap_a: Option<Vec<Option<Stats>>>,
    snap_b: Option<Vec<Option<Stats>>>,
}

/// `snapshotStat`: the stats as if the goroutine stopped at `last`. Note the
/// quirk: time since a syscall lost its P goes to sched wait (and the syscall
/// time runs on too), unlike at a real syscall exit.
fn snapshot(g: &Goroutine, last: i64) -> Stats {
    let mut r = g.stats.clone();
    if r.total == 0 {
        r.total = last - g.creation;
    }
    let p = &g.pend;
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

impl<'a> Summarizer<'a> {
    fn new(opts: SummaryOptions, namable: &'a [bool], system: &'a [bool]) -> Self {
        let mut strings = Strings::default();
        let empty = strings.id("");
        let forever = strings.id("forever");
        Summarizer {
            opts,
            namable,
            system,
            strings,
            empty,
            forever,
            gors: Vec::new(),
            gs: FxHashMap::default(),
            regs: Vec::new(),
            task_seq: 0,
            syscalling_p: FxHashMap::default(),
            syscalling_g: FxHashMap::default(),
            ranges_p: FxHashMap::default(),
            last_ts: 0,
            sync_ts: 0,
            snap_a: None,
            snap_b: None,
        }
    }

    fn next_task_seq(&mut self) -> Option<u32> {
        let s = self.task_seq;
        self.task_seq += 1;
        Some(s)
    }

    fn snapshot_all(&self, at: i64) -> Vec<Option<Stats>> {
        self.gors.iter().map(|g| Some(snapshot(g, at))).collect()
    }

    /// A new summary for goroutine `id`, replacing any earlier one.
    fn create(&mut self, id: i64, creation: i64, event: u32) -> usize {
        let gi = self.gors.len();
        self.gors.push(Goroutine {
            goid: id,
            name_stack: None,
            system: true,
            creation,
            create_event: event,
            start: 0,
            end: 0,
            end_event: None,
            stats: Stats::default(),
            pend: Pending::default(),
            regions: Vec::new(),
        });
        gi
    }

    /// A goroutine created while its creator is inside a region inherits that
    /// region's task through a made-up region with no name.
    fn inherit_region(&mut self, gi: usize, creator: i64, event: u32, ts: i64) {
        let Some(&ci) = self.gs.get(&creator) else { return };
        let Some(&top) = self.gors[ci].pend.active.last() else { return };
        let task = self.regs[top].task;
        let ri = self.regs.len();
        self.regs.push(Region {
            goid: self.gors[gi].goid,
            owner: gi,
            task,
            name: self.empty,
            start_event: Some(event),
            start_ts: Some(ts),
            end_event: None,
            end_ts: None,
            task_seq: None,
            stats: Stats::default(),
        });
        self.gors[gi].pend.active = vec![ri];
    }

    /// `finalize`: the goroutine ended (`trigger`) or the trace did (`None`).
    fn finalize(&mut self, gi: usize, last: i64, trigger: Option<(u32, i64)>) {
        let g = &mut self.gors[gi];
        if let Some((ev, ts)) = trigger {
            g.end = ts;
            g.end_event = Some(ev);
        }
        let fin = snapshot(g, last);
        // System goroutines are never part of regions, even those they
        // inherited at creation.
        if !g.system {
            for ri in std::mem::take(&mut g.pend.active) {
                let r = &mut self.regs[ri];
                r.end_event = trigger.map(|t| t.0);
                r.end_ts = trigger.map(|t| t.1);
                r.stats = fin.sub(&r.stats);
                g.regions.push(ri);
            }
        }
        g.stats = fin;
        g.pend = Pending::default();
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
    ) {
        if old == new {
            return;
        }
        let gi = match old {
            S_UNDETERMINED => {
                let gi = self.create(id, self.sync_ts, i);
                if self.opts.legacy_undetermined {
                    self.inherit_region(gi, ctx_g, i, ts);
                } else {
                    // Charge the time since the Sync to the state it was found in.
                    let st = ts - self.sync_ts;
                    let s = &mut self.gors[gi].stats;
                    match new {
                        S_RUNNING => s.exec += st,
                        S_WAITING => map_add(&mut s.block, reason, st),
                        S_RUNNABLE => s.sched += st,
                        // With a P it had that P all along: syscall time.
                        S_SYSCALL if ctx_p < 0 => s.syscall_block += st,
                        S_SYSCALL => s.syscall += st,
                        _ => {}
                    }
                }
                self.gs.insert(id, gi);
                gi
            }
            S_NOT_EXIST => {
                let gi = self.create(id, ts, i);
                self.inherit_region(gi, ctx_g, i, ts);
                self.gs.insert(id, gi);
                gi
            }
            _ => {
                // Go dereferences a nil summary here; a valid trace never gets here.
                let Some(&gi) = self.gs.get(&id) else { return };
                let g = &mut self.gors[gi];
                match old {
                    S_RUNNING => {
                        g.stats.exec += ts - g.pend.last_start;
                        g.pend.last_start = 0;
                    }
                    S_WAITING => {
                        if g.pend.last_block != 0 {
                            map_add(&mut g.stats.block, g.pend.last_block_reason, ts - g.pend.last_block);
                            g.pend.last_block = 0;
                        }
                    }
                    S_RUNNABLE => {
                        if g.pend.last_runnable != 0 {
                            g.stats.sched += ts - g.pend.last_runnable;
                            g.pend.last_runnable = 0;
                        }
                    }
                    S_SYSCALL => {
                        if g.pend.last_syscall != 0 {
                            if g.pend.last_syscall_block != 0 {
                                g.stats.syscall_block += ts - g.pend.last_syscall_block;
                                g.stats.syscall += g.pend.last_syscall_block - g.pend.last_syscall;
                            } else {
                                g.stats.syscall += ts - g.pend.last_syscall;
                            }
                            g.pend.last_syscall = 0;
                            g.pend.last_syscall_block = 0;
                            // Clears whatever goroutine the P now maps to (a
                            // missing entry reads as P 0), as Go does.
                            let p = self.syscalling_g.get(&id).copied().unwrap_or(0);
                            self.syscalling_p.remove(&p);
                            self.syscalling_g.remove(&id);
                        }
                    }
                    _ => {}
                }
                gi
            }
        };

        let g = &mut self.gors[gi];
        if g.name_stack.is_none() {
            if let Some(st) = stack {
                if self.namable.get(st as usize).copied().unwrap_or(false) {
                    g.name_stack = Some(st);
                    g.system = self.system.get(st as usize).copied().unwrap_or(false);
                }
            }
        }

        match new {
            S_RUNNING => {
                g.pend.last_start = ts;
                if g.start == 0 {
                    g.start = ts;
                }
            }
            S_RUNNABLE => g.pend.last_runnable = ts,
            S_WAITING if reason != self.forever => {
                g.pend.last_block = ts;
                g.pend.last_block_reason = reason;
            }
            // Waiting "forever" is like goroutine death.
            S_WAITING | S_NOT_EXIST => self.finalize(gi, ts, Some((i, ts))),
            S_SYSCALL => {
                g.pend.last_syscall = ts;
                self.syscalling_p.insert(ctx_p, id);
                self.syscalling_g.insert(id, ctx_p);
            }
            _ => {}
        }
    }

    fn proc_transition(&mut self, ts: i64, pid: i64, old: u8, new: u8) {
        if old == new || new != S_IDLE {
            return;
        }
        // A P going idle under a goroutine in a syscall: the syscall blocked.
        let Ok(p) = i32::try_from(pid) else { return };
        if let Some(goid) = self.syscalling_p.remove(&p) {
            if let Some(&gi) = self.gs.get(&goid) {
                self.gors[gi].pend.last_syscall_block = ts;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn range_begin(&mut self, ts: i64, active: bool, ctx_g: i64, res: u8, rid: i64, name: u32) {
        let gi = match res {
            R_GOROUTINE => self.gs.get(&rid).copied(),
            R_PROC => {
                // Bound to the P, but charged to the goroutine if the same one
                // is there at the end.
                let gi = self.gs.get(&ctx_g).copied();
                if gi.is_some() {
                    self.ranges_p.insert((rid, name), ctx_g);
                }
                gi
            }
            _ => None,
        };
        let Some(gi) = gi else { return };
        let sync_ts = self.sync_ts;
        let g = &mut self.gors[gi];
        if active {
            let t = map_get(&g.pend.last_range, name);
            if t != 0 {
                map_add(&mut g.stats.range, name, sync_ts - t);
            }
            map_set(&mut g.pend.last_range, name, sync_ts);
        } else {
            map_set(&mut g.pend.last_range, name, ts);
        }
    }

    fn range_end(&mut self, ts: i64, ctx_g: i64, res: u8, rid: i64, name: u32) {
        let gi = match res {
            R_GOROUTINE => self.gs.get(&rid).copied(),
            R_PROC => match self.ranges_p.remove(&(rid, name)) {
                Some(goid) if goid == ctx_g => self.gs.get(&goid).copied(),
                _ => None,
            },
            _ => None,
        };
        let Some(gi) = gi else { return };
        let g = &mut self.gors[gi];
        let t = map_get(&g.pend.last_range, name);
        if t == 0 {
            return;
        }
        map_add(&mut g.stats.range, name, ts - t);
        map_remove(&mut g.pend.last_range, name);
    }

    fn region_begin(&mut self, i: u32, ts: i64, ctx_g: i64, task: Option<i64>, name: u32) {
        let Some(&gi) = self.gs.get(&ctx_g) else { return };
        let stats = snapshot(&self.gors[gi], ts);
        let ri = self.regs.len();
        let task_seq = self.next_task_seq();
        self.regs.push(Region {
            goid: ctx_g,
            owner: gi,
            task,
            name,
            start_event: Some(i),
            start_ts: Some(ts),
            end_event: None,
            end_ts: None,
            task_seq,
            stats,
        });
        self.gors[gi].pend.active.push(ri);
    }

    fn region_end(&mut self, i: u32, ts: i64, ctx_g: i64, task: Option<i64>, name: u32) {
        let Some(&gi) = self.gs.get(&ctx_g) else { return };
        let ri = match self.gors[gi].pend.active.pop() {
            Some(ri) => ri,
            None => {
                // An end without a begin: made up now, with no start.
                let task_seq = self.next_task_seq();
                self.regs.push(Region {
                    goid: ctx_g,
                    owner: gi,
                    task,
                    name,
                    start_event: None,
                    start_ts: None,
                    end_event: None,
                    end_ts: None,
                    task_seq,
                    stats: Stats::default(),
                });
                self.regs.len() - 1
            }
        };
        let now = snapshot(&self.gors[gi], ts);
        let r = &mut self.regs[ri];
        r.stats = now.sub(&r.stats);
        r.end_event = Some(i);
        r.end_ts = Some(ts);
        self.gors[gi].regions.push(ri);
    }

    fn finish(&mut self) {
        let mut live: Vec<usize> = self.gs.values().copied().collect();
        live.sort_unstable();
        let last = self.last_ts;
        for &gi in &live {
            self.finalize(gi, last, None);
            let regs = &self.regs;
            // By start time, regions with no start first.
            self.gors[gi].regions.sort_by_key(|&ri| regs[ri].start_ts.map_or((0, 0), |t| (1, t)));
        }
    }
}

struct EventCols<'b> {
    ts: &'b PrimitiveArray<Int64Type>,
    kind: &'b DictionaryArray<Int8Type>,
    g: &'b PrimitiveArray<Int64Type>,
    p: &'b PrimitiveArray<Int32Type>,
    resource: &'b DictionaryArray<Int8Type>,
    resource_id: &'b PrimitiveArray<Int64Type>,
    from_state: &'b DictionaryArray<Int8Type>,
    to_state: &'b DictionaryArray<Int8Type>,
    reason: &'b DictionaryArray<Int32Type>,
    tstack: &'b PrimitiveArray<Int32Type>,
    name: &'b DictionaryArray<Int32Type>,
    task: &'b PrimitiveArray<Int64Type>,
}

fn column<'b>(b: &'b RecordBatch, name: &str) -> Result<&'b ArrayRef, TraceError> {
    b.column_by_name(name).ok_or_else(|| TraceError::msg(format!("events table has no column {name:?}")))
}

fn bad_type(name: &str) -> TraceError {
    TraceError::msg(format!("events column {name:?} has an unexpected type"))
}

impl<'b> EventCols<'b> {
    fn new(b: &'b RecordBatch) -> Result<Self, TraceError> {
        let i64c = |n: &str| column(b, n)?.as_primitive_opt::<Int64Type>().ok_or_else(|| bad_type(n));
        let i32c = |n: &str| column(b, n)?.as_primitive_opt::<Int32Type>().ok_or_else(|| bad_type(n));
        let d8 = |n: &str| column(b, n)?.as_dictionary_opt::<Int8Type>().ok_or_else(|| bad_type(n));
        let d32 = |n: &str| column(b, n)?.as_dictionary_opt::<Int32Type>().ok_or_else(|| bad_type(n));
        Ok(EventCols {
            ts: i64c("ts")?,
            kind: d8("kind")?,
            g: i64c("g")?,
            p: i32c("p")?,
            resource: d8("resource")?,
            resource_id: i64c("resource_id")?,
            from_state: d8("from_state")?,
            to_state: d8("to_state")?,
            reason: d32("reason")?,
            tstack: i32c("transition_stack_id")?,
            name: d32("name")?,
            task: i64c("task_id")?,
        })
    }
}

fn dict_values<K: arrow_array::types::ArrowDictionaryKeyType>(
    d: &DictionaryArray<K>,
    name: &str,
) -> Result<Vec<String>, TraceError> {
    let v = d.values().as_string_opt::<i32>().ok_or_else(|| bad_type(name))?;
    Ok((0..v.len()).map(|i| if v.is_valid(i) { v.value(i).to_owned() } else { String::new() }).collect())
}

/// Code of row `i` of a dictionary column through `lut`, or `none` if null.
#[inline]
fn code8(d: &DictionaryArray<Int8Type>, lut: &[u8], i: usize, none: u8) -> u8 {
    if d.is_valid(i) {
        lut.get(d.keys().value(i) as usize).copied().unwrap_or(none)
    } else {
        none
    }
}

#[inline]
fn code32(d: &DictionaryArray<Int32Type>, lut: &[u32], i: usize, none: u32) -> u32 {
    if d.is_valid(i) {
        lut.get(d.keys().value(i) as usize).copied().unwrap_or(none)
    } else {
        none
    }
}

#[inline]
fn opt_i64(a: &PrimitiveArray<Int64Type>, i: usize) -> Option<i64> {
    a.is_valid(i).then(|| a.value(i))
}

#[inline]
fn opt_i32(a: &PrimitiveArray<Int32Type>, i: usize) -> Option<i32> {
    a.is_valid(i).then(|| a.value(i))
}

/// Runs the Summarizer over the events table (its record batches, in order).
///
/// `namable[s]` says whether stack `s` names a goroutine (it has frames and its
/// outermost function is not empty); `system[s]` whether that name is a system
/// goroutine's (`runtime.` other than `runtime.main`). Returns the tables
/// `goroutines`, `goroutine_block`, `goroutine_range`, `regions`,
/// `region_block` and `region_range` (columns in `gotrace_df/views/_summary.py`).
pub fn summarize(
    events: &[RecordBatch],
    namable: &[bool],
    system: &[bool],
    opts: SummaryOptions,
) -> Result<Vec<(&'static str, RecordBatch)>, TraceError> {
    let mut s = Summarizer::new(opts, namable, system);
    let mut base: usize = 0;
    for batch in events {
        let c = EventCols::new(batch)?;
        let klut: Vec<u8> = dict_values(c.kind, "kind")?.iter().map(|v| kind_code(v)).collect();
        let rlut: Vec<u8> = dict_values(c.resource, "resource")?.iter().map(|v| resource_code(v)).collect();
        let flut: Vec<u8> = dict_values(c.from_state, "from_state")?.iter().map(|v| state_code(v)).collect();
        let tlut: Vec<u8> = dict_values(c.to_state, "to_state")?.iter().map(|v| state_code(v)).collect();
        let reason_lut: Vec<u32> = dict_values(c.reason, "reason")?.iter().map(|v| s.strings.id(v)).collect();
        let name_lut: Vec<u32> = dict_values(c.name, "name")?.iter().map(|v| s.strings.id(v)).collect();
        let empty = s.empty;
        for i in 0..batch.num_rows() {
            let idx = u32::try_from(base + i).map_err(|_| TraceError::msg("too many events to summarise"))?;
            let ts = c.ts.value(i);
            if s.sync_ts == 0 {
                s.sync_ts = ts;
            }
            if let Some((a, b)) = s.opts.window {
                if s.snap_a.is_none() && ts > a {
                    s.snap_a = Some(s.snapshot_all(a));
                }
                if s.snap_b.is_none() && ts > b {
                    s.snap_b = Some(s.snapshot_all(b));
                }
            }
            s.last_ts = ts;
            let kind = code8(c.kind, &klut, i, K_OTHER);
            let ctx_g = opt_i64(c.g, i).unwrap_or(-1);
            match kind {
                K_SYNC => s.sync_ts = ts,
                K_TRANSITION => {
                    let res = code8(c.resource, &rlut, i, R_OTHER);
                    let rid = opt_i64(c.resource_id, i).unwrap_or(-1);
                    let old = code8(c.from_state, &flut, i, S_NONE);
                    let new = code8(c.to_state, &tlut, i, S_NONE);
                    match res {
                        R_GOROUTINE => {
                            let ctx_p = opt_i32(c.p, i).unwrap_or(-1);
                            let reason = code32(c.reason, &reason_lut, i, empty);
                            let stack = opt_i32(c.tstack, i);
                            s.goroutine_transition(idx, ts, ctx_g, ctx_p, rid, old, new, reason, stack);
                        }
                        R_PROC => s.proc_transition(ts, rid, old, new),
                        _ => {}
                    }
                }
                K_RANGE_BEGIN | K_RANGE_ACTIVE | K_RANGE_END => {
                    let res = code8(c.resource, &rlut, i, R_OTHER);
                    let rid = opt_i64(c.resource_id, i).unwrap_or(-1);
                    let name = code32(c.name, &name_lut, i, empty);
                    if kind == K_RANGE_END {
                        s.range_end(ts, ctx_g, res, rid, name);
                    } else {
                        s.range_begin(ts, kind == K_RANGE_ACTIVE, ctx_g, res, rid, name);
                    }
                }
                K_REGION_BEGIN | K_REGION_END => {
                    let name = code32(c.name, &name_lut, i, empty);
                    let task = opt_i64(c.task, i);
                    if kind == K_REGION_BEGIN {
                        s.region_begin(idx, ts, ctx_g, task, name);
                    } else {
                        s.region_end(idx, ts, ctx_g, task, name);
                    }
                }
                _ => {}
            }
        }
        base += batch.num_rows();
    }
    s.finish();
    Ok(tables(&s))
}

fn arr<A: Array + 'static>(a: A) -> ArrayRef {
    Arc::new(a)
}

fn batch(cols: Vec<(&'static str, ArrayRef)>) -> RecordBatch {
    // Every column is built here with the same length: this cannot fail.
    RecordBatch::try_from_iter(cols).expect("summary columns have equal lengths")
}

fn ev(i: Option<u32>) -> Option<i32> {
    i.map(|v| v as i32)
}

/// Long table of a SmallMap per row: (row, key, ns).
fn long(rows: &[(i32, &SmallMap)], strings: &Strings, key: &'static str) -> RecordBatch {
    let mut row = Vec::new();
    let mut keys = Vec::new();
    let mut ns = Vec::new();
    for &(r, m) in rows {
        for &(k, v) in m {
            row.push(r);
            keys.push(strings.all[k as usize].as_str());
            ns.push(v);
        }
    }
    batch(vec![
        ("row", arr(Int32Array::from(row))),
        (key, arr(StringArray::from(keys))),
        ("ns", arr(Int64Array::from(ns))),
    ])
}

fn stats_cols(stats: &[&Stats]) -> Vec<(&'static str, ArrayRef)> {
    let col = |f: fn(&Stats) -> i64| arr(Int64Array::from(stats.iter().map(|s| f(s)).collect::<Vec<_>>()));
    vec![
        ("exec_ns", col(|s| s.exec)),
        ("sched_wait_ns", col(|s| s.sched)),
        ("syscall_ns", col(|s| s.syscall)),
        ("syscall_block_ns", col(|s| s.syscall_block)),
        ("total_ns", col(|s| s.total)),
    ]
}

fn tables(s: &Summarizer<'_>) -> Vec<(&'static str, RecordBatch)> {
    // Only the summaries left in Go's map are in its result: one whose
    // goroutine ID was reused is gone.
    let mut live: Vec<usize> = s.gs.values().copied().collect();
    live.sort_unstable();
    let mut row_of: Vec<Option<i32>> = vec![None; s.gors.len()];
    for (r, &gi) in live.iter().enumerate() {
        row_of[gi] = Some(r as i32);
    }

    // Stats per goroutine: the final ones, or the window's difference.
    let window_stats: Option<Vec<Stats>> = s.opts.window.map(|_| {
        live.iter()
            .map(|&gi| {
                // Taken before the trace ended: summaries made after it are zero.
                let b = match &s.snap_b {
                    Some(v) => v.get(gi).cloned().flatten().unwrap_or_default(),
                    None => s.gors[gi].stats.clone(),
                };
                match s.snap_a.as_ref().and_then(|v| v.get(gi).cloned().flatten()) {
                    Some(a) => b.sub(&a),
                    None => b,
                }
            })
            .collect()
    });
    let gstats: Vec<&Stats> = match &window_stats {
        Some(w) => w.iter().collect(),
        None => live.iter().map(|&gi| &s.gors[gi].stats).collect(),
    };

    let gs: Vec<&Goroutine> = live.iter().map(|&gi| &s.gors[gi]).collect();
    let mut cols: Vec<(&'static str, ArrayRef)> = vec![
        ("goid", arr(Int64Array::from(gs.iter().map(|g| g.goid).collect::<Vec<_>>()))),
        ("name_stack_id", arr(Int32Array::from(gs.iter().map(|g| g.name_stack).collect::<Vec<_>>()))),
        ("system", arr(BooleanArray::from(gs.iter().map(|g| g.system).collect::<Vec<_>>()))),
        ("creation_ns", arr(Int64Array::from(gs.iter().map(|g| g.creation).collect::<Vec<_>>()))),
        ("create_event", arr(Int32Array::from(gs.iter().map(|g| g.create_event as i32).collect::<Vec<_>>()))),
        ("start_ns", arr(Int64Array::from(gs.iter().map(|g| (g.start != 0).then_some(g.start)).collect::<Vec<_>>()))),
        ("end_ns", arr(Int64Array::from(gs.iter().map(|g| (g.end != 0).then_some(g.end)).collect::<Vec<_>>()))),
        ("end_event", arr(Int32Array::from(gs.iter().map(|g| ev(g.end_event)).collect::<Vec<_>>()))),
    ];
    cols.extend(stats_cols(&gstats));
    let goroutines = batch(cols);
    let gb: Vec<(i32, &SmallMap)> = gstats.iter().enumerate().map(|(r, st)| (r as i32, &st.block)).collect();
    let gr: Vec<(i32, &SmallMap)> = gstats.iter().enumerate().map(|(r, st)| (r as i32, &st.range)).collect();

    // Regions: every region summary made, in creation order. `in_goroutine`
    // marks those in a live goroutine's region list (what /userregions shows);
    // `task_seq` orders those in their task's list (what /usertask shows).
    let mut g_order: Vec<Option<i32>> = vec![None; s.regs.len()];
    for &gi in &live {
        for (k, &ri) in s.gors[gi].regions.iter().enumerate() {
            g_order[ri] = Some(k as i32);
        }
    }
    let rs = &s.regs;
    let in_g: Vec<bool> = g_order.iter().map(Option::is_some).collect();
    let rstats: Vec<&Stats> = rs.iter().map(|r| &r.stats).collect();
    let mut rcols: Vec<(&'static str, ArrayRef)> = vec![
        ("goid", arr(Int64Array::from(rs.iter().map(|r| r.goid).collect::<Vec<_>>()))),
        ("goroutine_row", arr(Int32Array::from(rs.iter().map(|r| row_of[r.owner]).collect::<Vec<_>>()))),
        ("task_id", arr(Int64Array::from(rs.iter().map(|r| r.task).collect::<Vec<_>>()))),
        ("name", arr(StringArray::from(rs.iter().map(|r| s.strings.all[r.name as usize].as_str()).collect::<Vec<_>>()))),
        ("start_event", arr(Int32Array::from(rs.iter().map(|r| ev(r.start_event)).collect::<Vec<_>>()))),
        ("end_event", arr(Int32Array::from(rs.iter().map(|r| ev(r.end_event)).collect::<Vec<_>>()))),
        ("start_ns", arr(Int64Array::from(rs.iter().map(|r| r.start_ts).collect::<Vec<_>>()))),
        ("end_ns", arr(Int64Array::from(rs.iter().map(|r| r.end_ts).collect::<Vec<_>>()))),
        ("in_goroutine", arr(BooleanArray::from(in_g.clone()))),
        ("goroutine_order", arr(Int32Array::from(g_order.clone()))),
        ("task_seq", arr(Int32Array::from(rs.iter().map(|r| r.task_seq.map(|v| v as i32)).collect::<Vec<_>>()))),
    ];
    rcols.extend(stats_cols(&rstats));
    let regions = batch(rcols);
    let listed: Vec<(i32, &Stats)> =
        rs.iter().enumerate().filter(|(k, _)| in_g[*k]).map(|(k, r)| (k as i32, &r.stats)).collect();
    let rb: Vec<(i32, &SmallMap)> = listed.iter().map(|&(k, st)| (k, &st.block)).collect();
    let rr: Vec<(i32, &SmallMap)> = listed.iter().map(|&(k, st)| (k, &st.range)).collect();

    vec![
        ("goroutines", goroutines),
        ("goroutine_block", long(&gb, &s.strings, "reason")),
        ("goroutine_range", long(&gr, &s.strings, "name")),
        ("regions", regions),
        ("region_block", long(&rb, &s.strings, "reason")),
        ("region_range", long(&rr, &s.strings, "name")),
    ]
}
