//! The [`EventLog`] trait: what the application service needs from
//! storage.

use crate::event::Event;
use crate::ids::CaseId;
use crate::policy::AppendCondition;

use super::contract::{AppendError, Appended, ExpectedVersion, RecordedEvent};

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

/// A borrowed log is a log: several services (with different policies,
/// role directories or id sources) can append to one log that the program
/// keeps, each seeing what the others record. A file store admits one
/// writer per directory, so this is how two services of a process write to
/// it: `CaseService::new(&store, ids)`.
///
/// (No such impl for `Arc<L>`: it would change which method
/// `arc_store.stream_version(..)` calls, the store's own or this trait's.
/// Borrow from the `Arc`: `CaseService::new(&*arc, ids)`.)
impl<L: EventLog + ?Sized> EventLog for &L {
    type Error = L::Error;

    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Self::Error>> {
        (**self).append_with(case_id, expected, events, conditions)
    }

    fn append(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
    ) -> Result<Appended, AppendError<Self::Error>> {
        (**self).append(case_id, expected, events)
    }

    fn stream_version(&self, case_id: CaseId) -> Result<u64, Self::Error> {
        (**self).stream_version(case_id)
    }

    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Self::Error> {
        (**self).read_stream_from(case_id, from_version)
    }

    fn read_stream(&self, case_id: CaseId) -> Result<Vec<RecordedEvent>, Self::Error> {
        (**self).read_stream(case_id)
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, Self::Error>, Self::Error> {
        (**self).read_all(from_position)
    }
}
