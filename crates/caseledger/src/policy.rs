//! Policies across cases: the anti-harassment cap on follow-up contacts.
//!
//! The bank contacts a customer for a follow-up at most once in any 30 days.
//! [`follow_ups_too_close`] is the one definition of "too close", and
//! [`cap_conflict`] the one check of a new follow-up against recorded ones:
//! the log applies it to an append carrying [`AppendCondition`] (the
//! command path), atomically with the write, over the follow-ups it keeps
//! by customer ([`FollowUpPlanner`], [`PendingFollowUps`]); the KPI
//! report's `cap_violations` counts breaches in recorded history (imported
//! history is not conditioned) with [`follow_ups_too_close`].

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

/// The follow-up of `known` that a new follow-up of `customer` due at
/// `due` would be too close to, if any: the cap's one check.
pub fn cap_conflict<'a>(
    customer: &CustomerId,
    due: DateTime<Utc>,
    known: impl IntoIterator<Item = &'a KnownFollowUp>,
) -> Result<(), FollowUpCapError> {
    match known.into_iter().find(|k| follow_ups_too_close(k.due, due)) {
        Some(existing) => Err(FollowUpCapError {
            customer_id: customer.clone(),
            existing: *existing,
            requested_due: due,
        }),
        None => Ok(()),
    }
}

/// A condition over other streams that an append may carry
/// ([`crate::EventLog::append_with`]): the log checks it against what it
/// has recorded in the same atomic step as the write (the memory log under
/// its lock, the file store under its writer, a database in the appending
/// transaction), so that it holds for any number of services, threads and
/// processes. Not checked when the append is a retry of events stored
/// already: those are answered as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppendCondition {
    /// The follow-up cap: no follow-up of `customer_id`, in any case, is
    /// recorded due closer than [`FOLLOW_UP_CAP_MS`] to `due`.
    NoFollowUpTooClose {
        /// The customer the appended follow-up is for.
        customer_id: CustomerId,
        /// When the appended follow-up is due.
        due: DateTime<Utc>,
    },
}

/// Why an [`AppendCondition`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConditionFailure {
    /// A recorded follow-up of the customer is too close: which one.
    #[error(transparent)]
    FollowUpCap(FollowUpCapError),
}

impl AppendCondition {
    /// Checks the condition; `follow_ups_of` returns the follow-ups the log
    /// has recorded for a customer (it may fail: a file or a database may
    /// not answer). The outer error is the log's, the inner the refusal.
    pub fn check<E>(
        &self,
        follow_ups_of: impl FnOnce(&CustomerId) -> Result<Vec<KnownFollowUp>, E>,
    ) -> Result<Result<(), ConditionFailure>, E> {
        match self {
            AppendCondition::NoFollowUpTooClose { customer_id, due } => {
                let known = follow_ups_of(customer_id)?;
                Ok(cap_conflict(customer_id, *due, &known).map_err(ConditionFailure::FollowUpCap))
            }
        }
    }
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

    /// The customer of a case, once its `opened` event was observed.
    pub fn customer_of(&self, case_id: &CaseId) -> Option<&CustomerId> {
        self.customer_of.get(case_id)
    }

    /// Whether a follow-up due at `due` for `customer` respects the cap.
    pub fn check(&self, customer: &CustomerId, due: DateTime<Utc>) -> Result<(), FollowUpCapError> {
        cap_conflict(customer, due, self.follow_ups_of(customer))
    }

    /// Takes in the events of `pending`, which follow the last position
    /// observed (a log's committed transaction).
    pub fn absorb(&mut self, pending: PendingFollowUps) {
        self.customer_of.extend(pending.customer_of);
        for (case_id, known) in pending.scheduled {
            if let Some(customer) = self.customer_of.get(&case_id) {
                self.scheduled
                    .entry(customer.clone())
                    .or_default()
                    .push(known);
            }
        }
        self.position = self.position.max(pending.last_position);
    }
}

/// The follow-ups of a log's transaction not yet committed, seen on top of
/// the [`FollowUpPlanner`] of its committed events: a cap check inside a
/// transaction counts both, and the commit moves them into the planner
/// ([`FollowUpPlanner::absorb`]); an abort drops them.
#[derive(Debug, Clone, Default)]
pub struct PendingFollowUps {
    customer_of: HashMap<CaseId, CustomerId>,
    scheduled: Vec<(CaseId, KnownFollowUp)>,
    last_position: u64,
}

impl PendingFollowUps {
    /// Feeds one event written by the transaction at `position`.
    pub fn observe(&mut self, position: u64, event: &Event) {
        self.last_position = self.last_position.max(position);
        match &event.data {
            EventData::Opened(o) => {
                self.customer_of
                    .insert(event.case_id, o.customer_id.clone());
            }
            EventData::FollowUpScheduled(f) => self.scheduled.push((
                event.case_id,
                KnownFollowUp {
                    case_id: event.case_id,
                    event_id: event.event_id,
                    due: f.due,
                },
            )),
            _ => {}
        }
    }

    /// Every follow-up of `customer`: the committed ones of `committed`,
    /// then the transaction's.
    pub fn follow_ups_of(
        &self,
        committed: &FollowUpPlanner,
        customer: &CustomerId,
    ) -> Vec<KnownFollowUp> {
        let mut all = committed.follow_ups_of(customer).to_vec();
        all.extend(
            self.scheduled
                .iter()
                .filter(|(case_id, _)| {
                    self.customer_of
                        .get(case_id)
                        .or_else(|| committed.customer_of(case_id))
                        == Some(customer)
                })
                .map(|(_, known)| *known),
        );
        all
    }

    /// Forgets every event (the transaction was undone).
    pub fn clear(&mut self) {
        *self = PendingFollowUps::default();
    }
}
