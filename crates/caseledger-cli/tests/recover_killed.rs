//! SIGKILL during `caseledger recover`: a store whose last batch a crash
//! interrupted (its records written over many segments, no commit) is
//! recovered by `caseledger recover`, killed at random moments of its run;
//! `recover` run again finishes the cut, and the store verifies and is the
//! clean replay: the store as it was before the interrupted batch, with the
//! same verified head, export and report. (The store's own tests kill
//! recovery in the library, before each of its calls and at random
//! moments: crates/caseledger-store/tests/faults.rs and crash_recover.rs.)
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use caseledger_store::{CUT_DIR, Clock, MIN_SEGMENT_BYTES, Store, StoreOptions};
use caseledger_synth::SplitMix64;
use common::*;

/// Copies a store directory's files (not `cut/`).
fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Builds in `clean` a store of acknowledged batches, and in `torn` the
/// same store with the records of one more, large batch that a crash
/// interrupted before its commit (spanning many small segments).
fn clean_and_torn(clean: &Path, torn: &Path) {
    let events = synth_events(1_500, 26);
    let (acked, interrupted) = events.split_at(events.len() / 4);
    let options = StoreOptions::default()
        .segment_bytes(MIN_SEGMENT_BYTES)
        .clock(Clock::EventTime);
    let store = Store::open(clean, options).unwrap();
    for chunk in acked.chunks(40) {
        let mut batch = store.batch().unwrap();
        append_each_in(&mut batch, chunk);
        batch.commit().unwrap();
    }
    let mut batch = store.batch().unwrap();
    append_each_in(&mut batch, interrupted);
    // The files as a crash would leave them: the batch's records written,
    // no commit. Dropping the batch then takes them back from `clean`.
    copy_store(clean, torn);
    drop(batch);
    drop(store);
}

/// `caseledger --store DIR recover`, as a process to kill.
fn spawn_recover(dir: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("caseledger"))
        .arg("--store")
        .arg(dir)
        .arg("recover")
        .env_remove("CASELEDGER_STORE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn recover_killed_at_random_moments_then_run_again_gives_the_clean_replay() {
    let root = tempfile::tempdir().unwrap();
    let (clean, template) = (root.path().join("clean"), root.path().join("torn"));
    clean_and_torn(&clean, &template);
    let segments = std::fs::read_dir(&template).unwrap().count();
    assert!(
        segments > 10,
        "the torn batch spans many segments: {segments}"
    );
    let want_head = verified_head(&clean);
    let want_export = export(&clean);
    // How long an uninterrupted `recover` takes here (process start
    // included): the kills land within it.
    let calibrate = root.path().join("calibrate");
    copy_store(&template, &calibrate);
    let started = Instant::now();
    let status = spawn_recover(&calibrate).wait().unwrap();
    assert!(status.success(), "recover: {status}");
    let took = started.elapsed();
    assert_eq!(verified_head(&calibrate), want_head);

    let mut rng = SplitMix64::new(26);
    let (mut killed, mut cut_begun) = (0, 0);
    let cycles = 12;
    for cycle in 0..cycles {
        let dir = root.path().join(format!("cycle-{cycle}"));
        copy_store(&template, &dir);
        let mut child = spawn_recover(&dir);
        let delay = rng.below(u64::try_from(took.as_micros()).unwrap() + 1);
        std::thread::sleep(Duration::from_micros(delay));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if std::os::unix::process::ExitStatusExt::signal(&status) == Some(9) {
            killed += 1;
            cut_begun += u64::from(dir.join(CUT_DIR).exists());
        } else {
            assert!(status.success(), "cycle {cycle}: recover failed: {status}");
        }
        // Run again: it finishes the cut (or finds nothing left to cut).
        let (code, out, err) = run(&dir, &["recover"]);
        assert_eq!(code, 0, "cycle {cycle}: {err}");
        assert!(out.contains(&want_head), "cycle {cycle}: {out}");
        assert_eq!(verified_head(&dir), want_head, "cycle {cycle}");
        assert_eq!(export(&dir), want_export, "cycle {cycle}");
        if cycle == cycles - 1 {
            assert_eq!(report_json(&dir, "month"), report_json(&clean, "month"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(killed > 0, "no kill landed while recover ran");
    eprintln!(
        "{cycles} recovers killed at random moments (an uninterrupted one takes {took:?}): {killed} \
         killed, {cut_begun} of them after the cut had begun"
    );
}
