//! Column builders and their conversion to Arrow arrays.
//!
//! The big tables (events, spans) grow in fixed-size chunks, so growth never
//! copies and never leaves a doubled allocation behind; each chunk becomes one
//! record batch, handed to Arrow without copying. Nulls are kept as a
//! sentinel value while building and turned into a validity bitmap per chunk.

use crate::intern::Interner;
use arrow_array::types::{ArrowDictionaryKeyType, Int16Type, Int32Type, Int8Type};
use arrow_array::{ArrayRef, ArrowPrimitiveType, BinaryArray, DictionaryArray, Int8Array, PrimitiveArray, StringArray};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, NullBufferBuilder, ScalarBuffer};
use std::sync::Arc;

/// Rows per chunk (and per record batch) of the chunked tables.
pub const CHUNK: usize = 1 << 20;

/// A column that grows chunk by chunk and can be updated in place.
pub struct Chunked<T> {
    /// The full chunks.
    full: Vec<Vec<T>>,
    /// The chunk being filled, held here rather than behind `full`: a table
    /// pushes to a dozen columns per row, and each push then finds its slot
    /// without going through the list of chunks.
    cur: Vec<T>,
}

impl<T: Copy> Default for Chunked<T> {
    fn default() -> Self {
        Chunked { full: Vec::new(), cur: Vec::new() }
    }
}

impl<T: Copy> Chunked<T> {
    // Always inlined, with the rare new chunk out of line.
    #[inline(always)]
    pub fn push(&mut self, v: T) {
        if self.cur.len() == self.cur.capacity() {
            self.next_chunk();
        }
        self.cur.push(v);
    }
    #[cold]
    #[inline(never)]
    fn next_chunk(&mut self) {
        // The first chunk starts small and grows, so a small trace does not
        // reserve a whole chunk per column; later chunks are full size.
        let len = self.cur.len();
        if len < CHUNK {
            // Exact, so a chunk never holds more than CHUNK rows.
            self.cur.reserve_exact(if len == 0 { 1024 } else { len }.min(CHUNK - len));
        } else {
            let full = std::mem::replace(&mut self.cur, new_chunk());
            self.full.push(full);
        }
    }
    #[inline]
    fn chunk_mut(&mut self, c: usize) -> &mut Vec<T> {
        if c == self.full.len() {
            &mut self.cur
        } else {
            &mut self.full[c]
        }
    }
    #[inline]
    pub fn set(&mut self, i: usize, v: T) {
        self.chunk_mut(i / CHUNK)[i % CHUNK] = v;
    }
    #[inline]
    pub fn get(&self, i: usize) -> T {
        let c = i / CHUNK;
        if c == self.full.len() {
            self.cur[i % CHUNK]
        } else {
            self.full[c][i % CHUNK]
        }
    }
    pub fn len(&self) -> usize {
        self.full.len() * CHUNK + self.cur.len()
    }
    /// The same rows, each value converted.
    pub fn map<U: Copy>(self, f: impl Fn(T) -> U) -> Chunked<U> {
        let conv = |c: Vec<T>| {
            let mut out = if c.capacity() >= CHUNK { new_chunk() } else { Vec::with_capacity(c.capacity()) };
            out.extend(c.into_iter().map(&f));
            out
        };
        let full = self.full.into_iter().map(conv).collect();
        Chunked { full, cur: conv(self.cur) }
    }
    /// The chunks; at least one (maybe empty), so a table always has a batch.
    pub fn into_chunks(self) -> Vec<Vec<T>> {
        let mut chunks = self.full;
        if chunks.is_empty() || !self.cur.is_empty() {
            chunks.push(self.cur);
        }
        chunks
    }
}

/// A full-size chunk's allocation.
fn new_chunk<T>() -> Vec<T> {
    Vec::with_capacity(CHUNK)
}

/// Values that stand for null in a column while it is built.
pub trait Sentinel: Copy + PartialEq {
    const NULL: Self;
}
impl Sentinel for i64 {
    const NULL: i64 = i64::MIN;
}
impl Sentinel for i32 {
    const NULL: i32 = -1;
}
impl Sentinel for i16 {
    const NULL: i16 = -1;
}
impl Sentinel for i8 {
    const NULL: i8 = -1;
}
impl Sentinel for u32 {
    const NULL: u32 = u32::MAX;
}
impl Sentinel for u64 {
    const NULL: u64 = u64::MAX;
}

#[inline]
pub fn opt<T: Sentinel>(v: Option<T>) -> T {
    v.unwrap_or(T::NULL)
}

/// The validity bitmap of `vals`; None if no value is null.
pub fn nulls_of<T: Sentinel>(vals: &[T]) -> Option<NullBuffer> {
    bitmap(vals.len(), vals.chunks(64).map(valid_word))
}

/// `nulls_of(vals)`, rewriting every value with `f` (nulls included) in the
/// same pass: a chunk's codes are read once to finish them, not three times.
pub fn nulls_mapped<T: Sentinel>(vals: &mut [T], f: impl Fn(T) -> T) -> Option<NullBuffer> {
    let len = vals.len();
    let words = vals.chunks_mut(64).map(|c| {
        let w = valid_word(c);
        for v in c {
            *v = f(*v);
        }
        w
    });
    bitmap(len, words)
}

/// Bit j set where value j of the (up to 64) values `c` is not null. A word
/// per 64 values, from slices the compiler can see whole (and vectorize):
/// BooleanBuffer::collect_bool calls an indexing closure per value.
#[inline]
fn valid_word<T: Sentinel>(c: &[T]) -> u64 {
    c.iter().enumerate().fold(0u64, |w, (j, &v)| w | (u64::from(v != T::NULL) << j))
}

/// The bitmap of `len` values from their words; None if every bit is set.
fn bitmap(len: usize, words: impl Iterator<Item = u64>) -> Option<NullBuffer> {
    let mut all = true;
    // Arrow's bitmaps are least significant bit first: value i is bit i % 8 of
    // byte i / 8, which is bit i % 64 of word i / 64 in little-endian order.
    let words: Vec<u64> = words
        .enumerate()
        .map(|(i, w)| {
            all &= w == u64::MAX >> (64 - (len - i * 64).min(64));
            w.to_le()
        })
        .collect();
    (!all).then(|| NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(words), 0, len)))
}

/// Arrow array of one chunk of a primitive column (sentinels become nulls).
pub fn prim_array<A: ArrowPrimitiveType>(vals: Vec<A::Native>) -> ArrayRef
where
    A::Native: Sentinel,
{
    let nulls = nulls_of(&vals);
    Arc::new(PrimitiveArray::<A>::new(ScalarBuffer::from(vals), nulls))
}

/// A primitive column from optional values (the small derived tables).
pub fn prim<A: ArrowPrimitiveType>(it: impl Iterator<Item = Option<A::Native>>) -> ArrayRef
where
    A::Native: Sentinel,
{
    let mut vals = Vec::new();
    let mut nulls = NullBufferBuilder::new(0);
    for v in it {
        match v {
            Some(v) => {
                vals.push(v);
                nulls.append_non_null();
            }
            None => {
                vals.push(A::Native::default());
                nulls.append_null();
            }
        }
    }
    Arc::new(PrimitiveArray::<A>::new(ScalarBuffer::from(vals), nulls.finish()))
}

/// One chunk of a dictionary column over a small fixed set of names
/// (kind, state, ...): codes index `names`, -1 is null.
pub fn enum_array(mut codes: Vec<i8>, names: &[&str]) -> ArrayRef {
    // The range check rides along the pass that clears the nulls' codes, where
    // try_new would make a pass of its own over every key.
    let top = std::cell::Cell::new(0i8);
    let nulls = nulls_mapped(&mut codes, |c| {
        let c = c.max(0);
        top.set(top.get().max(c));
        c
    });
    let top = top.get();
    assert!(codes.is_empty() || (top as usize) < names.len(), "enum codes are in range");
    let keys = Int8Array::new(ScalarBuffer::from(codes), nulls);
    let values = Arc::new(StringArray::from(names.to_vec()));
    // SAFETY: every key is in 0..names.len(), checked above.
    Arc::new(unsafe { DictionaryArray::<Int8Type>::new_unchecked(keys, values) })
}

pub fn enum_col(it: impl Iterator<Item = Option<u8>>, names: &[&str]) -> ArrayRef {
    enum_array(it.map(|c| c.map_or(-1, |c| c as i8)).collect(), names)
}

/// Dictionary arrays over one shared `values` array: keys as narrow as the
/// number of values allows (int8, int16, then int32), -1 in `codes` is null.
pub(super) fn keyed_arrays(coded: Vec<Vec<i32>>, values: ArrayRef) -> Vec<ArrayRef> {
    fn make<K: ArrowDictionaryKeyType>(codes: Vec<i32>, values: &ArrayRef) -> ArrayRef
    where
        K::Native: TryFrom<i32>,
    {
        let nulls = nulls_of(&codes);
        let keys: Vec<K::Native> =
            codes.into_iter().map(|c| K::Native::try_from(c.max(0)).unwrap_or_default()).collect();
        let keys = PrimitiveArray::<K>::new(ScalarBuffer::from(keys), nulls);
        Arc::new(DictionaryArray::<K>::try_new(keys, values.clone()).expect("keys in range"))
    }
    let n = values.len();
    coded
        .into_iter()
        .map(|c| {
            if n <= i8::MAX as usize {
                make::<Int8Type>(c, &values)
            } else if n <= i16::MAX as usize {
                make::<Int16Type>(c, &values)
            } else {
                make::<Int32Type>(c, &values)
            }
        })
        .collect()
}

/// Turns columns of global string IDs (u32::MAX is null) into dictionary
/// arrays with one compact dictionary for the whole column, so each column
/// lists only the values it uses. One array per chunk.
pub fn dict_arrays(chunks: Vec<Vec<u32>>, strings: &Interner) -> Vec<ArrayRef> {
    let mut local = vec![-1i32; strings.len()];
    let mut values: Vec<u32> = Vec::new();
    let mut coded: Vec<Vec<i32>> = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let codes: Vec<i32> = chunk
            .iter()
            .map(|&g| {
                if g == u32::NULL {
                    return -1;
                }
                let slot = &mut local[g as usize];
                if *slot < 0 {
                    *slot = values.len() as i32;
                    values.push(g);
                }
                *slot
            })
            .collect();
        coded.push(codes);
    }
    let dict: ArrayRef = Arc::new(StringArray::from_iter_values(
        values.iter().map(|&g| String::from_utf8_lossy(strings.get(g)).into_owned()),
    ));
    keyed_arrays(coded, dict)
}

/// A dictionary column of interned strings in one piece (small tables).
pub fn str_col(it: impl Iterator<Item = Option<u32>>, strings: &Interner) -> ArrayRef {
    let ids: Vec<u32> = it.map(opt).collect();
    dict_arrays(vec![ids], strings).pop().expect("one chunk")
}

pub fn binary_col<'a>(it: impl Iterator<Item = &'a [u8]>) -> ArrayRef {
    Arc::new(BinaryArray::from_iter_values(it))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_match_arrow_bitmaps() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for n in [1usize, 7, 63, 64, 65, 1000, 4099] {
            let vals: Vec<i32> = (0..n)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if state.is_multiple_of(3) || i == n - 1 {
                        i32::NULL
                    } else {
                        i as i32
                    }
                })
                .collect();
            let want = NullBuffer::new(BooleanBuffer::collect_bool(n, |i| vals[i] != i32::NULL));
            assert_eq!(nulls_of(&vals), Some(want), "n={n}");
        }
        assert_eq!(nulls_of(&[1i64, 2, 3]), None);
    }
}
