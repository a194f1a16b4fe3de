//! Feeds arbitrary bytes to the segment header, frame and body decoders:
//! they must return errors, never panic or allocate without bound.
#![no_main]

use caseledger_store::format::{
    FRAME_HEADER_BYTES, SegmentHeader, decode_body, decode_frame,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = SegmentHeader::decode(data);
    let _ = decode_body(data);
    let mut rest = data;
    while let Ok(body) = decode_frame(rest) {
        let _ = decode_body(body);
        rest = &rest[FRAME_HEADER_BYTES + body.len()..];
    }
});
