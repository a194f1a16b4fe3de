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
//! use caseledger::prelude::*;
//! use caseledger_ids::UuidV7Ids; // production ids: UUID v7
//! use chrono::{TimeZone, Utc};
//!
//! let ids = UuidV7Ids::new();
//! let case = ids.new_case_id();
//! let service = CaseService::new(InMemoryEventLog::new(), ids);
//! let at = |h| Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap();
//! let agent = Actor::parse("agent-17")?;
//! let open = Opened { customer_id: CustomerId::new("C-1001")?, channel: Channel::Phone, tier: Tier::Vip, summary: None, origin: Origin::Customer };
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
pub mod board;
pub mod calendar;
pub mod complaint;
mod decide;
mod error;
mod event;
pub mod follow_up_plan;
mod ids;
pub mod kpi;
mod memory;
pub mod permission;
pub mod policy;
mod port;
pub mod process;
pub mod projection;
mod service;
mod state;
mod status;
mod time;
mod unique_json;

pub use decide::{Action, Command, decide};
pub use error::{CaseError, Violation};
pub use event::AwaitingCustomer;
pub use event::DeadlineExtended;
pub use event::QaReviewed;
pub use event::{
    Assigned, Classified, DataOf, DraftEvent, Escalated, Event, EventData, EventType,
    FollowUpCompleted, FollowUpScheduled, InvalidValue, Opened, ParseError, Reopened, Resolved,
    Surveyed, SyntaxError, SyntaxErrorKind,
};
pub use ids::{
    Actor, AgentId, CaseId, CustomerId, EventId, MAX_ID_BYTES, MAX_TEXT_BYTES, RESERVED_AGENT_IDS,
    RESERVED_TEAM_IDS, TeamId, TextError, check_stored_id, refused_in_id,
};
pub use memory::InMemoryEventLog;
pub use policy::{AppendCondition, ConditionFailure};
pub use port::{
    AppendError, Appended, EventIter, EventLog, ExpectedVersion, IdUse, InvalidAppendReason,
    MAX_EVENTS_PER_APPEND, RecordedEvent, StoredAt,
};
pub use service::{
    CaseService, CommandRun, DEFAULT_MAX_ATTEMPTS, IdSource, Io, Outcome, Reply, STATE_CACHE_CASES,
    SequentialIds, ServiceCore, ServiceError, Step, is_retry,
};
pub use state::{Assignment, Case, CaseState, PendingFollowUp, check, evolve, fold};
pub use status::{Phase, Status};
pub use time::{
    MAX_TIMESTAMP, MIN_TIMESTAMP, TimestampError, TimestampParseError, check_timestamp,
    format_timestamp, parse_timestamp,
};
pub use vocab::ExtensionDays;
pub use vocab::{
    Category, Channel, EscalationLevel, FollowUpOutcome, FollowUpPurpose, OutOfRange, Priority,
    Score, Tier, Topic, UnknownValue,
};
pub use vocab::{Origin, QaScore, RootCause, SurveyVia};

/// What an embedder uses, in one import: `use caseledger::prelude::*;`.
/// The service and its commands, the events and their vocabularies, ids,
/// the case's state, the port's types a caller meets, the role directory a
/// service checks commands against, and the errors: every type a
/// [`ServiceError`] or [`AppendError`] carries, and those of the ids' and
/// vocabularies' constructors, so that a function of yours can take or
/// return any of them. Reports are in [`kpi`]; writing a log is
/// [`backend`].
pub mod prelude {
    pub use crate::AwaitingCustomer;
    pub use crate::complaint::ExtensionRefused;
    pub use crate::permission::{Denied, Permissions, Role, RoleDirectory, RoleDirectoryError};
    pub use crate::policy::FollowUpCapError;
    pub use crate::process::ProcessRefusal;
    pub use crate::{
        Action, Actor, AgentId, AppendCondition, AppendError, Appended, Assigned, CaseError,
        CaseId, CaseService, CaseState, Category, Channel, Classified, Command, CustomerId,
        DraftEvent, Escalated, EscalationLevel, Event, EventData, EventId, EventLog, EventType,
        ExpectedVersion, FollowUpCompleted, FollowUpOutcome, FollowUpPurpose, FollowUpScheduled,
        IdSource, InMemoryEventLog, Opened, Outcome, ParseError, Phase, Priority, RecordedEvent,
        Reopened, Resolved, Score, ServiceError, Status, Surveyed, TeamId, Tier, Topic, Violation,
        format_timestamp, parse_timestamp,
    };
    pub use crate::{
        Assignment, Case, ConditionFailure, DeadlineExtended, ExtensionDays, IdUse,
        InvalidAppendReason, OutOfRange, TextError, UnknownValue,
    };
    pub use crate::{Origin, QaReviewed, QaScore, RootCause, SurveyVia};
}

/// The backend-author surface: what an [`EventLog`] implementation uses to
/// apply the one append contract ([`plan_append`](backend::plan_append)
/// over its [`StoredEvents`](backend::StoredEvents) lookups) and its retry
/// rule after a unique-key race
/// ([`resolve_id_conflict`](backend::resolve_id_conflict)).
/// docs/embedding.md, "Writing your own log", and docs/events.md,
/// "Appending", say how. Not needed to use a log.
pub mod backend {
    pub use crate::policy::KnownFollowUp;
    pub use crate::port::{
        AppendPlan, StoredAt, StoredEvents, plan_append, plan_recorded_append, resolve_id_conflict,
    };
}
