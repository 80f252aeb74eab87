//! The spans table's public columns, gathered in one pass.
//!
//! The core stores a span as the rows of the events that enter and leave it
//! (`start_event`, `end_event`); every other column is a column of one of
//! those events, or the span's time by [`SpanClock`]. The spans are walked in
//! blocks: each block's two event rows are located in the events' chunks
//! once, then every wanted column is read at them in a loop of its own (one
//! representation per loop, and the block's events stay in cache), each
//! thread writing its own stretch of the output.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type, Int8Type};
use arrow_array::{Array, ArrayRef, DictionaryArray, PrimitiveArray};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer};
use arrow_schema::DataType;

use crate::lanes::SpanClock;
use crate::take::{ints, Column, Ints};

/// What a column reads: a column of the span's start or end event (its
/// chunks), or the span's time at that end.
pub enum Source<'a> {
    Event(Vec<&'a dyn Array>),
    Time,
}

/// One wanted column: its source, at the span's end event (else its start).
pub struct Want<'a> {
    pub at_end: bool,
    pub source: Source<'a>,
}

/// The output's representation: plain integers keep their type, integer
/// dictionaries come out decoded (int32 values as int32, others as int64),
/// string dictionaries keep their keys and dictionary (as `take::take`).
#[derive(Clone, Copy)]
enum Out {
    I64,
    I32,
    I16,
    I8,
}

/// A wanted column ready to read: per chunk its values (or keys) and nulls.
struct Reader<'a> {
    at_end: bool,
    time: bool,
    parts: Vec<(Ints<'a>, Option<&'a NullBuffer>)>,
    /// An integer dictionary's values, read through the keys.
    lut: Option<Vec<i64>>,
    /// A string dictionary's values, kept as they are.
    dictionary: Option<ArrayRef>,
    out: Out,
}

impl<'a> Reader<'a> {
    fn new(w: &Want<'a>) -> Result<Self, String> {
        let time = |out| Reader { at_end: w.at_end, time: true, parts: Vec::new(), lut: None, dictionary: None, out };
        let Source::Event(chunks) = &w.source else { return Ok(time(Out::I64)) };
        let Some(first) = chunks.first() else { return Err("a column with no chunks".into()) };
        let dt = first.data_type();
        if chunks.iter().any(|a| a.data_type() != dt) {
            return Err("chunks of different types".into());
        }
        let parts = chunks
            .iter()
            .map(|a| ints(*a).map(|v| (v, a.nulls().filter(|n| n.null_count() > 0))))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("cannot gather a {dt} column"))?;
        let mut r = Reader { parts, ..time(Out::I64) };
        r.time = false;
        match dt {
            DataType::Int64 => {}
            DataType::Int32 => r.out = Out::I32,
            DataType::Dictionary(k, v) => {
                let values = first.as_any_dictionary().values();
                let shared = |a: &&dyn Array| {
                    let v = a.as_any_dictionary().values();
                    Arc::ptr_eq(v, values) || v.to_data() == values.to_data()
                };
                if !chunks.iter().all(shared) {
                    return Err("chunks with different dictionaries".into());
                }
                if v.is_integer() {
                    let d = ints(values.as_ref()).ok_or("dictionary values are not integers")?;
                    r.lut = Some((0..values.len()).map(|k| d.get(k)).collect());
                    r.out = if v.as_ref() == &DataType::Int32 { Out::I32 } else { Out::I64 };
                } else {
                    r.dictionary = Some(values.clone());
                    r.out = match k.as_ref() {
                        DataType::Int8 => Out::I8,
                        DataType::Int16 => Out::I16,
                        _ => Out::I32,
                    };
                }
            }
            _ => return Err(format!("cannot gather a {dt} column")),
        }
        Ok(r)
    }
}

/// One column's stretch of the output: values and validity bits (the
/// stretches start at multiples of 64, so each owns whole words).
enum Values<'a> {
    I64(&'a mut [i64]),
    I32(&'a mut [i32]),
    I16(&'a mut [i16]),
    I8(&'a mut [i8]),
}

impl Values<'_> {
    #[inline(always)]
    fn set(&mut self, j: usize, v: i64) {
        match self {
            Values::I64(s) => s[j] = v,
            Values::I32(s) => s[j] = v as i32,
            Values::I16(s) => s[j] = v as i16,
            Values::I8(s) => s[j] = v as i8,
        }
    }
}

enum Owned {
    I64(Vec<i64>),
    I32(Vec<i32>),
    I16(Vec<i16>),
    I8(Vec<i8>),
}

impl Owned {
    fn new(out: Out, n: usize) -> Self {
        match out {
            Out::I64 => Owned::I64(vec![0; n]),
            Out::I32 => Owned::I32(vec![0; n]),
            Out::I16 => Owned::I16(vec![0; n]),
            Out::I8 => Owned::I8(vec![0; n]),
        }
    }

    /// The stretches `cuts[k]..cuts[k + 1]`.
    fn split(&mut self, cuts: &[usize]) -> Vec<Values<'_>> {
        fn parts<'s, T>(mut s: &'s mut [T], cuts: &[usize]) -> Vec<&'s mut [T]> {
            let mut out = Vec::with_capacity(cuts.len());
            for w in cuts.windows(2) {
                let (a, b) = s.split_at_mut(w[1] - w[0]);
                out.push(a);
                s = b;
            }
            out
        }
        match self {
            Owned::I64(v) => parts(v, cuts).into_iter().map(Values::I64).collect(),
            Owned::I32(v) => parts(v, cuts).into_iter().map(Values::I32).collect(),
            Owned::I16(v) => parts(v, cuts).into_iter().map(Values::I16).collect(),
            Owned::I8(v) => parts(v, cuts).into_iter().map(Values::I8).collect(),
        }
    }
}

/// Spans per block: their events are located once and read per column.
const BLOCK: usize = 1024;
/// Fewer spans than this per thread are not worth one.
const PARALLEL_SPANS: usize = 1 << 15;

/// The spans' event references and what they are read from.
pub struct Refs<'a> {
    pub start_event: &'a Column<'a>,
    pub end_event: &'a Column<'a>,
    /// The events' chunk lengths (every event source must have them).
    pub chunk_lens: &'a [usize],
    /// Needed by [`Source::Time`] columns.
    pub clock: Option<&'a SpanClock<'a>>,
}

/// The `wants` columns of spans `subset` (every span if None): an event's
/// column is null where the span has no such event (or the event's value is
/// null); a span with no start event has no start time.
pub fn span_columns(refs: &Refs<'_>, wants: &[Want<'_>], subset: Option<&[i64]>) -> Result<Vec<ArrayRef>, String> {
    let readers = wants.iter().map(Reader::new).collect::<Result<Vec<_>, _>>()?;
    for (r, w) in readers.iter().zip(wants) {
        if r.time && refs.clock.is_none() {
            return Err("span times need the spans' clock".into());
        }
        if let Source::Event(chunks) = &w.source {
            if chunks.len() != refs.chunk_lens.len() || chunks.iter().zip(refs.chunk_lens).any(|(a, &n)| a.len() != n) {
                return Err("events columns are chunked differently".into());
            }
        }
    }
    let mut starts = Vec::with_capacity(refs.chunk_lens.len() + 1);
    starts.push(0usize);
    for n in refs.chunk_lens {
        starts.push(starts.last().copied().unwrap_or(0) + n);
    }
    let n = subset.map_or(refs.start_event.len(), <[i64]>::len);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let threads = cores.min(n / PARALLEL_SPANS).max(1);
    // Stretches start at multiples of 64: each thread owns whole validity words.
    let mut cuts: Vec<usize> = (0..threads).map(|t| (n * t / threads) & !63).collect();
    cuts.push(n);
    let words = n.div_ceil(64);
    let mut owned: Vec<Owned> = readers.iter().map(|r| Owned::new(r.out, n)).collect();
    let mut bits: Vec<Vec<u64>> = readers.iter().map(|_| vec![0u64; words]).collect();
    {
        let mut values: Vec<std::vec::IntoIter<Values<'_>>> =
            owned.iter_mut().map(|o| o.split(&cuts).into_iter()).collect();
        let word_cuts: Vec<usize> = cuts.iter().map(|&c| c.div_ceil(64)).collect();
        let mut valid: Vec<std::vec::IntoIter<&mut [u64]>> = bits
            .iter_mut()
            .map(|b| {
                let mut s: &mut [u64] = b;
                let mut out = Vec::new();
                for w in word_cuts.windows(2) {
                    let (a, rest) = s.split_at_mut(w[1] - w[0]);
                    out.push(a);
                    s = rest;
                }
                out.into_iter()
            })
            .collect();
        let jobs: Vec<_> = cuts
            .windows(2)
            .map(|w| {
                let v: Vec<Values<'_>> = values.iter_mut().filter_map(Iterator::next).collect();
                let b: Vec<&mut [u64]> = valid.iter_mut().filter_map(Iterator::next).collect();
                (w[0], w[1], v, b)
            })
            .collect();
        let fill = |(lo, hi, mut v, mut b): (usize, usize, Vec<Values<'_>>, Vec<&mut [u64]>)| {
            fill_range(refs, &readers, &starts, subset, lo, hi, &mut v, &mut b)
        };
        std::thread::scope(|s| {
            let mut jobs = jobs.into_iter();
            let mine = jobs.next();
            let others: Vec<_> = jobs.map(|j| s.spawn(move || fill(j))).collect();
            if let Some(j) = mine {
                fill(j);
            }
            for h in others {
                h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            }
        });
    }
    owned.into_iter().zip(bits).zip(&readers).map(|((o, b), r)| array(o, b, n, r)).collect()
}

/// Spans `lo..hi` (of the subset, if any) into `values`/`bits` (which start at `lo`).
#[allow(clippy::too_many_arguments)]
fn fill_range(
    refs: &Refs<'_>,
    readers: &[Reader<'_>],
    starts: &[usize],
    subset: Option<&[i64]>,
    lo: usize,
    hi: usize,
    values: &mut [Values<'_>],
    bits: &mut [&mut [u64]],
) {
    let len = starts.last().copied().unwrap_or(0);
    // Chunk and local row of each span's two events (chunk usize::MAX: no event).
    let mut at = [[(usize::MAX, 0usize); BLOCK]; 2];
    let mut rows: [Vec<i64>; 2] = Default::default();
    let (mut hs, mut he, mut hc) = (0usize, 0usize, [0usize; 2]);
    let (mut h3, mut he2) = ([0usize; 3], 0usize);
    let mut block = lo;
    while block < hi {
        let m = BLOCK.min(hi - block);
        match subset {
            // The references in order: a loop per chunk.
            None => {
                refs.start_event.decode(block, block + m, &mut rows[0]);
                refs.end_event.decode(block, block + m, &mut rows[1]);
            }
            Some(sub) => {
                rows[0].clear();
                rows[1].clear();
                for &span in &sub[block..block + m] {
                    rows[0].push(refs.start_event.get(span, &mut hs));
                    rows[1].push(refs.end_event.get(span, &mut he));
                }
            }
        }
        for e in 0..2 {
            let h = &mut hc[e];
            for (k, &r) in rows[e].iter().enumerate() {
                at[e][k] = if r < 0 || r as usize >= len {
                    (usize::MAX, 0)
                } else {
                    let r = r as usize;
                    if !(starts[*h] <= r && r < starts[*h + 1]) {
                        *h = starts.partition_point(|&s| s <= r) - 1;
                    }
                    (*h, r - starts[*h])
                };
            }
        }
        let base = block - lo;
        for ((r, v), b) in readers.iter().zip(values.iter_mut()).zip(bits.iter_mut()) {
            let e = usize::from(r.at_end);
            let mut put = |k: usize, x: Option<i64>| {
                if let Some(x) = x {
                    let j = base + k;
                    v.set(j, x);
                    b[j / 64] |= 1 << (j % 64);
                }
            };
            match (r.time, refs.clock) {
                (true, Some(clock)) if r.at_end => {
                    (0..m).for_each(|k| put(k, Some(clock.end(rows[1][k], &mut he2))));
                }
                (true, Some(clock)) => (0..m).for_each(|k| {
                    let ev = rows[0][k];
                    put(k, (ev >= 0).then(|| clock.start(ev, &mut h3)));
                }),
                (true, None) => {}
                (false, _) => read_block(r, &at[e][..m], v, b, base),
            }
        }
        block += m;
    }
}

/// Column `r` at a block's events (`at`: chunk and row, chunk usize::MAX:
/// none) into `out` and `bits` from `base` on.
fn read_block(r: &Reader<'_>, at: &[(usize, usize)], out: &mut Values<'_>, bits: &mut [u64], base: usize) {
    let lut = r.lut.as_deref();
    for (k, &(c, i)) in at.iter().enumerate() {
        let Some((vals, nulls)) = r.parts.get(c) else { continue };
        if nulls.is_some_and(|n| n.is_null(i)) {
            continue;
        }
        let x = vals.get(i);
        let x = match lut {
            None => x,
            Some(l) => usize::try_from(x).ok().and_then(|k| l.get(k)).copied().unwrap_or(0),
        };
        let j = base + k;
        out.set(j, x);
        bits[j / 64] |= 1 << (j % 64);
    }
}

/// One column's output as Arrow.
fn array(o: Owned, bits: Vec<u64>, n: usize, r: &Reader<'_>) -> Result<ArrayRef, String> {
    let nulls = NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(bits), 0, n));
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    let e = |e: arrow_schema::ArrowError| e.to_string();
    Ok(match (o, &r.dictionary) {
        (Owned::I64(v), None) => Arc::new(PrimitiveArray::<Int64Type>::new(v.into(), nulls)),
        (Owned::I32(v), None) => Arc::new(PrimitiveArray::<Int32Type>::new(v.into(), nulls)),
        (Owned::I32(v), Some(d)) => {
            Arc::new(DictionaryArray::<Int32Type>::try_new(PrimitiveArray::new(v.into(), nulls), d.clone()).map_err(e)?)
        }
        (Owned::I16(v), Some(d)) => {
            Arc::new(DictionaryArray::<Int16Type>::try_new(PrimitiveArray::new(v.into(), nulls), d.clone()).map_err(e)?)
        }
        (Owned::I8(v), Some(d)) => {
            Arc::new(DictionaryArray::<Int8Type>::try_new(PrimitiveArray::new(v.into(), nulls), d.clone()).map_err(e)?)
        }
        _ => return Err("no such column representation".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Int8Type;
    use arrow_array::{Int32Array, Int64Array, StringArray};

    // Six events in two chunks (rows 0..3, 3..6): a goroutine column with a
    // null, an integer dictionary and a string dictionary.
    fn events() -> Vec<Vec<ArrayRef>> {
        let g = |v: Vec<Option<i64>>| Arc::new(Int64Array::from(v)) as ArrayRef;
        let p_values: ArrayRef = Arc::new(Int32Array::from(vec![7, 9]));
        let p = |k: Vec<i8>| {
            Arc::new(DictionaryArray::<Int8Type>::try_new(k.into(), p_values.clone()).unwrap()) as ArrayRef
        };
        let s_values: ArrayRef = Arc::new(StringArray::from(vec!["Running", "Waiting"]));
        let s = |k: Vec<i8>| {
            Arc::new(DictionaryArray::<Int8Type>::try_new(k.into(), s_values.clone()).unwrap()) as ArrayRef
        };
        let ts = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
        vec![
            vec![g(vec![Some(10), Some(11), Some(12)]), g(vec![Some(13), None, Some(15)])],
            vec![p(vec![0, 1, 0]), p(vec![1, 1, 0])],
            vec![s(vec![0, 1, 1]), s(vec![0, 0, 1])],
            vec![ts(vec![100, 110, 120]), ts(vec![130, 140, 150])],
            vec![ts(vec![0, 0, 1]), ts(vec![0, 0, 0])],
        ]
    }

    fn chunks(c: &[ArrayRef]) -> Vec<&dyn Array> {
        c.iter().map(|a| a.as_ref()).collect()
    }

    fn ints(a: &ArrayRef) -> Vec<Option<i64>> {
        let a = arrow_cast_free(a);
        (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))).collect()
    }

    /// An int64 or int32 array as int64 values.
    fn arrow_cast_free(a: &ArrayRef) -> Int64Array {
        match a.data_type() {
            DataType::Int32 => a.as_primitive::<Int32Type>().iter().map(|v| v.map(i64::from)).collect(),
            _ => a.as_primitive::<Int64Type>().clone(),
        }
    }

    #[test]
    fn reads_each_column_at_its_event_with_nulls_and_subsets() {
        let ev = events();
        let start_event = Int32Array::from(vec![Some(0), Some(2), Some(4), None]);
        let end_event = Int32Array::from(vec![Some(3), Some(5), None, Some(1)]);
        let (se, ee) = (Column::ints(&[&start_event]).unwrap(), Column::ints(&[&end_event]).unwrap());
        let clock = SpanClock {
            ts: Column::ints(&chunks(&ev[3])).unwrap(),
            from_undetermined: Column::ints(&chunks(&ev[4])).unwrap(),
            sync_rows: &[1],
            end_ns: 999,
        };
        let refs = Refs { start_event: &se, end_event: &ee, chunk_lens: &[3, 3], clock: Some(&clock) };
        let want = |at_end, c: Option<usize>| Want {
            at_end,
            source: c.map_or(Source::Time, |c| Source::Event(chunks(&ev[c]))),
        };
        let wants =
            [want(false, Some(0)), want(true, Some(1)), want(false, Some(2)), want(false, None), want(true, None)];
        let out = span_columns(&refs, &wants, None).unwrap();
        assert_eq!(ints(&out[0]), vec![Some(10), Some(12), None, None]);
        // The integer dictionary decoded (int32 values stay int32).
        assert_eq!(out[1].data_type(), &DataType::Int32);
        assert_eq!(ints(&out[1]), vec![Some(9), Some(7), None, Some(9)]);
        // The string dictionary keeps its keys and dictionary.
        let state = out[2].as_dictionary::<Int8Type>();
        assert!(Arc::ptr_eq(state.values(), ev[2][0].as_any_dictionary().values()));
        assert_eq!(state.keys().iter().collect::<Vec<_>>(), vec![Some(0), Some(1), Some(0), None]);
        // Event 2 left Undetermined: its span starts at the Sync before it.
        assert_eq!(ints(&out[3]), vec![Some(100), Some(110), Some(140), None]);
        assert_eq!(ints(&out[4]), vec![Some(130), Some(150), Some(999), Some(110)]);
        let sub = span_columns(&refs, &wants, Some(&[3, 0, 7])).unwrap();
        assert_eq!(ints(&sub[0]), vec![None, Some(10), None]);
        assert_eq!(ints(&sub[1]), vec![Some(9), Some(9), None]);
        assert_eq!(ints(&sub[4]), vec![Some(110), Some(130), Some(999)]);
    }

    #[test]
    fn many_spans_on_threads_match_one_at_a_time() {
        let ev = events();
        let n = PARALLEL_SPANS * 2 + 77;
        let start_event = Int64Array::from((0..n as i64).map(|i| i % 7 - 1).collect::<Vec<_>>());
        let end_event = Int64Array::from((0..n as i64).map(|i| 5 - i % 6).collect::<Vec<_>>());
        let (se, ee) = (Column::ints(&[&start_event]).unwrap(), Column::ints(&[&end_event]).unwrap());
        let refs = Refs { start_event: &se, end_event: &ee, chunk_lens: &[3, 3], clock: None };
        let wants = [Want { at_end: false, source: Source::Event(chunks(&ev[0])) }];
        let all = ints(&span_columns(&refs, &wants, None).unwrap()[0]);
        let g = [Some(10), Some(11), Some(12), Some(13), None, Some(15)];
        for (i, v) in all.iter().enumerate() {
            let r = i as i64 % 7 - 1;
            assert_eq!(*v, usize::try_from(r).ok().and_then(|r| g.get(r).copied().flatten()), "span {i}");
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let ev = events();
        let refs_col = Int32Array::from(vec![0]);
        let c = Column::ints(&[&refs_col]).unwrap();
        let refs = Refs { start_event: &c, end_event: &c, chunk_lens: &[6], clock: None };
        let event = Want { at_end: false, source: Source::Event(chunks(&ev[0])) };
        assert!(span_columns(&refs, &[event], None).is_err(), "chunked differently");
        let refs = Refs { chunk_lens: &[3, 3], ..refs };
        assert!(span_columns(&refs, &[Want { at_end: false, source: Source::Time }], None).is_err(), "no clock");
    }
}
