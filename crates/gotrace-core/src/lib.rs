//! gotrace-core: decodes a Go 1.22+ execution trace into Arrow record batches.
//!
//! The pipeline is `wire` (header, batches, per-generation tables) ->
//! `order` (Go's ordering state machine) -> `build` (columnar tables).

use arrow_array::RecordBatch;

pub mod build;
pub mod critical;
pub mod evtable;
pub mod group;
pub mod idmap;
pub mod intern;
pub mod lanes;
pub mod mmu;
pub mod order;
pub mod pdqsort;
pub mod profile;
pub mod raw;
pub mod spans;
pub mod spec;
pub mod summary;
pub mod take;
pub mod wire;

/// What went wrong, and where: every malformed input ends up here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    pub message: String,
    /// Byte offset in the input where the problem was found.
    pub offset: Option<u64>,
    /// Wire generation number being read when the problem was found.
    pub generation: Option<u64>,
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        match (self.offset, self.generation) {
            (Some(o), Some(g)) => write!(f, " (at byte offset {o}, generation {g})"),
            (Some(o), None) => write!(f, " (at byte offset {o})"),
            (None, Some(g)) => write!(f, " (generation {g})"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for TraceError {}

impl TraceError {
    pub fn at(message: impl Into<String>, offset: usize, generation: Option<u64>) -> Self {
        TraceError { message: message.into(), offset: Some(offset as u64), generation }
    }
    pub fn msg(message: impl Into<String>) -> Self {
        TraceError { message: message.into(), offset: None, generation: None }
    }
    /// Moves a batch-relative offset to an absolute one.
    pub fn shift(mut self, by: usize) -> Self {
        self.offset = self.offset.map(|o| o + by as u64);
        self
    }
    /// Fills in the generation if it is not known yet.
    pub fn with_gen(mut self, generation: Option<u64>) -> Self {
        if self.generation.is_none() {
            self.generation = generation;
        }
        self
    }
}

/// Options for [`parse`].
#[derive(Default)]
pub struct ParseOptions<'a> {
    /// Called now and then with (bytes consumed, total bytes).
    pub progress: Option<&'a mut dyn FnMut(u64, u64)>,
    /// The input is a read-only file mapping: hand the pages of generations
    /// already read back to the kernel as the parse goes (see
    /// [`wire::release_pages`]). Never set this for memory that is not a file
    /// mapping: its pages would read back as zeros.
    pub release_input: bool,
}

/// A parsed trace: every table plus what describes the whole trace.
pub struct ParsedTrace {
    /// Trace format version from the header: 22, 23, 25 or 26.
    pub version: u32,
    /// (table name, table) in a fixed order: events, spans, goroutines, procs,
    /// tasks, regions, logs, metrics, gc, cpu_samples, stacks, frames, syncs,
    /// experimental, experimental_batches.
    pub tables: Vec<(&'static str, Vec<RecordBatch>)>,
    /// Time of the first and last event, ns.
    pub start_ns: i64,
    pub end_ns: i64,
    /// Number of complete generations kept.
    pub generations: u64,
    /// Ticks per second of the first generation.
    pub frequency: u64,
    /// Bytes of the input that made it into the result (the rest was a damaged tail).
    pub bytes_used: u64,
    pub bytes_total: u64,
    /// Set when a damaged tail was dropped: the error that ended reading.
    pub tail_error: Option<TraceError>,
}

/// Parses a whole trace.
///
/// A trace whose tail is damaged keeps every complete generation: the result
/// then carries `tail_error`. A trace with no complete generation is an error.
pub fn parse(data: &[u8], mut opts: ParseOptions<'_>) -> Result<ParsedTrace, TraceError> {
    let version = wire::read_header(data)?;
    let total = data.len() as u64;
    let mut report = |done: usize| {
        if let Some(p) = opts.progress.as_mut() {
            p(done as u64, total);
        }
    };
    let release = opts.release_input;
    let first = run(data, version, usize::MAX, release, &mut report);
    let (built, tail_error) = match first.error {
        None => (first, None),
        Some(err) => {
            // Go's consumers keep events up to the last Sync; the generation
            // after it is lost. Parse again, stopping there, so every derived
            // table agrees with the kept events.
            let keep = first.builder.last_sync_event + 1;
            let syncs = first.sync_offsets.len();
            if syncs < 2 || first.builder.is_empty() {
                return Err(err);
            }
            let mut quiet = |_: usize| {};
            let second = run(data, version, keep, release, &mut quiet);
            (second, Some(err))
        }
    };
    let Built { builder, strings, sync_offsets, .. } = built;
    let n_syncs = builder.syncs_seen();
    let bytes_used = if tail_error.is_some() {
        sync_offsets.get(n_syncs.saturating_sub(1)).copied().unwrap_or(16) as u64
    } else {
        total
    };
    let start_ns = builder.first_ts.unwrap_or(0);
    let end_ns = builder.last_ts;
    let frequency = builder.first_freq.map(|f| (1e9 / f).round() as u64).unwrap_or(0);
    // The final Sync (or the one before a damaged tail) opens no generation.
    let generations = n_syncs.saturating_sub(1);
    let timing = timing();
    let t_finish = std::time::Instant::now();
    if timing {
        eprintln!("before finish: {}", memory_status());
    }
    let tables = builder.finish(&strings, end_ns);
    if timing {
        eprintln!("finish: {:.3}s, {}", t_finish.elapsed().as_secs_f64(), memory_status());
    }
    Ok(ParsedTrace {
        version,
        tables,
        start_ns,
        end_ns,
        generations: generations as u64,
        frequency,
        bytes_used,
        bytes_total: total,
        tail_error,
    })
}

/// Reserves room for `n` more items in `v` if the system grants the address
/// space: its pages become memory only when written, and a vector that
/// regrows instead leaves each smaller copy behind in the heap. Where the
/// request is refused (strict overcommit), `v` grows as needed.
pub(crate) fn room<T>(v: &mut Vec<T>, n: usize) {
    // A refusal is not an error: the room only saves copies.
    let _ = v.try_reserve_exact(n);
}

/// Calls `f` on each item of `v` and its index, from the last down, giving
/// `v`'s memory back as it goes (mremap shrinks it in place): `v` and what
/// `f` builds from it are never held whole at once.
pub(crate) fn drain_rev<T>(mut v: Vec<T>, mut f: impl FnMut(usize, &T)) {
    for i in (0..v.len()).rev() {
        f(i, &v[i]);
        if i % (1 << 16) == 0 {
            v.truncate(i);
            v.shrink_to_fit();
        }
    }
}

/// GOTRACE_TIMING is set: the parse prints where its time and memory went.
pub(crate) fn timing() -> bool {
    std::env::var_os("GOTRACE_TIMING").is_some()
}

/// CPU seconds this thread has used, for GOTRACE_TIMING.
pub(crate) fn thread_cpu() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Current and peak resident memory, for GOTRACE_TIMING.
#[cfg(target_os = "linux")]
fn memory_status() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| status.lines().find(|l| l.starts_with(k)).map_or("?", |l| l[k.len()..].trim()).to_owned();
    format!("rss {} peak {}", field("VmRSS:"), field("VmHWM:"))
}

/// Peak resident memory, for GOTRACE_TIMING: without /proc, getrusage knows
/// only the peak (in bytes on macOS, KiB on the BSDs).
#[cfg(not(target_os = "linux"))]
fn memory_status() -> String {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes the rusage it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let unit = if cfg!(target_vendor = "apple") { 1 } else { 1024 };
    if rc == 0 {
        format!("peak {} kB", ru.ru_maxrss as i64 * unit / 1024)
    } else {
        "peak ?".to_owned()
    }
}

struct Built {
    builder: build::Builder,
    strings: intern::Interner,
    /// Input offset where the generation of each Sync starts.
    sync_offsets: Vec<usize>,
    error: Option<TraceError>,
}

fn run(data: &[u8], version: u32, limit: usize, release: bool, progress: &mut dyn FnMut(usize)) -> Built {
    let mut reader = order::Reader::new(data, version);
    reader.release_input = release;
    let mut builder = build::Builder::new(&mut reader.strings, limit);
    let (cpu, wall) = (thread_cpu(), std::time::Instant::now());
    let error = reader.run(&mut builder, progress);
    if timing() {
        eprintln!("ordering: {:.3}s wall, {:.3}s cpu", wall.elapsed().as_secs_f64(), thread_cpu() - cpu);
    }
    let sync_offsets = reader.sync_offsets.clone();
    Built { builder, strings: std::mem::take(&mut reader.strings), sync_offsets, error }
}
