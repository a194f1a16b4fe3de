//! The synthetic history generator: valid, ordered, deterministic, varied.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use std::collections::{BTreeMap, BTreeSet};

use caseledger::*;
use caseledger_synth::{Synth, SynthConfig};
use chrono::{TimeZone, Utc};

fn config(cases: u64, seed: u64) -> SynthConfig {
    SynthConfig {
        cases,
        seed,
        start: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        span_days: 180,
    }
}

#[test]
fn generated_histories_obey_every_rule_and_are_time_ordered() {
    let events: Vec<Event> = Synth::new(config(2000, 9)).collect();
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
    let mut cases: BTreeMap<CaseId, Vec<&Event>> = BTreeMap::new();
    for e in &events {
        cases.entry(e.case_id).or_default().push(e);
    }
    assert_eq!(cases.len(), 2000);
    let mut statuses = BTreeSet::new();
    for history in cases.values() {
        statuses.insert(fold(history.iter().copied()).unwrap().status());
    }
    assert_eq!(
        statuses,
        BTreeSet::from([Status::Open, Status::Resolved, Status::Closed])
    );
    let types: BTreeSet<EventType> = events.iter().map(Event::event_type).collect();
    assert_eq!(
        types.len(),
        EventType::ALL.len(),
        "every event type appears"
    );
    let ids: BTreeSet<EventId> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
}

#[test]
fn the_same_seed_gives_the_same_events_and_another_seed_does_not() {
    let a: Vec<Event> = Synth::new(config(300, 1)).collect();
    let b: Vec<Event> = Synth::new(config(300, 1)).collect();
    let c: Vec<Event> = Synth::new(config(300, 2)).collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
}
