//! Column builders and their conversion to Arrow arrays.

use crate::intern::Interner;
use arrow_array::types::{Int32Type, Int8Type};
use arrow_array::{
    ArrayRef, ArrowPrimitiveType, BinaryArray, DictionaryArray, Int32Array, Int8Array, PrimitiveArray, StringArray,
};
use arrow_buffer::{NullBufferBuilder, ScalarBuffer};
use std::sync::Arc;

/// A nullable primitive column that only grows.
pub struct Col<T: ArrowPrimitiveType> {
    vals: Vec<T::Native>,
    nulls: NullBufferBuilder,
}

impl<T: ArrowPrimitiveType> Default for Col<T> {
    fn default() -> Self {
        Col { vals: Vec::new(), nulls: NullBufferBuilder::new(0) }
    }
}

impl<T: ArrowPrimitiveType> Col<T> {
    #[inline]
    pub fn push(&mut self, v: T::Native) {
        self.vals.push(v);
        self.nulls.append_non_null();
    }
    #[inline]
    pub fn push_opt(&mut self, v: Option<T::Native>) {
        match v {
            Some(v) => self.push(v),
            None => {
                self.vals.push(T::Native::default());
                self.nulls.append_null();
            }
        }
    }
    pub fn len(&self) -> usize {
        self.vals.len()
    }
    pub fn is_empty(&self) -> bool {
        self.vals.is_empty()
    }
    pub fn finish(mut self) -> ArrayRef {
        Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(self.vals), self.nulls.finish()))
    }
}

/// Builds a column from optional values in one go (derived tables).
pub fn prim<T: ArrowPrimitiveType>(it: impl Iterator<Item = Option<T::Native>>) -> ArrayRef {
    let mut c = Col::<T>::default();
    for v in it {
        c.push_opt(v);
    }
    c.finish()
}

/// A dictionary column over a small fixed set of names (kind, state, ...).
#[derive(Default)]
pub struct EnumCol {
    keys: Col<Int8Type>,
}

impl EnumCol {
    #[inline]
    pub fn push(&mut self, code: Option<u8>) {
        self.keys.push_opt(code.map(|c| c as i8));
    }
    pub fn finish(self, names: &[&str]) -> ArrayRef {
        enum_array(self.keys.finish(), names)
    }
}

pub fn enum_array(keys: ArrayRef, names: &[&str]) -> ArrayRef {
    let keys = keys.as_any().downcast_ref::<Int8Array>().expect("int8 keys").clone();
    let values = Arc::new(StringArray::from(names.to_vec()));
    Arc::new(DictionaryArray::<Int8Type>::try_new(keys, values).expect("enum codes are in range"))
}

pub fn enum_col(it: impl Iterator<Item = Option<u8>>, names: &[&str]) -> ArrayRef {
    let mut c = EnumCol::default();
    for v in it {
        c.push(v);
    }
    c.finish(names)
}

/// A dictionary column of interned strings: keys are global string IDs while
/// building and become a compact per-column dictionary at the end, so each
/// column lists only the values it uses.
pub struct StrCol {
    keys: Vec<u32>,
    nulls: NullBufferBuilder,
}

impl Default for StrCol {
    fn default() -> Self {
        StrCol { keys: Vec::new(), nulls: NullBufferBuilder::new(0) }
    }
}

impl StrCol {
    #[inline]
    pub fn push(&mut self, id: Option<u32>) {
        match id {
            Some(v) => {
                self.keys.push(v);
                self.nulls.append_non_null();
            }
            None => {
                self.keys.push(0);
                self.nulls.append_null();
            }
        }
    }
    pub fn finish(mut self, strings: &Interner) -> ArrayRef {
        let nulls = self.nulls.finish();
        let mut local = vec![-1i32; strings.len()];
        let mut values: Vec<u32> = Vec::new();
        let mut keys: Vec<i32> = Vec::with_capacity(self.keys.len());
        for (i, &g) in self.keys.iter().enumerate() {
            if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                keys.push(0);
                continue;
            }
            let slot = &mut local[g as usize];
            if *slot < 0 {
                *slot = values.len() as i32;
                values.push(g);
            }
            keys.push(*slot);
        }
        let vals: Vec<String> =
            values.iter().map(|&g| String::from_utf8_lossy(strings.get(g)).into_owned()).collect();
        let keys = Int32Array::new(ScalarBuffer::from(keys), nulls);
        Arc::new(
            DictionaryArray::<Int32Type>::try_new(keys, Arc::new(StringArray::from(vals)))
                .expect("dictionary keys are in range"),
        )
    }
}

pub fn str_col(it: impl Iterator<Item = Option<u32>>, strings: &Interner) -> ArrayRef {
    let mut c = StrCol::default();
    for v in it {
        c.push(v);
    }
    c.finish(strings)
}

pub fn binary_col<'a>(it: impl Iterator<Item = &'a [u8]>) -> ArrayRef {
    Arc::new(BinaryArray::from_iter_values(it))
}
