//! The error of a broken case rule: which rule, which case, which event, and
//! the state the case was in. docs/events.md lists every rule with its error.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::event::EventType;
use crate::ids::{CaseId, EventId};
use crate::status::Status;
use crate::time::format_timestamp;
use crate::vocab::EscalationLevel;

/// How a rule was broken. The rule numbers are those of docs/events.md.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// Rule 1: an event other than `opened` came before the case was opened.
    NotOpened,
    /// Rule 1: `opened` came a second time.
    AlreadyOpened,
    /// Rule 2: an event came after `closed`.
    AfterClose,
    /// Rule 4: `assigned`, `escalated` or `resolved` while the case is not open.
    NotOpen,
    /// Rule 4: `resolved` before any `classified`.
    Unclassified,
    /// Rule 4: an escalation to a level not above the current one.
    LevelNotHigher {
        /// The case's current level (0 before any escalation).
        current: u8,
        /// The level asked for.
        requested: EscalationLevel,
    },
    /// Rule 4: an escalation command without a level when the case is at the
    /// highest level already.
    LevelExhausted,
    /// Rule 5: `reopened`, `closed`, `follow_up_scheduled` or `surveyed`
    /// while the case is not resolved (a bank-originated case may schedule
    /// a follow-up while open too).
    NotResolved,
    /// Rule 5: a second survey for the same resolution.
    AlreadySurveyed,
    /// Rule 5: a follow-up is scheduled while another one is pending.
    FollowUpPending {
        /// When the pending follow-up is due.
        due: DateTime<Utc>,
    },
    /// Rule 6: `follow_up_completed` without a pending follow-up.
    NoFollowUpPending,
    /// Rule 7: the event's time is earlier than the previous event's.
    TimeWentBackwards {
        /// The previous event's time.
        previous: DateTime<Utc>,
        /// This event's time.
        at: DateTime<Utc>,
    },
    /// Rule 0: the event names another case than the stream it is folded into.
    WrongCase {
        /// The case of the stream.
        stream: CaseId,
    },
    /// Rule 8: `awaiting_customer` while the case is not open, or while it
    /// already awaits the customer.
    CannotAwait,
    /// Rule 8: `customer_replied` while the case does not await the customer.
    NotAwaiting,
    /// Rule 9: `deadline_extended` on a case that is not an open complaint
    /// (its latest category is not `complaint`, or it is not open).
    NotOpenComplaint,
    /// Rule 9: `deadline_extended` to days that are no extension step of
    /// any regime, or not above an earlier extension's.
    NotAnExtensionStep {
        /// The days of the latest earlier extension (0: none).
        current: u8,
        /// The days asked for.
        requested: u8,
    },
    /// Rule 10: a second `qa_reviewed` by the same reviewer on one case.
    AlreadyReviewed,
}

impl Violation {
    /// The number of the rule in docs/events.md (0: the stream's integrity).
    pub fn rule(&self) -> u8 {
        match self {
            Violation::WrongCase { .. } => 0,
            Violation::NotOpened | Violation::AlreadyOpened => 1,
            Violation::AfterClose => 2,
            Violation::NotOpen
            | Violation::Unclassified
            | Violation::LevelNotHigher { .. }
            | Violation::LevelExhausted => 4,
            Violation::NotResolved
            | Violation::AlreadySurveyed
            | Violation::FollowUpPending { .. } => 5,
            Violation::NoFollowUpPending => 6,
            Violation::TimeWentBackwards { .. } => 7,
            Violation::CannotAwait | Violation::NotAwaiting => 8,
            Violation::NotOpenComplaint | Violation::NotAnExtensionStep { .. } => 9,
            Violation::AlreadyReviewed => 10,
        }
    }

    /// A stable short name, for machine-readable output.
    pub fn code(&self) -> &'static str {
        match self {
            Violation::NotOpened => "not_opened",
            Violation::AlreadyOpened => "already_opened",
            Violation::AfterClose => "after_close",
            Violation::NotOpen => "not_open",
            Violation::Unclassified => "unclassified",
            Violation::LevelNotHigher { .. } => "level_not_higher",
            Violation::LevelExhausted => "level_exhausted",
            Violation::NotResolved => "not_resolved",
            Violation::AlreadySurveyed => "already_surveyed",
            Violation::FollowUpPending { .. } => "follow_up_pending",
            Violation::NoFollowUpPending => "no_follow_up_pending",
            Violation::TimeWentBackwards { .. } => "time_went_backwards",
            Violation::WrongCase { .. } => "wrong_case",
            Violation::CannotAwait => "cannot_await",
            Violation::NotAwaiting => "not_awaiting",
            Violation::NotOpenComplaint => "not_open_complaint",
            Violation::NotAnExtensionStep { .. } => "not_an_extension_step",
            Violation::AlreadyReviewed => "already_reviewed",
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::NotOpened => f.write_str("the case has not been opened yet"),
            Violation::AlreadyOpened => {
                f.write_str("the case is already open; `opened` happens once")
            }
            Violation::AfterClose => {
                f.write_str("the case is closed; nothing happens after `closed`")
            }
            Violation::NotOpen => {
                f.write_str("only an open case can be assigned, escalated or resolved")
            }
            Violation::Unclassified => {
                f.write_str("a case must be classified before it is resolved")
            }
            Violation::LevelNotHigher { current, requested } => write!(
                f,
                "escalation levels only go up: level {requested} is not above the current level {current}"
            ),
            Violation::LevelExhausted => write!(
                f,
                "the case is at the highest escalation level ({}) already",
                EscalationLevel::MAX
            ),
            Violation::NotResolved => {
                f.write_str("only a resolved case can be reopened, closed, followed up or surveyed")
            }
            Violation::AlreadySurveyed => {
                f.write_str("this resolution has been surveyed already; one survey per resolution")
            }
            Violation::FollowUpPending { due } => write!(
                f,
                "a follow-up due {} is pending already; one at a time",
                format_timestamp(due)
            ),
            Violation::NoFollowUpPending => f.write_str("no follow-up is pending"),
            Violation::TimeWentBackwards { previous, at } => write!(
                f,
                "time runs backwards: {} is before the previous event at {}",
                format_timestamp(at),
                format_timestamp(previous)
            ),
            Violation::WrongCase { stream } => {
                write!(f, "the event belongs to another case than stream {stream}")
            }
            Violation::CannotAwait => f.write_str(
                "only an open case that does not already await the customer can start waiting on the customer",
            ),
            Violation::NotAwaiting => {
                f.write_str("the case does not await the customer; no reply is expected")
            }
            Violation::NotOpenComplaint => {
                f.write_str("only an open complaint's deadline can be extended")
            }
            Violation::NotAnExtensionStep { current, requested } => write!(
                f,
                "{requested} days is not an extension step of any regime ({}) above the current extension ({current})",
                crate::complaint::extension_steps_text()
            ),
            Violation::AlreadyReviewed => f.write_str(
                "this reviewer has reviewed the case already; one quality review per reviewer per case",
            ),
        }
    }
}

impl Serialize for Violation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// A case rule was broken: by a command (nothing is recorded) or by a
/// recorded history (the history is invalid).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "case {case_id}: `{event_type}`{} breaks rule {} (status {status}): {violation}",
    event_id.map(|id| format!(" event {id}")).unwrap_or_default(),
    violation.rule()
)]
pub struct CaseError {
    /// The case.
    pub case_id: CaseId,
    /// The event's id, when the event has one yet.
    pub event_id: Option<EventId>,
    /// The type of the event that was refused.
    pub event_type: EventType,
    /// The case's status before the event.
    pub status: Status,
    /// What was wrong.
    pub violation: Violation,
}
