//! Decoding record bodies: the whole body ([`decode_body`]), only an event's
//! fixed part ([`decode_event_header`]), or one field ([`peek_event_stream`],
//! [`peek_event_position`]). Every length is checked before it is used.

use caseledger::{
    Actor, AgentId, Assigned, AwaitingCustomer, CaseId, Category, Channel, Classified, CustomerId,
    DeadlineExtended, Escalated, EscalationLevel, Event, EventData, EventId, EventType,
    ExtensionDays, FollowUpCompleted, FollowUpOutcome, FollowUpPurpose, FollowUpScheduled, Opened,
    Origin, Priority, QaReviewed, QaScore, Reopened, Resolved, RootCause, Score, SurveyVia,
    Surveyed, TeamId, Tier, Topic,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::chain::hashed_part;
use crate::time::Slot;
use crate::{
    COMMIT_BODY_BYTES, DecodeError, EVENT_FIXED_BYTES, EventHeader, EventRecord, HASH_BYTES,
    KIND_COMMIT, KIND_EVENT, Record, SCHEMA_VERSION, array, check_text_bytes, time_from_parts,
};

/// The stream id of an event record's body without decoding the rest
/// (`None` for a commit record or a body too short to hold one).
pub fn peek_event_stream(body: &[u8]) -> Option<[u8; 16]> {
    if body.first() != Some(&KIND_EVENT) {
        return None;
    }
    body.get(12..28).map(array)
}

/// The position of an event record's body without decoding the rest.
pub fn peek_event_position(body: &[u8]) -> Option<u64> {
    if body.first() != Some(&KIND_EVENT) {
        return None;
    }
    body.get(4..12).map(|b| u64::from_le_bytes(array(b)))
}

/// Decodes a record body (in the file store, the bytes a frame holds).
pub fn decode_body(body: &[u8]) -> Result<Record, DecodeError> {
    decode_body_pooled(body, &mut StringPool::default())
}

/// [`decode_body`], its ids and texts written into strings taken from
/// `pool` (whose capacity is reused) rather than newly allocated: for a
/// reader that gives each event back ([`StringPool::recycle`]) once it is
/// folded. The checks and the result are those of [`decode_body`].
pub fn decode_body_pooled(body: &[u8], pool: &mut StringPool) -> Result<Record, DecodeError> {
    if body.len() < 1 + HASH_BYTES {
        return Err(DecodeError::bad(
            "record body",
            format!("{} bytes is too short", body.len()),
        ));
    }
    let mut r = Reader::new(hashed_part(body), pool);
    match r.u8("record kind")? {
        KIND_EVENT => decode_event(&mut r).map(Record::Event),
        KIND_COMMIT => {
            if body.len() != COMMIT_BODY_BYTES {
                return Err(DecodeError::bad(
                    "commit record",
                    format!("{} bytes", body.len()),
                ));
            }
            r.zeros(7, "commit reserved bytes")?;
            let first_position = r.u64("commit first position")?;
            let last_position = r.u64("commit last position")?;
            if first_position == 0 || last_position < first_position {
                return Err(DecodeError::bad(
                    "commit record",
                    format!("positions {first_position}..={last_position}"),
                ));
            }
            r.end()?;
            Ok(Record::Commit {
                first_position,
                last_position,
            })
        }
        other => Err(DecodeError::bad("record kind", other.to_string())),
    }
}

/// Decodes and checks only the fixed part of an event record's body: what
/// opening a store needs to index it. [`decode_body`] checks the rest.
pub fn decode_event_header(body: &[u8]) -> Result<EventHeader, DecodeError> {
    if body.len() < EVENT_FIXED_BYTES + 1 + HASH_BYTES {
        return Err(DecodeError::bad(
            "event record",
            format!("{} bytes is too short", body.len()),
        ));
    }
    // The header holds no string: the pool is never used (and an empty
    // one allocates nothing).
    let mut pool = StringPool::default();
    let mut r = Reader::new(hashed_part(body), &mut pool);
    if r.u8("record kind")? != KIND_EVENT {
        return Err(DecodeError::bad("record kind", "not an event"));
    }
    read_event_header(&mut r)
}

/// The bytes of an event record's fixed part after its kind byte.
const HEADER_BYTES: usize = EVENT_FIXED_BYTES - 1;

/// Reads an event record's fixed part (after its kind byte) with one bounds
/// check, then each field from the fixed-size array: every event's header is
/// read this way, so the field-by-field cursor (a bounds check and a
/// `Result` per field) was a sixth of a replay's instructions. The checks,
/// their order and their words are those of [`read_event_header_by_field`],
/// which reads a record too short to hold the fixed part, to name the field
/// that runs past its end.
fn read_event_header(r: &mut Reader<'_, '_>) -> Result<EventHeader, DecodeError> {
    let fixed =
        r.at.checked_add(HEADER_BYTES)
            .and_then(|end| r.b.get(r.at..end))
            .and_then(|s| <&[u8; HEADER_BYTES]>::try_from(s).ok());
    let Some(fixed) = fixed else {
        return read_event_header_by_field(r);
    };
    let schema = fixed[0];
    if schema != SCHEMA_VERSION {
        return Err(DecodeError::bad("schema version", schema.to_string()));
    }
    let code = fixed[1];
    let event_type = EventType::from_code(code)
        .ok_or_else(|| DecodeError::bad("event type", code.to_string()))?;
    if fixed[2] != 0 {
        return Err(DecodeError::bad("flags", "must be zero"));
    }
    let position = u64::from_le_bytes(array(&fixed[3..11]));
    let case_id = CaseId::from_uuid(Uuid::from_bytes(array(&fixed[11..27])));
    let version = u64::from_le_bytes(array(&fixed[27..35]));
    let event_id = EventId::from_uuid(Uuid::from_bytes(array(&fixed[35..51])));
    let at = fixed_time(&fixed[51..63], "occurred at", Slot::Occurred)?;
    let recorded_at = fixed_time(&fixed[63..75], "recorded at", Slot::Recorded)?;
    if position == 0 || version == 0 {
        return Err(DecodeError::bad(
            "position",
            "positions and versions count from 1",
        ));
    }
    r.at += HEADER_BYTES;
    Ok(EventHeader {
        event_type,
        position,
        case_id,
        version,
        event_id,
        at,
        recorded_at,
    })
}

/// A stored time from its 12 bytes (seconds, then nanoseconds), checked as
/// [`Reader::time`] checks it.
fn fixed_time(b: &[u8], field: &'static str, slot: Slot) -> Result<DateTime<Utc>, DecodeError> {
    let secs = i64::from_le_bytes(array(&b[..8]));
    let nanos = u32::from_le_bytes(array(&b[8..12]));
    time_from_parts(secs, nanos, slot).map_err(|e| DecodeError::bad(field, e))
}

/// Reads an event record's fixed part field by field: for a record too
/// short to hold it, so that the error names the field that runs past the
/// end.
fn read_event_header_by_field(r: &mut Reader<'_, '_>) -> Result<EventHeader, DecodeError> {
    let schema = r.u8("schema version")?;
    if schema != SCHEMA_VERSION {
        return Err(DecodeError::bad("schema version", schema.to_string()));
    }
    let code = r.u8("event type")?;
    let event_type = EventType::from_code(code)
        .ok_or_else(|| DecodeError::bad("event type", code.to_string()))?;
    r.zeros(1, "flags")?;
    let position = r.u64("position")?;
    let case_id = CaseId::from_uuid(r.uuid("stream id")?);
    let version = r.u64("stream version")?;
    let event_id = EventId::from_uuid(r.uuid("event id")?);
    let at = r.time("occurred at", Slot::Occurred)?;
    let recorded_at = r.time("recorded at", Slot::Recorded)?;
    if position == 0 || version == 0 {
        return Err(DecodeError::bad(
            "position",
            "positions and versions count from 1",
        ));
    }
    Ok(EventHeader {
        event_type,
        position,
        case_id,
        version,
        event_id,
        at,
        recorded_at,
    })
}

fn decode_event(r: &mut Reader<'_, '_>) -> Result<EventRecord, DecodeError> {
    let h = read_event_header(r)?;
    let actor = match r.u8("actor kind")? {
        0 => Actor::System,
        1 => Actor::Customer,
        2 => Actor::Agent(
            AgentId::from_stored(r.id("actor")?)
                .map_err(|e| DecodeError::bad("actor", e.to_string()))?,
        ),
        other => return Err(DecodeError::bad("actor kind", other.to_string())),
    };
    let data = decode_payload(r, h.event_type)?;
    r.end()?;
    Ok(EventRecord {
        position: h.position,
        version: h.version,
        recorded_at: h.recorded_at,
        event: Event {
            event_id: h.event_id,
            case_id: h.case_id,
            at: h.at,
            actor,
            data,
        },
    })
}

fn decode_payload(r: &mut Reader<'_, '_>, t: EventType) -> Result<EventData, DecodeError> {
    Ok(match t {
        EventType::Opened => EventData::Opened(Opened {
            customer_id: CustomerId::from_stored(r.id("customer id")?)
                .map_err(|e| DecodeError::bad("customer id", e.to_string()))?,
            channel: r.vocab("channel", Channel::from_code)?,
            tier: r.vocab("tier", Tier::from_code)?,
            summary: r.opt_text("summary")?,
            // Written only when not the default, so an explicit `customer`
            // is refused: one event has one encoding.
            origin: match r.opt_trailing("origin", Origin::from_code)? {
                Some(Origin::Customer) => {
                    return Err(DecodeError::bad("origin", "the default written out"));
                }
                other => other.unwrap_or_default(),
            },
        }),
        EventType::Classified => EventData::Classified(Classified {
            category: r.vocab("category", Category::from_code)?,
            topic: r.vocab("topic", Topic::from_code)?,
            priority: r.vocab("priority", Priority::from_code)?,
        }),
        EventType::Assigned => EventData::Assigned(Assigned {
            agent: AgentId::from_stored(r.id("agent")?)
                .map_err(|e| DecodeError::bad("agent", e.to_string()))?,
            team: r.opt_team()?,
        }),
        EventType::Responded => EventData::Responded,
        EventType::Escalated => EventData::Escalated(Escalated {
            level: EscalationLevel::new(i64::from(r.u8("escalation level")?))
                .map_err(|e| DecodeError::bad("escalation level", e.to_string()))?,
            team: r.opt_team()?,
            reason: r.opt_text("reason")?,
        }),
        EventType::Resolved => EventData::Resolved(Resolved {
            resolution: r.opt_text("resolution")?,
            root_cause: r.opt_trailing("root cause", RootCause::from_code)?,
        }),
        EventType::Reopened => EventData::Reopened(Reopened {
            reason: r.opt_text("reason")?,
        }),
        EventType::FollowUpScheduled => EventData::FollowUpScheduled(FollowUpScheduled {
            due: r.time("follow-up due", Slot::Other)?,
            purpose: r.vocab("purpose", FollowUpPurpose::from_code)?,
            channel: r.vocab("channel", Channel::from_code)?,
        }),
        EventType::FollowUpCompleted => EventData::FollowUpCompleted(FollowUpCompleted {
            outcome: r.vocab("outcome", FollowUpOutcome::from_code)?,
        }),
        EventType::Surveyed => {
            let mut s = Surveyed::new(
                Score::new(i64::from(r.u8("score")?))
                    .map_err(|e| DecodeError::bad("score", e.to_string()))?,
            );
            s.comment = r.opt_text("comment")?;
            r.survey_dimensions(&mut s)?;
            EventData::Surveyed(s)
        }
        EventType::Closed => EventData::Closed,
        EventType::AwaitingCustomer => EventData::AwaitingCustomer(AwaitingCustomer {
            reason: r.opt_text("reason")?,
        }),
        EventType::CustomerReplied => EventData::CustomerReplied,
        EventType::DeadlineExtended => EventData::DeadlineExtended(DeadlineExtended {
            days: ExtensionDays::new(i64::from(r.u8("extension days")?))
                .map_err(|e| DecodeError::bad("extension days", e.to_string()))?,
            approved_by: AgentId::from_stored(r.id("approved by")?)
                .map_err(|e| DecodeError::bad("approved by", e.to_string()))?,
            reason: r
                .opt_text("reason")?
                .ok_or_else(|| DecodeError::bad("reason", "absent; it is required"))?,
        }),
        EventType::QaReviewed => EventData::QaReviewed(QaReviewed {
            reviewer: AgentId::from_stored(r.id("reviewer")?)
                .map_err(|e| DecodeError::bad("reviewer", e.to_string()))?,
            score: QaScore::new(i64::from(r.u8("qa score")?))
                .map_err(|e| DecodeError::bad("qa score", e.to_string()))?,
            notes: r.opt_text("notes")?,
        }),
    })
}

/// How many strings a [`StringPool`] keeps: more than a batch of events
/// holds (an event has at most three), so that a reader folding batches
/// allocates none once warm; the bound caps the memory kept.
const POOL_STRINGS: usize = 512;

/// The largest capacity a [`StringPool`] keeps a string of: ids and most
/// texts are far shorter; a longer text's allocation is freed rather than
/// kept, so that the pool holds at most `POOL_STRINGS` times this.
const POOL_STRING_BYTES: usize = 1024;

/// Strings given back by events already folded, whose capacity decoding
/// reuses ([`decode_body_pooled`]): a replay that decodes a million events
/// would otherwise allocate and free each id and text.
#[derive(Debug, Default)]
pub struct StringPool {
    free: Vec<String>,
}

impl StringPool {
    /// `text` in a string from the pool (or a new one if it is empty).
    fn string(&mut self, text: &str) -> String {
        match self.free.pop() {
            Some(mut s) => {
                s.clear();
                s.push_str(text);
                s
            }
            None => text.to_owned(),
        }
    }

    /// Keeps `s`'s allocation for a later string, within the pool's bounds.
    fn keep(&mut self, s: String) {
        if self.free.len() < POOL_STRINGS && s.capacity() <= POOL_STRING_BYTES && s.capacity() > 0 {
            self.free.push(s);
        }
    }

    fn keep_opt(&mut self, s: Option<String>) {
        if let Some(s) = s {
            self.keep(s);
        }
    }

    /// Takes back the strings of an event that is no longer needed.
    pub fn recycle(&mut self, event: Event) {
        if let Actor::Agent(a) = event.actor {
            self.keep(a.into_string());
        }
        match event.data {
            EventData::Opened(o) => {
                self.keep(o.customer_id.into_string());
                self.keep_opt(o.summary);
            }
            EventData::Assigned(a) => {
                self.keep(a.agent.into_string());
                self.keep_opt(a.team.map(TeamId::into_string));
            }
            EventData::Escalated(e) => {
                self.keep_opt(e.team.map(TeamId::into_string));
                self.keep_opt(e.reason);
            }
            EventData::Resolved(r) => self.keep_opt(r.resolution),
            EventData::Reopened(r) => self.keep_opt(r.reason),
            EventData::Surveyed(s) => self.keep_opt(s.comment),
            EventData::AwaitingCustomer(a) => self.keep_opt(a.reason),
            EventData::DeadlineExtended(d) => {
                self.keep(d.approved_by.into_string());
                self.keep(d.reason);
            }
            EventData::QaReviewed(q) => {
                self.keep(q.reviewer.into_string());
                self.keep_opt(q.notes);
            }
            _ => {}
        }
    }
}

/// A bounds-checked cursor over a body, taking the strings it decodes
/// from a pool.
struct Reader<'a, 'p> {
    b: &'a [u8],
    at: usize,
    pool: &'p mut StringPool,
}

impl<'a, 'p> Reader<'a, 'p> {
    fn new(b: &'a [u8], pool: &'p mut StringPool) -> Reader<'a, 'p> {
        Reader { b, at: 0, pool }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(DecodeError::bad(field, "runs past the end of the record"));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(array(self.take(2, field)?)))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(array(self.take(4, field)?)))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(array(self.take(8, field)?)))
    }

    fn uuid(&mut self, field: &'static str) -> Result<Uuid, DecodeError> {
        Ok(Uuid::from_bytes(array(self.take(16, field)?)))
    }

    fn zeros(&mut self, n: usize, field: &'static str) -> Result<(), DecodeError> {
        if self.take(n, field)?.iter().any(|&b| b != 0) {
            return Err(DecodeError::bad(field, "must be zero"));
        }
        Ok(())
    }

    fn time(&mut self, field: &'static str, slot: Slot) -> Result<DateTime<Utc>, DecodeError> {
        let secs = i64::from_le_bytes(array(self.take(8, field)?));
        let nanos = self.u32(field)?;
        time_from_parts(secs, nanos, slot).map_err(|e| DecodeError::bad(field, e))
    }

    fn str(&mut self, n: usize, field: &'static str) -> Result<String, DecodeError> {
        let b = self.take(n, field)?;
        let text = std::str::from_utf8(b).map_err(|_| DecodeError::bad(field, "not UTF-8"))?;
        Ok(self.pool.string(text))
    }

    fn id(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let n = usize::from(self.u8(field)?);
        if n == 0 {
            return Err(DecodeError::bad(field, "empty"));
        }
        self.str(n, field)
    }

    fn opt_team(&mut self) -> Result<Option<TeamId>, DecodeError> {
        let n = usize::from(self.u8("team")?);
        if n == 0 {
            return Ok(None);
        }
        let s = self.str(n, "team")?;
        TeamId::from_stored(s)
            .map(Some)
            .map_err(|e| DecodeError::bad("team", e.to_string()))
    }

    fn opt_text(&mut self, field: &'static str) -> Result<Option<String>, DecodeError> {
        match self.u8(field)? {
            0 => Ok(None),
            1 => {
                let n = usize::from(self.u16(field)?);
                check_text_bytes(n).map_err(|e| DecodeError::bad(field, e))?;
                self.str(n, field).map(Some)
            }
            other => Err(DecodeError::bad(field, format!("presence flag {other}"))),
        }
    }

    fn vocab<T>(&mut self, field: &'static str, f: fn(u8) -> Option<T>) -> Result<T, DecodeError> {
        let code = self.u8(field)?;
        f(code).ok_or_else(|| DecodeError::bad(field, format!("unknown code {code}")))
    }

    /// An optional last field of a payload: one code byte when any byte
    /// is left, none at the end of the record.
    fn opt_trailing<T>(
        &mut self,
        field: &'static str,
        f: fn(u8) -> Option<T>,
    ) -> Result<Option<T>, DecodeError> {
        if self.at == self.b.len() {
            return Ok(None);
        }
        self.vocab(field, f).map(Some)
    }

    /// `surveyed`'s optional trailing block (docs/store-format.md): none
    /// at the end of the record, else four bytes, the three dimension
    /// scores (0: none) and `via` (its code plus 1; 0: none). A block
    /// saying nothing is refused: it is written only when one is given,
    /// so that an event has one encoding.
    fn survey_dimensions(&mut self, s: &mut Surveyed) -> Result<(), DecodeError> {
        if self.at == self.b.len() {
            return Ok(());
        }
        let mut score = |field: &'static str| -> Result<Option<Score>, DecodeError> {
            match self.u8(field)? {
                0 => Ok(None),
                n => Score::new(i64::from(n))
                    .map(Some)
                    .map_err(|e| DecodeError::bad(field, e.to_string())),
            }
        };
        s.speed = score("survey speed")?;
        s.problem_solving = score("survey problem solving")?;
        s.attitude = score("survey attitude")?;
        s.via = match self.u8("survey via")? {
            0 => None,
            n => Some(SurveyVia::from_code(n - 1).ok_or_else(|| {
                DecodeError::bad("survey via", format!("unknown code {}", n - 1))
            })?),
        };
        if !s.has_dimensions() {
            return Err(DecodeError::bad(
                "survey dimensions",
                "a block that gives none is never written",
            ));
        }
        Ok(())
    }

    fn end(&self) -> Result<(), DecodeError> {
        if self.at != self.b.len() {
            return Err(DecodeError::bad(
                "record body",
                format!("{} unexpected trailing bytes", self.b.len() - self.at),
            ));
        }
        Ok(())
    }
}
