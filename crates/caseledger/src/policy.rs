//! Policies across cases: the anti-harassment cap on follow-up contacts.
//!
//! The bank contacts a customer for a follow-up at most once in any 30 days.
//! [`follow_ups_too_close`] is the one definition of "too close"; the planner
//! (consulted by the command path) and the KPI report's `cap_violations`
//! (which counts breaches in recorded history) both use it.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::event::{Event, EventData};
use crate::ids::{CaseId, CustomerId, EventId};
use crate::time::format_timestamp;

/// The minimum distance between two follow-ups of one customer, in
/// milliseconds: 30 days.
pub const FOLLOW_UP_CAP_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// Whether two follow-ups of the same customer, due at `a` and `b`, are
/// closer than the cap allows (strictly less than 30 days apart).
pub fn follow_ups_too_close(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).abs() < TimeDelta::milliseconds(FOLLOW_UP_CAP_MS)
}

/// A follow-up the planner knows about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFollowUp {
    /// The case it belongs to.
    pub case_id: CaseId,
    /// The `follow_up_scheduled` event.
    pub event_id: EventId,
    /// When it is due.
    pub due: DateTime<Utc>,
}

/// A follow-up was refused because the customer already has one too close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "customer {customer_id} already has a follow-up due {} (case {}); at most one follow-up per customer in any 30 days, so {} is refused",
    format_timestamp(&existing.due), existing.case_id, format_timestamp(requested_due)
)]
pub struct FollowUpCapError {
    /// The customer.
    pub customer_id: CustomerId,
    /// The follow-up already planned.
    pub existing: KnownFollowUp,
    /// The due time that was asked for.
    pub requested_due: DateTime<Utc>,
}

/// A per-customer projection of scheduled follow-ups, fed from the log, that
/// says whether a new follow-up respects the cap.
#[derive(Debug, Clone, Default)]
pub struct FollowUpPlanner {
    customer_of: HashMap<CaseId, CustomerId>,
    scheduled: HashMap<CustomerId, Vec<KnownFollowUp>>,
    position: u64,
}

impl FollowUpPlanner {
    /// An empty planner.
    pub fn new() -> FollowUpPlanner {
        FollowUpPlanner::default()
    }

    /// The last log position observed (0: none).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Feeds one recorded event at `position`. Events at or below the last
    /// observed position are ignored, so feeding twice is harmless.
    pub fn observe(&mut self, position: u64, event: &Event) {
        if position <= self.position {
            return;
        }
        self.position = position;
        match &event.data {
            EventData::Opened(o) => {
                self.customer_of
                    .insert(event.case_id, o.customer_id.clone());
            }
            EventData::FollowUpScheduled(f) => {
                if let Some(customer) = self.customer_of.get(&event.case_id) {
                    self.scheduled
                        .entry(customer.clone())
                        .or_default()
                        .push(KnownFollowUp {
                            case_id: event.case_id,
                            event_id: event.event_id,
                            due: f.due,
                        });
                }
            }
            _ => {}
        }
    }

    /// Every follow-up planned for a customer, in the order observed.
    pub fn follow_ups_of(&self, customer: &CustomerId) -> &[KnownFollowUp] {
        self.scheduled.get(customer).map_or(&[], Vec::as_slice)
    }

    /// Whether a follow-up due at `due` for `customer` respects the cap.
    pub fn check(&self, customer: &CustomerId, due: DateTime<Utc>) -> Result<(), FollowUpCapError> {
        match self
            .follow_ups_of(customer)
            .iter()
            .find(|k| follow_ups_too_close(k.due, due))
        {
            Some(existing) => Err(FollowUpCapError {
                customer_id: customer.clone(),
                existing: *existing,
                requested_due: due,
            }),
            None => Ok(()),
        }
    }
}
