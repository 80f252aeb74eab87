//! The analysis stage: passes over the tables the decoding stage built (or
//! that came back from Parquet or pandas), each returning Arrow or flat
//! buffers for one view. `evtable` reads the events table back for the
//! sequential passes: cmd/trace's Summarizer (`summary`), the blocking
//! profiles (`profile`) and the MMU (`mmu`); `tasks` adds what the user-task
//! pages read to the Summarizer over a streaming parse. `take` and `spans` gather columns
//! of the tables stored by reference, `lanes` indexes spans for the timeline,
//! `group` computes per-group statistics, and `critical` walks critical
//! paths.

pub mod critical;
pub mod evtable;
pub mod group;
pub mod lanes;
pub mod mmu;
pub mod profile;
pub mod spans;
pub mod summary;
pub mod take;
pub mod tasks;
#[cfg(test)]
pub(crate) mod testdata;
