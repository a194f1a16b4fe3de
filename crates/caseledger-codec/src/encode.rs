//! Encoding record bodies: an event ([`encode_event_body`]) or the commit
//! that ends a batch ([`encode_commit_body`]). What the decoder would refuse
//! is refused here, so no record is written that its reader refuses.

use caseledger::{Actor, Event, EventData, TeamId};
use chrono::{DateTime, Utc};

use crate::chain::chain_hash;
use crate::{
    COMMIT_BODY_BYTES, EVENT_FIXED_BYTES, EncodeError, HASH_BYTES, Hash, KIND_COMMIT, KIND_EVENT,
    MAX_BODY_BYTES, SCHEMA_VERSION, check_text_bytes, time_from_parts,
};

/// Appends the body of an event record to `out` and returns its chain hash:
/// the record at `position`, version `version` of its stream, recorded at
/// `recorded_at`, chained to `prev`. On error `out` is unchanged.
pub fn encode_event_body(
    out: &mut Vec<u8>,
    prev: &Hash,
    position: u64,
    version: u64,
    recorded_at: &DateTime<Utc>,
    event: &Event,
) -> Result<Hash, EncodeError> {
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
        out.truncate(body_start);
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
    Ok(hash)
}

/// Appends the body of a commit record to `out`, closing the batch of
/// events `first..=last`, and returns its chain hash.
pub fn encode_commit_body(out: &mut Vec<u8>, prev: &Hash, first: u64, last: u64) -> Hash {
    let body_start = out.len();
    out.push(KIND_COMMIT);
    out.extend_from_slice(&[0; 7]);
    out.extend_from_slice(&first.to_le_bytes());
    out.extend_from_slice(&last.to_le_bytes());
    let hash = chain_hash(prev, &out[body_start..]);
    out.extend_from_slice(&hash);
    debug_assert_eq!(out.len() - body_start, COMMIT_BODY_BYTES);
    hash
}

fn encode_payload(out: &mut Vec<u8>, data: &EventData) -> Result<(), String> {
    match data {
        EventData::Opened(d) => {
            put_id(out, "customer_id", d.customer_id.as_str())?;
            out.push(d.channel.code());
            out.push(d.tier.code());
            put_opt_text(out, "summary", d.summary.as_deref())?;
            // Optional trailing byte, written only when not the default
            // (`customer`): a record written before origins existed reads
            // as `customer`, and its bytes (and hash) are what they were.
            if !d.origin.is_customer() {
                out.push(d.origin.code());
            }
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
        EventData::Resolved(d) => {
            put_opt_text(out, "resolution", d.resolution.as_deref())?;
            // Optional trailing byte, written only when given: a record
            // written before root causes existed keeps its bytes.
            if let Some(cause) = d.root_cause {
                out.push(cause.code());
            }
        }
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
            // Optional trailing block of four bytes (speed, problem
            // solving, attitude: the score or 0 for none; via: its code
            // plus 1 or 0 for none), written only when one of them is
            // given: a record written before they existed keeps its bytes.
            if d.has_dimensions() {
                let score = |s: Option<caseledger::Score>| s.map_or(0, caseledger::Score::get);
                out.extend_from_slice(&[
                    score(d.speed),
                    score(d.problem_solving),
                    score(d.attitude),
                    // At most six channels: code + 1 fits a byte.
                    d.via.map_or(0, |v| v.code() + 1),
                ]);
            }
        }
        EventData::AwaitingCustomer(d) => put_opt_text(out, "reason", d.reason.as_deref())?,
        EventData::CustomerReplied => {}
        // The reason is required: written with the presence flag of an
        // optional text (always 1) so that one reader serves all texts.
        EventData::DeadlineExtended(d) => {
            out.push(d.days.get());
            put_id(out, "approved_by", d.approved_by.as_str())?;
            put_opt_text(out, "reason", Some(&d.reason))?;
        }
        EventData::QaReviewed(d) => {
            put_id(out, "reviewer", d.reviewer.as_str())?;
            out.push(d.score.get());
            put_opt_text(out, "notes", d.notes.as_deref())?;
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
    time_from_parts(secs, nanos, crate::time::Slot::Other)
        .map_err(|e| format!("field `{field}`: {e}"))?;
    out.extend_from_slice(&secs.to_le_bytes());
    out.extend_from_slice(&nanos.to_le_bytes());
    Ok(())
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
