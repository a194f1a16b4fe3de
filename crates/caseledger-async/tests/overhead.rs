//! What the async face costs over the file store: the same commands
//! through the blocking `CaseService` and through `AsyncCaseService` on
//! `Blocking` (a hop to tokio's blocking pool per read and append), in
//! alternating rounds, medians and their ratio printed. A measurement, not
//! a test of speed: it asserts only that both recorded every command.
//!
//! Run: `cargo test --release -p caseledger-async --test overhead -- --ignored --nocapture`
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use std::time::{Duration, Instant};

use caseledger::{Action, CaseService, EventLog, SequentialIds};
use caseledger_async::{AsyncCaseService, Blocking};
use caseledger_store::{Store, StoreOptions};
use common::*;

const CASES: u128 = 100;
const ROUNDS: usize = 5;

/// Each case opened, classified and answered: three commands a case.
fn commands() -> Vec<caseledger::Command> {
    (0..CASES)
        .flat_map(|c| {
            [
                command(c, c * 10 + 1, 0, open("C-1")),
                command(c, c * 10 + 2, 1, classify()),
                command(c, c * 10 + 3, 2, Action::Respond),
            ]
        })
        .collect()
}

fn blocking_round() -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let s = CaseService::new(
        Store::open(dir.path(), StoreOptions::default()).unwrap(),
        SequentialIds::new(1),
    );
    let start = Instant::now();
    for c in commands() {
        s.execute_command(c).unwrap();
    }
    let took = start.elapsed();
    assert_eq!(
        EventLog::read_all(s.log(), 1).unwrap().count() as u128,
        3 * CASES
    );
    took
}

fn async_round(rt: &tokio::runtime::Runtime) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let s = AsyncCaseService::new(Blocking::new(store), SequentialIds::new(1));
    let start = Instant::now();
    rt.block_on(async {
        for c in commands() {
            s.execute_command(c).await.unwrap();
        }
    });
    let took = start.elapsed();
    let log = s.log().log();
    assert_eq!(
        EventLog::read_all(&**log, 1).unwrap().count() as u128,
        3 * CASES
    );
    took
}

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort_unstable();
    d[d.len() / 2]
}

#[test]
#[ignore = "a measurement: run it on its own, in release"]
fn the_async_face_over_the_file_store_costs_a_pool_hop_per_call() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (mut blocking, mut asynchronous) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        blocking.push(blocking_round());
        asynchronous.push(async_round(&rt));
    }
    let (b, a) = (median(blocking), median(asynchronous));
    let per = |d: Duration| d.as_secs_f64() * 1e6 / (3 * CASES) as f64;
    println!(
        "{} commands, {ROUNDS} alternating rounds, medians: blocking {:.1} µs/command, \
         async on the blocking pool {:.1} µs/command, ratio async/blocking {:.2}",
        3 * CASES,
        per(b),
        per(a),
        a.as_secs_f64() / b.as_secs_f64()
    );
}
