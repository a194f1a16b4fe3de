//! Feeds arbitrary text to the JSON event parser (one line of `import`):
//! it must never panic, and an event it accepts must survive its own JSON
//! form unchanged (what `export` writes, `import` reads back).
#![no_main]

use caseledger::{DraftEvent, Event, EventId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(draft) = DraftEvent::from_json(text) else {
        return;
    };
    let event = draft.into_event(|| EventId::from_u128(1));
    let json = serde_json::to_string(&event).expect("an event serialises");
    let again =
        Event::from_json(&json).unwrap_or_else(|e| panic!("its own JSON is refused: {e}: {json}"));
    assert_eq!(again, event, "the JSON form changes the event: {json}");
});
