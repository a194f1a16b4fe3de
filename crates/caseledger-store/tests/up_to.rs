//! `LogReader::up_to`: the log as it stood at each past head, over many
//! small segments and batches of every size: its head is the one the store
//! had after that commit, its reads (sequential and partitioned) hand out
//! exactly the events up to it, and a position that was never a head is
//! named as beyond the head or inside its batch.
#![allow(clippy::unwrap_used)]

mod common;

use caseledger_store::{ErrorKind, Head, LogReader, Store, Until};
use common::*;

#[test]
fn every_past_head_reads_back_as_it_stood_and_other_positions_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let events = synth(300, 3);
    // (first position, head after the batch), one per batch.
    let mut batches: Vec<(u64, Head)> = Vec::new();
    {
        let store = Store::open(dir.path(), small_segments()).unwrap();
        let (mut rest, mut size) = (events.as_slice(), 1);
        while !rest.is_empty() {
            let n = size.min(rest.len());
            let first = store.head().position + 1;
            let mut batch = store.batch().unwrap();
            append_each_in(&mut batch, &rest[..n]);
            batch.commit().unwrap();
            batches.push((first, store.head()));
            rest = &rest[n..];
            size = size * 5 % 23 + 1;
        }
    }
    let segments = segment_count(dir.path());
    assert!(segments > 3, "{segments} segments");
    let reader = LogReader::open(dir.path()).unwrap();
    let today = reader.head();
    for (first, head) in &batches {
        let then = reader.up_to(head.position).unwrap();
        assert_eq!(then.head(), *head);
        let read: Vec<u64> = then
            .read(1, Until::End)
            .map(|e| e.unwrap().position)
            .collect();
        assert_eq!(read, (1..=head.position).collect::<Vec<_>>());
        let parts =
            then.read(1, Until::End)
                .block_bytes(4096)
                .fold_partitions(3, |_| 0u64, |n, _| *n += 1);
        assert_eq!(parts.unwrap().iter().sum::<u64>(), head.position);
        for inside in *first..head.position {
            let err = reader.up_to(inside).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::InsideBatch { position, first: f, last }
                        if (*position, *f, *last) == (inside, *first, head.position)
                ),
                "{inside}: {err}"
            );
        }
    }
    assert_eq!(reader.up_to(0).unwrap().read(1, Until::End).count(), 0);
    let err = reader.up_to(today.position + 1).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::PastHead { position, head }
            if (*position, *head) == (today.position + 1, today.position)),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "position {} is beyond the log's head (position {}): the log never had a head there",
            today.position + 1,
            today.position
        )
    );
}
