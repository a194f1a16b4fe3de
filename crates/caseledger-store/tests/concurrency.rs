//! Many threads appending to many streams at once: gapless positions,
//! retries answered with their original positions, and a log that
//! verifies. (One winner per version on one stream is a case of the append
//! contract: tests/append_contract.rs.)
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use caseledger::*;
use caseledger_store::{Store, StoreOptions, verify};
use common::*;

const THREADS: u128 = 8;
const PER_THREAD: u128 = 60;

#[test]
fn many_streams_from_many_threads_and_retries_return_original_positions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), StoreOptions::default()).unwrap());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let case = CaseId::from_u128(100 + t);
                let mut firsts = Vec::new();
                for i in 0..PER_THREAD {
                    let batch = [
                        event(100 + t, t * 10_000 + 2 * i),
                        event(100 + t, t * 10_000 + 2 * i + 1),
                    ];
                    let expected = ExpectedVersion::Exact(2 * i as u64);
                    let done = store.append(case, expected, &batch).unwrap();
                    assert_eq!(done.stream_version, 2 * i as u64 + 2);
                    // A retry (say, after a lost reply) answers the same.
                    let again = store.append(case, expected, &batch).unwrap();
                    assert!(again.already_stored);
                    assert_eq!(again.positions, done.positions);
                    firsts.push(done.positions);
                }
                firsts
            })
        })
        .collect();
    let mut positions: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .flatten()
        .collect();
    positions.sort_unstable();
    let total = (THREADS * PER_THREAD * 2) as u64;
    assert_eq!(
        positions,
        (1..=total).collect::<Vec<_>>(),
        "gapless positions"
    );
    for t in 0..THREADS {
        let stream = store.read_stream(CaseId::from_u128(100 + t)).unwrap();
        assert!(stream.iter().zip(1..).all(|(e, v)| e.version == v));
        // A stream's two-event appends stay adjacent (each is atomic).
        assert!(stream.chunks(2).all(|c| c[1].position == c[0].position + 1));
    }
    drop(store);
    assert_eq!(verify(dir.path(), |_| {}).unwrap().events, total);
}
