//! `verify --roles` and `report --roles` (docs/permissions.md, docs/cli.md):
//! the permission findings of an imported history, in each format, with
//! `--strict`, the same on a store directory and on PostgreSQL; without
//! `--roles` the outputs have no trace of them.
#![allow(clippy::unwrap_used)]

mod common;
mod pg;

use std::ffi::OsStr;
use std::path::Path;

use common::*;
use pg::TestDb;

/// `caseledger --store STORE ARGS...`; (status, stdout, stderr).
fn at(store: impl AsRef<OsStr>, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let out = caseledger()
        .arg("--store")
        .arg(store)
        .args(args)
        .write_stdin(stdin.to_vec())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const ROLES: &str = r#"{"agent-17": ["agent"], "sup-3": ["supervisor", "agent"]}"#;

/// One event line by `actor`.
fn ev(case: u32, n: u32, minute: u32, actor: &str, kind: &str, data: &str) -> String {
    format!(
        r#"{{"case_id":"00000000-0000-0000-0000-{case:012}","type":"{kind}","at":"2026-03-02T09:{minute:02}:00Z","actor":"{actor}","event_id":"00000000-0000-0000-0001-{n:012}","data":{data}}}"#
    )
}

/// Two cases that obey the case rules; five events whose actor lacked the
/// permission (positions 2, 4, 6, 7 and 13).
fn history() -> String {
    let opened = r#"{"customer_id":"C-1","channel":"app","tier":"standard"}"#;
    [
        ev(1, 1, 0, "customer", "opened", opened),
        ev(
            1,
            2,
            1,
            "customer",
            "classified",
            r#"{"category":"complaint","topic":"card","priority":"high"}"#,
        ),
        ev(1, 3, 2, "agent-17", "assigned", r#"{"agent":"agent-17"}"#),
        ev(
            1,
            4,
            3,
            "agent-17",
            "deadline_extended",
            r#"{"days":30,"approved_by":"agent-17","reason":"appraisal"}"#,
        ),
        ev(1, 5, 4, "agent-17", "responded", "{}"),
        ev(1, 6, 5, "agent-17", "resolved", "{}"),
        ev(1, 7, 6, "agent-17", "surveyed", r#"{"score":5}"#),
        ev(1, 8, 7, "system", "closed", "{}"),
        ev(2, 9, 0, "agent-17", "opened", opened),
        ev(
            2,
            10,
            1,
            "agent-17",
            "classified",
            r#"{"category":"inquiry","topic":"card","priority":"low"}"#,
        ),
        ev(2, 11, 2, "sup-3", "resolved", "{}"),
        ev(2, 12, 3, "customer", "surveyed", r#"{"score":4}"#),
        ev(2, 13, 30, "temp-9", "closed", "{}"),
    ]
    .join("\n")
        + "\n"
}

/// The findings expected, as (position, actor, action, rule).
const EXPECTED: [(u64, &str, &str, &str); 5] = [
    (2, "customer", "classify", "permission_table"),
    (4, "agent-17", "extend_deadline", "approver_not_supervisor"),
    (6, "agent-17", "resolve_complaint", "permission_table"),
    (7, "agent-17", "survey", "permission_table"),
    (13, "temp-9", "close", "permission_table"),
];

fn findings_of(json: &str) -> Vec<(u64, String, String, String)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["permission_findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no permission_findings in {json}"))
        .iter()
        .map(|f| {
            assert!(
                f["case_id"]
                    .as_str()
                    .unwrap()
                    .starts_with("00000000-0000-0000-0000-0000000000")
            );
            (
                f["position"].as_u64().unwrap(),
                f["actor"].as_str().unwrap().to_owned(),
                f["action"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn expected() -> Vec<(u64, String, String, String)> {
    EXPECTED
        .iter()
        .map(|(p, a, x, r)| (*p, a.to_string(), x.to_string(), r.to_string()))
        .collect()
}

/// Imports the history into `store` and writes the role file in `dir`.
fn setup(store: impl AsRef<OsStr>, dir: &Path) -> String {
    let (code, _, err) = at(&store, &["import", "-"], history().as_bytes());
    assert_eq!(code, 0, "{err}");
    let roles = dir.join("roles.json");
    std::fs::write(&roles, ROLES).unwrap();
    roles.to_str().unwrap().to_owned()
}

/// Each command's findings on `store`, checked against [`EXPECTED`].
fn check_store(store: impl AsRef<OsStr> + Copy, roles: &str) {
    // verify: text lists them, exit 0; --strict exits 1 after listing.
    let (code, out, err) = at(store, &["verify", "--roles", roles], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("permission findings: 5\n"), "{out}");
    assert!(
        out.contains("  position 6, case 00000000-0000-0000-0000-000000000001: `agent-17` may not `resolve_complaint` (permission_table)\n"),
        "{out}"
    );
    let (code, out, err) = at(store, &["verify", "--roles", roles, "--strict"], b"");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("permission findings: 5"), "{out}");
    assert!(
        err.contains("--strict: 5 events whose actor lacked the permission"),
        "{err}"
    );
    // verify --format json.
    let (code, out, err) = at(
        store,
        &["verify", "--roles", roles, "--format", "json"],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(findings_of(&out), expected());
    // report: json and table.
    let (code, out, err) = at(
        store,
        &["report", "--roles", roles, "--format", "json"],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(findings_of(&out), expected());
    let (code, out, err) = at(store, &["report", "--roles", roles, "--strict"], b"");
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("permission findings: 5\n  position 2, case "),
        "{out}"
    );
    // --as-of leaves out the later events (position 13 at 09:30).
    let (code, out, err) = at(
        store,
        &[
            "report",
            "--roles",
            roles,
            "--format",
            "json",
            "--as-of",
            "2026-03-02T09:10:00Z",
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(findings_of(&out), expected()[..4].to_vec());
    // Without --roles: no trace; --strict alone is wrong usage.
    for args in [
        &["verify", "--format", "json"][..],
        &["report", "--format", "json"],
    ] {
        let (code, out, err) = at(store, args, b"");
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains("permission"), "{out}");
    }
    let (code, _, err) = at(store, &["verify", "--strict"], b"");
    assert_eq!(code, 2, "{err}");
}

#[test]
fn verify_and_report_list_the_permission_findings_of_an_imported_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let roles = setup(&store, dir.path());
    check_store(&store, &roles);
    // The formats that have no place for them refuse --roles (status 2).
    for format in ["csv", "html"] {
        let (code, _, err) = at(
            &store,
            &["report", "--roles", &roles, "--format", format],
            b"",
        );
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("--roles lists the permission findings in the table and json"),
            "{err}"
        );
    }
    // A bad role file: refused naming the file and the entry.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"agent-17": ["boss"]}"#).unwrap();
    let (code, _, err) = at(&store, &["verify", "--roles", bad.to_str().unwrap()], b"");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("invalid role directory") && err.contains("unknown role `boss`"),
        "{err}"
    );
    // More roles: fewer findings, but never the separation of duties.
    let all = dir.path().join("all.json");
    std::fs::write(
        &all,
        r#"{"agent-17": ["supervisor", "complaint_handler"], "temp-9": ["agent"], "sup-3": ["supervisor"]}"#,
    )
    .unwrap();
    let (code, out, err) = at(
        &store,
        &["verify", "--roles", all.to_str().unwrap(), "--strict"],
        b"",
    );
    // agent-17 approving their own extension stays a finding.
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("permission findings: 3\n"), "{out}");
    assert!(
        out.contains(
            "`agent-17` may not `extend_deadline` (approver_is_current_agent: the approver \
             `agent-17` is the case's current agent)"
        ),
        "{out}"
    );
}

/// Each separation-of-duties finding says why, naming the approver or
/// reviewer (the text and the JSON's `named`): the actor may hold the
/// action's role, so "`sup-1` may not `extend_deadline`" alone read as if
/// a supervisor could not extend deadlines, and named nobody.
#[test]
fn each_kind_of_finding_says_why_and_names_the_approver_or_reviewer() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let opened = r#"{"customer_id":"C-1","channel":"app","tier":"standard"}"#;
    let complaint = r#"{"category":"complaint","topic":"card","priority":"high"}"#;
    let inquiry = r#"{"category":"inquiry","topic":"card","priority":"low"}"#;
    let extend = |by: &str| format!(r#"{{"days":30,"approved_by":"{by}","reason":"x"}}"#);
    let review = |by: &str| format!(r#"{{"reviewer":"{by}","score":50}}"#);
    let lines = [
        ev(1, 1, 0, "agent-1", "opened", opened),
        ev(1, 2, 1, "agent-1", "classified", complaint),
        ev(1, 3, 2, "agent-1", "assigned", r#"{"agent":"agent-1"}"#),
        ev(1, 4, 3, "sup-1", "deadline_extended", &extend("sup-1")),
        ev(2, 5, 0, "agent-1", "opened", opened),
        ev(2, 6, 1, "agent-1", "classified", complaint),
        ev(2, 7, 2, "agent-1", "assigned", r#"{"agent":"sup-2"}"#),
        ev(2, 8, 3, "agent-1", "deadline_extended", &extend("sup-2")),
        ev(3, 9, 0, "agent-1", "opened", opened),
        ev(3, 10, 1, "agent-1", "classified", inquiry),
        ev(3, 11, 2, "agent-1", "assigned", r#"{"agent":"qa-2"}"#),
        ev(3, 12, 3, "qa-1", "qa_reviewed", &review("qa-3")),
        ev(3, 13, 4, "agent-1", "qa_reviewed", &review("agent-1")),
        ev(3, 14, 5, "qa-2", "qa_reviewed", &review("qa-2")),
        ev(3, 15, 6, "qa-4", "responded", "{}"),
        ev(3, 16, 7, "qa-4", "qa_reviewed", &review("qa-4")),
        ev(4, 17, 0, "agent-1", "opened", opened),
        ev(4, 18, 1, "agent-1", "classified", complaint),
        ev(4, 19, 2, "agent-1", "deadline_extended", &extend("agent-1")),
    ]
    .join("\n");
    let (code, _, err) = at(&store, &["import", "-"], lines.as_bytes());
    assert_eq!(code, 0, "{err}");
    let roles = dir.path().join("roles.json");
    std::fs::write(
        &roles,
        r#"{"agent-1": ["agent", "complaint_handler"], "sup-1": ["supervisor"],
            "sup-2": ["supervisor"], "qa-1": ["qa"], "qa-2": ["qa"], "qa-3": ["qa"],
            "qa-4": ["qa", "agent"]}"#,
    )
    .unwrap();
    let roles = roles.to_str().unwrap();
    let (code, out, err) = at(&store, &["verify", "--roles", roles], b"");
    assert_eq!(code, 0, "{err}");
    let case = |n: u32| format!("00000000-0000-0000-0000-{n:012}");
    let expected = [
        (
            4,
            1,
            "sup-1",
            "extend_deadline",
            "approver_is_actor: the approver `sup-1` is the actor who records the extension",
        ),
        (
            8,
            2,
            "agent-1",
            "extend_deadline",
            "approver_is_current_agent: the approver `sup-2` is the case's current agent",
        ),
        (
            12,
            3,
            "qa-1",
            "quality_review",
            "reviewer_not_actor: the reviewer `qa-3` is not the actor who records the review",
        ),
        (13, 3, "agent-1", "quality_review", "permission_table"),
        (
            14,
            3,
            "qa-2",
            "quality_review",
            "reviewer_was_assigned: the reviewer `qa-2` was assigned to the case",
        ),
        (
            16,
            3,
            "qa-4",
            "quality_review",
            "reviewer_handled_case: the reviewer `qa-4` recorded events of the case",
        ),
        (
            19,
            4,
            "agent-1",
            "extend_deadline",
            "approver_not_supervisor: the approver `agent-1` does not have the supervisor role",
        ),
    ];
    let mut want = format!("permission findings: {}\n", expected.len());
    for (position, n, actor, action, why) in expected {
        want.push_str(&format!(
            "  position {position}, case {}: `{actor}` may not `{action}` ({why})\n",
            case(n)
        ));
    }
    assert!(out.ends_with(&want), "{out}");
    // The JSON names the approver or reviewer (null for the table).
    let (code, out, err) = at(
        &store,
        &["verify", "--roles", roles, "--format", "json"],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let named: Vec<serde_json::Value> = v["permission_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["named"].clone())
        .collect();
    assert_eq!(
        named,
        serde_json::json!(["sup-1", "sup-2", "qa-3", null, "qa-2", "qa-4", "agent-1"])
            .as_array()
            .unwrap()
            .clone()
    );
}

#[test]
fn on_postgresql_the_findings_are_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let roles = setup(db.url.as_str(), dir.path());
    check_store(db.url.as_str(), &roles);
}

/// A role file over the limit is refused as too large, even when the limit
/// cuts a character in two (it was "stream did not contain valid UTF-8"),
/// and a device that never ends is read only up to the limit.
#[test]
fn a_role_file_over_the_limit_is_refused_as_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let roles = setup(&store, dir.path());
    let max = caseledger::permission::MAX_ROLE_DIRECTORY_JSON_BYTES;
    // `{"a":[` and spaces up to byte max - 1, then `é` (2 bytes) across
    // the limit.
    let mut big = br#"{"a":["#.to_vec();
    big.resize(max, b' ');
    big.extend("é]}".as_bytes());
    let path = dir.path().join("big.json");
    std::fs::write(&path, &big).unwrap();
    drop(big);
    let (code, _, err) = at(&store, &["verify", "--roles", path.to_str().unwrap()], b"");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("invalid role directory {}", path.display()))
            && err.contains(&format!("larger than {max} bytes")),
        "{err}"
    );
    // Bytes that are not UTF-8, within the limit: named as such.
    let latin1 = dir.path().join("latin1.json");
    std::fs::write(&latin1, b"{\"agent-\xe9\": [\"agent\"]}").unwrap();
    let (code, _, err) = at(
        &store,
        &["verify", "--roles", latin1.to_str().unwrap()],
        b"",
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not UTF-8 text"), "{err}");
    // The good file still reads.
    let (code, _, err) = at(&store, &["verify", "--roles", &roles], b"");
    assert_eq!(code, 0, "{err}");
}

/// A role file saved with a byte order mark (as Windows editors do) reads
/// as without one; it was refused as "not valid JSON: expected value at
/// line 1 column 1". The same reader serves calendars and policies.
#[test]
fn a_role_file_with_a_byte_order_mark_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let plain = setup(&store, dir.path());
    let bom = dir.path().join("bom.json");
    std::fs::write(&bom, format!("\u{feff}{ROLES}")).unwrap();
    let (code, with_bom, err) = at(&store, &["verify", "--roles", bom.to_str().unwrap()], b"");
    assert_eq!(code, 0, "{err}");
    let (_, without, _) = at(&store, &["verify", "--roles", &plain], b"");
    assert_eq!(with_bom, without);
    assert!(with_bom.contains("permission findings: 5"), "{with_bom}");
}
