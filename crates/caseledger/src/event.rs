//! Case events: the envelope, the eleven event types, and their JSON form.
//!
//! docs/events.md is the specification of this module's wire format. The JSON
//! parser here is hand-written over `serde_json::Value` rather than derived so
//! that every error names the exact field (`data.channel`) and the allowed
//! values; a derived deserializer reports a column but not the field.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::ids::{
    Actor, AgentId, CaseId, CustomerId, EventId, TeamId, TextError, check_id, check_text,
};
use crate::vocab::{
    Category, Channel, EscalationLevel, FollowUpOutcome, FollowUpPurpose, OutOfRange, Priority,
    Score, Tier, Topic, UnknownValue,
};

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
    }
}

/// Formats a timestamp the one way the project writes them: RFC 3339 in UTC
/// with a `Z`, and fractional seconds only when present.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 timestamp that carries an offset, normalised to UTC,
/// and checks it is storable ([`crate::check_timestamp`]).
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::<FixedOffset>::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!("`{s}` is not an RFC 3339 timestamp with an offset, such as 2026-03-02T09:15:00+08:00 ({e})")
        })?;
    crate::time::check_timestamp(&t).map_err(|e| {
        // The error names the instant in UTC; name the input too when it
        // was written otherwise.
        match format_timestamp(&t) == s {
            true => e.to_string(),
            false => format!("`{s}`: {e}"),
        }
    })?;
    Ok(t)
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

/// `surveyed`: the customer scored the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Surveyed {
    /// The score, 1 to 5.
    pub score: Score,
    /// The customer's comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
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
        }
    }
}

/// An empty JSON object, the `data` of `responded` and `closed`.
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

    /// Parses one JSON event that must carry an `event_id`.
    pub fn from_json(text: &str) -> Result<Event, ParseError> {
        let draft = DraftEvent::from_json(text)?;
        match draft.event_id {
            Some(event_id) => Ok(draft.with_id(event_id)),
            None => Err(ParseError::Missing {
                field: "event_id".to_owned(),
            }),
        }
    }
}

/// Checks what the append contract requires of a new event beyond what its
/// types hold: every timestamp storable, every id by the rule for new ids
/// (an id wrapped with `from_stored` may follow an older one), every text
/// within its limit. The one place the memory log and the file store get
/// these checks from ([`crate::plan_append`]).
pub(crate) fn check_new_event(e: &Event) -> Result<(), ParseError> {
    let invalid = |field: &str, reason: String| ParseError::Invalid {
        field: field.to_owned(),
        reason,
    };
    let time = |field: &str, t: &DateTime<Utc>| {
        crate::time::check_timestamp(t).map_err(|err| invalid(field, err.to_string()))
    };
    let id = |field: &str, what: &'static str, s: &str| {
        check_id(what, s).map_err(|err| invalid(field, err.to_string()))
    };
    let text = |field: &str, what: &'static str, s: &Option<String>| match s {
        Some(s) => check_text(what, s).map_err(|err| invalid(field, err.to_string())),
        None => Ok(()),
    };
    let team = |t: &Option<TeamId>| match t {
        Some(t) => id("data.team", "team", t.as_str()),
        None => Ok(()),
    };
    time("at", &e.at)?;
    if let Actor::Agent(a) = &e.actor {
        id("actor", "actor", a.as_str())?;
    }
    match &e.data {
        EventData::Opened(d) => {
            id("data.customer_id", "customer_id", d.customer_id.as_str())?;
            text("data.summary", "summary", &d.summary)
        }
        EventData::Assigned(d) => {
            id("data.agent", "agent", d.agent.as_str())?;
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
        EventData::Classified(_)
        | EventData::Responded
        | EventData::FollowUpCompleted(_)
        | EventData::Closed => Ok(()),
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
    /// Completes the event with an id (used when the draft has none).
    pub fn with_id(self, fallback: EventId) -> Event {
        Event {
            event_id: self.event_id.unwrap_or(fallback),
            case_id: self.case_id,
            at: self.at,
            actor: self.actor,
            data: self.data,
        }
    }

    /// Parses one JSON event (one line of the interchange format).
    ///
    /// Required: `case_id`, `type`, `at`, `actor`, `data`; optional:
    /// `event_id`. The export-only fields `position` and `recorded_at` are
    /// accepted and checked for type, then dropped: a store assigns its own.
    pub fn from_json(text: &str) -> Result<DraftEvent, ParseError> {
        let value = parse_json(text)?;
        let Value::Object(map) = value else {
            return Err(ParseError::NotAnObject {
                found: kind_of(&value),
            });
        };
        let mut top = Fields::new("", map, ENVELOPE_FIELDS)?;
        let case_id = top.required("case_id", |v| parse_uuid(v).map(CaseId))?;
        let event_type = top.required("type", vocab(EventType::parse))?;
        let at = top.required("at", timestamp)?;
        let actor = top.required("actor", text_id(|s: String| Actor::parse(&s)))?;
        let event_id = top.optional("event_id", |v| parse_uuid(v).map(EventId))?;
        top.optional("position", as_int)?;
        top.optional("recorded_at", timestamp)?;
        let data = match top.take("data") {
            Some(Value::Object(m)) => parse_data(event_type, m)?,
            Some(other) => {
                return Err(ParseError::WrongType {
                    field: "data".to_owned(),
                    expected: "a JSON object",
                    found: kind_of(&other),
                });
            }
            None => {
                return Err(ParseError::Missing {
                    field: "data".to_owned(),
                });
            }
        };
        Ok(DraftEvent {
            event_id,
            case_id,
            at,
            actor,
            data,
        })
    }
}

/// Why a JSON event was refused. Every variant names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not valid JSON.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// The event is valid JSON but not an object.
    #[error("an event must be a JSON object, found {found}")]
    NotAnObject {
        /// What it was.
        found: &'static str,
    },
    /// A required field is absent.
    #[error("missing field `{field}`")]
    Missing {
        /// The field's path, such as `data.customer_id`.
        field: String,
    },
    /// A field of an unexpected JSON type.
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// The field's path.
        field: String,
        /// What it must be.
        expected: &'static str,
        /// What it was.
        found: &'static str,
    },
    /// A field that this event type does not have.
    #[error("unknown field `{field}`; allowed: {}", allowed.join(", "))]
    UnknownField {
        /// The field's path.
        field: String,
        /// The fields allowed at that place.
        allowed: Vec<&'static str>,
    },
    /// An object gives the same field twice. JSON leaves duplicates
    /// undefined and most parsers keep the last silently; refused here.
    #[error("field `{field}` is given twice; each field may appear once")]
    DuplicateField {
        /// The field's path.
        field: String,
    },
    /// A field whose value is not allowed.
    #[error("field `{field}`: {reason}")]
    Invalid {
        /// The field's path.
        field: String,
        /// What is wrong, with the allowed values where they are few.
        reason: String,
    },
}

/// Parses one JSON text into a value, refusing an object that repeats a
/// key (by its path) and reporting a syntax error by column when the text is
/// one line (as every line of the interchange format is).
fn parse_json(text: &str) -> Result<Value, ParseError> {
    use serde::de::DeserializeSeed;
    let duplicate = std::cell::RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = UniqueKeys {
        path: None,
        duplicate: &duplicate,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| match duplicate.into_inner() {
        Some(field) => ParseError::DuplicateField { field },
        None => ParseError::Syntax(syntax_message(&e)),
    })
}

/// serde_json's message without its "at line 1 column N" for a one-line
/// text, where the line says nothing (the caller knows its own line number):
/// "at column N" instead.
fn syntax_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match full.strip_suffix(&position) {
        Some(message) if e.line() == 1 => format!("{message} at column {}", e.column()),
        _ => full,
    }
}

/// One key on the path from the root to a value (`data` then
/// `customer_id`), kept as borrowed links so that no path is built unless a
/// key repeats.
struct PathNode<'a> {
    key: &'a str,
    parent: Option<&'a PathNode<'a>>,
}

impl PathNode<'_> {
    fn path(&self) -> String {
        match self.parent {
            Some(p) => format!("{}.{}", p.path(), self.key),
            None => self.key.to_owned(),
        }
    }
}

/// Deserializes a [`Value`] like serde_json does, but fails on a repeated
/// key, recording its path in `duplicate`.
#[derive(Clone, Copy)]
struct UniqueKeys<'p> {
    path: Option<&'p PathNode<'p>>,
    duplicate: &'p std::cell::RefCell<Option<String>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot hold a NaN or an infinity, so this is a number.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let node = PathNode {
                key: &key,
                parent: self.path,
            };
            let value = map.next_value_seed(UniqueKeys {
                path: Some(&node),
                duplicate: self.duplicate,
            })?;
            if out.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(node.path());
                return Err(serde::de::Error::custom("duplicate field"));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

const ENVELOPE_FIELDS: &[&str] = &[
    "case_id",
    "type",
    "at",
    "actor",
    "event_id",
    "data",
    "position",
    "recorded_at",
];

/// The fields of one JSON object, taken one by one; what is left at the end
/// is unknown. Checked up front so an unknown field wins over later errors.
struct Fields {
    prefix: &'static str,
    map: Map<String, Value>,
}

impl Fields {
    fn new(
        prefix: &'static str,
        map: Map<String, Value>,
        allowed: &'static [&'static str],
    ) -> Result<Fields, ParseError> {
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ParseError::UnknownField {
                field: format!("{prefix}{unknown}"),
                allowed: allowed.to_vec(),
            });
        }
        Ok(Fields { prefix, map })
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name)
    }

    fn path(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, FieldError>,
    ) -> Result<Option<T>, ParseError> {
        match self.take(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => parse(&v).map(Some).map_err(|e| match e {
                FieldError::WrongType(expected) => ParseError::WrongType {
                    field: self.path(name),
                    expected,
                    found: kind_of(&v),
                },
                FieldError::Invalid(reason) => ParseError::Invalid {
                    field: self.path(name),
                    reason,
                },
            }),
        }
    }

    fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, FieldError>,
    ) -> Result<T, ParseError> {
        self.optional(name, parse)?
            .ok_or_else(|| ParseError::Missing {
                field: self.path(name),
            })
    }
}

/// Why one field's value was refused; the caller adds the field's path.
enum FieldError {
    /// The JSON type is wrong; holds what it must be.
    WrongType(&'static str),
    /// The value is not allowed; holds why.
    Invalid(String),
}

impl From<String> for FieldError {
    fn from(reason: String) -> Self {
        FieldError::Invalid(reason)
    }
}

fn as_str(v: &Value) -> Result<&str, FieldError> {
    v.as_str().ok_or(FieldError::WrongType("a string"))
}

fn as_int(v: &Value) -> Result<i64, FieldError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| FieldError::Invalid(format!("{n} is not a whole number"))),
        _ => Err(FieldError::WrongType("an integer")),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_uuid(v: &Value) -> Result<uuid::Uuid, FieldError> {
    let s = as_str(v)?;
    uuid::Uuid::parse_str(s).map_err(|e| FieldError::Invalid(format!("`{s}` is not a UUID ({e})")))
}

fn vocab<T>(
    parse: fn(&str) -> Result<T, UnknownValue>,
) -> impl FnOnce(&Value) -> Result<T, FieldError> {
    move |v| Ok(parse(as_str(v)?).map_err(|e| e.to_string())?)
}

fn text_id<T>(
    parse: fn(String) -> Result<T, TextError>,
) -> impl FnOnce(&Value) -> Result<T, FieldError> {
    move |v| Ok(parse(as_str(v)?.to_owned()).map_err(|e| e.to_string())?)
}

fn free_text(what: &'static str) -> impl FnOnce(&Value) -> Result<String, FieldError> {
    move |v| {
        let s = as_str(v)?;
        check_text(what, s).map_err(|e| FieldError::Invalid(e.to_string()))?;
        Ok(s.to_owned())
    }
}

fn timestamp(v: &Value) -> Result<DateTime<Utc>, FieldError> {
    Ok(parse_timestamp(as_str(v)?)?)
}

fn bounded<T>(
    parse: fn(i64) -> Result<T, OutOfRange>,
) -> impl FnOnce(&Value) -> Result<T, FieldError> {
    move |v| Ok(parse(as_int(v)?).map_err(|e| e.to_string())?)
}

/// The `data` fields each event type allows.
fn data_fields(t: EventType) -> &'static [&'static str] {
    match t {
        EventType::Opened => &["customer_id", "channel", "tier", "summary"],
        EventType::Classified => &["category", "topic", "priority"],
        EventType::Assigned => &["agent", "team"],
        EventType::Escalated => &["level", "team", "reason"],
        EventType::Resolved => &["resolution"],
        EventType::Reopened => &["reason"],
        EventType::FollowUpScheduled => &["due", "purpose", "channel"],
        EventType::FollowUpCompleted => &["outcome"],
        EventType::Surveyed => &["score", "comment"],
        EventType::Responded | EventType::Closed => &[],
    }
}

fn parse_data(t: EventType, map: Map<String, Value>) -> Result<EventData, ParseError> {
    let mut f = Fields::new("data.", map, data_fields(t))?;
    Ok(match t {
        EventType::Opened => EventData::Opened(Opened {
            customer_id: f.required("customer_id", text_id(CustomerId::new))?,
            channel: f.required("channel", vocab(Channel::parse))?,
            tier: f
                .optional("tier", vocab(Tier::parse))?
                .unwrap_or(Tier::Standard),
            summary: f.optional("summary", free_text("summary"))?,
        }),
        EventType::Classified => EventData::Classified(Classified {
            category: f.required("category", vocab(Category::parse))?,
            topic: f.required("topic", vocab(Topic::parse))?,
            priority: f.required("priority", vocab(Priority::parse))?,
        }),
        EventType::Assigned => EventData::Assigned(Assigned {
            agent: f.required("agent", text_id(AgentId::new))?,
            team: f.optional("team", text_id(TeamId::new))?,
        }),
        EventType::Responded => EventData::Responded,
        EventType::Escalated => EventData::Escalated(Escalated {
            level: f.required("level", bounded(EscalationLevel::new))?,
            team: f.optional("team", text_id(TeamId::new))?,
            reason: f.optional("reason", free_text("reason"))?,
        }),
        EventType::Resolved => EventData::Resolved(Resolved {
            resolution: f.optional("resolution", free_text("resolution"))?,
        }),
        EventType::Reopened => EventData::Reopened(Reopened {
            reason: f.optional("reason", free_text("reason"))?,
        }),
        EventType::FollowUpScheduled => EventData::FollowUpScheduled(FollowUpScheduled {
            due: f.required("due", timestamp)?,
            purpose: f.required("purpose", vocab(FollowUpPurpose::parse))?,
            channel: f.required("channel", vocab(Channel::parse))?,
        }),
        EventType::FollowUpCompleted => EventData::FollowUpCompleted(FollowUpCompleted {
            outcome: f.required("outcome", vocab(FollowUpOutcome::parse))?,
        }),
        EventType::Surveyed => EventData::Surveyed(Surveyed {
            score: f.required("score", bounded(Score::new))?,
            comment: f.optional("comment", free_text("comment"))?,
        }),
        EventType::Closed => EventData::Closed,
    })
}
