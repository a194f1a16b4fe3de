//! The record decoder: round trips every synthetic event, and never panics
//! on arbitrary or damaged bytes.
#![allow(clippy::unwrap_used)]

mod common;

use caseledger_store::format::*;
use common::*;
use proptest::prelude::*;

#[test]
fn every_event_of_a_synthetic_history_round_trips() {
    let mut prev = GENESIS_HASH;
    for (p, e) in (1u64..).zip(synth(400, 11)) {
        let mut frame = Vec::new();
        let hash = encode_event(&mut frame, &prev, p, 7, &e.at, &e).unwrap();
        let body = decode_frame(&frame).unwrap();
        assert_eq!(chain_hash(&prev, hashed_part(body)), hash);
        assert_eq!(stored_hash(body), hash);
        match decode_body(body).unwrap() {
            Record::Event(r) => {
                assert_eq!((r.position, r.version, r.recorded_at), (p, 7, e.at));
                assert_eq!(r.event, e);
            }
            other => panic!("{other:?}"),
        }
        prev = hash;
    }
    let mut frame = Vec::new();
    encode_commit(&mut frame, &prev, 3, 9);
    let body = decode_frame(&frame).unwrap();
    assert_eq!(
        decode_body(body).unwrap(),
        Record::Commit {
            first_position: 3,
            last_position: 9
        }
    );
}

fn sample_frames() -> Vec<u8> {
    let mut out = Vec::new();
    for (p, e) in (1u64..).zip(synth(5, 2)) {
        encode_event(&mut out, &GENESIS_HASH, p, 1, &e.at, &e).unwrap();
    }
    out
}

/// Decodes frames from `bytes` the way a reader does, until one fails.
fn decode_all(bytes: &[u8]) {
    let mut rest = bytes;
    while let Ok(body) = decode_frame(rest) {
        let _ = decode_body(body);
        rest = &rest[FRAME_HEADER_BYTES + body.len()..];
    }
    let _ = SegmentHeader::decode(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
        // Bodies are checked on their own too, as if their checksum held.
        let _ = decode_body(&bytes);
    }

    #[test]
    fn damaged_records_never_panic_and_flips_are_caught(
        at in 0usize..10_000, bit in 0u8..8, cut in 0usize..10_000, value in any::<u8>()
    ) {
        let original = sample_frames();
        let i = at % original.len();
        let mut flipped = original.clone();
        flipped[i] ^= 1 << bit;
        decode_all(&flipped);
        // A flipped bit never decodes to the same records.
        let first = decode_frame(&flipped).map(<[u8]>::to_vec);
        let clean = decode_frame(&original).unwrap().to_vec();
        prop_assert!(first.as_ref() != Ok(&clean) || i >= FRAME_HEADER_BYTES + clean.len());
        let mut truncated = original.clone();
        truncated.truncate(cut % original.len());
        decode_all(&truncated);
        let mut overwritten = original;
        overwritten[i] = value;
        decode_all(&overwritten);
    }
}

/// The rows `| `value` | code |` of the code table headed `| name | code |`
/// in docs/store-format.md.
fn doc_table(name: &str) -> Vec<(String, u8)> {
    let doc = include_str!("../../../docs/store-format.md");
    let header = format!("| {name} | code |");
    let start = doc
        .find(&header)
        .unwrap_or_else(|| panic!("no table {name}"));
    doc[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_owned(),
                cells[2].parse().unwrap(),
            )
        })
        .collect()
}

macro_rules! check_table {
    ($name:literal, $t:ty) => {{
        let code: Vec<(String, u8)> = <$t>::ALL
            .iter()
            .map(|v| (v.as_str().to_owned(), v.code()))
            .collect();
        assert_eq!(
            doc_table($name),
            code,
            "docs/store-format.md table {}",
            $name
        );
    }};
}

#[test]
fn the_documented_code_tables_match_the_code() {
    use caseledger::*;
    check_table!("event type", EventType);
    check_table!("channel", Channel);
    check_table!("tier", Tier);
    check_table!("category", Category);
    check_table!("topic", Topic);
    check_table!("priority", Priority);
    check_table!("purpose", FollowUpPurpose);
    check_table!("outcome", FollowUpOutcome);
    check_table!("root cause", RootCause);
    check_table!("origin", Origin);
    check_table!("survey via", SurveyVia);
}

#[test]
fn a_segment_header_with_nonzero_reserved_bytes_is_refused() {
    let header = SegmentHeader {
        segment: 1,
        first_position: 1,
        prev_hash: GENESIS_HASH,
    };
    let mut b = header.encode();
    assert_eq!(SegmentHeader::decode(&b), Ok(header));
    // A reserved byte set, with a checksum that holds (found by fuzzing).
    b[57] = 1;
    let crc = crc32c::crc32c(&b[..60]);
    b[60..].copy_from_slice(&crc.to_le_bytes());
    let err = SegmentHeader::decode(&b).unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
}
