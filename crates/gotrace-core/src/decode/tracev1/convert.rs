//! Old events -> the events of new traces, the way Go's `internal/trace`
//! (tracev1.go) converts them, so that one `order::Sink` builds every table
//! from either format. The old trace becomes a single generation: one string
//! table, one stack table, a Sync before the first event and one after the
//! last.

use super::parser::{bit, blocks, pkey, ty, OldEvent, OldTrace, DESCS};
use crate::idmap::IdSlab;
use crate::intern::{Interner, EMPTY};
use crate::order::{Event, SchedCtx, Sink, NO_ID, NO_TASK};
use crate::spec::{ev, gostatus, pstatus, SPECS};
use crate::wire::{Frame, Frequency, Generation};
use crate::TraceError;
use rustc_hash::{FxHashMap, FxHashSet};

/// Strings the conversion names itself: block reasons, then STW kinds by
/// their old kind number (Go's runtime.stwReason), "" first for unknown kinds.
const REASONS: [&str; 12] = [
    "forever",
    "preempted",
    "runtime.Gosched",
    "sleep",
    "chan send",
    "chan receive",
    "network",
    "sync",
    "sync.(*Cond).Wait",
    "select",
    "",
    "GC mark assist wait for work",
];
const STW_KINDS: [&str; 17] = [
    "",
    "GC mark termination",
    "GC sweep termination",
    "write heap dump",
    "goroutine profile",
    "goroutine profile cleanup",
    "all goroutine stack trace",
    "read mem stats",
    "AllThreadsSyscall",
    "GOMAXPROCS",
    "start trace",
    "stop trace",
    "CountPagesInUse (test)",
    "ReadMetricsSlow (test)",
    "ReadMemStatsSlow (test)",
    "PageCachePagesLeaked (test)",
    "ResetDebugLog (test)",
];

/// Index of a block reason in REASONS.
fn reason_of(typ: u8) -> usize {
    match typ {
        ty::GO_STOP => 0,
        ty::GO_PREEMPT => 1,
        ty::GO_SCHED => 2,
        ty::GO_SLEEP => 3,
        ty::GO_BLOCK_SEND => 4,
        ty::GO_BLOCK_RECV => 5,
        ty::GO_BLOCK_NET => 6,
        ty::GO_BLOCK_SYNC => 7,
        ty::GO_BLOCK_COND => 8,
        ty::GO_BLOCK_SELECT => 9,
        ty::GO_BLOCK_GC => 11,
        _ => 10, // GoBlock: no reason given
    }
}

/// The generation the converted events refer to: the old string table (its
/// own IDs), log messages and the conversion's own strings after the largest
/// of them, the stack table, and the frequency. Also the stacks with a frame
/// naming a string that does not exist, with the message for them: Go fails
/// on those only when an event shows one, and so do we.
fn generation<'a>(
    tr: &OldTrace<'_>,
    strings: &mut Interner,
) -> Result<(Generation<'a>, u64, u64, FxHashMap<u64, String>), TraceError> {
    let mut g = Generation::new();
    g.gen = 1;
    g.freq = Frequency(1.0 / (tr.ticks_per_sec as f64 / 1e9));
    let mut max = 0u64;
    for (&id, s) in &tr.strings {
        g.strings.insert(id, strings.intern(s));
        max = max.max(id);
    }
    let too_many = || TraceError::msg("trace contains too many strings");
    let inline_base = max.checked_add(1).ok_or_else(too_many)?;
    let own_base = inline_base.checked_add(tr.inline_strings.len() as u64).ok_or_else(too_many)?;
    own_base.checked_add((REASONS.len() + STW_KINDS.len()) as u64).ok_or_else(too_many)?;
    for (i, s) in tr.inline_strings.iter().enumerate() {
        g.strings.insert(inline_base + i as u64, strings.intern(s));
    }
    for (i, s) in REASONS.iter().chain(STW_KINDS.iter()).enumerate() {
        g.strings.insert(own_base + i as u64, strings.intern_str(s));
    }
    let global = |id: u64| if id == 0 { Some(EMPTY) } else { g.strings.get(id) };
    let mut frames = FxHashMap::default();
    let mut bad_pcs: FxHashMap<u64, String> = FxHashMap::default();
    for (&pc, f) in &tr.pcs {
        let (func, file) = (global(f.func), global(f.file));
        if func.is_none() || file.is_none() {
            let (what, id) = if func.is_none() { ("func", f.func) } else { ("file", f.file) };
            bad_pcs.insert(pc, format!("found invalid {what} string ID {id} for a stack frame"));
        }
        frames.insert(pc, Frame { pc, func: func.unwrap_or(EMPTY), file: file.unwrap_or(EMPTY), line: f.line });
    }
    g.pcs = frames;
    let mut bad_stacks = FxHashMap::default();
    for (&id, pcs) in &tr.stacks {
        let start = g.stack_pcs.len() as u32;
        g.stack_pcs.extend_from_slice(pcs);
        g.stacks.insert(u64::from(id), (start, g.stack_pcs.len() as u32));
        if let Some(msg) = pcs.iter().find_map(|pc| bad_pcs.get(pc)) {
            bad_stacks.insert(u64::from(id), msg.clone());
        }
    }
    Ok((g, inline_base, own_base, bad_stacks))
}

/// The stacks an event shows: its own, and a new goroutine's or a sample's.
fn shown_stacks(e: &Event) -> [u64; 2] {
    let own = SPECS[e.typ as usize].stack_ids.first().map_or(0, |&pos| e.args[pos - 1]);
    match e.typ {
        ev::GO_CREATE => [own, e.args[1]],
        ev::CPU_SAMPLE => [e.args[0], 0],
        _ => [own, 0],
    }
}

/// Converts `tr` and hands every event to `sink`, Syncs included.
pub fn convert(mut tr: OldTrace<'_>, sink: &mut dyn Sink, strings: &mut Interner) -> Result<(), TraceError> {
    let mut events = std::mem::take(&mut tr.events);
    let blocked = std::mem::take(&mut tr.blocked);
    let (mut gen, inline_base, own_base, bad_stacks) = generation(&tr, strings)?;
    let version = tr.version;
    drop(tr);
    let mut c = Converter {
        version,
        inline_base,
        own_base,
        pre_init: true,
        created_pre_init: Vec::new(),
        created_set: FxHashSet::default(),
        tasks: FxHashMap::default(),
        seen_procs: FxHashSet::default(),
        proc_m: IdSlab::default(),
        last_stw: 0,
        out: Vec::with_capacity(3),
        last_ts: -1,
    };
    let mut n_syncs = 0;
    if let Some(first) = events.first() {
        n_syncs += 1;
        sink.sync(first.ts.wrapping_sub(1), n_syncs, Some(&mut gen), strings);
    }
    // Each chunk of old events is freed once converted: the old events and
    // the tables built from them are not all held at once.
    let mut i = 0;
    events.walk(true, |e| {
        if sink.full() {
            return Ok(false);
        }
        c.convert(e, bit(&blocked, i), &gen).map_err(|m| TraceError::at(m, e.at, Some(1)))?;
        i += 1;
        c.deliver(sink, &mut gen, strings, &bad_stacks)?;
        Ok(true)
    })?;
    if !sink.full() {
        sink.sync(c.last_ts.wrapping_add(1), n_syncs + 1, None, strings);
    }
    Ok(())
}

impl Converter {
    /// Hands the events made for one old event to `sink`.
    fn deliver(
        &mut self,
        sink: &mut dyn Sink,
        gen: &mut Generation<'_>,
        strings: &mut Interner,
        bad_stacks: &FxHashMap<u64, String>,
    ) -> Result<(), TraceError> {
        for mut out in self.out.drain(..) {
            // Events of new traces never share a time; the made-up ones here do.
            if out.time <= self.last_ts {
                out.time = self.last_ts.wrapping_add(1);
            }
            self.last_ts = out.time;
            if !bad_stacks.is_empty() {
                if let Some(msg) = shown_stacks(&out).iter().find_map(|s| bad_stacks.get(s)) {
                    return Err(TraceError::at(msg.clone(), out.at, Some(1)));
                }
            }
            sink.event(&out, gen, strings).map_err(|mut err| {
                // The builder does not know where the event came from.
                err.offset = err.offset.or(Some(out.at as u64));
                err
            })?;
        }
        Ok(())
    }
}

struct Converter {
    version: u32,
    inline_base: u64,
    own_base: u64,
    /// Until the first Gomaxprocs the runtime describes the goroutines that
    /// exist when tracing starts: those that are created then but neither
    /// start nor wait were runnable.
    pre_init: bool,
    created_pre_init: Vec<u64>,
    created_set: FxHashSet<u64>,
    /// Task ID -> (name, parent as the old event gave it).
    tasks: FxHashMap<u64, (u32, u64)>,
    seen_procs: FxHashSet<i32>,
    /// The thread each P runs on, from its last ProcStart.
    proc_m: IdSlab<i64>,
    /// String ID of the STW in progress: STW ends carry their begin's kind.
    last_stw: u64,
    out: Vec<Event>,
    last_ts: i64,
}

impl Converter {
    fn reason(&self, typ: u8) -> u64 {
        self.own_base + reason_of(typ) as u64
    }

    /// Old STW kind number -> string ID: before 1.21 only two kinds existed,
    /// numbered from 0.
    fn stw_kind(&self, kind: u64) -> u64 {
        let k = if self.version < 21 {
            if kind <= 1 {
                kind + 1
            } else {
                0
            }
        } else if kind < STW_KINDS.len() as u64 {
            kind
        } else {
            0
        };
        self.own_base + (REASONS.len() as u64) + k
    }

    fn push(&mut self, typ: u8, time: i64, args: [u64; 4], ctx: SchedCtx, at: usize) {
        self.out.push(Event { typ, time, args, ctx, at });
    }

    /// Appends the new events for `e` (none, one or two) to `self.out`.
    fn convert(&mut self, e: &OldEvent, blocked: bool, gen: &Generation<'_>) -> Result<(), String> {
        let a = [e.args[0], e.args[1], e.args[2], 0];
        let stk = u64::from(e.stk);
        // A few made-up events take the P's thread as Go's map lookup gives
        // it: 0 when the P never started.
        let plain_ctx =
            SchedCtx { g: e.g as i64, p: i64::from(e.p), m: self.proc_m.get(pkey(e.p)).copied().unwrap_or(0) };
        let (typ, mut args) = match e.typ {
            ty::GOMAXPROCS => {
                if self.pre_init {
                    // The end of the initial description: goroutines created
                    // and nothing else were runnable.
                    self.pre_init = false;
                    for &gid in &self.created_pre_init {
                        if self.created_set.contains(&gid) {
                            let args = [gid, u64::MAX, gostatus::RUNNABLE, 0];
                            let none = SchedCtx { g: NO_ID, p: NO_ID, m: NO_ID };
                            self.out.push(Event { typ: ev::GO_STATUS, time: e.ts, args, ctx: none, at: e.at });
                        }
                    }
                    self.created_pre_init = Vec::new();
                    self.created_set = FxHashSet::default();
                    return Ok(());
                }
                (ev::PROCS_CHANGE, a)
            }
            ty::PROC_START => {
                self.proc_m.insert(pkey(e.p), a[0] as i64);
                if self.seen_procs.insert(e.p) {
                    (ev::PROC_STATUS, [e.p as i64 as u64, pstatus::RUNNING, 0, 0])
                } else {
                    (ev::PROC_START, [e.p as i64 as u64, 0, 0, 0])
                }
            }
            ty::PROC_STOP => {
                if self.seen_procs.insert(e.p) {
                    (ev::PROC_STATUS, [e.p as i64 as u64, pstatus::IDLE, 0, 0])
                } else {
                    (ev::PROC_STOP, [e.p as i64 as u64, 0, 0, 0])
                }
            }
            ty::GC_START => (ev::GC_BEGIN, a),
            ty::GC_DONE => (ev::GC_END, a),
            ty::STW_START => {
                self.last_stw = self.stw_kind(a[0]);
                (ev::STW_BEGIN, [self.last_stw, 0, 0, 0])
            }
            ty::STW_DONE => (ev::STW_END, [self.last_stw, 0, 0, 0]),
            ty::GC_SWEEP_START => (ev::GC_SWEEP_BEGIN, a),
            ty::GC_SWEEP_DONE => (ev::GC_SWEEP_END, a),
            ty::GO_CREATE => {
                if self.pre_init {
                    if self.created_set.insert(a[0]) {
                        self.created_pre_init.push(a[0]);
                    }
                    return Ok(());
                }
                (ev::GO_CREATE, a)
            }
            ty::GO_START => {
                if self.pre_init {
                    self.created_set.remove(&e.g);
                    (ev::GO_STATUS, [a[0], u64::MAX, gostatus::RUNNING, 0])
                } else {
                    (ev::GO_START, a)
                }
            }
            ty::GO_START_LABEL => {
                // A start, then the goroutine's label.
                self.push(ev::GO_START, e.ts, a, plain_ctx, e.at);
                self.push(ev::GO_LABEL, e.ts, [a[2], 0, 0, 0], plain_ctx, e.at);
                return Ok(());
            }
            ty::GO_END => (ev::GO_DESTROY, a),
            t if t == ty::GO_STOP || blocks(t) => (ev::GO_BLOCK, [self.reason(e.typ), stk, 0, 0]),
            ty::GO_SCHED | ty::GO_PREEMPT => (ev::GO_STOP, [self.reason(e.typ), stk, 0, 0]),
            ty::GO_UNBLOCK => (ev::GO_UNBLOCK, a),
            ty::GO_SYSCALL => {
                if blocked {
                    (ev::GO_SYSCALL_BEGIN, [0, stk, 0, 0])
                } else {
                    // An old syscall is one instant unless it blocked: it
                    // becomes a begin and an end 1 ns apart.
                    self.push(ev::GO_SYSCALL_BEGIN, e.ts, [0, stk, 0, 0], plain_ctx, e.at);
                    self.push(ev::GO_SYSCALL_END, e.ts.wrapping_add(1), [0; 4], plain_ctx, e.at);
                    return Ok(());
                }
            }
            ty::GO_SYS_EXIT => (ev::GO_SYSCALL_END_BLOCKED, a),
            // Its GoSysCall became a blocking syscall begin already.
            ty::GO_SYS_BLOCK => return Ok(()),
            ty::GO_WAITING | ty::GO_IN_SYSCALL => {
                self.created_set.remove(&a[0]);
                let status = if e.typ == ty::GO_WAITING { gostatus::WAITING } else { gostatus::SYSCALL };
                // The old format does not say which thread a syscall is on.
                (ev::GO_STATUS, [a[0], u64::MAX, status, 0])
            }
            ty::HEAP_ALLOC => (ev::HEAP_ALLOC, a),
            ty::HEAP_GOAL => (ev::HEAP_GOAL, a),
            ty::GC_MARK_ASSIST_START => (ev::GC_MARK_ASSIST_BEGIN, a),
            ty::GC_MARK_ASSIST_DONE => (ev::GC_MARK_ASSIST_END, a),
            ty::USER_TASK_CREATE => {
                let parent = if a[1] == 0 { NO_TASK } else { a[1] };
                let name = crate::order::lookup_string(gen, a[2]).unwrap_or(EMPTY);
                // The end's parent is the old one: 0, not NoTask, for none.
                self.tasks.insert(a[0], (name, a[1]));
                (ev::USER_TASK_BEGIN, [a[0], parent, a[2], stk])
            }
            ty::USER_TASK_END => {
                let (name, parent) = self.tasks.remove(&a[0]).unwrap_or((EMPTY, NO_TASK));
                (ev::USER_TASK_END, [a[0], a[1], parent, u64::from(name)])
            }
            ty::USER_REGION => {
                let typ = if a[1] == 0 { ev::USER_REGION_BEGIN } else { ev::USER_REGION_END };
                (typ, [a[0], a[2], stk, 0])
            }
            ty::USER_LOG => (ev::USER_LOG, [a[0], a[1], self.inline_base + u64::from(e.inline), stk]),
            ty::CPU_SAMPLE => (ev::CPU_SAMPLE, [stk, u64::MAX, e.p as i64 as u64, e.g]),
            t => return Err(format!("unexpected event type {}", DESCS[t as usize].name)),
        };
        if DESCS[e.typ as usize].stack {
            if let Some(&pos) = SPECS[typ as usize].stack_ids.first() {
                args[pos - 1] = stk;
            }
        }
        let mut m = NO_ID;
        if e.p != -1 && e.typ != ty::CPU_SAMPLE {
            if let Some(&t) = self.proc_m.get(pkey(e.p)) {
                m = t;
            }
        }
        if e.typ == ty::PROC_STOP {
            self.proc_m.remove(pkey(e.p));
        }
        let g = if e.g == 0 { NO_ID } else { e.g as i64 };
        self.push(typ, e.ts, args, SchedCtx { g, p: i64::from(e.p), m }, e.at);
        Ok(())
    }
}
