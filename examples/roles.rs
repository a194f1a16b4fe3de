//! A bank system with roles: the service checks every command against a
//! role directory and the default permission table (docs/permissions.md).
//! The bank's login decides who the actor is; caseledger decides what that
//! actor may do. A front-line agent takes a complaint and may not resolve
//! it; a supervisor may not approve an extension they record themself; an
//! extension the supervisor approves is recorded, a complaint handler
//! resolves, and only the customer answers the survey. A quality reviewer
//! who never handled the case reviews it after it is closed.
//! Last, an audit of the log, the same check `caseledger verify --roles`
//! runs over a recorded history, finds nothing to report.
//!
//! Run: `cargo run --example roles`.

use caseledger::permission::{PermissionAudit, Permissions, Role, RoleDirectory};
use caseledger::prelude::*;
use caseledger::{DeadlineExtended, ExtensionDays};
use caseledger_ids::UuidV7Ids;
use chrono::{DateTime, TimeZone, Utc};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The directory, as the bank's identity system exports it (JSON) ...
    let mut directory = RoleDirectory::from_json(
        r#"{"agent-17": ["agent"], "sup-3": ["supervisor", "agent"], "qa-1": ["qa"]}"#,
    )?;
    // ... or built in code.
    directory.grant(AgentId::new("cmp-5")?, &[Role::ComplaintHandler])?;
    let ids = UuidV7Ids::new();
    let case = ids.new_case_id();
    let service = CaseService::new(InMemoryEventLog::new(), ids)
        .with_permissions(Permissions::new(directory.clone()));

    let at = |m: u32| -> Result<DateTime<Utc>, &'static str> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, m, 0)
            .single()
            .ok_or("bad time")
    };
    let agent = Actor::parse("agent-17")?;
    let open = Opened {
        customer_id: CustomerId::new("C-1001")?,
        channel: Channel::App,
        tier: Tier::Standard,
        summary: None,
        origin: Origin::Customer,
    };
    // The customer opens the case in the app; the agent takes it.
    service.execute(case, at(0)?, Actor::Customer, Action::Open(open))?;
    let complaint = Classified {
        category: Category::Complaint,
        topic: Topic::Card,
        priority: Priority::High,
    };
    service.execute(case, at(1)?, agent.clone(), Action::Classify(complaint))?;
    // To the complaint team: process policy resolves a complaint only
    // once it was routed there (docs/events.md, "Process policy").
    let me = Assigned {
        agent: AgentId::new("agent-17")?,
        team: Some(TeamId::new("complaints")?),
    };
    service.execute(case, at(2)?, agent.clone(), Action::Assign(me))?;
    service.execute(case, at(3)?, agent.clone(), Action::Respond)?;

    // Refused, and nothing recorded: the supervisor recording their own
    // approval, and the agent resolving a complaint.
    let extend = |by: &str| -> Result<Action, Box<dyn std::error::Error>> {
        Ok(Action::ExtendDeadline(DeadlineExtended {
            days: ExtensionDays::new(30)?,
            approved_by: AgentId::new(by)?,
            reason: "waiting for the card scheme's answer".into(),
        }))
    };
    let resolve = Action::Resolve(Resolved {
        resolution: None,
        root_cause: Some(RootCause::ThirdParty),
    });
    let version = service.state(case)?.version();
    let sup = Actor::parse("sup-3")?;
    for (who, action) in [
        (sup.clone(), extend("sup-3")?),
        (agent.clone(), resolve.clone()),
    ] {
        match service.execute(case, at(4)?, who, action) {
            Err(ServiceError::NotPermitted(denied)) => println!("refused: {denied}"),
            other => return Err(format!("expected a refusal, got {other:?}").into()),
        }
    }
    assert_eq!(service.state(case)?.version(), version, "nothing recorded");

    // The supervisor approves (the agent records it); a handler resolves.
    service.execute(case, at(5)?, agent, extend("sup-3")?)?;
    let handler = Actor::parse("cmp-5")?;
    service.execute(case, at(6)?, handler, resolve)?;
    // Only the customer (or the survey system) scores the service.
    let survey = Surveyed::new(Score::new(4)?);
    if let Err(e) = service.execute(case, at(7)?, sup, Action::RecordSurvey(survey.clone())) {
        println!("refused: {e}");
    }
    service.execute(case, at(7)?, Actor::Customer, Action::RecordSurvey(survey))?;
    service.execute(case, at(8)?, Actor::System, Action::Close)?;
    // Quality assurance reviews the closed case; the agent who handled it
    // may not review it.
    let review = |by: &str| -> Result<Action, Box<dyn std::error::Error>> {
        Ok(Action::ReviewQuality(QaReviewed {
            reviewer: AgentId::new(by)?,
            score: QaScore::new(85)?,
            notes: Some("clear answers, routed on time".into()),
        }))
    };
    match service.execute(case, at(9)?, Actor::parse("agent-17")?, review("agent-17")?) {
        Err(ServiceError::NotPermitted(denied)) => println!("refused: {denied}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    let done = service.execute(case, at(9)?, Actor::parse("qa-1")?, review("qa-1")?)?;
    println!(
        "case {case}: {} after {} events",
        done.state.status(),
        done.state.version()
    );

    // The audit of the whole log: what `verify --roles` reports.
    let mut audit = PermissionAudit::new(Permissions::new(directory));
    for e in service.log().read_all(1)? {
        let e = e?;
        audit.observe(e.position, &e.event);
    }
    let findings = audit.findings();
    println!("permission findings: {}", findings.len());
    assert!(findings.is_empty());
    Ok(())
}
