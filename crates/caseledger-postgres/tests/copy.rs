//! The raw import and the record reads a copy between backends uses: the
//! same batches give the same head as the file store; PostgreSQL to
//! PostgreSQL keeps every record; a non-empty target is refused unless the
//! import continues its head; a failing import leaves nothing.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use caseledger::{Event, EventLog, ExpectedVersion, RecordedEvent};
use caseledger_postgres::{Clock, ErrorKind, Head, LogRecord, PgOptions};
use caseledger_store::{Store, StoreOptions};
use caseledger_synth::{Synth, SynthConfig};
use chrono::{TimeZone, Utc};
use common::TestDb;

fn history(cases: u64, seed: u64) -> Vec<Event> {
    Synth::new(SynthConfig {
        cases,
        seed,
        start: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        span_days: 30,
        customers: caseledger_synth::Customers::Uniform,
    })
    .collect()
}

/// Writes `events` to a file store in batches of `per_batch` appends (one
/// event each); returns the store's records as a copy would read them.
fn file_store_in_batches(
    dir: &std::path::Path,
    events: &[Event],
    per_batch: usize,
) -> (caseledger_store::Head, Vec<LogRecord>) {
    let store = Store::open(
        dir,
        StoreOptions::default().clock(caseledger_store::Clock::EventTime),
    )
    .unwrap();
    let mut boundaries = Vec::new();
    for chunk in events.chunks(per_batch) {
        let mut batch = store.batch().unwrap();
        let mut last = 0;
        for e in chunk {
            let done = batch
                .append(e.case_id, ExpectedVersion::Any, std::slice::from_ref(e))
                .unwrap();
            last = done.positions[0];
        }
        batch.commit().unwrap();
        boundaries.push(last);
    }
    let head = store.head();
    let recorded: Vec<RecordedEvent> = store.read_all(1).unwrap().map(|e| e.unwrap()).collect();
    let mut records = Vec::new();
    let mut first = 1;
    let mut ends = boundaries.iter().peekable();
    for e in recorded {
        let p = e.position;
        records.push(LogRecord::Event(e));
        if ends.peek() == Some(&&p) {
            records.push(LogRecord::Commit {
                first_position: first,
                last_position: p,
            });
            first = p + 1;
            ends.next();
        }
    }
    (head, records)
}

fn ok(records: &[LogRecord]) -> impl Iterator<Item = Result<LogRecord, std::io::Error>> + '_ {
    records.iter().cloned().map(Ok)
}

#[test]
fn an_import_of_the_file_stores_batches_reaches_its_head_and_copies_on() {
    let events = history(30, 3);
    let dir = tempfile::tempdir().unwrap();
    let (file_head, records) = file_store_in_batches(dir.path(), &events, 7);

    let db = TestDb::new();
    let log = db.log();
    let head = log.import(Head::EMPTY, ok(&records)).unwrap();
    assert_eq!(
        (head.position, head.hash),
        (file_head.position, file_head.hash)
    );
    let report = log.verify(|_| {}).unwrap();
    assert_eq!(report.head, head);
    assert_eq!(report.commits, events.len().div_ceil(7) as u64);
    // Read back with the boundaries: the very records imported.
    let back: Vec<LogRecord> = log.read_records(1).unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(back, records);

    // PostgreSQL to PostgreSQL, through the record stream.
    let other = TestDb::new();
    let copy = other.log();
    let copied = copy
        .import(Head::EMPTY, log.read_records(1).unwrap())
        .unwrap();
    assert_eq!(copied, head);
    assert_eq!(copy.verify(|_| {}).unwrap().head, head);
}

#[test]
fn a_non_empty_target_is_refused_and_a_resumed_copy_continues_its_head() {
    let events = history(20, 4);
    let dir = tempfile::tempdir().unwrap();
    let (file_head, records) = file_store_in_batches(dir.path(), &events, 5);
    let cut = records
        .iter()
        .position(|r| matches!(r, LogRecord::Commit { last_position, .. } if *last_position >= 20))
        .unwrap()
        + 1;

    let db = TestDb::new();
    let log = db.log();
    let partial = log.import(Head::EMPTY, ok(&records[..cut])).unwrap();
    // A second full copy onto the non-empty target: refused, nothing added.
    let err = log.import(Head::EMPTY, ok(&records)).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ImportRefused { .. }),
        "{err}"
    );
    assert_eq!(log.head().unwrap(), partial);
    // Resumed from the target's head: the rest, to the source's head.
    let done = log.import(partial, ok(&records[cut..])).unwrap();
    assert_eq!(
        (done.position, done.hash),
        (file_head.position, file_head.hash)
    );
    assert_eq!(log.head_at(partial.position).unwrap(), Some(partial));
    assert_eq!(log.head_at(partial.position + 1).unwrap(), None);
}

#[test]
fn a_failing_import_leaves_the_tables_unchanged() {
    let events = history(10, 5);
    let dir = tempfile::tempdir().unwrap();
    let (_, records) = file_store_in_batches(dir.path(), &events, 4);
    let db = TestDb::new();
    let log = db.log_with(PgOptions::default().clock(Clock::EventTime));
    // Some events appended first, so that the import continues a log.
    let e = &events[0];
    log.append(
        e.case_id,
        ExpectedVersion::NoStream,
        std::slice::from_ref(e),
    )
    .unwrap();
    let before = log.head().unwrap();

    // The file store's records moved one position on, to continue the log.
    let shifted: Vec<LogRecord> = records
        .iter()
        .map(|r| match r {
            LogRecord::Event(e) => LogRecord::Event(RecordedEvent {
                position: e.position + 1,
                ..e.clone()
            }),
            LogRecord::Commit {
                first_position,
                last_position,
            } => LogRecord::Commit {
                first_position: first_position + 1,
                last_position: last_position + 1,
            },
            _ => unreachable!(),
        })
        .collect();
    // The source fails half way: nothing of the import is stored.
    let failing = shifted
        .iter()
        .take(12)
        .cloned()
        .map(Ok)
        .chain(std::iter::once(Err(std::io::Error::other(
            "the source disk failed",
        ))));
    let err = log.import(before, failing).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ImportRefused { .. }),
        "{err}"
    );
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("source disk"), "{cause}");
    assert_eq!(log.head().unwrap(), before);

    // Records that do not continue the log (positions from 1 again over a
    // log at 1; then an event id stored already): refused, nothing stored.
    let err = log.import(before, ok(&records)).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ImportRefused { .. }),
        "{err}"
    );
    // The first event is stored already (appended above): named.
    let err = log.import(before, ok(&shifted)).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::EventIdTaken { event_id } if *event_id == events[0].event_id
        ),
        "{err}"
    );
    assert_eq!(log.head().unwrap(), before);
    let all: Vec<_> = log.read_all(1).unwrap().collect();
    assert_eq!(all.len(), 1);
    assert_eq!(log.verify(|_| {}).unwrap().head, before);
    // Trailing events with no commit marker: refused.
    let unclosed: Vec<LogRecord> = shifted
        .iter()
        .take_while(|r| matches!(r, LogRecord::Event(_)))
        .cloned()
        .collect();
    let err = log.import(before, ok(&unclosed)).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ImportRefused { .. }),
        "{err}"
    );
}
