//! The raw wire events, as Go's `internal/trace/raw` reader sees them.
//!
//! Events are read linearly from the bytes after the header with no checking
//! beyond the encoding: each is its type byte, its arguments (spec.rs's table),
//! for a Stack its frames (four arguments each) and for the events with data
//! (String, ExperimentalBatch) a length-prefixed byte string. This is what
//! `go tool trace -d=wire` and `-d=footprint` print; error messages are Go's.

use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, ListBuilder, UInt64Builder, UInt8Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};

use crate::spec::{ev, SPECS};
use crate::wire::{self, Cursor, VarintError};
use crate::TraceError;

/// Number of spec table entries a format version knows (`version.Specs()`):
/// each version's table is a prefix of the newest one.
pub fn num_specs(version: u32) -> usize {
    match version {
        11 | 19 | 21 => 0,
        22 => usize::from(ev::USER_LOG) + 1,
        23 => usize::from(ev::EXPERIMENTAL_BATCH) + 1,
        25 => usize::from(ev::END_OF_GENERATION),
        _ => SPECS.len(),
    }
}

/// Whether events of type `t` carry stack frames after their arguments.
pub fn is_stack(t: u8) -> bool {
    t == ev::STACK
}

/// Whether events of type `t` end in a length-prefixed byte string.
pub fn has_data(t: u8) -> bool {
    t == ev::STRING || t == ev::EXPERIMENTAL_BATCH
}

/// Bytes of the minimal varint encoding of `v` (Go's `binary.PutUvarint`).
fn uvarint_len(v: u64) -> u64 {
    u64::from((64 - v.leading_zeros()).max(1).div_ceil(7))
}

/// Raw events of a trace, one row each: `type` (u8), `offset` (of the
/// type byte), `size` (Go's `EncodedSize`: the minimal encoding, which is what
/// footprint counts), `args` (frames flattened in for stacks) and `data`
/// (null for events without).
pub struct RawEvents {
    pub version: u32,
    pub num_specs: usize,
    pub events: RecordBatch,
    /// Where Go's reader fails, after the events before it (message as Go's).
    pub error: Option<TraceError>,
    /// Offset of the next event to read: None at the end or after an error.
    pub next: Option<usize>,
}

/// The format version, or Go's header error (`version.ReadHeader`): Go's raw
/// reader takes the v1 versions (1.11, 1.19, 1.21) as valid, with an empty
/// event table, and says one of two things about the rest.
fn header(data: &[u8]) -> Result<u32, TraceError> {
    let message = match wire::scan_header(data) {
        wire::Header::Version(v @ (11 | 19 | 21 | 22 | 23 | 25 | 26)) => return Ok(v),
        wire::Header::Version(v) => format!("unknown or unsupported trace version go 1.{v}"),
        _ => "bad file format: not a Go execution trace?".to_owned(),
    };
    Err(TraceError::at(message, 0, None))
}

struct Builders {
    typ: UInt8Builder,
    offset: UInt64Builder,
    size: UInt64Builder,
    args: ListBuilder<UInt64Builder>,
    data: BinaryBuilder,
}

impl Builders {
    fn finish(mut self) -> Result<RecordBatch, ArrowError> {
        let item = Field::new("item", DataType::UInt64, false);
        let schema = Schema::new(vec![
            Field::new("type", DataType::UInt8, false),
            Field::new("offset", DataType::UInt64, false),
            Field::new("size", DataType::UInt64, false),
            Field::new("args", DataType::List(Arc::new(item.clone())), false),
            Field::new("data", DataType::Binary, true),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.typ.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.size.finish()),
            Arc::new(self.args.with_field(Arc::new(item)).finish()),
            Arc::new(self.data.finish()),
        ];
        RecordBatch::try_new(Arc::new(schema), columns)
    }
}

/// Reads one varint argument as `binary.ReadUvarint` does.
fn arg(c: &mut Cursor<'_>) -> Result<u64, &'static str> {
    let empty = c.is_empty();
    c.uvarint().map_err(|e| match e {
        VarintError::Eof if empty => "EOF",
        VarintError::Eof => "unexpected EOF",
        VarintError::Overflow => "binary: varint overflows a 64-bit integer",
    })
}

/// Reads up to `max_events` raw events of `data` (a whole trace, header
/// included) from offset `from` (0 or a previous `next`), so that a caller
/// can go through a large trace in bounded memory.
///
/// Errs only for a bad header; a failure later is `RawEvents::error`, with
/// the events before it. Memory grows with the events actually read: no
/// length or frame count is trusted before its bytes are there.
pub fn read(data: &[u8], from: usize, max_events: usize) -> Result<RawEvents, TraceError> {
    let version = header(data)?;
    let specs = num_specs(version);
    let mut b = Builders {
        typ: UInt8Builder::new(),
        offset: UInt64Builder::new(),
        size: UInt64Builder::new(),
        args: ListBuilder::new(UInt64Builder::new()),
        data: BinaryBuilder::new(),
    };
    let mut c = Cursor::new(data, from.max(16));
    let mut error = None;
    let mut n = 0;
    while !c.is_empty() && n < max_events {
        let start = c.pos;
        if let Err(message) = read_event(&mut c, specs, &mut b) {
            error = Some(TraceError::at(message, start, None));
            break;
        }
        n += 1;
    }
    let next = (error.is_none() && !c.is_empty()).then_some(c.pos);
    let events = b.finish().map_err(|e| TraceError::at(format!("internal error: {e}"), c.pos, None))?;
    Ok(RawEvents { version, num_specs: specs, events, error, next })
}

/// Appends one event to `b` (nothing of it if it is malformed).
fn read_event(c: &mut Cursor<'_>, specs: usize, b: &mut Builders) -> Result<(), String> {
    let start = c.pos;
    let t = c.byte().ok_or("EOF")?;
    if t == 0 || usize::from(t) >= specs {
        return Err(format!("invalid event type: {t}"));
    }
    let spec = &SPECS[usize::from(t)];
    let mut args = Vec::with_capacity(spec.args.len());
    for _ in spec.args {
        args.push(arg(c)?);
    }
    if is_stack(t) {
        // Each frame is pc, func ID, file ID, line; the count is untrusted, so
        // the frames grow only as their bytes are read.
        let mut frames = args[1].saturating_mul(4);
        while frames > 0 {
            args.push(arg(c)?);
            frames -= 1;
        }
    }
    let mut size = 1 + args.iter().map(|&a| uvarint_len(a)).sum::<u64>();
    let payload = if has_data(t) {
        let n = arg(c)?;
        // Go reads byte by byte to the end of the input and fails there.
        let bytes = usize::try_from(n).ok().and_then(|n| c.take(n)).ok_or("EOF")?;
        size += uvarint_len(n) + n;
        Some(bytes)
    } else {
        None
    };
    b.typ.append_value(t);
    b.offset.append_value(start as u64);
    b.size.append_value(size);
    b.args.values().append_slice(&args);
    b.args.append(true);
    b.data.append_option(payload);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt8Type;

    fn trace(body: &[u8]) -> Vec<u8> {
        let mut v = b"go 1.26 trace\0\0\0".to_vec();
        v.extend_from_slice(body);
        v
    }

    fn types(r: &RawEvents) -> Vec<u8> {
        r.events.column(0).as_primitive::<UInt8Type>().values().to_vec()
    }

    fn failure(body: &[u8]) -> (Vec<u8>, String, Option<u64>) {
        let r = read(&trace(body), 0, usize::MAX).expect("header is good");
        let e = r.error.as_ref().expect("an error");
        (types(&r), e.message.clone(), e.offset)
    }

    #[test]
    fn reads_events_with_stacks_and_data() {
        // Frequency 15625000; Stack id 1 with one frame; String id 2 "hi".
        let r = read(&trace(&[8, 0xc8, 0xd8, 0xb9, 0x07, 3, 1, 1, 10, 20, 30, 40, 5, 2, 2, b'h', b'i']), 0, usize::MAX)
            .unwrap();
        assert!(r.error.is_none());
        assert_eq!(types(&r), [8, 3, 5]);
        let args = r.events.column(3).as_list::<i32>();
        assert_eq!(
            args.value(1).as_primitive::<arrow_array::types::UInt64Type>().values().to_vec(),
            [1, 1, 10, 20, 30, 40]
        );
        assert_eq!(r.events.column(4).as_binary::<i32>().value(2), b"hi");
        assert!(r.events.column(4).is_null(0));
    }

    #[test]
    fn reads_in_pieces() {
        let data = trace(&[11, 1, 11, 2, 11, 3]);
        let first = read(&data, 0, 2).unwrap();
        assert_eq!((types(&first), first.next), (vec![11, 11], Some(20)));
        let rest = read(&data, 20, 2).unwrap();
        assert_eq!((types(&rest), rest.next, rest.error.is_none()), (vec![11], None, true));
    }

    #[test]
    fn truncated_event() {
        // A ProcStop, then a ProcStart (dt, p, p_seq) missing p_seq: Go says EOF.
        assert_eq!(failure(&[11, 5, 10, 1, 2]), (vec![11], "EOF".to_owned(), Some(18)));
        // Cut inside a varint.
        assert_eq!(failure(&[10, 1, 0x80]).1, "unexpected EOF");
        // A stack claiming more frames than there are bytes.
        assert_eq!(failure(&[3, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]).1, "EOF");
    }

    #[test]
    fn unknown_type() {
        assert_eq!(failure(&[0]), (vec![], "invalid event type: 0".to_owned(), Some(16)));
        assert_eq!(failure(&[11, 1, 200]).1, "invalid event type: 200");
        // AllocFree events are not in the Go 1.23 table.
        let mut old = b"go 1.23 trace\0\0\0".to_vec();
        old.extend_from_slice(&[132, 1, 1, 1]);
        assert_eq!(read(&old, 0, usize::MAX).unwrap().error.unwrap().message, "invalid event type: 132");
    }

    #[test]
    fn huge_length_allocates_nothing() {
        // A String claiming u64::MAX - 1 bytes, and a varint overflowing 64 bits.
        let mut huge = vec![5, 1];
        huge.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(failure(&huge), (vec![], "EOF".to_owned(), Some(16)));
        let over = [11, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(failure(&over).1, "binary: varint overflows a 64-bit integer");
    }

    #[test]
    fn header_errors_are_gos() {
        let msg = |d: &[u8]| read(d, 0, 1).err().map(|e| e.message);
        assert_eq!(msg(b"not a trace at all").as_deref(), Some("bad file format: not a Go execution trace?"));
        // A v1 header is valid, but no event type is.
        let v1 = read(b"go 1.21 trace\0\0\0\x05", 0, 1).unwrap();
        assert_eq!((v1.num_specs, v1.error.unwrap().message.as_str()), (0, "invalid event type: 5"));
        assert_eq!(msg(b"go 1.30 trace\0\0\0").as_deref(), Some("unknown or unsupported trace version go 1.30"));
        assert_eq!(msg(b"go 1.7 trace\0\0\0\0").as_deref(), Some("unknown or unsupported trace version go 1.7"));
    }

    #[test]
    fn encoded_size_is_minimal() {
        // A padded varint (0x81 0x00 = 1) counts as its one-byte encoding.
        let r = read(&trace(&[11, 0x81, 0x00]), 0, usize::MAX).unwrap();
        let size = r.events.column(2).as_primitive::<arrow_array::types::UInt64Type>();
        assert_eq!(size.value(0), 2);
        assert_eq!((uvarint_len(0), uvarint_len(127), uvarint_len(128), uvarint_len(u64::MAX)), (1, 1, 2, 10));
    }
}
