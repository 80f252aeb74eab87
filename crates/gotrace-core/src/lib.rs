//! gotrace-core: decodes a Go execution trace into Arrow record batches.
//!
//! The pipeline is `wire` (header, batches, per-generation tables) ->
//! `order` (Go's ordering state machine) -> `build` (columnar tables). Go
//! 1.11-1.21 traces take `tracev1` instead of `wire` and `order`, into the
//! same `build`.

use arrow_array::RecordBatch;

pub mod analysis;
pub mod decode;
pub mod idmap;
pub mod model;
pub mod threads;

// Each module by its own name too (`crate::wire`, `gotrace_core::profile`):
// the folders say which stage a module belongs to, the paths stay short.
pub use analysis::{critical, evtable, group, lanes, mmu, profile, spans, summary, take};
pub use decode::{build, intern, order, pdqsort, raw, spec, tracev1, wire};

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
    /// Trace format version from the header: 11, 19 or 21 (the old format,
    /// converted) or 22, 23, 25 or 26.
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
    let (mut parsed, built) = read_into(data, &mut opts, build::Builder::new)?;
    let Built { builder, strings, .. } = built;
    let timing = timing();
    let t_finish = std::time::Instant::now();
    if timing {
        eprintln!("before finish: {}", memory_status());
    }
    parsed.tables = builder.finish(&strings, parsed.end_ns);
    if timing {
        eprintln!("finish: {:.3}s, {}", t_finish.elapsed().as_secs_f64(), memory_status());
    }
    Ok(parsed)
}

/// Parses a whole trace as [`parse`] does, handing the events table to a
/// consumer made by `consumer` record batch by record batch (in order; each
/// batch dropped once handed over) instead of keeping it, and building no
/// derived table: memory is the consumer's state, not the trace's.
///
/// Returns the consumer and the trace as [`parse`] describes it, whose tables
/// are only `stacks` and `frames`. A damaged tail is read again up to the
/// last Sync, as [`parse`] does, by a fresh consumer: the one returned has
/// seen exactly the events [`parse`] keeps.
pub fn parse_stream<C: build::EventBatches + 'static>(
    data: &[u8],
    mut opts: ParseOptions<'_>,
    mut consumer: impl FnMut() -> C,
) -> Result<(ParsedTrace, C), TraceError> {
    let streaming = |strings: &mut intern::Interner, limit| build::Builder::streaming(strings, limit, consumer());
    let (mut parsed, built) = read_into(data, &mut opts, streaming)?;
    let (consumer, tables) = built.builder.finish_stream(&built.strings);
    parsed.tables = tables;
    Ok((parsed, consumer))
}

/// Converts a whole trace as [`parse`] reads it, handing every table to a
/// consumer made by `consumer` ([`build::TableBatches`]): the events table
/// batch by batch as it is parsed, the others at the end, with only bounded
/// state kept for those that grow with the trace (`build/convert.rs`); the
/// spans and regions come with their public columns.
///
/// A damaged tail is read again up to the last Sync by a fresh consumer, as
/// in [`parse_stream`]. Returns the consumer and the trace as [`parse`]
/// describes it, whose tables are only `stacks` and `frames`.
pub fn parse_convert<C: build::TableBatches + 'static>(
    data: &[u8],
    mut opts: ParseOptions<'_>,
    mut consumer: impl FnMut() -> C,
) -> Result<(ParsedTrace, C), TraceError> {
    let converting = |strings: &mut intern::Interner, limit| build::Builder::converting(strings, limit, consumer());
    let (mut parsed, built) = read_into(data, &mut opts, converting)?;
    let (consumer, tables) = built.builder.finish_stream(&built.strings);
    parsed.tables = tables;
    Ok((parsed, consumer))
}

/// Reads the whole trace into builders from `builder` ([`run_complete`],
/// reporting progress) and describes it: what [`parse`], [`parse_stream`]
/// and [`parse_convert`] share. The description's tables are left empty.
fn read_into(
    data: &[u8],
    opts: &mut ParseOptions<'_>,
    builder: impl FnMut(&mut intern::Interner, usize) -> build::Builder,
) -> Result<(ParsedTrace, Built), TraceError> {
    let version = wire::read_header(data)?;
    let total = data.len() as u64;
    let mut report = |done: usize| {
        if let Some(p) = opts.progress.as_mut() {
            p(done as u64, total);
        }
    };
    let (built, tail_error) = run_complete(data, version, opts.release_input, &mut report, builder)?;
    Ok((describe(version, &built, tail_error, total), built))
}

/// Runs a parse with builders from `builder`. On an error that leaves a
/// complete generation, parses again, keeping the events up to the last
/// Sync (Go's consumers keep those; the generation after it is lost), so
/// every table agrees with the kept events: then the error comes back too.
fn run_complete(
    data: &[u8],
    version: u32,
    release: bool,
    report: &mut dyn FnMut(usize),
    mut builder: impl FnMut(&mut intern::Interner, usize) -> build::Builder,
) -> Result<(Built, Option<TraceError>), TraceError> {
    if tracev1::is_old(version) {
        // No generations to fall back on: any damage is an error, as in Go.
        let built = run_old(data, version, &mut builder)?;
        report(data.len());
        return Ok((built, None));
    }
    let first = run(data, version, usize::MAX, release, report, &mut builder);
    let Some(err) = first.error else { return Ok((first, None)) };
    let keep = first.builder.last_sync_event + 1;
    if first.sync_offsets.len() < 2 || first.builder.is_empty() {
        return Err(err);
    }
    // Its second thread ends on its own once it has taken what was sent.
    drop(first.builder);
    let second = run(data, version, keep, release, &mut |_| {}, &mut builder);
    Ok((second, Some(err)))
}

/// What [`parse`] says of the trace `built` read, without its tables.
fn describe(version: u32, built: &Built, tail_error: Option<TraceError>, total: u64) -> ParsedTrace {
    let builder = &built.builder;
    let n_syncs = builder.syncs_seen();
    let bytes_used = if tail_error.is_some() {
        built.sync_offsets.get(n_syncs.saturating_sub(1)).copied().unwrap_or(16) as u64
    } else {
        total
    };
    let frequency = builder.first_freq.map(|f| (1e9 / f).round() as u64).unwrap_or(0);
    ParsedTrace {
        version,
        tables: Vec::new(),
        start_ns: builder.first_ts.unwrap_or(0),
        end_ns: builder.last_ts,
        // The final Sync (or the one before a damaged tail) opens no generation.
        generations: n_syncs.saturating_sub(1) as u64,
        frequency,
        bytes_used,
        bytes_total: total,
        tail_error,
    }
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

/// Reads an old-format trace into a builder: one generation, no damaged tail.
fn run_old(
    data: &[u8],
    version: u32,
    new_builder: &mut dyn FnMut(&mut intern::Interner, usize) -> build::Builder,
) -> Result<Built, TraceError> {
    let mut strings = intern::Interner::default();
    let mut builder = new_builder(&mut strings, usize::MAX);
    tracev1::run(data, version, &mut builder, &mut strings)?;
    Ok(Built { builder, strings, sync_offsets: Vec::new(), error: None })
}

fn run(
    data: &[u8],
    version: u32,
    limit: usize,
    release: bool,
    progress: &mut dyn FnMut(usize),
    new_builder: &mut dyn FnMut(&mut intern::Interner, usize) -> build::Builder,
) -> Built {
    let mut reader = order::Reader::new(data, version);
    reader.release_input = release;
    let mut builder = new_builder(&mut reader.strings, limit);
    let (cpu, wall) = (thread_cpu(), std::time::Instant::now());
    let error = reader.run(&mut builder, progress);
    if timing() {
        eprintln!("ordering: {:.3}s wall, {:.3}s cpu", wall.elapsed().as_secs_f64(), thread_cpu() - cpu);
    }
    let sync_offsets = reader.sync_offsets.clone();
    Built { builder, strings: std::mem::take(&mut reader.strings), sync_offsets, error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type, Int8Type};
    use arrow_array::Array;
    use arrow_schema::DataType;

    /// Keeps what a streaming parse hands over, and runs the profiles' pass.
    struct Kept(Vec<RecordBatch>, profile::Pass);

    impl build::EventBatches for Kept {
        fn batch(&mut self, batch: &RecordBatch, named: &[bool]) {
            self.0.push(batch.clone());
            self.1.batch(batch, named);
        }
    }

    const KINDS: [profile::ProfileKind; 4] = {
        use profile::ProfileKind::*;
        [Net, Sync, Syscall, Sched]
    };

    /// Per stack ID of a frames table: whether its outermost frame has a function.
    fn namable(frames: &RecordBatch) -> Vec<bool> {
        let sid = frames.column_by_name("stack_id").expect("stack_id").as_primitive::<Int32Type>();
        let depth = frames.column_by_name("depth").expect("depth").as_primitive::<Int32Type>();
        let func = cells(std::slice::from_ref(frames), "function");
        let mut outer: Vec<(i32, bool)> = Vec::new();
        for ((s, d), f) in sid.values().iter().zip(depth.values().iter()).zip(&func) {
            let s = *s as usize;
            if s >= outer.len() {
                outer.resize(s + 1, (-1, false));
            }
            if *d > outer[s].0 {
                outer[s] = (*d, f.as_deref().is_some_and(|f| !f.is_empty()));
            }
        }
        outer.into_iter().map(|(_, named)| named).collect()
    }

    /// Every value of column `name`, as text (dictionaries looked up), so
    /// that tables with other dictionaries or key widths compare.
    fn cells(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
        fn text<T: arrow_array::ArrowPrimitiveType>(a: &dyn Array) -> Vec<Option<String>> {
            a.as_primitive::<T>().iter().map(|v| v.map(|v| format!("{v:?}"))).collect()
        }
        fn plain(a: &dyn Array) -> Vec<Option<String>> {
            match a.data_type() {
                DataType::Int64 => text::<Int64Type>(a),
                DataType::Int32 => text::<Int32Type>(a),
                DataType::Int8 => text::<Int8Type>(a),
                DataType::Utf8 => a.as_string::<i32>().iter().map(|v| v.map(str::to_owned)).collect(),
                t => panic!("column type {t}"),
            }
        }
        let mut out = Vec::new();
        for b in batches {
            let a = b.column_by_name(name).expect("column");
            if let DataType::Dictionary(..) = a.data_type() {
                let d = a.as_any_dictionary();
                if d.values().is_empty() {
                    // All null (normalized_keys wants a value).
                    out.extend(std::iter::repeat_n(None, a.len()));
                    continue;
                }
                let values = plain(d.values().as_ref());
                let keys = d.normalized_keys();
                out.extend((0..a.len()).map(|i| if a.is_valid(i) { values[keys[i]].clone() } else { None }));
            } else {
                out.extend(plain(a.as_ref()));
            }
        }
        out
    }

    /// Keeps every batch a streaming conversion hands over.
    #[derive(Default)]
    struct Handed(Vec<(&'static str, RecordBatch)>);

    impl build::TableBatches for Handed {
        fn batch(&mut self, table: &'static str, batch: RecordBatch) {
            self.0.push((table, batch));
        }
    }

    #[test]
    fn a_streaming_conversion_hands_over_the_tables_of_parse() {
        let whole = corpus_trace("go1.26/generations.trace");
        let mut inputs = vec![("whole", whole.clone()), ("cut", whole[..whole.len() * 2 / 3].to_vec())];
        inputs.push(("tasks", corpus_trace("go1.22/tasks.trace")));
        inputs.push(("old", corpus_trace("v1/user_task_region_1_11_good.trace")));
        for (what, data) in inputs {
            let parsed = parse(&data, ParseOptions::default()).expect("parses");
            let (conv, handed) = parse_convert(&data, ParseOptions::default(), Handed::default).expect("converts");
            let got = |name: &str| -> Vec<RecordBatch> {
                handed.0.iter().filter(|(n, _)| *n == name).map(|(_, b)| b.clone()).collect()
            };
            let want = |name: &str| parsed.tables.iter().find(|(n, _)| *n == name).expect("table").1.clone();
            assert!(got("events").iter().all(|b| b.num_rows() <= build::STREAM_ROWS), "{what}");
            // Every table as parse makes it; spans and regions by their
            // stored columns (the Python tests hold their public columns to
            // the gathered ones).
            let tables = ["events", "goroutines", "procs", "tasks", "logs", "metrics", "gc", "cpu_samples", "syncs"];
            for name in tables.into_iter().chain(["spans", "regions"]) {
                let want = want(name);
                for field in want[0].schema().fields() {
                    assert_eq!(cells(&got(name), field.name()), cells(&want, field.name()), "{what}: {name}");
                }
            }
            let spans: usize = got("spans").iter().map(RecordBatch::num_rows).sum();
            assert!(spans > 1000 || what != "whole", "{what}: {spans} spans sort in one run");
            assert_eq!(
                (conv.start_ns, conv.end_ns, conv.generations, conv.bytes_used, conv.tail_error),
                (parsed.start_ns, parsed.end_ns, parsed.generations, parsed.bytes_used, parsed.tail_error),
                "{what}"
            );
        }
    }

    fn corpus_trace(name: &str) -> Vec<u8> {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/traces");
        std::fs::read(root.join(name)).expect("corpus trace")
    }

    #[test]
    fn a_streaming_parse_hands_over_the_events_table_of_parse() {
        let whole = corpus_trace("go1.26/generations.trace");
        let mut inputs = vec![("whole", whole.clone()), ("cut", whole[..whole.len() * 2 / 3].to_vec())];
        inputs.push(("example", corpus_trace("go1.22/example.trace")));
        for (what, data) in inputs {
            let parsed = parse(&data, ParseOptions::default()).expect("parses");
            let compat = profile::ProfileCompat { skip_no_stack: what == "example" };
            let consumer = || Kept(Vec::new(), profile::Pass::new(&KINDS, compat).expect("four kinds"));
            let (streamed, kept) = parse_stream(&data, ParseOptions::default(), consumer).expect("streams");
            assert!(kept.0.iter().all(|b| b.num_rows() <= build::STREAM_ROWS), "{what}");
            let events = &parsed.tables[0].1;
            let rows: usize = events.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(kept.0.iter().map(RecordBatch::num_rows).sum::<usize>(), rows, "{what}");
            assert!(rows > build::STREAM_ROWS || what == "example", "{what}: {rows} rows fit one batch");
            for field in events[0].schema().fields() {
                assert_eq!(cells(&kept.0, field.name()), cells(events, field.name()), "{what}: {}", field.name());
            }
            assert_eq!(
                (streamed.start_ns, streamed.end_ns, streamed.generations, streamed.bytes_used),
                (parsed.start_ns, parsed.end_ns, parsed.generations, parsed.bytes_used),
                "{what}"
            );
            assert_eq!(streamed.tail_error, parsed.tail_error, "{what}");
            assert_eq!(what == "cut", parsed.tail_error.is_some());
            // The pass, its state carried across batches, as over the table.
            let frames = &parsed.tables.iter().find(|(n, _)| *n == "frames").expect("frames").1[0];
            let want = profile::samples(events, &KINDS, compat, &namable(frames)).expect("pass");
            let got = kept.1.finish().expect("streamed pass");
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{what}");
            assert!(got.0[3].start.len() > 100, "{what}: too few intervals to tell");
            let (names, tables): (Vec<_>, Vec<_>) = streamed.tables.into_iter().unzip();
            assert_eq!(names, ["stacks", "frames"]);
            let want: Vec<_> = parsed.tables.into_iter().filter(|(n, _)| names.contains(n)).map(|(_, t)| t).collect();
            assert_eq!(tables, want, "{what}");
        }
    }
}
