//! Crash test: a child process appends with durable acknowledgements and is
//! killed with SIGKILL at random moments; after each kill the store must
//! reopen with every acknowledged event, no partly visible batch, and a
//! chain that verifies.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use caseledger::*;
use caseledger_store::{Store, verify};
use caseledger_synth::SplitMix64;
use common::kills::*;
use common::*;

/// Child: appends batches forever to the store in the argument's directory,
/// printing `ack UID FIRST SIZE` once each append or batch is durable.
#[test]
fn child_crash_appender() {
    let Some(arg) = child_arg() else { return };
    let (dir, cycle) = arg.split_once(' ').unwrap();
    let cycle: u64 = cycle.parse().unwrap();
    let store = Store::open(dir, small_segments()).unwrap();
    let mut rng = SplitMix64::new(cycle);
    // A bounded run, so the log stays small over many cycles; the parent
    // kills the child during it or while it waits at the end.
    for k in 0..BATCHES_PER_CHILD {
        let uid = cycle * 1_000_000 + k;
        let big = rng.chance(0.1);
        let size = 1 + rng.below(if big { 400 } else { 30 });
        let events: Vec<Event> = (0..size)
            .map(|i| event(u128::from((uid + i) % 13), id(uid, size, i)))
            .collect();
        let first = if rng.chance(0.5) {
            // One append to one stream.
            let case = CaseId::from_u128(u128::from(uid % 13));
            let events: Vec<Event> = events
                .into_iter()
                .map(|e| Event { case_id: case, ..e })
                .collect();
            store
                .append(case, ExpectedVersion::Any, &events)
                .unwrap()
                .positions[0]
        } else {
            // One batch over many streams.
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
        println!("ack {uid} {first} {size}");
    }
    std::thread::sleep(Duration::from_secs(600));
}

/// How many batches a child appends before it waits to be killed.
const BATCHES_PER_CHILD: u64 = 24;

/// Runs `cycles` kill cycles against one store (`first_cycle` seeds them).
fn crash_cycles(first_cycle: u64, cycles: u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let mut rng = SplitMix64::new(0x5eed ^ first_cycle);
    // uid -> (first position, size) of every acknowledged batch.
    let mut acked = Acked::new();
    let mut cuts = 0;
    let mut checked_to = 0;
    for cycle in first_cycle..first_cycle + cycles {
        kill_child_after_acks(
            "child_crash_appender",
            &format!("{path} {cycle}"),
            BATCHES_PER_CHILD / 2,
            &mut rng,
            &mut acked,
        );
        let store = Store::open(dir.path(), small_segments()).unwrap();
        cuts += u64::from(store.recovery().cut_anything());
        // A full check every tenth cycle; otherwise from the previous head
        // (recovery only ever cuts after the acknowledged end).
        let full = cycle % 10 == 0 || cycle + 1 == first_cycle + cycles;
        let from = if full { 1 } else { checked_to + 1 };
        check_log(&store, &acked, from);
        checked_to = store.head().position;
        drop(store);
        if full {
            let report = verify(dir.path(), |_| {}).unwrap();
            assert!(report.events >= acked.values().map(|a| a.1).sum::<u64>());
        }
    }
    assert!(!acked.is_empty(), "the children acknowledged nothing");
    eprintln!(
        "{cycles} kill cycles, {} acknowledged batches, {cuts} torn tails cut",
        acked.len()
    );
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_event() {
    crash_cycles(1, 100);
}

#[test]
#[ignore = "thousands of kill cycles; run with --ignored"]
fn sigkill_thousands_of_times() {
    // 3,000 cycles over 30 stores of 100, so that each reopen scans a log
    // of the default test's size rather than one that grows all along.
    for store in 0..30 {
        crash_cycles(1 + store * 100, 100);
    }
}
