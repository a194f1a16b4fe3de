//! Near-valid events for the JSON event parser: one of the valid events of
//! docs/events.md (one or more per type) with a few edits (a field removed,
//! renamed, added, or given a value of another JSON type or a near-miss
//! value). The parser must never panic; it either accepts the event (which
//! must then survive its own JSON form) or refuses it with an error that
//! names a field, as an import's error report promises. Its two passes
//! must agree: serde's `Deserialize` (the fast path) accepts exactly the
//! lines the field-naming explainer accepts, with the same event.
#![no_main]

use arbitrary::Arbitrary;
use caseledger::{DraftEvent, Event, EventId, ParseError};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// One valid event of each type (the JSON snapshot of the domain's tests).
const TEMPLATES: &[&str] = &[
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"opened","at":"2026-03-02T09:00:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-000000000001","data":{"customer_id":"C-1001","channel":"phone","tier":"vip","summary":"card blocked abroad"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"classified","at":"2026-03-02T09:01:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-000000000002","data":{"category":"complaint","topic":"card","priority":"high"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"assigned","at":"2026-03-02T09:02:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-000000000003","data":{"agent":"agent-7","team":"cards"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"responded","at":"2026-03-02T09:03:00Z","actor":"customer","event_id":"00000000-0000-0000-0000-000000000004","data":{}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"escalated","at":"2026-03-02T09:04:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-000000000005","data":{"level":2,"team":"complaints","reason":"customer asked for a manager"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"resolved","at":"2026-03-02T09:05:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-000000000006","data":{"resolution":"fee refunded"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"reopened","at":"2026-03-02T09:06:00Z","actor":"system","event_id":"00000000-0000-0000-0000-000000000007","data":{"reason":"refund not received"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"follow_up_scheduled","at":"2026-03-02T09:07:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-000000000008","data":{"due":"2026-03-07T09:00:00Z","purpose":"problem_check","channel":"phone"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"follow_up_completed","at":"2026-03-02T09:08:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-000000000009","data":{"outcome":"not_resolved"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"surveyed","at":"2026-03-02T09:09:00Z","actor":"customer","event_id":"00000000-0000-0000-0000-00000000000a","data":{"score":4,"comment":"quick, thanks"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"closed","at":"2026-03-02T09:10:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-00000000000b","data":{},"position":11,"recorded_at":"2026-03-02T09:10:01Z"}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"awaiting_customer","at":"2026-03-02T09:11:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-00000000000c","data":{"reason":"waiting for the card statement"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"customer_replied","at":"2026-03-02T09:12:00Z","actor":"customer","event_id":"00000000-0000-0000-0000-00000000000d","data":{}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"deadline_extended","at":"2026-03-02T09:13:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-00000000000e","data":{"days":35,"approved_by":"agent-9","reason":"exceptional situation"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"qa_reviewed","at":"2026-03-02T09:14:00Z","actor":"agent-9","event_id":"00000000-0000-0000-0000-00000000000f","data":{"reviewer":"agent-9","score":87,"notes":"clear answer"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"opened","at":"2026-03-02T09:15:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-000000000010","data":{"customer_id":"C-1001","channel":"phone","tier":"vip","summary":"card blocked abroad","origin":"bank"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"resolved","at":"2026-03-02T09:16:00Z","actor":"agent-1","event_id":"00000000-0000-0000-0000-000000000011","data":{"resolution":"fee refunded","root_cause":"process_gap"}}"#,
    r#"{"case_id":"00000000-0000-0000-0000-000000c0ffee","type":"surveyed","at":"2026-03-02T09:17:00Z","actor":"customer","event_id":"00000000-0000-0000-0000-000000000012","data":{"score":4,"speed":5,"problem_solving":3,"attitude":4,"via":"sms"}}"#,
];

/// Field names of the envelope and of every event type's data: the
/// library's own list, so that a field added to the format is both fuzzed
/// and known to the assertions below (a list kept here went stale once and
/// failed CI on `data.speed`, a field of `surveyed`).
fn names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| DraftEvent::field_names().collect())
}

/// Values that are valid somewhere, or nearly so.
const NEAR: &[&str] = &[
    "phone",
    "email",
    "vip",
    "at_risk",
    "complaint",
    "card",
    "urgent",
    "agent-7",
    "C-1001",
    "system",
    "customer",
    "agent",
    "feedback",
    "confirmed",
    "opened",
    "closed",
    "awaiting_customer",
    "follow_up",
    "2026-03-02T09:00:00Z",
    "2026-03-02T09:00:00.123456789+01:00",
    "2026-02-30T09:00:00Z",
    "2026-03-02 09:00:00",
    "+275760-09-13T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "00000000-0000-0000-0000-000000c0ffee",
    "00000000-0000-0000-0000-000000000000",
    "0000000000000000000000000000c0ffee",
    "",
    " ",
    "agent 7",
    "agent-\u{7f}",
    "\u{0}",
    "Phone",
    "PHONE",
];

/// At most this many edits per input: a few keep the event near-valid.
const MAX_EDITS: usize = 4;

#[derive(Arbitrary, Debug)]
struct Input {
    template: u8,
    edits: Vec<Edit>,
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Remove {
        in_data: bool,
        field: u8,
    },
    Replace {
        in_data: bool,
        field: u8,
        value: Val,
    },
    Add {
        in_data: bool,
        name: Name,
        value: Val,
    },
    Rename {
        in_data: bool,
        field: u8,
        name: Name,
    },
}

#[derive(Arbitrary, Debug)]
enum Name {
    Known(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Unsigned(u64),
    Float(f64),
    Near(u8),
    Text(String),
    Long(u16),
    Array(Vec<u8>),
    Object,
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Known(i) => names()[usize::from(*i) % names().len()].to_owned(),
            Name::Other(s) => s.clone(),
        }
    }
}

impl Val {
    fn json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(i) => Value::from(*i),
            Val::Unsigned(u) => Value::from(*u),
            // serde_json has no NaN or infinity: those become null.
            Val::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Val::Near(i) => Value::from(NEAR[usize::from(*i) % NEAR.len()]),
            Val::Text(s) => Value::from(s.as_str()),
            Val::Long(n) => Value::from("x".repeat(usize::from(*n))),
            Val::Array(v) => Value::from(v.iter().map(|&b| Value::from(b)).collect::<Vec<_>>()),
            Val::Object => Value::Object(Map::new()),
        }
    }
}

/// The object an edit works on: the envelope, or its `data` when that is
/// still an object.
fn target(event: &mut Map<String, Value>, in_data: bool) -> &mut Map<String, Value> {
    if in_data && matches!(event.get("data"), Some(Value::Object(_))) {
        match event.get_mut("data") {
            Some(Value::Object(data)) => data,
            _ => unreachable!("checked just above"),
        }
    } else {
        event
    }
}

/// The name of the `i`-th field of `map` (any, if `i` is out of range).
fn nth_key(map: &Map<String, Value>, i: u8) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    map.keys().nth(usize::from(i) % map.len()).cloned()
}

fuzz_target!(|input: Input| {
    let template = TEMPLATES[usize::from(input.template) % TEMPLATES.len()];
    let Ok(Value::Object(mut event)) = serde_json::from_str::<Value>(template) else {
        panic!("a template is not a JSON object");
    };
    for edit in input.edits.iter().take(MAX_EDITS) {
        match edit {
            Edit::Remove { in_data, field } => {
                let map = target(&mut event, *in_data);
                if let Some(k) = nth_key(map, *field) {
                    map.remove(&k);
                }
            }
            Edit::Replace {
                in_data,
                field,
                value,
            } => {
                let map = target(&mut event, *in_data);
                if let Some(k) = nth_key(map, *field) {
                    map.insert(k, value.json());
                }
            }
            Edit::Add {
                in_data,
                name,
                value,
            } => {
                target(&mut event, *in_data).insert(name.text(), value.json());
            }
            Edit::Rename {
                in_data,
                field,
                name,
            } => {
                let map = target(&mut event, *in_data);
                if let Some(k) = nth_key(map, *field) {
                    if let Some(v) = map.remove(&k) {
                        map.insert(name.text(), v);
                    }
                }
            }
        }
    }
    // The fields an error may name as unknown: the keys as sent.
    let mut keys: Vec<String> = event.keys().cloned().collect();
    if let Some(Value::Object(data)) = event.get("data") {
        keys.extend(data.keys().map(|k| format!("data.{k}")));
    }
    let text = Value::Object(event).to_string();
    let typed = serde_json::from_str::<DraftEvent>(&text);
    let explained = DraftEvent::explain_json(&text);
    match (&typed, &explained) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the two passes read different events: {text}"),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => panic!("serde accepts what the explainer refuses ({e}): {text}"),
        (Err(e), Ok(_)) => panic!("serde refuses ({e}) what the explainer accepts: {text}"),
    }
    match DraftEvent::from_json(&text) {
        Ok(draft) => {
            let event = draft.into_event(|| EventId::from_u128(1));
            let json = serde_json::to_string(&event).expect("an event serialises");
            let again = Event::from_json(&json)
                .unwrap_or_else(|e| panic!("its own JSON is refused: {e}: {json}"));
            assert_eq!(again, event, "the JSON form changes the event: {json}");
        }
        Err(e) => {
            // A field the event has (or must have), by its path.
            let known = |f: &str| names().contains(&f.strip_prefix("data.").unwrap_or(f));
            let field = match &e {
                ParseError::UnknownField { field, .. } | ParseError::DuplicateField { field } => {
                    assert!(keys.contains(field), "field {field:?} is not in {text}");
                    field
                }
                ParseError::Missing { field }
                | ParseError::WrongType { field, .. }
                | ParseError::Invalid { field, .. } => {
                    assert!(known(field), "{e} names no field of the format: {text}");
                    field
                }
                other => panic!("a JSON object is refused without naming a field: {other}: {text}"),
            };
            assert!(
                e.to_string().contains(&format!("`{field}`")),
                "the message does not name the field {field}: {e}"
            );
        }
    }
});
