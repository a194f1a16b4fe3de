//! Copying a ledger record by record: `LogIter::with_commits` reads each
//! batch with its commit record, `Batch::append_recorded` writes an event at
//! its recorded position and time; a batch copied into one batch gives the
//! same commit hash, so the copy verifies to the same head.
#![allow(clippy::unwrap_used)]

mod common;

use caseledger::{AppendError, EventLog, ExpectedVersion, RecordedEvent};
use caseledger_store::{
    ErrorKind, Head, LogRecord, NotAsRecordedReason, Store, StoreOptions, Until, verify,
};
use common::{append_each_in, event, small_segments, synth};

/// A source of several batches of different sizes, across segments, with
/// the system clock (recorded times unlike the events' own).
fn source(dir: &std::path::Path) -> Store {
    let store = Store::open(dir, small_segments().clock(caseledger_store::Clock::System)).unwrap();
    let events = synth(60, 3);
    let mut rest = events.as_slice();
    let mut size = 1;
    while !rest.is_empty() {
        let n = size.min(rest.len());
        let mut batch = store.batch().unwrap();
        append_each_in(&mut batch, &rest[..n]);
        batch.commit().unwrap();
        rest = &rest[n..];
        size = size * 3 % 97 + 1;
    }
    store
}

/// Copies `source` from position `from` into `target`, batch by batch;
/// returns the heads each commit gave and the source's commit hashes.
fn copy(source: &Store, target: &Store, from: u64) -> (Vec<Head>, Vec<Head>) {
    let (mut got, mut want) = (Vec::new(), Vec::new());
    let mut batch = None;
    for r in source.read(from, Until::End).unwrap().with_commits() {
        match r.unwrap() {
            LogRecord::Event(e) => {
                let b = batch.get_or_insert_with(|| target.batch().unwrap());
                b.append_recorded(&e).unwrap();
            }
            LogRecord::Commit {
                last_position,
                hash,
                ..
            } => {
                want.push(Head {
                    position: last_position,
                    hash,
                });
                got.push(batch.take().unwrap().commit().unwrap().unwrap());
            }
            other => panic!("a record the copy does not know: {other:?}"),
        }
    }
    assert!(batch.is_none(), "the read ends with a commit");
    (got, want)
}

fn all(store: &Store) -> Vec<RecordedEvent> {
    store
        .read(1, Until::End)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_copy_batch_by_batch_has_every_commit_hash_and_the_same_head_and_records() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let src = source(a.path());
    let dst = Store::open(b.path(), StoreOptions::default()).unwrap();
    let (got, want) = copy(&src, &dst, 1);
    assert!(want.len() > 5, "several batches: {}", want.len());
    assert_eq!(
        got, want,
        "each copied batch ends on the source's commit hash"
    );
    assert_eq!(dst.head(), src.head());
    assert_eq!(all(&dst), all(&src), "positions, versions, recorded times");
    drop(dst);
    let report = verify(b.path(), |_| {}).unwrap();
    assert_eq!(report.head, src.head());
}

#[test]
fn commits_are_read_with_their_ranges_and_a_mid_log_read_starts_at_a_batch() {
    let a = tempfile::tempdir().unwrap();
    let src = source(a.path());
    let records: Vec<LogRecord> = src
        .read(1, Until::End)
        .unwrap()
        .with_commits()
        .collect::<Result<_, _>>()
        .unwrap();
    // Every commit closes exactly the events since the one before.
    let mut first = 1;
    let mut next = 1;
    for r in &records {
        match r {
            LogRecord::Event(e) => {
                assert_eq!(e.position, next);
                next += 1;
            }
            LogRecord::Commit {
                first_position,
                last_position,
                ..
            } => {
                assert_eq!((*first_position, *last_position), (first, next - 1));
                first = next;
            }
            other => panic!("a record the copy does not know: {other:?}"),
        }
    }
    assert_eq!(next - 1, src.head().position);
    // From the last event of the third batch: that event, then its commit,
    // whose hash is the chain at that point: what a resumed copy checks a
    // target's head against.
    let commits: Vec<(u64, [u8; 32])> = records
        .iter()
        .filter_map(|r| match r {
            LogRecord::Commit {
                last_position,
                hash,
                ..
            } => Some((*last_position, *hash)),
            _ => None,
        })
        .collect();
    let (third_end, third_hash) = commits[2];
    let mut mid = src.read(third_end, Until::End).unwrap().with_commits();
    assert!(matches!(mid.next(), Some(Ok(LogRecord::Event(e))) if e.position == third_end));
    assert!(
        matches!(mid.next(), Some(Ok(LogRecord::Commit { last_position, hash, .. }))
            if last_position == third_end && hash == third_hash)
    );
    // A read without commits is unchanged: events only.
    assert_eq!(all(&src).len() as u64, src.head().position);
}

#[test]
fn a_resumed_copy_continues_from_the_targets_head() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let src = source(a.path());
    let dst = Store::open(b.path(), StoreOptions::default()).unwrap();
    // Copy the first four batches only.
    let mut batches = 0;
    let mut batch = None;
    for r in src.read(1, Until::End).unwrap().with_commits() {
        match r.unwrap() {
            LogRecord::Event(e) => batch
                .get_or_insert_with(|| dst.batch().unwrap())
                .append_recorded(&e)
                .map(|_| ())
                .unwrap(),
            LogRecord::Commit { .. } => {
                batch.take().unwrap().commit().unwrap();
                batches += 1;
                if batches == 4 {
                    break;
                }
            }
            other => panic!("a record the copy does not know: {other:?}"),
        }
    }
    let resumed_from = dst.head().position + 1;
    copy(&src, &dst, resumed_from);
    assert_eq!(dst.head(), src.head());
    assert_eq!(all(&dst), all(&src));
}

fn refusal(e: AppendError<caseledger_store::Error>) -> (u64, NotAsRecordedReason) {
    match e {
        AppendError::Log(e) => match e.kind() {
            ErrorKind::NotAsRecorded { position, reason } => (*position, *reason),
            other => panic!("another error: {other}"),
        },
        other => panic!("another error: {other}"),
    }
}

#[test]
fn a_record_that_cannot_be_stored_as_recorded_is_refused_and_nothing_is_written() {
    let b = tempfile::tempdir().unwrap();
    let dst = Store::open(b.path(), small_segments()).unwrap();
    let e1 = event(1, 1);
    dst.append(e1.case_id, ExpectedVersion::Any, std::slice::from_ref(&e1))
        .unwrap();
    let head = dst.head();
    let at = |position, version, recorded_at, e: caseledger::Event| RecordedEvent {
        position,
        version,
        recorded_at,
        event: e,
    };
    let mut batch = dst.batch().unwrap();
    // Not the next position.
    let err = batch
        .append_recorded(&at(3, 1, e1.at, event(2, 2)))
        .unwrap_err();
    assert_eq!(refusal(err), (3, NotAsRecordedReason::NotNext { next: 2 }));
    // Recorded before the store's last record.
    let early = e1.at - chrono::Duration::seconds(1);
    let err = batch
        .append_recorded(&at(2, 1, early, event(2, 2)))
        .unwrap_err();
    assert_eq!(
        refusal(err),
        (
            2,
            NotAsRecordedReason::RecordedEarlier {
                recorded_at: early,
                last: e1.at
            }
        )
    );
    // Its id is stored already (the same event: a plain append would take
    // it for a retry).
    let err = batch
        .append_recorded(&at(2, 2, e1.at, e1.clone()))
        .unwrap_err();
    assert_eq!(
        refusal(err),
        (2, NotAsRecordedReason::AlreadyStored { position: 1 })
    );
    // Another version than the stream's next: the append contract's refusal.
    let err = batch
        .append_recorded(&at(2, 5, e1.at, event(1, 3)))
        .unwrap_err();
    assert!(
        matches!(err, AppendError::WrongExpectedVersion { .. }),
        "{err}"
    );
    assert!(batch.is_empty());
    assert_eq!(batch.commit().unwrap(), None);
    assert_eq!(dst.head(), head);
    // The message says which record and why.
    let mut batch = dst.batch().unwrap();
    let err = batch
        .append_recorded(&at(7, 1, e1.at, event(2, 2)))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the record of position 7 cannot be stored as recorded: the store's next position is 2"
    );
}
