//! Tables derived from the ordered events in the same pass: spans,
//! goroutines, procs, tasks, regions, logs, metrics, gc, cpu_samples, syncs,
//! experimental. Each row refers back to the events table by row index.

use super::cols::{binary_col, dict_arrays, enum_array, enum_col, opt, prim, prim_array, str_col, Chunked, Sentinel};
use super::pipe::{Rec, SyncRec};
use super::{batch, batches, Row, STATES};
use crate::idmap::IdMap;
use crate::intern::Interner;
use crate::model::{resource, state};
use crate::order::{gostate, NO_ID};
use crate::wire::ClockSnapshot;
use arrow_array::types::{Int32Type, Int64Type, UInt64Type};
use arrow_array::RecordBatch;
use rustc_hash::FxHashMap;

type Ctx = (i64, i64, i64);

fn id(v: i64) -> Option<i64> {
    (v != NO_ID).then_some(v)
}

fn ev(i: usize) -> Option<i32> {
    Some(i as i32)
}

/// The spans table, chunked: the largest derived table. A span is stored as
/// the two events that bound it; every other column of it is a column of its
/// start or end event, gathered on the Python side when asked for (see
/// gotrace_df/_expand.py), so a span costs 8 bytes instead of 57.
#[derive(Default)]
struct Spans {
    start_event: Chunked<i32>,
    end_event: Chunked<i32>,
}

/// The goroutines table, one row per goroutine, filled in as its events
/// arrive; columns rather than row structs, so finishing it copies nothing.
#[derive(Default)]
struct Goroutines {
    goid: Chunked<i64>,
    name: Chunked<u32>,
    created: Chunked<i64>,
    creator: Chunked<i64>,
    first_run: Chunked<i64>,
    end: Chunked<i64>,
    final_state: Chunked<i8>,
    creation_stack: Chunked<i32>,
    start_stack: Chunked<i32>,
    label: Chunked<u32>,
}

struct ProcSpan {
    proc: i32,
    state: u8,
    start: i64,
    end: Option<i64>,
    m: Option<i64>,
    goid: Option<i64>,
    start_event: Option<i32>,
}

struct Task {
    id: i64,
    parent: Option<i64>,
    name: u32,
    start: Option<i64>,
    end: Option<i64>,
    start_goid: Option<i64>,
    end_goid: Option<i64>,
    start_event: Option<i32>,
    end_event: Option<i32>,
}

/// The regions table, as the events that begin and end each region (every
/// other column is a column of one of them, gathered on the Python side, see
/// gotrace_df/_expand.py), its task and its nesting depth.
#[derive(Default)]
struct Regions {
    task: Chunked<i64>,
    depth: Chunked<i32>,
    start_event: Chunked<i32>,
    end_event: Chunked<i32>,
}

impl Regions {
    fn push(&mut self, task: i64, depth: i32, start_event: Option<i32>) {
        self.task.push(task);
        self.depth.push(depth);
        self.start_event.push(opt(start_event));
        self.end_event.push(i32::NULL);
    }
}

struct Range {
    name: u32,
    start: i64,
    end: Option<i64>,
    goid: Option<i64>,
    proc: Option<i32>,
    start_event: Option<i32>,
    end_event: Option<i32>,
    attrs: Option<(i64, i64)>,
}

/// (event, ts, goid, task, category, message, stack)
type LogRow = (i32, i64, Option<i64>, i64, u32, u32, Option<i32>);
/// (event, ts, goid, proc, thread, stack)
type SampleRow = (i32, i64, Option<i64>, Option<i32>, Option<i64>, Option<i32>);

struct Sync {
    event: i32,
    n: i64,
    gen: Option<i64>,
    clock: Option<ClockSnapshot>,
}

#[derive(Default)]
pub struct Derived {
    sync_ts: i64,
    spans: Spans,
    open_span: IdMap,
    gs: Goroutines,
    g_index: IdMap,
    procs: Vec<ProcSpan>,
    open_proc: FxHashMap<i64, usize>,
    tasks: Vec<Task>,
    task_index: FxHashMap<i64, usize>,
    regions: Regions,
    /// Each goroutine's innermost open region; the regions open around it
    /// follow `enclosing`. A linked stack per goroutine, found through a
    /// dense map: no hashing and no allocation per goroutine.
    open_region: IdMap,
    /// For each region, the region open around it when it began (u32::MAX:
    /// none), while regions are open.
    enclosing: Vec<u32>,
    logs: Vec<LogRow>,
    /// (event, ts, name, value)
    metrics: Vec<(i32, i64, u32, i64)>,
    ranges: Vec<Range>,
    open_range: FxHashMap<(u32, i64), usize>,
    samples: Vec<SampleRow>,
    syncs: Vec<Sync>,
    /// (event, experiment, arg, value)
    exp: Vec<(i32, u32, u32, u64)>,
    /// (event, experiment, thread, data)
    exp_batches: Vec<(i32, u32, i64, Vec<u8>)>,
}

impl Derived {
    pub fn sync(
        &mut self,
        idx: usize,
        time: i64,
        n: u64,
        gen: Option<i64>,
        clock: Option<ClockSnapshot>,
        batches: Vec<(u32, i64, Vec<u8>)>,
    ) {
        self.sync_ts = time;
        self.syncs.push(Sync { event: idx as i32, n: n as i64, gen, clock });
        for (exp, thread, data) in batches {
            self.exp_batches.push((idx as i32, exp, thread, data));
        }
    }

    pub fn cpu_sample(&mut self, idx: usize, ts: i64, ctx: Ctx, stack: Option<i32>) {
        self.samples.push((idx as i32, ts, id(ctx.0), id(ctx.1).map(|p| p as i32), id(ctx.2), stack));
    }

    pub fn metric(&mut self, idx: usize, ts: i64, name: u32, value: i64) {
        self.metrics.push((idx as i32, ts, name, value));
    }

    pub fn label(&mut self, g: i64, label: u32) {
        if let Some(i) = self.g_index.get(g) {
            self.gs.label.set(i, label);
        }
    }

    pub fn experimental(&mut self, idx: usize, exp: u32, arg: u32, value: u64) {
        self.exp.push((idx as i32, exp, arg, value));
    }

    #[allow(clippy::too_many_arguments)]
    pub fn log(&mut self, idx: usize, ts: i64, g: i64, task: i64, cat: u32, msg: u32, stack: Option<i32>) {
        self.logs.push((idx as i32, ts, id(g), task, cat, msg, stack));
    }

    #[allow(clippy::too_many_arguments)]
    pub fn range(&mut self, idx: usize, kind: u8, ts: i64, name: u32, res: u8, rid: i64, attrs: Option<(i64, i64)>) {
        let key = (name, rid);
        let (goid, proc) = match res {
            resource::GOROUTINE => (id(rid), None),
            resource::PROC => (None, id(rid).map(|p| p as i32)),
            _ => (None, None),
        };
        match kind {
            super::kind::RANGE_BEGIN | super::kind::RANGE_ACTIVE => {
                if kind == super::kind::RANGE_ACTIVE && self.open_range.contains_key(&key) {
                    return;
                }
                let start = if kind == super::kind::RANGE_ACTIVE { self.sync_ts } else { ts };
                self.open_range.insert(key, self.ranges.len());
                self.ranges.push(Range {
                    name,
                    start,
                    end: None,
                    goid,
                    proc,
                    start_event: ev(idx),
                    end_event: None,
                    attrs: None,
                });
            }
            _ => match self.open_range.remove(&key) {
                Some(i) => {
                    let r = &mut self.ranges[i];
                    r.end = Some(ts);
                    r.end_event = ev(idx);
                    r.attrs = attrs;
                }
                None => self.ranges.push(Range {
                    name,
                    start: self.sync_ts,
                    end: Some(ts),
                    goid,
                    proc,
                    start_event: None,
                    end_event: ev(idx),
                    attrs,
                }),
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn task(&mut self, idx: usize, begin: bool, ts: i64, task: i64, parent: Option<i64>, name: u32, g: i64) {
        if begin {
            self.task_index.insert(task, self.tasks.len());
            self.tasks.push(Task {
                id: task,
                parent,
                name,
                start: Some(ts),
                end: None,
                start_goid: id(g),
                end_goid: None,
                start_event: ev(idx),
                end_event: None,
            });
            return;
        }
        if let Some(&i) = self.task_index.get(&task) {
            let t = &mut self.tasks[i];
            if t.end.is_none() {
                t.end = Some(ts);
                t.end_goid = id(g);
                t.end_event = ev(idx);
                return;
            }
        }
        self.task_index.insert(task, self.tasks.len());
        self.tasks.push(Task {
            id: task,
            parent,
            name,
            start: None,
            end: Some(ts),
            start_goid: None,
            end_goid: id(g),
            start_event: None,
            end_event: ev(idx),
        });
    }

    pub fn region(&mut self, idx: usize, begin: bool, g: i64, task: i64) {
        let rs = &mut self.regions;
        let top = self.open_region.get(g);
        if begin {
            let i = rs.task.len();
            // A region's depth is the number of regions open around it.
            let depth = top.map_or(0, |t| rs.depth.get(t) + 1);
            rs.push(task, depth, ev(idx));
            self.enclosing.push(top.map_or(u32::MAX, |t| t as u32));
            self.open_region.insert(g, i);
            return;
        }
        let i = match top {
            Some(t) => {
                match self.enclosing[t] {
                    u32::MAX => drop(self.open_region.remove(g)),
                    up => self.open_region.insert(g, up as usize),
                }
                t
            }
            None => {
                rs.push(task, 0, None);
                self.enclosing.push(u32::MAX);
                rs.task.len() - 1
            }
        };
        rs.end_event.set(i, idx as i32);
    }

    /// The state transition recorded by events row `idx`.
    pub fn transition(&mut self, idx: usize, row: &Row) {
        let (ts, ctx, t) = (row.ts, row.ctx(), row.transition());
        let stack = (row.stack != i32::NULL).then_some(row.stack);
        let outer_func = row.outer_func();
        if t.from == t.to {
            return;
        }
        let start = if t.from == gostate::UNDETERMINED { self.sync_ts } else { ts };
        if t.resource == resource::PROC {
            if let Some(i) = self.open_proc.remove(&t.id) {
                self.procs[i].end = Some(ts);
            }
            if t.to == gostate::RUNNING || t.to == state::IDLE {
                self.open_proc.insert(t.id, self.procs.len());
                self.procs.push(ProcSpan {
                    proc: t.id as i32,
                    state: t.to,
                    start,
                    end: None,
                    m: id(ctx.2),
                    goid: id(ctx.0),
                    start_event: ev(idx),
                });
            }
            return;
        }
        let goid = t.id;
        let gs = &mut self.gs;
        let gi = match (t.from, self.g_index.get(goid)) {
            (gostate::NOT_EXIST | gostate::UNDETERMINED, _) | (_, None) => {
                let created = t.from == gostate::NOT_EXIST;
                let i = gs.goid.len();
                self.g_index.insert(goid, i);
                gs.goid.push(goid);
                gs.name.push(u32::NULL);
                gs.created.push(if created { ts } else { i64::NULL });
                gs.creator.push(if created { opt(id(ctx.0)) } else { i64::NULL });
                gs.first_run.push(i64::NULL);
                gs.end.push(i64::NULL);
                gs.final_state.push(0);
                gs.creation_stack.push(if created { opt(stack) } else { i32::NULL });
                gs.start_stack.push(if created { opt(t.stack) } else { i32::NULL });
                gs.label.push(u32::NULL);
                i
            }
            (_, Some(i)) => i,
        };
        // Go's summarizer names a goroutine after the outermost frame of
        // the first transition stack that has one.
        if let Some(f) = outer_func {
            if gs.name.get(gi) == u32::NULL {
                gs.name.set(gi, f);
            }
        }
        if t.to == gostate::RUNNING && gs.first_run.get(gi) == i64::NULL {
            gs.first_run.set(gi, ts);
        }
        gs.final_state.set(gi, t.to as i8);
        if t.to == gostate::NOT_EXIST {
            gs.end.set(gi, ts);
            self.g_index.remove(goid);
            self.open_region.remove(goid);
        }
        let sp = &mut self.spans;
        if let Some(i) = self.open_span.remove(goid) {
            sp.end_event.set(i, idx as i32);
        }
        if t.to != gostate::NOT_EXIST {
            self.open_span.insert(goid, sp.start_event.len());
            sp.start_event.push(idx as i32);
            sp.end_event.push(i32::NULL);
        }
    }

    /// Takes one event's facts.
    pub fn apply(&mut self, rec: Rec) {
        match rec {
            Rec::Sync(s) => {
                let SyncRec { idx, time, n, gen, clock, batches } = *s;
                self.sync(idx, time, n, gen, clock, batches)
            }
            Rec::Sample { idx, ts, ctx, stack } => self.cpu_sample(idx, ts, ctx, stack),
            Rec::Metric { idx, ts, name, value } => self.metric(idx, ts, name, value),
            Rec::Label { g, label } => self.label(g, label),
            Rec::Range { idx, kind, ts, name, res, rid, attrs } => self.range(idx, kind, ts, name, res, rid, attrs),
            Rec::Task { idx, begin, ts, task, parent, name, g } => self.task(idx, begin, ts, task, parent, name, g),
            Rec::Region { idx, begin, g, task } => self.region(idx, begin, g, task),
            Rec::Log { idx, ts, g, task, cat, msg, stack } => self.log(idx, ts, g, task, cat, msg, stack),
            Rec::Exp { idx, exp, arg, value } => self.experimental(idx, exp, arg, value),
            Rec::Transition(_) | Rec::Row(_) | Rec::Strings(_) => {}
        }
    }

    pub fn finish(self, s: &Interner, end_ns: i64) -> Vec<(&'static str, Vec<RecordBatch>)> {
        let mut out = Vec::new();
        let sp = self.spans;
        let p32 = |c: Chunked<i32>| c.into_chunks().into_iter().map(prim_array::<Int32Type>).collect();
        // A span still open at the end (null end_event) lasts until the trace ends.
        out.push(("spans", batches(vec![("start_event", p32(sp.start_event)), ("end_event", p32(sp.end_event))])));
        let mut out: Vec<(&'static str, Vec<RecordBatch>)> = out;
        let gs = self.gs;
        let p64 = |c: Chunked<i64>| c.into_chunks().into_iter().map(prim_array::<Int64Type>).collect();
        let p32 = |c: Chunked<i32>| c.into_chunks().into_iter().map(prim_array::<Int32Type>).collect();
        let en = |c: Chunked<i8>| c.into_chunks().into_iter().map(|c| enum_array(c, &STATES)).collect();
        out.push((
            "goroutines",
            batches(vec![
                ("goid", p64(gs.goid)),
                ("name", dict_arrays(gs.name.into_chunks(), s)),
                ("created", p64(gs.created)),
                ("creator_goid", p64(gs.creator)),
                ("first_run", p64(gs.first_run)),
                ("end", p64(gs.end)),
                ("final_state", en(gs.final_state)),
                ("creation_stack_id", p32(gs.creation_stack)),
                ("start_stack_id", p32(gs.start_stack)),
                ("label", dict_arrays(gs.label.into_chunks(), s)),
            ]),
        ));
        let ps = &self.procs;
        out.push((
            "procs",
            one(batch(vec![
                ("proc", prim::<Int32Type>(ps.iter().map(|x| Some(x.proc)))),
                ("state", enum_col(ps.iter().map(|x| Some(x.state)), &STATES)),
                ("start", prim::<Int64Type>(ps.iter().map(|x| Some(x.start)))),
                ("end", prim::<Int64Type>(ps.iter().map(|x| Some(x.end.unwrap_or(end_ns))))),
                ("m", prim::<Int64Type>(ps.iter().map(|x| x.m))),
                ("goid", prim::<Int64Type>(ps.iter().map(|x| x.goid))),
                ("start_event", prim::<Int32Type>(ps.iter().map(|x| x.start_event))),
            ])),
        ));
        let ts = &self.tasks;
        let dur = |a: Option<i64>, b: Option<i64>| a.zip(b).map(|(a, b)| b - a);
        out.push((
            "tasks",
            one(batch(vec![
                ("task_id", prim::<Int64Type>(ts.iter().map(|x| Some(x.id)))),
                ("parent_id", prim::<Int64Type>(ts.iter().map(|x| x.parent))),
                ("name", str_col(ts.iter().map(|x| Some(x.name)), s)),
                ("start", prim::<Int64Type>(ts.iter().map(|x| x.start))),
                ("end", prim::<Int64Type>(ts.iter().map(|x| x.end))),
                ("duration", prim::<Int64Type>(ts.iter().map(|x| dur(x.start, x.end)))),
                ("start_goid", prim::<Int64Type>(ts.iter().map(|x| x.start_goid))),
                ("end_goid", prim::<Int64Type>(ts.iter().map(|x| x.end_goid))),
                ("start_event", prim::<Int32Type>(ts.iter().map(|x| x.start_event))),
                ("end_event", prim::<Int32Type>(ts.iter().map(|x| x.end_event))),
            ])),
        ));
        let rs = self.regions;
        out.push((
            "regions",
            batches(vec![
                ("task_id", p64(rs.task)),
                ("depth", p32(rs.depth)),
                ("start_event", p32(rs.start_event)),
                ("end_event", p32(rs.end_event)),
            ]),
        ));
        let ls = &self.logs;
        out.push((
            "logs",
            one(batch(vec![
                ("event", prim::<Int32Type>(ls.iter().map(|x| Some(x.0)))),
                ("ts", prim::<Int64Type>(ls.iter().map(|x| Some(x.1)))),
                ("goid", prim::<Int64Type>(ls.iter().map(|x| x.2))),
                ("task_id", prim::<Int64Type>(ls.iter().map(|x| Some(x.3)))),
                ("category", str_col(ls.iter().map(|x| Some(x.4)), s)),
                ("message", str_col(ls.iter().map(|x| Some(x.5)), s)),
                ("stack_id", prim::<Int32Type>(ls.iter().map(|x| x.6))),
            ])),
        ));
        let ms = &self.metrics;
        out.push((
            "metrics",
            one(batch(vec![
                ("event", prim::<Int32Type>(ms.iter().map(|x| Some(x.0)))),
                ("ts", prim::<Int64Type>(ms.iter().map(|x| Some(x.1)))),
                ("name", str_col(ms.iter().map(|x| Some(x.2)), s)),
                ("value", prim::<Int64Type>(ms.iter().map(|x| Some(x.3)))),
            ])),
        ));
        let gc = &self.ranges;
        out.push((
            "gc",
            one(batch(vec![
                ("kind", str_col(gc.iter().map(|x| Some(x.name)), s)),
                ("start", prim::<Int64Type>(gc.iter().map(|x| Some(x.start)))),
                ("end", prim::<Int64Type>(gc.iter().map(|x| x.end))),
                ("goid", prim::<Int64Type>(gc.iter().map(|x| x.goid))),
                ("proc", prim::<Int32Type>(gc.iter().map(|x| x.proc))),
                ("start_event", prim::<Int32Type>(gc.iter().map(|x| x.start_event))),
                ("end_event", prim::<Int32Type>(gc.iter().map(|x| x.end_event))),
                ("bytes_swept", prim::<Int64Type>(gc.iter().map(|x| x.attrs.map(|a| a.0)))),
                ("bytes_reclaimed", prim::<Int64Type>(gc.iter().map(|x| x.attrs.map(|a| a.1)))),
            ])),
        ));
        let cs = &self.samples;
        out.push((
            "cpu_samples",
            one(batch(vec![
                ("event", prim::<Int32Type>(cs.iter().map(|x| Some(x.0)))),
                ("ts", prim::<Int64Type>(cs.iter().map(|x| Some(x.1)))),
                ("goid", prim::<Int64Type>(cs.iter().map(|x| x.2))),
                ("proc", prim::<Int32Type>(cs.iter().map(|x| x.3))),
                ("thread", prim::<Int64Type>(cs.iter().map(|x| x.4))),
                ("stack_id", prim::<Int32Type>(cs.iter().map(|x| x.5))),
            ])),
        ));
        let sy = &self.syncs;
        let wall = |c: &ClockSnapshot| (c.sec as i64).wrapping_mul(1_000_000_000).wrapping_add(c.nsec as i64);
        out.push((
            "syncs",
            one(batch(vec![
                ("event", prim::<Int32Type>(sy.iter().map(|x| Some(x.event)))),
                ("n", prim::<Int64Type>(sy.iter().map(|x| Some(x.n)))),
                ("gen", prim::<Int64Type>(sy.iter().map(|x| x.gen))),
                ("clock_trace", prim::<Int64Type>(sy.iter().map(|x| x.clock.map(|c| c.trace)))),
                ("clock_wall", prim::<Int64Type>(sy.iter().map(|x| x.clock.as_ref().map(wall)))),
                ("clock_mono", prim::<Int64Type>(sy.iter().map(|x| x.clock.map(|c| c.mono as i64)))),
            ])),
        ));
        let ex = &self.exp;
        out.push((
            "experimental",
            one(batch(vec![
                ("event", prim::<Int32Type>(ex.iter().map(|x| Some(x.0)))),
                ("experiment", small_str_col(ex.iter().map(|x| x.1), s)),
                ("arg", small_str_col(ex.iter().map(|x| x.2), s)),
                ("value", prim::<UInt64Type>(ex.iter().map(|x| Some(x.3)))),
            ])),
        ));
        let eb = &self.exp_batches;
        out.push((
            "experimental_batches",
            one(batch(vec![
                ("event", prim::<Int32Type>(eb.iter().map(|x| Some(x.0)))),
                ("experiment", small_str_col(eb.iter().map(|x| x.1), s)),
                ("thread", prim::<Int64Type>(eb.iter().map(|x| Some(x.2)))),
                ("data", binary_col(eb.iter().map(|x| x.3.as_slice()))),
            ])),
        ));
        out
    }
}

fn one(b: RecordBatch) -> Vec<RecordBatch> {
    vec![b]
}

/// An int8-keyed dictionary column for string sets known to be tiny
/// (experiment and argument names).
fn small_str_col(it: impl Iterator<Item = u32>, s: &Interner) -> arrow_array::ArrayRef {
    let ids: Vec<u32> = it.collect();
    let mut names: Vec<u32> = Vec::new();
    let codes: Vec<Option<u8>> = ids
        .iter()
        .map(|g| {
            let i = names.iter().position(|n| n == g).unwrap_or_else(|| {
                names.push(*g);
                names.len() - 1
            });
            Some(i as u8)
        })
        .collect();
    let owned: Vec<String> = names.iter().map(|&g| String::from_utf8_lossy(s.get(g)).into_owned()).collect();
    let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
    enum_col(codes.into_iter(), &refs)
}
