//! KPI figures: hand-computed examples for every figure and edge case of
//! docs/kpis.md, properties (merge, as-of, group sums) over generated
//! histories, and a snapshot of a full report.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use caseledger::kpi::{GroupBy, KpiAccumulator, Kpis, Report, ReportParams};
use caseledger::*;
use caseledger_synth::{Synth, SynthConfig};
use caseledger_testkit::history::{checked_report, next_event};
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

fn h(hours: f64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + Duration::seconds((hours * 3600.0) as i64)
}

/// Builds a log of events across cases, positions in the order added.
#[derive(Default)]
struct Log {
    events: Vec<Event>,
}

impl Log {
    fn add(&mut self, case: u128, hours: f64, actor: &str, data: EventData) -> &mut Self {
        let e = next_event(&self.events, case, h(hours), actor, data);
        self.events.push(e);
        self
    }

    fn open(&mut self, case: u128, hours: f64, customer: &str, channel: Channel) -> &mut Self {
        self.add(
            case,
            hours,
            "agent-1",
            EventData::Opened(Opened {
                customer_id: CustomerId::new(customer).unwrap(),
                channel,
                tier: Tier::Standard,
                summary: None,
                origin: caseledger::Origin::Customer,
            }),
        )
    }

    fn classify(
        &mut self,
        case: u128,
        hours: f64,
        c: Category,
        t: Topic,
        p: Priority,
    ) -> &mut Self {
        self.add(
            case,
            hours,
            "agent-1",
            EventData::Classified(Classified {
                category: c,
                topic: t,
                priority: p,
            }),
        )
    }

    fn assign(&mut self, case: u128, hours: f64, agent: &str, team: Option<&str>) -> &mut Self {
        self.add(
            case,
            hours,
            "agent-1",
            EventData::Assigned(Assigned {
                agent: AgentId::new(agent).unwrap(),
                team: team.map(|t| TeamId::new(t).unwrap()),
            }),
        )
    }

    fn simple(&mut self, case: u128, hours: f64, data: EventData) -> &mut Self {
        self.add(case, hours, "agent-1", data)
    }

    fn survey(&mut self, case: u128, hours: f64, score: i64) -> &mut Self {
        self.simple(
            case,
            hours,
            EventData::Surveyed(Surveyed::new(Score::new(score).unwrap())),
        )
    }

    fn follow_up(&mut self, case: u128, hours: f64, due_hours: f64) -> &mut Self {
        self.simple(
            case,
            hours,
            EventData::FollowUpScheduled(FollowUpScheduled {
                due: h(due_hours),
                purpose: FollowUpPurpose::Feedback,
                channel: Channel::Phone,
            }),
        )
    }

    fn complete(&mut self, case: u128, hours: f64) -> &mut Self {
        self.simple(
            case,
            hours,
            EventData::FollowUpCompleted(FollowUpCompleted {
                outcome: FollowUpOutcome::Confirmed,
            }),
        )
    }

    /// Checks every case's history against the rules, then reports.
    fn report(&self, as_of: Option<DateTime<Utc>>, params: &ReportParams) -> Report {
        checked_report(&self.events, as_of, params)
    }
}

fn resolved() -> EventData {
    EventData::Resolved(Resolved::default())
}

/// Four cases whose figures are computed by hand in the comments.
fn four_cases() -> Log {
    let mut log = Log::default();
    // Case 1: urgent inquiry, answered in 30 min, resolved in 2 h, scored 5.
    log.open(1, 0.0, "C-1", Channel::Phone)
        .classify(1, 0.0, Category::Inquiry, Topic::Card, Priority::Urgent)
        .simple(1, 0.5, EventData::Responded)
        .simple(1, 2.0, resolved())
        .survey(1, 3.0, 5);
    // Case 2: high complaint, assigned, answered after 2 h, transferred,
    // escalated, resolved 20 days after opening.
    log.open(2, 1.0, "C-2", Channel::Email)
        .classify(2, 1.0, Category::Complaint, Topic::Loan, Priority::High)
        .assign(2, 1.0, "agent-a", Some("lending"))
        .simple(2, 3.0, EventData::Responded)
        .assign(2, 4.0, "agent-b", Some("complaints"))
        .simple(
            2,
            5.0,
            EventData::Escalated(Escalated {
                level: EscalationLevel::new(1).unwrap(),
                team: None,
                reason: None,
            }),
        )
        .simple(2, 1.0 + 20.0 * 24.0, resolved());
    // Case 3: C-1 again, never classified, never answered.
    log.open(3, 2.0, "C-1", Channel::App);
    // Case 4: C-1's second card case 10 h after the first (a repeat),
    // reopened and re-resolved, scored 3.
    log.open(4, 10.0, "C-1", Channel::Chat)
        .classify(4, 10.0, Category::Inquiry, Topic::Card, Priority::Normal)
        .simple(4, 11.0, EventData::Responded)
        .simple(4, 12.0, resolved())
        .simple(4, 13.0, EventData::Reopened(Reopened::default()))
        .simple(4, 14.0, EventData::Responded)
        .simple(4, 15.0, resolved())
        .survey(4, 16.0, 3);
    log
}

fn approx(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn every_figure_of_four_hand_computed_cases() {
    let r = four_cases().report(None, &ReportParams::default());
    assert_eq!(r.as_of, Some(h(481.0)), "T defaults to the latest event");
    assert_eq!(r.events, 5 + 7 + 1 + 8);
    let k = r.overall;
    assert_eq!((k.cases_opened, k.cases_resolved, k.backlog), (4, 3, 1));
    assert!(approx(k.resolution_rate, 0.75));
    // First responses: 1800 s, 7200 s, 3600 s; case 3 has none.
    assert_eq!(k.first_response.count, 3);
    assert!(approx(k.first_response.mean_s, 4200.0));
    assert!(approx(k.first_response.median_s, 3600.0));
    assert!(approx(k.first_response.p90_s, 7200.0));
    // Resolution times: 7200 s, 20 days, and 5 h (latest resolution) for case 4.
    assert_eq!(k.resolution_time.count, 3);
    assert!(approx(
        k.resolution_time.mean_s,
        (7200.0 + 1_728_000.0 + 18_000.0) / 3.0
    ));
    assert!(approx(k.resolution_time.median_s, 18_000.0));
    assert!(approx(k.resolution_time.p90_s, 1_728_000.0));
    // FCR: only case 1 (case 2 transferred and escalated, case 4 reopened).
    assert!(approx(k.fcr_rate, 1.0 / 3.0));
    assert!(approx(k.escalation_rate, 0.25));
    assert!(approx(k.reopen_rate, 1.0 / 3.0));
    // SLA: 1 and 4 met; 2 breached its 72 h resolution; 3 (unclassified,
    // so normal) had no response within 24 h.
    assert_eq!((k.sla.met, k.sla.breached, k.sla.pending), (2, 2, 0));
    assert!(approx(k.sla.met_rate, 0.5));
    // Complaints: case 2 (cn-2020, the default), opened 2026-03-02 01:00
    // UTC, deadline 2026-03-18 00:00 UTC; resolved 20 days later.
    assert_eq!(k.complaints.count, 1);
    assert_eq!((k.complaints.pending, k.complaints.extended), (0, 0));
    assert_eq!(
        k.complaints
            .by_regime
            .get(caseledger::complaint::Regime::Cn2020)
            .overdue,
        1
    );
    assert!(approx(k.complaints.rate, 0.25));
    assert_eq!((k.complaints.within_deadline, k.complaints.overdue), (0, 1));
    assert!(approx(k.complaints.deadline_rate, 0.0));
    assert!(approx(k.complaints.resolution_time.median_s, 1_728_000.0));
    // Surveys: scores 5 and 3.
    assert_eq!(k.csat.responses, 2);
    assert!(approx(k.csat.mean_score, 4.0));
    assert!(approx(k.csat.satisfied_share, 0.5));
    assert_eq!(k.csat.meets_target, Some(false));
    assert!(approx(k.survey_response_rate, 2.0 / 3.0));
    // Repeat: case 4 (same customer and topic as case 1, 10 h later).
    assert!(approx(k.repeat_rate, 0.25));
    assert_eq!(k.follow_up.scheduled, 0);
    assert_eq!(k.follow_up.on_time_rate, None);
}

/// Only an agent's contact is a response (domain.md, "Assignment and
/// response"): a `responded` by `system` (an automatic acknowledgement) or
/// by `customer` starts no first response time, meets no response target
/// and is no second contact against first contact resolution.
#[test]
fn system_and_customer_responses_are_no_contact() {
    let mut log = Log::default();
    // Urgent (1 h to respond): acknowledged by the system after a minute,
    // a `responded` by the customer after 10, the agent's one contact
    // after 2 h, resolved after 3 h.
    log.open(1, 0.0, "C-1", Channel::Email)
        .classify(1, 0.0, Category::Inquiry, Topic::Card, Priority::Urgent)
        .add(1, 1.0 / 60.0, "system", EventData::Responded)
        .add(1, 10.0 / 60.0, "customer", EventData::Responded)
        .add(1, 2.0, "agent-1", EventData::Responded)
        .simple(1, 3.0, resolved());
    // Answered by the system alone, never by an agent: no first response.
    log.open(2, 0.0, "C-2", Channel::Email)
        .add(2, 0.5, "system", EventData::Responded);
    let k = log.report(Some(h(4.0)), &ReportParams::default()).overall;
    assert_eq!(k.first_response.count, 1, "case 2 has no agent's contact");
    assert!(approx(k.first_response.mean_s, 7200.0));
    // Case 1 breached its 1 h response target; case 2 (normal, 24 h) is
    // pending, as a case without a response.
    assert_eq!((k.sla.met, k.sla.breached, k.sla.pending), (0, 1, 1));
    // One agent's contact before the resolution: case 1 is an FCR.
    assert!(approx(k.fcr_rate, 1.0));
    assert_counts_match_the_folded_cases(&log.events, None);
}

#[test]
fn groups_are_sorted_and_use_latest_classification_and_assignment() {
    let log = four_cases();
    let by = |g: GroupBy| {
        let r = log.report(
            None,
            &ReportParams {
                group_by: Some(g),
                ..ReportParams::default()
            },
        );
        r.groups
            .iter()
            .map(|g| (g.key.clone(), g.kpis.cases_opened))
            .collect::<Vec<_>>()
    };
    let pairs = |v: &[(&str, u64)]| {
        v.iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by(GroupBy::Category),
        pairs(&[("complaint", 1), ("inquiry", 2), ("unclassified", 1)])
    );
    assert_eq!(
        by(GroupBy::Priority),
        pairs(&[
            ("high", 1),
            ("normal", 1),
            ("unclassified", 1),
            ("urgent", 1)
        ])
    );
    // The transfer moves case 2 to agent-b; cases without assignment are unassigned.
    assert_eq!(
        by(GroupBy::Agent),
        pairs(&[("agent-b", 1), ("unassigned", 3)])
    );
    assert_eq!(
        by(GroupBy::Team),
        pairs(&[("complaints", 1), ("unassigned", 3)])
    );
    assert_eq!(
        by(GroupBy::Channel),
        pairs(&[("app", 1), ("chat", 1), ("email", 1), ("phone", 1)])
    );
    assert_eq!(by(GroupBy::Month), pairs(&[("2026-03", 4)]));
    assert_eq!(by(GroupBy::Quarter), pairs(&[("2026-Q1", 4)]));
}

#[test]
fn as_of_ignores_later_events_and_later_cases() {
    let mut log = four_cases();
    log.open(5, 600.0, "C-5", Channel::Phone); // opened after T
    let t = h(100.0);
    let r = log.report(Some(t), &ReportParams::default());
    assert_eq!(r.as_of, Some(t));
    let k = r.overall;
    assert_eq!(k.cases_opened, 4, "a case opened after T does not exist");
    // Case 2's resolution (at 481 h) is after T: unresolved, 99 h old.
    assert_eq!((k.cases_resolved, k.backlog), (2, 2));
    // 99 h is past its 72 h resolution target but not past its deadline.
    assert_eq!((k.sla.met, k.sla.breached), (2, 2));
    assert_eq!((k.complaints.within_deadline, k.complaints.overdue), (0, 0));
    assert_eq!(k.complaints.pending, 1);
    assert_eq!(k.complaints.deadline_rate, None);
    // 22 events: case 2's resolution and case 5's opening are after T.
    assert_eq!(r.events, 22 - 2, "events after T are not counted");
}

#[test]
fn unresolved_complaint_past_the_deadline_is_overdue() {
    let mut log = Log::default();
    log.open(1, 0.0, "C-1", Channel::Phone).classify(
        1,
        0.0,
        Category::Complaint,
        Topic::Card,
        Priority::Low,
    );
    let at = |hours: f64| log.report(Some(h(hours)), &ReportParams::default()).overall;
    // Received 2026-03-02 00:00 UTC (cn-2020, the default calendar): the
    // day of receipt is not counted, the 15th day is 2026-03-17, and the
    // deadline the midnight that ends it, 16 × 24 h after opening.
    let before = at(16.0 * 24.0 - 0.01).complaints;
    assert_eq!(
        (before.overdue, before.pending),
        (0, 1),
        "just before the deadline"
    );
    let on = at(16.0 * 24.0).complaints;
    assert_eq!(
        (on.overdue, on.pending),
        (1, 0),
        "at the deadline it is overdue"
    );
    // SLA low: 72 h response target; pending before, breached after.
    assert_eq!(at(72.0).sla.pending, 1);
    assert_eq!(at(72.01).sla.breached, 1);
}

#[test]
fn cohort_counts_a_repeat_of_a_case_outside_it() {
    let log = four_cases();
    let r = log.report(
        None,
        &ReportParams {
            from: Some(h(5.0)),
            to: Some(h(20.0)),
            ..ReportParams::default()
        },
    );
    assert_eq!(
        r.overall.cases_opened, 1,
        "only case 4 opened in [5 h, 20 h)"
    );
    assert!(
        approx(r.overall.repeat_rate, 1.0),
        "case 1 is outside the cohort but counts"
    );
    // `to` is exclusive, `from` inclusive.
    let edge = log.report(
        None,
        &ReportParams {
            from: Some(h(1.0)),
            to: Some(h(10.0)),
            ..ReportParams::default()
        },
    );
    assert_eq!(edge.overall.cases_opened, 2, "cases 2 and 3");
}

#[test]
fn repeat_window_is_thirty_days_and_strictly_earlier() {
    let mut log = Log::default();
    let day = 24.0;
    log.open(1, 0.0, "C-1", Channel::Phone)
        .classify(1, 0.0, Category::Inquiry, Topic::Loan, Priority::Low)
        .open(2, 30.0 * day, "C-1", Channel::Phone)
        .classify(2, 30.0 * day, Category::Inquiry, Topic::Loan, Priority::Low)
        .open(3, 61.0 * day, "C-1", Channel::Phone)
        .classify(3, 61.0 * day, Category::Inquiry, Topic::Loan, Priority::Low)
        .open(4, 61.0 * day, "C-1", Channel::Phone)
        .classify(4, 61.0 * day, Category::Inquiry, Topic::Loan, Priority::Low);
    // Case 2: exactly 30 days after case 1, a repeat. Case 3: 31 days after
    // case 2, not. Case 4: same instant as case 3, not strictly earlier: not.
    let k = log.report(None, &ReportParams::default()).overall;
    assert!(approx(k.repeat_rate, 0.25));
}

#[test]
fn follow_up_on_time_and_cap_violations() {
    let mut log = Log::default();
    let day = 24.0;
    for case in [1, 2] {
        log.open(case, 0.0, "C-9", Channel::Phone)
            .classify(case, 0.0, Category::Inquiry, Topic::Card, Priority::Low)
            .simple(case, 1.0, resolved());
    }
    log.follow_up(1, 2.0 * day, 10.0 * day)
        .follow_up(2, 3.0 * day, 20.0 * day) // 10 days from case 1's: too close
        .complete(1, 9.0 * day) // on time
        .complete(2, 21.0 * day); // late
    let k = log.report(None, &ReportParams::default()).overall;
    assert_eq!((k.follow_up.scheduled, k.follow_up.completed), (2, 2));
    assert!(approx(k.follow_up.on_time_rate, 0.5));
    assert_eq!(
        k.follow_up.cap_violations, 1,
        "only the later one breaks the cap"
    );
}

/// A follow-up still pending at T whose due time is before T is late: it
/// counts in `on_time_rate`'s denominator as not on time (docs/kpis.md,
/// "Follow-up"), so a follow-up never done cannot vanish from the rate.
/// One due exactly at T may still be done on time: not yet counted.
#[test]
fn overdue_pending_follow_ups_count_as_not_on_time() {
    let mut log = Log::default();
    let day = 24.0;
    for (case, customer) in [(1, "C-1"), (2, "C-2"), (3, "C-3"), (4, "C-4")] {
        log.open(case, 0.0, customer, Channel::Phone)
            .classify(case, 0.0, Category::Inquiry, Topic::Card, Priority::Low)
            .simple(case, 1.0, resolved());
    }
    log.follow_up(1, 2.0 * day, 5.0 * day)
        .complete(1, 4.0 * day) // on time
        .follow_up(2, 2.0 * day, 6.0 * day) // never done, due before T
        .follow_up(3, 2.0 * day, 10.0 * day) // due exactly at T: not late yet
        .follow_up(4, 2.0 * day, 12.0 * day) // due after T
        .simple(4, 10.0 * day, EventData::Closed);
    let at = |t| log.report(Some(t), &ReportParams::default()).overall;
    let k = at(h(10.0 * day));
    assert_eq!((k.follow_up.scheduled, k.follow_up.completed), (4, 1));
    assert_eq!(k.follow_up.overdue, 1, "case 2's alone");
    assert!(approx(k.follow_up.on_time_rate, 0.5), "1 of (1 + 1)");
    // A millisecond later, case 3's is late too.
    let k = at(h(10.0 * day) + Duration::milliseconds(1));
    assert_eq!(k.follow_up.overdue, 2);
    assert!(approx(k.follow_up.on_time_rate, 1.0 / 3.0));
    // Before case 1's completion and case 2's due time: no verdict yet.
    let k = at(h(3.0 * day));
    assert_eq!((k.follow_up.completed, k.follow_up.overdue), (0, 0));
    assert_eq!(k.follow_up.on_time_rate, None);
}

#[test]
fn cap_ties_at_the_same_time_go_by_log_position() {
    // Two follow-ups of one customer recorded at the same instant: the one
    // later in the log (higher position) is the violation.
    let mut log2 = Log::default();
    log2.open(1, 0.0, "C-9", Channel::Phone)
        .classify(1, 0.0, Category::Inquiry, Topic::Card, Priority::Low)
        .simple(1, 1.0, resolved())
        .open(2, 2.0, "C-9", Channel::Phone)
        .classify(2, 2.0, Category::Inquiry, Topic::Card, Priority::Low)
        .simple(2, 3.0, resolved())
        .follow_up(2, 5.0, 100.0)
        .follow_up(1, 5.0, 120.0);
    let cohort = |from: f64, to: f64| {
        log2.report(
            None,
            &ReportParams {
                from: Some(h(from)),
                to: Some(h(to)),
                ..ReportParams::default()
            },
        )
        .overall
        .follow_up
        .cap_violations
    };
    assert_eq!(
        cohort(0.0, 1.0),
        1,
        "case 1's follow-up came later in the log"
    );
    assert_eq!(cohort(2.0, 3.0), 0, "case 2's follow-up came first");
}

#[test]
fn offsets_other_than_utc_near_a_month_boundary() {
    // 07:30 on 1 April at +08:00 is 23:30 on 31 March UTC: March, Q1.
    let line = r#"{"case_id":"00000000-0000-0000-0000-000000000001","type":"opened","at":"2026-04-01T07:30:00+08:00","actor":"agent-1","event_id":"00000000-0000-0000-0000-000000000001","data":{"customer_id":"C-1","channel":"phone"}}"#;
    let e = Event::from_json(line).unwrap();
    let mut acc = KpiAccumulator::new(None);
    acc.observe(1, &e);
    for (by, key) in [(GroupBy::Month, "2026-03"), (GroupBy::Quarter, "2026-Q1")] {
        let r = acc.report(&ReportParams {
            group_by: Some(by),
            ..ReportParams::default()
        });
        assert_eq!(r.groups[0].key, key);
    }
    // A cohort from 1 April UTC excludes it.
    let april = Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap();
    let r = acc.report(&ReportParams {
        from: Some(april),
        ..ReportParams::default()
    });
    assert_eq!(r.overall.cases_opened, 0);
}

#[test]
fn an_empty_log_gives_nulls_not_zero_divisions() {
    let r = KpiAccumulator::new(None).report(&ReportParams::default());
    assert_eq!(r.as_of, None);
    assert_eq!(r.overall.cases_opened, 0);
    assert_eq!(r.overall.resolution_rate, None);
    assert_eq!(r.overall.first_response.mean_s, None);
    assert_eq!(r.overall.csat.meets_target, None);
    insta::assert_json_snapshot!("empty_report", r);
}

#[test]
fn accumulators_of_different_as_of_times_do_not_merge() {
    let mut a = KpiAccumulator::new(Some(h(1.0)));
    let b = KpiAccumulator::new(None);
    let err = a.merge(b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot merge KPI accumulators made as of different times (2026-03-02T01:00:00Z and the latest event)"
    );
}

/// The counts a report derives from its own per-case facts, recomputed from
/// another path: each case's history folded by the case rules
/// (`caseledger::fold`, the `Case` an embedder reads), as of T by keeping
/// the events at or before T. The accumulator never calls `fold`, so the
/// two can disagree.
fn assert_counts_match_the_folded_cases(events: &[Event], as_of: Option<DateTime<Utc>>) {
    let mut by_case: std::collections::BTreeMap<CaseId, Vec<&Event>> = Default::default();
    for e in events.iter().filter(|e| as_of.is_none_or(|t| e.at <= t)) {
        by_case.entry(e.case_id).or_default().push(e);
    }
    let cases: Vec<Case> = by_case
        .values()
        .filter_map(|h| fold(h.iter().copied()).unwrap().case().cloned())
        .collect();
    let count = |f: &dyn Fn(&Case) -> bool| cases.iter().filter(|c| f(c)).count() as u64;
    let resolved = count(&|c| matches!(c.status, Status::Resolved | Status::Closed));
    let ever_resolved = count(&|c| c.resolutions > 0);
    let share = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);

    let mut acc = KpiAccumulator::new(as_of);
    acc.replay((1u64..).zip(events));
    let r = acc.report(&ReportParams {
        group_by: Some(GroupBy::Category),
        ..ReportParams::default()
    });
    let k = &r.overall;
    assert_eq!(k.cases_opened, cases.len() as u64);
    assert_eq!(k.cases_resolved, resolved);
    assert_eq!(k.backlog, cases.len() as u64 - resolved);
    assert_eq!(k.first_response.count, count(&|c| c.responses > 0));
    assert_eq!(
        k.escalation_rate,
        share(count(&|c| c.escalation_level > 0), cases.len() as u64)
    );
    assert_eq!(
        k.reopen_rate,
        share(count(&|c| c.reopens > 0), ever_resolved)
    );
    let category = |c: &Case| c.classification.as_ref().map(|k| k.category);
    assert_eq!(
        k.complaints.count,
        count(&|c| category(c) == Some(Category::Complaint))
    );
    // Groups by the latest classification as of T.
    let mut expected: std::collections::BTreeMap<String, u64> = Default::default();
    for c in &cases {
        let key = category(c).map_or("unclassified", Category::as_str);
        *expected.entry(key.to_owned()).or_default() += 1;
    }
    let groups: std::collections::BTreeMap<String, u64> = r
        .groups
        .iter()
        .map(|g| (g.key.clone(), g.kpis.cases_opened))
        .collect();
    assert_eq!(groups, expected);
}

#[test]
fn counts_agree_with_each_case_folded_by_the_rules() {
    let log = four_cases();
    assert_counts_match_the_folded_cases(&log.events, None);
    assert_counts_match_the_folded_cases(&log.events, Some(h(12.5)));
}

fn synth(cases: u64, seed: u64) -> Vec<Event> {
    Synth::new(SynthConfig {
        cases,
        seed,
        start: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        span_days: 120,
        customers: caseledger_synth::Customers::Uniform,
    })
    .collect()
}

#[test]
fn full_report_over_a_generated_history_is_pinned() {
    let events = synth(400, 42);
    let mut acc = KpiAccumulator::new(None);
    acc.replay((1u64..).zip(&events));
    let r = acc.report(&ReportParams {
        group_by: Some(GroupBy::Quarter),
        ..ReportParams::default()
    });
    insta::assert_json_snapshot!("generated_report_by_quarter", r);
}

/// Reads one count out of a set of figures.
type Figure = fn(&Kpis) -> u64;

fn group_sums_match(r: &Report) {
    let sum = |f: fn(&Kpis) -> u64| r.groups.iter().map(|g| f(&g.kpis)).sum::<u64>();
    let o = &r.overall;
    let checks: [(&str, Figure); 13] = [
        ("cases_opened", |k| k.cases_opened),
        ("cases_resolved", |k| k.cases_resolved),
        ("backlog", |k| k.backlog),
        ("first_response.count", |k| k.first_response.count),
        ("resolution_time.count", |k| k.resolution_time.count),
        ("sla.met", |k| k.sla.met),
        ("sla.breached", |k| k.sla.breached),
        ("sla.pending", |k| k.sla.pending),
        ("complaints.count", |k| k.complaints.count),
        ("csat.responses", |k| k.csat.responses),
        ("follow_up.scheduled", |k| k.follow_up.scheduled),
        ("follow_up.overdue", |k| k.follow_up.overdue),
        ("follow_up.cap_violations", |k| k.follow_up.cap_violations),
    ];
    for (name, f) in checks {
        assert_eq!(sum(f), f(o), "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn merge_of_any_partition_equals_the_whole(
        seed in any::<u64>(),
        cases in 1u64..80,
        parts in 1usize..5,
        salt in any::<u64>(),
        group in proptest::option::of(0usize..9),
    ) {
        let events = synth(cases, seed);
        let params = ReportParams { group_by: group.map(|g| GroupBy::ALL[g]), ..ReportParams::default() };
        let mut whole = KpiAccumulator::new(None);
        whole.replay((1u64..).zip(&events));
        let mut split: Vec<KpiAccumulator> = (0..parts).map(|_| KpiAccumulator::new(None)).collect();
        for (i, e) in events.iter().enumerate() {
            let part = (e.case_id.0.as_u128() as u64 ^ salt) as usize % parts;
            split[part].observe(i as u64 + 1, e);
        }
        let mut merged = KpiAccumulator::new(None);
        for p in split.into_iter().rev() {
            merged.merge(p).unwrap();
        }
        prop_assert_eq!(whole.report(&params), merged.report(&params));
    }

    /// A merged accumulator folds on: the first part of a log folded in
    /// partitions and merged (the cases taken in are indexed only when
    /// folding goes on), then the rest folded into the merge, one event
    /// at a time or by batches, gives the whole log's report, and a
    /// further merge of a copy of a partition keeps every case once.
    #[test]
    fn a_merge_folds_on_as_the_whole(
        seed in any::<u64>(),
        cases in 1u64..80,
        parts in 1usize..4,
        salt in any::<u64>(),
        cut in 0usize..1000,
        batches in any::<bool>(),
        group in proptest::option::of(0usize..9),
    ) {
        let events = synth(cases, seed);
        let cut = cut % (events.len() + 1);
        let params = ReportParams { group_by: group.map(|g| GroupBy::ALL[g]), ..ReportParams::default() };
        let mut whole = KpiAccumulator::new(None);
        whole.replay((1u64..).zip(&events));
        let mut split: Vec<KpiAccumulator> = (0..parts).map(|_| KpiAccumulator::new(None)).collect();
        for (i, e) in events[..cut].iter().enumerate() {
            let part = (e.case_id.0.as_u128() as u64 ^ salt) as usize % parts;
            split[part].observe(i as u64 + 1, e);
        }
        let again = split[0].clone();
        let mut merged = KpiAccumulator::new(None);
        for p in split {
            merged.merge(p).unwrap();
        }
        // Equality is about what an accumulator holds, not whether a
        // merge's cases are indexed yet: folding nothing changes nothing.
        let before = merged.clone();
        merged.replay(std::iter::empty());
        prop_assert_eq!(&merged, &before);
        let mut unchanged = before.clone();
        unchanged.merge(KpiAccumulator::new(None)).unwrap();
        prop_assert_eq!(&unchanged, &before);
        let rest = (cut as u64 + 1..).zip(&events[cut..]);
        if batches {
            merged.replay(rest);
        } else {
            for (position, e) in rest {
                merged.observe(position, e);
            }
        }
        prop_assert_eq!(merged.cases(), whole.cases());
        prop_assert_eq!(merged.report(&params), whole.report(&params));
        // A partition merged twice: its cases are kept once (their later
        // events are counted, as any merge counts events, but no figure
        // of theirs twice).
        let opened_before = merged.report(&ReportParams::default()).overall.cases_opened;
        merged.merge(again).unwrap();
        prop_assert_eq!(merged.cases(), whole.cases());
        prop_assert_eq!(merged.report(&ReportParams::default()).overall.cases_opened, opened_before);
    }

    /// An accumulator made `without_responders` (as the command line makes
    /// every one but the report by responder's) gives the full one's
    /// report by every other grouping: made so before or after its replay,
    /// and merged, in any partition, with full ones. A merge with one that
    /// skips the records skips them.
    #[test]
    fn without_responders_every_other_report_is_the_same(
        seed in any::<u64>(),
        cases in 1u64..80,
        parts in 1usize..4,
        salt in any::<u64>(),
        skipping in any::<u8>(),
        group in proptest::option::of(0usize..GroupBy::ALL.len()),
    ) {
        let group_by = group.map(|g| GroupBy::ALL[g]);
        prop_assume!(group_by != Some(GroupBy::Responder));
        let events = synth(cases, seed);
        let params = ReportParams { group_by, ..ReportParams::default() };
        let mut whole = KpiAccumulator::new(None);
        whole.replay((1u64..).zip(&events));
        let expected = whole.report(&params);
        let slim_after = whole.without_responders();
        prop_assert!(!slim_after.keeps_responders());
        prop_assert_eq!(&slim_after.report(&params), &expected);
        let skips = |i: usize| (skipping >> i) & 1 == 1;
        let mut split: Vec<KpiAccumulator> = (0..parts)
            .map(|i| {
                let acc = KpiAccumulator::new(None);
                if skips(i) { acc.without_responders() } else { acc }
            })
            .collect();
        for (i, e) in events.iter().enumerate() {
            let part = (e.case_id.0.as_u128() as u64 ^ salt) as usize % parts;
            split[part].observe(i as u64 + 1, e);
        }
        let mut merged = KpiAccumulator::new(None);
        for p in split {
            merged.merge(p).unwrap();
        }
        prop_assert_eq!(merged.keeps_responders(), !(0..parts).any(skips));
        prop_assert_eq!(merged.report(&params), expected);
    }

    /// `replay` looks up a batch's cases before folding it
    /// (`REPLAY_BATCH_EVENTS` at a time): the same accumulator as folding
    /// one event at a time, for cases opened within a batch, events of
    /// cases never seen opened (a log read from the middle), cases opened
    /// twice (the log again) and events after the as-of time.
    #[test]
    fn replay_by_batches_equals_observing_one_event_at_a_time(
        seed in any::<u64>(),
        cases in 1u64..120,
        from in 0usize..1000,
        cut in proptest::option::of(0usize..1000),
        twice in any::<bool>(),
    ) {
        let events = synth(cases, seed);
        let as_of = cut.map(|c| events[c % events.len()].at);
        let mut log: Vec<&Event> = events[from % events.len()..].iter().collect();
        if twice {
            log.extend(&events);
        }
        let mut one_by_one = KpiAccumulator::new(as_of);
        for (position, e) in (1u64..).zip(&log) {
            one_by_one.observe(position, e);
        }
        let mut batched = KpiAccumulator::new(as_of);
        batched.replay((1u64..).zip(log.iter().copied()));
        prop_assert_eq!(&batched, &one_by_one);
        let params = ReportParams::default();
        prop_assert_eq!(batched.report(&params), one_by_one.report(&params));
    }

    #[test]
    fn report_as_of_t_equals_report_of_the_log_truncated_at_t(
        seed in any::<u64>(),
        cases in 1u64..80,
        cut in 0usize..1000,
    ) {
        let events = synth(cases, seed);
        let t = events[cut % events.len()].at;
        let mut full = KpiAccumulator::new(Some(t));
        full.replay((1u64..).zip(&events));
        // The truncated log is replayed without an as-of time: its T is its
        // latest event, which is `t`. The as-of filter is only the full
        // replay's, so a wrong filter (or none) shows.
        let mut truncated = KpiAccumulator::new(None);
        truncated.replay((1u64..).zip(&events).filter(|(_, e)| e.at <= t));
        prop_assert_eq!(full.report(&ReportParams::default()), truncated.report(&ReportParams::default()));
    }

    #[test]
    fn report_is_the_same_on_any_number_of_threads(
        seed in any::<u64>(),
        cases in 1u64..120,
        threads in 2usize..6,
        group in proptest::option::of(0usize..9),
    ) {
        let events = synth(cases, seed);
        let mut acc = KpiAccumulator::new(None);
        acc.replay((1u64..).zip(&events));
        let params = ReportParams { group_by: group.map(|g| GroupBy::ALL[g]), ..ReportParams::default() };
        prop_assert_eq!(acc.report_on_threads(&params, threads), acc.report(&params));
    }

    #[test]
    fn counts_agree_with_each_case_folded_by_the_rules_on_generated_histories(
        seed in any::<u64>(),
        cases in 1u64..120,
        cut in proptest::option::of(0usize..1000),
    ) {
        let events = synth(cases, seed);
        let as_of = cut.map(|c| events[c % events.len()].at);
        assert_counts_match_the_folded_cases(&events, as_of);
    }

    #[test]
    fn group_figures_add_up_to_the_overall_counts(
        seed in any::<u64>(),
        cases in 1u64..80,
        group in 0usize..9,
    ) {
        let events = synth(cases, seed);
        let mut acc = KpiAccumulator::new(None);
        acc.replay((1u64..).zip(&events));
        let r = acc.report(&ReportParams { group_by: Some(GroupBy::ALL[group]), ..ReportParams::default() });
        group_sums_match(&r);
    }
}

/// A log read from a later position (`read_all(from)`) misses the `opened`
/// of cases that began before it: their later events are counted as
/// `orphan_events`, in no figure. Checked against an independent count, and
/// the figures against a replay of the log without those cases.
#[test]
fn events_of_cases_never_seen_opened_are_counted_as_orphans() {
    let log = InMemoryEventLog::new();
    let events = synth(200, 11);
    for e in &events {
        log.append(e.case_id, ExpectedVersion::Any, std::slice::from_ref(e))
            .unwrap();
    }
    let all: Vec<RecordedEvent> = log.read_all(1).unwrap().map(Result::unwrap).collect();
    let from = all.len() as u64 / 2;

    // The library's fold over the log's second half.
    let mut acc = KpiAccumulator::new(None);
    for e in log.read_all(from).unwrap() {
        let e = e.unwrap();
        acc.observe(e.position, &e.event);
    }

    // Independently: the cases opened before `from`, and their events on.
    let opened_before: std::collections::BTreeSet<CaseId> = all
        .iter()
        .filter(|e| e.position < from && matches!(e.event.data, EventData::Opened(_)))
        .map(|e| e.event.case_id)
        .collect();
    let rest: Vec<&RecordedEvent> = all.iter().filter(|e| e.position >= from).collect();
    let orphans = rest
        .iter()
        .filter(|e| opened_before.contains(&e.event.case_id))
        .count() as u64;
    assert!(orphans > 0, "the split must cut some cases");
    assert_eq!(acc.orphan_events(), orphans);
    let report = acc.report(&ReportParams::default());
    assert_eq!(report.orphan_events, orphans);
    assert_eq!(report.events, rest.len() as u64);

    // The figures are those of the cases opened in the second half only.
    let mut whole_cases = KpiAccumulator::new(None);
    for e in rest
        .iter()
        .filter(|e| !opened_before.contains(&e.event.case_id))
    {
        whole_cases.observe(e.position, &e.event);
    }
    let expected = whole_cases.report(&ReportParams::default());
    assert_eq!(whole_cases.orphan_events(), 0);
    assert_eq!(report.overall, expected.overall);

    // A whole log has none; merging partitions adds them up.
    let mut whole = KpiAccumulator::new(None);
    whole.replay(all.iter().map(|e| (e.position, &e.event)));
    assert_eq!(whole.orphan_events(), 0);
    let (mut first, mut second) = (KpiAccumulator::new(None), KpiAccumulator::new(None));
    for e in log.read_all(from).unwrap() {
        let e = e.unwrap();
        let half = if e.event.case_id.as_uuid().as_u128() % 2 == 0 {
            &mut first
        } else {
            &mut second
        };
        half.observe(e.position, &e.event);
    }
    first.merge(second).unwrap();
    assert_eq!(first.orphan_events(), orphans);
}
