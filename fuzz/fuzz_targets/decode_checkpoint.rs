//! Feeds checkpoint slots to the decoder, with their CRC fixed up (when the
//! input is long enough) so that the checks after it are reached: no panic,
//! and a slot it accepts encodes back to the same bytes (reserved bytes
//! zero, one encoding per checkpoint).
#![no_main]

use caseledger_store::fuzzing::{CHECKPOINT_SLOT_BYTES, checkpoint_slot_round_trip};
use libfuzzer_sys::fuzz_target;

/// Where a slot's CRC-32C starts (it covers the bytes before it).
const CRC_AT: usize = CHECKPOINT_SLOT_BYTES - 4;

fuzz_target!(|data: &[u8]| {
    let _ = checkpoint_slot_round_trip(data);
    if data.len() < CHECKPOINT_SLOT_BYTES {
        return;
    }
    let mut slot = data[..CHECKPOINT_SLOT_BYTES].to_vec();
    let crc = crc32c::crc32c(&slot[..CRC_AT]);
    slot[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
    if let Some(again) = checkpoint_slot_round_trip(&slot) {
        assert_eq!(
            again.as_slice(),
            slot.as_slice(),
            "a valid slot has one encoding"
        );
    }
});
