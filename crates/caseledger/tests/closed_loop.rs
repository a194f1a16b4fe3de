//! Issue 19, the closed service loop: a `not_resolved` follow-up reopens
//! its case (one atomic append, a derived id, retries record nothing
//! twice), process policy refuses commands (close with a follow-up
//! pending, a complaint resolved unrouted or without a root cause), quality
//! reviews after closing, bank-originated follow-ups while open, and the
//! report's findings, quality and outreach figures over hand-made
//! histories.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use caseledger::kpi::{GroupBy, KpiAccumulator, ReportParams};
use caseledger::process::{ProcessPolicy, ProcessRule};
use caseledger::*;
use common::*;

fn service() -> CaseService<InMemoryEventLog, SequentialIds> {
    CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1))
}

fn command(n: u128, minute: i64, action: Action) -> Command {
    Command {
        case_id: CASE,
        event_id: EventId::from_u128(n),
        at: t(minute),
        actor: agent("agent-1"),
        action,
    }
}

fn team(name: &str) -> Assigned {
    Assigned {
        agent: AgentId::new("agent-1").unwrap(),
        team: Some(TeamId::new(name).unwrap()),
    }
}

fn resolve(cause: Option<RootCause>) -> Action {
    Action::Resolve(Resolved {
        resolution: None,
        root_cause: cause,
    })
}

fn complete(outcome: FollowUpOutcome) -> Action {
    Action::CompleteFollowUp(FollowUpCompleted { outcome })
}

fn review(reviewer: &str, score: i64) -> Action {
    Action::ReviewQuality(QaReviewed {
        reviewer: AgentId::new(reviewer).unwrap(),
        score: QaScore::new(score).unwrap(),
        notes: None,
    })
}

/// Runs the commands in order, each must be recorded; returns the service.
fn run(s: &CaseService<InMemoryEventLog, SequentialIds>, actions: Vec<Action>) -> Vec<Outcome> {
    actions
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            s.execute_command(command(i as u128 + 1, i as i64, a))
                .unwrap_or_else(|e| panic!("step {i}: {e}"))
        })
        .collect()
}

/// An inquiry, resolved, with a follow-up pending.
fn resolved_with_follow_up() -> Vec<Action> {
    vec![
        Action::Open(opened()),
        Action::Classify(classified(Category::Inquiry)),
        resolve(None),
        Action::ScheduleFollowUp(follow_up(60 * 24 * 3)),
    ]
}

#[test]
fn a_not_resolved_follow_up_reopens_the_case_in_one_append() {
    let s = service();
    run(&s, resolved_with_follow_up());
    let before = s.log().len();
    let cmd = command(99, 10, complete(FollowUpOutcome::NotResolved));
    let done = s.execute_command(cmd.clone()).unwrap();
    assert_eq!(done.events.len(), 2);
    assert_eq!(done.events[0].event_id, EventId::from_u128(99));
    let reopen = &done.events[1];
    assert_eq!(reopen.event_id, EventId::from_u128(99).derived("reopened"));
    assert_ne!(reopen.event_id, EventId::from_u128(99));
    assert_eq!(reopen.event_id.as_uuid().get_version_num(), 8);
    assert_eq!(
        reopen.data,
        EventData::Reopened(Reopened {
            reason: Some("follow_up_not_resolved".into())
        })
    );
    assert_eq!((reopen.at, &reopen.actor), (cmd.at, &cmd.actor));
    assert_eq!(done.state.status(), Status::Open);
    assert_eq!(done.state.case().unwrap().reopens, 1);
    assert_eq!(s.log().len(), before + 2);
    // Consecutive positions: one append.
    assert_eq!(done.positions[1], done.positions[0] + 1);

    // A retry records nothing and answers with both events.
    let again = s.execute_command(cmd).unwrap();
    assert!(again.already_recorded);
    assert_eq!(again.events, done.events);
    assert_eq!(again.positions, done.positions);
    assert_eq!(s.log().len(), before + 2);
}

#[test]
fn the_derived_id_is_stable_and_depends_on_id_and_tag() {
    let a = EventId::from_u128(7);
    assert_eq!(a.derived("reopened"), a.derived("reopened"));
    assert_ne!(a.derived("reopened"), a.derived("closed"));
    assert_ne!(
        a.derived("reopened"),
        EventId::from_u128(8).derived("reopened")
    );
}

#[test]
fn other_outcomes_record_one_event() {
    for outcome in [FollowUpOutcome::Confirmed, FollowUpOutcome::Unreachable] {
        let s = service();
        run(&s, resolved_with_follow_up());
        let done = s
            .execute_command(command(99, 10, complete(outcome)))
            .unwrap();
        assert_eq!(done.events.len(), 1);
        assert_eq!(done.state.status(), Status::Resolved);
    }
}

fn refused_by(result: Result<Outcome, ServiceError<std::convert::Infallible>>) -> ProcessRule {
    match result {
        Err(ServiceError::Process(r)) => r.rule,
        other => panic!("not a process refusal: {other:?}"),
    }
}

#[test]
fn close_is_refused_while_a_follow_up_is_pending() {
    let s = service();
    run(&s, resolved_with_follow_up());
    let before = s.log().len();
    let err = s.execute_command(command(99, 10, Action::Close));
    assert_eq!(refused_by(err), ProcessRule::CloseWithFollowUpPending);
    assert_eq!(s.log().len(), before, "nothing recorded");
    s.execute_command(command(100, 11, complete(FollowUpOutcome::Confirmed)))
        .unwrap();
    s.execute_command(command(101, 12, Action::Close)).unwrap();
}

#[test]
fn a_complaint_is_resolved_only_routed_and_with_a_root_cause() {
    let s = service();
    run(
        &s,
        vec![
            Action::Open(opened()),
            Action::Classify(classified(Category::Complaint)),
            Action::Assign(team("front-line")),
        ],
    );
    let err = s.execute_command(command(10, 5, resolve(Some(RootCause::StaffError))));
    let Err(ServiceError::Process(refusal)) = err else {
        panic!("{err:?}")
    };
    assert_eq!(refusal.rule, ProcessRule::ComplaintNotRouted);
    assert_eq!(refusal.rule.code(), "complaint_not_routed");
    assert!(
        refusal.to_string().contains("complaint team (complaints)"),
        "{refusal}"
    );
    s.execute_command(command(11, 6, Action::Assign(team("complaints"))))
        .unwrap();
    // Routed once is enough, even after a transfer away.
    s.execute_command(command(12, 7, Action::Assign(team("back-office"))))
        .unwrap();
    let err = s.execute_command(command(13, 8, resolve(None)));
    assert_eq!(refused_by(err), ProcessRule::RootCauseMissing);
    let done = s
        .execute_command(command(14, 9, resolve(Some(RootCause::StaffError))))
        .unwrap();
    assert_eq!(done.state.status(), Status::Resolved);
}

#[test]
fn other_categories_need_no_routing_nor_root_cause() {
    for category in [
        Category::Inquiry,
        Category::Technical,
        Category::Outreach,
        Category::Suggestion,
        Category::Praise,
    ] {
        let s = service();
        run(
            &s,
            vec![
                Action::Open(opened()),
                Action::Classify(classified(category)),
                resolve(None),
            ],
        );
    }
}

#[test]
fn the_complaint_teams_are_the_policy_s() {
    let policy = ProcessPolicy::new([TeamId::new("disputes").unwrap()]);
    let s = service().with_process_policy(policy);
    run(
        &s,
        vec![
            Action::Open(opened()),
            Action::Classify(classified(Category::Complaint)),
            Action::Assign(team("complaints")),
        ],
    );
    let err = s.execute_command(command(10, 5, resolve(Some(RootCause::Other))));
    assert_eq!(refused_by(err), ProcessRule::ComplaintNotRouted);
    s.execute_command(command(11, 6, Action::Assign(team("disputes"))))
        .unwrap();
    s.execute_command(command(12, 7, resolve(Some(RootCause::Other))))
        .unwrap();
}

#[test]
fn a_quality_review_may_follow_closing_once_per_reviewer() {
    let s = service();
    run(
        &s,
        vec![
            Action::Open(opened()),
            Action::Classify(classified(Category::Inquiry)),
            resolve(None),
            Action::Close,
            review("qa-1", 80),
            review("qa-2", 60),
        ],
    );
    let err = s.execute_command(command(50, 9, review("qa-1", 90)));
    match err {
        Err(ServiceError::Rule(e)) => {
            assert_eq!(e.violation, Violation::AlreadyReviewed);
            assert_eq!(e.violation.rule(), 10);
        }
        other => panic!("{other:?}"),
    }
    // Everything else is still refused after closing.
    let err = s.execute_command(command(51, 9, Action::Respond));
    assert!(
        matches!(&err, Err(ServiceError::Rule(e)) if e.violation == Violation::AfterClose),
        "{err:?}"
    );
    assert_eq!(s.state(CASE).unwrap().status(), Status::Closed);
}

#[test]
fn a_bank_originated_case_schedules_follow_ups_while_open() {
    let bank = Opened {
        origin: Origin::Bank,
        ..opened()
    };
    let s = service();
    run(
        &s,
        vec![
            Action::Open(bank),
            Action::Classify(classified(Category::Outreach)),
            Action::ScheduleFollowUp(FollowUpScheduled {
                purpose: FollowUpPurpose::Care,
                ..follow_up(60)
            }),
            // Completed not_resolved while open: nothing to reopen.
            complete(FollowUpOutcome::NotResolved),
        ],
    );
    assert_eq!(s.state(CASE).unwrap().status(), Status::Open);
    assert_eq!(s.log().len(), 4);
    // A customer's case may not.
    let s = service();
    run(
        &s,
        vec![
            Action::Open(opened()),
            Action::Classify(classified(Category::Inquiry)),
        ],
    );
    let err = s.execute_command(command(9, 5, Action::ScheduleFollowUp(follow_up(60))));
    assert!(
        matches!(&err, Err(ServiceError::Rule(e)) if e.violation == Violation::NotResolved),
        "{err:?}"
    );
}

#[test]
fn the_cap_covers_a_bank_care_call_and_a_problem_check() {
    let s = service();
    let other = CaseId::from_u128(0xBEEF);
    // A care call on a bank-originated case of customer C-1001...
    run(
        &s,
        vec![
            Action::Open(Opened {
                origin: Origin::Bank,
                ..opened()
            }),
            Action::ScheduleFollowUp(FollowUpScheduled {
                purpose: FollowUpPurpose::Care,
                ..follow_up(60 * 24)
            }),
        ],
    );
    // ...blocks a problem check of the same customer 10 days later.
    let at = |m| Command {
        case_id: other,
        ..command(0, m, Action::Respond)
    };
    for (n, action) in [
        Action::Open(opened()),
        Action::Classify(classified(Category::Inquiry)),
        resolve(None),
    ]
    .into_iter()
    .enumerate()
    {
        s.execute_command(Command {
            event_id: EventId::from_u128(1000 + n as u128),
            action,
            ..at(10)
        })
        .unwrap();
    }
    let err = s.execute_command(Command {
        event_id: EventId::from_u128(2000),
        action: Action::ScheduleFollowUp(follow_up(60 * 24 * 11)),
        ..at(11)
    });
    assert!(matches!(err, Err(ServiceError::FollowUpCap(_))), "{err:?}");
}

// ---- Findings and figures over hand-made (imported) histories ----

/// Folds histories (one per case, given as event data one minute apart)
/// into a report.
fn report(cases: Vec<Vec<EventData>>, group_by: Option<GroupBy>) -> kpi::Report {
    let mut acc = KpiAccumulator::new(None);
    let mut position = 0;
    for (c, history) in cases.into_iter().enumerate() {
        let case = CaseId::from_u128(c as u128 + 1);
        let mut state = CaseState::initial();
        for (m, data) in history.into_iter().enumerate() {
            position += 1;
            let e = Event {
                event_id: EventId::from_u128(position as u128),
                case_id: case,
                at: t(m as i64),
                actor: agent("agent-1"),
                data,
            };
            state = state
                .apply(&e)
                .expect("a valid history: only policy is broken");
            acc.observe(position, &e);
        }
    }
    acc.report(&ReportParams {
        group_by,
        ..ReportParams::default()
    })
}

fn resolved(cause: Option<RootCause>) -> EventData {
    EventData::Resolved(Resolved {
        resolution: None,
        root_cause: cause,
    })
}

fn completed(outcome: FollowUpOutcome) -> EventData {
    EventData::FollowUpCompleted(FollowUpCompleted { outcome })
}

fn assigned_to(name: &str) -> EventData {
    EventData::Assigned(team(name))
}

fn inquiry() -> Vec<EventData> {
    vec![
        EventData::Opened(opened()),
        EventData::Classified(classified(Category::Inquiry)),
        EventData::Responded,
        resolved(None),
    ]
}

#[test]
fn a_not_resolved_outcome_without_reopen_is_a_finding_and_no_fcr() {
    let mut unreopened = inquiry();
    unreopened.extend([
        EventData::FollowUpScheduled(follow_up(60)),
        completed(FollowUpOutcome::NotResolved),
        EventData::Closed,
    ]);
    let mut reopened = inquiry();
    reopened.extend([
        EventData::FollowUpScheduled(follow_up(60)),
        completed(FollowUpOutcome::NotResolved),
        EventData::Reopened(Reopened::default()),
        resolved(None),
    ]);
    let mut confirmed = inquiry();
    confirmed.extend([
        EventData::FollowUpScheduled(follow_up(60)),
        completed(FollowUpOutcome::Confirmed),
    ]);
    let r = report(vec![unreopened, reopened, confirmed.clone()], None);
    let o = &r.overall;
    assert_eq!(o.findings.not_resolved_without_reopen, 1);
    assert_eq!(o.follow_up.not_resolved, 2);
    assert_eq!(o.follow_up.confirmed, 1);
    assert_eq!(o.follow_up.unreachable, 0);
    assert_eq!(o.follow_up.confirmed_rate, Some(1.0 / 3.0));
    // Only the confirmed case is a first contact resolution: the reopened
    // one was reopened, the other was told `not_resolved`.
    assert_eq!(o.fcr_rate, Some(1.0 / 3.0));
    let alone = report(vec![confirmed], None);
    assert_eq!(alone.overall.fcr_rate, Some(1.0));
    assert_eq!(alone.overall.findings.not_resolved_without_reopen, 0);
}

/// "Followed up again" before any reopen: a new follow-up scheduled after
/// the `not_resolved` outcome counts it, whatever comes after.
#[test]
fn a_not_resolved_outcome_followed_up_again_before_a_reopen_is_a_finding() {
    let mut again = inquiry();
    again.extend([
        EventData::FollowUpScheduled(follow_up(60)),
        completed(FollowUpOutcome::NotResolved),
        EventData::FollowUpScheduled(follow_up(120)),
        completed(FollowUpOutcome::Confirmed),
        EventData::Reopened(Reopened::default()),
        resolved(None),
    ]);
    let mut scheduled_only = inquiry();
    scheduled_only.extend([
        EventData::FollowUpScheduled(follow_up(60)),
        completed(FollowUpOutcome::NotResolved),
        EventData::FollowUpScheduled(follow_up(120)),
        EventData::Reopened(Reopened::default()),
    ]);
    for (name, case) in [("again", again), ("scheduled only", scheduled_only)] {
        let r = report(vec![case], None);
        assert_eq!(r.overall.findings.not_resolved_without_reopen, 1, "{name}");
    }
}

#[test]
fn closing_with_a_follow_up_pending_is_a_finding() {
    let mut pending = inquiry();
    pending.extend([
        EventData::FollowUpScheduled(follow_up(60)),
        EventData::Closed,
    ]);
    let mut done = inquiry();
    done.extend([
        EventData::FollowUpScheduled(follow_up(60)),
        completed(FollowUpOutcome::Unreachable),
        EventData::Closed,
    ]);
    let r = report(vec![pending, done], None);
    assert_eq!(r.overall.findings.closed_with_follow_up_pending, 1);
    assert_eq!(r.overall.follow_up.unreachable, 1);
}

fn complaint(steps: Vec<EventData>) -> Vec<EventData> {
    let mut h = vec![
        EventData::Opened(opened()),
        EventData::Classified(classified(Category::Complaint)),
    ];
    h.extend(steps);
    h
}

#[test]
fn complaint_routing_and_root_causes_are_findings() {
    let unrouted = complaint(vec![
        assigned_to("front-line"),
        resolved(Some(RootCause::ThirdParty)),
    ]);
    let routed_late = complaint(vec![
        resolved(Some(RootCause::ThirdParty)),
        EventData::Reopened(Reopened::default()),
        assigned_to("complaints"),
        resolved(Some(RootCause::ThirdParty)),
    ]);
    let no_cause = complaint(vec![assigned_to("complaints"), resolved(None)]);
    let good = complaint(vec![
        assigned_to("complaints"),
        resolved(Some(RootCause::ProductDefect)),
    ]);
    let r = report(vec![unrouted, routed_late, no_cause, good], None);
    let f = &r.overall.findings;
    assert_eq!(f.complaints_resolved_unrouted, 2);
    assert_eq!(f.complaints_without_root_cause, 1);
    assert_eq!(f.cap_violations, r.overall.follow_up.cap_violations);
    // time_to_handler: classified at minute 1; routed at minute 4 (after a
    // resolution and a reopen), 2 and 2; the unrouted one is not counted.
    let h = &r.overall.complaints.time_to_handler;
    assert_eq!(h.count, 3);
    assert_eq!(h.median_s, Some(60.0));
    assert_eq!(h.p90_s, Some(180.0));
}

/// The complaint findings are of complaints, by the latest category: a
/// case resolved unrouted and without a root cause as a complaint, then
/// reclassified as an inquiry, is neither (it is not a complaint).
#[test]
fn a_case_reclassified_from_complaint_has_no_complaint_findings() {
    let reclassified = complaint(vec![
        assigned_to("front-line"),
        resolved(None),
        EventData::Reopened(Reopened::default()),
        EventData::Classified(classified(Category::Inquiry)),
        resolved(None),
    ]);
    let r = report(vec![reclassified], None);
    assert_eq!(r.overall.complaints.count, 0);
    assert_eq!(r.overall.findings.complaints_resolved_unrouted, 0);
    assert_eq!(r.overall.findings.complaints_without_root_cause, 0);
}

#[test]
fn a_complaint_with_its_team_before_classification_is_handled_at_once() {
    let h = vec![
        EventData::Opened(opened()),
        assigned_to("complaints"),
        EventData::Responded,
        EventData::Classified(classified(Category::Complaint)),
        resolved(Some(RootCause::Other)),
    ];
    let r = report(vec![h], None);
    assert_eq!(r.overall.complaints.time_to_handler.median_s, Some(0.0));
    assert_eq!(r.overall.findings.complaints_resolved_unrouted, 0);
}

#[test]
fn quality_reviews_count_per_case_and_per_agent() {
    let qa = |reviewer: &str, score| {
        EventData::QaReviewed(QaReviewed {
            reviewer: AgentId::new(reviewer).unwrap(),
            score: QaScore::new(score).unwrap(),
            notes: None,
        })
    };
    let mut a = inquiry();
    a.insert(2, EventData::Assigned(assigned("agent-a")));
    a.extend([EventData::Closed, qa("qa-1", 90), qa("qa-2", 70)]);
    let mut b = inquiry();
    b.insert(2, EventData::Assigned(assigned("agent-b")));
    b.push(qa("qa-1", 40));
    let mut c = inquiry();
    c.insert(2, EventData::Assigned(assigned("agent-b")));
    let r = report(vec![a, b, c], Some(GroupBy::Agent));
    let q = &r.overall.quality;
    assert_eq!((q.reviewed, q.reviews), (2, 3));
    assert_eq!(q.mean_score, Some(200.0 / 3.0));
    let by = |key: &str| r.groups.iter().find(|g| g.key == key).unwrap().kpis.quality;
    assert_eq!(
        (by("agent-a").reviewed, by("agent-a").mean_score),
        (1, Some(80.0))
    );
    assert_eq!(
        (by("agent-b").reviewed, by("agent-b").mean_score),
        (1, Some(40.0))
    );
}

#[test]
fn outreach_counts_bank_originated_follow_ups_by_purpose() {
    let scheduled = |purpose, due| {
        EventData::FollowUpScheduled(FollowUpScheduled {
            purpose,
            ..follow_up(due)
        })
    };
    let bank = vec![
        EventData::Opened(Opened {
            origin: Origin::Bank,
            ..opened()
        }),
        EventData::Classified(classified(Category::Outreach)),
        scheduled(FollowUpPurpose::Care, 60),
        completed(FollowUpOutcome::Confirmed),
        scheduled(FollowUpPurpose::ExpiryReminder, 60 * 24 * 40),
        completed(FollowUpOutcome::Unreachable),
        scheduled(FollowUpPurpose::Care, 60 * 24 * 80),
    ];
    let mut customer = inquiry();
    customer.push(scheduled(FollowUpPurpose::Feedback, 60 * 24 * 200));
    let r = report(vec![bank, customer], None);
    let o = &r.overall;
    assert_eq!(o.outreach.cases, 1);
    let care = o.outreach.by_purpose.get(FollowUpPurpose::Care);
    assert_eq!(
        (
            care.scheduled,
            care.completed,
            care.confirmed,
            care.unreachable
        ),
        (2, 1, 1, 0)
    );
    let reminder = o.outreach.by_purpose.get(FollowUpPurpose::ExpiryReminder);
    assert_eq!((reminder.scheduled, reminder.unreachable), (1, 1));
    assert_eq!(
        o.outreach
            .by_purpose
            .get(FollowUpPurpose::Feedback)
            .scheduled,
        0
    );
    // The follow_up section counts every case's follow-ups.
    assert_eq!(o.follow_up.scheduled, 4);
    let json = serde_json::to_value(o).unwrap();
    let keys: Vec<&String> = json["outreach"]["by_purpose"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["care", "expiry_reminder"]);
}

#[test]
fn reports_group_by_the_latest_root_cause() {
    let a = complaint(vec![
        assigned_to("complaints"),
        resolved(Some(RootCause::SystemOutage)),
    ]);
    let b = complaint(vec![
        assigned_to("complaints"),
        resolved(Some(RootCause::StaffError)),
        EventData::Reopened(Reopened::default()),
        resolved(Some(RootCause::SystemOutage)),
    ]);
    let c = inquiry();
    let r = report(vec![a, b, c], Some(GroupBy::RootCause));
    let keys: Vec<(&str, u64)> = r
        .groups
        .iter()
        .map(|g| (g.key.as_str(), g.kpis.cases_opened))
        .collect();
    assert_eq!(keys, [("none", 1), ("system_outage", 2)]);
}
