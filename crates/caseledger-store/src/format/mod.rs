//! The file store's on-disk format: segment headers, and record frames (a
//! length and a CRC-32C) around the record bodies of `caseledger-codec`.
//!
//! docs/store-format.md specifies every byte; `encode.rs` writes headers and
//! frames, `decode.rs` checks and reads them. Decoding never panics: every
//! length is checked before it is used, and every failure is a
//! [`DecodeError`] that names what was wrong. The record bodies and their
//! hash chain are the codec's, shared with every other backend; they are
//! re-exported here under the paths they had.

mod decode;
mod encode;

pub use caseledger_codec::{
    DecodeError, EncodeError, EventHeader, EventRecord, GENESIS_HASH, HASH_BYTES, Hash,
    MAX_BODY_BYTES, Record, SCHEMA_VERSION, StringPool, chain_hash, decode_body,
    decode_body_pooled, decode_event_header, hashed_part, peek_event_position, peek_event_stream,
    stored_hash,
};
pub use decode::{check_frame_crc, decode_frame, frame_bytes};
pub use encode::{encode_commit, encode_event};

/// The name of the checkpoint file. Here, below the error module that
/// names it in messages, rather than in `checkpoint`, which uses errors.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// The first eight bytes of a segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"CLEDGSEG";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// The size of a segment header in bytes.
pub const SEGMENT_HEADER_BYTES: usize = 64;
/// The size of a record frame's header (length and checksum) in bytes.
pub const FRAME_HEADER_BYTES: usize = 8;
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

/// The CRC-32C of a frame: over its length field, then its body.
fn frame_crc(len: &[u8], body: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(len), body)
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
