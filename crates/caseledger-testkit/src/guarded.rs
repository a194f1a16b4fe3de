//! [`Guarded`]: a log that keeps something alive as long as it lives.

use caseledger::RecordedEvent;
use caseledger::{
    AppendCondition, AppendError, Appended, CaseId, Event, EventIter, EventLog, ExpectedVersion,
};

/// A log and a guard that must outlive it, such as the temporary directory
/// a file store lives in: the log is dropped first, then the guard. It is
/// the log for every call.
#[derive(Debug)]
pub struct Guarded<L, G> {
    log: L,
    guard: G,
}

impl<L, G> Guarded<L, G> {
    /// `log`, with `guard` kept until the log is dropped.
    pub fn new(log: L, guard: G) -> Guarded<L, G> {
        Guarded { log, guard }
    }

    /// The log.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// The guard.
    pub fn guard(&self) -> &G {
        &self.guard
    }
}

impl<L: EventLog, G: Send + Sync> EventLog for Guarded<L, G> {
    type Error = L::Error;

    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<L::Error>> {
        self.log.append_with(case_id, expected, events, conditions)
    }

    fn stream_version(&self, case_id: CaseId) -> Result<u64, L::Error> {
        self.log.stream_version(case_id)
    }

    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, L::Error> {
        self.log.read_stream_from(case_id, from_version)
    }

    fn read_stream(&self, case_id: CaseId) -> Result<Vec<RecordedEvent>, L::Error> {
        self.log.read_stream(case_id)
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, L::Error>, L::Error> {
        self.log.read_all(from_position)
    }
}
