//! Hand-built histories for the domain's tests: events across cases, each
//! with an event id equal to its position (1, 2, ... in the order added),
//! and their report, checked against the case rules first.
//!
//! The tests keep their own short builders (open, respond, resolve ... with
//! the times and actors each test reads best with); these are the two steps
//! every such builder shares.

use std::collections::BTreeMap;

use caseledger::kpi::{KpiAccumulator, Report, ReportParams};
use caseledger::{Actor, CaseId, Event, EventData, EventId, fold};
use chrono::{DateTime, Utc};

/// The event to add after `events`: its id is its position (one more than
/// `events.len()`), so ids and positions agree. Panics when `actor` is not
/// a valid actor (a mistake in the test).
pub fn next_event(
    events: &[Event],
    case: u128,
    at: DateTime<Utc>,
    actor: &str,
    data: EventData,
) -> Event {
    Event {
        event_id: EventId::from_u128(events.len() as u128 + 1),
        case_id: CaseId::from_u128(case),
        at,
        actor: Actor::parse(actor).unwrap_or_else(|e| panic!("actor `{actor}`: {e}")),
        data,
    }
}

/// Checks every case's history in `events` against the case rules
/// (panics at the first that breaks one, naming the case), then reports
/// `events` at positions 1, 2, ... as of `as_of`.
pub fn checked_report(
    events: &[Event],
    as_of: Option<DateTime<Utc>>,
    params: &ReportParams,
) -> Report {
    let mut by_case: BTreeMap<CaseId, Vec<&Event>> = BTreeMap::new();
    for e in events {
        by_case.entry(e.case_id).or_default().push(e);
    }
    for (case, history) in &by_case {
        if let Err(e) = fold(history.iter().copied()) {
            panic!("the history of case {case} breaks a rule: {e}");
        }
    }
    let mut acc = KpiAccumulator::new(as_of);
    acc.replay((1u64..).zip(events));
    acc.report(params)
}
