//! `follow-ups plan` (issue 22, docs/follow-ups.md) over a hand-made store:
//! the plan in every format (snapshots), `--apply` and its re-run (nothing
//! recorded twice), another actor refused naming the first, a case with
//! later events refused, a day without working hours, and exit statuses;
//! and the same plan and apply on PostgreSQL.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;
mod pg;

use common::*;

/// A case resolved at `resolved` (opened and classified an hour before).
fn case(
    n: u32,
    customer: &str,
    tier: &str,
    category: &str,
    priority: &str,
    resolved: &str,
) -> Vec<String> {
    let id = n * 10;
    let opened =
        chrono::DateTime::parse_from_rfc3339(resolved).unwrap() - chrono::Duration::hours(1);
    let opened = opened.to_rfc3339();
    vec![
        line(
            n,
            id,
            "opened",
            &opened,
            &format!(r#"{{"customer_id":"{customer}","channel":"email","tier":"{tier}"}}"#),
        ),
        line(
            n,
            id + 1,
            "classified",
            &opened,
            &format!(r#"{{"category":"{category}","topic":"card","priority":"{priority}"}}"#),
        ),
        line(
            n,
            id + 2,
            "resolved",
            resolved,
            r#"{"root_cause":"process_gap"}"#,
        ),
    ]
}

/// The store: plan day 2026-03-16 (UTC).
/// - case 1: C-1's complaint, resolved 4 days before: first;
/// - case 2: C-2, surveyed 1: second;
/// - cases 3 and 4: C-3 (vip), 4 is technical and urgent: 4 kept, 3 left out;
/// - case 5: resolved 11 days before: not a candidate;
/// - cases 6 and 7: C-5 has a follow-up due 2026-03-01 (case 6): 7 capped;
/// - case 8: C-6, surveyed after T: proposed, but refused on --apply.
fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    lines.extend(case(
        1,
        "C-1",
        "standard",
        "complaint",
        "low",
        "2026-03-12T10:00:00Z",
    ));
    lines.extend(case(
        2,
        "C-2",
        "standard",
        "inquiry",
        "normal",
        "2026-03-10T10:00:00Z",
    ));
    lines.push(line(
        2,
        25,
        "surveyed",
        "2026-03-11T10:00:00Z",
        r#"{"score":1}"#,
    ));
    lines.extend(case(
        3,
        "C-3",
        "vip",
        "inquiry",
        "normal",
        "2026-03-13T10:00:00Z",
    ));
    lines.extend(case(
        4,
        "C-3",
        "vip",
        "technical",
        "urgent",
        "2026-03-11T10:00:00Z",
    ));
    lines.extend(case(
        5,
        "C-4",
        "standard",
        "inquiry",
        "normal",
        "2026-03-05T10:00:00Z",
    ));
    lines.extend(case(
        6,
        "C-5",
        "standard",
        "inquiry",
        "normal",
        "2026-02-20T10:00:00Z",
    ));
    lines.push(line(
        6,
        65,
        "follow_up_scheduled",
        "2026-02-20T11:00:00Z",
        r#"{"due":"2026-03-01T10:00:00Z","purpose":"feedback","channel":"phone"}"#,
    ));
    lines.extend(case(
        7,
        "C-5",
        "dormant",
        "inquiry",
        "normal",
        "2026-03-12T10:00:00Z",
    ));
    lines.extend(case(
        8,
        "C-6",
        "standard",
        "inquiry",
        "normal",
        "2026-03-12T10:00:00Z",
    ));
    lines.push(line(
        8,
        85,
        "surveyed",
        "2026-03-16T09:00:00Z",
        r#"{"score":5}"#,
    ));
    let mut text = lines.join("\n");
    text.push('\n');
    let (code, _, err) = run_with_stdin(dir.path(), &["import", "-"], text.into_bytes());
    assert_eq!(code, 0, "{err}");
    dir
}

fn plan(dir: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["follow-ups", "plan", "--on", "2026-03-16"];
    args.extend_from_slice(extra);
    run(dir, &args)
}

fn case_id(n: u32) -> String {
    format!("00000000-0000-0000-0000-{n:012}")
}

#[test]
fn the_plan_in_every_format() {
    let dir = store();
    let (code, table, err) = plan(dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("follow_ups_plan_table", table);
    let (code, json, err) = plan(dir.path(), &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("follow_ups_plan_json", json);
    let (code, csv, err) = plan(dir.path(), &["--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("follow_ups_plan_csv", csv);
    // Each JSON row has the four fields of the issue, in the plan's order.
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows: Vec<(String, String, String, String)> = v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_owned();
            (s("case_id"), s("customer_id"), s("due"), s("purpose"))
        })
        .collect();
    let due = "2026-03-16T10:00:00Z".to_owned();
    assert_eq!(
        rows,
        [
            (
                case_id(1),
                "C-1".into(),
                due.clone(),
                "problem_check".into()
            ),
            (case_id(2), "C-2".into(), due.clone(), "feedback".into()),
            (
                case_id(4),
                "C-3".into(),
                due.clone(),
                "problem_check".into()
            ),
            (case_id(8), "C-6".into(), due.clone(), "feedback".into()),
        ]
    );
    let dropped: Vec<(&str, &str)> = v["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["case_id"].as_str().unwrap(),
                d["reason"].as_str().unwrap(),
            )
        })
        .collect();
    let (c3, c7) = (case_id(3), case_id(7));
    assert_eq!(
        dropped,
        [(c3.as_str(), "same_customer"), (c7.as_str(), "cap")]
    );
    // --capacity keeps the first N.
    let (_, json, _) = plan(dir.path(), &["--format", "json", "--capacity", "2"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["calls"].as_array().unwrap().len(), 2);
    // A capacity of one is one call (it read "1 calls").
    let (_, json, _) = plan(dir.path(), &["--format", "json", "--capacity", "1"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let capacity: Vec<&str> = v["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["reason"] == "capacity")
        .map(|d| d["detail"].as_str().unwrap())
        .collect();
    assert!(!capacity.is_empty(), "{json}");
    for detail in capacity {
        assert_eq!(detail, "beyond the capacity of 1 call");
    }
}

#[test]
fn apply_records_once_refuses_another_actor_and_later_events() {
    let dir = store();
    let before = export(dir.path());
    // The first three calls (case 8 has an event after T).
    let apply = ["--capacity", "3", "--apply", "--actor", "planner-1"];
    let (code, out, err) = plan(dir.path(), &apply);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("follow_ups_apply_table", out);
    let after = export(dir.path());
    let added: Vec<serde_json::Value> = after
        .lines()
        .skip(before.lines().count())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(added.len(), 3);
    for e in &added {
        assert_eq!(e["type"], "follow_up_scheduled");
        assert_eq!(e["at"], "2026-03-16T00:00:00Z");
        assert_eq!(e["actor"], "planner-1");
    }
    // A re-run records nothing and says so; exit 0.
    let (code, out, err) = plan(dir.path(), &[&apply[..], &["--format", "json"]].concat());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["applied"]["already_recorded"], 3);
    assert_eq!(v["applied"]["recorded"], 0);
    assert_eq!(export(dir.path()), after);
    // Another actor: refused as a reused id naming the first; exit 1.
    let (code, out, err) = plan(
        dir.path(),
        &[
            "--capacity",
            "3",
            "--apply",
            "--actor",
            "planner-2",
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("3 of 3 follow-up calls refused"), "{err}");
    for row in out.lines().skip(1) {
        assert!(row.contains(",refused,"), "{row}");
        assert!(row.contains("planner-1"), "{row}");
    }
    assert_eq!(export(dir.path()), after);
    // The whole plan: three already recorded, case 8 refused for its later
    // survey; exit 1.
    let (code, out, err) = plan(dir.path(), &["--apply", "--actor", "planner-1"]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("1 of 4 follow-up calls refused"), "{err}");
    assert!(
        out.contains(&format!(
            "refused {}: case {} has events after the start of 2026-03-16 (the latest at \
             2026-03-16T09:00:00Z)",
            case_id(8),
            case_id(8)
        )),
        "{out}"
    );
    assert!(
        out.contains("0 recorded, 3 already recorded, 1 refused"),
        "{out}"
    );
    assert_eq!(export(dir.path()), after);
    // A reader that went away ends the table quietly, not the status:
    // the refused call still exits 1 (it exited 0).
    let (code, err) = run_into_readerless_pipe(
        Some(dir.path()),
        &[
            "follow-ups",
            "plan",
            "--on",
            "2026-03-16",
            "--apply",
            "--actor",
            "planner-1",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("1 of 4 follow-up calls refused"), "{err}");
    assert_eq!(export(dir.path()), after);
    // The plan of the day is unchanged by its apply.
    let (_, json, _) = plan(dir.path(), &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["calls"].as_array().unwrap().len(), 4);
}

#[test]
fn a_day_without_working_hours_proposes_nothing_and_says_so() {
    let dir = store();
    let calendar = dir.path().join("weekdays.json");
    std::fs::write(
        &calendar,
        r#"{"time_zone": "UTC", "week": {"mon": ["09:00-17:00"], "tue": ["09:00-17:00"],
            "wed": ["09:00-17:00"], "thu": ["09:00-17:00"], "fri": ["09:00-17:00"]}}"#,
    )
    .unwrap();
    let cal = calendar.to_str().unwrap();
    // Sunday 2026-03-15.
    let (code, out, err) = run(
        dir.path(),
        &[
            "follow-ups",
            "plan",
            "--on",
            "2026-03-15",
            "--calendar",
            cal,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "2026-03-15 has no working hours in the calendar from its start \
             (2026-03-15T00:00:00Z) on: no follow-up calls are proposed"
        ),
        "{out}"
    );
    let (_, json, _) = run(
        dir.path(),
        &[
            "follow-ups",
            "plan",
            "--on",
            "2026-03-15",
            "--calendar",
            cal,
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["no_working_hours"], true);
    assert_eq!(v["calls"].as_array().unwrap().len(), 0);
    // Monday: working hours, the calls are due at 10:00.
    let (_, json, _) = run(
        dir.path(),
        &[
            "follow-ups",
            "plan",
            "--on",
            "2026-03-16",
            "--calendar",
            cal,
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["due"], "2026-03-16T10:00:00Z");
}

/// Without `--calendar` every hour of the plan's local day is worked, so
/// the calls are due at 10:00 local in every zone: also east of UTC+10,
/// where 10:00 local falls on the previous UTC date (the UTC default
/// calendar put them at the next UTC midnight: 11:00 in Sydney, 13:00 in
/// Auckland, 10:30 on Lord Howe Island after its half-hour change back).
#[test]
fn without_a_calendar_the_calls_are_due_at_10_local_in_every_zone() {
    let dir = store();
    for (zone, on, due) in [
        ("Australia/Sydney", "2026-03-16", "2026-03-15T23:00:00Z"),
        ("Pacific/Auckland", "2026-03-16", "2026-03-15T21:00:00Z"),
        ("Pacific/Kiritimati", "2026-03-16", "2026-03-15T20:00:00Z"),
        ("Australia/Lord_Howe", "2026-04-05", "2026-04-04T23:30:00Z"),
        ("Australia/Lord_Howe", "2026-10-04", "2026-10-03T23:00:00Z"),
        ("Asia/Tokyo", "2026-03-16", "2026-03-16T01:00:00Z"),
        ("America/New_York", "2026-03-08", "2026-03-08T14:00:00Z"),
        ("Europe/London", "2026-10-25", "2026-10-25T10:00:00Z"),
        ("Etc/GMT+12", "2026-03-16", "2026-03-16T22:00:00Z"),
    ] {
        let (code, out, err) = run(
            dir.path(),
            &[
                "follow-ups",
                "plan",
                "--on",
                on,
                "--time-zone",
                zone,
                "--format",
                "json",
            ],
        );
        assert_eq!(code, 0, "{zone}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["due"], due, "{zone} {on}");
    }
}

/// A calendar file is read up to its limit (1 MiB), never whole: a device
/// that never ends (or a store segment given by mistake) is refused as too
/// large, where it was read until memory ran out.
#[cfg(target_os = "linux")]
#[test]
fn a_calendar_that_never_ends_is_refused_as_too_large() {
    let dir = store();
    let (code, out, err) = plan(dir.path(), &["--calendar", "/dev/zero"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains(&format!(
            "invalid calendar /dev/zero: larger than {} bytes",
            caseledger::calendar::MAX_CALENDAR_JSON_BYTES
        )),
        "{err}"
    );
}

#[test]
fn bad_flags_are_refused_with_exit_2() {
    let dir = store();
    for (args, says) in [
        (
            vec!["follow-ups", "plan", "--on", "16.03.2026"],
            "is not a date",
        ),
        (
            vec!["follow-ups", "plan", "--on", "2026-3-16"],
            "is not a date",
        ),
        (
            vec!["follow-ups", "plan", "--on", "0000-01-01"],
            "the year must be 0001 to 9999",
        ),
        // Its start in Tokyo is in the year 0: no event can be at it.
        (
            vec![
                "follow-ups",
                "plan",
                "--on",
                "0001-01-01",
                "--time-zone",
                "Asia/Tokyo",
            ],
            "--on 0001-01-01 begins in Asia/Tokyo outside the times a store holds",
        ),
        (
            vec!["follow-ups", "plan", "--on", "2026-03-16", "--apply"],
            "--actor",
        ),
        (
            vec!["follow-ups", "plan", "--on", "2026-03-16", "--actor", "a-1"],
            "--apply",
        ),
        (
            vec![
                "follow-ups",
                "plan",
                "--on",
                "2026-03-16",
                "--capacity",
                "0",
            ],
            "capacity",
        ),
        (
            vec![
                "follow-ups",
                "plan",
                "--on",
                "2026-03-16",
                "--time-zone",
                "Mars/Base",
            ],
            "IANA",
        ),
    ] {
        let (code, _, err) = run(dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// The customer may not schedule follow-ups (docs/permissions.md: the
/// built-in actor's role is fixed, directory or not): `--apply --actor
/// customer` is wrong usage and records nothing in the customer's name;
/// `system` may.
#[test]
fn apply_by_the_customer_is_refused_by_the_permission_table() {
    let dir = store();
    let before = run(dir.path(), &["export"]).1;
    let (code, out, err) = plan(dir.path(), &["--apply", "--actor", "customer"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(
            "`customer` may not record the plan's calls: the permission table gives \
             `schedule_follow_up` to agent, complaint_handler, supervisor, system only"
        ),
        "{err}"
    );
    assert_eq!(run(dir.path(), &["export"]).1, before);
    let (code, out, err) = plan(dir.path(), &["--apply", "--actor", "system"]);
    assert_eq!(code, 1, "{out}{err}"); // case 8 is refused (later events)
    assert!(out.contains("applied by system: "), "{out}");
}

/// `--roles FILE` with `--apply`: each call is checked against the role
/// directory as the service checks any command (docs/permissions.md): an
/// actor whose roles do not give `schedule_follow_up` records nothing.
#[test]
fn apply_with_roles_refuses_an_actor_without_the_permission() {
    let dir = store();
    let roles = dir.path().join("roles.json");
    std::fs::write(&roles, r#"{"qa-1": ["qa"], "planner-1": ["agent"]}"#).unwrap();
    let roles = roles.to_str().unwrap();
    let before = run(dir.path(), &["export"]).1;
    let flags = |actor| {
        [
            "--apply", "--actor", actor, "--roles", roles, "--format", "json",
        ]
    };
    let (code, out, err) = plan(dir.path(), &flags("qa-1"));
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["applied"]["recorded"], 0, "{out}");
    let calls = v["calls"].as_array().unwrap();
    assert!(!calls.is_empty());
    for call in calls {
        assert_eq!(call["result"], "refused", "{call}");
    }
    assert!(
        calls
            .iter()
            .any(|c| c["reason"].as_str().unwrap().contains("schedule_follow_up")),
        "{out}"
    );
    assert_eq!(run(dir.path(), &["export"]).1, before, "nothing recorded");
    // An agent records them.
    let (_, out, err) = plan(dir.path(), &flags("planner-1"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["applied"]["recorded"].as_u64().unwrap() > 0, "{out}{err}");
    // A bad role file records nothing and says which file.
    std::fs::write(dir.path().join("roles.json"), r#"{"planner-1": ["boss"]}"#).unwrap();
    let (code, _, err) = plan(dir.path(), &flags("planner-1"));
    assert_eq!(code, 1);
    assert!(err.contains("invalid role directory"), "{err}");
    // --roles without --apply is wrong usage.
    let (code, _, _) = plan(dir.path(), &["--roles", roles]);
    assert_eq!(code, 2);
}

/// A scheduled `--apply` with a mistyped store path fails: it does not
/// make a new, empty store, find nothing to call and succeed every day.
#[test]
fn apply_to_a_store_that_does_not_exist_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let apply = [
        "follow-ups",
        "plan",
        "--on",
        "2026-03-16",
        "--apply",
        "--actor",
        "planner-1",
    ];
    let missing = dir.path().join("typo/store");
    let (code, out, err) = run(&missing, &apply);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("no such directory"), "{err}");
    assert!(!dir.path().join("typo").exists());
    // An existing directory that is not a store: refused, left as it was.
    let (code, out, err) = run(dir.path(), &apply);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("not a caseledger store"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn on_postgresql_the_same_plan_and_apply() {
    let dir = store();
    let db = pg::TestDb::new();
    let (code, out, err) = caseledger_copy(dir.path(), &db.url);
    assert_eq!(code, 0, "{out}{err}");
    let (code, on_file, err) = plan(dir.path(), &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let (code, on_pg, err) = plan_at(&db.url, &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(on_pg, on_file);
    let apply = [
        "--capacity",
        "3",
        "--apply",
        "--actor",
        "planner-1",
        "--format",
        "json",
    ];
    // A statement the server refuses rolls the append back whole: each
    // call failed and is said not recorded (it was "may or may not be
    // recorded", though nothing could be), and the next apply records it.
    let refuse = "CREATE FUNCTION caseledger.refuse() RETURNS trigger LANGUAGE plpgsql AS \
                  $$BEGIN RAISE EXCEPTION 'refused by a test trigger'; END$$; \
                  CREATE TRIGGER refuse BEFORE INSERT ON caseledger.events \
                  FOR EACH ROW EXECUTE FUNCTION caseledger.refuse();";
    caseledger_testkit::pg::sql_at(&db.url, refuse).unwrap();
    let before = export(&db.url);
    let (code, out, err) = plan_at(&db.url, &apply);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            "3 of 3 follow-up calls failed (not recorded: apply the plan again to record them)"
        ),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["applied"]["failed"], 3);
    for call in v["calls"].as_array().unwrap() {
        let reason = call["reason"].as_str().unwrap();
        assert!(
            reason.ends_with("the call is not recorded: apply the plan again to record it"),
            "{reason}"
        );
    }
    assert_eq!(export(&db.url), before);
    caseledger_testkit::pg::sql_at(&db.url, "DROP TRIGGER refuse ON caseledger.events;").unwrap();
    let (code, out, err) = plan_at(&db.url, &apply);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["applied"]["recorded"], 3);
    let after = export(&db.url);
    let (code, out, err) = plan_at(&db.url, &apply);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["applied"]["already_recorded"], 3);
    assert_eq!(export(&db.url), after);
    // Another actor: refused, naming the first; nothing recorded.
    let (code, out, _) = plan_at(
        &db.url,
        &[
            "--capacity",
            "3",
            "--apply",
            "--actor",
            "planner-2",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("planner-1"), "{out}");
    assert_eq!(export(&db.url), after);
}

fn caseledger_copy(dir: &std::path::Path, url: &str) -> (i32, String, String) {
    let out = caseledger()
        .args(["copy", "--source"])
        .arg(dir)
        .args(["--target", url])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn plan_at(url: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["follow-ups", "plan", "--on", "2026-03-16"];
    args.extend_from_slice(extra);
    run(url, &args)
}

#[test]
fn an_applied_plan_whose_summary_cannot_be_written_says_the_calls_are_recorded() {
    let dir = store();
    let before = export(dir.path()).lines().count();
    let (code, err) = run_into_full(
        dir.path(),
        &[
            "follow-ups",
            "plan",
            "--on",
            "2026-03-16",
            "--capacity",
            "3",
            "--apply",
            "--actor",
            "planner-1",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("3 of 3 calls are recorded") && err.contains("summary could not be written"),
        "{err}"
    );
    assert_eq!(export(dir.path()).lines().count(), before + 3, "recorded");
}
