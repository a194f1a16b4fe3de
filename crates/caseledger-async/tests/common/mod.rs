//! [`OnRuntime`]: an async log seen as a blocking one, so that the append
//! contract suite (written over `EventLog`) runs through the async face.

#![allow(dead_code, clippy::unwrap_used)]

use caseledger::{
    Action, Actor, AppendCondition, AppendError, Appended, CaseId, Category, Channel, Classified,
    Command, CustomerId, EscalationLevel, Event, EventId, EventIter, EventLog, ExpectedVersion,
    FollowUpPurpose, FollowUpScheduled, Opened, Priority, RecordedEvent, Resolved, Tier, Topic,
};
use caseledger_async::AsyncEventLog;
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures_util::StreamExt;
use tokio::runtime::Handle;

/// `log`'s every call run to its end on a tokio runtime, from the calling
/// thread (which must not be one of the runtime's), with `guard` kept as
/// long as the log (the temporary directory of a file store).
pub struct OnRuntime<A, G> {
    pub log: A,
    pub runtime: Handle,
    pub guard: G,
}

impl<A: AsyncEventLog, G: Send + Sync> EventLog for OnRuntime<A, G> {
    type Error = A::Error;

    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<A::Error>> {
        self.runtime
            .block_on(self.log.append_with(case_id, expected, events, conditions))
    }

    fn stream_version(&self, case_id: CaseId) -> Result<u64, A::Error> {
        self.runtime.block_on(self.log.stream_version(case_id))
    }

    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, A::Error> {
        self.runtime
            .block_on(self.log.read_stream_from(case_id, from_version))
    }

    fn read_stream(&self, case_id: CaseId) -> Result<Vec<RecordedEvent>, A::Error> {
        self.runtime.block_on(self.log.read_stream(case_id))
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, A::Error>, A::Error> {
        let mut stream = self.runtime.block_on(self.log.read_all(from_position))?;
        let runtime = self.runtime.clone();
        // The stream is pulled one event at a time, as a reader would.
        Ok(Box::new(std::iter::from_fn(move || {
            runtime.block_on(stream.next())
        })))
    }
}

/// Minute `m` after 2026-03-02 09:00 UTC.
pub fn t(m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::minutes(m)
}

/// A command with event id `id`, at minute `m`, by `agent-1`.
pub fn command(case: u128, id: u128, m: i64, action: Action) -> Command {
    Command {
        case_id: CaseId::from_u128(case),
        event_id: EventId::from_u128(id),
        at: t(m),
        actor: Actor::parse("agent-1").unwrap(),
        action,
    }
}

pub fn open(customer: &str) -> Action {
    Action::Open(Opened {
        customer_id: CustomerId::new(customer).unwrap(),
        channel: Channel::Phone,
        tier: Tier::Vip,
        summary: None,
        origin: caseledger::Origin::Customer,
    })
}

/// An inquiry: a complaint could not be resolved in this script without
/// routing and a root cause (process policy, issue 19).
pub fn classify() -> Action {
    Action::Classify(Classified {
        category: Category::Inquiry,
        topic: Topic::Card,
        priority: Priority::High,
    })
}

/// A follow-up due `days` days after the first minute.
pub fn follow_up(days: i64) -> Action {
    Action::ScheduleFollowUp(FollowUpScheduled {
        due: t(0) + Duration::days(days),
        purpose: FollowUpPurpose::ProblemCheck,
        channel: Channel::Phone,
    })
}

pub fn escalate(level: Option<i64>) -> Action {
    Action::Escalate {
        level: level.map(|l| EscalationLevel::new(l).unwrap()),
        team: None,
        reason: None,
    }
}

pub fn resolve() -> Action {
    Action::Resolve(Resolved::default())
}

/// A script of commands that meets every answer of the service: records,
/// the follow-up cap across cases, a retry, a reused key, a broken rule,
/// an escalation retried without its level, a command that changes
/// nothing.
pub fn script() -> Vec<Command> {
    vec![
        command(1, 1, 0, open("C-1")),
        command(1, 2, 1, classify()),
        command(1, 3, 2, escalate(None)),
        // A retry of the escalation, without its level.
        command(1, 3, 2, escalate(None)),
        command(1, 4, 3, resolve()),
        command(2, 5, 4, open("C-1")),
        command(2, 6, 5, classify()),
        command(2, 7, 6, resolve()),
        command(3, 8, 7, open("C-2")),
        command(1, 10, 8, follow_up(5)),
        // 29 days after, same customer, another case: the cap.
        command(2, 11, 9, follow_up(34)),
        // A retry of the follow-up.
        command(1, 10, 8, follow_up(5)),
        // Id 1 again, for another command: a reused key.
        command(1, 1, 10, Action::Respond),
        // Resolving an unclassified case breaks a rule.
        command(3, 12, 11, resolve()),
        command(2, 13, 12, follow_up(35)),
        command(3, 14, 13, classify()),
        command(3, 15, 14, resolve()),
    ]
}
