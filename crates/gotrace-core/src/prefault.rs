//! Faulting in, on a second core, the pages a pass is about to write.
//!
//! A pass that fills large vectors spends much of its time in the kernel: each
//! new 4 KiB page costs a fault and the zeroing of the page, about 1.1 ms per
//! MB on the machines we measured, a quarter of the Summarizer's time. The
//! pass publishes where its vectors stand; a helper thread keeps the next
//! [`AHEAD`] bytes past each one's length faulted in (`MADV_POPULATE_WRITE`,
//! which touches no contents), so the pass finds them mapped. Only that much
//! past what is written is ever populated: capacity reserved but never used
//! stays unbacked.
//!
//! The helper looks every [`POLL`] rather than being woken: the Summarizer
//! publishes every 2048 events, and waking a sleeping thread is a system call
//! that cost the pass more (30-45 ms of 0.55 s) than the faults it saved.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How far past each vector's length pages are faulted in: several polls'
/// worth of writing (the Summarizer writes about 0.1 MB per POLL).
const AHEAD: usize = 1 << 20;
/// How often the helper looks at the published spans once it has caught up.
const POLL: Duration = Duration::from_micros(200);
/// Populated in steps of at least this much (fewer system calls).
const STEP: usize = 64 << 10;
const PAGE: usize = 4096;

/// Where a vector stands: (address, bytes written, bytes of capacity).
pub(crate) type Span = [usize; 3];

pub(crate) fn span<T>(v: &Vec<T>) -> Span {
    let size = std::mem::size_of::<T>();
    [v.as_ptr() as usize, v.len() * size, v.capacity() * size]
}

struct Shared {
    spans: Vec<[AtomicUsize; 3]>,
    stop: AtomicBool,
}

/// The helper thread, stopped when dropped.
pub(crate) struct Prefaulter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Prefaulter {
    /// A helper for `n` vectors (none on a single core, or if no thread can
    /// be started: the pass then faults its pages itself).
    pub(crate) fn start(n: usize) -> Self {
        let shared = Arc::new(Shared {
            spans: (0..n).map(|_| [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)]).collect(),
            stop: AtomicBool::new(false),
        });
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let thread = if cfg!(target_os = "linux") && cores > 1 {
            let s = Arc::clone(&shared);
            std::thread::Builder::new().name("gotrace-prefault".into()).spawn(move || run(&s)).ok()
        } else {
            None
        };
        Prefaulter { shared, thread }
    }

    /// Where the vectors stand now (in the order of `start`'s count); the
    /// helper reads them at its next poll.
    pub(crate) fn publish(&self, spans: &[Span]) {
        if self.thread.is_none() {
            return;
        }
        for (to, from) in self.shared.spans.iter().zip(spans) {
            for (a, &v) in to.iter().zip(from) {
                a.store(v, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Prefaulter {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn run(s: &Shared) {
    // Per vector: the address last seen and how far past it pages are in.
    let mut done: Vec<(usize, usize)> = vec![(0, 0); s.spans.len()];
    while !s.stop.load(Ordering::Relaxed) {
        let mut worked = false;
        for (span, done) in s.spans.iter().zip(&mut done) {
            let [ptr, len, cap] = [0, 1, 2].map(|i| span[i].load(Ordering::Relaxed));
            if ptr == 0 {
                continue;
            }
            if done.0 != ptr {
                // Moved (regrown): its new memory is in up to its length.
                *done = (ptr, len);
            }
            let from = (ptr + done.1.max(len)).next_multiple_of(PAGE);
            let to = (ptr + (len + AHEAD).min(cap)) / PAGE * PAGE;
            if to >= from + STEP || (to > from && to == (ptr + cap) / PAGE * PAGE) {
                if !populate(from, to - from) {
                    return;
                }
                done.1 = to - ptr;
                worked = true;
            }
        }
        if !worked {
            std::thread::park_timeout(POLL);
        }
    }
}

/// Faults in `[addr, addr + len)` writable, contents untouched. False if the
/// kernel does not know the request (before Linux 5.14): then stop trying.
/// Other failures (the vector was freed meanwhile) change nothing.
#[cfg(target_os = "linux")]
fn populate(addr: usize, len: usize) -> bool {
    const MADV_POPULATE_WRITE: libc::c_int = 23;
    // SAFETY: populating page tables does not read or write the memory; an
    // address range that is no longer mapped only makes the call fail.
    let rc = unsafe { libc::madvise(addr as *mut libc::c_void, len, MADV_POPULATE_WRITE) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL)
}

#[cfg(not(target_os = "linux"))]
fn populate(_addr: usize, _len: usize) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Whether each page of `[addr, addr + len)` is resident.
    fn resident(addr: usize, len: usize) -> Vec<bool> {
        let mut v = vec![0u8; len.div_ceil(PAGE)];
        // SAFETY: the range is page-aligned and mapped by the test's vector.
        let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, v.as_mut_ptr()) };
        assert_eq!(rc, 0);
        v.into_iter().map(|b| b & 1 == 1).collect()
    }

    fn wait_for(what: impl Fn() -> bool) -> bool {
        (0..2000).any(|_| {
            std::thread::sleep(Duration::from_millis(1));
            what()
        })
    }

    #[test]
    fn pages_ahead_of_the_length_come_in_and_no_further() {
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            return;
        }
        // Large enough to get its own mapping, untouched.
        let mut v: Vec<u8> = Vec::with_capacity(64 << 20);
        let base = (v.as_ptr() as usize).next_multiple_of(PAGE);
        let pf = Prefaulter::start(1);
        pf.publish(&[span(&v)]);
        assert!(wait_for(|| resident(base, AHEAD - PAGE).iter().all(|&r| r)), "the first pages never came in");
        // Written up to 8 MB: the pages past it come in.
        v.resize(8 << 20, 1);
        pf.publish(&[span(&v)]);
        let next = base + (8 << 20);
        assert!(wait_for(|| resident(next, AHEAD - PAGE).iter().all(|&r| r)), "pages past the length never came in");
        drop(pf);
        // Nothing near the end of the capacity (huge pages may round up to 2 MB).
        let tail = base + (32 << 20);
        assert!(resident(tail, 31 << 20).iter().all(|&r| !r), "unused capacity was faulted in");
        assert!(v.iter().all(|&b| b == 1));
    }
}
