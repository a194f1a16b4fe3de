//! `import --reject`: the valid cases of a messy file are imported in one
//! batch, every line of the other cases goes to the reject file with its
//! reason, and the fixed rejects import cleanly afterwards.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `caseledger --store STORE import --reject REJECTS INPUT`.
fn import_reject(store: &Path, rejects: &Path, input: &Path) -> (i32, String, String) {
    run(
        store,
        &[
            "import",
            "--reject",
            rejects.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    )
}

fn case(n: u32) -> String {
    format!("00000000-0000-0000-0000-{n:012}")
}

/// The lines of `text` whose `case_id` is one of `cases`, in order.
fn lines_of(text: &str, cases: &[u32]) -> Vec<String> {
    let wanted: Vec<String> = cases.iter().map(|&c| case(c)).collect();
    text.lines()
        .filter(|l| {
            wanted
                .iter()
                .any(|c| l.contains(&format!(r#""case_id":"{c}""#)))
        })
        .map(str::to_owned)
        .collect()
}

/// The export without the store's own fields, for comparing with input.
fn exported_events(dir: &Path) -> Vec<serde_json::Value> {
    export(dir)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("recorded_at");
            o.remove("position");
            v
        })
        .collect()
}

/// The event ids of `events`, in order.
fn event_ids(events: &[serde_json::Value]) -> Vec<String> {
    events.iter().map(|e| e["event_id"].to_string()).collect()
}

fn parsed(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            // The export writes `at` in UTC; the fixture's are UTC already.
            v.as_object_mut().unwrap().remove("rejected");
            v
        })
        .collect()
}

#[test]
fn the_good_cases_are_imported_and_every_line_of_the_bad_ones_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rejects = dir.path().join("rejects.jsonl");
    let input = fixture("messy.jsonl");
    let original = std::fs::read_to_string(&input).unwrap();
    let (code, out, err) = import_reject(&store, &rejects, &input);
    assert_eq!(code, 0, "{err}");
    let mut out_lines = out.lines();
    assert_eq!(
        out_lines.next(),
        Some("imported 10 events in 2 cases (2 new cases)")
    );
    assert_eq!(
        out_lines.next(),
        Some(
            format!(
                "rejected 4 cases (14 lines) and 1 line whose case cannot be read: written to {}",
                rejects.display()
            )
            .as_str()
        )
    );
    assert!(
        out_lines
            .next()
            .unwrap()
            .starts_with("head: position 10 hash ")
    );
    // Cases 1 and 5 (split across the file) are stored, as written.
    assert_eq!(
        exported_events(&store),
        parsed(&lines_of(&original, &[1, 5]))
    );
    // The reject file: every line of cases 2, 3, 4 and 6 and the line that is
    // not JSON, in file order, each the original bytes plus `rejected`.
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    let bad_lines: Vec<&str> = original
        .lines()
        .filter(|l| !lines_of(&original, &[1, 5]).iter().any(|g| g == l))
        .collect();
    assert_eq!(rejected.lines().count(), bad_lines.len());
    for (got, want) in rejected.lines().zip(&bad_lines) {
        let v: serde_json::Value = serde_json::from_str(got).unwrap();
        let reason = v["rejected"].as_str().unwrap();
        match v.get("text") {
            Some(text) => {
                assert_eq!(text, want);
                assert_eq!(reason, "line 15: invalid JSON: expected value at column 1");
            }
            None => {
                let suffix = format!(r#","rejected":{}}}"#, serde_json::Value::from(reason));
                assert_eq!(
                    got.strip_suffix(&suffix).map(|s| format!("{s}}}")),
                    Some(want.to_string())
                );
            }
        }
    }
    // Each case's reason is its first problem, with its line.
    let reason_of = |c: u32| -> String {
        rejected
            .lines()
            .find(|l| l.contains(&case(c)))
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["rejected"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .unwrap()
    };
    assert!(reason_of(2).starts_with("line 2: case ") && reason_of(2).contains("rule 1"));
    assert!(reason_of(3).starts_with("line 13: ") && reason_of(3).contains("rule 7"));
    assert!(
        reason_of(4).starts_with("line 17: ")
            && reason_of(4).contains("unknown field `channel_note`")
    );
    assert!(reason_of(6).starts_with("line 7: ") && reason_of(6).contains("rule 4"));
    let (code, _, err) = run(&store, &["verify"]);
    assert_eq!(code, 0, "{err}");
}

/// The rejects, fixed (as a person would: times corrected, lines moved,
/// the unknown field and the `rejected` field removed, the line that was
/// not JSON rewritten), pass --check and import cleanly.
#[test]
fn the_fixed_rejects_import_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rejects = dir.path().join("rejects.jsonl");
    let input = fixture("messy.jsonl");
    let (code, _, err) = import_reject(&store, &rejects, &input);
    assert_eq!(code, 0, "{err}");
    let mut fixed: Vec<serde_json::Value> = Vec::new();
    for l in std::fs::read_to_string(&rejects).unwrap().lines() {
        let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("rejected");
        if o.remove("text").is_some() {
            // "case 7 opened 2026-03-02 by phone", rewritten as an event.
            fixed.push(
                serde_json::from_str(&line(
                    7,
                    70,
                    "opened",
                    "2026-03-02T10:50:00Z",
                    r#"{"customer_id":"C-7","channel":"phone","tier":"standard"}"#,
                ))
                .unwrap(),
            );
            continue;
        }
        o.remove("channel_note");
        let id = o["event_id"].as_str().unwrap().to_owned();
        if id.ends_with("000000000020") {
            // Case 2's response was stamped before the opening: 09:06.
            o.insert("at".into(), "2026-03-02T09:06:00Z".into());
        }
        if id.ends_with("000000000032") {
            o.insert("at".into(), "2026-03-02T10:35:00Z".into());
        }
        if id.ends_with("000000000061") {
            // Case 6 was resolved before it was classified: after it.
            o.insert("at".into(), "2026-03-02T09:35:00Z".into());
        }
        fixed.push(v);
    }
    // Lines moved: case 2's response after its opening, case 6's resolution
    // after its classification.
    let pos = |fixed: &[serde_json::Value], id: &str| {
        fixed
            .iter()
            .position(|v| v["event_id"].as_str().unwrap().ends_with(id))
            .unwrap()
    };
    let r = fixed.remove(pos(&fixed, "000000000020"));
    fixed.insert(pos(&fixed, "000000000021") + 1, r);
    let r = fixed.remove(pos(&fixed, "000000000061"));
    fixed.insert(pos(&fixed, "000000000062") + 1, r);
    let fixed_file = dir.path().join("fixed.jsonl");
    let text: String = fixed.iter().map(|v| v.to_string() + "\n").collect();
    std::fs::write(&fixed_file, text).unwrap();
    let (code, out, err) = run(&store, &["import", "--check", fixed_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "no problems in 15 lines: 15 events to import in 5 cases (5 new cases)\n"
    );
    let (code, out, err) = run(&store, &["import", fixed_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("imported 15 events in 5 cases (5 new cases)\n"),
        "{out}"
    );
    assert_eq!(exported_events(&store).len(), 25);
    let (code, _, err) = run(&store, &["verify"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_clean_file_rejects_nothing_and_leaves_an_empty_reject_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rejects = dir.path().join("rejects.jsonl");
    std::fs::write(&rejects, "stale lines of an earlier run\n").unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, good_case(1).join("\n")).unwrap();
    let (code, out, err) = run(
        &store,
        &[
            "import",
            "--reject",
            rejects.to_str().unwrap(),
            "--format",
            "json",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            &v["imported_events"],
            &v["imported_cases"],
            &v["new_cases"],
            &v["rejected_cases"],
            &v["rejected_lines"],
            &v["lines_without_case"],
            &v["head"]["position"]
        ),
        (
            &5.into(),
            &1.into(),
            &1.into(),
            &0.into(),
            &0.into(),
            &0.into(),
            &5.into()
        )
    );
    assert_eq!(std::fs::read_to_string(&rejects).unwrap(), "");
}

/// Nothing to import: exit 1, and the reject file holds every line.
#[test]
fn when_every_case_is_rejected_the_exit_status_is_1() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rejects = dir.path().join("rejects.jsonl");
    let input = dir.path().join("in.jsonl");
    let mut ls = good_case(1);
    ls.remove(0);
    std::fs::write(&input, ls.join("\n")).unwrap();
    let (code, out, err) = import_reject(&store, &rejects, &input);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("nothing imported\nrejected 1 case (4 lines)"),
        "{out}"
    );
    assert!(err.contains("every case of"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap().lines().count(),
        4
    );
    // A reader that went away ends the summary quietly, not the status
    // (it exited 0).
    let again = dir.path().join("again");
    let rejects_again = dir.path().join("rejects-again.jsonl");
    let (code, err) = run_into_readerless_pipe(
        Some(&again),
        &[
            "import",
            "--reject",
            rejects_again.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("every case of"), "{err}");
    // Nothing imported into a store that did not exist: none is left
    // behind (as after any failed import).
    assert!(!store.exists(), "an empty store was left behind");
    // Into an existing store, the store stays.
    let (code, _, err) = run(&store, &["import", "-"]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_file(&rejects).unwrap();
    let (code, _, _) = import_reject(&store, &rejects, &input);
    assert_eq!(code, 1);
    assert!(store.join(caseledger_store::CHECKPOINT_FILE).exists());
}

/// When every case is rejected into a store that did not exist, the store
/// is removed but not a new directory that holds the reject file: the
/// message sends the user there.
#[test]
fn the_reject_file_outlives_the_store_it_did_not_fill() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new");
    let store = new.join("deeper/store");
    let rejects = new.join("rejects.jsonl");
    let input = dir.path().join("in.jsonl");
    let mut ls = good_case(1);
    ls.remove(0);
    std::fs::write(&input, ls.join("\n")).unwrap();
    let (code, out, err) = import_reject(&store, &rejects, &input);
    assert_eq!(code, 1, "{out}");
    let shown = rejects.display().to_string();
    assert!(out.contains(&format!("written to {shown}")), "{out}");
    assert!(err.contains(&format!("see {shown}")), "{err}");
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap().lines().count(),
        4
    );
    // The store and the new directories that held only it are gone.
    assert!(!new.join("deeper").exists());
    let left: Vec<_> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["rejects.jsonl"]);
}

/// A failure before the commit writes no reject file, imports nothing and
/// leaves no store behind.
#[test]
fn a_failed_import_writes_no_reject_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rejects = dir.path().join("missing-dir/rejects.jsonl");
    let input = fixture("messy.jsonl");
    let (code, _, err) = import_reject(&store, &rejects, &input);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(!rejects.exists() && !store.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn standard_input_and_check_together_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run_with_stdin(
        dir.path(),
        &["import", "--reject", "r.jsonl", "-"],
        good_case(1).join("\n").into_bytes(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("give a file, not standard input"), "{err}");
    let (code, _, err) = run(
        dir.path(),
        &["import", "--reject", "r.jsonl", "--check", "x"],
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A line that is not UTF-8 is rejected alone, shown with U+FFFD; the
/// cases around it are imported.
#[test]
fn a_line_that_is_not_text_is_rejected_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rejects = dir.path().join("rejects.jsonl");
    let input = dir.path().join("in.jsonl");
    let mut bytes = (good_case(1).join("\n") + "\n").into_bytes();
    bytes.extend(b"caf\xe9 au lait\n");
    bytes.extend(good_case(2).join("\n").into_bytes());
    std::fs::write(&input, bytes).unwrap();
    let (code, out, err) = import_reject(&store, &rejects, &input);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("imported 10 events in 2 cases (2 new cases)\nrejected 1 line whose case cannot be read: written to "),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap(),
        "{\"rejected\":\"line 6: not valid UTF-8 (at byte 4)\",\"text\":\"caf\u{fffd} au lait\"}\n"
    );
}

/// A bad line whose case id can be read all the same (a byte-order mark
/// before it, a byte that is not UTF-8, cut short, too long) rejects its
/// whole case: imported without the line, the case could never get it
/// back (a `responded` before the stored `resolved` breaks rule 7).
#[test]
fn a_bad_line_whose_case_can_be_read_rejects_its_case() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rejects = dir.path().join("rejects.jsonl");
    let input = dir.path().join("in.jsonl");
    fn push(bytes: &mut Vec<u8>, lines: &[String]) {
        for l in lines {
            bytes.extend(l.as_bytes());
            bytes.push(b'\n');
        }
    }
    let mut bytes = Vec::new();
    let c = good_case(1);
    push(&mut bytes, &c[..2]);
    bytes.extend(b"\xEF\xBB\xBF");
    push(&mut bytes, &c[2..]);
    let c = good_case(2);
    push(&mut bytes, &c[..1]);
    bytes.extend(c[1].replace("card", "card\u{1}").bytes().map(|b| match b {
        1 => 0xff,
        b => b,
    }));
    bytes.push(b'\n');
    push(&mut bytes, &c[2..]);
    push(&mut bytes, &good_case(4));
    let c = good_case(5);
    push(&mut bytes, &c[..2]);
    let long = c[2].replace(
        "\"data\":{}",
        &format!("\"data\":{{{}}}", " ".repeat(70_000)),
    );
    push(&mut bytes, &[long]);
    push(&mut bytes, &c[3..]);
    let c = good_case(3);
    push(&mut bytes, &c[..4]);
    bytes.extend(&c[4].as_bytes()[..60]);
    std::fs::write(&input, bytes).unwrap();

    let (code, out, err) = import_reject(&store, &rejects, &input);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(
            "imported 5 events in 1 case (1 new case)\nrejected 4 cases (20 lines): written to "
        ),
        "{out}"
    );
    assert_eq!(
        event_ids(&exported_events(&store)),
        event_ids(&parsed(&good_case(4)))
    );
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(rejected.lines().count(), 20, "{rejected}");
    for (line, problem) in [
        (3, "a byte-order mark"),
        (7, "not valid UTF-8"),
        (18, "longer than 65536 bytes"),
        (25, "EOF while parsing"),
    ] {
        let reason = format!("line {line}: case ");
        assert!(
            rejected
                .lines()
                .any(|l| l.contains(&reason) && l.contains(problem)),
            "{line}: {rejected}"
        );
    }
}

/// A line that gives `case_id` twice is filed under neither id: it is
/// rejected alone, saying why, and both cases it names are rejected.
#[test]
fn a_line_with_two_case_ids_rejects_both_cases() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rejects = dir.path().join("rejects.jsonl");
    let input = dir.path().join("in.jsonl");
    let mut ls = good_case(6);
    ls[0] = ls[0].replacen("{", &format!(r#"{{"case_id":"{}","#, case(7)), 1);
    ls.extend(good_case(7));
    ls.extend(good_case(8));
    std::fs::write(&input, ls.join("\n")).unwrap();
    let (code, out, err) = import_reject(&store, &rejects, &input);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(
            "imported 5 events in 1 case (1 new case)\nrejected 2 cases (9 lines) and 1 line \
             whose case cannot be read: written to "
        ),
        "{out}"
    );
    assert_eq!(
        event_ids(&exported_events(&store)),
        event_ids(&parsed(&good_case(8)))
    );
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    let first: serde_json::Value = serde_json::from_str(rejected.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["rejected"],
        format!(
            "line 1: field `case_id` is given twice; each field may appear once; `case_id` \
             appears 2 times ({}, {}), so the line belongs to no one case: it is refused, and \
             with it each case it names",
            case(7),
            case(6)
        )
    );
    assert_eq!(lines_of(&rejected, &[6, 7]).len(), 10, "{rejected}");
}

/// A line whose event id repeats an earlier line's rejects its case
/// whatever the store holds (nothing, the file's first three events, all
/// its distinct events), with the same reject file and exit status. Before,
/// a store holding the event took the repeat as already stored and
/// rejected nothing.
#[test]
fn a_repeated_event_id_rejects_its_case_whatever_the_store_holds() {
    let root = tempfile::tempdir().unwrap();
    for (n, (name, file)) in files_with_a_repeat().into_iter().enumerate() {
        let input = root.path().join(format!("in-{n}.jsonl"));
        std::fs::write(&input, file.join("\n") + "\n").unwrap();
        let store = root.path().join(format!("s-{n}"));
        let mut first = None;
        let mut held = 0;
        for upto in [0, 3, 5] {
            if upto > held {
                let part = file[held..upto].join("\n") + "\n";
                let (code, _, err) = run_with_stdin(&store, &["import", "-"], part.into_bytes());
                assert_eq!(code, 0, "{err}");
                held = upto;
            }
            let rejects = root.path().join(format!("rejects-{n}-{held}.jsonl"));
            let (code, out, err) = import_reject(&store, &rejects, &input);
            let rejected = std::fs::read_to_string(&rejects).unwrap();
            assert!(
                rejected.contains("line 6: case") && rejected.contains("repeats the one on line 2"),
                "{name}, {held} held: {out}{err}\n{rejected}"
            );
            match &first {
                None => first = Some((code, rejected)),
                Some(want) => assert_eq!(&(code, rejected), want, "{name}, {held} held"),
            }
        }
    }
}

/// `import --reject` killed (SIGKILL) while its temporary reject file
/// exists leaves that file behind; the next run into the same reject file
/// removes it, with the stale ones of its name whose process is gone and
/// that no process holds locked, and nothing else: not one whose process
/// lives (this test's own PID), not one locked by a live process (here
/// this test, under a dead PID: a run of another PID namespace), not the
/// temporaries of another file name, nor names that only look alike.
#[test]
fn a_temporary_reject_file_left_by_a_kill_is_removed_by_the_next_run() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("s");
    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let rejects = out.join("rejects.jsonl");
    let input = fixture("messy.jsonl");
    let args = [
        "import",
        "--reject",
        rejects.to_str().unwrap(),
        input.to_str().unwrap(),
    ];
    let left = killed_holding_its_temporary(&store, &args);
    assert_eq!(left.parent(), Some(out.as_path()));
    assert!(left.exists(), "{}", left.display());
    assert!(!rejects.exists());
    let dead = dead_pid();
    let named = |n: &str| out.join(n);
    let stale = named(&format!(".rejects.jsonl.{dead}.tmp"));
    let kept = [
        named(&format!(".rejects.jsonl.{}.tmp", std::process::id())),
        named(&format!(".rejects.jsonl.{}.tmp", dead + 1)),
        named(&format!(".other.jsonl.{dead}.tmp")),
        named(&format!(".rejects.jsonl.{dead}x.tmp")),
        named(".rejects.jsonl..tmp"),
        named(&format!("rejects.jsonl.{dead}.tmp")),
    ];
    for p in kept.iter().chain([&stale]) {
        std::fs::write(p, "left").unwrap();
    }
    // Held by a live process, whatever its name's PID says.
    let locked = std::fs::File::open(&kept[1]).unwrap();
    locked.try_lock().unwrap();
    let (code, out_text, err) = run(&store, &args);
    assert_eq!(code, 0, "{out_text}{err}");
    assert!(rejects.exists());
    assert!(!left.exists(), "the killed run's temporary is removed");
    assert!(!stale.exists(), "a stale temporary is removed");
    for p in &kept {
        assert!(p.exists(), "{} is kept", p.display());
    }
    drop(locked);
}
