//! Writing the framing: a segment's header, and the frame (length and
//! CRC-32C) around each record body the codec encodes.

use caseledger::Event;
use caseledger_codec::{EncodeError, Hash, encode_commit_body, encode_event_body};
use chrono::{DateTime, Utc};

use super::{
    FORMAT_VERSION, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, SegmentHeader,
    frame_crc,
};

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
    match encode_event_body(out, prev, position, version, recorded_at, event) {
        Ok(hash) => {
            finish_frame(out, start);
            Ok(hash)
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Appends the frame of a commit record to `out` and returns its chain hash.
pub fn encode_commit(out: &mut Vec<u8>, prev: &Hash, first: u64, last: u64) -> Hash {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    let hash = encode_commit_body(out, prev, first, last);
    finish_frame(out, start);
    hash
}

/// Fills in the length and checksum of the frame that starts at `start`.
fn finish_frame(out: &mut [u8], start: usize) {
    let body_len = out.len() - start - FRAME_HEADER_BYTES;
    // The codec bounds bodies by MAX_BODY_BYTES, so the length fits a u32.
    let len = (body_len as u32).to_le_bytes();
    out[start..start + 4].copy_from_slice(&len);
    let crc = frame_crc(&len, &out[start + FRAME_HEADER_BYTES..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}
