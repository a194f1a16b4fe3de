//! Case events: the envelope, the event types, and their JSON form.
//!
//! docs/events.md is the specification of this module's wire format. The
//! types and their JSON output are here; reading JSON is serde's
//! `Deserialize` in [`de`] (the one parser, for import and for embedders),
//! and the explainer in [`parse`] names the failing field of a refused line;
//! the checks a new event must pass before any log stores it are in
//! [`check`].

mod check;
mod de;
mod fields;
mod parse;

use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::ids::{Actor, AgentId, CaseId, CustomerId, EventId, TeamId};
use crate::time::format_timestamp;
use crate::vocab::ExtensionDays;
use crate::vocab::{
    Category, Channel, EscalationLevel, FollowUpOutcome, FollowUpPurpose, Priority, Score, Tier,
    Topic,
};
use crate::vocab::{Origin, QaScore, RootCause, SurveyVia};

pub(crate) use check::check_new_event;
pub use de::DataOf;
pub use fields::InvalidValue;
pub(crate) use parse::kind_of;
pub use parse::{ParseError, SyntaxError, SyntaxErrorKind};

vocabulary! {
    /// The type of an event: the `type` field of its JSON form.
    EventType, "event type" {
        /// A customer contacted the bank; the case begins.
        Opened => "opened",
        /// The case was sorted into a category, topic and priority.
        Classified => "classified",
        /// The case was assigned (or transferred) to an agent.
        Assigned => "assigned",
        /// An agent contacted the customer.
        Responded => "responded",
        /// The case moved up an escalation level.
        Escalated => "escalated",
        /// The case was solved.
        Resolved => "resolved",
        /// A resolved case was opened again.
        Reopened => "reopened",
        /// A follow-up contact was planned.
        FollowUpScheduled => "follow_up_scheduled",
        /// The planned follow-up contact happened (or failed).
        FollowUpCompleted => "follow_up_completed",
        /// The customer scored the service.
        Surveyed => "surveyed",
        /// The case was closed; its history stays forever.
        Closed => "closed",
        /// The bank waits on the customer (for a document, an answer); the
        /// resolution clock pauses.
        AwaitingCustomer => "awaiting_customer",
        /// The customer the bank waited on replied; the wait ends.
        CustomerReplied => "customer_replied",
        /// A complaint's deadline was extended to the regime's next step.
        DeadlineExtended => "deadline_extended",
        /// A quality reviewer scored the case's service record.
        QaReviewed => "qa_reviewed",
    }
}

fn ser_ts<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_timestamp(t))
}

/// `opened`: a customer contacted the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Opened {
    /// The bank's customer id.
    pub customer_id: CustomerId,
    /// How the customer came in.
    pub channel: Channel,
    /// The customer's tier (default `standard`).
    pub tier: Tier,
    /// A short description, without personal data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Who started the case (default [`Origin::Customer`], then left out
    /// of the JSON form and of the stored record).
    #[serde(skip_serializing_if = "Origin::is_customer")]
    pub origin: Origin,
}

/// `classified`: the case's category, topic and priority (the latest counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Classified {
    /// Inquiry, technical or complaint.
    pub category: Category,
    /// What it is about.
    pub topic: Topic,
    /// How urgent it is.
    pub priority: Priority,
}

/// `assigned`: the case's agent (a different agent than before is a transfer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assigned {
    /// The agent now handling the case.
    pub agent: AgentId,
    /// The agent's team, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
}

/// `escalated`: the case moved up to a higher level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalated {
    /// The new level, above the current one.
    pub level: EscalationLevel,
    /// The team that takes it over, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    /// Why it was escalated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `resolved`: the case was solved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// How it was solved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Why the problem happened (required by process policy when a
    /// complaint is resolved: [`crate::process`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<RootCause>,
}

/// `reopened`: a resolved case was opened again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reopened {
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `follow_up_scheduled`: a follow-up contact was planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FollowUpScheduled {
    /// When the contact is due.
    #[serde(serialize_with = "ser_ts")]
    pub due: DateTime<Utc>,
    /// Why the bank calls back.
    pub purpose: FollowUpPurpose,
    /// How it will contact the customer.
    pub channel: Channel,
}

/// `follow_up_completed`: the pending follow-up happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FollowUpCompleted {
    /// What it found.
    pub outcome: FollowUpOutcome,
}

/// `surveyed`: the customer scored the service, overall and, optionally,
/// on the dimensions of the bank's service evaluation (issue 20).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Surveyed {
    /// The score, 1 to 5.
    pub score: Score,
    /// The customer's comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The score for the speed of the response, 1 to 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed: Option<Score>,
    /// The score for how well the problem was solved, 1 to 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem_solving: Option<Score>,
    /// The score for the staff's attitude, 1 to 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attitude: Option<Score>,
    /// How the survey was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<SurveyVia>,
}

impl Surveyed {
    /// A survey with this overall score and nothing else: no comment, no
    /// dimension scores, no `via`.
    pub fn new(score: Score) -> Surveyed {
        Surveyed {
            score,
            comment: None,
            speed: None,
            problem_solving: None,
            attitude: None,
            via: None,
        }
    }

    /// Whether any of the optional dimension fields (`speed`,
    /// `problem_solving`, `attitude`, `via`) is given.
    pub fn has_dimensions(&self) -> bool {
        self.speed.is_some()
            || self.problem_solving.is_some()
            || self.attitude.is_some()
            || self.via.is_some()
    }
}

/// `awaiting_customer`: the bank waits on the customer; the case's
/// resolution clock pauses until `customer_replied`, `resolved`, `closed`
/// or `reopened`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AwaitingCustomer {
    /// What the bank waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `deadline_extended`: a complaint's deadline now counts `days` (the
/// regime's next step), approved by an agent, for a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlineExtended {
    /// The new total days of the deadline.
    pub days: ExtensionDays,
    /// The agent who approved the extension.
    pub approved_by: AgentId,
    /// Why (required).
    pub reason: String,
}

/// `qa_reviewed`: a quality reviewer scored the case's service record. The
/// one event allowed after `closed` (rule 10, docs/events.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QaReviewed {
    /// The reviewer (at most one review per reviewer per case).
    pub reviewer: AgentId,
    /// The score, 0 to 100.
    pub score: QaScore,
    /// The reviewer's notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// What happened: the type of an event and its `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventData {
    /// See [`Opened`].
    Opened(Opened),
    /// See [`Classified`].
    Classified(Classified),
    /// See [`Assigned`].
    Assigned(Assigned),
    /// An agent contacted the customer; the envelope's actor is the agent.
    /// One by `system` or `customer` (recorded history may hold one) is no
    /// contact: see [`Event::agent_contact`].
    Responded,
    /// See [`Escalated`].
    Escalated(Escalated),
    /// See [`Resolved`].
    Resolved(Resolved),
    /// See [`Reopened`].
    Reopened(Reopened),
    /// See [`FollowUpScheduled`].
    FollowUpScheduled(FollowUpScheduled),
    /// See [`FollowUpCompleted`].
    FollowUpCompleted(FollowUpCompleted),
    /// See [`Surveyed`].
    Surveyed(Surveyed),
    /// The case was closed.
    Closed,
    /// See [`AwaitingCustomer`].
    AwaitingCustomer(AwaitingCustomer),
    /// The customer the bank waited on replied.
    CustomerReplied,
    /// See [`DeadlineExtended`].
    DeadlineExtended(DeadlineExtended),
    /// See [`QaReviewed`].
    QaReviewed(QaReviewed),
}

impl EventData {
    /// The event type.
    pub fn event_type(&self) -> EventType {
        match self {
            EventData::Opened(_) => EventType::Opened,
            EventData::Classified(_) => EventType::Classified,
            EventData::Assigned(_) => EventType::Assigned,
            EventData::Responded => EventType::Responded,
            EventData::Escalated(_) => EventType::Escalated,
            EventData::Resolved(_) => EventType::Resolved,
            EventData::Reopened(_) => EventType::Reopened,
            EventData::FollowUpScheduled(_) => EventType::FollowUpScheduled,
            EventData::FollowUpCompleted(_) => EventType::FollowUpCompleted,
            EventData::Surveyed(_) => EventType::Surveyed,
            EventData::Closed => EventType::Closed,
            EventData::AwaitingCustomer(_) => EventType::AwaitingCustomer,
            EventData::CustomerReplied => EventType::CustomerReplied,
            EventData::DeadlineExtended(_) => EventType::DeadlineExtended,
            EventData::QaReviewed(_) => EventType::QaReviewed,
        }
    }
}

/// An empty JSON object, the `data` of `responded`, `closed` and
/// `customer_replied`.
#[derive(Serialize)]
struct Empty {}

impl Serialize for EventData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EventData::Opened(d) => d.serialize(s),
            EventData::Classified(d) => d.serialize(s),
            EventData::Assigned(d) => d.serialize(s),
            EventData::Responded | EventData::Closed => Empty {}.serialize(s),
            EventData::Escalated(d) => d.serialize(s),
            EventData::Resolved(d) => d.serialize(s),
            EventData::Reopened(d) => d.serialize(s),
            EventData::FollowUpScheduled(d) => d.serialize(s),
            EventData::FollowUpCompleted(d) => d.serialize(s),
            EventData::Surveyed(d) => d.serialize(s),
            EventData::AwaitingCustomer(d) => d.serialize(s),
            EventData::CustomerReplied => Empty {}.serialize(s),
            EventData::DeadlineExtended(d) => d.serialize(s),
            EventData::QaReviewed(d) => d.serialize(s),
        }
    }
}

/// One event of a case: who did what, when, to which case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event's id; the key of idempotent appends.
    pub event_id: EventId,
    /// The case (stream) it belongs to.
    pub case_id: CaseId,
    /// When it happened, normalised to UTC.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub data: EventData,
}

impl Event {
    /// The event type.
    pub fn event_type(&self) -> EventType {
        self.data.event_type()
    }

    /// The agent whose contact with the customer this event is: a
    /// `responded` whose actor is an agent; `None` for any other event,
    /// and for a `responded` by `system` (an automatic acknowledgement)
    /// or `customer`. The one rule of what counts as a response
    /// (domain.md: "Each contact an agent makes with the customer is a
    /// response"): the first response time, the SLA's response target,
    /// first contact resolution, the responders' figures, the case board
    /// and the case's own count ([`Case::responses`](crate::Case::responses))
    /// all ask it, so none of them can count an acknowledgement as the
    /// bank's answer.
    pub fn agent_contact(&self) -> Option<&AgentId> {
        match self.data {
            EventData::Responded => self.actor.agent(),
            _ => None,
        }
    }

    /// Writes the envelope fields in their documented order; shared by the
    /// plain and the exported (recorded) JSON forms.
    pub(crate) fn serialize_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("case_id", &self.case_id)?;
        m.serialize_entry("type", &self.event_type())?;
        m.serialize_entry("at", &format_timestamp(&self.at))?;
        m.serialize_entry("actor", &self.actor)?;
        m.serialize_entry("event_id", &self.event_id)?;
        m.serialize_entry("data", &self.data)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(6))?;
        self.serialize_fields(&mut m)?;
        m.end()
    }
}

/// An event as it arrives from outside, perhaps without an id; the edge that
/// records it gives it one (see [`crate::IdSource`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftEvent {
    /// The id the caller gave, if any.
    pub event_id: Option<EventId>,
    /// The case.
    pub case_id: CaseId,
    /// When it happened, in UTC.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub data: EventData,
}

impl DraftEvent {
    /// The event, with the draft's own id or, when it has none, the id
    /// `mint` makes (called only then).
    pub fn into_event(self, mint: impl FnOnce() -> EventId) -> Event {
        Event {
            event_id: self.event_id.unwrap_or_else(mint),
            case_id: self.case_id,
            at: self.at,
            actor: self.actor,
            data: self.data,
        }
    }
}

/// The event of a draft that carries its id; a draft without one comes
/// back unchanged as the error (see [`DraftEvent::into_event`]).
impl TryFrom<DraftEvent> for Event {
    type Error = DraftEvent;

    fn try_from(d: DraftEvent) -> Result<Event, DraftEvent> {
        match d.event_id {
            Some(event_id) => Ok(Event {
                event_id,
                case_id: d.case_id,
                at: d.at,
                actor: d.actor,
                data: d.data,
            }),
            None => Err(d),
        }
    }
}
