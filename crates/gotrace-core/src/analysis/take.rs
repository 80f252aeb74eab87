//! Gathering rows of a chunked column by global row index: how the tables
//! stored by reference (spans, regions) get their public columns from the
//! events table.

use crate::evtable::IntCol;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type, Int8Type};
use arrow_array::{Array, ArrayRef, DictionaryArray, PrimitiveArray};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_schema::DataType;
use std::sync::Arc;

/// Where each chunk starts, and the chunk and local row of a global row.
struct Chunks {
    starts: Vec<usize>,
}

impl Chunks {
    fn new(arrays: &[&dyn Array]) -> Self {
        let mut starts = Vec::with_capacity(arrays.len() + 1);
        let mut at = 0;
        for a in arrays {
            starts.push(at);
            at += a.len();
        }
        starts.push(at);
        Chunks { starts }
    }

    fn len(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// (chunk, row in chunk) of global row `i` < len().
    #[inline(always)]
    fn locate(&self, i: usize, hint: &mut usize) -> (usize, usize) {
        // Rows mostly come in order: try the last chunk first.
        let c = *hint;
        if c + 1 < self.starts.len() && self.starts[c] <= i && i < self.starts[c + 1] {
            return (c, i - self.starts[c]);
        }
        let c = self.starts.partition_point(|&s| s <= i) - 1;
        *hint = c;
        (c, i - self.starts[c])
    }
}

/// The values of a plain integer chunk, or the keys of a dictionary chunk,
/// read in place (also the views' event reader, `evtable`).
pub(crate) enum Ints<'a> {
    I64(&'a [i64]),
    I32(&'a [i32]),
    I16(&'a [i16]),
    I8(&'a [i8]),
}

impl Ints<'_> {
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> i64 {
        match self {
            Ints::I64(v) => v[i],
            Ints::I32(v) => i64::from(v[i]),
            Ints::I16(v) => i64::from(v[i]),
            Ints::I8(v) => i64::from(v[i]),
        }
    }
}

pub(crate) fn ints(a: &dyn Array) -> Option<Ints<'_>> {
    Some(match a.data_type() {
        DataType::Int64 => Ints::I64(a.as_primitive::<Int64Type>().values()),
        DataType::Int32 => Ints::I32(a.as_primitive::<Int32Type>().values()),
        DataType::Dictionary(k, _) => match k.as_ref() {
            DataType::Int8 => Ints::I8(a.as_dictionary::<Int8Type>().keys().values()),
            DataType::Int16 => Ints::I16(a.as_dictionary::<Int16Type>().keys().values()),
            DataType::Int32 => Ints::I32(a.as_dictionary::<Int32Type>().keys().values()),
            _ => return None,
        },
        _ => return None,
    })
}

/// The value (or dictionary key) at every row, through `f`; rows outside
/// the column read as 0 (the null bitmap says so). Large gathers split the
/// rows over two threads: the reads are random, so two cores read twice as fast.
fn gather<T: Default + Clone + Send>(
    rows: &[i64],
    chunks: &Chunks,
    flat: &[(Ints<'_>, Option<&NullBuffer>)],
    f: impl Fn(i64) -> T + Sync,
) -> Vec<T> {
    let n = chunks.len();
    let fill = |rows: &[i64], out: &mut [T]| {
        let mut hint = 0;
        for (o, &r) in out.iter_mut().zip(rows) {
            *o = if r < 0 || r as usize >= n {
                f(0)
            } else {
                let (c, i) = chunks.locate(r as usize, &mut hint);
                f(flat[c].0.get(i))
            };
        }
    };
    let mut out = vec![T::default(); rows.len()];
    if rows.len() < PARALLEL_ROWS {
        fill(rows, &mut out);
        return out;
    }
    let half = rows.len() / 2;
    let (r0, r1) = rows.split_at(half);
    let (o0, o1) = out.split_at_mut(half);
    on_both([(r0, o0), (r1, o1)], |(r, o)| fill(r, o));
    out
}

/// `f` of both items, the second on another thread if the core may use two
/// ([`crate::threads`]), else in turn.
pub(crate) fn on_both<T: Send, R: Send>(items: [T; 2], f: impl Fn(T) -> R + Sync) -> [R; 2] {
    let [x, y] = items;
    let (theirs, mine) = crate::threads::join(|| f(y), || f(x));
    [mine, theirs]
}

/// `f` of `0..n` cut into one contiguous range per thread the core may use
/// ([`crate::threads`]; each range of at least `min` items), the ranges on
/// threads of their own; the results in range order.
pub(crate) fn on_ranges<R: Send>(n: usize, min: usize, f: impl Fn(std::ops::Range<usize>) -> R + Sync) -> Vec<R> {
    let parts = crate::threads::get().min(n / min.max(1)).max(1);
    if parts == 1 {
        return vec![f(0..n)];
    }
    let cut = |i: usize| n * i / parts;
    std::thread::scope(|s| {
        let f = &f;
        let others: Vec<_> = (1..parts).map(|i| s.spawn(move || f(cut(i)..cut(i + 1)))).collect();
        let mut out = vec![f(0..cut(1))];
        out.extend(others.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))));
        out
    })
}

/// Gathers smaller than this stay on one thread.
const PARALLEL_ROWS: usize = 1 << 16;

/// [`take`] for several columns.
pub fn take_columns(columns: &[Vec<&dyn Array>], rows: &[i64]) -> Result<Vec<ArrayRef>, String> {
    columns.iter().map(|c| take(c, rows)).collect()
}

/// The events rows a reference column (integers, null: no row) holds, as
/// global rows (-1 for null), at positions `subset` only if given.
pub fn ref_rows(refs: &[&dyn Array], subset: Option<&[i64]>) -> Result<Vec<i64>, String> {
    let col = Column::ints(refs)?;
    let mut hint = 0;
    Ok(match subset {
        None => (0..col.len() as i64).map(|j| col.get(j, &mut hint)).collect(),
        Some(pos) => pos.iter().map(|&p| col.get(p, &mut hint)).collect(),
    })
}

/// Rows `rows` (global indices, -1 for null) of the column whose chunks are
/// `arrays`. Plain integer columns keep their type; integer dictionaries come
/// out decoded (their value type); string dictionaries keep their keys and
/// dictionary, which every chunk must share.
pub fn take(arrays: &[&dyn Array], rows: &[i64]) -> Result<ArrayRef, String> {
    let Some(first) = arrays.first() else { return Err("no chunks".into()) };
    let dt = first.data_type().clone();
    if arrays.iter().any(|a| a.data_type() != &dt) {
        return Err("chunks of different types".into());
    }
    let chunks = Chunks::new(arrays);
    let flat: Vec<(Ints<'_>, Option<&NullBuffer>)> = arrays
        .iter()
        .map(|a| ints(*a).map(|v| (v, a.nulls())).ok_or_else(|| format!("cannot gather a {dt} column")))
        .collect::<Result<_, _>>()?;
    let n = chunks.len();
    let inside = |r: i64| r >= 0 && (r as usize) < n;
    let nulls = if flat.iter().all(|(_, nl)| nl.is_none()) && rows.iter().all(|&r| inside(r)) {
        None
    } else {
        let mut hint = 0;
        Some(NullBuffer::new(BooleanBuffer::collect_bool(rows.len(), |j| {
            let r = rows[j];
            if !inside(r) {
                return false;
            }
            let (c, i) = chunks.locate(r as usize, &mut hint);
            flat[c].1.is_none_or(|nb| nb.is_valid(i))
        })))
    };
    let g = |f| gather(rows, &chunks, &flat, f);
    match &dt {
        DataType::Int64 => Ok(Arc::new(PrimitiveArray::<Int64Type>::new(g(|x| x).into(), nulls))),
        DataType::Int32 => {
            Ok(Arc::new(PrimitiveArray::<Int32Type>::new(gather(rows, &chunks, &flat, |x| x as i32).into(), nulls)))
        }
        DataType::Dictionary(k, v) => {
            let values = first.as_any_dictionary().values().clone();
            let shared = |a: &&dyn Array| {
                let v = a.as_any_dictionary().values();
                Arc::ptr_eq(v, &values) || v.to_data() == values.to_data()
            };
            if !arrays.iter().all(shared) {
                return Err("chunks with different dictionaries".into());
            }
            if v.is_integer() {
                // Decoded through the dictionary as the rows are read.
                let dict = ints(values.as_ref()).ok_or("dictionary values are not integers")?;
                let len = values.len() as i64;
                let decode = |k: i64| if (0..len).contains(&k) { dict.get(k as usize) } else { 0 };
                return Ok(match v.as_ref() {
                    DataType::Int32 => Arc::new(PrimitiveArray::<Int32Type>::new(
                        gather(rows, &chunks, &flat, |k| decode(k) as i32).into(),
                        nulls,
                    )),
                    _ => Arc::new(PrimitiveArray::<Int64Type>::new(gather(rows, &chunks, &flat, decode).into(), nulls)),
                });
            }
            let e = |e: arrow_schema::ArrowError| e.to_string();
            Ok(match k.as_ref() {
                DataType::Int8 => {
                    let keys = gather(rows, &chunks, &flat, |x| x as i8).into();
                    Arc::new(DictionaryArray::<Int8Type>::try_new(PrimitiveArray::new(keys, nulls), values).map_err(e)?)
                }
                DataType::Int16 => {
                    let keys = gather(rows, &chunks, &flat, |x| x as i16).into();
                    Arc::new(
                        DictionaryArray::<Int16Type>::try_new(PrimitiveArray::new(keys, nulls), values).map_err(e)?,
                    )
                }
                _ => {
                    let keys = gather(rows, &chunks, &flat, |x| x as i32).into();
                    Arc::new(
                        DictionaryArray::<Int32Type>::try_new(PrimitiveArray::new(keys, nulls), values).map_err(e)?,
                    )
                }
            })
        }
        _ => Err(format!("cannot gather a {dt} column")),
    }
}

/// Random access to one column by global row, every value as an i64 (-1 for
/// null): plain integers as they are, integer dictionaries decoded, string
/// dictionaries through a classification of their values.
pub struct Column<'a> {
    chunks: Chunks,
    parts: Vec<IntCol<'a>>,
}

impl<'a> Column<'a> {
    /// A plain integer column or an integer dictionary.
    pub fn ints(arrays: &[&'a dyn Array]) -> Result<Self, String> {
        Self::new(arrays, IntCol::new)
    }

    /// A string dictionary, each value read as `class(value)` (null: -1).
    pub fn strings(arrays: &[&'a dyn Array], class: impl Fn(&str) -> i64) -> Result<Self, String> {
        Self::new(arrays, |a| IntCol::classified(a, &class))
    }

    fn new(
        arrays: &[&'a dyn Array],
        part: impl Fn(&'a dyn Array) -> Result<IntCol<'a>, String>,
    ) -> Result<Self, String> {
        let parts = arrays.iter().map(|a| part(*a)).collect::<Result<_, String>>()?;
        Ok(Column { chunks: Chunks::new(arrays), parts })
    }

    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows `lo..hi` (within the column) into `out` (cleared first), as
    /// [`Column::get`] reads them: a loop per chunk and representation.
    pub fn decode(&self, lo: usize, hi: usize, out: &mut Vec<i64>) {
        out.clear();
        let mut part = Vec::new();
        let mut at = lo;
        while at < hi {
            let c = self.chunks.starts.partition_point(|&s| s <= at) - 1;
            let (from, to) = (at - self.chunks.starts[c], hi.min(self.chunks.starts[c + 1]) - self.chunks.starts[c]);
            self.parts[c].decode(from, to, &mut part);
            out.extend_from_slice(&part);
            at = self.chunks.starts[c] + to;
        }
    }

    /// The value at global row `row` (-1 for null or a row outside the
    /// column). `hint` remembers the chunk of the last row read.
    #[inline(always)]
    pub fn get(&self, row: i64, hint: &mut usize) -> i64 {
        if row < 0 || row as usize >= self.chunks.len() {
            return -1;
        }
        let (c, i) = self.chunks.locate(row as usize, hint);
        self.parts[c].get(i)
    }
}

/// A column of `n` rows, null except at `rows[i]`, which holds `values[i]`
/// (rows outside `0..n` are skipped; a row listed twice keeps its last
/// value): the inverse of [`take`]. Encoded as the builder encodes repeating
/// integers: a sorted dictionary of the values present, keys as narrow as
/// its size allows.
pub fn scatter(n: usize, rows: &[i64], values: &[i64]) -> ArrayRef {
    let mut dict: Vec<i64> = values.to_vec();
    dict.sort_unstable();
    dict.dedup();
    let code = |v: i64| dict.partition_point(|&x| x < v);
    let mut valid = arrow_buffer::BooleanBufferBuilder::new(n);
    valid.append_n(n, false);
    fn keys<K: arrow_array::types::ArrowDictionaryKeyType>(
        n: usize,
        rows: &[i64],
        values: &[i64],
        code: impl Fn(i64) -> usize,
        valid: &mut arrow_buffer::BooleanBufferBuilder,
    ) -> PrimitiveArray<K>
    where
        K::Native: TryFrom<usize> + Default,
    {
        let mut k = vec![K::Native::default(); n];
        for (&r, &v) in rows.iter().zip(values) {
            if let Ok(r) = usize::try_from(r) {
                if r < n {
                    k[r] = K::Native::try_from(code(v)).unwrap_or_default();
                    valid.set_bit(r, true);
                }
            }
        }
        let nulls = NullBuffer::new(valid.finish());
        PrimitiveArray::new(k.into(), Some(nulls))
    }
    let values_arr: ArrayRef = Arc::new(PrimitiveArray::<Int64Type>::from(dict.clone()));
    // SAFETY (new_unchecked): every key is a position in `dict`.
    match dict.len() {
        0..=127 => {
            let k = keys::<Int8Type>(n, rows, values, code, &mut valid);
            Arc::new(unsafe { DictionaryArray::new_unchecked(k, values_arr) })
        }
        128..=32767 => {
            let k = keys::<Int16Type>(n, rows, values, code, &mut valid);
            Arc::new(unsafe { DictionaryArray::new_unchecked(k, values_arr) })
        }
        _ => {
            let k = keys::<Int32Type>(n, rows, values, code, &mut valid);
            Arc::new(unsafe { DictionaryArray::new_unchecked(k, values_arr) })
        }
    }
}
