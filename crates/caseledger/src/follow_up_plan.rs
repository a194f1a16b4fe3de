//! The follow-up plan: the day's closed-loop calls, proposed from the log
//! (docs/follow-ups.md is its specification; this module is its one
//! implementation).
//!
//! Three steps, each pure:
//! 1. [`FollowUpFacts`], a [`Projection`] fed the log, keeps what the plan
//!    needs of each case and each customer's follow-ups as of the start of
//!    the plan's day ([`PlanDay`]), and what happened to a case after it
//!    (for [`apply`]). It derives serde's traits, so a runner can store it
//!    with its checkpoint.
//! 2. [`plan`] turns the facts, the business calendar and a capacity into a
//!    [`Plan`]: the candidates, the anti-harassment cap
//!    ([`crate::policy::cap_conflict`]), one case per customer, the due
//!    time, the purpose and the order.
//! 3. [`apply`] records the plan's `follow_up_scheduled` events through the
//!    application service, so every case rule and the cap are checked again,
//!    each with an event id derived from the case and the day
//!    ([`plan_event_id`]): a re-run records nothing twice.
//!
//! ```
//! use caseledger::calendar::{BusinessCalendar, Tz};
//! use caseledger::follow_up_plan::{FollowUpFacts, PlanDay, plan};
//! use caseledger::projection::Projection;
//! use chrono::NaiveDate;
//!
//! let day = PlanDay::new(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(), Tz::Europe__London);
//! let mut facts = FollowUpFacts::new(day);
//! # let log: Vec<(u64, caseledger::Event)> = Vec::new();
//! for (position, event) in &log {
//!     facts.observe(*position, event);
//! }
//! let today = plan(&facts, &BusinessCalendar::default(), None);
//! for call in &today.calls {
//!     println!("{} {} {}", call.case_id, call.due, call.purpose);
//! }
//! ```

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{BusinessCalendar, Tz, local_date_in, local_instant, start_of_local_day};
use crate::decide::{Action, Command};
use crate::error::Violation;
use crate::event::{Event, EventData, FollowUpScheduled};
use crate::ids::{Actor, CaseId, CustomerId, EventId};
use crate::policy::{FollowUpCapError, KnownFollowUp, cap_conflict};
use crate::port::{AppendError, EventLog};
use crate::projection::Projection;
use crate::service::{CaseService, IdSource, Outcome, ServiceError};
use crate::state::status_after;
use crate::status::Status;
use crate::vocab::{Category, Channel, FollowUpPurpose, Priority, Score, Tier};

/// The fewest local days between a case's latest resolution and the plan's
/// day for the case to be a candidate.
pub const MIN_DAYS_AFTER_RESOLUTION: i64 = 3;

/// The most local days between a case's latest resolution and the plan's
/// day for the case to be a candidate.
pub const MAX_DAYS_AFTER_RESOLUTION: i64 = 7;

/// The local time a planned call is due, unless outside working hours:
/// 10:00.
pub const DUE_LOCAL_TIME: NaiveTime = match NaiveTime::from_hms_opt(10, 0, 0) {
    Some(t) => t,
    None => panic!("10:00 is a valid time"),
};

/// How the planned calls reach the customer: they are calls.
pub const PLAN_CHANNEL: Channel = Channel::Phone;

/// The latest survey score that puts a case first after the complaints
/// (1 or 2: a dissatisfied customer).
pub const LOW_SURVEY_SCORE: u8 = 2;

/// The tiers in the plan's order: the first is called first.
pub const TIER_ORDER: [Tier; 5] = [
    Tier::AtRisk,
    Tier::Vip,
    Tier::New,
    Tier::Standard,
    Tier::Dormant,
];

/// The priorities in the plan's order (urgent first; a case without a
/// classification counts as [`Priority::Normal`]).
pub const PRIORITY_ORDER: [Priority; 4] = [
    Priority::Urgent,
    Priority::High,
    Priority::Normal,
    Priority::Low,
];

/// The day a plan is for: a local date and the time zone it is local in
/// (the report's). Everything the plan reads is as of the day's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDay {
    date: NaiveDate,
    #[serde(with = "zone_name")]
    zone: Tz,
}

impl PlanDay {
    /// The day `date`, local in `zone`.
    pub fn new(date: NaiveDate, zone: Tz) -> PlanDay {
        PlanDay { date, zone }
    }

    /// The local date.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The time zone the date is local in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// T, the start of the day: its local midnight (by the one rule for
    /// local times, [`start_of_local_day`]). Events at or before T count.
    pub fn start(&self) -> DateTime<Utc> {
        start_of_local_day(self.zone, self.date)
    }
}

/// serde for a time zone: its IANA name.
mod zone_name {
    use super::Tz;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(zone: &Tz, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(zone.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(d)?;
        name.parse::<Tz>()
            .map_err(|_| serde::de::Error::custom(format!("unknown time zone `{name}`")))
    }
}

/// The event id of the plan's call on `case_id` for the local date `date`:
/// derived ([`EventId::derived`]) from the case id and the date, so the
/// same plan applied twice records each call once, and a second apply by
/// another actor is refused as a reused id.
pub fn plan_event_id(case_id: CaseId, date: NaiveDate) -> EventId {
    EventId::from_uuid(*case_id.as_uuid()).derived(&format!("follow-up-plan {date}"))
}

/// What the plan keeps of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CaseFacts {
    customer_id: CustomerId,
    tier: Tier,
    status: Status,
    category: Option<Category>,
    priority: Option<Priority>,
    /// The latest `resolved` at or before T.
    resolved_at: Option<DateTime<Utc>>,
    /// Whether a follow-up was scheduled since the latest resolution (not
    /// counting this plan's own).
    follow_up_since_resolution: bool,
    /// Whether a follow-up is pending at T (scheduled, not completed; a
    /// reopen or a new resolution does not end it): the case rules allow
    /// one at a time (docs/events.md, rule 5), so such a case is no
    /// candidate.
    follow_up_pending: bool,
    /// The latest survey score at or before T.
    survey_score: Option<Score>,
    /// The latest event time, after T too.
    latest_at: DateTime<Utc>,
    /// Whether this plan's own event for the case is recorded.
    applied: bool,
}

/// A follow-up recorded for a customer (the cap's input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FollowUpDue {
    case_id: CaseId,
    event_id: EventId,
    due: DateTime<Utc>,
}

impl From<FollowUpDue> for KnownFollowUp {
    fn from(f: FollowUpDue) -> KnownFollowUp {
        KnownFollowUp {
            case_id: f.case_id,
            event_id: f.event_id,
            due: f.due,
        }
    }
}

/// What the plan of one day needs of the log, folded event by event (a
/// [`Projection`]): per case its customer, tier, status, latest
/// classification, latest resolution, whether a follow-up was scheduled
/// since, its latest survey score; per customer every follow-up recorded.
/// All as of the day's start T (events at or before it), except that it
/// also keeps each case's latest event time after T, and leaves out the
/// plan's own events (those [`apply`] records, [`plan_event_id`]) so that
/// a day's plan stays the same after it was applied.
///
/// Closed cases are dropped (they are never called), so it holds the cases
/// not closed at T.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpFacts {
    day: PlanDay,
    start: DateTime<Utc>,
    cases: HashMap<CaseId, CaseFacts>,
    follow_ups: HashMap<CustomerId, Vec<FollowUpDue>>,
    position: u64,
}

impl FollowUpFacts {
    /// No event yet, for the plan of `day`.
    pub fn new(day: PlanDay) -> FollowUpFacts {
        FollowUpFacts {
            day,
            start: day.start(),
            cases: HashMap::new(),
            follow_ups: HashMap::new(),
            position: 0,
        }
    }

    /// The day the facts are for.
    pub fn day(&self) -> PlanDay {
        self.day
    }

    /// T: the start of the day.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The last position observed (0: none): the checkpoint.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// How many cases (not closed at T) the facts hold.
    pub fn cases(&self) -> usize {
        self.cases.len()
    }

    /// The latest event time of a case, after T too (`None`: unknown, or
    /// closed at T).
    pub fn latest_event_at(&self, case_id: CaseId) -> Option<DateTime<Utc>> {
        self.cases.get(&case_id).map(|c| c.latest_at)
    }

    /// Whether the plan's own call on the case ([`plan_event_id`]) is
    /// recorded.
    pub fn applied(&self, case_id: CaseId) -> bool {
        self.cases.get(&case_id).is_some_and(|c| c.applied)
    }
}

impl Projection for FollowUpFacts {
    fn observe(&mut self, position: u64, event: &Event) {
        self.position = position;
        let own = matches!(event.data, EventData::FollowUpScheduled(_))
            && event.event_id == plan_event_id(event.case_id, self.day.date);
        if event.at > self.start || own {
            if let Some(case) = self.cases.get_mut(&event.case_id) {
                case.latest_at = case.latest_at.max(event.at);
                case.applied |= own;
            }
            return;
        }
        if let EventData::Opened(o) = &event.data {
            self.cases.entry(event.case_id).or_insert(CaseFacts {
                customer_id: o.customer_id.clone(),
                tier: o.tier,
                status: status_after(Status::NotOpened, &event.data),
                category: None,
                priority: None,
                resolved_at: None,
                follow_up_since_resolution: false,
                follow_up_pending: false,
                survey_score: None,
                latest_at: event.at,
                applied: false,
            });
            return;
        }
        let Some(case) = self.cases.get_mut(&event.case_id) else {
            return;
        };
        case.latest_at = case.latest_at.max(event.at);
        case.status = status_after(case.status, &event.data);
        match &event.data {
            EventData::Classified(c) => {
                case.category = Some(c.category);
                case.priority = Some(c.priority);
            }
            EventData::Resolved(_) => {
                case.resolved_at = Some(event.at);
                case.follow_up_since_resolution = false;
            }
            EventData::FollowUpScheduled(f) => {
                case.follow_up_since_resolution = true;
                case.follow_up_pending = true;
                self.follow_ups
                    .entry(case.customer_id.clone())
                    .or_default()
                    .push(FollowUpDue {
                        case_id: event.case_id,
                        event_id: event.event_id,
                        due: f.due,
                    });
            }
            EventData::FollowUpCompleted(_) => case.follow_up_pending = false,
            EventData::Surveyed(s) => case.survey_score = Some(s.score),
            _ => {}
        }
        if case.status == Status::Closed {
            self.cases.remove(&event.case_id);
        }
    }
}

/// serde for a timestamp: its RFC 3339 form ([`crate::format_timestamp`]).
fn ser_ts<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::time::format_timestamp(t))
}

/// One call the plan proposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PlannedCall {
    /// The case.
    pub case_id: CaseId,
    /// Its customer.
    pub customer_id: CustomerId,
    /// When the call is due.
    #[serde(serialize_with = "ser_ts")]
    pub due: DateTime<Utc>,
    /// Why the bank calls.
    pub purpose: FollowUpPurpose,
    /// The customer's tier.
    pub tier: Tier,
    /// The case's latest category (`None`: never classified).
    pub category: Option<Category>,
    /// The case's latest priority (`None`: never classified; ordered as
    /// normal).
    pub priority: Option<Priority>,
    /// The case's latest resolution.
    #[serde(serialize_with = "ser_ts")]
    pub resolved_at: DateTime<Utc>,
    /// The case's latest survey score, if any.
    pub survey_score: Option<Score>,
}

/// Why a candidate is not in the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// The anti-harassment cap: the customer has a follow-up due less than
    /// 30 days from the proposed due time (which one).
    Cap(FollowUpCapError),
    /// At most one case per customer: another case of the customer comes
    /// first in the plan's order.
    SameCustomer {
        /// The case proposed instead.
        kept: CaseId,
    },
    /// Beyond the capacity: the plan keeps its first N calls.
    Capacity {
        /// The capacity.
        capacity: usize,
    },
}

impl DropReason {
    /// A stable name for the reason: `cap`, `same_customer`, `capacity`.
    pub fn kind(&self) -> &'static str {
        match self {
            DropReason::Cap(_) => "cap",
            DropReason::SameCustomer { .. } => "same_customer",
            DropReason::Capacity { .. } => "capacity",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Cap(e) => e.fmt(f),
            DropReason::SameCustomer { kept } => write!(
                f,
                "at most one case per customer: case {kept} of the same customer comes first"
            ),
            DropReason::Capacity { capacity } => {
                let calls = if *capacity == 1 { "call" } else { "calls" };
                write!(f, "beyond the capacity of {capacity} {calls}")
            }
        }
    }
}

/// A candidate the plan leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dropped {
    /// The candidate.
    pub call: PlannedCall,
    /// Why it is left out.
    pub reason: DropReason,
}

/// The day's plan: what [`plan`] proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// The day.
    pub day: PlanDay,
    /// T, the start of the day: the plan is as of it.
    pub as_of: DateTime<Utc>,
    /// The due time of every call: 10:00 local, or the first working hour
    /// of the day, never before T ([`due_time`]). `None`: the day has no
    /// working hours from T on, and the plan proposes nothing.
    pub due: Option<DateTime<Utc>>,
    /// How many cases are candidates (before the cap).
    pub candidates: usize,
    /// The calls, in the plan's order.
    pub calls: Vec<PlannedCall>,
    /// The candidates left out, in the plan's order, with why.
    pub dropped: Vec<Dropped>,
}

/// The due time of the day's calls: [`DUE_LOCAL_TIME`] local in the day's
/// zone if that instant lies in one of the calendar's working intervals of
/// the date, else the first working instant of the date; `None` when the
/// date has no working hours. Only the working hours from T (the start of
/// the day) on count: a call is recorded at T, so it is never due before
/// it (the calendar's intervals of the date may begin, even end, before T
/// when the calendar's zone is ahead of the day's).
pub fn due_time(day: PlanDay, calendar: &BusinessCalendar) -> Option<DateTime<Utc>> {
    let start = day.start();
    let ten = local_instant(day.zone, day.date.and_time(DUE_LOCAL_TIME));
    let intervals: Vec<_> = calendar
        .working_intervals(day.date)
        .into_iter()
        .filter(|r| r.end > start)
        .map(|r| r.start.max(start)..r.end)
        .collect();
    if intervals.iter().any(|r| r.contains(&ten)) {
        Some(ten)
    } else {
        intervals.first().map(|r| r.start)
    }
}

/// The purpose of a call: [`FollowUpPurpose::ProblemCheck`] for complaints
/// and technical cases, [`FollowUpPurpose::Relationship`] for `vip` and
/// `at_risk` customers otherwise, [`FollowUpPurpose::Feedback`] for the
/// rest.
pub fn purpose_of(category: Option<Category>, tier: Tier) -> FollowUpPurpose {
    match (category, tier) {
        (Some(Category::Complaint | Category::Technical), _) => FollowUpPurpose::ProblemCheck,
        (_, Tier::Vip | Tier::AtRisk) => FollowUpPurpose::Relationship,
        _ => FollowUpPurpose::Feedback,
    }
}

/// The plan's order of two calls: complaints first, then cases whose
/// latest survey score is 1 or 2, then by tier ([`TIER_ORDER`]), then
/// priority ([`PRIORITY_ORDER`], unclassified as normal), then the older
/// resolution, then the case id.
pub fn plan_order(a: &PlannedCall, b: &PlannedCall) -> Ordering {
    let key = |c: &PlannedCall| {
        let not_complaint = c.category != Some(Category::Complaint);
        let not_low = c.survey_score.is_none_or(|s| s.get() > LOW_SURVEY_SCORE);
        let tier = TIER_ORDER.iter().position(|t| *t == c.tier);
        let priority = PRIORITY_ORDER
            .iter()
            .position(|p| *p == c.priority.unwrap_or(Priority::Normal));
        (
            not_complaint,
            not_low,
            tier,
            priority,
            c.resolved_at,
            c.case_id,
        )
    };
    key(a).cmp(&key(b))
}

/// The day's plan from its facts (docs/follow-ups.md): the candidates (status
/// `resolved` at T, latest resolution 3 to 7 local days before the date, no
/// follow-up scheduled since), less those the cap drops, in the plan's order
/// ([`plan_order`]), one case per customer, the first `capacity` (all when
/// `None`). The due time comes from `calendar` ([`due_time`]); a date
/// without working hours proposes nothing.
pub fn plan(facts: &FollowUpFacts, calendar: &BusinessCalendar, capacity: Option<usize>) -> Plan {
    let day = facts.day;
    let mut out = Plan {
        day,
        as_of: facts.start,
        due: due_time(day, calendar),
        candidates: 0,
        calls: Vec::new(),
        dropped: Vec::new(),
    };
    let Some(due) = out.due else {
        return out;
    };
    let mut candidates: Vec<PlannedCall> = facts
        .cases
        .iter()
        .filter_map(|(case_id, c)| {
            let resolved_at = c.resolved_at?;
            let days = (day.date - local_date_in(day.zone, resolved_at)).num_days();
            let candidate = c.status == Status::Resolved
                && (MIN_DAYS_AFTER_RESOLUTION..=MAX_DAYS_AFTER_RESOLUTION).contains(&days)
                && !c.follow_up_since_resolution
                && !c.follow_up_pending;
            candidate.then(|| PlannedCall {
                case_id: *case_id,
                customer_id: c.customer_id.clone(),
                due,
                purpose: purpose_of(c.category, c.tier),
                tier: c.tier,
                category: c.category,
                priority: c.priority,
                resolved_at,
                survey_score: c.survey_score,
            })
        })
        .collect();
    out.candidates = candidates.len();
    candidates.sort_by(plan_order);
    let mut kept_of: HashMap<&CustomerId, CaseId> = HashMap::new();
    // Every call is due at `due`, so the cap's answer depends only on the
    // customer: asked once a customer, not once a candidate (a customer
    // with m candidates and m recorded follow-ups would cost m^2).
    let mut cap_of: HashMap<&CustomerId, Result<(), FollowUpCapError>> = HashMap::new();
    let mut kept: Vec<PlannedCall> = Vec::new();
    for call in &candidates {
        let cap = cap_of.entry(&call.customer_id).or_insert_with(|| {
            let known = facts
                .follow_ups
                .get(&call.customer_id)
                .map_or(&[][..], Vec::as_slice);
            let known: Vec<KnownFollowUp> = known.iter().map(|&f| f.into()).collect();
            cap_conflict(&call.customer_id, due, &known)
        });
        let reason = match cap {
            Err(cap) => Some(DropReason::Cap(cap.clone())),
            Ok(()) => kept_of
                .get(&call.customer_id)
                .map(|&kept| DropReason::SameCustomer { kept }),
        };
        match reason {
            Some(reason) => out.dropped.push(Dropped {
                call: call.clone(),
                reason,
            }),
            None => {
                kept_of.insert(&call.customer_id, call.case_id);
                kept.push(call.clone());
            }
        }
    }
    if let Some(capacity) = capacity
        && kept.len() > capacity
    {
        for call in kept.split_off(capacity) {
            out.dropped.push(Dropped {
                call,
                reason: DropReason::Capacity { capacity },
            });
        }
    }
    out.calls = kept;
    out
}

/// Why [`apply`] did not record a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallRefusal<E> {
    /// The case has events after the start of the day: the plan, made as of
    /// T, cannot be recorded at T behind them.
    #[error(
        "case {case_id} has events after the start of {date} (the latest at {}); the plan is as of {}",
        crate::format_timestamp(latest_at),
        crate::format_timestamp(as_of)
    )]
    LaterEvents {
        /// The case.
        case_id: CaseId,
        /// The plan's day.
        date: NaiveDate,
        /// T.
        as_of: DateTime<Utc>,
        /// Its latest event's time.
        latest_at: DateTime<Utc>,
    },
    /// The application service refused the command: a case rule, the cap,
    /// a reused event id (another actor applied the plan first: the error
    /// names the recorded event), or the log failed.
    #[error(transparent)]
    Service(ServiceError<E>),
}

/// What [`apply`] did with one call.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallResult<E> {
    /// Recorded now, at this log position.
    Recorded {
        /// The position of the `follow_up_scheduled` event.
        position: u64,
    },
    /// Recorded by an earlier apply of the same plan (same actor): nothing
    /// recorded twice.
    AlreadyRecorded {
        /// The position of the recorded event.
        position: u64,
    },
    /// Not recorded, and why.
    Refused(CallRefusal<E>),
    /// The log failed ([`ServiceError::Log`], or the append's
    /// [`AppendError::Log`]): whether the call is
    /// recorded is not known, since a log may fail after the write reached
    /// it (PostgreSQL's `OutcomeUnknown`: a commit whose answer was lost).
    /// Applying the same plan again tells: a recorded call then comes back
    /// [`AlreadyRecorded`](CallResult::AlreadyRecorded).
    Failed(ServiceError<E>),
}

impl<E> CallResult<E> {
    /// Whether the call is known to be in the log (recorded now or
    /// before); false for a refused call and for a failed one, whose
    /// outcome is unknown.
    pub fn is_recorded(&self) -> bool {
        matches!(
            self,
            CallResult::Recorded { .. } | CallResult::AlreadyRecorded { .. }
        )
    }
}

/// One call of an applied plan and what became of it.
#[derive(Debug)]
#[non_exhaustive]
pub struct AppliedCall<E> {
    /// The call.
    pub call: PlannedCall,
    /// What became of it.
    pub result: CallResult<E>,
}

/// The command that records `call` of the plan of `day`: a
/// `follow_up_scheduled` by `actor` at the start of the day, due and with
/// the purpose the plan gave, by phone, with the event id
/// [`plan_event_id`].
pub fn call_command(day: PlanDay, call: &PlannedCall, actor: &Actor) -> Command {
    Command {
        case_id: call.case_id,
        event_id: plan_event_id(call.case_id, day.date),
        at: day.start(),
        actor: actor.clone(),
        action: Action::ScheduleFollowUp(FollowUpScheduled {
            due: call.due,
            purpose: call.purpose,
            channel: PLAN_CHANNEL,
        }),
    }
}

/// Records the calls of `plan` through `service`, in the plan's order, by
/// `actor`, each with [`call_command`]: the service checks every case rule
/// and the cap again, and answers a call recorded before (the same event
/// id) as already recorded, or refuses it as a reused id when it was
/// recorded differently (another actor). A case with events after the
/// start of the day (in `facts`, the facts the plan was made from, or as
/// the service finds it) is refused with that reason, unless its call was
/// recorded already.
///
/// Each call is [`call_to_record`], then the service's command, then
/// [`call_answered`]: a service of another face (`caseledger-async`'s
/// `follow_up_plan::apply`) applies a plan with the same two steps.
pub fn apply<L: EventLog, I: IdSource>(
    service: &CaseService<L, I>,
    facts: &FollowUpFacts,
    plan: &Plan,
    actor: &Actor,
) -> Vec<AppliedCall<L::Error>> {
    plan.calls
        .iter()
        .map(|call| match call_to_record(facts, plan, call, actor) {
            CallStep::Record(command) => {
                call_answered(plan, call, service.execute_command(command))
            }
            CallStep::Settled(refused) => refused,
        })
        .collect()
}

/// What [`call_to_record`] found a call needs.
#[derive(Debug)]
pub enum CallStep<E> {
    /// Execute this command through the application service, then pass its
    /// answer to [`call_answered`].
    Record(Command),
    /// Nothing to execute: the call is settled (refused without asking the
    /// log).
    Settled(AppliedCall<E>),
}

/// [`apply`]'s first step for one call of `plan`: the command that records
/// it ([`call_command`], by `actor`), or, without asking the log, the call
/// refused because `facts` show its case has events after the start of
/// the day (unless its call was recorded already: applying the plan again
/// must answer it as recorded).
pub fn call_to_record<E>(
    facts: &FollowUpFacts,
    plan: &Plan,
    call: &PlannedCall,
    actor: &Actor,
) -> CallStep<E> {
    let latest = facts
        .latest_event_at(call.case_id)
        .filter(|at| *at > plan.as_of && !facts.applied(call.case_id));
    match latest {
        Some(latest_at) => CallStep::Settled(AppliedCall {
            call: call.clone(),
            result: CallResult::Refused(later_events(plan, call.case_id, latest_at)),
        }),
        None => CallStep::Record(call_command(plan.day, call, actor)),
    }
}

/// [`apply`]'s second step: what became of `call` of `plan`, from the
/// application service's answer to the command [`call_to_record`] gave.
/// A log's own failure is [`CallResult::Failed`] (the call may or may not
/// be recorded); a case whose latest event is after the start of the day
/// (as the service found it) is [`CallRefusal::LaterEvents`], as when the
/// facts showed it.
pub fn call_answered<E>(
    plan: &Plan,
    call: &PlannedCall,
    answer: Result<Outcome, ServiceError<E>>,
) -> AppliedCall<E> {
    let result = match answer {
        Ok(outcome) => {
            let position = outcome.positions.first().copied().unwrap_or(0);
            if outcome.already_recorded {
                CallResult::AlreadyRecorded { position }
            } else {
                CallResult::Recorded { position }
            }
        }
        Err(ServiceError::Rule(e)) => match e.violation {
            Violation::TimeWentBackwards { previous, .. } => {
                CallResult::Refused(later_events(plan, call.case_id, previous))
            }
            _ => CallResult::Refused(CallRefusal::Service(ServiceError::Rule(e))),
        },
        // The log's own failure says nothing of what it holds.
        Err(e @ (ServiceError::Log(_) | ServiceError::Append(AppendError::Log(_)))) => {
            CallResult::Failed(e)
        }
        Err(e) => CallResult::Refused(CallRefusal::Service(e)),
    };
    AppliedCall {
        call: call.clone(),
        result,
    }
}

/// The refusal of a call whose case has an event at `latest_at`, after the
/// start of the plan's day.
fn later_events<E>(plan: &Plan, case_id: CaseId, latest_at: DateTime<Utc>) -> CallRefusal<E> {
    CallRefusal::LaterEvents {
        case_id,
        date: plan.day.date,
        as_of: plan.as_of,
        latest_at,
    }
}
