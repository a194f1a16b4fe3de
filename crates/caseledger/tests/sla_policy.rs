//! `SlaPolicy::from_json` refuses with a kind to match, keeping the JSON
//! parser's error (or the target's problem) as the source, and today's words.

use std::error::Error as _;

use caseledger::Priority;
use caseledger::kpi::{SlaPolicy, SlaPolicyError, SlaTargetError};

const TARGET: &str = r#"{"response_s": 1, "resolution_s": 2}"#;

fn policy_without(priority: &str, high: &str) -> String {
    let mut parts = Vec::new();
    for p in ["low", "normal", "high", "urgent"] {
        if p == priority {
            continue;
        }
        let target = if p == "high" { high } else { TARGET };
        parts.push(format!("\"{p}\": {target}"));
    }
    format!("{{{}}}", parts.join(", "))
}

#[test]
fn text_that_is_not_json_keeps_the_parsers_error() {
    let err = SlaPolicy::from_json("{nope").unwrap_err();
    assert!(matches!(err, SlaPolicyError::NotJson(_)), "{err}");
    let json = err
        .source()
        .and_then(|s| s.downcast_ref::<serde_json::Error>())
        .expect("the serde_json error is the source");
    assert_eq!(err.to_string(), format!("not valid JSON: {json}"));
}

#[test]
fn each_refusal_is_a_kind_with_the_same_words() {
    let err = SlaPolicy::from_json("[1]").unwrap_err();
    assert!(matches!(err, SlaPolicyError::NotAnObject { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        r#"expected an object with a target for each priority (low, normal, high, urgent), like {"high": {"response_s": 14400, "resolution_s": 259200}}, found `[1]`"#
    );

    let err = SlaPolicy::from_json(r#"{"hgih": {}}"#).unwrap_err();
    assert!(
        matches!(&err, SlaPolicyError::UnknownPriority { name } if name == "hgih"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "unknown priority `hgih`: the priorities are low, normal, high, urgent"
    );

    let err = SlaPolicy::from_json(&policy_without("urgent", TARGET)).unwrap_err();
    assert!(
        matches!(
            err,
            SlaPolicyError::MissingPriority {
                priority: Priority::Urgent
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        r#"priority `urgent` is missing: every priority needs a target, like "urgent": {"response_s": 14400, "resolution_s": 259200}"#
    );
}

#[test]
fn a_bad_target_names_its_priority_and_keeps_the_problem_as_source() {
    let err = SlaPolicy::from_json(&policy_without("", r#"{"response_s": 1}"#)).unwrap_err();
    let SlaPolicyError::BadTarget { priority, problem } = &err else {
        panic!("not BadTarget: {err}");
    };
    assert_eq!(*priority, Priority::High);
    assert_eq!(
        *problem,
        SlaTargetError::Missing {
            field: "resolution_s"
        }
    );
    let source = err
        .source()
        .and_then(|s| s.downcast_ref::<SlaTargetError>());
    assert_eq!(source, Some(problem));
    assert_eq!(
        err.to_string(),
        r#"priority `high`: `resolution_s` is missing; expected a target like {"response_s": 14400, "resolution_s": 259200} (whole seconds above 0)"#
    );

    let err = SlaPolicy::from_json(&policy_without(
        "",
        r#"{"response_s": 0, "resolution_s": 2}"#,
    ))
    .unwrap_err();
    assert!(
        matches!(
            &err,
            SlaPolicyError::BadTarget {
                problem: SlaTargetError::NotPositiveSeconds { field: "response_s", found },
                ..
            } if found == "`0`"
        ),
        "{err}"
    );
}

#[test]
fn a_key_given_twice_is_refused_by_its_path() {
    let refused = |json: &str| match SlaPolicy::from_json(json) {
        Err(SlaPolicyError::DuplicateKey { key }) => key,
        other => panic!("{json}: expected a duplicate key, got {other:?}"),
    };
    assert_eq!(
        refused(
            r#"{"priorities": {"normal": {"response_s": 14400, "resolution_s": 259200, "response_s": 1}}}"#
        ),
        "priorities.normal.response_s"
    );
    // The first form, and a calendar inside the policy.
    assert_eq!(
        refused(&format!(
            r#"{{"low": {TARGET}, "normal": {TARGET}, "high": {TARGET}, "urgent": {TARGET}, "high": {TARGET}}}"#
        )),
        "high"
    );
    assert_eq!(
        refused(
            r#"{"priorities": {"normal": {"response_s": 1, "resolution_s": 2}}, "calendar": {"time_zone": "UTC", "week": {}, "week": {}}}"#
        ),
        "calendar.week"
    );
    let text = r#"{"priorities": {"normal": {"response_s": 14400, "resolution_s": 259200, "response_s": 1}}}"#;
    let err = SlaPolicy::from_json(text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`priorities.normal.response_s` is given twice; each key may appear once"
    );
    // serde's Deserialize refuses it by the same rule.
    let serde_err = serde_json::from_str::<SlaPolicy>(text).unwrap_err();
    assert!(
        serde_err
            .to_string()
            .starts_with("`priorities.normal.response_s` is given twice"),
        "{serde_err}"
    );
}
