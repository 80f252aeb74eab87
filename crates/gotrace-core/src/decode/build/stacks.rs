//! Global stack table: stacks deduplicated by content across generations, so
//! one stack has one ID in the whole trace. ID 0 is the empty stack.

use super::batch;
use super::cols::{prim, str_col};
use crate::intern::Interner;
use crate::wire::{Frame, Generation};
use crate::TraceError;
use arrow_array::types::{Int32Type, Int64Type, UInt64Type};
use arrow_array::RecordBatch;
use rustc_hash::FxHashMap;

pub struct Stacks {
    ids: FxHashMap<Box<[Frame]>, i32>,
    /// Per stack: first row in `frames` and frame count.
    spans: Vec<(u32, u32)>,
    pub frames: Vec<Frame>,
}

impl Default for Stacks {
    fn default() -> Self {
        let mut ids = FxHashMap::default();
        ids.insert(Vec::new().into_boxed_slice(), 0);
        Stacks { ids, spans: vec![(0, 0)], frames: Vec::new() }
    }
}

impl Stacks {
    /// Global ID of a generation's stack ID.
    pub fn resolve(&mut self, id: u64, gen: &mut Generation<'_>) -> Result<i32, TraceError> {
        if id == 0 {
            return Ok(0);
        }
        if let Some(g) = gen.stack_cache.get(id) {
            return Ok(g);
        }
        let Some(frames) = gen.stack_frames(id) else {
            return Err(TraceError::msg(format!("found invalid stack ID {id}")).with_gen(Some(gen.gen)));
        };
        let frames: Box<[Frame]> = frames.collect();
        let next = self.spans.len() as i32;
        let g = *self.ids.entry(frames).or_insert_with_key(|f| {
            let start = self.frames.len() as u32;
            self.frames.extend_from_slice(f);
            self.spans.push((start, f.len() as u32));
            next
        });
        gen.stack_cache.insert(id, g);
        Ok(g)
    }

    /// Frames of a global stack, leaf first.
    pub fn frames_of(&self, id: i32) -> &[Frame] {
        let (s, n) = self.spans[id as usize];
        &self.frames[s as usize..(s + n) as usize]
    }

    pub fn finish(self, strings: &Interner) -> Vec<(&'static str, RecordBatch)> {
        let sp = &self.spans;
        let stacks = batch(vec![
            ("stack_id", prim::<Int32Type>((0..sp.len() as i32).map(Some))),
            ("nframes", prim::<Int32Type>(sp.iter().map(|s| Some(s.1 as i32)))),
            ("first_frame", prim::<Int32Type>(sp.iter().map(|s| Some(s.0 as i32)))),
            ("leaf_function", str_col(sp.iter().map(|s| (s.1 > 0).then(|| self.frames[s.0 as usize].func)), strings)),
        ]);
        let owner = || sp.iter().enumerate().flat_map(|(i, s)| (0..s.1).map(move |d| (i as i32, d as i32)));
        let f = &self.frames;
        let frames = batch(vec![
            ("stack_id", prim::<Int32Type>(owner().map(|(i, _)| Some(i)))),
            ("depth", prim::<Int32Type>(owner().map(|(_, d)| Some(d)))),
            ("pc", prim::<UInt64Type>(f.iter().map(|x| Some(x.pc)))),
            ("function", str_col(f.iter().map(|x| Some(x.func)), strings)),
            ("file", str_col(f.iter().map(|x| Some(x.file)), strings)),
            ("line", prim::<Int64Type>(f.iter().map(|x| Some(x.line as i64)))),
        ]);
        vec![("stacks", stacks), ("frames", frames)]
    }
}
