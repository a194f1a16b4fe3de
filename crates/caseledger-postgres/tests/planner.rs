//! The planner after a large import: the import refreshes the tables'
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
