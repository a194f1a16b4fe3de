//! The tables, created and upgraded by the crate: a schema-version row and
//! numbered migrations, each applied once, in order, in one transaction
//! under an advisory lock (so two servers starting at once do not race).
//! A database whose version is newer than [`SCHEMA_VERSION`] is refused
//! ([`ErrorKind::SchemaTooNew`]). An open that may not change the database
//! ([`crate::PgOptions::create_schema`] `false`) only reads the version
//! ([`existing`]). docs/postgres.md shows the tables.

use crate::error::{Error, ErrorKind};

/// The schema this build creates and understands.
pub const SCHEMA_VERSION: i32 = 3;

/// The advisory lock key migrations hold (an arbitrary constant:
/// "caseledger" in ASCII, folded into 63 bits).
const MIGRATION_LOCK: i64 = 0x6361_7365_6c65_6467;

/// What every start runs first: idempotent, so it is safe on every connect.
const BOOTSTRAP: &str = "
CREATE SCHEMA IF NOT EXISTS caseledger;
CREATE TABLE IF NOT EXISTS caseledger.schema_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version integer NOT NULL
);
";

/// Migration 1: the log. `body` is exactly the file store's record body
/// (caseledger-codec); every other column of `events` is a copy of a field
/// of it, kept for queries and indexes, and checked by `verify`.
const MIGRATION_1: &str = r"
CREATE TABLE caseledger.events (
    position     bigint PRIMARY KEY CHECK (position > 0),
    case_id      uuid NOT NULL,
    version      bigint NOT NULL CHECK (version > 0),
    event_id     uuid NOT NULL UNIQUE,
    type         text NOT NULL,
    at           timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    customer_id  text,
    due          timestamptz,
    body         bytea NOT NULL,
    hash         bytea NOT NULL CHECK (length(hash) = 32),
    UNIQUE (case_id, version)
);
CREATE INDEX events_customer ON caseledger.events (customer_id) WHERE customer_id IS NOT NULL;
CREATE TABLE caseledger.commits (
    last_position  bigint PRIMARY KEY,
    first_position bigint NOT NULL,
    hash           bytea NOT NULL CHECK (length(hash) = 32),
    CHECK (first_position > 0 AND last_position >= first_position)
);
CREATE TABLE caseledger.head (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position       bigint NOT NULL CHECK (position >= 0),
    hash           bytea NOT NULL CHECK (length(hash) = 32),
    recorded_secs  bigint,
    recorded_nanos integer
);
INSERT INTO caseledger.head (position, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');
CREATE FUNCTION caseledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'caseledger: % on %.% is refused: the log is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON caseledger.events
    FOR EACH ROW EXECUTE FUNCTION caseledger.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON caseledger.events
    FOR EACH STATEMENT EXECUTE FUNCTION caseledger.refuse_change();
CREATE TRIGGER commits_append_only BEFORE UPDATE OR DELETE ON caseledger.commits
    FOR EACH ROW EXECUTE FUNCTION caseledger.refuse_change();
CREATE TRIGGER commits_no_truncate BEFORE TRUNCATE ON caseledger.commits
    FOR EACH STATEMENT EXECUTE FUNCTION caseledger.refuse_change();
CREATE TRIGGER head_kept BEFORE DELETE ON caseledger.head
    FOR EACH ROW EXECUTE FUNCTION caseledger.refuse_change();
CREATE TRIGGER head_no_truncate BEFORE TRUNCATE ON caseledger.head
    FOR EACH STATEMENT EXECUTE FUNCTION caseledger.refuse_change();
";

/// Migration 2: projections' checkpoints (issue 22), one row per
/// projection, its position and state replaced together by one statement
/// (`follow.rs`). Not part of the log: rows are updated in place.
const MIGRATION_2: &str = r"
CREATE TABLE caseledger.projection_checkpoints (
    name      text PRIMARY KEY CHECK (octet_length(name) BETWEEN 1 AND 128),
    position  bigint NOT NULL CHECK (position >= 0),
    state     jsonb NOT NULL,
    saved_at  timestamptz NOT NULL DEFAULT now()
);
";

/// Migration 3: each checkpoint row keeps its anchor, the chain hash of
/// the event at its position (NULL at position 0, and in rows saved before
/// this migration, until their next checkpoint). A runner resumes only
/// where the log's event at that position has that hash: a row copied from
/// another ledger (a partial restore, a row moved by hand) whose position
/// is within this log's head would otherwise resume silently with another
/// ledger's state, as the file store's anchor check refuses (`OtherLog`).
const MIGRATION_3: &str = r"
ALTER TABLE caseledger.projection_checkpoints
    ADD COLUMN anchor bytea CHECK (anchor IS NULL OR length(anchor) = 32);
";

/// The migrations, in order: migration `i + 1` is `MIGRATIONS[i]`.
const MIGRATIONS: &[&str] = &[MIGRATION_1, MIGRATION_2, MIGRATION_3];

/// Creates or upgrades the schema; refuses a newer one. Returns the version
/// the database is at afterwards.
pub(crate) async fn migrate(client: &mut tokio_postgres::Client) -> Result<i32, Error> {
    let during = "creating or upgrading the caseledger schema";
    // A schema at this version needs nothing: read it without DDL or
    // writes, so that an application role with only the GRANTs of
    // docs/postgres.md connects.
    if let Some(found) = current_version(client).await? {
        check_version(found)?;
        if found == SCHEMA_VERSION {
            return Ok(found);
        }
    }
    let tx = client.transaction().await.map_err(Error::db(during))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(Error::db(during))?;
    tx.batch_execute(BOOTSTRAP)
        .await
        .map_err(Error::db(during))?;
    // No row: a database without a log yet (version 0).
    let found: i32 = match tx
        .query_opt("SELECT version FROM caseledger.schema_version", &[])
        .await
        .map_err(Error::db(during))?
    {
        Some(row) => {
            let stored = row.get(0);
            check_version(stored)?;
            stored
        }
        None => 0,
    };
    // `found` is within 0..=SCHEMA_VERSION (`check_version`); the slice is
    // taken with `get` all the same, so that no stored value can panic.
    let pending = usize::try_from(found)
        .ok()
        .and_then(|from| MIGRATIONS.get(from..))
        .unwrap_or_default();
    for migration in pending {
        tx.batch_execute(migration)
            .await
            .map_err(Error::db(during))?;
    }
    tx.execute(
        "INSERT INTO caseledger.schema_version (singleton, version) VALUES (true, $1)
         ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version",
        &[&SCHEMA_VERSION],
    )
    .await
    .map_err(Error::db(during))?;
    tx.commit().await.map_err(Error::db(during))?;
    Ok(SCHEMA_VERSION)
}

/// The version of the existing ledger, read without DDL or writes (what a
/// reader's open runs instead of [`migrate`]): a database without the
/// version table or its row holds no ledger ([`ErrorKind::NoLedger`]); a
/// newer or impossible version is refused as [`migrate`] refuses it; an
/// older one is returned as it is, not upgraded.
pub(crate) async fn existing(client: &tokio_postgres::Client) -> Result<i32, Error> {
    match current_version(client).await? {
        Some(found) => {
            check_version(found)?;
            Ok(found)
        }
        None => {
            let database: String = client
                .query_one("SELECT current_database()::text", &[])
                .await
                .map_err(Error::db("reading the caseledger schema version"))?
                .get(0);
            Err(Error::new(ErrorKind::NoLedger { database }))
        }
    }
}

/// Refuses a stored schema version this build cannot migrate from: a newer
/// one (upgrade caseledger), or one below 1, which caseledger never writes
/// (the row is inserted at a version of at least 1): a changed row, not a
/// database to build a log in.
fn check_version(found: i32) -> Result<(), Error> {
    if found > SCHEMA_VERSION {
        return Err(Error::new(ErrorKind::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        }));
    }
    if found < 1 {
        return Err(Error::tampered(
            0,
            format!(
                "caseledger.schema_version holds version {found}; caseledger writes 1 to \
                 {SCHEMA_VERSION}, so the row was changed behind its back"
            ),
        ));
    }
    Ok(())
}

/// The version the database is at, if it has the version table and its
/// row.
async fn current_version(client: &tokio_postgres::Client) -> Result<Option<i32>, Error> {
    let during = "reading the caseledger schema version";
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('caseledger.schema_version') IS NOT NULL",
            &[],
        )
        .await
        .map_err(Error::db(during))?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_opt("SELECT version FROM caseledger.schema_version", &[])
        .await
        .map_err(Error::db(during))?;
    Ok(row.map(|r| r.get(0)))
}
