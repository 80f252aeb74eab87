//! The merge of the old per-P event streams into one stream, the way Go's
//! `internal/trace/internal/tracev1` orders them: the earliest event whose
//! goroutine is in the state it needs goes next (sequence numbers first,
//! time only breaks ties); then syscall exits move to the time the syscall
//! really returned, as a stable sort by time would place them.
//!
//! Events live in chunks from the read to the conversion: appending never
//! moves what is there, the merge records where each event is rather than
//! copying it, and each chunk is freed once converted, so the events are
//! held once.

use super::parser::{blocks, ty, OldEvent, G_DEAD, G_RUNNABLE, G_RUNNING, G_WAITING};
use crate::idmap::IdSlab;
use crate::order::{ORDER_WORK_BASE, ORDER_WORK_PER_BYTE};
use crate::TraceError;

/// Largest chunk of a P's stream (a power of two: an event's place is its
/// chunk and offset in one u32).
const CHUNK_SHIFT: u32 = 14;
const STREAM_CHUNK: usize = 1 << CHUNK_SHIFT;

/// One P's events in file order, and how far the merge has taken them.
#[derive(Default)]
pub struct Stream {
    chunks: Vec<Vec<OldEvent>>,
    /// The next event to merge: chunk and offset.
    next: (usize, usize),
    len: usize,
}

impl Stream {
    pub fn push(&mut self, e: OldEvent) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < c.capacity() => c.push(e),
            _ => {
                // Small for the Ps with few events, up to STREAM_CHUNK.
                let mut c = Vec::with_capacity(self.len.clamp(64, STREAM_CHUNK));
                c.push(e);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn get_mut(&mut self, mut i: usize) -> Option<&mut OldEvent> {
        for c in &mut self.chunks {
            if i < c.len() {
                return c.get_mut(i);
            }
            i -= c.len();
        }
        None
    }

    /// Appends the events of `later` (not yet merged).
    pub fn append(&mut self, mut later: Stream) {
        self.len += later.len;
        self.chunks.append(&mut later.chunks);
    }

    fn front(&self) -> Option<&OldEvent> {
        self.chunks.get(self.next.0).and_then(|c| c.get(self.next.1))
    }

    /// The place of the front event, which the merge takes (None: there is
    /// none, or it is past what a place can name).
    fn take_front(&mut self) -> Option<u32> {
        let (k, off) = self.next;
        let len = self.chunks.get(k)?.len();
        if off >= len {
            return None;
        }
        self.next = if off + 1 == len { (k + 1, 0) } else { (k, off + 1) };
        u32::try_from(k).ok().filter(|&k| k < 1 << (32 - CHUNK_SHIFT)).map(|k| k << CHUNK_SHIFT | off as u32)
    }

    fn at(&self, place: u32) -> &OldEvent {
        &self.chunks[(place >> CHUNK_SHIFT) as usize][(place as usize) & (STREAM_CHUNK - 1)]
    }

    fn at_mut(&mut self, place: u32) -> &mut OldEvent {
        &mut self.chunks[(place >> CHUNK_SHIFT) as usize][(place as usize) & (STREAM_CHUNK - 1)]
    }
}

impl From<Vec<OldEvent>> for Stream {
    fn from(events: Vec<OldEvent>) -> Self {
        let len = events.len();
        Stream { chunks: events.chunks(STREAM_CHUNK).map(<[OldEvent]>::to_vec).collect(), next: (0, 0), len }
    }
}

/// The merged, time-ordered events: the streams, the place of each event
/// in merge order, where syscall exits that moved in time are left as holes
/// (type NONE), and the moved exits with the position in the merge order
/// they go before.
#[derive(Default)]
pub struct Ordered {
    streams: Vec<Stream>,
    /// (stream, place in it), in merge order.
    order: Vec<(u32, u32)>,
    /// (position, event), in final order.
    moved: Vec<(usize, OldEvent)>,
}

impl Ordered {
    /// The event at merge position `pos`.
    fn at(&self, pos: usize) -> &OldEvent {
        let (s, place) = self.order[pos];
        self.streams[s as usize].at(place)
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The first event, in final order.
    pub fn first(&self) -> Option<&OldEvent> {
        let kept = (0..self.len()).find(|&p| self.at(p).typ != ty::NONE);
        match (kept, self.moved.first()) {
            (Some(p), Some((q, m))) => Some(if *q <= p { m } else { self.at(p) }),
            (Some(p), None) => Some(self.at(p)),
            (None, m) => m.map(|(_, e)| e),
        }
    }

    /// Calls `f` on every event in final order until it returns false or an
    /// error; `free` frees every chunk once passed.
    pub fn walk<E>(&mut self, free: bool, mut f: impl FnMut(&mut OldEvent) -> Result<bool, E>) -> Result<(), E> {
        let mut m = 0;
        let moved = &mut self.moved;
        for (pos, &(s, place)) in self.order.iter().enumerate() {
            while m < moved.len() && moved[m].0 == pos {
                if !f(&mut moved[m].1)? {
                    return Ok(());
                }
                m += 1;
            }
            let stream = &mut self.streams[s as usize];
            let e = stream.at_mut(place);
            if e.typ != ty::NONE && !f(e)? {
                return Ok(());
            }
            // A stream's events come in its order: its chunk is done.
            let (k, off) = ((place >> CHUNK_SHIFT) as usize, (place as usize) & (STREAM_CHUNK - 1));
            if free && off + 1 == stream.chunks[k].len() {
                stream.chunks[k] = Vec::new();
            }
        }
        for (_, e) in &mut moved[m..] {
            if !f(e)? {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// A goroutine's place in the merge: its sequence number and status.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct GSeq {
    seq: u64,
    status: u8,
}

/// Keys and sequence values with a meaning of their own.
const UNORDERED: u64 = u64::MAX;
const GARBAGE: u64 = u64::MAX - 1;
const NOSEQ: u64 = u64::MAX;
const SEQINC: u64 = u64::MAX - 1;

/// What must hold before an event merges and what holds after: (goroutine or
/// UNORDERED/GARBAGE, required state, next state). GC starts are ordered by
/// their own sequence; "Local" events by their P alone.
fn transition_of(e: &OldEvent) -> (u64, GSeq, GSeq) {
    let s = |seq, status| GSeq { seq, status };
    let a = e.args;
    match e.typ {
        ty::GO_CREATE => (a[0], s(0, G_DEAD), s(1, G_RUNNABLE)),
        ty::GO_WAITING | ty::GO_IN_SYSCALL => (e.g, s(1, G_RUNNABLE), s(2, G_WAITING)),
        ty::GO_START | ty::GO_START_LABEL => (e.g, s(a[1], G_RUNNABLE), s(a[1].wrapping_add(1), G_RUNNING)),
        ty::GO_START_LOCAL => (e.g, s(NOSEQ, G_RUNNABLE), s(SEQINC, G_RUNNING)),
        t if blocks(t) || t == ty::GO_SYS_BLOCK => (e.g, s(NOSEQ, G_RUNNING), s(NOSEQ, G_WAITING)),
        ty::GO_SCHED | ty::GO_PREEMPT => (e.g, s(NOSEQ, G_RUNNING), s(NOSEQ, G_RUNNABLE)),
        ty::GO_UNBLOCK | ty::GO_SYS_EXIT => (a[0], s(a[1], G_WAITING), s(a[1].wrapping_add(1), G_RUNNABLE)),
        ty::GO_UNBLOCK_LOCAL | ty::GO_SYS_EXIT_LOCAL => (a[0], s(NOSEQ, G_WAITING), s(SEQINC, G_RUNNABLE)),
        ty::GC_START => (GARBAGE, s(a[0], G_DEAD), s(a[0].wrapping_add(1), G_DEAD)),
        _ => (UNORDERED, GSeq::default(), GSeq::default()),
    }
}

fn ready(g: u64, cur: GSeq, init: GSeq) -> bool {
    g == UNORDERED || ((init.seq == NOSEQ || init.seq == cur.seq) && init.status == cur.status)
}

/// Merges the per-P streams (and the CPU samples, sorted by time, as one more
/// stream): the earliest event whose goroutine is in the state it needs goes
/// next. Then syscall exits move to the time the syscall really returned.
pub fn merge(mut streams: Vec<Stream>, mut samples: Vec<OldEvent>, input_len: usize) -> Result<Ordered, TraceError> {
    // Go's slices.SortFunc: equal times keep Go's (unstable) order.
    crate::pdqsort::sort_by_time(&mut samples, |e| e.ts);
    streams.push(Stream::from(samples));
    let mut available: Vec<usize> = (0..streams.len()).collect();
    // A min-heap by time of (time, stream); each stream has at most one entry.
    let mut frontier: Vec<(i64, usize)> = Vec::new();
    // Goroutine IDs count up from 1: mostly a dense index, no hashing.
    let mut gs: IdSlab<GSeq> = IdSlab::default();
    let mut order = Vec::with_capacity(streams.iter().map(Stream::len).sum());
    let mut sorted = true;
    let mut last_ts = i64::MIN;
    // Syscall exits are retimed as they merge; the first error of that
    // step counts only once the merge itself has succeeded.
    let mut exits = Exits::default();
    let mut retime_error = None;
    // Streams blocked on each other are scanned again after every merged
    // event: hostile input can make that quadratic, so it has a budget.
    let budget = ORDER_WORK_BASE.saturating_add(ORDER_WORK_PER_BYTE.saturating_mul(input_len as u64));
    let mut work = 0u64;
    loop {
        let mut i = 0;
        while i < available.len() {
            let s = available[i];
            let Some(e) = streams[s].front() else {
                available.swap_remove(i);
                continue;
            };
            let (g, init, _) = transition_of(e);
            if g != UNORDERED && !ready(g, gs.get(g as i64).copied().unwrap_or_default(), init) {
                work += 1;
                i += 1;
                continue;
            }
            frontier.push((e.ts, s));
            heap_up(&mut frontier);
            available.swap_remove(i);
        }
        if work > budget {
            return Err(TraceError::at(
                format!("broken trace: events of {} Ps keep waiting on each other; giving up", available.len()),
                input_len,
                None,
            ));
        }
        let Some((_, s)) = heap_pop(&mut frontier) else {
            if let Some(e) = available.iter().find_map(|&s| streams[s].front()) {
                return Err(TraceError::at("no consistent ordering of events possible", e.at, None));
            }
            break;
        };
        let (Some(place), Ok(s32)) = (streams[s].take_front(), u32::try_from(s)) else {
            return Err(TraceError::at("trace too large: a P has more events than a place can name", input_len, None));
        };
        let e = streams[s].at_mut(place);
        let (g, init, mut next) = transition_of(e);
        // The "Local" variants only helped ordering.
        e.typ = match e.typ {
            ty::GO_START_LOCAL => ty::GO_START,
            ty::GO_UNBLOCK_LOCAL => ty::GO_UNBLOCK,
            ty::GO_SYS_EXIT_LOCAL => ty::GO_SYS_EXIT,
            t => t,
        };
        if g != UNORDERED {
            let cur = gs.get(g as i64).copied().unwrap_or_default();
            if !ready(g, cur, init) {
                return Err(TraceError::at("encountered impossible goroutine state transition", e.at, None));
            }
            next.seq = match next.seq {
                NOSEQ => cur.seq,
                SEQINC => cur.seq.wrapping_add(1),
                n => n,
            };
            gs.insert(g as i64, next);
        }
        sorted &= e.ts >= last_ts;
        last_ts = e.ts;
        if retime_error.is_none() {
            retime_error = exits.see(e, order.len()).err();
        }
        order.push((s32, place));
        available.push(s);
    }
    if !sorted {
        return Err(TraceError::at("time stamps out of order", input_len, None));
    }
    if let Some(err) = retime_error {
        return Err(err);
    }
    let mut out = Ordered { streams, order, moved: Vec::new() };
    exits.place(&mut out);
    Ok(out)
}

/// A syscall exit is written when the goroutine runs again; its third
/// argument is when the syscall returned (the GoSysExitLocal form has it in
/// the second, which Go does not use). The exits that move are placed as a
/// stable sort of the whole stream by time would place them.
#[derive(Default)]
struct Exits {
    /// Goroutine -> time of its last GoSysBlock or GoInSyscall.
    last_block: IdSlab<i64>,
    /// (position in the merge output, the exit at its new time).
    moved: Vec<(usize, OldEvent)>,
}

impl Exits {
    /// Sees event `e` merged at `pos`; a moved exit leaves a hole there.
    fn see(&mut self, e: &mut OldEvent, pos: usize) -> Result<(), TraceError> {
        match e.typ {
            ty::GO_SYS_BLOCK | ty::GO_IN_SYSCALL => {
                self.last_block.insert(e.g as i64, e.ts);
            }
            ty::GO_SYS_EXIT => {
                let ts = e.args[2] as i64;
                if ts == 0 {
                    return Ok(());
                }
                let block = self.last_block.get(e.g as i64).copied().unwrap_or(0);
                if block == 0 {
                    return Err(TraceError::at("stray syscall exit", e.at, None));
                }
                if ts < block {
                    return Err(TraceError::at("time stamps out of order (syscall exit before its block)", e.at, None));
                }
                if ts != e.ts {
                    self.moved.push((pos, OldEvent { ts, ..*e }));
                    e.typ = ty::NONE;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Gives `out` the moved exits, each before the first event of the merge
    /// output that sorts after it by (time, position): the merge output is
    /// sorted so, holes included.
    fn place(mut self, out: &mut Ordered) {
        // Sorted by (new time, old position): what a stable sort keeps.
        self.moved.sort_unstable_by_key(|(pos, e)| (e.ts, *pos));
        let n = out.len();
        for (pos, e) in &mut self.moved {
            let key = (e.ts, *pos);
            let (mut lo, mut hi) = (0, n);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if (out.at(mid).ts, mid) < key {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            *pos = lo;
        }
        out.moved = self.moved;
    }
}

/// Go's container/heap push (sift up the last element) by time.
fn heap_up(h: &mut [(i64, usize)]) {
    let mut j = h.len() - 1;
    while j > 0 {
        let i = (j - 1) / 2;
        if h[j].0 >= h[i].0 {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

/// Go's container/heap pop: the root swaps with the last, sifts down, and the
/// last is removed.
fn heap_pop(h: &mut Vec<(i64, usize)>) -> Option<(i64, usize)> {
    let n = h.len().checked_sub(1)?;
    h.swap(0, n);
    let mut i = 0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        if j1 + 1 < n && h[j1 + 1].0 < h[j1].0 {
            j = j1 + 1;
        }
        if h[j].0 >= h[i].0 {
            break;
        }
        h.swap(i, j);
        i = j;
    }
    h.pop()
}
