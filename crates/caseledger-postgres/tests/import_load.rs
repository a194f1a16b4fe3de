//! Imports into an empty log build the secondary keys after the load
//! (and keep them whatever happens), refuse a repeated event id naming it;
//! and the planner after a large import: the import refreshes the tables'
//! statistics before it commits, and `read_all`'s pages are bounded ranges
//! of the primary key, so that reading right after a load never scans and
//! sorts the rest of the table for each page (163.7 s over 1M events
//! before; see docs/postgres.md).
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use caseledger::{EventLog, RecordedEvent};
use caseledger_postgres::{Head, LogRecord, PgOptions};
use caseledger_synth::{Synth, SynthConfig};
use chrono::TimeZone;
use common::TestDb;

/// One query's rows as text, on the test database.
fn query(db: &TestDb, sql: &'static str) -> Vec<String> {
    let url = db.url.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            c.simple_query(sql)
                .await
                .unwrap()
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some(r.get(0).unwrap_or("").to_owned())
                    }
                    _ => None,
                })
                .collect()
        })
    })
    .join()
    .unwrap()
}

/// The secondary keys of `events`, by name.
fn keys(db: &TestDb) -> Vec<String> {
    query(
        db,
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'caseledger' \
         AND tablename = 'events' ORDER BY indexname",
    )
}

const KEYS: [&str; 4] = [
    "events_case_id_version_key",
    "events_customer",
    "events_event_id_key",
    "events_pkey",
];

/// `n` synthetic events as an import's records, one batch.
fn records(
    n: usize,
) -> (
    Vec<caseledger::Event>,
    Vec<Result<LogRecord, std::convert::Infallible>>,
) {
    let events: Vec<_> = Synth::new(SynthConfig {
        cases: (n as u64 / 5).max(1),
        seed: 3,
        start: chrono::Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap(),
        span_days: 60,
        customers: caseledger_synth::Customers::Uniform,
    })
    .take(n)
    .collect();
    let mut versions = std::collections::HashMap::new();
    let mut out = Vec::new();
    let mut last = None;
    for (i, event) in events.iter().enumerate() {
        let version = versions.entry(event.case_id).or_insert(0u64);
        *version += 1;
        let recorded_at = last.map_or(event.at, |t: chrono::DateTime<chrono::Utc>| t.max(event.at));
        last = Some(recorded_at);
        out.push(Ok(LogRecord::Event(RecordedEvent {
            position: i as u64 + 1,
            version: *version,
            recorded_at,
            event: event.clone(),
        })));
    }
    out.push(Ok(LogRecord::Commit {
        first_position: 1,
        last_position: events.len() as u64,
    }));
    (events, out)
}

#[test]
fn an_import_into_an_empty_log_keeps_its_keys_and_names_a_repeated_id() {
    let db = TestDb::new();
    let log = db.log();
    assert_eq!(keys(&db), KEYS);
    // The 40th event takes the id of the 3rd (in another case or not).
    let (events, mut bad) = records(50);
    let repeated = events[2].event_id;
    if let Ok(LogRecord::Event(e)) = &mut bad[39] {
        e.event.event_id = repeated;
    }
    let err = log.import(Head::EMPTY, bad).unwrap_err();
    assert_eq!(
        err.kind(),
        &caseledger_postgres::ErrorKind::EventIdTaken { event_id: repeated },
        "{err}"
    );
    assert!(err.to_string().contains(&repeated.to_string()), "{err}");
    // Nothing written; the keys, dropped for the load, are all there.
    assert_eq!(log.head().unwrap(), Head::EMPTY);
    assert_eq!(keys(&db), KEYS);
    // A good import builds them again and they hold: the same ids again
    // are refused by them, after the load of a non-empty log.
    let (_, good) = records(50);
    let head = log.import(Head::EMPTY, good).unwrap();
    assert_eq!(head.position, 50);
    assert_eq!(keys(&db), KEYS);
    let (_, again) = records(50);
    let again = again.into_iter().map(|r| {
        r.map(|r| match r {
            LogRecord::Event(mut e) => {
                e.position += 50;
                LogRecord::Event(e)
            }
            LogRecord::Commit { .. } => LogRecord::Commit {
                first_position: 51,
                last_position: 100,
            },
            other => other,
        })
    });
    let err = log.import(head, again).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            caseledger_postgres::ErrorKind::EventIdTaken { .. }
                | caseledger_postgres::ErrorKind::ImportRefused { .. }
        ),
        "{err}"
    );
    assert_eq!(log.head().unwrap(), head);
    log.verify_chain(|_| {}).unwrap();
}

#[test]
fn a_large_import_leaves_statistics_and_pages_read_by_the_primary_key() {
    let db = TestDb::new();
    // Small pages, so that the read below takes many of them.
    let log = db.log_with(PgOptions::default().page_rows(1_000));
    let events: Vec<_> = Synth::new(SynthConfig {
        cases: 2_000,
        seed: 3,
        start: chrono::Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap(),
        span_days: 60,
        customers: caseledger_synth::Customers::Uniform,
    })
    .collect();
    assert!(events.len() >= 10_000, "{} events", events.len());
    let mut versions = std::collections::HashMap::new();
    let mut records: Vec<Result<LogRecord, std::convert::Infallible>> = Vec::new();
    let mut last = None;
    for (i, event) in events.iter().enumerate() {
        let version = versions.entry(event.case_id).or_insert(0u64);
        *version += 1;
        let recorded_at = last.map_or(event.at, |t: chrono::DateTime<chrono::Utc>| t.max(event.at));
        last = Some(recorded_at);
        records.push(Ok(LogRecord::Event(RecordedEvent {
            position: i as u64 + 1,
            version: *version,
            recorded_at,
            event: event.clone(),
        })));
    }
    records.push(Ok(LogRecord::Commit {
        first_position: 1,
        last_position: events.len() as u64,
    }));
    let head = log.import(Head::EMPTY, records).unwrap();
    assert_eq!(head.position, events.len() as u64);

    // The statistics committed with the rows: the planner knows the size.
    let analyzed = query(
        &db,
        "SELECT count(*) FROM pg_stats WHERE schemaname = 'caseledger' AND tablename = 'events' \
         AND attname = 'position'",
    );
    assert_eq!(analyzed, ["1"]);
    let tuples = query(
        &db,
        "SELECT reltuples::bigint FROM pg_class WHERE oid = 'caseledger.events'::regclass",
    );
    assert_eq!(tuples, [events.len().to_string()]);

    // A page's plan: the primary key, no sort of the rest of the table.
    let plan = query(
        &db,
        "EXPLAIN SELECT * FROM caseledger.events WHERE position >= 5000 AND position <= 5999 \
         ORDER BY position LIMIT 1000",
    )
    .join("\n");
    assert!(plan.contains("events_pkey"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");

    // And the pages give back every event, in order.
    let read: Vec<RecordedEvent> = log.read_all(1).unwrap().map(Result::unwrap).collect();
    assert_eq!(read.len(), events.len());
    assert!(read.iter().zip(1..).all(|(e, p)| e.position == p));
    assert!(read.iter().zip(&events).all(|(r, e)| &r.event == e));
}

/// `read_verified` reads the bodies alone yet checks the chain: the same
/// events as `verify_chain`, and a body changed behind the log's back is
/// found at its position.
#[test]
fn read_verified_gives_the_events_and_finds_a_changed_body() {
    let db = TestDb::new();
    let log = db.log();
    let (events, good) = records(30);
    log.import(Head::EMPTY, good).unwrap();
    let mut full = Vec::new();
    let a = log.verify_chain(|e| full.push(e)).unwrap();
    let mut bodies = Vec::new();
    let b = log.read_verified(|e| bodies.push(e)).unwrap();
    assert_eq!(a, b);
    assert_eq!(full, bodies);
    assert_eq!(bodies.len(), events.len());
    // By batches (their strings reused from one batch to the next): the
    // same events, in order, in batches of at most a replay's batch.
    let mut batched = Vec::new();
    let c = log
        .read_verified_batches(|batch| {
            assert!(!batch.is_empty() && batch.len() <= caseledger::kpi::REPLAY_BATCH_EVENTS);
            batched.extend_from_slice(batch);
        })
        .unwrap();
    assert_eq!(c, b);
    assert_eq!(batched, bodies);
    db.sql(
        "ALTER TABLE caseledger.events DISABLE TRIGGER events_append_only; \
         UPDATE caseledger.events SET body = set_byte(body, length(body) - 1, 0) \
         WHERE position = 17",
    )
    .unwrap();
    for err in [
        log.read_verified(|_| {}).unwrap_err(),
        log.read_verified_batches(|_| {}).unwrap_err(),
    ] {
        assert!(
            matches!(
                err.kind(),
                caseledger_postgres::ErrorKind::Tampered { position: 17, .. }
            ),
            "{err}"
        );
    }
}

/// The position of the problem a read of the log reports, and the number
/// of events it handed over before (in order, from 1).
fn first_problem(
    read: impl FnOnce(&mut dyn FnMut(RecordedEvent)) -> Result<(), caseledger_postgres::Error>,
) -> (u64, u64) {
    let mut seen = 0u64;
    let err = read(&mut |e| {
        seen += 1;
        assert_eq!(e.position, seen);
    })
    .unwrap_err();
    match err.kind() {
        caseledger_postgres::ErrorKind::Tampered { position, .. } => (*position, seen),
        other => panic!("not a tampered row: {other:?}"),
    }
}

/// `read_verified` decodes the bodies on the caller's thread while the
/// chain is checked on the log's: it still reports the first problem at
/// the position the sequential walk (`verify_chain`) reports, and hands
/// over the same events before it, on any page (a page is 10,000 rows):
/// a changed body on the first page, at the last row of a page, on the
/// second page, a changed commit marker (checked after its last event is
/// decoded), a deleted row at a page's start.
#[test]
fn read_verified_fails_where_the_sequential_walk_fails_on_any_page() {
    let db = TestDb::new();
    let log = db.log();
    let (events, good) = records(25_000);
    log.import(Head::EMPTY, good).unwrap();
    let both = || {
        let sequential = first_problem(|v| log.verify_chain(v).map(|_| ()));
        let parallel = first_problem(|v| log.read_verified(v).map(|_| ()));
        // By batches: the same problem, and the same events before it.
        let batched = first_problem(|v| {
            log.read_verified_batches(|batch| batch.iter().for_each(|e| v(e.clone())))
                .map(|_| ())
        });
        assert_eq!(batched, parallel, "by batches");
        (sequential, parallel)
    };
    db.sql("ALTER TABLE caseledger.events DISABLE TRIGGER ALL; ALTER TABLE caseledger.commits DISABLE TRIGGER ALL")
        .unwrap();
    // Flips the last bit of the body at a position (twice: as it was).
    let flip = |position: u64| {
        db.sql(&format!(
            "UPDATE caseledger.events SET body = set_byte(body, length(body) - 1, \
             get_byte(body, length(body) - 1) # 1) WHERE position = {position}"
        ))
        .unwrap();
    };
    for position in [17, 10_000, 12_345] {
        flip(position);
        let (sequential, parallel) = both();
        assert_eq!(sequential.0, position);
        assert_eq!(parallel, sequential, "body changed at {position}");
        flip(position);
    }
    log.read_verified(|_| {}).unwrap();
    let last = events.len() as u64;
    db.sql("UPDATE caseledger.commits SET hash = set_byte(hash, 0, get_byte(hash, 0) # 1)")
        .unwrap();
    let (sequential, parallel) = both();
    assert_eq!(sequential, (last, last));
    assert_eq!(parallel, sequential, "commit marker changed");
    db.sql("UPDATE caseledger.commits SET hash = set_byte(hash, 0, get_byte(hash, 0) # 1)")
        .unwrap();
    db.sql("DELETE FROM caseledger.events WHERE position = 10001")
        .unwrap();
    let (sequential, parallel) = both();
    assert_eq!(sequential, (10_001, 10_000));
    assert_eq!(parallel, sequential, "row deleted");
}
