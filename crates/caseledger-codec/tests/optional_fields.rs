//! The fields issue 19 added to existing event types (`opened`'s `origin`,
//! `resolved`'s `root_cause`) are an optional last byte: absent, a record
//! has the bytes (and so the chain hash) it had before; the default origin
//! written out is refused, so that an event has one encoding.
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
