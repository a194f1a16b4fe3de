//! The follow-up cap enforced by the file store: an append's condition is
//! checked under the writer, against the committed log (read from the
//! files by the first conditioned append of a writer) and the
//! transaction's own events; and it holds across processes taking turns
//! at the writer's lock.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration as StdDuration, Instant};

use caseledger::policy::{KnownFollowUp, follow_ups_too_close};
use caseledger::*;
use caseledger_store::{Error, ErrorKind, Store, StoreOptions};
use caseledger_synth::SplitMix64;
use chrono::{DateTime, Duration, Utc};
use common::{child_arg, spawn_child, t};

fn opened(case: CaseId, id: u128, customer: &str) -> Event {
    Event {
        event_id: EventId::from_u128(id),
        case_id: case,
        at: t(0),
        actor: Actor::System,
        data: EventData::Opened(Opened {
            customer_id: CustomerId::new(customer).unwrap(),
            channel: Channel::Phone,
            tier: Tier::Standard,
            summary: None,
            origin: caseledger::Origin::Customer,
        }),
    }
}

fn follow_up(case: CaseId, id: u128, day: i64) -> Event {
    Event {
        event_id: EventId::from_u128(id),
        case_id: case,
        at: t(1),
        actor: Actor::System,
        data: EventData::FollowUpScheduled(FollowUpScheduled {
            due: t(0) + Duration::days(day),
            purpose: FollowUpPurpose::Feedback,
            channel: Channel::Phone,
        }),
    }
}

fn cap(customer: &str, day: i64) -> AppendCondition {
    AppendCondition::NoFollowUpTooClose {
        customer_id: CustomerId::new(customer).unwrap(),
        due: t(0) + Duration::days(day),
    }
}

/// The existing follow-up a refusal names, or a panic.
fn refused_by<E: std::fmt::Debug>(result: Result<Appended, AppendError<E>>) -> KnownFollowUp {
    match result {
        Err(AppendError::ConditionFailed {
            failure: ConditionFailure::FollowUpCap(cap),
            ..
        }) => cap.existing,
        other => panic!("expected the follow-up cap, got {other:?}"),
    }
}

#[test]
fn a_batch_counts_its_own_follow_ups_and_a_reopened_store_its_recorded_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (CaseId::from_u128(1), CaseId::from_u128(2));
    {
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let mut batch = store.batch().unwrap();
        batch
            .append(a, ExpectedVersion::NoStream, &[opened(a, 1, "C-1")])
            .unwrap();
        batch
            .append(b, ExpectedVersion::NoStream, &[opened(b, 2, "C-1")])
            .unwrap();
        batch
            .append_with(
                a,
                ExpectedVersion::Exact(1),
                &[follow_up(a, 3, 5)],
                &[cap("C-1", 5)],
            )
            .unwrap();
        // Not committed yet, but in the same batch: it counts.
        let existing = refused_by(batch.append_with(
            b,
            ExpectedVersion::Exact(1),
            &[follow_up(b, 4, 20)],
            &[cap("C-1", 20)],
        ));
        assert_eq!(
            (existing.case_id, existing.event_id),
            (a, EventId::from_u128(3))
        );
        batch.commit().unwrap();
    }
    // A new writer reads the recorded follow-ups from the files.
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let existing = refused_by(store.append_with(
        b,
        ExpectedVersion::Exact(1),
        &[follow_up(b, 4, 20)],
        &[cap("C-1", 20)],
    ));
    assert_eq!(existing.case_id, a);
    // A batch dropped without its commit leaves no follow-up behind.
    {
        let mut batch = store.batch().unwrap();
        batch
            .append_with(
                b,
                ExpectedVersion::Exact(1),
                &[follow_up(b, 5, 40)],
                &[cap("C-1", 40)],
            )
            .unwrap();
    }
    store
        .append_with(
            b,
            ExpectedVersion::Exact(1),
            &[follow_up(b, 6, 45)],
            &[cap("C-1", 45)],
        )
        .unwrap();
    // And the committed one counts at once for the next append.
    let c = CaseId::from_u128(3);
    store
        .append(c, ExpectedVersion::NoStream, &[opened(c, 7, "C-1")])
        .unwrap();
    let existing = refused_by(store.append_with(
        c,
        ExpectedVersion::Exact(1),
        &[follow_up(c, 8, 50)],
        &[cap("C-1", 50)],
    ));
    assert_eq!(existing.event_id, EventId::from_u128(6));
}

/// Processes, threads per process, turns each process takes at the writer,
/// and commands per thread and turn.
const PROCESSES: u64 = 2;
const THREADS: u64 = 4;
const TURNS: u64 = 3;
const PER_TURN: u64 = 4;
const CUSTOMERS: u64 = 4;
/// How long a child tries to take the writer's lock before it gives up.
const LOCK_PATIENCE: StdDuration = StdDuration::from_secs(60);

/// The cases the parent opens and resolves: one per command, so that each
/// command is a first follow-up of its case (a case holds one pending
/// follow-up at a time: that refusal is another rule).
fn case_of(process: u64, thread: u64, turn: u64, k: u64) -> CaseId {
    let n = ((process * THREADS + thread) * TURNS + turn) * PER_TURN + k;
    CaseId::from_u128(1_000 + u128::from(n))
}

fn customer_of_case(case: CaseId) -> String {
    let n = case.as_uuid().as_u128() - 1_000;
    format!("C-{}", n % u128::from(CUSTOMERS))
}

/// Opens the store for writing, waiting while the other process holds it.
fn open_taking_turns(dir: &Path) -> Store {
    let deadline = Instant::now() + LOCK_PATIENCE;
    loop {
        match Store::open(dir, StoreOptions::default()) {
            Ok(store) => return store,
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(StdDuration::from_millis(2));
            }
            Err(e) => panic!("cannot open the store: {e}"),
        }
    }
}

/// Whether the other process holds the writer's lock.
fn is_busy(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Locked { .. })
}

/// Child: process `p` of the test. Takes `TURNS` turns at the writer; in
/// each, 4 threads schedule follow-ups due at random days for their cases
/// through a `CaseService`, and print one line per command:
/// `ok CASE DUE` or `refused CASE DUE EXISTING_CASE EXISTING_EVENT EXISTING_DUE`.
#[test]
fn child_follow_up_scheduler() {
    let Some(arg) = child_arg() else { return };
    let (dir, p) = arg.split_once(' ').unwrap();
    let p: u64 = p.parse().unwrap();
    let mut pause = SplitMix64::new(p);
    for turn in 0..TURNS {
        let store = open_taking_turns(Path::new(dir));
        let service = CaseService::new(store, SequentialIds::new(1 + p * 100 + turn));
        let lines: Vec<String> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let service = &service;
                    s.spawn(move || {
                        let mut rng = SplitMix64::new((p << 32) | (turn << 16) | thread);
                        let mut lines = Vec::new();
                        for k in 0..PER_TURN {
                            let case = case_of(p, thread, turn, k);
                            let due = t(0) + Duration::days(rng.below(150) as i64);
                            let action = Action::ScheduleFollowUp(FollowUpScheduled {
                                due,
                                purpose: FollowUpPurpose::Feedback,
                                channel: Channel::Phone,
                            });
                            let ts = format_timestamp(&due);
                            match service.execute(case, t(10), Actor::System, action) {
                                Ok(_) => lines.push(format!("ok {case} {ts}")),
                                Err(ServiceError::FollowUpCap(cap)) => lines.push(format!(
                                    "refused {case} {ts} {} {} {}",
                                    cap.existing.case_id,
                                    cap.existing.event_id,
                                    format_timestamp(&cap.existing.due)
                                )),
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
        drop(service);
        for line in lines {
            println!("{line}");
        }
        // Let the other process take a turn (or not: any interleaving).
        std::thread::sleep(StdDuration::from_millis(pause.below(30)));
    }
}

#[test]
fn two_processes_of_four_threads_never_schedule_two_follow_ups_within_30_days() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let service = CaseService::new(store, SequentialIds::new(99_999));
        let agent = Actor::parse("agent-1").unwrap();
        for p in 0..PROCESSES {
            for thread in 0..THREADS {
                for turn in 0..TURNS {
                    for k in 0..PER_TURN {
                        let case = case_of(p, thread, turn, k);
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
        }
    }
    let path = dir.path().to_str().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|p| spawn_child("child_follow_up_scheduler", &format!("{path} {p}")))
        .collect();
    let mut lines = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a child failed: {:?}", out.status);
        lines.extend(
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("ok ") || l.starts_with("refused "))
                .map(str::to_owned),
        );
    }
    let commands = PROCESSES * THREADS * TURNS * PER_TURN;
    assert_eq!(lines.len() as u64, commands, "one line per command");

    // The final log: every follow-up, by customer.
    let store = Store::open_read_only(dir.path()).unwrap();
    let mut customer: HashMap<CaseId, CustomerId> = HashMap::new();
    let mut recorded: BTreeMap<EventId, (CaseId, DateTime<Utc>)> = BTreeMap::new();
    let mut by_customer: HashMap<CustomerId, Vec<DateTime<Utc>>> = HashMap::new();
    for r in store.read_all(1).unwrap() {
        let r = r.unwrap();
        match &r.event.data {
            EventData::Opened(o) => {
                customer.insert(r.event.case_id, o.customer_id.clone());
            }
            EventData::FollowUpScheduled(f) => {
                recorded.insert(r.event.event_id, (r.event.case_id, f.due));
                let c = customer[&r.event.case_id].clone();
                by_customer.entry(c).or_default().push(f.due);
            }
            _ => {}
        }
    }
    for (c, dues) in &mut by_customer {
        dues.sort_unstable();
        for pair in dues.windows(2) {
            assert!(
                !follow_ups_too_close(pair[0], pair[1]),
                "customer {c}: follow-ups due {} and {}",
                pair[0],
                pair[1]
            );
        }
    }
    // Every answer matches the log: accepted ones are recorded, and every
    // refusal names a recorded follow-up of the same customer too close.
    let (mut accepted, mut refused, mut across) = (0, 0, 0);
    for line in &lines {
        let f: Vec<&str> = line.split(' ').collect();
        let case: CaseId = f[1].parse().unwrap();
        let due = parse_timestamp(f[2]).unwrap();
        if f[0] == "ok" {
            accepted += 1;
            assert!(
                recorded.values().any(|&(c, d)| c == case && d == due),
                "{line}: not recorded"
            );
            continue;
        }
        refused += 1;
        let (existing_case, existing_event): (CaseId, EventId) =
            (f[3].parse().unwrap(), f[4].parse().unwrap());
        let existing_due = parse_timestamp(f[5]).unwrap();
        assert_eq!(
            recorded.get(&existing_event),
            Some(&(existing_case, existing_due)),
            "{line}: names a follow-up that is not recorded"
        );
        assert_eq!(customer[&existing_case], customer[&case], "{line}");
        assert!(follow_ups_too_close(existing_due, due), "{line}");
        assert!(
            !recorded.values().any(|&(c, _)| c == case),
            "{line}: refused, yet recorded"
        );
        // Ids are `prefix << 64 | n`, the prefix naming process and turn.
        let process_of = |e: EventId| (e.as_uuid().as_u128() >> 64).saturating_sub(1) / 100;
        across += u64::from(process_of(existing_event) != process_of_case(case));
    }
    assert_eq!(accepted + refused, commands);
    assert_eq!(recorded.len(), accepted as usize);
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
    assert!(across > 0, "no refusal named the other process's follow-up");
}

/// The process that commands `case`: the cases of process p are numbered
/// from p * THREADS * TURNS * PER_TURN.
fn process_of_case(case: CaseId) -> u128 {
    (case.as_uuid().as_u128() - 1_000) / u128::from(THREADS * TURNS * PER_TURN)
}
