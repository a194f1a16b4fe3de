//! The file store behaves like the in-memory reference log, survives
//! reopening, rolls segments, reads ranges, and guards the writer.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};

use caseledger::*;
use caseledger_store::{
    CHECKPOINT_FILE, Clock, ErrorKind, InvalidOptionReason, MAX_SEGMENT_BYTES, MIN_SEGMENT_BYTES,
    NotAStoreReason, OwnershipLoss, Store, StoreOptions, Until, verify,
};
use common::*;

#[test]
fn behaves_like_the_in_memory_log_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let events = synth(300, 7);
    let reference = InMemoryEventLog::new();
    {
        let store = Store::open(dir.path(), small_segments()).unwrap();
        append_each(&store, &events);
        append_each_reference(&reference, &events);
        assert_eq!(all(&store), reference_all(&reference));
        assert!(
            std::fs::read_dir(dir.path()).unwrap().count() > 4,
            "segments rolled"
        );
    }
    let store = Store::open(dir.path(), small_segments()).unwrap();
    assert!(!store.recovery().cut_anything());
    assert_eq!(all(&store), reference_all(&reference));
    for case in events.iter().map(|e| e.case_id).take(50) {
        assert_eq!(
            store.read_stream(case).unwrap(),
            reference.read_stream(case).unwrap()
        );
    }
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(all(&ro), reference_all(&reference));
    let report = verify(dir.path(), |_| {}).unwrap();
    assert_eq!(report.events, events.len() as u64);
    assert_eq!(report.head, store.head());
}

fn append_each_reference(log: &InMemoryEventLog, events: &[Event]) {
    for e in events {
        let v = log.read_stream(e.case_id).unwrap().len() as u64;
        log.append(
            e.case_id,
            ExpectedVersion::Exact(v),
            std::slice::from_ref(e),
        )
        .unwrap();
    }
}

fn reference_all(log: &InMemoryEventLog) -> Vec<RecordedEvent> {
    log.read_all(1).unwrap().map(Result::unwrap).collect()
}

/// `event` with another time: the same id for a different command.
fn moved(e: &Event, minutes: i64) -> Event {
    let mut e = e.clone();
    e.at += chrono::Duration::minutes(minutes);
    e
}

fn assert_reused(result: Result<Appended, AppendError<caseledger_store::Error>>, stored: &Event) {
    match result {
        Err(AppendError::IdempotencyKeyReused { recorded, .. }) => {
            assert_eq!(recorded.event, *stored)
        }
        other => panic!("expected a reused idempotency key, got {other:?}"),
    }
}

#[test]
fn a_stored_id_with_another_event_is_refused_wherever_the_id_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let case = CaseId::from_u128(1);
    let first = event(1, 10);
    {
        let store = Store::open(dir.path(), small_segments()).unwrap();
        store
            .append(
                case,
                ExpectedVersion::NoStream,
                std::slice::from_ref(&first),
            )
            .unwrap();
        // Committed: found through the index, read from the file.
        assert_reused(
            store.append(case, ExpectedVersion::Any, &[moved(&first, 1)]),
            &first,
        );
        // Within a batch: ids of earlier appends in the batch, whose bytes
        // are in earlier (rolled) segments or still in the writer's buffer.
        let many: Vec<Event> = (0..2_000).map(|i| event(1, 1_000 + i)).collect();
        let mut batch = store.batch().unwrap();
        for e in &many {
            let v = batch.stream_version(case);
            batch
                .append(case, ExpectedVersion::Exact(v), std::slice::from_ref(e))
                .unwrap();
        }
        for e in [&many[0], &many[1_000], &many[1_999]] {
            assert_reused(batch.append(case, ExpectedVersion::Any, &[moved(e, 1)]), e);
            let retry = batch
                .append(case, ExpectedVersion::Any, std::slice::from_ref(e))
                .unwrap();
            assert!(retry.already_stored);
        }
        batch.commit().unwrap();
    }
    let store = Store::open(dir.path(), small_segments()).unwrap();
    // After a reopen, on the same and on another stream.
    assert_reused(
        store.append(case, ExpectedVersion::Any, &[moved(&first, 1)]),
        &first,
    );
    let mut elsewhere = first.clone();
    elsewhere.case_id = CaseId::from_u128(2);
    assert_reused(
        store.append(elsewhere.case_id, ExpectedVersion::Any, &[elsewhere]),
        &first,
    );
    assert_eq!(store.head().position, 2_001, "nothing refused was written");
    assert_eq!(
        store
            .stored_event(&first.event_id)
            .unwrap()
            .map(|r| r.event),
        Some(first)
    );
}

#[test]
fn reads_from_a_position_and_up_to_a_position_or_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small_segments()).unwrap();
    let events = synth(100, 3);
    append_each(&store, &events);
    let everything = all(&store);
    let from_40: Vec<_> = store.read_all(40).unwrap().map(Result::unwrap).collect();
    assert_eq!(from_40, everything[39..]);
    let upto: Vec<_> = store
        .read(10, Until::Position(20))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(upto, everything[9..20]);
    // With the event-time clock, recorded_at is each event's time.
    let cutoff = everything[30].recorded_at;
    let as_of: Vec<_> = store
        .read(1, Until::RecordedAt(cutoff))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: Vec<_> = everything
        .iter()
        .filter(|e| e.recorded_at <= cutoff)
        .cloned()
        .collect();
    assert_eq!(as_of, expected);
    assert_eq!(
        store.read_all(everything.len() as u64 + 1).unwrap().count(),
        0
    );
    // Partitions are disjoint by case and cover the log.
    let mut parts: Vec<RecordedEvent> = (0..3)
        .flat_map(|p| store.read(1, Until::End).unwrap().partition(p, 3))
        .map(Result::unwrap)
        .collect();
    parts.sort_by_key(|e| e.position);
    assert_eq!(parts, everything);
}

#[test]
fn recorded_at_never_decreases_with_the_system_clock() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::default().clock(Clock::System);
    let store = Store::open(dir.path(), options).unwrap();
    append_each(&store, &synth(20, 1));
    let times: Vec<_> = all(&store).iter().map(|e| e.recorded_at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn a_batch_spanning_streams_and_segments_commits_or_vanishes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small_segments()).unwrap();
    let events = synth(200, 9);
    // Dropped without commit: nothing visible, nothing left on disk.
    {
        let mut batch = store.batch().unwrap();
        append_each_in(&mut batch, &events);
        assert_eq!(batch.len(), events.len() as u64);
    }
    assert_eq!(store.head().position, 0);
    assert_eq!(all(&store).len(), 0);
    assert_eq!(segment_count(dir.path()), 1);
    // Committed: all visible at once, with one commit.
    let mut batch = store.batch().unwrap();
    append_each_in(&mut batch, &events);
    let head = batch.commit().unwrap().unwrap();
    assert_eq!(head.position, events.len() as u64);
    assert!(segment_count(dir.path()) > 1);
    assert_eq!(all(&store).len(), events.len());
    drop(store);
    assert_eq!(verify(dir.path(), |_| {}).unwrap().head, head);
}

#[test]
fn a_second_writer_in_this_process_is_refused_and_readers_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    append_each(&store, &[event(1, 1)]);
    let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Locked { .. }), "{err}");
    assert!(err.to_string().contains("locked by another process"));
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(all(&ro).len(), 1);
    assert!(matches!(
        ro.append(CaseId::from_u128(9), ExpectedVersion::Any, &[event(9, 9)]),
        Err(AppendError::Log(e)) if matches!(e.kind(), ErrorKind::ReadOnly)
    ));
    // verify works while the writer runs, up to the acknowledged end.
    let report = verify(dir.path(), |_| {}).unwrap();
    assert!(report.writer_active);
    assert_eq!(report.events, 1);
}

/// Child: tries to open the store named by the argument for writing and
/// prints the outcome.
#[test]
fn child_second_writer() {
    let Some(dir) = child_arg() else { return };
    match Store::open(&dir, StoreOptions::default()) {
        Ok(_) => println!("opened"),
        Err(e) => println!("refused: {e}"),
    }
}

#[test]
fn a_second_writer_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let mut child = spawn_child("child_second_writer", dir.path().to_str().unwrap());
    let out = BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> = out.lines().map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("refused:") && l.contains("locked by another process")),
        "{lines:?}"
    );
}

#[test]
fn read_only_open_of_a_missing_store_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open_read_only(dir.path().join("nope")).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::NotAStore {
                reason: NotAStoreReason::NoDirectory,
                ..
            }
        ),
        "{err}"
    );
    let err = Store::open_read_only(dir.path()).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::NotAStore {
                reason: NotAStoreReason::NoCheckpoint,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("no checkpoint file"), "{err}");
}

#[test]
fn a_segment_size_out_of_range_is_an_invalid_option_with_its_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::default().segment_bytes(MIN_SEGMENT_BYTES - 1);
    let err = Store::open(dir.path().join("s"), options).unwrap_err();
    let ErrorKind::InvalidOption { name, reason } = err.kind() else {
        panic!("not InvalidOption: {err}");
    };
    assert_eq!(*name, "segment_bytes");
    assert_eq!(
        *reason,
        InvalidOptionReason::OutOfRange {
            value: MIN_SEGMENT_BYTES - 1,
            min: MIN_SEGMENT_BYTES,
            max: MAX_SEGMENT_BYTES,
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "invalid option segment_bytes: {}; allowed {MIN_SEGMENT_BYTES} to {MAX_SEGMENT_BYTES}",
            MIN_SEGMENT_BYTES - 1
        )
    );
    assert!(!dir.path().join("s").exists(), "nothing was created");
}

#[test]
fn a_checkpoint_removed_under_the_writer_is_a_lost_ownership_with_the_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let first = event(1, 1);
    store
        .append(first.case_id, ExpectedVersion::NoStream, &[first])
        .unwrap();
    std::fs::remove_file(dir.path().join(CHECKPOINT_FILE)).unwrap();
    for id in [2, 3] {
        // The first refusal finds it; every later write is refused with it.
        let e = event(1, id);
        let Err(AppendError::Log(err)) = store.append(e.case_id, ExpectedVersion::Any, &[e]) else {
            panic!("the write was not refused as a log error");
        };
        let ErrorKind::NotOwner {
            reason: OwnershipLoss::Gone { path, .. },
        } = err.kind()
        else {
            panic!("not NotOwner(Gone): {err}");
        };
        assert_eq!(*path, dir.path().join(CHECKPOINT_FILE));
        let os = std::error::Error::source(&err)
            .and_then(|loss| loss.source())
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .expect("the OS error is in the chain");
        assert_eq!(os.kind(), std::io::ErrorKind::NotFound);
        assert!(
            err.to_string()
                .starts_with("the store is no longer this writer's ("),
            "{err}"
        );
        assert!(err.to_string().contains(" is gone ("), "{err}");
    }
}

#[test]
fn segments_without_a_checkpoint_are_not_a_store_and_stay_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), StoreOptions::default()).unwrap());
    std::fs::remove_file(dir.path().join(CHECKPOINT_FILE)).unwrap();
    let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::NotAStore {
                reason: NotAStoreReason::SegmentsWithoutCheckpoint,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("where its acknowledged data ends is unknown; nothing was changed"),
        "{err}"
    );
    assert!(!dir.path().join(CHECKPOINT_FILE).exists());
}

#[test]
fn the_index_free_reader_reads_the_same_and_notices_missing_data() {
    use caseledger_store::LogReader;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small_segments()).unwrap();
    append_each(&store, &synth(150, 5));
    let everything = all(&store);
    let head = store.head();
    drop(store);
    let reader = LogReader::open(dir.path()).unwrap();
    assert_eq!(reader.head(), head);
    let read: Vec<_> = reader.read(1, Until::End).map(Result::unwrap).collect();
    assert_eq!(read, everything);
    let from: Vec<_> = reader.read(77, Until::End).map(Result::unwrap).collect();
    assert_eq!(from, everything[76..]);
    // Cut acknowledged bytes off the last segment: the read ends in an error,
    // not silently short.
    let last = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("seg-"))
        .max()
        .unwrap();
    let len = std::fs::metadata(&last).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len - 200)
        .unwrap();
    let reader = LogReader::open(dir.path()).unwrap();
    let results: Vec<_> = reader.read(1, Until::End).collect();
    let err = results.last().unwrap().as_ref().unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(
        results.len() <= everything.len(),
        "events in the cut bytes are not yielded"
    );
}

#[test]
fn a_reserved_batch_stores_the_same_events_and_still_finds_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small_segments()).unwrap();
    let events = synth(200, 11);
    let (first, second) = events.split_at(events.len() / 2);
    // Far more than the cap: only a hint, capped, so it neither fails
    // nor takes the memory it names.
    for (part, hint) in [(first, u64::MAX), (second, 3)] {
        let mut batch = store.batch().unwrap();
        batch.reserve(hint);
        append_each_in(&mut batch, part);
        let again = batch
            .append(part[0].case_id, ExpectedVersion::Any, &part[..1])
            .unwrap();
        assert!(again.already_stored, "a repeat within the batch is found");
        batch.commit().unwrap();
    }
    let stored: Vec<Event> = all(&store).into_iter().map(|r| r.event).collect();
    assert_eq!(stored, events);
    let head = store.head();
    drop(store);
    assert_eq!(verify(dir.path(), |_| {}).unwrap().head, head);
}

/// A bank logs its service with `{:?}` (a tracing field, a panic message):
/// the store's `Debug` form is a few fields, the same length for a log of
/// 1 or 500 events, never its index (an entry per event, with event ids).
#[test]
fn debug_form_does_not_grow_with_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    store
        .append(CaseId::from_u128(1), ExpectedVersion::Any, &[event(1, 1)])
        .unwrap();
    let small = format!("{store:?}");
    for id in 2..=500u128 {
        store
            .append(
                CaseId::from_u128(id),
                ExpectedVersion::Any,
                &[event(id, id)],
            )
            .unwrap();
    }
    let large = format!("{store:?}");
    assert!(large.contains("streams: 500"), "{large}");
    // The head's position and stream count gain digits, and the hash's
    // bytes print in 1 to 3 digits each: bounded, far from twice as long.
    assert!(
        large.len() < 2 * small.len(),
        "{} -> {} bytes",
        small.len(),
        large.len()
    );
    assert!(
        !large.contains(&EventId::from_u128(1).to_string()),
        "{large}"
    );
}

/// A `Batch`'s `Debug` form (a tracing field, an `unwrap` message) is a few
/// fields, never the index and writer behind it: the same for a batch on a
/// store of 1 or 500 events, and no event id of the store in it.
#[test]
fn batch_debug_form_does_not_grow_with_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    store
        .append(CaseId::from_u128(1), ExpectedVersion::Any, &[event(1, 1)])
        .unwrap();
    let small = format!("{:?}", store.batch().unwrap());
    for id in 2..=500u128 {
        store
            .append(
                CaseId::from_u128(id),
                ExpectedVersion::Any,
                &[event(id, id)],
            )
            .unwrap();
    }
    let mut batch = store.batch().unwrap();
    batch
        .append(
            CaseId::from_u128(501),
            ExpectedVersion::NoStream,
            &[event(501, 501)],
        )
        .unwrap();
    let large = format!("{batch:?}");
    assert!(
        large.len() < 2 * small.len(),
        "{} -> {} bytes",
        small.len(),
        large.len()
    );
    assert!(
        !large.contains(&EventId::from_u128(1).to_string()),
        "{large}"
    );
    assert!(large.contains("events: 1"), "{large}");
    assert!(large.contains("first_position: 501"), "{large}");
}
