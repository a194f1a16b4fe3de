//! `caseledger cases` (issue 22): snapshots of the table, JSON and CSV
//! over the fixed generated store, the filters wired to the board, the
//! usage errors, and the same board on PostgreSQL (a database of its own).
#![allow(clippy::unwrap_used)]

mod common;
mod pg;

use std::path::Path;

use common::*;

/// A moment inside the fixed store's history, so that cases are at every
/// stage (the store spans January to May 2026).
const AS_OF: &str = "2026-03-01T12:00:00Z";

fn ok(store: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
    let (code, out, err) = run(store, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    dir
}

fn rows(dir: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["cases", "--as-of", AS_OF, "--format", "json"];
    all.extend_from_slice(args);
    let v: serde_json::Value = serde_json::from_str(&ok(dir, &all)).unwrap();
    v["rows"].as_array().unwrap().clone()
}

#[test]
fn cases_table() {
    let dir = store();
    insta::assert_snapshot!(ok(
        dir.path(),
        &["cases", "--as-of", AS_OF, "--limit", "12"]
    ));
}

#[test]
fn cases_table_wide() {
    let dir = store();
    insta::assert_snapshot!(ok(
        dir.path(),
        &[
            "cases", "--as-of", AS_OF, "--status", "open", "--limit", "8", "--wide"
        ]
    ));
}

#[test]
fn cases_json() {
    let dir = store();
    let out = ok(
        dir.path(),
        &[
            "cases",
            "--as-of",
            AS_OF,
            "--format",
            "json",
            "--category",
            "complaint",
            "--limit",
            "3",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for row in v["rows"].as_array().unwrap() {
        assert!(row["case_id"].is_string(), "{row}");
        assert_eq!(row["category"], "complaint");
    }
    insta::assert_snapshot!(out);
}

#[test]
fn cases_csv() {
    let dir = store();
    let out = ok(
        dir.path(),
        &["cases", "--as-of", AS_OF, "--format", "csv", "--limit", "6"],
    );
    // Every row has the header's width.
    let widths: Vec<usize> = out.lines().map(|l| l.split(',').count()).collect();
    assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}");
    assert_eq!(widths.len(), 7);
    insta::assert_snapshot!(out);
}

#[test]
fn the_table_fits_80_columns() {
    let dir = store();
    let out = ok(dir.path(), &["cases", "--as-of", AS_OF]);
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
}

#[test]
fn the_filters_reach_the_board() {
    let dir = store();
    let all = rows(dir.path(), &[]);
    assert!(all.len() > 50, "{}", all.len());
    let overdue = rows(dir.path(), &["--overdue"]);
    assert!(!overdue.is_empty() && overdue.len() < all.len());
    assert!(
        overdue
            .iter()
            .all(|r| r["overdue"] == true && r["status"] == "open")
    );
    let at_risk = rows(dir.path(), &["--at-risk"]);
    assert!(at_risk.iter().all(|r| r["at_risk"] == true));
    assert_eq!(
        at_risk.len(),
        all.iter().filter(|r| r["at_risk"] == true).count()
    );
    let agent = all
        .iter()
        .find_map(|r| r["agent"].as_str())
        .unwrap()
        .to_owned();
    let mine = rows(dir.path(), &["--agent", &agent]);
    assert_eq!(
        mine.len(),
        all.iter().filter(|r| r["agent"] == agent.as_str()).count()
    );
    let team = rows(dir.path(), &["--team", "complaints", "--status", "open"]);
    assert!(
        team.iter()
            .all(|r| r["team"] == "complaints" && r["status"] == "open")
    );
    let customer = all[0]["customer_id"].as_str().unwrap().to_owned();
    let theirs = rows(dir.path(), &["--customer", &customer]);
    assert!(!theirs.is_empty() && theirs.iter().all(|r| r["customer_id"] == customer.as_str()));
    let urgent = rows(dir.path(), &["--priority", "urgent"]);
    assert!(!urgent.is_empty() && urgent.iter().all(|r| r["priority"] == "urgent"));
    // Due within 3 days: every row has an open deadline or a follow-up in
    // [T, T + 3 d].
    let soon = rows(dir.path(), &["--due-within", "3d"]);
    assert!(!soon.is_empty() && soon.len() < all.len());
    let t = caseledger::parse_timestamp(AS_OF).unwrap();
    let within = |v: &serde_json::Value| {
        v.as_str().is_some_and(|s| {
            let d = caseledger::parse_timestamp(s).unwrap();
            d >= t && d <= t + chrono::Duration::days(3)
        })
    };
    for r in &soon {
        assert!(
            within(&r["sla_response"]["deadline"])
                || within(&r["sla_resolution"]["deadline"])
                || within(&r["complaint"]["deadline"])
                || within(&r["follow_up_due"]),
            "{r}"
        );
    }
    assert_eq!(rows(dir.path(), &["--limit", "5"]), all[..5]);
}

/// A limit that cuts the list still says how many cases match: in JSON
/// (`matched`) and in the table's heading (which said "5 of 60 cases",
/// hiding whether 6 or 60 matched).
#[test]
fn a_limit_keeps_the_count_of_the_cases_that_match() {
    let dir = store();
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["cases", "--as-of", AS_OF, "--format", "json"];
        all.extend_from_slice(args);
        serde_json::from_str(&ok(dir.path(), &all)).unwrap()
    };
    let closed = json(&["--status", "closed"]);
    let closed_rows = closed["rows"].as_array().unwrap().len();
    assert!(closed_rows > 5 && closed_rows < 60, "{closed_rows}");
    assert_eq!(closed["matched"], closed_rows);
    let cut = json(&["--status", "closed", "--limit", "5"]);
    assert_eq!(cut["rows"].as_array().unwrap().len(), 5);
    assert_eq!(cut["matched"], closed_rows);
    assert_eq!(cut["cases"], closed["cases"]);
    let table = |args: &[&str]| {
        let mut all = vec!["cases", "--as-of", AS_OF, "--wide"];
        all.extend_from_slice(args);
        ok(dir.path(), &all)
    };
    let cases = closed["cases"].as_u64().unwrap();
    assert!(
        table(&["--status", "closed", "--limit", "5"]).contains(&format!(
            ": {closed_rows} of {cases} cases match, the first 5 shown, by the nearest open deadline"
        )),
    );
    // A limit that cuts nothing reads as before.
    assert!(
        table(&["--status", "closed", "--limit", "100000"]).contains(&format!(
            ": {closed_rows} of {cases} cases, by the nearest open deadline"
        )),
    );
}

#[test]
fn wrong_usage_is_refused_with_a_clear_error() {
    let dir = store();
    for (args, says) in [
        (&["cases", "--due-within", "8x"][..], "like 90m, 8h or 3d"),
        (&["cases", "--due-within", "8"][..], "has no unit"),
        (
            &["cases", "--due-within", "8H"][..],
            "the unit is written in lower case (h)",
        ),
        (&["cases", "--status", "pending"][..], "open"),
        (&["cases", "--priority", "asap"][..], "urgent"),
        (&["cases", "--limit", "0"][..], "--limit"),
        (
            &["cases", "--format", "json", "--wide"][..],
            "--wide widens the table",
        ),
        (&["cases", "--as-of", "yesterday"][..], "--as-of"),
    ] {
        let (code, out, err) = run(dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn the_board_on_postgres_is_the_board_on_a_store_directory() {
    let dir = tempfile::tempdir().unwrap();
    let db = pg::TestDb::new();
    let args = ["generate", "--cases", "150", "--seed", "9"];
    ok(dir.path(), &args);
    ok(&db.url, &args);
    for query in [
        &["cases", "--format", "json"][..],
        &["cases", "--format", "csv", "--as-of", AS_OF, "--overdue"][..],
        &["cases", "--as-of", AS_OF, "--due-within", "2d", "--wide"][..],
    ] {
        assert_eq!(ok(&db.url, query), ok(dir.path(), query), "{query:?}");
    }
}

/// `--due-within` asks for open deadlines, as `next_deadline` has them: a
/// case resolved without a response keeps a pending response target (the
/// SLA rule), but nothing of it is due; it was listed, with no next
/// deadline, among the cases due within the hour.
#[test]
fn due_within_leaves_out_the_deadlines_a_resolution_closed() {
    let dir = tempfile::tempdir().unwrap();
    let classified = r#"{"category":"inquiry","topic":"card","priority":"urgent"}"#;
    let opened = r#"{"customer_id":"C-1","channel":"phone","tier":"standard"}"#;
    let lines = [
        line(1, 1, "opened", "2026-03-02T09:00:00Z", opened),
        line(1, 2, "classified", "2026-03-02T09:01:00Z", classified),
        line(
            1,
            3,
            "resolved",
            "2026-03-02T09:10:00Z",
            r#"{"resolution":"done"}"#,
        ),
        line(2, 4, "opened", "2026-03-02T09:00:00Z", opened),
        line(2, 5, "classified", "2026-03-02T09:01:00Z", classified),
    ]
    .join("\n");
    let (code, _, err) = run_with_stdin(dir.path(), &["import", "-"], lines.into_bytes());
    assert_eq!(code, 0, "{err}");
    let board = |extra: &[&str]| {
        let mut args = vec![
            "cases",
            "--as-of",
            "2026-03-02T09:20:00Z",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let v: serde_json::Value = serde_json::from_str(&ok(dir.path(), &args)).unwrap();
        v["rows"].as_array().unwrap().clone()
    };
    let all = board(&[]);
    let resolved = &all[1];
    assert_eq!(resolved["case_id"], "00000000-0000-0000-0000-000000000001");
    assert_eq!(resolved["status"], "resolved");
    // Its response target is pending by the SLA rule, due at 10:00...
    assert_eq!(resolved["sla_response"]["state"], "pending");
    assert_eq!(resolved["sla_response"]["deadline"], "2026-03-02T10:00:00Z");
    // ... but closed with the case.
    assert!(resolved["next_deadline"].is_null(), "{resolved}");
    let due = board(&["--due-within", "1h"]);
    let due: Vec<&str> = due.iter().map(|r| r["case_id"].as_str().unwrap()).collect();
    assert_eq!(due, ["00000000-0000-0000-0000-000000000002"]);
}
