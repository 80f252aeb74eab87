//! Dictionary-encoded columns, encoded while they are built.
//!
//! Procs, threads, generations, reasons, names, task IDs: a few distinct
//! values over millions of rows. Each row stores the code of its value, in
//! one byte while the column has at most 127 values; the codes widen to two
//! and then four bytes the first time there are more. So the column costs what
//! its final Arrow form costs all along, and finishing it copies chunk by
//! chunk at most.

use super::cols::{nulls_mapped, Chunked, Sentinel};
use crate::intern::Interner;
use arrow_array::types::{ArrowDictionaryKeyType, Int16Type, Int32Type, Int8Type};
use arrow_array::{ArrayRef, ArrowPrimitiveType, DictionaryArray, PrimitiveArray, StringArray};
use arrow_buffer::ScalarBuffer;
use rustc_hash::FxHashMap;
use std::hash::Hash;
use std::sync::Arc;

/// The codes, at the narrowest width that holds them (-1 is null).
enum Codes {
    I8(Chunked<i8>),
    I16(Chunked<i16>),
    I32(Chunked<i32>),
}

impl Default for Codes {
    fn default() -> Self {
        Codes::I8(Chunked::default())
    }
}

impl Codes {
    #[inline(always)]
    fn push(&mut self, c: i32) {
        match self {
            Codes::I8(s) => s.push(c as i8),
            Codes::I16(s) => s.push(c as i16),
            Codes::I32(s) => s.push(c),
        }
    }

    /// Makes room for code `n` (the n+1-th value). Keys of a type hold at
    /// most its MAX values, as every dictionary the core makes
    /// (`cols::keyed_arrays`) and `frames.key_type` size them.
    fn fit(&mut self, n: usize) {
        let values = n + 1;
        let widened = match self {
            Codes::I8(s) if values > i8::MAX as usize => Codes::I16(std::mem::take(s).map(i16::from)),
            Codes::I16(s) if values > i16::MAX as usize => Codes::I32(std::mem::take(s).map(i32::from)),
            _ => return,
        };
        *self = widened;
    }

    /// Dictionary arrays over `values`, one per chunk; `perm` maps each code
    /// to its position in `values` when that is not the code itself.
    fn into_arrays(self, values: ArrayRef, perm: Option<&[i32]>) -> Vec<ArrayRef> {
        fn arrays<K: ArrowDictionaryKeyType>(
            c: Chunked<K::Native>,
            values: &ArrayRef,
            perm: Option<&[i32]>,
        ) -> Vec<ArrayRef>
        where
            K::Native: Sentinel + Into<i32> + TryFrom<i32> + Default,
        {
            c.into_chunks()
                .into_iter()
                .map(|mut keys| {
                    let nulls = match perm {
                        None => {
                            nulls_mapped(&mut keys, |c| if c == K::Native::NULL { K::Native::default() } else { c })
                        }
                        Some(p) => nulls_mapped(&mut keys, |c| {
                            let c: i32 = c.into();
                            K::Native::try_from(p.get(c as usize).copied().unwrap_or(0)).unwrap_or_default()
                        }),
                    };
                    let keys = PrimitiveArray::<K>::new(ScalarBuffer::from(keys), nulls);
                    // SAFETY: every code was handed out for a value in `values`
                    // (or `perm` maps it into range); nulls are masked. Skips
                    // try_new's pass over every key.
                    Arc::new(unsafe { DictionaryArray::<K>::new_unchecked(keys, values.clone()) }) as ArrayRef
                })
                .collect()
        }
        match self {
            Codes::I8(c) => arrays::<Int8Type>(c, &values, perm),
            Codes::I16(c) => arrays::<Int16Type>(c, &values, perm),
            Codes::I32(c) => arrays::<Int32Type>(c, &values, perm),
        }
    }
}

/// A column of values `V` (sentinel = null) kept as codes into its distinct
/// values, in first-seen order.
pub struct Coded<V> {
    codes: Codes,
    values: Vec<V>,
    /// Code of each small non-negative value (stack and string IDs are dense),
    /// -1 if not seen yet; other values go through `index`.
    dense: Vec<i32>,
    index: FxHashMap<V, i32>,
    /// The last value pushed and its code: runs are long in these columns.
    last: (V, i32),
}

impl<V: Sentinel + Eq + Hash> Default for Coded<V> {
    fn default() -> Self {
        Coded {
            codes: Codes::default(),
            values: Vec::new(),
            dense: Vec::new(),
            index: FxHashMap::default(),
            last: (V::NULL, -1),
        }
    }
}

/// Values that can index a dense table when small and non-negative.
pub trait Dense: Copy {
    fn dense(self) -> Option<usize>;
}
impl Dense for i32 {
    #[inline]
    fn dense(self) -> Option<usize> {
        usize::try_from(self).ok()
    }
}
impl Dense for i64 {
    #[inline]
    fn dense(self) -> Option<usize> {
        usize::try_from(self).ok()
    }
}
impl Dense for u32 {
    #[inline]
    fn dense(self) -> Option<usize> {
        Some(self as usize)
    }
}

/// Values below this take the dense table (at most 4 MiB of codes).
const DENSE: usize = 1 << 20;

impl<V: Sentinel + Eq + Hash + Dense> Coded<V> {
    #[inline(always)]
    pub fn push(&mut self, v: V) {
        if v != self.last.0 {
            let code = if v == V::NULL { -1 } else { self.code(v) };
            self.last = (v, code);
        }
        self.codes.push(self.last.1);
    }

    #[inline]
    fn code(&mut self, v: V) -> i32 {
        let slot = v.dense().filter(|&i| i < DENSE);
        if let Some(i) = slot {
            if let Some(&c) = self.dense.get(i) {
                if c >= 0 {
                    return c;
                }
            }
        } else if let Some(&c) = self.index.get(&v) {
            return c;
        }
        let c = self.values.len();
        self.codes.fit(c);
        self.values.push(v);
        match slot {
            Some(i) => {
                if i >= self.dense.len() {
                    self.dense.resize((i + 1).next_power_of_two(), -1);
                }
                self.dense[i] = c as i32;
            }
            None => {
                self.index.insert(v, c as i32);
            }
        }
        c as i32
    }
}

impl Coded<u32> {
    /// Interned strings: the dictionary lists them in first-seen order.
    pub fn into_string_arrays(self, strings: &Interner) -> Vec<ArrayRef> {
        let values: ArrayRef = Arc::new(StringArray::from_iter_values(
            self.values.iter().map(|&g| String::from_utf8_lossy(strings.get(g)).into_owned()),
        ));
        self.codes.into_arrays(values, None)
    }
}

impl<V: Sentinel + Eq + Hash + Ord + arrow_buffer::ArrowNativeType> Coded<V> {
    /// Integers: the dictionary lists them in ascending order.
    pub fn into_int_arrays<A: ArrowPrimitiveType<Native = V>>(self) -> Vec<ArrayRef> {
        let mut order: Vec<usize> = (0..self.values.len()).collect();
        order.sort_unstable_by_key(|&i| self.values[i]);
        let mut perm = vec![0i32; order.len()];
        for (pos, &code) in order.iter().enumerate() {
            perm[code] = pos as i32;
        }
        let sorted: Vec<V> = order.iter().map(|&i| self.values[i]).collect();
        let values: ArrayRef = Arc::new(PrimitiveArray::<A>::new(ScalarBuffer::from(sorted), None));
        // Values first seen in ascending order (generations always) keep
        // their codes: no lookup per row.
        let identity = perm.iter().enumerate().all(|(i, &p)| p == i as i32);
        self.codes.into_arrays(values, (!identity).then_some(&perm[..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::Int32Array;
    use arrow_schema::DataType;

    /// The key type of a column of `n` distinct values.
    fn keys_of(n: i32) -> DataType {
        let mut c = Coded::<i32>::default();
        (0..n).for_each(|v| c.push(v));
        let arrays = c.into_int_arrays::<arrow_array::types::Int32Type>();
        let DataType::Dictionary(k, _) = arrays[0].data_type() else { panic!("not a dictionary") };
        assert_eq!(arrays[0].len(), n as usize);
        let _: &Int32Array = arrays[0].as_any_dictionary().values().as_any().downcast_ref().expect("int32 values");
        (**k).clone()
    }

    #[test]
    fn keys_widen_past_each_types_max_values_as_every_dictionary_does() {
        assert_eq!(keys_of(127), DataType::Int8);
        assert_eq!(keys_of(128), DataType::Int16);
        assert_eq!(keys_of(32767), DataType::Int16);
        assert_eq!(keys_of(32768), DataType::Int32);
    }
}
