//! Global string interning: every string of every generation, deduplicated by
//! content, so string columns can be dictionary-encoded with one ID space.

use rustc_hash::FxHashMap;

/// Global ID of the empty string.
pub const EMPTY: u32 = 0;

pub struct Interner {
    /// Concatenated string bytes; `offsets[i]..offsets[i+1]` is string i.
    pub bytes: Vec<u8>,
    pub offsets: Vec<usize>,
    map: FxHashMap<Box<[u8]>, u32>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut i = Interner { bytes: Vec::new(), offsets: vec![0], map: FxHashMap::default() };
        i.intern(b"");
        i
    }
}

impl Interner {
    pub fn intern(&mut self, s: &[u8]) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = (self.offsets.len() - 1) as u32;
        self.bytes.extend_from_slice(s);
        self.offsets.push(self.bytes.len());
        self.map.insert(s.into(), id);
        id
    }

    pub fn intern_str(&mut self, s: &str) -> u32 {
        self.intern(s.as_bytes())
    }

    pub fn get(&self, id: u32) -> &[u8] {
        let i = id as usize;
        &self.bytes[self.offsets[i]..self.offsets[i + 1]]
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
