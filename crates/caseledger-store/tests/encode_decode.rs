//! Both sides of the disk write agree (issue 11): over every field's full
//! range (any instant chrono can hold, leap seconds and years far outside
//! 1..=9999 included; any id a stored id may be; any text; any code), an
//! event either encodes into a record that decodes back to exactly it, or
//! the encoder refuses it and writes nothing. The writer therefore never
//! writes a record its own reader would refuse.
#![allow(clippy::unwrap_used)]

use caseledger::*;
use caseledger_store::format::*;
use chrono::{DateTime, Utc};
use proptest::prelude::*;

/// Any instant chrono can represent: whole range, the edges of the storable
/// range, and leap seconds (chrono accepts nanos >= 1e9 at second 59).
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let min = DateTime::<Utc>::MIN_UTC.timestamp();
    let max = DateTime::<Utc>::MAX_UTC.timestamp();
    let edges = [
        MIN_TIMESTAMP.timestamp(),
        MAX_TIMESTAMP.timestamp(),
        0,
        1_483_228_799, // 2016-12-31T23:59:59Z, before a real leap second
    ];
    let secs = prop_oneof![
        2 => min..=max,
        5 => MIN_TIMESTAMP.timestamp()..=MAX_TIMESTAMP.timestamp(),
        3 => proptest::sample::select(edges.to_vec()).prop_flat_map(|e| (e - 120)..=(e + 120)),
    ];
    let nanos = prop_oneof![
        6 => 0u32..1_000_000_000,
        2 => 1_000_000_000u32..2_000_000_000,
        1 => Just(999_999_999u32),
        1 => Just(1_000_000_000u32),
    ];
    // Leap nanos are valid only at second 59; round such seconds to it.
    (secs, nanos, any::<bool>()).prop_filter_map("representable", |(s, n, at_59)| {
        let s = if at_59 { s - s.rem_euclid(60) + 59 } else { s };
        DateTime::from_timestamp(s, n)
    })
}

/// Any string, biased towards ids' and texts' edge lengths and characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        6 => "[a-zA-Z0-9_-]{0,140}",
        2 => proptest::collection::vec(
            proptest::sample::select(vec!['a', 'é', '\u{200B}', '\u{202E}', ' ', '\u{7}', '客']),
            0..200
        )
        .prop_map(|v| v.into_iter().collect()),
        1 => (4090usize..4100).prop_map(|n| "x".repeat(n)),
        1 => (126usize..131).prop_map(|n| "y".repeat(n)),
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn code(n: u8) -> impl Strategy<Value = u8> {
    0..n
}

/// Any event whose values the types can hold: ids through the most lenient
/// constructor (stored data), so the encoder sees everything a caller could
/// hand it.
fn event() -> impl Strategy<Value = Option<Event>> {
    let ids = (text(), text(), proptest::option::of(text()), any::<u8>());
    let codes = (
        code(Channel::ALL.len() as u8),
        code(Tier::ALL.len() as u8),
        code(Category::ALL.len() as u8),
        code(Topic::ALL.len() as u8),
        code(Priority::ALL.len() as u8),
        code(FollowUpPurpose::ALL.len() as u8),
        code(FollowUpOutcome::ALL.len() as u8),
    );
    let texts = (opt_text(), 1i64..=3, 1i64..=5);
    (
        any::<u128>(),
        any::<u128>(),
        instant(),
        instant(),
        code(EventType::ALL.len() as u8),
        ids,
        codes,
        texts,
    )
        .prop_map(
            |(eid, cid, at, due, kind, (a, b, team, actor_kind), c, (t, level, score))| {
                let team = match team {
                    Some(s) => Some(TeamId::from_stored(s).ok()?),
                    None => None,
                };
                let actor = match actor_kind % 3 {
                    0 => Actor::System,
                    1 => Actor::Customer,
                    _ => Actor::Agent(AgentId::from_stored(a.clone()).ok()?),
                };
                let channel = Channel::from_code(c.0)?;
                let data = match EventType::from_code(kind)? {
                    EventType::Opened => EventData::Opened(Opened {
                        customer_id: CustomerId::from_stored(b).ok()?,
                        channel,
                        tier: Tier::from_code(c.1)?,
                        summary: t,
                        origin: caseledger::Origin::from_code(actor_kind / 128)?,
                    }),
                    EventType::Classified => EventData::Classified(Classified {
                        category: Category::from_code(c.2)?,
                        topic: Topic::from_code(c.3)?,
                        priority: Priority::from_code(c.4)?,
                    }),
                    EventType::Assigned => EventData::Assigned(Assigned {
                        agent: AgentId::from_stored(b).ok()?,
                        team,
                    }),
                    EventType::Responded => EventData::Responded,
                    EventType::Escalated => EventData::Escalated(Escalated {
                        level: EscalationLevel::new(level).ok()?,
                        team,
                        reason: t,
                    }),
                    EventType::Resolved => EventData::Resolved(Resolved {
                        resolution: t,
                        // Absent one time in eight.
                        root_cause: caseledger::RootCause::from_code((eid % 8) as u8),
                    }),
                    EventType::Reopened => EventData::Reopened(Reopened { reason: t }),
                    EventType::FollowUpScheduled => {
                        EventData::FollowUpScheduled(FollowUpScheduled {
                            due,
                            purpose: FollowUpPurpose::from_code(c.5)?,
                            channel,
                        })
                    }
                    EventType::FollowUpCompleted => {
                        EventData::FollowUpCompleted(FollowUpCompleted {
                            outcome: FollowUpOutcome::from_code(c.6)?,
                        })
                    }
                    EventType::Surveyed => {
                        // Each dimension present or not, from the id's bits
                        // (0 and 6: none).
                        let dim = |shift: u32| Score::new(((eid >> shift) % 6) as i64).ok();
                        EventData::Surveyed(Surveyed {
                            comment: t,
                            speed: dim(0),
                            problem_solving: dim(8),
                            attitude: dim(16),
                            via: caseledger::SurveyVia::from_code(((eid >> 24) % 7) as u8),
                            ..Surveyed::new(Score::new(score).ok()?)
                        })
                    }
                    EventType::Closed => EventData::Closed,
                    EventType::AwaitingCustomer => {
                        EventData::AwaitingCustomer(AwaitingCustomer { reason: t })
                    }
                    EventType::CustomerReplied => EventData::CustomerReplied,
                    EventType::DeadlineExtended => EventData::DeadlineExtended(DeadlineExtended {
                        days: ExtensionDays::new(i64::from(c.3) * 30 + 1).ok()?,
                        approved_by: AgentId::from_stored(b).ok()?,
                        reason: t.unwrap_or_default(),
                    }),
                    EventType::QaReviewed => EventData::QaReviewed(caseledger::QaReviewed {
                        reviewer: AgentId::from_stored(b).ok()?,
                        score: caseledger::QaScore::new(i64::from(actor_kind % 101)).ok()?,
                        notes: t,
                    }),
                };
                Some(Event {
                    event_id: EventId::from_u128(eid),
                    case_id: CaseId::from_u128(cid),
                    at,
                    actor,
                    data,
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8192))]

    #[test]
    fn every_event_round_trips_exactly_or_is_refused(
        e in event(),
        recorded_at in instant(),
        position in 1u64..=u64::MAX,
        version in 1u64..=u64::from(u32::MAX),
    ) {
        let Some(e) = e else { return Ok(()) };
        let prev = [7u8; HASH_BYTES];
        let mut out = vec![1, 2, 3];
        match encode_event(&mut out, &prev, position, version, &recorded_at, &e) {
            Ok(hash) => {
                let body = decode_frame(&out[3..]).unwrap();
                prop_assert_eq!(stored_hash(body), hash);
                prop_assert_eq!(chain_hash(&prev, hashed_part(body)), hash);
                let header = decode_event_header(body).unwrap();
                prop_assert_eq!(header.position, position);
                match decode_body(body) {
                    Ok(Record::Event(r)) => {
                        prop_assert_eq!(r.position, position);
                        prop_assert_eq!(r.version, version);
                        prop_assert_eq!(r.recorded_at, recorded_at);
                        prop_assert_eq!(&r.event, &e);
                    }
                    other => prop_assert!(false, "encoded, then decoded as {:?}", other),
                }
                // Only storable instants are ever written.
                prop_assert!(check_timestamp(&e.at).is_ok());
                prop_assert!(check_timestamp(&recorded_at).is_ok());
            }
            Err(_) => prop_assert_eq!(out, vec![1, 2, 3], "a refusal writes nothing"),
        }
    }

    /// Decoding into strings reused from events decoded before (of any
    /// types, their texts longer or shorter) gives exactly what decoding
    /// afresh gives: a reused string keeps nothing of its old text.
    #[test]
    fn decoding_with_reused_strings_gives_the_same_events(
        events in proptest::collection::vec(event(), 1..12),
    ) {
        let prev = [7u8; HASH_BYTES];
        let mut pool = StringPool::default();
        for (i, e) in events.iter().flatten().enumerate() {
            let mut out = Vec::new();
            let position = i as u64 + 1;
            if encode_event(&mut out, &prev, position, 1, &e.at, e).is_err() {
                continue;
            }
            let body = decode_frame(&out).unwrap();
            let fresh = decode_body(body).unwrap();
            let pooled = decode_body_pooled(body, &mut pool).unwrap();
            prop_assert_eq!(&pooled, &fresh);
            match pooled {
                Record::Event(r) => {
                    prop_assert_eq!(&r.event, e);
                    pool.recycle(r.event);
                }
                other => prop_assert!(false, "an event decoded as {:?}", other),
            }
        }
    }
}
