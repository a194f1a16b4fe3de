//! `import`: every kind of bad line is refused with its line number and
//! leaves the store unchanged; every harmless variation of the format is
//! accepted; re-imports append nothing.
#![allow(clippy::unwrap_used)]

mod common;
mod pg;

use common::*;
use pg::TestDb;

/// Imports `input` into a store that already holds case 1 (closed) and case
/// 2 (opened only); asserts it fails with status 1, leaves the store
/// unchanged, and returns stderr.
fn refused(input: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut base = good_case(1);
    base.push(line(
        2,
        20,
        "opened",
        "2026-03-02T09:00:00Z",
        r#"{"customer_id":"C-2","channel":"app","tier":"standard"}"#,
    ));
    let (code, _, err) = run_with_stdin(dir.path(), &["import", "-"], base.join("\n").into_bytes());
    assert_eq!(code, 0, "{err}");
    let before = export(dir.path());
    let (code, out, err) = run_with_stdin(dir.path(), &["import"], input.to_vec());
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(export(dir.path()), before, "the store changed");
    err
}

fn lines(ls: &[String]) -> Vec<u8> {
    (ls.join("\n") + "\n").into_bytes()
}

#[test]
fn malformed_json() {
    let mut ls = good_case(5);
    ls.insert(
        1,
        r#"{"case_id": "00000000-0000-0000-0000-000000000005", "type": "#.to_owned(),
    );
    let err = refused(&lines(&ls));
    assert!(err.contains("line 2: invalid JSON"), "{err}");
}

#[test]
fn missing_field() {
    let mut ls = good_case(5);
    ls[2] = ls[2].replace(r#""actor":"agent-17","#, "");
    let err = refused(&lines(&ls));
    assert!(err.contains("line 3: missing field `actor`"), "{err}");
}

#[test]
fn unknown_event_type() {
    let mut ls = good_case(5);
    ls[2] = ls[2].replace("responded", "teleported");
    let err = refused(&lines(&ls));
    assert!(
        err.contains("line 3") && err.contains("teleported"),
        "{err}"
    );
}

#[test]
fn unknown_enum_value() {
    let mut ls = good_case(5);
    ls[0] = ls[0].replace(r#""phone""#, r#""pigeon""#);
    let err = refused(&lines(&ls));
    assert!(
        err.contains("line 1") && err.contains("data.channel") && err.contains("pigeon"),
        "{err}"
    );
}

#[test]
fn resolved_before_classified() {
    let mut ls = good_case(5);
    ls.remove(1);
    let err = refused(&lines(&ls));
    assert!(
        err.contains("line 3") && err.contains("00000000-0000-0000-0000-000000000005"),
        "{err}"
    );
    assert!(
        err.contains("`resolved`") && err.contains("rule 4"),
        "{err}"
    );
}

#[test]
fn event_after_closed() {
    let mut ls = good_case(5);
    ls.push(line(5, 99, "responded", "2026-03-04T09:00:00Z", "{}"));
    let err = refused(&lines(&ls));
    assert!(err.contains("line 6") && err.contains("rule 2"), "{err}");
}

#[test]
fn breaks_a_rule_only_together_with_the_store() {
    // Case 1 is closed in the store; alone this line would be fine.
    let ls = [line(1, 77, "responded", "2026-03-05T09:00:00Z", "{}")];
    let err = refused(&lines(&ls));
    assert!(err.contains("line 1") && err.contains("rule 2"), "{err}");
    // Case 2 is open in the store: opening it again breaks rule 1.
    let ls = [line(
        2,
        78,
        "opened",
        "2026-03-05T09:00:00Z",
        r#"{"customer_id":"C-2","channel":"app","tier":"standard"}"#,
    )];
    let err = refused(&lines(&ls));
    assert!(err.contains("line 1") && err.contains("rule 1"), "{err}");
}

#[test]
fn timestamp_runs_backwards() {
    let mut ls = good_case(5);
    ls[2] = ls[2].replace("2026-03-02T09:20:00+08:00", "2026-03-02T09:00:00+08:00");
    let err = refused(&lines(&ls));
    assert!(err.contains("line 3") && err.contains("rule 7"), "{err}");
}

#[test]
fn timestamp_without_offset() {
    let mut ls = good_case(5);
    ls[1] = ls[1].replace("2026-03-02T09:16:00+08:00", "2026-03-02T09:16:00");
    let err = refused(&lines(&ls));
    assert!(err.contains("line 2") && err.contains("`at`"), "{err}");
}

#[test]
fn invalid_utf8() {
    let mut input = lines(&good_case(5));
    let at = input.iter().position(|&b| b == b'\n').unwrap() + 1 + 10;
    input[at] = 0xff;
    let err = refused(&input);
    assert!(err.contains("line 2: not valid UTF-8"), "{err}");
}

#[test]
fn a_clash_with_an_id_of_another_case() {
    let ls = [line(
        9,
        10,
        "opened",
        "2026-03-05T09:00:00Z",
        r#"{"customer_id":"C-9","channel":"app","tier":"standard"}"#,
    )];
    let err = refused(&lines(&ls));
    assert!(
        err.contains("line 1") && err.contains("already used by case"),
        "{err}"
    );
}

#[test]
fn an_id_stored_for_another_event_of_the_case() {
    // Id 12 is case 1's `responded` at 09:20+08:00; this one is later.
    let ls = [line(1, 12, "responded", "2026-03-02T09:30:00+08:00", "{}")];
    let err = refused(&lines(&ls));
    assert!(
        err.contains("line 1")
            && err.contains("00000000-0000-0000-0001-000000000012")
            && err.contains("another event")
            && err.contains("position 3"),
        "{err}"
    );
}

/// Imports `input` into an empty store; returns stdout and the export.
fn accepted(input: &[u8]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run_with_stdin(dir.path(), &["import", "-"], input.to_vec());
    assert_eq!(code, 0, "{err}");
    (out, export(dir.path()))
}

#[test]
fn harmless_variations_are_accepted() {
    let plain = lines(&good_case(5));
    let (out, reference) = accepted(&plain);
    assert!(
        out.starts_with("imported 5 events in 1 case (1 new case)"),
        "{out}"
    );
    let without_times = |s: &str| {
        s.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("recorded_at");
                v
            })
            .collect::<Vec<_>>()
    };
    let variants: Vec<(&str, Vec<u8>)> = vec![
        (
            "blank lines",
            lines(&good_case(5))
                .iter()
                .flat_map(|&b| {
                    if b == b'\n' {
                        vec![b'\n', b' ', b'\n']
                    } else {
                        vec![b]
                    }
                })
                .collect(),
        ),
        ("no final newline", good_case(5).join("\n").into_bytes()),
        ("CRLF", good_case(5).join("\r\n").into_bytes()),
        ("BOM", [b"\xEF\xBB\xBF".as_slice(), &plain].concat()),
    ];
    for (what, input) in variants {
        let (_, exported) = accepted(&input);
        assert_eq!(
            without_times(&exported),
            without_times(&reference),
            "{what}"
        );
    }
    // Escapes and non-ASCII text survive the round trip.
    let mut ls = good_case(6);
    ls[3] = ls[3].replace(
        "card unblocked",
        r#"Karte entsperrt \u00e4 \"quoted\" \n 卡已解锁 😀"#,
    );
    let (_, exported) = accepted(&lines(&ls));
    let resolved: serde_json::Value =
        serde_json::from_str(exported.lines().nth(3).unwrap()).unwrap();
    assert_eq!(
        resolved["data"]["resolution"],
        "Karte entsperrt ä \"quoted\" \n 卡已解锁 😀"
    );
}

#[test]
fn an_empty_file_imports_nothing_and_says_so() {
    let (out, exported) = accepted(b"");
    assert_eq!(out, "nothing imported: the input holds no events\n");
    assert_eq!(exported, "");
    let (out, _) = accepted(b"\n\r\n  \n");
    assert!(out.starts_with("nothing imported"), "{out}");
}

#[test]
fn reimporting_appends_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    // Lines without event ids get ids derived from their bytes.
    let ls: Vec<String> = good_case(3)
        .into_iter()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(&l).unwrap();
            v.as_object_mut().unwrap().remove("event_id");
            v.to_string()
        })
        .collect();
    std::fs::write(&file, lines(&ls)).unwrap();
    let store = dir.path().join("store");
    let (code, out, _) = run(&store, &["import", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.starts_with("imported 5 events"), "{out}");
    let before = export(&store);
    let (code, out, _) = run(&store, &["import", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(out, "nothing imported: all 5 events are already stored\n");
    assert_eq!(export(&store), before);
}

#[test]
fn export_then_import_reproduces_the_log_report_and_histories() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    fixed_store(&first);
    let exported = export(&first);
    let (code, _, err) = run_with_stdin(&second, &["import", "-"], exported.clone().into_bytes());
    assert_eq!(code, 0, "{err}");
    let again = export(&second);
    let strip = |s: &str| -> Vec<serde_json::Value> {
        s.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("recorded_at");
                v
            })
            .collect()
    };
    assert_eq!(strip(&exported), strip(&again));
    let report = |d: &std::path::Path| {
        let (_, out, _) = run(d, &["report", "--group-by", "month", "--format", "csv"]);
        out
    };
    assert_eq!(report(&first), report(&second));
    let case = first_case(&first);
    let history = |d: &std::path::Path| {
        let (_, out, _) = run(d, &["history", &case]);
        out
    };
    assert_eq!(history(&first), history(&second));
}

#[test]
fn an_event_id_repeated_in_the_file() {
    let mut ls = good_case(5);
    ls[2] = ls[2].replace(
        "00000000-0000-0000-0001-000000000052",
        "00000000-0000-0000-0001-000000000051",
    );
    let err = refused(&lines(&ls));
    assert!(
        err.contains("line 3") && err.contains("repeats the one on line 2"),
        "{err}"
    );
}

/// History is imported as it happened: two follow-ups of one customer ten
/// days apart break the once-a-month cap, yet are imported (the cap is a
/// condition of new commands, not of recorded history), and the report
/// counts the breach.
#[test]
fn imported_follow_ups_that_break_the_cap_are_kept_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut ls = Vec::new();
    for (case, due) in [(1, "2026-03-10T09:00:00Z"), (2, "2026-03-20T09:00:00Z")] {
        let mut case_lines = good_case(case);
        let data = format!(r#"{{"due":"{due}","purpose":"feedback","channel":"phone"}}"#);
        let follow_up = line(
            case,
            case * 10 + 5,
            "follow_up_scheduled",
            "2026-03-02T11:00:00+08:00",
            &data,
        );
        case_lines.insert(4, follow_up);
        ls.extend(case_lines);
    }
    let (code, out, err) = run_with_stdin(dir.path(), &["import", "-"], lines(&ls));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let (code, report, err) = run(dir.path(), &["report", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let mut found = Vec::new();
    find_key(&report, "cap_violations", &mut found);
    assert_eq!(found.first(), Some(&serde_json::json!(1)), "{report}");
}

/// Every value of `key` in `v`, depth first.
fn find_key(v: &serde_json::Value, key: &str, found: &mut Vec<serde_json::Value>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if k == key {
                    found.push(x.clone());
                }
                find_key(x, key, found);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| find_key(x, key, found)),
        _ => {}
    }
}

/// The event id of a line of `good_case`.
fn id_of(l: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(l).unwrap();
    v["event_id"].as_str().unwrap().to_owned()
}

/// Imports `input` into a new store (where parsing, the rules and the
/// appends run as three stages); asserts it fails with status 1 and leaves
/// no store behind, and returns stderr.
fn refused_into_new_store(input: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (code, out, err) = run_with_stdin(&store, &["import"], input.to_vec());
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(!store.exists(), "a failed import into a new store left it");
    err
}

/// 5,000 good lines of 1,000 cases: more than one chunk of lines between
/// the import's stages.
fn thousand_cases() -> Vec<String> {
    (1..=1000).flat_map(good_case).collect()
}

/// An id repeated (found by the appends) before a broken rule (found by
/// the rules stage, which runs ahead): the error names the repeat, the
/// first bad line.
#[test]
fn a_repeat_before_a_broken_rule_is_the_error_in_a_new_store() {
    let mut ls = thousand_cases();
    ls[3000] = ls[3000].replace(&id_of(&ls[3000]), &id_of(&ls[1]));
    ls.push(line(1, 99_999, "responded", "2026-03-04T09:00:00Z", "{}"));
    let err = refused_into_new_store(&lines(&ls));
    assert!(
        err.contains("line 3001") && err.contains("repeats the one on line 2"),
        "{err}"
    );
    assert!(!err.contains("line 5001"), "{err}");
}

/// A broken rule before a repeated id: the error names the rule's line.
#[test]
fn a_broken_rule_before_a_repeat_is_the_error_in_a_new_store() {
    let mut ls = thousand_cases();
    ls[3000] = line(1, 99_999, "responded", "2026-03-04T09:00:00Z", "{}");
    let repeat = ls[4999].replace(&id_of(&ls[4999]), &id_of(&ls[1]));
    ls[4999] = repeat;
    let err = refused_into_new_store(&lines(&ls));
    assert!(err.contains("line 3001") && err.contains("rule 2"), "{err}");
    assert!(!err.contains("repeats"), "{err}");
}

/// The same file imported into a new store (three stages) and into a store
/// that already held an event (rules beside the appends) gives the same
/// events.
#[test]
fn both_import_paths_store_the_same_events() {
    let ls = thousand_cases();
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new");
    let (code, _, err) = run_with_stdin(&new, &["import"], lines(&ls));
    assert_eq!(code, 0, "{err}");
    let held = dir.path().join("held");
    let (code, _, err) = run_with_stdin(&held, &["import"], lines(&ls[..1]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run_with_stdin(&held, &["import"], lines(&ls));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 event was already stored"), "{out}");
    let events = |d: &std::path::Path| -> Vec<serde_json::Value> {
        export(d)
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                // Stamped by the clock of each import.
                if let Some(o) = v.as_object_mut() {
                    o.remove("recorded_at");
                }
                v
            })
            .collect()
    };
    assert_eq!(events(&new), events(&held));
}

/// A line given again (lines 1, 2, then line 1): its id repeats line 1's,
/// and the error says so, on both import paths and with `--check`'s words,
/// not that the copy breaks a rule (`opened` again, time running
/// backwards), which it does only because of the first.
#[test]
fn a_line_given_again_is_a_repeat_not_a_broken_rule() {
    let ls = good_case(5);
    let input = lines(&[ls[0].clone(), ls[1].clone(), ls[0].clone()]);
    let checked = caseledger()
        .args(["import", "--check", "-"])
        .write_stdin(input.clone())
        .output()
        .unwrap();
    let out = String::from_utf8(checked.stdout).unwrap();
    let words = out
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("line 3 [event_id_repeated]: "))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    assert!(words.ends_with("repeats the one on line 1"), "{words}");
    for err in [refused_into_new_store(&input), refused(&input)] {
        assert!(err.contains(&format!("line 3: {words}")), "{err}");
        assert!(!err.contains("rule"), "{err}");
    }
    // Far after it (the rules stage runs ahead of the appends).
    let mut ls = thousand_cases();
    ls.push(ls[0].clone());
    let err = refused_into_new_store(&lines(&ls));
    assert!(
        err.contains("line 5001") && err.contains("repeats the one on line 1"),
        "{err}"
    );
}

/// The line limit is on the line without its line end, the same in
/// `import` and `import --check`: 65,536 bytes pass with LF, CRLF or no
/// line end, 65,537 fail with each, and the check goes on with the next
/// line.
#[test]
fn the_line_limit_does_not_count_the_line_end() {
    let opened = &good_case(7)[0];
    for (len, fits) in [(65_536, true), (65_537, false)] {
        // Padded with spaces inside the object: valid JSON of `len` bytes.
        let long = format!(
            "{}{}}}",
            &opened[..opened.len() - 1],
            " ".repeat(len - opened.len())
        );
        assert_eq!(long.len(), len);
        for end in ["\n", "\r\n", ""] {
            let mut input = format!("{long}{end}").into_bytes();
            let mut lines_in = 1;
            if !end.is_empty() {
                input.extend(lines(&good_case(8)));
                lines_in += 5;
            }
            let what = format!("{len} bytes, end {end:?}");
            let n_lines = match lines_in {
                1 => "1 line".to_owned(),
                n => format!("{n} lines"),
            };
            let dir = tempfile::tempdir().unwrap();
            let (code, _, err) = run_with_stdin(dir.path().join("s"), &["import"], input.clone());
            let checked = caseledger()
                .args(["import", "--check", "-"])
                .write_stdin(input)
                .output()
                .unwrap();
            let out = String::from_utf8(checked.stdout).unwrap();
            if fits {
                assert_eq!(code, 0, "{what}: {err}");
                assert!(
                    out.starts_with(&format!("no problems in {n_lines}")),
                    "{what}: {out}"
                );
            } else {
                assert_eq!(code, 1, "{what}: {err}");
                let message = "longer than 65536 bytes (not counting its line end)";
                assert!(
                    err.contains(&format!("line 1\n  caused by: {message}")),
                    "{what}: {err}"
                );
                assert!(
                    out.starts_with("line 1 [line_too_long]: case ") && out.contains(message),
                    "{what}: {out}"
                );
                assert!(
                    out.contains(&format!("1 problem in {n_lines}")),
                    "{what}: {out}"
                );
            }
        }
    }
}

/// Only JSON's whitespace (space, tab, CR) makes a blank line, skipped; a
/// line of other whitespace is a bad line, named, in `import` and
/// `import --check` alike.
#[test]
fn a_line_of_other_whitespace_is_not_blank() {
    let ls = good_case(9);
    let mut blank = ls.clone();
    blank.insert(1, String::new());
    blank.insert(2, " \t \r".to_owned());
    let (out, _) = accepted(&lines(&blank));
    assert!(out.starts_with("imported 5 events"), "{out}");
    for (space, code) in [
        ("\u{a0}", "U+00A0"),
        ("\u{3000}", "U+3000"),
        ("\u{c}", "U+000C"),
        ("\u{b}", "U+000B"),
        ("\u{2028}", "U+2028"),
        ("\u{85}", "U+0085"),
    ] {
        let mut bad = ls.clone();
        bad.insert(2, format!(" \t{space} "));
        let message = format!(
            "invalid JSON: the line holds only whitespace, and {code} (at byte 3) is not \
             whitespace in JSON; a blank line may hold only spaces, tabs and CRs"
        );
        let err = refused(&lines(&bad));
        assert!(err.contains(&format!("line 3: {message}")), "{code}: {err}");
        let checked = caseledger()
            .args(["import", "--check", "-"])
            .write_stdin(lines(&bad))
            .output()
            .unwrap();
        let out = String::from_utf8(checked.stdout).unwrap();
        assert!(
            out.starts_with(&format!("line 3 [invalid_json]: {message}\n")),
            "{code}: {out}"
        );
    }
}

#[test]
fn a_failed_import_never_removes_a_store_another_import_filled_meanwhile() {
    use std::io::BufRead as _;
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("new");
    let good = tmp.path().join("good.jsonl");
    std::fs::write(&good, good_case(1).join("\n")).unwrap();
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, "{not json\n").unwrap();
    // The failing import looks first (no store: it would be its own to
    // remove), then waits while the other creates the store and commits.
    let mut failing = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseledger"))
        .env_remove("CASELEDGER_STORE")
        .arg("--store")
        .arg(&store)
        .arg("import")
        .arg(&bad)
        .env("CASELEDGER_TEST_IMPORT_PAUSE_MS", "1500")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(failing.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("CASELEDGER_TEST_IMPORT_PAUSE"), "{first}");
    let (code, out, err) = run(&store, &["import", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let filled = export(&store);
    let status = failing.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(rest.contains("nothing was imported"), "{rest}");
    assert_eq!(export(&store), filled, "the other import's events are kept");
}

#[test]
fn a_failed_import_removes_only_the_store_files_it_made() {
    // `new/../existing` does not exist as written (no `new` yet), but once
    // the import creates `new` it names `existing`, a directory of the
    // user's: a failed import must not take the user's file with it.
    let tmp = tempfile::tempdir().unwrap();
    let existing = tmp.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("user.txt"), "precious").unwrap();
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"bad\":1}\n").unwrap();
    let through = tmp.path().join("new").join("..").join("existing");
    let (code, _, err) = run(&through, &["import", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let mut left: Vec<String> = std::fs::read_dir(&existing)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["user.txt"],
        "the user's file stays, the store's files go"
    );
    assert_eq!(
        std::fs::read_to_string(existing.join("user.txt")).unwrap(),
        "precious"
    );
}

/// A line whose event id repeats an earlier line's is refused naming both
/// lines whatever the store holds: nothing of the file, its first three
/// events (a file sharing events with it), or all its distinct events (the
/// same file imported before, without the repeat). Before, a store holding
/// the event skipped both lines as "already stored" (6 counted for 5
/// events) or blamed the store. The same words on a store directory and on
/// PostgreSQL, and nothing is written.
#[test]
fn a_repeated_event_id_is_refused_whatever_the_store_holds() {
    let root = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let dir = root.path().join("s");
    let stores = [dir.as_os_str(), std::ffi::OsStr::new(&db.url)];
    let files = files_with_a_repeat();
    let mut first_words: Vec<String> = Vec::new();
    let held_parts = [0, 3, 5];
    for (i, held) in held_parts.iter().enumerate() {
        if i > 0 {
            let part = &good_case(5)[held_parts[i - 1]..*held];
            for store in stores {
                let (code, _, err) = run_with_stdin(store, &["import", "-"], lines(part));
                assert_eq!(code, 0, "{err}");
            }
        }
        for (f, (name, file)) in files.iter().enumerate() {
            let mut said = Vec::new();
            for store in stores {
                let before = (held > &0).then(|| export(store));
                let (code, out, err) = run_with_stdin(store, &["import", "-"], lines(file));
                assert_eq!(code, 1, "{name}, {held} held: {out}{err}");
                let want = format!(
                    "line 6: case 00000000-0000-0000-0000-00000000000{}: event id \
                     00000000-0000-0000-0001-000000000051 repeats the one on line 2",
                    if f == 2 { 6 } else { 5 }
                );
                assert!(err.contains(&want), "{name}, {held} held: {err}");
                assert!(err.contains("nothing was imported"), "{err}");
                if let Some(before) = before {
                    assert_eq!(export(store), before, "{name}: the store changed");
                }
                said.push(err);
            }
            assert_eq!(said[0], said[1], "{name}: the same words on both backends");
            match first_words.get(f) {
                None => first_words.push(said[0].clone()),
                Some(first) => assert_eq!(&said[0], first, "{name}: {held} held"),
            }
        }
    }
}
