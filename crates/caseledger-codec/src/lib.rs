//! caseledger-codec: the canonical bytes of a caseledger record.
//!
//! A log is a chain of records: an event record per event, and a commit
//! record that ends each atomic batch. This crate turns them into their one
//! byte form (the record *body*) and back, and computes the SHA-256 chain
//! hash that seals each body to the one before it. Every backend stores
//! these same bytes and computes the same chain: the file store of
//! `caseledger-store` frames them in segment files; a database backend keeps
//! them in rows. So a log verifies to the same head whatever holds it.
//!
//! docs/store-format.md ("Records", "Event record body", "Commit record
//! body", "Code tables") specifies every byte; this crate is their only
//! implementation. It does no I/O.
//! Decoding never panics: every length is checked before it is used, and
//! every failure is a [`DecodeError`] that names what was wrong. Encoding
//! refuses what decoding would refuse, so a record is never written that
//! its reader refuses.
//!
//! - `encode.rs`: [`encode_event_body`], [`encode_commit_body`];
//! - `decode.rs`: [`decode_body`], [`decode_event_header`] and the peeks
//!   that read one field without decoding the rest;
//! - `chain.rs`: [`chain_hash`], [`link_holds`] and the parts of a body they
//!   cover.
//!
//! ```
//! use caseledger::{Actor, CaseId, Event, EventData, EventId};
//! use caseledger_codec::{GENESIS_HASH, Record, decode_body, encode_event_body, link_holds};
//! use chrono::TimeZone;
//!
//! let at = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
//! let event = Event {
//!     event_id: EventId::from_u128(1),
//!     case_id: CaseId::from_u128(7),
//!     at,
//!     actor: Actor::System,
//!     data: EventData::Responded,
//! };
//! let mut body = Vec::new();
//! let hash = encode_event_body(&mut body, &GENESIS_HASH, 1, 1, &at, &event)?;
//! assert!(link_holds(&GENESIS_HASH, &body), "the body ends with its chain hash");
//! assert_eq!(body[body.len() - 32..], hash);
//! let Record::Event(decoded) = decode_body(&body)? else { unreachable!() };
//! assert_eq!((decoded.position, decoded.event), (1, event));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod chain;
mod decode;
mod encode;
mod time;

use caseledger::{CaseId, Event, EventId, EventType, MAX_TEXT_BYTES};
use chrono::{DateTime, Utc};

pub use chain::{chain_hash, hashed_part, link_holds, stored_hash};
pub use decode::{
    StringPool, decode_body, decode_body_pooled, decode_event_header, peek_event_position,
    peek_event_stream,
};
pub use encode::{encode_commit_body, encode_event_body};

/// The largest record body, in bytes. The largest valid event (two texts of
/// `MAX_TEXT_BYTES` plus ids) is far below it; the bound keeps a damaged
/// length field from making a reader allocate gigabytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The size of a chain hash in bytes (SHA-256).
pub const HASH_BYTES: usize = 32;
/// The schema version of event payloads this crate writes.
pub const SCHEMA_VERSION: u8 = 1;

/// A SHA-256 chain hash.
pub type Hash = [u8; HASH_BYTES];

/// The hash before the first record.
pub const GENESIS_HASH: Hash = [0; HASH_BYTES];

const KIND_EVENT: u8 = 1;
const KIND_COMMIT: u8 = 2;
/// Bytes of an event body before the actor.
const EVENT_FIXED_BYTES: usize = 76;
/// Bytes of a commit body, hash included.
const COMMIT_BODY_BYTES: usize = 24 + HASH_BYTES;

/// Why bytes are not a valid record body (or, in a store, a frame or a
/// header: one error for every decoder of the format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end before the structure does.
    #[error("incomplete: {needed} bytes needed, {available} available")]
    Incomplete {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// A checksum does not match.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// The stored CRC-32C.
        stored: u32,
        /// The CRC-32C of the bytes.
        computed: u32,
    },
    /// A field holds a value the format does not allow.
    #[error("bad {field}: {detail}")]
    Bad {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

impl DecodeError {
    /// A field holding a value the format does not allow.
    pub fn bad(field: &'static str, detail: impl Into<String>) -> DecodeError {
        DecodeError::Bad {
            field,
            detail: detail.into(),
        }
    }
}

/// A decoded record body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// One event.
    Event(EventRecord),
    /// The end of a batch: events `first_position..=last_position` are
    /// committed.
    Commit {
        /// The first event of the batch.
        first_position: u64,
        /// The last event of the batch.
        last_position: u64,
    },
}

/// An event record's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Global position.
    pub position: u64,
    /// Version within the stream (the case).
    pub version: u64,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The event (its `case_id` is the stream).
    pub event: Event,
}

/// The fixed part of an event record: everything but the actor and the
/// payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHeader {
    /// The event type.
    pub event_type: EventType,
    /// Global position.
    pub position: u64,
    /// The stream (case).
    pub case_id: CaseId,
    /// Stream version.
    pub version: u64,
    /// The event id.
    pub event_id: EventId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
}

/// Why an event cannot be encoded (it breaks a limit of the format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event_id} cannot be stored: {reason}")]
pub struct EncodeError {
    /// The event.
    pub event_id: EventId,
    /// Which limit it breaks.
    pub reason: String,
}

/// The instant of a stored time's parts: whole seconds and a nanosecond
/// count below one second. Any such instant chrono can hold is read, even
/// outside the years new records may hold, so that a store written before
/// that rule (it could hold year 10000) still reads.
/// `slot` says which kind of time it is, for the remembered days of
/// [`time::from_timestamp`].
pub(crate) fn time_from_parts(
    secs: i64,
    nanos: u32,
    slot: time::Slot,
) -> Result<DateTime<Utc>, String> {
    if nanos >= 1_000_000_000 {
        return Err(format!("{nanos} nanoseconds; at most 999999999"));
    }
    time::from_timestamp(secs, nanos, slot).ok_or_else(|| format!("{secs} seconds is out of range"))
}

/// The length rule of a stored text, on both sides of the disk write.
pub(crate) fn check_text_bytes(n: usize) -> Result<(), String> {
    match n <= MAX_TEXT_BYTES {
        true => Ok(()),
        false => Err(format!("a text of {n} bytes; at most {MAX_TEXT_BYTES}")),
    }
}

/// Copies a slice of known length into an array. Callers pass slices whose
/// length they have just checked or sliced to `N`.
pub(crate) fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}
