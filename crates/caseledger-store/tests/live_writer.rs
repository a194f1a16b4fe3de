//! A running writer and everything around it (issue 11): `verify` and
//! readers never call a live writer's bytes damage nor make its open fail;
//! an operator's deleting the old lock file lets no second writer in; a
//! writer whose checkpoint is replaced under it stops committing.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use caseledger::*;
use caseledger_store::{
    CHECKPOINT_FILE, ErrorKind, LogReader, OwnershipLoss, Store, StoreOptions, Until, verify,
};
use common::*;

/// Writer sessions in the stress test: each opens the store, appends
/// small batches (one of them abandoned, so that uncommitted bytes come
/// and go), and closes it.
const SESSIONS: u64 = 400;

#[test]
fn verify_beside_a_live_writer_never_reports_damage_nor_fails_it() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), StoreOptions::default()).unwrap());
    let done = AtomicBool::new(false);
    let verifies = AtomicU64::new(0);
    let writes = AtomicU64::new(0);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut id = 0u128;
            for session in 0..SESSIONS {
                // The open must never fail because a verify probed the lock.
                let store = Store::open(dir.path(), StoreOptions::default())
                    .unwrap_or_else(|e| panic!("session {session}: the writer's open failed: {e}"));
                for k in 0..4 {
                    let mut batch = store.batch().unwrap();
                    for _ in 0..(1 + k % 3) {
                        id += 1;
                        let e = event(id % 7, id);
                        batch
                            .append(e.case_id, ExpectedVersion::Any, std::slice::from_ref(&e))
                            .unwrap();
                    }
                    if k == 2 {
                        // Abandoned: written, then removed again.
                        drop(batch);
                    } else {
                        batch.commit().unwrap();
                        writes.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            done.store(true, Ordering::Relaxed);
        });
        let checker = s.spawn(|| {
            let mut last = 0;
            while !done.load(Ordering::Relaxed) {
                let report = verify(dir.path(), |_| {})
                    .unwrap_or_else(|e| panic!("verify beside a live writer: {e}"));
                assert!(report.head.position >= last, "the head went back");
                last = report.head.position;
                let reader = LogReader::open(dir.path()).unwrap();
                let n = reader
                    .read(1, Until::End)
                    .map(|e| e.map(|_| ()))
                    .collect::<Result<Vec<()>, _>>()
                    .unwrap_or_else(|e| panic!("a read beside a live writer: {e}"))
                    .len() as u64;
                assert_eq!(n, reader.head().position);
                verifies.fetch_add(1, Ordering::Relaxed);
            }
        });
        writer.join().unwrap();
        checker.join().unwrap();
    });
    assert!(
        verifies.load(Ordering::Relaxed) > 10,
        "the race was exercised"
    );
    assert_eq!(writes.load(Ordering::Relaxed), SESSIONS * 3);
    let report = verify(dir.path(), |_| {}).unwrap();
    assert!(!report.writer_active);
}

/// Child: opens the store in the argument's directory for writing, appends
/// one event, says `ready`, waits for the file `<dir>.go`, appends another
/// and says how that went.
#[test]
fn child_holds_the_writer() {
    let Some(dir) = child_arg() else { return };
    let store = Store::open(&dir, StoreOptions::default()).unwrap();
    let first = event(1, 1);
    store
        .append(first.case_id, ExpectedVersion::NoStream, &[first])
        .unwrap();
    println!("ready");
    let go = format!("{dir}.go");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !Path::new(&go).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = event(1, 2);
    let outcome = match store.append(second.case_id, ExpectedVersion::Exact(1), &[second]) {
        Ok(_) => "ok".to_owned(),
        Err(AppendError::Log(e))
            if matches!(
                e.kind(),
                ErrorKind::NotOwner {
                    reason: OwnershipLoss::Replaced { .. }
                }
            ) =>
        {
            "not_owner".to_owned()
        }
        Err(e) => format!("other {e}"),
    };
    // Every later write is refused too.
    let third = event(1, 3);
    let again = store.append(third.case_id, ExpectedVersion::Any, &[third]);
    println!("result: {outcome} then {}", again.is_ok());
}

#[test]
fn deleting_the_lock_file_lets_no_second_writer_in_and_a_replaced_checkpoint_stops_the_first() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("store");
    let dir_text = dir.to_str().unwrap().to_owned();
    let mut child = spawn_child("child_holds_the_writer", &dir_text);
    // The child's test harness prints lines of its own; skip them.
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .filter(|l| l == "ready" || l.starts_with("result: "));
    assert_eq!(lines.next().unwrap(), "ready");
    // An operator's "stale lock" clean-up: whatever lock file there is.
    for name in ["LOCK", "lock"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let err = Store::open(&dir, StoreOptions::default()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Locked { .. }), "{err}");
    // Replace the checkpoint under the writer (a restore over it).
    let copy = dir.join("checkpoint.copy");
    std::fs::copy(dir.join(CHECKPOINT_FILE), &copy).unwrap();
    std::fs::rename(&copy, dir.join(CHECKPOINT_FILE)).unwrap();
    std::fs::write(format!("{dir_text}.go"), b"").unwrap();
    assert_eq!(lines.next().unwrap(), "result: not_owner then false");
    assert!(child.wait().unwrap().success());
    // The refused append left nothing behind: the log is the first event.
    let report = verify(&dir, |_| {}).unwrap();
    assert_eq!(report.head.position, 1);
    let store = Store::open(&dir, StoreOptions::default()).unwrap();
    assert!(!store.recovery().cut_anything());
    assert_eq!(store.read_stream(CaseId::from_u128(1)).unwrap().len(), 1);
}
