//! `copy`: a ledger moved into another store keeps its positions, recorded
//! times and batches: the same `verify` head, the same `export` bytes, the
//! same report. A non-empty target is refused; an interrupted copy (stopped
//! at a chosen point, or killed) completes when run again.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;

/// A source ledger (`batched_source`, seed 11); how many batches.
fn source(dir: &Path, cases: u64) -> u64 {
    batched_source(dir, cases, 11)
}

fn report(dir: &Path) -> String {
    report_json(dir, "month")
}

/// The target is the same ledger as the source: same verified head, same
/// export bytes (positions and recorded times included), same report.
fn assert_same_ledger(a: &Path, b: &Path) {
    assert_eq!(verified_head(b), verified_head(a));
    assert_eq!(export(b), export(a));
    assert_eq!(report(b), report(a));
}

#[test]
fn a_copy_has_the_same_head_export_and_report() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let batches = source(a.path(), 400);
    let target = b.path().join("copy");
    let (code, out, err) = copy(a.path(), &target, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("in {batches} batches from ")),
        "{out}"
    );
    assert!(out.contains(&verified_head(a.path())), "{out}");
    assert_same_ledger(a.path(), &target);
    // Again: nothing to copy, nothing changes.
    let (code, out, err) = copy(a.path(), &target, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("nothing to copy: "), "{out}");
    assert_same_ledger(a.path(), &target);
}

#[test]
fn a_non_empty_target_is_refused_and_left_unchanged() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    source(a.path(), 50);
    fixed_store(b.path());
    let before = export(b.path());
    let (code, _, err) = copy(a.path(), b.path(), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("refused: ") && err.contains("is not empty"),
        "{err}"
    );
    assert_eq!(export(b.path()), before);
    // A store is not copied onto itself.
    let (code, _, err) = copy(a.path(), a.path(), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the same store"), "{err}");
}

#[test]
fn a_copy_stopped_between_or_inside_batches_completes_when_run_again() {
    let a = tempfile::tempdir().unwrap();
    let batches = source(a.path(), 200);
    assert!(batches > 10, "{batches}");
    // After 3 whole batches; inside the 6th batch (a torn, uncommitted tail
    // in the target, which the next open cuts); before the first event.
    for stop in ["3", "5:4", "0:0"] {
        let b = tempfile::tempdir().unwrap();
        let (code, _, err) = copy(a.path(), b.path(), &[("CASELEDGER_TEST_COPY_STOP", stop)]);
        assert_eq!(code, 75, "{stop}: {err}");
        let (code, out, err) = copy(a.path(), b.path(), &[]);
        assert_eq!(code, 0, "{stop}: {err}");
        if stop != "0:0" {
            assert!(out.starts_with("resumed: "), "{stop}: {out}");
        }
        assert_same_ledger(a.path(), b.path());
    }
}

#[test]
fn a_killed_copy_completes_when_run_again() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    source(a.path(), 3000);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseledger"))
        .args(["copy", "--source"])
        .arg(a.path())
        .arg("--target")
        .arg(b.path())
        .env_remove("CASELEDGER_STORE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    // SIGKILL (or it already finished: then the next run has nothing to do).
    let _ = child.kill();
    child.wait().unwrap();
    let (code, _, err) = copy(a.path(), b.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_same_ledger(a.path(), b.path());
}

#[test]
fn a_copy_killed_at_several_points_resumes_to_the_same_ledger() {
    let a = tempfile::tempdir().unwrap();
    let batches = source(a.path(), 300);
    assert!(batches > 12, "{batches}");
    // Each point on a new target: before the first event; inside the 4th
    // batch (uncommitted records in the target's segment, which the next
    // open cuts); after 8 whole batches; inside the last batch.
    let last = batches - 1;
    for point in ["0:0", "3:5", "8:0", &format!("{last}:1")] {
        let b = tempfile::tempdir().unwrap();
        copy_killed_at(a.path(), b.path(), point);
        let (code, out, err) = copy(a.path(), b.path(), &[]);
        assert_eq!(code, 0, "after a kill at {point}: {err}");
        if !point.starts_with("0:") {
            assert!(out.starts_with("resumed: "), "{point}: {out}");
        }
        assert_same_ledger(a.path(), b.path());
    }
    // Killed twice in a row before a run completes it.
    let b = tempfile::tempdir().unwrap();
    copy_killed_at(a.path(), b.path(), "2:3");
    copy_killed_at(a.path(), b.path(), "5:0");
    let (code, out, err) = copy(a.path(), b.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("resumed: "), "{out}");
    assert_same_ledger(a.path(), b.path());
}

#[test]
fn a_target_with_another_ledgers_prefix_is_refused() {
    // The same events in other batches: the chain differs at the target's
    // head, so it is not an interrupted copy of this source.
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    source(a.path(), 30);
    let (_, all, _) = run(a.path(), &["export"]);
    let first: String = all.lines().take(1).collect::<Vec<_>>().join("\n");
    let (code, _, err) = run_with_stdin(b.path(), &["import", "-"], first.into_bytes());
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = copy(a.path(), b.path(), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not an interrupted copy"), "{err}");
}
