//! The ordering stage: merges the per-M batches of each generation into one
//! stream, the way Go's `internal/trace.Reader` does. Sequence numbers and
//! per-resource state decide what may come next; time only breaks ties. The
//! merge (a min-heap of batch cursors, sorted when its top cannot advance) is
//! reproduced operation for operation because equal times make its order
//! observable.
//!
//! As in Go's reader, three parts: `batchcursor` walks one thread's batches
//! and decodes its next event, `ordering` is the state machine deciding
//! whether an event may come next, and `reader` runs the frontier of cursors
//! a generation at a time. This module holds what they hand on: the ordered
//! [`Event`] and the [`Sink`] that receives it.

mod batchcursor;
mod ordering;
mod reader;

pub use ordering::Ordering;
pub use reader::{Reader, ORDER_WORK_BASE, ORDER_WORK_PER_BYTE};

use crate::intern::Interner;
use crate::spec::{gostatus, pstatus};
use crate::wire::Generation;
use crate::TraceError;

pub const NO_ID: i64 = -1;
/// `trace.NoTask`.
pub const NO_TASK: u64 = u64::MAX;

/// API goroutine states (`trace.GoState`) and proc states (`trace.ProcState`).
pub use crate::model::{procstate, state as gostate};

/// Wire goroutine status -> API state (Bad maps to Undetermined, as in Go).
pub fn go_status_to_state(s: u64) -> u8 {
    match s {
        gostatus::RUNNABLE => gostate::RUNNABLE,
        gostatus::RUNNING => gostate::RUNNING,
        gostatus::SYSCALL => gostate::SYSCALL,
        gostatus::WAITING => gostate::WAITING,
        _ => gostate::UNDETERMINED,
    }
}

/// Wire proc status -> API state.
pub fn proc_status_to_state(s: u64) -> u8 {
    match s {
        pstatus::RUNNING | pstatus::SYSCALL => procstate::RUNNING,
        pstatus::IDLE | pstatus::SYSCALL_ABANDONED => procstate::IDLE,
        _ => procstate::UNDETERMINED,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedCtx {
    pub g: i64,
    pub p: i64,
    pub m: i64,
}

pub(crate) const NO_CTX: SchedCtx = SchedCtx { g: NO_ID, p: NO_ID, m: NO_ID };

/// One event as the ordering stage hands it on. `args` follow the wire spec
/// (without `dt`), with the values Go smuggles in: the old state of status
/// events, the parent and name of a task end, the kind of an STW end.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub typ: u8,
    pub time: i64,
    pub args: [u64; 4],
    pub ctx: SchedCtx,
    /// Byte offset of the event (or of the one it was made up from) in the input.
    pub at: usize,
}

/// Receives the ordered stream.
pub trait Sink {
    /// A Sync event; `gen` is None for the final one and for one that stands
    /// before a read error.
    fn sync(&mut self, time: i64, n: u64, gen: Option<&mut Generation<'_>>, strings: &mut Interner);
    /// Any other event, with the generation whose tables it refers to.
    fn event(&mut self, e: &Event, gen: &mut Generation<'_>, strings: &mut Interner) -> Result<(), TraceError>;
    /// True once the sink wants no more events.
    fn full(&self) -> bool;
}

/// Global ID of a wire string ID (ID 0 is "").
pub fn lookup_string(gen: &Generation<'_>, id: u64) -> Option<u32> {
    if id == 0 {
        Some(crate::intern::EMPTY)
    } else {
        gen.strings.get(id)
    }
}
