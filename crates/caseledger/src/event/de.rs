//! serde's `Deserialize` for events: the one parser of the JSON form
//! docs/events.md specifies, used by `import` (its fast path) and by
//! embedders (`serde_json::from_str::<Event>`, a message bus's serde codec).
//!
//! It accepts exactly what the field-naming explainer in [`super::parse`]
//! accepts: the same required and optional fields (`null` is absent), the
//! same values (each checked by the one function in [`values`] both passes
//! call), unknown and repeated fields refused, fields in any order (`data`
//! may come before `type`). It borrows the input's strings where they hold
//! no escape and allocates only for the texts an event owns. Its errors say
//! what is wrong (most name the field); the explainer's messages, which the
//! command line prints, are the pinned ones (`DraftEvent::from_json`).
//!
//! The impls read maps, so they work with self-describing formats (JSON,
//! CBOR, MessagePack with maps), not with formats that write a struct as a
//! bare sequence.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, Error as _, MapAccess, Visitor};

use super::DeadlineExtended;
use super::QaReviewed;
use super::fields::{DATA_FIELDS, ENVELOPE_FIELDS, InvalidValue, data_fields, values};
use super::{
    Assigned, AwaitingCustomer, Classified, DraftEvent, Escalated, Event, EventData, EventType,
    FollowUpCompleted, FollowUpScheduled, Opened, ParseError, Reopened, Resolved, Surveyed,
};
use crate::ids::{Actor, AgentId, CaseId, CustomerId, EventId, TeamId};
use crate::vocab::ExtensionDays;
use crate::vocab::{
    Category, Channel, EscalationLevel, FollowUpOutcome, FollowUpPurpose, Priority, Score, Tier,
    Topic,
};
use crate::vocab::{Origin, QaScore, RootCause, SurveyVia};

/// A JSON string, borrowed from the input when it holds no escape.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(StrVisitor)
    }
}

/// Reads a key of an object whose fields are `names`, as its index there;
/// any other key is refused, naming it (with `prefix`) and listing
/// `allowed`.
struct Key {
    names: &'static [&'static str],
    prefix: &'static str,
    allowed: &'static [&'static str],
}

impl<'de> DeserializeSeed<'de> for Key {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for Key {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        match self.names.iter().position(|n| *n == v) {
            Some(i) => Ok(i),
            None => Err(E::custom(ParseError::UnknownField {
                field: format!("{}{v}", self.prefix),
                allowed: self.allowed.to_vec(),
            })),
        }
    }
}

/// Marks field `i` as seen in `seen`, refusing it if it was seen before.
fn first_time<E: de::Error>(
    seen: &mut u32,
    i: usize,
    path: impl FnOnce() -> String,
) -> Result<(), E> {
    let bit = 1u32 << i;
    if *seen & bit != 0 {
        return Err(E::custom(ParseError::DuplicateField { field: path() }));
    }
    *seen |= bit;
    Ok(())
}

/// The next value as a string read by `parse`; `null` is absent.
fn string<'de, A: MapAccess<'de>, T>(
    map: &mut A,
    field: &'static str,
    parse: impl FnOnce(Cow<'de, str>) -> Result<T, InvalidValue>,
) -> Result<Option<T>, A::Error> {
    match map.next_value::<Option<Text<'de>>>()? {
        None => Ok(None),
        Some(Text(s)) => parse(s).map(Some).map_err(|reason| invalid(field, reason)),
    }
}

/// The next value as an integer read by `parse`; `null` is absent.
fn integer<'de, A: MapAccess<'de>, T>(
    map: &mut A,
    field: &'static str,
    parse: impl FnOnce(i64) -> Result<T, InvalidValue>,
) -> Result<Option<T>, A::Error> {
    match map.next_value::<Option<i64>>()? {
        None => Ok(None),
        Some(n) => parse(n).map(Some).map_err(|reason| invalid(field, reason)),
    }
}

fn invalid<E: de::Error>(field: &str, reason: InvalidValue) -> E {
    E::custom(ParseError::Invalid {
        field: field.to_owned(),
        reason,
    })
}

fn missing<E: de::Error>(field: &str) -> E {
    E::custom(ParseError::Missing {
        field: field.to_owned(),
    })
}

/// The envelope's fields, by their index in [`ENVELOPE_FIELDS`].
mod top {
    pub const CASE_ID: usize = 0;
    pub const TYPE: usize = 1;
    pub const AT: usize = 2;
    pub const ACTOR: usize = 3;
    pub const EVENT_ID: usize = 4;
    pub const DATA: usize = 5;
    pub const POSITION: usize = 6;
    pub const RECORDED_AT: usize = 7;
}

/// The `data` fields of every event type, by their index in
/// [`DATA_FIELDS`]. A name means the same in every type that has it
/// (`channel`, `team`, `reason`), so one reader serves all.
mod data {
    pub const CUSTOMER_ID: usize = 0;
    pub const CHANNEL: usize = 1;
    pub const TIER: usize = 2;
    pub const SUMMARY: usize = 3;
    pub const CATEGORY: usize = 4;
    pub const TOPIC: usize = 5;
    pub const PRIORITY: usize = 6;
    pub const AGENT: usize = 7;
    pub const TEAM: usize = 8;
    pub const LEVEL: usize = 9;
    pub const REASON: usize = 10;
    pub const RESOLUTION: usize = 11;
    pub const DUE: usize = 12;
    pub const PURPOSE: usize = 13;
    pub const OUTCOME: usize = 14;
    pub const SCORE: usize = 15;
    pub const COMMENT: usize = 16;
    pub const DAYS: usize = 17;
    pub const APPROVED_BY: usize = 18;
    pub const ORIGIN: usize = 19;
    pub const ROOT_CAUSE: usize = 20;
    pub const REVIEWER: usize = 21;
    pub const NOTES: usize = 22;
    pub const SPEED: usize = 23;
    pub const PROBLEM_SOLVING: usize = 24;
    pub const ATTITUDE: usize = 25;
    pub const VIA: usize = 26;
}

/// Every `data` field given, read before the type is known (it may come
/// after `data`); [`DataFields::into_data`] then checks them against it.
#[derive(Default)]
struct DataFields {
    /// Which fields were present, `null` included (bit = index).
    seen: u32,
    customer_id: Option<CustomerId>,
    channel: Option<Channel>,
    tier: Option<Tier>,
    summary: Option<String>,
    category: Option<Category>,
    topic: Option<Topic>,
    priority: Option<Priority>,
    agent: Option<AgentId>,
    team: Option<TeamId>,
    level: Option<EscalationLevel>,
    reason: Option<String>,
    resolution: Option<String>,
    due: Option<DateTime<Utc>>,
    purpose: Option<FollowUpPurpose>,
    outcome: Option<FollowUpOutcome>,
    /// Read as an integer; its range depends on the type (1 to 5 in
    /// `surveyed`, 0 to 100 in `qa_reviewed`), checked by `into_data`.
    score: Option<i64>,
    comment: Option<String>,
    days: Option<ExtensionDays>,
    approved_by: Option<AgentId>,
    origin: Option<Origin>,
    root_cause: Option<RootCause>,
    reviewer: Option<AgentId>,
    notes: Option<String>,
    speed: Option<Score>,
    problem_solving: Option<Score>,
    attitude: Option<Score>,
    via: Option<SurveyVia>,
}

/// Reads a `data` object into [`DataFields`]. `event_type`, when already
/// known, only improves the message for an unknown field.
struct DataSeed {
    event_type: Option<EventType>,
}

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = DataFields;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<DataFields, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataSeed {
    type Value = DataFields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`data`, a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DataFields, A::Error> {
        use values::{bounded, free_text, text_id, timestamp, vocab};
        let allowed = self.event_type.map_or(DATA_FIELDS, data_fields);
        let key = || Key {
            names: DATA_FIELDS,
            prefix: "data.",
            allowed,
        };
        let mut d = DataFields::default();
        while let Some(i) = map.next_key_seed(key())? {
            first_time(&mut d.seen, i, || format!("data.{}", DATA_FIELDS[i]))?;
            let m = &mut map;
            match i {
                data::CUSTOMER_ID => {
                    d.customer_id = string(m, "data.customer_id", |s| {
                        text_id(CustomerId::new, s.into_owned())
                    })?;
                }
                data::CHANNEL => {
                    d.channel = string(m, "data.channel", |s| vocab(Channel::parse, &s))?;
                }
                data::TIER => d.tier = string(m, "data.tier", |s| vocab(Tier::parse, &s))?,
                data::SUMMARY => {
                    d.summary =
                        string(m, "data.summary", |s| free_text("summary", s.into_owned()))?;
                }
                data::CATEGORY => {
                    d.category = string(m, "data.category", |s| vocab(Category::parse, &s))?;
                }
                data::TOPIC => d.topic = string(m, "data.topic", |s| vocab(Topic::parse, &s))?,
                data::PRIORITY => {
                    d.priority = string(m, "data.priority", |s| vocab(Priority::parse, &s))?;
                }
                data::AGENT => {
                    d.agent = string(m, "data.agent", |s| text_id(AgentId::new, s.into_owned()))?;
                }
                data::TEAM => {
                    d.team = string(m, "data.team", |s| text_id(TeamId::new, s.into_owned()))?;
                }
                data::LEVEL => {
                    d.level = integer(m, "data.level", |n| bounded(EscalationLevel::new, n))?;
                }
                data::REASON => {
                    d.reason = string(m, "data.reason", |s| free_text("reason", s.into_owned()))?;
                }
                data::RESOLUTION => {
                    d.resolution = string(m, "data.resolution", |s| {
                        free_text("resolution", s.into_owned())
                    })?;
                }
                data::DUE => d.due = string(m, "data.due", |s| timestamp(&s))?,
                data::PURPOSE => {
                    d.purpose = string(m, "data.purpose", |s| vocab(FollowUpPurpose::parse, &s))?;
                }
                data::OUTCOME => {
                    d.outcome = string(m, "data.outcome", |s| vocab(FollowUpOutcome::parse, &s))?;
                }
                data::SCORE => d.score = integer(m, "data.score", Ok)?,
                data::COMMENT => {
                    d.comment =
                        string(m, "data.comment", |s| free_text("comment", s.into_owned()))?;
                }
                data::DAYS => d.days = integer(m, "data.days", |n| bounded(ExtensionDays::new, n))?,
                data::APPROVED_BY => {
                    d.approved_by = string(m, "data.approved_by", |s| {
                        text_id(AgentId::new, s.into_owned())
                    })?;
                }
                data::ORIGIN => {
                    d.origin = string(m, "data.origin", |s| vocab(Origin::parse, &s))?;
                }
                data::ROOT_CAUSE => {
                    d.root_cause = string(m, "data.root_cause", |s| vocab(RootCause::parse, &s))?;
                }
                data::REVIEWER => {
                    d.reviewer = string(m, "data.reviewer", |s| {
                        text_id(AgentId::new, s.into_owned())
                    })?;
                }
                data::NOTES => {
                    d.notes = string(m, "data.notes", |s| free_text("notes", s.into_owned()))?;
                }
                data::SPEED => d.speed = integer(m, "data.speed", |n| bounded(Score::new, n))?,
                data::PROBLEM_SOLVING => {
                    d.problem_solving =
                        integer(m, "data.problem_solving", |n| bounded(Score::new, n))?;
                }
                data::ATTITUDE => {
                    d.attitude = integer(m, "data.attitude", |n| bounded(Score::new, n))?;
                }
                data::VIA => d.via = string(m, "data.via", |s| vocab(SurveyVia::parse, &s))?,
                _ => return Err(A::Error::custom("unreachable: a key outside the list")),
            }
        }
        Ok(d)
    }
}

impl DataFields {
    /// The data of an event of type `t`: no field `t` does not have, and
    /// every field it requires.
    fn into_data(self, t: EventType) -> Result<EventData, ParseError> {
        let allowed = data_fields(t);
        if let Some(unknown) = DATA_FIELDS
            .iter()
            .enumerate()
            .find(|&(i, name)| self.seen & (1 << i) != 0 && !allowed.contains(name))
        {
            return Err(ParseError::UnknownField {
                field: format!("data.{}", unknown.1),
                allowed: allowed.to_vec(),
            });
        }
        fn required<T>(v: Option<T>, field: &str) -> Result<T, ParseError> {
            v.ok_or_else(|| ParseError::Missing {
                field: field.to_owned(),
            })
        }
        /// `data.score` in the range of its type.
        fn score<T>(
            n: Option<i64>,
            parse: fn(i64) -> Result<T, crate::vocab::OutOfRange>,
        ) -> Result<Option<T>, ParseError> {
            n.map(|n| values::bounded(parse, n))
                .transpose()
                .map_err(|reason| ParseError::Invalid {
                    field: "data.score".to_owned(),
                    reason,
                })
        }
        Ok(match t {
            EventType::Opened => EventData::Opened(Opened {
                customer_id: required(self.customer_id, "data.customer_id")?,
                channel: required(self.channel, "data.channel")?,
                tier: self.tier.unwrap_or(Tier::Standard),
                summary: self.summary,
                origin: self.origin.unwrap_or_default(),
            }),
            EventType::Classified => EventData::Classified(Classified {
                category: required(self.category, "data.category")?,
                topic: required(self.topic, "data.topic")?,
                priority: required(self.priority, "data.priority")?,
            }),
            EventType::Assigned => EventData::Assigned(Assigned {
                agent: required(self.agent, "data.agent")?,
                team: self.team,
            }),
            EventType::Responded => EventData::Responded,
            EventType::Escalated => EventData::Escalated(Escalated {
                level: required(self.level, "data.level")?,
                team: self.team,
                reason: self.reason,
            }),
            EventType::Resolved => EventData::Resolved(Resolved {
                resolution: self.resolution,
                root_cause: self.root_cause,
            }),
            EventType::Reopened => EventData::Reopened(Reopened {
                reason: self.reason,
            }),
            EventType::FollowUpScheduled => EventData::FollowUpScheduled(FollowUpScheduled {
                due: required(self.due, "data.due")?,
                purpose: required(self.purpose, "data.purpose")?,
                channel: required(self.channel, "data.channel")?,
            }),
            EventType::FollowUpCompleted => EventData::FollowUpCompleted(FollowUpCompleted {
                outcome: required(self.outcome, "data.outcome")?,
            }),
            EventType::Surveyed => EventData::Surveyed(Surveyed {
                score: required(score(self.score, Score::new)?, "data.score")?,
                comment: self.comment,
                speed: self.speed,
                problem_solving: self.problem_solving,
                attitude: self.attitude,
                via: self.via,
            }),
            EventType::Closed => EventData::Closed,
            EventType::AwaitingCustomer => EventData::AwaitingCustomer(AwaitingCustomer {
                reason: self.reason,
            }),
            EventType::CustomerReplied => EventData::CustomerReplied,
            EventType::DeadlineExtended => EventData::DeadlineExtended(DeadlineExtended {
                days: required(self.days, "data.days")?,
                approved_by: required(self.approved_by, "data.approved_by")?,
                reason: required(self.reason, "data.reason")?,
            }),
            EventType::QaReviewed => EventData::QaReviewed(QaReviewed {
                reviewer: required(self.reviewer, "data.reviewer")?,
                score: required(score(self.score, QaScore::new)?, "data.score")?,
                notes: self.notes,
            }),
        })
    }
}

/// Reads an event's JSON object into a [`DraftEvent`].
struct DraftVisitor;

impl<'de> Visitor<'de> for DraftVisitor {
    type Value = DraftEvent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event, a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DraftEvent, A::Error> {
        use values::{text_id, timestamp, uuid, vocab};
        let mut seen = 0u32;
        let mut case_id = None;
        let mut event_type = None;
        let mut at = None;
        let mut actor = None;
        let mut event_id = None;
        let mut data = None;
        let key = || Key {
            names: ENVELOPE_FIELDS,
            prefix: "",
            allowed: ENVELOPE_FIELDS,
        };
        while let Some(i) = map.next_key_seed(key())? {
            first_time(&mut seen, i, || ENVELOPE_FIELDS[i].to_owned())?;
            let m = &mut map;
            match i {
                top::CASE_ID => case_id = string(m, "case_id", |s| uuid(&s).map(CaseId))?,
                top::TYPE => event_type = string(m, "type", |s| vocab(EventType::parse, &s))?,
                top::AT => at = string(m, "at", |s| timestamp(&s))?,
                top::ACTOR => {
                    actor = string(m, "actor", |s| {
                        text_id(|s: String| Actor::parse(&s), s.into_owned())
                    })?;
                }
                top::EVENT_ID => event_id = string(m, "event_id", |s| uuid(&s).map(EventId))?,
                top::DATA => data = Some(m.next_value_seed(DataSeed { event_type })?),
                top::POSITION => {
                    // Checked for type, then dropped: a store assigns its own.
                    m.next_value::<Option<i64>>()?;
                }
                top::RECORDED_AT => {
                    string(m, "recorded_at", |s| timestamp(&s))?;
                }
                _ => return Err(A::Error::custom("unreachable: a key outside the list")),
            }
        }
        let event_type = event_type.ok_or_else(|| missing("type"))?;
        Ok(DraftEvent {
            event_id,
            case_id: case_id.ok_or_else(|| missing("case_id"))?,
            at: at.ok_or_else(|| missing("at"))?,
            actor: actor.ok_or_else(|| missing("actor"))?,
            data: data
                .ok_or_else(|| missing("data"))?
                .into_data(event_type)
                .map_err(A::Error::custom)?,
        })
    }
}

/// The JSON form of docs/events.md, with or without `event_id`.
impl<'de> Deserialize<'de> for DraftEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DraftVisitor)
    }
}

/// The JSON form of docs/events.md; `event_id` is required.
impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Event::try_from(DraftEvent::deserialize(d)?).map_err(|_| missing("event_id"))
    }
}

/// Reads the `data` object of an event of a known type: what an event's
/// `data` serializes to, read back ([`EventData`] alone does not carry its
/// type, so it is read with this seed rather than `Deserialize`).
#[derive(Debug, Clone, Copy)]
pub struct DataOf(pub EventType);

impl<'de> DeserializeSeed<'de> for DataOf {
    type Value = EventData;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<EventData, D::Error> {
        DataSeed {
            event_type: Some(self.0),
        }
        .deserialize(d)?
        .into_data(self.0)
        .map_err(D::Error::custom)
    }
}

/// `Deserialize` for each type's data struct: its `data` object.
macro_rules! data_deserialize {
    ($($name:ident),+ $(,)?) => {$(
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match DataOf(EventType::$name).deserialize(d)? {
                    EventData::$name(data) => Ok(data),
                    _ => Err(D::Error::custom("unreachable: the data of another type")),
                }
            }
        }
    )+};
}

data_deserialize!(
    Opened,
    Classified,
    Assigned,
    Escalated,
    Resolved,
    Reopened,
    FollowUpScheduled,
    FollowUpCompleted,
    Surveyed,
    AwaitingCustomer,
    DeadlineExtended,
    QaReviewed,
);
