//! caseledger-postgres: caseledger's event log on PostgreSQL.
//!
//! The same promises as the file store, kept by the database banks already
//! run: gapless global positions (a position is visible only once every
//! lower one is, so a catch-up reader never skips an event), the file
//! store's SHA-256 hash chain over the very same record bytes (the same
//! events, positions, recorded times and batches give the same head hash on
//! both backends), the one append contract
//! ([`caseledger::backend::plan_append`]) with the follow-up cap checked in
//! the appending transaction (so it holds across application servers), and
//! tables that refuse UPDATE and DELETE.
//!
//! - [`AsyncPgLog`]: for services on tokio, implementing
//!   [`caseledger_async::AsyncEventLog`] natively (a connection pool for
//!   reads; appends grouped by one writer task per process).
//! - [`PgLog`]: the blocking [`caseledger::EventLog`], for the command line
//!   and blocking embedders: it owns a small runtime on threads of its own,
//!   so it works outside a runtime and inside one alike.
//!
//! - Following: [`AsyncPgLog::follow`] and [`PgLog::follow`] hand out the
//!   events from a position on and wait for new ones (woken by the
//!   writer's notification); [`AsyncPgRunner`] and [`PgRunner`] keep a
//!   projection current with its checkpoint in the database.
//!
//! docs/postgres.md gives the schema, the guarantees, roles and GRANTs, TLS,
//! backups and measured figures.
#![forbid(unsafe_code)]

mod blocking;
mod config;
mod direct;
mod error;
mod follow;
mod log;
mod records;
mod rows;
mod schema;
#[cfg(feature = "tls")]
mod tls;
mod verify;
mod writer;

pub use blocking::{IMPORT_CHUNK_RECORDS, PgLog, VERIFY_CHUNK_EVENTS};
pub use config::{
    Clock, MAX_GROUP_APPENDS, MAX_PAGE_ROWS, MAX_POOL_SIZE, NOTIFY_CHANNEL, PASSWORD_MASK,
    PgOptions, is_postgres_url, redact_url, same_database, url_passwords, url_with_database,
};
pub use error::{Error, ErrorKind};
pub use follow::{
    AsyncPgFollower, AsyncPgRunner, MAX_POLL_INTERVAL_MS, MAX_PROJECTION_NAME_BYTES,
    MAX_STATE_BYTES, PgFollowOptions, PgFollower, PgRunner, PgRunnerOptions,
};
pub use log::AsyncPgLog;
pub use records::{LogRecord, RecordStream};
pub use schema::SCHEMA_VERSION;
pub use verify::VerifyReport;

use caseledger_codec::Hash;

/// A log's committed head: its last position and the chain hash after that
/// batch's commit record. Two logs with the same head hold the same
/// records up to it (the file store's `Head` is the same pair).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The last position (0: empty).
    pub position: u64,
    /// The chain hash after the last commit record (zeros: empty).
    pub hash: Hash,
}

impl Head {
    /// The head of an empty log.
    pub const EMPTY: Head = Head {
        position: 0,
        hash: caseledger_codec::GENESIS_HASH,
    };

    /// The hash in lowercase hex, as `verify` prints it.
    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }
}

/// Lowercase hexadecimal, as `verify` prints a hash.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
