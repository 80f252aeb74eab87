//! Go's `batchCursor`: the next event of one thread's batches, and the
//! frontier heap of cursors by the time of their next event.

use super::Event;
use crate::spec::SPECS;
use crate::wire::{uvarint, Generation};
use crate::TraceError;

/// Go's batchCursor: the next event of one M's batches.
#[derive(Clone, Copy)]
pub(super) struct Cursor {
    pub(super) m: i64,
    /// Index into `Generation::batches`.
    pub(super) slot: usize,
    pub(super) last_ts: i64,
    pub(super) idx: usize,
    pub(super) off: usize,
    pub(super) ev: Event,
}

impl Cursor {
    pub(super) fn next_event(&mut self, gen: &Generation<'_>) -> Result<bool, TraceError> {
        let batches = &gen.batches[self.slot].1;
        while self.idx < batches.len() && batches[self.idx].data.len() == self.off {
            self.idx += 1;
            self.off = 0;
            self.last_ts = 0;
        }
        if self.idx == batches.len() {
            return Ok(false);
        }
        let b = &batches[self.idx];
        if self.last_ts == 0 {
            self.last_ts = gen.freq.ticks_to_ns(b.time);
        }
        let data = &b.data[self.off..];
        let at = b.offset + self.off;
        let err = |m: String| TraceError::at(m, at, Some(gen.gen));
        self.ev.at = at;
        let typ = data[0];
        if typ as usize >= SPECS.len() {
            return Err(err(format!("found invalid event type: {typ}")));
        }
        let spec = &SPECS[typ as usize];
        if spec.args.is_empty() || !spec.timed {
            return Err(err(format!("found event without a timestamp: type={typ}")));
        }
        let mut n = 1;
        let Some((dt, k)) = uvarint(&data[n..]) else {
            return Err(err("found invalid uvarint for timestamp".into()));
        };
        n += k;
        for i in 0..spec.args.len() - 1 {
            let Some((v, k)) = uvarint(&data[n..]) else {
                return Err(err("found invalid uvarint".into()));
            };
            self.ev.args[i] = v;
            n += k;
        }
        self.ev.typ = typ;
        self.ev.time = gen.freq.ticks_to_ns(dt).wrapping_add(self.last_ts);
        self.last_ts = self.ev.time;
        self.off += n;
        Ok(true)
    }
}

/// A frontier entry: the time of a cursor's next event and the cursor's
/// index in `Reader::cursors`. The heap moves these 16 bytes, not the cursors.
#[derive(Clone, Copy)]
pub(super) struct Head {
    pub(super) time: i64,
    pub(super) cursor: u32,
}

pub(super) fn sift_up(h: &mut [Head], mut i: usize) -> usize {
    while i > 0 && h[(i - 1) / 2].time > h[i].time {
        h.swap((i - 1) / 2, i);
        i = (i - 1) / 2;
    }
    i
}

pub(super) fn min3(h: &[Head], i0: usize, i1: usize, i2: usize) -> usize {
    let mut mi = i0;
    let mut mt = i64::MAX;
    if i0 < h.len() {
        mt = h[i0].time;
    }
    if i1 < h.len() && h[i1].time < mt {
        mt = h[i1].time;
        mi = i1;
    }
    if i2 < h.len() && h[i2].time < mt {
        mi = i2;
    }
    mi
}

pub(super) fn sift_down(h: &mut [Head], mut i: usize) {
    loop {
        let m = min3(h, i, 2 * i + 1, 2 * i + 2);
        if m == i {
            break;
        }
        h.swap(i, m);
        i = m;
    }
}

pub(super) fn heap_update(h: &mut [Head], i: usize) {
    if sift_up(h, i) != i {
        return;
    }
    sift_down(h, i);
}

pub(super) fn heap_remove(h: &mut Vec<Head>, mut i: usize) {
    while i > 0 {
        h.swap((i - 1) / 2, i);
        i = (i - 1) / 2;
    }
    let last = h.len() - 1;
    h.swap(0, last);
    h.pop();
    sift_down(h, 0);
}
