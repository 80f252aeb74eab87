//! The timeline's lane index: the spans in some states, grouped into lanes
//! (by P, by M or by goroutine) and sorted by start within each lane, read
//! straight from the events table through the spans' two event references.
//! The viewer draws from this before anyone needs the spans table itself,
//! whose gathering costs more than drawing.

use crate::evtable::{cols, scan, st, Classes, Kind};
use crate::idmap::IdMap;
use crate::model::resource;
use crate::take::{on_both, Column};
use arrow_array::RecordBatch;

/// When spans start and end: the times of their two events, except that a
/// span entered from Undetermined (a state first seen through a status
/// event) holds since the Sync that opened its generation, and one that has
/// not ended ends at `end_ns`. Columns are indexed by events row.
pub struct SpanClock<'a> {
    pub ts: Column<'a>,
    /// 1 where the transition left Undetermined, else 0.
    pub from_undetermined: Column<'a>,
    /// Rows of the Sync events, ascending.
    pub sync_rows: &'a [i64],
    pub end_ns: i64,
}

impl SpanClock<'_> {
    /// Start of the span whose start event is `ev` (`h`: chunk hints).
    #[inline]
    pub fn start(&self, ev: i64, h: &mut [usize; 3]) -> i64 {
        if self.from_undetermined.get(ev, &mut h[1]) == 1 {
            let at = self.sync_rows.partition_point(|&r| r <= ev);
            if at > 0 {
                return self.ts.get(self.sync_rows[at - 1], &mut h[2]);
            }
        }
        self.ts.get(ev, &mut h[0])
    }

    /// End of the span whose end event is `e` (-1: none yet).
    #[inline]
    pub fn end(&self, e: i64, h: &mut usize) -> i64 {
        if e < 0 {
            self.end_ns
        } else {
            self.ts.get(e, h)
        }
    }
}

/// What the lane index reads: `start_event`/`end_event` indexed by spans
/// row, the others by events row.
pub struct SpanRefs<'a> {
    pub start_event: Column<'a>,
    pub end_event: Column<'a>,
    pub clock: SpanClock<'a>,
    /// Index of the state the transition entered among the wanted states,
    /// -1 for another state.
    pub to_state: Column<'a>,
    /// The goroutine (the transition's resource).
    pub goid: Column<'a>,
    /// The lane of a span (the start event's P or M); None: the goroutine.
    pub lane: Option<Column<'a>>,
    /// On proc lanes: spans in this wanted state (Syscall) end when their P
    /// stops running, if sooner.
    pub held: Option<(usize, ProcHeld)>,
}

/// When each P stops running. A goroutine keeps its P through a syscall
/// until the P is stolen or stopped, so on a proc lane (as in cmd/trace's
/// proc view) its Syscall span ends then, if sooner.
pub struct ProcHeld {
    lane: IdMap,
    /// Per P: the start events of its Running periods, ascending, and
    /// their ends (ns).
    runs: Vec<(Vec<i64>, Vec<i64>)>,
}

impl ProcHeld {
    /// From the Running periods of the procs table: (P, start event, end).
    pub fn new(running: impl IntoIterator<Item = (i64, i64, i64)>) -> Self {
        let mut lane = IdMap::default();
        let mut runs: Vec<(Vec<i64>, Vec<i64>)> = Vec::new();
        for (p, ev, end) in running {
            let i = lane.get(p).unwrap_or_else(|| {
                lane.insert(p, runs.len());
                runs.push(Default::default());
                runs.len() - 1
            });
            runs[i].0.push(ev);
            runs[i].1.push(end);
        }
        for (evs, ends) in &mut runs {
            if !evs.windows(2).all(|w| w[0] <= w[1]) {
                let mut idx: Vec<usize> = (0..evs.len()).collect();
                idx.sort_by_key(|&k| evs[k]);
                (*evs, *ends) = idx.iter().map(|&k| (evs[k], ends[k])).unzip();
            }
        }
        ProcHeld { lane, runs }
    }

    /// When P `p`, running at event row `ev`, stops running (None: it was
    /// not seen running by then).
    fn until(&self, p: i64, ev: i64) -> Option<i64> {
        let (evs, ends) = &self.runs[self.lane.get(p)?];
        let at = evs.partition_point(|&r| r <= ev);
        (at > 0).then(|| ends[at - 1])
    }
}

/// How intervals are coloured: a category per wanted state, or the
/// category of the goroutine's group.
pub struct Colours<'a> {
    /// Category of each wanted state; None: the goroutine's group.
    pub by_state: Vec<Option<u8>>,
    /// Goroutine `goids[i]` is in group category `groups[i]` (the last
    /// listed wins); goroutines not listed are `other`.
    pub goids: &'a [i64],
    pub groups: &'a [u8],
    pub other: u8,
}

/// Spans grouped by lane. Lane `i` (key `keys[i]`, ascending) holds the
/// intervals `first[i]..first[i + 1]` (the last lane up to `rows.len()`),
/// sorted by start.
#[derive(Debug, Default)]
pub struct Lanes {
    pub keys: Vec<i64>,
    pub first: Vec<i64>,
    /// Row of each interval in the spans table.
    pub rows: Vec<i64>,
    pub cat: Vec<u8>,
    /// Start and end in ns from `origin` (end >= start).
    pub start: Vec<f64>,
    pub end: Vec<f64>,
}

/// The lane index of the spans in a wanted state that have a lane (a span
/// without a P or M is on no proc or thread lane), timed by `src.clock`.
///
/// Two passes over the spans, each on two threads if the core may use two
/// (one per half of the spans): the first counts each lane's intervals, so
/// that the second writes each one in its final place. No intermediate copies: on a big trace,
/// fresh memory costs more than the reads.
pub fn span_lanes(src: &SpanRefs<'_>, colours: &Colours<'_>, origin: i64) -> Lanes {
    let n = src.start_event.len() as i64;
    let halves = [(0, n / 2), (n / 2, n)];
    let counted = on_both(halves, |(a, b)| count_lanes(src, a, b));
    let mut keys: Vec<i64> = counted.iter().flat_map(|(k, _)| k.iter().copied()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut lane_of = IdMap::default();
    for (l, &k) in keys.iter().enumerate() {
        lane_of.insert(k, l);
    }
    // Lane l holds first[l].., the first half's intervals, then the second's.
    let mut per_half = [vec![0i64; keys.len()], vec![0i64; keys.len()]];
    for (h, (ks, counts)) in counted.iter().enumerate() {
        for (k, c) in ks.iter().zip(counts) {
            per_half[h][lane_of.get(*k).unwrap_or(0)] = *c;
        }
    }
    let mut first = Vec::with_capacity(keys.len());
    let mut at = 0i64;
    for (c0, c1) in per_half[0].iter().zip(&per_half[1]) {
        first.push(at);
        at += c0 + c1;
    }
    let m = at as usize;
    let mut out = Lanes { keys, rows: vec![0; m], cat: vec![0; m], start: vec![0.0; m], end: vec![0.0; m], first };
    let pos = [out.first.clone(), out.first.iter().zip(&per_half[0]).map(|(f, c)| f + c).collect()];
    let group = goroutine_groups(colours);
    let dst = Dst {
        len: m,
        rows: out.rows.as_mut_ptr(),
        cat: out.cat.as_mut_ptr(),
        start: out.start.as_mut_ptr(),
        end: out.end.as_mut_ptr(),
    };
    let fill = Fill { src, colours, group: &group, lane_of: &lane_of, origin, dst: &dst };
    on_both([(halves[0], pos[0].clone()), (halves[1], pos[1].clone())], |((a, b), pos)| fill.run(a, b, pos));
    sort_lanes(&mut out);
    out
}

/// The span's start event, lane key and state index, if span `j` is kept.
#[inline(always)]
fn kept(src: &SpanRefs<'_>, j: i64, h: &mut [usize; 5]) -> Option<(i64, i64, usize)> {
    let ev = src.start_event.get(j, &mut h[0]);
    let s = src.to_state.get(ev, &mut h[1]);
    if s < 0 {
        return None;
    }
    let k = match &src.lane {
        Some(lane) => lane.get(ev, &mut h[2]),
        None => src.goid.get(ev, &mut h[2]),
    };
    (k >= 0 || src.lane.is_none()).then_some((ev, k, s as usize))
}

/// Pass 1 over spans `a..b`: the lanes (first seen first) and their counts.
fn count_lanes(src: &SpanRefs<'_>, a: i64, b: i64) -> (Vec<i64>, Vec<i64>) {
    let mut h = [0usize; 5];
    let mut lane_of = IdMap::default();
    let (mut keys, mut count) = (Vec::new(), Vec::new());
    for j in a..b {
        let Some((_, k, _)) = kept(src, j, &mut h) else { continue };
        let l = lane_of.get(k).unwrap_or_else(|| {
            lane_of.insert(k, keys.len());
            keys.push(k);
            count.push(0);
            keys.len() - 1
        });
        count[l] += 1;
    }
    (keys, count)
}

/// Where pass 2 writes: the output columns of [`Lanes`].
struct Dst {
    len: usize,
    rows: *mut i64,
    cat: *mut u8,
    start: *mut f64,
    end: *mut f64,
}

// SAFETY: the two threads of pass 2 write disjoint slots (see Fill::run).
unsafe impl Sync for Dst {}

/// Pass 2: everything a thread needs to write its half's intervals.
struct Fill<'a, 'b> {
    src: &'a SpanRefs<'b>,
    colours: &'a Colours<'b>,
    group: &'a IdMap,
    lane_of: &'a IdMap,
    origin: i64,
    dst: &'a Dst,
}

impl Fill<'_, '_> {
    /// Writes the kept spans of `a..b`, lane `l`'s from slot `pos[l]` on.
    fn run(&self, a: i64, b: i64, mut pos: Vec<i64>) {
        let (src, colours) = (self.src, self.colours);
        let (mut h, mut hc) = ([0usize; 5], [0usize; 3]);
        for j in a..b {
            let Some((ev, k, s)) = kept(src, j, &mut h) else { continue };
            let Some(l) = self.lane_of.get(k) else { continue };
            let d = pos[l] as usize;
            pos[l] += 1;
            if d >= self.dst.len {
                continue; // cannot happen: pass 1 counted these spans
            }
            let t = src.clock.start(ev, &mut hc);
            let mut end = src.clock.end(src.end_event.get(j, &mut h[3]), &mut h[4]);
            if let Some((_, held)) = src.held.as_ref().filter(|(state, _)| *state == s) {
                end = held.until(k, ev).map_or(end, |u| end.min(u));
            }
            let cat = match colours.by_state.get(s).copied().flatten() {
                Some(c) => c,
                None => {
                    let g = if src.lane.is_none() { k } else { src.goid.get(ev, &mut h[2]) };
                    self.group.get(g).and_then(|i| colours.groups.get(i)).copied().unwrap_or(colours.other)
                }
            };
            // SAFETY: pass 1 counted, for this half, exactly the spans this
            // loop keeps in lane l, and the slots from pos[l] on for that many
            // are this half's alone (the other half's follow them), all
            // inside the columns' length.
            unsafe {
                *self.dst.rows.add(d) = j;
                *self.dst.cat.add(d) = cat;
                *self.dst.start.add(d) = (t - self.origin) as f64;
                *self.dst.end.add(d) = (end.max(t) - self.origin) as f64;
            }
        }
    }
}

/// Goroutine ID -> index into `colours.groups`.
fn goroutine_groups(colours: &Colours<'_>) -> IdMap {
    let mut m = IdMap::default();
    if colours.by_state.iter().any(Option::is_none) {
        for (i, &g) in colours.goids.iter().enumerate().take(colours.groups.len()) {
            m.insert(g, i);
        }
    }
    m
}

/// Sorts by start the lanes that are not (a span dated back to its
/// generation's Sync can start before the span listed ahead of it).
fn sort_lanes(l: &mut Lanes) {
    let n = l.rows.len();
    for i in 0..l.first.len() {
        let a = l.first[i] as usize;
        let b = l.first.get(i + 1).map_or(n, |&x| x as usize);
        if l.start[a..b].windows(2).all(|w| w[0] <= w[1]) {
            continue;
        }
        let mut idx: Vec<usize> = (a..b).collect();
        idx.sort_by(|&x, &y| l.start[x].total_cmp(&l.start[y]));
        fn permute<T: Copy>(v: &mut [T], idx: &[usize], a: usize) {
            let seg: Vec<T> = idx.iter().map(|&k| v[k]).collect();
            v[a..a + seg.len()].copy_from_slice(&seg);
        }
        permute(&mut l.rows, &idx, a);
        permute(&mut l.cat, &idx, a);
        permute(&mut l.start, &idx, a);
        permute(&mut l.end, &idx, a);
    }
}

/// A counter over time: (time in ns from an origin, new value) at each change.
pub type Counter = (Vec<f64>, Vec<i32>);

/// Goroutines running, runnable, in a syscall and waiting inside a GC mark
/// assist over time: for each of the four, the time (ns from `origin`) and
/// new count at every goroutine transition that changes it, in event order
/// (the timeline's counters). As cmd/trace, a transition counts as in a mark
/// assist if the goroutine's "GC mark assist" range is open when it happens.
pub fn goroutine_counts(batches: &[RecordBatch], origin: i64) -> Result<[Counter; 4], String> {
    const COUNTED: [u8; 3] = [st::RUNNING, st::RUNNABLE, st::SYSCALL];
    let mut out: [Counter; 4] = Default::default();
    let mut n = [0i32; 4];
    let mut assisting = IdMap::default();
    let want = cols::RESOURCE | cols::RESOURCE_ID | cols::FROM | cols::TO | cols::NAME;
    scan(batches, &MarkAssist, want, None, |ev| {
        if ev.resource != resource::GOROUTINE {
            return;
        }
        match ev.kind {
            Kind::RangeBegin | Kind::RangeActive if ev.name == 1 => assisting.insert(ev.resource_id, 1),
            Kind::RangeEnd if ev.name == 1 => {
                assisting.remove(ev.resource_id);
            }
            Kind::StateTransition if ev.from != ev.to => {
                let assist = assisting.get(ev.resource_id).is_some();
                let waiting = |s: u8| i32::from(assist && s == st::WAITING);
                let d = COUNTED.map(|s| i32::from(ev.to == s) - i32::from(ev.from == s));
                for (i, d) in d.into_iter().chain([waiting(ev.to) - waiting(ev.from)]).enumerate() {
                    if d != 0 {
                        n[i] += d;
                        out[i].0.push((ev.ts - origin) as f64);
                        out[i].1.push(n[i]);
                    }
                }
            }
            _ => {}
        }
    })?;
    Ok(out)
}

/// The counters read one name: "GC mark assist" (class 1).
struct MarkAssist;

impl Classes for MarkAssist {
    fn reason(&self, _: &str) -> u8 {
        0
    }
    fn name(&self, s: &str) -> u8 {
        u8::from(s == "GC mark assist")
    }
}
