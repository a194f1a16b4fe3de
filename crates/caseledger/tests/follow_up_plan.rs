//! The follow-up plan (issue 22, docs/follow-ups.md) over hand-made
//! histories: each candidate rule, the cap, one case per customer, the due
//! time (10:00, moved into working hours, a day without any), each
//! purpose, each key of the order, the capacity, the checkpoint, and
//! `apply` (recorded, already recorded, another actor, later events); and a
//! property: plans applied day after day never break the cap.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use caseledger::calendar::{BusinessCalendar, Tz};
use caseledger::follow_up_plan::{
    CallRefusal, CallResult, DropReason, FollowUpFacts, Plan, PlanDay, apply, plan, plan_event_id,
};
use caseledger::policy::follow_ups_too_close;
use caseledger::projection::Projection;
use caseledger::*;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc, Weekday};
use proptest::prelude::*;

/// The plan's day in most tests: Monday 2026-03-16.
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 16).unwrap()
}

/// `h` hours after 00:00 UTC of the local date `days_before` days before
/// [`day`].
fn before(days_before: i64, h: i64) -> DateTime<Utc> {
    Utc.from_utc_datetime(
        &(day() - Duration::days(days_before))
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    ) + Duration::hours(h)
}

/// What a case looks like when resolved.
#[derive(Clone)]
struct Kase {
    customer: String,
    tier: Tier,
    category: Category,
    priority: Priority,
    origin: Origin,
}

fn kase(customer: &str) -> Kase {
    Kase {
        customer: customer.to_owned(),
        tier: Tier::Standard,
        category: Category::Inquiry,
        priority: Priority::Normal,
        origin: Origin::Customer,
    }
}

/// A log with events appended by hand (valid histories), and the service
/// over it for `apply`.
struct Desk {
    service: CaseService<InMemoryEventLog, SequentialIds>,
    next: u128,
}

impl Desk {
    fn new() -> Desk {
        Desk {
            service: CaseService::new(InMemoryEventLog::new(), SequentialIds::new(9)),
            next: 1,
        }
    }

    fn append(&mut self, case: CaseId, at: DateTime<Utc>, data: EventData) {
        self.next += 1;
        let event = Event {
            event_id: EventId::from_u128(self.next),
            case_id: case,
            at,
            actor: Actor::parse("agent-1").unwrap(),
            data,
        };
        self.service
            .log()
            .append(case, ExpectedVersion::Any, &[event])
            .unwrap();
    }

    /// Opens case `n` an hour before `resolved_at`, classifies and resolves it.
    fn resolved(&mut self, n: u128, k: &Kase, resolved_at: DateTime<Utc>) -> CaseId {
        let case = CaseId::from_u128(n);
        let open = resolved_at - Duration::hours(1);
        self.append(
            case,
            open,
            EventData::Opened(Opened {
                customer_id: CustomerId::new(&k.customer).unwrap(),
                channel: Channel::Email,
                tier: k.tier,
                summary: None,
                origin: k.origin,
            }),
        );
        self.append(
            case,
            open,
            EventData::Classified(Classified {
                category: k.category,
                topic: Topic::Card,
                priority: k.priority,
            }),
        );
        self.resolve(case, resolved_at);
        case
    }

    /// Reopens `case` at `at`.
    fn reopen(&mut self, case: CaseId, at: DateTime<Utc>) {
        self.append(case, at, EventData::Reopened(Reopened::default()));
    }

    /// Resolves `case` at `at`.
    fn resolve(&mut self, case: CaseId, at: DateTime<Utc>) {
        self.append(case, at, EventData::Resolved(Resolved::default()));
    }

    fn follow_up(&mut self, case: CaseId, at: DateTime<Utc>, due: DateTime<Utc>) {
        self.append(
            case,
            at,
            EventData::FollowUpScheduled(FollowUpScheduled {
                due,
                purpose: FollowUpPurpose::Feedback,
                channel: Channel::Phone,
            }),
        );
    }

    fn facts_in(&self, date: NaiveDate, zone: Tz) -> FollowUpFacts {
        let mut facts = FollowUpFacts::new(PlanDay::new(date, zone));
        for e in self.service.log().read_all(1).unwrap() {
            let e = e.unwrap();
            facts.observe(e.position, &e.event);
        }
        facts
    }

    fn facts(&self) -> FollowUpFacts {
        self.facts_in(day(), Tz::UTC)
    }

    fn plan(&self) -> Plan {
        plan(&self.facts(), &BusinessCalendar::default(), None)
    }
}

fn cases(plan: &Plan) -> Vec<CaseId> {
    plan.calls.iter().map(|c| c.case_id).collect()
}

fn id(n: u128) -> CaseId {
    CaseId::from_u128(n)
}

#[test]
fn candidates_are_resolved_3_to_7_local_days_before_both_ends_included() {
    let mut desk = Desk::new();
    for (n, days) in [(2, 2), (3, 3), (5, 5), (7, 7), (8, 8)] {
        desk.resolved(n, &kase(&format!("C-{n}")), before(days, 12));
    }
    // Late in the evening 8 days before is still 8 days before; just after
    // midnight 3 days before is 3 days before: local dates count, not hours.
    desk.resolved(30, &kase("C-30"), before(8, 23) + Duration::minutes(59));
    desk.resolved(31, &kase("C-31"), before(3, 0));
    let plan = desk.plan();
    let mut got = cases(&plan);
    got.sort();
    assert_eq!(got, [id(3), id(5), id(7), id(31)]);
    assert_eq!(plan.candidates, 4);
    assert!(plan.dropped.is_empty());
}

#[test]
fn local_days_are_counted_in_the_plans_time_zone() {
    let mut desk = Desk::new();
    // 2026-03-12T20:00Z is 2026-03-13 04:00 in Shanghai: 3 days before
    // the 16th there, 4 in UTC; 2026-03-08T17:00Z is the 9th in Shanghai
    // (7 days) and the 8th in UTC (8 days).
    let a = desk.resolved(1, &kase("C-1"), before(4, 20));
    let b = desk.resolved(2, &kase("C-2"), before(8, 17));
    let shanghai = plan(
        &desk.facts_in(day(), Tz::Asia__Shanghai),
        &BusinessCalendar::default(),
        None,
    );
    let mut got = cases(&shanghai);
    got.sort();
    assert_eq!(got, [a, b]);
    assert_eq!(cases(&desk.plan()), [a]);
    // T is local midnight there: 2026-03-15T16:00Z.
    assert_eq!(
        shanghai.as_of,
        Utc.with_ymd_and_hms(2026, 3, 15, 16, 0, 0).unwrap()
    );
}

#[test]
fn only_cases_resolved_at_the_start_of_the_day_are_candidates() {
    let mut desk = Desk::new();
    let reopened = desk.resolved(1, &kase("C-1"), before(5, 9));
    desk.reopen(reopened, before(4, 9));
    let closed = desk.resolved(2, &kase("C-2"), before(5, 9));
    desk.append(closed, before(4, 9), EventData::Closed);
    let open = CaseId::from_u128(3);
    desk.append(
        open,
        before(5, 9),
        EventData::Opened(Opened {
            customer_id: CustomerId::new("C-3").unwrap(),
            channel: Channel::Phone,
            tier: Tier::Vip,
            summary: None,
            origin: Origin::Customer,
        }),
    );
    // Reopened after T: still resolved as of T, so a candidate.
    let later = desk.resolved(4, &kase("C-4"), before(5, 9));
    desk.reopen(later, before(0, 9));
    // Resolved at T exactly counts (0 days before: not a candidate, but
    // it replaces an earlier resolution 5 days before).
    let again = desk.resolved(5, &kase("C-5"), before(5, 9));
    desk.reopen(again, before(1, 9));
    desk.resolve(again, before(0, 0));
    assert_eq!(cases(&desk.plan()), [later]);
}

#[test]
fn the_latest_resolution_counts_and_a_follow_up_since_it_removes_the_case() {
    let mut desk = Desk::new();
    // Resolved 10 days before, reopened, resolved again 4 days before.
    let twice = desk.resolved(1, &kase("C-1"), before(10, 9));
    desk.reopen(twice, before(9, 9));
    desk.resolve(twice, before(4, 9));
    // A follow-up scheduled (and completed) since the resolution: done.
    let followed = desk.resolved(2, &kase("C-2"), before(5, 9));
    desk.follow_up(followed, before(5, 10), before(60, 0));
    desk.append(
        followed,
        before(4, 10),
        EventData::FollowUpCompleted(FollowUpCompleted {
            outcome: FollowUpOutcome::Confirmed,
        }),
    );
    // A follow-up before a reopen and the latest resolution does not count
    // (its due, long ago, does not touch the cap either).
    let earlier = desk.resolved(3, &kase("C-3"), before(80, 9));
    desk.follow_up(earlier, before(80, 10), before(79, 0));
    desk.append(
        earlier,
        before(78, 10),
        EventData::FollowUpCompleted(FollowUpCompleted {
            outcome: FollowUpOutcome::NotResolved,
        }),
    );
    desk.reopen(earlier, before(78, 10));
    desk.resolve(earlier, before(6, 9));
    let mut got = cases(&desk.plan());
    got.sort();
    assert_eq!(got, [twice, earlier]);
}

/// A case with a follow-up still pending (scheduled, never completed) is no
/// candidate, even after a reopen and a new resolution, or when the
/// follow-up was scheduled before the resolution (a bank-originated case):
/// the case rules allow one pending follow-up per case, so its call would
/// be refused; and, first in its customer's order, it kept the customer's
/// callable case out of the plan.
#[test]
fn a_case_with_a_follow_up_pending_is_no_candidate_and_keeps_no_other_out() {
    let mut desk = Desk::new();
    // C-1: an inquiry resolved 45 days ago, a follow-up due 42 days ago
    // (outside the cap's 30 days) never completed, reopened, resolved again
    // 4 days before. Complaints come first in the order, so it would be
    // kept over C-1's other case.
    let pending = desk.resolved(
        1,
        &Kase {
            category: Category::Complaint,
            ..kase("C-1")
        },
        before(45, 9),
    );
    desk.follow_up(pending, before(45, 10), before(42, 0));
    desk.reopen(pending, before(20, 9));
    desk.resolve(pending, before(4, 9));
    let callable = desk.resolved(2, &kase("C-1"), before(4, 9));
    let plan = desk.plan();
    assert_eq!(cases(&plan), [callable]);
    assert!(plan.dropped.is_empty(), "{:?}", plan.dropped);
    assert_eq!(plan.candidates, 1);
    // Completed, the follow-up no longer stands in the way.
    desk.append(
        pending,
        before(3, 9),
        EventData::FollowUpCompleted(FollowUpCompleted {
            outcome: FollowUpOutcome::Confirmed,
        }),
    );
    let plan = desk.plan();
    assert_eq!(cases(&plan), [pending]);
    assert_eq!(
        plan.dropped[0].reason,
        DropReason::SameCustomer { kept: pending }
    );
    // C-2: a bank-originated case that scheduled its follow-up while open
    // (due 40 days ago), then was resolved 5 days before.
    let bank = CaseId::from_u128(3);
    let mut bank_desk = Desk::new();
    bank_desk.append(
        bank,
        before(50, 9),
        EventData::Opened(Opened {
            customer_id: CustomerId::new("C-2").unwrap(),
            channel: Channel::Phone,
            tier: Tier::Standard,
            summary: None,
            origin: Origin::Bank,
        }),
    );
    bank_desk.follow_up(bank, before(50, 10), before(40, 0));
    bank_desk.append(
        bank,
        before(49, 9),
        EventData::Classified(Classified {
            category: Category::Inquiry,
            topic: Topic::Card,
            priority: Priority::Normal,
        }),
    );
    bank_desk.resolve(bank, before(5, 9));
    assert_eq!(bank_desk.plan().candidates, 0);
    assert!(bank_desk.plan().calls.is_empty());
}

#[test]
fn the_cap_drops_a_customer_with_a_follow_up_due_less_than_30_days_away_either_side() {
    let mut desk = Desk::new();
    let due = before(0, 10);
    // C-1 has a follow-up (on an older case) due 30 days minus a second
    // before the proposed due time: too close.
    let old = desk.resolved(1, &kase("C-1"), before(40, 9));
    desk.follow_up(
        old,
        before(40, 10),
        due - Duration::days(30) + Duration::seconds(1),
    );
    let c1 = desk.resolved(2, &kase("C-1"), before(4, 9));
    // C-2's is exactly 30 days before: allowed.
    let old2 = desk.resolved(3, &kase("C-2"), before(40, 9));
    desk.follow_up(old2, before(40, 10), due - Duration::days(30));
    let c2 = desk.resolved(4, &kase("C-2"), before(4, 9));
    // C-3 has one due in 20 days (planned ahead on another case): too close.
    let other = desk.resolved(5, &kase("C-3"), before(1, 9));
    desk.follow_up(other, before(1, 10), due + Duration::days(20));
    let c3 = desk.resolved(6, &kase("C-3"), before(4, 9));
    let plan = desk.plan();
    assert_eq!(cases(&plan), [c2]);
    let dropped: Vec<(CaseId, &str)> = plan
        .dropped
        .iter()
        .map(|d| (d.call.case_id, d.reason.kind()))
        .collect();
    assert_eq!(dropped, [(c1, "cap"), (c3, "cap")]);
    let DropReason::Cap(cap) = &plan.dropped[0].reason else {
        panic!("{:?}", plan.dropped[0]);
    };
    assert_eq!(cap.existing.case_id, old);
    assert!(follow_ups_too_close(cap.existing.due, due));
    assert!(
        plan.dropped[0]
            .reason
            .to_string()
            .contains("at most one follow-up per customer")
    );
}

/// A burst: one customer with many candidates and many follow-ups already
/// recorded, all due at one instant, some too close to the plan's due time
/// and the first recorded one not: every candidate is dropped for the cap,
/// each naming the first recorded follow-up too close (the plan asks the
/// cap once a customer, not once a candidate); another customer's
/// candidates keep one call and drop the rest as the same customer's.
#[test]
fn a_burst_of_one_customer_is_dropped_for_the_cap_naming_the_first_too_close() {
    let mut desk = Desk::new();
    let due = before(0, 10);
    let far = desk.resolved(1, &kase("C-1"), before(40, 9));
    desk.follow_up(far, before(40, 10), due - Duration::days(31));
    let mut too_close = Vec::new();
    for n in 2..42 {
        let case = desk.resolved(n, &kase("C-1"), before(20, 9));
        desk.follow_up(case, before(20, 10), due - Duration::days(5));
        too_close.push(case);
    }
    let candidates: Vec<CaseId> = (100..160)
        .map(|n| desk.resolved(n, &kase("C-1"), before(4, 9)))
        .collect();
    let others: Vec<CaseId> = (200..210)
        .map(|n| desk.resolved(n, &kase("C-2"), before(4, 9)))
        .collect();
    let plan = desk.plan();
    assert_eq!(plan.candidates, candidates.len() + others.len());
    assert_eq!(cases(&plan), [others[0]]);
    let mut capped = Vec::new();
    for d in &plan.dropped {
        match &d.reason {
            DropReason::Cap(cap) => {
                assert_eq!(cap.existing.case_id, too_close[0], "{d:?}");
                capped.push(d.call.case_id);
            }
            DropReason::SameCustomer { kept } => {
                assert_eq!(*kept, others[0]);
                assert!(others.contains(&d.call.case_id));
            }
            other => panic!("{other:?}"),
        }
    }
    capped.sort();
    assert_eq!(capped, candidates);
}

#[test]
fn one_case_per_customer_the_first_in_the_order() {
    let mut desk = Desk::new();
    let inquiry = desk.resolved(1, &kase("C-1"), before(4, 9));
    let complaint = desk.resolved(
        2,
        &Kase {
            category: Category::Complaint,
            ..kase("C-1")
        },
        before(4, 9),
    );
    let other = desk.resolved(3, &kase("C-2"), before(4, 9));
    let plan = desk.plan();
    assert_eq!(cases(&plan), [complaint, other]);
    assert_eq!(plan.dropped.len(), 1);
    assert_eq!(plan.dropped[0].call.case_id, inquiry);
    assert_eq!(
        plan.dropped[0].reason,
        DropReason::SameCustomer { kept: complaint }
    );
}

#[test]
fn each_purpose() {
    let mut desk = Desk::new();
    let mut expect = Vec::new();
    for (n, (category, tier, purpose)) in [
        (
            Category::Complaint,
            Tier::Standard,
            FollowUpPurpose::ProblemCheck,
        ),
        (
            Category::Technical,
            Tier::Vip,
            FollowUpPurpose::ProblemCheck,
        ),
        (Category::Inquiry, Tier::Vip, FollowUpPurpose::Relationship),
        (
            Category::Suggestion,
            Tier::AtRisk,
            FollowUpPurpose::Relationship,
        ),
        (Category::Inquiry, Tier::Standard, FollowUpPurpose::Feedback),
        (Category::Praise, Tier::New, FollowUpPurpose::Feedback),
        (Category::Inquiry, Tier::Dormant, FollowUpPurpose::Feedback),
    ]
    .into_iter()
    .enumerate()
    {
        let n = n as u128 + 1;
        let k = Kase {
            category,
            tier,
            ..kase(&format!("C-{n}"))
        };
        expect.push((desk.resolved(n, &k, before(4, 9)), purpose));
    }
    let plan = desk.plan();
    let mut got: Vec<(CaseId, FollowUpPurpose)> =
        plan.calls.iter().map(|c| (c.case_id, c.purpose)).collect();
    got.sort();
    assert_eq!(got, expect);
}

#[test]
fn each_key_of_the_order() {
    let mut desk = Desk::new();
    let base = |n: u128| kase(&format!("C-{n}"));
    // Listed in the expected order, each differing from the next by one
    // key (case numbers chosen against that order, so the id decides
    // only where everything else ties).
    let complaint = desk.resolved(
        90,
        &Kase {
            category: Category::Complaint,
            tier: Tier::Dormant,
            priority: Priority::Low,
            ..base(90)
        },
        before(3, 9),
    );
    let low_score = desk.resolved(
        80,
        &Kase {
            tier: Tier::Dormant,
            priority: Priority::Low,
            ..base(80)
        },
        before(3, 9),
    );
    desk.append(
        low_score,
        before(3, 10),
        EventData::Surveyed(Surveyed::new(Score::new(2).unwrap())),
    );
    let at_risk = desk.resolved(
        70,
        &Kase {
            tier: Tier::AtRisk,
            ..base(70)
        },
        before(3, 9),
    );
    let vip = desk.resolved(
        60,
        &Kase {
            tier: Tier::Vip,
            ..base(60)
        },
        before(3, 9),
    );
    let new = desk.resolved(
        50,
        &Kase {
            tier: Tier::New,
            ..base(50)
        },
        before(3, 9),
    );
    let urgent = desk.resolved(
        40,
        &Kase {
            priority: Priority::Urgent,
            ..base(40)
        },
        before(3, 9),
    );
    let high = desk.resolved(
        35,
        &Kase {
            priority: Priority::High,
            ..base(35)
        },
        before(3, 9),
    );
    let older = desk.resolved(30, &base(30), before(7, 9));
    let normal = desk.resolved(20, &base(20), before(3, 9));
    // A score of 3 does not count as low; ties with `normal` but for the id.
    let scored_3 = desk.resolved(21, &base(21), before(3, 9));
    desk.append(
        scored_3,
        before(3, 10),
        EventData::Surveyed(Surveyed::new(Score::new(3).unwrap())),
    );
    let low = desk.resolved(
        10,
        &Kase {
            priority: Priority::Low,
            ..base(10)
        },
        before(3, 9),
    );
    let dormant = desk.resolved(
        5,
        &Kase {
            tier: Tier::Dormant,
            ..base(5)
        },
        before(3, 9),
    );
    assert_eq!(
        cases(&desk.plan()),
        [
            complaint, low_score, at_risk, vip, new, urgent, high, older, normal, scored_3, low,
            dormant
        ]
    );
}

#[test]
fn an_unclassified_priority_counts_as_normal() {
    use caseledger::follow_up_plan::plan_order;
    let mut desk = Desk::new();
    desk.resolved(
        1,
        &Kase {
            priority: Priority::High,
            ..kase("C-1")
        },
        before(3, 9),
    );
    desk.resolved(2, &kase("C-2"), before(3, 9));
    desk.resolved(
        3,
        &Kase {
            priority: Priority::Low,
            ..kase("C-3")
        },
        before(3, 9),
    );
    let calls = desk.plan().calls;
    let mut unclassified = calls[1].clone();
    unclassified.priority = None;
    assert_eq!(
        plan_order(&calls[0], &unclassified),
        std::cmp::Ordering::Less
    );
    assert_eq!(
        plan_order(&unclassified, &calls[2]),
        std::cmp::Ordering::Less
    );
    // Equal to the normal one it was made from: nothing else differs.
    let same_id = unclassified;
    assert_eq!(plan_order(&same_id, &calls[1]), std::cmp::Ordering::Equal);
}

#[test]
fn capacity_keeps_the_first_n_after_one_per_customer() {
    let mut desk = Desk::new();
    let a = desk.resolved(
        1,
        &Kase {
            category: Category::Complaint,
            ..kase("C-1")
        },
        before(4, 9),
    );
    desk.resolved(
        2,
        &Kase {
            tier: Tier::Vip,
            ..kase("C-1")
        },
        before(4, 9),
    );
    let b = desk.resolved(
        3,
        &Kase {
            tier: Tier::Vip,
            ..kase("C-2")
        },
        before(4, 9),
    );
    let c = desk.resolved(4, &kase("C-3"), before(4, 9));
    let facts = desk.facts();
    let two = plan(&facts, &BusinessCalendar::default(), Some(2));
    assert_eq!(cases(&two), [a, b]);
    let kinds: Vec<(CaseId, &str)> = two
        .dropped
        .iter()
        .map(|d| (d.call.case_id, d.reason.kind()))
        .collect();
    assert_eq!(kinds, [(id(2), "same_customer"), (c, "capacity")]);
    assert_eq!(
        cases(&plan(&facts, &BusinessCalendar::default(), Some(0))),
        []
    );
    assert_eq!(
        cases(&plan(&facts, &BusinessCalendar::default(), Some(9))),
        [a, b, c]
    );
}

fn calendar(zone: &str, hours: &[&str]) -> BusinessCalendar {
    BusinessCalendar::builder(zone)
        .weekdays(hours)
        .build()
        .unwrap()
}

#[test]
fn due_at_10_local_or_the_first_working_hour_or_nothing_on_a_day_without_hours() {
    let mut desk = Desk::new();
    desk.resolved(1, &kase("C-1"), before(4, 9));
    let facts = desk.facts_in(day(), Tz::Europe__Berlin);
    // 10:00 in Berlin (UTC+1 in March) inside 09:00-17:00.
    let nine_to_five = calendar("Europe/Berlin", &["09:00-17:00"]);
    let p = plan(&facts, &nine_to_five, None);
    let ten_berlin = Utc.with_ymd_and_hms(2026, 3, 16, 9, 0, 0).unwrap();
    assert_eq!(p.due, Some(ten_berlin));
    assert_eq!(p.calls[0].due, ten_berlin);
    // 10:00 in a lunch gap: moved to the first working hour of the day.
    let split = calendar("Europe/Berlin", &["07:30-09:30", "12:00-18:00"]);
    let p = plan(&facts, &split, None);
    assert_eq!(
        p.due,
        Some(Utc.with_ymd_and_hms(2026, 3, 16, 6, 30, 0).unwrap())
    );
    // Starting at 10:00 (half-open intervals): 10:00 is in.
    let late = calendar("Europe/Berlin", &["10:00-12:00"]);
    assert_eq!(plan(&facts, &late, None).due, Some(ten_berlin));
    // Ending at 10:00: out; the first working hour is 08:00.
    let early = calendar("Europe/Berlin", &["08:00-10:00"]);
    assert_eq!(
        plan(&facts, &early, None).due,
        Some(Utc.with_ymd_and_hms(2026, 3, 16, 7, 0, 0).unwrap())
    );
    // A holiday: no working hours, nothing proposed, and the plan says so.
    let holiday = BusinessCalendar::builder("Europe/Berlin")
        .weekdays(&["09:00-17:00"])
        .holiday(day())
        .build()
        .unwrap();
    let p = plan(&facts, &holiday, None);
    assert_eq!((p.due, p.calls.len(), p.candidates), (None, 0, 0));
    // A weekend day of a Monday-to-Friday calendar, likewise.
    let sunday = day() - Duration::days(1);
    assert_eq!(sunday.weekday_for_test(), Weekday::Sun);
    let p = plan(
        &desk.facts_in(sunday, Tz::Europe__Berlin),
        &nine_to_five,
        None,
    );
    assert_eq!(p.due, None);
}

/// A call is recorded at T, the start of the plan's day, so it is never
/// due before T, even when the calendar's zone is ahead of the plan's and
/// the date's working hours begin (or end) before T there.
#[test]
fn a_call_is_never_due_before_the_start_of_the_day() {
    let mut desk = Desk::new();
    desk.resolved(1, &kase("C-1"), before(4, 9));
    // The plan's day in Los Angeles (T = 07:00 UTC, PDT), the calendar in
    // Shanghai: 2026-03-16 09:00-18:00 there is 01:00-10:00 UTC. 10:00 in
    // Los Angeles (17:00 UTC) is outside it; its first working instant
    // from T on is T itself (the interval is under way).
    let facts = desk.facts_in(day(), Tz::America__Los_Angeles);
    let t = Utc.with_ymd_and_hms(2026, 3, 16, 7, 0, 0).unwrap();
    assert_eq!(facts.start(), t);
    let shanghai = calendar("Asia/Shanghai", &["09:00-18:00"]);
    let p = plan(&facts, &shanghai, None);
    assert_eq!(p.due, Some(t));
    assert_eq!(p.calls.len(), 1);
    // Shanghai morning hours only (01:00-04:00 UTC): all before T, so the
    // date has no working hours from T on and nothing is proposed.
    let mornings = calendar("Asia/Shanghai", &["09:00-12:00"]);
    let p = plan(&facts, &mornings, None);
    assert_eq!((p.due, p.calls.len()), (None, 0));
    // Shanghai with an afternoon interval (13:00-18:00 = 05:00-10:00 UTC)
    // under way at T: due at T, not at 01:00 UTC.
    let split = calendar("Asia/Shanghai", &["09:00-12:00", "13:00-18:00"]);
    assert_eq!(plan(&facts, &split, None).due, Some(t));
    // Every due time of these plans is at or after T.
    for cal in [&shanghai, &split] {
        assert!(plan(&facts, cal, None).calls.iter().all(|c| c.due >= t));
    }
}

trait WeekdayForTest {
    fn weekday_for_test(&self) -> Weekday;
}

impl WeekdayForTest for NaiveDate {
    fn weekday_for_test(&self) -> Weekday {
        chrono::Datelike::weekday(self)
    }
}

#[test]
fn the_facts_resume_from_a_checkpoint_as_a_full_replay() {
    let mut desk = Desk::new();
    desk.resolved(1, &kase("C-1"), before(4, 9));
    let c = desk.resolved(2, &kase("C-2"), before(40, 9));
    desk.follow_up(c, before(40, 10), before(0, 0));
    desk.resolved(3, &kase("C-2"), before(5, 9));
    desk.resolved(4, &kase("C-3"), before(6, 9));
    let events: Vec<RecordedEvent> = desk
        .service
        .log()
        .read_all(1)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let whole = desk.facts();
    for cut in 0..=events.len() {
        let mut first = FollowUpFacts::new(PlanDay::new(day(), Tz::UTC));
        for e in &events[..cut] {
            first.observe(e.position, &e.event);
        }
        let json = serde_json::to_string(&first).unwrap();
        let mut resumed: FollowUpFacts = serde_json::from_str(&json).unwrap();
        assert_eq!(resumed, first);
        for e in &events[cut..] {
            resumed.observe(e.position, &e.event);
        }
        assert_eq!(resumed, whole, "cut after {cut}");
    }
    assert_eq!(whole.position(), events.len() as u64);
    let p = plan(&whole, &BusinessCalendar::default(), None);
    // C-2 is capped (a follow-up due at T); the older resolution first.
    assert_eq!(cases(&p), [id(4), id(1)]);
}

fn agent(name: &str) -> Actor {
    Actor::parse(name).unwrap()
}

#[test]
fn apply_records_each_call_once_and_a_rerun_records_nothing_twice() {
    let mut desk = Desk::new();
    let a = desk.resolved(
        1,
        &Kase {
            category: Category::Complaint,
            ..kase("C-1")
        },
        before(4, 9),
    );
    let b = desk.resolved(2, &kase("C-2"), before(5, 9));
    let facts = desk.facts();
    let first = plan(&facts, &BusinessCalendar::default(), None);
    let applied = apply(&desk.service, &facts, &first, &agent("planner-1"));
    let positions: Vec<u64> = applied
        .iter()
        .map(|r| match r.result {
            CallResult::Recorded { position } => position,
            ref other => panic!("{other:?}"),
        })
        .collect();
    // Each event as specified: at T, the derived id, the plan's due time
    // and purpose, by phone.
    for (call, position) in first.calls.iter().zip(&positions) {
        let recorded = desk.service.log().read_stream(call.case_id).unwrap();
        let last = recorded.last().unwrap();
        assert_eq!(last.position, *position);
        assert_eq!(last.event.event_id, plan_event_id(call.case_id, day()));
        assert_eq!(last.event.at, first.as_of);
        assert_eq!(last.event.actor, agent("planner-1"));
        assert_eq!(
            last.event.data,
            EventData::FollowUpScheduled(FollowUpScheduled {
                due: call.due,
                purpose: call.purpose,
                channel: Channel::Phone,
            })
        );
    }
    let head = desk.service.log().read_all(1).unwrap().count();
    // The same day's plan after the apply is the same plan...
    let facts = desk.facts();
    let again = plan(&facts, &BusinessCalendar::default(), None);
    assert_eq!(again, first);
    assert!(facts.applied(a) && facts.applied(b));
    // ...and applying it again records nothing.
    let rerun = apply(&desk.service, &facts, &again, &agent("planner-1"));
    for (r, position) in rerun.iter().zip(&positions) {
        assert!(
            matches!(r.result, CallResult::AlreadyRecorded { position: p } if p == *position),
            "{:?}",
            r.result
        );
    }
    assert_eq!(desk.service.log().read_all(1).unwrap().count(), head);
    // The next day, those follow-ups count: no candidates left, and the
    // customers are capped.
    let next = desk.facts_in(day() + Duration::days(1), Tz::UTC);
    assert!(
        plan(&next, &BusinessCalendar::default(), None)
            .calls
            .is_empty()
    );
}

/// A log that records an append and then fails it, as a log whose
/// commit's answer was lost does (PostgreSQL's `OutcomeUnknown`).
struct LostAnswer<'a>(&'a InMemoryEventLog);

impl EventLog for LostAnswer<'_> {
    type Error = std::io::Error;

    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Self::Error>> {
        match self.0.append_with(case_id, expected, events, conditions) {
            Ok(_) => Err(AppendError::Log(std::io::Error::other(
                "the answer to the commit was lost",
            ))),
            Err(e) => Err(e.map_log(|never| match never {})),
        }
    }

    fn stream_version(&self, case_id: CaseId) -> Result<u64, Self::Error> {
        Ok(self
            .0
            .stream_version(case_id)
            .unwrap_or_else(|never| match never {}))
    }

    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Self::Error> {
        Ok(self
            .0
            .read_stream_from(case_id, from_version)
            .unwrap_or_else(|never| match never {}))
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, Self::Error>, Self::Error> {
        let all: Vec<_> = self
            .0
            .read_all(from_position)
            .unwrap_or_else(|never| match never {})
            .map(|e| e.unwrap_or_else(|never| match never {}))
            .map(Ok)
            .collect();
        Ok(Box::new(all.into_iter()))
    }
}

#[test]
fn a_call_whose_append_failed_in_the_log_is_failed_not_refused() {
    let mut desk = Desk::new();
    desk.resolved(1, &kase("C-1"), before(4, 9));
    let facts = desk.facts();
    let p = plan(&facts, &BusinessCalendar::default(), None);
    assert_eq!(p.calls.len(), 1);
    let lossy = CaseService::new(LostAnswer(desk.service.log()), SequentialIds::new(7));
    let applied = apply(&lossy, &facts, &p, &agent("planner-1"));
    // Stored, but the log said it failed: the call's outcome is unknown,
    // never "refused" (which says it is not recorded).
    let CallResult::Failed(e) = &applied[0].result else {
        panic!("{:?}", applied[0].result);
    };
    assert!(e.to_string().contains("lost"), "{e}");
    assert!(!applied[0].result.is_recorded());
    // Applying again tells: the call was recorded.
    let again = apply(&desk.service, &desk.facts(), &p, &agent("planner-1"));
    assert!(
        matches!(again[0].result, CallResult::AlreadyRecorded { .. }),
        "{:?}",
        again[0].result
    );
}

#[test]
fn apply_by_another_actor_is_refused_as_a_reused_id_naming_the_first() {
    let mut desk = Desk::new();
    desk.resolved(1, &kase("C-1"), before(4, 9));
    let facts = desk.facts();
    let p = plan(&facts, &BusinessCalendar::default(), None);
    apply(&desk.service, &facts, &p, &agent("planner-1"));
    let head = desk.service.log().read_all(1).unwrap().count();
    let facts = desk.facts();
    let other = apply(&desk.service, &facts, &p, &agent("planner-2"));
    let CallResult::Refused(CallRefusal::Service(ServiceError::Append(
        AppendError::IdempotencyKeyReused { recorded, .. },
    ))) = &other[0].result
    else {
        panic!("{:?}", other[0].result);
    };
    assert_eq!(recorded.event.actor, agent("planner-1"));
    assert!(!other[0].result.is_recorded());
    let CallResult::Refused(refusal) = &other[0].result else {
        unreachable!()
    };
    assert!(refusal.to_string().contains("planner-1"), "{refusal}");
    assert_eq!(desk.service.log().read_all(1).unwrap().count(), head);
}

#[test]
fn apply_refuses_a_case_with_events_after_the_start_of_the_day() {
    let mut desk = Desk::new();
    let quiet = desk.resolved(1, &kase("C-1"), before(4, 9));
    let busy = desk.resolved(2, &kase("C-2"), before(4, 9));
    let survey_at = before(0, 8);
    desk.append(
        busy,
        survey_at,
        EventData::Surveyed(Surveyed::new(Score::new(4).unwrap())),
    );
    let facts = desk.facts();
    let p = plan(&facts, &BusinessCalendar::default(), None);
    // The plan is as of T: the later survey changes nothing in it.
    assert_eq!(cases(&p), [quiet, busy]);
    assert_eq!(p.calls[1].survey_score, None);
    let head = desk.service.log().read_all(1).unwrap().count();
    let applied = apply(&desk.service, &facts, &p, &agent("planner-1"));
    assert!(matches!(applied[0].result, CallResult::Recorded { .. }));
    let CallResult::Refused(refusal @ CallRefusal::LaterEvents { latest_at, .. }) =
        &applied[1].result
    else {
        panic!("{:?}", applied[1].result);
    };
    assert_eq!(*latest_at, survey_at);
    assert_eq!(
        refusal.to_string(),
        format!(
            "case {busy} has events after the start of 2026-03-16 (the latest at \
             2026-03-16T08:00:00Z); the plan is as of 2026-03-16T00:00:00Z"
        )
    );
    assert_eq!(desk.service.log().read_all(1).unwrap().count(), head + 1);
    // Facts read before a later event was recorded: the service finds it,
    // and the refusal says the same.
    let c = desk.resolved(3, &kase("C-3"), before(4, 9));
    let stale = desk.facts();
    desk.reopen(c, before(0, 11));
    let p3 = plan(&stale, &BusinessCalendar::default(), None);
    let r = apply(&desk.service, &stale, &p3, &agent("planner-1"));
    let c_result = r.iter().find(|r| r.call.case_id == c).unwrap();
    assert!(
        matches!(c_result.result, CallResult::Refused(CallRefusal::LaterEvents { latest_at, .. }) if latest_at == before(0, 11)),
        "{:?}",
        c_result.result
    );
}

/// One generated case: its customer (of 4), days before the first plan's
/// day it was resolved (0 to 12), tier, category, and whether it already
/// has a follow-up due some days from the first day.
fn arb_case() -> impl Strategy<Value = (u8, i64, usize, usize, Option<i64>)> {
    (
        0u8..4,
        0i64..13,
        0..Tier::ALL.len(),
        0..Category::ALL.len(),
        proptest::option::weighted(0.3, -40i64..40),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Plans applied day after day (with the cap checked again by the
    /// service) never leave two follow-ups of a customer too close, where
    /// one of them is the plan's; and a plan never proposes two cases of
    /// one customer.
    #[test]
    fn applied_plans_never_break_the_cap(
        generated in proptest::collection::vec(arb_case(), 1..16),
        capacity in proptest::option::of(0usize..5),
    ) {
        let mut desk = Desk::new();
        for (i, (customer, days, tier, category, follow_up)) in generated.iter().enumerate() {
            let k = Kase {
                tier: Tier::ALL[*tier],
                category: Category::ALL[*category],
                ..kase(&format!("C-{customer}"))
            };
            let case = desk.resolved(i as u128 + 1, &k, before(*days + 1, 9));
            if let Some(d) = follow_up {
                desk.follow_up(case, before(*days + 1, 10), before(-*d, 12));
            }
        }
        let planner = agent("planner-1");
        for offset in 0..10 {
            let date = day() + Duration::days(offset);
            let facts = desk.facts_in(date, Tz::UTC);
            let p = plan(&facts, &BusinessCalendar::default(), capacity);
            let mut customers: Vec<&CustomerId> = p.calls.iter().map(|c| &c.customer_id).collect();
            customers.sort();
            customers.dedup();
            prop_assert_eq!(customers.len(), p.calls.len());
            if let Some(n) = capacity {
                prop_assert!(p.calls.len() <= n);
            }
            for r in apply(&desk.service, &facts, &p, &planner) {
                prop_assert!(r.result.is_recorded(), "{:?}", r.result);
            }
        }
        // Every follow-up of the plan's against every other of its customer.
        let mut customer_of = std::collections::HashMap::new();
        let mut follow_ups = Vec::new();
        for e in desk.service.log().read_all(1).unwrap() {
            let e = e.unwrap().event;
            match &e.data {
                EventData::Opened(o) => {
                    customer_of.insert(e.case_id, o.customer_id.clone());
                }
                EventData::FollowUpScheduled(f) => {
                    follow_ups.push((customer_of[&e.case_id].clone(), f.due, e.actor == planner, e.event_id));
                }
                _ => {}
            }
        }
        for a in &follow_ups {
            for b in &follow_ups {
                if a.3 != b.3 && a.0 == b.0 && (a.2 || b.2) {
                    prop_assert!(!follow_ups_too_close(a.1, b.1), "{:?} {:?}", a, b);
                }
            }
        }
    }
}
