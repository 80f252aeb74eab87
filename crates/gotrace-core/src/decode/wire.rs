//! Wire layer: header, varints, batches, and one generation's tables.
//!
//! Everything here reads untrusted bytes: every length is checked against
//! what is left of the input before anything is allocated for it.

use crate::intern::Interner;
use crate::spec::ev;
use crate::TraceError;
use rustc_hash::FxHashMap;

/// Start of the message of an error Go's parser does not report: a table
/// batch that ends right before an entry's field. Go's parser then stops as
/// at the end of the input; we report a damaged trace.
pub const BATCH_ENDS_BEFORE: &str = "batch ends before the";

/// Largest batch payload the runtime writes (and the parser accepts).
pub const MAX_BATCH_SIZE: u64 = 64 << 10;
/// Largest string-table entry.
pub const MAX_STRING_SIZE: u64 = 1024;
/// Deepest stack.
pub const MAX_FRAMES_PER_STACK: u64 = 128;

/// Hands the whole pages inside `data[from..to]` back to the kernel. Only for
/// a read-only file mapping, which reads them back from the file if they are
/// touched again; the parse is done with them, so resident memory need not
/// hold the whole input. Linux only, where `MADV_DONTNEED` drops the pages at
/// once; elsewhere (macOS treats it as a hint) this does nothing.
pub fn release_pages(data: &[u8], from: usize, to: usize) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let to = to.min(data.len());
        if from >= to {
            return;
        }
        let base = data.as_ptr() as usize;
        let start = (base + from).next_multiple_of(PAGE);
        let end = (base + to) / PAGE * PAGE;
        if end > start {
            // SAFETY: the range lies inside `data`, a live read-only file
            // mapping (the caller's promise); MADV_DONTNEED only drops our
            // page table entries, and later reads fault the file's pages in.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (data, from, to);
}

/// A byte cursor over the whole input that knows its absolute offset.
#[derive(Clone, Copy)]
pub struct Cursor<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Cursor { data, pos }
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }
    pub fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    /// Reads an unsigned LEB128 varint the way Go's `binary.Uvarint` does:
    /// at most 10 bytes, and the 10th byte may only be 0 or 1.
    pub fn uvarint(&mut self) -> Result<u64, VarintError> {
        let mut x: u64 = 0;
        let mut shift = 0u32;
        for i in 0..10 {
            let Some(&b) = self.data.get(self.pos + i) else {
                return Err(VarintError::Eof);
            };
            if b < 0x80 {
                if i == 9 && b > 1 {
                    return Err(VarintError::Overflow);
                }
                self.pos += i + 1;
                return Ok(x | (u64::from(b) << shift));
            }
            x |= u64::from(b & 0x7f) << shift;
            shift += 7;
        }
        Err(VarintError::Overflow)
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.remaining() < n {
            return None;
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Some(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    Eof,
    Overflow,
}

/// Decodes a varint from the front of a slice (Go's `binary.Uvarint`):
/// returns the value and the bytes used, or None where Go returns n <= 0.
#[inline(always)]
pub fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    // Most event arguments fit in one byte.
    match b.first() {
        Some(&x) if x < 0x80 => Some((u64::from(x), 1)),
        _ => uvarint_long(b),
    }
}

#[inline(never)]
fn uvarint_long(b: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    let mut shift = 0u32;
    for (i, &byte) in b.iter().enumerate().take(10) {
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return None;
            }
            return Some((x | (u64::from(byte) << shift), i + 1));
        }
        x |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    None
}

/// Go's float64 -> int64 conversion as amd64 does it: out of range and NaN
/// give the "integer indefinite" value, i64::MIN.
#[inline]
pub fn f64_to_i64(f: f64) -> i64 {
    // 2^63: the first value out of range; -2^63 is still in range.
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-TWO63..TWO63).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// ns per tick, computed as Go does: `1.0 / (float64(freq) / 1e9)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Frequency(pub f64);

impl Frequency {
    #[inline]
    pub fn ticks_to_ns(self, t: u64) -> i64 {
        f64_to_i64(t as f64 * self.0)
    }
}

/// What a trace's first 16 bytes say, before any reader judges the version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    Empty,
    /// Fewer than the 16 bytes of a header.
    Short,
    /// No `go 1.NN trace` header.
    NotTrace,
    /// `go 1.NN trace`, NN as written.
    Version(u32),
}

/// Scans the 16-byte header: `go 1.NN trace` padded with NULs.
pub fn scan_header(data: &[u8]) -> Header {
    if data.is_empty() {
        return Header::Empty;
    }
    let Some(hdr) = data.get(..16) else { return Header::Short };
    let Some(rest) = hdr.strip_prefix(b"go 1.") else { return Header::NotTrace };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 2 {
        return Header::NotTrace;
    }
    let minor = rest[..digits].iter().fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'));
    // Go scans "go 1.%d trace\x00\x00\x00"; the old single-digit versions had four NULs.
    if !rest[digits..].starts_with(b" trace\x00\x00\x00") {
        return Header::NotTrace;
    }
    Header::Version(minor)
}

/// The format version of a trace this crate reads, or why not.
pub fn read_header(data: &[u8]) -> Result<u32, TraceError> {
    let bad = |msg: &str| TraceError::at(msg.to_string(), 0, None);
    match scan_header(data) {
        Header::Empty => Err(bad("empty input: not a Go execution trace")),
        Header::Short => Err(bad("bad file format: not a Go execution trace? (shorter than the 16-byte header)")),
        Header::NotTrace => Err(bad("bad file format: not a Go execution trace? (no 'go 1.NN trace' header)")),
        // 11, 19 and 21 are the old format (crate::tracev1): Go 1.12-1.18
        // write 11, Go 1.20 writes 19.
        Header::Version(minor @ (11 | 19 | 21 | 22 | 23 | 25 | 26)) => Ok(minor),
        Header::Version(minor @ 5..=10) => Err(bad(&format!(
            "unknown or unsupported trace version go 1.{minor} (Go reads traces of Go 1.11 and newer)"
        ))),
        Header::Version(minor) => Err(bad(&format!("unknown or unsupported trace version go 1.{minor}"))),
    }
}

/// One batch, payload borrowed from the input.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    pub m: u64,
    pub time: u64,
    pub data: &'a [u8],
    pub exp: u8,
    /// Offset of the payload in the input, for error messages.
    pub offset: usize,
}

pub enum ReadBatch<'a> {
    Eof,
    EndOfGeneration,
    Batch { gen: u64, batch: Batch<'a> },
}

/// Reads one batch header and payload.
pub fn read_batch<'a>(c: &mut Cursor<'a>) -> Result<ReadBatch<'a>, TraceError> {
    let start = c.pos;
    let Some(typ) = c.byte() else { return Ok(ReadBatch::Eof) };
    if typ == ev::END_OF_GENERATION {
        return Ok(ReadBatch::EndOfGeneration);
    }
    if typ != ev::EVENT_BATCH && typ != ev::EXPERIMENTAL_BATCH {
        return Err(TraceError::at(format!("expected batch event, got event {typ}"), start, None));
    }
    let mut exp = 0;
    if typ == ev::EXPERIMENTAL_BATCH {
        // Go returns this read's bare io.EOF, which its callers take for the
        // end of the trace, not for a truncated batch.
        let Some(e) = c.byte() else { return Ok(ReadBatch::Eof) };
        exp = e;
    }
    let field = |c: &mut Cursor<'a>, what: &str, gen: Option<u64>| {
        let at = c.pos;
        c.uvarint().map_err(|e| {
            let why = match e {
                VarintError::Eof => "unexpected EOF",
                VarintError::Overflow => "varint overflows a 64-bit integer",
            };
            TraceError::at(format!("error reading batch {what}: {why}"), at, gen)
        })
    };
    let gen = field(c, "gen", None)?;
    let m = field(c, "M ID", Some(gen))?;
    let time = field(c, "timestamp", Some(gen))?;
    let size = field(c, "size", Some(gen))?;
    if size > MAX_BATCH_SIZE {
        return Err(TraceError::at(
            format!("invalid batch size {size}, maximum is {MAX_BATCH_SIZE}"),
            start,
            Some(gen),
        ));
    }
    let offset = c.pos;
    let Some(data) = c.take(size as usize) else {
        return Err(TraceError::at(
            format!("failed to read full batch: read {} but wanted {size}", c.remaining()),
            offset,
            Some(gen),
        ));
    };
    Ok(ReadBatch::Batch { gen, batch: Batch { m, time, data, exp, offset } })
}

/// A table keyed by Go's per-generation IDs. ID 0 always exists and means
/// "none", so inserting it is a duplicate, as in Go.
pub struct IdTable<T: Copy> {
    dense: Vec<Option<T>>,
    /// Entries in `dense`.
    dense_len: usize,
    sparse: FxHashMap<u64, T>,
}

impl<T: Copy> Default for IdTable<T> {
    fn default() -> Self {
        IdTable { dense: Vec::new(), dense_len: 0, sparse: FxHashMap::default() }
    }
}

impl<T: Copy> IdTable<T> {
    const DENSE_LIMIT: u64 = 1 << 16;

    /// Returns false if the ID exists already.
    pub fn insert(&mut self, id: u64, v: T) -> bool {
        if id == 0 || self.get(id).is_some() {
            return false;
        }
        // Dense while IDs stay small and the vector is at least half full: its
        // size stays within twice the entries (plus a fixed 64K), whatever IDs
        // the input claims. (Bounding it by its own length instead let each new
        // ID double it: a few dozen bytes of input asked for gigabytes.)
        if id < Self::DENSE_LIMIT || id < 2 * (self.dense_len as u64 + 1) {
            let i = id as usize;
            if i >= self.dense.len() {
                self.dense.resize(i + 1, None);
            }
            self.dense[i] = Some(v);
            self.dense_len += 1;
        } else {
            self.sparse.insert(id, v);
        }
        true
    }

    #[inline]
    pub fn get(&self, id: u64) -> Option<T> {
        // A hole in `dense` may be an ID that went to `sparse` before `dense`
        // grew past it.
        if let Some(Some(v)) = usize::try_from(id).ok().and_then(|i| self.dense.get(i)) {
            return Some(*v);
        }
        if self.sparse.is_empty() {
            None
        } else {
            self.sparse.get(&id).copied()
        }
    }

    /// Like Go's dataTable.get: ID 0 is always present.
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        id == 0 || self.get(id).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, T)> + '_ {
        let d = self.dense.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as u64, v)));
        d.chain(self.sparse.iter().map(|(k, v)| (*k, *v)))
    }
}

/// A frame as the stack table gives it (string IDs are global).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    pub pc: u64,
    pub func: u32,
    pub file: u32,
    pub line: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct CpuSample {
    pub time: i64,
    pub m: u64,
    pub p: u64,
    pub g: u64,
    pub stack: u64,
    /// Byte offset of the sample in the input.
    pub at: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct ClockSnapshot {
    pub trace: i64,
    pub mono: u64,
    pub sec: u64,
    pub nsec: u64,
}

/// Everything one generation holds, ready for the ordering stage.
pub struct Generation<'a> {
    pub gen: u64,
    /// Event batches per M, Ms in the order their first batch appeared.
    pub batches: Vec<(u64, Vec<Batch<'a>>)>,
    pub cpu_samples: Vec<CpuSample>,
    pub min_ts: u64,
    pub freq: Frequency,
    has_freq: bool,
    pub clock: Option<ClockSnapshot>,
    /// wire string ID -> global string ID.
    pub strings: IdTable<u32>,
    /// wire stack ID -> range in `stack_pcs`.
    pub stacks: IdTable<(u32, u32)>,
    pub stack_pcs: Vec<u64>,
    /// PC -> first frame seen in this generation (wire string IDs until `finish`).
    pub pcs: FxHashMap<u64, Frame>,
    /// Frames whose func or file wire string ID does not fit in a u32:
    /// (pc, func, file), resolved by `finish`.
    wide_frames: Vec<(u64, u64, u64)>,
    /// (experiment, thread, data), in the order read.
    pub exp_batches: Vec<(u8, u64, &'a [u8])>,
    /// wire stack ID -> global stack ID, filled lazily by the builder.
    pub stack_cache: IdTable<i32>,
    m_index: FxHashMap<u64, usize>,
}

impl<'a> Generation<'a> {
    pub(crate) fn new() -> Self {
        Generation {
            gen: 0,
            batches: Vec::new(),
            cpu_samples: Vec::new(),
            min_ts: 0,
            freq: Frequency(0.0),
            has_freq: false,
            clock: None,
            strings: IdTable::default(),
            stacks: IdTable::default(),
            stack_pcs: Vec::new(),
            pcs: FxHashMap::default(),
            wide_frames: Vec::new(),
            exp_batches: Vec::new(),
            stack_cache: IdTable::default(),
            m_index: FxHashMap::default(),
        }
    }

    /// Frames of a wire stack (leaf first), or None if the ID is unknown.
    pub fn stack_frames(&self, id: u64) -> Option<impl Iterator<Item = Frame> + '_> {
        let (a, b) = self.stacks.get(id)?;
        Some(self.stack_pcs[a as usize..b as usize].iter().map(|pc| self.pcs[pc]))
    }

    fn note_batch_time(&mut self, t: u64) {
        if self.min_ts == 0 || t < self.min_ts {
            self.min_ts = t;
        }
    }

    fn process(&mut self, b: Batch<'a>, version: u32, strings: &mut Interner) -> Result<(), TraceError> {
        let first = if b.exp == 0 { b.data.first().copied() } else { None };
        match first {
            Some(ev::STRINGS) => self.add_strings(b, strings),
            Some(ev::STACKS) => self.add_stacks(b),
            Some(ev::CPU_SAMPLES) => self.add_cpu_samples(b),
            Some(ev::FREQUENCY) if version < 25 => self.set_sync(b, version),
            Some(ev::SYNC) if version >= 25 => self.set_sync(b, version),
            Some(ev::END_OF_GENERATION) => {
                // Go says "internal error: unexpectedly processing EndOfGeneration":
                // it is the input that is broken, not the parser.
                Err(self.err("unexpected EndOfGeneration event inside a batch; broken trace?", b.offset))
            }
            _ if b.exp != 0 => {
                self.exp_batches.push((b.exp, b.m, b.data));
                Ok(())
            }
            _ => {
                let idx = match self.m_index.get(&b.m) {
                    Some(&i) => i,
                    None => {
                        self.batches.push((b.m, Vec::new()));
                        self.m_index.insert(b.m, self.batches.len() - 1);
                        self.batches.len() - 1
                    }
                };
                self.batches[idx].1.push(b);
                Ok(())
            }
        }
    }

    fn err(&self, msg: impl Into<String>, offset: usize) -> TraceError {
        TraceError::at(msg.into(), offset, Some(self.gen))
    }

    /// Reads a varint of a table entry. A batch that ends right where one
    /// should start is what Go's parser takes for the end of the trace (its
    /// binary.ReadUvarint returns a bare io.EOF there, which Go's readers take
    /// for the end of input): that error says so (BATCH_ENDS_BEFORE).
    fn read_uv(&self, c: &mut Cursor<'a>, what: &str) -> Result<u64, TraceError> {
        let at = c.pos;
        if c.is_empty() {
            return Err(self.err(format!("{BATCH_ENDS_BEFORE} {what}"), at));
        }
        c.uvarint().map_err(|_| self.err(format!("invalid or truncated varint reading {what}"), at))
    }

    fn add_strings(&mut self, b: Batch<'a>, interner: &mut Interner) -> Result<(), TraceError> {
        let mut c = Cursor::new(b.data, 1);
        let off = |c: &Cursor| b.offset + c.pos;
        while !c.is_empty() {
            let at = off(&c);
            let e = c.byte().unwrap_or(0);
            if e != ev::STRING {
                return Err(self.err(format!("expected string event, got {e}"), at));
            }
            let id = self.read_uv(&mut c, "string ID").map_err(|e| e.shift(b.offset))?;
            let len = self.read_uv(&mut c, "string length").map_err(|e| e.shift(b.offset))?;
            if len > MAX_STRING_SIZE {
                return Err(self.err(format!("invalid string size {len}, maximum is {MAX_STRING_SIZE}"), off(&c)));
            }
            let Some(bytes) = c.take(len as usize) else {
                return Err(
                    self.err(format!("failed to read full string: read {} but wanted {len}", c.remaining()), off(&c))
                );
            };
            let gid = interner.intern(bytes);
            if !self.strings.insert(id, gid) {
                return Err(self.err(format!("multiple strings with the same ID: id={id}"), at));
            }
        }
        Ok(())
    }

    fn add_stacks(&mut self, b: Batch<'a>) -> Result<(), TraceError> {
        let mut c = Cursor::new(b.data, 1);
        while !c.is_empty() {
            let at = b.offset + c.pos;
            let e = c.byte().unwrap_or(0);
            if e != ev::STACK {
                return Err(self.err(format!("expected stack event, got {e}"), at));
            }
            let id = self.read_uv(&mut c, "stack ID").map_err(|e| e.shift(b.offset))?;
            let n = self.read_uv(&mut c, "stack frame count").map_err(|e| e.shift(b.offset))?;
            if n > MAX_FRAMES_PER_STACK {
                return Err(self.err(format!("invalid stack size {n}, maximum is {MAX_FRAMES_PER_STACK}"), at));
            }
            let start = self.stack_pcs.len() as u32;
            for i in 0..n {
                let mut v = [0u64; 4];
                for (k, what) in ["PC", "funcID", "fileID", "line"].iter().enumerate() {
                    // Go wraps these errors: a missing frame is an error, not an end.
                    let at = b.offset + c.pos;
                    v[k] = c.uvarint().map_err(|_| {
                        self.err(
                            format!("invalid or truncated varint reading frame {}'s {what} for stack {id}", i + 1),
                            at,
                        )
                    })?;
                }
                self.stack_pcs.push(v[0]);
                // The first frame seen for a PC wins, as in Go. Func/file stay
                // wire IDs here; `finish` resolves them once the whole string
                // table is known. Wire IDs are 64-bit: the rare wide ones wait
                // in `wide_frames`.
                if let std::collections::hash_map::Entry::Vacant(slot) = self.pcs.entry(v[0]) {
                    let (func, file) = (u32::try_from(v[1]), u32::try_from(v[2]));
                    if func.is_err() || file.is_err() {
                        self.wide_frames.push((v[0], v[1], v[2]));
                    }
                    slot.insert(Frame { pc: v[0], func: func.unwrap_or(0), file: file.unwrap_or(0), line: v[3] });
                }
            }
            let end = self.stack_pcs.len() as u32;
            if !self.stacks.insert(id, (start, end)) {
                return Err(self.err(format!("multiple trace.stacks with the same ID: id={id}"), at));
            }
        }
        Ok(())
    }

    fn add_cpu_samples(&mut self, b: Batch<'a>) -> Result<(), TraceError> {
        let mut c = Cursor::new(b.data, 1);
        while !c.is_empty() {
            let at = b.offset + c.pos;
            let e = c.byte().unwrap_or(0);
            if e != ev::CPU_SAMPLE {
                return Err(self.err(format!("expected CPU sample event, got {e}"), at));
            }
            let mut v = [0u64; 5];
            for x in v.iter_mut() {
                *x = self.read_uv(&mut c, "CPU sample").map_err(|e| e.shift(b.offset))?;
            }
            self.cpu_samples.push(CpuSample { time: v[0] as i64, m: v[1], p: v[2], g: v[3], stack: v[4], at });
        }
        Ok(())
    }

    fn set_sync(&mut self, b: Batch<'a>, version: u32) -> Result<(), TraceError> {
        let mut c = Cursor::new(b.data, if version >= 25 { 1 } else { 0 });
        let mut last = b.time;
        while !c.is_empty() {
            let at = b.offset + c.pos;
            let e = c.byte().unwrap_or(0);
            match e {
                ev::FREQUENCY => {
                    if self.has_freq {
                        return Err(self.err("found multiple frequency events", at));
                    }
                    let f = self.read_uv(&mut c, "frequency").map_err(|e| e.shift(b.offset))?;
                    self.freq = Frequency(1.0 / (f as f64 / 1e9));
                    self.has_freq = true;
                }
                ev::CLOCK_SNAPSHOT if version >= 25 => {
                    if self.clock.is_some() {
                        return Err(self.err("found multiple clock snapshot events", at));
                    }
                    let mut v = [0u64; 4];
                    for x in v.iter_mut() {
                        *x = self.read_uv(&mut c, "clock snapshot").map_err(|e| e.shift(b.offset))?;
                    }
                    last = last.wrapping_add(v[0]);
                    // Converted to ns once the frequency is known (finish).
                    self.clock = Some(ClockSnapshot { trace: last as i64, mono: v[1], sec: v[2], nsec: v[3] });
                }
                _ => {
                    return Err(self.err(format!("expected frequency or clock snapshot event, got {e}"), at));
                }
            }
        }
        Ok(())
    }

    /// Checks the generation is whole and resolves what needed all of it.
    fn finish(&mut self, version: u32, end_offset: usize) -> Result<(), TraceError> {
        if !self.has_freq {
            return Err(self.err("no frequency event found", end_offset));
        }
        if version >= 25 && self.clock.is_none() {
            return Err(self.err("no clock snapshot event found", end_offset));
        }
        // Resolve frame strings to global IDs; reject unknown ones as Go does.
        let strings = &self.strings;
        let mut bad: Option<String> = None;
        for f in self.pcs.values_mut() {
            let func = if f.func == 0 { Some(crate::intern::EMPTY) } else { strings.get(u64::from(f.func)) };
            let file = if f.file == 0 { Some(crate::intern::EMPTY) } else { strings.get(u64::from(f.file)) };
            match (func, file) {
                (Some(a), Some(b)) => {
                    f.func = a;
                    f.file = b;
                }
                (None, _) => {
                    bad.get_or_insert(format!("found invalid func string ID {} for a stack frame", f.func));
                }
                (_, None) => {
                    bad.get_or_insert(format!("found invalid file string ID {} for a stack frame", f.file));
                }
            }
        }
        for &(pc, func, file) in &self.wide_frames {
            let lookup = |id: u64| if id == 0 { Some(crate::intern::EMPTY) } else { strings.get(id) };
            match (lookup(func), lookup(file)) {
                (Some(a), Some(b)) => {
                    if let Some(f) = self.pcs.get_mut(&pc) {
                        f.func = a;
                        f.file = b;
                    }
                }
                (None, _) => {
                    bad.get_or_insert(format!("found invalid func string ID {func} for a stack frame"));
                }
                (_, None) => {
                    bad.get_or_insert(format!("found invalid file string ID {file} for a stack frame"));
                }
            }
        }
        if let Some(msg) = bad {
            return Err(self.err(msg, end_offset));
        }
        if let Some(cs) = &mut self.clock {
            cs.trace = self.freq.ticks_to_ns(cs.trace as u64);
        }
        for s in &mut self.cpu_samples {
            s.time = self.freq.ticks_to_ns(s.time as u64);
        }
        // Go's slices.SortFunc, not a stable sort: equal times keep Go's order.
        crate::pdqsort::sort_by_time(&mut self.cpu_samples, |s| s.time);
        Ok(())
    }
}

/// Reads generations one after another, with both of Go's framings:
/// 1.26+ ends each generation with an EndOfGeneration byte; older versions
/// notice the next generation by reading its first batch ("spill").
pub struct GenReader<'a> {
    pub c: Cursor<'a>,
    version: u32,
    /// The next generation's first batch, and where its header starts.
    spill: Option<(u64, Batch<'a>, usize)>,
    pub spill_err: Option<TraceError>,
}

pub enum NextGen<'a> {
    Gen(Box<Generation<'a>>),
    Done,
}

impl<'a> GenReader<'a> {
    pub fn new(data: &'a [u8], version: u32) -> Self {
        GenReader { c: Cursor::new(data, 16), version, spill: None, spill_err: None }
    }

    /// Offset where the next generation starts (the spilled batch counts as read).
    pub fn offset(&self) -> usize {
        match &self.spill {
            Some((_, _, at)) => *at,
            None => self.c.pos,
        }
    }

    pub fn has_spill(&self) -> bool {
        self.spill.is_some()
    }

    pub fn read(&mut self, strings: &mut Interner) -> Result<NextGen<'a>, TraceError> {
        if self.version >= 26 {
            self.read_framed(strings)
        } else {
            self.read_spill(strings)
        }
    }

    fn read_framed(&mut self, strings: &mut Interner) -> Result<NextGen<'a>, TraceError> {
        let mut g = Generation::new();
        let mut first = true;
        loop {
            let at = self.c.pos;
            let known = if first { None } else { Some(g.gen) };
            let rb = read_batch(&mut self.c).map_err(|e| e.with_gen(known))?;
            match rb {
                ReadBatch::Eof => {
                    // Go looks only at event batches here: a tail of nothing but
                    // string/stack batches ends the trace quietly.
                    if !g.batches.is_empty() {
                        return Err(TraceError::at(
                            "incomplete generation found; trace likely truncated".to_string(),
                            at,
                            Some(g.gen),
                        ));
                    }
                    return Ok(NextGen::Done);
                }
                ReadBatch::EndOfGeneration => {
                    break;
                }
                ReadBatch::Batch { gen, batch } => {
                    if first {
                        g.gen = gen;
                        first = false;
                    }
                    // Go checks isEndOfGeneration on every batch it reads: a
                    // batch whose payload starts with the marker ends it too.
                    if batch.exp == 0 && batch.data.first() == Some(&ev::END_OF_GENERATION) {
                        break;
                    }
                    if gen == 0 {
                        return Err(TraceError::at("invalid generation number 0".to_string(), at, Some(0)));
                    }
                    if gen != g.gen {
                        return Err(TraceError::at(
                            "broken trace: missing end-of-generation event, or generations are interleaved",
                            at,
                            Some(gen),
                        ));
                    }
                    g.note_batch_time(batch.time);
                    g.process(batch, self.version, strings)?;
                }
            }
        }
        g.finish(self.version, self.c.pos)?;
        Ok(NextGen::Gen(Box::new(g)))
    }

    fn read_spill(&mut self, strings: &mut Interner) -> Result<NextGen<'a>, TraceError> {
        let mut g = Generation::new();
        if let Some((gen, b, _)) = self.spill.take() {
            g.gen = gen;
            g.min_ts = b.time;
            g.process(b, self.version, strings)?;
        }
        loop {
            let at = self.c.pos;
            match read_batch(&mut self.c) {
                Ok(ReadBatch::Eof) => break,
                Ok(ReadBatch::EndOfGeneration) => {
                    // Go reads it as a batch of generation 0.
                    return Err(TraceError::at("invalid generation number 0".to_string(), at, Some(0)));
                }
                Err(e) => {
                    if g.gen != 0 {
                        self.spill_err = Some(e.with_gen(Some(g.gen)));
                        break;
                    }
                    return Err(e);
                }
                Ok(ReadBatch::Batch { gen, batch }) => {
                    if gen == 0 {
                        return Err(TraceError::at("invalid generation number 0".to_string(), at, Some(0)));
                    }
                    if g.gen == 0 {
                        g.gen = gen;
                    }
                    if gen == g.gen.wrapping_add(1) {
                        self.spill = Some((gen, batch, at));
                        break;
                    }
                    if gen != g.gen {
                        return Err(TraceError::at("generations out of order", at, Some(gen)));
                    }
                    g.note_batch_time(batch.time);
                    g.process(batch, self.version, strings)?;
                }
            }
        }
        let end = self.offset();
        g.finish(self.version, end)?;
        Ok(NextGen::Gen(Box::new(g)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_varints_are_accepted() {
        // The runtime pads batch sizes to 10 bytes: nine continuation bytes.
        let b = [0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert_eq!(uvarint(&b), Some((5, 10)));
        assert_eq!(Cursor::new(&b, 0).uvarint(), Ok(5));
    }

    #[test]
    fn overlong_varints_are_rejected() {
        let b = [0xff; 11];
        assert_eq!(uvarint(&b), None);
        assert_eq!(Cursor::new(&b, 0).uvarint(), Err(VarintError::Overflow));
        assert_eq!(Cursor::new(&[0x80], 0).uvarint(), Err(VarintError::Eof));
    }

    #[test]
    fn float_conversion_matches_amd64() {
        assert_eq!(f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(f64_to_i64(1e300), i64::MIN);
        assert_eq!(f64_to_i64(-1.5), -1);
        assert_eq!(Frequency(64.0).ticks_to_ns(3), 192);
    }

    #[test]
    fn id_table_memory_follows_entries_not_ids() {
        // Each ID doubles the last: a dense table would double every time.
        let mut t = IdTable::default();
        for k in 16..64 {
            assert!(t.insert((1u64 << k) - 1, k));
        }
        assert!(t.dense.len() <= 1 << 16);
        for k in 16..64 {
            assert_eq!(t.get((1u64 << k) - 1), Some(k));
        }
        // Many small IDs still go dense.
        let mut t = IdTable::default();
        for id in 1..200_000u64 {
            assert!(t.insert(id, id));
        }
        assert!(t.sparse.is_empty());
        assert_eq!(t.get(199_999), Some(199_999));
        // An ID that went sparse stays visible (and a duplicate) once the dense
        // part grows past it.
        let mut t = IdTable::default();
        assert!(t.insert(100_000, 1));
        for id in 1..100_000u64 {
            assert!(t.insert(id, 0));
        }
        assert!(t.insert(150_000, 2));
        assert_eq!(t.get(100_000), Some(1));
        assert!(!t.insert(100_000, 3));
    }

    #[test]
    fn id_table_treats_zero_as_present() {
        let mut t = IdTable::default();
        assert!(t.contains(0));
        assert!(!t.insert(0, 1u32));
        assert!(t.insert(1 << 40, 7));
        assert_eq!(t.get(1 << 40), Some(7));
        assert!(!t.insert(1 << 40, 8));
    }
}
