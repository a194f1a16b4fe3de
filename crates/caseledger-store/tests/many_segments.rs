//! A store of more than 1,100 segments works without a file descriptor
//! per segment (issue 11): reads open segments lazily, one at a time for a
//! streaming read, and a store keeps at most `MAX_OPEN_SEGMENTS` open for
//! random reads. The open descriptors are counted in /proc/self/fd; this
//! file holds one test so that no other test's files are counted.
#![allow(clippy::unwrap_used)]

mod common;

use caseledger::*;
use caseledger_store::{LogReader, MAX_OPEN_SEGMENTS, Store, Until, verify};
use common::*;

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// An event with a summary of nearly the largest text: about 15 fit a
/// 64 KiB segment.
fn big(case: u128, id: u128) -> Event {
    Event {
        data: EventData::Opened(Opened {
            customer_id: CustomerId::new(format!("C-{case}")).unwrap(),
            channel: Channel::Phone,
            tier: Tier::Standard,
            summary: Some("s".repeat(4000)),
            origin: caseledger::Origin::Customer,
        }),
        ..event(case, id)
    }
}

#[test]
fn more_than_1100_segments_need_a_bounded_number_of_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = 17_000u128;
    {
        let store = Store::open(dir.path(), small_segments()).unwrap();
        let mut batch = store.batch().unwrap();
        for c in 0..cases {
            batch
                .append(
                    CaseId::from_u128(c),
                    ExpectedVersion::NoStream,
                    &[big(c, c + 1)],
                )
                .unwrap();
        }
        batch.commit().unwrap();
    }
    let segments = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            caseledger_store::parse_segment_name(name.to_str().unwrap()).is_some()
        })
        .count();
    assert!(segments > 1_100, "{segments} segments");
    let baseline = open_fds();
    // Two stores below, each with at most MAX_OPEN_SEGMENTS for random
    // reads, and a few descriptors besides: the writer's directory lock,
    // checkpoint and current segment, a streaming read's file.
    let bound = baseline + 2 * MAX_OPEN_SEGMENTS + 8;

    let store = Store::open(dir.path(), small_segments()).unwrap();
    assert!(open_fds() <= bound, "{} open after the open", open_fds());
    let read_only = Store::open_read_only(dir.path()).unwrap();
    // Random reads across every segment.
    for c in (0..cases).step_by(7) {
        assert_eq!(store.read_stream(CaseId::from_u128(c)).unwrap().len(), 1);
        assert_eq!(
            read_only.read_stream(CaseId::from_u128(c)).unwrap().len(),
            1
        );
        assert!(open_fds() <= bound, "{} open at case {c}", open_fds());
    }
    // Streaming reads: one segment at a time.
    let mut n = 0;
    for e in read_only.read_all(1).unwrap() {
        e.unwrap();
        n += 1;
        if n % 1000 == 0 {
            assert!(open_fds() <= bound, "{} open while reading", open_fds());
        }
    }
    assert_eq!(n, cases);
    let reader = LogReader::open(dir.path()).unwrap();
    assert_eq!(reader.read(1, Until::End).count() as u128, cases);
    drop((store, read_only));
    let report = verify(dir.path(), |_| {}).unwrap();
    assert_eq!(u128::from(report.events), cases);
    assert_eq!(report.segments as usize, segments);
    assert!(
        open_fds() <= baseline + 1,
        "{} open at the end, {baseline} before",
        open_fds()
    );
}
