//! caseledger: the pure, event-sourced core of bank customer-service case
//! tracking.
//!
//! A case is a stream of [`Event`]s. Commands are decided against the case's
//! state ([`decide`]); events are folded into state ([`evolve`], or
//! [`CaseState::apply`] / [`fold`] with the rules checked). The rules live in
//! one function, [`check`]. Across cases, [`policy`] caps follow-ups per
//! customer. [`CaseService`] runs commands against any [`EventLog`], such as
//! [`InMemoryEventLog`] or the file store of `caseledger-store`.
//!
//! The crate does no I/O, reads no clock and no environment: time and ids
//! come in as data. docs/events.md specifies the events and the rules.
//!
//! ```
//! use caseledger::*;
//! use caseledger_ids::UuidV7Ids; // production ids: UUID v7
//! use chrono::{TimeZone, Utc};
//!
//! let ids = UuidV7Ids::new();
//! let case = ids.new_case_id();
//! let service = CaseService::new(InMemoryEventLog::new(), ids);
//! let at = |h| Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap();
//! let agent = Actor::parse("agent-17")?;
//! let open = Opened { customer_id: CustomerId::new("C-1001")?, channel: Channel::Phone, tier: Tier::Vip, summary: None };
//! service.execute(case, at(9), agent.clone(), Action::Open(open))?;
//! let kind = Classified { category: Category::Inquiry, topic: Topic::Card, priority: Priority::Normal };
//! service.execute(case, at(9), agent.clone(), Action::Classify(kind))?;
//! service.execute(case, at(10), agent.clone(), Action::Respond)?;
//! let done = service.execute(case, at(11), agent, Action::Resolve(Resolved::default()))?;
//! assert_eq!(done.state.status(), Status::Resolved);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

#[macro_use]
mod vocab;
pub mod calendar;
mod decide;
mod error;
mod event;
mod ids;
pub mod kpi;
mod memory;
pub mod policy;
mod port;
mod service;
mod state;
mod status;
mod time;

pub use decide::{Action, Command, decide};
pub use error::{CaseError, Violation};
pub use event::{
    Assigned, Classified, DataOf, DraftEvent, Escalated, Event, EventData, EventType,
    FollowUpCompleted, FollowUpScheduled, Opened, ParseError, Reopened, Resolved, Surveyed,
};
pub use ids::{
    Actor, AgentId, CaseId, CustomerId, EventId, MAX_ID_BYTES, MAX_TEXT_BYTES, TeamId, TextError,
    check_stored_id,
};
pub use memory::InMemoryEventLog;
pub use policy::{AppendCondition, ConditionFailure};
pub use port::{
    AppendError, AppendPlan, Appended, EventIter, EventLog, ExpectedVersion, MAX_EVENTS_PER_APPEND,
    RecordedEvent, StoredAt, StoredEvents, plan_append, resolve_id_conflict,
};
pub use service::{
    CaseService, CommandRun, DEFAULT_MAX_ATTEMPTS, IdSource, Io, Outcome, Reply, STATE_CACHE_CASES,
    SequentialIds, ServiceCore, ServiceError, Step, is_retry,
};
pub use state::{Assignment, Case, CaseState, PendingFollowUp, check, evolve, fold};
pub use status::{Phase, Status};
pub use time::{
    MAX_TIMESTAMP, MIN_TIMESTAMP, TimestampError, check_timestamp, format_timestamp,
    parse_timestamp,
};
pub use vocab::{
    Category, Channel, EscalationLevel, FollowUpOutcome, FollowUpPurpose, OutOfRange, Priority,
    Score, Tier, Topic, UnknownValue,
};
