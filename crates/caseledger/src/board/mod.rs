//! The case board: one row per case as of a moment T, the read model a
//! service desk asks all day (which cases are overdue now, what is in an
//! agent's queue, which complaints reach their deadline this week).
//!
//! [`CaseBoard`] is a [`Projection`]: fed the log (whole, or resumed from a
//! checkpoint of its serde form), it keeps a compact state per case. Asked
//! with a [`BoardQuery`] and a [`BoardPolicy`], it answers [`BoardRow`]s
//! sorted by the nearest open SLA or complaint deadline, then by case id.
//! Every deadline and state comes from the report's own rules: the SLA
//! verdict and deadlines ([`SlaPolicy::verdict`](crate::kpi::SlaPolicy::verdict), [`SlaPolicy::deadlines`](crate::kpi::SlaPolicy::deadlines)),
//! the complaint deadline and its state ([`DeadlineClock`](crate::complaint::DeadlineClock),
//! [`ComplaintState::judge`](crate::complaint::ComplaintState::judge)) and the phase of an open case. docs/kpis.md
//! ("The case board") says what each column means.
//!
//! As of T, like the report: a board made with an as-of time counts only
//! the events at or before it; without one, T is the latest event's time
//! ([`CaseBoard::rows`]), or a later moment given to
//! [`CaseBoard::rows_at`] (a live board asked "now").

mod query;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use query::{BoardError, BoardPolicy, BoardQuery, BoardRow, BoardSelection, BoardSlaState};
pub use query::{ComplaintColumn, SlaColumn};

use crate::event::{Event, EventData};
use crate::ids::{AgentId, CaseId, CustomerId, TeamId};
use crate::kpi::AsOfMismatch;
use crate::kpi::facts::{FastMap, Names, OptMs, OptNum, Waits, ms};
use crate::projection::Projection;
use crate::status::Status;
use crate::vocab::{Category, Channel, Priority, Tier, Topic};

/// The most `deadline_extended` events a case can have kept (rule 9 allows
/// one per extension step, at most three; more in a log written past the
/// rules are not kept, as no regime has more steps).
const MAX_EXTENSIONS: usize = 4;

/// One case's state on the board, as of T: what its row needs and no more
/// (names interned as numbers, times in milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    case_id: CaseId,
    opened_ms: i64,
    /// The time of its latest event counted.
    last_event_ms: i64,
    first_response_ms: OptMs,
    /// Its latest `resolved`, whether or not it was reopened since.
    latest_resolution_ms: OptMs,
    /// The due time of the follow-up scheduled and not completed.
    follow_up_due_ms: OptMs,
    /// Interned in the board's `customers`.
    customer: u32,
    /// Interned in the board's `agents` (the latest assignment).
    agent: OptNum,
    /// Interned in the board's `teams` (the latest assignment's).
    team: OptNum,
    /// The latest classification.
    class: Option<(Category, Topic, Priority)>,
    channel: Channel,
    tier: Tier,
    status: Status,
    /// The highest level escalated to (0: never escalated).
    escalation_level: u8,
    /// Escalated since it was last (re)opened (the phase's rule).
    escalated_since_open: bool,
    reopened: bool,
    /// Its `deadline_extended` events: when (ms) and to how many days.
    extensions: Vec<(i64, u8)>,
}

impl Entry {
    /// Resolved or closed at T.
    fn resolved(&self) -> bool {
        matches!(self.status, Status::Resolved | Status::Closed)
    }

    fn observe(&mut self, event: &Event, agents: &mut Names<AgentId>, teams: &mut Names<TeamId>) {
        let at_ms = ms(event.at);
        self.last_event_ms = self.last_event_ms.max(at_ms);
        match &event.data {
            EventData::Opened(_) => {}
            EventData::Classified(c) => self.class = Some((c.category, c.topic, c.priority)),
            EventData::Assigned(a) => {
                self.agent = OptNum::some(agents.number(&a.agent));
                self.team = a
                    .team
                    .as_ref()
                    .map_or(OptNum::NONE, |t| OptNum::some(teams.number(t)));
            }
            // Only an agent's contact ends the wait for a response (the
            // report's rule, `Event::agent_contact`).
            EventData::Responded => {
                if event.agent_contact().is_some() && self.first_response_ms.get().is_none() {
                    self.first_response_ms = OptMs::some(at_ms);
                }
            }
            EventData::Escalated(e) => {
                self.escalation_level = self.escalation_level.max(e.level.get());
                self.escalated_since_open = true;
            }
            EventData::Resolved(_) => {
                self.status = Status::Resolved;
                self.latest_resolution_ms = OptMs::some(at_ms);
                self.escalated_since_open = false;
            }
            EventData::Reopened(_) => {
                self.status = Status::Open;
                self.reopened = true;
            }
            EventData::FollowUpScheduled(f) => self.follow_up_due_ms = OptMs::some(ms(f.due)),
            EventData::FollowUpCompleted(_) => self.follow_up_due_ms = OptMs::NONE,
            EventData::Closed => self.status = Status::Closed,
            EventData::DeadlineExtended(d) => {
                if self.extensions.len() < MAX_EXTENSIONS {
                    self.extensions.push((at_ms, d.days.get()));
                }
            }
            EventData::Surveyed(_)
            | EventData::AwaitingCustomer(_)
            | EventData::CustomerReplied
            | EventData::QaReviewed(_) => {}
        }
    }
}

/// The case board: one entry per case opened, folded from the log as of T.
///
/// Serde stores it whole (a checkpointing runner keeps it beside its
/// position); the case index is rebuilt when it is read back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Stored")]
pub struct CaseBoard {
    /// Events after this (ms) are not counted; `None`: all are.
    as_of_ms: Option<i64>,
    /// The as-of time's nanoseconds within its millisecond: the cut is
    /// exact, as the report's (an event 0.1 ms after the as-of time is
    /// after it), while the board's own times are kept in milliseconds.
    #[serde(default)]
    as_of_sub_ms_ns: u32,
    #[serde(skip)]
    index: FastMap<CaseId, u32>,
    entries: Vec<Entry>,
    /// The waits on the customer of the cases that ever waited, by their
    /// index in `entries`.
    waits: FastMap<u32, Waits>,
    customers: Names<CustomerId>,
    agents: Names<AgentId>,
    teams: Names<TeamId>,
    events: u64,
    orphan_events: u64,
    latest_ms: Option<i64>,
    /// The latest event's nanoseconds within its millisecond: the board's
    /// T without an as-of time is that event's time exactly, as the
    /// report's (`cases --as-of` given it answers the same).
    #[serde(default)]
    latest_sub_ms_ns: u32,
    last_position: u64,
}

/// [`CaseBoard`]'s serde form, before its index is rebuilt.
#[derive(Deserialize)]
struct Stored {
    as_of_ms: Option<i64>,
    /// Absent in a board saved before it was kept: 0.
    #[serde(default)]
    as_of_sub_ms_ns: u32,
    entries: Vec<Entry>,
    waits: FastMap<u32, Waits>,
    customers: Names<CustomerId>,
    agents: Names<AgentId>,
    teams: Names<TeamId>,
    events: u64,
    orphan_events: u64,
    latest_ms: Option<i64>,
    /// Absent in a board saved before it was kept: 0.
    #[serde(default)]
    latest_sub_ms_ns: u32,
    last_position: u64,
}

impl TryFrom<Stored> for CaseBoard {
    type Error = String;

    fn try_from(s: Stored) -> Result<CaseBoard, String> {
        let mut index = FastMap::default();
        index.reserve(s.entries.len());
        for (i, e) in s.entries.iter().enumerate() {
            let n = u32::try_from(i).map_err(|_| "more than 2^32 cases".to_owned())?;
            if index.insert(e.case_id, n).is_some() {
                return Err(format!("case {} appears twice", e.case_id));
            }
        }
        let in_range = |n: OptNum, len: usize| n.get().is_none_or(|n| (n as usize) < len);
        for e in &s.entries {
            if s.customers.name(e.customer).is_none()
                || !in_range(e.agent, s.agents.len())
                || !in_range(e.team, s.teams.len())
            {
                return Err(format!(
                    "case {} names an unknown customer, agent or team",
                    e.case_id
                ));
            }
        }
        if let Some(n) = s.waits.keys().find(|n| **n as usize >= s.entries.len()) {
            return Err(format!("waits of case number {n}, beyond the cases"));
        }
        if s.as_of_sub_ms_ns >= 1_000_000 || s.latest_sub_ms_ns >= 1_000_000 {
            return Err(format!(
                "as_of_sub_ms_ns {} or latest_sub_ms_ns {} is not within a millisecond",
                s.as_of_sub_ms_ns, s.latest_sub_ms_ns
            ));
        }
        Ok(CaseBoard {
            as_of_ms: s.as_of_ms,
            as_of_sub_ms_ns: s.as_of_sub_ms_ns,
            index,
            entries: s.entries,
            waits: s.waits,
            customers: s.customers,
            agents: s.agents,
            teams: s.teams,
            events: s.events,
            orphan_events: s.orphan_events,
            latest_ms: s.latest_ms,
            latest_sub_ms_ns: s.latest_sub_ms_ns,
            last_position: s.last_position,
        })
    }
}

impl CaseBoard {
    /// An empty board that will count the events with `at` ≤ `as_of` (all
    /// events when `None`), as the report's [`KpiAccumulator`] does.
    ///
    /// [`KpiAccumulator`]: crate::kpi::KpiAccumulator
    pub fn new(as_of: Option<DateTime<Utc>>) -> CaseBoard {
        CaseBoard {
            as_of_ms: as_of.map(ms),
            as_of_sub_ms_ns: as_of.map_or(0, sub_ms_ns),
            ..CaseBoard::default()
        }
    }

    /// The board's T: its as-of time, else the latest event's time (`None`
    /// before any event).
    pub fn as_of(&self) -> Option<DateTime<Utc>> {
        self.exact_as_of().or_else(|| self.exact_latest())
    }

    /// The latest event's time counted, to the nanosecond.
    pub(crate) fn exact_latest(&self) -> Option<DateTime<Utc>> {
        let t = instant(self.latest_ms?)?;
        Some(t + chrono::Duration::nanoseconds(i64::from(self.latest_sub_ms_ns)))
    }

    /// The as-of time given to [`new`](Self::new), to the nanosecond.
    pub(crate) fn exact_as_of(&self) -> Option<DateTime<Utc>> {
        let t = instant(self.as_of_ms?)?;
        Some(t + chrono::Duration::nanoseconds(i64::from(self.as_of_sub_ms_ns)))
    }

    /// How many cases it holds (opened at or before the as-of time).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no case.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many events were counted (at or before the as-of time).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// How many counted events belong to a case never seen opened (on no
    /// row), as the report's `orphan_events`.
    pub fn orphan_events(&self) -> u64 {
        self.orphan_events
    }

    /// The position of the last event observed (0 before any): where a
    /// runner resumes.
    pub fn last_position(&self) -> u64 {
        self.last_position
    }

    /// Merges the board of a disjoint set of cases (a replay split by case
    /// partition). Both must have the same as-of time, else it is refused
    /// and `self` is left unchanged. A case present in both keeps this
    /// board's entry.
    pub fn merge(&mut self, other: CaseBoard) -> Result<(), AsOfMismatch> {
        if (self.as_of_ms, self.as_of_sub_ms_ns) != (other.as_of_ms, other.as_of_sub_ms_ns) {
            return Err(AsOfMismatch {
                left: self.exact_as_of(),
                right: other.exact_as_of(),
            });
        }
        self.events += other.events;
        self.orphan_events += other.orphan_events;
        let latest = |b: &CaseBoard| b.latest_ms.map(|t| (t, b.latest_sub_ms_ns));
        if let Some((t, ns)) = latest(self).max(latest(&other)) {
            self.latest_ms = Some(t);
            self.latest_sub_ms_ns = ns;
        }
        self.last_position = self.last_position.max(other.last_position);
        let customers = self.customers.absorb(&other.customers);
        let agents = self.agents.absorb(&other.agents);
        let teams = self.teams.absorb(&other.teams);
        // Every number of `other` indexes its own tables, so the lookups hit.
        let renumber = |map: &[u32], n: u32| map.get(n as usize).copied().unwrap_or(n);
        self.entries.reserve(other.entries.len());
        self.index.reserve(other.entries.len());
        let mut other_waits = other.waits;
        for (old, mut entry) in other.entries.into_iter().enumerate() {
            if self.index.contains_key(&entry.case_id) {
                continue;
            }
            // Fewer than 2^32 cases (numbered in u32 as they are observed).
            let number = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
            let old = u32::try_from(old).unwrap_or(u32::MAX);
            if let Some(w) = other_waits.remove(&old) {
                self.waits.insert(number, w);
            }
            entry.customer = renumber(&customers, entry.customer);
            entry.agent = entry.agent.map(|a| renumber(&agents, a));
            entry.team = entry.team.map(|t| renumber(&teams, t));
            self.index.insert(entry.case_id, number);
            self.entries.push(entry);
        }
        Ok(())
    }
}

impl Projection for CaseBoard {
    /// Folds one event. Events after the as-of time are ignored; an event
    /// of a case never seen opened is counted in
    /// [`orphan_events`](CaseBoard::orphan_events).
    fn observe(&mut self, position: u64, event: &Event) {
        self.last_position = self.last_position.max(position);
        let at_ms = ms(event.at);
        if self
            .as_of_ms
            .is_some_and(|t| (at_ms, sub_ms_ns(event.at)) > (t, self.as_of_sub_ms_ns))
        {
            return;
        }
        self.events += 1;
        let at = (at_ms, sub_ms_ns(event.at));
        if self
            .latest_ms
            .is_none_or(|l| at > (l, self.latest_sub_ms_ns))
        {
            (self.latest_ms, self.latest_sub_ms_ns) = (Some(at.0), at.1);
        }
        if let EventData::Opened(o) = &event.data {
            if self.index.contains_key(&event.case_id) {
                return;
            }
            // Fewer than 2^32 cases: one per event at most, and a board of
            // four billion cases would not fit memory.
            let number = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
            self.index.insert(event.case_id, number);
            let customer = self.customers.number(&o.customer_id);
            self.entries.push(Entry {
                case_id: event.case_id,
                opened_ms: at_ms,
                last_event_ms: at_ms,
                first_response_ms: OptMs::NONE,
                latest_resolution_ms: OptMs::NONE,
                follow_up_due_ms: OptMs::NONE,
                customer,
                agent: OptNum::NONE,
                team: OptNum::NONE,
                class: None,
                channel: o.channel,
                tier: o.tier,
                status: Status::Open,
                escalation_level: 0,
                escalated_since_open: false,
                reopened: false,
                extensions: Vec::new(),
            });
        } else if let Some(&n) = self.index.get(&event.case_id)
            && let Some(entry) = self.entries.get_mut(n as usize)
        {
            entry.observe(event, &mut self.agents, &mut self.teams);
            if Waits::concerns(event) {
                if matches!(event.data, EventData::AwaitingCustomer(_)) {
                    self.waits.entry(n).or_default().observe(event);
                } else if let Some(w) = self.waits.get_mut(&n) {
                    w.observe(event);
                }
            }
        } else {
            self.orphan_events += 1;
        }
    }
}

/// The instant of `t_ms` milliseconds since the epoch, if chrono can hold
/// it.
/// A time's nanoseconds within its millisecond ([`ms`] keeps the rest).
fn sub_ms_ns(t: DateTime<Utc>) -> u32 {
    t.timestamp_subsec_nanos() % 1_000_000
}

/// The instant of `t_ms`, if it is a storable one (years 1 to 9999): a
/// deadline computed past the year 9999 (a case opened at its very end) is
/// none, as a complaint's is, rather than a time no RFC 3339 reader takes.
fn instant(t_ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t_ms).filter(|t| crate::time::check_timestamp(t).is_ok())
}
