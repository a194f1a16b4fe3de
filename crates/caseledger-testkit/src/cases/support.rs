//! What the cases share: the stream they append to, the events they
//! build, and how they read a log back.

use caseledger::{
    Actor, AppendCondition, AppendError, Appended, CaseId, Channel, CustomerId, Event, EventData,
    EventId, EventLog, FollowUpPurpose, FollowUpScheduled, Opened, RecordedEvent, Tier,
};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// The stream most cases append to.
pub const CASE: CaseId = CaseId::from_u128(0xC0FFEE);

/// Minute `m` after 2026-03-02 09:00 UTC.
pub(super) fn minute(m: i64) -> DateTime<Utc> {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single();
    // A valid, unambiguous UTC date: `single` always holds one.
    start.expect("a valid date") + Duration::minutes(m)
}

/// Event `id` of stream `case` at minute `m`, by `agent-1`.
pub(super) fn event_on(case: CaseId, id: u128, m: i64, data: EventData) -> Event {
    let agent = Actor::parse("agent-1").expect("a valid actor");
    Event {
        event_id: EventId::from_u128(id),
        case_id: case,
        at: minute(m),
        actor: agent,
        data,
    }
}

/// Event `id` of [`CASE`].
pub(super) fn event(id: u128, m: i64, data: EventData) -> Event {
    event_on(CASE, id, m, data)
}

/// A `responded` event `id` of stream `case` (a log checks no case rule,
/// so any event will do).
pub(super) fn responded(case: u128, id: u128) -> Event {
    let m = i64::try_from(id % 100_000).expect("below 100,000");
    event_on(CaseId::from_u128(case), id, m, EventData::Responded)
}

/// The `opened` event `id` of [`CASE`].
pub(super) fn opened(id: u128) -> Event {
    let customer = CustomerId::new("C-1001").expect("a valid customer id");
    let data = Opened {
        customer_id: customer,
        channel: Channel::Phone,
        tier: Tier::Vip,
        summary: Some("card blocked abroad".into()),
        origin: caseledger::Origin::Customer,
    };
    event(id, 0, EventData::Opened(data))
}

/// Every event of the log, in position order.
pub(super) fn all_events<L: EventLog>(log: &L) -> Vec<RecordedEvent> {
    let events = log.read_all(1).expect("read_all");
    events.map(|e| e.expect("an event")).collect()
}

pub(super) fn positions<L: EventLog>(log: &L, from: u64) -> Vec<u64> {
    let events = log.read_all(from).expect("read_all");
    events.map(|e| e.expect("an event").position).collect()
}

pub(super) fn assert_reused<E: std::fmt::Debug>(
    result: Result<Appended, AppendError<E>>,
    stored: &Event,
) {
    match result {
        Err(AppendError::IdempotencyKeyReused { recorded, .. }) => {
            assert_eq!(recorded.event, *stored)
        }
        other => panic!("expected a reused idempotency key, got {other:?}"),
    }
}

/// The `opened` event `id` of stream `case`, for `customer`.
pub(super) fn opened_for(case: CaseId, id: u128, customer: &str) -> Event {
    let data = Opened {
        customer_id: CustomerId::new(customer).expect("a valid customer id"),
        channel: Channel::Phone,
        tier: Tier::Standard,
        summary: None,
        origin: caseledger::Origin::Customer,
    };
    event_on(case, id, 0, EventData::Opened(data))
}

/// A `follow_up_scheduled` event `id` of stream `case`, due `day` days
/// after the first minute.
pub(super) fn follow_up_on(case: CaseId, id: u128, day: i64) -> Event {
    let data = FollowUpScheduled {
        due: minute(0) + Duration::days(day),
        purpose: FollowUpPurpose::Feedback,
        channel: Channel::Phone,
    };
    event_on(case, id, 1, EventData::FollowUpScheduled(data))
}

/// The follow-up cap as a condition: no follow-up of `customer` due within
/// 30 days of `e`'s due time.
pub(super) fn cap(customer: &str, e: &Event) -> AppendCondition {
    let EventData::FollowUpScheduled(f) = &e.data else {
        panic!("not a follow-up: {e:?}");
    };
    AppendCondition::NoFollowUpTooClose {
        customer_id: CustomerId::new(customer).expect("a valid customer id"),
        due: f.due,
    }
}
