//! Column builders and their conversion to Arrow arrays.
//!
//! The big tables (events, spans) grow in fixed-size chunks, so growth never
//! copies and never leaves a doubled allocation behind; each chunk becomes one
//! record batch, handed to Arrow without copying. Nulls are kept as a
//! sentinel value while building and turned into a validity bitmap per chunk.

use crate::intern::Interner;
use arrow_array::types::{ArrowDictionaryKeyType, Int16Type, Int32Type, Int8Type};
use arrow_array::{ArrayRef, ArrowPrimitiveType, BinaryArray, DictionaryArray, Int8Array, PrimitiveArray, StringArray};
use arrow_buffer::{BooleanBuffer, NullBuffer, NullBufferBuilder, ScalarBuffer};
use std::sync::Arc;

/// Rows per chunk (and per record batch) of the chunked tables.
pub const CHUNK: usize = 1 << 20;

/// A column that grows chunk by chunk and can be updated in place.
pub struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T: Copy> Default for Chunked<T> {
    fn default() -> Self {
        Chunked { chunks: Vec::new(), len: 0 }
    }
}

impl<T: Copy> Chunked<T> {
    // Always inlined, with the rare new chunk out of line: a table pushes to
    // a dozen columns per row.
    #[inline(always)]
    pub fn push(&mut self, v: T) {
        if self.len.is_multiple_of(CHUNK) {
            self.next_chunk();
        }
        if let Some(c) = self.chunks.last_mut() {
            c.push(v);
        }
        self.len += 1;
    }
    #[cold]
    #[inline(never)]
    fn next_chunk(&mut self) {
        // The first chunk starts small and grows, so a small trace does not
        // reserve a whole chunk per column; later chunks are full size.
        self.chunks.push(Vec::with_capacity(if self.len == 0 { 1024 } else { CHUNK }));
    }
    #[inline]
    pub fn set(&mut self, i: usize, v: T) {
        self.chunks[i / CHUNK][i % CHUNK] = v;
    }
    #[inline]
    pub fn get(&self, i: usize) -> T {
        self.chunks[i / CHUNK][i % CHUNK]
    }
    pub fn len(&self) -> usize {
        self.len
    }
    /// The same rows, each value converted.
    pub fn map<U: Copy>(self, f: impl Fn(T) -> U) -> Chunked<U> {
        let chunks = self
            .chunks
            .into_iter()
            .map(|c| {
                let mut out = Vec::with_capacity(c.capacity().min(CHUNK));
                out.extend(c.into_iter().map(&f));
                out
            })
            .collect();
        Chunked { chunks, len: self.len }
    }
    /// The chunks; at least one (maybe empty), so a table always has a batch.
    pub fn into_chunks(self) -> Vec<Vec<T>> {
        if self.chunks.is_empty() {
            return vec![Vec::new()];
        }
        self.chunks
    }
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

pub fn nulls_of<T: Sentinel>(vals: &[T]) -> Option<NullBuffer> {
    if !vals.contains(&T::NULL) {
        return None;
    }
    Some(NullBuffer::new(BooleanBuffer::collect_bool(vals.len(), |i| vals[i] != T::NULL)))
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
pub fn enum_array(codes: Vec<i8>, names: &[&str]) -> ArrayRef {
    let nulls = nulls_of(&codes);
    let codes: Vec<i8> = codes.into_iter().map(|c| c.max(0)).collect();
    let keys = Int8Array::new(ScalarBuffer::from(codes), nulls);
    let values = Arc::new(StringArray::from(names.to_vec()));
    Arc::new(DictionaryArray::<Int8Type>::try_new(keys, values).expect("enum codes are in range"))
}

pub fn enum_col(it: impl Iterator<Item = Option<u8>>, names: &[&str]) -> ArrayRef {
    enum_array(it.map(|c| c.map_or(-1, |c| c as i8)).collect(), names)
}

/// Dictionary arrays over one shared `values` array: keys as narrow as the
/// number of values allows (int8, int16, then int32), -1 in `codes` is null.
fn keyed_arrays(coded: Vec<Vec<i32>>, values: ArrayRef) -> Vec<ArrayRef> {
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
