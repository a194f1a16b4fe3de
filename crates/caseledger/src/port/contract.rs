//! The append contract's types: what an append expects, what it answers,
//! and why it is refused.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::ser::SerializeMap;

use crate::event::{Event, ParseError};
use crate::ids::{CaseId, EventId};
use crate::policy::ConditionFailure;
use crate::time::format_timestamp;

/// Most events one `append` call may carry. Why a limit: a case has a few
/// dozen events in its whole life; a larger call is a bug upstream, and the
/// bound keeps an append's memory and lock time small.
pub const MAX_EVENTS_PER_APPEND: usize = 4096;

/// What the caller believes the stream's version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet (version 0).
    NoStream,
    /// The stream must be at exactly this version (0: does not exist).
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream at `actual` (0: no stream) satisfies this expectation.
    pub fn matches(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(v) => actual == v,
        }
    }
}

impl std::fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// An event as stored: with its global position, stream version and the
/// time the log recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Global position in the log: gapless, from 1.
    pub position: u64,
    /// Version within its stream: gapless, from 1.
    pub version: u64,
    /// When the log recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The event.
    pub event: Event,
}

impl Serialize for RecordedEvent {
    /// The export form: the event's JSON plus `position` and `recorded_at`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(8))?;
        self.event.serialize_fields(&mut m)?;
        m.serialize_entry("position", &self.position)?;
        m.serialize_entry("recorded_at", &format_timestamp(&self.recorded_at))?;
        m.end()
    }
}

/// The result of a successful append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The global position of each event, in order.
    pub positions: Vec<u64>,
    /// The stream's version after its last event.
    pub stream_version: u64,
    /// True when every event was stored already (a retry): nothing was written.
    pub already_stored: bool,
}

/// Why an append was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError<E> {
    /// The stream is not at the expected version.
    #[error("stream {case_id}: expected {expected}, but the stream is at version {actual}")]
    WrongExpectedVersion {
        /// The stream.
        case_id: CaseId,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's actual version (0: no stream).
        actual: u64,
    },
    /// An event id is stored already somewhere else, or repeats in the call.
    #[error("stream {case_id}: event id {event_id} is already used {where_}")]
    EventIdClash {
        /// The stream appended to.
        case_id: CaseId,
        /// The clashing id.
        event_id: EventId,
        /// Where it is used.
        where_: IdUse,
    },
    /// An event id of the call is recorded already, for another event: the
    /// caller's idempotency key was reused for a different command. Only
    /// an identical event counts as a retry.
    #[error(
        "stream {case_id}: the idempotency key (event id) {event_id} was reused for a different \
         command: it is already recorded at position {} as `{}` of case {} at {} by {}; \
         nothing was recorded",
        recorded.position,
        recorded.event.data.event_type(),
        recorded.event.case_id,
        format_timestamp(&recorded.event.at),
        recorded.event.actor
    )]
    IdempotencyKeyReused {
        /// The stream appended to.
        case_id: CaseId,
        /// The reused id.
        event_id: EventId,
        /// The event recorded with that id.
        recorded: Box<RecordedEvent>,
    },
    /// A condition the append carried does not hold (point 6 of the
    /// append contract): the failure names the recorded event in the way.
    #[error("stream {case_id}: {failure}")]
    ConditionFailed {
        /// The stream appended to.
        case_id: CaseId,
        /// Which condition failed, and on what.
        failure: ConditionFailure,
    },
    /// The call itself is malformed.
    #[error("stream {case_id}: {reason}")]
    InvalidAppend {
        /// The stream appended to.
        case_id: CaseId,
        /// What is wrong.
        reason: InvalidAppendReason,
    },
    /// The log failed.
    #[error(transparent)]
    Log(E),
}

impl<E> AppendError<E> {
    /// Converts the log's error type; other variants are unchanged.
    pub fn map_log<F>(self, f: impl FnOnce(E) -> F) -> AppendError<F> {
        match self {
            AppendError::WrongExpectedVersion {
                case_id,
                expected,
                actual,
            } => AppendError::WrongExpectedVersion {
                case_id,
                expected,
                actual,
            },
            AppendError::EventIdClash {
                case_id,
                event_id,
                where_,
            } => AppendError::EventIdClash {
                case_id,
                event_id,
                where_,
            },
            AppendError::IdempotencyKeyReused {
                case_id,
                event_id,
                recorded,
            } => AppendError::IdempotencyKeyReused {
                case_id,
                event_id,
                recorded,
            },
            AppendError::ConditionFailed { case_id, failure } => {
                AppendError::ConditionFailed { case_id, failure }
            }
            AppendError::InvalidAppend { case_id, reason } => {
                AppendError::InvalidAppend { case_id, reason }
            }
            AppendError::Log(e) => AppendError::Log(f(e)),
        }
    }
}

/// Where a clashing event id is used already
/// ([`AppendError::EventIdClash`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdUse {
    /// By two events of this append.
    #[error("twice in this append")]
    TwiceInThisAppend,
    /// By a stored event, there.
    #[error("at position {} (stream {} version {})", .0.position, .0.case_id, .0.version)]
    Stored(StoredAt),
    /// A retry whose first event is stored repeats an id that is not stored
    /// after it: not the same append.
    #[error("by this retry's first event but not by the others")]
    ByFirstEventOnly,
}

/// Why an append call is malformed ([`AppendError::InvalidAppend`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidAppendReason {
    /// An event no log can store (a time, an id or a text out of its
    /// limits).
    #[error("event {event_id}: {source}")]
    Event {
        /// The event.
        event_id: EventId,
        /// What is wrong with it.
        source: ParseError,
    },
    /// No events.
    #[error("an append needs at least one event")]
    Empty,
    /// More than [`MAX_EVENTS_PER_APPEND`] events.
    #[error("{count} events in one append; at most {MAX_EVENTS_PER_APPEND} allowed")]
    TooManyEvents {
        /// How many the call gave.
        count: usize,
    },
    /// An event of another case than the stream appended to.
    #[error("event {event_id} belongs to case {case_id}")]
    OtherCase {
        /// The event.
        event_id: EventId,
        /// Its case.
        case_id: CaseId,
    },
    /// The stream would grow beyond the most events a log keeps in one.
    #[error("a stream holds at most {max} events")]
    StreamFull {
        /// The most events of one stream.
        max: u64,
    },
    /// The log's format cannot hold the event (a backend's own limit).
    #[error(transparent)]
    Unstorable(Box<dyn std::error::Error + Send + Sync>),
}

/// Where an event id is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredAt {
    /// Its stream.
    pub case_id: CaseId,
    /// Its version in the stream.
    pub version: u64,
    /// Its global position.
    pub position: u64,
}
