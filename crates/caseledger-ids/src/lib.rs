//! caseledger-ids: the ids a bank system gives new events and cases.
//!
//! The domain crate `caseledger` reads no clock and no randomness: it takes
//! every new event id from an [`IdSource`]. This crate is the production
//! source. Its ids are UUID version 7 (RFC 9562): 48 bits of the clock's
//! Unix milliseconds, then a counter and random bits from the operating
//! system. So they are unique across restarts of the program and across
//! machines (what an event id, the key of idempotent appends, must be:
//! docs/events.md), and they sort by creation time, which keeps a database
//! index of them compact.
//!
//! ```
//! use caseledger::{CaseService, InMemoryEventLog, IdSource};
//! use caseledger_ids::UuidV7Ids;
//!
//! let ids = UuidV7Ids::new();
//! let (a, b) = (ids.next_event_id(), ids.next_event_id());
//! assert!(a < b, "ids of one process grow");
//! assert_eq!(a.as_uuid().get_version_num(), 7);
//! let _service = CaseService::new(InMemoryEventLog::new(), UuidV7Ids::new());
//! ```
#![forbid(unsafe_code)]

use caseledger::{CaseId, EventId, IdSource};
use uuid::Uuid;

/// UUID v7 ids from the system clock and the operating system's randomness.
///
/// Ids made in one process grow strictly, even within a millisecond and
/// across threads (the uuid crate keeps one counter for the process). Two
/// processes, or two machines, are kept apart by 62 random bits per id.
/// If the operating system cannot supply randomness, making an id panics
/// (the uuid crate's behaviour); on Linux that cannot happen after boot.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7Ids;

impl UuidV7Ids {
    /// The id source.
    pub fn new() -> UuidV7Ids {
        UuidV7Ids
    }

    /// A fresh id for a new case, made the same way.
    pub fn new_case_id(&self) -> CaseId {
        CaseId::from_uuid(Uuid::now_v7())
    }
}

impl IdSource for UuidV7Ids {
    fn next_event_id(&self) -> EventId {
        EventId::from_uuid(Uuid::now_v7())
    }
}
