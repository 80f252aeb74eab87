//! The sequential part of cmd/trace's blocking profiles (`cmd/trace/pprof.go`):
//! the intervals each goroutine spends in the profiled state, in event order,
//! and each goroutine's first run and end (the Summarizer's `StartTime` and
//! `EndTime`, which bound the time that counts). These few Summarizer fields
//! are kept here so that a profile does not need the whole summary
//! (`summary.rs`); the region filters do use it.
//!
//! The pass runs over a parsed events table ([`samples`]) or, as a
//! [`Pass`], over the batches of a streaming parse ([`crate::parse_stream`]).
//! The overlaps, the grouping by stack and the pprof encoding are vectorised
//! on the Python side.

use crate::build::EventBatches;
use crate::evtable::{cols, scan, st, Classes, Ev, Kind};
use crate::idmap::IdMap;
use crate::model::resource;
use arrow_array::RecordBatch;

/// Reason classes (bit flags) for the profile filters.
pub const REASON_NETWORK: u8 = 1;
pub const REASON_SYNC: u8 = 2;
pub const REASON_FOREVER: u8 = 4;

struct ProfileClasses;

impl Classes for ProfileClasses {
    fn reason(&self, s: &str) -> u8 {
        let mut c = 0;
        if s == "network" {
            c |= REASON_NETWORK;
        }
        if s.contains("chan") || s.contains("sync") || s.contains("select") {
            c |= REASON_SYNC;
        }
        if s == "forever" {
            c |= REASON_FOREVER;
        }
        c
    }
    fn name(&self, _s: &str) -> u8 {
        0
    }
}

/// Which profile: the state it measures and the reasons that start tracking.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProfileKind {
    /// Waiting for reason "network".
    Net,
    /// Waiting for a reason containing "chan", "sync" or "select".
    Sync,
    /// Syscall, any reason.
    Syscall,
    /// Runnable, any reason.
    Sched,
}

impl ProfileKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "net" => Some(Self::Net),
            "sync" => Some(Self::Sync),
            "syscall" => Some(Self::Syscall),
            "sched" => Some(Self::Sched),
            _ => None,
        }
    }
    fn state(self) -> u8 {
        match self {
            Self::Net | Self::Sync => st::WAITING,
            Self::Syscall => st::SYSCALL,
            Self::Sched => st::RUNNABLE,
        }
    }
    fn tracks(self, reason: u8) -> bool {
        match self {
            Self::Net => reason & REASON_NETWORK != 0,
            Self::Sync => reason & REASON_SYNC != 0,
            Self::Syscall | Self::Sched => true,
        }
    }
}

/// Every interval one goroutine spent in one profile's state, in the order
/// cmd/trace records them (the order of the events that end them).
#[derive(Default, Debug)]
pub struct Samples {
    /// The goroutine's row in [`Goroutines`] (its ID's last lifetime, which
    /// is the one cmd/trace matches the interval against); -1: none.
    pub row: Vec<i32>,
    /// Time of the event that started tracking.
    pub start: Vec<i64>,
    /// Time of the event that left the state.
    pub end: Vec<i64>,
    /// `Stack()` of the starting event; -1 is NoStack.
    pub stack: Vec<i32>,
}

impl Samples {
    /// Samples with room for `n` (see [`crate::room`]).
    fn with_room(n: usize) -> Self {
        let mut s = Samples::default();
        crate::room(&mut s.row, n);
        crate::room(&mut s.start, n);
        crate::room(&mut s.end, n);
        crate::room(&mut s.stack, n);
        s
    }
}

/// `GoroutineSummary` fields of each goroutine ID's last lifetime (a new
/// lifetime of an ID replaces its summary, as in Go's map).
#[derive(Default, Debug)]
pub struct Goroutines {
    pub goid: Vec<i64>,
    /// `StartTime`: first time it ran; 0 if it never ran.
    pub start_time: Vec<i64>,
    /// `EndTime`: when it exited or blocked forever; 0 if neither.
    pub end_time: Vec<i64>,
    /// The transition stack whose outermost frame named it; -1: unnamed.
    pub name_stack: Vec<i32>,
}

/// Options that reproduce older cmd/trace releases.
#[derive(Clone, Copy, Default, Debug)]
pub struct ProfileCompat {
    /// Go 1.22–1.25: transitions whose event has no stack are skipped entirely
    /// (they neither start nor end tracking).
    pub skip_no_stack: bool,
}

/// Per goroutine ID: the Summarizer fields and, per profile, the tracked start.
#[derive(Clone, Copy)]
struct G {
    start: i64,
    end: i64,
    name_stack: i32,
    /// Summarizer entry made (Go creates it on the first state change).
    summarized: bool,
    /// Time and stack of the event that started tracking, per profile (kept
    /// apart: no padding in a record held per goroutine); NOT_TRACKED: not.
    since: [i64; 4],
    since_stack: [i32; 4],
}

const NOT_TRACKED: i64 = i64::MIN;

/// Per-goroutine state in order of first sight, found by ID.
struct Slots<T> {
    ids: IdMap,
    items: Vec<(i64, T)>,
}

impl<T> Slots<T> {
    fn new() -> Self {
        Slots { ids: IdMap::default(), items: Vec::new() }
    }

    /// The item of `id` (made if new) and its slot.
    fn get_or_insert_with(&mut self, id: i64, make: impl FnOnce() -> T) -> (u32, &mut T) {
        let slot = match self.ids.get(id) {
            Some(slot) => slot,
            None => {
                self.ids.insert(id, self.items.len());
                self.items.push((id, make()));
                self.items.len() - 1
            }
        };
        (slot as u32, &mut self.items[slot].1)
    }
}

/// The intervals of `makeComputePprofFunc` for each of `kinds` (a goroutine is
/// tracked from the first transition into the state with a matching reason
/// until the first transition out of it), all in one pass, and the goroutine
/// fields of the Summarizer that `pprofMatchingGoroutines` uses.
/// `namable[s]` says whether stack `s` names a goroutine (it has frames and an
/// outermost function).
pub fn samples(
    batches: &[RecordBatch],
    kinds: &[ProfileKind],
    compat: ProfileCompat,
    namable: &[bool],
) -> Result<(Vec<Samples>, Goroutines), String> {
    let mut pass = Pass::new(kinds, compat)?;
    // Room for the most intervals there can be (one per event).
    let events = batches.iter().map(RecordBatch::num_rows).sum();
    pass.out = kinds.iter().map(|_| Samples::with_room(events)).collect();
    pass.feed(batches, namable)?;
    pass.finish()
}

/// [`samples`] as a state machine over the events, fed their record batches
/// in order: a streaming parse hands it each batch and drops it
/// ([`crate::build::EventBatches`]).
pub struct Pass {
    kinds: Vec<ProfileKind>,
    states: Vec<u8>,
    compat: ProfileCompat,
    gs: Slots<G>,
    out: Vec<Samples>,
    /// The first error of a batch fed by a streaming parse.
    error: Option<String>,
}

impl Pass {
    pub fn new(kinds: &[ProfileKind], compat: ProfileCompat) -> Result<Self, String> {
        if kinds.len() > 4 {
            return Err("at most four profiles per pass".into());
        }
        Ok(Pass {
            kinds: kinds.to_vec(),
            states: kinds.iter().map(|k| k.state()).collect(),
            compat,
            gs: Slots::new(),
            out: kinds.iter().map(|_| Samples::default()).collect(),
            error: None,
        })
    }

    /// The next events, in order; `namable` as for [`samples`] (covering at
    /// least the transition stacks of these events).
    pub fn feed(&mut self, batches: &[RecordBatch], namable: &[bool]) -> Result<(), String> {
        let Pass { kinds, states, compat, gs, out, .. } = self;
        let columns =
            cols::RESOURCE | cols::RESOURCE_ID | cols::FROM | cols::TO | cols::REASON | cols::STACK | cols::TSTACK;
        scan(batches, &ProfileClasses, columns, None, |ev: &Ev| {
            if ev.kind != Kind::StateTransition || ev.resource != resource::GOROUTINE {
                return;
            }
            let id = ev.resource_id;
            let (slot, g) = gs.get_or_insert_with(id, || G {
                start: 0,
                end: 0,
                name_stack: -1,
                summarized: false,
                since: [NOT_TRACKED; 4],
                since_stack: [-1; 4],
            });
            // The Summarizer sees every transition that changes the state, and
            // starts a new summary for a goroutine coming out of Undetermined or
            // NotExist (a reused ID loses its old one).
            if ev.from != ev.to {
                if ev.from == st::UNDETERMINED || ev.from == st::NOT_EXIST || !g.summarized {
                    g.start = 0;
                    g.end = 0;
                    g.name_stack = -1;
                    g.summarized = true;
                }
                if g.name_stack < 0 && ev.tstack >= 0 && namable.get(ev.tstack as usize).copied().unwrap_or(false) {
                    g.name_stack = ev.tstack;
                }
                match ev.to {
                    st::RUNNING if g.start == 0 => g.start = ev.ts,
                    st::NOT_EXIST => g.end = ev.ts,
                    st::WAITING if ev.reason & REASON_FOREVER != 0 => g.end = ev.ts,
                    _ => {}
                }
            }

            if compat.skip_no_stack && ev.stack < 0 {
                return;
            }
            for (k, kind) in kinds.iter().enumerate() {
                if g.since[k] == NOT_TRACKED {
                    if ev.to == states[k] && kind.tracks(ev.reason) {
                        g.since[k] = ev.ts;
                        g.since_stack[k] = ev.stack;
                    }
                } else if ev.to != states[k] {
                    let o = &mut out[k];
                    // The goroutine's slot for now: its row once all are known.
                    o.row.push(slot as i32);
                    o.start.push(g.since[k]);
                    o.end.push(ev.ts);
                    o.stack.push(g.since_stack[k]);
                    g.since[k] = NOT_TRACKED;
                }
            }
        })?;
        Ok(())
    }

    /// The intervals per kind and the goroutines they refer to.
    pub fn finish(self) -> Result<(Vec<Samples>, Goroutines), String> {
        let Pass { gs, mut out, error, .. } = self;
        if let Some(e) = error {
            return Err(e);
        }
        // Rows for the goroutines with a summary, in order of first sight.
        let mut n = 0;
        let mut row_of = vec![-1i32; gs.items.len()];
        for ((_, s), row) in gs.items.iter().zip(&mut row_of) {
            if s.summarized {
                *row = n as i32;
                n += 1;
            }
        }
        for o in &mut out {
            for r in &mut o.row {
                *r = row_of[*r as usize];
            }
        }
        let mut goroutines =
            Goroutines { goid: vec![0; n], start_time: vec![0; n], end_time: vec![0; n], name_stack: vec![0; n] };
        crate::drain_rev(gs.items, |slot, (id, s)| {
            if let Ok(row) = usize::try_from(row_of[slot]) {
                goroutines.goid[row] = *id;
                goroutines.start_time[row] = s.start;
                goroutines.end_time[row] = s.end;
                goroutines.name_stack[row] = s.name_stack;
            }
        });
        Ok((out, goroutines))
    }
}

impl EventBatches for Pass {
    fn batch(&mut self, batch: &RecordBatch, named: &[bool]) {
        if self.error.is_none() {
            self.error = self.feed(std::slice::from_ref(batch), named).err();
        }
    }
}

/// Time of each `[t0[k], t1[k]]` inside interval `at[k]` of `(start, end)`,
/// never negative; 0 where `at[k]` is negative (no interval). One pass: the
/// numpy version's gathers and temporaries cost more than the arithmetic.
pub fn clipped<A: Copy + Into<i64>>(
    start: &[i64],
    end: &[i64],
    at: &[A],
    t0: &[i64],
    t1: &[i64],
) -> Result<Vec<i64>, String> {
    if start.len() != end.len() || at.len() != t0.len() || at.len() != t1.len() {
        return Err("clipped: lengths differ".into());
    }
    at.iter()
        .zip(t0.iter().zip(t1))
        .map(|(&a, (&lo, &hi))| {
            let Ok(i) = usize::try_from(a.into()) else { return Ok(0) };
            let (s, e) = match (start.get(i), end.get(i)) {
                (Some(&s), Some(&e)) => (s, e),
                _ => return Err(format!("clipped: interval {i} of {}", start.len())),
            };
            Ok(e.min(hi).saturating_sub(s.max(lo)).max(0))
        })
        .collect()
}

/// pprofMatchingRegions' selection of the outermost regions: with the
/// intervals sorted by (goroutine, start, end), keep one when it starts at or
/// after the end of the last one kept on its goroutine.
pub fn outermost(goid: &[i64], start: &[i64], end: &[i64]) -> Vec<bool> {
    let n = goid.len().min(start.len()).min(end.len());
    let mut keep = vec![false; n];
    let mut current: Option<i64> = None;
    let mut last_end = 0i64;
    for i in 0..n {
        if current != Some(goid[i]) {
            current = Some(goid[i]);
            last_end = 0;
        }
        if last_end <= start[i] {
            keep[i] = true;
            last_end = end[i];
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_to_each_interval() {
        let (start, end) = ([10, 0], [20, 5]);
        let at: [i32; 4] = [0, 0, -1, 1];
        let got = clipped(&start, &end, &at, &[5, 12, 0, 6], &[15, 30, 9, 9]).unwrap();
        assert_eq!(got, [5, 8, 0, 0]);
        assert!(clipped(&start, &end, &[2i64], &[0], &[1]).is_err());
        assert!(clipped(&start, &end, &[0i64], &[0, 1], &[1]).is_err());
    }

    #[test]
    fn outermost_keeps_the_first_of_equal_starts() {
        // Goroutine 1: [0,10] [0,20] [5,8] [10,30] [15,20]; goroutine 2: [3,4].
        let g = [1, 1, 1, 1, 1, 2];
        let s = [0, 0, 5, 10, 15, 3];
        let e = [10, 20, 8, 30, 20, 4];
        assert_eq!(outermost(&g, &s, &e), [true, false, false, true, false, true]);
    }
}
