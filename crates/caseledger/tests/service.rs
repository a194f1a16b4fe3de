//! The application service over the in-memory log. The event-log port's
//! append contract is `caseledger-testkit`'s suite (tests/append_contract.rs).
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use std::sync::Arc;

use caseledger::*;
use common::*;

fn service() -> CaseService<InMemoryEventLog, SequentialIds> {
    CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1))
}

fn open_case<L: EventLog>(s: &CaseService<L, SequentialIds>, case: CaseId, customer: &str, m: i64) {
    let mut o = opened();
    o.customer_id = CustomerId::new(customer).unwrap();
    s.execute(case, t(m), agent("agent-1"), Action::Open(o))
        .unwrap();
    s.execute(
        case,
        t(m),
        agent("agent-1"),
        Action::Classify(classified(Category::Inquiry)),
    )
    .unwrap();
    s.execute(
        case,
        t(m + 1),
        agent("agent-1"),
        Action::Resolve(Resolved::default()),
    )
    .unwrap();
}

#[test]
fn commands_are_recorded_with_gapless_versions_and_positions() {
    let s = service();
    open_case(&s, CASE, "C-1", 0);
    let history = s.log().read_stream(CASE).unwrap();
    assert_eq!(
        history.iter().map(|r| r.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        history.iter().map(|r| r.position).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(s.state(CASE).unwrap().status(), Status::Resolved);
}

#[test]
fn a_refused_command_records_nothing() {
    let s = service();
    let err = s
        .execute(CASE, t(0), Actor::System, Action::Close)
        .unwrap_err();
    assert!(matches!(err, ServiceError::Rule(ref e) if e.violation == Violation::NotOpened));
    assert!(s.log().is_empty());
}

#[test]
fn retrying_a_command_with_the_same_event_id_records_it_once() {
    let s = service();
    let command = Command {
        case_id: CASE,
        event_id: EventId::from_u128(77),
        at: t(0),
        actor: agent("agent-1"),
        action: Action::Open(opened()),
    };
    let first = s.execute_command(command.clone()).unwrap();
    let again = s.execute_command(command).unwrap();
    assert!(!first.already_recorded);
    assert!(again.already_recorded);
    assert_eq!(first.positions, again.positions);
    assert_eq!(s.log().len(), 1);
}

#[test]
fn concurrent_commands_on_one_case_all_land_through_retries() {
    let s = Arc::new(service().with_max_attempts(1000));
    s.execute(CASE, t(0), agent("agent-1"), Action::Open(opened()))
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for _ in 0..50 {
                    s.execute(CASE, t(1), agent("agent-2"), Action::Respond)
                        .unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let history = s.log().read_stream(CASE).unwrap();
    assert_eq!(history.len(), 201);
    assert!(
        history
            .iter()
            .enumerate()
            .all(|(i, r)| r.version == i as u64 + 1)
    );
    assert_eq!(s.state(CASE).unwrap().case().unwrap().responses, 200);
}

#[test]
fn follow_ups_of_one_customer_are_capped_across_cases() {
    let s = service();
    let (a, b, c) = (
        CaseId::from_u128(1),
        CaseId::from_u128(2),
        CaseId::from_u128(3),
    );
    open_case(&s, a, "C-1", 0);
    open_case(&s, b, "C-1", 10);
    open_case(&s, c, "C-2", 20);
    let day = 24 * 60;
    s.execute(
        a,
        t(30),
        Actor::System,
        Action::ScheduleFollowUp(follow_up(5 * day)),
    )
    .unwrap();
    // 29 days later for the same customer, in another case: refused.
    let err = s
        .execute(
            b,
            t(31),
            Actor::System,
            Action::ScheduleFollowUp(follow_up(34 * day)),
        )
        .unwrap_err();
    let ServiceError::FollowUpCap(cap) = err else {
        panic!("expected the cap, got {err}");
    };
    assert_eq!(cap.existing.case_id, a);
    insta::assert_snapshot!(cap.to_string());
    // Exactly 30 days later: allowed. Another customer: allowed.
    s.execute(
        b,
        t(32),
        Actor::System,
        Action::ScheduleFollowUp(follow_up(35 * day)),
    )
    .unwrap();
    s.execute(
        c,
        t(33),
        Actor::System,
        Action::ScheduleFollowUp(follow_up(5 * day)),
    )
    .unwrap();
}

/// The ids a restarted program with `SequentialIds::new(1)` hands out
/// again: the n-th id of the first run.
fn sequential_id(n: u128) -> EventId {
    EventId::from_u128((1 << 64) | n)
}

#[test]
fn an_event_id_reused_for_a_different_command_is_refused_and_records_nothing() {
    let s = service();
    // Ids 1, 2, 3: opened, classified, resolved.
    open_case(&s, CASE, "C-1", 0);
    // After a restart the ids start again at 1: a reopen gets the id of
    // the case's `classified` event.
    let reopen = Command {
        case_id: CASE,
        event_id: sequential_id(2),
        at: t(5),
        actor: agent("agent-1"),
        action: Action::Reopen(Reopened::default()),
    };
    let err = s.execute_command(reopen).unwrap_err();
    let ServiceError::Append(AppendError::IdempotencyKeyReused {
        event_id,
        case_id,
        recorded,
    }) = &err
    else {
        panic!("expected a reused idempotency key, got {err}");
    };
    assert_eq!((*event_id, *case_id), (sequential_id(2), CASE));
    assert_eq!(recorded.position, 2);
    assert_eq!(recorded.event.data.event_type(), EventType::Classified);
    let message = err.to_string();
    for part in [
        "reused for a different command",
        &sequential_id(2).to_string(),
        &CASE.to_string(),
        "`classified`",
        "position 2",
    ] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    // A command on another case with a used id: the same error.
    let other = Command {
        case_id: CaseId::from_u128(2),
        event_id: sequential_id(1),
        at: t(6),
        actor: agent("agent-1"),
        action: Action::Open(opened()),
    };
    let err = s.execute_command(other).unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Append(AppendError::IdempotencyKeyReused { ref recorded, .. })
                if recorded.position == 1
        ),
        "{err}"
    );
    assert_eq!(s.log().len(), 3, "nothing was recorded");
    // The command that did record the id, sent again: a retry.
    let classify = Command {
        case_id: CASE,
        event_id: sequential_id(2),
        at: t(0),
        actor: agent("agent-1"),
        action: Action::Classify(classified(Category::Inquiry)),
    };
    let again = s.execute_command(classify).unwrap();
    assert!(again.already_recorded);
    assert_eq!(again.positions, [2]);
    assert_eq!(s.log().len(), 3);
}

#[test]
fn an_escalation_without_a_level_retries_one_recorded_at_any_level() {
    let s = service();
    open_case(&s, CASE, "C-1", 0);
    s.execute(
        CASE,
        t(2),
        agent("agent-1"),
        Action::Reopen(Reopened::default()),
    )
    .unwrap();
    let escalate = |level| Command {
        case_id: CASE,
        event_id: EventId::from_u128(99),
        at: t(3),
        actor: agent("agent-1"),
        action: Action::Escalate {
            level,
            team: None,
            reason: None,
        },
    };
    let first = s
        .execute_command(escalate(Some(EscalationLevel::new(3).unwrap())))
        .unwrap();
    let again = s.execute_command(escalate(None)).unwrap();
    assert!(again.already_recorded);
    assert_eq!(again.positions, first.positions);
    // Another explicit level is another command.
    let err = s
        .execute_command(escalate(Some(EscalationLevel::new(2).unwrap())))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Append(AppendError::IdempotencyKeyReused { .. })
        ),
        "{err}"
    );
}

/// A shared in-memory log, instrumented: its next append first runs
/// `before` (another writer, another process say, acting between a
/// service's read of a case and its append), and it counts the events its
/// stream reads return.
#[derive(Default)]
struct Instrumented {
    log: Arc<InMemoryEventLog>,
    before: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
    read: std::sync::atomic::AtomicU64,
}

impl Instrumented {
    /// The events its stream reads have returned.
    fn read(&self) -> u64 {
        self.read.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl EventLog for Instrumented {
    type Error = std::convert::Infallible;

    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Self::Error>> {
        let before = self.before.lock().unwrap().take();
        if let Some(other_writer) = before {
            other_writer();
        }
        self.log.append_with(case_id, expected, events, conditions)
    }

    fn stream_version(&self, case_id: CaseId) -> Result<u64, Self::Error> {
        self.log.stream_version(case_id)
    }

    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Self::Error> {
        let events = self.log.read_stream_from(case_id, from_version)?;
        self.read
            .fetch_add(events.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(events)
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, Self::Error>, Self::Error> {
        self.log.read_all(from_position)
    }
}

/// Two services on one log, the case made by `setup` on the first; the
/// second's next append comes after the first runs `other_writer` on it.
fn racing_after(
    setup: impl FnOnce(&CaseService<Instrumented, SequentialIds>),
    other_writer: impl FnOnce(&CaseService<Instrumented, SequentialIds>) + Send + 'static,
) -> CaseService<Instrumented, SequentialIds> {
    let log = Arc::new(InMemoryEventLog::new());
    let service = |log, prefix| {
        let log = Instrumented {
            log,
            ..Instrumented::default()
        };
        CaseService::new(log, SequentialIds::new(prefix))
    };
    let first = service(log.clone(), 1);
    setup(&first);
    let second = service(log, 1_000);
    // The second service knows the case as it is now.
    second.state(CASE).unwrap();
    *second.log().before.lock().unwrap() = Some(Box::new(move || other_writer(&first)));
    second
}

/// [`racing_after`] a case opened, classified, resolved (versions 1 to 3)
/// and reopened (4).
fn racing(
    other_writer: impl FnOnce(&CaseService<Instrumented, SequentialIds>) + Send + 'static,
) -> CaseService<Instrumented, SequentialIds> {
    let reopened = |first: &CaseService<Instrumented, SequentialIds>| {
        open_case(first, CASE, "C-1", 0);
        first
            .execute(
                CASE,
                t(2),
                agent("agent-1"),
                Action::Reopen(Reopened::default()),
            )
            .unwrap();
    };
    racing_after(reopened, other_writer)
}

/// A retry that another writer recorded between this service's read and its
/// append is answered as a retry, with the case's state now, as one found at
/// the read is: never as a reused key (which would tell the caller to take a
/// new id and record it twice), never with a stale state.
#[test]
fn a_retry_recorded_by_another_writer_during_the_append_is_answered_as_a_retry() {
    let escalate = Command {
        case_id: CASE,
        event_id: EventId::from_u128(0xE),
        at: t(11),
        actor: agent("agent-1"),
        action: Action::Escalate {
            level: None,
            team: None,
            reason: None,
        },
    };
    // The other writer escalates once, then records the same command: at
    // level 2, where this service, deciding on its older state, says 1.
    let x = escalate.clone();
    let second = racing(move |first| {
        first
            .execute(
                CASE,
                t(10),
                agent("agent-1"),
                Action::Escalate {
                    level: None,
                    team: None,
                    reason: None,
                },
            )
            .unwrap();
        first.execute_command(x).unwrap();
    });
    let outcome = second.execute_command(escalate.clone()).unwrap();
    assert!(outcome.already_recorded);
    let later = second.execute_command(escalate).unwrap();
    assert!(later.already_recorded);
    assert_eq!(outcome.positions, later.positions);
    assert_eq!(outcome.events, later.events);
    assert_eq!(outcome.state, later.state);
    assert_eq!(second.log().log.len(), 6, "nothing recorded twice");

    // The same command recorded, then another event: the answer's state is
    // the case's now, not the older one with the command's event folded in.
    let respond = Command {
        case_id: CASE,
        event_id: EventId::from_u128(0xF),
        at: t(10),
        actor: agent("agent-1"),
        action: Action::Respond,
    };
    let x = respond.clone();
    let second = racing(move |first| {
        first.execute_command(x).unwrap();
        first
            .execute(CASE, t(11), agent("agent-1"), Action::Respond)
            .unwrap();
    });
    let outcome = second.execute_command(respond).unwrap();
    assert!(outcome.already_recorded);
    assert_eq!(outcome.state, second.state(CASE).unwrap());
    assert_eq!(outcome.state.version(), 6);
}

/// The same race when the stale decision gives another number of events:
/// a `not_resolved` follow-up derives a reopen on a resolved case only, so
/// decided before another writer reopened the case it has two events, and
/// the recorded command one. Answered as a retry too.
#[test]
fn a_raced_retry_that_decides_other_events_on_the_older_state_is_a_retry() {
    let complete = Command {
        case_id: CASE,
        event_id: EventId::from_u128(0xAB),
        at: t(20),
        actor: agent("agent-1"),
        action: Action::CompleteFollowUp(FollowUpCompleted {
            outcome: FollowUpOutcome::NotResolved,
        }),
    };
    // Opened, classified, resolved (versions 1 to 3), a follow-up (4).
    let with_follow_up = |first: &CaseService<Instrumented, SequentialIds>| {
        open_case(first, CASE, "C-1", 0);
        first
            .execute(
                CASE,
                t(2),
                agent("agent-1"),
                Action::ScheduleFollowUp(FollowUpScheduled {
                    due: t(3 * 24 * 60),
                    purpose: FollowUpPurpose::Feedback,
                    channel: Channel::Phone,
                }),
            )
            .unwrap();
    };
    let x = complete.clone();
    let second = racing_after(with_follow_up, move |first| {
        first
            .execute(
                CASE,
                t(10),
                agent("agent-1"),
                Action::Reopen(Reopened::default()),
            )
            .unwrap();
        let recorded = first.execute_command(x).unwrap();
        assert_eq!(recorded.events.len(), 1, "no reopen derived: open already");
    });
    let raced = second.execute_command(complete.clone()).unwrap();
    assert!(raced.already_recorded);
    let later = second.execute_command(complete).unwrap();
    assert_eq!(
        (raced.positions, raced.state),
        (later.positions, later.state)
    );
}

#[test]
fn the_service_reads_only_the_events_recorded_since_it_last_saw_a_case() {
    let s = CaseService::new(Instrumented::default(), SequentialIds::new(1));
    let mut o = opened();
    o.customer_id = CustomerId::new("C-1").unwrap();
    s.execute(CASE, t(0), agent("agent-1"), Action::Open(o))
        .unwrap();
    for m in 1..=20 {
        s.execute(CASE, t(m), agent("agent-1"), Action::Respond)
            .unwrap();
    }
    assert_eq!(s.log().read(), 0, "its own events are known, not read");
    // Another writer (a second service over the same log) adds one event:
    // the next command reads that one only.
    let other = SequentialIds::new(2);
    let e = Event {
        event_id: other.next_event_id(),
        case_id: CASE,
        at: t(30),
        actor: agent("agent-2"),
        data: EventData::Responded,
    };
    s.log()
        .append(CASE, ExpectedVersion::Exact(21), &[e])
        .unwrap();
    let done = s
        .execute(CASE, t(31), agent("agent-1"), Action::Respond)
        .unwrap();
    assert_eq!(s.log().read(), 1);
    assert_eq!(done.state.version(), 23);
    assert_eq!(done.state.case().unwrap().responses, 22);
}

#[test]
fn the_state_cache_is_bounded_and_a_case_that_left_it_is_read_again() {
    let s = CaseService::new(Instrumented::default(), SequentialIds::new(1)).with_cache_capacity(2);
    for (n, case) in [1u128, 2, 3].into_iter().enumerate() {
        let mut o = opened();
        o.customer_id = CustomerId::new("C-1").unwrap();
        let m = i64::try_from(n).unwrap();
        s.execute(
            CaseId::from_u128(case),
            t(m),
            agent("agent-1"),
            Action::Open(o),
        )
        .unwrap();
    }
    assert_eq!(s.cached_cases(), 2, "at most the capacity");
    // Case 1 was the least recently used: it left, and is read again whole.
    let state = s.state(CaseId::from_u128(1)).unwrap();
    assert_eq!(state.version(), 1);
    assert_eq!(s.log().read(), 1);
    assert_eq!(s.cached_cases(), 2);
    // The default bound.
    let s = service();
    for case in 0..=STATE_CACHE_CASES as u128 {
        let e = Event {
            event_id: EventId::from_u128(case + 1),
            case_id: CaseId::from_u128(case),
            at: t(0),
            actor: agent("agent-1"),
            data: EventData::Opened(opened()),
        };
        s.log()
            .append(e.case_id, ExpectedVersion::NoStream, &[e])
            .unwrap();
        assert_eq!(s.state(CaseId::from_u128(case)).unwrap().version(), 1);
    }
    assert_eq!(s.cached_cases(), STATE_CACHE_CASES);
    let none =
        CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1)).with_cache_capacity(0);
    assert_eq!(none.state(CASE).unwrap().version(), 0);
    assert_eq!(none.cached_cases(), 0);
}

/// The service's steps without a log: `ServiceCore` asks for each read and
/// append and is handed the answers. A version conflict starts a new
/// attempt (a read from what the cache knows), the attempts are bounded,
/// and an accepted append ends the run with its outcome and caches the
/// new state; a reply that answers nothing asked restarts the attempt.
#[test]
fn the_service_core_asks_for_each_read_and_append_and_retries_a_conflict() {
    use std::convert::Infallible;
    let core = ServiceCore::new().with_max_attempts(2);
    let command = Command {
        case_id: CASE,
        event_id: EventId::from_u128(1),
        at: t(0),
        actor: agent("agent-1"),
        action: Action::Open(opened()),
    };
    let conflict = || {
        Reply::<Infallible>::Appended(Err(AppendError::WrongExpectedVersion {
            case_id: CASE,
            expected: ExpectedVersion::Exact(0),
            actual: 1,
        }))
    };
    // Two attempts, each a read and an append refused for the version.
    let mut run = core.execute(command.clone());
    let mut reply = None;
    for _ in 0..2 {
        let step = run.step::<Infallible>(reply.take());
        assert!(
            matches!(
                step,
                Step::Io(Io::Read {
                    case_id: CASE,
                    from_version: 1
                })
            ),
            "{step:?}"
        );
        let step = run.step::<Infallible>(Some(Reply::Read(Ok(Vec::new()))));
        let Step::Io(Io::Append {
            expected,
            events,
            conditions,
            ..
        }) = step
        else {
            panic!("expected an append, got {step:?}");
        };
        assert_eq!(expected, ExpectedVersion::Exact(0));
        assert_eq!(events.len(), 1);
        assert!(conditions.is_empty());
        reply = Some(conflict());
    }
    let step = run.step(reply.take());
    assert!(
        matches!(
            step,
            Step::Done(Err(ServiceError::Contention { attempts: 2, .. }))
        ),
        "{step:?}"
    );
    // An accepted append: the outcome, and the state is cached.
    let mut run = core.execute(command);
    assert!(matches!(
        run.step::<Infallible>(None),
        Step::Io(Io::Read { .. })
    ));
    // Not the answer to a read: the attempt starts again.
    let step = run.step::<Infallible>(Some(conflict()));
    assert!(matches!(step, Step::Io(Io::Read { .. })), "{step:?}");
    assert!(matches!(
        run.step::<Infallible>(Some(Reply::Read(Ok(Vec::new())))),
        Step::Io(Io::Append { .. })
    ));
    let appended = Appended {
        positions: vec![1],
        stream_version: 1,
        already_stored: false,
    };
    let Step::Done(Ok(outcome)) = run.step::<Infallible>(Some(Reply::Appended(Ok(appended))))
    else {
        panic!("expected the outcome");
    };
    assert_eq!(outcome.state.version(), 1);
    assert_eq!(outcome.positions, [1]);
    assert_eq!(core.cached_cases(), 1);
    // A state read now asks only for what follows version 1.
    let mut load = core.load(CASE);
    assert!(matches!(
        load.step::<Infallible>(None),
        Step::Io(Io::Read {
            from_version: 2,
            ..
        })
    ));
}

/// Two services over one log (a file store admits one writer per
/// directory, so a process with a guarded desk service and an unguarded
/// batch service shares the one `Store`), each borrowing it: each sees
/// what the other recorded, and each keeps its own configuration.
#[test]
fn services_share_one_borrowed_log() {
    use caseledger::permission::{Permissions, RoleDirectory};
    let log = Arc::new(InMemoryEventLog::new());
    let batch = CaseService::new(&*log, SequentialIds::new(1));
    let desk = CaseService::new(&*log, SequentialIds::new(2)).with_permissions(Permissions::new(
        RoleDirectory::from_json(r#"{"agent-1": ["agent"]}"#).unwrap(),
    ));
    open_case(&batch, CASE, "C-1", 0);
    // The desk's service reads the case the batch service recorded ...
    assert_eq!(desk.state(CASE).unwrap().status(), Status::Resolved);
    // ... refuses by its own role directory what the batch one would take ...
    let reopen = Action::Reopen(Reopened::default());
    let refused = desk.execute(CASE, t(5), agent("nobody"), reopen.clone());
    assert!(
        matches!(refused, Err(ServiceError::NotPermitted(_))),
        "{refused:?}"
    );
    // ... and records into the same log, which the batch service then sees.
    desk.execute(CASE, t(5), agent("agent-1"), reopen).unwrap();
    assert_eq!(batch.state(CASE).unwrap().status(), Status::Open);
    assert_eq!(log.len(), 4);
}
