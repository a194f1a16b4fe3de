//! caseledger-store: an append-only file event store for caseledger.
//!
//! [`Store`] implements the domain crate's [`caseledger::EventLog`] port over
//! segment files in a directory:
//!
//! - every record is framed, checksummed (CRC-32C) and hash-chained
//!   (SHA-256), so [`verify`] proves the log unchanged up to a head;
//! - an append returns only once its bytes are durable (fdatasync); appends
//!   from many threads share one sync (group commit);
//! - an append, and a [`Batch`] of appends to many streams, is atomic across
//!   crashes: a commit record ends it, and recovery cuts a batch without one;
//! - opening for writing recovers from a crash, and tells a torn tail (cut,
//!   bytes kept under `cut/`) from corruption of acknowledged data (refused);
//! - one writing process at a time (a lock on the store directory);
//!   read-only opens see the acknowledged prefix while a writer runs.
//!
//! docs/store-format.md specifies the bytes, the durability steps and the
//! recovery rules.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use caseledger::{Actor, CaseId, Channel, CustomerId, Event, EventData, EventId, EventLog,
//!                  ExpectedVersion, Opened, Tier};
//! use caseledger_store::{Store, StoreOptions};
//! use chrono::{TimeZone, Utc};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path(), StoreOptions::default())?;
//! let case = CaseId::from_u128(1);
//! let opened = Event {
//!     event_id: EventId::from_u128(1),
//!     case_id: case,
//!     at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 15, 0).unwrap(),
//!     actor: Actor::parse("agent-17")?,
//!     data: EventData::Opened(Opened {
//!         customer_id: CustomerId::new("C-1001")?,
//!         channel: Channel::Phone,
//!         tier: Tier::Vip,
//!         summary: None,
//!         origin: caseledger::Origin::Customer,
//!     }),
//! };
//! let done = store.append(case, ExpectedVersion::NoStream, &[opened.clone()])?;
//! assert_eq!(done.positions, vec![1]);
//! // A retry with the same event id writes nothing and answers the same.
//! let again = store.append(case, ExpectedVersion::NoStream, &[opened])?;
//! assert!(again.already_stored);
//! assert_eq!(store.read_stream(case)?.len(), 1);
//! drop(store);
//! let report = caseledger_store::verify(dir.path(), |_| {})?;
//! assert_eq!(report.head.position, 1);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

// The store relies on Unix file-system semantics: positioned reads and writes
// (`std::os::unix::fs::FileExt`), an advisory `flock` on the store directory
// as the writer's lock, and fsync of a directory to make a new or renamed
// file's entry durable. Windows has none of these as the store needs them
// (a directory cannot be opened and synced, locks are mandatory), so the
// crate refuses to build there instead of failing on its first open.
#[cfg(not(unix))]
compile_error!(
    "caseledger-store is Unix-only (Linux, macOS): it needs positioned file I/O, \
     flock on the store directory and fsync of directories; see README.md, \"Platforms\""
);

mod chain;
mod checkpoint;
mod error;
pub mod follow;
// The binary codec: public for this crate's tests and tools, not part of
// the stable API (docs/store-format.md specifies the bytes).
#[doc(hidden)]
pub mod format;
mod index;
mod layout;
mod locks;
mod open;
mod read;
mod recover;
mod segment;
mod store;
mod verify;
mod write;

pub use error::{
    Damage, DamageKind, Error, ErrorKind, InvalidOptionReason, NotAStoreReason,
    NotAsRecordedReason, OwnershipLoss, ProjectionCheckpointReason, WriteFailure,
};
pub use format::FORMAT_VERSION;
pub use layout::{Head, Until};
pub use open::LOCK_WAIT_MS;
pub use read::{LogIter, LogReader, LogRecord, Records};
pub use recover::{CutPiece, Recovery};
pub use store::Store;
// The store's file names and internal helpers: public for the command line
// and this crate's tests, not part of the stable API.
#[doc(hidden)]
pub use checkpoint::CHECKPOINT_FILE;
#[doc(hidden)]
pub use layout::hex;
#[doc(hidden)]
pub use read::partition_of;
#[doc(hidden)]
pub use recover::CUT_DIR;
#[doc(hidden)]
pub use segment::{MAX_OPEN_SEGMENTS, parse_segment_name, segment_name};
pub use verify::{VerifyReport, verify, verify_partitions};
pub use write::{
    Batch, Clock, DEFAULT_SEGMENT_BYTES, MAX_GROUP_APPENDS, MAX_SEGMENT_BYTES, MIN_SEGMENT_BYTES,
    StoreOptions,
};

/// Decode entry points for the fuzz targets in `fuzz/` (feature `fuzzing`):
/// not part of the stable API. Record bodies are fuzzed through
/// `caseledger-codec`'s public API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::format::{
        FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES, SegmentHeader, decode_frame,
    };

    /// The size of a checkpoint slot.
    pub const CHECKPOINT_SLOT_BYTES: usize = crate::checkpoint::SLOT_BYTES;

    /// Decodes a checkpoint slot (the first bytes of `b`) and encodes it
    /// again; `None` if it is not a valid slot.
    pub fn checkpoint_slot_round_trip(b: &[u8]) -> Option<[u8; CHECKPOINT_SLOT_BYTES]> {
        crate::checkpoint::Checkpoint::decode(b).map(|c| c.encode())
    }
}

/// The README's examples, compiled and run as doctests so they cannot rot
/// (here, because the README's example uses both the domain and the store).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

// docs/embedding.md's examples run as doctests of caseledger-async, the
// one crate that has the blocking and the async face at hand.
