//! The cases of the append contract, each a function of a maker of new,
//! empty logs. [`all`] lists them; [`crate::append_contract`] runs them.
//!
//! They were the memory log's tests in the domain crate and the file
//! store's in its crate; moved here so that every log runs the same ones.
//! Two refusal messages are pinned as snapshots (`src/snapshots/`).
//! The cases that pin them stay in this file (a snapshot's name carries
//! its module path); the others are in `retries`, `limits`, `reads` and
//! `races`, by subject, with what they share in `support`.

use std::slice::from_ref;

use caseledger::{
    AppendError, CaseId, ConditionFailure, EventData, EventLog, ExpectedVersion, IdUse,
    InMemoryEventLog, InvalidAppendReason,
};
use chrono::Duration;

mod limits;
mod races;
mod reads;
mod retries;
mod support;

pub use limits::{
    an_append_of_more_than_the_most_events_is_refused,
    an_event_too_large_for_a_record_is_refused_without_writing,
    the_append_contract_refuses_unstorable_times_naming_the_field,
};
pub use races::{
    conditioned_appends_racing_keep_the_follow_up_cap,
    identical_retries_racing_are_answered_as_already_stored,
    racing_on_one_stream_gives_one_winner_per_version,
};
pub use reads::{
    read_all_streams_from_a_position, stream_version_and_read_stream_from_read_only_the_tail,
};
pub use retries::{
    append_contract_matches_the_reference,
    the_log_refuses_a_stored_id_with_another_event_and_retries_the_same,
};
pub use support::CASE;
use support::{all_events, cap, event, follow_up_on, minute, opened, opened_for};

/// A case of the contract: it makes the logs it needs with the function it
/// is given, each one new and empty.
pub type Case<L> = fn(&dyn Fn() -> L);

/// Every case, by name, in the order [`crate::append_contract`] runs them.
pub fn all<L: EventLog>() -> Vec<(&'static str, Case<L>)> {
    vec![
        (
            "append_contract_matches_the_reference",
            append_contract_matches_the_reference::<L>,
        ),
        (
            "wrong_expected_version_carries_the_actual_version",
            wrong_expected_version_carries_the_actual_version::<L>,
        ),
        (
            "event_id_clashes_are_errors_and_exact_retries_are_not",
            event_id_clashes_are_errors_and_exact_retries_are_not::<L>,
        ),
        (
            "the_log_refuses_a_stored_id_with_another_event_and_retries_the_same",
            the_log_refuses_a_stored_id_with_another_event_and_retries_the_same::<L>,
        ),
        (
            "the_append_contract_refuses_unstorable_times_naming_the_field",
            the_append_contract_refuses_unstorable_times_naming_the_field::<L>,
        ),
        (
            "an_event_too_large_for_a_record_is_refused_without_writing",
            an_event_too_large_for_a_record_is_refused_without_writing::<L>,
        ),
        (
            "an_append_of_more_than_the_most_events_is_refused",
            an_append_of_more_than_the_most_events_is_refused::<L>,
        ),
        (
            "read_all_streams_from_a_position",
            read_all_streams_from_a_position::<L>,
        ),
        (
            "stream_version_and_read_stream_from_read_only_the_tail",
            stream_version_and_read_stream_from_read_only_the_tail::<L>,
        ),
        (
            "identical_retries_racing_are_answered_as_already_stored",
            identical_retries_racing_are_answered_as_already_stored::<L>,
        ),
        (
            "a_conditioned_append_is_refused_naming_the_follow_up_in_the_way",
            a_conditioned_append_is_refused_naming_the_follow_up_in_the_way::<L>,
        ),
        (
            "conditioned_appends_racing_keep_the_follow_up_cap",
            conditioned_appends_racing_keep_the_follow_up_cap::<L>,
        ),
        (
            "racing_on_one_stream_gives_one_winner_per_version",
            racing_on_one_stream_gives_one_winner_per_version::<L>,
        ),
    ]
}

/// A wrong expected version is refused with the stream's actual version.
pub fn wrong_expected_version_carries_the_actual_version<L: EventLog>(make: &dyn Fn() -> L) {
    let log = make();
    let e = opened(1);
    log.append(CASE, ExpectedVersion::NoStream, from_ref(&e))
        .unwrap();
    let e2 = event(2, 1, EventData::Responded);
    let err = log
        .append(CASE, ExpectedVersion::NoStream, from_ref(&e2))
        .unwrap_err();
    assert!(matches!(
        err,
        AppendError::WrongExpectedVersion { actual: 1, .. }
    ));
    insta::assert_snapshot!("wrong_version", err.to_string());
    log.append(CASE, ExpectedVersion::Exact(1), &[e2]).unwrap();
}

/// An exact retry is no error; a known id in a new place, an id twice in
/// one call, another stream's event and an empty call are refused, and a
/// refused append writes nothing.
pub fn event_id_clashes_are_errors_and_exact_retries_are_not<L: EventLog>(make: &dyn Fn() -> L) {
    let log = make();
    let batch = [opened(1), event(2, 1, EventData::Responded)];
    let first = log.append(CASE, ExpectedVersion::NoStream, &batch).unwrap();
    // Exact retry: same ids at the same versions, whatever the expectation.
    let again = log.append(CASE, ExpectedVersion::NoStream, &batch).unwrap();
    assert!(again.already_stored);
    assert_eq!(again.positions, first.positions);
    // A known event in a new place (a known id with another event is a
    // reused key: see the next case).
    let reused = [event(3, 2, EventData::Responded), batch[0].clone()];
    let err = log.append(CASE, ExpectedVersion::Any, &reused).unwrap_err();
    insta::assert_snapshot!("id_clash", err.to_string());
    // Where, as a kind to match: the first event's place.
    assert!(
        matches!(
            &err,
            AppendError::EventIdClash { where_: IdUse::Stored(at), .. }
                if at.case_id == CASE && at.version == 1 && Some(&at.position) == first.positions.first()
        ),
        "{err:?}"
    );
    // The same id twice in one call.
    let twice = [
        event(4, 2, EventData::Responded),
        event(4, 2, EventData::Responded),
    ];
    assert!(matches!(
        log.append(CASE, ExpectedVersion::Any, &twice),
        Err(AppendError::EventIdClash {
            where_: IdUse::TwiceInThisAppend,
            ..
        })
    ));
    // Another stream's event.
    let mut foreign = event(5, 2, EventData::Responded);
    foreign.case_id = CaseId::from_u128(9);
    assert!(matches!(
        log.append(CASE, ExpectedVersion::Any, &[foreign]),
        Err(AppendError::InvalidAppend {
            reason: InvalidAppendReason::OtherCase { .. },
            ..
        })
    ));
    assert!(matches!(
        log.append(CASE, ExpectedVersion::Any, &[]),
        Err(AppendError::InvalidAppend {
            reason: InvalidAppendReason::Empty,
            ..
        })
    ));
    assert_eq!(all_events(&log).len(), 2, "refused appends write nothing");
}

/// An append carrying the follow-up cap is refused when a follow-up of the
/// same customer, in any case, is recorded too close, with the reference
/// log's words naming that follow-up's case and due time; nothing is
/// written. An append without the condition (imported history) is
/// accepted as it is, and counts for later conditions; an identical retry
/// of a conditioned append is answered as stored, not refused.
pub fn a_conditioned_append_is_refused_naming_the_follow_up_in_the_way<L: EventLog>(
    make: &dyn Fn() -> L,
) {
    let log = make();
    let reference = InMemoryEventLog::new();
    let (a, b, c) = (
        CaseId::from_u128(1),
        CaseId::from_u128(2),
        CaseId::from_u128(3),
    );
    for (case, id, customer) in [(a, 1, "C-1"), (b, 2, "C-1"), (c, 3, "C-2")] {
        let e = opened_for(case, id, customer);
        log.append(case, ExpectedVersion::NoStream, from_ref(&e))
            .unwrap();
        reference
            .append(case, ExpectedVersion::NoStream, from_ref(&e))
            .unwrap();
    }
    let first = follow_up_on(a, 10, 5);
    let done = log
        .append_with(
            a,
            ExpectedVersion::Exact(1),
            from_ref(&first),
            &[cap("C-1", &first)],
        )
        .unwrap();
    reference
        .append_with(
            a,
            ExpectedVersion::Exact(1),
            from_ref(&first),
            &[cap("C-1", &first)],
        )
        .unwrap();
    // 29 days later, same customer, another case: refused, naming case a.
    let close = follow_up_on(b, 11, 34);
    let err = log
        .append_with(
            b,
            ExpectedVersion::Exact(1),
            from_ref(&close),
            &[cap("C-1", &close)],
        )
        .unwrap_err();
    match &err {
        AppendError::ConditionFailed {
            case_id,
            failure: ConditionFailure::FollowUpCap(cap),
        } => {
            assert_eq!(*case_id, b);
            assert_eq!(cap.existing.case_id, a);
            assert_eq!(cap.existing.event_id, first.event_id);
            assert_eq!(cap.existing.due, minute(0) + Duration::days(5));
        }
        other => panic!("expected the cap, got {other:?}"),
    }
    let expected = reference
        .append_with(
            b,
            ExpectedVersion::Exact(1),
            from_ref(&close),
            &[cap("C-1", &close)],
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        expected.to_string(),
        "the reference log's words"
    );
    insta::assert_snapshot!("follow_up_cap", err.to_string());
    assert_eq!(log.stream_version(b).unwrap(), 1, "nothing was written");
    // An identical retry of the first is answered as stored.
    let again = log
        .append_with(
            a,
            ExpectedVersion::Exact(1),
            from_ref(&first),
            &[cap("C-1", &first)],
        )
        .unwrap();
    assert!(again.already_stored);
    assert_eq!(again.positions, done.positions);
    // Another customer, the same day: allowed.
    let other = follow_up_on(c, 12, 5);
    log.append_with(
        c,
        ExpectedVersion::Exact(1),
        from_ref(&other),
        &[cap("C-2", &other)],
    )
    .unwrap();
    // Without the condition (history as it happened): accepted; it then
    // counts for the next conditioned append.
    log.append(b, ExpectedVersion::Exact(1), from_ref(&close))
        .unwrap();
    let later = follow_up_on(b, 13, 60);
    let err = log
        .append_with(
            b,
            ExpectedVersion::Exact(2),
            from_ref(&later),
            &[cap("C-1", &later)],
        )
        .unwrap_err();
    assert!(
        matches!(&err, AppendError::ConditionFailed { failure: ConditionFailure::FollowUpCap(cap), .. }
            if cap.existing.event_id == close.event_id),
        "{err}"
    );
    // Exactly 30 days after the last: allowed.
    let ok = follow_up_on(b, 14, 64);
    log.append_with(
        b,
        ExpectedVersion::Exact(2),
        from_ref(&ok),
        &[cap("C-1", &ok)],
    )
    .unwrap();
    assert_eq!(all_events(&log).len(), 7);
}
