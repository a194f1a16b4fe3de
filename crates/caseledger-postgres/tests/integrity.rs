//! The chain and the append-only tables: the same head as the file store
//! for the same appends, UPDATE/DELETE/TRUNCATE refused, a row changed
//! behind the log's back found by `verify` at its position, a newer schema
//! refused, the password never shown.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use caseledger::{Event, EventLog};
use caseledger_postgres::{Clock, ErrorKind, PgLog, PgOptions};
use caseledger_store::{Store, StoreOptions};
use caseledger_synth::{Synth, SynthConfig};
use caseledger_testkit::append_each;
use caseledger_testkit::pg::TestRole;
use chrono::{TimeZone, Utc};
use common::TestDb;

/// A valid history of `cases` cases.
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

fn event_time() -> PgOptions {
    PgOptions::default().clock(Clock::EventTime)
}

#[test]
fn the_head_hash_equals_the_file_stores_for_the_same_appends() {
    let events = history(40, 7);
    assert!(events.len() > 100, "a history of some length");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions::default().clock(caseledger_store::Clock::EventTime),
    )
    .unwrap();
    append_each(&store, &events);
    let file_head = store.head();
    drop(store);

    let db = TestDb::new();
    let log = db.log_with(event_time());
    append_each(&log, &events);
    let pg_head = log.head().unwrap();
    assert_eq!(pg_head.position, file_head.position);
    assert_eq!(
        pg_head.hash, file_head.hash,
        "the same chain on both backends"
    );

    let mut seen = Vec::new();
    let report = log.verify(|e| seen.push(e.position)).unwrap();
    assert_eq!(report.head, pg_head);
    assert_eq!(
        report.commits,
        events.len() as u64,
        "one commit per lone append"
    );
    assert_eq!(seen, (1..=events.len() as u64).collect::<Vec<_>>());
    let file_report = caseledger_store::verify(dir.path(), |_| {}).unwrap();
    assert_eq!(file_report.head.hash, report.head.hash);
    // The same events read back, in the same order, with the same times.
    let from_pg: Vec<_> = log.read_all(1).unwrap().map(|e| e.unwrap()).collect();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let from_file: Vec<_> = store.read_all(1).unwrap().map(|e| e.unwrap()).collect();
    assert_eq!(from_pg, from_file);
}

fn small_log(db: &TestDb) -> PgLog {
    let log = db.log_with(event_time());
    append_each(&log, &history(3, 1));
    log
}

#[test]
fn the_tables_refuse_update_delete_and_truncate() {
    let db = TestDb::new();
    let _log = small_log(&db);
    for sql in [
        "UPDATE caseledger.events SET type = 'closed' WHERE position = 2",
        "DELETE FROM caseledger.events WHERE position = 3",
        "TRUNCATE caseledger.events",
        "UPDATE caseledger.commits SET first_position = 1",
        "DELETE FROM caseledger.commits",
        "DELETE FROM caseledger.head",
    ] {
        let err = db.sql(sql).expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
}

#[test]
fn verify_names_the_position_of_a_row_changed_behind_its_back() {
    let db = TestDb::new();
    let log = small_log(&db);
    let sound = log.verify(|_| {}).unwrap();
    assert!(sound.events >= 5);

    // A superuser switches the trigger off and changes a byte of a body.
    db.sql(
        "ALTER TABLE caseledger.events DISABLE TRIGGER events_append_only;
         UPDATE caseledger.events SET body = set_byte(body, 90, get_byte(body, 90) # 1) WHERE position = 4;",
    )
    .unwrap();
    let err = log.verify(|_| {}).unwrap_err();
    match err.kind() {
        ErrorKind::Tampered { position, .. } => assert_eq!(*position, 4, "{err}"),
        other => panic!("expected tampering at 4, got {other:?}"),
    }
    // Put it back (xor again), then change a column alone: found too.
    db.sql(
        "UPDATE caseledger.events SET body = set_byte(body, 90, get_byte(body, 90) # 1) WHERE position = 4;
         UPDATE caseledger.events SET at = at + interval '1 second' WHERE position = 2;",
    )
    .unwrap();
    let err = log.verify(|_| {}).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Tampered { position: 2, detail } if detail.contains("`at`")),
        "{err}"
    );
    // A deleted row: the gap is named.
    db.sql(
        "UPDATE caseledger.events SET at = at - interval '1 second' WHERE position = 2;
         DELETE FROM caseledger.events WHERE position = 3;",
    )
    .unwrap();
    let err = log.verify(|_| {}).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Tampered { position: 3, .. }),
        "{err}"
    );
}

#[test]
fn a_database_with_a_newer_schema_is_refused() {
    let db = TestDb::new();
    drop(db.log());
    db.sql("UPDATE caseledger.schema_version SET version = version + 1")
        .unwrap();
    let err = PgLog::connect(&db.url, PgOptions::default()).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::SchemaTooNew {
            found: caseledger_postgres::SCHEMA_VERSION + 1,
            supported: caseledger_postgres::SCHEMA_VERSION
        }
    );
    assert!(err.to_string().contains("upgrade caseledger"), "{err}");
}

#[test]
fn a_schema_version_caseledger_never_writes_is_refused_not_a_panic() {
    let db = TestDb::new();
    drop(db.log());
    // Below 1, on both ways into `migrate` (the version read without a
    // transaction, and read again under the migration lock).
    for version in [-1, 0, i32::MIN] {
        db.sql(&format!(
            "UPDATE caseledger.schema_version SET version = {version}"
        ))
        .unwrap();
        let err = PgLog::connect(&db.url, PgOptions::default()).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Tampered { position: 0, detail }
                if detail.contains(&format!("holds version {version}"))),
            "{version}: {err}"
        );
    }
}

#[test]
fn connecting_twice_leaves_the_schema_as_it_is() {
    let db = TestDb::new();
    let log = small_log(&db);
    let head = log.head().unwrap();
    drop(log);
    let again = db.log();
    assert_eq!(
        again.head().unwrap(),
        head,
        "a second connect migrates nothing"
    );
}

#[test]
fn the_password_never_shows_in_errors_or_debug() {
    let secret = "pw-Zq81-secret";
    let db = TestDb::new();
    // Trust authentication accepts any password, so this connects.
    let url = db.url.replacen("://", &format!("://postgres:{secret}@"), 1);
    let url = match url.matches('@').count() {
        1 => url,
        // The base URL had a user already: put the password after it.
        _ => {
            let (scheme, rest) = db.url.split_once("://").unwrap();
            let (user, host) = rest.split_once('@').unwrap();
            let user = user.split(':').next().unwrap();
            format!("{scheme}://{user}:{secret}@{host}")
        }
    };
    let log = PgLog::connect(&url, PgOptions::default()).unwrap();
    let shown = format!("{log:?} {:?}", log.async_log());
    assert!(!shown.contains(secret), "{shown}");
    drop(log);
    // A port nobody listens on, and a malformed string: the errors, their
    // Debug and their whole chain of causes never carry the password.
    for bad in [
        format!("postgres://postgres:{secret}@127.0.0.1:1/db?connect_timeout=2"),
        format!("postgres://postgres:{secret}@127.0.0.1:5432/db?port=notanumber"),
        format!("postgres://postgres:{secret}@127.0.0.1:5432/db?sslmode=sometimes"),
    ] {
        let err = PgLog::connect(&bad, PgOptions::default().connect_timeout_ms(3_000)).unwrap_err();
        let mut text = format!("{err} {err:?}");
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&err);
        while let Some(c) = cause {
            text.push_str(&format!(" {c} {c:?}"));
            cause = c.source();
        }
        assert!(!text.contains(secret), "{text}");
    }
}

/// The application role of docs/postgres.md ("Roles and GRANTs"): it
/// connects, appends and reads, and can neither change nor delete events
/// nor switch the triggers off.
#[test]
fn the_application_role_of_the_docs_appends_and_reads_only() {
    let db = TestDb::new();
    drop(db.log()); // the owner creates the schema
    let app = TestRole::new(
        &db.name,
        &format!("{}_app", db.name),
        "GRANT USAGE ON SCHEMA caseledger TO {role};
         GRANT SELECT, INSERT ON caseledger.events, caseledger.commits TO {role};
         GRANT SELECT, UPDATE ON caseledger.head TO {role};
         GRANT SELECT ON caseledger.schema_version TO {role};",
    )
    .unwrap();
    let role = app.name.clone();
    let url = common::url_as_user(&db.url, &role);
    let log = PgLog::connect(&url, event_time()).unwrap();
    append_each(&log, &history(2, 9));
    assert!(log.verify(|_| {}).unwrap().events > 0);
    let as_app = |sql: &str| {
        let (u, sql) = (url.clone(), sql.to_owned());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (c, conn) = tokio_postgres::connect(&u, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                c.batch_execute(&sql).await.map_err(|e| e.to_string())
            })
        })
        .join()
        .unwrap()
    };
    for sql in [
        "UPDATE caseledger.events SET type = 'closed'",
        "DELETE FROM caseledger.events",
        "ALTER TABLE caseledger.events DISABLE TRIGGER events_append_only",
        "TRUNCATE caseledger.commits",
    ] {
        assert!(as_app(sql).is_err(), "{sql} was allowed");
    }
}

/// Whether the database holds a `caseledger` schema at all.
fn has_schema(db: &TestDb) -> bool {
    caseledger_testkit::pg::admin_on(&db.url, |c| {
        Box::pin(async move {
            c.query_one(
                "SELECT count(*) FROM pg_namespace WHERE nspname = 'caseledger'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
                > 0
        })
    })
}

/// The schema version row of the database.
fn stored_version(db: &TestDb) -> i32 {
    caseledger_testkit::pg::admin_on(&db.url, |c| {
        Box::pin(async move {
            c.query_one("SELECT version FROM caseledger.schema_version", &[])
                .await
                .unwrap()
                .get(0)
        })
    })
}

/// Every link of an error's chain, as printed one per line.
fn chain(err: &caseledger_postgres::Error) -> Vec<String> {
    let mut links = vec![err.to_string()];
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        links.push(c.to_string());
        cause = c.source();
    }
    links
}

fn reading() -> PgOptions {
    PgOptions::default().create_schema(false)
}

/// An open that may not write (`create_schema(false)`, what every reading
/// command uses) refuses a database without a ledger, blocking and async
/// alike, and creates nothing in it; a creating open still makes the
/// ledger, which the reading open then opens.
#[test]
fn a_reading_open_of_a_database_without_a_ledger_creates_nothing() {
    let db = TestDb::new();
    let err = PgLog::connect(&db.url, reading()).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::NoLedger {
            database: db.name.clone()
        }
    );
    assert!(err.to_string().contains("nothing was created"), "{err}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(caseledger_postgres::AsyncPgLog::connect(&db.url, reading()))
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NoLedger { .. }), "{err}");
    assert!(!has_schema(&db), "a reading open created the schema");
    // A schema of that name without caseledger's version row (another
    // program's, or a restore that left the tables out) holds no ledger
    // either, and is left as it is.
    db.sql("CREATE SCHEMA caseledger").unwrap();
    let err = PgLog::connect(&db.url, reading()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NoLedger { .. }), "{err}");
    db.sql("DROP SCHEMA caseledger").unwrap();

    let head = small_log(&db).head().unwrap();
    assert!(has_schema(&db), "the default open creates the schema");
    let log = PgLog::connect(&db.url, reading()).unwrap();
    assert_eq!(log.head().unwrap(), head);
    assert_eq!(log.verify(|_| {}).unwrap().head, head);
}

/// The auditor of docs/postgres.md ("Roles and GRANTs": SELECT alone)
/// verifies a ledger at an older schema version with a reading open, which
/// leaves the version as it is; a projection runner is refused there
/// (its checkpoint table is the current version's) with `SchemaTooOld`,
/// and only the owner's creating open upgrades.
#[test]
fn a_reading_open_reads_an_older_schema_without_upgrading_it() {
    let db = TestDb::new();
    let head = small_log(&db).head().unwrap();
    // Back to version 2: migration 3 added the checkpoints' anchor.
    db.sql(
        "ALTER TABLE caseledger.projection_checkpoints DROP COLUMN anchor;
         UPDATE caseledger.schema_version SET version = 2;",
    )
    .unwrap();
    let audit = TestRole::new(
        &db.name,
        &format!("{}_audit", db.name),
        "GRANT USAGE ON SCHEMA caseledger TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA caseledger TO {role};",
    )
    .unwrap();
    let role = audit.name.clone();
    let url = common::url_as_user(&db.url, &role);

    // A creating open as the auditor tries to upgrade, and the server
    // refuses: its words are in the chain once, without the client's bare
    // "db error".
    let err = PgLog::connect(&url, PgOptions::default()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Database { .. }),
        "{err}: {err:?}"
    );
    let links = chain(&err);
    assert!(!links.iter().any(|l| l == "db error"), "{links:?}");
    assert_eq!(
        links
            .iter()
            .filter(|l| l.contains("permission denied"))
            .count(),
        1,
        "{links:?}"
    );

    let log = PgLog::connect(&url, reading()).unwrap();
    let report = log.verify(|_| {}).unwrap();
    assert_eq!(report.head, head);
    assert_eq!(stored_version(&db), 2, "a reading open upgraded the schema");
    let err = caseledger_postgres::PgRunner::open(
        &log,
        "trace",
        caseledger_testkit::trace::Trace::default(),
        caseledger_postgres::PgRunnerOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::SchemaTooOld {
            found: 2,
            needed: caseledger_postgres::SCHEMA_VERSION
        }
    );
    drop(log);
    drop(db.log());
    assert_eq!(stored_version(&db), caseledger_postgres::SCHEMA_VERSION);
}

/// A database that does not exist: the server's FATAL message is in the
/// chain once, and no link is the client's bare "db error".
#[test]
fn the_servers_refusal_is_said_once_without_a_bare_db_error() {
    let url = caseledger_testkit::pg::url_with_db(
        &caseledger_testkit::pg::base_url(),
        "caseledger_no_such_database",
    );
    let err = PgLog::connect(&url, PgOptions::default()).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Connect);
    let links = chain(&err);
    assert!(!links.iter().any(|l| l == "db error"), "{links:?}");
    assert_eq!(
        links
            .iter()
            .filter(|l| l.contains("\"caseledger_no_such_database\" does not exist"))
            .count(),
        1,
        "{links:?}"
    );
}
