//! The store's error type: an [`Error`] with an [`ErrorKind`] that says what
//! happened and where.

use std::path::PathBuf;

use crate::format::DecodeError;

/// An error of the file store: what went wrong ([`Error::kind`]) and, when
/// the operating system refused something, its error as
/// [`source()`](std::error::Error::source) (also [`Error::io_error`]), so
/// that a caller can tell a full disk from a failing one. For
/// [`ErrorKind::NotOwner`] the source is its [`OwnershipLoss`].
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ErrorKind::NotOwner { reason } => Some(reason),
            _ => self.io_error().map(|e| e as _),
        }
    }
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The operating system's error behind this one, if any: of a file
    /// operation ([`ErrorKind::Io`]) or of the write that made the store
    /// refuse writes or undo an append ([`ErrorKind::Failed`],
    /// [`ErrorKind::Undone`]). `io_error().map(|e| e.kind()) ==
    /// Some(std::io::ErrorKind::StorageFull)` is a full disk.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match &*self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            ErrorKind::Failed { cause } | ErrorKind::Undone { cause } => cause.io_error(),
            _ => None,
        }
    }

    /// Whether the store's data is damaged (as opposed to an I/O failure, a
    /// lock, a refused write or a torn tail).
    pub fn is_corruption(&self) -> bool {
        matches!(*self.kind, ErrorKind::Corrupt(_))
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        ErrorKind::Io {
            op,
            path: path.into(),
            source,
        }
        .into()
    }

    pub(crate) fn corrupt(c: Damage) -> Error {
        ErrorKind::Corrupt(c).into()
    }
}

impl From<Damage> for Error {
    fn from(d: Damage) -> Error {
        Error::corrupt(d)
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error {
            kind: Box::new(kind),
        }
    }
}

/// The kinds of [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What the store was doing ("read", "fdatasync", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Another process holds the writer lock.
    #[error("store {} is locked by another process (a writer is running)", dir.display())]
    Locked {
        /// The store directory.
        dir: PathBuf,
    },
    /// The directory is not a store (or not one this build can read).
    #[error("{} is not a caseledger store: {reason}", dir.display())]
    NotAStore {
        /// The directory.
        dir: PathBuf,
        /// Why not, as a kind to match.
        reason: NotAStoreReason,
    },
    /// Acknowledged data is damaged or missing. The store refuses to open
    /// for writing; nothing was changed.
    #[error("corruption: {0}")]
    Corrupt(Damage),
    /// Bytes at the very end of the log are not a complete, committed batch:
    /// what a crash during a write leaves. Opening for writing cuts them.
    /// Or (its damage of kind [`DamageKind::Missing`]) the store's creation
    /// was interrupted: a checkpoint of an empty log and no segment file,
    /// which opening for writing completes. `verify` reports either; a read
    /// reports the second (it has no log to read). Nothing acknowledged is
    /// lost in either.
    #[error(
        "torn tail: {} (opening the store for writing, e.g. `caseledger recover`, {})",
        .0,
        if .0.kind == DamageKind::Missing {
            "completes it"
        } else {
            "cuts it and keeps the bytes"
        }
    )]
    TornTail(Damage),
    /// An earlier fsync or write failed; the store refuses every write until
    /// it is reopened, because the kernel may have dropped the unsynced pages
    /// (an fsync is never retried).
    #[error("the store refuses writes until it is reopened: an earlier write failed ({cause})")]
    Failed {
        /// The first failure.
        #[source]
        cause: WriteFailure,
    },
    /// Writing an append's group failed and was undone: nothing of it is
    /// stored, and the store still takes writes; the append can be retried.
    #[error("the append was not stored: writing it failed and was undone ({cause})")]
    Undone {
        /// The failure.
        #[source]
        cause: WriteFailure,
    },
    /// A file with a segment's name is not a regular file (a directory,
    /// say): not the store's data, and not damage to it either.
    #[error("{} is {found}, not a segment file", path.display())]
    NotASegmentFile {
        /// The path.
        path: PathBuf,
        /// What it is ("a directory").
        found: &'static str,
    },
    /// The writer no longer owns the store: its directory or checkpoint
    /// was replaced (moved, renamed, restored over) while it ran. The batch
    /// being written was not committed, and every later write is refused.
    #[error(
        "the store is no longer this writer's ({reason}); nothing more was committed and writes \
         are refused"
    )]
    NotOwner {
        /// What changed, as a kind to match (with the operating system's
        /// error as its source when a file could not be looked at).
        #[source]
        reason: OwnershipLoss,
    },
    /// The store was opened read-only.
    #[error("the store is open read-only")]
    ReadOnly,
    /// A record given with its position and recorded time
    /// ([`crate::Batch::append_recorded`], as `caseledger copy` writes a
    /// ledger into another store) cannot be stored as it was recorded:
    /// writing it would make another ledger, not a copy.
    #[error("the record of position {position} cannot be stored as recorded: {reason}")]
    NotAsRecorded {
        /// The record's position.
        position: u64,
        /// Why, as a kind to match.
        reason: NotAsRecordedReason,
    },
    /// A configuration value is out of range.
    #[error("invalid option {name}: {reason}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// Why, as a kind to match.
        reason: InvalidOptionReason,
    },
    /// A projection's checkpoint file (`caseledger_store::follow`) cannot be
    /// used: it is damaged, of another format, or its state does not
    /// read back as the projection's. Nothing was fed from it; remove the
    /// file to rebuild the projection from the start of the log.
    #[error("projection checkpoint {} cannot be used: {reason}", path.display())]
    ProjectionCheckpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it, as a kind to match.
        reason: ProjectionCheckpointReason,
    },
    /// A projection was about to be fed a position other than the next one
    /// (a follower or checkpoint out of step with the log): nothing was
    /// fed.
    #[error("{0}")]
    OutOfOrder(caseledger::projection::OutOfOrder),
    /// A read of the log as it stood at a past head
    /// ([`crate::LogReader::up_to`]) named a position beyond the log's
    /// head: the log never had that head (another store's, or one restored
    /// from an older copy).
    #[error(
        "position {position} is beyond the log's head (position {head}): the log never had a \
         head there"
    )]
    PastHead {
        /// The position asked for.
        position: u64,
        /// The log's head position.
        head: u64,
    },
    /// A read of the log as it stood at a past head
    /// ([`crate::LogReader::up_to`]) named a position inside a batch: the
    /// batch's events were recorded together, so the log's head was never
    /// there, only before the batch (`first - 1`) or after it (`last`).
    #[error(
        "position {position} is inside a batch (positions {first} to {last} were recorded \
         together): the log's head was never there, only at position {} or {last}",
        first - 1
    )]
    InsideBatch {
        /// The position asked for.
        position: u64,
        /// The batch's first position.
        first: u64,
        /// The batch's last position.
        last: u64,
    },
}

/// What is wrong with a projection's checkpoint file: the reason of
/// [`ErrorKind::ProjectionCheckpoint`] (docs/store-format.md, "Projection
/// checkpoints").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionCheckpointReason {
    /// Shorter than its fixed fields, or than the length it records.
    #[error("the file is {bytes} bytes, too short for what it records (torn or cut)")]
    Truncated {
        /// The file's size.
        bytes: u64,
    },
    /// It does not start with the checkpoint magic: not a projection
    /// checkpoint.
    #[error("it does not start with the projection checkpoint magic")]
    NotACheckpoint,
    /// Written by a format this build does not know.
    #[error("format version {found}, this build reads version {supported}")]
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
        /// The version this build writes and reads.
        supported: u16,
    },
    /// The checksum does not match the bytes: the file was damaged.
    #[error("its CRC-32C does not match its bytes (the file was damaged)")]
    ChecksumMismatch,
    /// It was fed up to a position beyond the store's head: it was saved
    /// against another store, or the store was restored from an older
    /// copy. Resuming from it would skip the events appended from the head
    /// on up to its position.
    #[error(
        "it was fed up to position {position}, beyond the store's head {head} (another store's, \
         or the store was restored from an older copy)"
    )]
    BeyondHead {
        /// The checkpoint's position.
        position: u64,
        /// The store's head.
        head: u64,
    },
    /// The log it was fed from is not this store's: the head it recorded
    /// at a commit it had read (position and chain hash) is not this
    /// store's at that position. It was saved against another store, or
    /// the store was restored from an older copy and then took other
    /// events. Resuming from it would give a state no replay of this store
    /// gives.
    #[error(
        "it was fed from another log: it read the head {hash} at position {position}, which is \
         not this store's (another store's, or the store was restored from an older copy since)"
    )]
    OtherLog {
        /// The position of the head it recorded.
        position: u64,
        /// That head's chain hash, in hex.
        hash: String,
    },
    /// Its state is larger than the limit, or bytes follow its checksum.
    #[error("its state is {bytes} bytes, more than the limit of {limit}, or bytes follow it")]
    TooLarge {
        /// The size found.
        bytes: u64,
        /// The limit ([`crate::follow::MAX_STATE_BYTES`]).
        limit: u64,
    },
    /// The state is not the projection's (its JSON does not deserialize,
    /// or the projection's state does not serialize).
    #[error("the state does not read back as this projection's: {detail}")]
    State {
        /// serde_json's message.
        detail: String,
    },
}

/// Why a directory is not a store: the reason of [`ErrorKind::NotAStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotAStoreReason {
    /// The directory does not exist (a read-only open never creates it).
    #[error("no such directory")]
    NoDirectory,
    /// The directory has no checkpoint file (a read-only open).
    #[error("it has no {} file", crate::format::CHECKPOINT_FILE)]
    NoCheckpoint,
    /// The directory has segment files but no checkpoint file, so where its
    /// acknowledged data ends is unknown; nothing was changed.
    #[error(
        "it has segment files but no {} file, so where its acknowledged data ends is unknown; \
         nothing was changed",
        crate::format::CHECKPOINT_FILE
    )]
    SegmentsWithoutCheckpoint,
}

/// Why a record cannot be stored as it was recorded: the reason of
/// [`ErrorKind::NotAsRecorded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotAsRecordedReason {
    /// The store's next position is another one.
    #[error("the store's next position is {next}")]
    NotNext {
        /// The position the store would give the record.
        next: u64,
    },
    /// The record's time is before the last recorded time of the store,
    /// which never decreases along a log.
    #[error("it was recorded at {recorded_at}, before the store's last record ({last})")]
    RecordedEarlier {
        /// The record's time.
        recorded_at: chrono::DateTime<chrono::Utc>,
        /// The last recorded time of the store.
        last: chrono::DateTime<chrono::Utc>,
    },
    /// Its event id is already stored (at `position`).
    #[error("its event id is already stored at position {position}")]
    AlreadyStored {
        /// Where the id is stored.
        position: u64,
    },
}

/// Why an option is refused: the reason of [`ErrorKind::InvalidOption`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidOptionReason {
    /// The value is outside the allowed range, bounds included.
    #[error("{value}; allowed {min} to {max}")]
    OutOfRange {
        /// The value given.
        value: u64,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
}

/// What a writer found changed under it: the reason of
/// [`ErrorKind::NotOwner`]. The operating system's error, when a file could
/// not be looked at, is its [`source()`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OwnershipLoss {
    /// The file the writer holds open could not be looked at (`fstat`).
    #[error("cannot stat the open {}: {source}", path.display())]
    CannotStatHeld {
        /// The path the open file was opened as.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The path now names another file (moved, renamed, restored over).
    #[error("{} was replaced by another file", path.display())]
    Replaced {
        /// The path.
        path: PathBuf,
    },
    /// The path names no file any more (or cannot be looked at: `stat`).
    #[error("{} is gone ({source})", path.display())]
    Gone {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Every later write is refused with the same loss, so it is cloned; an OS
/// error is recreated as [`WriteFailure`]'s are.
impl Clone for OwnershipLoss {
    fn clone(&self) -> OwnershipLoss {
        match self {
            OwnershipLoss::CannotStatHeld { path, source } => OwnershipLoss::CannotStatHeld {
                path: path.clone(),
                source: copy_io(source),
            },
            OwnershipLoss::Replaced { path } => OwnershipLoss::Replaced { path: path.clone() },
            OwnershipLoss::Gone { path, source } => OwnershipLoss::Gone {
                path: path.clone(),
                source: copy_io(source),
            },
        }
    }
}

/// Why a write failed: the cause of [`ErrorKind::Failed`] and
/// [`ErrorKind::Undone`]. Its message says what the store was doing; the
/// operating system's error, when there was one, is
/// [`WriteFailure::io_error`] and [`source()`](std::error::Error::source).
#[derive(Debug)]
pub struct WriteFailure {
    message: String,
    io: Option<std::io::Error>,
}

impl WriteFailure {
    /// The operating system's error, if the failure was one.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        self.io.as_ref()
    }

    /// The failure `e`, with its message and its OS error.
    pub(crate) fn of(e: &Error) -> WriteFailure {
        WriteFailure {
            message: e.to_string(),
            io: e.io_error().map(copy_io),
        }
    }

    /// The failure `e` while doing `what`: "{what}: {e}".
    pub(crate) fn while_(what: &str, e: &Error) -> WriteFailure {
        WriteFailure {
            message: format!("{what}: {e}"),
            io: e.io_error().map(copy_io),
        }
    }

    /// A failure without an OS error (a broken invariant).
    pub(crate) fn other(message: impl Into<String>) -> WriteFailure {
        WriteFailure {
            message: message.into(),
            io: None,
        }
    }
}

/// Every later write is refused with the first failure, so the failure is
/// cloned; an OS error is recreated from its code (the same kind and
/// message), any other from its kind and message.
impl Clone for WriteFailure {
    fn clone(&self) -> WriteFailure {
        WriteFailure {
            message: self.message.clone(),
            io: self.io.as_ref().map(copy_io),
        }
    }
}

fn copy_io(e: &std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(e.kind(), e.to_string()),
    }
}

impl std::fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WriteFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io.as_ref().map(|e| e as _)
    }
}

/// What kind of damage a [`Damage`] is: a kind to match; its `detail`
/// says the rest in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DamageKind {
    /// A frame or record does not decode (its checksum, length or a field).
    Undecodable,
    /// A record's chain hash does not match its content: it, or the one
    /// before it, was changed.
    ChainBroken,
    /// Acknowledged data is missing: a segment file, or records up to the
    /// durable end the checkpoint records.
    Missing,
    /// The log disagrees with itself: a position out of order, a segment
    /// header that does not continue the log, an event id stored twice.
    Inconsistent,
    /// Neither checkpoint slot is valid.
    Checkpoint,
    /// Bytes after the last commit that are not a complete, committed batch
    /// (what a crash leaves: [`ErrorKind::TornTail`]).
    TornTail,
}

/// Where and how the log is damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Damage {
    /// What kind of damage.
    pub kind: DamageKind,
    /// The file.
    pub file: PathBuf,
    /// The byte offset in the file.
    pub offset: u64,
    /// The position of the record involved, when known.
    pub position: Option<u64>,
    /// What is wrong.
    pub detail: String,
}

impl Damage {
    pub(crate) fn new(
        kind: DamageKind,
        file: impl Into<PathBuf>,
        offset: u64,
        detail: impl Into<String>,
    ) -> Damage {
        Damage {
            kind,
            file: file.into(),
            offset,
            position: None,
            detail: detail.into(),
        }
    }

    pub(crate) fn decode(file: impl Into<PathBuf>, offset: u64, e: &DecodeError) -> Damage {
        Damage::new(DamageKind::Undecodable, file, offset, e.to_string())
    }

    pub(crate) fn at_position(mut self, position: u64) -> Damage {
        self.position = Some(position);
        self
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.file.display(), self.offset)?;
        if let Some(p) = self.position {
            write!(f, " (position {p})")?;
        }
        write!(f, ": {}", self.detail)
    }
}
