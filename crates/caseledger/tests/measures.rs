//! Issue 20, points 1 to 3: the survey dimensions in `csat`, the targets
//! policy and the report's `targets`, and SLA targets by customer tier,
//! each against a small history computed by hand (docs/kpis.md).
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use caseledger::kpi::{
    GroupBy, Kpis, Report, ReportParams, SlaPolicy, SlaPolicyError, SlaTarget, TargetFigure,
    Targets,
};
use caseledger::*;
use caseledger_testkit::history::{checked_report, next_event};
use chrono::{DateTime, Duration, TimeZone, Utc};

fn h(hours: f64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + Duration::seconds((hours * 3600.0) as i64)
}

/// A log of events across cases, in the order added.
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

    /// Opens `case` at `hours` for a customer of `tier`, classified at once.
    fn open(&mut self, case: u128, hours: f64, tier: Tier, c: Category, p: Priority) -> &mut Self {
        self.add(
            case,
            hours,
            "agent-1",
            EventData::Opened(Opened {
                customer_id: CustomerId::new(format!("C-{case}")).unwrap(),
                channel: Channel::Phone,
                tier,
                summary: None,
                origin: Origin::Customer,
            }),
        )
        .add(
            case,
            hours,
            "agent-1",
            EventData::Classified(Classified {
                category: c,
                topic: Topic::Card,
                priority: p,
            }),
        )
    }

    fn respond(&mut self, case: u128, hours: f64) -> &mut Self {
        self.add(case, hours, "agent-1", EventData::Responded)
    }

    fn resolve(&mut self, case: u128, hours: f64) -> &mut Self {
        self.add(
            case,
            hours,
            "agent-1",
            EventData::Resolved(Resolved::default()),
        )
    }

    fn survey(&mut self, case: u128, hours: f64, s: Surveyed) -> &mut Self {
        self.add(case, hours, "customer", EventData::Surveyed(s))
    }

    fn follow_up(&mut self, case: u128, hours: f64, outcome: FollowUpOutcome) -> &mut Self {
        self.add(
            case,
            hours,
            "agent-1",
            EventData::FollowUpScheduled(FollowUpScheduled {
                due: h(hours + 24.0),
                purpose: FollowUpPurpose::Feedback,
                channel: Channel::Phone,
            }),
        )
        .add(
            case,
            hours + 1.0,
            "agent-1",
            EventData::FollowUpCompleted(FollowUpCompleted { outcome }),
        )
    }

    /// The report of the whole log; each case's history must be valid.
    fn report(&self, params: &ReportParams) -> Report {
        checked_report(&self.events, None, params)
    }
}

fn score(n: i64) -> Score {
    Score::new(n).unwrap()
}

/// Four cases, all opened at 0 h and classified at once:
/// 1. VIP urgent inquiry: answered at 0.75 h, resolved at 2 h; surveyed 5
///    (speed 4, problem solving 5, attitude 5, by phone); a follow-up that
///    found the customer unreachable.
/// 2. Standard urgent inquiry: answered at 0.75 h, resolved at 2 h;
///    surveyed 2 (speed 2, by app).
/// 3. VIP urgent complaint: answered at 0.75 h, resolved at 30 h; surveyed
///    4 with no dimension.
/// 4. Standard normal inquiry: answered at 1 h and 3 h (so not first
///    contact resolution), resolved at 5 h; a follow-up that confirmed.
fn four_cases() -> Log {
    let mut log = Log::default();
    let (inquiry, complaint) = (Category::Inquiry, Category::Complaint);
    log.open(1, 0.0, Tier::Vip, inquiry, Priority::Urgent)
        .respond(1, 0.75)
        .resolve(1, 2.0)
        .survey(
            1,
            3.0,
            Surveyed {
                speed: Some(score(4)),
                problem_solving: Some(score(5)),
                attitude: Some(score(5)),
                via: Some(SurveyVia::Phone),
                ..Surveyed::new(score(5))
            },
        )
        .follow_up(1, 3.0, FollowUpOutcome::Unreachable);
    log.open(2, 0.0, Tier::Standard, inquiry, Priority::Urgent)
        .respond(2, 0.75)
        .resolve(2, 2.0)
        .survey(
            2,
            3.0,
            Surveyed {
                speed: Some(score(2)),
                via: Some(SurveyVia::App),
                ..Surveyed::new(score(2))
            },
        );
    log.open(3, 0.0, Tier::Vip, complaint, Priority::Urgent)
        .respond(3, 0.75)
        .resolve(3, 30.0)
        .survey(3, 31.0, Surveyed::new(score(4)));
    log.open(4, 0.0, Tier::Standard, inquiry, Priority::Normal)
        .respond(4, 1.0)
        .respond(4, 3.0)
        .resolve(4, 5.0)
        .follow_up(4, 5.0, FollowUpOutcome::Confirmed);
    log
}

/// VIP urgent cases: 30 min to respond, 4 h to resolve; urgent
/// complaints: 1 h and 36 h, whatever the tier; other urgent cases: the
/// default 1 h and 24 h.
const TIERED: &str = r#"{
    "priorities": {"normal": {"response_s": 86400, "resolution_s": 604800},
                   "urgent": {"response_s": 3600, "resolution_s": 86400}},
    "categories": {"complaint": {"urgent": {"response_s": 3600, "resolution_s": 129600}}},
    "tiers": {"vip": {"urgent": {"response_s": 1800, "resolution_s": 14400}}}
}"#;

fn approx(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn survey_dimensions_have_their_means_and_counts() {
    let r = four_cases().report(&ReportParams::default());
    let c = r.overall.csat;
    // Overall scores 5, 2 and 4, as before the dimensions existed.
    assert_eq!(c.responses, 3);
    assert!(approx(c.mean_score, 11.0 / 3.0));
    // speed: 4 and 2; problem solving: 5; attitude: 5; case 3 scored none.
    assert_eq!((c.speed.mean_score, c.speed.count), (Some(3.0), 2));
    assert_eq!(
        (c.problem_solving.mean_score, c.problem_solving.count),
        (Some(5.0), 1)
    );
    assert_eq!((c.attitude.mean_score, c.attitude.count), (Some(5.0), 1));
    // Per tier: the standard customers' only dimension is case 2's speed.
    let r = four_cases().report(&ReportParams {
        group_by: Some(GroupBy::Tier),
        ..ReportParams::default()
    });
    let standard = &r.groups.iter().find(|g| g.key == "standard").unwrap().kpis;
    assert_eq!(
        (standard.csat.speed.mean_score, standard.csat.speed.count),
        (Some(2.0), 1)
    );
    assert_eq!(
        (
            standard.csat.attitude.mean_score,
            standard.csat.attitude.count
        ),
        (None, 0)
    );
    let json = serde_json::to_value(standard).unwrap();
    assert_eq!(
        json["csat"]["attitude"],
        serde_json::json!({"mean_score": null, "count": 0})
    );
    assert_eq!(
        json["csat"]["speed"],
        serde_json::json!({"mean_score": 2.0, "count": 1})
    );
}

#[test]
fn without_a_targets_file_only_the_satisfied_share_has_a_target() {
    let r = four_cases().report(&ReportParams::default());
    let o = &r.overall;
    let json = serde_json::to_value(o).unwrap();
    // Satisfied: 5 and 4 of 5, 2 and 4: 2 of 3, under 85%.
    assert_eq!(
        json["targets"],
        serde_json::json!({"satisfied_share": {
            "target": 0.85, "value": 2.0 / 3.0, "meets_target": false}})
    );
    assert_eq!(o.csat.meets_target, Some(false));
    for g in &four_cases()
        .report(&ReportParams {
            group_by: Some(GroupBy::Tier),
            ..ReportParams::default()
        })
        .groups
    {
        let t = g.kpis.targets.get(TargetFigure::SatisfiedShare).unwrap();
        assert_eq!(g.kpis.csat.meets_target, t.meets_target, "{}", g.key);
    }
}

#[test]
fn every_target_is_checked_overall_and_per_group() {
    let targets = Targets::from_json(
        r#"{"fcr_rate": 0.7, "sla_met_rate": 0.9, "deadline_rate": 0.95, "confirmed_rate": 0.8}"#,
    )
    .unwrap();
    let params = ReportParams {
        group_by: Some(GroupBy::Tier),
        targets,
        ..ReportParams::default()
    };
    let r = four_cases().report(&params);
    let verdict = |k: &Kpis, f: TargetFigure| {
        let v = k.targets.get(f).unwrap();
        (v.target, v.value, v.meets_target)
    };
    let o = &r.overall;
    // fcr: cases 1 to 3 of 4 resolved (case 4 was answered twice).
    assert_eq!(
        verdict(o, TargetFigure::FcrRate),
        (0.7, Some(0.75), Some(true))
    );
    // SLA on the default policy: case 3 (urgent, resolved after 30 h)
    // breached its 24 h; the other three met their targets.
    assert_eq!(
        verdict(o, TargetFigure::SlaMetRate),
        (0.9, Some(0.75), Some(false))
    );
    assert_eq!(
        o.targets.get(TargetFigure::SlaMetRate).unwrap().value,
        o.sla.met_rate
    );
    // The one complaint was resolved in 30 h, long before its deadline.
    assert_eq!(
        verdict(o, TargetFigure::DeadlineRate),
        (0.95, Some(1.0), Some(true))
    );
    // Follow-ups: one confirmed, one unreachable.
    assert_eq!(
        verdict(o, TargetFigure::ConfirmedRate),
        (0.8, Some(0.5), Some(false))
    );
    // The file leaves satisfied_share out: its default target stays.
    assert_eq!(
        verdict(o, TargetFigure::SatisfiedShare),
        (0.85, Some(2.0 / 3.0), Some(false))
    );
    // Each figure is the report's own (one mapping).
    assert_eq!(
        o.targets.get(TargetFigure::FcrRate).unwrap().value,
        o.fcr_rate
    );
    assert_eq!(
        o.targets.get(TargetFigure::DeadlineRate).unwrap().value,
        o.complaints.deadline_rate
    );
    // Per tier. VIP: cases 1 and 3, both first contact resolutions,
    // satisfied 2 of 2, no follow-up confirmed (1 unreachable). Standard:
    // cases 2 and 4, fcr 1 of 2, satisfied 0 of 1, no complaint.
    let group = |key: &str| &r.groups.iter().find(|g| g.key == key).unwrap().kpis;
    let (vip, standard) = (group("vip"), group("standard"));
    assert_eq!(
        verdict(vip, TargetFigure::SatisfiedShare),
        (0.85, Some(1.0), Some(true))
    );
    assert_eq!(vip.csat.meets_target, Some(true));
    assert_eq!(
        verdict(vip, TargetFigure::ConfirmedRate),
        (0.8, Some(0.0), Some(false))
    );
    assert_eq!(
        verdict(standard, TargetFigure::FcrRate),
        (0.7, Some(0.5), Some(false))
    );
    assert_eq!(
        verdict(standard, TargetFigure::DeadlineRate),
        (0.95, None, None),
        "no complaint: no verdict"
    );
    // The same keys in every group (a `Value` sorts them).
    let keys = |k: &Kpis| {
        serde_json::to_value(k).unwrap()["targets"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut all: Vec<String> = TargetFigure::ALL.iter().map(|f| f.to_string()).collect();
    all.sort();
    assert_eq!(keys(o), all);
    assert_eq!(keys(standard), all);
}

#[test]
fn a_target_removed_or_moved_changes_the_verdicts() {
    let targets = Targets::from_json(r#"{"satisfied_share": 0.6}"#).unwrap();
    let r = four_cases().report(&ReportParams {
        targets,
        ..ReportParams::default()
    });
    assert_eq!(r.overall.csat.meets_target, Some(true), "2/3 ≥ 0.6");
    let r = four_cases().report(&ReportParams {
        targets: Targets::from_json(r#"{"satisfied_share": null}"#).unwrap(),
        ..ReportParams::default()
    });
    assert_eq!(r.overall.csat.meets_target, None);
    assert_eq!(
        serde_json::to_value(r.overall).unwrap()["targets"],
        serde_json::json!({})
    );
    // The other figures keep their values whatever the targets.
    let plain = four_cases().report(&ReportParams::default());
    assert_eq!(
        r.overall.csat.satisfied_share,
        plain.overall.csat.satisfied_share
    );
    assert_eq!(r.overall.sla, plain.overall.sla);
}

#[test]
fn sla_targets_go_category_then_tier_then_priority() {
    let p = SlaPolicy::from_json(TIERED).unwrap();
    let t = |response_s, resolution_s| SlaTarget {
        response_s,
        resolution_s,
    };
    let urgent = Some(Priority::Urgent);
    let inquiry = Some(Category::Inquiry);
    let complaint = Some(Category::Complaint);
    // Tier override over the priority's.
    assert_eq!(p.target_for(inquiry, Tier::Vip, urgent), t(1800, 14400));
    // The category's override wins over the tier's.
    assert_eq!(p.target_for(complaint, Tier::Vip, urgent), t(3600, 129600));
    // No override for the tier, or not for this priority: the priority's.
    assert_eq!(
        p.target_for(inquiry, Tier::Standard, urgent),
        t(3600, 86400)
    );
    assert_eq!(
        p.target_for(inquiry, Tier::Vip, Some(Priority::Normal)),
        p.normal
    );
    // Unclassified cases count as normal, tier overrides included.
    assert_eq!(p.target_for(None, Tier::Vip, None), p.normal);
    assert_eq!(p.validate(), Ok(()));
}

#[test]
fn the_report_s_sla_figures_use_the_tier() {
    let tiered = SlaPolicy::from_json(TIERED).unwrap();
    let params = |sla: SlaPolicy| ReportParams {
        group_by: Some(GroupBy::Tier),
        sla,
        ..ReportParams::default()
    };
    // Case 1 (VIP inquiry, answered after 45 min) breaches the VIP's
    // 30 min; case 3 (VIP complaint, 45 min, 30 h) meets the complaint's
    // 1 h and 36 h, which win over the VIP's 30 min and 4 h; cases 2 and
    // 4 meet the priorities' targets.
    let r = four_cases().report(&params(tiered));
    let o = &r.overall.sla;
    assert_eq!((o.met, o.breached, o.pending), (3, 1, 0));
    assert_eq!(o.met_rate, Some(0.75));
    let vip = &r.groups.iter().find(|g| g.key == "vip").unwrap().kpis.sla;
    assert_eq!((vip.met, vip.breached, vip.met_rate), (1, 1, Some(0.5)));
    // Without the tier override, all four meet their targets.
    let mut untiered = SlaPolicy::from_json(TIERED).unwrap();
    untiered.tiers.clear();
    let r = four_cases().report(&params(untiered));
    assert_eq!((r.overall.sla.met, r.overall.sla.breached), (4, 0));
}

#[test]
fn tier_overrides_read_from_both_forms_and_bad_ones_are_named() {
    let first = r#"{"low": {"response_s": 1, "resolution_s": 2},
        "normal": {"response_s": 1, "resolution_s": 2},
        "high": {"response_s": 1, "resolution_s": 2},
        "urgent": {"response_s": 10, "resolution_s": 20},
        "tiers": {"at_risk": {"urgent": {"response_s": 5, "resolution_s": 6}}}}"#;
    let p = SlaPolicy::from_json(first).unwrap();
    assert_eq!(
        p.target_for(None, Tier::AtRisk, Some(Priority::Urgent)),
        SlaTarget {
            response_s: 5,
            resolution_s: 6
        }
    );
    // The policy's JSON reads back to the same policy, tiers included.
    for p in [p, SlaPolicy::from_json(TIERED).unwrap()] {
        let again = SlaPolicy::from_json(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(again.tiers, p.tiers);
        assert_eq!(again.categories, p.categories);
    }
    let field_of = |json: &str| match SlaPolicy::from_json(json).unwrap_err() {
        SlaPolicyError::BadField { field, .. } => field,
        other => panic!("{other}"),
    };
    let second = |tiers: &str| {
        format!(
            r#"{{"priorities": {{"normal": {{"response_s": 1, "resolution_s": 2}}}}, "tiers": {tiers}}}"#
        )
    };
    assert_eq!(field_of(&second(r#"{"gold": {}}"#)), "tiers.gold");
    assert_eq!(
        field_of(&second(r#"{"vip": {"asap": {}}}"#)),
        "tiers.vip.asap"
    );
    assert_eq!(
        field_of(&second(
            r#"{"vip": {"high": {"response_s": 0, "resolution_s": 2}}}"#
        )),
        "tiers.vip.high"
    );
    assert_eq!(field_of(&second("[]")), "tiers");
    let err = SlaPolicy::from_json(&second(r#"{"gold": {}}"#)).unwrap_err();
    assert!(
        err.to_string()
            .contains("standard, vip, new, at_risk, dormant"),
        "{err}"
    );
}
