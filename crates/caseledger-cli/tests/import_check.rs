//! `import --check`: every problem of a messy file is listed with its line,
//! case and rule, nothing is written, and the exit status says whether the
//! file is clean; with `--store`, the lines are checked against the stored
//! cases too.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A file of tests/fixtures.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs `caseledger ARGS...` without a store; returns (status, stdout, stderr).
fn run_alone(args: &[&str]) -> (i32, String, String) {
    run_alone_with_stdin(args, Vec::new())
}

/// As [`run_alone`], with bytes on stdin.
fn run_alone_with_stdin(args: &[&str], stdin: Vec<u8>) -> (i32, String, String) {
    let out = caseledger().args(args).write_stdin(stdin).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn lines(ls: &[String]) -> String {
    ls.join("\n") + "\n"
}

/// The messy fixture: events before `opened`, times out of order, an
/// unknown field, a line that is not JSON, a case split across the file
/// and a bad case interleaved with good ones. Every problem is listed.
#[test]
fn a_messy_file_lists_every_problem() {
    let file = fixture("messy.jsonl");
    let (code, out, err) = run_alone(&["import", "--check", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("has 5 problems; nothing was written"), "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn the_json_summary_counts_each_rule_and_lists_each_problem() {
    let file = fixture("messy.jsonl");
    let (code, out, _) = run_alone(&[
        "import",
        "--check",
        "--format",
        "json",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["clean"], false);
    assert_eq!(v["lines"], 25);
    assert_eq!(v["cases"], 6);
    assert_eq!(v["cases_with_problems"], 4);
    assert_eq!(v["lines_without_case"], 1);
    assert_eq!(v["problems"], 5);
    assert_eq!(v["limit"], 1000);
    // Cases 1 and 5 (split across the file) are clean: 5 events each.
    assert_eq!(v["importable_cases"], 2);
    assert_eq!(v["importable_events"], 10);
    assert_eq!(
        v["by_rule"],
        serde_json::json!({"invalid_json": 1, "not_opened": 1, "time_went_backwards": 1,
                           "unclassified": 1, "unknown_field": 1})
    );
    let listed: Vec<(u64, &str, Option<&str>)> = v["problem_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                p["rule"].as_str().unwrap(),
                p["case"].as_str(),
            )
        })
        .collect();
    let case = |n: u32| Some(format!("00000000-0000-0000-0000-{n:012}"));
    let expected = [
        (2, "not_opened", case(2)),
        (7, "unclassified", case(6)),
        (13, "time_went_backwards", case(3)),
        (15, "invalid_json", None),
        (17, "unknown_field", case(4)),
    ];
    assert_eq!(
        listed,
        expected
            .iter()
            .map(|(l, r, c)| (*l, *r, c.as_deref()))
            .collect::<Vec<_>>()
    );
}

/// A line after a refused one is checked against the case as its valid
/// lines leave it: a second problem of the same case is found too.
#[test]
fn a_second_problem_of_a_case_is_found_too() {
    let mut ls = good_case(5);
    // Line 3 runs backwards; line 6 comes after `closed`.
    ls[2] = ls[2].replace("2026-03-02T09:20:00+08:00", "2026-03-02T09:00:00+08:00");
    ls.push(line(5, 99, "responded", "2026-03-04T09:00:00Z", "{}"));
    let (code, out, _) = run_alone_with_stdin(&["import", "--check", "-"], lines(&ls).into_bytes());
    assert_eq!(code, 1);
    let problems: Vec<&str> = out.lines().filter(|l| l.starts_with("line ")).collect();
    assert_eq!(problems.len(), 2, "{out}");
    assert!(
        problems[0].starts_with("line 3 [time_went_backwards]"),
        "{out}"
    );
    assert!(problems[1].starts_with("line 6 [after_close]"), "{out}");
}

#[test]
fn a_clean_file_exits_0_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut ls = good_case(1);
    ls.extend(good_case(2));
    // A --store that does not exist is an error, and is not created.
    let (code, _, err) = run_with_stdin(&store, &["import", "--check"], lines(&ls).into_bytes());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot open store"), "{err}");
    let file = dir.path().join("clean.jsonl");
    std::fs::write(&file, lines(&ls)).unwrap();
    let (code, out, err) = run_alone(&["import", "--check", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "no problems in 10 lines: 10 events to import in 2 cases (2 new cases)\n"
    );
    assert!(!store.exists());
}

/// With `--store`, lines are checked against the stored cases: an event
/// after a stored `closed` breaks rule 2, a stored event is counted as
/// already stored, and the store is left as it was.
#[test]
fn with_a_store_the_stored_cases_count() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run_with_stdin(
        dir.path(),
        &["import", "-"],
        lines(&good_case(1)).into_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let before = export(dir.path());
    let mut ls = good_case(1);
    ls.push(line(1, 77, "responded", "2026-03-05T09:00:00Z", "{}"));
    ls.extend(good_case(2));
    let (code, out, _) =
        run_with_stdin(dir.path(), &["import", "--check"], lines(&ls).into_bytes());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("line 6 [after_close]: case 00000000-0000-0000-0000-000000000001"),
        "{out}"
    );
    assert!(
        out.contains("1 problem in 11 lines: 1 of 2 cases with problems\n")
            && out.contains(
                "import --reject would import 5 events in 1 case; 5 events already stored\n"
            ),
        "{out}"
    );
    assert_eq!(export(dir.path()), before, "the store changed");
    // Without the store, the same lines break the same rule (case 1 is
    // closed by its own lines) and nothing is already stored.
    let (_, alone, _) = run_alone_with_stdin(&["import", "--check"], lines(&ls).into_bytes());
    assert!(
        alone.starts_with("line 6 [after_close]")
            && alone.contains("import --reject would import 5 events in 1 case\n"),
        "{alone}"
    );
}

/// The list stops at 1,000 problems; the rest are counted.
#[test]
fn at_most_1000_problems_are_listed() {
    let ls: Vec<String> = (0..1005)
        .map(|i| line(9, 1000 + i, "responded", "2026-03-05T09:00:00Z", "{}"))
        .collect();
    let (code, out, _) = run_alone_with_stdin(&["import", "--check", "-"], lines(&ls).into_bytes());
    assert_eq!(code, 1);
    let listed = out.lines().filter(|l| l.starts_with("line ")).count();
    assert_eq!(listed, 1000);
    assert!(
        out.contains("... and 5 more problems (only the first 1000 are listed)\n")
            && out.contains("  not_opened  1005\n"),
        "{out}"
    );
}

#[test]
fn json_is_refused_for_a_plain_import() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run_with_stdin(
        dir.path(),
        &["import", "--format", "json", "-"],
        lines(&good_case(1)).into_bytes(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--format json is for --check"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "wrote a store"
    );
}

/// Event ids: one repeated in the file, one stored for another case, one
/// stored for another event of the case; each is its own rule.
#[test]
fn event_id_problems_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run_with_stdin(
        dir.path(),
        &["import", "-"],
        lines(&good_case(1)).into_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let mut ls = good_case(2);
    // Line 3 repeats line 2's id; line 6 uses an id of case 1; line 7 uses
    // the id of case 1's `responded` for a later one.
    ls[2] = ls[2].replace("000000000022", "000000000021");
    ls.push(line(
        3,
        10,
        "opened",
        "2026-03-05T09:00:00Z",
        r#"{"customer_id":"C-3","channel":"app","tier":"new"}"#,
    ));
    ls.push(line(1, 12, "responded", "2026-03-02T09:30:00+08:00", "{}"));
    let (code, out, _) =
        run_with_stdin(dir.path(), &["import", "--check"], lines(&ls).into_bytes());
    assert_eq!(code, 1);
    let problems: Vec<&str> = out.lines().filter(|l| l.starts_with("line ")).collect();
    assert_eq!(problems.len(), 3, "{out}");
    assert!(
        problems[0].starts_with("line 3 [event_id_repeated]")
            && problems[0].ends_with("repeats the one on line 2"),
        "{out}"
    );
    assert!(
        problems[1].starts_with("line 6 [event_id_of_another_case]"),
        "{out}"
    );
    assert!(
        problems[2].starts_with("line 7 [event_id_of_another_event]"),
        "{out}"
    );
}

/// Lines that are not text (too long, not UTF-8) are problems without a
/// case, and the check goes on after them.
#[test]
fn lines_that_are_not_text_do_not_stop_the_check() {
    let mut input = lines(&good_case(1)).into_bytes();
    input.extend(b"{\"case_id\":\"\xff\"}\n");
    input.extend(vec![b'x'; 70 * 1024]);
    input.push(b'\n');
    input.extend(lines(&good_case(2)).into_bytes());
    let (code, out, _) = run_alone_with_stdin(&["import", "--check"], input);
    assert_eq!(code, 1);
    let problems: Vec<&str> = out.lines().filter(|l| l.starts_with("line ")).collect();
    assert_eq!(
        problems,
        [
            "line 6 [not_utf8]: not valid UTF-8 (at byte 13)",
            "line 7 [line_too_long]: longer than 65536 bytes (not counting its line end)",
        ],
        "{out}"
    );
    assert!(
        out.contains("2 problems in 12 lines: 0 of 2 cases with problems and 2 lines whose case cannot be read\n")
            && out.contains("import --reject would import 10 events in 2 cases\n"),
        "{out}"
    );
}

/// A bad line whose case id can be read is a problem of its case; one that
/// gives `case_id` twice has no case, and both cases it names have the
/// problem.
#[test]
fn a_bad_line_belongs_to_the_case_it_names_once() {
    let mut input = Vec::new();
    let c = good_case(1);
    input.extend(lines(&c[..2]).into_bytes());
    input.extend(b"\xEF\xBB\xBF");
    input.extend(lines(&c[2..]).into_bytes());
    let mut c = good_case(2);
    c[0] = c[0].replacen(
        "{",
        r#"{"case_id":"00000000-0000-0000-0000-000000000003","#,
        1,
    );
    input.extend(lines(&c).into_bytes());
    input.extend(lines(&good_case(3)).into_bytes());
    input.extend(lines(&good_case(4)).into_bytes());
    let (code, out, _) = run_alone_with_stdin(&["import", "--check"], input);
    assert_eq!(code, 1);
    let problems: Vec<&str> = out.lines().filter(|l| l.starts_with("line ")).collect();
    // And lines 7 to 10: case 2 not opened.
    assert_eq!(problems.len(), 6, "{out}");
    assert!(
        problems[0].starts_with(
            "line 3 [byte_order_mark]: case 00000000-0000-0000-0000-000000000001: a byte-order mark"
        ),
        "{out}"
    );
    assert!(
        problems[1].starts_with("line 6 [duplicate_field]: field `case_id` is given twice")
            && problems[1].contains("appears 2 times (00000000-0000-0000-0000-000000000003, 00000000-0000-0000-0000-000000000002)"),
        "{out}"
    );
    assert!(
        out.contains("6 problems in 20 lines: 3 of 4 cases with problems and 1 line whose case cannot be read\n")
            && out.contains("import --reject would import 5 events in 1 case\n"),
        "{out}"
    );
}

/// A line whose event id repeats an earlier line's is the same problem
/// whatever the store holds (nothing, the file's first three events, all
/// its distinct events): `event_id_repeated` naming both lines, and the
/// counts say so. Before, a store holding the event counted both lines as
/// already stored, and a clean file.
#[test]
fn a_repeated_event_id_is_the_same_problem_whatever_the_store_holds() {
    let dir = tempfile::tempdir().unwrap();
    for (name, file) in files_with_a_repeat() {
        let input = lines(&file).into_bytes();
        let check = |held: u64| {
            let args = ["import", "--check", "--format", "json", "-"];
            let (code, out, err) = match held {
                0 => run_alone_with_stdin(&args, input.clone()),
                _ => run_with_stdin(dir.path().join(name), &args, input.clone()),
            };
            assert_eq!(code, 1, "{name}, {held} held: {out}{err}");
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["lines"], 6, "{name}: {out}");
            assert_eq!(v["problems"], 1, "{name}, {held} held: {out}");
            assert_eq!(v["already_stored"], held, "{name}: {out}");
            assert_eq!(v["new_events"], 5 - held, "{name}: {out}");
            let problem = v["problem_list"][0].clone();
            assert_eq!(problem["rule"], "event_id_repeated", "{out}");
            assert_eq!(problem["line"], 6, "{out}");
            let message = problem["message"].as_str().unwrap().to_owned();
            assert!(message.ends_with("repeats the one on line 2"), "{out}");
            problem
        };
        let alone = check(0);
        let store = dir.path().join(name);
        let mut held = 0;
        for upto in [3, 5] {
            let part = &file[held as usize..upto];
            let (code, _, err) = run_with_stdin(&store, &["import", "-"], lines(part).into_bytes());
            assert_eq!(code, 0, "{err}");
            held = upto as u64;
            assert_eq!(check(held), alone, "{name}, {held} held");
        }
    }
}
