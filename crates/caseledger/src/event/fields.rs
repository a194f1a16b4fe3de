//! The JSON form's field names and the reading of each field's value: the
//! one definition both parsing passes use (serde's [`super::de`] and the
//! field-naming explainer [`super::parse`]), so that they accept the same
//! fields and refuse the same values with the same reason.

use super::EventType;

/// The envelope's fields, in their documented order.
pub(super) const ENVELOPE_FIELDS: &[&str] = &[
    "case_id",
    "type",
    "at",
    "actor",
    "event_id",
    "data",
    "position",
    "recorded_at",
];

/// Every `data` field of any event type; a name means the same in every
/// type that has it.
pub(super) const DATA_FIELDS: &[&str] = &[
    "customer_id",
    "channel",
    "tier",
    "summary",
    "category",
    "topic",
    "priority",
    "agent",
    "team",
    "level",
    "reason",
    "resolution",
    "due",
    "purpose",
    "outcome",
    "score",
    "comment",
];

/// The `data` fields each event type allows.
pub(super) fn data_fields(t: EventType) -> &'static [&'static str] {
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

/// How each field's value is read from its JSON string or integer: the one
/// definition both passes (this one and the explainer) call, so that they
/// refuse the same values with the same reason. The caller names the field.
pub(super) mod values {
    use chrono::{DateTime, Utc};

    use crate::ids::{TextError, check_text};
    use crate::time::parse_timestamp;
    use crate::vocab::{OutOfRange, UnknownValue};

    /// A UUID (`case_id`, `event_id`).
    pub(crate) fn uuid(s: &str) -> Result<uuid::Uuid, String> {
        uuid::Uuid::parse_str(s).map_err(|e| format!("`{s}` is not a UUID ({e})"))
    }

    /// A storable RFC 3339 instant with an offset (`at`, `data.due`,
    /// `recorded_at`).
    pub(crate) fn timestamp(s: &str) -> Result<DateTime<Utc>, String> {
        parse_timestamp(s).map_err(|e| e.to_string())
    }

    /// A value of a closed vocabulary.
    pub(crate) fn vocab<T>(
        parse: fn(&str) -> Result<T, UnknownValue>,
        s: &str,
    ) -> Result<T, String> {
        parse(s).map_err(|e| e.to_string())
    }

    /// A text id (customer, agent, team, the actor).
    pub(crate) fn text_id<T>(
        parse: fn(String) -> Result<T, TextError>,
        s: String,
    ) -> Result<T, String> {
        parse(s).map_err(|e| e.to_string())
    }

    /// Free text (`summary`, `reason`, `resolution`, `comment`).
    pub(crate) fn free_text(what: &'static str, s: String) -> Result<String, String> {
        check_text(what, &s).map_err(|e| e.to_string())?;
        Ok(s)
    }

    /// A bounded integer (`level`, `score`).
    pub(crate) fn bounded<T>(parse: fn(i64) -> Result<T, OutOfRange>, n: i64) -> Result<T, String> {
        parse(n).map_err(|e| e.to_string())
    }
}
