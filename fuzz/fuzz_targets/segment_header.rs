//! Feeds segment headers to the decoder, with their CRC fixed up (when the
//! input is long enough) so that the checks after it are reached: no panic,
//! and a header it accepts encodes back to the same bytes.
#![no_main]

use caseledger_store::fuzzing::{SEGMENT_HEADER_BYTES, SegmentHeader};
use libfuzzer_sys::fuzz_target;

/// Where the header's CRC-32C starts (it covers the bytes before it).
const CRC_AT: usize = SEGMENT_HEADER_BYTES - 4;

fuzz_target!(|data: &[u8]| {
    let _ = SegmentHeader::decode(data);
    if data.len() < SEGMENT_HEADER_BYTES {
        return;
    }
    let mut header = data[..SEGMENT_HEADER_BYTES].to_vec();
    let crc = crc32c::crc32c(&header[..CRC_AT]);
    header[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
    if let Ok(h) = SegmentHeader::decode(&header) {
        assert_eq!(
            h.encode().as_slice(),
            header.as_slice(),
            "a valid header has one encoding"
        );
    }
});
