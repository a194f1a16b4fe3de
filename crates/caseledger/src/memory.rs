//! An in-memory [`EventLog`]: for tests, examples and short-lived tools.
//!
//! It is the reference implementation of the port: every log runs the same
//! append contract (`caseledger-testkit`) and must refuse in the same words,
//! and the file store's tests compare the two.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::event::Event;
use crate::ids::{CaseId, CustomerId, EventId};
use crate::policy::{AppendCondition, FollowUpPlanner, KnownFollowUp};
use crate::port::{
    AppendError, AppendPlan, Appended, EventIter, EventLog, ExpectedVersion, RecordedEvent,
    StoredAt, StoredEvents, plan_append,
};

/// An event log held in memory. `recorded_at` is the event's own `at`: the
/// domain crate reads no clock, so this log has none to read.
#[derive(Debug, Default)]
pub struct InMemoryEventLog {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// All events; the event at position p is at index p - 1.
    events: Vec<RecordedEvent>,
    /// Positions of each stream's events, in version order.
    streams: HashMap<CaseId, Vec<u64>>,
    /// Where each event id is stored.
    ids: HashMap<EventId, StoredAt>,
    /// The follow-ups by customer, for appends' conditions.
    follow_ups: FollowUpPlanner,
}

impl InMemoryEventLog {
    /// An empty log.
    pub fn new() -> InMemoryEventLog {
        InMemoryEventLog::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock is held cannot leave `Inner` half-updated:
        // `append` checks everything before it changes anything, and its
        // updates cannot panic. So a poisoned lock still guards good data.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many events the log holds.
    pub fn len(&self) -> u64 {
        self.lock().events.len() as u64
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl EventLog for InMemoryEventLog {
    type Error = Infallible;

    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Infallible>> {
        // Checked and written under one lock: the conditions hold at the write.
        let mut inner = self.lock();
        let version = inner.streams.get(&case_id).map_or(0, |s| s.len() as u64);
        let plan = plan_append(case_id, expected, events, conditions, version, &*inner)?;
        let first_version = match plan {
            AppendPlan::AlreadyStored(done) => return Ok(done),
            AppendPlan::Write { first_version } => first_version,
        };
        let mut positions = Vec::with_capacity(events.len());
        for (i, event) in (0u64..).zip(events) {
            let position = inner.events.len() as u64 + 1;
            let version = first_version + i;
            inner.events.push(RecordedEvent {
                position,
                version,
                recorded_at: event.at,
                event: event.clone(),
            });
            inner.streams.entry(case_id).or_default().push(position);
            inner.ids.insert(
                event.event_id,
                StoredAt {
                    case_id,
                    version,
                    position,
                },
            );
            inner.follow_ups.observe(position, event);
            positions.push(position);
        }
        Ok(Appended {
            positions,
            stream_version: first_version + events.len() as u64 - 1,
            already_stored: false,
        })
    }

    fn stream_version(&self, case_id: CaseId) -> Result<u64, Infallible> {
        Ok(self
            .lock()
            .streams
            .get(&case_id)
            .map_or(0, |s| s.len() as u64))
    }

    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Infallible> {
        let inner = self.lock();
        let Some(positions) = inner.streams.get(&case_id) else {
            return Ok(Vec::new());
        };
        // Version v is at index v - 1.
        let skip = index(from_version.max(1)).min(positions.len());
        Ok(positions[skip..]
            .iter()
            .filter_map(|p| inner.events.get(index(*p)).cloned())
            .collect())
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, Infallible>, Infallible> {
        let inner = self.lock();
        let start = index(from_position.max(1)).min(inner.events.len());
        let tail: Vec<RecordedEvent> = inner.events[start..].to_vec();
        Ok(Box::new(tail.into_iter().map(Ok)))
    }
}

impl StoredEvents for Inner {
    type Error = Infallible;

    fn stored_at(&self, id: &EventId) -> Result<Option<StoredAt>, Infallible> {
        Ok(self.ids.get(id).copied())
    }

    fn stored_event(&self, at: &StoredAt) -> Result<RecordedEvent, Infallible> {
        // `ids` only names positions of `events`: they are added together.
        Ok(self.events[index(at.position)].clone())
    }

    fn follow_ups_of(&self, customer: &CustomerId) -> Result<Vec<KnownFollowUp>, Infallible> {
        Ok(self.follow_ups.follow_ups_of(customer).to_vec())
    }
}

/// The index of position `p` (p ≥ 1) in the events vector.
fn index(p: u64) -> usize {
    usize::try_from(p.saturating_sub(1)).unwrap_or(usize::MAX)
}
