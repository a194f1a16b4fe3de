//! Issue 11 through the command: input that once bricked a store is refused
//! at the door, reads that print a head check the chain, a summary that
//! cannot be written does not hide that the events were recorded.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

const LEAP: &str = r#"{"case_id":"0192f5c4-7d1e-7c3a-9a61-3f0c2b1d4e5f","type":"opened","at":"2016-12-31T23:59:60Z","actor":"agent-17","data":{"customer_id":"C-1001","channel":"phone"}}"#;

#[test]
fn a_leap_second_is_refused_and_the_store_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(dir.path(), &["generate", "--cases", "50"]);
    assert_eq!(code, 0, "{err}");
    let before = export(dir.path());
    for line in [
        LEAP.to_owned(),
        LEAP.replace("2016-12-31T23:59:60Z", "2026-03-02T09:15:60Z"),
    ] {
        let (code, _, err) = run_with_stdin(dir.path(), &["import"], line.into_bytes());
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("line 1") && err.contains("field `at`") && err.contains("leap second"),
            "{err}"
        );
    }
    assert_eq!(export(dir.path()), before);
    let (code, out, err) = run(dir.path(), &["verify"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn generate_refuses_a_start_whose_history_would_leave_year_9999() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        dir.path(),
        &[
            "generate",
            "--cases",
            "10",
            "--start",
            "9999-12-31T00:00:00Z",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("9999-12-31T23:59:59.999999999Z"), "{err}");
    assert!(
        !dir.path().join(caseledger_store::CHECKPOINT_FILE).exists(),
        "nothing was written"
    );
    // A start late enough to matter but early enough to fit round-trips.
    let (code, _, err) = run(
        dir.path(),
        &[
            "generate",
            "--cases",
            "30",
            "--start",
            "9998-06-01T00:00:00Z",
            "--span-days",
            "30",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let exported = export(dir.path());
    let copy = tempfile::tempdir().unwrap();
    let (code, _, err) = run_with_stdin(copy.path(), &["import"], exported.clone().into_bytes());
    assert_eq!(code, 0, "{err}");
    let strip = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("recorded_at");
                v
            })
            .collect()
    };
    assert_eq!(strip(&export(copy.path())), strip(&exported));
}

#[test]
fn time_flags_outside_years_1_to_9999_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    for t in ["0000-12-31", "+10000-01-01", "9999-12-31T23:59:60Z"] {
        let (code, _, err) = run(dir.path(), &["report", "--as-of", t]);
        assert_eq!(code, 2, "{t}: {err}");
        assert!(err.contains("--as-of"), "{err}");
    }
}

#[test]
fn a_field_given_twice_is_refused_with_its_line_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut ls = good_case(1);
    ls[0] = ls[0].replace(
        r#""customer_id":"C-1001","#,
        r#""customer_id":"C-1001","customer_id":"C-2002","#,
    );
    let (code, _, err) = run_with_stdin(dir.path(), &["import"], ls.join("\n").into_bytes());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("line 1: field `data.customer_id` is given twice"),
        "{err}"
    );
}

#[test]
fn a_byte_order_mark_after_the_first_line_is_named_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let ls = good_case(1);
    let input = format!("\u{FEFF}{}\n\u{FEFF}{}\n", ls[0], ls[1]);
    let (code, _, err) = run_with_stdin(dir.path(), &["import"], input.into_bytes());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("line 2:"), "{err}");
    assert!(err.contains("byte-order mark"), "{err}");
    assert!(!err.contains("line 1 column"), "{err}");
}

#[test]
fn a_summary_that_cannot_be_written_says_the_events_were_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let input = std::env::temp_dir().join(format!("i11-full-{}.jsonl", std::process::id()));
    std::fs::write(&input, good_case(1).join("\n")).unwrap();
    #[allow(deprecated)] // cargo_bin: the binary of this package, built for its tests.
    let exe = assert_cmd::cargo::cargo_bin("caseledger");
    let out = std::process::Command::new(exe)
        .arg("--store")
        .arg(dir.path())
        .arg("import")
        .arg(&input)
        .env_remove("CASELEDGER_STORE")
        .stdout(full)
        .output()
        .unwrap();
    std::fs::remove_file(&input).unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("imported 5 events (recorded; head position 5 hash ")
            && err.contains("but the summary could not be written"),
        "{err}"
    );
    assert!(!err.contains("nothing was imported"), "{err}");
    assert_eq!(
        export(dir.path()).lines().count(),
        5,
        "the events are stored"
    );
}

/// Changes the score of the first `surveyed` event in segment 1 of the
/// store in `dir` and fixes the frame's CRC, so that only the hash chain
/// can tell. Returns the event's case and position.
fn change_a_score(dir: &std::path::Path) -> (String, u64) {
    use caseledger_store::format::{FRAME_HEADER_BYTES, Record, decode_body, decode_frame};
    let path = dir.join(caseledger_store::segment_name(1));
    let mut bytes = std::fs::read(&path).unwrap();
    let mut at = 64;
    loop {
        let body = decode_frame(&bytes[at..]).unwrap().to_vec();
        if let Ok(Record::Event(r)) = decode_body(&body)
            && let caseledger::EventData::Surveyed(s) = &r.event.data
        {
            let score_at = match body[76] {
                2 => 77 + 1 + usize::from(body[77]),
                _ => 77,
            };
            assert_eq!(body[score_at], s.score.get());
            let body_start = at + FRAME_HEADER_BYTES;
            bytes[body_start + score_at] = if s.score.get() == 5 { 1 } else { 5 };
            let crc = crc32c::crc32c_append(
                crc32c::crc32c(&bytes[at..at + 4]),
                &bytes[body_start..body_start + body.len()],
            );
            bytes[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
            std::fs::write(&path, &bytes).unwrap();
            return (r.event.case_id.to_string(), r.position);
        }
        at += FRAME_HEADER_BYTES + body.len();
    }
}

#[test]
fn reads_that_print_a_head_refuse_a_tampered_record_and_name_its_position() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let (code, out, _) = run(dir.path(), &["report", "--format", "json"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"head_verified\": true"), "{out}");
    let (case, position) = change_a_score(dir.path());
    let at = format!("(position {position})");
    for args in [
        vec!["report", "--format", "json"],
        vec!["report", "--threads", "1"],
        vec!["export"],
        vec!["history", case.as_str()],
        vec!["verify"],
    ] {
        let (code, out, err) = run(dir.path(), &args);
        assert_eq!(code, 1, "{args:?} succeeded on a tampered store:\n{out}");
        assert!(
            err.contains("corruption") && err.contains(&at),
            "{args:?}: {err}"
        );
    }
    // The restore advice names the records before the changed one as the
    // good ones, never the whole log (the chain is checked beside the scan
    // that folds the events, so the folds run past the changed record).
    let good = position - 1;
    let (_, _, err) = run(dir.path(), &["verify"]);
    assert!(
        err.contains(&format!("the last good position is {good})")),
        "{err}"
    );
    let (_, out, _) = run(dir.path(), &["verify", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["problem"]["last_good_position"], good, "{out}");
    // --no-verify reads it, and says in every format that the head is not
    // verified.
    let (code, out, err) = run(dir.path(), &["report", "--no-verify", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"head_verified\": false"), "{out}");
    let (code, out, err) = run(dir.path(), &["report", "--no-verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("UNVERIFIED"), "{out}");
    let (code, out, err) = run(dir.path(), &["report", "--no-verify", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("UNVERIFIED"), "the CSV stays parseable");
    assert!(err.contains("UNVERIFIED"), "{err}");
}

#[test]
fn a_store_whose_segments_are_gone_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let aside = tempfile::tempdir().unwrap();
    let seg = dir.path().join(caseledger_store::segment_name(1));
    std::fs::rename(&seg, aside.path().join("seg")).unwrap();
    let checkpoint = std::fs::read(dir.path().join(caseledger_store::CHECKPOINT_FILE)).unwrap();
    let one = good_case(1).join("\n");
    let (code, out, err) = run_with_stdin(dir.path(), &["import"], one.into_bytes());
    assert_eq!(code, 1, "{out}");
    assert!(err.contains(&seg.display().to_string()), "{err}");
    let (code, out, err) = run(dir.path(), &["recover"]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("missing"), "{err}");
    let (code, _, err) = run(dir.path(), &["verify"]);
    assert_eq!(code, 1);
    assert!(err.contains(&seg.display().to_string()), "{err}");
    assert!(!err.contains("corruption:  at"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join(caseledger_store::CHECKPOINT_FILE)).unwrap(),
        checkpoint
    );
    assert!(!seg.exists());
}

#[test]
fn a_segment_that_is_a_directory_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let odd = dir.path().join(caseledger_store::segment_name(2));
    std::fs::create_dir(&odd).unwrap();
    for args in [vec!["verify"], vec!["report"], vec!["recover"]] {
        let (code, _, err) = run(dir.path(), &args);
        assert_eq!(code, 1, "{args:?}");
        assert!(
            err.contains(&format!(
                "{} is a directory, not a segment file",
                odd.display()
            )),
            "{args:?}: {err}"
        );
        assert!(!err.contains("corruption"), "{err}");
    }
}

/// A store whose creation a crash interrupted (a checkpoint, no segment:
/// nothing was ever acknowledged) is new to `generate` as to `import`,
/// `verify` calls it a torn tail that `recover` completes (not corruption
/// to restore from a backup), and `recover` says what it did.
#[test]
fn an_interrupted_creation_is_completed_not_reported_as_lost_data() {
    let dir = tempfile::tempdir().unwrap();
    // An empty checkpoint file alone.
    let bare = dir.path().join("bare");
    std::fs::create_dir(&bare).unwrap();
    std::fs::write(bare.join(caseledger_store::CHECKPOINT_FILE), b"").unwrap();
    let (code, out, err) = run(&bare, &["generate", "--cases", "5"]);
    assert_eq!(code, 0, "{out}{err}");
    // The checkpoint of an empty log, its segment gone.
    let empty = dir.path().join("empty");
    let (code, _, err) = run(&empty, &["import", "-"]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_file(empty.join(caseledger_store::segment_name(1))).unwrap();
    let (code, _, err) = run(&empty, &["verify"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("torn tail") && err.contains("creation was interrupted"),
        "{err}"
    );
    assert!(
        err.contains("next: `caseledger recover` completes the store's creation"),
        "{err}"
    );
    assert!(!err.contains("backup"), "{err}");
    let (code, out, err) = run(&empty, &["recover"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("recovered: completed the store's creation"),
        "{out}"
    );
    assert!(!out.contains("caseledger recover"), "{out}");
    let (code, out, _) = run(&empty, &["recover"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("nothing to recover"), "{out}");
    let (code, _, err) = run(&empty, &["generate", "--cases", "5"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(run(&empty, &["verify"]).0, 0);
    // A directory that holds no store is no store to recover: refused,
    // and left as it was.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "hi").unwrap();
    let (code, out, err) = run(&other, &["recover"]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("not a caseledger store"), "{err}");
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
}

/// Complete commits after the checkpoint (a crash after a commit's sync,
/// before its checkpoint; here, an older checkpoint put back): `verify`
/// checks them and says reads stop at the checkpoint until a writer's open;
/// `recover` says it took them in.
#[test]
fn commits_past_the_checkpoint_are_named_by_verify_and_taken_in_by_recover() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let checkpoint = dir.path().join(caseledger_store::CHECKPOINT_FILE);
    let old = std::fs::read(&checkpoint).unwrap();
    let before = head_position(dir.path());
    let more = good_case(900).join("\n");
    let (code, _, err) = run_with_stdin(dir.path(), &["import"], more.into_bytes());
    assert_eq!(code, 0, "{err}");
    let after = head_position(dir.path());
    assert!(after > before);
    std::fs::write(&checkpoint, &old).unwrap();
    let (code, out, _) = run(dir.path(), &["verify"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("head: position {after} "))
            && out.contains(&format!("note: the checkpoint records position {before}:")),
        "{out}"
    );
    assert_eq!(head_position(dir.path()), before, "reads stop there");
    // A torn tail after it too: recover says both what it cut and that the
    // checkpoint now records the last complete commit.
    let segment = dir.path().join(caseledger_store::segment_name(1));
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(b"torn");
    std::fs::write(&segment, bytes).unwrap();
    let (code, out, _) = run(dir.path(), &["recover"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("recovered: cut a torn tail"), "{out}");
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!(
            "\nrecovered: the checkpoint recorded position {before} and the log holds complete \
             commits to position {after}"
        )),
        "{out}"
    );
    assert_eq!(head_position(dir.path()), after);
    let (_, out, _) = run(dir.path(), &["verify"]);
    assert!(!out.contains("note:"), "{out}");
}

/// The head a report prints (reads stop at the checkpoint).
fn head_position(dir: &std::path::Path) -> u64 {
    let (code, out, err) = run(dir, &["report", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["head"]["position"].as_u64().unwrap()
}

#[test]
fn a_changed_byte_is_named_alike_by_verify_and_by_every_read() {
    // Bytes changed one at a time across a segment: a read that fails
    // names the damage (its kind, file, byte and position) as `verify`
    // does; one that succeeds (a changed byte of a stored checksum, whose
    // record the chain proves intact) prints the ledger unchanged.
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    fixed_store(&good);
    let want = export(&good);
    let segment = caseledger_store::segment_name(1);
    let bytes = std::fs::read(good.join(&segment)).unwrap();
    let damage = |text: &str| {
        let first = text.lines().next().unwrap_or_default();
        first.split_once("corruption: ").map(|(_, d)| d.to_owned())
    };
    let mut failed = 0;
    for at in (64..bytes.len()).step_by(bytes.len() / 40) {
        let dir = tmp.path().join(format!("at-{at}"));
        std::fs::create_dir(&dir).unwrap();
        for entry in std::fs::read_dir(&good).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
        let mut changed = bytes.clone();
        changed[at] ^= 0x20;
        std::fs::write(dir.join(&segment), &changed).unwrap();
        let (code, _, verified) = run(&dir, &["verify"]);
        assert_eq!(code, 1, "byte {at}: verify passed");
        let said = damage(&verified);
        for args in [
            &["export"][..],
            &["report", "--threads", "1"],
            &["report", "--threads", "2"],
        ] {
            let (code, out, err) = run(&dir, args);
            match code {
                0 => assert!(
                    args[0] != "export" || out == want,
                    "byte {at}: {args:?} printed a changed ledger"
                ),
                _ => {
                    failed += 1;
                    assert_eq!(damage(&err), said, "byte {at}: {args:?} said {err}");
                }
            }
        }
    }
    assert!(failed > 60, "most changed bytes stop a read: {failed}");
}

#[test]
fn every_summary_of_recorded_work_that_cannot_be_written_says_it_was_recorded() {
    // generate
    let tmp = tempfile::tempdir().unwrap();
    let generated = tmp.path().join("generated");
    let (code, err) = run_into_full(&generated, &["generate", "--cases", "5"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("(recorded; head position ") && err.contains("summary could not be written"),
        "{err}"
    );
    assert!(!export(&generated).is_empty(), "the events are stored");
    // import --reject: one good case, one bad line of another.
    let store = tmp.path().join("rejected");
    let input = tmp.path().join("in.jsonl");
    let mut lines = good_case(1);
    lines.push(line(2, 20, "opened", "2026-03-02T09:00:00Z", "{not json"));
    std::fs::write(&input, lines.join("\n")).unwrap();
    let reject = tmp.path().join("rejects.jsonl");
    let (code, err) = run_into_full(
        &store,
        &[
            "import",
            "--reject",
            reject.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("imported 5 events (recorded; head position 5 hash ")
            && err.contains(&format!("the rejected lines in {}", reject.display()))
            && err.contains("summary could not be written"),
        "{err}"
    );
    assert_eq!(export(&store).lines().count(), 5, "the events are stored");
    assert!(reject.exists(), "the reject file is there");
}
