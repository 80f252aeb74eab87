//! Critical paths: why a window of one goroutine took as long as it did.
//!
//! The walk goes backwards in time from the window's end on its goroutine,
//! over the goroutines' state intervals (the `spans` table) and the edges
//! between them, read from the events that end and begin the intervals (the
//! same edges as `gotrace_df.wakeup_events`: the waker of a wait is the
//! goroutine of the event that makes it Runnable, the creator of a goroutine
//! the goroutine of its NotExist -> Runnable event):
//!
//! * running, in a syscall or runnable just before `t`: a segment of that
//!   state on the same goroutine (running split by its GC mark assists);
//! * waiting in `[ws, we)` with `we == t`, ended by a goroutine `W` running
//!   at `we`: the path jumps to `W` at `we` and walks `W` back no further than
//!   `max(ws, bound)` (only while the waiting goroutine waited), then returns
//!   to the waiting goroutine there; any other wait (ended by the scheduler,
//!   or still going on at `t`) is one blocked segment;
//! * the goroutine's first interval, entered by its creation at `c == t` by a
//!   goroutine running then: the path continues on the creator;
//! * before the goroutine's first interval: one segment of unknown state
//!   (the trace does not say what it did) down to the bound.
//!
//! Time never goes forward: every step either emits a segment that ends at
//! `t` and starts strictly before it, or jumps to a goroutine that is running
//! at `t` (which the next step emits), so a path has at most as many
//! segments as distinct state boundaries in its window, and the walk keeps
//! its own stack of bounds (no recursion: chains can be long).

use std::collections::HashMap;

use crate::take::Column;

/// Goroutine states as the caller codes them (any other code: not known).
pub const RUNNING: i64 = 0;
pub const RUNNABLE: i64 = 1;
pub const WAITING: i64 = 2;
pub const SYSCALL: i64 = 3;

/// Segment categories.
pub const C_RUNNING: i8 = 0;
pub const C_RUNNABLE: i8 = 1;
pub const C_SYSCALL: i8 = 2;
pub const C_ASSIST: i8 = 3;
pub const C_BLOCKED: i8 = 4;
pub const C_UNKNOWN: i8 = 5;

/// How the path entered a segment's goroutine from the segment before it in
/// time ([`Segments::edge`]).
pub const E_SAME: i8 = -1;
/// The previous segment's goroutine unblocked this one.
pub const E_UNBLOCKED: i8 = 0;
/// The previous segment's goroutine created this one.
pub const E_CREATED: i8 = 1;
/// The previous segment's goroutine began to wait here; the path follows the
/// goroutine that will end that wait.
pub const E_WAITED: i8 = 2;

/// The goroutines' state intervals as the `spans` table has them (each
/// goroutine's in time order): the goroutine, the times, and the rows of the
/// events that entered and left each (-1: none), from which the rest is read.
pub struct Spans<'a> {
    pub goid: Column<'a>,
    pub start: Column<'a>,
    pub end: Column<'a>,
    pub start_event: Column<'a>,
    pub end_event: Column<'a>,
}

/// The events columns read at the spans' events, by events row: the
/// goroutine of the event's context (-1: none), the event's stack and its
/// transition's stack, the state it enters ([`RUNNING`] ...; -1: another),
/// whether a transition is from NotExist / to Runnable (1) or not (0), and
/// its reason (a code per distinct reason, -1: none).
pub struct Events<'a> {
    pub g: Column<'a>,
    pub stack: Column<'a>,
    pub transition_stack: Column<'a>,
    pub to_state: Column<'a>,
    pub from_not_exist: Column<'a>,
    pub to_runnable: Column<'a>,
    pub reason: Column<'a>,
}

/// GC mark assist ranges, sorted by (goid, start), with the stack where each began.
pub struct Assists<'a> {
    pub goid: &'a [i64],
    pub start: &'a [i64],
    pub end: &'a [i64],
    pub stack: &'a [i64],
}

/// The windows to explain: the goroutine at whose `end` the walk starts, the
/// window `[start, end]` and the stack at `end` (-1: none).
pub struct Queries<'a> {
    pub goid: &'a [i64],
    pub start: &'a [i64],
    pub end: &'a [i64],
    pub stack: &'a [i64],
}

/// The paths' segments, each path in time order, paths in query order.
#[derive(Debug, Default, PartialEq)]
pub struct Segments {
    pub query: Vec<i64>,
    pub goid: Vec<i64>,
    pub category: Vec<i8>,
    /// A blocked segment's reason: that of the event that began its wait
    /// ([`Events::reason`]; -1: none, and on other segments).
    pub reason: Vec<i64>,
    pub start: Vec<i64>,
    pub end: Vec<i64>,
    pub stack: Vec<i64>,
    pub edge: Vec<i8>,
    /// A blocked segment's wait was ended by an event with no goroutine (the
    /// scheduler: netpoller, timer, runtime).
    pub leaf: Vec<bool>,
}

/// The spans grouped by goroutine (positions `p` in that order) with their
/// times, for the searches; what the walk reads of a span it is on, by span
/// row (read from the tables once, in order, rather than at random as the
/// walk goes); and the events to read the edges from.
struct Index<'a> {
    ev: &'a Events<'a>,
    /// By position: the span row, its start and end.
    rows: Vec<u32>,
    start: Vec<i64>,
    end: Vec<i64>,
    /// By span row: the events that entered and left it (-1: none), the
    /// state entered ([`RUNNING`] ...; -1: another) and those events'
    /// transition stacks (-1: none).
    start_event: Vec<i32>,
    end_event: Vec<i32>,
    state: Vec<i8>,
    start_stack: Vec<i32>,
    end_stack: Vec<i32>,
    /// Each goroutine's positions `lo..hi`.
    range: Goroutines,
}

/// A map from goroutine ID to its positions: a table indexed by ID when the
/// IDs are dense enough (they count up from 1 in a trace), else a hash map.
enum Goroutines {
    Dense { min: i64, slots: Vec<(usize, usize)> },
    Sparse(HashMap<i64, (usize, usize)>),
}

impl Goroutines {
    fn new(ids: impl Iterator<Item = (i64, (usize, usize))> + Clone, n: usize) -> Self {
        let (min, max) = ids.clone().fold((i64::MAX, i64::MIN), |(lo, hi), (g, _)| (lo.min(g), hi.max(g)));
        let span = max.checked_sub(min).and_then(|d| usize::try_from(d).ok());
        match span {
            Some(d) if d < 4 * n + 4096 => {
                let mut slots = vec![(0, 0); d + 1];
                for (g, r) in ids {
                    slots[(g - min) as usize] = r;
                }
                Goroutines::Dense { min, slots }
            }
            _ => Goroutines::Sparse(ids.collect()),
        }
    }

    #[inline]
    fn get(&self, g: i64) -> Option<(usize, usize)> {
        let r = match self {
            Goroutines::Dense { min, slots } => *slots.get(usize::try_from(g.checked_sub(*min)?).ok()?)?,
            Goroutines::Sparse(m) => *m.get(&g)?,
        };
        (r.1 > r.0).then_some(r)
    }

    fn ranges(&self) -> Vec<(usize, usize)> {
        match self {
            Goroutines::Dense { slots, .. } => slots.clone(),
            Goroutines::Sparse(m) => m.values().copied().collect(),
        }
    }
}

/// Whom a span's edge leads to: (goroutine, its stack at the event), or the
/// scheduler (no goroutine), or nothing.
enum Edge {
    Goroutine(i64, i64),
    Scheduler,
    None,
}

impl<'a> Index<'a> {
    fn new(s: &Spans<'_>, ev: &'a Events<'a>) -> Result<Self, String> {
        // A stable counting sort by goroutine: the table's order (time order
        // within a goroutine) is kept. Goroutine codes by first appearance,
        // through a table by ID when the IDs are dense enough.
        let n = s.goid.len();
        let mut goids = Vec::new();
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        for lo in (0..n).step_by(BLOCK) {
            s.goid.decode(lo, (lo + BLOCK).min(n), &mut goids);
            (min, max) = goids.iter().fold((min, max), |(lo, hi), &g| (lo.min(g), hi.max(g)));
        }
        let dense = max.checked_sub(min).and_then(|d| usize::try_from(d).ok()).filter(|&d| d < 4 * n + 4096);
        let mut table = vec![u32::MAX; dense.map_or(0, |d| d + 1)];
        let mut map: HashMap<i64, u32> = HashMap::new();
        let (mut ids, mut count, mut code) = (Vec::new(), Vec::<usize>::new(), Vec::with_capacity(n));
        for lo in (0..n).step_by(BLOCK) {
            s.goid.decode(lo, (lo + BLOCK).min(n), &mut goids);
            for &g in &goids {
                let c = if dense.is_some() { &mut table[(g - min) as usize] } else { map.entry(g).or_insert(u32::MAX) };
                if *c == u32::MAX {
                    *c = ids.len() as u32;
                    ids.push(g);
                    count.push(0);
                }
                count[*c as usize] += 1;
                code.push(*c);
            }
        }
        let mut fill = Vec::with_capacity(count.len());
        let mut at = 0;
        for n in &count {
            fill.push(at);
            at += n;
        }
        let range =
            Goroutines::new(ids.iter().enumerate().map(|(c, &g)| (g, (fill[c], fill[c] + count[c]))), ids.len());
        // The times to their positions (writes at random: the fewer
        // columns the better), while another thread reads the rest in the
        // table's order (the spans' start events ascend, so the events are
        // read nearly in order too).
        let block = |c: &Column<'_>, lo: usize, out: &mut Vec<i64>| c.decode(lo, (lo + BLOCK).min(n), out);
        let mut by_position = || {
            let (mut rows, mut start, mut end) = (vec![0u32; n], vec![0i64; n], vec![0i64; n]);
            let (mut s_buf, mut e_buf) = (Vec::new(), Vec::new());
            for lo in (0..n).step_by(BLOCK) {
                block(&s.start, lo, &mut s_buf);
                block(&s.end, lo, &mut e_buf);
                for (k, &c) in code[lo..lo + s_buf.len()].iter().enumerate() {
                    let p = fill[c as usize];
                    fill[c as usize] += 1;
                    (rows[p], start[p], end[p]) = ((lo + k) as u32, s_buf[k], e_buf[k]);
                }
            }
            (rows, start, end)
        };
        let by_row = || -> Result<_, String> {
            let narrow = |x: i64, what: &str| i32::try_from(x).map_err(|_| format!("{what} {x} out of range"));
            let (mut start_event, mut end_event) = (Vec::with_capacity(n), Vec::with_capacity(n));
            let (mut start_stack, mut end_stack, mut state) =
                (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
            let (mut se_buf, mut ee_buf, mut h) = (Vec::new(), Vec::new(), [0usize; 3]);
            for lo in (0..n).step_by(BLOCK) {
                block(&s.start_event, lo, &mut se_buf);
                block(&s.end_event, lo, &mut ee_buf);
                for (&se, &ee) in se_buf.iter().zip(&ee_buf) {
                    start_event.push(narrow(se, "event row")?);
                    end_event.push(narrow(ee, "event row")?);
                    state.push(i8::try_from(ev.to_state.get(se, &mut h[0])).unwrap_or(-1));
                    start_stack.push(narrow(ev.transition_stack.get(se, &mut h[1]), "stack ID")?);
                    end_stack.push(narrow(ev.transition_stack.get(ee, &mut h[2]), "stack ID")?);
                }
            }
            Ok((start_event, end_event, state, start_stack, end_stack))
        };
        let ((rows, start, end), read) = std::thread::scope(|sc| {
            let other = sc.spawn(by_row);
            (by_position(), other.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
        let (start_event, end_event, state, start_stack, end_stack) = read?;
        let ix = Index { ev, rows, start, end, start_event, end_event, state, start_stack, end_stack, range };
        for (lo, hi) in ix.range.ranges() {
            if ix.start[lo..hi].windows(2).any(|w| w[0] > w[1]) {
                return Err("a goroutine's spans are not in time order".into());
            }
        }
        Ok(ix)
    }

    /// The position of the span of goroutine `g` that holds the instant just
    /// before `t` (start < t <= end), or of its last span that starts before
    /// `t`, or None when `t` is at or before its first span. `near` is a
    /// position of the same goroutine to look at first (the walk mostly
    /// steps back one span at a time).
    fn before(&self, g: i64, t: i64, near: Option<usize>) -> Option<usize> {
        let (lo, hi) = self.range.get(g)?;
        if let Some(p) = near {
            for q in [p, p.wrapping_sub(1)] {
                if (lo..hi).contains(&q) && self.start[q] < t && t <= self.end[q] {
                    return Some(q);
                }
            }
        }
        let n = self.start[lo..hi].partition_point(|&x| x < t);
        (n > 0).then(|| lo + n - 1)
    }

    fn state(&self, p: usize) -> i64 {
        i64::from(self.state[self.rows[p] as usize])
    }

    /// The transition stack of the event that entered (or left) the span.
    fn stack(&self, p: usize, at_end: bool) -> i64 {
        let i = self.rows[p] as usize;
        i64::from(if at_end { self.end_stack[i] } else { self.start_stack[i] })
    }

    /// The reason of the event that entered the span.
    fn reason(&self, p: usize) -> i64 {
        self.ev.reason.get(self.start_event[self.rows[p] as usize].into(), &mut 0)
    }

    /// Whether goroutine `g` executes (runs or is in a syscall) just before `t`.
    fn executes(&self, g: i64, t: i64) -> bool {
        self.before(g, t, None).is_some_and(|p| self.end[p] >= t && matches!(self.state(p), RUNNING | SYSCALL))
    }

    /// The goroutine of event `e`, if it is a transition to Runnable
    /// (`to_runnable`) or from NotExist.
    fn actor(&self, e: i64, to_runnable: bool) -> Edge {
        let mut h = 0;
        let kind = if to_runnable { &self.ev.to_runnable } else { &self.ev.from_not_exist };
        if e < 0 || kind.get(e, &mut h) != 1 {
            return Edge::None;
        }
        match self.ev.g.get(e, &mut h) {
            -1 => Edge::Scheduler,
            g => Edge::Goroutine(g, self.ev.stack.get(e, &mut h)),
        }
    }

    /// The goroutine that ended the wait at position `p` (its end event made
    /// it Runnable).
    fn waker(&self, p: usize) -> Edge {
        self.actor(self.end_event[self.rows[p] as usize].into(), true)
    }

    /// The goroutine that created goroutine `g`, if position `p` is its
    /// first span and began with its creation.
    fn creator(&self, g: i64, p: usize) -> Edge {
        if self.range.get(g).map(|r| r.0) != Some(p) {
            return Edge::None;
        }
        self.actor(self.start_event[self.rows[p] as usize].into(), false)
    }
}

fn check_lengths(name: &str, cols: &[&[i64]]) -> Result<(), String> {
    if cols.iter().any(|c| c.len() != cols[0].len()) {
        return Err(format!("{name}: columns differ in length"));
    }
    Ok(())
}

/// The critical path of every query (see the module documentation).
pub fn critical_paths(s: &Spans<'_>, ev: &Events<'_>, a: &Assists<'_>, q: &Queries<'_>) -> Result<Segments, String> {
    let lens = [&s.goid, &s.start, &s.end, &s.start_event, &s.end_event].map(Column::len);
    if lens.iter().any(|&n| n != lens[0]) {
        return Err("spans: columns differ in length".into());
    }
    check_lengths("assists", &[a.goid, a.start, a.end, a.stack])?;
    check_lengths("queries", &[q.goid, q.start, q.end, q.stack])?;
    if lens[0] > u32::MAX as usize {
        return Err("too many spans".into());
    }
    if (1..a.goid.len()).any(|i| (a.goid[i - 1], a.start[i - 1]) > (a.goid[i], a.start[i])) {
        return Err("assists are not sorted by goroutine and start".into());
    }
    if let Some(k) = (0..q.goid.len()).find(|&k| q.start[k] > q.end[k]) {
        return Err(format!("query {k}: window start {} after its end {}", q.start[k], q.end[k]));
    }
    let index = Index::new(s, ev)?;
    // Each goroutine's assists.
    let mut ranges = Vec::new();
    for (k, &g) in a.goid.iter().enumerate() {
        match ranges.last_mut() {
            Some((h, (_, hi))) if *h == g => *hi = k + 1,
            _ => ranges.push((g, (k, k + 1))),
        }
    }
    let assists = Goroutines::new(ranges.iter().copied(), ranges.len());
    let walk = |ks: std::ops::Range<usize>| {
        let mut walk = Walk::default();
        for (done, k) in ks.clone().enumerate() {
            if walk.out.goid.capacity() - walk.out.goid.len() < 1024 {
                // Room for the rest at the rate so far: growing by doubling
                // would copy the segments again and again.
                let rate = (walk.out.goid.len() + 1024) as f64 / (done + 1) as f64;
                walk.out.reserve(1024 + (rate * 1.1 * (ks.len() - done) as f64) as usize);
            }
            walk.run(&index, a, &assists, q.goid[k], q.start[k], q.end[k], q.stack[k]);
            walk.flush(k as i64);
        }
        walk.out
    };
    // The paths are independent: a share of them on every core.
    let mut parts = crate::take::on_ranges(q.goid.len(), PARALLEL_QUERIES, walk).into_iter();
    let mut out = parts.next().unwrap_or_default();
    parts.for_each(|rest| out.append(rest));
    Ok(out)
}

/// Spans read from the tables at a time.
const BLOCK: usize = 4096;

/// Fewer queries than this per thread are not worth one.
const PARALLEL_QUERIES: usize = 1 << 10;

impl Segments {
    fn reserve(&mut self, n: usize) {
        self.query.reserve(n);
        self.goid.reserve(n);
        self.category.reserve(n);
        self.reason.reserve(n);
        self.start.reserve(n);
        self.end.reserve(n);
        self.stack.reserve(n);
        self.edge.reserve(n);
        self.leaf.reserve(n);
    }

    fn append(&mut self, mut o: Segments) {
        self.query.append(&mut o.query);
        self.goid.append(&mut o.goid);
        self.category.append(&mut o.category);
        self.reason.append(&mut o.reason);
        self.start.append(&mut o.start);
        self.end.append(&mut o.end);
        self.stack.append(&mut o.stack);
        self.edge.append(&mut o.edge);
        self.leaf.append(&mut o.leaf);
    }
}

/// The walks of a share of the paths: the paths so far, and the one being
/// walked after them (from `base` on) in reverse time order.
#[derive(Default)]
struct Walk {
    out: Segments,
    base: usize,
    /// How the walk last changed goroutine (the edge of the latest segment
    /// if the next one is on another goroutine).
    jump: i8,
    /// The goroutines to return to, with their bounds.
    frames: Vec<(i64, i64)>,
}

impl Walk {
    #[allow(clippy::too_many_arguments)]
    fn run(&mut self, ix: &Index<'_>, a: &Assists<'_>, assists: &Goroutines, goid: i64, lo: i64, hi: i64, stack: i64) {
        let (mut g, mut t, mut bound, mut at_stack) = (goid, hi, lo, stack);
        let mut near = None;
        self.frames.clear();
        self.jump = E_SAME;
        loop {
            if t <= bound {
                let Some((back, b)) = self.frames.pop() else { break };
                (g, bound, at_stack, near) = (back, b, -1, None);
                self.jump = E_WAITED;
                continue;
            }
            let Some(p) = ix.before(g, t, near).filter(|&p| ix.end[p] >= t) else {
                // Before the goroutine's first span (or a hole in its spans).
                let from = ix.before(g, t, near).map_or(bound, |p| ix.end[p].max(bound));
                self.emit(g, C_UNKNOWN, from, t, -1);
                t = from;
                continue;
            };
            near = Some(p);
            let from = ix.start[p].max(bound);
            let state = ix.state(p);
            match state {
                RUNNING => {
                    let stack = if t == ix.end[p] { ix.stack(p, true) } else { at_stack };
                    self.running(a, assists.get(g), g, from, t, stack);
                }
                SYSCALL => self.emit(g, C_SYSCALL, from, t, ix.stack(p, false)),
                WAITING => {
                    let waker = if t == ix.end[p] { ix.waker(p) } else { Edge::None };
                    // Follow an edge only to a goroutine that executes then:
                    // the next step emits a segment of it, so time keeps
                    // going back.
                    if let Edge::Goroutine(w, w_stack) = waker {
                        if ix.executes(w, t) {
                            self.frames.push((g, bound));
                            (g, bound, at_stack, near) = (w, from, w_stack, None);
                            self.jump = E_UNBLOCKED;
                            continue;
                        }
                    }
                    self.emit(g, C_BLOCKED, from, t, ix.stack(p, false));
                    if let (Some(leaf), Some(reason)) = (self.out.leaf.last_mut(), self.out.reason.last_mut()) {
                        *leaf = matches!(waker, Edge::Scheduler);
                        *reason = ix.reason(p);
                    }
                }
                RUNNABLE => self.emit(g, C_RUNNABLE, from, t, ix.stack(p, false)),
                _ => self.emit(g, C_UNKNOWN, from, t, -1),
            }
            t = from;
            at_stack = -1;
            if t == ix.start[p] && t > bound {
                if let Edge::Goroutine(c, c_stack) = ix.creator(g, p) {
                    if ix.executes(c, t) {
                        (g, at_stack, near) = (c, c_stack, None);
                        self.jump = E_CREATED;
                    }
                }
            }
        }
    }

    /// A running span of `g` from `lo` to `hi`, split by its GC mark
    /// assists; `stack` is where it stood at `hi`.
    fn running(&mut self, a: &Assists<'_>, mine: Option<(usize, usize)>, g: i64, lo: i64, hi: i64, mut stack: i64) {
        // The assists of g that begin before hi, latest first (one
        // goroutine's assists do not overlap: their ends are sorted too).
        let (first, last) = mine.unwrap_or((0, 0));
        let past = first + a.start[first..last].partition_point(|&s| s < hi);
        let mut t = hi;
        for k in (first..past).rev() {
            if a.end[k] <= lo || t <= lo {
                break;
            }
            let (s, e) = (a.start[k].max(lo), a.end[k].min(t));
            if e <= s {
                continue;
            }
            self.emit(g, C_RUNNING, e, t, stack);
            self.emit(g, C_ASSIST, s, e, a.stack[k]);
            t = s;
            stack = a.stack[k];
        }
        self.emit(g, C_RUNNING, lo, t, stack);
    }

    fn emit(&mut self, g: i64, category: i8, start: i64, end: i64, stack: i64) {
        if start >= end {
            return;
        }
        let o = &mut self.out;
        if o.goid.len() > self.base {
            let last = o.goid.len() - 1;
            if o.goid[last] != g {
                o.edge[last] = self.jump;
            }
        }
        o.goid.push(g);
        o.category.push(category);
        o.reason.push(-1);
        o.start.push(start);
        o.end.push(end);
        o.stack.push(stack);
        o.edge.push(E_SAME);
        o.leaf.push(false);
    }

    /// Puts the path walked in time order, as query `query`'s.
    fn flush(&mut self, query: i64) {
        let (o, b) = (&mut self.out, self.base);
        o.query.resize(o.goid.len(), query);
        o.goid[b..].reverse();
        o.category[b..].reverse();
        o.reason[b..].reverse();
        o.start[b..].reverse();
        o.end[b..].reverse();
        o.stack[b..].reverse();
        o.edge[b..].reverse();
        o.leaf[b..].reverse();
        self.base = o.goid.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int64Array};

    /// (goid, category, start, end, stack, edge) of each segment of query `k`.
    fn path(out: &Segments, k: i64) -> Vec<(i64, i8, i64, i64, i64, i8)> {
        (0..out.query.len())
            .filter(|&i| out.query[i] == k)
            .map(|i| (out.goid[i], out.category[i], out.start[i], out.end[i], out.stack[i], out.edge[i]))
            .collect()
    }

    // G1 runs, creates G2 at 5, waits [10, 50) until G2 wakes it, runs to
    // 100. G2 runs [8, 20) with a GC assist [12, 15), sleeps [20, 40)
    // (a timer ends it), runs [40, 60) and exits. In the table's order.
    const GOID: [i64; 8] = [1, 2, 2, 1, 2, 2, 1, 1];
    const STATE: [i64; 8] = [RUNNING, RUNNABLE, RUNNING, WAITING, WAITING, RUNNING, RUNNABLE, RUNNING];
    const START: [i64; 8] = [0, 5, 8, 10, 20, 40, 50, 55];
    const END: [i64; 8] = [10, 8, 20, 50, 40, 60, 55, 100];
    const STACK: [i64; 8] = [-1, -1, -1, 12, 22, -1, -1, -1];
    const END_STACK: [i64; 8] = [10, -1, 20, -1, -1, 23, -1, 11];
    // Events 0..8 enter spans 0..8, events 8..16 leave them: 1 is G1
    // creating G2, 11 G2 waking G1, 12 the timer waking G2.
    const START_EVENT: [i64; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
    const END_EVENT: [i64; 8] = [8, 9, 10, 11, 12, 13, 14, 15];

    /// goid, start, end, start_event, end_event.
    struct SpanArrays([Int64Array; 5]);

    fn span_arrays(goid: &[i64], start: &[i64], end: &[i64]) -> SpanArrays {
        let a = |v: &[i64]| Int64Array::from(v.to_vec());
        SpanArrays([a(goid), a(start), a(end), a(&START_EVENT), a(&END_EVENT)])
    }

    fn spans_of(a: &SpanArrays) -> Spans<'_> {
        let [goid, start, end, start_event, end_event] = a.0.each_ref().map(col);
        Spans { goid, start, end, start_event, end_event }
    }

    fn arrays() -> SpanArrays {
        span_arrays(&GOID, &START, &END)
    }

    struct EventArrays([Int64Array; 7]);

    fn event_arrays() -> EventArrays {
        let mut g: Vec<Option<i64>> = GOID.iter().chain(&GOID).map(|&g| Some(g)).collect();
        let mut stack = vec![-1; 16];
        let mut from_not_exist = vec![0; 16];
        let mut to_runnable = vec![0; 16];
        (g[1], stack[1], from_not_exist[1]) = (Some(1), 3, 1);
        (g[11], stack[11], to_runnable[11]) = (Some(2), 7, 1);
        (g[12], to_runnable[12]) = (None, 1);
        let transition_stack: Vec<i64> = STACK.iter().chain(&END_STACK).copied().collect();
        let to_state: Vec<i64> = STATE.iter().chain(&[-1; 8]).copied().collect();
        let mut reason = vec![-1; 16];
        (reason[3], reason[4]) = (5, 6);
        EventArrays([
            Int64Array::from(g),
            Int64Array::from(stack),
            Int64Array::from(transition_stack),
            Int64Array::from(to_state),
            Int64Array::from(from_not_exist),
            Int64Array::from(to_runnable),
            Int64Array::from(reason),
        ])
    }

    fn col(x: &Int64Array) -> Column<'_> {
        Column::ints(&[x as &dyn Array]).unwrap()
    }

    fn events(a: &EventArrays) -> Events<'_> {
        Events {
            g: col(&a.0[0]),
            stack: col(&a.0[1]),
            transition_stack: col(&a.0[2]),
            to_state: col(&a.0[3]),
            from_not_exist: col(&a.0[4]),
            to_runnable: col(&a.0[5]),
            reason: col(&a.0[6]),
        }
    }

    fn assists() -> Assists<'static> {
        assists_of(&[2])
    }

    fn assists_of(goid: &[i64]) -> Assists<'_> {
        Assists { goid, start: &[12], end: &[15], stack: &[21] }
    }

    #[test]
    fn follows_the_waker_only_while_waiting_and_the_creator() {
        let q = Queries { goid: &[1, 2, 3], start: &[0, 0, 0], end: &[100, 60, 5], stack: &[9, -1, -1] };
        let ea = event_arrays();
        let out = critical_paths(&spans_of(&arrays()), &events(&ea), &assists(), &q).unwrap();
        #[rustfmt::skip]
        assert_eq!(path(&out, 0), vec![
            (1, C_RUNNING, 0, 10, 10, E_SAME),
            (2, C_RUNNING, 10, 12, 21, E_WAITED),
            (2, C_ASSIST, 12, 15, 21, E_SAME),
            (2, C_RUNNING, 15, 20, 20, E_SAME),
            (2, C_BLOCKED, 20, 40, 22, E_SAME),
            (2, C_RUNNING, 40, 50, 7, E_SAME),
            (1, C_RUNNABLE, 50, 55, -1, E_UNBLOCKED),
            (1, C_RUNNING, 55, 100, 11, E_SAME),
        ]);
        let blocked = out.category.iter().position(|&c| c == C_BLOCKED).unwrap();
        assert!(out.leaf[blocked]);
        assert_eq!(out.stack[blocked], 22);
        // Its reason is that of the event that began the wait; no other segment has one.
        assert_eq!(out.reason[blocked], 6);
        assert_eq!(
            out.reason.iter().filter(|&&r| r >= 0).count(),
            out.category.iter().filter(|&&c| c == C_BLOCKED).count()
        );
        #[rustfmt::skip]
        assert_eq!(path(&out, 1), vec![
            (1, C_RUNNING, 0, 5, 3, E_SAME),
            (2, C_RUNNABLE, 5, 8, -1, E_CREATED),
            (2, C_RUNNING, 8, 12, 21, E_SAME),
            (2, C_ASSIST, 12, 15, 21, E_SAME),
            (2, C_RUNNING, 15, 20, 20, E_SAME),
            (2, C_BLOCKED, 20, 40, 22, E_SAME),
            (2, C_RUNNING, 40, 60, 23, E_SAME),
        ]);
        // A goroutine the spans do not know: its state is unknown.
        assert_eq!(path(&out, 2), vec![(3, C_UNKNOWN, 0, 5, -1, E_SAME)]);
    }

    #[test]
    fn many_queries_give_each_its_own_path_in_order() {
        let n = PARALLEL_QUERIES * 2 + 1;
        let (goid, start, end, stack) = (vec![1; n], vec![0; n], vec![100; n], vec![9; n]);
        let q = Queries { goid: &goid, start: &start, end: &end, stack: &stack };
        let ea = event_arrays();
        let out = critical_paths(&spans_of(&arrays()), &events(&ea), &assists(), &q).unwrap();
        let q1 = Queries { goid: &[1], start: &[0], end: &[100], stack: &[9] };
        let one = critical_paths(&spans_of(&arrays()), &events(&ea), &assists(), &q1).unwrap();
        assert_eq!(out.query.len(), n * one.query.len());
        for k in [0, n / 2 - 1, n / 2, n - 1] {
            assert_eq!(path(&out, k as i64), path(&one, 0));
        }
        assert!(out.query.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn sparse_goroutine_ids_give_the_same_paths() {
        const BIG: i64 = 1 << 40;
        let goid: Vec<i64> = GOID.iter().map(|g| g * BIG).collect();
        let sa = span_arrays(&goid, &START, &END);
        let s = spans_of(&sa);
        let mut ea = event_arrays();
        ea.0[0] = ea.0[0].iter().map(|g| g.map(|g| g * BIG)).collect();
        let q = Queries { goid: &[BIG], start: &[0], end: &[100], stack: &[9] };
        let out = critical_paths(&s, &events(&ea), &assists_of(&[2 * BIG]), &q).unwrap();
        let dense =
            critical_paths(&spans_of(&arrays()), &events(&event_arrays()), &assists(), &Queries { goid: &[1], ..q })
                .unwrap();
        assert_eq!(out.goid, dense.goid.iter().map(|g| g * BIG).collect::<Vec<_>>());
        assert_eq!((&out.category, &out.start, &out.stack), (&dense.category, &dense.start, &dense.stack));
    }

    #[test]
    fn a_wait_at_the_window_end_is_blocked_and_a_bound_clips() {
        let q = Queries { goid: &[1, 1], start: &[30, 0], end: &[45, 0], stack: &[-1, -1] };
        let ea = event_arrays();
        let out = critical_paths(&spans_of(&arrays()), &events(&ea), &assists(), &q).unwrap();
        assert_eq!(path(&out, 0), vec![(1, C_BLOCKED, 30, 45, 12, E_SAME)]);
        assert!(!out.leaf[0]);
        assert_eq!(path(&out, 1), vec![]);
    }

    #[test]
    fn a_link_to_a_goroutine_not_running_is_not_followed() {
        // G1's wait ends at 30, while G2 sleeps.
        let start = [0, 5, 8, 10, 20, 40, 30, 55];
        let end = [10, 8, 20, 30, 40, 60, 55, 100];
        let sa = span_arrays(&GOID, &start, &end);
        let s = spans_of(&sa);
        let q = Queries { goid: &[1], start: &[0], end: &[100], stack: &[-1] };
        let ea = event_arrays();
        let out = critical_paths(&s, &events(&ea), &assists(), &q).unwrap();
        assert!(out.goid.iter().all(|&g| g == 1));
        assert_eq!(out.start[0], 0);
        assert_eq!(out.end.last(), Some(&100));
    }

    #[test]
    fn bad_input_is_an_error() {
        let q = Queries { goid: &[1], start: &[0], end: &[100], stack: &[-1] };
        let ea = event_arrays();
        let ev = events(&ea);
        let short = span_arrays(&GOID[..7], &START, &END);
        assert!(critical_paths(&spans_of(&short), &ev, &assists(), &q).is_err());
        let unsorted = span_arrays(&GOID, &[10, 5, 8, 0, 20, 40, 50, 55], &END);
        let s = spans_of(&unsorted);
        assert!(critical_paths(&s, &ev, &assists(), &q).is_err());
        let back = Queries { goid: &[1], start: &[5], end: &[1], stack: &[-1] };
        assert!(critical_paths(&spans_of(&arrays()), &ev, &assists(), &back).is_err());
    }
}
