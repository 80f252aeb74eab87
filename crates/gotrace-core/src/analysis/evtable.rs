//! Reading the events table back (any record batches with its schema, e.g.
//! handed over from pyarrow) for the sequential view passes (`profile`, `mmu`).
//!
//! Strings are decoded by value, never by dictionary position, so a table that
//! went through Parquet or pandas works too. Each view classifies the strings
//! it cares about once per batch dictionary (a small lookup table), not once
//! per event, and only the columns a view asks for are read.

use crate::take::{ints, Ints};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;

/// Goroutine (and proc) states, Go's GoState numbering.
pub use crate::model::state as st;
pub use crate::model::Kind;
use crate::model::{kind_code, resource, resource_code, state_code};

fn state_of(s: &str) -> u8 {
    state_code(s).unwrap_or(st::UNDETERMINED)
}

/// One event, as the views need it. IDs are -1 where Go says "none"; columns
/// a view did not ask for read as -1 / 0.
#[derive(Clone, Copy, Debug)]
pub struct Ev {
    pub ts: i64,
    pub kind: Kind,
    pub g: i64,
    pub p: i64,
    pub resource: u8,
    pub resource_id: i64,
    pub from: u8,
    pub to: u8,
    /// Class the view gave the reason string (see [`Classes`]).
    pub reason: u8,
    /// Class the view gave the name string.
    pub name: u8,
    pub stack: i32,
    pub tstack: i32,
    pub value: i64,
}

/// How a view classifies the strings of the `reason` and `name` columns.
pub trait Classes {
    fn reason(&self, s: &str) -> u8;
    fn name(&self, s: &str) -> u8;
}

/// Columns a view reads (bit set); `ts` and `kind` are always read.
pub mod cols {
    pub const G: u32 = 1;
    pub const P: u32 = 2;
    pub const RESOURCE: u32 = 4;
    pub const RESOURCE_ID: u32 = 8;
    pub const FROM: u32 = 16;
    pub const TO: u32 = 32;
    pub const REASON: u32 = 64;
    pub const NAME: u32 = 128;
    pub const STACK: u32 = 256;
    pub const TSTACK: u32 = 512;
    pub const VALUE: u32 = 1024;
}

/// An integer column of one batch, read in place (an integer dictionary
/// through its decoded values); nulls (and an absent or unwanted column) read
/// as -1, every ID column's "none".
pub(crate) struct IntCol<'a> {
    vals: Option<Ints<'a>>,
    nulls: Option<&'a NullBuffer>,
    /// Values of a dictionary's keys.
    lut: Option<Vec<i64>>,
}

impl IntCol<'_> {
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> i64 {
        if let Some(n) = self.nulls {
            if n.is_null(i) {
                return -1;
            }
        }
        let Some(v) = self.vals.as_ref() else { return -1 };
        let k = v.get(i);
        match &self.lut {
            None => k,
            Some(lut) => usize::try_from(k).ok().and_then(|k| lut.get(k)).copied().unwrap_or(-1),
        }
    }
}

impl<'a> IntCol<'a> {
    /// No values (an unwanted or null-typed column): -1 on every row.
    pub(crate) fn is_absent(&self) -> bool {
        self.vals.is_none()
    }

    /// Rows `lo..hi` into `out` (cleared first).
    pub(crate) fn decode(&self, lo: usize, hi: usize, out: &mut Vec<i64>) {
        out.clear();
        // One loop per representation, not `get`'s three tests per row.
        match (&self.vals, &self.lut) {
            (None, _) => return out.resize(hi - lo, -1),
            (Some(Ints::I64(v)), None) => out.extend_from_slice(&v[lo..hi]),
            (Some(Ints::I32(v)), None) => out.extend(v[lo..hi].iter().map(|&x| i64::from(x))),
            (Some(Ints::I16(v)), None) => out.extend(v[lo..hi].iter().map(|&x| i64::from(x))),
            (Some(Ints::I8(v)), None) => out.extend(v[lo..hi].iter().map(|&x| i64::from(x))),
            (Some(Ints::I64(k)), Some(lut)) => lookup(&k[lo..hi], lut, -1, out),
            (Some(Ints::I32(k)), Some(lut)) => lookup(&k[lo..hi], lut, -1, out),
            (Some(Ints::I16(k)), Some(lut)) => lookup(&k[lo..hi], lut, -1, out),
            (Some(Ints::I8(k)), Some(lut)) => lookup(&k[lo..hi], lut, -1, out),
        }
        if let Some(n) = self.nulls {
            fill_nulls(out, n, lo, -1);
        }
    }

    /// A plain integer column, or an integer dictionary read through its values.
    pub(crate) fn new(a: &'a dyn Array) -> Result<Self, String> {
        let (vals, lut) = match a.data_type() {
            DataType::Int64 | DataType::Int32 => (ints(a), None),
            DataType::Null => (None, None),
            DataType::Dictionary(_, v) if v.is_integer() => {
                let values = int_values(a.as_any_dictionary().values().as_ref())
                    .ok_or_else(|| format!("dictionary values {v} are not integers"))?;
                (ints(a), Some(values))
            }
            t => return Err(format!("{t} is not an integer column")),
        };
        Ok(IntCol { vals, nulls: a.nulls().filter(|n| n.null_count() > 0), lut })
    }

    /// A string dictionary, each value read as `class(value)` (null: -1).
    pub(crate) fn classified(a: &'a dyn Array, class: impl Fn(&str) -> i64) -> Result<Self, String> {
        let DataType::Dictionary(..) = a.data_type() else {
            return Err(format!("{} is not a dictionary", a.data_type()));
        };
        let values = strings(a.as_any_dictionary().values().as_ref())?;
        let lut = values.into_iter().map(|v| v.map_or(-1, &class)).collect();
        let keys = ints(a).ok_or_else(|| format!("cannot read the keys of {}", a.data_type()))?;
        Ok(IntCol { vals: Some(keys), nulls: a.nulls().filter(|n| n.null_count() > 0), lut: Some(lut) })
    }
}

/// A column null on most events, given as the rows (ascending) and values of
/// the others: how the core keeps the events' `task_id` and `value`, in the
/// tables that own those events.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sparse<'a> {
    pub rows: &'a [i64],
    pub values: &'a [i64],
}

impl Sparse<'_> {
    /// Its values at rows `base..base + n`, -1 where it has none.
    pub fn dense(&self, base: usize, n: usize) -> Vec<i64> {
        let mut out = vec![-1; n];
        let lo = self.rows.partition_point(|&r| r < base as i64);
        for (&r, &v) in self.rows[lo..].iter().zip(&self.values[lo..]) {
            match usize::try_from(r - base as i64) {
                Ok(i) if i < n => out[i] = v,
                _ => break,
            }
        }
        out
    }
}

/// Merges the parts of a sparse column into one: each part is record batches
/// whose columns 0 and 1 are events rows and their values (one owning table's
/// rows), read in part order. Rows or values that are null, negative rows, and
/// values equal to the part's `none` are left out; a row listed twice keeps its
/// later value. Returns (rows ascending, values).
pub fn merge_sparse(parts: &[(Vec<RecordBatch>, Option<i64>)]) -> Result<(Vec<i64>, Vec<i64>), String> {
    let total = parts.iter().flat_map(|p| &p.0).map(RecordBatch::num_rows).sum();
    let mut pairs: Vec<(i64, i64)> = Vec::with_capacity(total);
    for (batches, none) in parts {
        let from = pairs.len();
        for b in batches {
            if b.num_columns() < 2 {
                return Err("a sparse part needs a rows and a values column".into());
            }
            let (rows, values) = (b.column(0).as_ref(), b.column(1).as_ref());
            let (Some(r), Some(v)) = (ints(rows), ints(values)) else {
                return Err(format!(
                    "sparse part columns {} / {} are not integers",
                    rows.data_type(),
                    values.data_type()
                ));
            };
            let (rn, vn) = (rows.logical_nulls(), values.logical_nulls());
            let valid = |n: &Option<NullBuffer>, i: usize| n.as_ref().is_none_or(|n| n.is_valid(i));
            for i in 0..b.num_rows() {
                if !valid(&rn, i) || !valid(&vn, i) {
                    continue;
                }
                let (row, value) = (r.get(i), v.get(i));
                if row >= 0 && Some(value) != *none {
                    pairs.push((row, value));
                }
            }
        }
        // Each part sorted on its own (most already are: an owning table lists
        // its events in order), so the sort below only merges sorted runs.
        let part = &mut pairs[from..];
        if !part.is_sorted_by_key(|p| p.0) {
            part.sort_by_key(|p| p.0);
        }
    }
    // Stable: equal rows stay in part order, and the last one wins.
    pairs.sort_by_key(|p| p.0);
    let mut rows = Vec::with_capacity(pairs.len());
    let mut values = Vec::with_capacity(pairs.len());
    for (i, &(r, v)) in pairs.iter().enumerate() {
        if pairs.get(i + 1).is_some_and(|n| n.0 == r) {
            continue;
        }
        rows.push(r);
        values.push(v);
    }
    Ok((rows, values))
}

/// The batch's column `name` (rows `base..` of the table) or, where the
/// batch has none and `sparse` is given, its values for those rows (kept in
/// `dense`).
pub(crate) fn int_col_or<'a>(
    b: &'a RecordBatch,
    name: &str,
    want: bool,
    sparse: Option<&Sparse<'_>>,
    base: usize,
    dense: &'a mut Vec<i64>,
) -> Result<IntCol<'a>, String> {
    match sparse {
        Some(sp) if want && b.column_by_name(name).is_none() => {
            *dense = sp.dense(base, b.num_rows());
            Ok(IntCol { vals: Some(Ints::I64(dense)), nulls: None, lut: None })
        }
        _ => int_col(b, name, want),
    }
}

pub(crate) fn int_col<'a>(b: &'a RecordBatch, name: &str, want: bool) -> Result<IntCol<'a>, String> {
    if !want {
        return Ok(IntCol { vals: None, nulls: None, lut: None });
    }
    IntCol::new(column(b, name)?.as_ref()).map_err(|e| format!("events column {name:?}: {e}"))
}

/// An integer array's values as i64 (nulls read as -1).
fn int_values(a: &dyn Array) -> Option<Vec<i64>> {
    fn all<T: arrow_array::ArrowPrimitiveType>(a: &dyn Array, f: impl Fn(T::Native) -> i64) -> Vec<i64> {
        let p = a.as_primitive::<T>();
        (0..p.len()).map(|i| if p.is_valid(i) { f(p.value(i)) } else { -1 }).collect()
    }
    Some(match a.data_type() {
        DataType::Int64 => all::<Int64Type>(a, |x| x),
        DataType::Int32 => all::<Int32Type>(a, i64::from),
        DataType::Int16 => all::<Int16Type>(a, i64::from),
        DataType::Int8 => all::<Int8Type>(a, i64::from),
        DataType::UInt8 => all::<UInt8Type>(a, i64::from),
        DataType::UInt16 => all::<UInt16Type>(a, i64::from),
        DataType::UInt32 => all::<UInt32Type>(a, i64::from),
        DataType::UInt64 => all::<UInt64Type>(a, |x| x as i64),
        _ => return None,
    })
}

fn strings(a: &dyn Array) -> Result<Vec<Option<&str>>, String> {
    Ok(match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => a.as_string::<i64>().iter().collect(),
        DataType::Utf8View => a.as_string_view().iter().collect(),
        DataType::Null => vec![None; a.len()],
        t => return Err(format!("{t} where strings were expected")),
    })
}

fn lookup<K: Copy + TryInto<usize>, T: Copy>(keys: &[K], lut: &[T], none: T, out: &mut Vec<T>) {
    out.extend(keys.iter().map(|&k| k.try_into().ok().and_then(|k| lut.get(k).copied()).unwrap_or(none)));
}

/// Rows the passes decode at a time. Read in place, the dozen columns of a
/// whole batch are a dozen memory streams at once besides the state a pass
/// updates; decoded a slice at a time, one column after another, they are
/// read from cache.
pub(crate) const SLICE: usize = 2048;

/// A string column of one batch as the class of each row's string (`none`
/// for nulls), a slice of rows at a time (see [`SLICE`]): each distinct
/// string is classified once per batch; an unwanted column decodes to
/// nothing.
pub(crate) struct StrCol<'a, T> {
    /// Dictionary keys (with `lut`, the class of each dictionary value; for
    /// int8 keys, of every byte: any key indexes it, none is out of range).
    keys: Option<Ints<'a>>,
    lut: Vec<T>,
    /// Without a dictionary: every row's class, made up front.
    plain: Vec<T>,
    nulls: Option<&'a NullBuffer>,
    none: T,
}

impl<'a, T: Copy> StrCol<'a, T> {
    /// Column `name` of `b`; an unwanted column decodes to nothing.
    pub(crate) fn new(
        b: &'a RecordBatch,
        name: &str,
        want: bool,
        none: T,
        mut classify: impl FnMut(&str) -> T,
    ) -> Result<Self, String> {
        let mut c = StrCol { keys: None, lut: Vec::new(), plain: Vec::new(), nulls: None, none };
        if !want {
            return Ok(c);
        }
        let a = column(b, name)?;
        let err = |e: String| format!("events column {name:?}: {e}");
        if let DataType::Dictionary(kt, _) = a.data_type() {
            if !matches!(kt.as_ref(), DataType::Int8 | DataType::Int16 | DataType::Int32) {
                return Err(format!("events column {name:?} has dictionary keys {kt}"));
            }
            let values = a.as_any_dictionary().values();
            c.lut = strings(values.as_ref()).map_err(err)?.into_iter().map(|s| s.map_or(none, &mut classify)).collect();
            c.keys = Some(ints(a.as_ref()).ok_or_else(|| format!("events column {name:?}: unreadable keys"))?);
            if let Some(Ints::I8(_)) = c.keys {
                // Negative keys read as bytes 128..255: none, like keys past the values.
                c.lut.resize(256, none);
                c.lut[128..].fill(none);
            }
        } else {
            // Plain strings: classify each distinct value once.
            let vals = strings(a.as_ref()).map_err(err)?;
            let mut seen: rustc_hash::FxHashMap<&str, T> = Default::default();
            c.plain = vals.iter().map(|s| s.map_or(none, |s| *seen.entry(s).or_insert_with(|| classify(s)))).collect();
        }
        c.nulls = a.nulls().filter(|n| n.null_count() > 0);
        Ok(c)
    }

    /// The classes of rows `lo..hi` into `out` (cleared first).
    pub(crate) fn decode(&self, lo: usize, hi: usize, out: &mut Vec<T>) {
        out.clear();
        match &self.keys {
            Some(Ints::I8(k)) => {
                let lut: &[T; 256] = self.lut[..256].try_into().expect("int8 keys have a 256-entry table");
                out.extend(k[lo..hi].iter().map(|&k| lut[k as u8 as usize]));
            }
            Some(Ints::I16(k)) => lookup(&k[lo..hi], &self.lut, self.none, out),
            Some(Ints::I32(k)) => lookup(&k[lo..hi], &self.lut, self.none, out),
            Some(Ints::I64(k)) => lookup(&k[lo..hi], &self.lut, self.none, out),
            None if self.plain.is_empty() => return,
            None => out.extend_from_slice(&self.plain[lo..hi]),
        }
        if let Some(n) = self.nulls {
            fill_nulls(out, n, lo, self.none);
        }
    }
}

/// The `g` of every event of kind `kind`, in row order: a pass over the kind
/// codes alone, for a pass that must know ahead which goroutines matter.
pub(crate) fn goroutines_of(batches: &[RecordBatch], kind: Kind) -> Result<Vec<i64>, String> {
    let mut out = Vec::new();
    let mut hits = Vec::new();
    for b in batches {
        let n = b.num_rows();
        let col = StrCol::new(b, "kind", true, false, |s| Kind::of_name(s) == kind)?;
        if n == 0 || !col.lut.iter().chain(&col.plain).any(|&hit| hit) {
            continue;
        }
        let g = int_col(b, "g", true)?;
        for lo in (0..n).step_by(SLICE) {
            let hi = (lo + SLICE).min(n);
            col.decode(lo, hi, &mut hits);
            out.extend(hits.iter().enumerate().filter(|&(_, &hit)| hit).map(|(i, _)| g.get(lo + i)));
        }
    }
    Ok(out)
}

/// Sets `out[i]` to `none` where row `lo + i` is null. Word by word over the
/// validity bits: only the null rows are visited.
fn fill_nulls<T: Copy>(out: &mut [T], nulls: &NullBuffer, lo: usize, none: T) {
    let bits = nulls.inner().slice(lo, out.len());
    let chunks = bits.bit_chunks();
    let words = chunks.iter().chain(std::iter::once(chunks.remainder_bits()));
    let tail = chunks.remainder_len();
    for (w, valid) in words.enumerate() {
        let width = if w == chunks.chunk_len() { tail } else { 64 };
        let mut null = !valid & if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
        while null != 0 {
            out[w * 64 + null.trailing_zeros() as usize] = none;
            null &= null - 1;
        }
    }
}

fn column<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, String> {
    b.column_by_name(name).ok_or_else(|| format!("events table has no column {name:?}"))
}

/// Calls `f` for every event of `batches`, in order, reading the columns in
/// `want` (a set of [`cols`]); returns the number of events. `value`, if
/// given, stands for a missing `value` column.
pub fn scan<C: Classes>(
    batches: &[RecordBatch],
    classes: &C,
    want: u32,
    value: Option<&Sparse<'_>>,
    mut f: impl FnMut(&Ev),
) -> Result<usize, String> {
    let mut rows = 0;
    let w = |c: u32| want & c != 0;
    // A slice of rows decoded (see SLICE): integers, then string classes.
    let mut ints: [Vec<i64>; 7] = Default::default();
    let mut codes: [Vec<u8>; 6] = Default::default();
    for b in batches {
        let n = b.num_rows();
        if n == 0 {
            continue;
        }
        let mut dense = Vec::new();
        let int_cols = [
            int_col(b, "ts", true)?,
            int_col(b, "g", w(cols::G))?,
            int_col(b, "p", w(cols::P))?,
            int_col(b, "resource_id", w(cols::RESOURCE_ID))?,
            int_col(b, "stack_id", w(cols::STACK))?,
            int_col(b, "transition_stack_id", w(cols::TSTACK))?,
            int_col_or(b, "value", w(cols::VALUE), value, rows, &mut dense)?,
        ];
        let str_cols = [
            StrCol::new(b, "kind", true, 0, kind_code)?,
            StrCol::new(b, "resource", w(cols::RESOURCE), resource::NONE, resource_code)?,
            StrCol::new(b, "from_state", w(cols::FROM), st::UNDETERMINED, state_of)?,
            StrCol::new(b, "to_state", w(cols::TO), st::UNDETERMINED, state_of)?,
            StrCol::new(b, "reason", w(cols::REASON), 0, |s| classes.reason(s))?,
            StrCol::new(b, "name", w(cols::NAME), 0, |s| classes.name(s))?,
        ];
        for lo in (0..n).step_by(SLICE) {
            let hi = (lo + SLICE).min(n);
            for (c, out) in int_cols.iter().zip(&mut ints) {
                // An absent column reads -1 on every row: filled once per size.
                if !c.is_absent() || out.len() != hi - lo {
                    c.decode(lo, hi, out);
                }
            }
            for (c, out) in str_cols.iter().zip(&mut codes) {
                c.decode(lo, hi, out);
            }
            let [ts, g, p, resource_id, stack, tstack, value] = &ints;
            let [kind, resource, from, to, reason, name] = &codes;
            // An unwanted string column decodes to nothing: its "none".
            let code = |v: &[u8], i: usize, none: u8| v.get(i).copied().unwrap_or(none);
            for i in 0..hi - lo {
                let ev = Ev {
                    ts: ts[i],
                    kind: Kind::from_code(kind[i]),
                    g: g[i],
                    p: p[i],
                    resource: code(resource, i, resource::NONE),
                    resource_id: resource_id[i],
                    from: code(from, i, st::UNDETERMINED),
                    to: code(to, i, st::UNDETERMINED),
                    reason: code(reason, i, 0),
                    name: code(name, i, 0),
                    stack: stack[i] as i32,
                    tstack: tstack[i] as i32,
                    value: value[i],
                };
                f(&ev);
            }
        }
        rows += n;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, Int64Array};
    use std::sync::Arc;

    fn part(rows: Vec<Option<i32>>, values: Vec<Option<i64>>) -> Vec<RecordBatch> {
        let b = RecordBatch::try_from_iter([
            ("row", Arc::new(Int32Array::from(rows)) as ArrayRef),
            ("value", Arc::new(Int64Array::from(values)) as ArrayRef),
        ])
        .unwrap();
        vec![b]
    }

    #[test]
    fn str_col_reads_nulls_across_words_offsets_and_slices() {
        use arrow_array::types::Int8Type;
        use arrow_array::DictionaryArray;
        let vals: Vec<Option<&str>> =
            (0..150).map(|i| if i % 7 == 0 || i == 149 { None } else { Some(["a", "b"][i % 2]) }).collect();
        let full: DictionaryArray<Int8Type> = vals.iter().copied().collect();
        for offset in [0, 3] {
            let a = full.slice(offset, 150 - offset);
            let b = RecordBatch::try_from_iter([("name", Arc::new(a) as ArrayRef)]).unwrap();
            let col = StrCol::new(&b, "name", true, 9u8, |s| if s == "a" { 1 } else { 2 }).unwrap();
            let want: Vec<u8> = vals[offset..].iter().map(|v| v.map_or(9, |s| if s == "a" { 1 } else { 2 })).collect();
            // Whole, and in slices that start inside a validity word.
            let mut got = Vec::new();
            col.decode(0, want.len(), &mut got);
            assert_eq!(got, want, "offset {offset}");
            let mut part = Vec::new();
            for lo in (0..want.len()).step_by(37) {
                let hi = (lo + 37).min(want.len());
                col.decode(lo, hi, &mut part);
                assert_eq!(part, want[lo..hi], "offset {offset}, rows {lo}..{hi}");
            }
        }
    }

    #[test]
    fn int_col_decodes_every_representation_as_get_reads_it() {
        use arrow_array::types::{Int16Type, Int8Type};
        use arrow_array::{DictionaryArray, Int16Array, Int8Array, NullArray};
        let vals: Vec<Option<i64>> = (0..150).map(|i| (i % 5 != 0 || i == 0).then_some(i * 3 - 7)).collect();
        let keys: Vec<Option<i8>> = (0..150).map(|i| (i % 6 != 0).then_some((i % 3) as i8)).collect();
        let dict = |k: Vec<Option<i8>>| -> ArrayRef {
            let values: ArrayRef = Arc::new(Int64Array::from(vec![Some(40), None, Some(-3)]));
            Arc::new(DictionaryArray::<Int8Type>::try_new(Int8Array::from(k), values).unwrap())
        };
        let dict16: ArrayRef = Arc::new(
            DictionaryArray::<Int16Type>::try_new(
                Int16Array::from([Some(1i16), Some(0), None].repeat(50)),
                Arc::new(Int64Array::from(vec![5i64, 6])),
            )
            .unwrap(),
        );
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vals.clone())),
            Arc::new(Int32Array::from(vals.iter().map(|v| v.map(|x| x as i32)).collect::<Vec<_>>())),
            dict(keys),
            dict16,
            Arc::new(NullArray::new(150)),
        ];
        for a in columns {
            for offset in [0, 3] {
                let a = a.slice(offset, 150 - offset);
                let col = IntCol::new(a.as_ref()).unwrap();
                let want: Vec<i64> = (0..a.len()).map(|i| col.get(i)).collect();
                let mut got = Vec::new();
                for lo in (0..a.len()).step_by(37) {
                    let hi = (lo + 37).min(a.len());
                    col.decode(lo, hi, &mut got);
                    assert_eq!(got, want[lo..hi], "{}, offset {offset}, rows {lo}..{hi}", a.data_type());
                }
            }
        }
    }

    #[test]
    fn merge_sparse_sorts_skips_and_keeps_the_later_part() {
        let parts = vec![
            (part(vec![Some(5), Some(1), None, Some(9)], vec![Some(50), Some(10), Some(0), None]), None),
            // -1 means none here; row 5 is listed again: the later value wins.
            (part(vec![Some(3), Some(5), Some(7), Some(-2)], vec![Some(30), Some(55), Some(-1), Some(1)]), Some(-1)),
        ];
        let (rows, values) = merge_sparse(&parts).unwrap();
        assert_eq!(rows, vec![1, 3, 5]);
        assert_eq!(values, vec![10, 30, 55]);
    }
}
