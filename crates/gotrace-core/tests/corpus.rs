//! Every corpus trace parses without error, and a damaged copy fails or keeps
//! whole generations. (Event-for-event parity with Go is checked from Python
//! against the oracle program, tests/test_parity.py.)

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use gotrace_core::{parse, ParseOptions};
use std::path::PathBuf;

fn corpus() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/traces");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("tests/data/traces exists") {
        let dir = dir.expect("dir entry").path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("version dir") {
            let f = f.expect("file").path();
            if f.extension().is_some_and(|e| e == "trace") {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_corpus_trace_parses() {
    let files = corpus();
    assert!(files.len() >= 80, "corpus has {} traces", files.len());
    for f in files {
        let data = std::fs::read(&f).expect("read");
        let p = parse(&data, ParseOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(p.tail_error.is_none(), "{}: {:?}", f.display(), p.tail_error);
        let (_, events) = &p.tables[0];
        let mut last = i64::MIN;
        let mut n = 0;
        for b in events {
            for t in b.column(0).as_primitive::<Int64Type>().values() {
                assert!(*t > last, "{}: times not strictly increasing", f.display());
                last = *t;
                n += 1;
            }
        }
        assert!(n > 0);
        assert_eq!(last, p.end_ns);
        assert!(p.generations >= 1);
    }
}

#[test]
fn truncated_trace_keeps_whole_generations_or_fails() {
    let f = corpus().into_iter().find(|f| f.ends_with("go1.26/generations.trace")).expect("generations trace");
    let data = std::fs::read(&f).expect("read");
    let full = parse(&data, ParseOptions::default()).expect("full trace parses");
    for cut in [17, 100, data.len() / 3, data.len() / 2, data.len() - 1] {
        match parse(&data[..cut], ParseOptions::default()) {
            Ok(p) => {
                assert!(p.tail_error.is_some(), "cut at {cut}: no tail error");
                assert!(p.generations < full.generations);
                assert!(p.bytes_used <= cut as u64);
            }
            Err(e) => assert!(e.offset.is_some(), "cut at {cut}: error without offset: {e}"),
        }
    }
}

#[test]
fn bad_headers() {
    let cases: [(&[u8], &str); 6] = [
        (b"", "empty"),
        (b"hello world, this is not a trace", "not a Go execution trace"),
        // An old-format header and nothing else: no frequency, as Go says.
        (b"go 1.21 trace\x00\x00\x00", "no EvFrequency event"),
        (b"go 1.5 trace\x00\x00\x00\x00", "unknown or unsupported trace version go 1.5"),
        // Go 1.12-1.18 wrote 1.11 headers: 1.12 is no format.
        (b"go 1.12 trace\x00\x00\x00", "unknown or unsupported trace version go 1.12"),
        (b"go 1.99 trace\x00\x00\x00", "unknown or unsupported trace version go 1.99"),
    ];
    for (data, want) in cases {
        let err = parse(data, ParseOptions::default()).err().expect("an error");
        assert!(err.message.contains(want), "{:?}: {}", String::from_utf8_lossy(data), err.message);
    }
}

#[test]
fn truncated_old_trace_fails_with_an_offset() {
    // No generations to fall back on: whatever is cut, the parse fails (the
    // frequency and the stacks come last), and says where.
    for f in corpus().into_iter().filter(|f| f.parent().is_some_and(|d| d.ends_with("v1"))) {
        let data = std::fs::read(&f).expect("read");
        for cut in [16, 17, 100, data.len() / 3, data.len() / 2, data.len() - 1] {
            let err = parse(&data[..cut], ParseOptions::default()).err();
            let err = err.unwrap_or_else(|| panic!("{} cut at {cut}: parsed", f.display()));
            assert!(err.offset.is_some_and(|o| o <= cut as u64), "{} cut at {cut}: {err}", f.display());
        }
    }
}
