//! How many threads the core may use: the one setting every parallel site
//! reads (the parse's table-building thread and finish, `take::on_both`,
//! `take::on_ranges`).
//!
//! In order: a count set for the calling thread ([`with`], what a single call
//! asks for), else the process-wide count ([`set`]), else `GOTRACE_DF_THREADS`
//! (read once), else the cores available. 1 runs everything on the calling
//! thread; the results never depend on the count.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The environment variable that sets the default count.
pub const ENV: &str = "GOTRACE_DF_THREADS";

/// The largest count accepted: more would only start threads that wait for
/// a core (each parallel site starts at most this many).
pub const MAX: usize = 1024;

/// Set by [`set`]; 0: not set.
static SET: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set by [`with`] for the call it wraps; 0: not set.
    static CALL: Cell<usize> = const { Cell::new(0) };
}

/// `n` as a thread count: from 1 to [`MAX`].
pub fn count(n: i64) -> Option<usize> {
    usize::try_from(n).ok().filter(|n| (1..=MAX).contains(n))
}

/// `GOTRACE_DF_THREADS` as a count: None when it is not set, an error when
/// it is set to something else than a count.
fn from_env() -> Result<Option<usize>, String> {
    static ENV_COUNT: OnceLock<Result<Option<usize>, String>> = OnceLock::new();
    ENV_COUNT
        .get_or_init(|| {
            let Some(v) = std::env::var_os(ENV) else { return Ok(None) };
            let text = v.to_string_lossy();
            let count = text.trim().parse::<i64>().ok().and_then(count);
            count.map(Some).ok_or_else(|| format!("{ENV} must be an integer from 1 to {MAX}, got {text:?}"))
        })
        .clone()
}

/// The count in effect on this thread, or the error of a bad
/// `GOTRACE_DF_THREADS` when nothing else sets it.
pub fn configured() -> Result<usize, String> {
    let call = CALL.with(Cell::get);
    if call > 0 {
        return Ok(call);
    }
    let set = SET.load(Ordering::Relaxed);
    if set > 0 {
        return Ok(set);
    }
    Ok(from_env()?.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |c| c.get())))
}

/// The count in effect on this thread (the cores available if
/// `GOTRACE_DF_THREADS` is bad: callers that can report it ask
/// [`configured`] first).
pub fn get() -> usize {
    configured().unwrap_or_else(|_| std::thread::available_parallelism().map_or(1, |c| c.get()))
}

/// Sets the process-wide count (`None`: back to `GOTRACE_DF_THREADS` or the
/// cores).
pub fn set(n: Option<usize>) {
    SET.store(n.map_or(0, |n| n.clamp(1, MAX)), Ordering::Relaxed);
}

/// `f` run with the count `n` on this thread (`None`: the count in effect).
pub fn with<R>(n: Option<usize>, f: impl FnOnce() -> R) -> R {
    let Some(n) = n else { return f() };
    /// Puts the previous count back, also when `f` unwinds.
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            CALL.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CALL.with(|c| c.replace(n.clamp(1, MAX))));
    f()
}

/// `(other(), mine())`, `other` on a thread of its own when the count allows
/// (with this thread's count), else after `mine`.
pub fn join<A: Send, B>(other: impl FnOnce() -> A + Send, mine: impl FnOnce() -> B) -> (A, B) {
    let n = get();
    if n < 2 {
        let b = mine();
        return (other(), b);
    }
    std::thread::scope(|s| {
        let other = s.spawn(move || with(Some(n), other));
        let b = mine();
        (other.join().unwrap_or_else(|e| std::panic::resume_unwind(e)), b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_takes_counts_only() {
        assert_eq!(count(1), Some(1));
        assert_eq!(count(MAX as i64), Some(MAX));
        for bad in [0, -1, MAX as i64 + 1, i64::MIN] {
            assert_eq!(count(bad), None, "{bad}");
        }
    }

    #[test]
    fn with_overrides_and_restores() {
        let before = get();
        with(Some(1), || {
            assert_eq!(get(), 1);
            with(Some(3), || assert_eq!(get(), 3));
            assert_eq!(get(), 1);
            // The other thread of a join runs with the caller's count.
            let (other, mine) = join(get, get);
            assert_eq!((other, mine), (1, 1));
        });
        with(Some(2), || assert_eq!(join(get, get), (2, 2)));
        assert_eq!(get(), before);
    }

    /// Keeps the record batches of a streaming parse.
    struct Kept(Vec<arrow_array::RecordBatch>);

    impl crate::build::EventBatches for Kept {
        fn batch(&mut self, batch: &arrow_array::RecordBatch, _named: &[bool]) {
            self.0.push(batch.clone());
        }
    }

    #[test]
    fn one_thread_parses_as_many_do() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/traces");
        let read = |name: &str| std::fs::read(root.join(name)).expect("corpus trace");
        let whole = read("go1.26/generations.trace");
        let cut = whole[..whole.len() * 2 / 3].to_vec();
        for (what, data) in [("whole", whole), ("cut", cut), ("old", read("v1/stress_1_21_good.trace"))] {
            let parse = |n| with(Some(n), || crate::parse(&data, crate::ParseOptions::default()).expect("parses"));
            let (one, two) = (parse(1), parse(2));
            // Past a streaming batch: the events table's columns finish on two threads.
            let rows: usize = two.tables[0].1.iter().map(arrow_array::RecordBatch::num_rows).sum();
            assert!(rows > crate::build::STREAM_ROWS, "{what}: {rows} rows");
            assert_eq!(one.tables, two.tables, "{what}");
            assert_eq!((one.end_ns, one.bytes_used, one.tail_error), (two.end_ns, two.bytes_used, two.tail_error));
            let stream = |n| {
                with(Some(n), || crate::parse_stream(&data, crate::ParseOptions::default(), || Kept(Vec::new())))
                    .expect("streams")
            };
            let ((p1, k1), (p2, k2)) = (stream(1), stream(2));
            assert_eq!((p1.tables, k1.0), (p2.tables, k2.0), "{what}");
        }
    }

    #[test]
    fn the_parallel_helpers_follow_the_count() {
        use crate::take::{on_both, on_ranges};
        let me = std::thread::current().id();
        with(Some(1), || {
            assert_eq!(on_ranges(10_000, 10, |r| r.len()), [10_000]);
            let [a, b] = on_both([1, 2], |x| (x, std::thread::current().id()));
            assert_eq!((a, b), ((1, me), (2, me)));
        });
        with(Some(3), || {
            assert_eq!(on_ranges(9_000, 10, |r| r), [0..3_000, 3_000..6_000, 6_000..9_000]);
            let [a, b] = on_both([1, 2], |x| (x, std::thread::current().id()));
            assert_eq!(a, (1, me));
            assert_ne!(b.1, me);
        });
    }
}
