//! Faults: the appending connection terminated in the middle of its
//! transaction, and every connection of the database terminated (what a
//! server restart does to clients; the tests never restart the shared
//! server): the append fails with a clear error, nothing of it is
//! visible, and the next append succeeds on a new connection.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use std::time::{Duration, Instant};

use caseledger::*;
use caseledger_postgres::{ErrorKind, PgLog};
use chrono::{TimeZone, Utc};
use common::TestDb;

fn responded(case: u128, id: u128) -> Event {
    Event {
        event_id: EventId::from_u128(id),
        case_id: CaseId::from_u128(case),
        at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        actor: Actor::System,
        data: EventData::Responded,
    }
}

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
