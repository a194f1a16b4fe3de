//! Checking and reading the framing: a segment's header and the frame
//! around each record body.

use caseledger_codec::{DecodeError, HASH_BYTES, MAX_BODY_BYTES};

use super::{
    FORMAT_VERSION, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, SegmentHeader,
    frame_crc,
};

impl SegmentHeader {
    /// Decodes and checks a header.
    pub fn decode(b: &[u8]) -> Result<SegmentHeader, DecodeError> {
        if b.len() < SEGMENT_HEADER_BYTES {
            return Err(DecodeError::Incomplete {
                needed: SEGMENT_HEADER_BYTES,
                available: b.len(),
            });
        }
        let stored = u32::from_le_bytes(le(b, 60));
        let computed = crc32c::crc32c(&b[0..60]);
        if b[0..8] != SEGMENT_MAGIC {
            return Err(DecodeError::bad("magic", "not a caseledger segment file"));
        }
        if stored != computed {
            return Err(DecodeError::Checksum { stored, computed });
        }
        let version = u16::from_le_bytes(le(b, 8));
        if version != FORMAT_VERSION {
            return Err(DecodeError::bad(
                "format version",
                format!("{version}; this build reads version {FORMAT_VERSION}"),
            ));
        }
        let len = u16::from_le_bytes(le(b, 10));
        if usize::from(len) != SEGMENT_HEADER_BYTES {
            return Err(DecodeError::bad("header length", len.to_string()));
        }
        let segment = u32::from_le_bytes(le(b, 12));
        let first_position = u64::from_le_bytes(le(b, 16));
        let prev_hash = le::<HASH_BYTES>(b, 24);
        if b[56..60].iter().any(|&x| x != 0) {
            return Err(DecodeError::bad(
                "segment header reserved bytes",
                "must be zero",
            ));
        }
        if segment == 0 || first_position == 0 {
            return Err(DecodeError::bad(
                "segment header",
                "segment and position count from 1",
            ));
        }
        Ok(SegmentHeader {
            segment,
            first_position,
            prev_hash,
        })
    }
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
    let len = u32::from_le_bytes(le(b, 0)) as usize;
    if len == 0 || len > MAX_BODY_BYTES {
        return Err(DecodeError::bad(
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
    let stored = u32::from_le_bytes(le(frame, 4));
    let computed = frame_crc(&frame[0..4], &frame[FRAME_HEADER_BYTES..]);
    if stored != computed {
        return Err(DecodeError::Checksum { stored, computed });
    }
    Ok(())
}

/// The `N` bytes of `b` at `at` (a little-endian field). Callers pass
/// offsets inside bytes whose length they have checked.
fn le<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut field = [0u8; N];
    field.copy_from_slice(&b[at..at + N]);
    field
}
