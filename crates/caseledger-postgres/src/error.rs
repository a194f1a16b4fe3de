//! The log's one error type: [`Error`], with a matchable [`ErrorKind`] and
//! the cause (the client's or the codec's error) as its `source()`.
//!
//! No error of this crate carries the connection URL or a password: a
//! database error is the server's message (which never contains the
//! password), and the place is named in words
//! ("appending", "reading the log"), never by the URL. The cause is the
//! error's `source()`: print the chain to see the server's words. A
//! server's error is the source itself (a
//! [`tokio_postgres::error::DbError`]: its message, DETAIL and HINT), not
//! the client's error around it, which says only "db error".

use std::fmt;

/// What went wrong, to match on. `#[non_exhaustive]`: new kinds may come.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The connection URL (or key=value string) is not one this crate can
    /// use; the reason says which part, never the password.
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// An option is out of its bounds.
    InvalidOption {
        /// Which option, and its bounds.
        reason: String,
    },
    /// The server could not be reached or refused the connection.
    Connect,
    /// A statement failed (the server's error is the source), while doing
    /// `during`. Nothing of the failed transaction is visible: PostgreSQL
    /// rolls it back whole.
    Database {
        /// What the log was doing.
        during: &'static str,
    },
    /// The database holds a caseledger schema newer than this build knows:
    /// upgrade caseledger before using this database.
    SchemaTooNew {
        /// The schema version found in the database.
        found: i32,
        /// The newest schema version this build knows.
        supported: i32,
    },
    /// The database holds no caseledger ledger (no `caseledger` schema with
    /// its version row), and the log was opened to use an existing one
    /// ([`PgOptions::create_schema`](crate::PgOptions::create_schema)
    /// `false`): nothing was created in it. A wrong database name, or a
    /// restore without the schema; a creating open (the default) makes an
    /// empty ledger there.
    NoLedger {
        /// The database's name (as the server calls it: never a password).
        database: String,
    },
    /// The database holds a caseledger schema older than `needed`, which
    /// what was asked needs (a projection runner's checkpoints), and the
    /// log was opened without upgrading it
    /// ([`PgOptions::create_schema`](crate::PgOptions::create_schema)
    /// `false`): open it once with the default options, as the schema's
    /// owner, to upgrade it.
    SchemaTooOld {
        /// The schema version found in the database.
        found: i32,
        /// The version needed.
        needed: i32,
    },
    /// A stored row does not hold what the log wrote: a changed row, a
    /// broken chain link, a gap. `position` names the first such event (or
    /// the last event before a damaged commit marker).
    Tampered {
        /// The position of the row (0: the head row or the log as a whole).
        position: u64,
        /// What does not match.
        detail: String,
    },
    /// A recorded case breaks a case rule (`verify`).
    RuleBroken {
        /// The position of the event that breaks it.
        position: u64,
        /// The case and the rule.
        detail: String,
    },
    /// An import was refused before anything was written: the target's head
    /// is not the one the import continues from, or the records do not
    /// continue it.
    ImportRefused {
        /// Why.
        reason: String,
    },
    /// An import holds an event id the log has already stored (in another
    /// case: the id-reuse rule), or holds it twice: nothing was written.
    EventIdTaken {
        /// The event id.
        event_id: caseledger::EventId,
    },
    /// The log's writer task has stopped (its runtime shut down): nothing
    /// was written by this call.
    WriterStopped,
    /// An append's or an import's answer was lost after its `COMMIT` may
    /// have reached the server (the connection failed while `during`, or
    /// the writer stopped before it answered): its events may or may not
    /// be stored, all of them or none. Send the same events (the same
    /// event ids) again to learn which: a stored append is answered as a
    /// retry (`already_stored`), a stored import is refused
    /// ([`ErrorKind::EventIdTaken`]).
    OutcomeUnknown {
        /// What the log was doing when the answer was lost.
        during: &'static str,
    },
    /// A projection's checkpoint row is not the one this runner last read
    /// or wrote: another runner of the same name moved it. Nothing was
    /// stored; run one runner per name.
    CheckpointMoved {
        /// The projection's name.
        name: String,
        /// The position this runner expected (`None`: no row).
        expected: Option<u64>,
        /// The position found (`None`: no row).
        found: Option<u64>,
    },
    /// A projection's state does not serialize, is too large, or its
    /// stored JSON does not read back as the projection's: nothing was
    /// stored or fed.
    ProjectionState {
        /// The projection's name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// A projection was about to be fed a position other than the next
    /// one: nothing was fed.
    OutOfOrder(caseledger::projection::OutOfOrder),
    /// A read of the log as it stood at a past head
    /// ([`PgLog::read_verified_up_to`](crate::PgLog::read_verified_up_to))
    /// named a position beyond the log's head: the log never had a head
    /// there.
    PastHead {
        /// The position asked for.
        position: u64,
        /// The log's head position.
        head: u64,
    },
    /// A read of the log as it stood at a past head named a position
    /// inside a batch: its events were recorded together, so the log's
    /// head was never there, only before the batch (`first - 1`) or after
    /// it (`last`).
    InsideBatch {
        /// The position asked for.
        position: u64,
        /// The batch's first position.
        first: u64,
        /// The batch's last position.
        last: u64,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::InvalidUrl { reason } => {
                write!(f, "invalid PostgreSQL connection string: {reason}")
            }
            ErrorKind::InvalidOption { reason } => write!(f, "invalid option: {reason}"),
            ErrorKind::Connect => f.write_str("cannot connect to the PostgreSQL server"),
            ErrorKind::Database { during } => write!(
                f,
                "PostgreSQL failed while {during}; nothing of that transaction is stored"
            ),
            ErrorKind::SchemaTooNew { found, supported } => write!(
                f,
                "the database holds caseledger schema version {found}, newer than this build's {supported}: upgrade caseledger before using it"
            ),
            ErrorKind::NoLedger { database } => write!(
                f,
                "the database `{database}` holds no caseledger ledger (no caseledger schema \
                 with its version row); it was opened for an existing ledger only, so nothing \
                 was created in it"
            ),
            ErrorKind::SchemaTooOld { found, needed } => write!(
                f,
                "the database holds caseledger schema version {found}, older than the {needed} \
                 this needs, and it was opened without upgrading it: open it once for writing \
                 (as the schema's owner) to upgrade it"
            ),
            ErrorKind::Tampered { position, detail } => {
                write!(
                    f,
                    "the log was changed behind caseledger's back at position {position}: {detail}"
                )
            }
            ErrorKind::RuleBroken { position, detail } => {
                write!(
                    f,
                    "the event at position {position} breaks a case rule: {detail}"
                )
            }
            ErrorKind::ImportRefused { reason } => {
                write!(f, "import refused, nothing written: {reason}")
            }
            ErrorKind::EventIdTaken { event_id } => write!(
                f,
                "import refused, nothing written: event id {event_id} is already stored in the log \
                 (an event id is never reused) or comes twice in the import"
            ),
            ErrorKind::OutcomeUnknown { during } => write!(
                f,
                "the answer was lost while {during}, after the commit may have reached the \
                 server: the events may or may not be stored, all of them or none; send them \
                 again (the same event ids) to learn which: an append already stored is \
                 answered as a retry, an import already stored is refused naming an event id \
                 the log holds"
            ),
            ErrorKind::WriterStopped => {
                f.write_str("the log's writer has stopped; nothing was written")
            }
            ErrorKind::CheckpointMoved {
                name,
                expected,
                found,
            } => {
                let at = |p: &Option<u64>| {
                    p.map_or_else(|| "no checkpoint".to_owned(), |p| format!("position {p}"))
                };
                write!(
                    f,
                    "the checkpoint of projection `{name}` is at {}, not at {} as this runner \
                     left it: another runner of that name moved it; nothing was stored",
                    at(found),
                    at(expected)
                )
            }
            ErrorKind::ProjectionState { name, detail } => {
                write!(
                    f,
                    "the state of projection `{name}` cannot be used: {detail}"
                )
            }
            ErrorKind::OutOfOrder(o) => write!(f, "{o}"),
            // The file store's words (caseledger_store::ErrorKind).
            ErrorKind::PastHead { position, head } => write!(
                f,
                "position {position} is beyond the log's head (position {head}): the log never \
                 had a head there"
            ),
            ErrorKind::InsideBatch {
                position,
                first,
                last,
            } => write!(
                f,
                "position {position} is inside a batch (positions {first} to {last} were \
                 recorded together): the log's head was never there, only at position {} or \
                 {last}",
                first - 1
            ),
        }
    }
}

/// The log's error: a [`kind`](Error::kind) to match on, and the cause as
/// [`std::error::Error::source`].
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error { kind, source: None }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            kind,
            source: Some(Box::new(source)),
        }
    }

    /// A failed statement while doing `during`.
    pub(crate) fn db(during: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Error {
        move |e| Error::with_source(ErrorKind::Database { during }, e)
    }

    /// A failed statement of an append while doing `during`, once its
    /// `COMMIT` is sent behind it. The server's own error (a constraint,
    /// a full disk) aborted the transaction, which the `COMMIT` then rolls
    /// back: nothing is stored. Any other failure (the connection closed,
    /// a network error) may have come after the server received the
    /// `COMMIT` and committed: [`ErrorKind::OutcomeUnknown`].
    pub(crate) fn commit_sent(during: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Error {
        move |e| {
            let kind = if e.as_db_error().is_some() {
                ErrorKind::Database { during }
            } else {
                ErrorKind::OutcomeUnknown { during }
            };
            Error::with_source(kind, e)
        }
    }

    /// A pool failure (no connection could be had) while doing `during`.
    pub(crate) fn pool(during: &'static str) -> impl FnOnce(deadpool_postgres::PoolError) -> Error {
        move |e| match e {
            deadpool_postgres::PoolError::Backend(e) => {
                Error::with_source(ErrorKind::Database { during }, e)
            }
            other => Error::with_source(ErrorKind::Connect, PoolFailure(other.to_string())),
        }
    }

    /// A connection attempt the server did not answer within `timeout`
    /// (`PgOptions::connect_timeout_ms`): the one wording for the pool's,
    /// the direct path's and a follower's connections.
    pub(crate) fn connect_timeout(timeout: std::time::Duration) -> Error {
        Error::with_source(
            ErrorKind::Connect,
            PoolFailure(format!("no answer within {} ms", timeout.as_millis())),
        )
    }

    /// The error each append of a failed group gets: the group's failure,
    /// shared.
    pub(crate) fn group_failed(cause: &std::sync::Arc<Error>) -> Error {
        Error {
            kind: cause.kind.clone(),
            source: Some(Box::new(Shared(std::sync::Arc::clone(cause)))),
        }
    }

    pub(crate) fn tampered(position: u64, detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Tampered {
            position,
            detail: detail.into(),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The cause is the `source()`, printed by whoever walks the chain
        // (anyhow's `{:#}`), not repeated here.
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| server_words(e))
    }
}

/// The cause to show for `e`: the server's own error (its severity,
/// message, DETAIL and HINT) in place of the client's error that carries
/// it, whose words are only "db error" (its `source()` is the server's
/// error): a chain printed link by link says the server's message once,
/// without a line that says nothing. Any other cause is itself.
fn server_words<'a>(
    e: &'a (dyn std::error::Error + Send + Sync + 'static),
) -> &'a (dyn std::error::Error + 'static) {
    match e
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::as_db_error)
    {
        Some(server) => server,
        None => e,
    }
}

/// A pool's failure that is not the server's (a timeout, a closed pool).
#[derive(Debug, thiserror::Error)]
#[error("connection pool: {0}")]
pub(crate) struct PoolFailure(pub(crate) String);

/// One failure shared by every append of a group: its cause is the
/// group's error's cause.
#[derive(Debug)]
struct Shared(std::sync::Arc<Error>);

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.source {
            Some(cause) => fmt::Display::fmt(server_words(cause.as_ref()), f),
            None => fmt::Display::fmt(&self.0.kind, f),
        }
    }
}

impl std::error::Error for Shared {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .and_then(|e| server_words(e).source())
    }
}
