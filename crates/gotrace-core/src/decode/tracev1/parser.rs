//! The old trace format (Go 1.11-1.21, header versions 11, 19 and 21): one
//! stream of per-P batches with no generations, strings and stacks for the
//! whole trace, timestamps in ticks. Decoded the way Go's
//! `internal/trace/internal/tracev1` does: every batch read, the per-P streams
//! merged by goroutine sequence numbers (time only breaks ties), syscall exits
//! moved to their real time, then the whole stream checked for consistency.

use super::order::{self, Ordered, Stream};
use crate::idmap::IdSlab;
use crate::wire::{f64_to_i64, uvarint};
use crate::TraceError;
use rustc_hash::{FxHashMap, FxHashSet};

/// Old event types (Go's runtime/trace.go of those releases).
pub mod ty {
    pub const NONE: u8 = 0;
    pub const BATCH: u8 = 1;
    pub const FREQUENCY: u8 = 2;
    pub const STACK: u8 = 3;
    pub const GOMAXPROCS: u8 = 4;
    pub const PROC_START: u8 = 5;
    pub const PROC_STOP: u8 = 6;
    pub const GC_START: u8 = 7;
    pub const GC_DONE: u8 = 8;
    pub const STW_START: u8 = 9;
    pub const STW_DONE: u8 = 10;
    pub const GC_SWEEP_START: u8 = 11;
    pub const GC_SWEEP_DONE: u8 = 12;
    pub const GO_CREATE: u8 = 13;
    pub const GO_START: u8 = 14;
    pub const GO_END: u8 = 15;
    pub const GO_STOP: u8 = 16;
    pub const GO_SCHED: u8 = 17;
    pub const GO_PREEMPT: u8 = 18;
    pub const GO_SLEEP: u8 = 19;
    pub const GO_BLOCK: u8 = 20;
    pub const GO_UNBLOCK: u8 = 21;
    pub const GO_BLOCK_SEND: u8 = 22;
    pub const GO_BLOCK_RECV: u8 = 23;
    pub const GO_BLOCK_SELECT: u8 = 24;
    pub const GO_BLOCK_SYNC: u8 = 25;
    pub const GO_BLOCK_COND: u8 = 26;
    pub const GO_BLOCK_NET: u8 = 27;
    pub const GO_SYSCALL: u8 = 28;
    pub const GO_SYS_EXIT: u8 = 29;
    pub const GO_SYS_BLOCK: u8 = 30;
    pub const GO_WAITING: u8 = 31;
    pub const GO_IN_SYSCALL: u8 = 32;
    pub const HEAP_ALLOC: u8 = 33;
    pub const HEAP_GOAL: u8 = 34;
    pub const TIMER_GOROUTINE: u8 = 35;
    pub const FUTILE_WAKEUP: u8 = 36;
    pub const STRING: u8 = 37;
    pub const GO_START_LOCAL: u8 = 38;
    pub const GO_UNBLOCK_LOCAL: u8 = 39;
    pub const GO_SYS_EXIT_LOCAL: u8 = 40;
    pub const GO_START_LABEL: u8 = 41;
    pub const GO_BLOCK_GC: u8 = 42;
    pub const GC_MARK_ASSIST_START: u8 = 43;
    pub const GC_MARK_ASSIST_DONE: u8 = 44;
    pub const USER_TASK_CREATE: u8 = 45;
    pub const USER_TASK_END: u8 = 46;
    pub const USER_REGION: u8 = 47;
    pub const USER_LOG: u8 = 48;
    pub const CPU_SAMPLE: u8 = 49;
    pub const COUNT: u8 = 50;
}

/// One old event type: name, first header version that has it, whether a
/// stack ID follows the arguments, and the number of arguments.
pub struct Desc {
    pub name: &'static str,
    min_version: u32,
    pub stack: bool,
    nargs: usize,
}

const fn d(name: &'static str, min_version: u32, stack: bool, nargs: usize) -> Desc {
    Desc { name, min_version, stack, nargs }
}

pub const DESCS: [Desc; ty::COUNT as usize] = [
    d("None", 5, false, 0),
    d("Batch", 5, false, 2),
    d("Frequency", 5, false, 1),
    d("Stack", 5, false, 2),
    d("Gomaxprocs", 5, true, 1),
    d("ProcStart", 5, false, 1),
    d("ProcStop", 5, false, 0),
    d("GCStart", 5, true, 1),
    d("GCDone", 5, false, 0),
    d("GCSTWStart", 5, false, 1),
    d("GCSTWDone", 5, false, 0),
    d("GCSweepStart", 5, true, 0),
    d("GCSweepDone", 5, false, 2),
    d("GoCreate", 5, true, 2),
    d("GoStart", 5, false, 2),
    d("GoEnd", 5, false, 0),
    d("GoStop", 5, true, 0),
    d("GoSched", 5, true, 0),
    d("GoPreempt", 5, true, 0),
    d("GoSleep", 5, true, 0),
    d("GoBlock", 5, true, 0),
    d("GoUnblock", 5, true, 2),
    d("GoBlockSend", 5, true, 0),
    d("GoBlockRecv", 5, true, 0),
    d("GoBlockSelect", 5, true, 0),
    d("GoBlockSync", 5, true, 0),
    d("GoBlockCond", 5, true, 0),
    d("GoBlockNet", 5, true, 0),
    d("GoSysCall", 5, true, 0),
    d("GoSysExit", 5, false, 3),
    d("GoSysBlock", 5, false, 0),
    d("GoWaiting", 5, false, 1),
    d("GoInSyscall", 5, false, 1),
    d("HeapAlloc", 5, false, 1),
    d("HeapGoal", 5, false, 1),
    d("TimerGoroutine", 5, false, 1),
    d("FutileWakeup", 5, false, 0),
    d("String", 7, false, 0),
    d("GoStartLocal", 7, false, 1),
    d("GoUnblockLocal", 7, true, 1),
    d("GoSysExitLocal", 7, false, 2),
    d("GoStartLabel", 8, false, 3),
    d("GoBlockGC", 8, true, 0),
    d("GCMarkAssistStart", 9, true, 0),
    d("GCMarkAssistDone", 9, false, 0),
    d("UserTaskCreate", 11, true, 3),
    d("UserTaskEnd", 11, true, 1),
    d("UserRegion", 11, true, 3),
    d("UserLog", 11, true, 2),
    d("CPUSample", 19, true, 3),
];

/// A goroutine blocks: sleeps, or waits on a channel, select, lock, cond,
/// the network or the GC (GoStop waits forever: see the converter).
pub fn blocks(typ: u8) -> bool {
    matches!(typ, ty::GO_SLEEP | ty::GO_BLOCK | ty::GO_BLOCK_SEND..=ty::GO_BLOCK_NET | ty::GO_BLOCK_GC)
}

/// Pseudo-Ps the old parser puts events on (Go's `tracev1.FakeP + n`).
pub const TIMER_P: i32 = 1_000_001;
pub const NETPOLL_P: i32 = 1_000_002;
pub const SYSCALL_P: i32 = 1_000_003;
pub const GC_P: i32 = 1_000_004;

/// Longest string (string table entry or log message) and longest
/// length-prefixed argument list the old parser accepts.
const MAX_STRING: u64 = 1_000_000;
const MAX_ARGS_BYTES: u64 = 2048;
const MAX_STACK_FRAMES: u64 = 1000;

/// One decoded old event. `ts` is in ticks until `parse` converts it to ns
/// since the first event.
#[derive(Clone, Copy, Debug, Default)]
pub struct OldEvent {
    pub ts: i64,
    pub g: u64,
    pub args: [u64; 3],
    pub stk: u32,
    pub p: i32,
    /// A UserLog's message: its index in `OldTrace::inline_strings`.
    pub inline: u32,
    pub typ: u8,
    /// Byte offset of the event in the input.
    pub at: usize,
}

// Every stage passes over millions of these: one cache line each.
const _: () = assert!(std::mem::size_of::<OldEvent>() == 64);

/// A frame of the stack table: PC, function and file string IDs, line.
#[derive(Clone, Copy, Debug)]
pub struct OldFrame {
    pub func: u64,
    pub file: u64,
    pub line: u64,
}

/// The whole old trace, merged, time-ordered and checked.
pub struct OldTrace<'a> {
    pub version: u32,
    pub events: Ordered,
    /// Bit i: event i is a GoSysCall whose goroutine's next event is a
    /// GoSysBlock (the syscall blocked).
    pub blocked: Vec<u64>,
    pub strings: FxHashMap<u64, &'a [u8]>,
    /// Log messages, stored inline in the old format: (index -> bytes).
    pub inline_strings: Vec<&'a [u8]>,
    /// Stack ID -> PCs, leaf first.
    pub stacks: FxHashMap<u32, Vec<u64>>,
    /// PC -> the first frame seen for it.
    pub pcs: FxHashMap<u64, OldFrame>,
    pub ticks_per_sec: i64,
}

/// A P's key in an [`IdSlab`] (dense for small IDs): P -1 (none) becomes 0,
/// the pseudo-Ps stay small.
pub fn pkey(p: i32) -> i64 {
    i64::from(p) + 1
}

/// Whether bit `i` of `bits` is set.
pub fn bit(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}

/// Parses an old-format trace whose header said `version`.
pub fn parse(data: &[u8], version: u32) -> Result<OldTrace<'_>, TraceError> {
    let r = read(data, version)?;
    let Decoder { procs, cpu_samples, strings, inline, stacks, pcs, ticks_per_sec, timer_goids, .. } = r;
    let streams = procs.into_iter().map(|p| p.events).collect();
    let mut events = order::merge(streams, cpu_samples, data.len())?;
    if ticks_per_sec == 0 {
        return Err(TraceError::at("no EvFrequency event", data.len(), None));
    }
    let min = events.first().map_or(0, |e| e.ts);
    let ns_per_tick = 1e9 / ticks_per_sec as f64;
    let to_ns = |e: &mut OldEvent| {
        e.ts = f64_to_i64(e.ts.wrapping_sub(min) as f64 * ns_per_tick);
        // Timer wakeups and syscall exits have no P of their own.
        if e.typ == ty::GO_UNBLOCK && timer_goids.contains(&e.g) {
            e.p = TIMER_P;
        }
        if e.typ == ty::GO_SYS_EXIT {
            e.p = SYSCALL_P;
        }
    };
    let blocked = check(&mut events, &stacks, to_ns)?;
    Ok(OldTrace { version, events, blocked, strings, inline_strings: inline, stacks, pcs, ticks_per_sec })
}

/// Inputs smaller than this are read on one thread; larger ones are cut into
/// one part per thread the core may use ([`crate::threads`]).
const PART_BYTES: usize = 1 << 16;

/// Reads every event, string and stack of the trace. On several threads
/// each part of the input starts at a batch: the first at or past an even
/// cut, found by skimming the input before it. Parts are joined as one
/// reader would have read them; any error, or a part that cannot be
/// joined, has the whole input read again on one thread, which then gives
/// the error one reader finds first.
fn read(data: &[u8], version: u32) -> Result<Decoder<'_>, TraceError> {
    let parts = crate::threads::get().min(data.len() / PART_BYTES);
    if let Some(whole) = read_parts(data, version, parts) {
        return Ok(whole);
    }
    let mut d = Decoder::new(data, version, 16, usize::MAX);
    d.read_all()?;
    Ok(d)
}

/// The input read in `parts` parts on as many threads, then joined; None
/// if there are fewer than two or they cannot be read or joined.
fn read_parts(data: &[u8], version: u32, parts: usize) -> Option<Decoder<'_>> {
    if parts < 2 {
        return None;
    }
    let cut = |i: usize| if i == parts { usize::MAX } else { 16 + (data.len() - 16) / parts * i };
    let part = |i: usize| {
        let start = if i == 0 { 16 } else { batch_at_or_after(data, version, cut(i))? };
        let mut d = Decoder::new(data, version, start, cut(i + 1));
        d.read_all().ok().map(|()| d)
    };
    let decoded: Vec<Option<Decoder<'_>>> = std::thread::scope(|s| {
        let part = &part;
        // A part whose thread cannot start is read here.
        let others: Vec<_> =
            (1..parts).map(|i| (i, std::thread::Builder::new().spawn_scoped(s, move || part(i)))).collect();
        let mut out = vec![part(0)];
        out.extend(others.into_iter().map(|(i, h)| match h {
            Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            Err(_) => part(i),
        }));
        out
    });
    let mut decoded = decoded.into_iter();
    let mut whole = decoded.next()??;
    decoded.all(|d| d.is_some_and(|d| whole.absorb(d))).then_some(whole)
}

/// Offset of the first batch at or past `cut`, skimming the events from the
/// start as the reader reads them; None where the input is not well formed.
fn batch_at_or_after(data: &[u8], version: u32, cut: usize) -> Option<usize> {
    let mut off = 16;
    let varint = |off: &mut usize| -> Option<u64> {
        let (v, n) = uvarint(data.get(*off..)?)?;
        *off += n;
        Some(v)
    };
    let skip = |off: &mut usize, n: u64| -> Option<()> {
        let end = off.checked_add(usize::try_from(n).ok()?)?;
        (end <= data.len()).then(|| *off = end)
    };
    while off < data.len() {
        let at = off;
        let b = data[off];
        off += 1;
        let (typ, narg) = (b & 0x3f, (b >> 6) + 1);
        if typ == ty::NONE || typ >= ty::COUNT || DESCS[typ as usize].min_version > version {
            return None;
        }
        match typ {
            ty::STRING => {
                varint(&mut off)?;
                let len = varint(&mut off)?;
                skip(&mut off, len)?;
            }
            ty::BATCH if narg != 2 => return None,
            ty::BATCH if at >= cut => return Some(at),
            _ if narg <= 3 => {
                for _ in 0..narg {
                    varint(&mut off)?;
                }
            }
            _ => {
                let len = varint(&mut off)?;
                skip(&mut off, len)?;
                if typ == ty::USER_LOG {
                    let len = varint(&mut off)?;
                    skip(&mut off, len)?;
                }
            }
        }
    }
    None
}

/// The events of one P (batch header's pid), in file order.
struct Proc {
    pid: i32,
    events: Stream,
    last_g: u64,
    last_ts: i64,
    /// False while the goroutine running is the one the part of the input
    /// before this one left (see [`read`]); `patch` has the events that
    /// name it.
    g_known: bool,
    patch: Vec<usize>,
}

struct Decoder<'a> {
    data: &'a [u8],
    /// Where reading started and where it is.
    start: usize,
    off: usize,
    /// Reading stops at the first batch at or past this offset.
    stop: usize,
    /// Whether the Ps' first goroutines are unknown (not the first part).
    later_part: bool,
    version: u32,
    args: Vec<u64>,
    procs: Vec<Proc>,
    proc_index: FxHashMap<i32, usize>,
    cur: Option<usize>,
    cpu_samples: Vec<OldEvent>,
    strings: FxHashMap<u64, &'a [u8]>,
    inline: Vec<&'a [u8]>,
    inline_index: FxHashMap<&'a [u8], usize>,
    stacks: FxHashMap<u32, Vec<u64>>,
    pcs: FxHashMap<u64, OldFrame>,
    ticks_per_sec: i64,
    timer_goids: FxHashSet<u64>,
    /// The keys of `strings`, `stacks` and `pcs` in the order they were
    /// first added, and the (P slot, index) of every UserLog: what joining
    /// a later part needs to add them as one reader would have.
    string_ids: Vec<u64>,
    stack_ids: Vec<u32>,
    pc_order: Vec<u64>,
    logs: Vec<(usize, usize)>,
}

const MALFORMED: &str = "malformatted base-128 varint";

impl<'a> Decoder<'a> {
    fn new(data: &'a [u8], version: u32, start: usize, stop: usize) -> Self {
        Decoder {
            data,
            start,
            off: start,
            stop,
            later_part: start > 16,
            version,
            args: Vec::new(),
            procs: Vec::new(),
            proc_index: FxHashMap::default(),
            cur: None,
            cpu_samples: Vec::new(),
            strings: FxHashMap::default(),
            inline: Vec::new(),
            inline_index: FxHashMap::default(),
            stacks: FxHashMap::default(),
            pcs: FxHashMap::default(),
            ticks_per_sec: 0,
            timer_goids: FxHashSet::default(),
            string_ids: Vec::new(),
            stack_ids: Vec::new(),
            pc_order: Vec::new(),
            logs: Vec::new(),
        }
    }

    fn val(&mut self, at: usize) -> Result<u64, TraceError> {
        match uvarint(&self.data[self.off.min(self.data.len())..]) {
            Some((v, n)) => {
                self.off += n;
                Ok(v)
            }
            None => Err(TraceError::at(MALFORMED, at, None)),
        }
    }

    fn take(&mut self, n: u64, at: usize) -> Result<&'a [u8], TraceError> {
        let left = self.data.len() - self.off;
        if n > left as u64 {
            return Err(TraceError::at(
                format!("failed to read trace: unexpected EOF (wanted {n} bytes, {left} left)"),
                at,
                None,
            ));
        }
        let s = &self.data[self.off..self.off + n as usize];
        self.off += n as usize;
        Ok(s)
    }

    fn read_all(&mut self) -> Result<(), TraceError> {
        while self.off < self.data.len() {
            let at = self.off;
            let b = self.data[self.off];
            self.off += 1;
            // Low six bits: the type; top two: the argument count, 3 meaning
            // "length-prefixed" (the timestamp counts as an argument).
            let typ = b & 0x3f;
            let narg = (b >> 6) + 1;
            if typ == ty::NONE || typ >= ty::COUNT || DESCS[typ as usize].min_version > self.version {
                return Err(TraceError::at(format!("unknown event type {typ}"), at, None));
            }
            match typ {
                ty::STRING => self.string(at)?,
                ty::BATCH if at >= self.stop => {
                    self.off = at;
                    break;
                }
                ty::BATCH => {
                    if narg != 2 {
                        return Err(TraceError::at(
                            format!("EvBatch has wrong number of arguments: got {narg}, want 2"),
                            at,
                            None,
                        ));
                    }
                    let pid = self.val(at)?;
                    let ticks = self.val(at)?;
                    let pid = match pid {
                        u64::MAX => -1,
                        p if p > i32::MAX as u64 => {
                            return Err(TraceError::at(
                                format!("processor ID {p} is larger than maximum of {}", i32::MAX),
                                at,
                                None,
                            ))
                        }
                        p => p as i32,
                    };
                    let slot = *self.proc_index.entry(pid).or_insert_with(|| {
                        let g_known = !self.later_part;
                        self.procs.push(Proc {
                            pid,
                            events: Stream::default(),
                            last_g: 0,
                            last_ts: 0,
                            g_known,
                            patch: Vec::new(),
                        });
                        self.procs.len() - 1
                    });
                    self.procs[slot].last_ts = ticks as i64;
                    self.cur = Some(slot);
                }
                _ => {
                    self.read_args(typ, narg, at)?;
                    self.event(typ, at)?;
                }
            }
        }
        Ok(())
    }

    /// Adds the part of the input read by `later`, which starts where this
    /// one stopped, as if this reader had gone on; false if it cannot (a
    /// string ID both define: one reader fails there).
    fn absorb(&mut self, mut later: Decoder<'a>) -> bool {
        if later.start != self.off {
            return false;
        }
        for &id in &later.string_ids {
            if self.strings.contains_key(&id) {
                return false;
            }
            self.strings.insert(id, later.strings[&id]);
            self.string_ids.push(id);
        }
        for &id in &later.stack_ids {
            if let Some(pcs) = later.stacks.remove(&id) {
                self.stacks.insert(id, pcs);
                self.stack_ids.push(id);
            }
        }
        for &pc in &later.pc_order {
            if let std::collections::hash_map::Entry::Vacant(v) = self.pcs.entry(pc) {
                v.insert(later.pcs[&pc]);
                self.pc_order.push(pc);
            }
        }
        // Log messages get the IDs one reader would have given them.
        let ids: Vec<u32> = later
            .inline
            .iter()
            .map(|&s| {
                let next = self.inline.len();
                let id = *self.inline_index.entry(s).or_insert(next);
                if id == next {
                    self.inline.push(s);
                }
                id as u32
            })
            .collect();
        for &(slot, i) in &later.logs {
            if let Some(e) = later.procs[slot].events.get_mut(i) {
                e.inline = ids.get(e.inline as usize).copied().unwrap_or(0);
            }
        }
        for mut p in later.procs {
            let slot = self.proc_index.get(&p.pid).copied();
            // The goroutine this reader left running on the P.
            let g = slot.map_or(0, |s| self.procs[s].last_g);
            for &i in &p.patch {
                if let Some(e) = p.events.get_mut(i) {
                    e.g = g;
                }
            }
            if !p.g_known {
                p.last_g = g;
            }
            match slot {
                Some(s) => {
                    let mine = &mut self.procs[s];
                    mine.events.append(p.events);
                    mine.last_g = p.last_g;
                }
                None => {
                    self.proc_index.insert(p.pid, self.procs.len());
                    self.procs.push(Proc { g_known: true, patch: Vec::new(), ..p });
                }
            }
        }
        self.cpu_samples.append(&mut later.cpu_samples);
        if later.ticks_per_sec != 0 {
            self.ticks_per_sec = later.ticks_per_sec;
        }
        self.timer_goids.extend(later.timer_goids);
        self.off = later.off;
        true
    }

    /// A string table entry: [ID, length, bytes].
    fn string(&mut self, at: usize) -> Result<(), TraceError> {
        let id = self.val(at)?;
        if id == 0 {
            return Err(TraceError::at("string has invalid id 0", at, None));
        }
        if self.strings.contains_key(&id) {
            return Err(TraceError::at(format!("string has duplicate id {id}"), at, None));
        }
        let len = self.val(at)?;
        if len == 0 {
            return Err(TraceError::at("string has invalid length 0", at, None));
        }
        if len > MAX_STRING {
            return Err(TraceError::at(format!("string has too large length {len}"), at, None));
        }
        let s = self.take(len, at)?;
        self.strings.insert(id, s);
        self.string_ids.push(id);
        Ok(())
    }

    /// Reads the arguments of an ordinary event into `self.args`, and the
    /// message of a UserLog (the only inline string) into `inline`.
    fn read_args(&mut self, typ: u8, narg: u8, at: usize) -> Result<(), TraceError> {
        self.args.clear();
        if narg <= 3 {
            for _ in 0..narg {
                let v = self.val(at)?;
                self.args.push(v);
            }
            return Ok(());
        }
        let len = self.val(at)?;
        if len > MAX_ARGS_BYTES {
            return Err(TraceError::at(
                format!("failed to read event {typ} argument: length-prefixed argument too big: {len} bytes, limit is {MAX_ARGS_BYTES}"),
                at,
                None,
            ));
        }
        let mut buf = self.take(len, at)?;
        while !buf.is_empty() {
            let Some((v, n)) = uvarint(buf) else { return Err(TraceError::at(MALFORMED, at, None)) };
            self.args.push(v);
            buf = &buf[n..];
        }
        if typ == ty::USER_LOG {
            let len = self.val(at)?;
            if len > MAX_STRING {
                return Err(TraceError::at(format!("string is too large (len={len})"), at, None));
            }
            let s = self.take(len, at)?;
            let next = self.inline.len();
            if next > u32::MAX as usize {
                return Err(TraceError::at("trace contains too many log messages", at, None));
            }
            let id = *self.inline_index.entry(s).or_insert(next);
            if id == next {
                self.inline.push(s);
            }
            // Kept past the arguments: `event` moves it to `inline`.
            self.args.push(id as u64);
        }
        Ok(())
    }

    fn event(&mut self, typ: u8, at: usize) -> Result<(), TraceError> {
        let Some(slot) = self.cur else {
            return Err(TraceError::at(
                format!("read event {typ} with current P of 0, but P has no batches yet"),
                at,
                None,
            ));
        };
        let desc = &DESCS[typ as usize];
        let inline = if typ == ty::USER_LOG { self.args.pop() } else { None };
        let want = match typ {
            ty::STACK => self.args.len(),
            ty::FREQUENCY | ty::TIMER_GOROUTINE => desc.nargs,
            _ => desc.nargs + usize::from(desc.stack) + 1,
        };
        if self.args.len() != want || (typ == ty::USER_LOG && inline.is_none()) {
            return Err(TraceError::at(
                format!("{} has wrong number of arguments: want {want}, got {}", desc.name, self.args.len()),
                at,
                None,
            ));
        }
        let a = &self.args;
        match typ {
            ty::FREQUENCY => {
                self.ticks_per_sec = a[0] as i64;
                if self.ticks_per_sec <= 0 {
                    return Err(TraceError::at("time stamps out of order (frequency <= 0)", at, None));
                }
            }
            ty::TIMER_GOROUTINE => {
                self.timer_goids.insert(a[0]);
            }
            ty::STACK => {
                if a.len() < 2 {
                    return Err(TraceError::at(
                        format!("EvStack has wrong number of arguments: want at least 2, got {}", a.len()),
                        at,
                        None,
                    ));
                }
                let size = a[1];
                if size > MAX_STACK_FRAMES {
                    return Err(TraceError::at(format!("EvStack has bad number of frames: {size}"), at, None));
                }
                let want = 2 + 4 * size as usize;
                if a.len() != want {
                    return Err(TraceError::at(
                        format!("EvStack has wrong number of arguments: want {want}, got {}", a.len()),
                        at,
                        None,
                    ));
                }
                let id = a[0] as u32;
                if id != 0 && size > 0 {
                    let mut pcs = Vec::with_capacity(size as usize);
                    for f in a[2..].chunks_exact(4) {
                        pcs.push(f[0]);
                        if let std::collections::hash_map::Entry::Vacant(v) = self.pcs.entry(f[0]) {
                            v.insert(OldFrame { func: f[1], file: f[2], line: f[3] });
                            self.pc_order.push(f[0]);
                        }
                    }
                    self.stacks.insert(id, pcs);
                    self.stack_ids.push(id);
                }
            }
            ty::CPU_SAMPLE => {
                // [ticks at write, ticks in the signal handler, P, G, stack]:
                // samples are written late, so they are timed by the second.
                self.cpu_samples.push(OldEvent {
                    ts: a[1] as i64,
                    g: a[3],
                    args: [0, a[2], a[3]],
                    stk: a[4] as u32,
                    p: a[2] as i32,
                    inline: 0,
                    typ,
                    at,
                });
            }
            _ => {
                let proc = &mut self.procs[slot];
                let ts = proc.last_ts.wrapping_add(a[0] as i64);
                proc.last_ts = ts;
                let mut e = OldEvent { ts, g: proc.last_g, ..OldEvent::default() };
                (e.p, e.typ, e.at) = (proc.pid, typ, at);
                let n = a.len();
                for (i, &v) in a.iter().enumerate().skip(1) {
                    if i == n - 1 && desc.stack {
                        e.stk = v as u32;
                    } else {
                        e.args[i - 1] = v;
                    }
                }
                let g_from_p = !matches!(
                    typ,
                    ty::GO_START
                        | ty::GO_START_LOCAL
                        | ty::GO_START_LABEL
                        | ty::GO_SYS_EXIT
                        | ty::GO_WAITING
                        | ty::GO_IN_SYSCALL
                );
                if g_from_p && !proc.g_known {
                    proc.patch.push(proc.events.len());
                }
                match typ {
                    ty::GO_START | ty::GO_START_LOCAL | ty::GO_START_LABEL => {
                        proc.last_g = e.args[0];
                        proc.g_known = true;
                        e.g = e.args[0];
                    }
                    ty::GO_END | ty::GO_STOP | ty::GO_SCHED | ty::GO_PREEMPT | ty::GO_SYS_BLOCK => {
                        proc.last_g = 0;
                        proc.g_known = true;
                    }
                    t if blocks(t) => {
                        proc.last_g = 0;
                        proc.g_known = true;
                    }
                    ty::GO_SYS_EXIT | ty::GO_WAITING | ty::GO_IN_SYSCALL => e.g = e.args[0],
                    ty::USER_LOG => {
                        e.inline = inline.unwrap_or(0) as u32;
                        self.logs.push((slot, proc.events.len()));
                    }
                    _ => {}
                }
                proc.events.push(e);
            }
        }
        Ok(())
    }
}

pub(super) const G_DEAD: u8 = 0;
pub(super) const G_RUNNABLE: u8 = 1;
pub(super) const G_RUNNING: u8 = 2;
pub(super) const G_WAITING: u8 = 3;

/// Begins (`begin`) or ends the range `open` says is in progress.
fn range_flag(open: &mut bool, begin: bool, what: &str, e: &OldEvent) -> Result<(), TraceError> {
    let ts = e.ts;
    match (begin, *open) {
        (true, true) => {
            Err(TraceError::at(format!("previous {what} is not ended before a new one (time {ts})"), e.at, None))
        }
        (false, false) => Err(TraceError::at(format!("bogus {what} end (time {ts})"), e.at, None)),
        _ => {
            *open = begin;
            Ok(())
        }
    }
}

/// Go's postProcessTrace: the merged stream must be consistent (a P runs one
/// goroutine at a time, a goroutine blocks before it is unblocked, ...).
/// On the way it moves GC starts and network wakeups to their pseudo-Ps and
/// drops references to stacks that do not exist, after `to_ns` gives each
/// event its time in nanoseconds. Returns which GoSysCalls blocked (see
/// [`OldTrace::blocked`]).
fn check(
    events: &mut Ordered,
    stacks: &FxHashMap<u32, Vec<u64>>,
    to_ns: impl Fn(&mut OldEvent),
) -> Result<Vec<u64>, TraceError> {
    #[derive(Clone, Copy, Default)]
    struct G {
        state: u8,
        /// Type of the event that last changed its state (0: none).
        last: u8,
        created_stack: Option<u64>,
        assist: bool,
    }
    #[derive(Clone, Copy, Default)]
    struct P {
        running: bool,
        g: u64,
        sweep: bool,
    }
    // Goroutine and P IDs are small: dense indexes, no hashing.
    let mut gs: IdSlab<G> = IdSlab::default();
    let mut ps: IdSlab<P> = IdSlab::default();
    let mut tasks: FxHashSet<u64> = FxHashSet::default();
    let mut regions: FxHashMap<u64, Vec<(u64, u64)>> = FxHashMap::default();
    gs.insert(0, G { state: G_RUNNING, ..G::default() });
    let (mut in_gc, mut in_stw) = (false, false);
    // Per goroutine, the position of its last event if that is a GoSysCall.
    let mut syscall: IdSlab<usize> = IdSlab::default();
    let mut blocked = vec![0u64; events.len().div_ceil(64)];
    let mut pos = 0;
    events.walk(false, |e| {
        to_ns(e);
        if let Some(s) = syscall.slot(e.g as i64) {
            let at = *syscall.at(s);
            if at != usize::MAX && e.typ == ty::GO_SYS_BLOCK {
                blocked[at / 64] |= 1 << (at % 64);
            }
            *syscall.at(s) = if e.typ == ty::GO_SYSCALL { pos } else { usize::MAX };
        } else if e.typ == ty::GO_SYSCALL {
            syscall.insert(e.g as i64, pos);
        }
        pos += 1;
        let name = DESCS[e.typ as usize].name;
        let err = |m: String| Err(TraceError::at(m, e.at, None));
        let running = |p: &P, g: &G, e: &OldEvent, allow_g0: bool| -> Result<(), TraceError> {
            let name = DESCS[e.typ as usize].name;
            if g.state != G_RUNNING {
                return Err(TraceError::at(
                    format!("g {} is not running while {name} (time {})", e.g, e.ts),
                    e.at,
                    None,
                ));
            }
            if p.g != e.g {
                return Err(TraceError::at(
                    format!("p {} is not running g {} while {name} (time {})", e.p, e.g, e.ts),
                    e.at,
                    None,
                ));
            }
            if !allow_g0 && e.g == 0 {
                return Err(TraceError::at(format!("g 0 did {name} (time {})", e.ts), e.at, None));
            }
            Ok(())
        };
        let ts = e.ts;
        match e.typ {
            ty::PROC_START => {
                let p = entry(&mut ps, pkey(e.p));
                if p.running {
                    return err(format!("p {} is running before start (time {ts})", e.p));
                }
                p.running = true;
            }
            ty::PROC_STOP => {
                let p = entry(&mut ps, pkey(e.p));
                if !p.running {
                    return err(format!("p {} is not running before stop (time {ts})", e.p));
                }
                if p.g != 0 {
                    return err(format!("p {} is running a goroutine {} during stop (time {ts})", e.p, p.g));
                }
                p.running = false;
            }
            // Ranges that must end before they begin again.
            ty::GC_START | ty::GC_DONE => {
                range_flag(&mut in_gc, e.typ == ty::GC_START, "GC", e)?;
                if e.typ == ty::GC_START {
                    e.p = GC_P;
                }
            }
            ty::STW_START | ty::STW_DONE => range_flag(&mut in_stw, e.typ == ty::STW_START, "STW", e)?,
            ty::GC_SWEEP_START | ty::GC_SWEEP_DONE => {
                let on = e.typ == ty::GC_SWEEP_START;
                range_flag(&mut entry(&mut ps, pkey(e.p)).sweep, on, "sweeping", e)?;
            }
            ty::GC_MARK_ASSIST_START => {
                let g = entry(&mut gs, e.g as i64);
                if g.assist {
                    return err(format!("previous mark assist is not ended before a new one (time {ts})"));
                }
                g.assist = true;
            }
            ty::GC_MARK_ASSIST_DONE => {
                // An assist may be under way when tracing starts.
                entry(&mut gs, e.g as i64).assist = false;
            }
            ty::GO_WAITING | ty::GO_IN_SYSCALL => {
                let g = entry(&mut gs, e.g as i64);
                if g.state != G_RUNNABLE {
                    return err(format!("g {} is not runnable before Ev{name} (time {ts})", e.g));
                }
                g.state = G_WAITING;
                g.last = e.typ;
            }
            ty::GO_CREATE => {
                let g = gs.get(e.g as i64).copied().unwrap_or_default();
                let p = ps.get(pkey(e.p)).copied().unwrap_or_default();
                running(&p, &g, e, true)?;
                if gs.contains(e.args[0] as i64) {
                    return err(format!("g {} already exists (time {ts})", e.args[0]));
                }
                let new = G { state: G_RUNNABLE, last: e.typ, created_stack: Some(e.args[1]), ..G::default() };
                gs.insert(e.args[0] as i64, new);
            }
            ty::GO_START | ty::GO_START_LABEL => {
                let g = entry(&mut gs, e.g as i64);
                let p = entry(&mut ps, pkey(e.p));
                if g.state != G_RUNNABLE {
                    return err(format!("g {} is not runnable before start (time {ts})", e.g));
                }
                if p.g != 0 {
                    return err(format!("p {} is already running g {} while start g {} (time {ts})", e.p, p.g, e.g));
                }
                g.state = G_RUNNING;
                p.g = e.g;
                if let Some(s) = g.created_stack.take() {
                    e.stk = s as u32;
                }
                g.last = 0;
            }
            ty::GO_END | ty::GO_STOP | ty::GO_SCHED | ty::GO_PREEMPT => {
                let mut g = gs.get(e.g as i64).copied().unwrap_or_default();
                let mut p = ps.get(pkey(e.p)).copied().unwrap_or_default();
                running(&p, &g, e, false)?;
                p.g = 0;
                if matches!(e.typ, ty::GO_END | ty::GO_STOP) {
                    g.state = G_DEAD;
                    if e.typ == ty::GO_END {
                        regions.remove(&e.g);
                    }
                } else {
                    g.state = G_RUNNABLE;
                    g.last = e.typ;
                }
                gs.insert(e.g as i64, g);
                ps.insert(pkey(e.p), p);
            }
            ty::GO_UNBLOCK => {
                let g = gs.get(e.g as i64).copied().unwrap_or_default();
                let p = ps.get(pkey(e.p)).copied().unwrap_or_default();
                if g.state != G_RUNNING {
                    return err(format!("g {} is not running while unpark (time {ts})", e.g));
                }
                if e.p != TIMER_P && p.g != e.g {
                    return err(format!("p {} is not running g {} while unpark (time {ts})", e.p, e.g));
                }
                let g1 = entry(&mut gs, e.args[0] as i64);
                if g1.state != G_WAITING {
                    return err(format!("g {} is not waiting before unpark (time {ts})", e.args[0]));
                }
                if g1.last == ty::GO_BLOCK_NET {
                    e.p = NETPOLL_P;
                }
                g1.state = G_RUNNABLE;
                g1.last = e.typ;
            }
            ty::GO_SYSCALL => {
                let g = gs.get(e.g as i64).copied().unwrap_or_default();
                let p = ps.get(pkey(e.p)).copied().unwrap_or_default();
                running(&p, &g, e, false)?;
                entry(&mut gs, e.g as i64).last = e.typ;
            }
            ty::GO_SYS_BLOCK => {
                let mut g = gs.get(e.g as i64).copied().unwrap_or_default();
                let mut p = ps.get(pkey(e.p)).copied().unwrap_or_default();
                running(&p, &g, e, false)?;
                g.state = G_WAITING;
                p.g = 0;
                gs.insert(e.g as i64, g);
                ps.insert(pkey(e.p), p);
            }
            ty::GO_SYS_EXIT => {
                let g = entry(&mut gs, e.g as i64);
                if g.state != G_WAITING {
                    return err(format!("g {} is not waiting during syscall exit (time {ts})", e.g));
                }
                g.state = G_RUNNABLE;
                g.last = e.typ;
            }
            t if blocks(t) => {
                let mut g = gs.get(e.g as i64).copied().unwrap_or_default();
                let mut p = ps.get(pkey(e.p)).copied().unwrap_or_default();
                running(&p, &g, e, false)?;
                g.state = G_WAITING;
                g.last = e.typ;
                p.g = 0;
                gs.insert(e.g as i64, g);
                ps.insert(pkey(e.p), p);
            }
            // A task ID is taken until the task ends.
            ty::USER_TASK_CREATE if !tasks.insert(e.args[0]) => {
                return err(format!("task id conflicts (id:{})", e.args[0]));
            }
            ty::USER_TASK_END => {
                tasks.remove(&e.args[0]);
            }
            ty::USER_REGION => {
                let key = (e.args[0], e.args[2]);
                match e.args[1] {
                    0 => regions.entry(e.g).or_default().push(key),
                    1 => {
                        if let Some(open) = regions.get_mut(&e.g) {
                            if open.last().is_some_and(|&last| last != key) {
                                return err(format!(
                                    "misuse of region in goroutine {}: span end when the inner-most active span start event is different",
                                    e.g
                                ));
                            }
                            open.pop();
                            if open.is_empty() {
                                regions.remove(&e.g);
                            }
                        }
                    }
                    m => return err(format!("invalid user region mode: {m}")),
                }
            }
            _ => {}
        }
        // Events must not name stacks that do not exist or have no frames.
        if e.stk != 0 && !stacks.contains_key(&e.stk) {
            e.stk = 0;
        }
        Ok(true)
    })?;
    Ok(blocked)
}

/// The item of `id` in `m`, inserted as the default if missing.
fn entry<T: Default>(m: &mut IdSlab<T>, id: i64) -> &mut T {
    let slot = match m.slot(id) {
        Some(s) => s,
        None => m.insert(id, T::default()),
    };
    m.at(slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything `parse` gives, as text.
    fn parsed(data: &[u8], threads: usize) -> String {
        let mut tr = crate::threads::with(Some(threads), || parse(data, 21)).expect("parses");
        let mut out = format!(
            "{:?} {:?} {} {:?}\n",
            tr.blocked,
            tr.inline_strings,
            tr.ticks_per_sec,
            tr.stacks.iter().collect::<Vec<_>>()
        );
        out += &format!("{:?} {:?}\n", tr.strings.iter().collect::<Vec<_>>(), tr.pcs.keys().collect::<Vec<_>>());
        let _ = tr.events.walk(false, |e| {
            out += &format!("{e:?}\n");
            Ok::<_, ()>(true)
        });
        out
    }

    #[test]
    fn parts_read_as_one_reader_does() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/traces/v1");
        let data = std::fs::read(dir.join("stress_1_21_good.trace")).expect("corpus trace");
        assert!(data.len() > 4 * PART_BYTES, "{} bytes: too small to cut", data.len());
        let one = parsed(&data, 1);
        for threads in [2, 3, 5] {
            assert!(read_parts(&data, 21, threads).is_some(), "{threads} parts do not join");
            assert!(parsed(&data, threads) == one, "{threads} threads");
        }
    }
}
