//! Minimum mutator utilisation, as `go tool trace` computes it
//! (`internal/trace/gc.go`, `mud.go`, `traceviewer/mmu.go`).
//!
//! Everything here follows Go operation for operation, floating-point
//! evaluation order included, because the MMU page shows these numbers and
//! the worst windows depend on the exact order in which bands are refined:
//! the utilisation function (`MutatorUtilizationV2`), the band-based MMU
//! search with its min-heap (`container/heap`), `Examples` and `MUD`, and the
//! plot's window list, computed with ports of Go's amd64 `math.Exp`/`math.Log`
//! (they differ from libm in the last bit, and a window is a truncated float).
//!
//! One deliberate difference: cmd/trace's `MUD` never feeds its distribution
//! (`accumulator.addMU` returns before the MUD update whenever no worst
//! windows are tracked), so every percentile it reports is just the MMU. We
//! feed the distribution, which is what the code around it is written for.

use crate::build::EventBatches;
use crate::evtable::{cols, goroutines_of, scan, st, Classes, Ev, Kind, Sparse};
use crate::model::resource;
use arrow_array::RecordBatch;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;

/// `trace.UtilFlags`.
pub const UTIL_STW: u32 = 1;
pub const UTIL_BACKGROUND: u32 = 2;
pub const UTIL_ASSIST: u32 = 4;
pub const UTIL_SWEEP: u32 = 8;
pub const UTIL_PER_PROC: u32 = 16;

const NAME_GOMAXPROCS: u8 = 1;
const NAME_GC_STW: u8 = 2;
const NAME_SWEEP: u8 = 3;
const NAME_ASSIST: u8 = 4;
/// A label "GC ..." other than "GC (idle)" and "GC (dedicated)".
const NAME_GC_LABEL: u8 = 5;
const NAME_GC_DEDICATED: u8 = 6;

struct MmuClasses;

impl Classes for MmuClasses {
    fn reason(&self, _s: &str) -> u8 {
        0
    }
    fn name(&self, s: &str) -> u8 {
        if s == "/sched/gomaxprocs:threads" {
            NAME_GOMAXPROCS
        } else if s.starts_with("stop-the-world") && s.contains("GC") {
            // isGCSTW: other stop-the-worlds do not count, whatever the flag's
            // comment says.
            NAME_GC_STW
        } else if s == "GC incremental sweep" {
            NAME_SWEEP
        } else if s == "GC mark assist" {
            NAME_ASSIST
        } else if s == "GC (dedicated)" {
            NAME_GC_DEDICATED
        } else if s.starts_with("GC ") && s != "GC (idle)" {
            NAME_GC_LABEL
        } else {
            0
        }
    }
}

/// One point of a utilisation function: from `time` on, utilisation `util`.
pub type MutatorUtil = (i64, f64);

/// addUtil: append only changes; at an equal time keep the lower value.
fn add_util(util: &mut Vec<MutatorUtil>, mu: MutatorUtil) {
    if let Some(last) = util.last_mut() {
        if mu.1 == last.1 {
            return;
        }
        if mu.0 == last.0 {
            if mu.1 < last.1 {
                *last = mu;
            }
            return;
        }
    }
    util.push(mu);
}

/// A set of goroutine IDs that answers most "no"s without hashing: the pass
/// asks about every goroutine transition (most of the events), and the
/// members, GC workers and assisting goroutines, are a few, usually with
/// nearby IDs. IDs outside the range ever held are not members.
struct GoSet {
    set: FxHashSet<i64>,
    lo: i64,
    hi: i64,
}

impl Default for GoSet {
    fn default() -> Self {
        GoSet { set: FxHashSet::default(), lo: i64::MAX, hi: i64::MIN }
    }
}

impl GoSet {
    fn insert(&mut self, g: i64) {
        self.lo = self.lo.min(g);
        self.hi = self.hi.max(g);
        self.set.insert(g);
    }

    fn remove(&mut self, g: i64) {
        self.set.remove(&g);
    }

    fn of(ids: impl IntoIterator<Item = i64>) -> Self {
        let mut s = GoSet::default();
        for g in ids {
            s.insert(g);
        }
        s
    }

    fn contains(&self, g: i64) -> bool {
        (self.lo..=self.hi).contains(&g) && !self.set.is_empty() && self.set.contains(&g)
    }
}

/// Ps' GC work counts, and how many are above zero (the utilisation divides by
/// it at every event: counted as the counts change, not per event).
#[derive(Default)]
struct GcPs {
    ps: Vec<PerP>,
    busy: usize,
}

#[derive(Clone, Copy)]
struct PerP {
    gc: i64,
    series: usize,
}

impl GcPs {
    /// `ps[p].gc += delta`. Go would panic on an event without a P or beyond
    /// GOMAXPROCS; such an event changes nothing here.
    fn add(&mut self, p: i64, delta: i64) {
        if let Some(pp) = usize::try_from(p).ok().and_then(|p| self.ps.get_mut(p)) {
            let was = pp.gc > 0;
            pp.gc += delta;
            match (was, pp.gc > 0) {
                (false, true) => self.busy += 1,
                (true, false) => self.busy -= 1,
                _ => {}
            }
        }
    }

    /// After GOMAXPROCS changed the Ps.
    fn recount(&mut self) {
        self.busy = self.ps.iter().filter(|p| p.gc > 0).count();
    }
}

/// `MutatorUtilizationV2(events, flags)`: one series, or one per P with
/// `UTIL_PER_PROC`. Empty when the trace has no GOMAXPROCS metric. `value`
/// stands for the events' value column when the table has none.
pub fn mutator_utilization(
    batches: &[RecordBatch],
    flags: u32,
    value: Option<&Sparse<'_>>,
) -> Result<Vec<Vec<MutatorUtil>>, String> {
    let mut pass = Pass::new(flags);
    // Only a RangeActive looks a state up, its own goroutine's: only those
    // goroutines' states are kept (a map of every goroutine cost 12-30% of
    // the pass).
    pass.watched = Some(GoSet::of(goroutines_of(batches, Kind::RangeActive)?));
    pass.feed(batches, value)?;
    pass.finish()
}

/// [`mutator_utilization`] as a state machine over the events, fed their
/// record batches in order: a streaming parse hands it each batch and drops
/// it ([`crate::build::EventBatches`]), and the events' values (GOMAXPROCS
/// metrics, Syncs) as it meets them.
pub struct Pass {
    flags: u32,
    per_proc: bool,
    out: Vec<Vec<MutatorUtil>>,
    stw: i64,
    /// (Ps in GC, Ps) and the utilisation they give.
    last_counts: (usize, usize),
    last_mu: f64,
    gc: GcPs,
    in_gc: GoSet,
    /// The goroutines whose states a RangeActive may look up; None: every
    /// goroutine's (a streaming pass cannot look ahead).
    watched: Option<GoSet>,
    states: FxHashMap<i64, u8>,
    bg_mark: GoSet,
    procs: Vec<(i64, i64)>,
    n_sync: i64,
    last_ts: Option<i64>,
    /// Streaming: (events row, value) of the events with a value not yet read, in row order.
    values: VecDeque<(usize, i64)>,
    /// Events row of the next batch's first row.
    base: usize,
    /// The first error of a batch fed by a streaming parse.
    error: Option<String>,
}

impl Pass {
    pub fn new(flags: u32) -> Self {
        Pass {
            flags,
            per_proc: flags & UTIL_PER_PROC != 0,
            out: Vec::new(),
            stw: 0,
            last_counts: (usize::MAX, 0),
            last_mu: 0.0,
            gc: GcPs::default(),
            in_gc: GoSet::default(),
            watched: None,
            states: FxHashMap::default(),
            bg_mark: GoSet::default(),
            procs: Vec::new(),
            n_sync: 0,
            last_ts: None,
            values: VecDeque::new(),
            base: 0,
            error: None,
        }
    }

    /// The next events, in order; `value` as for [`mutator_utilization`],
    /// its rows counted from the first of `batches`.
    pub fn feed(&mut self, batches: &[RecordBatch], value: Option<&Sparse<'_>>) -> Result<(), String> {
        let want =
            cols::G | cols::P | cols::RESOURCE | cols::RESOURCE_ID | cols::FROM | cols::TO | cols::NAME | cols::VALUE;
        let rows = scan(batches, &MmuClasses, want, value, |ev: &Ev| self.event(ev))?;
        self.base += rows;
        Ok(())
    }

    fn handle_stw(&self, c: u8) -> bool {
        self.flags & UTIL_STW != 0 && c == NAME_GC_STW
    }

    fn handle_assist(&self, c: u8) -> bool {
        self.flags & UTIL_ASSIST != 0 && c == NAME_ASSIST
    }

    fn handle_sweep(&self, c: u8) -> bool {
        self.flags & UTIL_SWEEP != 0 && c == NAME_SWEEP
    }

    fn event(&mut self, ev: &Ev) {
        let per_proc = self.per_proc;
        self.last_ts = Some(ev.ts);
        match ev.kind {
            Kind::Sync => {
                self.n_sync = ev.value;
                if self.n_sync > 1 && self.watched.is_none() {
                    // Looked up in the first generation only.
                    self.states = FxHashMap::default();
                }
            }
            Kind::Metric if ev.name == NAME_GOMAXPROCS => {
                let gomaxprocs = ev.value.max(0) as usize;
                let ps = &mut self.gc.ps;
                if ps.len() > gomaxprocs {
                    if per_proc {
                        for p in &ps[gomaxprocs..] {
                            add_util(&mut self.out[p.series], (ev.ts, 0.0));
                        }
                    }
                    ps.truncate(gomaxprocs);
                }
                while ps.len() < gomaxprocs {
                    let mut series = 0;
                    if per_proc || self.out.is_empty() {
                        series = self.out.len();
                        self.out.push(vec![(ev.ts, 1.0)]);
                    }
                    ps.push(PerP { gc: 0, series });
                }
                self.gc.recount();
                if self.procs.last().is_none_or(|&(_, n)| n != gomaxprocs as i64) {
                    self.procs.push((ev.ts, gomaxprocs as i64));
                }
            }
            _ => {}
        }
        if self.gc.ps.is_empty() {
            return;
        }
        let mut begin = false;
        match ev.kind {
            Kind::RangeActive if self.n_sync <= 1 => {
                let c = ev.name;
                let executing = self.states.get(&ev.g).is_some_and(|&s| st::executing(s));
                let missed = (self.handle_assist(c) && executing) || (!self.handle_assist(c) && self.handle_sweep(c));
                if missed && !per_proc {
                    // Active since the trace start: take 1/GOMAXPROCS off
                    // every point so far.
                    let (mut mi, mut pi) = (0usize, 0usize);
                    let procs = &self.procs;
                    let s0 = &mut self.out[0];
                    while mi < s0.len() {
                        if pi + 1 < procs.len() && procs[pi + 1].0 < s0[mi].0 {
                            pi += 1;
                            continue;
                        }
                        s0[mi].1 -= 1.0 / procs[pi].1 as f64;
                        if s0[mi].1 < 0.0 {
                            s0[mi].1 = 0.0;
                        }
                        mi += 1;
                    }
                }
                begin = true;
            }
            Kind::RangeBegin => begin = true,
            Kind::RangeEnd => {
                let c = ev.name;
                if self.handle_stw(c) {
                    self.stw -= 1;
                } else if self.handle_sweep(c) {
                    self.gc.add(ev.p, -1);
                } else if self.handle_assist(c) {
                    self.gc.add(ev.p, -1);
                    if ev.resource == resource::GOROUTINE && ev.resource_id >= 0 {
                        self.in_gc.remove(ev.resource_id);
                    }
                }
            }
            Kind::StateTransition if ev.resource == resource::GOROUTINE => {
                let g = ev.resource_id;
                if self.in_gc.contains(g) || self.bg_mark.contains(g) {
                    let (was, is) = (st::executing(ev.from), st::executing(ev.to));
                    if !was && is {
                        self.gc.add(ev.p, 1);
                    } else if was && !is {
                        self.gc.add(ev.p, -1);
                    }
                }
                // Only RangeActive looks states up, and only in the first generation.
                if self.n_sync <= 1 && self.watched.as_ref().is_none_or(|w| w.contains(g)) {
                    self.states.insert(g, ev.to);
                }
            }
            Kind::Label if self.flags & UTIL_BACKGROUND != 0 => {
                let c = ev.name;
                if c == NAME_GC_LABEL || (c == NAME_GC_DEDICATED && !per_proc) {
                    self.bg_mark.insert(ev.g);
                    self.gc.add(ev.p, 1);
                }
            }
            _ => {}
        }
        if begin {
            let c = ev.name;
            if self.handle_stw(c) {
                self.stw += 1;
            } else if self.handle_sweep(c) {
                self.gc.add(ev.p, 1);
            } else if self.handle_assist(c) {
                self.gc.add(ev.p, 1);
                if ev.resource == resource::GOROUTINE && ev.resource_id >= 0 {
                    self.in_gc.insert(ev.resource_id);
                }
            }
        }

        if !per_proc {
            let n = self.gc.ps.len();
            let gc_ps = if self.stw > 0 { n } else { self.gc.busy };
            // Divide only when the counts change (most events change neither).
            if (gc_ps, n) != self.last_counts {
                self.last_counts = (gc_ps, n);
                self.last_mu = 1.0 - gc_ps as f64 / n as f64;
            }
            add_util(&mut self.out[0], (ev.ts, self.last_mu));
        } else {
            for p in &self.gc.ps {
                let util = if self.stw > 0 || p.gc > 0 { 0.0 } else { 1.0 };
                add_util(&mut self.out[p.series], (ev.ts, util));
            }
        }
    }

    /// The series of [`mutator_utilization`].
    pub fn finish(mut self) -> Result<Vec<Vec<MutatorUtil>>, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let Some(end) = self.last_ts else { return Ok(Vec::new()) };
        for p in &self.gc.ps {
            add_util(&mut self.out[p.series], (end, 0.0));
        }
        Ok(self.out)
    }
}

impl EventBatches for Pass {
    fn batch(&mut self, batch: &RecordBatch, _named: &[bool]) {
        if self.error.is_some() {
            return;
        }
        // The values of this batch's rows, counted from its first.
        let end = self.base + batch.num_rows();
        let (mut rows, mut values) = (Vec::new(), Vec::new());
        while let Some(&(row, v)) = self.values.front().filter(|e| e.0 < end) {
            self.values.pop_front();
            if let Some(r) = row.checked_sub(self.base) {
                rows.push(r as i64);
                values.push(v);
            }
        }
        let value = Sparse { rows: &rows, values: &values };
        self.error = self.feed(std::slice::from_ref(batch), Some(&value)).err();
    }

    fn value(&mut self, row: usize, value: i64) {
        self.values.push_back((row, value));
    }
}

// ---------------------------------------------------------------------------
// The MMU curve.

#[derive(Clone, Copy)]
struct Band {
    min_util: f64,
    cum_util: f64,
    /// The integrator at the band's left edge.
    pos: isize,
}

struct Series {
    time: Vec<i64>,
    util: Vec<f64>,
    /// sums[j]: integral of the utilisation up to time[j].
    sums: Vec<f64>,
    bands: Vec<Band>,
    band_dur: i64,
}

/// Bands per series (Go's bandsPerSeries).
const BANDS_PER_SERIES: usize = 1000;

impl Series {
    fn new(points: &[MutatorUtil]) -> Self {
        let time: Vec<i64> = points.iter().map(|p| p.0).collect();
        let util: Vec<f64> = points.iter().map(|p| p.1).collect();
        let mut sums = Vec::with_capacity(points.len());
        let (mut prev_t, mut prev_u, mut sum) = (0i64, 0.0f64, 0.0f64);
        for &(t, u) in points {
            sum += prev_u * t.wrapping_sub(prev_t) as f64;
            sums.push(sum);
            prev_t = t;
            prev_u = u;
        }
        let num_bands = BANDS_PER_SERIES.min(points.len());
        let dur = time[time.len() - 1].wrapping_sub(time[0]);
        let band_dur = ((dur + num_bands as i64 - 1) / num_bands as i64).max(1);
        let mut s = Series { time, util, sums, bands: Vec::with_capacity(num_bands + 1), band_dur };
        let mut left: isize = 0;
        for i in 0..=num_bands {
            let (start, end) = s.band_time(i);
            let cum = s.advance(&mut left, start);
            let mut min_util = 1.0f64;
            let mut k = left.max(0) as usize;
            while k < s.time.len() && s.time[k] < end {
                min_util = min_util.min(s.util[k]);
                k += 1;
            }
            s.bands.push(Band { min_util, cum_util: cum, pos: left });
        }
        s
    }

    fn band_time(&self, i: usize) -> (i64, i64) {
        let start = (i as i64).wrapping_mul(self.band_dur).wrapping_add(self.time[0]);
        (start, start.wrapping_add(self.band_dur))
    }

    fn duration(&self) -> i64 {
        self.time[self.time.len() - 1].wrapping_sub(self.time[0])
    }

    /// integrator.advance: the integral from 0 to `time`.
    fn advance(&self, pos: &mut isize, time: i64) -> f64 {
        const MAX_SEQ: isize = 8;
        let n = self.time.len() as isize;
        let mut p = *pos;
        if p + MAX_SEQ < n && self.time[(p + MAX_SEQ) as usize] > time {
            while p + 1 < n && self.time[(p + 1) as usize] <= time {
                p += 1;
            }
        } else {
            let (mut l, mut r) = (p, n);
            while l < r {
                let h = ((l + r) as usize >> 1) as isize;
                if self.time[h as usize] <= time {
                    l = h + 1;
                } else {
                    r = h;
                }
            }
            p = l - 1;
        }
        *pos = p;
        // Go would index out of range below the first point; it never gets there.
        let pi = p.max(0) as usize;
        let partial = if time != self.time[pi] { self.util[pi] * time.wrapping_sub(self.time[pi]) as f64 } else { 0.0 };
        self.sums[pi] + partial
    }

    /// integrator.next: the first change strictly after `time`.
    fn next(&self, pos: isize, time: i64) -> i64 {
        let from = pos.max(0) as usize;
        self.time[from..].iter().copied().find(|&t| t > time).unwrap_or(i64::MAX)
    }

    /// mkBandUtil: a lower bound of the mean utilisation of every window whose
    /// left edge is in each band.
    fn band_util(&self, series: usize, window: i64, out: &mut Vec<BandUtil>) -> Result<(), String> {
        let bd = self.band_dur;
        let min_bands = ((window + bd - 1) / bd) as usize;
        let max_bands = ((window + 2 * (bd - 1)) / bd) as usize;
        if window > 1 && max_bands < 2 {
            return Err("maxBands < 2".into());
        }
        let tail_dur = window % bd;
        let n_util = (self.bands.len() as isize - max_bands as isize + 1).max(0) as usize;
        for i in 0..n_util {
            let mut util = 0.0f64;
            let l = self.bands[i].min_util;
            let r1 = self.bands[i + min_bands - 1].min_util;
            let r2 = self.bands[i + max_bands - 1].min_util;
            let min_band = l.min(r1.min(r2));
            if min_bands == 1 {
                util += min_band * window as f64;
            } else {
                util += min_band * bd as f64;
                let mut mid_band = 0.0f64;
                if min_band == l {
                    mid_band = r1.min(r2);
                } else if min_band == r1 {
                    mid_band = l.min(r2);
                } else if min_band == r2 {
                    mid_band = l.min(r1);
                }
                util += mid_band * tail_dur as f64;
            }
            if min_bands > 2 {
                util += self.bands[i + min_bands - 1].cum_util - self.bands[i + 1].cum_util;
            }
            out.push(BandUtil { series, band: i, bound: util / window as f64 });
        }
        Ok(())
    }

    /// bandMMU: the exact windowed utilisation for left edges in one band.
    fn band_mmu(&self, band: usize, window: i64, acc: &mut Accumulator) {
        let mut left = self.bands[band].pos;
        let mut right = left;
        let (mut time, mut end_time) = self.band_time(band);
        let util_end = self.time[self.time.len() - 1].wrapping_sub(window);
        if util_end < end_time {
            end_time = util_end;
        }
        acc.reset_time();
        loop {
            let r = self.advance(&mut right, time.wrapping_add(window));
            let l = self.advance(&mut left, time);
            let mu = (r - l) / window as f64;
            if acc.add_mu(time, mu, window) {
                break;
            }
            if time == end_time {
                break;
            }
            let min_time = time.wrapping_add(go_f64_to_i64((mu - acc.bound) * window as f64));
            let t1 = self.next(left, time);
            let t2 = self.next(right, time.wrapping_add(window)).wrapping_sub(window);
            time = if t1 < t2 { t1 } else { t2 };
            if time < min_time {
                time = min_time;
            }
            if time >= end_time {
                time = end_time;
            }
        }
    }
}

/// Go's `int64(f)` on amd64 (CVTTSD2SQ): truncation, and the "integer
/// indefinite" value for NaN and out-of-range inputs.
fn go_f64_to_i64(f: f64) -> i64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if (-TWO_63..TWO_63).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

#[derive(Clone, Copy, Debug)]
struct BandUtil {
    series: usize,
    band: usize,
    bound: f64,
}

/// `container/heap` on a slice, with Go's exact sift order.
trait GoHeap {
    fn less(&self, i: usize, j: usize) -> bool;
    fn swap(&mut self, i: usize, j: usize);
    fn len(&self) -> usize;

    fn up(&mut self, mut j: usize) {
        loop {
            // (j-1)/2 with Go's truncating division: 0 stays 0.
            let i = if j == 0 { 0 } else { (j - 1) / 2 };
            if i == j || !self.less(j, i) {
                break;
            }
            self.swap(i, j);
            j = i;
        }
    }
    fn down(&mut self, i0: usize, n: usize) -> bool {
        let mut i = i0;
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            let j2 = j1 + 1;
            if j2 < n && self.less(j2, j1) {
                j = j2;
            }
            if !self.less(j, i) {
                break;
            }
            self.swap(i, j);
            i = j;
        }
        i > i0
    }
    fn init(&mut self) {
        let n = self.len();
        let mut i = n / 2;
        while i > 0 {
            i -= 1;
            self.down(i, n);
        }
    }
}

struct BandHeap(Vec<BandUtil>);

impl GoHeap for BandHeap {
    fn less(&self, i: usize, j: usize) -> bool {
        self.0[i].bound < self.0[j].bound
    }
    fn swap(&mut self, i: usize, j: usize) {
        self.0.swap(i, j);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl BandHeap {
    fn pop(&mut self) -> Option<BandUtil> {
        let n = self.0.len().checked_sub(1)?;
        self.0.swap(0, n);
        self.down(0, n);
        self.0.pop()
    }
}

/// A window: left edge time and its mean utilisation (`UtilWindow`).
pub type UtilWindow = (i64, f64);

/// The worst-windows heap: the root is the best of the worst.
struct WorstHeap(Vec<UtilWindow>);

impl GoHeap for WorstHeap {
    fn less(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.0[i], self.0[j]);
        if a.1 != b.1 {
            return a.1 > b.1;
        }
        a.0 > b.0
    }
    fn swap(&mut self, i: usize, j: usize) {
        self.0.swap(i, j);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl WorstHeap {
    fn push(&mut self, w: UtilWindow) {
        self.0.push(w);
        let j = self.0.len() - 1;
        self.up(j);
    }
    fn pop(&mut self) -> Option<UtilWindow> {
        let n = self.0.len().checked_sub(1)?;
        self.0.swap(0, n);
        self.down(0, n);
        self.0.pop()
    }
    fn remove(&mut self, i: usize) -> Option<UtilWindow> {
        let n = self.0.len().checked_sub(1)?;
        if n != i {
            self.0.swap(i, n);
            if !self.down(i, n) {
                self.up(i);
            }
        }
        self.0.pop()
    }
}

struct Accumulator {
    mmu: f64,
    bound: f64,
    n_worst: usize,
    worst: WorstHeap,
    mud: Option<Mud>,
    last_time: i64,
    last_mu: f64,
}

impl Accumulator {
    fn new(n_worst: usize, mud: Option<Mud>) -> Self {
        Accumulator { mmu: 1.0, bound: 1.0, n_worst, worst: WorstHeap(Vec::new()), mud, last_time: 0, last_mu: 0.0 }
    }

    fn reset_time(&mut self) {
        self.last_time = i64::MAX;
    }

    fn add_mu(&mut self, time: i64, mu: f64, window: i64) -> bool {
        if mu < self.mmu {
            self.mmu = mu;
        }
        self.bound = self.mmu;

        // Go returns here whenever no worst windows are tracked, which starves
        // the MUD (see the module comment); we only return for a plain MMU.
        if self.n_worst == 0 && self.mud.is_none() {
            return mu == 0.0;
        }

        if self.n_worst > 0 {
            if self.worst.0.len() < self.n_worst || mu < self.worst.0[0].1 {
                let mut keep = false;
                for i in 0..self.worst.0.len() {
                    let ui = self.worst.0[i];
                    if time.wrapping_add(window) > ui.0 && ui.0.wrapping_add(window) > time {
                        if ui.1 <= mu {
                            keep = true;
                        } else {
                            self.worst.remove(i);
                        }
                        break;
                    }
                }
                if !keep {
                    self.worst.push((time, mu));
                    if self.worst.0.len() > self.n_worst {
                        self.worst.pop();
                    }
                }
            }
            if self.worst.0.len() < self.n_worst {
                self.bound = 1.0;
            } else {
                self.bound = self.bound.max(self.worst.0[0].1);
            }
        }

        if let Some(mud) = self.mud.as_mut() {
            if self.last_time != i64::MAX {
                mud.add(self.last_mu, mu, time.wrapping_sub(self.last_time) as f64);
            }
            self.last_time = time;
            self.last_mu = mu;
            match mud.approx_inv_cumulative_sum() {
                Some((_, upper)) => self.bound = self.bound.max(upper),
                None => self.bound = 1.0,
            }
            return false;
        }

        self.worst.0.len() == self.n_worst && self.worst.0[0].1 == 0.0
    }
}

const MUD_DEGREE: usize = 1024;

#[derive(Clone, Copy)]
struct Edge {
    x: f64,
    delta: f64,
    dirac: f64,
}

/// The mutator utilisation distribution (`mud.go`).
struct Mud {
    sorted: Vec<Edge>,
    unsorted: Vec<Edge>,
    track_mass: f64,
    track_bucket: usize,
    track_sum: f64,
    hist: Vec<f64>,
}

/// math.Modf for the finite inputs it gets here.
fn modf(f: f64) -> (f64, f64) {
    let i = f.trunc();
    (i, f - i)
}

/// Go's `int(f)` for a float known to be in range.
fn go_int(f: f64) -> i64 {
    go_f64_to_i64(f)
}

impl Mud {
    fn new() -> Self {
        Mud {
            sorted: Vec::new(),
            unsorted: Vec::new(),
            track_mass: 0.0,
            track_bucket: 0,
            track_sum: 0.0,
            hist: vec![0.0; MUD_DEGREE],
        }
    }

    fn bucket(i: i64) -> usize {
        // A utilisation a hair below 0 would make Go index hist[-1]; clamp.
        i.clamp(0, MUD_DEGREE as i64 - 1) as usize
    }

    fn add(&mut self, mut l: f64, mut r: f64, area: f64) {
        if area == 0.0 {
            return;
        }
        if r < l {
            std::mem::swap(&mut l, &mut r);
        }
        if l == r {
            self.unsorted.push(Edge { x: l, delta: 0.0, dirac: area });
        } else {
            let delta = area / (r - l);
            self.unsorted.push(Edge { x: l, delta, dirac: 0.0 });
            self.unsorted.push(Edge { x: r, delta: -delta, dirac: 0.0 });
        }

        let deg = MUD_DEGREE as f64;
        let (lb_f, mut lf) = modf(l * deg);
        let mut lb = go_int(lb_f);
        if lb >= MUD_DEGREE as i64 {
            lb = MUD_DEGREE as i64 - 1;
            lf = 1.0;
        }
        if l == r {
            self.hist[Self::bucket(lb)] += area;
        } else {
            let (rb_f, mut rf) = modf(r * deg);
            let mut rb = go_int(rb_f);
            if rb >= MUD_DEGREE as i64 {
                rb = MUD_DEGREE as i64 - 1;
                rf = 1.0;
            }
            if lb == rb {
                self.hist[Self::bucket(lb)] += area;
            } else {
                let per_bucket = area / (r - l) / deg;
                self.hist[Self::bucket(lb)] += per_bucket * (1.0 - lf);
                self.hist[Self::bucket(rb)] += per_bucket * rf;
                let mut i = lb + 1;
                while i < rb {
                    self.hist[Self::bucket(i)] += per_bucket;
                    i += 1;
                }
            }
        }

        let thresh = self.track_bucket as f64 / deg;
        if l < thresh {
            if r < thresh {
                self.track_sum += area;
            } else {
                self.track_sum += area * (thresh - l) / (r - l);
            }
            if self.track_sum >= self.track_mass {
                self.set_track_mass(self.track_mass);
            }
        }
    }

    fn set_track_mass(&mut self, mass: f64) {
        self.track_mass = mass;
        let mut sum = 0.0f64;
        for (i, &val) in self.hist.iter().enumerate() {
            let new_sum = sum + val;
            if new_sum > mass {
                self.track_bucket = i;
                self.track_sum = sum;
                return;
            }
            sum = new_sum;
        }
        self.track_bucket = self.hist.len();
        self.track_sum = sum;
    }

    fn approx_inv_cumulative_sum(&self) -> Option<(f64, f64)> {
        if self.track_bucket == self.hist.len() {
            return None;
        }
        let deg = MUD_DEGREE as f64;
        Some((self.track_bucket as f64 / deg, (self.track_bucket + 1) as f64 / deg))
    }

    /// invCumulativeSum: the utilisation below which `y` of the mass lies.
    fn inv_cumulative_sum(&mut self, y: f64) -> (f64, bool) {
        if self.sorted.is_empty() && self.unsorted.is_empty() {
            return (f64::NAN, false);
        }
        let mut edges = std::mem::take(&mut self.unsorted);
        // slices.SortFunc by x (pdqsort, not stable): same permutation as Go.
        crate::pdqsort::sort_by_time(&mut edges, |e| f64_order_key(e.x));
        if self.sorted.is_empty() {
            self.sorted = edges;
        } else {
            let old = std::mem::take(&mut self.sorted);
            let mut merged = Vec::with_capacity(old.len() + edges.len());
            let (mut i, mut j) = (0, 0);
            while merged.len() < old.len() + edges.len() {
                if i >= old.len() {
                    merged.extend_from_slice(&edges[j..]);
                    break;
                } else if j >= edges.len() {
                    merged.extend_from_slice(&old[i..]);
                    break;
                } else if old[i].x < edges[j].x {
                    merged.push(old[i]);
                    i += 1;
                } else {
                    merged.push(edges[j]);
                    j += 1;
                }
            }
            self.sorted = merged;
        }

        let (mut csum, mut rate, mut prev_x) = (0.0f64, 0.0f64, 0.0f64);
        for e in &self.sorted {
            let mut new_csum = csum + (e.x - prev_x) * rate;
            if new_csum >= y {
                if rate == 0.0 {
                    return (e.x, true);
                }
                return ((y - csum) / rate + prev_x, true);
            }
            new_csum += e.dirac;
            if new_csum >= y {
                return (e.x, true);
            }
            csum = new_csum;
            prev_x = e.x;
            rate += e.delta;
        }
        (prev_x, false)
    }
}

/// An i64 whose order is the order of the (non-NaN) floats, with -0 == +0,
/// so Go's `cmp.Compare(a.x, b.x)` becomes an integer comparison.
fn f64_order_key(x: f64) -> i64 {
    let x = if x == 0.0 { 0.0 } else { x };
    let b = x.to_bits() as i64;
    if b < 0 {
        b ^ i64::MAX
    } else {
        b
    }
}

/// `MMUCurve`: answers MMU, worst-window and distribution queries.
pub struct MmuCurve {
    series: Vec<Series>,
}

impl MmuCurve {
    /// NewMMUCurve. Every series must have at least one point.
    pub fn new(utils: &[Vec<MutatorUtil>]) -> Result<Self, String> {
        if utils.iter().any(|u| u.is_empty()) {
            return Err("a utilization series has no points".into());
        }
        Ok(MmuCurve { series: utils.iter().map(|u| Series::new(u)).collect() })
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    fn run(&self, window: i64, acc: &mut Accumulator) -> Result<(), String> {
        if window <= 0 {
            acc.mmu = 0.0;
            return Ok(());
        }
        let mut windows = Vec::with_capacity(self.series.len());
        let mut heap = BandHeap(Vec::new());
        for (i, s) in self.series.iter().enumerate() {
            let w = window.min(s.duration());
            windows.push(w);
            if w > 0 {
                // (A series of zero length makes Go index bands[-1] and panic.)
                s.band_util(i, w, &mut heap.0)?;
            }
        }
        heap.init();
        while let Some(&top) = heap.0.first() {
            if top.bound >= acc.bound {
                break;
            }
            self.series[top.series].band_mmu(top.band, windows[top.series], acc);
            heap.pop();
        }
        Ok(())
    }

    /// MMU(window).
    pub fn mmu(&self, window: i64) -> Result<f64, String> {
        let mut acc = Accumulator::new(0, None);
        self.run(window, &mut acc)?;
        Ok(acc.mmu)
    }

    /// Examples(window, n): the n lowest non-overlapping windows, lowest first.
    pub fn examples(&self, window: i64, n: usize) -> Result<Vec<UtilWindow>, String> {
        let mut acc = Accumulator::new(n, None);
        self.run(window, &mut acc)?;
        let mut w = acc.worst.0;
        // sort.Sort(sort.Reverse(heap)): windows do not overlap, so no ties.
        w.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        Ok(w)
    }

    /// MUD(window, quantiles), with the distribution actually accumulated.
    pub fn mud(&self, window: i64, quantiles: &[f64]) -> Result<Vec<f64>, String> {
        if quantiles.is_empty() {
            return Ok(Vec::new());
        }
        let max_q = quantiles.iter().copied().fold(quantiles[0], |m, q| if q > m { q } else { m });
        let mut duration: i64 = 0;
        for s in &self.series {
            let d = s.duration();
            if d >= window {
                duration += d - window;
            }
        }
        let q_mass = duration as f64 * max_q;
        let mut mud = Mud::new();
        mud.set_track_mass(q_mass);
        let mut acc = Accumulator::new(0, Some(mud));
        self.run(window, &mut acc)?;
        let mmu = acc.mmu;
        let Some(mud) = acc.mud.as_mut() else { return Ok(vec![mmu; quantiles.len()]) };
        Ok(quantiles
            .iter()
            .map(|&q| {
                let (mu, _) = mud.inv_cumulative_sum(duration as f64 * q);
                if mu.is_nan() {
                    mmu
                } else {
                    mu
                }
            })
            .collect())
    }

    /// First and last time over every series.
    pub fn span(&self) -> (i64, i64) {
        let lo = self.series.iter().map(|s| s.time[0]).min().unwrap_or(0);
        let hi = self.series.iter().map(|s| s.time[s.time.len() - 1]).max().unwrap_or(0);
        (lo, hi)
    }

    /// The plot's windows (HandlePlot): (xMin, xMax, 100 windows).
    pub fn plot_windows(&self) -> Result<(i64, i64, Vec<i64>), String> {
        let mut x_min: i64 = 1_000_000_000;
        while x_min > 1 {
            if self.mmu(x_min)? < 0.0001 {
                break;
            }
            x_min /= 1000;
        }
        let mut x_max = x_min * 1_000_000;
        let (lo, hi) = self.span();
        let max_max = hi.wrapping_sub(lo);
        if x_max > max_max {
            x_max = max_max;
        }
        let (log_min, log_max) = (go_log(x_min as f64), go_log(x_max as f64));
        const SAMPLES: usize = 100;
        let windows = (0..SAMPLES)
            .map(|i| go_f64_to_i64(go_exp(i as f64 / (SAMPLES - 1) as f64 * (log_max - log_min) + log_min)))
            .collect();
        Ok((x_min, x_max, windows))
    }
}

// ---------------------------------------------------------------------------
// Go's amd64 math.Exp and math.Log (exp_amd64.s, log_amd64.s), step for step.

fn use_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        true
    }
}

/// math.Exp as Go computes it on amd64.
pub fn go_exp(x: f64) -> f64 {
    exp_amd64(x, use_fma())
}

#[allow(clippy::excessive_precision)]
fn exp_amd64(x: f64, fma: bool) -> f64 {
    const LN2U: f64 = 0.69314718055966295651160180568695068359375;
    const LN2L: f64 = 0.28235290563031577122588448175013436025525412068e-12;
    // Go's LOG2E (1.4426950408889634073599246810018920) is this double.
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const OVERFLOW: f64 = 7.09782712893384e+02;
    const C: [f64; 9] = [
        0.5,
        1.0,
        2.0,
        1.6666666666666666667e-1,
        4.1666666666666666667e-2,
        8.3333333333333333333e-3,
        1.3888888888888888889e-3,
        1.9841269841269841270e-4,
        2.4801587301587301587e-5,
    ];
    let bits = x.to_bits();
    let abs = bits & !(1u64 << 63);
    if abs >= 0x7FF0_0000_0000_0000 {
        if bits == 0xFFF0_0000_0000_0000 {
            return 0.0;
        }
        return x;
    }
    if x > OVERFLOW {
        return f64::INFINITY;
    }
    // CVTSD2SL: round to nearest even; out of range gives 0x80000000.
    let t = LOG2E * x;
    let r = t.round_ties_even();
    let mut bx: i32 = if (-2147483648.0..=2147483647.0).contains(&r) { r as i32 } else { i32::MIN };
    let k = f64::from(bx);
    let mut x0;
    if fma {
        x0 = (-k).mul_add(LN2U, x);
        x0 = (-k).mul_add(LN2L, x0);
        x0 *= 0.0625;
        let mut x1 = C[8];
        x1 = x1.mul_add(x0, C[7]);
        x1 = x1.mul_add(x0, C[6]);
        x1 = x1.mul_add(x0, C[5]);
        x1 = x1.mul_add(x0, C[4]);
        x1 = x1.mul_add(x0, C[3]);
        x1 = x1.mul_add(x0, C[0]);
        x1 = x1.mul_add(x0, C[1]);
        x0 *= x1;
        let mut y = x0 + C[2];
        x0 *= y;
        y = x0 + C[2];
        x0 *= y;
        y = x0 + C[2];
        x0 *= y;
        y = x0 + C[2];
        x0 = x0.mul_add(y, C[1]);
    } else {
        x0 = x - LN2U * k;
        x0 -= LN2L * k;
        x0 *= 0.0625;
        let mut x1 = C[8] * x0;
        x1 += C[7];
        x1 *= x0;
        x1 += C[6];
        x1 *= x0;
        x1 += C[5];
        x1 *= x0;
        x1 += C[4];
        x1 *= x0;
        x1 += C[3];
        x1 *= x0;
        x1 += C[0];
        x1 *= x0;
        x1 += C[1];
        x0 *= x1;
        for _ in 0..4 {
            let y = C[2] + x0;
            x0 *= y;
        }
        x0 += C[1];
    }
    // ldexp
    bx = bx.wrapping_add(0x3FF);
    if bx <= 0 {
        if bx < -52 {
            return 0.0;
        }
        bx += 0x3FE;
        x0 *= f64::from_bits((bx as u64) << 52);
        bx = 1;
    } else if bx >= 0x7FF {
        return f64::INFINITY;
    }
    x0 * f64::from_bits((bx as u64) << 52)
}

/// math.Log as Go computes it on amd64.
#[allow(clippy::excessive_precision)]
pub fn go_log(x: f64) -> f64 {
    // Go's HSqrt2 (7.07106781186547524401e-01) is this double.
    const HSQRT2: f64 = std::f64::consts::FRAC_1_SQRT_2;
    const LN2HI: f64 = 6.93147180369123816490e-01;
    const LN2LO: f64 = 1.90821492927058770002e-10;
    const L1: f64 = 6.666666666666735130e-01;
    const L2: f64 = 3.999999999940941908e-01;
    const L3: f64 = 2.857142874366239149e-01;
    const L4: f64 = 2.222219843214978396e-01;
    const L5: f64 = 1.818357216161805012e-01;
    const L6: f64 = 1.531383769920937332e-01;
    const L7: f64 = 1.479819860511658591e-01;
    let bits = x.to_bits();
    if bits & !(1u64 << 63) == 0 {
        return f64::NEG_INFINITY;
    }
    if (bits as i64) < 0 {
        return f64::from_bits(0x7FF8_0000_0000_0001);
    }
    if bits >= 0x7FF0_0000_0000_0000 {
        return x;
    }
    let mut f1 = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FE0_0000_0000_0000);
    let mut k = f64::from(((bits >> 52) & 0x7FF) as i32 - 0x3FE);
    // CMPSD ..., 5 (not-less-than): f1 <= HSqrt2 doubles f1 and lowers k.
    let c = if HSQRT2 < f1 { 0.0 } else { 1.0 };
    k -= c;
    f1 *= c + 1.0;
    let f = f1 - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * ((((L7 * s4 + L5) * s4 + L3) * s4) + L1);
    let t2 = s4 * (((L6 * s4 + L4) * s4) + L2);
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    let x3 = s * (r + hfsq) + LN2LO * k;
    let x0 = (hfsq - x3) - f;
    k * LN2HI - x0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_log_agree_with_libm_closely() {
        for &x in &[1.0, 2.5, 1e3, 1e6, 123456789.0, 1e15] {
            let l = go_log(x);
            assert!((l - x.ln()).abs() <= 1e-15 * x.ln().abs().max(1.0), "log {x}: {l} vs {}", x.ln());
            for fma in [false, true] {
                let e = exp_amd64(l, fma);
                assert!((e - x).abs() <= 1e-12 * x, "exp {l}: {e} vs {x}");
            }
        }
    }

    /// The utilisation of internal/trace's TestMMU: 1 s on, 1 s off, ...
    fn go_test_curve() -> MmuCurve {
        let util = vec![vec![
            (0, 1.0),
            (1_000_000_000, 0.0),
            (2e9 as i64, 1.0),
            (3e9 as i64, 0.0),
            (4e9 as i64, 1.0),
            (5e9 as i64, 0.0),
        ]];
        MmuCurve::new(&util).unwrap()
    }

    #[test]
    fn mmu_of_go_test_curve() {
        // Expected values from internal/trace TestMMU.
        let c = go_test_curve();
        let cases = [
            (0, 0.0),
            (1_000_000, 0.0),
            (1e9 as i64, 0.0),
            (2e9 as i64, 0.5),
            (3e9 as i64, 1.0 / 3.0),
            (4e9 as i64, 0.5),
            (5e9 as i64, 0.6),
            (6e9 as i64, 0.6),
        ];
        for (w, want) in cases {
            let got = c.mmu(w).unwrap();
            assert!((got - want).abs() < 1e-9, "window {w}: {got} want {want}");
        }
        let worst = c.examples(2e9 as i64, 2).unwrap();
        assert_eq!(worst.len(), 2);
        assert!(worst.iter().all(|w| (w.1 - 0.5).abs() < 1e-9));
    }

    #[test]
    fn mud_quantiles_are_ordered() {
        let c = go_test_curve();
        let q = c.mud(1e9 as i64, &[0.0, 0.001, 0.01, 0.05, 0.5]).unwrap();
        for w in q.windows(2) {
            assert!(w[0] <= w[1] + 1e-12, "{q:?}");
        }
        assert!((q[0] - c.mmu(1e9 as i64).unwrap()).abs() < 1e-9);
    }

    /// (rows, values) of the events' value column, from the tables that own
    /// those events (metrics, syncs), as the views read it.
    fn values(parsed: &crate::ParsedTrace) -> (Vec<i64>, Vec<i64>) {
        use crate::analysis::testdata::{ints, table};
        let (metrics, syncs) = (table(parsed, "metrics"), table(parsed, "syncs"));
        let mut v: Vec<(i64, i64)> = ints(metrics, "event").into_iter().zip(ints(metrics, "value")).collect();
        v.extend(ints(syncs, "event").into_iter().zip(ints(syncs, "n")));
        v.sort_unstable();
        v.into_iter().unzip()
    }

    #[test]
    fn a_streaming_parse_gives_the_utilization_of_parse() {
        use crate::analysis::testdata::{corpus, whole_and_cut};
        let every = UTIL_STW | UTIL_BACKGROUND | UTIL_ASSIST | UTIL_SWEEP;
        let [whole, cut] = whole_and_cut();
        let mut points = 0;
        let small = [("gc", corpus("go1.26/gc.trace")), ("gomaxprocs", corpus("go1.26/gomaxprocs.trace"))];
        for (what, data) in [whole, cut].into_iter().chain(small) {
            let parsed = crate::parse(&data, crate::ParseOptions::default()).expect("parses");
            let events = &parsed.tables[0].1;
            let rows = events.iter().map(RecordBatch::num_rows).sum::<usize>();
            // GOMAXPROCS changes in a small trace, the others span batches.
            assert!(rows > crate::build::STREAM_ROWS || what == "gomaxprocs", "{what}");
            let (rows, vals) = values(&parsed);
            for flags in [every, every | UTIL_PER_PROC, UTIL_STW] {
                let want = mutator_utilization(events, flags, Some(&Sparse { rows: &rows, values: &vals }));
                let want = want.expect("utilization");
                let (_, pass) =
                    crate::parse_stream(&data, crate::ParseOptions::default(), || Pass::new(flags)).expect("streams");
                let got = pass.finish().expect("streamed utilization");
                points += want.iter().map(Vec::len).sum::<usize>();
                assert_eq!(got, want, "{what}: flags {flags}");
            }
        }
        assert!(points > 150, "{points} points: too few to tell");
    }
}
