//! The backend-facing plan: a log's lookups ([`StoredEvents`]) and the
//! one implementation of the append contract over them ([`plan_append`],
//! [`plan_recorded_append`], [`resolve_id_conflict`]).

use std::collections::HashSet;

use crate::event::{Event, check_new_event};
use crate::ids::{CaseId, CustomerId, EventId};
use crate::policy::{AppendCondition, KnownFollowUp};

use super::contract::{
    AppendError, Appended, ExpectedVersion, IdUse, InvalidAppendReason, MAX_EVENTS_PER_APPEND,
    RecordedEvent, StoredAt,
};

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
/// that rule lives, shared by every [`EventLog`](crate::EventLog) implementation.
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
    // What every log refuses alike: unstorable times, ids and texts.
    for e in events {
        check_new_event(e).map_err(|source| AppendError::InvalidAppend {
            case_id,
            reason: InvalidAppendReason::Event {
                event_id: e.event_id,
                source,
            },
        })?;
    }
    plan_recorded_append(
        case_id,
        expected,
        events,
        conditions,
        stream_version,
        stored,
    )
}

/// [`plan_append`] for events copied as another log recorded them (a copy
/// of a whole ledger, record by record): the same contract without the
/// rule for new events' ids, texts and times, which an event stored before
/// that rule was made (docs/events.md, "The envelope": ids stored before
/// format characters and reserved words were refused) breaks while its
/// ledger still reads and verifies. A copy must take such a ledger as it
/// is, or its head could never be the source's. Only for events read back
/// from a log (their ids checked by the older rule as they were read); a
/// new event goes through [`plan_append`]. The log must still refuse what
/// it cannot store (times, text lengths), as the file store's encoder does
/// (`Unstorable`): this plan no longer checks them.
pub fn plan_recorded_append<S: StoredEvents>(
    case_id: CaseId,
    expected: ExpectedVersion,
    events: &[Event],
    conditions: &[AppendCondition],
    stream_version: u64,
    stored: &S,
) -> Result<AppendPlan, AppendError<S::Error>> {
    let invalid = |reason: InvalidAppendReason| AppendError::InvalidAppend { case_id, reason };
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
