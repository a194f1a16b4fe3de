//! The fields issue 19 added to existing event types (`opened`'s `origin`,
//! `resolved`'s `root_cause`) are an optional last byte, and those issue 20
//! added to `surveyed` an optional last block: absent, a record has the
//! bytes (and so the chain hash) it had before; the default written out is
//! refused, so that an event has one encoding.
#![allow(clippy::unwrap_used)]

use caseledger::*;
use caseledger_codec::{GENESIS_HASH, Record, decode_body, encode_event_body};
use chrono::TimeZone;

fn event(data: EventData) -> Event {
    Event {
        event_id: EventId::from_u128(1),
        case_id: CaseId::from_u128(7),
        at: chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        actor: Actor::System,
        data,
    }
}

fn encode(e: &Event) -> Vec<u8> {
    let mut body = Vec::new();
    encode_event_body(&mut body, &GENESIS_HASH, 1, 1, &e.at, e).unwrap();
    body
}

fn opened(origin: Origin) -> EventData {
    EventData::Opened(Opened {
        customer_id: CustomerId::new("C-1").unwrap(),
        channel: Channel::Phone,
        tier: Tier::Standard,
        summary: None,
        origin,
    })
}

fn resolved(root_cause: Option<RootCause>) -> EventData {
    EventData::Resolved(Resolved {
        resolution: None,
        root_cause,
    })
}

/// The payload of a record: after the fixed part (76 bytes) and the actor
/// (1 byte, system), before the 32-byte hash.
fn payload(body: &[u8]) -> &[u8] {
    &body[77..body.len() - 32]
}

#[test]
fn absent_fields_write_the_old_payload() {
    // opened: id (len 3, "C-1"), channel 0, tier 0, summary absent (0).
    assert_eq!(
        payload(&encode(&event(opened(Origin::Customer)))),
        [3, b'C', b'-', b'1', 0, 0, 0]
    );
    // resolved: resolution absent (0).
    assert_eq!(payload(&encode(&event(resolved(None)))), [0]);
}

#[test]
fn given_fields_add_one_byte_and_round_trip() {
    for data in [opened(Origin::Bank), resolved(Some(RootCause::ThirdParty))] {
        let e = event(data);
        let body = encode(&e);
        let Record::Event(r) = decode_body(&body).unwrap() else {
            panic!("not an event")
        };
        assert_eq!(r.event, e);
    }
    assert_eq!(
        payload(&encode(&event(opened(Origin::Bank)))).last(),
        Some(&1)
    );
    assert_eq!(
        payload(&encode(&event(resolved(Some(RootCause::ThirdParty))))),
        [0, RootCause::ThirdParty.code()]
    );
}

#[test]
fn the_default_origin_written_out_is_refused() {
    // Re-encode by hand: the old payload plus an explicit `customer` (0),
    // with a correct chain hash, so that only the origin byte is wrong.
    let body = encode(&event(opened(Origin::Customer)));
    let mut hashed = body[..body.len() - 32].to_vec();
    hashed.push(0);
    let hash = caseledger_codec::chain_hash(&GENESIS_HASH, &hashed);
    hashed.extend_from_slice(&hash);
    let err = decode_body(&hashed).unwrap_err();
    assert!(err.to_string().contains("origin"), "{err}");
}

/// Issue 20: `surveyed`'s dimension scores and `via` are one optional
/// trailing block of four bytes, written only when one of them is given.
fn surveyed(s: Surveyed) -> EventData {
    EventData::Surveyed(s)
}

fn score(n: i64) -> Score {
    Score::new(n).unwrap()
}

#[test]
fn a_survey_without_dimensions_writes_the_old_payload() {
    // surveyed: score 4, comment absent (0).
    assert_eq!(
        payload(&encode(&event(surveyed(Surveyed::new(score(4)))))),
        [4, 0]
    );
}

#[test]
fn survey_dimensions_add_four_bytes_and_round_trip() {
    let given = [
        Surveyed {
            speed: Some(score(5)),
            problem_solving: Some(score(1)),
            attitude: Some(score(3)),
            via: Some(SurveyVia::Branch),
            ..Surveyed::new(score(4))
        },
        Surveyed {
            via: Some(SurveyVia::Phone),
            ..Surveyed::new(score(2))
        },
        Surveyed {
            attitude: Some(score(2)),
            comment: Some("slow".into()),
            ..Surveyed::new(score(2))
        },
    ];
    for s in given {
        let e = event(surveyed(s));
        let Record::Event(r) = decode_body(&encode(&e)).unwrap() else {
            panic!("not an event")
        };
        assert_eq!(r.event, e);
    }
    // speed, problem solving, attitude (0: none), via's code + 1 (0: none).
    let s = Surveyed {
        speed: Some(score(5)),
        via: Some(SurveyVia::Branch),
        ..Surveyed::new(score(4))
    };
    assert_eq!(
        payload(&encode(&event(surveyed(s)))),
        [4, 0, 5, 0, 0, SurveyVia::Branch.code() + 1]
    );
}

/// The plain survey's body with `block` appended, re-hashed, so that only
/// the block can be wrong.
fn with_block(block: &[u8]) -> Vec<u8> {
    let body = encode(&event(surveyed(Surveyed::new(score(4)))));
    let mut hashed = body[..body.len() - 32].to_vec();
    hashed.extend_from_slice(block);
    let hash = caseledger_codec::chain_hash(&GENESIS_HASH, &hashed);
    hashed.extend_from_slice(&hash);
    hashed
}

#[test]
fn a_bad_survey_block_is_refused() {
    for (block, field) in [
        (&[0, 0, 0, 0][..], "survey dimensions"),
        (&[6, 0, 0, 0][..], "survey speed"),
        (&[0, 0, 0, 8][..], "survey via"),
        (&[3, 3][..], "survey attitude"),
        (&[3, 3, 3, 1, 0][..], "trailing"),
    ] {
        let err = decode_body(&with_block(block)).unwrap_err();
        assert!(err.to_string().contains(field), "{block:?}: {err}");
    }
    assert!(decode_body(&with_block(&[0, 0, 0, 1])).is_ok());
}
