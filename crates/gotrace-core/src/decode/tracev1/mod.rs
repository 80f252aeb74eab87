//! Go 1.11-1.21 traces (the old, non-generational format): a second decoder
//! feeding the same `order::Sink` as new traces. `parser` reads the old events
//! and checks them once `order` has merged them; `convert` turns them into
//! new-format events (with the status events, Syncs and reasons Go's
//! converter invents) over one `Generation`.

mod convert;
mod order;
pub mod parser;

use crate::intern::Interner;
use crate::order::Sink;
use crate::TraceError;

/// Header versions of the old format: 11 (written by Go 1.11-1.18), 19
/// (1.19-1.20) and 21 (1.21).
pub fn is_old(version: u32) -> bool {
    matches!(version, 11 | 19 | 21)
}

/// Parses a whole old-format trace into `sink`. Old traces have no
/// generations to fall back on: any damage is an error.
pub fn run(data: &[u8], version: u32, sink: &mut dyn Sink, strings: &mut Interner) -> Result<(), TraceError> {
    let cpu = crate::thread_cpu();
    let tr = parser::parse(data, version)?;
    let parsed = crate::thread_cpu() - cpu;
    convert::convert(tr, sink, strings)?;
    if crate::timing() {
        eprintln!("old format: {parsed:.3}s cpu parsing, {:.3}s converting", crate::thread_cpu() - cpu - parsed);
    }
    Ok(())
}
