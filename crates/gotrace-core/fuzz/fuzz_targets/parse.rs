//! The parser's contract on arbitrary bytes: `parse` returns Ok or Err and
//! never panics; an error says where (a byte offset inside the input) and is
//! never an "internal error"; a result accounts for the bytes it used.
//! Hangs and runaway memory are caught by libFuzzer's -timeout and
//! -rss_limit_mb / -malloc_limit_mb (see `make fuzz`).
#![no_main]

use gotrace_core::{parse, ParseOptions, TraceError};
use libfuzzer_sys::fuzz_target;

fn check(e: &TraceError, len: usize) {
    assert!(!e.message.contains("internal error"), "internal error: {e}");
    let off = e.offset.unwrap_or_else(|| panic!("error without an offset: {e}"));
    assert!(off <= len as u64, "offset {off} past the end ({len} bytes): {e}");
}

fuzz_target!(|data: &[u8]| {
    match parse(data, ParseOptions::default()) {
        Ok(p) => {
            assert_eq!(p.bytes_total, data.len() as u64);
            assert!(p.bytes_used <= p.bytes_total);
            if let Some(e) = &p.tail_error {
                check(e, data.len());
            } else {
                assert_eq!(p.bytes_used, p.bytes_total);
            }
        }
        Err(e) => check(&e, data.len()),
    }
});
