//! Many appenders on one PostgreSQL log: threads of one process (grouped
//! by the writer) and processes (queued on the head row's lock) appending
//! to overlapping cases; the follow-up cap across two processes; a reader
//! following the log while writers append.
//!
//! Children are this test binary run again (`caseledger_testkit::child`);
//! they print one line per result.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use caseledger::policy::follow_ups_too_close;
use caseledger::*;
use caseledger_postgres::{PgLog, PgOptions};
use caseledger_synth::SplitMix64;
use caseledger_testkit::child::{child_arg, child_lines, spawn_child};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::TestDb;

fn t(m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::minutes(m)
}

/// A `responded` event (the log checks no case rule; `verify_chain`
/// checks the storage alone).
fn event(case: u128, id: u128) -> Event {
    Event {
        event_id: EventId::from_u128(id),
        case_id: CaseId::from_u128(case),
        at: t(1),
        actor: Actor::System,
        data: EventData::Responded,
    }
}

const CASES: u64 = 12;

/// Appends `rounds` events, each to a random one of [`CASES`] cases at
/// the version read just before (so appenders race for versions); returns
/// `(case, version, position, event id)` of each append that won.
fn race(log: &PgLog, seed: u64, rounds: u64) -> Vec<(u128, u64, u64, u128)> {
    let mut rng = SplitMix64::new(seed);
    let mut won = Vec::new();
    for i in 0..rounds {
        let case = u128::from(1 + rng.below(CASES));
        let id = (u128::from(seed) << 32) | u128::from(i);
        let v = log.stream_version(CaseId::from_u128(case)).unwrap();
        match log.append(
            CaseId::from_u128(case),
            ExpectedVersion::Exact(v),
            &[event(case, id)],
        ) {
            Ok(done) => won.push((case, done.stream_version, done.positions[0], id)),
            Err(AppendError::WrongExpectedVersion { .. }) => {}
            Err(other) => panic!("append: {other}"),
        }
    }
    won
}

/// What every racing test checks on the final log: each winner is stored
/// where it was told, one event per (case, version), positions 1..=n with
/// no gap, nothing lost, and the chain verifies.
fn check_race(log: &PgLog, won: &[(u128, u64, u64, u128)]) {
    let all: Vec<RecordedEvent> = log.read_all(1).unwrap().map(|e| e.unwrap()).collect();
    assert_eq!(
        all.len(),
        won.len(),
        "every acknowledged append, nothing more"
    );
    let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
    assert_eq!(
        positions,
        (1..=won.len() as u64).collect::<Vec<_>>(),
        "gapless"
    );
    let by_position: HashMap<u64, &RecordedEvent> = all.iter().map(|e| (e.position, e)).collect();
    let mut versions = HashSet::new();
    for (case, version, position, id) in won {
        let e = by_position[position];
        assert_eq!(e.event.event_id, EventId::from_u128(*id));
        assert_eq!(
            (e.event.case_id, e.version),
            (CaseId::from_u128(*case), *version)
        );
        assert!(versions.insert((*case, *version)), "one winner per version");
    }
    let report = log.verify_chain(|_| {}).unwrap();
    assert_eq!(report.events, won.len() as u64);
}

#[test]
fn eight_threads_on_overlapping_cases_one_winner_per_version_gapless() {
    let db = TestDb::new();
    let log = db.log();
    let won: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let log = &log;
                s.spawn(move || race(log, 100 + i, 60))
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    assert!(won.len() >= 60, "some appends won: {}", won.len());
    check_race(&log, &won);
    // Grouped: fewer commit markers than appends, when threads overlapped.
    let report = log.verify_chain(|_| {}).unwrap();
    eprintln!(
        "8 threads: {} appends in {} transactions",
        won.len(),
        report.commits
    );
}

/// Child: races on the log at the URL given, with two threads, printing
/// `won CASE VERSION POSITION ID` per winning append.
#[test]
fn child_racer() {
    let Some(arg) = child_arg() else {
        return;
    };
    let Some(("race", rest)) = arg.split_once(' ') else {
        return;
    };
    let (url, p) = rest.rsplit_once(' ').unwrap();
    let p: u64 = p.parse().unwrap();
    let log = PgLog::connect(url, PgOptions::default()).unwrap();
    let won: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..2)
            .map(|i| {
                let log = &log;
                s.spawn(move || race(log, 1000 * (p + 1) + i, 40))
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    for (case, version, position, id) in won {
        println!("won {case} {version} {position} {id}");
    }
}

#[test]
fn four_processes_on_overlapping_cases_one_winner_per_version_gapless() {
    let db = TestDb::new();
    let log = db.log();
    let children: Vec<_> = (0..4)
        .map(|p| spawn_child("child_racer", &format!("race {} {p}", db.url)))
        .collect();
    let won: Vec<(u128, u64, u64, u128)> = child_lines(children, "won ")
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
            )
        })
        .collect();
    assert!(won.len() >= 40, "some appends won: {}", won.len());
    check_race(&log, &won);
}

#[test]
fn a_reader_following_four_writers_never_sees_a_gap() {
    let db = TestDb::new();
    let log = db.log();
    let writing = AtomicBool::new(true);
    let (won, read) = std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|i| {
                let log = &log;
                s.spawn(move || race(log, 500 + i, 80))
            })
            .collect();
        let reader = s.spawn(|| {
            let mut next = 1;
            let mut read = Vec::new();
            loop {
                // Read the flag before the log: once writing is over, one
                // more read sees everything.
                let last_round = !writing.load(Ordering::SeqCst);
                for e in log.read_all(next).unwrap() {
                    let e = e.unwrap();
                    assert_eq!(
                        e.position, next,
                        "the reader skipped or repeated a position"
                    );
                    next += 1;
                    read.push(e.position);
                }
                if last_round {
                    return read;
                }
            }
        });
        let won: Vec<_> = writers
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        writing.store(false, Ordering::SeqCst);
        (won, reader.join().unwrap())
    });
    assert_eq!(read, (1..=won.len() as u64).collect::<Vec<_>>());
    check_race(&log, &won);
}

// The follow-up cap across two processes.

const PROCESSES: u64 = 2;
const THREADS: u64 = 4;
const PER_THREAD: u64 = 6;
const CUSTOMERS: u64 = 4;

fn case_of(process: u64, thread: u64, k: u64) -> CaseId {
    CaseId::from_u128(1_000 + u128::from((process * THREADS + thread) * PER_THREAD + k))
}

fn customer_of_case(case: CaseId) -> String {
    format!(
        "C-{}",
        (case.as_uuid().as_u128() - 1_000) % u128::from(CUSTOMERS)
    )
}

/// Child: process `p` schedules a follow-up, due on a random day, on each
/// of its cases from 4 threads through a `CaseService`, printing `ok` or
/// `refused` per command.
#[test]
fn child_follow_up_scheduler() {
    let Some(arg) = child_arg() else {
        return;
    };
    let Some(("cap", rest)) = arg.split_once(' ') else {
        return;
    };
    let (url, p) = rest.rsplit_once(' ').unwrap();
    let p: u64 = p.parse().unwrap();
    let log = PgLog::connect(url, PgOptions::default()).unwrap();
    let service = CaseService::new(log, SequentialIds::new(1 + p * 1_000_000));
    let lines: Vec<String> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|thread| {
                let service = &service;
                s.spawn(move || {
                    let mut rng = SplitMix64::new((p << 32) | thread);
                    let mut lines = Vec::new();
                    for k in 0..PER_THREAD {
                        let case = case_of(p, thread, k);
                        let due = t(0) + Duration::days(rng.below(150) as i64);
                        let action = Action::ScheduleFollowUp(FollowUpScheduled {
                            due,
                            purpose: FollowUpPurpose::Feedback,
                            channel: Channel::Phone,
                        });
                        match service.execute(case, t(10), Actor::System, action) {
                            Ok(_) => lines.push(format!("ok {case}")),
                            Err(ServiceError::FollowUpCap(_)) => {
                                lines.push(format!("refused {case}"))
                            }
                            Err(other) => panic!("{other}"),
                        }
                    }
                    lines
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    for line in lines {
        println!("{line}");
    }
}

#[test]
fn two_processes_never_schedule_two_follow_ups_within_30_days() {
    let db = TestDb::new();
    let service = CaseService::new(db.log(), SequentialIds::new(99_000_000));
    let agent = Actor::parse("agent-1").unwrap();
    for p in 0..PROCESSES {
        for thread in 0..THREADS {
            for k in 0..PER_THREAD {
                let case = case_of(p, thread, k);
                let open = Opened {
                    customer_id: CustomerId::new(customer_of_case(case)).unwrap(),
                    channel: Channel::Phone,
                    tier: Tier::Standard,
                    summary: None,
                    origin: caseledger::Origin::Customer,
                };
                let kind = Classified {
                    category: Category::Inquiry,
                    topic: Topic::Card,
                    priority: Priority::Normal,
                };
                for action in [
                    Action::Open(open),
                    Action::Classify(kind),
                    Action::Resolve(Resolved::default()),
                ] {
                    service.execute(case, t(0), agent.clone(), action).unwrap();
                }
            }
        }
    }
    let children: Vec<_> = (0..PROCESSES)
        .map(|p| spawn_child("child_follow_up_scheduler", &format!("cap {} {p}", db.url)))
        .collect();
    let lines = child_lines(children, "");
    let lines: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("ok ") || l.starts_with("refused "))
        .collect();
    assert_eq!(lines.len() as u64, PROCESSES * THREADS * PER_THREAD);
    let oks = lines.iter().filter(|l| l.starts_with("ok ")).count();
    assert!(
        oks >= 1 && oks < lines.len(),
        "the cap let some through and refused some"
    );

    let log = service.log();
    let mut customer_of = HashMap::new();
    let mut dues: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut scheduled = 0;
    for e in log.read_all(1).unwrap() {
        let e = e.unwrap();
        match &e.event.data {
            EventData::Opened(o) => {
                customer_of.insert(e.event.case_id, o.customer_id.as_str().to_owned());
            }
            EventData::FollowUpScheduled(f) => {
                scheduled += 1;
                dues.entry(customer_of[&e.event.case_id].clone())
                    .or_default()
                    .push(f.due);
            }
            _ => {}
        }
    }
    assert_eq!(
        scheduled, oks,
        "every accepted follow-up is recorded, no other"
    );
    for (customer, dues) in dues {
        for (i, a) in dues.iter().enumerate() {
            for b in &dues[i + 1..] {
                assert!(
                    !follow_ups_too_close(*a, *b),
                    "{customer} has follow-ups due {a} and {b}"
                );
            }
        }
    }
    log.verify(|_| {}).unwrap();
}

/// Appends queued together go into one group, one transaction, whose
/// lookups are pipelined in one round trip: each append must still get the
/// answer its own stream and ids call for. Forty appends queued at once on
/// the async log (the writer takes every queued append): for each of ten
/// cases, the retry of its stored first event (already stored, at its
/// first position), a second event at version 1 (it depends on the retry's
/// case, so it is looked up again in the group), a new case, and an append
/// to a new case that expects version 5 (refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_queued_appends_answers_each_for_its_own_stream_and_ids() {
    use caseledger_async::AsyncEventLog;
    let db = TestDb::new();
    let log = caseledger_postgres::AsyncPgLog::connect(&db.url, PgOptions::default())
        .await
        .unwrap();
    let mut first_positions = HashMap::new();
    for i in 1..=10u128 {
        let done = log
            .append(
                CaseId::from_u128(i),
                ExpectedVersion::NoStream,
                &[event(i, 1000 + i)],
            )
            .await
            .unwrap();
        first_positions.insert(i, done.positions[0]);
    }
    let commits_before = log.verify_chain(|_| {}).await.unwrap().commits;
    let calls: Vec<(u128, ExpectedVersion, Event)> = (1..=10u128)
        .flat_map(|i| {
            [
                (i, ExpectedVersion::NoStream, event(i, 1000 + i)),
                (i, ExpectedVersion::Exact(1), event(i, 2000 + i)),
                (100 + i, ExpectedVersion::NoStream, event(100 + i, 3000 + i)),
                (200 + i, ExpectedVersion::Exact(5), event(200 + i, 4000 + i)),
            ]
        })
        .collect();
    let answers = futures_util::future::join_all(calls.iter().map(|(case, expected, e)| {
        log.append(CaseId::from_u128(*case), *expected, std::slice::from_ref(e))
    }))
    .await;
    let mut written = 0;
    for ((case, expected, e), answer) in calls.iter().zip(answers) {
        let id = e.event_id.as_uuid().as_u128();
        match (id / 1000, answer) {
            (1, Ok(done)) => {
                assert!(done.already_stored, "retry of {id}");
                assert_eq!(done.positions, vec![first_positions[case]], "retry of {id}");
                assert_eq!(done.stream_version, 1);
            }
            (2, Ok(done)) => {
                assert!(!done.already_stored);
                assert_eq!(done.stream_version, 2, "second event of case {case}");
                written += 1;
            }
            (3, Ok(done)) => {
                assert!(!done.already_stored);
                assert_eq!(done.stream_version, 1, "new case {case}");
                written += 1;
            }
            (4, Err(AppendError::WrongExpectedVersion { actual, .. })) => {
                assert_eq!(actual, 0, "case {case} ({expected:?})");
            }
            (_, other) => panic!("event {id} on case {case} ({expected:?}): {other:?}"),
        }
    }
    assert_eq!(written, 20);
    let report = log.verify_chain(|_| {}).await.unwrap();
    assert_eq!(report.events, 30);
    // Grouped: fewer commits than appends written, so the answers above
    // came from groups of several appends.
    assert!(
        report.commits - commits_before < written,
        "{} commits for {written} appends",
        report.commits - commits_before
    );
}
