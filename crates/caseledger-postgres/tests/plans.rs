//! The writer's lookups (a stream's version, stored event ids, a
//! customer's follow-ups) stay index lookups whatever the table's
//! statistics said when PostgreSQL planned them.
//!
//! The writer prepares its statements once per connection; after five
//! executions PostgreSQL may switch a statement to a generic plan, kept for
//! the connection's life. Planned while the statistics say the events
//! table is empty (a new ledger), that plan was a sequential scan, and it
//! stayed one as the ledger grew: every append then read the whole table
//! (a customer's follow-ups, a nested loop of two scans, took a second at
//! 21,000 events). Counted here with PostgreSQL's own statistics: no
//! sequential scan of `caseledger.events` while appending.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use std::time::{Duration, Instant};

use caseledger::*;
use caseledger_async::AsyncEventLog;
use caseledger_postgres::{AsyncPgLog, PgOptions};
use chrono::{TimeZone, Utc};
use common::{TestDb, responded};

/// Sequential scans of `caseledger.events` counted by the server, once
/// every other connection to the database has ended (a backend reports
/// its counts when it exits).
fn seq_scans(db: &TestDb) -> i64 {
    let name = db.name.clone();
    caseledger_testkit::pg::admin_on(&db.url, move |c| {
        Box::pin(async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let others: i64 = c
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity
                          WHERE datname = $1 AND pid <> pg_backend_pid()",
                        &[&name],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if others == 0 {
                    break;
                }
                assert!(Instant::now() < deadline, "{others} connections stay open");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // A snapshot of the statistics taken now, not earlier in this
            // connection's life.
            c.execute("SELECT pg_stat_clear_snapshot()", &[])
                .await
                .unwrap();
            c.query_one(
                "SELECT seq_scan FROM pg_stat_user_tables
                  WHERE relid = 'caseledger.events'::regclass",
                &[],
            )
            .await
            .unwrap()
            .get(0)
        })
    })
}

/// A fresh database whose statistics say the events table is empty, as a
/// new ledger's are once autovacuum has looked at it, and the sequential
/// scans of it counted so far (the schema's creation).
fn empty_analyzed() -> (TestDb, i64) {
    let db = TestDb::new();
    drop(db.log());
    db.sql("ANALYZE caseledger.events").unwrap();
    let before = seq_scans(&db);
    (db, before)
}

/// Every lookup well past the five executions after which PostgreSQL
/// considers a generic plan: appends of one event (by id), of two (by
/// ids), and with a follow-up condition (the customer's follow-ups).
fn appends(append: impl Fn(CaseId, &[Event], &[AppendCondition])) {
    let condition = [AppendCondition::NoFollowUpTooClose {
        customer_id: CustomerId::new("C-1").unwrap(),
        due: Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap(),
    }];
    for i in 0..12u128 {
        let case = CaseId::from_u128(i);
        append(case, &[responded(i, 1000 + i)], &[]);
        append(case, &[responded(i, 2000 + i), responded(i, 3000 + i)], &[]);
        append(case, &[responded(i, 4000 + i)], &condition);
    }
}

/// The blocking log's lone appender writes on a connection of its own
/// (the direct path).
#[test]
fn a_lone_appender_looks_up_by_index_even_when_planned_on_an_empty_table() {
    let (db, before) = empty_analyzed();
    let log = db.log();
    appends(|case, events, conditions| {
        log.append_with(case, ExpectedVersion::Any, events, conditions)
            .unwrap();
    });
    drop(log);
    assert_eq!(
        seq_scans(&db) - before,
        0,
        "appends scanned the events table"
    );
}

/// The async log's appends go through the writer task, on the pool's
/// connections.
#[test]
fn the_writer_looks_up_by_index_even_when_planned_on_an_empty_table() {
    let (db, before) = empty_analyzed();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let log = runtime
        .block_on(AsyncPgLog::connect(&db.url, PgOptions::default()))
        .unwrap();
    appends(|case, events, conditions| {
        runtime
            .block_on(AsyncEventLog::append_with(
                &log,
                case,
                ExpectedVersion::Any,
                events,
                conditions,
            ))
            .unwrap();
    });
    drop(log);
    drop(runtime);
    assert_eq!(
        seq_scans(&db) - before,
        0,
        "appends scanned the events table"
    );
}
