//! Issue 11: what each read path checks, and what an open does with a store
//! whose files were tampered with, moved away or replaced.
//!
//! The tampering here is built in the test, on the bytes of a real store,
//! with every frame's CRC fixed so that only the hash chain (or the
//! positions, when the chain is recomputed too) can catch it.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use caseledger::*;
use caseledger_store::format::{
    FRAME_HEADER_BYTES, HASH_BYTES, Hash, Record, SEGMENT_HEADER_BYTES, chain_hash, decode_body,
    decode_frame, hashed_part, peek_event_position, stored_hash,
};
use caseledger_store::{
    CHECKPOINT_FILE, DamageKind, ErrorKind, LogReader, Store, StoreOptions, Until, segment_name,
    verify,
};
use common::*;

/// A one-segment store: a batch of a synthetic history (20 cases) and a few
/// single appends, so that there are several commit records.
fn store_with_history(dir: &Path) -> Vec<Event> {
    let store = Store::open(dir, StoreOptions::default()).unwrap();
    let events = synth(20, 5);
    let (batch_part, single) = events.split_at(events.len() - 6);
    let mut batch = store.batch().unwrap();
    append_each_in(&mut batch, batch_part);
    batch.commit().unwrap();
    append_each(&store, single);
    events
}

/// The frames of a segment: its header and each record body.
fn frames(segment: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let header = segment[..SEGMENT_HEADER_BYTES].to_vec();
    let mut bodies = Vec::new();
    let mut at = SEGMENT_HEADER_BYTES;
    while at < segment.len() {
        let body = decode_frame(&segment[at..]).unwrap().to_vec();
        at += FRAME_HEADER_BYTES + body.len();
        bodies.push(body);
    }
    (header, bodies)
}

/// Frames `bodies` back into a segment, with each frame's CRC computed;
/// with `rechain`, every chain hash is recomputed from the header's
/// previous hash, as a forger who knows the format would. Returns the bytes
/// and the last record's hash.
fn assemble(header: &[u8], bodies: &[Vec<u8>], rechain: bool) -> (Vec<u8>, Hash) {
    let mut out = header.to_vec();
    let mut prev: Hash = header[24..56].try_into().unwrap();
    for body in bodies {
        let mut body = body.clone();
        if rechain {
            let hash = chain_hash(&prev, hashed_part(&body));
            let n = body.len();
            body[n - HASH_BYTES..].copy_from_slice(&hash);
        }
        prev = stored_hash(&body);
        let len = (body.len() as u32).to_le_bytes();
        let crc = crc32c::crc32c_append(crc32c::crc32c(&len), &body);
        out.extend_from_slice(&len);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&body);
    }
    (out, prev)
}

/// Writes a checkpoint file naming (segment 1, `offset`, `position`,
/// `hash`), as docs/store-format.md specifies its slot.
fn write_checkpoint(dir: &Path, offset: u64, position: u64, hash: &Hash) {
    let mut slot = [0u8; 96];
    slot[0..8].copy_from_slice(b"CLEDGCKP");
    slot[8..10].copy_from_slice(&1u16.to_le_bytes());
    slot[12..16].copy_from_slice(&1u32.to_le_bytes());
    slot[16..24].copy_from_slice(&1000u64.to_le_bytes());
    slot[24..32].copy_from_slice(&offset.to_le_bytes());
    slot[32..40].copy_from_slice(&position.to_le_bytes());
    slot[40..72].copy_from_slice(hash);
    let crc = crc32c::crc32c(&slot[0..92]);
    slot[92..96].copy_from_slice(&crc.to_le_bytes());
    // Sequence 1000 is even: slot 0; the other slot is older.
    let mut file = [0u8; 192];
    file[..96].copy_from_slice(&slot);
    std::fs::write(dir.join(CHECKPOINT_FILE), file).unwrap();
}

/// Rewrites segment 1 with `edit` applied to its bodies; with `rechain`,
/// recomputes the chain and points the checkpoint at the new end, so that
/// only the positions can tell.
fn tamper(dir: &Path, rechain: bool, edit: impl FnOnce(&mut Vec<Vec<u8>>)) {
    let path = dir.join(segment_name(1));
    let (header, mut bodies) = frames(&std::fs::read(&path).unwrap());
    edit(&mut bodies);
    let (bytes, last) = assemble(&header, &bodies, rechain);
    std::fs::write(&path, &bytes).unwrap();
    if rechain {
        let events = bodies
            .iter()
            .filter(|b| peek_event_position(b).is_some())
            .count() as u64;
        write_checkpoint(dir, bytes.len() as u64, events, &last);
    }
}

/// The error of a parallel read of the whole log ([`LogIter::fold_partitions`]
/// on `parts` threads, blocks of about `block_bytes`), if it fails.
fn fold_error(
    reader: &LogReader,
    parts: usize,
    block_bytes: usize,
    verified: bool,
) -> Option<caseledger_store::Error> {
    let read = reader.read(1, Until::End).block_bytes(block_bytes);
    let read = if verified { read } else { read.unverified() };
    read.fold_partitions(parts, |_| 0u64, |n, _| *n += 1).err()
}

fn is_event(body: &[u8]) -> bool {
    peek_event_position(body).is_some()
}

/// The index of the body of the first `surveyed` event and its score's byte.
fn survey_score(bodies: &[Vec<u8>]) -> (usize, usize, u64) {
    for (i, b) in bodies.iter().enumerate() {
        if let Ok(Record::Event(r)) = decode_body(b)
            && matches!(r.event.data, EventData::Surveyed(_))
        {
            // The payload follows the 76 fixed bytes and the actor.
            let at = match b[76] {
                2 => 77 + 1 + usize::from(b[77]),
                _ => 77,
            };
            return (i, at, r.position);
        }
    }
    panic!("no survey in the history");
}

/// Every way to read the log whole must fail with corruption at
/// `position`: the index-free reader (1 and 3 partitions, as `report` and
/// `export` read), both opens (`history`, the service), and `verify`.
fn every_read_fails_at(dir: &Path, position: u64, kind: DamageKind) {
    let reader = LogReader::open(dir).unwrap();
    // The parallel read, whatever its blocks and threads, names the same
    // record.
    for (parts, block_bytes) in [(2, 1), (3, 700), (2, 1 << 20)] {
        let err = fold_error(&reader, parts, block_bytes, true)
            .unwrap_or_else(|| panic!("a parallel read ({parts}, {block_bytes}) read it"));
        let ErrorKind::Corrupt(d) = err.kind() else {
            panic!("{err}")
        };
        assert_eq!(d.position, Some(position), "{err}");
        assert_eq!(d.kind, kind, "{err}");
    }
    for parts in [1, 3] {
        let err = (0..parts)
            .flat_map(|p| reader.read(1, Until::End).partition(p, parts))
            .find_map(Result::err)
            .unwrap_or_else(|| panic!("{parts} partition(s) read a tampered log"));
        assert!(err.is_corruption(), "{err}");
        let ErrorKind::Corrupt(d) = err.kind() else {
            unreachable!()
        };
        assert_eq!(d.position, Some(position), "{err}");
        assert_eq!(d.kind, kind, "{err}");
    }
    let err = Store::open_read_only(dir).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let before = std::fs::read(dir.join(segment_name(1))).unwrap();
    let err = Store::open(dir, StoreOptions::default()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert_eq!(std::fs::read(dir.join(segment_name(1))).unwrap(), before);
    assert!(verify(dir, |_| {}).unwrap_err().is_corruption());
}

#[test]
fn a_changed_score_with_its_crc_fixed_is_caught_by_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    store_with_history(dir.path());
    let mut position = 0;
    tamper(dir.path(), false, |bodies| {
        let (i, at, p) = survey_score(bodies);
        bodies[i][at] = if bodies[i][at] == 5 { 1 } else { 5 };
        position = p;
    });
    every_read_fails_at(dir.path(), position, DamageKind::ChainBroken);
    // A read that skips the chain on purpose still reads, and says so.
    let reader = LogReader::open(dir.path()).unwrap();
    let read = reader.read(1, Until::End).unverified();
    assert!(!read.is_verified());
    assert_eq!(read.count() as u64, reader.head().position);
    assert!(reader.read(1, Until::End).is_verified());
}

#[test]
fn a_deleted_record_with_the_chain_recomputed_is_caught_by_the_positions() {
    let dir = tempfile::tempdir().unwrap();
    store_with_history(dir.path());
    tamper(dir.path(), true, |bodies| {
        bodies.remove(10);
    });
    // Position 12 is now where 11 was expected.
    every_read_fails_at(dir.path(), 11, DamageKind::Inconsistent);
}

#[test]
fn duplicated_records_with_the_chain_recomputed_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    store_with_history(dir.path());
    tamper(dir.path(), true, |bodies| {
        let copies: Vec<Vec<u8>> = bodies[20..25].to_vec();
        for (k, c) in copies.into_iter().enumerate() {
            bodies.insert(25 + k, c);
        }
    });
    every_read_fails_at(dir.path(), 26, DamageKind::Inconsistent);
}

#[test]
fn swapped_records_with_the_chain_recomputed_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    store_with_history(dir.path());
    tamper(dir.path(), true, |bodies| {
        assert!(is_event(&bodies[30]) && is_event(&bodies[31]));
        bodies.swap(30, 31);
    });
    every_read_fails_at(dir.path(), 31, DamageKind::Inconsistent);
}

#[test]
fn reads_after_the_open_are_checked_against_what_the_open_verified() {
    let dir = tempfile::tempdir().unwrap();
    let events = store_with_history(dir.path());
    let store = Store::open_read_only(dir.path()).unwrap();
    let mut target = (CaseId::from_u128(0), 0);
    tamper(dir.path(), false, |bodies| {
        let (i, at, p) = survey_score(bodies);
        bodies[i][at] = if bodies[i][at] == 5 { 1 } else { 5 };
        let Ok(Record::Event(r)) = decode_body(&bodies[i]) else {
            unreachable!()
        };
        target = (r.event.case_id, p);
    });
    let err = store.read_stream(target.0).unwrap_err();
    let ErrorKind::Corrupt(d) = err.kind() else {
        panic!("{err}")
    };
    assert_eq!(d.position, Some(target.1), "{err}");
    // A read from a position in the middle anchors its chain to the open's.
    let err = store
        .read(target.1, Until::End)
        .unwrap()
        .find_map(Result::err)
        .unwrap();
    assert!(err.is_corruption(), "{err}");
    // Streams that were not touched still read.
    let other = events
        .iter()
        .map(|e| e.case_id)
        .find(|c| *c != target.0)
        .unwrap();
    store.read_stream(other).unwrap();
}

#[test]
fn every_read_of_a_sound_store_checks_and_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let events = store_with_history(dir.path());
    let store = Store::open_read_only(dir.path()).unwrap();
    let all: Vec<RecordedEvent> = store.read_all(1).unwrap().map(Result::unwrap).collect();
    assert_eq!(all.len(), events.len());
    for from in [2, 17, all.len() as u64] {
        let tail: Vec<RecordedEvent> = store.read_all(from).unwrap().map(Result::unwrap).collect();
        assert_eq!(tail, all[usize::try_from(from - 1).unwrap()..]);
    }
    let reader = LogReader::open(dir.path()).unwrap();
    let mut parts: Vec<RecordedEvent> = (0..4)
        .flat_map(|p| reader.read(1, Until::End).partition(p, 4))
        .map(Result::unwrap)
        .collect();
    parts.sort_by_key(|e| e.position);
    assert_eq!(parts, all);
    for e in &all {
        assert!(store.read_stream(e.event.case_id).unwrap().contains(e));
    }
}

#[test]
fn a_checkpoint_whose_segments_are_gone_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let events = store_with_history(dir.path());
    let aside = tempfile::tempdir().unwrap();
    std::fs::rename(
        dir.path().join(segment_name(1)),
        aside.path().join(segment_name(1)),
    )
    .unwrap();
    let checkpoint = std::fs::read(dir.path().join(CHECKPOINT_FILE)).unwrap();
    let missing = dir.path().join(segment_name(1));
    for attempt in 0..2 {
        // An import's open, then `recover`'s: the same open for writing.
        let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
        assert!(err.is_corruption(), "attempt {attempt}: {err}");
        let ErrorKind::Corrupt(d) = err.kind() else {
            unreachable!()
        };
        assert_eq!(d.file, missing, "{err}");
        assert_eq!(d.kind, DamageKind::Missing, "{err}");
        assert!(err.to_string().contains("missing"), "{err}");
    }
    assert_eq!(
        std::fs::read(dir.path().join(CHECKPOINT_FILE)).unwrap(),
        checkpoint,
        "the checkpoint was not overwritten"
    );
    assert!(!missing.exists(), "no segment was created");
    for err in [
        verify(dir.path(), |_| {}).unwrap_err(),
        Store::open_read_only(dir.path()).unwrap_err(),
        LogReader::open(dir.path()).unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(
            text.contains(&missing.display().to_string()),
            "names the missing file: {text}"
        );
    }
    // Put back, everything is there again.
    std::fs::rename(aside.path().join(segment_name(1)), &missing).unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.head().position, events.len() as u64);
}

#[test]
fn only_a_directory_without_acknowledged_data_is_a_new_store() {
    // No checkpoint, no segments: new.
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), StoreOptions::default()).unwrap());
    // The checkpoint of a new store and no segment (a crash during
    // creation): opens, with segment 1 created.
    std::fs::remove_file(dir.path().join(segment_name(1))).unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.head().position, 0);
    drop(store);
    // An empty checkpoint file and no segments (a crash before its first
    // write): new.
    std::fs::remove_file(dir.path().join(segment_name(1))).unwrap();
    std::fs::write(dir.path().join(CHECKPOINT_FILE), b"").unwrap();
    drop(Store::open(dir.path(), StoreOptions::default()).unwrap());
    // Segments but no checkpoint: refused, nothing changed.
    std::fs::remove_file(dir.path().join(CHECKPOINT_FILE)).unwrap();
    let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no checkpoint file"), "{err}");
    assert!(!dir.path().join(CHECKPOINT_FILE).exists());
}

#[test]
fn a_later_segment_that_is_gone_is_named() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), small_segments()).unwrap();
        append_each(&store, &synth(120, 2));
    }
    let segments = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            caseledger_store::parse_segment_name(name.to_str().unwrap()).is_some()
        })
        .count() as u32;
    assert!(segments >= 3);
    let last = dir.path().join(segment_name(segments));
    std::fs::remove_file(&last).unwrap();
    let err = Store::open(dir.path(), small_segments()).unwrap_err();
    let ErrorKind::Corrupt(d) = err.kind() else {
        panic!("{err}")
    };
    assert_eq!(d.file, last, "{err}");
    assert_eq!(d.kind, DamageKind::Missing, "{err}");
    let err = verify(dir.path(), |_| {}).unwrap_err();
    assert!(
        err.to_string().contains(&last.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_segment_that_is_a_directory_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    store_with_history(dir.path());
    let odd = dir.path().join(segment_name(2));
    std::fs::create_dir(&odd).unwrap();
    let errors = [
        Store::open(dir.path(), StoreOptions::default()).unwrap_err(),
        Store::open_read_only(dir.path()).unwrap_err(),
        LogReader::open(dir.path()).unwrap_err(),
        verify(dir.path(), |_| {}).unwrap_err(),
    ];
    for err in errors {
        assert!(
            matches!(err.kind(), ErrorKind::NotASegmentFile { .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("{} is a directory, not a segment file", odd.display())
        );
    }
    assert!(odd.is_dir(), "nothing was moved or cut");
}

#[test]
fn the_file_store_refuses_unstorable_events_like_the_memory_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let memory = InMemoryEventLog::new();
    let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
        .unwrap()
        .and_hms_nano_opt(23, 59, 59, 1_000_000_000)
        .unwrap()
        .and_utc();
    let mut e = event(1, 1);
    e.at = leap;
    let from_file = store
        .append(e.case_id, ExpectedVersion::Any, std::slice::from_ref(&e))
        .unwrap_err();
    let from_memory = memory
        .append(e.case_id, ExpectedVersion::Any, std::slice::from_ref(&e))
        .unwrap_err();
    assert_eq!(from_file.to_string(), from_memory.to_string());
    assert!(from_file.to_string().contains("leap second"), "{from_file}");
    assert_eq!(store.head().position, 0);
    drop(store);
    verify(dir.path(), |_| {}).unwrap();
}

#[test]
fn every_record_altered_is_caught_wherever_it_falls() {
    // Readers check two links at once; whichever of a pair a record is,
    // and whichever partition checks it, its alteration is caught.
    let base = tempfile::tempdir().unwrap();
    store_with_history(base.path());
    let (_, bodies) = frames(&std::fs::read(base.path().join(segment_name(1))).unwrap());
    let mut last_event = 0;
    for (k, body) in bodies.iter().enumerate() {
        let position = peek_event_position(body).unwrap_or(last_event);
        last_event = position;
        let dir = tempfile::tempdir().unwrap();
        copy_store(base.path(), dir.path());
        tamper(dir.path(), false, |bodies| {
            let b = &mut bodies[k];
            // An event's id, or a commit record's stored hash.
            let at = if is_event(b) { 40 } else { b.len() - 1 };
            b[at] ^= 0x20;
        });
        let reader = LogReader::open(dir.path()).unwrap();
        for parts in [1, 2, 3] {
            let err = (0..parts)
                .flat_map(|p| reader.read(1, Until::End).partition(p, parts))
                .find_map(Result::err)
                .unwrap_or_else(|| panic!("record {k} altered, {parts} partition(s) read it"));
            let ErrorKind::Corrupt(d) = err.kind() else {
                panic!("{err}")
            };
            // A commit record's changed hash also breaks the next record's
            // link, which a partition may reach first: either names it.
            let expected = match is_event(body) {
                true => vec![Some(position)],
                false => vec![Some(position), Some(position + 1)],
            };
            assert!(
                expected.contains(&d.position),
                "record {k}, {parts} part(s): {err}"
            );
        }
        // The parallel read reports what the sequential read reports first.
        let first = reader.read(1, Until::End).find_map(Result::err).unwrap();
        for verified in [true, false] {
            for (parts, block_bytes) in [(2, 1), (3, 300), (2, 4096)] {
                let Some(err) = fold_error(&reader, parts, block_bytes, verified) else {
                    // An unverified read cannot see an alteration whose CRC
                    // was fixed; the sequential one cannot either.
                    assert!(!verified, "record {k}: a parallel read read it");
                    let plain = reader.read(1, Until::End).unverified();
                    assert!(plain.into_iter().all(|e| e.is_ok()), "record {k}");
                    continue;
                };
                let unverified_first = reader
                    .read(1, Until::End)
                    .unverified()
                    .find_map(Result::err);
                let expected = if verified {
                    &first
                } else {
                    unverified_first.as_ref().unwrap()
                };
                assert_eq!(
                    err.to_string(),
                    expected.to_string(),
                    "record {k}, {parts} threads, blocks of {block_bytes} bytes"
                );
            }
        }
        assert!(
            Store::open_read_only(dir.path())
                .unwrap_err()
                .is_corruption()
        );
    }
}

/// A store as earlier builds wrote it: one event whose customer id holds
/// U+200B, which the rule for new ids refuses; returns the event.
fn store_written_before_the_id_rule(dir: &Path) -> Event {
    use caseledger_store::format::{GENESIS_HASH, SegmentHeader, encode_commit, encode_event};
    let old_id = CustomerId::from_stored("C-1001\u{200B}").unwrap();
    let e = Event {
        data: EventData::Opened(Opened {
            customer_id: old_id,
            channel: Channel::Phone,
            tier: Tier::Standard,
            summary: None,
            origin: caseledger::Origin::Customer,
        }),
        ..event(1, 1)
    };
    let mut bytes = SegmentHeader {
        segment: 1,
        first_position: 1,
        prev_hash: GENESIS_HASH,
    }
    .encode()
    .to_vec();
    let hash = encode_event(&mut bytes, &GENESIS_HASH, 1, 1, &e.at, &e).unwrap();
    let hash = encode_commit(&mut bytes, &hash, 1, 1);
    std::fs::write(dir.join(segment_name(1)), &bytes).unwrap();
    write_checkpoint(dir, bytes.len() as u64, 1, &hash);
    e
}

#[test]
fn a_store_written_before_the_id_rule_still_reads_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let e = store_written_before_the_id_rule(dir.path());
    let report = verify(dir.path(), |_| {}).unwrap();
    assert_eq!(report.head.position, 1);
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let read = store.read_stream(CaseId::from_u128(1)).unwrap();
    assert_eq!(read[0].event, e);
    let reader = LogReader::open(dir.path()).unwrap();
    assert_eq!(reader.read(1, Until::End).count(), 1);
    // New input with such an id is refused, by this store as by any log.
    let mut again = e.clone();
    again.event_id = EventId::from_u128(2);
    again.case_id = CaseId::from_u128(2);
    let err = store
        .append(again.case_id, ExpectedVersion::NoStream, &[again])
        .unwrap_err();
    assert!(err.to_string().contains("U+200B"), "{err}");
}

/// `caseledger copy` writes a ledger into a directory record by record
/// (`append_recorded`): a store written before the id rule is copied as it
/// is, to the same head, as the PostgreSQL log takes it. Checked by the
/// rule for new events, its first record was refused and such a ledger
/// could not be copied into a directory at all.
#[test]
fn a_store_written_before_the_id_rule_copies_as_recorded() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let e = store_written_before_the_id_rule(a.path());
    let source = LogReader::open(a.path()).unwrap();
    let target = Store::open(b.path(), StoreOptions::default()).unwrap();
    let mut batch = target.batch().unwrap();
    for record in source.read(1, Until::End) {
        batch.append_recorded(&record.unwrap()).unwrap();
    }
    batch.commit().unwrap();
    assert_eq!(target.head(), source.head());
    assert_eq!(
        target.read_stream(CaseId::from_u128(1)).unwrap()[0].event,
        e
    );
    // A new event with such an id is still refused, in the same batch kind.
    let mut again = e.clone();
    again.event_id = EventId::from_u128(2);
    again.case_id = CaseId::from_u128(2);
    let mut batch = target.batch().unwrap();
    let err = batch
        .append(again.case_id, ExpectedVersion::NoStream, &[again])
        .unwrap_err();
    assert!(err.to_string().contains("U+200B"), "{err}");
}

/// `append_recorded` skips the rule for new ids only: a record the format
/// cannot hold (here a summary over `MAX_TEXT_BYTES`, which no log reads
/// back) is refused as unstorable, whoever built it, and nothing of it is
/// written; so the copy's path lets in nothing a store's reader refuses.
#[test]
fn append_recorded_still_refuses_what_the_format_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let base = event(1, 1);
    let record = RecordedEvent {
        position: 1,
        version: 1,
        recorded_at: base.at,
        event: Event {
            data: EventData::Opened(Opened {
                customer_id: CustomerId::new("C-1").unwrap(),
                channel: Channel::Phone,
                tier: Tier::Standard,
                summary: Some("x".repeat(MAX_TEXT_BYTES + 1)),
                origin: caseledger::Origin::Customer,
            }),
            ..base
        },
    };
    let mut batch = store.batch().unwrap();
    let err = batch.append_recorded(&record).unwrap_err();
    assert!(
        matches!(
            err,
            AppendError::InvalidAppend {
                reason: InvalidAppendReason::Unstorable(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(batch.commit().unwrap(), None);
    assert_eq!(store.head().position, 0);
}

/// Issue 16: a partitioned read shares the checks out by chunks of records,
/// so a record whose bytes changed (its CRC left broken) is caught by
/// exactly one partition, verified or not, wherever it falls; and every
/// partition that catches it names its position. Reading every frame's CRC
/// in every partition (as before) would make every partition fail.
#[test]
fn a_partitioned_read_checks_each_record_once() {
    let base = tempfile::tempdir().unwrap();
    let store = Store::open(base.path(), StoreOptions::default()).unwrap();
    let events = synth(150, 11);
    let (batch_part, single) = events.split_at(events.len() - 6);
    let mut batch = store.batch().unwrap();
    append_each_in(&mut batch, batch_part);
    batch.commit().unwrap();
    append_each(&store, single);
    drop(store);
    let segment = std::fs::read(base.path().join(segment_name(1))).unwrap();
    let (_, bodies) = frames(&segment);
    assert!(
        bodies.len() > 1000,
        "the log spans several chunks of records"
    );
    let mut offset = SEGMENT_HEADER_BYTES;
    let mut body_offsets = Vec::new();
    for b in &bodies {
        body_offsets.push(offset + FRAME_HEADER_BYTES);
        offset += FRAME_HEADER_BYTES + b.len();
    }
    for k in [3, 300, 555, 800, bodies.len() - 40] {
        let Some(position) = peek_event_position(&bodies[k]) else {
            panic!("record {k} is a commit; pick an event")
        };
        let dir = tempfile::tempdir().unwrap();
        copy_store(base.path(), dir.path());
        let mut bytes = segment.clone();
        // The event's id: the frame's CRC is left as it was.
        bytes[body_offsets[k] + 40] ^= 0x20;
        std::fs::write(dir.path().join(segment_name(1)), &bytes).unwrap();
        let reader = LogReader::open(dir.path()).unwrap();
        for verified in [true, false] {
            for parts in [2, 3] {
                let errors: Vec<_> = (0..parts)
                    .filter_map(|p| {
                        let read = reader.read(1, Until::End).partition(p, parts);
                        let read = if verified { read } else { read.unverified() };
                        read.into_iter().find_map(Result::err)
                    })
                    .collect();
                assert_eq!(
                    errors.len(),
                    1,
                    "record {k}, {parts} partitions, verified {verified}: {errors:?}"
                );
                let ErrorKind::Corrupt(d) = errors[0].kind() else {
                    panic!("{}", errors[0])
                };
                assert_eq!(d.position, Some(position), "{}", errors[0]);
            }
        }
    }
}

/// `verify_partitions` on `dir` with 1, 2 and 3 threads: the same verdict
/// as `verify` (the report, or the error's words), and each partition's
/// events are exactly those `verify` visits before its verdict, of that
/// partition's cases, in position order. Returns `verify`'s verdict.
fn verify_partitions_agrees(
    dir: &Path,
) -> Result<caseledger_store::VerifyReport, caseledger_store::Error> {
    let mut visited = Vec::new();
    let expected = verify(dir, |e| visited.push(e));
    for parts in [1usize, 2, 3] {
        let (got, states) =
            caseledger_store::verify_partitions(dir, parts, |_| Vec::new(), |v, e| v.push(e));
        match (&got, &expected) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{parts} threads"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{parts} threads"),
            _ => panic!("{parts} threads: {got:?}, verify: {expected:?}"),
        }
        assert_eq!(states.len(), parts);
        for (k, events) in states.iter().enumerate() {
            let mine: Vec<&RecordedEvent> = visited
                .iter()
                .filter(|e| {
                    caseledger_store::partition_of(
                        e.event.case_id.as_uuid().as_bytes(),
                        parts as u64,
                    ) == k as u64
                })
                .collect();
            assert_eq!(
                events.iter().collect::<Vec<_>>(),
                mine,
                "{parts} threads, part {k}"
            );
        }
    }
    expected
}

/// The offsets of each frame of segment 1's bytes.
fn frame_offsets(segment: &[u8]) -> Vec<usize> {
    let (_, bodies) = frames(segment);
    let mut at = SEGMENT_HEADER_BYTES;
    let mut out = Vec::new();
    for b in &bodies {
        out.push(at);
        at += FRAME_HEADER_BYTES + b.len();
    }
    out
}

/// Issue 16: `verify` on the replay's threads (`verify_partitions`, what
/// `caseledger verify` runs) makes every check `verify` makes: a sound
/// store gives the same report; every record altered (its CRC fixed, so
/// the chain must catch it) and every frame's checksum alone altered (which
/// the chain does not cover) give `verify`'s error, on any thread count.
#[test]
fn verify_on_threads_catches_what_verify_catches() {
    let base = tempfile::tempdir().unwrap();
    store_with_history(base.path());
    let sound = verify_partitions_agrees(base.path()).unwrap();
    assert!(sound.events > 50 && sound.streams == 20, "{sound:?}");
    let segment = std::fs::read(base.path().join(segment_name(1))).unwrap();
    let offsets = frame_offsets(&segment);
    let (_, bodies) = frames(&segment);
    for k in 0..bodies.len() {
        for crc_only in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            copy_store(base.path(), dir.path());
            if crc_only {
                let mut bytes = segment.clone();
                bytes[offsets[k] + 4] ^= 0x01;
                std::fs::write(dir.path().join(segment_name(1)), &bytes).unwrap();
            } else {
                tamper(dir.path(), false, |bodies| {
                    let b = &mut bodies[k];
                    let at = if is_event(b) { 40 } else { b.len() - 1 };
                    b[at] ^= 0x20;
                });
            }
            let err = verify_partitions_agrees(dir.path()).unwrap_err();
            assert!(
                err.is_corruption(),
                "record {k}, crc only {crc_only}: {err}"
            );
        }
    }
}

/// What only `verify`'s index catches, with the chain recomputed and the
/// CRCs fixed: an event id used twice (in two cases) and a stream version
/// that skips one. The threaded verify names them as `verify` does.
#[test]
fn verify_on_threads_catches_repeated_ids_and_version_gaps() {
    let base = tempfile::tempdir().unwrap();
    store_with_history(base.path());
    let (_, bodies) = frames(&std::fs::read(base.path().join(segment_name(1))).unwrap());
    // Layout of an event body: case id at 12..28, version at 28..36, event
    // id at 36..52 (docs/store-format.md).
    let events: Vec<usize> = (0..bodies.len())
        .filter(|&i| is_event(&bodies[i]))
        .collect();
    let first = events[3];
    let other_case = *events
        .iter()
        .rev()
        .find(|&&i| bodies[i][12..28] != bodies[first][12..28])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_store(base.path(), dir.path());
    tamper(dir.path(), true, |bodies| {
        let id = bodies[first][36..52].to_vec();
        bodies[other_case][36..52].copy_from_slice(&id);
    });
    let err = verify_partitions_agrees(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("repeats the one at position"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    copy_store(base.path(), dir.path());
    tamper(dir.path(), true, |bodies| {
        let b = &mut bodies[other_case];
        let version = u64::from_le_bytes(b[28..36].try_into().unwrap());
        b[28..36].copy_from_slice(&(version + 1).to_le_bytes());
    });
    let err = verify_partitions_agrees(dir.path()).unwrap_err();
    assert!(err.to_string().contains("does not follow"), "{err}");
}

/// Bytes after the checkpoint are judged by `verify`'s own rules: a torn
/// tail is a torn tail, and commits the checkpoint has not caught up with
/// are verified; the threaded verify gives the same verdicts.
#[test]
fn verify_on_threads_judges_bytes_after_the_checkpoint_as_verify_does() {
    let base = tempfile::tempdir().unwrap();
    store_with_history(base.path());
    let segment = std::fs::read(base.path().join(segment_name(1))).unwrap();
    // A torn tail: half a frame after the last commit.
    let dir = tempfile::tempdir().unwrap();
    copy_store(base.path(), dir.path());
    let mut bytes = segment.clone();
    bytes.extend_from_slice(&segment[SEGMENT_HEADER_BYTES..SEGMENT_HEADER_BYTES + 30]);
    std::fs::write(dir.path().join(segment_name(1)), &bytes).unwrap();
    let err = verify_partitions_agrees(dir.path()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TornTail(_)), "{err}");
    // A checkpoint that names an earlier commit: the log goes on, sound.
    let dir = tempfile::tempdir().unwrap();
    copy_store(base.path(), dir.path());
    let (_, bodies) = frames(&segment);
    let offsets = frame_offsets(&segment);
    let k = (0..bodies.len() - 1)
        .rev()
        .find(|&i| !is_event(&bodies[i]))
        .unwrap();
    let end = offsets[k] + FRAME_HEADER_BYTES + bodies[k].len();
    let position = bodies[..k].iter().filter(|b| is_event(b)).count() as u64;
    write_checkpoint(dir.path(), end as u64, position, &stored_hash(&bodies[k]));
    let report = verify_partitions_agrees(dir.path()).unwrap();
    assert!(report.events > position, "{report:?}");
}
