//! Inputs that once broke the parser (found by `make fuzz` or by the damage
//! tests), kept in tests/regressions/, and the parser's contract on each:
//! `parse` returns Ok or Err (never panics), an error says where it happened
//! and is never an "internal error", and memory stays within a small multiple
//! of the input size. A file `NAME.expect` next to input `NAME` may pin the
//! outcome: its first line is `ok`, `damaged` (Ok with a tail error) or
//! `error: TEXT` (an error whose message contains TEXT).

use gotrace_core::order::{Event, Reader, Sink, ORDER_WORK_PER_BYTE};
use gotrace_core::wire::Generation;
use gotrace_core::{intern::Interner, parse, ParseOptions, TraceError};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Counts live heap bytes and their peak, to hold parses to a memory bound.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Memory measurements need the process to themselves.
static SERIAL: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak heap bytes allocated while running `f`, above what was live before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/regressions")
}

fn inputs() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("tests/regressions exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "expect" && e != "md"))
        .collect();
    out.sort();
    out
}

fn check_error(e: &TraceError, len: usize, what: &str) {
    assert!(!e.message.contains("internal error"), "{what}: {e}");
    let off = e.offset.unwrap_or_else(|| panic!("{what}: error without an offset: {e}"));
    assert!(off <= len as u64, "{what}: offset {off} past the end ({len} bytes): {e}");
}

/// Memory a parse of `len` input bytes may take: the tables of a real trace
/// take ~30 bytes per input byte (an event is ~3 bytes on the wire and ~80 in
/// the tables); hostile claims (IDs, sizes, counts) must not add to that. The
/// constant covers the first chunk of each chunked column, reserved whole
/// (build/cols.rs: 1M rows per chunk).
fn memory_bound(len: usize) -> usize {
    64 * len + (256 << 20)
}

fn check(path: &Path) {
    let what = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
    let data = std::fs::read(path).expect("read");
    let (result, peak) = peak_during(|| parse(&data, ParseOptions::default()));
    assert!(peak <= memory_bound(data.len()), "{what}: {peak} bytes at peak for {} input bytes", data.len());
    let outcome = match &result {
        Ok(p) => {
            assert_eq!(p.bytes_total, data.len() as u64, "{what}");
            assert!(p.bytes_used <= p.bytes_total, "{what}");
            match &p.tail_error {
                Some(e) => {
                    check_error(e, data.len(), &what);
                    "damaged".to_string()
                }
                None => "ok".to_string(),
            }
        }
        Err(e) => {
            check_error(e, data.len(), &what);
            format!("error: {}", e.message)
        }
    };
    let expect = path.with_file_name(format!("{what}.expect"));
    if let Ok(want) = std::fs::read_to_string(&expect) {
        let want = want.lines().next().unwrap_or("").trim();
        match want.strip_prefix("error: ") {
            Some(text) => assert!(outcome.starts_with("error: ") && outcome.contains(text), "{what}: {outcome}"),
            None => assert_eq!(outcome, want, "{what}"),
        }
    }
}

#[test]
fn regressions_meet_the_contract() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let files = inputs();
    assert!(!files.is_empty());
    for f in files {
        check(&f);
    }
}

/// A sink that keeps nothing: the ordering stage alone.
struct Discard;

impl Sink for Discard {
    fn sync(&mut self, _: i64, _: u64, _: Option<&mut Generation<'_>>, _: &mut Interner) {}
    fn event(&mut self, _: &Event, _: &mut Generation<'_>, _: &mut Interner) -> Result<(), TraceError> {
        Ok(())
    }
    fn full(&self) -> bool {
        false
    }
}

fn corpus() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/traces");
    let mut out = Vec::new();
    for d in std::fs::read_dir(root).expect("corpus").flatten() {
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            if f.path().extension().is_some_and(|e| e == "trace") {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// The ordering budget (a bound on the retries spent on threads whose events
/// wait on each other) is far above what real traces need.
#[test]
fn real_traces_stay_far_below_the_ordering_budget() {
    let mut worst = (0.0f64, String::new());
    for f in corpus() {
        let data = std::fs::read(&f).expect("read");
        let version = gotrace_core::wire::read_header(&data).expect("header");
        if gotrace_core::tracev1::is_old(version) {
            continue; // no order::Reader: tracev1's merge has its own budget
        }
        let mut r = Reader::new(&data, version);
        assert!(r.run(&mut Discard, &mut |_| {}).is_none(), "{}", f.display());
        let ratio = r.ordering_work() as f64 / data.len() as f64;
        if ratio > worst.0 {
            worst = (ratio, f.display().to_string());
        }
    }
    eprintln!("most ordering work per input byte: {:.4} ({})", worst.0, worst.1);
    assert!(worst.0 * 16.0 < ORDER_WORK_PER_BYTE as f64, "{worst:?}");
}

/// Parsing real traces stays within the memory bound the hostile inputs are
/// held to.
#[test]
fn real_traces_stay_within_the_memory_bound() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for f in corpus() {
        let data = std::fs::read(&f).expect("read");
        let (r, peak) = peak_during(|| parse(&data, ParseOptions::default()).map(|p| p.generations));
        assert!(r.is_ok(), "{}", f.display());
        assert!(peak <= memory_bound(data.len()), "{}: {peak} bytes for {}", f.display(), data.len());
    }
}
