//! Commands and the decider: `decide(&state, &command)` turns an intention
//! into the events that record it, or into the rule it would break.
//!
//! Commands mirror the events one to one; what `decide` adds is the choice of
//! event (an escalation without a level goes one level up) and idempotence (a
//! command that changes nothing records nothing). The rules themselves are
//! [`crate::state::check`]'s: `decide` never states a rule of its own.

use chrono::{DateTime, Utc};

use crate::error::{CaseError, Violation};
use crate::event::DeadlineExtended;
use crate::event::QaReviewed;
use crate::event::{
    Assigned, AwaitingCustomer, Classified, Escalated, Event, EventData, FollowUpCompleted,
    FollowUpScheduled, Opened, Reopened, Resolved, Surveyed,
};
use crate::ids::{Actor, CaseId, EventId, TeamId};
use crate::state::{CaseState, check};
use crate::status::Status;
use crate::vocab::EscalationLevel;
use crate::vocab::FollowUpOutcome;

/// What someone wants to do to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a new case.
    Open(Opened),
    /// Classify, or correct the classification.
    Classify(Classified),
    /// Assign, or transfer to another agent.
    Assign(Assigned),
    /// Record one contact by an agent with the customer.
    Respond,
    /// Move the case up a level.
    Escalate {
        /// The new level; `None` goes one level above the current one.
        level: Option<EscalationLevel>,
        /// The team taking over.
        team: Option<TeamId>,
        /// Why.
        reason: Option<String>,
    },
    /// Record how the case was solved.
    Resolve(Resolved),
    /// Open a resolved case again.
    Reopen(Reopened),
    /// Plan a follow-up contact (subject to the per-customer cap, which the
    /// application service checks: see [`crate::policy`]).
    ScheduleFollowUp(FollowUpScheduled),
    /// Record what the pending follow-up found. An outcome `not_resolved`
    /// on a resolved case also reopens it, in the same append (the
    /// `reopened` event's id is derived from the command's:
    /// [`EventId::derived`]).
    CompleteFollowUp(FollowUpCompleted),
    /// Record the customer's satisfaction score.
    RecordSurvey(Surveyed),
    /// Close the case.
    Close,
    /// Start waiting on the customer (pauses the resolution clock).
    AwaitCustomer(AwaitingCustomer),
    /// Record the reply of the customer the bank waited on.
    RecordCustomerReply,
    /// Extend a complaint's deadline to its regime's next step (the
    /// service also applies the complaint policy's process rules:
    /// [`crate::complaint::ComplaintPolicy::check_extension`]).
    ExtendDeadline(DeadlineExtended),
    /// Record a quality reviewer's score of the case (any time once
    /// opened, even after closing; once per reviewer: rule 10).
    ReviewQuality(QaReviewed),
}

/// A command: an action on a case, by an actor, at a time. The time is data:
/// the domain never reads a clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The case.
    pub case_id: CaseId,
    /// The id the recorded event will carry (the caller's idempotency key).
    pub event_id: EventId,
    /// When it happens.
    pub at: DateTime<Utc>,
    /// Who does it.
    pub actor: Actor,
    /// What is done.
    pub action: Action,
}

/// Decides a command against a case's state.
///
/// Returns the events to record (empty when the command changes nothing) or
/// the broken rule. The state is not changed; fold the events with
/// [`crate::state::evolve`] to get the next state.
pub fn decide(state: &CaseState, command: &Command) -> Result<Vec<Event>, CaseError> {
    let case = state.case();
    let data = match &command.action {
        Action::Open(o) => EventData::Opened(o.clone()),
        Action::Classify(c) => {
            let same = case.is_some_and(|k| k.classification == Some(*c));
            if same && check_as(state, command, EventData::Classified(*c)).is_ok() {
                return Ok(Vec::new());
            }
            EventData::Classified(*c)
        }
        Action::Assign(a) => {
            let same = case
                .and_then(|k| k.assignment.as_ref())
                .is_some_and(|cur| cur.agent == a.agent && cur.team == a.team);
            if same && check_as(state, command, EventData::Assigned(a.clone())).is_ok() {
                return Ok(Vec::new());
            }
            EventData::Assigned(a.clone())
        }
        Action::Respond => EventData::Responded,
        Action::Escalate {
            level,
            team,
            reason,
        } => {
            let current = case.map_or(0, |k| k.escalation_level);
            let chosen = match level {
                Some(l) => *l,
                // Next level up, capped at the top so that `check` still
                // reports a closed or unopened case before exhaustion.
                None => EscalationLevel::clamped(i64::from(current) + 1),
            };
            let data = EventData::Escalated(Escalated {
                level: chosen,
                team: team.clone(),
                reason: reason.clone(),
            });
            return match check_as(state, command, data) {
                Err(mut e)
                    if level.is_none()
                        && matches!(e.violation, Violation::LevelNotHigher { .. }) =>
                {
                    e.violation = Violation::LevelExhausted;
                    Err(e)
                }
                other => other.map(|event| vec![event]),
            };
        }
        Action::Resolve(r) => EventData::Resolved(r.clone()),
        Action::Reopen(r) => EventData::Reopened(r.clone()),
        Action::ScheduleFollowUp(f) => EventData::FollowUpScheduled(*f),
        Action::CompleteFollowUp(f) => {
            let completed = check_as(state, command, EventData::FollowUpCompleted(*f))?;
            return Ok(with_reopen(state, command, completed));
        }
        Action::RecordSurvey(s) => EventData::Surveyed(s.clone()),
        Action::Close => EventData::Closed,
        Action::AwaitCustomer(a) => EventData::AwaitingCustomer(a.clone()),
        Action::RecordCustomerReply => EventData::CustomerReplied,
        Action::ExtendDeadline(d) => EventData::DeadlineExtended(d.clone()),
        Action::ReviewQuality(q) => EventData::QaReviewed(q.clone()),
    };
    check_as(state, command, data).map(|event| vec![event])
}

/// The reason of the `reopened` event a `not_resolved` follow-up records.
pub const FOLLOW_UP_NOT_RESOLVED: &str = "follow_up_not_resolved";

/// The tag of the derived id of that `reopened` event ([`EventId::derived`]).
pub const REOPENED_TAG: &str = "reopened";

/// The events of a completed follow-up: `completed`, and when its outcome
/// is `not_resolved` and the case is resolved, the `reopened` event that
/// sends the case back to work (reason [`FOLLOW_UP_NOT_RESOLVED`], same
/// time and actor, id derived from the command's). A bank-originated case
/// whose follow-up ran while it was open stays open: there is nothing to
/// reopen.
fn with_reopen(state: &CaseState, command: &Command, completed: Event) -> Vec<Event> {
    let not_resolved = matches!(
        completed.data,
        EventData::FollowUpCompleted(FollowUpCompleted {
            outcome: FollowUpOutcome::NotResolved
        })
    );
    if !not_resolved || state.status() != Status::Resolved {
        return vec![completed];
    }
    let after = crate::state::evolve(state.clone(), &completed);
    let reopen = Event {
        event_id: command.event_id.derived(REOPENED_TAG),
        case_id: command.case_id,
        at: command.at,
        actor: command.actor.clone(),
        data: EventData::Reopened(Reopened {
            reason: Some(FOLLOW_UP_NOT_RESOLVED.to_owned()),
        }),
    };
    // A resolved case may be reopened (rule 5) and the time is the
    // completion's: the check cannot fail; kept as the one place rules live.
    match check(&after, &reopen) {
        Ok(()) => vec![completed, reopen],
        Err(_) => vec![completed],
    }
}

/// Builds the command's event with `data` and checks it against the rules.
fn check_as(state: &CaseState, command: &Command, data: EventData) -> Result<Event, CaseError> {
    let event = Event {
        event_id: command.event_id,
        case_id: command.case_id,
        at: command.at,
        actor: command.actor.clone(),
        data,
    };
    check(state, &event)?;
    Ok(event)
}
