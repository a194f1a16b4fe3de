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
//!
//! In `port/`: `contract.rs` the append contract's types (what an append
//! expects, answers and why it is refused), `log.rs` the [`EventLog`]
//! trait, `plan.rs` the backend-facing plan ([`StoredEvents`],
//! [`plan_append`], [`resolve_id_conflict`]).

mod contract;
mod log;
mod plan;

pub use contract::{
    AppendError, Appended, ExpectedVersion, IdUse, InvalidAppendReason, MAX_EVENTS_PER_APPEND,
    RecordedEvent, StoredAt,
};
pub use log::{EventIter, EventLog};
pub use plan::{AppendPlan, StoredEvents, plan_append, plan_recorded_append, resolve_id_conflict};

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::convert::Infallible;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::event::{Event, EventData};
    use crate::ids::{Actor, CaseId, CustomerId, EventId};
    use crate::policy::KnownFollowUp;

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
