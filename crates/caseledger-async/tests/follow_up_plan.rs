//! The follow-up plan applied through the async service answers as the
//! blocking `caseledger::follow_up_plan::apply` does, call by call, and
//! records the same events: both take each call through
//! `call_to_record` and `call_answered`.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use caseledger::calendar::{BusinessCalendar, Tz};
use caseledger::follow_up_plan::{
    AppliedCall, CallRefusal, CallResult, FollowUpFacts, Plan, PlanDay, plan,
};
use caseledger::projection::Projection;
use caseledger::{
    Actor, CaseId, CaseService, Category, Channel, Classified, CustomerId, Event, EventData,
    EventId, EventLog, ExpectedVersion, InMemoryEventLog, Opened, Origin, Priority, Resolved,
    Score, SequentialIds, Surveyed, Tier, Topic,
};
use caseledger_async::AsyncCaseService;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

/// The plan's day: Monday 2026-03-16, UTC.
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 16).unwrap()
}

/// 09:00 UTC, `days` days before the plan's day.
fn days_before(days: i64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&(day() - Duration::days(days)).and_hms_opt(9, 0, 0).unwrap())
}

fn actor(name: &str) -> Actor {
    Actor::parse(name).unwrap()
}

/// Three resolved cases of three customers: cases 1 and 2 are called;
/// case 3 has a survey after the start of the day, so its call is refused.
fn history() -> InMemoryEventLog {
    let log = InMemoryEventLog::new();
    let mut id = 0u128;
    let mut append = |case: u128, at: DateTime<Utc>, data: EventData| {
        id += 1;
        let case_id = CaseId::from_u128(case);
        let event = Event {
            event_id: EventId::from_u128(id),
            case_id,
            at,
            actor: actor("agent-1"),
            data,
        };
        log.append(case_id, ExpectedVersion::Any, &[event]).unwrap();
    };
    for (case, days) in [(1, 4), (2, 5), (3, 4)] {
        let resolved = days_before(days);
        append(
            case,
            resolved - Duration::hours(1),
            EventData::Opened(Opened {
                customer_id: CustomerId::new(format!("C-{case}")).unwrap(),
                channel: Channel::Email,
                tier: Tier::Standard,
                summary: None,
                origin: Origin::Customer,
            }),
        );
        append(
            case,
            resolved - Duration::hours(1),
            EventData::Classified(Classified {
                category: Category::Inquiry,
                topic: Topic::Card,
                priority: Priority::Normal,
            }),
        );
        append(case, resolved, EventData::Resolved(Resolved::default()));
    }
    append(
        3,
        days_before(0) - Duration::hours(1),
        EventData::Surveyed(Surveyed::new(Score::new(4).unwrap())),
    );
    log
}

fn facts_of(log: &InMemoryEventLog) -> FollowUpFacts {
    let mut facts = FollowUpFacts::new(PlanDay::new(day(), Tz::UTC));
    for e in log.read_all(1).unwrap() {
        let e = e.unwrap();
        facts.observe(e.position, &e.event);
    }
    facts
}

/// Each call's result as words (the two faces' error types are the same
/// here, but words also show what a mismatch is).
fn words<E: std::fmt::Debug>(applied: &[AppliedCall<E>]) -> Vec<String> {
    applied
        .iter()
        .map(|a| format!("{} {:?}", a.call.case_id, a.result))
        .collect()
}

fn events(log: &InMemoryEventLog) -> Vec<String> {
    log.read_all(1)
        .unwrap()
        .map(|e| format!("{:?}", e.unwrap()))
        .collect()
}

#[tokio::test]
async fn the_async_apply_answers_and_records_as_the_blocking_one() {
    let blocking = CaseService::new(history(), SequentialIds::new(100));
    let service = AsyncCaseService::new(history(), SequentialIds::new(100));
    let facts = facts_of(blocking.log());
    let p: Plan = plan(&facts, &BusinessCalendar::default(), None);
    assert_eq!(p.calls.len(), 3, "{p:?}");

    let want = caseledger::follow_up_plan::apply(&blocking, &facts, &p, &actor("planner-1"));
    let got =
        caseledger_async::follow_up_plan::apply(&service, &facts, &p, &actor("planner-1")).await;
    // The plan meets each answer compared: two calls recorded, one refused
    // for the later survey without asking the log.
    assert!(
        matches!(want[0].result, CallResult::Recorded { .. }),
        "{want:?}"
    );
    assert!(
        matches!(want[1].result, CallResult::Recorded { .. }),
        "{want:?}"
    );
    assert!(
        matches!(
            want[2].result,
            CallResult::Refused(CallRefusal::LaterEvents { .. })
        ),
        "{want:?}"
    );
    assert_eq!(words(&got), words(&want));
    assert_eq!(events(service.log()), events(blocking.log()));
    assert_eq!(events(blocking.log()).len(), 12);

    // Again, with the facts as they are now: already recorded, nothing
    // recorded twice, on both faces.
    let facts = facts_of(blocking.log());
    let want = caseledger::follow_up_plan::apply(&blocking, &facts, &p, &actor("planner-1"));
    let got =
        caseledger_async::follow_up_plan::apply(&service, &facts, &p, &actor("planner-1")).await;
    assert!(
        matches!(want[0].result, CallResult::AlreadyRecorded { .. }),
        "{want:?}"
    );
    assert_eq!(words(&got), words(&want));

    // By another actor: each recorded call refused as a reused id.
    let want = caseledger::follow_up_plan::apply(&blocking, &facts, &p, &actor("planner-2"));
    let got =
        caseledger_async::follow_up_plan::apply(&service, &facts, &p, &actor("planner-2")).await;
    assert!(
        matches!(want[0].result, CallResult::Refused(CallRefusal::Service(_))),
        "{want:?}"
    );
    assert_eq!(words(&got), words(&want));
    assert_eq!(events(service.log()), events(blocking.log()));
    assert_eq!(events(blocking.log()).len(), 12);
}

/// The future is `Send`, so that a service on a multi-threaded runtime can
/// spawn it.
#[test]
fn the_async_apply_is_send() {
    fn is_send<T: Send>(_: &T) {}
    let service = AsyncCaseService::new(history(), SequentialIds::new(100));
    let facts = facts_of(service.log());
    let p = plan(&facts, &BusinessCalendar::default(), None);
    let planner = actor("planner-1");
    let future = caseledger_async::follow_up_plan::apply(&service, &facts, &p, &planner);
    is_send(&future);
}
