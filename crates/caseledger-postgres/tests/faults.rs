//! Faults: the appending connection terminated in the middle of its
//! transaction, and every connection of the database terminated: the
//! append fails with a clear error, nothing of it is visible, and the next
//! append succeeds on a new connection. On a private server of the test's
//! own (`caseledger_testkit::pg::PrivateServer`; the shared server is never
//! restarted, other tests use it): the server restarted (fast, then
//! immediate, as a crash) under running appends, and a full disk under the
//! events table (a tablespace on a small tmpfs, as root).
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use caseledger::*;
use caseledger_postgres::{Clock, ErrorKind, Head, LogRecord, PgLog, PgOptions};
use caseledger_testkit::pg::{PrivateServer, StopMode, sql_at};
use caseledger_testkit::tmpfs::{Tmpfs, fill_leaving};
use chrono::{TimeZone, Utc};
use common::{TestDb, responded};

/// Runs `sql` on `db` over a connection of its own, on a thread, and
/// returns the thread (the statements may block).
fn sql_in_background(db: &TestDb, sql: &str) -> std::thread::JoinHandle<Result<(), String>> {
    let (name, sql) = (db.name.clone(), sql.to_owned());
    std::thread::spawn(move || common::sql_on(&name, &sql))
}

/// The pids of `db`'s backends waiting on a lock.
fn waiting_backends(db: &TestDb) -> Vec<i32> {
    let name = db.name.clone();
    common::admin(move |c| {
        Box::pin(async move {
            c.query(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                &[&name],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
        })
    })
}

fn terminate(pids: &[i32]) {
    let pids = pids.to_vec();
    common::admin(move |c| {
        Box::pin(async move {
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid",
                &[&pids],
            )
            .await
            .unwrap();
        })
    });
}

#[test]
fn the_appending_connection_terminated_mid_transaction_leaves_nothing() {
    let db = TestDb::new();
    let log = db.log();
    log.append(
        CaseId::from_u128(1),
        ExpectedVersion::NoStream,
        &[responded(1, 1)],
    )
    .unwrap();
    let before = log.head().unwrap();

    // Another session holds the commits table: the append locks the head,
    // inserts its events, then waits to insert its commit marker.
    let holder = sql_in_background(
        &db,
        "BEGIN; LOCK TABLE caseledger.commits IN EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT;",
    );
    std::thread::sleep(Duration::from_millis(300));
    let appending = std::thread::scope(|s| {
        let append = s.spawn(|| {
            log.append(
                CaseId::from_u128(2),
                ExpectedVersion::NoStream,
                &[responded(2, 2), responded(2, 3)],
            )
        });
        // Wait until the append waits on the lock, past its inserts.
        let deadline = Instant::now() + Duration::from_secs(4);
        let pids = loop {
            let pids = waiting_backends(&db);
            if !pids.is_empty() || Instant::now() > deadline {
                break pids;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(pids.len(), 1, "the append waits on the commits table");
        terminate(&pids);
        append.join().unwrap()
    });
    let err = match appending {
        Err(AppendError::Log(e)) => e,
        other => panic!("expected the log's error, got {other:?}"),
    };
    assert!(
        matches!(err.kind(), ErrorKind::Database { .. } | ErrorKind::Connect),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("nothing of that transaction is stored"),
        "{err}"
    );
    holder.join().unwrap().unwrap();
    // Nothing of it: not the head, not an event, not a version.
    assert_eq!(log.head().unwrap(), before);
    assert_eq!(log.stream_version(CaseId::from_u128(2)).unwrap(), 0);
    assert_eq!(log.read_all(1).unwrap().count(), 1);
    // The next append succeeds, on a new connection.
    let done = log
        .append(
            CaseId::from_u128(2),
            ExpectedVersion::NoStream,
            &[responded(2, 2), responded(2, 3)],
        )
        .unwrap();
    assert_eq!(done.positions, vec![2, 3]);
    assert_eq!(log.verify_chain(|_| {}).unwrap().events, 3);
}

/// Every backend of the database terminated, as a restart would: a call may
/// fail once with a clear error, then the log reconnects.
#[test]
fn the_log_reconnects_after_every_connection_was_terminated() {
    let db = TestDb::new();
    let log: PgLog = db.log();
    for i in 1..=5 {
        log.append(
            CaseId::from_u128(i),
            ExpectedVersion::NoStream,
            &[responded(i, i)],
        )
        .unwrap();
    }
    let name = db.name.clone();
    common::admin(move |c| {
        Box::pin(async move {
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&name],
            )
            .await
            .unwrap();
        })
    });
    std::thread::sleep(Duration::from_millis(200));
    // The first append after: done, or a clear error with nothing stored.
    match log.append(
        CaseId::from_u128(6),
        ExpectedVersion::NoStream,
        &[responded(6, 6)],
    ) {
        Ok(done) => assert_eq!(done.positions, vec![6]),
        Err(AppendError::Log(e)) => {
            assert!(
                matches!(e.kind(), ErrorKind::Database { .. } | ErrorKind::Connect),
                "{e:?}"
            );
            assert_eq!(log.head().unwrap().position, 5);
            let done = log
                .append(
                    CaseId::from_u128(6),
                    ExpectedVersion::NoStream,
                    &[responded(6, 6)],
                )
                .unwrap();
            assert_eq!(done.positions, vec![6]);
        }
        Err(other) => panic!("{other}"),
    }
    assert_eq!(log.read_all(1).unwrap().count(), 6);
    assert_eq!(log.verify_chain(|_| {}).unwrap().events, 6);
}

/// An error with its sources, as a caller would print it.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// What the appenders of the restart test saw.
#[derive(Debug, Default)]
struct Seen {
    /// Every acknowledged append: its event ids and their positions.
    acked: Vec<(Vec<u128>, Vec<u64>)>,
    /// Every failed attempt: its error's kind and its words.
    errors: Vec<(ErrorKind, String)>,
}

/// Appends batches of 1 to 3 events to cases of its own until `stop`,
/// retrying each failed append (the same events: a retry is safe) until it
/// is stored; counts acknowledgements in `acks`.
fn append_until_stopped(log: &PgLog, thread: u128, stop: &AtomicBool, acks: &AtomicU64) -> Seen {
    let mut seen = Seen::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    for seq in 0u128.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let case = thread * 100 + seq % 5;
        let ids: Vec<u128> = (0..1 + seq % 3)
            .map(|i| (thread << 40) | (seq << 8) | i)
            .collect();
        let events: Vec<Event> = ids.iter().map(|&id| responded(case, id)).collect();
        loop {
            assert!(
                Instant::now() < deadline,
                "appends fail for a minute: {seen:?}"
            );
            match log.append(CaseId::from_u128(case), ExpectedVersion::Any, &events) {
                Ok(done) => {
                    seen.acked.push((ids, done.positions));
                    acks.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(AppendError::Log(e)) => {
                    seen.errors.push((e.kind().clone(), chain(&e)));
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(other) => panic!("append refused: {other}"),
            }
        }
    }
    seen
}

/// Waits until `counter` reaches `at_least`.
fn wait_for(counter: &AtomicU64, at_least: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while counter.load(Ordering::Relaxed) < at_least {
        assert!(Instant::now() < deadline, "waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The server restarted twice (`pg_ctl restart -m fast`, then `-m
/// immediate`: a crash, recovered from the WAL) while two threads append,
/// each time with an append held in flight (waiting on a lock after its
/// inserts): that append fails with a clear error, the appends go on after
/// the restart, and in the end every acknowledged event is stored where it
/// was told, every append whole and once, and the chain verifies.
#[test]
fn a_server_restarted_under_running_appends_loses_nothing_acknowledged() {
    let server = PrivateServer::start();
    let db = TestDb::on(&server.server_url());
    let log = db.log();
    let stop = AtomicBool::new(false);
    let acks = AtomicU64::new(0);
    let restarted_at = Mutex::new(Vec::new());
    let seen: Vec<Seen> = std::thread::scope(|s| {
        let appenders: Vec<_> = (1..=2)
            .map(|thread| {
                let (log, stop, acks) = (&log, &stop, &acks);
                s.spawn(move || append_until_stopped(log, thread, stop, acks))
            })
            .collect();
        for mode in [StopMode::Fast, StopMode::Immediate] {
            wait_for(
                &acks,
                acks.load(Ordering::Relaxed) + 20,
                "appends before the restart",
            );
            // Hold the commits table: the next group inserts its events,
            // then waits for the lock, in flight when the server stops.
            let url = db.url.clone();
            let holder = s.spawn(move || {
                sql_at(
                    &url,
                    "BEGIN; LOCK TABLE caseledger.commits IN EXCLUSIVE MODE; \
                     SELECT pg_sleep(30); COMMIT;",
                )
            });
            let name = db.name.clone();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let name = name.clone();
                let waiting: i64 = db.admin(move |c| {
                    Box::pin(async move {
                        c.query_one(
                            "SELECT count(*) FROM pg_stat_activity
                              WHERE datname = $1 AND wait_event_type = 'Lock'",
                            &[&name],
                        )
                        .await
                        .unwrap()
                        .get(0)
                    })
                });
                if waiting > 0 {
                    break;
                }
                assert!(Instant::now() < deadline, "no append waits on the lock");
                std::thread::sleep(Duration::from_millis(10));
            }
            let before = acks.load(Ordering::Relaxed);
            server.restart(mode);
            restarted_at.lock().unwrap().push(before);
            let held = holder.join().unwrap();
            assert!(
                held.is_err(),
                "the lock holder's session ended with the server"
            );
            // The appends go on, on new connections.
            wait_for(&acks, before + 20, "appends after the restart");
        }
        stop.store(true, Ordering::Relaxed);
        appenders.into_iter().map(|a| a.join().unwrap()).collect()
    });

    // Each restart failed the append in flight, with words that say so.
    let errors: Vec<&(ErrorKind, String)> = seen.iter().flat_map(|s| &s.errors).collect();
    assert!(
        errors
            .iter()
            .filter(|(kind, _)| {
                matches!(
                    kind,
                    ErrorKind::Database { .. } | ErrorKind::OutcomeUnknown { .. }
                )
            })
            .count()
            >= 2,
        "each restart fails the append in flight: {errors:?}\n{}",
        server.log()
    );
    for (kind, text) in &errors {
        match kind {
            ErrorKind::Database { .. } => assert!(
                text.contains("nothing of that transaction is stored"),
                "{text}"
            ),
            // The connection closed with the commit sent, no word from the
            // server: the client cannot know (the retry learns it).
            ErrorKind::OutcomeUnknown { .. } => {
                assert!(text.contains("may or may not be stored"), "{text}")
            }
            ErrorKind::Connect => {
                assert!(
                    text.contains("cannot connect to the PostgreSQL server"),
                    "{text}"
                )
            }
            other => panic!("an unclear error for a restart: {other:?}: {text}"),
        }
    }
    // Every acknowledged append stored where it was told, whole, once;
    // nothing else stored (every append was retried until acknowledged).
    let stored: Vec<RecordedEvent> = log.read_all(1).unwrap().map(|e| e.unwrap()).collect();
    let at: BTreeMap<u64, u128> = stored
        .iter()
        .map(|e| (e.position, e.event.event_id.as_uuid().as_u128()))
        .collect();
    assert_eq!(
        at.keys().copied().collect::<Vec<_>>(),
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "gapless positions"
    );
    let mut acked_ids = BTreeSet::new();
    for (ids, positions) in seen.iter().flat_map(|s| &s.acked) {
        assert_eq!(ids.len(), positions.len());
        assert!(
            positions.windows(2).all(|w| w[1] == w[0] + 1),
            "whole: {positions:?}"
        );
        for (id, p) in ids.iter().zip(positions) {
            assert_eq!(at.get(p), Some(id), "the acknowledged event at {p}");
            assert!(acked_ids.insert(*id), "an event acknowledged twice");
        }
    }
    assert_eq!(
        acked_ids.len(),
        stored.len(),
        "nothing stored but the acknowledged"
    );
    let report = log.verify_chain(|_| {}).unwrap();
    assert_eq!(report.events, stored.len() as u64);
    assert_eq!(report.head, log.head().unwrap());
    eprintln!(
        "restarts (fast, immediate) after {:?} acknowledged appends: {} appends, {} events, \
         {} failed attempts",
        restarted_at.lock().unwrap(),
        seen.iter().map(|s| s.acked.len()).sum::<usize>(),
        stored.len(),
        errors.len()
    );
}

/// A file store's history as the records an import takes (`per_batch`
/// events a batch), recorded at the events' own times; and its head.
fn records_of(events: &[Event], per_batch: usize) -> (caseledger_store::Head, Vec<LogRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let options =
        caseledger_store::StoreOptions::default().clock(caseledger_store::Clock::EventTime);
    let store = caseledger_store::Store::open(dir.path(), options).unwrap();
    for chunk in events.chunks(per_batch) {
        let mut batch = store.batch().unwrap();
        for e in chunk {
            batch
                .append(e.case_id, ExpectedVersion::Any, std::slice::from_ref(e))
                .unwrap();
        }
        batch.commit().unwrap();
    }
    let records = store
        .read(1, caseledger_store::Until::End)
        .unwrap()
        .with_commits()
        .map(|r| match r.unwrap() {
            caseledger_store::LogRecord::Event(e) => LogRecord::Event(e),
            caseledger_store::LogRecord::Commit {
                first_position,
                last_position,
                ..
            } => LogRecord::Commit {
                first_position,
                last_position,
            },
            other => panic!("a record this test does not know: {other:?}"),
        })
        .collect();
    (store.head(), records)
}

/// Everything the log holds, to compare before and after a failure.
fn contents(log: &PgLog) -> (Head, Vec<RecordedEvent>) {
    (
        log.head().unwrap(),
        log.read_all(1).unwrap().map(|e| e.unwrap()).collect(),
    )
}

/// The events table (and its indexes) on a tablespace of a 8 MiB tmpfs,
/// filled but for 256 KiB: an append and an import that need more fail
/// with the server's "No space left on device", the tables unchanged; once
/// the filler is removed, the same import and append succeed, to the file
/// store's head. Root only (mounting); skipped with the reason otherwise.
#[test]
fn a_full_disk_under_the_events_table_fails_the_import_and_changes_nothing() {
    let Some(tmpfs) = Tmpfs::mount(8 << 20) else {
        return;
    };
    let server = PrivateServer::start();
    let space = tmpfs.path().join("tablespace");
    std::fs::create_dir(&space).unwrap();
    server.give_to_server(&space);
    let db = TestDb::on(&server.server_url());
    let log = db.log_with(PgOptions::default().clock(Clock::EventTime));
    db.sql(&format!(
        "CREATE TABLESPACE small LOCATION '{}'",
        space.display()
    ))
    .unwrap();
    db.sql(
        "ALTER TABLE caseledger.events SET TABLESPACE small;
         DO $$ DECLARE i regclass; BEGIN
           FOR i IN SELECT indexrelid::regclass FROM pg_index
                     WHERE indrelid = 'caseledger.events'::regclass LOOP
             EXECUTE format('ALTER INDEX %s SET TABLESPACE small', i);
           END LOOP;
         END $$;",
    )
    .unwrap();

    let history: Vec<Event> = caseledger_synth::Synth::new(caseledger_synth::SynthConfig {
        cases: 900,
        seed: 26,
        start: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        span_days: 60,
        customers: caseledger_synth::Customers::Uniform,
    })
    .collect();
    let (file_head, records) = records_of(&history, 50);
    // A first part imported while there is room: the import that fails
    // continues a log.
    let cut = records
        .iter()
        .position(|r| matches!(r, LogRecord::Commit { last_position, .. } if *last_position >= 200))
        .unwrap()
        + 1;
    let first = log
        .import(
            Head::EMPTY,
            records[..cut].iter().cloned().map(Ok::<_, std::io::Error>),
        )
        .unwrap();
    let before = contents(&log);

    let filler = tmpfs.path().join("filler");
    fill_leaving(&filler, 256 << 10, 4096);
    // An append of 4,000 events (about a megabyte of rows).
    let big: Vec<Event> = (0..4000).map(|i| responded(7_000, 7_000_000 + i)).collect();
    let case = CaseId::from_u128(7_000);
    let err = match log.append(case, ExpectedVersion::NoStream, &big) {
        Err(AppendError::Log(e)) => e,
        other => panic!("the append must fail for want of space: {other:?}"),
    };
    let text = chain(&err);
    assert!(matches!(err.kind(), ErrorKind::Database { .. }), "{text}");
    assert!(
        text.contains("nothing of that transaction is stored")
            && text.contains("No space left on device"),
        "{text}"
    );
    assert_eq!(contents(&log), before, "the failed append changed the log");
    // The rest of the history: about 5,500 events.
    let rest = || records[cut..].iter().cloned().map(Ok::<_, std::io::Error>);
    let err = log.import(first, rest()).unwrap_err();
    let text = chain(&err);
    assert!(matches!(err.kind(), ErrorKind::Database { .. }), "{text}");
    assert!(text.contains("No space left on device"), "{text}");
    assert_eq!(contents(&log), before, "the failed import changed the log");

    // Room again: the same import, then the same append.
    std::fs::remove_file(&filler).unwrap();
    let head = log.import(first, rest()).unwrap();
    assert_eq!(
        (head.position, head.hash),
        (file_head.position, file_head.hash)
    );
    let done = log.append(case, ExpectedVersion::NoStream, &big).unwrap();
    assert_eq!(done.positions.len(), big.len());
    let report = log.verify_chain(|_| {}).unwrap();
    assert_eq!(report.events, history.len() as u64 + 4000);
    assert_eq!(report.head, log.head().unwrap());
    eprintln!(
        "ENOSPC in a tablespace: an append of {} events and an import of {} records refused, \
         then both stored ({} events)",
        big.len(),
        records.len() - cut,
        report.events
    );
}
