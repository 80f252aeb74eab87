//! The decoding stage: bytes in, tables out. `wire` reads the header, the
//! batches and each generation's tables (`spec` is the wire's event types),
//! `order` merges the batches into Go's event order, and `build` turns the
//! ordered events into the events table and every derived table. Go 1.11-1.21
//! traces take `tracev1` instead of `wire` and `order`, into the same `build`.
//! `intern` deduplicates strings across generations; `pdqsort` is Go's sort,
//! where its order of equal keys shows; `raw` lists batches as they are on the
//! wire (`-d=wire`, `-d=footprint`).

pub mod build;
pub mod intern;
pub mod order;
pub mod pdqsort;
pub mod raw;
pub mod spec;
pub mod tracev1;
pub mod wire;
