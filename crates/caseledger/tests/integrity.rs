//! Input that once bricked a store or split one customer in two is refused
//! at the door (issue 11): leap seconds and years outside 0001..=9999 in every
//! timestamp field, duplicate JSON keys, invisible or direction-changing
//! characters in ids. (That every log refuses such events alike is a case
//! of the append contract, in `caseledger-testkit`.)
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use caseledger::*;
use chrono::{DateTime, NaiveDate, Utc};
use common::*;

const CASE_ID: &str = "0192f5c4-0000-7000-8000-000000000001";

fn opened_line(at: &str) -> String {
    format!(
        r#"{{"case_id":"{CASE_ID}","type":"opened","at":"{at}","actor":"agent-17","data":{{"customer_id":"C-1001","channel":"phone"}}}}"#
    )
}

fn parse_err(line: &str) -> String {
    DraftEvent::from_json(line).unwrap_err().to_string()
}

/// 2016-12-31T23:59:59 plus `nanos` nanoseconds (>= 1e9: chrono's leap
/// second representation).
fn leap(nanos: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2016, 12, 31)
        .unwrap()
        .and_hms_nano_opt(23, 59, 59, nanos)
        .unwrap()
        .and_utc()
}

#[test]
fn a_leap_second_is_refused_in_every_timestamp_field_naming_it() {
    for at in ["2016-12-31T23:59:60Z", "2026-03-02T09:15:60Z"] {
        let err = parse_err(&opened_line(at));
        assert!(err.contains("field `at`"), "{err}");
        assert!(err.contains("leap second"), "{err}");
        assert!(err.contains("use :59 or the next minute"), "{err}");
    }
    let due = format!(
        r#"{{"case_id":"{CASE_ID}","type":"follow_up_scheduled","at":"2026-03-02T09:15:00Z","actor":"system","data":{{"due":"2026-03-09T09:15:60+08:00","purpose":"feedback","channel":"phone"}}}}"#
    );
    let err = parse_err(&due);
    assert!(
        err.contains("field `data.due`") && err.contains("leap second"),
        "{err}"
    );
    let recorded = format!(
        r#"{{"case_id":"{CASE_ID}","type":"responded","at":"2026-03-02T09:15:00Z","actor":"agent-1","data":{{}},"recorded_at":"2016-12-31T23:59:60Z"}}"#
    );
    let err = parse_err(&recorded);
    assert!(
        err.contains("field `recorded_at`") && err.contains("leap second"),
        "{err}"
    );
    let err = parse_timestamp("2016-12-31T23:59:60Z").unwrap_err();
    // A kind to match, with today's words.
    assert!(
        matches!(
            &err,
            TimestampParseError::Unstorable {
                source: TimestampError::LeapSecond(_),
                written_otherwise: None,
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("leap second"), "{err}");
    let err = parse_timestamp("2026-03-02 09:15").unwrap_err();
    assert!(
        matches!(&err, TimestampParseError::NotRfc3339 { input, .. } if input == "2026-03-02 09:15"),
        "{err:?}"
    );
}

#[test]
fn timestamps_outside_years_1_to_9999_are_refused_even_through_an_offset() {
    // Each is a valid RFC 3339 text whose UTC instant leaves the range.
    for at in ["9999-12-31T23:30:00-01:00", "0001-01-01T00:30:00+01:00"] {
        let err = parse_err(&opened_line(at));
        assert!(err.contains("field `at`"), "{err}");
        assert!(
            err.contains("0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z"),
            "{err}"
        );
    }
    // The ends themselves are storable.
    for at in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"] {
        DraftEvent::from_json(&opened_line(at)).unwrap();
    }
}

#[test]
fn check_timestamp_is_the_one_rule() {
    assert!(check_timestamp(&t(0)).is_ok());
    assert!(check_timestamp(&leap(1_000_000_000)).is_err());
    assert!(check_timestamp(&leap(999_999_999)).is_ok());
    let year_10000 = NaiveDate::from_ymd_opt(10_000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    assert!(check_timestamp(&year_10000).is_err());
    assert_eq!(check_timestamp(&MAX_TIMESTAMP), Ok(()));
    assert_eq!(check_timestamp(&MIN_TIMESTAMP), Ok(()));
    assert!(check_timestamp(&(MAX_TIMESTAMP + chrono::Duration::nanoseconds(1))).is_err());
    assert!(check_timestamp(&(MIN_TIMESTAMP - chrono::Duration::nanoseconds(1))).is_err());
}

/// Characters that make one id look like another: invisible, direction
/// changing, separators, white space, controls.
const LOOKALIKE: &[char] = &[
    '\u{200B}',
    '\u{200D}',
    '\u{202E}',
    '\u{2066}',
    '\u{FEFF}',
    '\u{2060}',
    '\u{2064}',
    '\u{00AD}',
    '\u{061C}',
    '\u{E0041}',
    '\u{2028}',
    '\u{2029}',
    '\u{00A0}',
    '\u{3000}',
    '\t',
    '\u{0007}',
    '\u{0085}',
    '\u{3164}',
    '\u{115F}',
    '\u{FFA0}',
    '\u{034F}',
    '\u{2800}',
    '\u{FE0F}',
    '\u{E0100}',
];

#[test]
fn ids_refuse_invisible_and_direction_changing_characters() {
    for &c in LOOKALIKE {
        let id = format!("C-1001{c}");
        let err = CustomerId::new(id.clone()).unwrap_err();
        assert!(
            err.to_string().contains(&format!("U+{:04X}", u32::from(c))),
            "{err}"
        );
        assert!(AgentId::new(id.clone()).is_err(), "{c:?}");
        assert!(TeamId::new(id.clone()).is_err(), "{c:?}");
        assert!(Actor::parse(&id).is_err(), "{c:?}");
        let line = line_with_customer(&id).unwrap();
        let err = parse_err(&line);
        assert!(err.contains("field `data.customer_id`"), "{err}");
    }
    // Visible non-ASCII letters are still fine.
    CustomerId::new("客户-1001").unwrap();
    AgentId::new("agent-Zoë").unwrap();
    CustomerId::new("고객-1001").unwrap();
}

/// An `opened` line whose customer id is `id`, JSON-escaped by serde_json.
fn line_with_customer(id: &str) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_str(&format!(
        r#"{{"case_id":"{CASE_ID}","type":"opened","at":"2026-03-02T09:15:00Z","actor":"agent-17","data":{{"customer_id":"x","channel":"phone"}}}}"#
    ))
    .ok()?;
    v["data"]["customer_id"] = serde_json::Value::String(id.to_owned());
    serde_json::to_string(&v).ok()
}

#[test]
fn stored_ids_keep_the_older_rule_but_appends_check_the_new_one() {
    // Read back from a store written before the rule: accepted.
    let stored = CustomerId::from_stored("C-1001\u{200B}").unwrap();
    assert_eq!(stored.as_str(), "C-1001\u{200B}");
    // White space and controls were never allowed.
    assert!(CustomerId::from_stored("C 1001").is_err());
    assert!(AgentId::from_stored("agent\u{0007}").is_err());
    // An append of new input checks the new rule, in every log.
    let log = InMemoryEventLog::new();
    let e = Event {
        event_id: EventId::from_u128(9),
        case_id: CASE,
        at: t(0),
        actor: agent("agent-17"),
        data: EventData::Opened(Opened {
            customer_id: stored,
            ..opened()
        }),
    };
    let err = log
        .append(CASE, ExpectedVersion::NoStream, &[e])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data.customer_id") && err.contains("U+200B"),
        "{err}"
    );
    let e = Event {
        event_id: EventId::from_u128(10),
        case_id: CASE,
        at: t(0),
        actor: Actor::Agent(AgentId::from_stored("agent\u{202E}").unwrap()),
        data: EventData::Responded,
    };
    let err = log
        .append(CASE, ExpectedVersion::Any, &[e])
        .unwrap_err()
        .to_string();
    assert!(err.contains("`actor`") && err.contains("U+202E"), "{err}");
    assert!(log.is_empty());
}

#[test]
fn a_field_given_twice_is_refused_by_its_path() {
    let customer_twice = format!(
        r#"{{"case_id":"{CASE_ID}","type":"opened","at":"2026-03-02T09:15:00Z","actor":"agent-17","data":{{"customer_id":"C-1","channel":"phone","customer_id":"C-2"}}}}"#
    );
    assert_eq!(
        parse_err(&customer_twice),
        "field `data.customer_id` is given twice; each field may appear once"
    );
    let type_twice = format!(
        r#"{{"case_id":"{CASE_ID}","type":"opened","at":"2026-03-02T09:15:00Z","actor":"agent-17","type":"responded","data":{{"customer_id":"C-1","channel":"phone"}}}}"#
    );
    assert_eq!(
        parse_err(&type_twice),
        "field `type` is given twice; each field may appear once"
    );
    // The same key in two different objects is no repeat.
    let line = format!(
        r#"{{"case_id":"{CASE_ID}","type":"assigned","at":"2026-03-02T09:15:00Z","actor":"agent-17","data":{{"agent":"agent-17","team":"cards"}}}}"#
    );
    DraftEvent::from_json(&line).unwrap();
}

#[test]
fn a_syntax_error_in_one_line_names_the_column_not_line_one() {
    let err = parse_err("{\"case_id\": ");
    assert_eq!(err, "invalid JSON: EOF while parsing a value at column 12");
    // A kind and a place to match, not only words.
    match DraftEvent::from_json("{\"case_id\": ") {
        Err(ParseError::Syntax(e)) => {
            assert_eq!((e.kind, e.line, e.column), (SyntaxErrorKind::Eof, 1, 12));
        }
        other => panic!("{other:?}"),
    }
    match DraftEvent::from_json("{\"case_id\" 1}") {
        Err(ParseError::Syntax(e)) => assert_eq!(e.kind, SyntaxErrorKind::Syntax),
        other => panic!("{other:?}"),
    }
    let err = parse_err("\u{FEFF}{}");
    assert!(!err.contains("line 1"), "{err}");
    assert!(err.contains("at column 1"), "{err}");
    // A text of several lines keeps serde_json's line.
    let err = parse_err("{\n\"case_id\": ");
    assert!(err.contains("at line 2 column"), "{err}");
}

/// An `assigned` line to `agent` (and `team`), JSON-escaped by serde_json.
fn assigned_line(actor: &str, agent: &str, team: &str) -> String {
    serde_json::json!({
        "case_id": CASE_ID, "type": "assigned", "at": "2026-03-02T09:15:00Z",
        "actor": actor, "data": {"agent": agent, "team": team},
    })
    .to_string()
}

#[test]
fn agent_and_team_ids_may_not_be_the_reports_and_actors_words() {
    // An agent "unassigned" would be merged with the report's group of
    // cases without an agent; "system" and "customer" are the other actors;
    // "all" is the tables' total row.
    for word in ["system", "customer", "unassigned", "all"] {
        let err = AgentId::new(word).unwrap_err();
        assert_eq!(
            err,
            TextError::Reserved {
                what: "agent",
                word: RESERVED_AGENT_IDS.iter().find(|&&w| w == word).unwrap()
            }
        );
        let err = parse_err(&assigned_line("agent-1", word, "team-a"));
        assert!(
            err.contains("field `data.agent`") && err.contains(&format!("`{word}`")),
            "{err}"
        );
    }
    for word in ["unassigned", "all"] {
        assert!(matches!(
            TeamId::new(word),
            Err(TextError::Reserved { what: "team", .. })
        ));
        let err = parse_err(&assigned_line("agent-1", "agent-2", word));
        assert!(err.contains("field `data.team`"), "{err}");
        // An agent actor may not be one either; "system" and "customer" are
        // the actors themselves.
        let err = parse_err(&assigned_line(word, "agent-2", "team-a"));
        assert!(err.contains("field `actor`"), "{err}");
    }
    assert_eq!(Actor::parse("system").unwrap(), Actor::System);
    // Only the exact words: ids that merely contain or resemble them are fine.
    for fine in [
        "Unassigned",
        "unassigned-desk",
        "all-hands",
        "systems",
        "customer-care",
    ] {
        AgentId::new(fine).unwrap();
        TeamId::new(fine).unwrap();
    }
    // Customers have no reserved words.
    CustomerId::new("all").unwrap();
    // A store written before the words were reserved still reads them...
    let stored = AgentId::from_stored("unassigned").unwrap();
    // ...but no log appends a new event with one.
    let log = InMemoryEventLog::new();
    let e = Event {
        event_id: EventId::from_u128(11),
        case_id: CASE,
        at: t(0),
        actor: agent("agent-17"),
        data: EventData::Assigned(Assigned {
            agent: stored,
            team: Some(TeamId::from_stored("all").unwrap()),
        }),
    };
    let err = log
        .append(CASE, ExpectedVersion::Any, &[e])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data.agent") && err.contains("`unassigned`"),
        "{err}"
    );
    assert!(log.is_empty());
}
