//! Recovery rules, swept over every byte: truncation at every offset and
//! every single-bit flip of a small store.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use caseledger::*;
use caseledger_store::{CHECKPOINT_FILE, ErrorKind, Store, StoreOptions, segment_name, verify};
use common::*;

/// A small one-segment store of six appends; returns the segment's length
/// after each append and the checkpoint file's bytes after the second.
fn small_store(dir: &Path) -> (Vec<u64>, Vec<u8>) {
    let store = Store::open(dir, StoreOptions::default()).unwrap();
    let seg = dir.join(segment_name(1));
    let mut ends = Vec::new();
    let mut early_checkpoint = Vec::new();
    for k in 0..6u128 {
        let events: Vec<Event> = (0..=k % 3).map(|i| event(k % 2, k * 10 + i)).collect();
        store
            .append(CaseId::from_u128(k % 2), ExpectedVersion::Any, &events)
            .unwrap();
        ends.push(std::fs::metadata(&seg).unwrap().len());
        if k == 1 {
            early_checkpoint = std::fs::read(dir.join(CHECKPOINT_FILE)).unwrap();
        }
    }
    (ends, early_checkpoint)
}

/// How many events the first `appends` appends of `small_store` hold.
fn events_in(appends: usize) -> u64 {
    (0..appends as u64).map(|k| k % 3 + 1).sum()
}

#[test]
fn every_truncation_reopens_to_whole_appends_or_is_refused() {
    let base = tempfile::tempdir().unwrap();
    let (ends, early_checkpoint) = small_store(base.path());
    let full = *ends.last().unwrap();
    // The checkpoint from after the second append: the store knows the first
    // two appends were acknowledged; later ones it learns from the log.
    let known = ends[1];
    let (mut reopened, mut refused) = (0, 0);
    for cut in 0..=full {
        let dir = tempfile::tempdir().unwrap();
        copy_store(base.path(), dir.path());
        std::fs::write(dir.path().join(CHECKPOINT_FILE), &early_checkpoint).unwrap();
        let seg = dir.path().join(segment_name(1));
        std::fs::File::options()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(cut)
            .unwrap();
        match Store::open(dir.path(), StoreOptions::default()) {
            Ok(store) => {
                assert!(
                    cut >= known,
                    "cut at {cut} reaches acknowledged data but opened"
                );
                let whole = ends.iter().filter(|&&e| e <= cut).count();
                assert_eq!(store.head().position, events_in(whole), "cut at {cut}");
                assert_eq!(all(&store).len() as u64, events_in(whole));
                let end_of_whole = ends[whole - 1];
                let recovery = store.recovery();
                assert_eq!(recovery.cut_anything(), cut > end_of_whole, "cut at {cut}");
                if let Some(piece) = recovery.cut.first() {
                    assert_eq!(piece.from_offset, end_of_whole);
                    assert_eq!(piece.bytes, cut - end_of_whole);
                    let kept = std::fs::read(&piece.saved_to).unwrap();
                    let original = std::fs::read(base.path().join(segment_name(1))).unwrap();
                    let range =
                        usize::try_from(end_of_whole).unwrap()..usize::try_from(cut).unwrap();
                    assert_eq!(kept, original[range], "the cut bytes are kept");
                }
                drop(store);
                verify(dir.path(), |_| {}).unwrap();
                reopened += 1;
            }
            Err(e) => {
                assert!(cut < known, "cut at {cut} is after acknowledged data: {e}");
                assert!(e.is_corruption(), "{e}");
                refused += 1;
            }
        }
    }
    assert!(reopened > 0 && refused > 0);
}

#[test]
fn with_the_current_checkpoint_any_truncation_is_refused() {
    let base = tempfile::tempdir().unwrap();
    let (ends, _) = small_store(base.path());
    for cut in [0, 10, 64, ends[0], ends[4] + 3, ends[5] - 1] {
        let dir = tempfile::tempdir().unwrap();
        copy_store(base.path(), dir.path());
        let seg = dir.path().join(segment_name(1));
        std::fs::File::options()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
        assert!(err.is_corruption(), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("seg-00000001.cls"), "{msg}");
        // Neither the read-only open nor verify pass it either.
        assert!(Store::open_read_only(dir.path()).is_err());
        assert!(verify(dir.path(), |_| {}).is_err());
        // Refusing changed nothing.
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), cut);
    }
}

#[test]
fn every_single_bit_flip_is_detected() {
    let base = tempfile::tempdir().unwrap();
    let (ends, _) = small_store(base.path());
    let seg_name = segment_name(1);
    let original = std::fs::read(base.path().join(&seg_name)).unwrap();
    assert_eq!(original.len() as u64, *ends.last().unwrap());
    let dir = tempfile::tempdir().unwrap();
    copy_store(base.path(), dir.path());
    let seg = dir.path().join(&seg_name);
    for bit in 0..original.len() * 8 {
        let mut bytes = original.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&seg, &bytes).unwrap();
        let verified = verify(dir.path(), |_| {});
        assert!(
            matches!(&verified, Err(e) if e.is_corruption()),
            "bit {bit}: verify said {verified:?}"
        );
        let opened = Store::open_read_only(dir.path());
        assert!(opened.is_err(), "bit {bit}: the read-only open accepted it");
    }
    // Writer opens refuse too (checked on a sample: each may cut files).
    for bit in (0..original.len() * 8).step_by(37) {
        let d = tempfile::tempdir().unwrap();
        copy_store(base.path(), d.path());
        let mut bytes = original.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(d.path().join(&seg_name), &bytes).unwrap();
        let err = Store::open(d.path(), StoreOptions::default()).unwrap_err();
        assert!(err.is_corruption(), "bit {bit}: {err}");
        assert_eq!(std::fs::read(d.path().join(&seg_name)).unwrap(), bytes);
    }
}

#[test]
fn a_damaged_checkpoint_slot_falls_back_to_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _) = small_store(dir.path());
    let cp_path = dir.path().join(CHECKPOINT_FILE);
    let mut cp = std::fs::read(&cp_path).unwrap();
    // Damage both slots one after the other.
    let newest_head = Store::open_read_only(dir.path()).unwrap().head();
    cp[5] ^= 1;
    std::fs::write(&cp_path, &cp).unwrap();
    // The other slot is one commit older; the commits after it are found by
    // scanning, so a writer still sees everything.
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.head(), newest_head);
    drop(store);
    let mut cp = std::fs::read(&cp_path).unwrap();
    cp[5] ^= 0xff;
    cp[96 + 5] ^= 0xff;
    std::fs::write(&cp_path, &cp).unwrap();
    let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(err.to_string().contains("checkpoint"), "{err}");
}

/// A damaged slot leaves the other, which may be a commit behind the log
/// (the newer slot damaged after its commit was acknowledged): a reader,
/// which never reads past the checkpoint, would show the log without that
/// commit as the whole log, so every read refuses, naming the slot, until
/// a writer's open (which scans past it) writes the checkpoint again.
#[test]
fn a_damaged_checkpoint_slot_is_refused_by_reads_until_a_writer_rewrites_it() {
    for damaged in ["newest", "oldest"] {
        let dir = tempfile::tempdir().unwrap();
        small_store(dir.path());
        let cp_path = dir.path().join(CHECKPOINT_FILE);
        let head = Store::open_read_only(dir.path()).unwrap().head();
        let mut cp = std::fs::read(&cp_path).unwrap();
        let sequence = |cp: &[u8], slot: usize| {
            u64::from_le_bytes(cp[slot * 96 + 16..slot * 96 + 24].try_into().unwrap())
        };
        let newest = usize::from(sequence(&cp, 1) > sequence(&cp, 0));
        let slot = if damaged == "newest" {
            newest
        } else {
            1 - newest
        };
        cp[slot * 96 + 92] ^= 0xff; // the slot's checksum
        std::fs::write(&cp_path, &cp).unwrap();
        let refused = |err: caseledger_store::Error| match err.kind() {
            ErrorKind::Corrupt(d) => {
                assert_eq!(d.kind, caseledger_store::DamageKind::Checkpoint, "{err}");
                assert_eq!(d.offset, slot as u64 * 96, "{err}");
                assert!(
                    err.to_string()
                        .contains(&format!("checkpoint slot {slot} is damaged")),
                    "{err}"
                );
            }
            _ => panic!("{damaged}: not refused as a damaged checkpoint: {err}"),
        };
        refused(Store::open_read_only(dir.path()).unwrap_err());
        refused(verify(dir.path(), |_| {}).unwrap_err());
        // Unchanged by the refusals.
        assert_eq!(std::fs::read(&cp_path).unwrap(), cp, "{damaged}");
        // A writer finds every commit and writes the checkpoint again.
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        assert_eq!(store.head(), head, "{damaged}");
        drop(store);
        let reader = Store::open_read_only(dir.path()).unwrap();
        assert_eq!(reader.head(), head, "{damaged}");
        assert_eq!(all(&reader).len() as u64, events_in(6), "{damaged}");
    }
}

/// The recorded time a write follows is the last committed event's: a
/// batch cut as a torn tail (recorded later, never acknowledged) does not
/// move it, so a write after recovery is recorded as it would have been
/// without the crash (a resumed copy keeps its source's times, and a
/// generated store is the same whether or not a run was killed).
#[test]
fn a_cut_batch_leaves_the_recorded_time_of_the_next_write_alone() {
    let base = tempfile::tempdir().unwrap();
    // Small segments: the batch's bytes reach the files as it rolls over.
    let options = small_segments().clock(caseledger_store::Clock::EventTime);
    let store = Store::open(base.path(), options).unwrap();
    append_each(&store, &[event(1, 1)]); // recorded at t(1)
    let crashed = tempfile::tempdir().unwrap();
    {
        let mut batch = store.batch().unwrap();
        for i in 0..2000 {
            // Recorded at t(1000) to t(2999).
            batch
                .append(
                    CaseId::from_u128(2),
                    ExpectedVersion::Any,
                    &[event(2, 1000 + i)],
                )
                .unwrap();
        }
        copy_store(base.path(), crashed.path());
    }
    let recovered = Store::open(crashed.path(), options).unwrap();
    assert!(recovered.recovery().uncommitted_events > 0);
    append_each(&recovered, &[event(3, 5)]);
    let last = all(&recovered).pop().unwrap();
    assert_eq!(last.event.event_id, EventId::from_u128(5));
    assert_eq!(last.recorded_at, t(5), "not the cut batch's t(2999)");
}

#[test]
fn an_uncommitted_batch_is_cut_and_kept_aside() {
    let base = tempfile::tempdir().unwrap();
    let store = Store::open(base.path(), small_segments()).unwrap();
    append_each(&store, &[event(1, 1)]);
    let head = store.head();
    // Simulate a crash during a big batch: copy the files while the batch
    // is written but not committed.
    let crashed = tempfile::tempdir().unwrap();
    {
        let mut batch = store.batch().unwrap();
        for i in 0..2000 {
            batch
                .append(
                    CaseId::from_u128(i % 7),
                    ExpectedVersion::Any,
                    &[event(i % 7, 1000 + i)],
                )
                .unwrap();
        }
        copy_store(base.path(), crashed.path());
        batch.commit().unwrap();
    }
    let err = verify(crashed.path(), |_| {}).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TornTail(_)), "{err}");
    assert!(err.to_string().contains("uncommitted"), "{err}");
    let recovered = Store::open(crashed.path(), small_segments()).unwrap();
    assert_eq!(recovered.head(), head);
    let recovery = recovered.recovery().clone();
    assert!(recovery.uncommitted_events > 0);
    assert!(
        recovery.cut.len() > 1,
        "the batch spanned segments: {recovery:?}"
    );
    for piece in &recovery.cut {
        assert_eq!(
            std::fs::metadata(&piece.saved_to).unwrap().len(),
            piece.bytes
        );
    }
    drop(recovered);
    verify(crashed.path(), |_| {}).unwrap();
    let again = Store::open(crashed.path(), small_segments()).unwrap();
    assert!(!again.recovery().cut_anything());
    append_each(&again, &[event(1, 2)]);
    assert_eq!(again.head().position, 2);
}
