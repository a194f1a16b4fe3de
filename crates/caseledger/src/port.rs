//! The event-log port: what the application service needs from storage.
//!
//! Implemented by [`crate::InMemoryEventLog`] here and by the file store in
//! `caseledger-store`; shaped so that a SQL-backed log (one row per event with
//! a unique (stream, version) key and a unique event id) fits it unchanged.
//!
//! The append contract, shared by every implementation through
//! [`plan_append`]:
//! 1. every event must belong to the stream appended to;
//! 2. an event id stored already counts as the same event only when the
//!    stored event equals the one appended (same case, type, data, actor and
//!    time); a stored id with any other event is
//!    [`AppendError::IdempotencyKeyReused`]: the caller's key was reused for
//!    a different command;
//! 3. if the first event is stored already, the call is a retry: when every
//!    event is stored at consecutive versions of that stream, the original
//!    positions are returned and nothing is written; otherwise it is a clash;
//! 4. an id repeated within the call, or a stored event in another place
//!    than a retry puts it, is a clash;
//! 5. the expected version must match the stream's current version;
//! 6. every [`AppendCondition`] the call carries must hold over the events
//!    recorded in other streams (for the follow-up cap: the follow-ups of the
//!    customer, found through [`StoredEvents::follow_ups_of`]), checked in
//!    the same atomic step as the write; a failed one is
//!    [`AppendError::ConditionFailed`], saying which recorded event
//!    conflicts. A retry (point 3) is answered before any condition: its own
//!    events are recorded already.
//!
//! A backend that checks and writes in one atomic step (the memory log
//! under its lock, the file store under its writer) calls [`plan_append`]
//! and writes what it plans. A backend that checks and writes in separate
//! steps (a database: plan, then `INSERT` in a transaction) can meet a
//! unique key (on the event id, or on the stream and version) that a
//! concurrent append took in between. It then undoes its write, takes a
//! fresh view of the log and calls [`resolve_id_conflict`], the retry rule
//! (points 2 to 4) alone: a concurrent identical retry that won the race is
//! answered as already stored (`Appended { already_stored: true }`, the
//! winner's positions), a different command that took the id is refused
//! ([`AppendError::IdempotencyKeyReused`] or [`AppendError::EventIdClash`]),
//! and `None` (no event of the call is stored: the key that fired was the
//! stream's version) means planning again with [`plan_append`], which then
//! answers [`AppendError::WrongExpectedVersion`] or writes at the new
//! version. The backend never reports the key violation itself, so a
//! caller sees the same answers from every log, and an async face of the
//! port shares these functions unchanged (they do no I/O: the lookups are
//! the backend's, through [`StoredEvents`]).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::ser::SerializeMap;

use crate::event::{Event, ParseError, check_new_event};
use crate::ids::{CaseId, CustomerId, EventId};
use crate::policy::{AppendCondition, ConditionFailure, KnownFollowUp};
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

/// What an append should do, decided by [`plan_append`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendPlan {
    /// Write the events at these stream versions, from `first_version`.
    Write {
        /// The version of the first event.
        first_version: u64,
    },
    /// A retry: every event is stored already; answer with this.
    AlreadyStored(Appended),
}

/// What [`plan_append`] needs to know about the events a log holds: where
/// an event id is stored, and the event stored there. Both can fail (a file
/// or a database may not answer); the failure aborts the append.
pub trait StoredEvents {
    /// The log's failure.
    type Error;

    /// Where `id` is stored, if it is.
    fn stored_at(&self, id: &EventId) -> Result<Option<StoredAt>, Self::Error>;

    /// The event stored at `at`, a place [`StoredEvents::stored_at`] returned.
    fn stored_event(&self, at: &StoredAt) -> Result<RecordedEvent, Self::Error>;

    /// Every follow-up recorded for `customer` (in any of its cases, the
    /// customer being the one its case was opened for): what
    /// [`AppendCondition::NoFollowUpTooClose`] is checked against. Only
    /// called for an append carrying that condition.
    fn follow_ups_of(&self, customer: &CustomerId) -> Result<Vec<KnownFollowUp>, Self::Error>;
}

/// Applies the append contract (module docs) to one call: the single place
/// that rule lives, shared by every [`EventLog`] implementation.
///
/// `stream_version` is the stream's current version; `stored` finds where an
/// event id is stored and reads the event there (only for ids it finds, so
/// an append of new ids reads no event), and the follow-ups a condition is
/// checked against (only for an append that carries one).
pub fn plan_append<S: StoredEvents>(
    case_id: CaseId,
    expected: ExpectedVersion,
    events: &[Event],
    conditions: &[AppendCondition],
    stream_version: u64,
    stored: &S,
) -> Result<AppendPlan, AppendError<S::Error>> {
    let invalid = |reason: InvalidAppendReason| AppendError::InvalidAppend { case_id, reason };
    // What every log refuses alike: unstorable times, ids and texts.
    for e in events {
        check_new_event(e).map_err(|source| {
            invalid(InvalidAppendReason::Event {
                event_id: e.event_id,
                source,
            })
        })?;
    }
    if events.is_empty() {
        return Err(invalid(InvalidAppendReason::Empty));
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(invalid(InvalidAppendReason::TooManyEvents {
            count: events.len(),
        }));
    }
    if let Some(e) = events.iter().find(|e| e.case_id != case_id) {
        return Err(invalid(InvalidAppendReason::OtherCase {
            event_id: e.event_id,
            case_id: e.case_id,
        }));
    }
    // One event cannot repeat itself; the set is for longer appends.
    let mut seen = HashSet::with_capacity(if events.len() > 1 { events.len() } else { 0 });
    if let Some(e) = events
        .iter()
        .skip_while(|_| events.len() == 1)
        .find(|e| !seen.insert(e.event_id))
    {
        return Err(AppendError::EventIdClash {
            case_id,
            event_id: e.event_id,
            where_: IdUse::TwiceInThisAppend,
        });
    }
    if let Some(done) = resolve_id_conflict(case_id, events, stream_version, stored)? {
        return Ok(AppendPlan::AlreadyStored(done));
    }
    if !expected.matches(stream_version) {
        return Err(AppendError::WrongExpectedVersion {
            case_id,
            expected,
            actual: stream_version,
        });
    }
    for condition in conditions {
        condition
            .check(|customer| stored.follow_ups_of(customer))
            .map_err(AppendError::Log)?
            .map_err(|failure| AppendError::ConditionFailed { case_id, failure })?;
    }
    Ok(AppendPlan::Write {
        first_version: stream_version + 1,
    })
}

/// The retry rule of the append contract (points 2 to 4 of the module
/// docs) over the ids of one call: `Some` when every event is stored
/// already, identical, at consecutive versions of the stream (a retry:
/// nothing to write; `stream_version` is the stream's current version);
/// `None` when no event of the call is stored; otherwise the refusal.
///
/// [`plan_append`] runs it before the version check; a backend whose
/// unique key fired during a write runs it again on a fresh view (module
/// docs), which turns a concurrent identical retry into already stored.
pub fn resolve_id_conflict<S: StoredEvents>(
    case_id: CaseId,
    events: &[Event],
    stream_version: u64,
    stored: &S,
) -> Result<Option<Appended>, AppendError<S::Error>> {
    let Some(first_event) = events.first() else {
        return Ok(None);
    };
    // A stored id is the same event only if the stored event equals it.
    let same_event = |e: &Event, at: &StoredAt| -> Result<(), AppendError<S::Error>> {
        let recorded = stored.stored_event(at).map_err(AppendError::Log)?;
        if recorded.event == *e {
            Ok(())
        } else {
            Err(AppendError::IdempotencyKeyReused {
                case_id,
                event_id: e.event_id,
                recorded: Box::new(recorded),
            })
        }
    };
    let lookup = |e: &Event| stored.stored_at(&e.event_id).map_err(AppendError::Log);
    // A retry stores its first event at some version v of this stream and
    // every next one at v+1, v+2, ...
    if let Some(first) = lookup(first_event)? {
        let mut positions = Vec::with_capacity(events.len());
        for (i, e) in (0u64..).zip(events) {
            let at = if i == 0 { Some(first) } else { lookup(e)? };
            let Some(at) = at else {
                return Err(clash(case_id, e.event_id, None));
            };
            same_event(e, &at)?;
            // Equal events belong to the same case: only the version can
            // be out of place.
            if at.version != first.version + i {
                return Err(clash(case_id, e.event_id, Some(at)));
            }
            positions.push(at.position);
        }
        return Ok(Some(Appended {
            positions,
            stream_version,
            already_stored: true,
        }));
    }
    for e in &events[1..] {
        if let Some(at) = lookup(e)? {
            same_event(e, &at)?;
            return Err(clash(case_id, e.event_id, Some(at)));
        }
    }
    Ok(None)
}

fn clash<E>(case_id: CaseId, event_id: EventId, at: Option<StoredAt>) -> AppendError<E> {
    AppendError::EventIdClash {
        case_id,
        event_id,
        where_: match at {
            Some(s) => IdUse::Stored(s),
            None => IdUse::ByFirstEventOnly,
        },
    }
}

/// A stream of recorded events from a log, in position order. `Send`, so
/// that a replay can move to another thread (or an async task's executor).
pub type EventIter<'a, E> = Box<dyn Iterator<Item = Result<RecordedEvent, E>> + Send + 'a>;

/// An append-only log of case events, one stream per case.
pub trait EventLog: Send + Sync {
    /// The log's own failure (I/O, corruption, connection...).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Appends `events` to the stream of `case_id` atomically, all or none,
    /// if every one of `conditions` holds over the other streams, checked
    /// in the same atomic step. Follows the append contract of this module.
    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Self::Error>>;

    /// Appends `events` to the stream of `case_id` atomically, with no
    /// condition: [`EventLog::append_with`] with none.
    fn append(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
    ) -> Result<Appended, AppendError<Self::Error>> {
        self.append_with(case_id, expected, events, &[])
    }

    /// A stream's version: how many events it holds (0: none).
    fn stream_version(&self, case_id: CaseId) -> Result<u64, Self::Error>;

    /// The events of one stream from version `from_version` on (1 or 0:
    /// from the start), in version order; empty when the stream has no
    /// event at or after it. A reader that knows a case up to version v
    /// reads `v + 1` on: only what it has not seen.
    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Self::Error>;

    /// All events of one stream, in version order (empty if none).
    fn read_stream(&self, case_id: CaseId) -> Result<Vec<RecordedEvent>, Self::Error> {
        self.read_stream_from(case_id, 1)
    }

    /// Every event from global position `from_position` (1: the start) on,
    /// streamed in position order.
    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, Self::Error>, Self::Error>;
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::convert::Infallible;

    use chrono::TimeZone;

    use super::*;
    use crate::event::EventData;
    use crate::ids::Actor;

    /// A log's view: the events stored, by id.
    #[derive(Default)]
    struct View(HashMap<EventId, RecordedEvent>);

    impl StoredEvents for View {
        type Error = Infallible;

        fn stored_at(&self, id: &EventId) -> Result<Option<StoredAt>, Infallible> {
            Ok(self.0.get(id).map(|r| StoredAt {
                case_id: r.event.case_id,
                version: r.version,
                position: r.position,
            }))
        }

        fn stored_event(&self, at: &StoredAt) -> Result<RecordedEvent, Infallible> {
            let found = self.0.values().find(|r| r.position == at.position);
            // The test views only name positions they hold.
            Ok(found.cloned().expect("a stored position"))
        }

        fn follow_ups_of(&self, _: &CustomerId) -> Result<Vec<KnownFollowUp>, Infallible> {
            Ok(Vec::new())
        }
    }

    fn responded(id: u128, data: EventData) -> Event {
        Event {
            event_id: EventId::from_u128(id),
            case_id: CaseId::from_u128(7),
            at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
            actor: Actor::System,
            data,
        }
    }

    fn stored(events: &[Event], first_position: u64) -> View {
        let mut view = View::default();
        for (i, e) in (0u64..).zip(events) {
            view.0.insert(
                e.event_id,
                RecordedEvent {
                    position: first_position + i,
                    version: 1 + i,
                    recorded_at: e.at,
                    event: e.clone(),
                },
            );
        }
        view
    }

    /// The race a database meets: the plan said write, a concurrent
    /// identical retry committed first, and the unique key on the event id
    /// fired. Re-run on the fresh view, the retry rule answers already
    /// stored with the winner's positions; a different command with the
    /// same id is a reused key; nothing stored asks for a new plan.
    #[test]
    fn a_concurrent_identical_retry_is_answered_as_already_stored() {
        let case = CaseId::from_u128(7);
        let events = [
            responded(1, EventData::Responded),
            responded(2, EventData::Closed),
        ];
        let before = View::default();
        let plan = plan_append(case, ExpectedVersion::NoStream, &events, &[], 0, &before).unwrap();
        assert_eq!(plan, AppendPlan::Write { first_version: 1 });
        // The winner stored the same events at positions 41 and 42.
        let after = stored(&events, 41);
        let done = resolve_id_conflict(case, &events, 2, &after).unwrap();
        assert_eq!(
            done,
            Some(Appended {
                positions: vec![41, 42],
                stream_version: 2,
                already_stored: true,
            })
        );
        // A different command took the ids: refused, not "stored".
        let other = [
            responded(1, EventData::Closed),
            responded(2, EventData::Closed),
        ];
        let taken = stored(&other, 41);
        assert!(matches!(
            resolve_id_conflict(case, &events, 2, &taken),
            Err(AppendError::IdempotencyKeyReused { .. })
        ));
        // The key that fired was the version: no id of the call is stored.
        assert_eq!(
            resolve_id_conflict(case, &events, 1, &before).unwrap(),
            None
        );
    }
}
