//! The on-disk format: segment headers, record frames and record bodies.
//!
//! docs/store-format.md specifies every byte; this module is its only
//! implementation. Decoding never panics: every length is checked before it
//! is used, and every failure is a [`DecodeError`] that names what was wrong.

use caseledger::{
    Actor, AgentId, Assigned, CaseId, Category, Channel, Classified, CustomerId, Escalated,
    EscalationLevel, Event, EventData, EventId, EventType, FollowUpCompleted, FollowUpOutcome,
    FollowUpPurpose, FollowUpScheduled, MAX_TEXT_BYTES, Opened, Priority, Reopened, Resolved,
    Score, Surveyed, TeamId, Tier, Topic,
};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The first eight bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"CLEDGSEG";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// The size of a segment header in bytes.
pub const SEGMENT_HEADER_BYTES: usize = 64;
/// The size of a record frame's header (length and checksum) in bytes.
pub const FRAME_HEADER_BYTES: usize = 8;
/// The largest record body, in bytes. The largest valid event (two texts of
/// `MAX_TEXT_BYTES` plus ids) is far below it; the bound keeps a damaged
/// length field from making a reader allocate gigabytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The size of a chain hash in bytes (SHA-256).
pub const HASH_BYTES: usize = 32;
/// The schema version of event payloads this crate writes.
pub const SCHEMA_VERSION: u8 = 1;

/// A SHA-256 chain hash.
pub type Hash = [u8; HASH_BYTES];

/// The hash before the first record.
pub const GENESIS_HASH: Hash = [0; HASH_BYTES];

const KIND_EVENT: u8 = 1;
const KIND_COMMIT: u8 = 2;
/// Bytes of an event body before the actor.
const EVENT_FIXED_BYTES: usize = 76;
/// Bytes of a commit body, hash included.
const COMMIT_BODY_BYTES: usize = 24 + HASH_BYTES;

/// Why bytes are not a valid header, frame or record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end before the structure does.
    #[error("incomplete: {needed} bytes needed, {available} available")]
    Incomplete {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// A checksum does not match.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// The stored CRC-32C.
        stored: u32,
        /// The CRC-32C of the bytes.
        computed: u32,
    },
    /// A field holds a value the format does not allow.
    #[error("bad {field}: {detail}")]
    Bad {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

fn bad(field: &'static str, detail: impl Into<String>) -> DecodeError {
    DecodeError::Bad {
        field,
        detail: detail.into(),
    }
}

/// The header at the start of every segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The segment's number, from 1, without gaps.
    pub segment: u32,
    /// The position the first event record in this segment has (or will have).
    pub first_position: u64,
    /// The chain hash of the last record before this segment.
    pub prev_hash: Hash,
}

impl SegmentHeader {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut b = [0u8; SEGMENT_HEADER_BYTES];
        b[0..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[10..12].copy_from_slice(&(SEGMENT_HEADER_BYTES as u16).to_le_bytes());
        b[12..16].copy_from_slice(&self.segment.to_le_bytes());
        b[16..24].copy_from_slice(&self.first_position.to_le_bytes());
        b[24..56].copy_from_slice(&self.prev_hash);
        let crc = crc32c::crc32c(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header.
    pub fn decode(b: &[u8]) -> Result<SegmentHeader, DecodeError> {
        if b.len() < SEGMENT_HEADER_BYTES {
            return Err(DecodeError::Incomplete {
                needed: SEGMENT_HEADER_BYTES,
                available: b.len(),
            });
        }
        let mut r = Reader::new(&b[..SEGMENT_HEADER_BYTES]);
        let stored = u32::from_le_bytes(array(&b[60..64]));
        let computed = crc32c::crc32c(&b[0..60]);
        if r.take(8, "magic")? != SEGMENT_MAGIC {
            return Err(bad("magic", "not a caseledger segment file"));
        }
        if stored != computed {
            return Err(DecodeError::Checksum { stored, computed });
        }
        let version = r.u16("format version")?;
        if version != FORMAT_VERSION {
            return Err(bad(
                "format version",
                format!("{version}; this build reads version {FORMAT_VERSION}"),
            ));
        }
        let len = r.u16("header length")?;
        if usize::from(len) != SEGMENT_HEADER_BYTES {
            return Err(bad("header length", len.to_string()));
        }
        let segment = r.u32("segment number")?;
        let first_position = r.u64("first position")?;
        let prev_hash = array(r.take(HASH_BYTES, "previous hash")?);
        r.zeros(4, "segment header reserved bytes")?;
        if segment == 0 || first_position == 0 {
            return Err(bad("segment header", "segment and position count from 1"));
        }
        Ok(SegmentHeader {
            segment,
            first_position,
            prev_hash,
        })
    }
}

/// A decoded record body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// One event.
    Event(EventRecord),
    /// The end of a batch: events `first_position..=last_position` are
    /// committed.
    Commit {
        /// The first event of the batch.
        first_position: u64,
        /// The last event of the batch.
        last_position: u64,
    },
}

/// An event record's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Global position.
    pub position: u64,
    /// Version within the stream (the case).
    pub version: u64,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The event (its `case_id` is the stream).
    pub event: Event,
}

/// Checks a frame at the start of `b` and returns its body.
///
/// `Incomplete` means the bytes end inside the frame; every other error means
/// the frame is there but wrong.
pub fn decode_frame(b: &[u8]) -> Result<&[u8], DecodeError> {
    let frame = frame_bytes(b)?;
    check_frame_crc(frame)?;
    Ok(&frame[FRAME_HEADER_BYTES..])
}

/// The whole frame (length, checksum and body) at the start of `b`, with
/// its length checked but not its checksum: for a reader that checks the
/// body's chain link instead, which covers the same bytes and more (see
/// [`check_frame_crc`]).
pub fn frame_bytes(b: &[u8]) -> Result<&[u8], DecodeError> {
    if b.len() < FRAME_HEADER_BYTES {
        return Err(DecodeError::Incomplete {
            needed: FRAME_HEADER_BYTES,
            available: b.len(),
        });
    }
    let len = u32::from_le_bytes(array(&b[0..4])) as usize;
    if len == 0 || len > MAX_BODY_BYTES {
        return Err(bad(
            "record length",
            format!("{len}; a body has 1 to {MAX_BODY_BYTES} bytes"),
        ));
    }
    let end = FRAME_HEADER_BYTES + len;
    if b.len() < end {
        return Err(DecodeError::Incomplete {
            needed: end,
            available: b.len(),
        });
    }
    Ok(&b[..end])
}

/// Checks the CRC-32C of a whole frame that [`frame_bytes`] returned.
pub fn check_frame_crc(frame: &[u8]) -> Result<(), DecodeError> {
    let stored = u32::from_le_bytes(array(&frame[4..8]));
    let computed = frame_crc(&frame[0..4], &frame[FRAME_HEADER_BYTES..]);
    if stored != computed {
        return Err(DecodeError::Checksum { stored, computed });
    }
    Ok(())
}

/// The CRC-32C of a frame: over its length field, then its body.
fn frame_crc(len: &[u8], body: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(len), body)
}

/// The bytes of a record body that its chain hash covers: all but the hash.
pub fn hashed_part(body: &[u8]) -> &[u8] {
    &body[..body.len().saturating_sub(HASH_BYTES)]
}

/// The hash stored at the end of a body (zeros if the body is too short,
/// which [`decode_body`] rejects).
pub fn stored_hash(body: &[u8]) -> Hash {
    match body.len().checked_sub(HASH_BYTES) {
        Some(start) => array(&body[start..]),
        None => GENESIS_HASH,
    }
}

/// The chain hash of a record: SHA-256 of the previous hash and the body
/// without its hash.
pub fn chain_hash(prev: &Hash, body_without_hash: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(body_without_hash);
    h.finalize().into()
}

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

/// Decodes a record body (the bytes [`decode_frame`] returned).
pub fn decode_body(body: &[u8]) -> Result<Record, DecodeError> {
    if body.len() < 1 + HASH_BYTES {
        return Err(bad(
            "record body",
            format!("{} bytes is too short", body.len()),
        ));
    }
    let mut r = Reader::new(hashed_part(body));
    match r.u8("record kind")? {
        KIND_EVENT => decode_event(&mut r).map(Record::Event),
        KIND_COMMIT => {
            if body.len() != COMMIT_BODY_BYTES {
                return Err(bad("commit record", format!("{} bytes", body.len())));
            }
            r.zeros(7, "commit reserved bytes")?;
            let first_position = r.u64("commit first position")?;
            let last_position = r.u64("commit last position")?;
            if first_position == 0 || last_position < first_position {
                return Err(bad(
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
        other => Err(bad("record kind", other.to_string())),
    }
}

/// The fixed part of an event record: everything but the actor and the
/// payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHeader {
    /// The event type.
    pub event_type: EventType,
    /// Global position.
    pub position: u64,
    /// The stream (case).
    pub case_id: CaseId,
    /// Stream version.
    pub version: u64,
    /// The event id.
    pub event_id: EventId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
}

/// Decodes and checks only the fixed part of an event record's body: what
/// opening a store needs to index it. [`decode_body`] checks the rest.
pub fn decode_event_header(body: &[u8]) -> Result<EventHeader, DecodeError> {
    if body.len() < EVENT_FIXED_BYTES + 1 + HASH_BYTES {
        return Err(bad(
            "event record",
            format!("{} bytes is too short", body.len()),
        ));
    }
    let mut r = Reader::new(hashed_part(body));
    if r.u8("record kind")? != KIND_EVENT {
        return Err(bad("record kind", "not an event"));
    }
    read_event_header(&mut r)
}

fn read_event_header(r: &mut Reader<'_>) -> Result<EventHeader, DecodeError> {
    let schema = r.u8("schema version")?;
    if schema != SCHEMA_VERSION {
        return Err(bad("schema version", schema.to_string()));
    }
    let code = r.u8("event type")?;
    let event_type =
        EventType::from_code(code).ok_or_else(|| bad("event type", code.to_string()))?;
    r.zeros(1, "flags")?;
    let position = r.u64("position")?;
    let case_id = CaseId::from_uuid(r.uuid("stream id")?);
    let version = r.u64("stream version")?;
    let event_id = EventId::from_uuid(r.uuid("event id")?);
    let at = r.time("occurred at")?;
    let recorded_at = r.time("recorded at")?;
    if position == 0 || version == 0 {
        return Err(bad("position", "positions and versions count from 1"));
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

fn decode_event(r: &mut Reader<'_>) -> Result<EventRecord, DecodeError> {
    let h = read_event_header(r)?;
    let actor = match r.u8("actor kind")? {
        0 => Actor::System,
        1 => Actor::Customer,
        2 => Actor::Agent(
            AgentId::from_stored(r.id("actor")?).map_err(|e| bad("actor", e.to_string()))?,
        ),
        other => return Err(bad("actor kind", other.to_string())),
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

fn decode_payload(r: &mut Reader<'_>, t: EventType) -> Result<EventData, DecodeError> {
    Ok(match t {
        EventType::Opened => EventData::Opened(Opened {
            customer_id: CustomerId::from_stored(r.id("customer id")?)
                .map_err(|e| bad("customer id", e.to_string()))?,
            channel: r.vocab("channel", Channel::from_code)?,
            tier: r.vocab("tier", Tier::from_code)?,
            summary: r.opt_text("summary")?,
        }),
        EventType::Classified => EventData::Classified(Classified {
            category: r.vocab("category", Category::from_code)?,
            topic: r.vocab("topic", Topic::from_code)?,
            priority: r.vocab("priority", Priority::from_code)?,
        }),
        EventType::Assigned => EventData::Assigned(Assigned {
            agent: AgentId::from_stored(r.id("agent")?).map_err(|e| bad("agent", e.to_string()))?,
            team: r.opt_team()?,
        }),
        EventType::Responded => EventData::Responded,
        EventType::Escalated => EventData::Escalated(Escalated {
            level: EscalationLevel::new(i64::from(r.u8("escalation level")?))
                .map_err(|e| bad("escalation level", e.to_string()))?,
            team: r.opt_team()?,
            reason: r.opt_text("reason")?,
        }),
        EventType::Resolved => EventData::Resolved(Resolved {
            resolution: r.opt_text("resolution")?,
        }),
        EventType::Reopened => EventData::Reopened(Reopened {
            reason: r.opt_text("reason")?,
        }),
        EventType::FollowUpScheduled => EventData::FollowUpScheduled(FollowUpScheduled {
            due: r.time("follow-up due")?,
            purpose: r.vocab("purpose", FollowUpPurpose::from_code)?,
            channel: r.vocab("channel", Channel::from_code)?,
        }),
        EventType::FollowUpCompleted => EventData::FollowUpCompleted(FollowUpCompleted {
            outcome: r.vocab("outcome", FollowUpOutcome::from_code)?,
        }),
        EventType::Surveyed => EventData::Surveyed(Surveyed {
            score: Score::new(i64::from(r.u8("score")?))
                .map_err(|e| bad("score", e.to_string()))?,
            comment: r.opt_text("comment")?,
        }),
        EventType::Closed => EventData::Closed,
    })
}

/// Why an event cannot be encoded (it breaks a limit of the format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event_id} cannot be stored: {reason}")]
pub struct EncodeError {
    /// The event.
    pub event_id: EventId,
    /// Which limit it breaks.
    pub reason: String,
}

/// Appends the frame of an event record to `out` and returns its chain hash.
/// On error `out` is unchanged.
pub fn encode_event(
    out: &mut Vec<u8>,
    prev: &Hash,
    position: u64,
    version: u64,
    recorded_at: &DateTime<Utc>,
    event: &Event,
) -> Result<Hash, EncodeError> {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    let body_start = out.len();
    out.push(KIND_EVENT);
    out.push(SCHEMA_VERSION);
    out.push(event.data.event_type().code());
    out.push(0);
    out.extend_from_slice(&position.to_le_bytes());
    out.extend_from_slice(event.case_id.as_uuid().as_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(event.event_id.as_uuid().as_bytes());
    let fail = |out: &mut Vec<u8>, reason: String| {
        out.truncate(start);
        EncodeError {
            event_id: event.event_id,
            reason,
        }
    };
    let result = (|| -> Result<(), String> {
        put_time(out, "at", &event.at)?;
        put_time(out, "recorded_at", recorded_at)?;
        debug_assert_eq!(out.len() - body_start, EVENT_FIXED_BYTES);
        match &event.actor {
            Actor::System => out.push(0),
            Actor::Customer => out.push(1),
            Actor::Agent(a) => {
                out.push(2);
                put_id(out, "actor", a.as_str())?;
            }
        }
        encode_payload(out, &event.data)
    })();
    if let Err(reason) = result {
        return Err(fail(out, reason));
    }
    let body_len = out.len() - body_start + HASH_BYTES;
    if body_len > MAX_BODY_BYTES {
        return Err(fail(
            out,
            format!("its record is {body_len} bytes; at most {MAX_BODY_BYTES}"),
        ));
    }
    let hash = chain_hash(prev, &out[body_start..]);
    out.extend_from_slice(&hash);
    finish_frame(out, start);
    Ok(hash)
}

/// Appends the frame of a commit record to `out` and returns its chain hash.
pub fn encode_commit(out: &mut Vec<u8>, prev: &Hash, first: u64, last: u64) -> Hash {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    let body_start = out.len();
    out.push(KIND_COMMIT);
    out.extend_from_slice(&[0; 7]);
    out.extend_from_slice(&first.to_le_bytes());
    out.extend_from_slice(&last.to_le_bytes());
    let hash = chain_hash(prev, &out[body_start..]);
    out.extend_from_slice(&hash);
    debug_assert_eq!(out.len() - body_start, COMMIT_BODY_BYTES);
    finish_frame(out, start);
    hash
}

/// Fills in the length and checksum of the frame that starts at `start`.
fn finish_frame(out: &mut [u8], start: usize) {
    let body_len = out.len() - start - FRAME_HEADER_BYTES;
    // Callers bound bodies by MAX_BODY_BYTES, so the length fits a u32.
    let len = (body_len as u32).to_le_bytes();
    out[start..start + 4].copy_from_slice(&len);
    let crc = frame_crc(&len, &out[start + FRAME_HEADER_BYTES..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn encode_payload(out: &mut Vec<u8>, data: &EventData) -> Result<(), String> {
    match data {
        EventData::Opened(d) => {
            put_id(out, "customer_id", d.customer_id.as_str())?;
            out.push(d.channel.code());
            out.push(d.tier.code());
            put_opt_text(out, "summary", d.summary.as_deref())?;
        }
        EventData::Classified(d) => {
            out.extend_from_slice(&[d.category.code(), d.topic.code(), d.priority.code()]);
        }
        EventData::Assigned(d) => {
            put_id(out, "agent", d.agent.as_str())?;
            put_opt_id(out, d.team.as_ref())?;
        }
        EventData::Responded | EventData::Closed => {}
        EventData::Escalated(d) => {
            out.push(d.level.get());
            put_opt_id(out, d.team.as_ref())?;
            put_opt_text(out, "reason", d.reason.as_deref())?;
        }
        EventData::Resolved(d) => put_opt_text(out, "resolution", d.resolution.as_deref())?,
        EventData::Reopened(d) => put_opt_text(out, "reason", d.reason.as_deref())?,
        EventData::FollowUpScheduled(d) => {
            put_time(out, "data.due", &d.due)?;
            out.push(d.purpose.code());
            out.push(d.channel.code());
        }
        EventData::FollowUpCompleted(d) => out.push(d.outcome.code()),
        EventData::Surveyed(d) => {
            out.push(d.score.get());
            put_opt_text(out, "comment", d.comment.as_deref())?;
        }
    }
    Ok(())
}

/// Writes a time, refusing what may not be stored: an instant the domain
/// refuses ([`caseledger::check_timestamp`]: leap seconds, years outside
/// 1..=9999), and any parts [`time_from_parts`], the decoder's own check,
/// would refuse. So a record is never written that its reader refuses.
fn put_time(out: &mut Vec<u8>, field: &str, t: &DateTime<Utc>) -> Result<(), String> {
    caseledger::check_timestamp(t).map_err(|e| format!("field `{field}`: {e}"))?;
    let (secs, nanos) = (t.timestamp(), t.timestamp_subsec_nanos());
    time_from_parts(secs, nanos).map_err(|e| format!("field `{field}`: {e}"))?;
    out.extend_from_slice(&secs.to_le_bytes());
    out.extend_from_slice(&nanos.to_le_bytes());
    Ok(())
}

/// The instant of a stored time's parts: whole seconds and a nanosecond
/// count below one second. Any such instant chrono can hold is read, even
/// outside the years new records may hold, so that a store written before
/// that rule (it could hold year 10000) still reads.
fn time_from_parts(secs: i64, nanos: u32) -> Result<DateTime<Utc>, String> {
    if nanos >= 1_000_000_000 {
        return Err(format!("{nanos} nanoseconds; at most 999999999"));
    }
    DateTime::from_timestamp(secs, nanos).ok_or_else(|| format!("{secs} seconds is out of range"))
}

/// Writes an id, refusing what the decoder refuses: the rule stored ids are
/// read by ([`caseledger::check_stored_id`]). An id of at most
/// [`caseledger::MAX_ID_BYTES`] bytes fits the one-byte length.
fn put_id(out: &mut Vec<u8>, field: &'static str, s: &str) -> Result<(), String> {
    caseledger::check_stored_id(field, s).map_err(|e| e.to_string())?;
    // check_stored_id bounds the length by MAX_ID_BYTES < 256.
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_opt_id(out: &mut Vec<u8>, id: Option<&TeamId>) -> Result<(), String> {
    match id {
        None => out.push(0),
        Some(t) => put_id(out, "team", t.as_str())?,
    }
    Ok(())
}

/// Writes an optional text, refusing what the decoder refuses
/// ([`check_text_bytes`]).
fn put_opt_text(out: &mut Vec<u8>, field: &str, s: Option<&str>) -> Result<(), String> {
    match s {
        None => out.push(0),
        Some(s) => {
            check_text_bytes(s.len()).map_err(|e| format!("field `{field}`: {e}"))?;
            out.push(1);
            // check_text_bytes bounds it by MAX_TEXT_BYTES < 65536.
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    Ok(())
}

/// The length rule of a stored text, on both sides of the disk write.
fn check_text_bytes(n: usize) -> Result<(), String> {
    match n <= MAX_TEXT_BYTES {
        true => Ok(()),
        false => Err(format!("a text of {n} bytes; at most {MAX_TEXT_BYTES}")),
    }
}

/// Copies a slice of known length into an array. Callers pass slices whose
/// length they have just checked or sliced to `N`.
fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

/// A bounds-checked cursor over a body.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, at: 0 }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(bad(field, "runs past the end of the record"));
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
            return Err(bad(field, "must be zero"));
        }
        Ok(())
    }

    fn time(&mut self, field: &'static str) -> Result<DateTime<Utc>, DecodeError> {
        let secs = i64::from_le_bytes(array(self.take(8, field)?));
        let nanos = self.u32(field)?;
        time_from_parts(secs, nanos).map_err(|e| bad(field, e))
    }

    fn str(&mut self, n: usize, field: &'static str) -> Result<String, DecodeError> {
        let b = self.take(n, field)?;
        String::from_utf8(b.to_vec()).map_err(|_| bad(field, "not UTF-8"))
    }

    fn id(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let n = usize::from(self.u8(field)?);
        if n == 0 {
            return Err(bad(field, "empty"));
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
            .map_err(|e| bad("team", e.to_string()))
    }

    fn opt_text(&mut self, field: &'static str) -> Result<Option<String>, DecodeError> {
        match self.u8(field)? {
            0 => Ok(None),
            1 => {
                let n = usize::from(self.u16(field)?);
                check_text_bytes(n).map_err(|e| bad(field, e))?;
                self.str(n, field).map(Some)
            }
            other => Err(bad(field, format!("presence flag {other}"))),
        }
    }

    fn vocab<T>(&mut self, field: &'static str, f: fn(u8) -> Option<T>) -> Result<T, DecodeError> {
        let code = self.u8(field)?;
        f(code).ok_or_else(|| bad(field, format!("unknown code {code}")))
    }

    fn end(&self) -> Result<(), DecodeError> {
        if self.at != self.b.len() {
            return Err(bad(
                "record body",
                format!("{} unexpected trailing bytes", self.b.len() - self.at),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let h = SegmentHeader {
            segment: 3,
            first_position: 77,
            prev_hash: [9; 32],
        };
        let b = h.encode();
        assert_eq!(SegmentHeader::decode(&b), Ok(h));
        for i in 0..b.len() * 8 {
            let mut d = b;
            d[i / 8] ^= 1 << (i % 8);
            assert!(SegmentHeader::decode(&d).is_err(), "bit {i}");
        }
    }
}
