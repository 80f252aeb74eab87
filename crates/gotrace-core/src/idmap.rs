//! A map from goroutine-like IDs (small, counting up) to indexes.

use rustc_hash::FxHashMap;

/// ID -> index, for goroutine IDs. They count up from 1, so most live in a
/// dense vector (no hashing on the hot path); the rest in a hash map.
#[derive(Default)]
pub struct IdMap {
    dense: Vec<u32>,
    sparse: FxHashMap<i64, usize>,
}

impl IdMap {
    /// IDs below this are kept densely (at most 16 MiB of slots).
    const DENSE: i64 = 1 << 22;
    const NONE: u32 = u32::MAX;

    #[inline]
    pub fn get(&self, id: i64) -> Option<usize> {
        if (0..Self::DENSE).contains(&id) {
            self.dense.get(id as usize).filter(|&&v| v != Self::NONE).map(|&v| v as usize)
        } else {
            self.sparse.get(&id).copied()
        }
    }

    #[inline]
    pub fn insert(&mut self, id: i64, v: usize) {
        if (0..Self::DENSE).contains(&id) && v < Self::NONE as usize {
            let i = id as usize;
            if i >= self.dense.len() {
                self.dense.resize((i + 1).next_power_of_two(), Self::NONE);
            }
            self.dense[i] = v as u32;
        } else {
            self.sparse.insert(id, v);
        }
    }

    /// Every index in the map (dense IDs in ID order, then the rest).
    pub fn values(&self) -> impl Iterator<Item = usize> + '_ {
        let dense = self.dense.iter().filter(|&&v| v != Self::NONE).map(|&v| v as usize);
        dense.chain(self.sparse.values().copied())
    }

    #[inline]
    pub fn remove(&mut self, id: i64) -> Option<usize> {
        if (0..Self::DENSE).contains(&id) {
            let slot = self.dense.get_mut(id as usize)?;
            let v = std::mem::replace(slot, Self::NONE);
            if v != Self::NONE {
                return Some(v as usize);
            }
        }
        self.sparse.remove(&id)
    }
}
