//! Reading back: `read_stream`, `read_all`, `stream_version` and
//! `read_stream_from`, with gapless positions and versions.

use std::slice::from_ref;

use caseledger::{CaseId, EventData, EventLog, ExpectedVersion};

use super::support::{event_on, positions};

/// `read_stream` returns a stream's events in version order and `read_all`
/// the log in position order from any position; positions are gapless
/// across streams and versions gapless within each.
pub fn read_all_streams_from_a_position<L: EventLog>(make: &dyn Fn() -> L) {
    let log = make();
    let (a, b) = (CaseId::from_u128(1), CaseId::from_u128(2));
    // Three events on each of two streams, interleaved.
    for i in 0..3u64 {
        for (case, n) in [(a, 1u128), (b, 2)] {
            let id = n * 100 + u128::from(i);
            let m = i64::try_from(i).unwrap();
            let e = event_on(case, id, m, EventData::Responded);
            log.append(case, ExpectedVersion::Exact(i), from_ref(&e))
                .unwrap();
        }
    }
    assert_eq!(positions(&log, 1), [1, 2, 3, 4, 5, 6]);
    // The iterator is `Send`: a replay can run on another thread.
    let iter = log.read_all(2).unwrap();
    let moved = std::thread::scope(|s| s.spawn(move || iter.count()).join().unwrap());
    assert_eq!(moved, 5);
    assert_eq!(positions(&log, 5), [5, 6]);
    assert_eq!(positions(&log, 99), [0u64; 0]);
    assert_eq!(positions(&log, 0).len(), 6);
    for (case, first) in [(a, 1u64), (b, 2)] {
        let stream = log.read_stream(case).unwrap();
        let versions: Vec<u64> = stream.iter().map(|e| e.version).collect();
        let at: Vec<u64> = stream.iter().map(|e| e.position).collect();
        assert_eq!(versions, [1, 2, 3]);
        assert_eq!(at, [first, first + 2, first + 4]);
        assert!(stream.iter().all(|e| e.event.case_id == case));
    }
}

/// `stream_version` counts a stream's events (0: no stream), and
/// `read_stream_from` returns its events from a version on, the tail of
/// what `read_stream` returns: what a reader that knows a case up to a
/// version needs, and nothing more.
pub fn stream_version_and_read_stream_from_read_only_the_tail<L: EventLog>(make: &dyn Fn() -> L) {
    let log = make();
    let (a, b) = (CaseId::from_u128(1), CaseId::from_u128(2));
    assert_eq!(log.stream_version(a).unwrap(), 0);
    assert!(log.read_stream_from(a, 1).unwrap().is_empty());
    // Four events on a, two on b, interleaved.
    for i in 0..4u64 {
        let m = i64::try_from(i).unwrap();
        let e = event_on(a, 100 + u128::from(i), m, EventData::Responded);
        log.append(a, ExpectedVersion::Exact(i), from_ref(&e))
            .unwrap();
        if i < 2 {
            let e = event_on(b, 200 + u128::from(i), m, EventData::Responded);
            log.append(b, ExpectedVersion::Exact(i), from_ref(&e))
                .unwrap();
        }
    }
    assert_eq!(log.stream_version(a).unwrap(), 4);
    assert_eq!(log.stream_version(b).unwrap(), 2);
    assert_eq!(log.stream_version(CaseId::from_u128(3)).unwrap(), 0);
    let whole = log.read_stream(a).unwrap();
    for from in 0..=6u64 {
        let tail = log.read_stream_from(a, from).unwrap();
        let skip = usize::try_from(from.max(1) - 1).unwrap().min(whole.len());
        assert_eq!(tail, whole[skip..], "read_stream_from({from})");
    }
    let versions: Vec<u64> = log
        .read_stream_from(a, 3)
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, [3, 4]);
    let at: Vec<u64> = log
        .read_stream_from(b, 2)
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(at, [4], "b's second event is the log's fourth");
    // A refused append changes no version.
    let e = event_on(a, 300, 9, EventData::Responded);
    log.append(a, ExpectedVersion::Exact(1), from_ref(&e))
        .unwrap_err();
    assert_eq!(log.stream_version(a).unwrap(), 4);
}
