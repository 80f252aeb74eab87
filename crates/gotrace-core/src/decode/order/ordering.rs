//! Go's `ordering`: per goroutine, proc and thread state, and the rule of
//! each event type for whether it may come next (sequence numbers, statuses,
//! open ranges). An event that may not yet waits in its cursor.

use super::{
    go_status_to_state, gostate, lookup_string, proc_status_to_state, procstate, Event, SchedCtx, NO_ID, NO_TASK,
};
use crate::idmap::IdSlab;
use crate::spec::{ev, gostatus, pstatus, SPECS};
use crate::wire::Generation;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Seq {
    gen: u64,
    seq: u64,
}

impl Seq {
    fn succeeds(self, b: Seq) -> bool {
        self.gen == b.gen && self.seq == b.seq.wrapping_add(1)
    }
}

/// A range in flight: (Begin event type, wire string ID of its kind).
type RangeType = (u8, u64);

#[derive(Default)]
struct Ranges(Vec<RangeType>);

impl Ranges {
    fn begin(&mut self, t: RangeType) -> Result<(), String> {
        if self.0.contains(&t) {
            return Err(format!(
                "discovered event already in-flight for when starting event {}",
                SPECS[t.0 as usize].name
            ));
        }
        self.0.push(t);
        Ok(())
    }
    fn active(&mut self, t: RangeType, initial_gen: bool) -> Result<(), String> {
        if initial_gen {
            if self.0.contains(&t) {
                return Err(format!("found named active range already in first gen: {}", SPECS[t.0 as usize].name));
            }
            self.0.push(t);
        } else if !self.0.contains(&t) {
            return Err(format!("resource is missing active range: {}", SPECS[t.0 as usize].name));
        }
        Ok(())
    }
    fn end(&mut self, typ: u8) -> Result<u64, String> {
        let st = SPECS[typ as usize].start_ev;
        let Some(idx) = self.0.iter().position(|r| r.0 == st) else {
            return Err(format!("tried to end event {}, but not in-flight", SPECS[st as usize].name));
        };
        let desc = self.0[idx].1;
        self.0.swap_remove(idx);
        Ok(desc)
    }
}

fn range_type(typ: u8, desc: u64) -> RangeType {
    let st = SPECS[typ as usize].start_ev;
    (if st != 0 { st } else { typ }, desc)
}

struct GState {
    status: u64,
    seq: Seq,
    /// Open regions: (task, global name ID).
    regions: Vec<(u64, u32)>,
    ranges: Ranges,
}

struct PState {
    status: u64,
    seq: Seq,
    ranges: Ranges,
}

#[derive(Clone, Copy)]
struct MState {
    g: i64,
    p: i64,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum GcState {
    Undetermined,
    NotRunning,
    Running,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    MustNot,
    May,
    Must,
}

const USER_GO: [Need; 3] = [Need::Must, Need::Must, Need::Must];

fn validate_ctx(ctx: SchedCtx, [m, p, g]: [Need; 3]) -> Result<(), String> {
    let check = |need: Need, have: bool, what: &str| match (need, have) {
        (Need::Must, false) => Err(format!("expected {what} but didn't have one")),
        (Need::MustNot, true) => Err(format!("expected no {} but had one", &what[2..])),
        _ => Ok(()),
    };
    check(m, ctx.m != NO_ID, "a thread")?;
    check(p, ctx.p != NO_ID, "a proc")?;
    check(g, ctx.g != NO_ID, "a goroutine")?;
    Ok(())
}

/// Go's `ordering`.
pub struct Ordering {
    g: IdSlab<GState>,
    p: IdSlab<PState>,
    m: IdSlab<MState>,
    tasks: FxHashMap<u64, (u32, u64)>,
    gc_seq: u64,
    gc_state: GcState,
    initial_gen: u64,
    pub queue: VecDeque<Event>,
    /// Input offset of the event being advanced: what the events it queues carry.
    at: usize,
    /// Work spent in scans whose length the input controls (all threads, a
    /// goroutine's open ranges): counted against the Reader's budget.
    pub work: u64,
}

/// Result of one handler: Ok(Some(new ctx)) advanced, Ok(None) must wait.
type Adv = Result<Option<SchedCtx>, String>;

impl Ordering {
    pub(super) fn new() -> Self {
        Ordering {
            g: IdSlab::default(),
            p: IdSlab::default(),
            m: IdSlab::default(),
            tasks: FxHashMap::default(),
            gc_seq: 0,
            gc_state: GcState::Undetermined,
            initial_gen: 0,
            queue: VecDeque::new(),
            at: 0,
            work: 0,
        }
    }

    fn push(&mut self, typ: u8, time: i64, args: [u64; 4], ctx: SchedCtx) {
        self.queue.push_back(Event { typ, time, args, ctx, at: self.at });
    }

    /// Tries to advance `e` (read from thread `m`): true if it was queued.
    pub(super) fn advance(&mut self, e: &mut Event, gen: &Generation<'_>, m: i64) -> Result<bool, String> {
        self.at = e.at;
        if self.initial_gen == 0 {
            self.initial_gen = gen.gen;
        }
        let mut cur = SchedCtx { g: NO_ID, p: NO_ID, m };
        // Threads are never removed, so the slot stays valid through the handler.
        let mut mslot = None;
        if m != NO_ID {
            let slot = match self.m.slot(m) {
                Some(s) => s,
                None => self.m.insert(m, MState { g: NO_ID, p: NO_ID }),
            };
            let ms = *self.m.at(slot);
            cur.p = ms.p;
            cur.g = ms.g;
            mslot = Some(slot);
        }
        let g = gen.gen;
        let r = match e.typ {
            ev::PROCS_CHANGE | ev::GO_LABEL | ev::USER_LOG => self.annotation(e, cur),
            ev::PROC_START => self.proc_start(e, cur, g),
            ev::PROC_STOP => self.proc_stop(e, cur),
            ev::PROC_STEAL => self.proc_steal(e, cur, g),
            ev::PROC_STATUS => self.proc_status(e, cur, g),
            ev::GO_CREATE | ev::GO_CREATE_BLOCKED => self.go_create(e, cur, g),
            ev::GO_CREATE_SYSCALL => self.go_create_syscall(e, cur, g),
            ev::GO_START => self.go_start(e, cur, g),
            ev::GO_DESTROY | ev::GO_STOP | ev::GO_BLOCK => self.go_stop_exec(e, cur),
            ev::GO_DESTROY_SYSCALL => self.go_destroy_syscall(e, cur),
            ev::GO_UNBLOCK => self.go_unblock(e, cur, g),
            ev::GO_SYSCALL_BEGIN => self.go_syscall_begin(e, cur, g),
            ev::GO_SYSCALL_END => self.go_syscall_end(e, cur),
            ev::GO_SYSCALL_END_BLOCKED => self.go_syscall_end_blocked(e, cur),
            ev::GO_STATUS | ev::GO_STATUS_STACK => self.go_status(e, cur, g),
            ev::STW_BEGIN | ev::GC_MARK_ASSIST_BEGIN => self.go_range_begin(e, cur),
            ev::STW_END | ev::GC_MARK_ASSIST_END => self.go_range_end(e, cur),
            ev::GC_MARK_ASSIST_ACTIVE => self.go_range_active(e, cur, g),
            ev::GC_ACTIVE => self.gc_active(e, cur, g),
            ev::GC_BEGIN => self.gc_begin(e, cur),
            ev::GC_END => self.gc_end(e, cur),
            ev::GC_SWEEP_ACTIVE => self.sweep_active(e, cur, g),
            ev::GC_SWEEP_BEGIN => self.sweep_begin(e, cur),
            ev::GC_SWEEP_END => self.sweep_end(e, cur),
            ev::HEAP_ALLOC | ev::HEAP_GOAL => self.heap_metric(e, cur),
            ev::USER_TASK_BEGIN => self.task_begin(e, cur, gen),
            ev::USER_TASK_END => self.task_end(e, cur),
            ev::USER_REGION_BEGIN | ev::USER_REGION_END => self.region(e, cur, gen),
            ev::GO_SWITCH | ev::GO_SWITCH_DESTROY => self.go_switch(e, cur, g),
            ev::SPAN..=ev::GOROUTINE_STACK_FREE => self.alloc_free(e, cur),
            t => Err(format!("bad event type found while ordering: {t}")),
        };
        match r? {
            Some(new) => {
                if let Some(slot) = mslot {
                    *self.m.at(slot) = MState { g: new.g, p: new.p };
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn annotation(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        validate_ctx(cur, USER_GO)?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn heap_metric(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        validate_ctx(cur, [Need::Must, Need::Must, Need::May])?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn alloc_free(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        validate_ctx(cur, [Need::Must, Need::May, Need::May])?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn proc_status(&mut self, e: &mut Event, mut cur: SchedCtx, gen: u64) -> Adv {
        let pid = e.args[0] as i64;
        let status = e.args[1];
        if status >= 5 {
            return Err(format!("invalid status for proc {pid}: {status}"));
        }
        let mut old = proc_status_to_state(status);
        if let Some(s) = self.p.get_mut(pid) {
            if status == pstatus::SYSCALL_ABANDONED && s.status == pstatus::SYSCALL {
                old = procstate::RUNNING;
                e.args[1] = pstatus::SYSCALL;
            } else if status == pstatus::SYSCALL_ABANDONED && s.status == pstatus::SYSCALL_ABANDONED {
                old = procstate::IDLE;
                e.args[1] = pstatus::SYSCALL_ABANDONED;
            } else if s.status != status {
                return Err(format!("inconsistent status for proc {pid}: old {} vs. new {status}", s.status));
            }
            s.seq = Seq { gen, seq: 0 };
        } else {
            self.p.insert(pid, PState { status, seq: Seq { gen, seq: 0 }, ranges: Ranges::default() });
            old = if gen == self.initial_gen { procstate::UNDETERMINED } else { procstate::NOT_EXIST };
        }
        e.args[2] = u64::from(old);
        let mut new = cur;
        if status == pstatus::RUNNING || status == pstatus::SYSCALL {
            new.p = pid;
        }
        if status == pstatus::SYSCALL_ABANDONED && old == procstate::RUNNING {
            let mut found = false;
            self.work += self.m.len() as u64;
            for (mid, ms) in self.m.iter() {
                if ms.p == pid {
                    cur = SchedCtx { m: mid, p: pid, g: ms.g };
                    found = true;
                }
            }
            if !found {
                return Err(format!("failed to find sched context for proc {pid} that's about to be stolen"));
            }
        }
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(new))
    }

    fn proc_start(&mut self, e: &Event, cur: SchedCtx, gen: u64) -> Adv {
        let pid = e.args[0] as i64;
        let seq = Seq { gen, seq: e.args[1] };
        let Some(st) = self.p.get_mut(pid) else { return Ok(None) };
        if st.status != pstatus::IDLE || !seq.succeeds(st.seq) || cur.p != NO_ID {
            return Ok(None);
        }
        validate_ctx(cur, [Need::Must, Need::MustNot, Need::May])?;
        st.status = pstatus::RUNNING;
        st.seq = seq;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(SchedCtx { p: pid, ..cur }))
    }

    fn proc_stop(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        let Some(st) = self.p.get_mut(cur.p) else {
            return Err(format!("event ProcStop for proc ({}) that doesn't exist", cur.p));
        };
        if st.status != pstatus::RUNNING && st.status != pstatus::SYSCALL {
            return Err("ProcStop event for proc that's not Running or Syscall".into());
        }
        validate_ctx(cur, [Need::Must, Need::Must, Need::May])?;
        st.status = pstatus::IDLE;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(SchedCtx { p: NO_ID, ..cur }))
    }

    fn proc_steal(&mut self, e: &mut Event, cur: SchedCtx, gen: u64) -> Adv {
        let pid = e.args[0] as i64;
        let seq = Seq { gen, seq: e.args[1] };
        let Some(st) = self.p.get_mut(pid) else { return Ok(None) };
        if (st.status != pstatus::SYSCALL && st.status != pstatus::SYSCALL_ABANDONED) || !seq.succeeds(st.seq) {
            return Ok(None);
        }
        validate_ctx(cur, [Need::Must, Need::May, Need::May])?;
        let old = st.status;
        e.args[3] = old;
        st.status = pstatus::IDLE;
        st.seq = seq;
        if old == pstatus::SYSCALL_ABANDONED {
            self.push(e.typ, e.time, e.args, cur);
            return Ok(Some(cur));
        }
        let mid = e.args[2] as i64;
        if mid == cur.m {
            if cur.p != pid {
                return Err(format!("tried to self-steal proc {pid} (thread {mid}), but got proc {} instead", cur.p));
            }
            self.push(e.typ, e.time, e.args, cur);
            return Ok(Some(SchedCtx { p: NO_ID, ..cur }));
        }
        let Some(ms) = self.m.get_mut(mid) else {
            return Err(format!("stole proc from non-existent thread {mid}"));
        };
        if ms.p != pid {
            return Err(format!("tried to steal proc {pid} from thread {mid}, but got proc {} instead", ms.p));
        }
        ms.p = NO_ID;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn go_status(&mut self, e: &mut Event, mut cur: SchedCtx, gen: u64) -> Adv {
        let gid = e.args[0] as i64;
        let mid = e.args[1] as i64;
        let status = e.args[2];
        if status >= 5 {
            return Err(format!("invalid status for goroutine {gid}: {status}"));
        }
        let mut old = go_status_to_state(status);
        if let Some(s) = self.g.get_mut(gid) {
            if s.status != status {
                return Err(format!("inconsistent status for goroutine {gid}: old {} vs. new {status}", s.status));
            }
            s.seq = Seq { gen, seq: 0 };
        } else if gen == self.initial_gen {
            self.g.insert(
                gid,
                GState { status, seq: Seq { gen, seq: 0 }, regions: Vec::new(), ranges: Ranges::default() },
            );
            old = gostate::UNDETERMINED;
        } else {
            return Err(format!(
                "found goroutine status for new goroutine after the first generation: id={gid} status={status}"
            ));
        }
        e.args[2] = (u64::from(old) << 32) | status;
        let mut new = cur;
        match status {
            gostatus::RUNNING => new.g = gid,
            gostatus::SYSCALL => {
                if mid == NO_ID {
                    return Err(format!("found goroutine {gid} in syscall without a thread"));
                }
                if mid == cur.m {
                    if gen != self.initial_gen && cur.g != gid {
                        return Err(format!(
                            "inconsistent thread for syscalling goroutine {gid}: thread has goroutine {}",
                            cur.g
                        ));
                    }
                    new.g = gid;
                } else {
                    match self.m.get(mid) {
                        Some(ms) => {
                            if ms.g != gid {
                                return Err(format!(
                                    "inconsistent thread for syscalling goroutine {gid}: thread has goroutine {}",
                                    ms.g
                                ));
                            }
                            cur.g = ms.g;
                        }
                        None => {
                            self.m.insert(mid, MState { g: gid, p: NO_ID });
                        }
                    }
                    cur.m = mid;
                }
            }
            _ => {}
        }
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(new))
    }

    fn go_create(&mut self, e: &Event, cur: SchedCtx, gen: u64) -> Adv {
        validate_ctx(cur, [Need::Must, Need::Must, Need::May])?;
        if let Some(s) = self.g.get(cur.g) {
            if s.status != gostatus::RUNNING {
                return Err(format!("{} event for goroutine that's not Running", SPECS[e.typ as usize].name));
            }
        }
        let newg = e.args[0] as i64;
        if self.g.contains(newg) {
            return Err(format!("tried to create goroutine ({newg}) that already exists"));
        }
        let status = if e.typ == ev::GO_CREATE_BLOCKED { gostatus::WAITING } else { gostatus::RUNNABLE };
        self.g
            .insert(newg, GState { status, seq: Seq { gen, seq: 0 }, regions: Vec::new(), ranges: Ranges::default() });
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn go_create_syscall(&mut self, e: &Event, cur: SchedCtx, gen: u64) -> Adv {
        validate_ctx(cur, [Need::Must, Need::May, Need::MustNot])?;
        let newg = e.args[0] as i64;
        if self.g.contains(newg) {
            return Err(format!("tried to create goroutine ({newg}) in syscall that already exists"));
        }
        self.g.insert(
            newg,
            GState {
                status: gostatus::SYSCALL,
                seq: Seq { gen, seq: 0 },
                regions: Vec::new(),
                ranges: Ranges::default(),
            },
        );
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(SchedCtx { g: newg, ..cur }))
    }

    fn cur_g(&mut self, e: &Event, cur: SchedCtx) -> Result<&mut GState, String> {
        self.g
            .get_mut(cur.g)
            .ok_or_else(|| format!("event {} for goroutine ({}) that doesn't exist", SPECS[e.typ as usize].name, cur.g))
    }

    fn go_stop_exec(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        validate_ctx(cur, USER_GO)?;
        let st = self.cur_g(e, cur)?;
        if st.status != gostatus::RUNNING {
            return Err(format!("{} event for goroutine that's not Running", SPECS[e.typ as usize].name));
        }
        match e.typ {
            ev::GO_DESTROY => {
                self.g.remove(cur.g);
            }
            ev::GO_STOP => st.status = gostatus::RUNNABLE,
            _ => st.status = gostatus::WAITING,
        }
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(SchedCtx { g: NO_ID, ..cur }))
    }

    fn go_start(&mut self, e: &Event, cur: SchedCtx, gen: u64) -> Adv {
        let gid = e.args[0] as i64;
        let seq = Seq { gen, seq: e.args[1] };
        let Some(st) = self.g.get_mut(gid) else { return Ok(None) };
        if st.status != gostatus::RUNNABLE || !seq.succeeds(st.seq) {
            return Ok(None);
        }
        validate_ctx(cur, [Need::Must, Need::Must, Need::MustNot])?;
        st.status = gostatus::RUNNING;
        st.seq = seq;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(SchedCtx { g: gid, ..cur }))
    }

    fn go_unblock(&mut self, e: &Event, cur: SchedCtx, gen: u64) -> Adv {
        let gid = e.args[0] as i64;
        let seq = Seq { gen, seq: e.args[1] };
        let Some(st) = self.g.get_mut(gid) else { return Ok(None) };
        if st.status != gostatus::WAITING || !seq.succeeds(st.seq) {
            return Ok(None);
        }
        st.status = gostatus::RUNNABLE;
        st.seq = seq;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn go_switch(&mut self, e: &Event, cur: SchedCtx, gen: u64) -> Adv {
        validate_ctx(cur, USER_GO)?;
        let st = self.cur_g(e, cur)?;
        if st.status != gostatus::RUNNING {
            return Err(format!("{} event for goroutine that's not Running", SPECS[e.typ as usize].name));
        }
        let next = e.args[0] as i64;
        let seq = Seq { gen, seq: e.args[1] };
        match self.g.get(next) {
            Some(n) if n.status == gostatus::WAITING && seq.succeeds(n.seq) => {}
            _ => return Ok(None),
        }
        self.push(e.typ, e.time, e.args, cur);
        if e.typ == ev::GO_SWITCH {
            if let Some(s) = self.g.get_mut(cur.g) {
                s.status = gostatus::WAITING;
            }
            // A made-up GoBlock with no reason and no stack.
            self.push(ev::GO_BLOCK, e.time, [0; 4], cur);
        } else {
            self.g.remove(cur.g);
            self.push(ev::GO_DESTROY, e.time, [0; 4], cur);
        }
        if let Some(n) = self.g.get_mut(next) {
            n.status = gostatus::RUNNING;
            n.seq = seq;
        }
        self.push(ev::GO_START, e.time, [next as u64, e.args[1], 0, 0], SchedCtx { g: NO_ID, ..cur });
        Ok(Some(SchedCtx { g: next, ..cur }))
    }

    fn go_syscall_begin(&mut self, e: &Event, cur: SchedCtx, gen: u64) -> Adv {
        validate_ctx(cur, USER_GO)?;
        let st = self.cur_g(e, cur)?;
        if st.status != gostatus::RUNNING {
            return Err("GoSyscallBegin event for goroutine that's not Running".into());
        }
        st.status = gostatus::SYSCALL;
        let Some(ps) = self.p.get_mut(cur.p) else {
            return Err(format!("uninitialized proc {} found during GoSyscallBegin", cur.p));
        };
        ps.status = pstatus::SYSCALL;
        let pseq = Seq { gen, seq: e.args[0] };
        if !pseq.succeeds(ps.seq) {
            return Err(format!(
                "failed to advance GoSyscallBegin: can't make sequence: {} (gen={}) -> {} (gen={})",
                ps.seq.seq, ps.seq.gen, pseq.seq, pseq.gen
            ));
        }
        ps.seq = pseq;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn go_syscall_end(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        validate_ctx(cur, USER_GO)?;
        let st = self.cur_g(e, cur)?;
        if st.status != gostatus::SYSCALL {
            return Err("GoSyscallEnd event for goroutine that's not Running".into());
        }
        st.status = gostatus::RUNNING;
        let Some(ps) = self.p.get_mut(cur.p) else {
            return Err(format!("uninitialized proc {} found during GoSyscallEnd", cur.p));
        };
        if ps.status != pstatus::SYSCALL {
            return Err(format!("expected proc {} in state Syscall, but got {} instead", cur.p, ps.status));
        }
        ps.status = pstatus::RUNNING;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn go_syscall_end_blocked(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        if cur.p != NO_ID {
            let Some(ps) = self.p.get(cur.p) else {
                return Err(format!("uninitialized proc {} found during GoSyscallEndBlocked", cur.p));
            };
            if ps.status == pstatus::SYSCALL {
                return Ok(None);
            }
        }
        validate_ctx(cur, [Need::Must, Need::May, Need::Must])?;
        let st = self.cur_g(e, cur)?;
        if st.status != gostatus::SYSCALL {
            return Err("GoSyscallEndBlocked event for goroutine that's not Running".into());
        }
        st.status = gostatus::RUNNABLE;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(SchedCtx { g: NO_ID, ..cur }))
    }

    fn go_destroy_syscall(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        validate_ctx(cur, [Need::Must, Need::May, Need::Must])?;
        let st = self.cur_g(e, cur)?;
        if st.status != gostatus::SYSCALL {
            return Err("GoDestroySyscall event for goroutine that's not Syscall".into());
        }
        self.g.remove(cur.g);
        let mut new = SchedCtx { g: NO_ID, ..cur };
        if cur.p != NO_ID {
            let Some(ps) = self.p.get_mut(cur.p) else {
                return Err(format!("found invalid proc {} during GoDestroySyscall", cur.p));
            };
            if ps.status != pstatus::SYSCALL {
                return Err(format!("proc {} in unexpected state {} during GoDestroySyscall", cur.p, ps.status));
            }
            ps.status = pstatus::SYSCALL_ABANDONED;
            new.p = NO_ID;
            // A made-up self-steal of the P, with old status Syscall.
            self.push(ev::PROC_STEAL, e.time, [cur.p as u64, 0, 0, pstatus::SYSCALL], cur);
        }
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(new))
    }

    fn go_range_begin(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        validate_ctx(cur, USER_GO)?;
        let desc = if e.typ == ev::STW_BEGIN { e.args[0] } else { 0 };
        let Some(st) = self.g.get_mut(cur.g) else {
            return Err(format!(
                "encountered event of type {} without known state for current goroutine {}",
                e.typ, cur.g
            ));
        };
        self.work += st.ranges.0.len() as u64;
        st.ranges.begin(range_type(e.typ, desc))?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn go_range_active(&mut self, e: &Event, cur: SchedCtx, gen: u64) -> Adv {
        let gid = e.args[0] as i64;
        let initial = gen == self.initial_gen;
        let Some(st) = self.g.get_mut(gid) else {
            return Err(format!("uninitialized goroutine {gid} found during {}", SPECS[e.typ as usize].name));
        };
        self.work += st.ranges.0.len() as u64;
        st.ranges.active(range_type(e.typ, 0), initial)?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn go_range_end(&mut self, e: &mut Event, cur: SchedCtx) -> Adv {
        validate_ctx(cur, USER_GO)?;
        let Some(st) = self.g.get_mut(cur.g) else {
            return Err(format!(
                "encountered event of type {} without known state for current goroutine {}",
                e.typ, cur.g
            ));
        };
        self.work += st.ranges.0.len() as u64;
        let desc = st.ranges.end(e.typ)?;
        if e.typ == ev::STW_END {
            e.args[0] = desc;
        }
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn gc_active(&mut self, e: &Event, cur: SchedCtx, gen: u64) -> Adv {
        let seq = e.args[0];
        if gen == self.initial_gen {
            if self.gc_state != GcState::Undetermined {
                return Err("GCActive in the first generation isn't first GC event".into());
            }
            self.gc_seq = seq;
            self.gc_state = GcState::Running;
            self.push(e.typ, e.time, e.args, cur);
            return Ok(Some(cur));
        }
        if seq != self.gc_seq.wrapping_add(1) {
            return Ok(None);
        }
        if self.gc_state != GcState::Running {
            return Err("encountered GCActive while GC was not in progress".into());
        }
        self.gc_seq = seq;
        validate_ctx(cur, USER_GO)?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn gc_begin(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        let seq = e.args[0];
        if self.gc_state == GcState::Undetermined {
            self.gc_seq = seq;
            self.gc_state = GcState::Running;
            self.push(e.typ, e.time, e.args, cur);
            return Ok(Some(cur));
        }
        if seq != self.gc_seq.wrapping_add(1) {
            return Ok(None);
        }
        if self.gc_state == GcState::Running {
            return Err("encountered GCBegin while GC was already in progress".into());
        }
        self.gc_seq = seq;
        self.gc_state = GcState::Running;
        validate_ctx(cur, USER_GO)?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn gc_end(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        let seq = e.args[0];
        if seq != self.gc_seq.wrapping_add(1) {
            return Ok(None);
        }
        match self.gc_state {
            GcState::NotRunning => return Err("encountered GCEnd when GC was not in progress".into()),
            GcState::Undetermined => return Err("encountered GCEnd when GC was in an undetermined state".into()),
            GcState::Running => {}
        }
        self.gc_seq = seq;
        self.gc_state = GcState::NotRunning;
        validate_ctx(cur, USER_GO)?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn sweep_begin(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        validate_ctx(cur, [Need::Must, Need::Must, Need::May])?;
        let Some(ps) = self.p.get_mut(cur.p) else {
            return Err(format!("GCSweepBegin for unknown proc {}", cur.p));
        };
        ps.ranges.begin(range_type(e.typ, 0))?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn sweep_active(&mut self, e: &Event, cur: SchedCtx, gen: u64) -> Adv {
        let pid = e.args[0] as i64;
        let initial = gen == self.initial_gen;
        let Some(ps) = self.p.get_mut(pid) else {
            return Err(format!("encountered GCSweepActive for unknown proc {pid}"));
        };
        ps.ranges.active(range_type(e.typ, 0), initial)?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn sweep_end(&mut self, e: &Event, cur: SchedCtx) -> Adv {
        validate_ctx(cur, [Need::Must, Need::Must, Need::May])?;
        let Some(ps) = self.p.get_mut(cur.p) else {
            return Err(format!("GCSweepEnd for unknown proc {}", cur.p));
        };
        ps.ranges.end(e.typ)?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn task_begin(&mut self, e: &mut Event, cur: SchedCtx, gen: &Generation<'_>) -> Adv {
        let id = e.args[0];
        if self.tasks.contains_key(&id) {
            return Err(format!("task ID conflict: {id}"));
        }
        if e.args[1] == 0 {
            e.args[1] = NO_TASK;
        }
        let name = lookup_string(gen, e.args[2])
            .ok_or_else(|| format!("invalid string ID {} for UserTaskBegin event", e.args[2]))?;
        self.tasks.insert(id, (name, e.args[1]));
        validate_ctx(cur, USER_GO)?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn task_end(&mut self, e: &mut Event, cur: SchedCtx) -> Adv {
        let id = e.args[0];
        // Smuggle the begin's parent and (global) name ID along.
        match self.tasks.remove(&id) {
            Some((name, parent)) => {
                e.args[2] = parent;
                e.args[3] = u64::from(name);
            }
            None => {
                e.args[2] = NO_TASK;
                e.args[3] = u64::from(crate::intern::EMPTY);
            }
        }
        validate_ctx(cur, USER_GO)?;
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }

    fn region(&mut self, e: &Event, cur: SchedCtx, gen: &Generation<'_>) -> Adv {
        validate_ctx(cur, USER_GO)?;
        let tid = e.args[0];
        let name = lookup_string(gen, e.args[1])
            .ok_or_else(|| format!("invalid string ID {} for {} event", e.args[1], SPECS[e.typ as usize].name))?;
        let Some(st) = self.g.get_mut(cur.g) else {
            return Err(format!(
                "encountered Ev{} without known state for current goroutine {}",
                SPECS[e.typ as usize].name, cur.g
            ));
        };
        if e.typ == ev::USER_REGION_BEGIN {
            st.regions.push((tid, name));
        } else if let Some(&last) = st.regions.last() {
            if last != (tid, name) {
                return Err(format!(
                    "misuse of region in goroutine {}: region end when the inner-most active region start event is different",
                    cur.g
                ));
            }
            st.regions.pop();
        }
        self.push(e.typ, e.time, e.args, cur);
        Ok(Some(cur))
    }
}
