//! Ids and retries: an exact retry is answered with the original
//! positions, an id reused for a different event is refused.

use std::slice::from_ref;

use caseledger::{Actor, AppendError, Appended, CaseId, EventData, EventLog, ExpectedVersion};

use super::support::{CASE, all_events, assert_reused, event, minute, opened, responded};

/// A retry answers the original positions and writes nothing; a wrong
/// expected version and an id stored on another stream are refused and
/// write nothing.
pub fn append_contract_matches_the_reference<L: EventLog>(make: &dyn Fn() -> L) {
    let log = make();
    let case = CaseId::from_u128(1);
    let batch = [responded(1, 10), responded(1, 11)];
    let first = log.append(case, ExpectedVersion::NoStream, &batch).unwrap();
    assert_eq!(first.positions, vec![1, 2]);
    // Retry: same ids at the same versions: original positions, no write.
    let retry = log.append(case, ExpectedVersion::NoStream, &batch).unwrap();
    assert!(retry.already_stored);
    assert_eq!(retry.positions, vec![1, 2]);
    assert_eq!(all_events(&log).len(), 2);
    // Wrong expected version carries the actual version.
    let err = log
        .append(case, ExpectedVersion::Exact(5), &[responded(1, 12)])
        .unwrap_err();
    assert!(
        matches!(err, AppendError::WrongExpectedVersion { actual: 2, .. }),
        "{err}"
    );
    // An id stored elsewhere: the key was reused for another event.
    let err = log
        .append(
            CaseId::from_u128(2),
            ExpectedVersion::Any,
            &[responded(2, 10)],
        )
        .unwrap_err();
    assert!(
        matches!(err, AppendError::IdempotencyKeyReused { .. }),
        "{err}"
    );
    // Nothing of the refused appends was written.
    assert_eq!(all_events(&log).len(), 2);
}

/// A stored id counts as the same event only when the stored event equals
/// the one appended: whatever differs (type, time, actor, stream), the key
/// was reused for a different command; an identical retry is answered.
pub fn the_log_refuses_a_stored_id_with_another_event_and_retries_the_same<L: EventLog>(
    make: &dyn Fn() -> L,
) {
    let log = make();
    let opened_event = opened(1);
    log.append(CASE, ExpectedVersion::NoStream, from_ref(&opened_event))
        .unwrap();
    // Same id, same case, another event: refused whatever differs.
    let mut later = opened_event.clone();
    later.at = minute(1);
    let mut by_other = opened_event.clone();
    by_other.actor = Actor::parse("agent-2").unwrap();
    for different in [event(1, 0, EventData::Responded), later, by_other] {
        let result = log.append(CASE, ExpectedVersion::Any, &[different]);
        assert_reused(result, &opened_event);
    }
    // Same id on another case.
    let mut elsewhere = opened_event.clone();
    elsewhere.case_id = CaseId::from_u128(5);
    assert!(matches!(
        log.append(elsewhere.case_id, ExpectedVersion::Any, &[elsewhere]),
        Err(AppendError::IdempotencyKeyReused { .. })
    ));
    // A retry whose first event matches but a later one does not.
    let retry = [opened_event.clone(), event(2, 1, EventData::Responded)];
    assert!(matches!(
        log.append(CASE, ExpectedVersion::Any, &retry[1..]),
        Ok(Appended {
            already_stored: false,
            ..
        })
    ));
    let mut changed = retry.clone();
    changed[1].data = EventData::Closed;
    assert!(matches!(
        log.append(CASE, ExpectedVersion::Any, &changed),
        Err(AppendError::IdempotencyKeyReused { .. })
    ));
    let again = log.append(CASE, ExpectedVersion::Any, &retry).unwrap();
    assert!(again.already_stored);
    assert_eq!(all_events(&log).len(), 2);
}
