//! The cases of the append contract, each a function of a maker of new,
//! empty logs. [`all`] lists them; [`crate::append_contract`] runs them.
//!
//! They were the memory log's tests in the domain crate and the file
//! store's in its crate; moved here so that every log runs the same ones.
//! Two refusal messages are pinned as snapshots (`src/snapshots/`).

use std::slice::from_ref;

use caseledger::policy::follow_ups_too_close;
use caseledger::{
    Actor, AppendCondition, AppendError, Appended, CaseId, Channel, ConditionFailure, CustomerId,
    Event, EventData, EventId, EventLog, ExpectedVersion, FollowUpPurpose, FollowUpScheduled,
    IdUse, InMemoryEventLog, InvalidAppendReason, MAX_EVENTS_PER_APPEND, MAX_TEXT_BYTES, Opened,
    RecordedEvent, Resolved, Tier,
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

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

/// The stream most cases append to.
pub const CASE: CaseId = CaseId::from_u128(0xC0FFEE);

/// Minute `m` after 2026-03-02 09:00 UTC.
fn minute(m: i64) -> DateTime<Utc> {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single();
    // A valid, unambiguous UTC date: `single` always holds one.
    start.expect("a valid date") + Duration::minutes(m)
}

/// Event `id` of stream `case` at minute `m`, by `agent-1`.
fn event_on(case: CaseId, id: u128, m: i64, data: EventData) -> Event {
    let agent = Actor::parse("agent-1").expect("a valid actor");
    Event {
        event_id: EventId::from_u128(id),
        case_id: case,
        at: minute(m),
        actor: agent,
        data,
    }
}

/// Event `id` of [`CASE`].
fn event(id: u128, m: i64, data: EventData) -> Event {
    event_on(CASE, id, m, data)
}

/// A `responded` event `id` of stream `case` (a log checks no case rule,
/// so any event will do).
fn responded(case: u128, id: u128) -> Event {
    let m = i64::try_from(id % 100_000).expect("below 100,000");
    event_on(CaseId::from_u128(case), id, m, EventData::Responded)
}

/// The `opened` event `id` of [`CASE`].
fn opened(id: u128) -> Event {
    let customer = CustomerId::new("C-1001").expect("a valid customer id");
    let data = Opened {
        customer_id: customer,
        channel: Channel::Phone,
        tier: Tier::Vip,
        summary: Some("card blocked abroad".into()),
    };
    event(id, 0, EventData::Opened(data))
}

/// Every event of the log, in position order.
fn all_events<L: EventLog>(log: &L) -> Vec<RecordedEvent> {
    let events = log.read_all(1).expect("read_all");
    events.map(|e| e.expect("an event")).collect()
}

fn positions<L: EventLog>(log: &L, from: u64) -> Vec<u64> {
    let events = log.read_all(from).expect("read_all");
    events.map(|e| e.expect("an event").position).collect()
}

fn assert_reused<E: std::fmt::Debug>(result: Result<Appended, AppendError<E>>, stored: &Event) {
    match result {
        Err(AppendError::IdempotencyKeyReused { recorded, .. }) => {
            assert_eq!(recorded.event, *stored)
        }
        other => panic!("expected a reused idempotency key, got {other:?}"),
    }
}

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

/// `read_stream` returns a stream's events in version order and `read_all`
/// the log in position order from any position; positions are gapless
/// across streams and versions gapless within each.
pub fn read_all_streams_from_a_position<L: EventLog>(make: &dyn Fn() -> L) {
    let log = make();
    let (a, b) = (CaseId::from_u128(1), CaseId::from_u128(2));
    // Three events on each of two streams, interleaved.
    for i in 0..3u64 {
        for (case, n) in [(a, 1u128), (b, 2)] {
            let id = n * 100 + u128::from(i);
            let m = i64::try_from(i).unwrap();
            let e = event_on(case, id, m, EventData::Responded);
            log.append(case, ExpectedVersion::Exact(i), from_ref(&e))
                .unwrap();
        }
    }
    assert_eq!(positions(&log, 1), [1, 2, 3, 4, 5, 6]);
    // The iterator is `Send`: a replay can run on another thread.
    let iter = log.read_all(2).unwrap();
    let moved = std::thread::scope(|s| s.spawn(move || iter.count()).join().unwrap());
    assert_eq!(moved, 5);
    assert_eq!(positions(&log, 5), [5, 6]);
    assert_eq!(positions(&log, 99), [0u64; 0]);
    assert_eq!(positions(&log, 0).len(), 6);
    for (case, first) in [(a, 1u64), (b, 2)] {
        let stream = log.read_stream(case).unwrap();
        let versions: Vec<u64> = stream.iter().map(|e| e.version).collect();
        let at: Vec<u64> = stream.iter().map(|e| e.position).collect();
        assert_eq!(versions, [1, 2, 3]);
        assert_eq!(at, [first, first + 2, first + 4]);
        assert!(stream.iter().all(|e| e.event.case_id == case));
    }
}

/// Appenders racing on one stream, each retrying with the version its
/// refusal reports, get one winner per version: the versions are gapless
/// and every event is stored once.
pub fn racing_on_one_stream_gives_one_winner_per_version<L: EventLog>(make: &dyn Fn() -> L) {
    const THREADS: u128 = 8;
    const PER_THREAD: u128 = 60;
    let log = make();
    let case = CaseId::from_u128(1);
    let mut versions: Vec<u64> = std::thread::scope(|s| {
        let appenders: Vec<_> = (0..THREADS)
            .map(|t| {
                let log = &log;
                s.spawn(move || {
                    let mut won = Vec::new();
                    for i in 0..PER_THREAD {
                        let e = responded(1, t * 1_000 + i);
                        // Retry with the version the refusal reports until
                        // this event wins a version.
                        let mut expected = log.read_stream(case).unwrap().len() as u64;
                        loop {
                            match log.append(case, ExpectedVersion::Exact(expected), from_ref(&e)) {
                                Ok(done) => {
                                    won.push(done.stream_version);
                                    break;
                                }
                                Err(AppendError::WrongExpectedVersion { actual, .. }) => {
                                    expected = actual;
                                }
                                Err(other) => panic!("{other}"),
                            }
                        }
                    }
                    won
                })
            })
            .collect();
        appenders
            .into_iter()
            .flat_map(|a| a.join().unwrap())
            .collect()
    });
    versions.sort_unstable();
    let total = (THREADS * PER_THREAD) as u64;
    assert_eq!(
        versions,
        (1..=total).collect::<Vec<_>>(),
        "one winner per version"
    );
    let stream = log.read_stream(case).unwrap();
    assert_eq!(stream.len() as u64, total);
    assert!(stream.iter().zip(1..).all(|(e, v)| e.version == v));
    let mut ids: Vec<_> = stream.iter().map(|e| e.event.event_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as u64, total);
}

/// `stream_version` counts a stream's events (0: no stream), and
/// `read_stream_from` returns its events from a version on, the tail of
/// what `read_stream` returns: what a reader that knows a case up to a
/// version needs, and nothing more.
pub fn stream_version_and_read_stream_from_read_only_the_tail<L: EventLog>(make: &dyn Fn() -> L) {
    let log = make();
    let (a, b) = (CaseId::from_u128(1), CaseId::from_u128(2));
    assert_eq!(log.stream_version(a).unwrap(), 0);
    assert!(log.read_stream_from(a, 1).unwrap().is_empty());
    // Four events on a, two on b, interleaved.
    for i in 0..4u64 {
        let m = i64::try_from(i).unwrap();
        let e = event_on(a, 100 + u128::from(i), m, EventData::Responded);
        log.append(a, ExpectedVersion::Exact(i), from_ref(&e))
            .unwrap();
        if i < 2 {
            let e = event_on(b, 200 + u128::from(i), m, EventData::Responded);
            log.append(b, ExpectedVersion::Exact(i), from_ref(&e))
                .unwrap();
        }
    }
    assert_eq!(log.stream_version(a).unwrap(), 4);
    assert_eq!(log.stream_version(b).unwrap(), 2);
    assert_eq!(log.stream_version(CaseId::from_u128(3)).unwrap(), 0);
    let whole = log.read_stream(a).unwrap();
    for from in 0..=6u64 {
        let tail = log.read_stream_from(a, from).unwrap();
        let skip = usize::try_from(from.max(1) - 1).unwrap().min(whole.len());
        assert_eq!(tail, whole[skip..], "read_stream_from({from})");
    }
    let versions: Vec<u64> = log
        .read_stream_from(a, 3)
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, [3, 4]);
    let at: Vec<u64> = log
        .read_stream_from(b, 2)
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(at, [4], "b's second event is the log's fourth");
    // A refused append changes no version.
    let e = event_on(a, 300, 9, EventData::Responded);
    log.append(a, ExpectedVersion::Exact(1), from_ref(&e))
        .unwrap_err();
    assert_eq!(log.stream_version(a).unwrap(), 4);
}

/// Identical retries of one append racing each other: one writes, every
/// other is answered as already stored with the winner's positions (the
/// concurrent form of point 3 of the contract), and the events are stored
/// once.
pub fn identical_retries_racing_are_answered_as_already_stored<L: EventLog>(make: &dyn Fn() -> L) {
    const RETRIES: usize = 8;
    const ROUNDS: u128 = 20;
    let log = make();
    for round in 0..ROUNDS {
        let case = CaseId::from_u128(1_000 + round);
        let batch = [
            event_on(case, round * 10 + 1, 0, EventData::Responded),
            event_on(case, round * 10 + 2, 1, EventData::Responded),
        ];
        let barrier = std::sync::Barrier::new(RETRIES);
        let answers: Vec<Appended> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..RETRIES)
                .map(|_| {
                    let (log, batch, barrier) = (&log, &batch, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        log.append(case, ExpectedVersion::NoStream, batch).unwrap()
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let written: Vec<&Appended> = answers.iter().filter(|a| !a.already_stored).collect();
        assert_eq!(written.len(), 1, "one writer, round {round}: {answers:?}");
        let winner = written[0];
        assert!(
            answers
                .iter()
                .all(|a| a.positions == winner.positions && a.stream_version == 2),
            "every retry answers the winner's positions: {answers:?}"
        );
        assert_eq!(log.stream_version(case).unwrap(), 2);
    }
    assert_eq!(all_events(&log).len() as u128, 2 * ROUNDS);
}

/// The `opened` event `id` of stream `case`, for `customer`.
fn opened_for(case: CaseId, id: u128, customer: &str) -> Event {
    let data = Opened {
        customer_id: CustomerId::new(customer).expect("a valid customer id"),
        channel: Channel::Phone,
        tier: Tier::Standard,
        summary: None,
    };
    event_on(case, id, 0, EventData::Opened(data))
}

/// A `follow_up_scheduled` event `id` of stream `case`, due `day` days
/// after the first minute.
fn follow_up_on(case: CaseId, id: u128, day: i64) -> Event {
    let data = FollowUpScheduled {
        due: minute(0) + Duration::days(day),
        purpose: FollowUpPurpose::Feedback,
        channel: Channel::Phone,
    };
    event_on(case, id, 1, EventData::FollowUpScheduled(data))
}

/// The follow-up cap as a condition: no follow-up of `customer` due within
/// 30 days of `e`'s due time.
fn cap(customer: &str, e: &Event) -> AppendCondition {
    let EventData::FollowUpScheduled(f) = &e.data else {
        panic!("not a follow-up: {e:?}");
    };
    AppendCondition::NoFollowUpTooClose {
        customer_id: CustomerId::new(customer).expect("a valid customer id"),
        due: f.due,
    }
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

/// Threads scheduling follow-ups for the same customers at once, each on
/// its own cases and each carrying the cap: whatever the interleaving (for
/// the file store: appends of one group commit), no two recorded
/// follow-ups of a customer are closer than 30 days, and every refusal
/// names a recorded follow-up that is too close.
pub fn conditioned_appends_racing_keep_the_follow_up_cap<L: EventLog>(make: &dyn Fn() -> L) {
    const THREADS: u128 = 8;
    const PER_THREAD: u128 = 40;
    const CUSTOMERS: u128 = 3;
    let log = make();
    let customer = |t: u128| format!("C-{}", t % CUSTOMERS);
    let case_of = |t: u128| CaseId::from_u128(100 + t);
    for t in 0..THREADS {
        let e = opened_for(case_of(t), 1_000 + t, &customer(t));
        log.append(e.case_id, ExpectedVersion::NoStream, from_ref(&e))
            .unwrap();
    }
    let barrier = std::sync::Barrier::new(THREADS as usize);
    let refusals: Vec<(CaseId, EventId)> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (log, barrier) = (&log, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let case = case_of(t);
                    let mut refused = Vec::new();
                    let mut version = 1;
                    for i in 0..PER_THREAD {
                        // Dues spread over a year, different per thread.
                        let day = i64::try_from((i * 37 + t * 11) % 365).unwrap();
                        let e = follow_up_on(case, (t + 1) * 10_000 + i, day);
                        let condition = cap(&customer(t), &e);
                        match log.append_with(
                            case,
                            ExpectedVersion::Exact(version),
                            from_ref(&e),
                            from_ref(&condition),
                        ) {
                            Ok(done) => version = done.stream_version,
                            Err(AppendError::ConditionFailed {
                                failure: ConditionFailure::FollowUpCap(cap),
                                ..
                            }) => {
                                let EventData::FollowUpScheduled(f) = &e.data else {
                                    unreachable!("built as a follow-up")
                                };
                                assert!(follow_ups_too_close(cap.existing.due, f.due));
                                refused.push((cap.existing.case_id, cap.existing.event_id));
                            }
                            Err(other) => panic!("{other}"),
                        }
                    }
                    refused
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let recorded = all_events(&log);
    let mut by_customer: std::collections::HashMap<String, Vec<DateTime<Utc>>> =
        std::collections::HashMap::new();
    for r in &recorded {
        if let EventData::FollowUpScheduled(f) = &r.event.data {
            let t = r.event.case_id.as_uuid().as_u128() - 100;
            by_customer.entry(customer(t)).or_default().push(f.due);
        }
    }
    let mut scheduled = 0;
    for (customer, mut dues) in by_customer {
        dues.sort_unstable();
        scheduled += dues.len();
        for pair in dues.windows(2) {
            assert!(
                !follow_ups_too_close(pair[0], pair[1]),
                "customer {customer}: follow-ups due {} and {}",
                pair[0],
                pair[1]
            );
        }
    }
    assert!(
        scheduled > 0 && !refusals.is_empty(),
        "both outcomes happened"
    );
    // Every refusal named a follow-up that is recorded, in its case.
    for (case_id, event_id) in refusals {
        assert!(
            recorded
                .iter()
                .any(|r| r.event.event_id == event_id && r.event.case_id == case_id),
            "refusal names {event_id}, which is not recorded"
        );
    }
}
