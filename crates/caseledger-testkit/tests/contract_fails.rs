//! The suite can fail: logs that break the contract in one way each are
//! caught by it.

use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};

use caseledger::{
    AppendCondition, AppendError, Appended, CaseId, Event, EventIter, EventLog, ExpectedVersion,
    InMemoryEventLog, RecordedEvent,
};

/// How a log breaks the contract.
#[derive(Debug, Clone, Copy)]
enum Flaw {
    /// It appends whatever version the stream is at.
    IgnoresExpectedVersion,
    /// It appends the events of a call one by one: not atomic.
    AppendsEventByEvent,
    /// `read_all` starts at the log's start whatever it is asked.
    ReadsAllFromTheStart,
    /// It appends without checking the conditions.
    IgnoresConditions,
    /// `read_stream_from` starts at the stream's start whatever it is asked.
    ReadsStreamFromTheStart,
    /// `stream_version` is one more than the stream's event count.
    CountsStreamVersionFromZero,
}

/// The reference log with one flaw.
#[derive(Debug)]
struct Flawed {
    log: InMemoryEventLog,
    flaw: Flaw,
}

impl EventLog for Flawed {
    type Error = Infallible;

    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Infallible>> {
        match self.flaw {
            Flaw::IgnoresExpectedVersion => {
                self.log
                    .append_with(case_id, ExpectedVersion::Any, events, conditions)
            }
            Flaw::IgnoresConditions => self.log.append(case_id, expected, events),
            Flaw::AppendsEventByEvent if events.len() > 1 => {
                let mut positions = Vec::new();
                let mut last = None;
                for e in events {
                    let done =
                        self.log
                            .append(case_id, ExpectedVersion::Any, std::slice::from_ref(e))?;
                    positions.extend(done.positions.iter().copied());
                    last = Some(done);
                }
                let last = last.expect("more than one event");
                Ok(Appended { positions, ..last })
            }
            _ => self.log.append_with(case_id, expected, events, conditions),
        }
    }

    fn stream_version(&self, case_id: CaseId) -> Result<u64, Infallible> {
        match self.flaw {
            Flaw::CountsStreamVersionFromZero => self.log.stream_version(case_id).map(|v| v + 1),
            _ => self.log.stream_version(case_id),
        }
    }

    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Infallible> {
        match self.flaw {
            Flaw::ReadsStreamFromTheStart => self.log.read_stream_from(case_id, 1),
            _ => self.log.read_stream_from(case_id, from_version),
        }
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, Infallible>, Infallible> {
        match self.flaw {
            Flaw::ReadsAllFromTheStart => self.log.read_all(1),
            _ => self.log.read_all(from_position),
        }
    }
}

#[test]
fn every_flawed_log_fails_the_contract() {
    for flaw in [
        Flaw::IgnoresExpectedVersion,
        Flaw::AppendsEventByEvent,
        Flaw::ReadsAllFromTheStart,
        Flaw::ReadsStreamFromTheStart,
        Flaw::CountsStreamVersionFromZero,
        Flaw::IgnoresConditions,
    ] {
        let make = || Flawed {
            log: InMemoryEventLog::new(),
            flaw,
        };
        let run = catch_unwind(AssertUnwindSafe(|| {
            caseledger_testkit::append_contract(make)
        }));
        assert!(run.is_err(), "{flaw:?} passed the append contract");
    }
}
