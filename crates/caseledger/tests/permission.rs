//! Who may do what (docs/permissions.md): every row of the default table,
//! allowed and refused, through the pure check; each separation-of-duties
//! rule; the mapping of events to actions; the service's refusal and that
//! it records nothing; the role directory's JSON form; the audit of a
//! recorded history.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use caseledger::permission::{
    Denied, PermissionAction, PermissionAudit, PermissionRule, PermissionTable, Permissions,
    Request, Role, RoleDirectory, RoleDirectoryError, RoleSet, check, request_of,
};
use caseledger::*;
use common::*;

/// The default table as docs/permissions.md (and issue 24) writes it,
/// restated independently of the code: each action and the roles marked.
const DOCUMENTED_TABLE: &[(&str, &[&str])] = &[
    (
        "open",
        &[
            "customer",
            "agent",
            "complaint_handler",
            "supervisor",
            "system",
        ],
    ),
    (
        "classify",
        &["agent", "complaint_handler", "supervisor", "system"],
    ),
    (
        "assign",
        &["agent", "complaint_handler", "supervisor", "system"],
    ),
    ("respond", &["agent", "complaint_handler", "supervisor"]),
    (
        "await_customer",
        &["agent", "complaint_handler", "supervisor", "system"],
    ),
    (
        "record_customer_reply",
        &[
            "customer",
            "agent",
            "complaint_handler",
            "supervisor",
            "system",
        ],
    ),
    (
        "escalate",
        &["agent", "complaint_handler", "supervisor", "system"],
    ),
    (
        "resolve_non_complaint",
        &["agent", "complaint_handler", "supervisor"],
    ),
    ("resolve_complaint", &["complaint_handler", "supervisor"]),
    (
        "reopen",
        &[
            "customer",
            "agent",
            "complaint_handler",
            "supervisor",
            "system",
        ],
    ),
    (
        "extend_deadline",
        &["agent", "complaint_handler", "supervisor"],
    ),
    (
        "schedule_follow_up",
        &["agent", "complaint_handler", "supervisor", "system"],
    ),
    (
        "complete_follow_up",
        &["agent", "complaint_handler", "supervisor", "system"],
    ),
    ("survey", &["customer", "system"]),
    (
        "close",
        &["agent", "complaint_handler", "supervisor", "system"],
    ),
    ("quality_review", &["qa"]),
];

/// One agent per staff role holding that role alone, a supervisor who is
/// also an agent, and a second supervisor to approve.
fn directory() -> RoleDirectory {
    RoleDirectory::from_json(
        r#"{
            "only-agent": ["agent"],
            "only-complaint_handler": ["complaint_handler"],
            "only-supervisor": ["supervisor"],
            "only-qa": ["qa"],
            "sup-2": ["supervisor", "agent"],
            "qa-2": ["qa"]
        }"#,
    )
    .unwrap()
}

/// The actor holding exactly `role`.
fn actor_with(role: Role) -> Actor {
    match role {
        Role::Customer => Actor::Customer,
        Role::System => Actor::System,
        other => Actor::parse(&format!("only-{other}")).unwrap(),
    }
}

fn id(s: &str) -> AgentId {
    AgentId::new(s).unwrap()
}

#[test]
fn every_row_of_the_default_table_allows_exactly_its_roles() {
    let dir = directory();
    let table = PermissionTable::default();
    // The code's action list is the documented one, in order.
    assert_eq!(
        PermissionAction::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        DOCUMENTED_TABLE.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    // Separation rules satisfied: an approver who is a supervisor, neither
    // the actor nor assigned; a reviewer who is the actor.
    let approver = id("sup-2");
    let state = given(open_classified()).state().clone();
    let mut allowed_count = 0;
    for (name, roles) in DOCUMENTED_TABLE {
        let action = PermissionAction::parse(name).unwrap();
        for role in Role::ALL {
            let actor = actor_with(*role);
            let reviewer = actor.agent().cloned().unwrap_or_else(|| id("qa-2"));
            let request = match action {
                PermissionAction::ExtendDeadline => Request::ExtendDeadline {
                    approved_by: &approver,
                },
                PermissionAction::QualityReview => Request::QualityReview {
                    reviewer: &reviewer,
                },
                a => Request::Plain(a),
            };
            let got = check(&dir, &table, CASE, &actor, &state, &request);
            let expected = roles.contains(&role.as_str());
            match got {
                Ok(()) => {
                    assert!(expected, "{name} by {role}: allowed, the table refuses it");
                    allowed_count += 1;
                }
                Err(d) => {
                    assert!(!expected, "{name} by {role}: refused: {d}");
                    assert_eq!(d.rule, PermissionRule::Table, "{d}");
                    assert_eq!(d.action, action);
                    assert_eq!(d.roles, RoleSet::of(&[*role]));
                    assert_eq!(
                        d.allowed.iter().map(Role::as_str).collect::<Vec<_>>(),
                        roles.to_vec()
                    );
                }
            }
        }
    }
    let marks: usize = DOCUMENTED_TABLE.iter().map(|r| r.1.len()).sum();
    assert_eq!(allowed_count, marks);
}

/// The tables of docs/permissions.md as the document itself prints them:
/// its roles, every mark of the permission table (read from the markdown,
/// not restated) and the separation-of-duties rules are the code's, in the
/// code's order. A row edited in one and not the other fails here.
#[test]
fn the_tables_of_the_document_are_the_codes() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/permissions.md"
    ))
    .unwrap();
    // The rows of the markdown table under `heading`: cells, trimmed.
    let rows_under = |heading: &str| -> Vec<Vec<String>> {
        let section = doc.split(heading).nth(1).unwrap();
        section
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_owned())
                    .collect()
            })
            .collect()
    };
    // The first backquoted word of a cell.
    let word = |cell: &str| cell.split('`').nth(1).unwrap_or("").to_owned();
    // Roles.
    let roles: Vec<String> = rows_under("## Roles and the role directory")
        .iter()
        .skip(2)
        .map(|r| word(&r[0]))
        .collect();
    let code_roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(roles, code_roles);
    // The permission table: header roles, then one row per action.
    let table = rows_under("## The permission table");
    let header: Vec<&str> = table[0][1..].iter().map(String::as_str).collect();
    assert_eq!(header, code_roles);
    let default = PermissionTable::default();
    let actions: Vec<String> = table[2..].iter().map(|r| word(&r[0])).collect();
    let code_actions: Vec<&str> = PermissionAction::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(actions, code_actions);
    for row in &table[2..] {
        let action = PermissionAction::parse(&word(&row[0])).unwrap();
        assert_eq!(row.len(), 1 + Role::ALL.len(), "{row:?}");
        for (cell, role) in row[1..].iter().zip(Role::ALL) {
            assert!(cell.is_empty() || cell == "✓", "{action}: `{cell}`");
            assert_eq!(
                cell == "✓",
                default.allows(action, RoleSet::of(&[*role])),
                "docs/permissions.md, `{action}` by {role}"
            );
        }
    }
    // The separation-of-duties rules, after the table's own rule.
    let rules: Vec<String> = rows_under("## Separation of duties")
        .iter()
        .skip(2)
        .map(|r| word(&r[0]))
        .collect();
    let code_rules: Vec<&str> = PermissionRule::ALL[1..]
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(rules, code_rules);
    assert_eq!(PermissionRule::ALL[0], PermissionRule::Table);
}

#[test]
fn an_actor_with_several_roles_may_do_what_any_of_them_may() {
    let dir = directory();
    let table = PermissionTable::default();
    let state = given(open_classified()).state().clone();
    let sup_agent = agent("sup-2");
    let unlisted = agent("stranger-9");
    for action in PermissionAction::ALL {
        if matches!(
            action,
            PermissionAction::ExtendDeadline | PermissionAction::QualityReview
        ) {
            continue;
        }
        let r = Request::Plain(*action);
        let either = table.allows(*action, RoleSet::of(&[Role::Supervisor]))
            || table.allows(*action, RoleSet::of(&[Role::Agent]));
        assert_eq!(
            check(&dir, &table, CASE, &sup_agent, &state, &r).is_ok(),
            either,
            "{action}"
        );
        // Not listed: no role, nothing allowed.
        let d = check(&dir, &table, CASE, &unlisted, &state, &r).unwrap_err();
        assert_eq!((d.rule, d.roles), (PermissionRule::Table, RoleSet::EMPTY));
    }
}

#[test]
fn a_replaced_table_is_the_one_checked() {
    let dir = directory();
    let mut table = PermissionTable::default();
    table.set(PermissionAction::Respond, &[Role::System]);
    let state = given(open_classified()).state().clone();
    let r = Request::Plain(PermissionAction::Respond);
    assert!(check(&dir, &table, CASE, &Actor::System, &state, &r).is_ok());
    assert!(check(&dir, &table, CASE, &agent("only-agent"), &state, &r).is_err());
    let none = PermissionTable::deny_all();
    let d = check(&dir, &none, CASE, &Actor::System, &state, &r).unwrap_err();
    assert_eq!(
        d.to_string(),
        format!(
            "case {CASE}: `system` (roles: system) may not `respond`: the permission table \
             gives `respond` to no role"
        )
    );
}

/// Each event type's action; `resolved` by the latest category before it.
#[test]
fn events_map_to_their_actions_and_resolve_reads_the_latest_category() {
    let open = given(open_classified()).state().clone();
    let cases: Vec<(EventData, &str)> = vec![
        (EventData::Opened(opened()), "open"),
        (
            EventData::Classified(classified(Category::Inquiry)),
            "classify",
        ),
        (EventData::Assigned(assigned("a")), "assign"),
        (EventData::Responded, "respond"),
        (EventData::Escalated(escalated(1)), "escalate"),
        (EventData::Reopened(Reopened::default()), "reopen"),
        (
            EventData::FollowUpScheduled(follow_up(60)),
            "schedule_follow_up",
        ),
        (
            EventData::FollowUpCompleted(FollowUpCompleted {
                outcome: FollowUpOutcome::ALL[0],
            }),
            "complete_follow_up",
        ),
        (EventData::Surveyed(survey(5)), "survey"),
        (EventData::Closed, "close"),
        (
            EventData::AwaitingCustomer(AwaitingCustomer::default()),
            "await_customer",
        ),
        (EventData::CustomerReplied, "record_customer_reply"),
        (
            EventData::DeadlineExtended(extension(30)),
            "extend_deadline",
        ),
        (
            EventData::QaReviewed(qa_review("only-qa")),
            "quality_review",
        ),
        // The case is a complaint (open_classified).
        (
            EventData::Resolved(Resolved::default()),
            "resolve_complaint",
        ),
    ];
    for (data, action) in &cases {
        assert_eq!(
            request_of(&open, data).action().as_str(),
            *action,
            "{data:?}"
        );
    }
    // Every event type is covered above.
    let mut types: Vec<EventType> = cases.iter().map(|(d, _)| d.event_type()).collect();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), EventType::ALL.len());
    // A complaint classified again as an inquiry: resolving it is a
    // non-complaint's resolution; and the other way round.
    let mut h = open_classified();
    h.push(EventData::Classified(classified(Category::Inquiry)));
    let inquiry = given(h.clone()).state().clone();
    let resolve = EventData::Resolved(Resolved::default());
    assert_eq!(
        request_of(&inquiry, &resolve).action(),
        PermissionAction::ResolveNonComplaint
    );
    h.push(EventData::Classified(classified(Category::Complaint)));
    let complaint = given(h).state().clone();
    assert_eq!(
        request_of(&complaint, &resolve).action(),
        PermissionAction::ResolveComplaint
    );
}

fn extend_as(actor: &str, approver: &str, history: Vec<EventData>) -> Result<(), Denied> {
    let state = given(history).state().clone();
    let approver = id(approver);
    check(
        &directory(),
        &PermissionTable::default(),
        CASE,
        &agent(actor),
        &state,
        &Request::ExtendDeadline {
            approved_by: &approver,
        },
    )
}

#[test]
fn a_deadline_extension_needs_a_supervisor_other_than_the_agent_and_the_actor() {
    let mut h = open_classified();
    h.push(EventData::Assigned(assigned("only-agent")));
    // Approved by another supervisor: allowed.
    extend_as("only-agent", "only-supervisor", h.clone()).unwrap();
    // The approver lacks the supervisor role (or is not listed at all).
    for approver in ["only-complaint_handler", "nobody"] {
        let d = extend_as("only-agent", approver, h.clone()).unwrap_err();
        assert_eq!(d.rule, PermissionRule::ApproverNotSupervisor, "{d}");
        assert_eq!(d.named, Some(id(approver)));
    }
    // The approver is the case's current agent.
    let mut h2 = open_classified();
    h2.push(EventData::Assigned(assigned("sup-2")));
    let d = extend_as("only-agent", "sup-2", h2.clone()).unwrap_err();
    assert_eq!(d.rule, PermissionRule::ApproverIsCurrentAgent, "{d}");
    // Once the case moved to another agent, the earlier agent may approve.
    h2.push(EventData::Assigned(assigned("only-agent")));
    extend_as("only-agent", "sup-2", h2).unwrap();
    // The approver records the extension themself.
    let d = extend_as("sup-2", "sup-2", h).unwrap_err();
    assert_eq!(d.rule, PermissionRule::ApproverIsActor, "{d}");
    assert_eq!(
        d.to_string(),
        format!(
            "case {CASE}: `sup-2` (roles: agent, supervisor) may not `extend_deadline`: the \
             approver `sup-2` is the actor who records the extension"
        )
    );
}

fn review_as(actor: &Actor, reviewer: &str, history: Vec<EventData>) -> Result<(), Denied> {
    let state = given(history).state().clone();
    let reviewer = id(reviewer);
    check(
        &directory(),
        &PermissionTable::default(),
        CASE,
        actor,
        &state,
        &Request::QualityReview {
            reviewer: &reviewer,
        },
    )
}

#[test]
fn a_quality_review_is_by_its_reviewer_with_qa_never_assigned_to_the_case() {
    let mut h = resolved();
    h.insert(2, EventData::Assigned(assigned("only-agent")));
    review_as(&agent("only-qa"), "only-qa", h.clone()).unwrap();
    // The reviewer is not the actor.
    let d = review_as(&agent("only-qa"), "qa-2", h.clone()).unwrap_err();
    assert_eq!(d.rule, PermissionRule::ReviewerNotActor, "{d}");
    // The actor has the qa role, and names as reviewer someone without it.
    let mut with_table = PermissionTable::default();
    with_table.set(PermissionAction::QualityReview, &[Role::Qa, Role::Agent]);
    let state = given(h.clone()).state().clone();
    let me = id("only-agent");
    let d = check(
        &directory(),
        &with_table,
        CASE,
        &agent("only-agent"),
        &state,
        &Request::QualityReview { reviewer: &me },
    )
    .unwrap_err();
    assert_eq!(d.rule, PermissionRule::ReviewerNotQa, "{d}");
    // A qa reviewer once assigned to the case, even if no longer.
    let mut h2 = h.clone();
    h2.insert(2, EventData::Assigned(assigned("only-qa")));
    let d = review_as(&agent("only-qa"), "only-qa", h2).unwrap_err();
    assert_eq!(d.rule, PermissionRule::ReviewerWasAssigned, "{d}");
    assert_eq!(
        d.to_string(),
        format!(
            "case {CASE}: `only-qa` (roles: qa) may not `quality_review`: the reviewer \
             `only-qa` was assigned to the case"
        )
    );
    // The customer and the system may not review at all.
    for who in [Actor::Customer, Actor::System] {
        let d = review_as(&who, "only-qa", h.clone()).unwrap_err();
        assert_eq!(d.rule, PermissionRule::Table, "{d}");
    }
}

/// A quality review by `reviewer`.
fn qa_review(reviewer: &str) -> QaReviewed {
    QaReviewed {
        reviewer: id(reviewer),
        score: QaScore::new(80).unwrap(),
        notes: None,
    }
}

/// An assignment of `name` to the complaint team (`complaints`, the
/// default process policy's).
fn to_complaints(name: &str) -> Assigned {
    Assigned {
        agent: id(name),
        team: Some(TeamId::new("complaints").unwrap()),
    }
}

/// A resolution with a root cause (the default process policy asks a
/// complaint for one).
fn with_root_cause() -> Resolved {
    Resolved {
        resolution: None,
        root_cause: Some(RootCause::ProcessGap),
    }
}

fn guarded() -> CaseService<InMemoryEventLog, SequentialIds> {
    CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1))
        .with_permissions(Permissions::new(directory()))
}

#[test]
fn the_service_refuses_what_the_actor_may_not_do_naming_all_and_records_nothing() {
    let s = guarded();
    let staff = agent("sup-2");
    s.execute(CASE, t(0), Actor::Customer, Action::Open(opened()))
        .unwrap();
    s.execute(
        CASE,
        t(1),
        staff.clone(),
        Action::Classify(classified(Category::Complaint)),
    )
    .unwrap();
    // Routed to the complaint team (the default process policy's).
    s.execute(
        CASE,
        t(1),
        staff.clone(),
        Action::Assign(to_complaints("sup-2")),
    )
    .unwrap();
    // A plain agent may not resolve a complaint.
    let before = s.log().read_all(1).unwrap().count();
    let err = s
        .execute(
            CASE,
            t(2),
            agent("only-agent"),
            Action::Resolve(with_root_cause()),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "case {CASE}: `only-agent` (roles: agent) may not `resolve_complaint`: the \
             permission table gives `resolve_complaint` to complaint_handler, supervisor only"
        )
    );
    let ServiceError::NotPermitted(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(Denied::CODE, "not_permitted");
    assert_eq!(d.action, PermissionAction::ResolveComplaint);
    assert_eq!(s.log().read_all(1).unwrap().count(), before);
    assert_eq!(s.state(CASE).unwrap().version(), 3);
    // The customer may not resolve it either; a handler may.
    let err = s
        .execute(
            CASE,
            t(2),
            Actor::Customer,
            Action::Resolve(with_root_cause()),
        )
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotPermitted(_)), "{err}");
    s.execute(
        CASE,
        t(3),
        agent("only-complaint_handler"),
        Action::Resolve(with_root_cause()),
    )
    .unwrap();
    // An agent may not record the customer's survey; the customer may.
    let err = s
        .execute(CASE, t(4), staff, Action::RecordSurvey(survey(5)))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`sup-2` (roles: agent, supervisor) may not `survey`"),
        "{err}"
    );
    s.execute(CASE, t(4), Actor::Customer, Action::RecordSurvey(survey(5)))
        .unwrap();
    assert_eq!(s.state(CASE).unwrap().version(), 5);
}

/// A reviewer who also handles cases (qa with agent roles) and worked on
/// this one without being assigned (responded, resolved it) may not review
/// it: the work under review is theirs. It was allowed, as only the
/// `assigned` events were looked at. Another qa reviewer may.
#[test]
fn a_reviewer_who_recorded_events_of_the_case_may_not_review_it() {
    let permissions = Permissions::new(
        RoleDirectory::from_json(
            r#"{"sup-2": ["supervisor", "agent"], "only-agent": ["agent"],
                "hand-qa": ["complaint_handler", "qa"], "qa-2": ["qa"]}"#,
        )
        .unwrap(),
    );
    let s = CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1))
        .with_permissions(permissions.clone());
    let steps = [
        (Actor::Customer, Action::Open(opened())),
        (
            agent("sup-2"),
            Action::Classify(classified(Category::Complaint)),
        ),
        (agent("sup-2"), Action::Assign(to_complaints("only-agent"))),
        (agent("hand-qa"), Action::Respond),
        (agent("hand-qa"), Action::Resolve(with_root_cause())),
        (Actor::System, Action::Close),
    ];
    for (m, (who, action)) in steps.into_iter().enumerate() {
        s.execute(CASE, t(m as i64), who, action).unwrap();
    }
    let version = s.state(CASE).unwrap().version();
    let err = s
        .execute(
            CASE,
            t(10),
            agent("hand-qa"),
            Action::ReviewQuality(qa_review("hand-qa")),
        )
        .unwrap_err();
    let ServiceError::NotPermitted(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(d.rule, PermissionRule::ReviewerHandledCase, "{d}");
    assert_eq!(
        d.to_string(),
        format!(
            "case {CASE}: `hand-qa` (roles: complaint_handler, qa) may not `quality_review`: \
             the reviewer `hand-qa` recorded events of the case"
        )
    );
    assert_eq!(
        s.state(CASE).unwrap().version(),
        version,
        "nothing recorded"
    );
    // A reviewer who never acted on the case may review it.
    s.execute(
        CASE,
        t(11),
        agent("qa-2"),
        Action::ReviewQuality(qa_review("qa-2")),
    )
    .unwrap();
    // The audit of the same history, with the review recorded anyway.
    let mut audit = PermissionAudit::new(permissions);
    let mut events: Vec<Event> = Vec::new();
    for r in s.log().read_all(1).unwrap() {
        events.push(r.unwrap().event);
    }
    let mut review = events.last().unwrap().clone();
    review.actor = agent("hand-qa");
    review.event_id = EventId::from_u128(999);
    review.data = EventData::QaReviewed(qa_review("hand-qa"));
    events.push(review);
    for (i, e) in events.iter().enumerate() {
        audit.observe(i as u64 + 1, e);
    }
    let findings = audit.findings();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].rule, PermissionRule::ReviewerHandledCase);
    assert_eq!(findings[0].position, events.len() as u64);
}

/// `qa_reviewed` through the service: a qa reviewer never assigned to the
/// case may review it, closed too; an agent may not; a qa reviewer once
/// assigned may not. Refusals record nothing.
#[test]
fn the_service_lets_qa_review_a_closed_case_it_never_handled() {
    let s = guarded();
    let staff = agent("sup-2");
    let steps = [
        (Actor::Customer, Action::Open(opened())),
        (
            staff.clone(),
            Action::Classify(classified(Category::Complaint)),
        ),
        (staff.clone(), Action::Assign(to_complaints("qa-2"))),
        (staff.clone(), Action::Assign(to_complaints("sup-2"))),
        (staff.clone(), Action::Resolve(with_root_cause())),
        (Actor::System, Action::Close),
    ];
    for (m, (who, action)) in steps.into_iter().enumerate() {
        s.execute(CASE, t(m as i64), who, action).unwrap();
    }
    assert_eq!(s.state(CASE).unwrap().status(), Status::Closed);
    let version = s.state(CASE).unwrap().version();
    // An agent (here also a supervisor) may not review.
    let err = s
        .execute(
            CASE,
            t(10),
            staff,
            Action::ReviewQuality(qa_review("sup-2")),
        )
        .unwrap_err();
    let ServiceError::NotPermitted(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(d.action, PermissionAction::QualityReview);
    assert_eq!(d.rule, PermissionRule::Table, "{d}");
    // A qa reviewer who was assigned to the case (qa-2, before sup-2).
    let err = s
        .execute(
            CASE,
            t(10),
            agent("qa-2"),
            Action::ReviewQuality(qa_review("qa-2")),
        )
        .unwrap_err();
    let ServiceError::NotPermitted(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(d.rule, PermissionRule::ReviewerWasAssigned, "{d}");
    assert_eq!(d.named, Some(id("qa-2")));
    assert_eq!(
        s.state(CASE).unwrap().version(),
        version,
        "refusals record nothing"
    );
    // A qa reviewer never assigned reviews the closed case.
    let outcome = s
        .execute(
            CASE,
            t(10),
            agent("only-qa"),
            Action::ReviewQuality(qa_review("only-qa")),
        )
        .unwrap();
    assert_eq!(
        outcome
            .events
            .iter()
            .map(Event::event_type)
            .collect::<Vec<_>>(),
        vec![EventType::QaReviewed]
    );
    assert_eq!(s.state(CASE).unwrap().status(), Status::Closed);
    assert_eq!(s.state(CASE).unwrap().version(), version + 1);
}

/// The audit of an imported history finds each quality review its actor
/// could not make: by an agent, by a reviewer once assigned, naming
/// another reviewer; a qa reviewer never assigned is no finding.
#[test]
fn the_audit_finds_quality_reviews_against_the_permissions() {
    let ev = |n: u128, who: Actor, data: EventData| Event {
        event_id: EventId::from_u128(n),
        case_id: CASE,
        at: t(n as i64),
        actor: who,
        data,
    };
    let staff = agent("sup-2");
    let history = vec![
        ev(1, Actor::Customer, EventData::Opened(opened())),
        ev(
            2,
            staff.clone(),
            EventData::Classified(classified(Category::Inquiry)),
        ),
        ev(3, staff.clone(), EventData::Assigned(assigned("qa-2"))),
        ev(4, staff.clone(), EventData::Resolved(Resolved::default())),
        ev(5, Actor::System, EventData::Closed),
        // Allowed: qa, never assigned, after close.
        ev(
            6,
            agent("only-qa"),
            EventData::QaReviewed(qa_review("only-qa")),
        ),
        // An agent reviews.
        ev(7, staff, EventData::QaReviewed(qa_review("sup-2"))),
        // The reviewer was assigned (event 3).
        ev(8, agent("qa-2"), EventData::QaReviewed(qa_review("qa-2"))),
        // A qa reviewer records another's review.
        ev(
            9,
            agent("only-qa"),
            EventData::QaReviewed(qa_review("only-supervisor")),
        ),
    ];
    // Every event is valid for the case rules: only permissions are broken.
    fold(history.iter()).unwrap();
    let mut audit = PermissionAudit::new(Permissions::new(directory()));
    for (i, e) in history.iter().enumerate() {
        audit.observe(i as u64 + 1, e);
    }
    let found: Vec<_> = audit
        .findings()
        .into_iter()
        .map(|f| {
            (
                f.position,
                f.actor.to_string(),
                f.action.as_str(),
                f.rule.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (7, "sup-2".to_owned(), "quality_review", "permission_table"),
            (
                8,
                "qa-2".to_owned(),
                "quality_review",
                "reviewer_was_assigned"
            ),
            (
                9,
                "only-qa".to_owned(),
                "quality_review",
                "reviewer_not_actor"
            ),
        ]
    );
}

/// A `not_resolved` follow-up outcome records a derived `reopened` too:
/// each event is checked, so an actor who may complete the follow-up but
/// not reopen (a replaced row) is refused, and nothing is recorded.
#[test]
fn a_follow_up_s_derived_reopen_needs_the_reopen_permission_too() {
    let mut table = PermissionTable::default();
    table.set(PermissionAction::Reopen, &[Role::Supervisor]);
    let s = CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1))
        .with_permissions(Permissions::new(directory()).with_table(table));
    let staff = agent("sup-2");
    for (m, action) in [
        Action::Open(opened()),
        Action::Classify(classified(Category::Inquiry)),
        Action::Resolve(Resolved::default()),
        Action::ScheduleFollowUp(follow_up(60 * 24 * 3)),
    ]
    .into_iter()
    .enumerate()
    {
        s.execute(CASE, t(m as i64), staff.clone(), action).unwrap();
    }
    let version = s.state(CASE).unwrap().version();
    let complete = |outcome| Action::CompleteFollowUp(FollowUpCompleted { outcome });
    let err = s
        .execute(
            CASE,
            t(10),
            agent("only-agent"),
            complete(FollowUpOutcome::NotResolved),
        )
        .unwrap_err();
    let ServiceError::NotPermitted(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (d.action, d.rule),
        (PermissionAction::Reopen, PermissionRule::Table),
        "{d}"
    );
    assert_eq!(
        s.state(CASE).unwrap().version(),
        version,
        "nothing recorded"
    );
    // A supervisor (who may reopen) completes it as not resolved: both
    // events.
    let done = s
        .execute(CASE, t(10), staff, complete(FollowUpOutcome::NotResolved))
        .unwrap();
    assert_eq!(done.events.len(), 2);
    assert_eq!(done.state.status(), Status::Open);
}

#[test]
fn the_case_rules_come_before_the_permissions() {
    let s = guarded();
    // Nothing opened: the rule, not the permission, is reported.
    let err = s
        .execute(CASE, t(0), agent("stranger"), Action::Respond)
        .unwrap_err();
    assert!(matches!(err, ServiceError::Rule(_)), "{err}");
    // A command that changes nothing records nothing and needs no permission.
    s.execute(CASE, t(0), Actor::System, Action::Open(opened()))
        .unwrap();
    s.execute(
        CASE,
        t(1),
        Actor::System,
        Action::Classify(classified(Category::Inquiry)),
    )
    .unwrap();
    let same = s
        .execute(
            CASE,
            t(2),
            agent("stranger"),
            Action::Classify(classified(Category::Inquiry)),
        )
        .unwrap();
    assert!(same.events.is_empty());
}

#[test]
fn without_a_directory_every_actor_may_do_anything_the_rules_allow() {
    let s = CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
    for (m, action) in [
        Action::Open(opened()),
        Action::Classify(classified(Category::Complaint)),
        // The default process policy: routed, with a root cause.
        Action::Assign(to_complaints("anyone")),
        Action::Resolve(with_root_cause()),
        Action::Close,
    ]
    .into_iter()
    .enumerate()
    {
        s.execute(CASE, t(m as i64), Actor::Customer, action)
            .unwrap();
    }
    assert_eq!(s.state(CASE).unwrap().status(), Status::Closed);
}

#[test]
fn the_role_directory_reads_its_json_form_and_names_each_mistake() {
    let d = RoleDirectory::from_json(
        r#"{"agent-17": ["agent"], "sup-3": ["supervisor", "agent"], "qa-1": ["qa"], "new-1": []}"#,
    )
    .unwrap();
    assert_eq!(d.len(), 4);
    assert_eq!(
        d.roles_of(&agent("sup-3")),
        RoleSet::of(&[Role::Agent, Role::Supervisor])
    );
    assert_eq!(d.roles_of(&agent("new-1")), RoleSet::EMPTY);
    assert_eq!(d.roles_of(&agent("absent")), RoleSet::EMPTY);
    assert_eq!(d.roles_of(&Actor::Customer), RoleSet::of(&[Role::Customer]));
    assert_eq!(d.roles_of(&Actor::System), RoleSet::of(&[Role::System]));
    let err = |text: &str| RoleDirectory::from_json(text).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"a-1": ["boss"]}"#),
        "agent `a-1`: unknown role `boss`; allowed: customer, agent, complaint_handler, \
         supervisor, qa, system"
    );
    assert_eq!(
        err(r#"{"customer": ["agent"]}"#),
        "`customer` is a built-in actor with the role of the same name; the directory lists \
         agents only"
    );
    assert_eq!(
        err(r#"{"bot-1": ["system"]}"#),
        "agent `bot-1`: the role `system` belongs to the built-in actor `system` alone; an \
         agent may have agent, complaint_handler, supervisor, qa"
    );
    assert_eq!(
        err(r#"{"a-1": "agent"}"#),
        "agent `a-1`: expected a list of role names, found a string"
    );
    assert!(err(r#"["a-1"]"#).starts_with("the role directory: expected an object"));
    assert!(err("{").starts_with("not valid JSON"));
    assert!(err(r#"{"a 1": ["agent"]}"#).starts_with("agent `a 1`: "));
}

/// An imported history: every event is what happened; the audit lists each
/// one whose actor lacked the permission, by position.
#[test]
fn the_audit_lists_every_breach_of_a_recorded_history() {
    let case2 = CaseId::from_u128(2);
    let ev = |n: u128, case: CaseId, m: i64, who: Actor, data: EventData| Event {
        event_id: EventId::from_u128(n),
        case_id: case,
        at: t(m),
        actor: who,
        data,
    };
    let cust = Actor::Customer;
    let history = vec![
        ev(1, CASE, 0, cust.clone(), EventData::Opened(opened())),
        ev(
            2,
            case2,
            0,
            agent("only-agent"),
            EventData::Opened(opened()),
        ),
        // The customer classifies (not allowed).
        ev(
            3,
            CASE,
            1,
            cust.clone(),
            EventData::Classified(classified(Category::Complaint)),
        ),
        ev(
            4,
            case2,
            1,
            agent("only-agent"),
            EventData::Classified(classified(Category::Inquiry)),
        ),
        ev(
            5,
            CASE,
            2,
            agent("only-agent"),
            EventData::Assigned(assigned("only-agent")),
        ),
        // Extension approved by the case's own agent.
        ev(
            6,
            CASE,
            3,
            agent("only-agent"),
            EventData::DeadlineExtended(DeadlineExtended {
                days: ExtensionDays::new(30).unwrap(),
                approved_by: id("only-agent"),
                reason: "appraisal".into(),
            }),
        ),
        // A plain agent resolves a complaint; on the inquiry it may.
        ev(
            7,
            CASE,
            4,
            agent("only-agent"),
            EventData::Resolved(Resolved::default()),
        ),
        ev(
            8,
            case2,
            4,
            agent("only-agent"),
            EventData::Resolved(Resolved::default()),
        ),
        // The agent records the customer's survey.
        ev(
            9,
            CASE,
            5,
            agent("only-agent"),
            EventData::Surveyed(survey(5)),
        ),
        ev(10, case2, 5, cust.clone(), EventData::Surveyed(survey(4))),
        // Someone unknown closes.
        ev(11, case2, 6, agent("temp-1"), EventData::Closed),
    ];
    fold(history.iter().filter(|e| e.case_id == CASE)).unwrap();
    fold(history.iter().filter(|e| e.case_id == case2)).unwrap();
    let found = |audit: PermissionAudit| {
        audit
            .findings()
            .into_iter()
            .map(|f| {
                (
                    f.position,
                    f.actor.to_string(),
                    f.action.as_str(),
                    f.rule.as_str(),
                )
            })
            .collect::<Vec<_>>()
    };
    let mut audit = PermissionAudit::new(Permissions::new(directory()));
    for (i, e) in history.iter().enumerate() {
        audit.observe(i as u64 + 1, e);
    }
    let expected = vec![
        (3, "customer".to_owned(), "classify", "permission_table"),
        (
            6,
            "only-agent".to_owned(),
            "extend_deadline",
            "approver_not_supervisor",
        ),
        (
            7,
            "only-agent".to_owned(),
            "resolve_complaint",
            "permission_table",
        ),
        (9, "only-agent".to_owned(), "survey", "permission_table"),
        (11, "temp-1".to_owned(), "close", "permission_table"),
    ];
    assert_eq!(found(audit), expected);
    // Split by case between two audits and merged: the same list.
    let mut a = PermissionAudit::new(Permissions::new(directory()));
    let mut b = PermissionAudit::new(Permissions::new(directory()));
    for (i, e) in history.iter().enumerate() {
        let part = if e.case_id == CASE { &mut b } else { &mut a };
        part.observe(i as u64 + 1, e);
    }
    a.merge(b);
    assert_eq!(found(a), expected);
    // The finding's JSON form.
    let mut audit = PermissionAudit::new(Permissions::new(directory()));
    audit.observe(3, &history[2]);
    let json = serde_json::to_string(&audit.findings()[0]).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"position":3,"case_id":"{CASE}","actor":"customer","action":"classify","rule":"permission_table","named":null}}"#
        )
    );
}

#[test]
fn a_role_directory_listing_an_agent_twice_is_refused() {
    let text = r#"{"agent-17": ["agent"], "qa-1": ["qa"], "agent-17": ["supervisor"]}"#;
    let err = RoleDirectory::from_json(text).unwrap_err();
    assert!(
        matches!(&err, RoleDirectoryError::DuplicateKey { key } if key == "agent-17"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "`agent-17` is given twice; each key may appear once"
    );
}

/// One person through two ids that differ only in letter case (a sign-on
/// that ignores case passes either): with both in the directory, `JDoe`
/// approved the extension of a case assigned to `jdoe`, passing
/// `approver_is_current_agent` as another person. The directory refuses the
/// second id, from JSON and from `grant`; other ids are unaffected.
#[test]
fn a_role_directory_refuses_ids_that_differ_only_in_letter_case() {
    let e = RoleDirectory::from_json(r#"{"jdoe": ["agent"], "JDoe": ["supervisor"]}"#).unwrap_err();
    assert!(
        matches!(&e, RoleDirectoryError::CaseVariant { key, other }
            if [key.as_str(), other.as_str()].contains(&"jdoe")
                && [key.as_str(), other.as_str()].contains(&"JDoe")),
        "{e:?}"
    );
    assert!(
        e.to_string().ends_with(
            "differ only in letter case; one person would be two agents with two sets of roles"
        ),
        "{e}"
    );
    // Non-ASCII letters too.
    assert!(matches!(
        RoleDirectory::from_json(r#"{"ÉLODIE-1": ["agent"], "élodie-1": ["qa"]}"#),
        Err(RoleDirectoryError::CaseVariant { .. })
    ));
    let mut dir = RoleDirectory::new();
    dir.grant(id("jdoe"), &[Role::Agent]).unwrap();
    // The same id again adds roles.
    dir.grant(id("jdoe"), &[Role::Qa]).unwrap();
    let e = dir.grant(id("JDOE"), &[Role::Supervisor]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "agents `JDOE` and `jdoe` differ only in letter case; one person would be two agents \
         with two sets of roles"
    );
    assert_eq!(
        dir.roles_of_agent(&id("jdoe")),
        RoleSet::of(&[Role::Agent, Role::Qa])
    );
    assert_eq!(dir.roles_of_agent(&id("JDOE")), RoleSet::EMPTY);
    assert_eq!(dir.len(), 1);
    // Ids that differ otherwise are distinct agents.
    dir.grant(id("jdoe-2"), &[Role::Supervisor]).unwrap();
    assert_eq!(dir.len(), 2);
}

/// Letter case as Unicode folds it, not as `to_lowercase` maps a whole
/// string: `STRASSE` is `straße` in capitals (ß has no one-letter capital),
/// and a final sigma `ς` is `σ` at the end of a word. A sign-on that
/// ignores case by Unicode's case folding passes either id of each pair
/// for one person; lowercased, each pair still differed.
#[test]
fn a_role_directory_folds_case_as_unicode_does() {
    for (first, second) in [("straße", "STRASSE"), ("οδοσ", "ΟΔΟΣ"), ("οδος", "οδοσ")]
    {
        let mut dir = RoleDirectory::new();
        dir.grant(id(first), &[Role::Agent]).unwrap();
        assert!(
            matches!(
                dir.grant(id(second), &[Role::Supervisor]),
                Err(RoleDirectoryError::CaseVariant { .. })
            ),
            "{first} and {second}"
        );
    }
    // Letters that only look alike are not case variants: Latin `o` and
    // Greek omicron.
    let mut dir = RoleDirectory::new();
    dir.grant(id("odos"), &[Role::Agent]).unwrap();
    dir.grant(id("οδος"), &[Role::Agent]).unwrap();
    assert_eq!(dir.len(), 2);
}

/// A case handled by more agents than a short list is searched for (the
/// case keeps a set of them then): the separation of duties still finds
/// the reviewer among them, first, in the middle or last, whether assigned
/// or acting; and lets a reviewer who never handled it review.
#[test]
fn the_reviewer_rule_finds_the_reviewer_among_many_agents() {
    for position in [0, 20, 39] {
        for assign in [true, false] {
            let mut state = given(open_classified()).state().clone();
            for i in 0..40 {
                let name = if i == position {
                    "only-qa".to_owned()
                } else {
                    format!("agent-{i}")
                };
                // Assigned by a lead (who is the one acting), or acting.
                let (actor, data) = if assign {
                    ("lead-1".to_owned(), EventData::Assigned(assigned(&name)))
                } else {
                    (name, EventData::Responded)
                };
                let e = Event {
                    event_id: EventId::from_u128(1000 + i as u128),
                    case_id: CASE,
                    at: t(10 + i),
                    actor: agent(&actor),
                    data,
                };
                state.apply_in_place(&e).unwrap();
            }
            let review = |reviewer: &str| {
                check(
                    &directory(),
                    &PermissionTable::default(),
                    CASE,
                    &agent(reviewer),
                    &state,
                    &Request::QualityReview {
                        reviewer: &id(reviewer),
                    },
                )
            };
            let d = review("only-qa").unwrap_err();
            let rule = if assign {
                PermissionRule::ReviewerWasAssigned
            } else {
                PermissionRule::ReviewerHandledCase
            };
            assert_eq!(d.rule, rule, "{position} {assign}: {d}");
            review("qa-2").unwrap();
        }
    }
}
