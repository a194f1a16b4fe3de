//! Crash test of the embedded store with several writer threads: a child
//! process shares one `Store` among threads that append at once (single
//! appends, which group commit joins into one batch, and `Batch`es, which
//! take the writer alone), each printing an acknowledgement once its append
//! is durable; it is killed with SIGKILL at random moments. After each kill
//! the store reopens with every acknowledged append at its positions, every
//! append whole (never a part of one), and a chain that verifies; the next
//! child writes to it again.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use caseledger::*;
use caseledger_store::{Store, verify};
use caseledger_synth::SplitMix64;
use common::kills::*;
use common::*;

/// Writer threads in a child.
const THREADS: u64 = 6;

/// Appends per thread before the child waits to be killed.
const APPENDS_PER_THREAD: u64 = 12;

/// Child: `THREADS` threads append to the store in the argument's
/// directory at once, printing `ack UID FIRST SIZE` once each append is
/// durable.
#[test]
fn child_threads_appender() {
    let Some(arg) = child_arg() else { return };
    let (dir, cycle) = arg.split_once(' ').unwrap();
    let cycle: u64 = cycle.parse().unwrap();
    let store = Store::open(dir, small_segments()).unwrap();
    std::thread::scope(|s| {
        for thread in 0..THREADS {
            let store = &store;
            s.spawn(move || {
                let mut rng = SplitMix64::new(cycle * 100 + thread);
                for k in 0..APPENDS_PER_THREAD {
                    let uid = (cycle * 100 + thread) * 1_000 + k;
                    let big = rng.chance(0.1);
                    let size = 1 + rng.below(if big { 300 } else { 20 });
                    let events: Vec<Event> = (0..size)
                        .map(|i| event(u128::from(uid % 11), id(uid, size, i)))
                        .collect();
                    let first = if rng.chance(0.6) {
                        // One append to one stream: group commit may join
                        // it with the other threads' appends.
                        let case = CaseId::from_u128(u128::from(uid % 11));
                        store
                            .append(case, ExpectedVersion::Any, &events)
                            .unwrap()
                            .positions[0]
                    } else {
                        let mut batch = store.batch().unwrap();
                        let mut first = None;
                        for e in &events {
                            let done = batch
                                .append(e.case_id, ExpectedVersion::Any, std::slice::from_ref(e))
                                .unwrap();
                            first.get_or_insert(done.positions[0]);
                        }
                        batch.commit().unwrap();
                        first.unwrap()
                    };
                    // One line per write, so that lines of threads never mix.
                    print!("{}", format_args!("ack {uid} {first} {size}\n"));
                }
            });
        }
    });
    std::thread::sleep(Duration::from_secs(600));
}

fn crash_cycles(first_cycle: u64, cycles: u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let mut rng = SplitMix64::new(0x7ead ^ first_cycle);
    let mut acked = Acked::new();
    let mut cuts = 0;
    for cycle in first_cycle..first_cycle + cycles {
        kill_child_after_acks(
            "child_threads_appender",
            &format!("{path} {cycle}"),
            THREADS * APPENDS_PER_THREAD / 2,
            &mut rng,
            &mut acked,
        );
        let store = Store::open(dir.path(), small_segments()).unwrap();
        cuts += u64::from(store.recovery().cut_anything());
        check_log(&store, &acked, 1);
        drop(store);
        let report = verify(dir.path(), |_| {}).unwrap();
        assert!(report.events >= acked.values().map(|a| a.1).sum::<u64>());
    }
    assert!(!acked.is_empty(), "the children acknowledged nothing");
    eprintln!(
        "{cycles} kill cycles of {THREADS} writer threads, {} acknowledged appends, {cuts} torn \
         tails cut",
        acked.len()
    );
}

#[test]
fn writer_threads_killed_at_random_moments_lose_no_acknowledged_append() {
    crash_cycles(1, 20);
}

#[test]
#[ignore = "hundreds of kill cycles; run with --ignored"]
fn writer_threads_killed_hundreds_of_times() {
    crash_cycles(1_000, 400);
}
