//! The closed service loop (issue 19): a complaint from intake to a
//! confirmed follow-up, and what the process policy refuses on the way.
//!
//! A VIP customer complains by phone. The complaint must go to a complaint
//! team before it is resolved, and its resolution must name a root cause;
//! the follow-up call finds the problem not solved, which reopens the case
//! in the same append; after a second resolution a new follow-up confirms
//! it, the case is closed, and the quality team reviews it afterwards. The
//! report then shows the loop: follow-up outcomes, the complaint's time to
//! its handler, the quality score, and no findings.
//!
//! Run: `cargo run --example closed_loop`

use caseledger::kpi::{KpiAccumulator, ReportParams};
use caseledger::prelude::*;
use caseledger::{QaReviewed, QaScore, RootCause};
use caseledger_ids::UuidV7Ids;
use chrono::{DateTime, Duration, TimeZone, Utc};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ids = UuidV7Ids::new();
    let case = ids.new_case_id();
    let service = CaseService::new(InMemoryEventLog::new(), ids);
    let start = Utc
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .ok_or("a valid start time")?;
    let at = |minutes: i64| -> DateTime<Utc> { start + Duration::minutes(minutes) };
    let front = Actor::parse("agent-17")?;
    let specialist = Actor::parse("agent-42")?;

    let open = Opened {
        customer_id: CustomerId::new("C-1001")?,
        channel: Channel::Phone,
        tier: Tier::Vip,
        summary: Some("card fee charged twice".into()),
        origin: Origin::Customer,
    };
    service.execute(case, at(0), front.clone(), Action::Open(open))?;
    let kind = Classified {
        category: Category::Complaint,
        topic: Topic::Card,
        priority: Priority::High,
    };
    service.execute(case, at(1), front.clone(), Action::Classify(kind))?;
    service.execute(case, at(2), front.clone(), Action::Respond)?;

    // Resolving before routing is refused by process policy.
    let fix = |cause| {
        Action::Resolve(Resolved {
            resolution: Some("duplicate fee refunded".into()),
            root_cause: cause,
        })
    };
    let refused = service.execute(
        case,
        at(3),
        front.clone(),
        fix(Some(RootCause::SystemOutage)),
    );
    println!(
        "resolve before routing: {}",
        refused.err().ok_or("refused")?
    );

    // Routed to the complaint team, resolved with a root cause.
    let route = Assigned {
        agent: AgentId::new("agent-42")?,
        team: Some(TeamId::new("complaints")?),
    };
    service.execute(case, at(10), front, Action::Assign(route))?;
    let refused = service.execute(case, at(40), specialist.clone(), fix(None));
    println!(
        "resolve without a root cause: {}",
        refused.err().ok_or("refused")?
    );
    service.execute(
        case,
        at(45),
        specialist.clone(),
        fix(Some(RootCause::SystemOutage)),
    )?;

    // The follow-up call three days later: not solved. The case reopens in
    // the same append.
    let call = |due_minutes: i64| {
        Action::ScheduleFollowUp(FollowUpScheduled {
            due: at(due_minutes),
            purpose: FollowUpPurpose::ProblemCheck,
            channel: Channel::Phone,
        })
    };
    service.execute(case, at(50), specialist.clone(), call(3 * 24 * 60))?;
    let refused = service.execute(case, at(60), specialist.clone(), Action::Close);
    println!(
        "close with a follow-up pending: {}",
        refused.err().ok_or("refused")?
    );
    let outcome = |outcome| Action::CompleteFollowUp(FollowUpCompleted { outcome });
    let done = service.execute(
        case,
        at(3 * 24 * 60),
        specialist.clone(),
        outcome(FollowUpOutcome::NotResolved),
    )?;
    for e in &done.events {
        println!("recorded {} ({})", e.event_type(), e.event_id);
    }
    println!("status after the call: {}", done.state.status());

    // Fixed for good; the next follow-up, 35 days later (the cap: one per
    // customer in any 30 days), confirms it.
    service.execute(
        case,
        at(3 * 24 * 60 + 120),
        specialist.clone(),
        fix(Some(RootCause::SystemOutage)),
    )?;
    service.execute(
        case,
        at(3 * 24 * 60 + 130),
        specialist.clone(),
        call(38 * 24 * 60),
    )?;
    service.execute(
        case,
        at(38 * 24 * 60),
        specialist.clone(),
        outcome(FollowUpOutcome::Confirmed),
    )?;
    service.execute(case, at(38 * 24 * 60 + 5), specialist, Action::Close)?;

    // The quality team reviews the closed case.
    let review = QaReviewed {
        reviewer: AgentId::new("qa-3")?,
        score: QaScore::new(85)?,
        notes: Some("routed late; second fix good".into()),
    };
    let reviewer = Actor::parse("qa-3")?;
    let done = service.execute(
        case,
        at(40 * 24 * 60),
        reviewer,
        Action::ReviewQuality(review),
    )?;
    println!("after the review: {}", done.state.status());

    let mut kpis = KpiAccumulator::new(None);
    for e in service.log().read_all(1)? {
        let e = e?;
        kpis.observe(e.position, &e.event);
    }
    let report = kpis.report(&ReportParams::default());
    let o = &report.overall;
    println!(
        "follow-ups: {} completed, {} confirmed, {} not resolved (confirmed rate {:?})",
        o.follow_up.completed,
        o.follow_up.confirmed,
        o.follow_up.not_resolved,
        o.follow_up.confirmed_rate
    );
    println!(
        "complaint to its handler: {:?} s; first contact resolution: {:?}",
        o.complaints.time_to_handler.median_s, o.fcr_rate
    );
    println!(
        "quality: {} case reviewed, mean score {:?}",
        o.quality.reviewed, o.quality.mean_score
    );
    println!("findings: {}", serde_json::to_string(&o.findings)?);
    Ok(())
}
