//! Reading the events table back (any record batches with its schema, e.g.
//! handed over from pyarrow) for the sequential view passes (`profile`, `mmu`).
//!
//! Strings are decoded by value, never by dictionary position, so a table that
//! went through Parquet or pandas works too. Each view classifies the strings
//! it cares about once per batch dictionary (a small lookup table), not once
//! per event, and only the columns a view asks for are read.

use crate::take::{ints, Ints};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, DictionaryArray, Int32Array, PrimitiveArray, RecordBatch};
use arrow_buffer::ArrowNativeType;
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;
use arrow_schema::{Field, Schema};
use std::sync::Arc;

/// `trace.EventKind`, by name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Other,
    Sync,
    Metric,
    Label,
    RangeBegin,
    RangeActive,
    RangeEnd,
    RegionBegin,
    RegionEnd,
    StateTransition,
}

const KINDS: [Kind; 10] = [
    Kind::Other,
    Kind::Sync,
    Kind::Metric,
    Kind::Label,
    Kind::RangeBegin,
    Kind::RangeActive,
    Kind::RangeEnd,
    Kind::RegionBegin,
    Kind::RegionEnd,
    Kind::StateTransition,
];

fn kind_of(s: &str) -> u8 {
    let k = match s {
        "Sync" => Kind::Sync,
        "Metric" => Kind::Metric,
        "Label" => Kind::Label,
        "RangeBegin" => Kind::RangeBegin,
        "RangeActive" => Kind::RangeActive,
        "RangeEnd" => Kind::RangeEnd,
        "RegionBegin" => Kind::RegionBegin,
        "RegionEnd" => Kind::RegionEnd,
        "StateTransition" => Kind::StateTransition,
        _ => Kind::Other,
    };
    KINDS.iter().position(|&x| x == k).unwrap_or(0) as u8
}

/// Resource kinds.
pub const RES_NONE: u8 = 0;
pub const RES_GOROUTINE: u8 = 1;
pub const RES_PROC: u8 = 2;

fn resource_of(s: &str) -> u8 {
    match s {
        "Goroutine" => RES_GOROUTINE,
        "Proc" => RES_PROC,
        "Thread" => 3,
        _ => RES_NONE,
    }
}

/// Goroutine (and proc) states, Go's GoState numbering.
pub mod st {
    pub const UNDETERMINED: u8 = 0;
    pub const NOT_EXIST: u8 = 1;
    pub const RUNNABLE: u8 = 2;
    pub const RUNNING: u8 = 3;
    pub const WAITING: u8 = 4;
    pub const SYSCALL: u8 = 5;
    pub const IDLE: u8 = 6;
    /// GoState.Executing: Running or Syscall.
    pub fn executing(s: u8) -> bool {
        s == RUNNING || s == SYSCALL
    }
}

fn state_of(s: &str) -> u8 {
    match s {
        "NotExist" => st::NOT_EXIST,
        "Runnable" => st::RUNNABLE,
        "Running" => st::RUNNING,
        "Waiting" => st::WAITING,
        "Syscall" => st::SYSCALL,
        "Idle" => st::IDLE,
        _ => st::UNDETERMINED,
    }
}

/// One event, as the views need it. IDs are -1 where Go says "none"; columns
/// a view did not ask for read as -1 / 0.
#[derive(Clone, Copy, Debug)]
pub struct Ev {
    pub ts: i64,
    pub kind: Kind,
    pub g: i64,
    pub p: i64,
    pub resource: u8,
    pub resource_id: i64,
    pub from: u8,
    pub to: u8,
    /// Class the view gave the reason string (see [`Classes`]).
    pub reason: u8,
    /// Class the view gave the name string.
    pub name: u8,
    pub stack: i32,
    pub tstack: i32,
    pub value: i64,
}

/// How a view classifies the strings of the `reason` and `name` columns.
pub trait Classes {
    fn reason(&self, s: &str) -> u8;
    fn name(&self, s: &str) -> u8;
}

/// Columns a view reads (bit set); `ts` and `kind` are always read.
pub mod cols {
    pub const G: u32 = 1;
    pub const P: u32 = 2;
    pub const RESOURCE: u32 = 4;
    pub const RESOURCE_ID: u32 = 8;
    pub const FROM: u32 = 16;
    pub const TO: u32 = 32;
    pub const REASON: u32 = 64;
    pub const NAME: u32 = 128;
    pub const STACK: u32 = 256;
    pub const TSTACK: u32 = 512;
    pub const VALUE: u32 = 1024;
}

/// An integer column of one batch, read in place; nulls (and an absent or
/// unwanted column) read as -1, every ID column's "none".
struct IntCol<'a> {
    vals: Option<Ints<'a>>,
    nulls: Option<&'a NullBuffer>,
}

impl IntCol<'_> {
    #[inline(always)]
    fn get(&self, i: usize) -> i64 {
        if let Some(n) = self.nulls {
            if n.is_null(i) {
                return -1;
            }
        }
        self.vals.as_ref().map_or(-1, |v| v.get(i))
    }
}

fn int_col<'a>(b: &'a RecordBatch, name: &str, want: bool) -> Result<IntCol<'a>, String> {
    if !want {
        return Ok(IntCol { vals: None, nulls: None });
    }
    let a = column(b, name)?;
    let vals = match a.data_type() {
        DataType::Int64 | DataType::Int32 => ints(a.as_ref()),
        DataType::Null => None,
        t => return Err(format!("events column {name:?} is {t}, not an integer")),
    };
    Ok(IntCol { vals, nulls: a.nulls().filter(|n| n.null_count() > 0) })
}

fn strings(a: &dyn Array) -> Result<Vec<Option<&str>>, String> {
    Ok(match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => a.as_string::<i64>().iter().collect(),
        DataType::Utf8View => a.as_string_view().iter().collect(),
        DataType::Null => vec![None; a.len()],
        t => return Err(format!("{t} where strings were expected")),
    })
}

fn lookup<K: Copy + TryInto<usize>>(keys: &[K], lut: &[u8], none: u8) -> Vec<u8> {
    keys.iter().map(|&k| k.try_into().ok().and_then(|k| lut.get(k).copied()).unwrap_or(none)).collect()
}

/// A string column of one batch as the class of each row's string (`none`
/// for nulls); an unwanted column is empty.
fn str_col(
    b: &RecordBatch,
    name: &str,
    want: bool,
    none: u8,
    classify: impl Fn(&str) -> u8,
) -> Result<Vec<u8>, String> {
    if !want {
        return Ok(Vec::new());
    }
    let a = column(b, name)?;
    let mut out = if let DataType::Dictionary(kt, _) = a.data_type() {
        let values = a.as_any_dictionary().values();
        let lut: Vec<u8> = strings(values.as_ref())
            .map_err(|e| format!("events column {name:?}: {e}"))?
            .into_iter()
            .map(|s| s.map_or(none, &classify))
            .collect();
        match kt.as_ref() {
            DataType::Int8 => lookup(a.as_dictionary::<Int8Type>().keys().values(), &lut, none),
            DataType::Int16 => lookup(a.as_dictionary::<Int16Type>().keys().values(), &lut, none),
            DataType::Int32 => lookup(a.as_dictionary::<Int32Type>().keys().values(), &lut, none),
            t => return Err(format!("events column {name:?} has dictionary keys {t}")),
        }
    } else {
        // Plain strings: classify each distinct value once.
        let vals = strings(a.as_ref()).map_err(|e| format!("events column {name:?}: {e}"))?;
        let mut seen: rustc_hash::FxHashMap<&str, u8> = Default::default();
        vals.iter().map(|s| s.map_or(none, |s| *seen.entry(s).or_insert_with(|| classify(s)))).collect()
    };
    if let Some(n) = a.nulls() {
        for (x, valid) in out.iter_mut().zip(n.iter()) {
            if !valid {
                *x = none;
            }
        }
    }
    Ok(out)
}

fn column<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, String> {
    b.column_by_name(name).ok_or_else(|| format!("events table has no column {name:?}"))
}

/// The batch with its compact encodings undone, so readers see one schema:
/// dictionary-encoded integer columns (p, m, gen, task_id, value) become plain
/// integers, and string dictionaries get int32 keys whatever width they were
/// stored with. Other columns are shared, not copied.
pub fn widen(b: &RecordBatch) -> Result<RecordBatch, String> {
    let schema = b.schema();
    let mut fields = Vec::with_capacity(b.num_columns());
    let mut cols = Vec::with_capacity(b.num_columns());
    for (f, a) in schema.fields().iter().zip(b.columns()) {
        let wide = match a.data_type() {
            DataType::Dictionary(k, v) if v.is_integer() || k.as_ref() != &DataType::Int32 => match k.as_ref() {
                DataType::Int8 => widen_dict(a.as_dictionary::<Int8Type>()),
                DataType::Int16 => widen_dict(a.as_dictionary::<Int16Type>()),
                DataType::Int32 => widen_dict(a.as_dictionary::<Int32Type>()),
                t => return Err(format!("column {:?} has dictionary keys {t}", f.name())),
            }
            .ok_or_else(|| format!("column {:?}: unsupported dictionary {}", f.name(), a.data_type()))?,
            _ => a.clone(),
        };
        fields.push(Field::new(f.name(), wide.data_type().clone(), true));
        cols.push(wide);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).map_err(|e| e.to_string())
}

/// One dictionary column widened: integer values decoded (int32 stays int32,
/// other integers become int64), string keys made int32. Nulls are kept; a
/// null or out-of-range key reads as 0 under its null bit.
fn widen_dict<K: ArrowDictionaryKeyType>(d: &DictionaryArray<K>) -> Option<ArrayRef> {
    let keys = d.keys();
    let values = d.values();
    Some(match values.data_type() {
        DataType::Int32 => {
            let v = values.as_primitive::<Int32Type>().values();
            Arc::new(keys.unary::<_, Int32Type>(|k| v.get(k.as_usize()).copied().unwrap_or(0)))
        }
        t if t.is_integer() => {
            let v: PrimitiveArray<Int64Type> = match t {
                DataType::Int64 => values.as_primitive::<Int64Type>().clone(),
                DataType::Int8 => values.as_primitive::<Int8Type>().unary(i64::from),
                DataType::Int16 => values.as_primitive::<Int16Type>().unary(i64::from),
                DataType::UInt8 => values.as_primitive::<UInt8Type>().unary(i64::from),
                DataType::UInt16 => values.as_primitive::<UInt16Type>().unary(i64::from),
                DataType::UInt32 => values.as_primitive::<UInt32Type>().unary(i64::from),
                DataType::UInt64 => values.as_primitive::<UInt64Type>().unary(|x| x as i64),
                _ => return None,
            };
            let v = v.values();
            Arc::new(keys.unary::<_, Int64Type>(|k| v.get(k.as_usize()).copied().unwrap_or(0)))
        }
        _ => {
            let keys: Int32Array = keys.unary(|k| k.as_usize() as i32);
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values.clone()).ok()?)
        }
    })
}

/// Calls `f` for every event of `batches`, in order, reading the columns in
/// `want` (a set of [`cols`]); returns the number of events.
pub fn scan<C: Classes>(
    batches: &[RecordBatch],
    classes: &C,
    want: u32,
    mut f: impl FnMut(&Ev),
) -> Result<usize, String> {
    let mut rows = 0;
    let w = |c: u32| want & c != 0;
    for b in batches {
        let n = b.num_rows();
        if n == 0 {
            continue;
        }
        let b = &widen(b)?;
        let ts = int_col(b, "ts", true)?;
        let kind = str_col(b, "kind", true, 0, kind_of)?;
        let g = int_col(b, "g", w(cols::G))?;
        let p = int_col(b, "p", w(cols::P))?;
        let resource = str_col(b, "resource", w(cols::RESOURCE), RES_NONE, resource_of)?;
        let resource_id = int_col(b, "resource_id", w(cols::RESOURCE_ID))?;
        let from = str_col(b, "from_state", w(cols::FROM), st::UNDETERMINED, state_of)?;
        let to = str_col(b, "to_state", w(cols::TO), st::UNDETERMINED, state_of)?;
        let reason = str_col(b, "reason", w(cols::REASON), 0, |s| classes.reason(s))?;
        let name = str_col(b, "name", w(cols::NAME), 0, |s| classes.name(s))?;
        let stack = int_col(b, "stack_id", w(cols::STACK))?;
        let tstack = int_col(b, "transition_stack_id", w(cols::TSTACK))?;
        let value = int_col(b, "value", w(cols::VALUE))?;
        let code = |v: &[u8], i: usize, none: u8| v.get(i).copied().unwrap_or(none);
        for i in 0..n {
            let ev = Ev {
                ts: ts.get(i),
                kind: KINDS[kind[i] as usize],
                g: g.get(i),
                p: p.get(i),
                resource: code(&resource, i, RES_NONE),
                resource_id: resource_id.get(i),
                from: code(&from, i, st::UNDETERMINED),
                to: code(&to, i, st::UNDETERMINED),
                reason: code(&reason, i, 0),
                name: code(&name, i, 0),
                stack: stack.get(i) as i32,
                tstack: tstack.get(i) as i32,
                value: value.get(i),
            };
            f(&ev);
        }
        rows += n;
    }
    Ok(rows)
}
