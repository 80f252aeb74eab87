//! The event vocabulary, defined once: the codes and names of event kinds,
//! resource kinds and states that the events table stores and that every
//! pass over it reads back. The builder writes its dictionaries from these
//! lists; the readers (`evtable`, `summary`) decode names with the lookups
//! here, by value, so a table that went through Parquet or pandas reads
//! the same.
//!
//! The names are Go's (`trace.EventKind`, `trace.ResourceKind`,
//! `trace.GoState`, `trace.ProcState` as their `String` methods print them).

/// `trace.EventKind` names, indexed by our kind code.
pub const KINDS: [&str; 15] = [
    "Bad",
    "Sync",
    "Metric",
    "Label",
    "StackSample",
    "RangeBegin",
    "RangeActive",
    "RangeEnd",
    "TaskBegin",
    "TaskEnd",
    "RegionBegin",
    "RegionEnd",
    "Log",
    "StateTransition",
    "Experimental",
];

/// Kind codes: positions in [`KINDS`].
pub mod kind {
    pub const BAD: u8 = 0;
    pub const SYNC: u8 = 1;
    pub const METRIC: u8 = 2;
    pub const LABEL: u8 = 3;
    pub const STACK_SAMPLE: u8 = 4;
    pub const RANGE_BEGIN: u8 = 5;
    pub const RANGE_ACTIVE: u8 = 6;
    pub const RANGE_END: u8 = 7;
    pub const TASK_BEGIN: u8 = 8;
    pub const TASK_END: u8 = 9;
    pub const REGION_BEGIN: u8 = 10;
    pub const REGION_END: u8 = 11;
    pub const LOG: u8 = 12;
    pub const STATE_TRANSITION: u8 = 13;
    pub const EXPERIMENTAL: u8 = 14;
}

/// `trace.EventKind` as an enum: the discriminants are the kind codes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Kind {
    Bad = kind::BAD,
    Sync = kind::SYNC,
    Metric = kind::METRIC,
    Label = kind::LABEL,
    StackSample = kind::STACK_SAMPLE,
    RangeBegin = kind::RANGE_BEGIN,
    RangeActive = kind::RANGE_ACTIVE,
    RangeEnd = kind::RANGE_END,
    TaskBegin = kind::TASK_BEGIN,
    TaskEnd = kind::TASK_END,
    RegionBegin = kind::REGION_BEGIN,
    RegionEnd = kind::REGION_END,
    Log = kind::LOG,
    StateTransition = kind::STATE_TRANSITION,
    Experimental = kind::EXPERIMENTAL,
}

impl Kind {
    const ALL: [Kind; 15] = [
        Kind::Bad,
        Kind::Sync,
        Kind::Metric,
        Kind::Label,
        Kind::StackSample,
        Kind::RangeBegin,
        Kind::RangeActive,
        Kind::RangeEnd,
        Kind::TaskBegin,
        Kind::TaskEnd,
        Kind::RegionBegin,
        Kind::RegionEnd,
        Kind::Log,
        Kind::StateTransition,
        Kind::Experimental,
    ];

    /// The kind of a code; `Bad` for a code out of range.
    pub fn from_code(code: u8) -> Kind {
        Kind::ALL.get(code as usize).copied().unwrap_or(Kind::Bad)
    }

    /// The kind of a `KINDS` name; `Bad` for anything else.
    pub fn of_name(name: &str) -> Kind {
        Kind::from_code(kind_code(name))
    }
}

/// The kind code of a `KINDS` name; `BAD` for anything else.
pub fn kind_code(name: &str) -> u8 {
    KINDS.iter().position(|&k| k == name).map_or(kind::BAD, |i| i as u8)
}

/// `trace.ResourceKind` names, indexed by our resource code.
pub const RESOURCES: [&str; 4] = ["None", "Goroutine", "Proc", "Thread"];

/// Resource codes: positions in [`RESOURCES`].
pub mod resource {
    pub const NONE: u8 = 0;
    pub const GOROUTINE: u8 = 1;
    pub const PROC: u8 = 2;
    pub const THREAD: u8 = 3;
}

/// The resource code of a `RESOURCES` name; `NONE` for anything else.
pub fn resource_code(name: &str) -> u8 {
    RESOURCES.iter().position(|&r| r == name).map_or(resource::NONE, |i| i as u8)
}

/// State names shared by goroutines and procs in the tables: goroutine codes
/// are Go's `GoState` values, and proc states map into the same list (see
/// [`proc_state_code`]).
pub const STATES: [&str; 7] = ["Undetermined", "NotExist", "Runnable", "Running", "Waiting", "Syscall", "Idle"];

/// State codes: positions in [`STATES`]; the first six are `trace.GoState`.
pub mod state {
    pub const UNDETERMINED: u8 = 0;
    pub const NOT_EXIST: u8 = 1;
    pub const RUNNABLE: u8 = 2;
    pub const RUNNING: u8 = 3;
    pub const WAITING: u8 = 4;
    pub const SYSCALL: u8 = 5;
    /// A proc's `ProcIdle`: no goroutine state has this code.
    pub const IDLE: u8 = 6;
    /// `GoState.Executing`: Running or Syscall.
    pub fn executing(s: u8) -> bool {
        s == RUNNING || s == SYSCALL
    }
}

/// The state code of a `STATES` name, if it is one.
pub fn state_code(name: &str) -> Option<u8> {
    STATES.iter().position(|&s| s == name).map(|i| i as u8)
}

/// `trace.ProcState` values, as the ordering hands them on.
pub mod procstate {
    pub const UNDETERMINED: u8 = 0;
    pub const NOT_EXIST: u8 = 1;
    pub const RUNNING: u8 = 2;
    pub const IDLE: u8 = 3;
}

/// A `ProcState` as a code of the shared [`STATES`] list.
pub fn proc_state_code(s: u8) -> u8 {
    match s {
        procstate::UNDETERMINED => state::UNDETERMINED,
        procstate::NOT_EXIST => state::NOT_EXIST,
        procstate::RUNNING => state::RUNNING,
        _ => state::IDLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_positions_of_names() {
        assert_eq!(KINDS[kind::STATE_TRANSITION as usize], "StateTransition");
        assert_eq!(KINDS[kind::EXPERIMENTAL as usize], "Experimental");
        assert_eq!(kind_code("RegionEnd"), kind::REGION_END);
        assert_eq!(kind_code("nonsense"), kind::BAD);
        for (code, name) in KINDS.iter().enumerate() {
            assert_eq!(Kind::of_name(name) as usize, code);
        }
        assert_eq!(RESOURCES[resource::THREAD as usize], "Thread");
        assert_eq!(resource_code("Proc"), resource::PROC);
        assert_eq!(state_code("Syscall"), Some(state::SYSCALL));
        assert_eq!(state_code("Idle"), Some(state::IDLE));
        assert_eq!(state_code("x"), None);
        assert_eq!(STATES[proc_state_code(procstate::IDLE) as usize], "Idle");
    }
}
