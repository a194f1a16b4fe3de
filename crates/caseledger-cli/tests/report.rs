//! Snapshots of every output over a fixed generated store.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

fn snapshot_of(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let case = first_case(dir.path());
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "CASE" { case.as_str() } else { a })
        .collect();
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn report_table() {
    insta::assert_snapshot!(snapshot_of(&["report", "--group-by", "month"]));
}

#[test]
fn report_table_wide() {
    insta::assert_snapshot!(snapshot_of(&["report", "--group-by", "month", "--wide"]));
}

#[test]
fn report_csv() {
    insta::assert_snapshot!(snapshot_of(&[
        "report",
        "--group-by",
        "category",
        "--format",
        "csv"
    ]));
}

#[test]
fn report_json() {
    let out = snapshot_of(&[
        "report",
        "--group-by",
        "channel",
        "--format",
        "json",
        "--as-of",
        "2026-03-01",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    // serde_json sorts the keys it parses; the documented set is all there.
    assert_eq!(
        keys,
        [
            "as_of",
            "events",
            "from",
            "group_by",
            "groups",
            "head",
            "head_verified",
            "overall",
            "schema_version",
            "to"
        ]
    );
    insta::assert_snapshot!(out);
}

#[test]
fn report_is_byte_identical_across_runs_and_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let args = ["report", "--group-by", "agent", "--format", "json"];
    let (_, one, _) = run(dir.path(), &[&args[..], &["--threads", "1"]].concat());
    let (_, three, _) = run(dir.path(), &[&args[..], &["--threads", "3"]].concat());
    let (_, again, _) = run(dir.path(), &args);
    assert_eq!(one, three);
    assert_eq!(one, again);
}

#[test]
fn a_long_tailed_report_is_the_same_on_any_number_of_threads() {
    // One customer with a quarter of the cases: the report's cross-case
    // work splits by customer, the rest by case.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        dir.path(),
        &["generate", "--cases", "3000", "--customers", "long-tail"],
    );
    assert_eq!(code, 0, "{err}");
    for group in ["topic", "agent", "month"] {
        let args = ["report", "--group-by", group, "--format", "json"];
        let (_, one, _) = run(dir.path(), &[&args[..], &["--threads", "1"]].concat());
        assert!(one.contains("\"repeat_rate\""), "{one}");
        for threads in ["2", "3", "8"] {
            let (_, more, _) = run(dir.path(), &[&args[..], &["--threads", threads]].concat());
            assert_eq!(one, more, "--group-by {group}, {threads} threads");
        }
    }
}

#[test]
fn history_table() {
    insta::assert_snapshot!(snapshot_of(&["history", "CASE"]));
}

#[test]
fn history_json() {
    insta::assert_snapshot!(snapshot_of(&["history", "CASE", "--format", "json"]));
}

#[test]
fn verify_output() {
    insta::assert_snapshot!(snapshot_of(&["verify"]));
}

#[test]
fn sla_policy_file_changes_the_sla_figures() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let policy = dir.path().join("strict.json");
    let target = r#"{"response_s": 60, "resolution_s": 600}"#;
    std::fs::write(
        &policy,
        format!(r#"{{"low": {target}, "normal": {target}, "high": {target}, "urgent": {target}}}"#),
    )
    .unwrap();
    let sla = |args: &[&str]| {
        let (code, out, err) = run(dir.path(), args);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["overall"]["sla"]["rate"].as_f64().unwrap()
    };
    let default = sla(&["report", "--format", "json"]);
    let strict = sla(&[
        "report",
        "--format",
        "json",
        "--sla-policy",
        policy.to_str().unwrap(),
    ]);
    assert!(strict < default, "{strict} < {default}");
    std::fs::write(&policy, "{\"low\": 1}").unwrap();
    let (code, _, err) = run(
        dir.path(),
        &["report", "--sla-policy", policy.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(err.contains("invalid SLA policy"), "{err}");
}
