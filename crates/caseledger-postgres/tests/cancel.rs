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

/// Splits a `postgres://user@host:port/db` URL into the server's address
/// and the URL with the address replaced by `address`.
fn through(url: &str, address: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (auth, path) = rest.split_once('/').unwrap();
    let (user, server) = match auth.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h.to_owned()),
        None => (String::new(), auth.to_owned()),
    };
    let server = if server.contains(':') {
        server
    } else {
        format!("{server}:5432")
    };
    (server, format!("{scheme}://{user}{address}/{path}"))
}

/// A TCP proxy to the server whose connections can all be cut at once: a
/// network that fails between the client and the server, the server going
/// on with what it received.
struct Proxy {
    url: String,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(url: &str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (server, url) = through(url, &listener.local_addr().unwrap().to_string());
        let tasks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accepting = std::sync::Arc::clone(&tasks);
        let acceptor = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let server = server.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut upstream) = tokio::net::TcpStream::connect(&server).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
                accepting.lock().unwrap().push(task);
            }
        });
        tasks.lock().unwrap().push(acceptor);
        Proxy { url, tasks }
    }

    /// Cuts every connection (and accepts no more): each side sees its
    /// socket closed after what was already sent.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Waits until no session of the database but the test's `admin` and
/// `others` is left (the log's, after its connections were lost).
async fn until_alone(admin: &tokio_postgres::Client, others: usize) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let sessions: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if sessions as usize <= others {
            return;
        }
        assert!(Instant::now() < deadline, "{sessions} sessions are left");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether the log holds the event with id `id`.
async fn stored(admin: &tokio_postgres::Client, id: u128) -> bool {
    let id = *EventId::from_u128(id).as_uuid();
    let n: i64 = admin
        .query_one(
            "SELECT count(*) FROM caseledger.events WHERE event_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    n == 1
}

/// Holds the commit markers' table: an append's last statement (the rows,
/// the marker, the head) waits at the server, its `COMMIT` sent behind it.
async fn hold_commits(locker: &mut tokio_postgres::Client) -> tokio_postgres::Transaction<'_> {
    let lock = locker.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE caseledger.commits IN EXCLUSIVE MODE")
        .await
        .unwrap();
    lock
}

/// The answer to an append whose transaction may have committed must not
/// say that nothing was written.
fn assert_not_denied(answer: &Result<Appended, AppendError<caseledger_postgres::Error>>) {
    match answer {
        Err(AppendError::Log(e)) => {
            assert!(
                matches!(
                    e.kind(),
                    caseledger_postgres::ErrorKind::OutcomeUnknown { .. }
                ),
                "an append that was stored was answered: {e}"
            );
            let said = e.to_string();
            assert!(!said.contains("nothing"), "{said}");
            assert!(said.contains("may or may not"), "{said}");
        }
        other => panic!("the append was answered {other:?}"),
    }
}

/// The network fails after an append's `COMMIT` reached the server: the
/// server commits it, the writer only sees its connection closed. Its
/// answer must say the append may be stored (a retry tells), never that
/// nothing of it is; the same append sent again is answered as a retry.
#[test]
fn an_append_whose_connection_is_lost_after_its_commit_was_sent_is_not_denied() {
    let db = TestDb::new();
    runtime().block_on(async {
        let proxy = Proxy::start(&db.url).await;
        let log = AsyncPgLog::connect(&proxy.url, PgOptions::default())
            .await
            .unwrap();
        let e = append_cut_after_commit(&db, &log, || proxy.cut()).await;
        let again = log.append(e.case_id, ExpectedVersion::Any, &[e]).await;
        // The pool's connections went through the cut proxy: the retry
        // may fail too, but never write the event twice.
        if let Ok(again) = again {
            assert!(again.already_stored);
        }
    });
}

/// The runtime that runs the writer shuts down while an append of another
/// runtime's task waits at the server with its `COMMIT` sent: the server
/// commits it, the caller only learns that the writer stopped. The answer
/// must not say that nothing was written.
#[test]
fn an_append_whose_writer_stops_after_its_commit_was_sent_is_not_denied() {
    let db = TestDb::new();
    let writers = runtime();
    let log = writers
        .block_on(AsyncPgLog::connect(&db.url, PgOptions::default()))
        .unwrap();
    runtime().block_on(async {
        append_cut_after_commit(&db, &log, || writers.shutdown_background()).await;
    });
}

/// Appends event 2 of case 1 (after event 1) while the commit markers'
/// table is held, so that its `COMMIT` waits at the server behind the
/// group's last statement; runs `cut` then (the interruption under test),
/// releases the table, and checks that the server committed the append
/// and that its answer does not deny it. Returns the event, for a retry.
async fn append_cut_after_commit(db: &TestDb, log: &AsyncPgLog, cut: impl FnOnce()) -> Event {
    append(log, 1, 1).await;
    let admin = connect(db).await;
    let mut locker = connect(db).await;
    let lock = hold_commits(&mut locker).await;
    let e = responded(1, 2);
    let task = {
        let (log, e) = (log.clone(), e.clone());
        tokio::spawn(async move { log.append(e.case_id, ExpectedVersion::Any, &[e]).await })
    };
    until_waiting(&admin, "WITH events AS").await;
    cut();
    let answer = task.await.unwrap();
    lock.commit().await.unwrap();
    until_alone(&admin, 1).await;
    assert!(stored(&admin, 2).await, "the server committed the append");
    assert_not_denied(&answer);
    e
}

/// Terminates every session of the test's database but `admin`'s and
/// the session `keep`.
async fn terminate_others(admin: &tokio_postgres::Client, keep: i32) {
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> $1",
            &[&keep],
        )
        .await
        .unwrap();
}

/// Terminates the sessions that wait on a lock with a statement that
/// starts with `query`, once there is one; then never returns (a branch of
/// a `select!` that the call waiting on the lock ends).
async fn kill_when_waiting(admin: &tokio_postgres::Client, query: &str) {
    until_waiting(admin, query).await;
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock' \
             AND starts_with(query, $1)",
            &[&query],
        )
        .await
        .unwrap();
    std::future::pending::<()>().await;
}

/// The fold of the whole log, read afresh.
async fn full_replay(log: &AsyncPgLog) -> Trace {
    use caseledger::projection::Projection;
    use futures_util::StreamExt;
    let mut trace = Trace::default();
    let mut events = log.read_all(1).await.unwrap();
    while let Some(e) = events.next().await {
        let e = e.unwrap();
        trace.observe(e.position, &e.event);
    }
    trace
}

/// A runner whose connections are terminated again and again while it
/// feeds and checkpoints (every 2 events): at random points, and for
/// certain while a checkpoint's statement is at the server (waiting on a
/// row lock). A call fails, the next goes on; no event is fed twice or
/// skipped (`Trace` would differ from the full replay, and the runner
/// refuses an out-of-order position), and a runner opened again from the
/// row catches up to the same state.
#[test]
fn a_runner_whose_connections_are_killed_mid_run_feeds_each_event_once() {
    let db = TestDb::new();
    runtime().block_on(async {
        let log = AsyncPgLog::connect(&db.url, PgOptions::default())
            .await
            .unwrap();
        for id in 1..=30 {
            append(&log, 1 + id % 4, id).await;
        }
        let admin = connect(&db).await;
        let mut locker = connect(&db).await;
        let keep: i32 = locker
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        let options = PgRunnerOptions::default().every_events(2);
        let mut runner = AsyncPgRunner::open(&log, "trace", Trace::default(), options)
            .await
            .unwrap();
        let (mut failures, mut killed_at_the_server, mut calls) = (0, 0, 0);
        while runner.position() < 30 {
            calls += 1;
            assert!(calls < 1_000, "the runner makes no progress");
            // The next event makes a checkpoint due, over an existing row:
            // hold the row, and kill the statement that waits for it.
            let due =
                runner.saved_position() > 0 && runner.position() + 1 - runner.saved_position() >= 2;
            let answer = if due && calls % 2 == 0 {
                let lock = locker.transaction().await.unwrap();
                lock.execute(
                    "SELECT 1 FROM caseledger.projection_checkpoints WHERE name = 'trace' \
                     FOR UPDATE",
                    &[],
                )
                .await
                .unwrap();
                let answer = tokio::select! {
                    answer = runner.step(0) => answer,
                    () = kill_when_waiting(&admin, "UPDATE caseledger.projection_checkpoints") => {
                        unreachable!("the kill waits for ever")
                    }
                };
                lock.commit().await.unwrap();
                killed_at_the_server += 1;
                assert!(answer.is_err(), "a checkpoint killed at the server");
                answer
            } else {
                if calls % 3 == 0 {
                    terminate_others(&admin, keep).await;
                }
                runner.step(0).await
            };
            if answer.is_err() {
                failures += 1;
            }
        }
        assert!(killed_at_the_server > 0 && failures >= killed_at_the_server);
        // The last checkpoint, once the connections are back.
        let mut stored = false;
        for _ in 0..10 {
            if runner.checkpoint().await.is_ok() {
                stored = true;
                break;
            }
        }
        assert!(stored, "the last checkpoint");
        let expected = full_replay(&log).await;
        let (position, state) = runner.into_parts();
        assert_eq!((position, &state), (30, &expected));
        let mut resumed = AsyncPgRunner::open(&log, "trace", Trace::default(), options)
            .await
            .unwrap();
        assert_eq!(resumed.catch_up().await.unwrap(), 0);
        assert_eq!(resumed.into_parts(), (30, expected));
    });
}

/// Tasks racing on one case with the same expected version through the
/// writer, some dropped at once or after a tiny timeout: each version goes
/// to exactly one append, every answered loser is a version conflict, and
/// the log verifies.
#[test]
fn racing_appends_some_dropped_give_each_version_to_exactly_one_on_postgres() {
    const TASKS: u128 = 12;
    const ROUNDS: u64 = 5;
    let db = TestDb::new();
    runtime().block_on(async {
        let log = AsyncPgLog::connect(&db.url, PgOptions::default())
            .await
            .unwrap();
        let case = CaseId::from_u128(1);
        let admin = connect(&db).await;
        for round in 0..ROUNDS {
            let id = |task: u128| u128::from(round) * 1000 + task + 1;
            let tasks: Vec<_> = (0..TASKS)
                .map(|task| {
                    let log = log.clone();
                    let e = responded(1, id(task));
                    tokio::spawn(async move {
                        let events = [e];
                        let append = log.append(case, ExpectedVersion::Exact(round), &events);
                        match task % 3 {
                            0 => Some(append.await),
                            n => tokio::time::timeout(
                                Duration::from_micros(50 * (n as u64 - 1)),
                                append,
                            )
                            .await
                            .ok(),
                        }
                    })
                })
                .collect();
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.unwrap());
            }
            // A dropped append may still be in the writer's queue: wait
            // for the writer to be idle (one more append through it).
            let probe = responded(99, 1_000_000 + u128::from(round));
            log.append(probe.case_id, ExpectedVersion::Any, &[probe])
                .await
                .unwrap();
            let versions: i64 = admin
                .query_one(
                    "SELECT count(*) FROM caseledger.events WHERE case_id = $1",
                    &[case.as_uuid()],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(versions as u64, round + 1, "one event per round");
            let stored = log.read_stream(case).await.unwrap();
            let winner = stored[round as usize].event.event_id;
            let mut answered = 0;
            for (task, answer) in (0..TASKS).zip(answers) {
                match answer {
                    Some(Ok(done)) => {
                        assert_eq!(EventId::from_u128(id(task)), winner, "a false win");
                        assert_eq!(done.stream_version, round + 1);
                        answered += 1;
                    }
                    Some(Err(AppendError::WrongExpectedVersion { actual, .. })) => {
                        assert_eq!(actual, round + 1)
                    }
                    Some(Err(other)) => panic!("round {round}: {other}"),
                    None => {}
                }
            }
            assert!(answered <= 1);
        }
        let report = log.verify_chain(|_| {}).await.unwrap();
        assert_eq!(report.events, ROUNDS * 2);
    });
}

/// A verify (a read-only repeatable-read transaction on a pooled
/// connection) dropped at many points: with a pool of two connections, the
/// next append and reads use that connection too, and must neither run
/// inside the dropped transaction (an old snapshot would hide the new
/// event) nor find it still open.
#[test]
fn a_verify_dropped_mid_transaction_leaves_its_pooled_connection_clean() {
    let db = TestDb::new();
    runtime().block_on(async {
        let log = AsyncPgLog::connect(&db.url, PgOptions::default().pool_size(2))
            .await
            .unwrap();
        for id in 1..=200 {
            append(&log, 1, id).await;
        }
        let admin = connect(&db).await;
        let mut next = 1_000;
        for micros in [0u64, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000] {
            let walk = log.verify_chain(|_| {});
            let _ = tokio::time::timeout(Duration::from_micros(micros), walk).await;
            next += 1;
            append(&log, 2, next).await;
            for _ in 0..2 {
                let case = log.read_stream(CaseId::from_u128(2)).await.unwrap();
                assert_eq!(
                    case.last().map(|r| r.event.event_id),
                    Some(EventId::from_u128(next)),
                    "dropped after {micros} µs: the read missed the new event"
                );
            }
            let deadline = Instant::now() + PATIENCE;
            loop {
                let open: i64 = admin
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                         AND state LIKE 'idle in transaction%'",
                        &[],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if open == 0 {
                    break;
                }
                assert!(Instant::now() < deadline, "a transaction stays open");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let report = log.verify_chain(|_| {}).await.unwrap();
        assert_eq!(report.events, 209);
    });
}
