//! The application service and the event-log port contract, over the
//! in-memory log.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use std::sync::Arc;

use caseledger::*;
use common::*;

fn service() -> CaseService<InMemoryEventLog, SequentialIds> {
    CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1))
}

fn open_case(
    s: &CaseService<InMemoryEventLog, SequentialIds>,
    case: CaseId,
    customer: &str,
    m: i64,
) {
    let mut o = opened();
    o.customer_id = CustomerId::new(customer).unwrap();
    s.execute(case, t(m), agent("agent-1"), Action::Open(o))
        .unwrap();
    s.execute(
        case,
        t(m),
        agent("agent-1"),
        Action::Classify(classified(Category::Inquiry)),
    )
    .unwrap();
    s.execute(
        case,
        t(m + 1),
        agent("agent-1"),
        Action::Resolve(Resolved::default()),
    )
    .unwrap();
}

#[test]
fn commands_are_recorded_with_gapless_versions_and_positions() {
    let s = service();
    open_case(&s, CASE, "C-1", 0);
    let history = s.log().read_stream(CASE).unwrap();
    assert_eq!(
        history.iter().map(|r| r.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        history.iter().map(|r| r.position).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(s.state(CASE).unwrap().status(), Status::Resolved);
}

#[test]
fn a_refused_command_records_nothing() {
    let s = service();
    let err = s
        .execute(CASE, t(0), Actor::System, Action::Close)
        .unwrap_err();
    assert!(matches!(err, ServiceError::Rule(ref e) if e.violation == Violation::NotOpened));
    assert!(s.log().is_empty());
}

#[test]
fn retrying_a_command_with_the_same_event_id_records_it_once() {
    let s = service();
    let command = Command {
        case_id: CASE,
        event_id: EventId::from_u128(77),
        at: t(0),
        actor: agent("agent-1"),
        action: Action::Open(opened()),
    };
    let first = s.execute_command(command.clone()).unwrap();
    let again = s.execute_command(command).unwrap();
    assert!(!first.already_recorded);
    assert!(again.already_recorded);
    assert_eq!(first.positions, again.positions);
    assert_eq!(s.log().len(), 1);
}

#[test]
fn concurrent_commands_on_one_case_all_land_through_retries() {
    let s = Arc::new(service().with_max_attempts(1000));
    s.execute(CASE, t(0), agent("agent-1"), Action::Open(opened()))
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for _ in 0..50 {
                    s.execute(CASE, t(1), agent("agent-2"), Action::Respond)
                        .unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let history = s.log().read_stream(CASE).unwrap();
    assert_eq!(history.len(), 201);
    assert!(
        history
            .iter()
            .enumerate()
            .all(|(i, r)| r.version == i as u64 + 1)
    );
    assert_eq!(s.state(CASE).unwrap().case().unwrap().responses, 200);
}

#[test]
fn follow_ups_of_one_customer_are_capped_across_cases() {
    let s = service();
    let (a, b, c) = (
        CaseId::from_u128(1),
        CaseId::from_u128(2),
        CaseId::from_u128(3),
    );
    open_case(&s, a, "C-1", 0);
    open_case(&s, b, "C-1", 10);
    open_case(&s, c, "C-2", 20);
    let day = 24 * 60;
    s.execute(
        a,
        t(30),
        Actor::System,
        Action::ScheduleFollowUp(follow_up(5 * day)),
    )
    .unwrap();
    // 29 days later for the same customer, in another case: refused.
    let err = s
        .execute(
            b,
            t(31),
            Actor::System,
            Action::ScheduleFollowUp(follow_up(34 * day)),
        )
        .unwrap_err();
    let ServiceError::FollowUpCap(cap) = err else {
        panic!("expected the cap, got {err}");
    };
    assert_eq!(cap.existing.case_id, a);
    insta::assert_snapshot!(cap.to_string());
    // Exactly 30 days later: allowed. Another customer: allowed.
    s.execute(
        b,
        t(32),
        Actor::System,
        Action::ScheduleFollowUp(follow_up(35 * day)),
    )
    .unwrap();
    s.execute(
        c,
        t(33),
        Actor::System,
        Action::ScheduleFollowUp(follow_up(5 * day)),
    )
    .unwrap();
}

#[test]
fn wrong_expected_version_carries_the_actual_version() {
    let log = InMemoryEventLog::new();
    let e = event(1, 0, EventData::Opened(opened()));
    log.append(CASE, ExpectedVersion::NoStream, std::slice::from_ref(&e))
        .unwrap();
    let e2 = event(2, 1, EventData::Responded);
    let err = log
        .append(CASE, ExpectedVersion::NoStream, std::slice::from_ref(&e2))
        .unwrap_err();
    assert!(matches!(
        err,
        AppendError::WrongExpectedVersion { actual: 1, .. }
    ));
    insta::assert_snapshot!("wrong_version", err.to_string());
    log.append(CASE, ExpectedVersion::Exact(1), &[e2]).unwrap();
}

#[test]
fn event_id_clashes_are_errors_and_exact_retries_are_not() {
    let log = InMemoryEventLog::new();
    let batch = [
        event(1, 0, EventData::Opened(opened())),
        event(2, 1, EventData::Responded),
    ];
    let first = log.append(CASE, ExpectedVersion::NoStream, &batch).unwrap();
    // Exact retry: same ids at the same versions, whatever the expectation.
    let again = log.append(CASE, ExpectedVersion::NoStream, &batch).unwrap();
    assert!(again.already_stored);
    assert_eq!(again.positions, first.positions);
    // A known id in a new place.
    let reused = [
        event(3, 2, EventData::Responded),
        event(1, 2, EventData::Responded),
    ];
    let err = log.append(CASE, ExpectedVersion::Any, &reused).unwrap_err();
    insta::assert_snapshot!("id_clash", err.to_string());
    // The same id twice in one call.
    let twice = [
        event(4, 2, EventData::Responded),
        event(4, 2, EventData::Responded),
    ];
    assert!(matches!(
        log.append(CASE, ExpectedVersion::Any, &twice),
        Err(AppendError::EventIdClash { .. })
    ));
    // Another stream's event.
    let mut foreign = event(5, 2, EventData::Responded);
    foreign.case_id = CaseId::from_u128(9);
    assert!(matches!(
        log.append(CASE, ExpectedVersion::Any, &[foreign]),
        Err(AppendError::InvalidAppend { .. })
    ));
    assert!(matches!(
        log.append(CASE, ExpectedVersion::Any, &[]),
        Err(AppendError::InvalidAppend { .. })
    ));
    assert_eq!(log.len(), 2, "refused appends write nothing");
}

#[test]
fn read_all_streams_from_a_position() {
    let s = service();
    open_case(&s, CaseId::from_u128(1), "C-1", 0);
    open_case(&s, CaseId::from_u128(2), "C-2", 0);
    let tail: Vec<u64> = s
        .log()
        .read_all(5)
        .unwrap()
        .map(|r| r.unwrap().position)
        .collect();
    assert_eq!(tail, [5, 6]);
    assert_eq!(s.log().read_all(99).unwrap().count(), 0);
    assert_eq!(s.log().read_all(0).unwrap().count(), 6);
}
