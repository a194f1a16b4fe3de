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

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use caseledger::*;
use caseledger_store::{Store, verify};
use caseledger_synth::SplitMix64;
use common::*;

/// Writer threads in a child.
const THREADS: u64 = 6;

/// Appends per thread before the child waits to be killed.
const APPENDS_PER_THREAD: u64 = 12;

/// An event id that says which append it belongs to, where, and how big
/// the append is: `uid << 32 | size << 16 | index`.
fn id(uid: u64, size: u64, index: u64) -> u128 {
    (u128::from(uid) << 32) | (u128::from(size) << 16) | u128::from(index)
}

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

fn record_ack(line: &str, acked: &mut BTreeMap<u64, (u64, u64)>) -> bool {
    let Some(rest) = line.trim().strip_prefix("ack ") else {
        return false;
    };
    let v: Vec<u64> = rest.split(' ').map(|s| s.parse().unwrap()).collect();
    acked.insert(v[0], (v[1], v[2]));
    true
}

/// Every acknowledged append is at its positions; every append in the log
/// is whole and its events consecutive (an append is never split, nor
/// interleaved with another); positions are gapless.
fn check_log(store: &Store, acked: &BTreeMap<u64, (u64, u64)>) {
    let events: Vec<RecordedEvent> = all(store);
    for (i, e) in (1..).zip(&events) {
        assert_eq!(e.position, i);
    }
    assert_eq!(events.len() as u64, store.head().position);
    let at = |p: u64| events.get(usize::try_from(p.checked_sub(1)?).ok()?);
    for (uid, &(first, size)) in acked {
        for i in 0..size {
            let stored = at(first + i).map(|e| e.event.event_id);
            assert_eq!(
                stored,
                Some(EventId::from_u128(id(*uid, size, i))),
                "acknowledged append {uid} at position {}",
                first + i
            );
        }
    }
    let mut p = 1;
    while let Some(e) = at(p) {
        let raw = e.event.event_id.as_uuid().as_u128();
        let (size, index) = ((raw >> 16) & 0xffff, raw & 0xffff);
        assert_eq!(index, 0, "an append starts at position {p}");
        for j in 0..size {
            let raw_j =
                at(p + u64::try_from(j).unwrap()).map(|e| e.event.event_id.as_uuid().as_u128());
            assert_eq!(raw_j, Some(raw + j), "the append at position {p} is whole");
        }
        p += u64::try_from(size).unwrap();
    }
}

fn crash_cycles(first_cycle: u64, cycles: u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let mut rng = SplitMix64::new(0x7ead ^ first_cycle);
    let mut acked: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut cuts = 0;
    for cycle in first_cycle..first_cycle + cycles {
        let mut child = spawn_child("child_threads_appender", &format!("{path} {cycle}"));
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let wait_for = rng.below(THREADS * APPENDS_PER_THREAD / 2);
        let mut line = String::new();
        let mut seen = 0;
        while seen < wait_for {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            seen += u64::from(record_ack(&line, &mut acked));
        }
        std::thread::sleep(Duration::from_micros(rng.below(1500)));
        child.kill().unwrap();
        child.wait().unwrap();
        for line in out.lines() {
            record_ack(&line.unwrap(), &mut acked);
        }
        let store = Store::open(dir.path(), small_segments()).unwrap();
        cuts += u64::from(store.recovery().cut_anything());
        check_log(&store, &acked);
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
