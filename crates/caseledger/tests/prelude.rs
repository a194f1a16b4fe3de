//! The prelude is all an embedder imports: every type a `ServiceError` or
//! an `AppendError` carries, and the errors of the constructors a caller
//! uses, can be named from it alone, so that the bank's own functions can
//! take and return them. This file imports nothing else of the crate but
//! the test ids (`SequentialIds`, kept out of the prelude on purpose): a
//! type missing from the prelude fails to compile here.

use caseledger::SequentialIds;
use caseledger::prelude::*;
use chrono::{DateTime, Duration, TimeZone, Utc};

/// What a bank's desk shows for a refusal, written against the prelude's
/// names only, one function per payload type.
fn rule(e: &CaseError) -> String {
    format!("rule {}: {}", e.violation.code(), e)
}
fn process(e: &ProcessRefusal) -> String {
    format!("process {}", e.rule.code())
}
fn denied(e: &Denied) -> String {
    format!("not permitted: {}", e.rule.as_str())
}
fn extension(e: &ExtensionRefused) -> String {
    format!("extension: {e}")
}
fn cap(e: &FollowUpCapError) -> String {
    format!("cap: due {}", format_timestamp(&e.existing.due))
}
fn id_use(w: &IdUse) -> String {
    format!("id used: {w}")
}
fn invalid(r: &InvalidAppendReason) -> String {
    format!("invalid: {r}")
}
fn condition(c: &ConditionFailure) -> String {
    format!("condition: {c}")
}

fn describe<E: std::error::Error>(e: &ServiceError<E>) -> String {
    match e {
        ServiceError::Rule(c) | ServiceError::InvalidHistory(c) => rule(c),
        ServiceError::Process(p) => process(p),
        ServiceError::NotPermitted(d) => denied(d),
        ServiceError::Extension { reason, .. } => extension(reason),
        ServiceError::FollowUpCap(f) => cap(f),
        ServiceError::Append(AppendError::EventIdClash { where_, .. }) => id_use(where_),
        ServiceError::Append(AppendError::InvalidAppend { reason, .. }) => invalid(reason),
        ServiceError::Append(AppendError::ConditionFailed { failure, .. }) => condition(failure),
        other => format!("other: {other}"),
    }
}

/// The constructors' errors, named.
fn customer(s: &str) -> Result<CustomerId, TextError> {
    CustomerId::new(s)
}
fn score(n: i64) -> Result<Score, OutOfRange> {
    Score::new(n)
}
fn channel(s: &str) -> Result<Channel, UnknownValue> {
    Channel::parse(s)
}
fn extension_days(n: i64) -> Result<ExtensionDays, OutOfRange> {
    ExtensionDays::new(n)
}
fn directory(json: &str) -> Result<RoleDirectory, RoleDirectoryError> {
    RoleDirectory::from_json(json)
}
fn assigned_agent(case: &Case) -> Option<&Assignment> {
    case.assignment.as_ref()
}

fn at(minutes: i64) -> DateTime<Utc> {
    // 2026-03-02 is a valid date: the single instant always exists.
    #[allow(clippy::unwrap_used)]
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap();
    start + Duration::minutes(minutes)
}

type Service = CaseService<InMemoryEventLog, SequentialIds>;

fn open_complaint(
    service: &Service,
    case: CaseId,
    customer_id: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let agent = Actor::parse("agent-17")?;
    let open = Opened {
        customer_id: customer(customer_id)?,
        channel: channel("phone")?,
        tier: Tier::Standard,
        summary: None,
        origin: Origin::Customer,
    };
    service.execute(case, at(0), Actor::Customer, Action::Open(open))?;
    let complaint = Classified {
        category: Category::Complaint,
        topic: Topic::Card,
        priority: Priority::High,
    };
    service.execute(case, at(1), agent.clone(), Action::Classify(complaint))?;
    let team = Assigned {
        agent: AgentId::new("agent-17")?,
        team: Some(TeamId::new("complaints")?),
    };
    let state = service
        .execute(case, at(2), agent, Action::Assign(team))?
        .state;
    let case_now = state.case().ok_or("the case is open")?;
    assert_eq!(
        assigned_agent(case_now).map(|a| a.agent.as_str()),
        Some("agent-17")
    );
    Ok(())
}

#[test]
fn every_refusal_a_service_gives_is_described_through_prelude_names()
-> Result<(), Box<dyn std::error::Error>> {
    let service = CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
    let case = CaseId::from_u128(1);
    open_complaint(&service, case, "C-1")?;
    let agent = Actor::parse("agent-17")?;

    // A case rule: a survey before a resolution.
    let survey = Action::RecordSurvey(Surveyed::new(score(5)?));
    let e = service
        .execute(case, at(3), Actor::Customer, survey)
        .err()
        .ok_or("a survey of an open case")?;
    assert!(
        describe(&e).starts_with("rule not_resolved"),
        "{}",
        describe(&e)
    );

    // The complaint policy: 35 days is a step of the PSD regimes, not the
    // default cn-2020's next one (30).
    let extend = Action::ExtendDeadline(DeadlineExtended {
        days: extension_days(35)?,
        approved_by: AgentId::new("sup-3")?,
        reason: "waiting for the card scheme".into(),
    });
    let e = service
        .execute(case, at(4), agent.clone(), extend)
        .err()
        .ok_or("not the next step")?;
    assert!(describe(&e).starts_with("extension: "), "{}", describe(&e));

    // The process policy: a complaint resolved without a root cause.
    service.execute(case, at(5), agent.clone(), Action::Respond)?;
    let e = service
        .execute(
            case,
            at(6),
            agent.clone(),
            Action::Resolve(Resolved::default()),
        )
        .err()
        .ok_or("no root cause")?;
    assert_eq!(describe(&e), "process root_cause_missing");

    // The follow-up cap, across two cases of one customer.
    let resolve = Resolved {
        resolution: None,
        root_cause: Some(RootCause::ThirdParty),
    };
    service.execute(case, at(7), agent.clone(), Action::Resolve(resolve.clone()))?;
    let other = CaseId::from_u128(2);
    open_complaint(&service, other, "C-1")?;
    service.execute(other, at(5), agent.clone(), Action::Respond)?;
    service.execute(other, at(7), agent.clone(), Action::Resolve(resolve))?;
    let follow_up = |days: i64| {
        Action::ScheduleFollowUp(FollowUpScheduled {
            due: at(days * 24 * 60),
            channel: Channel::Phone,
            purpose: FollowUpPurpose::ProblemCheck,
        })
    };
    service.execute(case, at(8), agent.clone(), follow_up(5))?;
    let e = service
        .execute(other, at(9), agent, follow_up(6))
        .err()
        .ok_or("within 30 days")?;
    assert_eq!(
        describe(&e),
        format!("cap: due {}", format_timestamp(&at(5 * 24 * 60)))
    );

    // A role directory: the customer may not respond.
    let roles = directory(r#"{"agent-17": ["agent"]}"#)?;
    let guarded = CaseService::new(InMemoryEventLog::new(), SequentialIds::new(2))
        .with_permissions(Permissions::new(roles));
    open_complaint(&guarded, case, "C-2")?;
    let e = guarded
        .execute(case, at(3), Actor::Customer, Action::Respond)
        .err()
        .ok_or("a customer responding")?;
    assert_eq!(describe(&e), "not permitted: permission_table");
    assert!(Role::parse("qa").is_ok());
    Ok(())
}
