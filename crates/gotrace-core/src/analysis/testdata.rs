//! What the passes' tests share: corpus traces, and a parsed trace's tables
//! read back.

use arrow_array::RecordBatch;

/// A trace of `tests/data/traces`, e.g. "go1.26/gc.trace".
pub(crate) fn corpus(name: &str) -> Vec<u8> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/traces");
    std::fs::read(root.join(name)).expect("corpus trace")
}

/// A trace of several generations, whole and cut two thirds in (a damaged
/// tail), named.
pub(crate) fn whole_and_cut() -> [(&'static str, Vec<u8>); 2] {
    let whole = corpus("go1.26/generations.trace");
    let cut = whole[..whole.len() * 2 / 3].to_vec();
    [("whole", whole), ("cut", cut)]
}

/// Table `name` of a parsed trace.
pub(crate) fn table<'a>(parsed: &'a crate::ParsedTrace, name: &str) -> &'a [RecordBatch] {
    &parsed.tables.iter().find(|(n, _)| *n == name).expect("table").1
}

/// Integer column `name` of `batches` (-1 for null).
pub(crate) fn ints(batches: &[RecordBatch], name: &str) -> Vec<i64> {
    let (mut out, mut part) = (Vec::new(), Vec::new());
    for b in batches {
        crate::evtable::int_col(b, name, true).expect("integer column").decode(0, b.num_rows(), &mut part);
        out.append(&mut part);
    }
    out
}
