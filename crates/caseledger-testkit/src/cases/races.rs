//! Appenders racing: on one stream, identical retries, and follow-ups
//! under the cap; every interleaving keeps the contract.

use std::slice::from_ref;

use caseledger::policy::follow_ups_too_close;
use caseledger::{
    AppendError, Appended, CaseId, ConditionFailure, EventData, EventId, EventLog, ExpectedVersion,
};
use chrono::{DateTime, Utc};

use super::support::{all_events, cap, event_on, follow_up_on, opened_for, responded};

/// Appenders racing on one stream, each retrying with the version its
/// refusal reports, get one winner per version: the versions are gapless
/// and every event is stored once.
pub fn racing_on_one_stream_gives_one_winner_per_version<L: EventLog>(make: &dyn Fn() -> L) {
    const THREADS: u128 = 8;
    const PER_THREAD: u128 = 60;
    let log = make();
    let case = CaseId::from_u128(1);
    let mut versions: Vec<u64> = std::thread::scope(|s| {
        let appenders: Vec<_> = (0..THREADS)
            .map(|t| {
                let log = &log;
                s.spawn(move || {
                    let mut won = Vec::new();
                    for i in 0..PER_THREAD {
                        let e = responded(1, t * 1_000 + i);
                        // Retry with the version the refusal reports until
                        // this event wins a version.
                        let mut expected = log.read_stream(case).unwrap().len() as u64;
                        loop {
                            match log.append(case, ExpectedVersion::Exact(expected), from_ref(&e)) {
                                Ok(done) => {
                                    won.push(done.stream_version);
                                    break;
                                }
                                Err(AppendError::WrongExpectedVersion { actual, .. }) => {
                                    expected = actual;
                                }
                                Err(other) => panic!("{other}"),
                            }
                        }
                    }
                    won
                })
            })
            .collect();
        appenders
            .into_iter()
            .flat_map(|a| a.join().unwrap())
            .collect()
    });
    versions.sort_unstable();
    let total = (THREADS * PER_THREAD) as u64;
    assert_eq!(
        versions,
        (1..=total).collect::<Vec<_>>(),
        "one winner per version"
    );
    let stream = log.read_stream(case).unwrap();
    assert_eq!(stream.len() as u64, total);
    assert!(stream.iter().zip(1..).all(|(e, v)| e.version == v));
    let mut ids: Vec<_> = stream.iter().map(|e| e.event.event_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as u64, total);
}

/// Identical retries of one append racing each other: one writes, every
/// other is answered as already stored with the winner's positions (the
/// concurrent form of point 3 of the contract), and the events are stored
/// once.
pub fn identical_retries_racing_are_answered_as_already_stored<L: EventLog>(make: &dyn Fn() -> L) {
    const RETRIES: usize = 8;
    const ROUNDS: u128 = 20;
    let log = make();
    for round in 0..ROUNDS {
        let case = CaseId::from_u128(1_000 + round);
        let batch = [
            event_on(case, round * 10 + 1, 0, EventData::Responded),
            event_on(case, round * 10 + 2, 1, EventData::Responded),
        ];
        let barrier = std::sync::Barrier::new(RETRIES);
        let answers: Vec<Appended> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..RETRIES)
                .map(|_| {
                    let (log, batch, barrier) = (&log, &batch, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        log.append(case, ExpectedVersion::NoStream, batch).unwrap()
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let written: Vec<&Appended> = answers.iter().filter(|a| !a.already_stored).collect();
        assert_eq!(written.len(), 1, "one writer, round {round}: {answers:?}");
        let winner = written[0];
        assert!(
            answers
                .iter()
                .all(|a| a.positions == winner.positions && a.stream_version == 2),
            "every retry answers the winner's positions: {answers:?}"
        );
        assert_eq!(log.stream_version(case).unwrap(), 2);
    }
    assert_eq!(all_events(&log).len() as u128, 2 * ROUNDS);
}

/// Threads scheduling follow-ups for the same customers at once, each on
/// its own cases and each carrying the cap: whatever the interleaving (for
/// the file store: appends of one group commit), no two recorded
/// follow-ups of a customer are closer than 30 days, and every refusal
/// names a recorded follow-up that is too close.
pub fn conditioned_appends_racing_keep_the_follow_up_cap<L: EventLog>(make: &dyn Fn() -> L) {
    const THREADS: u128 = 8;
    const PER_THREAD: u128 = 40;
    const CUSTOMERS: u128 = 3;
    let log = make();
    let customer = |t: u128| format!("C-{}", t % CUSTOMERS);
    let case_of = |t: u128| CaseId::from_u128(100 + t);
    for t in 0..THREADS {
        let e = opened_for(case_of(t), 1_000 + t, &customer(t));
        log.append(e.case_id, ExpectedVersion::NoStream, from_ref(&e))
            .unwrap();
    }
    let barrier = std::sync::Barrier::new(THREADS as usize);
    let refusals: Vec<(CaseId, EventId)> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (log, barrier) = (&log, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let case = case_of(t);
                    let mut refused = Vec::new();
                    let mut version = 1;
                    for i in 0..PER_THREAD {
                        // Dues spread over a year, different per thread.
                        let day = i64::try_from((i * 37 + t * 11) % 365).unwrap();
                        let e = follow_up_on(case, (t + 1) * 10_000 + i, day);
                        let condition = cap(&customer(t), &e);
                        match log.append_with(
                            case,
                            ExpectedVersion::Exact(version),
                            from_ref(&e),
                            from_ref(&condition),
                        ) {
                            Ok(done) => version = done.stream_version,
                            Err(AppendError::ConditionFailed {
                                failure: ConditionFailure::FollowUpCap(cap),
                                ..
                            }) => {
                                let EventData::FollowUpScheduled(f) = &e.data else {
                                    unreachable!("built as a follow-up")
                                };
                                assert!(follow_ups_too_close(cap.existing.due, f.due));
                                refused.push((cap.existing.case_id, cap.existing.event_id));
                            }
                            Err(other) => panic!("{other}"),
                        }
                    }
                    refused
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let recorded = all_events(&log);
    let mut by_customer: std::collections::HashMap<String, Vec<DateTime<Utc>>> =
        std::collections::HashMap::new();
    for r in &recorded {
        if let EventData::FollowUpScheduled(f) = &r.event.data {
            let t = r.event.case_id.as_uuid().as_u128() - 100;
            by_customer.entry(customer(t)).or_default().push(f.due);
        }
    }
    let mut scheduled = 0;
    for (customer, mut dues) in by_customer {
        dues.sort_unstable();
        scheduled += dues.len();
        for pair in dues.windows(2) {
            assert!(
                !follow_ups_too_close(pair[0], pair[1]),
                "customer {customer}: follow-ups due {} and {}",
                pair[0],
                pair[1]
            );
        }
    }
    assert!(
        scheduled > 0 && !refusals.is_empty(),
        "both outcomes happened"
    );
    // Every refusal named a follow-up that is recorded, in its case.
    for (case_id, event_id) in refusals {
        assert!(
            recorded
                .iter()
                .any(|r| r.event.event_id == event_id && r.event.case_id == case_id),
            "refusal names {event_id}, which is not recorded"
        );
    }
}
