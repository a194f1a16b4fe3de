//! Shared helpers for the store's integration tests: synthetic events, small
//! hand-made events, copying a store, and re-running this test binary as a
//! child process.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::path::Path;

use caseledger::*;
use caseledger_store::{Store, StoreOptions};
use caseledger_synth::{Synth, SynthConfig};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// 2026-03-02 09:00 UTC plus `m` minutes.
pub fn t(m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::minutes(m)
}

/// A deterministic, valid history of `cases` cases.
pub fn synth(cases: u64, seed: u64) -> Vec<Event> {
    Synth::new(SynthConfig {
        cases,
        seed,
        start: t(0),
        span_days: 30,
        customers: caseledger_synth::Customers::Uniform,
    })
    .collect()
}

/// A `responded` event with id `id` on case `case` (the store does not check
/// case rules, so any event will do for storage tests).
pub fn event(case: u128, id: u128) -> Event {
    Event {
        event_id: EventId::from_u128(id),
        case_id: CaseId::from_u128(case),
        at: t(i64::try_from(id % 100_000).unwrap()),
        actor: Actor::parse("agent-1").unwrap(),
        data: EventData::Responded,
    }
}

/// Options with small segments, so tests roll over often.
pub fn small_segments() -> StoreOptions {
    StoreOptions::default()
        .segment_bytes(caseledger_store::MIN_SEGMENT_BYTES)
        .clock(caseledger_store::Clock::EventTime)
}

/// Appends `events` in order, each on its own, with exact expected
/// versions (shared with the other backends' tests).
pub use caseledger_testkit::append_each;

#[path = "batch.rs"]
mod batch;
pub use batch::append_each_in;

/// The SIGKILL tests' acknowledgements, kill cycle and log check.
pub mod kills;

/// Every event of the log, in position order.
pub fn all(store: &Store) -> Vec<RecordedEvent> {
    store.read_all(1).unwrap().map(Result::unwrap).collect()
}

/// Copies a store directory (files only, not `cut/`).
/// How many segment files (`seg-…`) the store directory `dir` holds.
pub fn segment_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("seg-")
        })
        .count()
}

pub fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

// The child-process runner is shared with the other crates' tests.
pub use caseledger_testkit::child::{CHILD_ENV, child_arg, spawn_child};
