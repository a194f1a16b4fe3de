//! Reading an event's JSON form in two passes. The first is serde's
//! `Deserialize` ([`super::de`]): typed, borrowing, the one definition of
//! what is accepted. Only on a line it refuses, the second pass, the
//! explainer here, walks the line as a `serde_json::Value` to say why in
//! the pinned, field-naming messages (`data.channel`, the allowed values,
//! the JSON type found), in a fixed order of checks: an unknown field wins
//! over a bad value, whatever the order of the fields in the line. The two
//! accept the same lines and produce the same event: a property test
//! (tests/json.rs) and the fuzz targets check it.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::DeadlineExtended;
use super::QaReviewed;
use super::fields::{DATA_FIELDS, ENVELOPE_FIELDS, InvalidValue, data_fields, values};
use super::{
    Assigned, AwaitingCustomer, Classified, DraftEvent, Escalated, Event, EventData, EventType,
    FollowUpCompleted, FollowUpScheduled, Opened, Reopened, Resolved, Surveyed,
};
use crate::ids::{Actor, AgentId, CaseId, CustomerId, EventId, TeamId, TextError};
use crate::vocab::ExtensionDays;
use crate::vocab::{
    Category, Channel, EscalationLevel, FollowUpOutcome, FollowUpPurpose, OutOfRange, Priority,
    Score, Tier, Topic, UnknownValue,
};
use crate::vocab::{Origin, QaScore, RootCause, SurveyVia};

impl Event {
    /// Parses one JSON event that must carry an `event_id`; a refused line
    /// is explained as [`DraftEvent::from_json`] does.
    pub fn from_json(text: &str) -> Result<Event, ParseError> {
        let missing_id = || ParseError::Missing {
            field: "event_id".to_owned(),
        };
        match serde_json::from_str::<Event>(text) {
            Ok(event) => Ok(event),
            Err(typed) => Err(match DraftEvent::explain_json(text) {
                Err(e) => e,
                // The only refusal of `Event` beyond `DraftEvent`'s.
                Ok(draft) if draft.event_id.is_none() => missing_id(),
                Ok(_) => unexplained(&typed),
            }),
        }
    }
}

impl DraftEvent {
    /// Parses one JSON event (one line of the interchange format).
    ///
    /// Required: `case_id`, `type`, `at`, `actor`, `data`; optional:
    /// `event_id`. The export-only fields `position` and `recorded_at` are
    /// accepted and checked for type, then dropped: a store assigns its own.
    ///
    /// The line is read by serde's `Deserialize` (the fast path); only when
    /// that refuses it, the explainer reads it again to name the field.
    pub fn from_json(text: &str) -> Result<DraftEvent, ParseError> {
        serde_json::from_str::<DraftEvent>(text).map_err(|typed| {
            match DraftEvent::explain_json(text) {
                Err(e) => e,
                Ok(_) => unexplained(&typed),
            }
        })
    }

    /// Every field name of the JSON form: the envelope's, then every
    /// `data` field of any event type (without the `data.` prefix). From
    /// the one list both parsing passes use; exposed for the fuzz targets,
    /// which must know a field of the format from one they made up.
    #[doc(hidden)]
    pub fn field_names() -> impl Iterator<Item = &'static str> {
        ENVELOPE_FIELDS.iter().chain(DATA_FIELDS).copied()
    }

    /// The second pass alone: reads the line as a `serde_json::Value` and
    /// names what is wrong. It accepts exactly the lines `Deserialize`
    /// accepts (with the same event); exposed for the tests and the fuzz
    /// targets that check so. Use [`DraftEvent::from_json`].
    #[doc(hidden)]
    pub fn explain_json(text: &str) -> Result<DraftEvent, ParseError> {
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
#[non_exhaustive]
pub enum ParseError {
    /// Not valid JSON.
    #[error("invalid JSON: {0}")]
    Syntax(SyntaxError),
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
    #[error(
        "unknown field `{field}`; {}",
        if allowed.is_empty() {
            "none is allowed there".to_owned()
        } else {
            format!("allowed: {}", allowed.join(", "))
        }
    )]
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
        reason: InvalidValue,
    },
}

impl ParseError {
    /// A stable short name of the kind of refusal, for counts and
    /// machine-readable output (as [`crate::Violation::code`] names a rule).
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Syntax(_) => "invalid_json",
            ParseError::NotAnObject { .. } => "not_an_object",
            ParseError::Missing { .. } => "missing_field",
            ParseError::WrongType { .. } => "wrong_type",
            ParseError::UnknownField { .. } => "unknown_field",
            ParseError::DuplicateField { .. } => "duplicate_field",
            ParseError::Invalid { .. } => "invalid_value",
        }
    }
}

/// Parses one JSON text into a value, refusing an object that repeats a
/// key (by its path; the crate's one rule, [`crate::unique_json`]) and
/// reporting a syntax error by column when the text is one line (as every
/// line of the interchange format is).
fn parse_json(text: &str) -> Result<Value, ParseError> {
    crate::unique_json::parse(text).map_err(|e| match e {
        crate::unique_json::JsonError::DuplicateKey(field) => ParseError::DuplicateField { field },
        crate::unique_json::JsonError::Syntax(e) => ParseError::Syntax(SyntaxError::of(&e)),
    })
}

/// The error for a line `Deserialize` refuses and the explainer accepts:
/// the two disagree, which the agreement tests and fuzzing rule out. The
/// typed parser is the definition, so the line is refused with its message.
fn unexplained(typed: &serde_json::Error) -> ParseError {
    ParseError::Syntax(SyntaxError::of(typed))
}

/// Why a text is not valid JSON ([`ParseError::Syntax`]): what kind of
/// fault, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct SyntaxError {
    /// What kind of fault.
    pub kind: SyntaxErrorKind,
    /// Its line (from 1; 0 when unknown).
    pub line: usize,
    /// Its column (from 1; 0 when unknown).
    pub column: usize,
    message: String,
}

/// The kinds of [`SyntaxError`] (serde_json's categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyntaxErrorKind {
    /// Not JSON: a character that cannot be there.
    Syntax,
    /// The text ends inside a value.
    Eof,
    /// JSON, but not the kind of value that was expected.
    Data,
}

impl SyntaxError {
    /// serde_json's error, with its message without "at line 1 column N"
    /// for a one-line text, where the line says nothing (the caller knows
    /// its own line number): "at column N" instead.
    fn of(e: &serde_json::Error) -> SyntaxError {
        use serde_json::error::Category;
        let full = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = match full.strip_suffix(&position) {
            Some(message) if e.line() == 1 => format!("{message} at column {}", e.column()),
            _ => full,
        };
        let kind = match e.classify() {
            Category::Eof => SyntaxErrorKind::Eof,
            Category::Data => SyntaxErrorKind::Data,
            // A text in memory has no I/O to fail.
            Category::Syntax | Category::Io => SyntaxErrorKind::Syntax,
        };
        SyntaxError {
            kind,
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}

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
    Invalid(InvalidValue),
}

impl From<InvalidValue> for FieldError {
    fn from(reason: InvalidValue) -> Self {
        FieldError::Invalid(reason)
    }
}

fn as_str(v: &Value) -> Result<&str, FieldError> {
    v.as_str().ok_or(FieldError::WrongType("a string"))
}

fn as_int(v: &Value) -> Result<i64, FieldError> {
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            FieldError::Invalid(InvalidValue::NotWholeNumber {
                number: n.to_string(),
            })
        }),
        _ => Err(FieldError::WrongType("an integer")),
    }
}

/// What kind of JSON value `v` is, as an error names it ("a string").
pub(crate) fn kind_of(v: &Value) -> &'static str {
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
    Ok(values::uuid(as_str(v)?)?)
}

fn vocab<T>(
    parse: fn(&str) -> Result<T, UnknownValue>,
) -> impl FnOnce(&Value) -> Result<T, FieldError> {
    move |v| Ok(values::vocab(parse, as_str(v)?)?)
}

fn text_id<T>(
    parse: fn(String) -> Result<T, TextError>,
) -> impl FnOnce(&Value) -> Result<T, FieldError> {
    move |v| Ok(values::text_id(parse, as_str(v)?.to_owned())?)
}

fn free_text(what: &'static str) -> impl FnOnce(&Value) -> Result<String, FieldError> {
    move |v| Ok(values::free_text(what, as_str(v)?.to_owned())?)
}

fn timestamp(v: &Value) -> Result<DateTime<Utc>, FieldError> {
    Ok(values::timestamp(as_str(v)?)?)
}

fn bounded<T>(
    parse: fn(i64) -> Result<T, OutOfRange>,
) -> impl FnOnce(&Value) -> Result<T, FieldError> {
    move |v| Ok(values::bounded(parse, as_int(v)?)?)
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
            origin: f
                .optional("origin", vocab(Origin::parse))?
                .unwrap_or_default(),
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
            root_cause: f.optional("root_cause", vocab(RootCause::parse))?,
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
            speed: f.optional("speed", bounded(Score::new))?,
            problem_solving: f.optional("problem_solving", bounded(Score::new))?,
            attitude: f.optional("attitude", bounded(Score::new))?,
            via: f.optional("via", vocab(SurveyVia::parse))?,
        }),
        EventType::Closed => EventData::Closed,
        EventType::AwaitingCustomer => EventData::AwaitingCustomer(AwaitingCustomer {
            reason: f.optional("reason", free_text("reason"))?,
        }),
        EventType::CustomerReplied => EventData::CustomerReplied,
        EventType::DeadlineExtended => EventData::DeadlineExtended(DeadlineExtended {
            days: f.required("days", bounded(ExtensionDays::new))?,
            approved_by: f.required("approved_by", text_id(AgentId::new))?,
            reason: f.required("reason", free_text("reason"))?,
        }),
        EventType::QaReviewed => EventData::QaReviewed(QaReviewed {
            reviewer: f.required("reviewer", text_id(AgentId::new))?,
            score: f.required("score", bounded(QaScore::new))?,
            notes: f.optional("notes", free_text("notes"))?,
        }),
    })
}
