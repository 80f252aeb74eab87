//! The wire event table (Go's `internal/trace/tracev2` specs), newest version.
//!
//! The decoder always uses the full table, whatever the header version says,
//! as Go's reader does.

/// Event type bytes.
pub mod ev {
    pub const EVENT_BATCH: u8 = 1;
    pub const STACKS: u8 = 2;
    pub const STACK: u8 = 3;
    pub const STRINGS: u8 = 4;
    pub const STRING: u8 = 5;
    pub const CPU_SAMPLES: u8 = 6;
    pub const CPU_SAMPLE: u8 = 7;
    pub const FREQUENCY: u8 = 8;
    pub const PROCS_CHANGE: u8 = 9;
    pub const PROC_START: u8 = 10;
    pub const PROC_STOP: u8 = 11;
    pub const PROC_STEAL: u8 = 12;
    pub const PROC_STATUS: u8 = 13;
    pub const GO_CREATE: u8 = 14;
    pub const GO_CREATE_SYSCALL: u8 = 15;
    pub const GO_START: u8 = 16;
    pub const GO_DESTROY: u8 = 17;
    pub const GO_DESTROY_SYSCALL: u8 = 18;
    pub const GO_STOP: u8 = 19;
    pub const GO_BLOCK: u8 = 20;
    pub const GO_UNBLOCK: u8 = 21;
    pub const GO_SYSCALL_BEGIN: u8 = 22;
    pub const GO_SYSCALL_END: u8 = 23;
    pub const GO_SYSCALL_END_BLOCKED: u8 = 24;
    pub const GO_STATUS: u8 = 25;
    pub const STW_BEGIN: u8 = 26;
    pub const STW_END: u8 = 27;
    pub const GC_ACTIVE: u8 = 28;
    pub const GC_BEGIN: u8 = 29;
    pub const GC_END: u8 = 30;
    pub const GC_SWEEP_ACTIVE: u8 = 31;
    pub const GC_SWEEP_BEGIN: u8 = 32;
    pub const GC_SWEEP_END: u8 = 33;
    pub const GC_MARK_ASSIST_ACTIVE: u8 = 34;
    pub const GC_MARK_ASSIST_BEGIN: u8 = 35;
    pub const GC_MARK_ASSIST_END: u8 = 36;
    pub const HEAP_ALLOC: u8 = 37;
    pub const HEAP_GOAL: u8 = 38;
    pub const GO_LABEL: u8 = 39;
    pub const USER_TASK_BEGIN: u8 = 40;
    pub const USER_TASK_END: u8 = 41;
    pub const USER_REGION_BEGIN: u8 = 42;
    pub const USER_REGION_END: u8 = 43;
    pub const USER_LOG: u8 = 44;
    pub const GO_SWITCH: u8 = 45;
    pub const GO_SWITCH_DESTROY: u8 = 46;
    pub const GO_CREATE_BLOCKED: u8 = 47;
    pub const GO_STATUS_STACK: u8 = 48;
    pub const EXPERIMENTAL_BATCH: u8 = 49;
    pub const SYNC: u8 = 50;
    pub const CLOCK_SNAPSHOT: u8 = 51;
    pub const END_OF_GENERATION: u8 = 52;
    /// First experimental (AllocFree) event.
    pub const SPAN: u8 = 128;
    pub const GOROUTINE_STACK_FREE: u8 = 136;
    /// Not a wire type: the parser's own Sync event.
    pub const SYNC_EVENT: u8 = 255;
}

/// What the parser needs to know about one wire event type.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub name: &'static str,
    /// Argument names, the first being `dt` for timed events.
    pub args: &'static [&'static str],
    /// Positions in `args` of stack IDs; the first is the event's own stack.
    pub stack_ids: &'static [usize],
    /// Positions in `args` of string IDs.
    pub string_ids: &'static [usize],
    /// The Begin event of a range this event ends or continues (0 if none).
    pub start_ev: u8,
    pub timed: bool,
    /// Experiment ID (0: none, 1: AllocFree).
    pub experiment: u8,
}

const fn s(
    name: &'static str,
    args: &'static [&'static str],
    stack_ids: &'static [usize],
    string_ids: &'static [usize],
    start_ev: u8,
    timed: bool,
) -> Spec {
    Spec { name, args, stack_ids, string_ids, start_ev, timed, experiment: 0 }
}

const fn x(name: &'static str, args: &'static [&'static str]) -> Spec {
    Spec { name, args, stack_ids: &[], string_ids: &[], start_ev: 0, timed: true, experiment: 1 }
}

const NONE: Spec = s("", &[], &[], &[], 0, false);

/// Number of entries in the spec table (types at or above it are invalid).
pub const NUM_SPECS: usize = 137;

pub static SPECS: [Spec; NUM_SPECS] = {
    use ev::*;
    let mut t = [NONE; NUM_SPECS];
    t[EVENT_BATCH as usize] = s("EventBatch", &["gen", "m", "time", "size"], &[], &[], 0, false);
    t[STACKS as usize] = s("Stacks", &[], &[], &[], 0, false);
    t[STACK as usize] = s("Stack", &["id", "nframes"], &[], &[], 0, false);
    t[STRINGS as usize] = s("Strings", &[], &[], &[], 0, false);
    t[STRING as usize] = s("String", &["id"], &[], &[], 0, false);
    t[CPU_SAMPLES as usize] = s("CPUSamples", &[], &[], &[], 0, false);
    t[CPU_SAMPLE as usize] = s("CPUSample", &["time", "m", "p", "g", "stack"], &[4], &[], 0, false);
    t[FREQUENCY as usize] = s("Frequency", &["freq"], &[], &[], 0, false);
    t[PROCS_CHANGE as usize] = s("ProcsChange", &["dt", "procs_value", "stack"], &[2], &[], 0, true);
    t[PROC_START as usize] = s("ProcStart", &["dt", "p", "p_seq"], &[], &[], 0, true);
    t[PROC_STOP as usize] = s("ProcStop", &["dt"], &[], &[], 0, true);
    t[PROC_STEAL as usize] = s("ProcSteal", &["dt", "p", "p_seq", "m"], &[], &[], 0, true);
    t[PROC_STATUS as usize] = s("ProcStatus", &["dt", "p", "pstatus"], &[], &[], 0, true);
    t[GO_CREATE as usize] = s("GoCreate", &["dt", "new_g", "new_stack", "stack"], &[3, 2], &[], 0, true);
    t[GO_CREATE_SYSCALL as usize] = s("GoCreateSyscall", &["dt", "new_g"], &[], &[], 0, true);
    t[GO_START as usize] = s("GoStart", &["dt", "g", "g_seq"], &[], &[], 0, true);
    t[GO_DESTROY as usize] = s("GoDestroy", &["dt"], &[], &[], 0, true);
    t[GO_DESTROY_SYSCALL as usize] = s("GoDestroySyscall", &["dt"], &[], &[], 0, true);
    t[GO_STOP as usize] = s("GoStop", &["dt", "reason_string", "stack"], &[2], &[1], 0, true);
    t[GO_BLOCK as usize] = s("GoBlock", &["dt", "reason_string", "stack"], &[2], &[1], 0, true);
    t[GO_UNBLOCK as usize] = s("GoUnblock", &["dt", "g", "g_seq", "stack"], &[3], &[], 0, true);
    t[GO_SYSCALL_BEGIN as usize] = s("GoSyscallBegin", &["dt", "p_seq", "stack"], &[2], &[], 0, true);
    t[GO_SYSCALL_END as usize] = s("GoSyscallEnd", &["dt"], &[], &[], GO_SYSCALL_BEGIN, true);
    t[GO_SYSCALL_END_BLOCKED as usize] = s("GoSyscallEndBlocked", &["dt"], &[], &[], GO_SYSCALL_BEGIN, true);
    t[GO_STATUS as usize] = s("GoStatus", &["dt", "g", "m", "gstatus"], &[], &[], 0, true);
    t[STW_BEGIN as usize] = s("STWBegin", &["dt", "kind_string", "stack"], &[2], &[1], 0, true);
    t[STW_END as usize] = s("STWEnd", &["dt"], &[], &[], STW_BEGIN, true);
    t[GC_ACTIVE as usize] = s("GCActive", &["dt", "gc_seq"], &[], &[], GC_BEGIN, true);
    t[GC_BEGIN as usize] = s("GCBegin", &["dt", "gc_seq", "stack"], &[2], &[], 0, true);
    t[GC_END as usize] = s("GCEnd", &["dt", "gc_seq"], &[], &[], GC_BEGIN, true);
    t[GC_SWEEP_ACTIVE as usize] = s("GCSweepActive", &["dt", "p"], &[], &[], GC_SWEEP_BEGIN, true);
    t[GC_SWEEP_BEGIN as usize] = s("GCSweepBegin", &["dt", "stack"], &[1], &[], 0, true);
    t[GC_SWEEP_END as usize] =
        s("GCSweepEnd", &["dt", "swept_value", "reclaimed_value"], &[], &[], GC_SWEEP_BEGIN, true);
    t[GC_MARK_ASSIST_ACTIVE as usize] = s("GCMarkAssistActive", &["dt", "g"], &[], &[], GC_MARK_ASSIST_BEGIN, true);
    t[GC_MARK_ASSIST_BEGIN as usize] = s("GCMarkAssistBegin", &["dt", "stack"], &[1], &[], 0, true);
    t[GC_MARK_ASSIST_END as usize] = s("GCMarkAssistEnd", &["dt"], &[], &[], GC_MARK_ASSIST_BEGIN, true);
    t[HEAP_ALLOC as usize] = s("HeapAlloc", &["dt", "heapalloc_value"], &[], &[], 0, true);
    t[HEAP_GOAL as usize] = s("HeapGoal", &["dt", "heapgoal_value"], &[], &[], 0, true);
    t[GO_LABEL as usize] = s("GoLabel", &["dt", "label_string"], &[], &[1], 0, true);
    t[USER_TASK_BEGIN as usize] =
        s("UserTaskBegin", &["dt", "task", "parent_task", "name_string", "stack"], &[4], &[3], 0, true);
    t[USER_TASK_END as usize] = s("UserTaskEnd", &["dt", "task", "stack"], &[2], &[], 0, true);
    t[USER_REGION_BEGIN as usize] = s("UserRegionBegin", &["dt", "task", "name_string", "stack"], &[3], &[2], 0, true);
    t[USER_REGION_END as usize] =
        s("UserRegionEnd", &["dt", "task", "name_string", "stack"], &[3], &[2], USER_REGION_BEGIN, true);
    t[USER_LOG as usize] = s("UserLog", &["dt", "task", "key_string", "value_string", "stack"], &[4], &[2, 3], 0, true);
    t[GO_SWITCH as usize] = s("GoSwitch", &["dt", "g", "g_seq"], &[], &[], 0, true);
    t[GO_SWITCH_DESTROY as usize] = s("GoSwitchDestroy", &["dt", "g", "g_seq"], &[], &[], 0, true);
    t[GO_CREATE_BLOCKED as usize] = s("GoCreateBlocked", &["dt", "new_g", "new_stack", "stack"], &[3, 2], &[], 0, true);
    t[GO_STATUS_STACK as usize] = s("GoStatusStack", &["dt", "g", "m", "gstatus", "stack"], &[4], &[], 0, true);
    t[EXPERIMENTAL_BATCH as usize] = s("ExperimentalBatch", &["exp", "gen", "m", "time"], &[], &[], 0, false);
    t[SYNC as usize] = s("Sync", &[], &[], &[], 0, false);
    t[CLOCK_SNAPSHOT as usize] = s("ClockSnapshot", &["dt", "mono", "sec", "nsec"], &[], &[], 0, true);
    t[END_OF_GENERATION as usize] = s("EndOfGeneration", &[], &[], &[], 0, false);
    t[128] = x("Span", &["dt", "id", "npages_value", "kindclass"]);
    t[129] = x("SpanAlloc", &["dt", "id", "npages_value", "kindclass"]);
    t[130] = x("SpanFree", &["dt", "id"]);
    t[131] = x("HeapObject", &["dt", "id", "type"]);
    t[132] = x("HeapObjectAlloc", &["dt", "id", "type"]);
    t[133] = x("HeapObjectFree", &["dt", "id"]);
    t[134] = x("GoroutineStack", &["dt", "id", "order"]);
    t[135] = x("GoroutineStackAlloc", &["dt", "id", "order"]);
    t[136] = x("GoroutineStackFree", &["dt", "id"]);
    t
};

/// Experiment names, by experiment ID.
pub fn experiment_name(id: u8) -> String {
    match id {
        0 => "None".to_string(),
        1 => "AllocFree".to_string(),
        // Go indexes a fixed table here; an unknown experiment cannot name itself.
        n => format!("Experiment{n}"),
    }
}

/// Wire goroutine status (`tracev2.GoStatus`).
pub mod gostatus {
    pub const RUNNABLE: u64 = 1;
    pub const RUNNING: u64 = 2;
    pub const SYSCALL: u64 = 3;
    pub const WAITING: u64 = 4;
}

/// Wire proc status (`tracev2.ProcStatus`).
pub mod pstatus {
    pub const RUNNING: u64 = 1;
    pub const IDLE: u64 = 2;
    pub const SYSCALL: u64 = 3;
    pub const SYSCALL_ABANDONED: u64 = 4;
}
