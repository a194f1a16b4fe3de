//! Feeds arbitrary text to the JSON event parser (one line of `import`):
//! it must never panic, and an event it accepts must survive its own JSON
//! form unchanged (what `export` writes, `import` reads back). Its two
//! passes must agree: serde's `Deserialize` (the fast path) accepts exactly
//! the texts the field-naming explainer accepts, with the same event.
#![no_main]

use caseledger::{DraftEvent, Event, EventId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let typed = serde_json::from_str::<DraftEvent>(text);
    let explained = DraftEvent::explain_json(text);
    match (&typed, &explained) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the two passes read different events: {text}"),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => panic!("serde accepts what the explainer refuses ({e}): {text}"),
        (Err(e), Ok(_)) => panic!("serde refuses ({e}) what the explainer accepts: {text}"),
    }
    let Ok(draft) = DraftEvent::from_json(text) else {
        return;
    };
    let event = draft.into_event(|| EventId::from_u128(1));
    let json = serde_json::to_string(&event).expect("an event serialises");
    let again =
        Event::from_json(&json).unwrap_or_else(|e| panic!("its own JSON is refused: {e}: {json}"));
    assert_eq!(again, event, "the JSON form changes the event: {json}");
});
