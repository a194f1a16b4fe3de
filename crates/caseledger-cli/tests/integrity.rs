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
