//! The async service answers as the blocking one does: both drive the same
//! `ServiceCore`. Run on the memory log and on the file store on tokio's
//! blocking pool.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use std::sync::Arc;

use caseledger::{
    Action, AppendError, CaseId, CaseService, EventLog, InMemoryEventLog, Outcome, SequentialIds,
    ServiceError, Status,
};
use caseledger_async::{AsyncCaseService, AsyncEventLog, Blocking};
use caseledger_store::{Store, StoreOptions};
use common::*;

/// An answer in a form both services share: the outcome, or the error's
/// words (the log error types differ; no log fails in these tests).
fn answer<E: std::fmt::Display>(r: Result<Outcome, ServiceError<E>>) -> Result<Outcome, String> {
    r.map_err(|e| e.to_string())
}

/// The blocking service's answers to the script, on the memory log.
fn blocking_answers() -> Vec<Result<Outcome, String>> {
    let s = CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
    script()
        .into_iter()
        .map(|c| answer(s.execute_command(c)))
        .collect()
}

async fn async_answers<L: AsyncEventLog>(log: L) -> Vec<Result<Outcome, String>> {
    let s = AsyncCaseService::new(log, SequentialIds::new(1));
    let mut answers = Vec::new();
    for c in script() {
        answers.push(answer(s.execute_command(c).await));
    }
    answers
}

fn check_answers(answers: &[Result<Outcome, String>]) {
    let expected = blocking_answers();
    // The script meets each kind of answer (so the comparison covers them).
    let recorded = |i: usize| expected[i].as_ref().is_ok_and(|o| !o.already_recorded);
    let refused = |i: usize, words: &str| expected[i].as_ref().is_err_and(|e| e.contains(words));
    let retried = |i: usize| expected[i].as_ref().is_ok_and(|o| o.already_recorded);
    assert!(recorded(0) && recorded(9) && recorded(14) && recorded(16));
    assert!(retried(3) && retried(11));
    assert!(refused(10, "at most one follow-up per customer"));
    assert!(refused(12, "was reused for a different command"));
    assert!(refused(13, "must be classified"));
    assert_eq!(answers.len(), expected.len());
    for (i, (got, want)) in answers.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "command {i} of the script");
    }
}

#[tokio::test]
async fn on_the_memory_log_the_async_service_answers_as_the_blocking_one() {
    check_answers(&async_answers(InMemoryEventLog::new()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_file_store_the_async_service_answers_as_the_blocking_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    check_answers(&async_answers(Blocking::new(store)).await);
}

/// Issue 19: a `not_resolved` follow-up records its completion and the
/// reopen in one append through the async service too (the same
/// `ServiceCore`), and a retry answers with both, recording nothing.
#[tokio::test]
async fn a_not_resolved_follow_up_reopens_in_one_append() {
    let s = AsyncCaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
    for c in [
        command(1, 1, 0, open("C-1")),
        command(1, 2, 1, classify()),
        command(1, 3, 2, resolve()),
        command(1, 4, 3, follow_up(5)),
    ] {
        s.execute_command(c).await.unwrap();
    }
    let outcome = caseledger::FollowUpCompleted {
        outcome: caseledger::FollowUpOutcome::NotResolved,
    };
    let c = command(1, 5, 4, Action::CompleteFollowUp(outcome));
    let done = s.execute_command(c.clone()).await.unwrap();
    assert_eq!(done.events.len(), 2);
    let derived = caseledger::EventId::from_u128(5).derived("reopened");
    assert_eq!(done.events[1].event_id, derived);
    assert_eq!(done.state.status(), Status::Open);
    assert_eq!(s.log().len(), 6);
    let again = s.execute_command(c).await.unwrap();
    assert!(again.already_recorded);
    assert_eq!(again.events, done.events);
    assert_eq!(s.log().len(), 6);
}

#[tokio::test]
async fn a_reused_key_is_refused_with_the_recorded_event() {
    let s = AsyncCaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
    s.execute_command(command(1, 1, 0, open("C-1")))
        .await
        .unwrap();
    let err = s
        .execute_command(command(1, 1, 1, Action::Respond))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Append(AppendError::IdempotencyKeyReused { recorded, .. }) if recorded.position == 1),
        "{err}"
    );
    assert_eq!(s.log().len(), 1);
}

/// Tasks on a multi-threaded runtime racing on one case in the file store:
/// every command lands, through the service's retries on a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tasks_on_one_case_all_land_through_retries() {
    const TASKS: u128 = 4;
    const EACH: u128 = 20;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let s = Arc::new(
        AsyncCaseService::new(Blocking::new(store), SequentialIds::new(1)).with_max_attempts(1000),
    );
    s.execute_command(command(1, 1, 0, open("C-1")))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                for i in 0..EACH {
                    let c = command(1, 100 + t * 1000 + i, 1, Action::Respond);
                    s.execute_command(c).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let case = CaseId::from_u128(1);
    let history = s.log().read_stream(case).await.unwrap();
    assert_eq!(history.len() as u128, 1 + TASKS * EACH);
    assert!((1..).zip(&history).all(|(v, r)| r.version == v));
    let state = s.state(case).await.unwrap();
    assert_eq!(state.case().unwrap().responses as u128, TASKS * EACH);
    assert_eq!(state.status(), Status::Open);
    // The blocking face of the same store agrees.
    assert_eq!(
        EventLog::stream_version(&**s.log().log(), case).unwrap(),
        1 + TASKS as u64 * EACH as u64
    );
}

/// `read_all` streams through the blocking pool a read-ahead at a time:
/// more events than one read-ahead arrive whole and in order, and a stream
/// dropped early stops its reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_all_streams_the_file_store_in_position_order() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let log = Blocking::new(store);
    let s = AsyncCaseService::new(log.clone(), SequentialIds::new(1));
    for case in 0..700u128 {
        s.execute_command(command(case, case + 1, 0, open("C-1")))
            .await
            .unwrap();
    }
    let positions: Vec<u64> = log
        .read_all(5)
        .await
        .unwrap()
        .map(|r| r.unwrap().position)
        .collect()
        .await;
    assert_eq!(positions, (5..=700).collect::<Vec<u64>>());
    let first: Vec<_> = log.read_all(1).await.unwrap().take(3).collect().await;
    assert_eq!(first.len(), 3);
}

/// What an axum or tonic handler needs: the service's futures and the
/// port's streams are `Send` (a compile-time check; the axum example
/// checks it for the file store too).
#[test]
fn the_service_futures_and_the_event_streams_are_send() {
    fn send<T: Send>(_: &T) {}
    let s = AsyncCaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
    send(&s.execute_command(command(1, 1, 0, open("C-1"))));
    send(&s.state(CaseId::from_u128(1)));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let log = Blocking::new(store);
    send(&log.read_all(1));
    send(&AsyncEventLog::read_all(s.log(), 1));
}

/// With a role directory, the async service refuses what the blocking one
/// refuses, word for word: here `agent-1`, the script's actor, is listed
/// with the role `agent`, and the table gives resolving a non-complaint
/// (the script's cases are inquiries) to supervisors only, so the script
/// meets permission refusals.
#[tokio::test]
async fn with_a_role_directory_the_async_service_refuses_as_the_blocking_one() {
    use caseledger::permission::{
        PermissionAction, PermissionTable, Permissions, Role, RoleDirectory,
    };
    let permissions = || {
        let mut table = PermissionTable::default();
        table.set(PermissionAction::ResolveNonComplaint, &[Role::Supervisor]);
        Permissions::new(RoleDirectory::from_json(r#"{"agent-1": ["agent"]}"#).unwrap())
            .with_table(table)
    };
    let blocking = CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1))
        .with_permissions(permissions());
    let expected: Vec<_> = script()
        .into_iter()
        .map(|c| answer(blocking.execute_command(c)))
        .collect();
    let s = AsyncCaseService::new(InMemoryEventLog::new(), SequentialIds::new(1))
        .with_permissions(permissions());
    let mut answers = Vec::new();
    for c in script() {
        answers.push(answer(s.execute_command(c).await));
    }
    assert_eq!(answers, expected);
    assert!(
        answers.iter().any(|a| a
            .as_ref()
            .is_err_and(|e| e.contains("(roles: agent) may not `resolve_non_complaint`"))),
        "{answers:?}"
    );
    // Nothing refused was recorded: the logs hold the same events.
    assert_eq!(s.log().len(), blocking.log().len());
}

/// The bank's process and complaint policies reach the async service as
/// they reach the blocking one: a complaint routed to the bank's own
/// complaint team (`disputes`), its deadline extended by its regime's step
/// (35 days, `eu-psd2`), then resolved. Both faces accept it with the
/// policies and refuse it, word for word, without them.
#[tokio::test]
async fn the_process_and_complaint_policies_reach_the_async_service() {
    use caseledger::complaint::{ComplaintPolicy, Regime};
    use caseledger::process::ProcessPolicy;
    use caseledger::{
        AgentId, Assigned, Category, Classified, DeadlineExtended, ExtensionDays, Priority,
        Resolved, RootCause, TeamId, Topic,
    };
    let complaint = [
        command(1, 1, 0, open("C-1")),
        command(
            1,
            2,
            1,
            Action::Classify(Classified {
                category: Category::Complaint,
                topic: Topic::Card,
                priority: Priority::High,
            }),
        ),
        command(
            1,
            3,
            2,
            Action::Assign(Assigned {
                agent: AgentId::new("agent-2").unwrap(),
                team: Some(TeamId::new("disputes").unwrap()),
            }),
        ),
        command(
            1,
            4,
            3,
            Action::ExtendDeadline(DeadlineExtended {
                days: ExtensionDays::new(35).unwrap(),
                approved_by: AgentId::new("sup-1").unwrap(),
                reason: "awaiting the card network".to_owned(),
            }),
        ),
        command(
            1,
            5,
            4,
            Action::Resolve(Resolved {
                resolution: None,
                root_cause: Some(RootCause::StaffError),
            }),
        ),
    ];
    let process = || ProcessPolicy::new([TeamId::new("disputes").unwrap()]);
    let complaints = || ComplaintPolicy {
        default: Regime::EuPsd2,
        ..ComplaintPolicy::default()
    };
    for with_policies in [true, false] {
        let mut blocking = CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
        let mut not_blocking =
            AsyncCaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
        if with_policies {
            blocking = blocking
                .with_process_policy(process())
                .with_complaint_policy(complaints());
            not_blocking = not_blocking
                .with_process_policy(process())
                .with_complaint_policy(complaints());
        }
        let mut answers = Vec::new();
        for c in &complaint {
            let b = answer(blocking.execute_command(c.clone()));
            let a = answer(not_blocking.execute_command(c.clone()).await);
            assert_eq!(a, b, "{:?}", c.action);
            answers.push(a);
        }
        let extended = &answers[3];
        let resolved = &answers[4];
        if with_policies {
            assert!(extended.is_ok() && resolved.is_ok(), "{answers:?}");
        } else {
            // cn-2020's next step is 30 days; the default complaint team is
            // `complaints`.
            assert!(
                extended.as_ref().is_err_and(|e| e.contains("30")),
                "{extended:?}"
            );
            assert!(
                resolved
                    .as_ref()
                    .is_err_and(|e| e.contains("complaint_not_routed")),
                "{resolved:?}"
            );
        }
    }
}
