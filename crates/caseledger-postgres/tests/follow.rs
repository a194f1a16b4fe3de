//! Following the log on PostgreSQL (issue 22): a follower beside 4
//! concurrent writers sees every position once, in order, woken by the
//! writer's notification; with its listening connection killed it still
//! sees them by polling; a projection runner resumes from its checkpoint
//! row to the state of a full replay, its position and state stored
//! together, and a second runner of the same name cannot move it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use caseledger::projection::Projection;
use caseledger::*;
use caseledger_postgres::{
    AsyncPgLog, AsyncPgRunner, ErrorKind, PgFollowOptions, PgLog, PgOptions, PgRunner,
    PgRunnerOptions,
};
use caseledger_testkit::trace::Trace;
use chrono::{DateTime, TimeZone, Utc};
use common::TestDb;

fn t(m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + chrono::Duration::minutes(m)
}

/// A `responded` event (the log checks no case rule).
fn event(case: u128, id: u128) -> Event {
    Event {
        event_id: EventId::from_u128(id),
        case_id: CaseId::from_u128(case),
        at: t(1),
        actor: Actor::System,
        data: EventData::Responded,
    }
}

fn full_replay(log: &PgLog) -> Trace {
    let mut t = Trace::default();
    for e in log.read_all(1).unwrap() {
        let e = e.unwrap();
        t.observe(e.position, &e.event);
    }
    t
}

/// Appends `n` events to case `case` one at a time, ids from `base`.
fn append_many(log: &PgLog, case: u128, base: u128, n: u128) {
    for i in 0..n {
        let e = event(case, base + i);
        log.append(e.case_id, ExpectedVersion::Any, &[e]).unwrap();
    }
}

const WRITERS: u128 = 4;
const PER_WRITER: u128 = 60;

#[test]
fn a_follower_beside_four_writers_sees_each_position_once_woken_by_notifications() {
    let db = TestDb::new();
    let log = db.log();
    // A fallback poll far longer than the test may take: only the
    // notifications can keep the follower up to date in time.
    let options = PgFollowOptions::default().poll_interval_ms(60_000);
    let mut follower = log.follow(1, options).unwrap();
    let total = (WRITERS * PER_WRITER) as u64;
    let seen = std::thread::scope(|s| {
        for w in 0..WRITERS {
            let log = &log;
            s.spawn(move || append_many(log, w + 1, 1_000 * (w + 1), PER_WRITER));
        }
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while (seen.len() as u64) < total {
            assert!(Instant::now() < deadline, "saw {} of {total}", seen.len());
            if let Some(e) = follower.next_within(1_000).unwrap() {
                seen.push(e);
            }
        }
        seen
    });
    let positions: Vec<u64> = seen.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=total).collect::<Vec<_>>());
    let ids: HashSet<EventId> = seen.iter().map(|e| e.event.event_id).collect();
    assert_eq!(ids.len() as u64, total);
    let all: Vec<RecordedEvent> = log.read_all(1).unwrap().map(Result::unwrap).collect();
    assert_eq!(seen, all);
    assert_eq!(follower.try_next().unwrap(), None);
    assert_eq!(follower.next_position(), total + 1);
    // One more event while the follower waits up to 10 s: the writer's
    // notification wakes it long before that (the poll is 60 s).
    assert!(follower.is_listening());
    let waited = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            append_many(&log, 9, 9_000, 1);
        });
        let start = Instant::now();
        let e = follower.next_within(10_000).unwrap();
        assert_eq!(e.map(|e| e.position), Some(total + 1));
        start.elapsed()
    });
    assert!(waited < Duration::from_secs(5), "woken after {waited:?}");
}

#[test]
fn a_follower_whose_listening_connection_is_killed_still_sees_events_by_polling() {
    let db = TestDb::new();
    let log = db.log();
    let options = PgFollowOptions::default().poll_interval_ms(50);
    let mut follower = log.follow(1, options).unwrap();
    append_many(&log, 1, 1, 3);
    for p in 1..=3 {
        assert_eq!(follower.next_within(5_000).unwrap().unwrap().position, p);
    }
    db.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while follower.is_listening() {
        assert!(
            Instant::now() < deadline,
            "the listening connection survived"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    append_many(&log, 1, 100, 3);
    for p in 4..=6 {
        let e = follower.next_within(5_000).unwrap();
        assert_eq!(e.map(|e| e.position), Some(p));
    }
    let start = Instant::now();
    assert_eq!(follower.next_within(120).unwrap(), None);
    assert!(start.elapsed() >= Duration::from_millis(120));
}

#[test]
fn a_runner_crashed_at_every_step_resumes_from_its_row_to_the_full_replay() {
    let db = TestDb::new();
    let log = db.log();
    append_many(&log, 1, 1, 6);
    append_many(&log, 2, 100, 6);
    let head = log.head().unwrap().position;
    let expected = full_replay(&log);
    for every in [1u64, 4] {
        for steps in 0..=head {
            let name = format!("trace-{every}-{steps}");
            let options = PgRunnerOptions::default().every_events(every);
            let mut runner = PgRunner::open(&log, &name, Trace::default(), options).unwrap();
            for _ in 0..steps {
                runner.step(0).unwrap();
            }
            // A crash: the runner is gone without a last checkpoint.
            drop(runner);
            let mut resumed = PgRunner::open(&log, &name, Trace::default(), options).unwrap();
            assert_eq!(
                resumed.position(),
                steps / every * every,
                "every {every}, {steps} steps"
            );
            resumed.catch_up().unwrap();
            assert_eq!(
                resumed.into_parts(),
                (head, expected.clone()),
                "every {every}, {steps} steps"
            );
        }
    }
}

#[test]
fn a_checkpoint_row_holds_a_position_and_its_state_together_and_one_runner_moves_it() {
    let db = TestDb::new();
    let log = db.log();
    append_many(&log, 1, 1, 10);
    let options = PgRunnerOptions::default().every_events(3);
    let mut first = PgRunner::open(&log, "trace", Trace::default(), options).unwrap();
    first.catch_up().unwrap();
    assert_eq!(first.saved_position(), 9);
    // Each row's state is the fold up to the row's position, whatever a
    // reader sees while the runner writes.
    let row = |log: &PgLog| {
        let mut r = PgRunner::open(log, "trace", Trace::default(), options).unwrap();
        (r.position(), r.state().clone(), r.catch_up().unwrap())
    };
    let (position, state, _) = row(&log);
    assert_eq!((position, state.last), (9, 9));
    // A second runner of the same name moves the row; the first one's next
    // checkpoint is refused and stores nothing.
    let mut second = PgRunner::open(&log, "trace", Trace::default(), options).unwrap();
    second.catch_up().unwrap();
    second.checkpoint().unwrap();
    let e = first.checkpoint().unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::CheckpointMoved {
                expected: Some(9),
                found: Some(10),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("another runner"), "{e}");
    let (position, state, fed) = row(&log);
    assert_eq!((position, state.last, fed), (10, 10, 0));
    // A row fed beyond the log's head (another log's, or the database
    // restored from an older backup) is refused: resuming would skip what
    // is appended from the head on.
    db.sql("UPDATE caseledger.projection_checkpoints SET position = 9999999 WHERE name = 'trace'")
        .unwrap();
    let e = PgRunner::open(&log, "trace", Trace::default(), options).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::ProjectionState { .. }), "{e}");
    assert!(e.to_string().contains("beyond the log's head"), "{e}");
    db.sql("UPDATE caseledger.projection_checkpoints SET position = 10 WHERE name = 'trace'")
        .unwrap();
    PgRunner::open(&log, "trace", Trace::default(), options).unwrap();
    // A row whose state is not this projection's is refused, naming it.
    db.sql("UPDATE caseledger.projection_checkpoints SET state = '[1, 2]' WHERE name = 'trace'")
        .unwrap();
    let e = PgRunner::open(&log, "trace", Trace::default(), options).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::ProjectionState { .. }), "{e}");
    assert!(e.to_string().contains("`trace`"), "{e}");
    let e = PgRunner::open(&log, "", Trace::default(), options).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidOption { .. }), "{e}");
}

#[test]
fn a_checkpoint_of_another_ledger_is_refused_by_its_anchor() {
    let db = TestDb::new();
    let log = db.log();
    append_many(&log, 1, 1, 10);
    let options = PgRunnerOptions::default().every_events(5);
    let mut runner = PgRunner::open(&log, "trace", Trace::default(), options).unwrap();
    runner.catch_up().unwrap();
    runner.checkpoint().unwrap();
    drop(runner);
    let anchored = "DO $$ BEGIN IF (SELECT anchor FROM caseledger.projection_checkpoints \
                    WHERE name = 'trace') IS DISTINCT FROM (SELECT hash FROM caseledger.events \
                    WHERE position = 10) THEN RAISE EXCEPTION 'not anchored'; END IF; END $$";
    db.sql(anchored).unwrap();
    PgRunner::open(&log, "trace", Trace::default(), options).unwrap();
    // A row whose anchor is not the hash of this log's event at its
    // position: another ledger's row (a partial restore, a row copied by
    // hand) at a position within this log's head. Resuming would go on
    // from another ledger's state.
    db.sql(
        "UPDATE caseledger.projection_checkpoints SET anchor = sha256('another ledger') \
         WHERE name = 'trace'",
    )
    .unwrap();
    let e = PgRunner::open(&log, "trace", Trace::default(), options).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::ProjectionState { .. }), "{e}");
    assert!(e.to_string().contains("of another log"), "{e}");
    // A row saved before anchors existed (migration 3) resumes, and its
    // next checkpoint anchors it.
    db.sql("UPDATE caseledger.projection_checkpoints SET anchor = NULL WHERE name = 'trace'")
        .unwrap();
    let mut runner = PgRunner::open(&log, "trace", Trace::default(), options).unwrap();
    assert_eq!(runner.position(), 10);
    append_many(&log, 1, 11, 1);
    runner.catch_up().unwrap();
    runner.checkpoint().unwrap();
    db.sql(&anchored.replace("position = 10", "position = 11"))
        .unwrap();
}

#[test]
fn a_database_at_schema_2_gains_anchors_and_its_rows_resume() {
    let db = TestDb::new();
    let log = db.log();
    append_many(&log, 1, 1, 4);
    let options = PgRunnerOptions::default().every_events(2);
    PgRunner::open(&log, "trace", Trace::default(), options)
        .unwrap()
        .catch_up()
        .unwrap();
    drop(log);
    // As a build of schema 2 left it: no anchor column.
    db.sql(
        "ALTER TABLE caseledger.projection_checkpoints DROP COLUMN anchor; \
         UPDATE caseledger.schema_version SET version = 2",
    )
    .unwrap();
    let log = db.log();
    let mut runner = PgRunner::open(&log, "trace", Trace::default(), options).unwrap();
    assert_eq!(runner.position(), 4);
    append_many(&log, 1, 5, 2);
    runner.catch_up().unwrap();
    db.sql(
        "DO $$ BEGIN IF (SELECT version FROM caseledger.schema_version) <> 3 \
         OR (SELECT anchor FROM caseledger.projection_checkpoints WHERE name = 'trace') \
         IS DISTINCT FROM (SELECT hash FROM caseledger.events WHERE position = 6) \
         THEN RAISE EXCEPTION 'not migrated'; END IF; END $$",
    )
    .unwrap();
}

#[test]
fn the_async_runner_follows_writers_on_tokio() {
    let db = TestDb::new();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let log = AsyncPgLog::connect(&db.url, PgOptions::default())
            .await
            .unwrap();
        let options = PgRunnerOptions::default().every_events(5);
        let mut runner = AsyncPgRunner::open(&log, "trace", Trace::default(), options)
            .await
            .unwrap();
        let writer = {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..20u128 {
                    let e = event(1 + i % 3, 500 + i);
                    caseledger_async::AsyncEventLog::append(
                        &log,
                        e.case_id,
                        ExpectedVersion::Any,
                        &[e],
                    )
                    .await
                    .unwrap();
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while runner.position() < 20 {
            assert!(Instant::now() < deadline, "fed {}", runner.position());
            runner.step(1_000).await.unwrap();
        }
        writer.await.unwrap();
        assert_eq!(runner.saved_position(), 20);
        let (position, state) = runner.into_parts();
        assert_eq!((position, state.last), (20, 20));
        assert_eq!(state.per_case.values().sum::<u32>(), 20);
    });
}
