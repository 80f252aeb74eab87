//! Critical paths: why a window of one goroutine took as long as it did.
//!
//! The walk goes backwards in time from the window's end on its goroutine,
//! over the goroutines' state intervals (the `spans` table, sorted by
//! goroutine then start) and the edges between them (the goroutine that
//! ended each wait, the one that created each goroutine):
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

/// Goroutine states as the caller codes them (any other code: not known).
pub const RUNNING: i64 = 0;
pub const RUNNABLE: i64 = 1;
pub const WAITING: i64 = 2;
pub const SYSCALL: i64 = 3;

/// How a span is linked to another goroutine ([`Spans::link_kind`]).
pub const NO_LINK: i64 = 0;
/// A wait ended by goroutine `link` (whose stack at the unblock is `link_stack`).
pub const UNBLOCKED_BY: i64 = 1;
/// The goroutine's first span, entered by its creation by goroutine `link`.
pub const CREATED_BY: i64 = 2;

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

/// The goroutines' state intervals, sorted by (goid, start); per span the
/// stack of the event that entered it and of the one that left it (-1: none)
/// and its link to another goroutine.
pub struct Spans<'a> {
    pub goid: &'a [i64],
    pub state: &'a [i64],
    pub start: &'a [i64],
    pub end: &'a [i64],
    pub stack: &'a [i64],
    pub end_stack: &'a [i64],
    pub link_kind: &'a [i64],
    pub link: &'a [i64],
    pub link_stack: &'a [i64],
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
    /// The span it is a piece of (row in the sorted spans; -1: none).
    pub span: Vec<i64>,
    pub start: Vec<i64>,
    pub end: Vec<i64>,
    pub stack: Vec<i64>,
    pub edge: Vec<i8>,
}

/// One goroutine's spans: `lo..hi` of the sorted spans.
struct Index<'a> {
    s: &'a Spans<'a>,
    ids: Vec<i64>,
    first: Vec<usize>,
}

impl<'a> Index<'a> {
    fn new(s: &'a Spans<'a>) -> Self {
        let (mut ids, mut first) = (Vec::new(), Vec::new());
        for (i, &g) in s.goid.iter().enumerate() {
            if ids.last() != Some(&g) {
                ids.push(g);
                first.push(i);
            }
        }
        first.push(s.goid.len());
        Index { s, ids, first }
    }

    /// The span of goroutine `g` that holds the instant just before `t`
    /// (start < t <= end), or None when `t` is at or before its first span.
    fn before(&self, g: i64, t: i64) -> Option<usize> {
        let k = self.ids.binary_search(&g).ok()?;
        let (lo, hi) = (self.first[k], self.first[k + 1]);
        let n = self.s.start[lo..hi].partition_point(|&x| x < t);
        (n > 0).then(|| lo + n - 1)
    }

    /// Whether goroutine `g` executes (runs or is in a syscall) just before `t`.
    fn executes(&self, g: i64, t: i64) -> bool {
        self.before(g, t).is_some_and(|i| self.s.end[i] >= t && matches!(self.s.state[i], RUNNING | SYSCALL))
    }
}

fn check_lengths(name: &str, cols: &[&[i64]]) -> Result<(), String> {
    if cols.iter().any(|c| c.len() != cols[0].len()) {
        return Err(format!("{name}: columns differ in length"));
    }
    Ok(())
}

fn check_sorted(name: &str, goid: &[i64], start: &[i64]) -> Result<(), String> {
    let ok = (1..goid.len()).all(|i| (goid[i - 1], start[i - 1]) <= (goid[i], start[i]));
    if !ok {
        return Err(format!("{name} are not sorted by goroutine and start"));
    }
    Ok(())
}

/// The critical path of every query (see the module documentation).
pub fn critical_paths(s: &Spans<'_>, a: &Assists<'_>, q: &Queries<'_>) -> Result<Segments, String> {
    check_lengths(
        "spans",
        &[s.goid, s.state, s.start, s.end, s.stack, s.end_stack, s.link_kind, s.link, s.link_stack],
    )?;
    check_lengths("assists", &[a.goid, a.start, a.end, a.stack])?;
    check_lengths("queries", &[q.goid, q.start, q.end, q.stack])?;
    check_sorted("spans", s.goid, s.start)?;
    check_sorted("assists", a.goid, a.start)?;
    let index = Index::new(s);
    let mut out = Segments::default();
    let mut walk = Walk::default();
    for k in 0..q.goid.len() {
        if q.start[k] > q.end[k] {
            return Err(format!("query {k}: window start {} after its end {}", q.start[k], q.end[k]));
        }
        walk.run(&index, a, q.goid[k], q.start[k], q.end[k], q.stack[k]);
        walk.flush(k as i64, &mut out);
    }
    Ok(out)
}

/// One path's walk, its segments in reverse time order.
#[derive(Default)]
struct Walk {
    goid: Vec<i64>,
    category: Vec<i8>,
    span: Vec<i64>,
    start: Vec<i64>,
    end: Vec<i64>,
    stack: Vec<i64>,
    edge: Vec<i8>,
    /// How the walk last changed goroutine (the edge of the latest segment
    /// if the next one is on another goroutine).
    jump: i8,
    /// The goroutines to return to, with their bounds.
    frames: Vec<(i64, i64)>,
}

impl Walk {
    fn run(&mut self, ix: &Index<'_>, a: &Assists<'_>, goid: i64, lo: i64, hi: i64, stack: i64) {
        let s = ix.s;
        let (mut g, mut t, mut bound, mut at_stack) = (goid, hi, lo, stack);
        self.frames.clear();
        self.jump = E_SAME;
        loop {
            if t <= bound {
                let Some((back, b)) = self.frames.pop() else { break };
                (g, bound, at_stack) = (back, b, -1);
                self.jump = E_WAITED;
                continue;
            }
            let Some(i) = ix.before(g, t).filter(|&i| s.end[i] >= t) else {
                // Before the goroutine's first span (or a hole in its spans).
                let from = ix.before(g, t).map_or(bound, |i| s.end[i].max(bound));
                self.emit(g, C_UNKNOWN, -1, from, t, -1);
                t = from;
                continue;
            };
            let from = s.start[i].max(bound);
            let state = s.state[i];
            // Follow a link only to a goroutine that executes then: the next
            // step emits a segment of it, so time keeps going back.
            let linked = |kind: i64, t: i64| s.link_kind[i] == kind && ix.executes(s.link[i], t);
            match state {
                RUNNING | SYSCALL => {
                    let stack = if t == s.end[i] { s.end_stack[i] } else { at_stack };
                    if state == RUNNING {
                        self.running(a, g, i as i64, from, t, stack);
                    } else {
                        self.emit(g, C_SYSCALL, i as i64, from, t, s.stack[i]);
                    }
                }
                WAITING if t == s.end[i] && linked(UNBLOCKED_BY, t) => {
                    self.frames.push((g, bound));
                    (g, bound, at_stack) = (s.link[i], from, s.link_stack[i]);
                    self.jump = E_UNBLOCKED;
                    continue;
                }
                WAITING => self.emit(g, C_BLOCKED, i as i64, from, t, s.stack[i]),
                RUNNABLE => self.emit(g, C_RUNNABLE, i as i64, from, t, s.stack[i]),
                _ => self.emit(g, C_UNKNOWN, i as i64, from, t, -1),
            }
            t = from;
            at_stack = -1;
            if t == s.start[i] && t > bound && linked(CREATED_BY, t) {
                (g, at_stack) = (s.link[i], s.link_stack[i]);
                self.jump = E_CREATED;
            }
        }
    }

    /// Running span `span` of `g` from `lo` to `hi`, split by its GC mark
    /// assists; `stack` is where it stood at `hi`.
    fn running(&mut self, a: &Assists<'_>, g: i64, span: i64, lo: i64, hi: i64, mut stack: i64) {
        // The assists of g that begin before hi, latest first (one
        // goroutine's assists do not overlap: their ends are sorted too).
        let first = a.goid.partition_point(|&x| x < g);
        let last = a.goid.partition_point(|&x| x <= g);
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
            self.emit(g, C_RUNNING, span, e, t, stack);
            self.emit(g, C_ASSIST, span, s, e, a.stack[k]);
            t = s;
            stack = a.stack[k];
        }
        self.emit(g, C_RUNNING, span, lo, t, stack);
    }

    fn emit(&mut self, g: i64, category: i8, span: i64, start: i64, end: i64, stack: i64) {
        if start >= end {
            return;
        }
        if let Some(last) = self.goid.len().checked_sub(1) {
            if self.goid[last] != g {
                self.edge[last] = self.jump;
            }
        }
        self.goid.push(g);
        self.category.push(category);
        self.span.push(span);
        self.start.push(start);
        self.end.push(end);
        self.stack.push(stack);
        self.edge.push(E_SAME);
    }

    /// Appends the path in time order to `out` and empties it.
    fn flush(&mut self, query: i64, out: &mut Segments) {
        let n = self.goid.len();
        out.query.extend(std::iter::repeat_n(query, n));
        out.goid.extend(self.goid.drain(..).rev());
        out.category.extend(self.category.drain(..).rev());
        out.span.extend(self.span.drain(..).rev());
        out.start.extend(self.start.drain(..).rev());
        out.end.extend(self.end.drain(..).rev());
        out.stack.extend(self.stack.drain(..).rev());
        out.edge.extend(self.edge.drain(..).rev());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (goid, category, start, end, stack, edge) of each segment of query `k`.
    fn path(out: &Segments, k: i64) -> Vec<(i64, i8, i64, i64, i64, i8)> {
        (0..out.query.len())
            .filter(|&i| out.query[i] == k)
            .map(|i| (out.goid[i], out.category[i], out.start[i], out.end[i], out.stack[i], out.edge[i]))
            .collect()
    }

    // G1 runs, creates G2 at 5, waits [10, 50) until G2 wakes it, runs to
    // 100. G2 runs [8, 20) with a GC assist [12, 15), sleeps [20, 40)
    // (a timer ends it: no link), runs [40, 60) and exits.
    const GOID: [i64; 8] = [1, 1, 1, 1, 2, 2, 2, 2];
    const STATE: [i64; 8] = [RUNNING, WAITING, RUNNABLE, RUNNING, RUNNABLE, RUNNING, WAITING, RUNNING];
    const START: [i64; 8] = [0, 10, 50, 55, 5, 8, 20, 40];
    const END: [i64; 8] = [10, 50, 55, 100, 8, 20, 40, 60];
    const STACK: [i64; 8] = [-1, 12, -1, -1, -1, -1, 22, -1];
    const END_STACK: [i64; 8] = [10, -1, -1, 11, -1, 20, -1, 23];
    const LINK_KIND: [i64; 8] = [0, UNBLOCKED_BY, 0, 0, CREATED_BY, 0, 0, 0];
    const LINK: [i64; 8] = [-1, 2, -1, -1, 1, -1, -1, -1];
    const LINK_STACK: [i64; 8] = [-1, 7, -1, -1, 3, -1, -1, -1];

    fn spans() -> Spans<'static> {
        Spans {
            goid: &GOID,
            state: &STATE,
            start: &START,
            end: &END,
            stack: &STACK,
            end_stack: &END_STACK,
            link_kind: &LINK_KIND,
            link: &LINK,
            link_stack: &LINK_STACK,
        }
    }

    fn assists() -> Assists<'static> {
        Assists { goid: &[2], start: &[12], end: &[15], stack: &[21] }
    }

    #[test]
    fn follows_the_waker_only_while_waiting_and_the_creator() {
        let q = Queries { goid: &[1, 2, 3], start: &[0, 0, 0], end: &[100, 60, 5], stack: &[9, -1, -1] };
        let out = critical_paths(&spans(), &assists(), &q).unwrap();
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
    fn a_wait_at_the_window_end_is_blocked_and_a_bound_clips() {
        let q = Queries { goid: &[1, 1], start: &[30, 0], end: &[45, 0], stack: &[-1, -1] };
        let out = critical_paths(&spans(), &assists(), &q).unwrap();
        assert_eq!(path(&out, 0), vec![(1, C_BLOCKED, 30, 45, 12, E_SAME)]);
        assert_eq!(path(&out, 1), vec![]);
    }

    #[test]
    fn a_link_to_a_goroutine_not_running_is_not_followed() {
        // G1's waker is G2, but G2 is asleep at 50 in this variant.
        let link = [-1, 2, -1, -1, 1, -1, -1, -1];
        let end = [10, 30, 55, 100, 8, 20, 40, 60];
        let start = [0, 10, 30, 55, 5, 8, 20, 40];
        let s = Spans { link: &link, start: &start, end: &end, ..spans() };
        let q = Queries { goid: &[1], start: &[0], end: &[100], stack: &[-1] };
        let out = critical_paths(&s, &assists(), &q).unwrap();
        assert!(out.goid.iter().all(|&g| g == 1));
        assert_eq!(out.start[0], 0);
        assert_eq!(out.end.last(), Some(&100));
    }

    #[test]
    fn bad_input_is_an_error() {
        let q = Queries { goid: &[1], start: &[0], end: &[100], stack: &[-1] };
        let short = Spans { goid: &GOID[..7], ..spans() };
        assert!(critical_paths(&short, &assists(), &q).is_err());
        let unsorted = [2, 1, 1, 1, 2, 2, 2, 2];
        let s = Spans { goid: &unsorted, ..spans() };
        assert!(critical_paths(&s, &assists(), &q).is_err());
        let back = Queries { goid: &[1], start: &[5], end: &[1], stack: &[-1] };
        assert!(critical_paths(&spans(), &assists(), &back).is_err());
    }
}
