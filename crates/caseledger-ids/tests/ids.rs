//! The production ids: version 7, growing within a process, unique across
//! threads; and a bank system that restarts over the same file store keeps
//! recording every command.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::collections::HashSet;

use caseledger::*;
use caseledger_ids::UuidV7Ids;
use caseledger_store::{Store, StoreOptions};
use chrono::{DateTime, Duration, TimeZone, Utc};

#[test]
fn ids_are_version_7_and_grow_within_a_process() {
    let ids = UuidV7Ids::new();
    let made: Vec<EventId> = (0..10_000).map(|_| ids.next_event_id()).collect();
    assert!(made.windows(2).all(|w| w[0] < w[1]), "strictly growing");
    assert!(made.iter().all(|id| id.as_uuid().get_version_num() == 7));
    assert_eq!(ids.new_case_id().as_uuid().get_version_num(), 7);
}

#[test]
fn ids_made_on_many_threads_are_unique() {
    let ids = UuidV7Ids::new();
    let per_thread: Vec<Vec<EventId>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| (0..5_000).map(|_| ids.next_event_id()).collect()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: HashSet<EventId> = per_thread.iter().flatten().copied().collect();
    assert_eq!(all.len(), 4 * 5_000);
}

fn at(run: i64, step: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
        + Duration::hours(run)
        + Duration::minutes(step)
}

/// One run of a bank system: opens the store, opens one new case and adds
/// a contact to every case of the earlier runs; returns each outcome.
fn run_once<I: IdSource>(
    dir: &std::path::Path,
    ids: I,
    run: i64,
    new_case: CaseId,
    cases: &[CaseId],
) -> Vec<Result<Outcome, ServiceError<caseledger_store::Error>>> {
    let store = Store::open(dir, StoreOptions::default()).unwrap();
    let service = CaseService::new(store, ids);
    let agent = Actor::parse("agent-17").unwrap();
    let mut outcomes = Vec::new();
    for (step, &case) in (0..).zip(cases) {
        outcomes.push(service.execute(case, at(run, step), agent.clone(), Action::Respond));
    }
    let open = Opened {
        customer_id: CustomerId::new("C-1001").unwrap(),
        channel: Channel::Phone,
        tier: Tier::Standard,
        summary: None,
        origin: caseledger::Origin::Customer,
    };
    outcomes.push(service.execute(new_case, at(run, 50), agent, Action::Open(open)));
    outcomes
}

#[test]
fn a_restarted_service_with_production_ids_records_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let ids = UuidV7Ids::new();
    let mut cases = Vec::new();
    let mut recorded: Vec<(EventId, u64)> = Vec::new();
    for run in 0..4 {
        let new_case = ids.new_case_id();
        // A new id source each run, as after a restart of the program.
        for outcome in run_once(dir.path(), UuidV7Ids::new(), run, new_case, &cases) {
            let outcome = outcome.unwrap();
            assert!(!outcome.already_recorded);
            assert_eq!(outcome.events.len(), 1);
            recorded.push((outcome.events[0].event_id, outcome.positions[0]));
        }
        cases.push(new_case);
    }
    // 1 + 2 + 3 + 4 commands, at positions that grow without gaps.
    let positions: Vec<u64> = recorded.iter().map(|r| r.1).collect();
    assert_eq!(positions, (1..=10).collect::<Vec<u64>>());
    let store = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(store.head().position, 10);
    for (id, position) in recorded {
        let event = store.stored_event(&id).unwrap().unwrap();
        assert_eq!(event.position, position);
    }
}

#[test]
fn sequential_ids_after_a_restart_are_refused_not_lost() {
    // Why production code needs UuidV7Ids: SequentialIds start again after
    // a restart, so the next command reuses a recorded id. It is refused
    // (nothing is recorded, and the caller is told), never answered as a
    // retry.
    let dir = tempfile::tempdir().unwrap();
    let case = CaseId::from_u128(1);
    for outcome in run_once(dir.path(), SequentialIds::new(1), 0, case, &[]) {
        outcome.unwrap();
    }
    let mut second = run_once(
        dir.path(),
        SequentialIds::new(1),
        1,
        CaseId::from_u128(2),
        &[case],
    )
    .into_iter();
    // The contact on case 1 got id 1 again: the id of the case's `opened`.
    let contact = second.next().unwrap();
    assert!(
        matches!(
            contact,
            Err(ServiceError::Append(AppendError::IdempotencyKeyReused { ref recorded, .. }))
                if recorded.position == 1
        ),
        "{contact:?}"
    );
    let store = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(
        store.read_stream(case).unwrap().len(),
        1,
        "nothing recorded"
    );
}
