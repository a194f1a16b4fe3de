//! Cancellation and lost answers on PostgreSQL: a call of the async log or
//! of a projection runner dropped (or whose connection failed) after its
//! statement reached the server, while the server still carries it out.
//! Each test holds a lock the statement waits on, so that the statement is
//! known to be at the server when the call is dropped, then lets it finish.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use caseledger::*;
use caseledger_async::AsyncEventLog;
use caseledger_postgres::{AsyncPgLog, AsyncPgRunner, PgOptions, PgRunnerOptions};
use caseledger_testkit::trace::Trace;
use common::{TestDb, responded};

/// How long a test waits for the server to reach a state before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A connection of the test's own to the test's database.
async fn connect(db: &TestDb) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// Waits until a session of the database other than `admin`'s waits on a
/// lock while running a statement that starts with `query`.
async fn until_waiting(admin: &tokio_postgres::Client, query: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let waiting: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' \
                 AND starts_with(query, $1)",
                &[&query],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "no session waits on `{query}`");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the checkpoint row of `name` holds `position`.
async fn until_row_at(admin: &tokio_postgres::Client, name: &str, position: i64) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let row = admin
            .query_opt(
                "SELECT position FROM caseledger.projection_checkpoints WHERE name = $1",
                &[&name],
            )
            .await
            .unwrap();
        if row.map(|r| r.get::<_, i64>(0)) == Some(position) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the row never reached {position}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn append(log: &AsyncPgLog, case: u128, id: u128) {
    let e = responded(case, id);
    log.append(e.case_id, ExpectedVersion::Any, &[e])
        .await
        .unwrap();
}

/// A checkpoint dropped while its statement waits at the server (here on a
/// row lock; as well a lost answer) is stored once the statement runs: the
/// runner's next checkpoint must take the row as its own, not refuse it as
/// moved by another runner, and a runner opened again resumes from it to
/// the full replay.
#[test]
fn a_checkpoint_dropped_after_its_statement_was_sent_leaves_the_runner_able_to_checkpoint() {
    let db = TestDb::new();
    runtime().block_on(async {
        let log = AsyncPgLog::connect(&db.url, PgOptions::default())
            .await
            .unwrap();
        for id in 1..=5 {
            append(&log, 1, id).await;
        }
        let options = PgRunnerOptions::default().every_events(1_000);
        let mut runner = AsyncPgRunner::open(&log, "trace", Trace::default(), options)
            .await
            .unwrap();
        assert_eq!(runner.catch_up().await.unwrap(), 5);
        runner.checkpoint().await.unwrap();
        for id in 6..=8 {
            append(&log, 2, id).await;
        }
        assert_eq!(runner.catch_up().await.unwrap(), 3);

        // Another session locks the row: the runner's UPDATE waits for it.
        let mut locker = connect(&db).await;
        let admin = connect(&db).await;
        let lock = locker.transaction().await.unwrap();
        lock.execute(
            "SELECT 1 FROM caseledger.projection_checkpoints WHERE name = 'trace' FOR UPDATE",
            &[],
        )
        .await
        .unwrap();
        tokio::select! {
            done = runner.checkpoint() => panic!("the checkpoint did not wait: {done:?}"),
            () = until_waiting(&admin, "UPDATE caseledger.projection_checkpoints") => {}
        }
        // The call is dropped; its statement runs once the lock is gone.
        lock.commit().await.unwrap();
        until_row_at(&admin, "trace", 8).await;

        append(&log, 1, 9).await;
        assert_eq!(runner.catch_up().await.unwrap(), 1);
        runner
            .checkpoint()
            .await
            .unwrap_or_else(|e| panic!("the next checkpoint: {e}"));
        assert_eq!(runner.saved_position(), 9);
        let mut resumed = AsyncPgRunner::open(&log, "trace", Trace::default(), options)
            .await
            .unwrap();
        assert_eq!(resumed.position(), 9);
        assert_eq!(resumed.catch_up().await.unwrap(), 0);
        let (_, state) = runner.into_parts();
        assert_eq!(resumed.into_parts(), (9, state));
    });
}
