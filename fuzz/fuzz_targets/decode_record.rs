//! Feeds arbitrary bytes to the frame and record decoders: they must return
//! errors, never panic or allocate without bound; and a record they accept
//! must be the one encoding of what they decoded (the encoder writes the
//! same bytes back), so the format has no second spelling of a record. The
//! one record the encoder may refuse is one holding a time outside the
//! storable range (docs/store-format.md): readers accept such times, which
//! stores written before the rule may hold, but nothing new is written with
//! them.
#![no_main]

use caseledger_codec::{
    EncodeError, GENESIS_HASH, Record, decode_body, encode_commit_body, encode_event_body,
    hashed_part,
};
use caseledger_store::fuzzing::{FRAME_HEADER_BYTES, decode_frame};
use libfuzzer_sys::fuzz_target;

fn check_body(body: &[u8]) {
    let Ok(record) = decode_body(body) else {
        return;
    };
    match reencode(&record) {
        Ok(again) => assert_eq!(
            again,
            hashed_part(body),
            "the record decodes to {record:?}, which encodes differently"
        ),
        Err(e) => assert!(
            holds_an_unstorable_time(&record),
            "the decoder accepts a record the encoder refuses: {e}: {record:?}"
        ),
    }
}

/// Encodes a decoded record again and returns its body without the chain
/// hash, which must equal the decoded body's (one encoding per record); an
/// error if the encoder refuses what the decoder accepted.
fn reencode(record: &Record) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::new();
    match record {
        Record::Event(r) => {
            encode_event_body(
                &mut body,
                &GENESIS_HASH,
                r.position,
                r.version,
                &r.recorded_at,
                &r.event,
            )?;
        }
        Record::Commit {
            first_position,
            last_position,
        } => {
            encode_commit_body(&mut body, &GENESIS_HASH, *first_position, *last_position);
        }
    }
    Ok(hashed_part(&body).to_vec())
}

/// Whether one of the record's times is one new records may not hold.
fn holds_an_unstorable_time(record: &Record) -> bool {
    let Record::Event(r) = record else {
        return false;
    };
    let due = match &r.event.data {
        caseledger::EventData::FollowUpScheduled(f) => Some(f.due),
        _ => None,
    };
    [Some(r.event.at), Some(r.recorded_at), due]
        .into_iter()
        .flatten()
        .any(|t| caseledger::check_timestamp(&t).is_err())
}

fuzz_target!(|data: &[u8]| {
    check_body(data);
    let mut rest = data;
    while let Ok(body) = decode_frame(rest) {
        check_body(body);
        rest = &rest[FRAME_HEADER_BYTES + body.len()..];
    }
});
