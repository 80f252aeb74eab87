//! Gathering rows of a chunked column by global row index: how the tables
//! stored by reference (spans, regions) get their public columns from the
//! events table.

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
    #[inline]
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

/// The value (or dictionary key) at every row, through `f`, in one pass;
/// rows outside the column read as 0 (the null bitmap says so).
fn gather<T>(rows: &[i64], chunks: &Chunks, flat: &[(Ints<'_>, Option<&NullBuffer>)], f: impl Fn(i64) -> T) -> Vec<T> {
    let n = chunks.len();
    let mut hint = 0;
    rows.iter()
        .map(|&r| {
            if r < 0 || r as usize >= n {
                return f(0);
            }
            let (c, i) = chunks.locate(r as usize, &mut hint);
            f(flat[c].0.get(i))
        })
        .collect()
}

/// [`take`] for several columns, on two threads.
pub fn take_columns(columns: &[Vec<&dyn Array>], rows: &[i64]) -> Result<Vec<ArrayRef>, String> {
    let half = columns.len().div_ceil(2);
    let (left, right) = columns.split_at(half);
    let run = |cols: &[Vec<&dyn Array>]| cols.iter().map(|c| take(c, rows)).collect::<Result<Vec<_>, _>>();
    std::thread::scope(|s| {
        let other = s.spawn(|| run(right));
        let mut out = run(left)?;
        out.extend(other.join().unwrap_or_else(|e| std::panic::resume_unwind(e))?);
        Ok(out)
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
