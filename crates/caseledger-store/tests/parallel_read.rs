//! Issue 16: the parallel read of a whole log (`LogIter::fold_partitions`),
//! where threads share the reading by blocks, hands every partition exactly
//! the events a sequential read gives it, in position order, whatever the
//! blocks, threads, segments and batches; and stops where the read stops.
#![allow(clippy::unwrap_used)]

mod common;

use caseledger::*;
use caseledger_store::{LogReader, Store, Until, partition_of};
use common::*;

/// A store over several small segments: one large batch, many small
/// batches (a commit record every few events) and single appends.
fn store(dir: &std::path::Path) -> Vec<Event> {
    let store = Store::open(dir, small_segments()).unwrap();
    let events = synth(300, 3);
    let (big, rest) = events.split_at(events.len() / 2);
    let (small, single) = rest.split_at(rest.len() - 40);
    let mut batch = store.batch().unwrap();
    append_each_in(&mut batch, big);
    batch.commit().unwrap();
    for chunk in small.chunks(7) {
        let mut batch = store.batch().unwrap();
        append_each_in(&mut batch, chunk);
        batch.commit().unwrap();
    }
    append_each(&store, single);
    events
}

/// Each partition's events, as the parallel read folds them.
fn folded(read: caseledger_store::LogIter, parts: usize) -> Vec<Vec<RecordedEvent>> {
    read.fold_partitions(parts, |_| Vec::new(), |v, e| v.push(e))
        .unwrap()
}

/// Each partition's events, as the parallel read folds them by batches
/// ([`caseledger_store::LogIter::fold_partition_batches`]): copied out of
/// the borrowed batches, each of which is whole (1 to
/// [`kpi::REPLAY_BATCH_EVENTS`] events).
fn folded_by_batches(read: caseledger_store::LogIter, parts: usize) -> Vec<Vec<RecordedEvent>> {
    read.fold_partition_batches(
        parts,
        |_| Vec::new(),
        |v, batch| {
            assert!(!batch.is_empty() && batch.len() <= kpi::REPLAY_BATCH_EVENTS);
            v.extend_from_slice(batch);
        },
    )
    .unwrap()
}

/// Each partition's events, from a sequential read.
fn expected(all: &[RecordedEvent], parts: usize) -> Vec<Vec<RecordedEvent>> {
    let mut out = vec![Vec::new(); parts];
    for e in all {
        let id = *e.event.case_id.as_uuid().as_bytes();
        out[partition_of(&id, parts as u64) as usize].push(e.clone());
    }
    out
}

#[test]
fn every_partition_gets_its_events_in_order_whatever_the_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let events = store(dir.path());
    let reader = LogReader::open(dir.path()).unwrap();
    let segments = segment_count(dir.path());
    assert!(segments >= 3, "the log spans several segments ({segments})");
    let all: Vec<RecordedEvent> = reader.read(1, Until::End).map(Result::unwrap).collect();
    assert_eq!(all.len(), events.len());
    for parts in [1, 2, 3, 5] {
        let want = expected(&all, parts);
        // One frame a block, a few frames, about a segment, all of it.
        for block_bytes in [1, 500, 4096, 70_000, 1 << 24] {
            for verified in [true, false] {
                let read = reader.read(1, Until::End).block_bytes(block_bytes);
                let read = if verified { read } else { read.unverified() };
                assert_eq!(
                    folded(read, parts),
                    want,
                    "{parts} threads, blocks of {block_bytes} bytes, verified {verified}"
                );
                let read = reader.read(1, Until::End).block_bytes(block_bytes);
                let read = if verified { read } else { read.unverified() };
                assert_eq!(
                    folded_by_batches(read, parts),
                    want,
                    "by batches: {parts} threads, blocks of {block_bytes} bytes, \
                     verified {verified}"
                );
            }
        }
    }
}

#[test]
fn a_parallel_read_stops_where_the_read_stops() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let reader = LogReader::open(dir.path()).unwrap();
    let all: Vec<RecordedEvent> = reader.read(1, Until::End).map(Result::unwrap).collect();
    let middle = all[all.len() / 2].recorded_at;
    for until in [
        Until::Position(1),
        Until::Position(all.len() as u64 / 3),
        Until::Position(all.len() as u64 + 10),
        Until::RecordedAt(middle),
    ] {
        let sequential: Vec<RecordedEvent> = reader.read(1, until).map(Result::unwrap).collect();
        assert!(!sequential.is_empty());
        for block_bytes in [1, 3000] {
            let read = reader.read(1, until).block_bytes(block_bytes);
            assert_eq!(
                folded(read, 3),
                expected(&sequential, 3),
                "{until:?}, blocks of {block_bytes} bytes"
            );
        }
    }
    // From a later position: events before it are checked, not folded.
    let read = reader.read(40, Until::End).block_bytes(2000);
    assert_eq!(folded(read, 2), expected(&all[39..], 2));
}

#[test]
fn a_store_read_from_a_later_position_folds_the_same() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let store = Store::open_read_only(dir.path()).unwrap();
    let all: Vec<RecordedEvent> = store.read_all(1).unwrap().map(Result::unwrap).collect();
    // An anchored read (mid-log) folds on one thread, by the same partitions.
    let read = store.read(100, Until::End).unwrap();
    assert_eq!(folded(read, 3), expected(&all[99..], 3));
    let read = store.read(1, Until::End).unwrap();
    assert_eq!(folded(read, 4), expected(&all, 4));
}

#[test]
fn an_empty_log_folds_to_the_initial_states() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), small_segments()).unwrap());
    let reader = LogReader::open(dir.path()).unwrap();
    let states = reader
        .read(1, Until::End)
        .fold_partitions(3, |k| (k, 0), |(_, n), _| *n += 1)
        .unwrap();
    assert_eq!(states, vec![(0, 0), (1, 0), (2, 0)]);
}

/// The error of a read, as text: the sequential read's and the parallel
/// read's must be the same.
fn errors(reader: &LogReader) -> (String, Vec<String>) {
    let sequential = reader.read(1, Until::End).find_map(Result::err).unwrap();
    let parallel = [(2, 1), (3, 2000), (2, 1 << 20)]
        .into_iter()
        .map(|(parts, block_bytes)| {
            let read = reader.read(1, Until::End).block_bytes(block_bytes);
            read.fold_partitions(parts, |_| (), |(), _| ())
                .unwrap_err()
                .to_string()
        })
        .collect();
    (sequential.to_string(), parallel)
}

#[test]
fn a_cut_or_missing_segment_fails_the_parallel_read_as_the_sequential_one() {
    let base = tempfile::tempdir().unwrap();
    store(base.path());
    let cases: [(&str, Damage); 3] = [
        ("last segment cut short", |dir| {
            let last = last_segment(dir);
            let len = std::fs::metadata(&last).unwrap().len();
            let file = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
            file.set_len(len - 30).unwrap();
        }),
        ("a middle segment cut short", |dir| {
            let path = dir.join(caseledger_store::segment_name(2));
            let len = std::fs::metadata(&path).unwrap().len();
            let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            file.set_len(len - 5).unwrap();
        }),
        ("a byte of a middle segment changed", |dir| {
            let path = dir.join(caseledger_store::segment_name(2));
            let mut bytes = std::fs::read(&path).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 0x01;
            std::fs::write(&path, bytes).unwrap();
        }),
    ];
    for (what, damage) in cases {
        let dir = tempfile::tempdir().unwrap();
        copy_store(base.path(), dir.path());
        damage(dir.path());
        let reader = LogReader::open(dir.path()).unwrap();
        let (sequential, parallel) = errors(&reader);
        for p in parallel {
            assert_eq!(p, sequential, "{what}");
        }
    }
}

/// A way to damage a store in a directory.
type Damage = fn(&std::path::Path);

/// The last segment file of a store.
fn last_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut n = 1;
    while dir.join(caseledger_store::segment_name(n + 1)).exists() {
        n += 1;
    }
    dir.join(caseledger_store::segment_name(n))
}

/// A thread that runs ahead does not read on without limit while another
/// is slow: the blocks split but not yet folded by every partition stay in
/// memory, so the fast thread waits once it is a few blocks (here records:
/// one frame a block) past the slowest one's. Before this limit, the fast
/// thread split and kept the whole log while the slow one folded its first
/// events (a peak of the whole log's bytes under valgrind's scheduling).
#[test]
fn a_fast_partition_waits_for_the_slowest_instead_of_reading_on() {
    use std::sync::Mutex;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let reader = LogReader::open(dir.path()).unwrap();
    // The highest position partition 1 folded, and the largest lead it had
    // over partition 0 when partition 0 folded an event.
    let fast_max = Mutex::new(0u64);
    let lead = Mutex::new(0u64);
    let counts = reader
        .read(1, Until::End)
        .block_bytes(1)
        .fold_partitions(
            2,
            |_| 0usize,
            |n, e| {
                *n += 1;
                let part = partition_of(e.event.case_id.as_uuid().as_bytes(), 2);
                if part == 0 {
                    let ahead = fast_max.lock().unwrap().saturating_sub(e.position);
                    let mut lead = lead.lock().unwrap();
                    *lead = (*lead).max(ahead);
                    drop(lead);
                    std::thread::sleep(Duration::from_micros(300));
                } else {
                    let mut max = fast_max.lock().unwrap();
                    *max = (*max).max(e.position);
                }
            },
        )
        .unwrap();
    let total = reader.read(1, Until::End).count();
    assert_eq!(counts.iter().sum::<usize>(), total);
    assert!(counts[0] > 50 && counts[1] > 50, "{counts:?}");
    // While partition 0 folds block n, no block from n + 4 on is split
    // (four blocks of look-ahead), so partition 1 folds at most block
    // n + 3, and a block (one frame) holds at most one position: a lead of
    // 3 positions at most. Without the limit the lead is most of the log.
    let lead = lead.into_inner().unwrap();
    assert!(
        lead <= 4,
        "partition 1 ran {lead} positions ahead of partition 0"
    );
}

/// A partition's `fold` that panics stops the whole read: the panic comes
/// back to the caller, and the other threads stop at their next block
/// rather than read on to the end (keeping every block the dead partition
/// would never take).
#[test]
fn a_panicking_fold_stops_every_thread_of_the_read() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let reader = LogReader::open(dir.path()).unwrap();
    let in_zero = reader
        .read(1, Until::End)
        .filter(|e| partition_of(e.as_ref().unwrap().event.case_id.as_uuid().as_bytes(), 2) == 0)
        .count();
    let folded_in_zero = AtomicUsize::new(0);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        reader.read(1, Until::End).block_bytes(1).fold_partitions(
            2,
            |_| (),
            |_, e| {
                if partition_of(e.event.case_id.as_uuid().as_bytes(), 2) == 1 {
                    panic!("a fold that fails");
                }
                folded_in_zero.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(300));
            },
        )
    }));
    assert!(result.is_err(), "the panic reaches the caller");
    let folded = folded_in_zero.into_inner();
    assert!(
        folded < in_zero / 2,
        "partition 0 folded {folded} of its {in_zero} events after partition 1 panicked"
    );
}
