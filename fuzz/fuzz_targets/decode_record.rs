//! Feeds arbitrary bytes to the frame and record decoders: they must return
//! errors, never panic or allocate without bound; and a record they accept
//! must be the one encoding of what they decoded (the encoder writes the
//! same bytes back), so the format has no second spelling of a record.
#![no_main]

use caseledger_store::fuzzing::{
    FRAME_HEADER_BYTES, decode_body, decode_frame, hashed_part, reencode,
};
use libfuzzer_sys::fuzz_target;

fn check_body(body: &[u8]) {
    let Ok(record) = decode_body(body) else {
        return;
    };
    match reencode(&record) {
        Ok(again) => assert_eq!(
            again,
            hashed_part(body),
            "the record decodes to {record:?}, which encodes differently"
        ),
        Err(e) => panic!("the decoder accepts a record the encoder refuses: {e}: {record:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    check_body(data);
    let mut rest = data;
    while let Ok(body) = decode_frame(rest) {
        check_body(body);
        rest = &rest[FRAME_HEADER_BYTES + body.len()..];
    }
});
