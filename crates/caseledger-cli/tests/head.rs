//! `--head POSITION:HASH` (docs/cli.md, "Reproducing a report"): a report,
//! case board, history or export made when the ledger's head was P is made
//! again byte for byte from the ledger as it stood then, after events were
//! appended (some with an earlier `at`, in new and in existing cases), on
//! a store directory and on PostgreSQL; a wrong hash, a position past the
//! head or inside a batch, position 0 and a malformed value are each a
//! clear error; damage after P does not stop the read, damage before P
//! does, as it does today.
#![allow(clippy::unwrap_used)]

mod common;
mod pg;

use std::ffi::OsStr;
use std::path::Path;

use common::*;
use pg::TestDb;

/// The case whose history is reproduced: three events before the head,
/// two after it (with an earlier `at` than the ledger's latest).
const CASE_1: &str = "00000000-0000-0000-0000-000000000001";

/// Runs a command that must succeed; its stdout.
fn ok(store: impl AsRef<OsStr>, args: &[&str]) -> String {
    let (code, out, err) = run(store, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// Imports `lines` as one batch.
fn import(store: impl AsRef<OsStr>, lines: &[String]) {
    let (code, _, err) = run_with_stdin(store, &["import", "-"], lines.join("\n").into_bytes());
    assert_eq!(code, 0, "{err}");
}

/// The commands whose output is reproduced, each in the formats that
/// print the head (and export, which prints the events).
fn commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["report", "--format", "json", "--group-by", "month"],
        vec!["report", "--format", "table", "--group-by", "month"],
        vec!["report", "--format", "csv", "--group-by", "channel"],
        vec!["report", "--format", "json", "--group-by", "responder"],
        vec!["report", "--format", "html"],
        vec!["cases", "--format", "json"],
        vec!["cases", "--format", "table"],
        vec!["history", CASE_1, "--format", "json"],
        vec!["history", CASE_1, "--format", "table"],
        vec!["export"],
    ]
}

/// The head a report printed, as `--head` takes it: `POSITION:HASH`.
fn printed_head(store: impl AsRef<OsStr>) -> (u64, String) {
    let json = ok(store, &["report", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    (
        v["head"]["position"].as_u64().unwrap(),
        v["head"]["hash"].as_str().unwrap().to_owned(),
    )
}

/// Builds the ledger up to the head a report is filed at; returns that
/// head and every command's output then.
fn file_reports(store: impl AsRef<OsStr> + Copy) -> (String, Vec<String>) {
    let (code, _, err) = run(store, &["generate", "--cases", "120", "--seed", "7"]);
    assert_eq!(code, 0, "{err}");
    // Case 1, opened before the generated ledger's latest event: its
    // first three events now, the rest after the head.
    import(store, &good_case(1)[..3]);
    let (position, hash) = printed_head(store);
    let filed = commands().iter().map(|args| ok(store, args)).collect();
    (format!("{position}:{hash}"), filed)
}

/// Appends after the filed head: case 1's last events, a new case and
/// more generated cases, all with `at` times before the ledger's latest.
fn append_later(store: impl AsRef<OsStr> + Copy) {
    import(store, &good_case(1)[3..]);
    import(store, &good_case(2));
    // Another branch's history, imported (generate writes only into an
    // empty store).
    let other = tempfile::tempdir().unwrap();
    let (code, _, err) = run(other.path(), &["generate", "--cases", "30", "--seed", "9"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<String> = export(other.path()).lines().map(str::to_owned).collect();
    import(store, &lines);
}

/// The filed outputs are reproduced byte for byte with `--head`, and each
/// differs from today's (so the test shows the head doing it).
fn reproduces(store: impl AsRef<OsStr> + Copy, head: &str, filed: &[String]) {
    for (args, then) in commands().iter().zip(filed) {
        let now = ok(store, args);
        assert_ne!(&now, then, "{args:?}: the later events changed nothing");
        let mut with_head = args.clone();
        with_head.extend(["--head", head]);
        let again = ok(store, &with_head);
        assert_eq!(&again, then, "{with_head:?}");
    }
}

#[test]
fn a_filed_report_is_reproduced_byte_for_byte_from_a_grown_store_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let (head, filed) = file_reports(&store);
    append_later(&store);
    reproduces(&store, &head, &filed);
    // The position alone reads the same ledger, its hash unchecked.
    let position = head.split_once(':').unwrap().0;
    let alone = ok(
        &store,
        &[
            "report",
            "--format",
            "json",
            "--group-by",
            "month",
            "--head",
            position,
        ],
    );
    assert_eq!(alone, filed[0]);
}

#[test]
fn a_filed_report_is_reproduced_byte_for_byte_from_a_grown_postgres_database() {
    let db = TestDb::new();
    let (head, filed) = file_reports(db.url.as_str());
    append_later(db.url.as_str());
    reproduces(db.url.as_str(), &head, &filed);
}

/// Every wrong `--head`: (status, stderr) of `report` with it.
fn report_at(store: impl AsRef<OsStr>, head: &str) -> (i32, String) {
    let (code, out, err) = run(store, &["report", "--head", head]);
    assert!(out.is_empty() || code == 0, "{head}: {out}");
    (code, err)
}

/// A wrong hash, a position past the head or inside a batch: status 1,
/// saying what is wrong; position 0 and malformed values: status 2, from
/// the flag's parser.
fn refuses_wrong_heads(store: impl AsRef<OsStr> + Copy) {
    let (head, _) = file_reports(store);
    append_later(store);
    let (position, hash) = head.split_once(':').unwrap();
    let other = hash.replace(&hash[..1], if &hash[..1] == "0" { "1" } else { "0" });
    let (code, err) = report_at(store, &format!("{position}:{other}"));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "the ledger at position {position} is not the ledger the head was printed from"
        )) && err.contains(hash)
            && err.contains(&other),
        "{err}"
    );
    let (today, _) = printed_head(store);
    let (code, err) = report_at(store, &format!("{}:{hash}", today + 1));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "position {} is beyond the log's head (position {today})",
            today + 1
        )),
        "{err}"
    );
    // Case 1's first events were imported as one batch of three.
    let inside: u64 = position.parse::<u64>().unwrap() - 1;
    let (code, err) = report_at(store, &inside.to_string());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "position {inside} is inside a batch (positions {} to {position} were recorded \
             together)",
            inside - 1
        )),
        "{err}"
    );
    for (bad, says) in [
        (format!("0:{hash}"), "position 0 is the empty ledger"),
        ("0".to_owned(), "position 0 is the empty ledger"),
        (
            format!("{position}:{}", &hash[2..]),
            "is not 64 hexadecimal digits (62 given)",
        ),
        (format!("p{position}:{hash}"), "is not a whole number"),
        (format!("{position} {hash}"), "is not a whole number"),
    ] {
        let (code, err) = report_at(store, &bad);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(
            err.contains(says) && err.contains("POSITION:HASH"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn a_wrong_head_is_a_clear_error_on_a_store_directory() {
    let dir = tempfile::tempdir().unwrap();
    refuses_wrong_heads(&dir.path().join("s"));
}

#[test]
fn a_wrong_head_is_a_clear_error_on_postgres() {
    let db = TestDb::new();
    refuses_wrong_heads(db.url.as_str());
}

/// Flips one byte of the store's only segment file.
fn flip(store: &Path, at: u64) {
    let path = store.join("seg-00000001.cls");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at as usize] ^= 0x5a;
    std::fs::write(&path, bytes).unwrap();
}

/// The `corruption: ...` line of an error.
fn damage(err: &str) -> String {
    err.lines()
        .find_map(|l| l.split_once("corruption: ").map(|(_, d)| d.to_owned()))
        .unwrap_or_else(|| panic!("no damage named: {err}"))
}

#[test]
fn damage_after_the_head_does_not_stop_the_read_and_damage_before_it_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let (head, filed) = file_reports(&store);
    let segment = store.join("seg-00000001.cls");
    let at_head = std::fs::metadata(&segment).unwrap().len();
    append_later(&store);
    // A byte inside the first record after the head.
    flip(&store, at_head + 40);
    let (code, _, err) = run(&store, &["report"]);
    assert_eq!(code, 1, "{err}");
    damage(&err);
    for (args, then) in commands().iter().zip(&filed) {
        let mut with_head = args.clone();
        with_head.extend(["--head", &head]);
        assert_eq!(&ok(&store, &with_head), then, "{with_head:?}");
    }
    // A byte of a record before it: the read to the head fails as a read
    // to today's head does, naming the same damage.
    flip(&store, at_head / 2);
    let (code, _, today) = run(&store, &["report"]);
    assert_eq!(code, 1, "{today}");
    for args in commands() {
        let mut with_head = args.clone();
        with_head.extend(["--head", &head]);
        let (code, out, err) = run(&store, &with_head);
        assert_eq!(code, 1, "{with_head:?}: {out}{err}");
        assert_eq!(damage(&err), damage(&today), "{with_head:?}");
    }
}

/// Replaces, behind the log's back, the body of the event at `position`
/// with that of the event after it (a changed row).
fn change_row(db: &TestDb, position: u64) {
    db.sql(&format!(
        "ALTER TABLE caseledger.events DISABLE TRIGGER events_append_only;
         UPDATE caseledger.events e SET body = n.body
           FROM caseledger.events n WHERE e.position = {position} AND n.position = {position} + 1;
         ALTER TABLE caseledger.events ENABLE TRIGGER events_append_only;"
    ))
    .unwrap();
}

#[test]
fn on_postgres_a_row_changed_after_the_head_does_not_stop_the_read_and_one_before_it_does() {
    let db = TestDb::new();
    let store = db.url.as_str();
    let (head, filed) = file_reports(store);
    let position: u64 = head.split_once(':').unwrap().0.parse().unwrap();
    append_later(store);
    change_row(&db, position + 2);
    let (code, _, err) = run(store, &["report"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("position {}", position + 2)), "{err}");
    for (args, then) in commands().iter().zip(&filed) {
        let mut with_head = args.clone();
        with_head.extend(["--head", &head]);
        assert_eq!(&ok(store, &with_head), then, "{with_head:?}");
    }
    change_row(&db, 10);
    for args in commands() {
        let mut with_head = args.clone();
        with_head.extend(["--head", &head]);
        let (code, out, err) = run(store, &with_head);
        assert_eq!(code, 1, "{with_head:?}: {out}{err}");
        assert!(
            err.contains("the log was changed behind caseledger's back at position 10"),
            "{with_head:?}: {err}"
        );
    }
}
