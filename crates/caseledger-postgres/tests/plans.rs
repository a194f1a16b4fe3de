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
//! 21,000 events). Counted here with PostgreSQL's own statistics: the rows
//! and index entries of `caseledger.events` read while appending, with
//! plans made on an empty table and the table grown behind them.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use std::time::{Duration, Instant};

use caseledger::*;
use caseledger_async::AsyncEventLog;
use caseledger_postgres::{AsyncPgLog, PgOptions};
use chrono::{TimeZone, Utc};
use common::{TestDb, responded};

/// Rows of other customers' cases added behind the appenders' plans.
const FILLER_ROWS: u64 = 5_000;

/// Appends of each round (three kinds, twelve cases).
const ROUND_APPENDS: i64 = 36;

/// Rows and index entries of `caseledger.events` read so far (by
/// sequential scans, and by index scans of any of its indexes, so that
/// neither a table scan nor an index walked whole passes unseen), once
/// every other connection to the database has ended (a backend reports its
/// counts when it exits).
fn tuples_read(db: &TestDb) -> i64 {
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
                "SELECT t.seq_tup_read + coalesce(sum(i.idx_tup_read), 0)::bigint
                   FROM pg_stat_user_tables t
                   LEFT JOIN pg_stat_user_indexes i ON i.relid = t.relid
                  WHERE t.relid = 'caseledger.events'::regclass
                  GROUP BY t.seq_tup_read",
                &[],
            )
            .await
            .unwrap()
            .get(0)
        })
    })
}

/// A fresh database whose statistics say the events table is empty, as a
/// new ledger's are once autovacuum has looked at it, and what had been
/// read of the table so far (the schema's creation).
fn empty_analyzed() -> (TestDb, i64) {
    let db = TestDb::new();
    drop(db.log());
    db.sql("ANALYZE caseledger.events").unwrap();
    let before = tuples_read(&db);
    (db, before)
}

/// Adds [`FILLER_ROWS`] events of other customers' cases, by SQL, at
/// positions far above the appenders' (the chain is not checked here).
fn grow(db: &TestDb) {
    db.sql(&format!(
        "INSERT INTO caseledger.events
           (position, case_id, version, event_id, type, at, recorded_at, customer_id, due, body, hash)
         SELECT 1000000000 + g, gen_random_uuid(), 1, gen_random_uuid(), 'opened', now(), now(),
                'F-' || (g % 500), NULL, '\\x00'::bytea, decode(repeat('00', 32), 'hex')
           FROM generate_series(1, {FILLER_ROWS}) AS g"
    ))
    .unwrap();
}

/// What an append answers.
type Answer = Result<Appended, AppendError<caseledger_postgres::Error>>;

/// Appends through one of the log's faces.
trait Append: Fn(CaseId, ExpectedVersion, &[Event], &[AppendCondition]) -> Answer {}
impl<F: Fn(CaseId, ExpectedVersion, &[Event], &[AppendCondition]) -> Answer> Append for F {}

/// One round: every lookup run again on the same connections: appends of
/// one event (by id), of two (by ids), and with a follow-up condition (the
/// customer's follow-ups), on twelve new cases from `first`, each
/// expecting `expected`; `stored` says whether they must be stored, or
/// refused for a wrong expected version (looked up, nothing written).
fn round(first: u128, expected: ExpectedVersion, stored: bool, append: &impl Append) {
    let condition = [AppendCondition::NoFollowUpTooClose {
        customer_id: CustomerId::new("C-1").unwrap(),
        due: Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap(),
    }];
    for i in first..first + 12 {
        let case = CaseId::from_u128(i);
        let one = [responded(i, 100_000 + i)];
        let two = [responded(i, 200_000 + i), responded(i, 300_000 + i)];
        let conditioned = [responded(i, 400_000 + i)];
        for (events, conditions) in [
            (&one[..], &[][..]),
            (&two[..], &[][..]),
            (&conditioned[..], &condition[..]),
        ] {
            match append(case, expected, events, conditions) {
                Ok(_) if stored => {}
                Err(AppendError::WrongExpectedVersion { .. }) if !stored => {}
                other => panic!("case {i}: {other:?}"),
            }
        }
    }
}

/// Plans made on the empty table (a round of appends refused after their
/// lookups, so that the table stays empty: twelve executions of each
/// lookup, well past the five after which PostgreSQL considers a generic
/// plan), a round stored, the table grown behind the plans, then two more
/// rounds stored on the same connections.
fn appends_read_little(db: &TestDb, append: impl Append) {
    round(0, ExpectedVersion::Exact(9), false, &append);
    round(100, ExpectedVersion::Any, true, &append);
    grow(db);
    round(200, ExpectedVersion::Any, true, &append);
    round(300, ExpectedVersion::Any, true, &append);
}

/// Asserts that the appends since `before` read a handful of rows each,
/// not the table.
fn assert_read_little(db: &TestDb, before: i64) {
    let read = tuples_read(db) - before;
    let appends = 4 * ROUND_APPENDS;
    assert!(
        read < 10 * appends,
        "{appends} appends read {read} rows and index entries of the events table \
         ({FILLER_ROWS} rows of filler): a lookup read the whole table"
    );
}

/// The blocking log's lone appender writes on a connection of its own
/// (the direct path).
#[test]
fn a_lone_appender_looks_up_by_index_even_when_planned_on_an_empty_table() {
    let (db, before) = empty_analyzed();
    let log = db.log();
    appends_read_little(&db, |case, expected, events, conditions| {
        log.append_with(case, expected, events, conditions)
    });
    drop(log);
    assert_read_little(&db, before);
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
    appends_read_little(&db, |case, expected, events, conditions| {
        runtime.block_on(AsyncEventLog::append_with(
            &log, case, expected, events, conditions,
        ))
    });
    drop(log);
    drop(runtime);
    assert_read_little(&db, before);
}
