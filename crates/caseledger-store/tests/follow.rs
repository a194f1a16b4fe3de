//! Following the log and keeping a projection current (issue 22): a
//! follower beside a writer in another process sees every committed event
//! once, in order, and no uncommitted one; a projection runner crashed at
//! every step of a small log (and killed with SIGKILL in a child process)
//! resumes from its checkpoint to the state a full replay gives; a damaged
//! checkpoint file is refused with a clear error.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::{Duration, Instant};

use caseledger::projection::Projection;
use caseledger::*;
use caseledger_store::follow::{
    FollowOptions, Follower, ProjectionRunner, RunnerOptions, checkpoint_bytes, load_checkpoint,
    temp_path,
};
use caseledger_store::{ErrorKind, ProjectionCheckpointReason, Store};
use caseledger_testkit::child::{child_arg, spawn_child};
use caseledger_testkit::trace::Trace;
use common::*;
use proptest::prelude::*;

/// The projection folded over the whole log: what every resume must reach.
fn full_replay(dir: &Path) -> Trace {
    let store = Store::open_read_only(dir).unwrap();
    let mut t = Trace::default();
    for e in store.read_all(1).unwrap() {
        let e = e.unwrap();
        t.observe(e.position, &e.event);
    }
    t
}

/// A store of `cases` synthetic cases in small batches over small segments.
fn small_store(dir: &Path, cases: u64) -> u64 {
    store_of(dir, cases, 22)
}

/// The child writer: appends the synthetic history in batches of 1 to 4
/// events with short pauses, abandons every fifth batch after writing it,
/// and prints `acked P` after each commit.
#[test]
fn child_writer() {
    let Some(dir) = child_arg() else { return };
    let store = Store::open(&dir, small_segments()).unwrap();
    let events = synth(60, 7);
    let mut rest = &events[..];
    let mut k = 0usize;
    while !rest.is_empty() {
        k += 1;
        let n = (1 + k % 4).min(rest.len());
        let mut batch = store.batch().unwrap();
        append_each_in(&mut batch, &rest[..n]);
        if k.is_multiple_of(5) {
            drop(batch);
            continue;
        }
        let head = batch.commit().unwrap().unwrap();
        rest = &rest[n..];
        println!("acked {}", head.position);
        if k.is_multiple_of(7) {
            std::thread::sleep(Duration::from_millis(3));
        }
    }
}

#[test]
fn a_follower_beside_a_writer_process_sees_each_committed_event_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), small_segments()).unwrap());
    let total = synth(60, 7).len() as u64;
    let mut follower = Follower::open(dir.path(), 1, FollowOptions::default()).unwrap();
    let child = spawn_child("child_writer", dir.path().to_str().unwrap());
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (seen.len() as u64) < total {
        assert!(
            Instant::now() < deadline,
            "the follower saw {} of {total}",
            seen.len()
        );
        if let Some(e) = follower.next_within(200).unwrap() {
            seen.push(e);
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    // Every committed position once, in order, and the same events as a
    // read of the finished log; nothing of the abandoned batches.
    let positions: Vec<u64> = seen.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=total).collect::<Vec<_>>());
    let store = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(seen, all(&store));
    assert_eq!(follower.try_next().unwrap(), None);
    assert_eq!(follower.verified_head(), store.head());
    // The child acknowledged batches while the follower read: it saw them
    // before the writer was done (its reads were incremental).
    let acks = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("acked"))
        .count();
    assert!(acks > 10, "{acks} batches acknowledged");
}

#[test]
fn a_follower_from_a_later_position_waits_for_it_and_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let head = small_store(dir.path(), 5);
    let mut follower = Follower::open(dir.path(), head - 1, FollowOptions::default()).unwrap();
    assert_eq!(follower.try_next().unwrap().unwrap().position, head - 1);
    assert_eq!(follower.next_within(0).unwrap().unwrap().position, head);
    let start = Instant::now();
    assert_eq!(follower.next_within(30).unwrap(), None);
    assert!(start.elapsed() >= Duration::from_millis(30));
    // A position beyond the head: nothing until it is written.
    let mut ahead = Follower::open(dir.path(), head + 3, FollowOptions::default()).unwrap();
    assert_eq!(ahead.try_next().unwrap(), None);
    let store = Store::open(dir.path(), small_segments()).unwrap();
    append_each(&store, &[event(900, 900_001), event(900, 900_002)]);
    assert_eq!(ahead.try_next().unwrap(), None);
    append_each(&store, &[event(900, 900_003)]);
    assert_eq!(
        ahead.next_within(1_000).unwrap().unwrap().position,
        head + 3
    );
}

#[test]
fn a_follower_refuses_options_out_of_range_and_a_directory_that_is_no_store() {
    let dir = tempfile::tempdir().unwrap();
    let e = Follower::open(dir.path(), 1, FollowOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NotAStore { .. }), "{e}");
    drop(Store::open(dir.path(), small_segments()).unwrap());
    for (options, name) in [
        (FollowOptions::default().poll_max_ms(0), "poll_max_ms"),
        (FollowOptions::default().poll_max_ms(20_000), "poll_max_ms"),
        (FollowOptions::default().poll_min_ms(0), "poll_min_ms"),
        (FollowOptions::default().poll_min_ms(60), "poll_min_ms"),
    ] {
        let e = Follower::open(dir.path(), 1, options).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::InvalidOption { name: n, .. } if *n == name),
            "{e}"
        );
    }
    let e = ProjectionRunner::open(
        dir.path(),
        dir.path().join("t.cp"),
        Trace::default(),
        RunnerOptions::default().every_events(0),
    )
    .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::InvalidOption {
                name: "every_events",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_follower_refuses_a_record_changed_behind_its_back() {
    let dir = tempfile::tempdir().unwrap();
    let head = small_store(dir.path(), 3);
    let mut follower = Follower::open(dir.path(), 1, FollowOptions::default()).unwrap();
    while follower.try_next().unwrap().is_some() {}
    // Rewrite the store from scratch with other events: same positions,
    // another chain. The follower's next read is anchored to the hash it
    // verified and refuses the new bytes.
    std::fs::remove_dir_all(dir.path()).unwrap();
    let store = Store::open(dir.path(), small_segments()).unwrap();
    let other: Vec<Event> = (1..=head + 2)
        .map(|i| event(1, u128::from(i) + 5_000))
        .collect();
    append_each(&store, &other);
    let e = follower.try_next().unwrap_err();
    assert!(e.is_corruption(), "{e}");
}

/// A directory for the crash tests' checkpoints: on a tmpfs when there is
/// one, since they test the resume logic, not the disk, and fsync there
/// costs nothing (hundreds of runs, a checkpoint per event).
fn scratch() -> tempfile::TempDir {
    match Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm").unwrap(),
        false => tempfile::tempdir().unwrap(),
    }
}

/// How a run of the runner ends in the crash tests.
#[derive(Debug, Clone, Copy)]
enum Crash {
    /// The process dies between two events.
    Between,
    /// It dies writing the next checkpoint: `cut` bytes of it reached the
    /// temporary file, which was not renamed.
    TornTemp { cut: usize },
    /// It dies right after storing a checkpoint on demand.
    AfterCheckpoint,
}

/// Runs a runner for `steps` events (or fewer if the log ends), then
/// "crashes" as `crash` says: the runner is dropped without a final
/// checkpoint, leaving what a crash at that point leaves on disk.
fn run_and_crash(dir: &Path, cp: &Path, every: u64, steps: u64, crash: Crash) {
    let options = RunnerOptions::default().every_events(every);
    let mut runner = ProjectionRunner::open(dir, cp, Trace::default(), options).unwrap();
    for _ in 0..steps {
        if runner.step(0).unwrap().is_none() {
            break;
        }
    }
    match crash {
        Crash::Between => {}
        Crash::TornTemp { cut } => {
            let bytes = checkpoint_bytes(cp, runner.position(), runner.state()).unwrap();
            std::fs::write(temp_path(cp), &bytes[..cut.min(bytes.len())]).unwrap();
        }
        Crash::AfterCheckpoint => runner.checkpoint().unwrap(),
    }
}

/// Resumes after a crash and runs to the end: the state a full replay gives.
fn resume_to_end(dir: &Path, cp: &Path, every: u64) -> (u64, Trace) {
    let options = RunnerOptions::default().every_events(every);
    let mut runner = ProjectionRunner::open(dir, cp, Trace::default(), options).unwrap();
    let start = runner.position();
    runner.catch_up().unwrap();
    assert!(runner.saved_position() >= start);
    runner.into_parts()
}

#[test]
fn a_runner_crashed_at_every_step_resumes_to_the_full_replay() {
    let dir = scratch();
    let head = small_store(dir.path(), 2);
    assert!(head >= 8, "a log of {head} events");
    let expected = full_replay(dir.path());
    let mut runs = 0;
    for every in [1, 3] {
        for steps in 0..=head {
            for crash in [
                Crash::Between,
                Crash::TornTemp { cut: 0 },
                Crash::TornTemp { cut: 20 },
                Crash::TornTemp { cut: 10_000 },
                Crash::AfterCheckpoint,
            ] {
                let cp = dir.path().join("trace.checkpoint");
                let _ = std::fs::remove_file(&cp);
                run_and_crash(dir.path(), &cp, every, steps, crash);
                let saved = load_checkpoint::<Trace>(&cp).unwrap().map_or(0, |(p, _)| p);
                // What survives: the last checkpoint due, or the one taken
                // on demand.
                let due = steps / every * every;
                let want = match crash {
                    Crash::AfterCheckpoint => steps,
                    _ => due,
                };
                assert_eq!(saved, want, "every {every}, {steps} steps, {crash:?}");
                let (position, state) = resume_to_end(dir.path(), &cp, every);
                assert_eq!(position, head);
                assert_eq!(state, expected, "every {every}, {steps} steps, {crash:?}");
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 2 * 5 * (head + 1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Several crashes in a row, each at a random step and in a random way,
    /// then a run to the end: still the full replay.
    #[test]
    fn runs_with_repeated_crashes_end_at_the_full_replay(
        every in 1u64..6,
        crashes in proptest::collection::vec((0u64..8, 0usize..4, 0usize..200), 1..6),
    ) {
        let dir = scratch();
        let head = small_store(dir.path(), 2);
        let expected = full_replay(dir.path());
        let cp = dir.path().join("trace.checkpoint");
        for (steps, kind, cut) in crashes {
            let crash = match kind {
                0 => Crash::Between,
                1 => Crash::TornTemp { cut },
                _ => Crash::AfterCheckpoint,
            };
            run_and_crash(dir.path(), &cp, every, steps, crash);
        }
        let (position, state) = resume_to_end(dir.path(), &cp, every);
        prop_assert_eq!(position, head);
        prop_assert_eq!(state, expected);
    }
}

/// A checkpoint fed beyond the store's head (saved against a longer
/// store, or the store restored from an older copy) is refused: resuming
/// from it would skip the events appended from the head on.
#[test]
fn a_checkpoint_beyond_the_stores_head_is_refused() {
    let longer = tempfile::tempdir().unwrap();
    let head = small_store(longer.path(), 4);
    let cp = longer.path().join("trace.checkpoint");
    let mut runner = ProjectionRunner::open(
        longer.path(),
        &cp,
        Trace::default(),
        RunnerOptions::default(),
    )
    .unwrap();
    runner.catch_up().unwrap();
    runner.checkpoint().unwrap();
    drop(runner);
    let shorter = tempfile::tempdir().unwrap();
    let short_head = small_store(shorter.path(), 2);
    assert!(short_head < head);
    let e = ProjectionRunner::open(
        shorter.path(),
        &cp,
        Trace::default(),
        RunnerOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::ProjectionCheckpoint {
                reason: ProjectionCheckpointReason::BeyondHead { position, head: h },
                ..
            } if *position == head && *h == short_head
        ),
        "{e}"
    );
    assert!(e.to_string().contains("beyond the store's head"), "{e}");
    // Against its own store it still resumes.
    ProjectionRunner::open(
        longer.path(),
        &cp,
        Trace::default(),
        RunnerOptions::default(),
    )
    .unwrap();
}

/// A store of `cases` synthetic cases of `seed`, in batches of three over
/// small segments.
fn store_of(dir: &Path, cases: u64, seed: u64) -> u64 {
    let store = Store::open(dir, small_segments()).unwrap();
    for chunk in synth(cases, seed).chunks(3) {
        let mut batch = store.batch().unwrap();
        append_each_in(&mut batch, chunk);
        batch.commit().unwrap();
    }
    store.head().position
}

/// A checkpoint of another log at a position within this store's head (a
/// longer store of other events; or this store restored from an older copy
/// that then took other events) is refused: it was accepted, and the read
/// model silently differed from a full replay from then on.
#[test]
fn a_checkpoint_of_another_log_within_the_head_is_refused() {
    let refused = |e: caseledger_store::Error| {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::ProjectionCheckpoint {
                    reason: ProjectionCheckpointReason::OtherLog { .. },
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("fed from another log"), "{e}");
    };
    let open_every = |dir: &Path, cp: &Path, every: u64| {
        let options = RunnerOptions::default().every_events(every);
        ProjectionRunner::open(dir, cp, Trace::default(), options)
    };
    let open = |dir: &Path, cp: &Path| open_every(dir, cp, 10_000);
    // Another store, longer than where the checkpoint was taken. With a
    // checkpoint due at every event too: those due in the first read
    // (before the follower has verified a commit) still end anchored.
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let a_head = store_of(a.path(), 3, 1);
    assert!(store_of(b.path(), 9, 2) > a_head);
    for every in [1, 5, 10_000] {
        let cp = tempfile::tempdir().unwrap();
        let cp = cp.path().join("trace.checkpoint");
        let mut runner = open_every(a.path(), &cp, every).unwrap();
        runner.catch_up().unwrap();
        runner.checkpoint().unwrap();
        drop(runner);
        refused(open(b.path(), &cp).unwrap_err());
        // Its own store still resumes, to a full replay's state; events
        // appended meanwhile are fed, and checkpoints due before the
        // resumed runner's first read completes keep the anchor.
        let mut runner = open_every(a.path(), &cp, every).unwrap();
        runner.catch_up().unwrap();
        assert_eq!(runner.state(), &full_replay(a.path()));
        runner.checkpoint().unwrap();
        drop(runner);
        refused(open(b.path(), &cp).unwrap_err());
    }
    // Resumed with events appended since, a checkpoint due before the
    // follower's first complete read keeps the loaded anchor.
    let c = tempfile::tempdir().unwrap();
    store_of(c.path(), 3, 6);
    let cp_dir = tempfile::tempdir().unwrap();
    let cp = cp_dir.path().join("trace.checkpoint");
    let mut runner = open(c.path(), &cp).unwrap();
    runner.catch_up().unwrap();
    runner.checkpoint().unwrap();
    let first = runner.saved_position();
    drop(runner);
    {
        let store = Store::open(c.path(), small_segments()).unwrap();
        let mut batch = store.batch().unwrap();
        append_each_in(&mut batch, &synth(3, 7)[..12]);
        batch.commit().unwrap();
    }
    let mut runner = open_every(c.path(), &cp, 4).unwrap();
    for _ in 0..4 {
        runner.step(1_000).unwrap().unwrap();
    }
    assert_eq!(runner.saved_position(), first + 4, "a checkpoint fell due");
    drop(runner);
    refused(open(b.path(), &cp).unwrap_err());

    // The store restored from an older copy, then given other events.
    let s = tempfile::tempdir().unwrap();
    let old = tempfile::tempdir().unwrap();
    store_of(s.path(), 2, 3);
    let copy_dir = |from: &Path, to: &Path| {
        for f in std::fs::read_dir(from).unwrap() {
            let f = f.unwrap().path();
            if f.is_file() && f.extension().is_none_or(|e| e != "checkpoint") {
                std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
            }
        }
    };
    copy_dir(s.path(), old.path());
    {
        let store = Store::open(s.path(), small_segments()).unwrap();
        let mut batch = store.batch().unwrap();
        append_each_in(&mut batch, &synth(6, 4)[..12]);
        batch.commit().unwrap();
    }
    let cp = tempfile::tempdir().unwrap();
    let cp = cp.path().join("trace.checkpoint");
    let mut runner = open(s.path(), &cp).unwrap();
    runner.catch_up().unwrap();
    runner.checkpoint().unwrap();
    let saved = runner.saved_position();
    drop(runner);
    // Restored: the older files back, then other events past the
    // checkpoint's position.
    for f in std::fs::read_dir(s.path()).unwrap() {
        let f = f.unwrap().path();
        if f.is_file() {
            std::fs::remove_file(f).unwrap();
        }
    }
    copy_dir(old.path(), s.path());
    {
        let store = Store::open(s.path(), small_segments()).unwrap();
        let mut batch = store.batch().unwrap();
        append_each_in(&mut batch, &synth(9, 5));
        batch.commit().unwrap();
        assert!(store.head().position > saved);
    }
    refused(open(s.path(), &cp).unwrap_err());
}

#[test]
fn a_damaged_checkpoint_file_is_refused_naming_the_file_and_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    small_store(dir.path(), 2);
    let cp = dir.path().join("trace.checkpoint");
    let mut runner =
        ProjectionRunner::open(dir.path(), &cp, Trace::default(), RunnerOptions::default())
            .unwrap();
    runner.catch_up().unwrap();
    runner.checkpoint().unwrap();
    drop(runner);
    let good = std::fs::read(&cp).unwrap();
    let open = || {
        ProjectionRunner::open(dir.path(), &cp, Trace::default(), RunnerOptions::default())
            .unwrap_err()
    };
    let mut flipped = good.clone();
    flipped[40] ^= 4;
    std::fs::write(&cp, &flipped).unwrap();
    let e = open();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::ProjectionCheckpoint {
                reason: ProjectionCheckpointReason::ChecksumMismatch,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("trace.checkpoint"), "{e}");
    std::fs::write(&cp, &good[..good.len() - 1]).unwrap();
    let e = open();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::ProjectionCheckpoint {
                reason: ProjectionCheckpointReason::Truncated { .. },
                ..
            }
        ),
        "{e}"
    );
    std::fs::write(&cp, b"{\"digest\": 1}").unwrap();
    let e = open();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::ProjectionCheckpoint {
                reason: ProjectionCheckpointReason::NotACheckpoint,
                ..
            }
        ),
        "{e}"
    );
    // A whole file whose state is another projection's.
    std::fs::write(&cp, checkpoint_bytes(&cp, 3, &vec!["x"]).unwrap()).unwrap();
    let e = open();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::ProjectionCheckpoint {
                reason: ProjectionCheckpointReason::State { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("does not read back"), "{e}");
}

/// The child runner: checkpoints after every event, prints `fed P` after
/// each, pausing 2 ms so the parent can kill it mid-run.
#[test]
fn child_runner() {
    let Some(arg) = child_arg() else { return };
    let (dir, cp) = arg.split_once('|').unwrap();
    let options = RunnerOptions::default().every_events(1);
    let mut runner = ProjectionRunner::open(dir, cp, Trace::default(), options).unwrap();
    while let Some(p) = runner.step(0).unwrap() {
        println!("fed {p}");
        std::thread::sleep(Duration::from_millis(2));
    }
    println!("done");
}

#[test]
fn a_runner_killed_with_sigkill_resumes_to_the_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let head = small_store(dir.path(), 8);
    let expected = full_replay(dir.path());
    let cps = tempfile::tempdir().unwrap();
    let cp = cps.path().join("trace.checkpoint");
    let arg = format!("{}|{}", dir.path().display(), cp.display());
    let mut last_saved = 0;
    // Kill points spread over the log; each run resumes from the last.
    for kill_at in [head / 5, head / 2, head * 4 / 5] {
        let mut child = spawn_child("child_runner", &arg);
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut fed = 0;
        while fed < kill_at {
            let line = lines.next().unwrap().unwrap();
            if let Some(p) = line.strip_prefix("fed ") {
                fed = p.parse().unwrap();
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let saved = load_checkpoint::<Trace>(&cp).unwrap().map_or(0, |(p, _)| p);
        // Every event it reported fed was checkpointed before the report.
        assert!(
            saved >= fed && saved >= last_saved,
            "saved {saved}, fed {fed}"
        );
        last_saved = saved;
    }
    let (position, state) = resume_to_end(dir.path(), &cp, 1);
    assert_eq!(position, head);
    assert_eq!(state, expected);
}
