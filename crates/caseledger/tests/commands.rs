//! Given/when/then examples for every command: read them as the rules'
//! documentation in code (docs/events.md states the rules).
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use caseledger::*;
use common::*;

#[test]
fn open_starts_a_case() {
    let state = given(vec![])
        .when(Action::Open(opened()))
        .then_records(vec![EventData::Opened(opened())]);
    assert_eq!(state.status(), Status::Open);
    assert_eq!(state.case().unwrap().phase(), Some(Phase::New));
    assert_eq!(state.version(), 1);
}

#[test]
fn open_twice_is_refused() {
    given(vec![EventData::Opened(opened())])
        .when(Action::Open(opened()))
        .then_refused(Violation::AlreadyOpened);
}

#[test]
fn nothing_happens_before_open() {
    given(vec![])
        .when(Action::Respond)
        .then_refused(Violation::NotOpened);
}

#[test]
fn classify_then_correct_keeps_the_latest() {
    let s = given(open_classified());
    let state = s
        .when(Action::Classify(classified(Category::Inquiry)))
        .then_records(vec![EventData::Classified(classified(Category::Inquiry))]);
    assert_eq!(
        state.case().unwrap().classification.unwrap().category,
        Category::Inquiry
    );
}

#[test]
fn classify_with_the_same_values_records_nothing() {
    given(open_classified())
        .when(Action::Classify(classified(Category::Complaint)))
        .then_records(vec![]);
}

#[test]
fn classify_is_allowed_after_resolution() {
    given(resolved())
        .when(Action::Classify(classified(Category::Technical)))
        .then_records(vec![EventData::Classified(classified(Category::Technical))]);
}

#[test]
fn assign_then_transfer() {
    let mut h = open_classified();
    h.push(EventData::Assigned(assigned("agent-1")));
    let state = given(h)
        .when(Action::Assign(assigned("agent-9")))
        .then_records(vec![EventData::Assigned(assigned("agent-9"))]);
    let a = state.case().unwrap().assignment.as_ref().unwrap();
    assert_eq!(a.agent.as_str(), "agent-9");
}

#[test]
fn assign_to_the_current_agent_records_nothing() {
    let mut h = open_classified();
    h.push(EventData::Assigned(assigned("agent-1")));
    given(h)
        .when(Action::Assign(assigned("agent-1")))
        .then_records(vec![]);
}

#[test]
fn assign_a_resolved_case_is_refused() {
    given(resolved())
        .when(Action::Assign(assigned("agent-1")))
        .then_refused(Violation::NotOpen);
}

#[test]
fn respond_counts_contacts_even_after_resolution() {
    let state = given(resolved())
        .when(Action::Respond)
        .then_records(vec![EventData::Responded]);
    assert_eq!(state.case().unwrap().responses, 1);
}

#[test]
fn escalate_goes_up_one_level_by_default() {
    let state = given(open_classified())
        .when(Action::Escalate {
            level: None,
            team: None,
            reason: None,
        })
        .then_records(vec![EventData::Escalated(escalated(1))]);
    assert_eq!(state.case().unwrap().escalation_level, 1);
    assert_eq!(state.case().unwrap().phase(), Some(Phase::Escalated));
}

#[test]
fn escalate_to_a_level_not_above_the_current_is_refused() {
    let mut h = open_classified();
    h.push(EventData::Escalated(escalated(2)));
    given(h)
        .when(Action::Escalate {
            level: Some(EscalationLevel::new(2).unwrap()),
            team: None,
            reason: None,
        })
        .then_refused(Violation::LevelNotHigher {
            current: 2,
            requested: EscalationLevel::new(2).unwrap(),
        });
}

#[test]
fn escalate_beyond_the_top_is_refused() {
    let mut h = open_classified();
    h.push(EventData::Escalated(escalated(3)));
    given(h)
        .when(Action::Escalate {
            level: None,
            team: None,
            reason: None,
        })
        .then_refused(Violation::LevelExhausted);
}

#[test]
fn resolve_needs_a_classification() {
    given(vec![EventData::Opened(opened())])
        .when(Action::Resolve(Resolved::default()))
        .then_refused(Violation::Unclassified);
}

#[test]
fn resolve_an_open_classified_case() {
    let state = given(open_classified())
        .when(Action::Resolve(Resolved {
            resolution: Some("card unblocked".into()),
            root_cause: None,
        }))
        .then_records(vec![EventData::Resolved(Resolved {
            resolution: Some("card unblocked".into()),
            root_cause: None,
        })]);
    assert_eq!(state.status(), Status::Resolved);
}

#[test]
fn resolve_twice_is_refused() {
    given(resolved())
        .when(Action::Resolve(Resolved::default()))
        .then_refused(Violation::NotOpen);
}

#[test]
fn reopen_a_resolved_case() {
    let state = given(resolved())
        .when(Action::Reopen(Reopened::default()))
        .then_records(vec![EventData::Reopened(Reopened::default())]);
    assert_eq!(state.status(), Status::Open);
    assert_eq!(state.case().unwrap().phase(), Some(Phase::Reopened));
}

#[test]
fn reopen_an_open_case_is_refused() {
    given(open_classified())
        .when(Action::Reopen(Reopened::default()))
        .then_refused(Violation::NotResolved);
}

#[test]
fn schedule_and_complete_a_follow_up() {
    let s = given(resolved());
    let state = s
        .when(Action::ScheduleFollowUp(follow_up(60 * 24 * 5)))
        .then_records(vec![EventData::FollowUpScheduled(follow_up(60 * 24 * 5))]);
    assert!(state.case().unwrap().pending_follow_up.is_some());
    let done = FollowUpCompleted {
        outcome: FollowUpOutcome::Confirmed,
    };
    let mut h = resolved();
    h.push(EventData::FollowUpScheduled(follow_up(60 * 24 * 5)));
    let state = given(h)
        .when(Action::CompleteFollowUp(done))
        .then_records(vec![EventData::FollowUpCompleted(done)]);
    assert!(state.case().unwrap().pending_follow_up.is_none());
}

#[test]
fn a_second_pending_follow_up_is_refused() {
    let mut h = resolved();
    h.push(EventData::FollowUpScheduled(follow_up(100)));
    given(h)
        .when(Action::ScheduleFollowUp(follow_up(200)))
        .then_refused(Violation::FollowUpPending { due: t(100) });
}

#[test]
fn completing_without_a_pending_follow_up_is_refused() {
    given(resolved())
        .when(Action::CompleteFollowUp(FollowUpCompleted {
            outcome: FollowUpOutcome::Unreachable,
        }))
        .then_refused(Violation::NoFollowUpPending);
}

#[test]
fn follow_up_of_an_open_case_is_refused() {
    given(open_classified())
        .when(Action::ScheduleFollowUp(follow_up(100)))
        .then_refused(Violation::NotResolved);
}

#[test]
fn survey_once_per_resolution() {
    let state = given(resolved())
        .when(Action::RecordSurvey(survey(5)))
        .then_records(vec![EventData::Surveyed(survey(5))]);
    assert!(state.case().unwrap().surveyed_this_resolution);
    let mut h = resolved();
    h.push(EventData::Surveyed(survey(5)));
    given(h.clone())
        .when(Action::RecordSurvey(survey(4)))
        .then_refused(Violation::AlreadySurveyed);
    // A reopen and a new resolution allow another survey.
    h.push(EventData::Reopened(Reopened::default()));
    h.push(EventData::Resolved(Resolved::default()));
    given(h)
        .when(Action::RecordSurvey(survey(2)))
        .then_records(vec![EventData::Surveyed(survey(2))]);
}

#[test]
fn survey_of_an_open_case_is_refused() {
    given(open_classified())
        .when(Action::RecordSurvey(survey(3)))
        .then_refused(Violation::NotResolved);
}

#[test]
fn close_a_resolved_case_then_nothing_more() {
    let state = given(resolved())
        .when(Action::Close)
        .then_records(vec![EventData::Closed]);
    assert_eq!(state.status(), Status::Closed);
    let mut h = resolved();
    h.push(EventData::Closed);
    given(h)
        .when(Action::Classify(classified(Category::Inquiry)))
        .then_refused(Violation::AfterClose);
}

#[test]
fn close_an_open_case_is_refused() {
    given(open_classified())
        .when(Action::Close)
        .then_refused(Violation::NotResolved);
}

#[test]
fn time_never_runs_backwards() {
    let s = given(open_classified()); // events at minutes 0 and 1
    s.when_at(0, Action::Respond)
        .then_refused(Violation::TimeWentBackwards {
            previous: t(1),
            at: t(0),
        });
    // The same instant as the previous event is fine.
    s.when_at(1, Action::Respond)
        .then_records(vec![EventData::Responded]);
}

#[test]
fn an_event_of_another_case_is_refused_by_fold() {
    let s = given(open_classified());
    let mut foreign = event(50, 5, EventData::Responded);
    foreign.case_id = CaseId::from_u128(99);
    let err = s.state().apply(&foreign).unwrap_err();
    assert_eq!(err.violation, Violation::WrongCase { stream: CASE });
}

#[test]
fn fold_reports_the_first_broken_rule() {
    let history = [
        event(1, 0, EventData::Opened(opened())),
        event(2, 1, EventData::Resolved(Resolved::default())),
    ];
    let err = fold(&history).unwrap_err();
    assert_eq!(err.violation, Violation::Unclassified);
    assert_eq!(err.event_id, Some(EventId::from_u128(2)));
    assert_eq!(err.violation.rule(), 4);
}

#[test]
fn await_the_customer_then_the_reply_ends_the_wait() {
    let wait = AwaitingCustomer {
        reason: Some("statement requested".into()),
    };
    let state = given(open_classified())
        .when(Action::AwaitCustomer(wait.clone()))
        .then_records(vec![EventData::AwaitingCustomer(wait.clone())]);
    assert!(state.case().unwrap().awaiting_customer);
    let mut h = open_classified();
    h.push(EventData::AwaitingCustomer(wait.clone()));
    // One wait at a time; an agent may still respond while waiting.
    given(h.clone())
        .when(Action::AwaitCustomer(AwaitingCustomer::default()))
        .then_refused(Violation::CannotAwait);
    given(h.clone())
        .when(Action::Respond)
        .then_records(vec![EventData::Responded]);
    let state = given(h)
        .when(Action::RecordCustomerReply)
        .then_records(vec![EventData::CustomerReplied]);
    assert!(!state.case().unwrap().awaiting_customer);
}

#[test]
fn a_reply_without_a_wait_is_refused() {
    given(open_classified())
        .when(Action::RecordCustomerReply)
        .then_refused(Violation::NotAwaiting);
}

#[test]
fn a_resolved_case_cannot_await_and_resolving_or_reopening_ends_a_wait() {
    given(resolved())
        .when(Action::AwaitCustomer(AwaitingCustomer::default()))
        .then_refused(Violation::CannotAwait);
    let mut h = open_classified();
    h.push(EventData::AwaitingCustomer(AwaitingCustomer::default()));
    let state = given(h.clone())
        .when(Action::Resolve(Resolved::default()))
        .then_records(vec![EventData::Resolved(Resolved::default())]);
    assert!(!state.case().unwrap().awaiting_customer);
    h.push(EventData::Resolved(Resolved::default()));
    given(h.clone())
        .when(Action::RecordCustomerReply)
        .then_refused(Violation::NotAwaiting);
    h.push(EventData::Reopened(Reopened::default()));
    // After the reopen the case waits on nobody: a new wait may start.
    given(h)
        .when(Action::AwaitCustomer(AwaitingCustomer::default()))
        .then_records(vec![EventData::AwaitingCustomer(
            AwaitingCustomer::default(),
        )]);
}
