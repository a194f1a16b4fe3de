//! What a new event must pass before any log stores it, beyond what its
//! types hold (see [`check_new_event`]).

use chrono::{DateTime, Utc};

use super::{Event, EventData, InvalidValue, ParseError};
use crate::ids::{
    Actor, RESERVED_AGENT_IDS, RESERVED_TEAM_IDS, TeamId, check_id, check_reserved, check_text,
};

/// Checks what the append contract requires of a new event beyond what its
/// types hold: every timestamp storable, every id by the rule for new ids
/// (an id wrapped with `from_stored` may follow an older one), every text
/// within its limit. The one place the memory log and the file store get
/// these checks from ([`crate::plan_append`]).
pub(crate) fn check_new_event(e: &Event) -> Result<(), ParseError> {
    let invalid = |field: &str, reason: InvalidValue| ParseError::Invalid {
        field: field.to_owned(),
        reason,
    };
    let time = |field: &str, t: &DateTime<Utc>| {
        crate::time::check_timestamp(t).map_err(|err| invalid(field, err.into()))
    };
    let id = |field: &str, what: &'static str, s: &str| {
        check_id(what, s).map_err(|err| invalid(field, err.into()))
    };
    // An agent's or a team's id: the id rule, then the reserved words.
    let named = |field: &str, what: &'static str, s: &str, words: &'static [&'static str]| {
        id(field, what, s)?;
        check_reserved(what, s, words).map_err(|err| invalid(field, err.into()))
    };
    let agent =
        |field: &str, what: &'static str, s: &str| named(field, what, s, RESERVED_AGENT_IDS);
    let text = |field: &str, what: &'static str, s: &Option<String>| match s {
        Some(s) => check_text(what, s).map_err(|err| invalid(field, err.into())),
        None => Ok(()),
    };
    let team = |t: &Option<TeamId>| match t {
        Some(t) => named("data.team", "team", t.as_str(), RESERVED_TEAM_IDS),
        None => Ok(()),
    };
    time("at", &e.at)?;
    if let Actor::Agent(a) = &e.actor {
        agent("actor", "actor", a.as_str())?;
    }
    match &e.data {
        EventData::Opened(d) => {
            id("data.customer_id", "customer_id", d.customer_id.as_str())?;
            text("data.summary", "summary", &d.summary)
        }
        EventData::Assigned(d) => {
            agent("data.agent", "agent", d.agent.as_str())?;
            team(&d.team)
        }
        EventData::Escalated(d) => {
            team(&d.team)?;
            text("data.reason", "reason", &d.reason)
        }
        EventData::Resolved(d) => text("data.resolution", "resolution", &d.resolution),
        EventData::Reopened(d) => text("data.reason", "reason", &d.reason),
        EventData::FollowUpScheduled(d) => time("data.due", &d.due),
        EventData::Surveyed(d) => text("data.comment", "comment", &d.comment),
        EventData::DeadlineExtended(d) => {
            agent("data.approved_by", "approved_by", d.approved_by.as_str())?;
            check_text("reason", &d.reason).map_err(|err| invalid("data.reason", err.into()))
        }
        EventData::Classified(_)
        | EventData::Responded
        | EventData::FollowUpCompleted(_)
        | EventData::Closed => Ok(()),
        EventData::AwaitingCustomer(d) => text("data.reason", "reason", &d.reason),
        EventData::CustomerReplied => Ok(()),
        EventData::QaReviewed(d) => {
            agent("data.reviewer", "reviewer", d.reviewer.as_str())?;
            text("data.notes", "notes", &d.notes)
        }
    }
}
