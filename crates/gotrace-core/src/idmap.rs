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

/// Items keyed by goroutine-like IDs: the items live in a vector, found
/// through an [`IdMap`], and the slot of a removed item is reused. The
/// ordering stage looks one up for nearly every event, where a hash map
/// cost a hash and a probe each time.
pub struct IdSlab<T> {
    ids: IdMap,
    items: Vec<(i64, T)>,
    /// Slots of removed items.
    free: Vec<usize>,
    len: usize,
}

impl<T> Default for IdSlab<T> {
    fn default() -> Self {
        IdSlab { ids: IdMap::default(), items: Vec::new(), free: Vec::new(), len: 0 }
    }
}

impl<T> IdSlab<T> {
    /// The slot of `id`, if present: valid until `id` is removed.
    #[inline]
    pub fn slot(&self, id: i64) -> Option<usize> {
        self.ids.get(id)
    }

    #[inline]
    pub fn at(&mut self, slot: usize) -> &mut T {
        &mut self.items[slot].1
    }

    #[inline]
    pub fn get(&self, id: i64) -> Option<&T> {
        self.ids.get(id).map(|s| &self.items[s].1)
    }

    #[inline]
    pub fn get_mut(&mut self, id: i64) -> Option<&mut T> {
        self.ids.get(id).map(|s| &mut self.items[s].1)
    }

    #[inline]
    pub fn contains(&self, id: i64) -> bool {
        self.ids.get(id).is_some()
    }

    /// Inserts or replaces the item of `id`; returns its slot.
    pub fn insert(&mut self, id: i64, v: T) -> usize {
        if let Some(s) = self.ids.get(id) {
            self.items[s].1 = v;
            return s;
        }
        let s = match self.free.pop() {
            Some(s) => {
                self.items[s] = (id, v);
                s
            }
            None => {
                self.items.push((id, v));
                self.items.len() - 1
            }
        };
        self.ids.insert(id, s);
        self.len += 1;
        s
    }

    /// Removes `id`; its item stays in the slot until the slot is reused.
    pub fn remove(&mut self, id: i64) -> bool {
        match self.ids.remove(id) {
            Some(s) => {
                self.free.push(s);
                self.len -= 1;
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every (id, item) present, in slot order: the cost follows the items,
    /// not the largest ID.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &T)> + '_ {
        let live = |(s, (id, _)): &(usize, &(i64, T))| self.ids.get(*id) == Some(*s);
        self.items.iter().enumerate().filter(live).map(|(_, (id, v))| (*id, v))
    }
}
