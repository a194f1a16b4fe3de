//! What no record may hold: unstorable times, oversized events, too many
//! events in one append; each refused whole, nothing written.

use std::slice::from_ref;

use caseledger::{
    AppendError, CaseId, Channel, Event, EventData, EventLog, ExpectedVersion, FollowUpPurpose,
    FollowUpScheduled, InMemoryEventLog, InvalidAppendReason, MAX_EVENTS_PER_APPEND,
    MAX_TEXT_BYTES, Resolved,
};
use chrono::{DateTime, NaiveDate, Utc};

use super::support::{CASE, all_events, event, minute, opened, responded};

/// 2016-12-31T23:59:59 UTC plus `nanos` nanoseconds (one billion or more:
/// chrono's form of the leap second 23:59:60).
fn leap_second(nanos: u32) -> DateTime<Utc> {
    let second = 1_483_228_799; // 2016-12-31T23:59:59Z, before a leap second.
    DateTime::from_timestamp(second, nanos).expect("a leap second chrono can hold")
}

/// An event holding an instant no record may hold (a leap second, a year
/// past 9999) is refused with an error naming the field and the event, in
/// the reference log's words, and nothing is stored.
pub fn the_append_contract_refuses_unstorable_times_naming_the_field<L: EventLog>(
    make: &dyn Fn() -> L,
) {
    let log = make();
    let reference = InMemoryEventLog::new();
    let year_10000 = NaiveDate::from_ymd_opt(10_000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("chrono holds year 10000")
        .and_utc();
    let with_time = |id: u128, at: DateTime<Utc>, data: EventData| Event {
        at,
        ..event(id, 0, data)
    };
    let opened_data = opened(0).data;
    let cases = [
        (
            with_time(1, leap_second(1_000_000_000), opened_data.clone()),
            "`at`",
        ),
        (with_time(2, year_10000, opened_data), "`at`"),
        (
            with_time(
                3,
                minute(0),
                EventData::FollowUpScheduled(FollowUpScheduled {
                    due: leap_second(1_500_000_000),
                    purpose: FollowUpPurpose::Feedback,
                    channel: Channel::Phone,
                }),
            ),
            "`data.due`",
        ),
    ];
    for (e, field) in cases {
        let err = log
            .append(CASE, ExpectedVersion::Any, from_ref(&e))
            .unwrap_err();
        assert!(
            matches!(
                &err,
                AppendError::InvalidAppend {
                    reason: InvalidAppendReason::Event { event_id, .. },
                    ..
                } if *event_id == e.event_id
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(field), "{msg}");
        assert!(msg.contains(&e.event_id.to_string()), "{msg}");
        let expected = reference
            .append(CASE, ExpectedVersion::Any, from_ref(&e))
            .unwrap_err();
        assert_eq!(msg, expected.to_string(), "the reference log's words");
    }
    assert_eq!(all_events(&log).len(), 0, "nothing was stored");
}

/// An event over a limit (a text longer than `MAX_TEXT_BYTES`) refuses its
/// whole append: the good event before it is not written either.
pub fn an_event_too_large_for_a_record_is_refused_without_writing<L: EventLog>(
    make: &dyn Fn() -> L,
) {
    let log = make();
    let mut big = responded(1, 2);
    big.data = EventData::Resolved(Resolved {
        resolution: Some("x".repeat(MAX_TEXT_BYTES + 1)),
        root_cause: None,
    });
    let err = log
        .append(
            CaseId::from_u128(1),
            ExpectedVersion::Any,
            &[responded(1, 1), big],
        )
        .unwrap_err();
    assert!(matches!(err, AppendError::InvalidAppend { .. }), "{err}");
    assert_eq!(all_events(&log).len(), 0);
    let e = responded(1, 1);
    log.append(e.case_id, ExpectedVersion::Exact(0), from_ref(&e))
        .unwrap();
    assert_eq!(all_events(&log).len(), 1);
}

/// One append carries at most `MAX_EVENTS_PER_APPEND` events: that many
/// are stored, one more is refused and nothing of it written.
pub fn an_append_of_more_than_the_most_events_is_refused<L: EventLog>(make: &dyn Fn() -> L) {
    let log = make();
    let most = u128::try_from(MAX_EVENTS_PER_APPEND).expect("a small limit");
    let events: Vec<Event> = (1..=most + 1).map(|id| responded(1, id)).collect();
    let case = CaseId::from_u128(1);
    let err = log
        .append(case, ExpectedVersion::NoStream, &events)
        .unwrap_err();
    let limit = format!("at most {MAX_EVENTS_PER_APPEND} allowed");
    assert!(
        matches!(
            &err,
            AppendError::InvalidAppend {
                reason: InvalidAppendReason::TooManyEvents { count },
                ..
            } if *count == MAX_EVENTS_PER_APPEND + 1
        ) && err.to_string().contains(&limit),
        "{err}"
    );
    assert_eq!(all_events(&log).len(), 0, "nothing of it was written");
    let done = log
        .append(
            case,
            ExpectedVersion::NoStream,
            &events[..MAX_EVENTS_PER_APPEND],
        )
        .unwrap();
    assert_eq!(done.stream_version, MAX_EVENTS_PER_APPEND as u64);
    assert_eq!(all_events(&log).len(), MAX_EVENTS_PER_APPEND);
}
