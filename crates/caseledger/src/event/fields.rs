//! The JSON form's field names and the reading of each field's value: the
//! one definition both parsing passes use (serde's [`super::de`] and the
//! field-naming explainer [`super::parse`]), so that they accept the same
//! fields and refuse the same values with the same reason.

use super::EventType;
use crate::ids::TextError;
use crate::time::{TimestampError, TimestampParseError};
use crate::vocab::{OutOfRange, UnknownValue};

/// Why a field's value is refused ([`super::ParseError::Invalid`]): a kind
/// a caller can match, with the refusing rule's own error as its source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidValue {
    /// A case or event id that is not a UUID.
    #[error("`{value}` is not a UUID ({source})")]
    NotUuid {
        /// The text given.
        value: String,
        /// Why the UUID parser refused it.
        source: uuid::Error,
    },
    /// A timestamp that is not a storable RFC 3339 instant with an offset.
    #[error(transparent)]
    Timestamp(#[from] TimestampParseError),
    /// A timestamp outside what a log stores (a new event's check).
    #[error(transparent)]
    Unstorable(#[from] TimestampError),
    /// A value outside a closed vocabulary.
    #[error(transparent)]
    Unknown(#[from] UnknownValue),
    /// An id or a free text that breaks the text rules (length, characters).
    #[error(transparent)]
    Text(#[from] TextError),
    /// An integer outside its bounds.
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
    /// A JSON number that is not an integer of 64 bits written as digits
    /// where an integer is wanted: a fraction (`4.5`), an exponent or a
    /// decimal point (`1e3`, `5.0`, `-0`, which JSON readers take as
    /// decimals), or a whole number past 64 bits.
    #[error(
        "{number} is not an integer written as digits, without a fraction or an exponent, \
         within 64 bits"
    )]
    NotWholeNumber {
        /// The number as read back (`1e3` reads back as `1000.0`, `-0` as
        /// `-0.0`), not necessarily as the JSON text wrote it.
        number: String,
    },
}

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
    "days",
    "approved_by",
    "origin",
    "root_cause",
    "reviewer",
    "notes",
    "speed",
    "problem_solving",
    "attitude",
    "via",
];

/// The `data` fields each event type allows.
pub(super) fn data_fields(t: EventType) -> &'static [&'static str] {
    match t {
        EventType::Opened => &["customer_id", "channel", "tier", "summary", "origin"],
        EventType::Classified => &["category", "topic", "priority"],
        EventType::Assigned => &["agent", "team"],
        EventType::Escalated => &["level", "team", "reason"],
        EventType::Resolved => &["resolution", "root_cause"],
        EventType::Reopened => &["reason"],
        EventType::FollowUpScheduled => &["due", "purpose", "channel"],
        EventType::FollowUpCompleted => &["outcome"],
        EventType::Surveyed => &[
            "score",
            "comment",
            "speed",
            "problem_solving",
            "attitude",
            "via",
        ],
        EventType::Responded | EventType::Closed => &[],
        EventType::AwaitingCustomer => &["reason"],
        EventType::CustomerReplied => &[],
        EventType::DeadlineExtended => &["days", "approved_by", "reason"],
        EventType::QaReviewed => &["reviewer", "score", "notes"],
    }
}

/// How each field's value is read from its JSON string or integer: the one
/// definition both passes (this one and the explainer) call, so that they
/// refuse the same values with the same reason. The caller names the field.
pub(super) mod values {
    use chrono::{DateTime, Utc};

    use super::InvalidValue;
    use crate::ids::{TextError, check_text};
    use crate::time::parse_timestamp;
    use crate::vocab::{OutOfRange, UnknownValue};

    /// A UUID (`case_id`, `event_id`).
    pub(crate) fn uuid(s: &str) -> Result<uuid::Uuid, InvalidValue> {
        uuid::Uuid::parse_str(s).map_err(|source| InvalidValue::NotUuid {
            value: s.to_owned(),
            source,
        })
    }

    /// A storable RFC 3339 instant with an offset (`at`, `data.due`,
    /// `recorded_at`).
    pub(crate) fn timestamp(s: &str) -> Result<DateTime<Utc>, InvalidValue> {
        Ok(parse_timestamp(s)?)
    }

    /// A value of a closed vocabulary.
    pub(crate) fn vocab<T>(
        parse: fn(&str) -> Result<T, UnknownValue>,
        s: &str,
    ) -> Result<T, InvalidValue> {
        Ok(parse(s)?)
    }

    /// A text id (customer, agent, team, the actor).
    pub(crate) fn text_id<T>(
        parse: fn(String) -> Result<T, TextError>,
        s: String,
    ) -> Result<T, InvalidValue> {
        Ok(parse(s)?)
    }

    /// Free text (`summary`, `reason`, `resolution`, `comment`, `notes`).
    pub(crate) fn free_text(what: &'static str, s: String) -> Result<String, InvalidValue> {
        check_text(what, &s)?;
        Ok(s)
    }

    /// A bounded integer (`level`, `score`, `days`; `score` is 1 to 5 in
    /// `surveyed` and 0 to 100 in `qa_reviewed`).
    pub(crate) fn bounded<T>(
        parse: fn(i64) -> Result<T, OutOfRange>,
        n: i64,
    ) -> Result<T, InvalidValue> {
        Ok(parse(n)?)
    }
}
