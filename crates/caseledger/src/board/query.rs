//! Asking the board: the typed query, the policy, the rows and their
//! order.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{CaseBoard, Entry, instant};
use crate::complaint::{ComplaintPolicy, ComplaintState, DeadlineClock, Extension, Regime};
use crate::ids::{AgentId, CaseId, CustomerId, TeamId};
use crate::kpi::facts::ms;
use crate::kpi::{SlaCase, SlaClock, SlaPart, SlaPolicy, SlaState};
use crate::status::{Phase, Status};
use crate::time::format_timestamp;
use crate::vocab::{Category, Channel, Priority, Tier, Topic};

/// Which rows to answer: every filter given must hold (none: every case),
/// then at most `limit` rows in the board's order. Build it from
/// [`BoardQuery::default`] and set the fields wanted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BoardQuery {
    /// Cases with this status at T.
    pub status: Option<Status>,
    /// Cases whose latest assignment is to this agent.
    pub agent: Option<AgentId>,
    /// Cases whose latest assignment is to this team.
    pub team: Option<TeamId>,
    /// Cases of this customer.
    pub customer: Option<CustomerId>,
    /// Cases whose latest classification has this category.
    pub category: Option<Category>,
    /// Cases whose latest classification has this priority.
    pub priority: Option<Priority>,
    /// Overdue cases: not resolved at T, with an SLA target or the
    /// complaint deadline breached.
    pub overdue: bool,
    /// Cases at risk: the report's `sla.at_risk` (pending, a pending target
    /// at the policy's `warn_at` share of it or beyond).
    pub at_risk: bool,
    /// Cases with an open deadline (an SLA target or the complaint
    /// deadline not yet met nor breached) or a pending follow-up due at or
    /// after T and at most this many milliseconds after it.
    pub due_within_ms: Option<i64>,
    /// At most this many rows (the first in the board's order).
    pub limit: Option<usize>,
}

/// The policy the board judges deadlines by: the report's SLA targets and
/// complaint regimes (the command line's `--sla-policy`,
/// `--complaint-policy` and `--calendar`).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct BoardPolicy {
    /// The SLA targets and their calendar.
    pub sla: SlaPolicy,
    /// The complaint regimes and the calendar their days count in.
    pub complaints: ComplaintPolicy,
}

impl BoardPolicy {
    /// A policy of these SLA targets and complaint regimes.
    pub fn new(sla: SlaPolicy, complaints: ComplaintPolicy) -> BoardPolicy {
        BoardPolicy { sla, complaints }
    }
}

/// An SLA target's state at T, as the board shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BoardSlaState {
    /// Done within the target.
    Met,
    /// Done late, or not done and past the target.
    Breached,
    /// Not done, within the target, and at the policy's `warn_at` share of
    /// it or beyond.
    AtRisk,
    /// Not done, within the target, not at risk.
    Pending,
}

impl BoardSlaState {
    fn of(part: &SlaPart) -> BoardSlaState {
        match part.state {
            SlaState::Met => BoardSlaState::Met,
            SlaState::Breached => BoardSlaState::Breached,
            SlaState::Pending if part.at_risk => BoardSlaState::AtRisk,
            SlaState::Pending => BoardSlaState::Pending,
        }
    }

    /// The wire name: `met`, `breached`, `at_risk` or `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            BoardSlaState::Met => "met",
            BoardSlaState::Breached => "breached",
            BoardSlaState::AtRisk => "at_risk",
            BoardSlaState::Pending => "pending",
        }
    }
}

/// One SLA target of a row: its deadline and its state at T.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SlaColumn {
    /// When it falls due ([`SlaPolicy::deadlines`]); `None` when the
    /// calendar cannot place it.
    #[serde(serialize_with = "opt_ts")]
    pub deadline: Option<DateTime<Utc>>,
    /// Its state at T.
    pub state: BoardSlaState,
}

/// The complaint columns of a row (complaints only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ComplaintColumn {
    /// The regime the complaint policy applies to it.
    pub regime: Regime,
    /// Its deadline after its extensions; `None` when the calendar cannot
    /// place it (never reached).
    #[serde(serialize_with = "opt_ts")]
    pub deadline: Option<DateTime<Utc>>,
    /// Its state at T.
    pub state: ComplaintState,
}

/// One case on the board as of T (docs/kpis.md, "The case board").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BoardRow {
    /// The case.
    pub case_id: CaseId,
    /// Its status at T.
    pub status: Status,
    /// The phase of an open case (`None` unless open).
    pub phase: Option<Phase>,
    /// The customer.
    pub customer_id: CustomerId,
    /// The customer's tier when the case was opened.
    pub tier: Tier,
    /// The intake channel.
    pub channel: Channel,
    /// The latest classification's category (`None`: unclassified).
    pub category: Option<Category>,
    /// The latest classification's topic.
    pub topic: Option<Topic>,
    /// The latest classification's priority.
    pub priority: Option<Priority>,
    /// The latest assignment's agent.
    pub agent: Option<AgentId>,
    /// The latest assignment's team.
    pub team: Option<TeamId>,
    /// When it was opened.
    #[serde(serialize_with = "ts")]
    pub opened: DateTime<Utc>,
    /// Its first response.
    #[serde(serialize_with = "opt_ts")]
    pub first_response: Option<DateTime<Utc>>,
    /// Its latest resolution (also when reopened since).
    #[serde(serialize_with = "opt_ts")]
    pub latest_resolution: Option<DateTime<Utc>>,
    /// The highest escalation level (0: never escalated).
    pub escalation_level: u8,
    /// Whether the bank waits on the customer at T.
    pub awaiting_customer: bool,
    /// The due time of the follow-up pending at T.
    #[serde(serialize_with = "opt_ts")]
    pub follow_up_due: Option<DateTime<Utc>>,
    /// The response target.
    pub sla_response: SlaColumn,
    /// The resolution target.
    pub sla_resolution: SlaColumn,
    /// The complaint deadline, for a complaint (latest category).
    pub complaint: Option<ComplaintColumn>,
    /// The time of its latest event at or before T.
    #[serde(serialize_with = "ts")]
    pub last_event: DateTime<Utc>,
    /// Overdue at T: not resolved, with an SLA target or the complaint
    /// deadline breached (the `overdue` filter).
    pub overdue: bool,
    /// At risk at T, as the report's `sla.at_risk` counts it: no target
    /// breached, a pending target at the policy's `warn_at` share of it or
    /// beyond (the `at_risk` filter).
    pub at_risk: bool,
    /// The nearest open deadline (an SLA target not done, the deadline of
    /// an unresolved complaint; none of a case resolved or closed at T),
    /// the board's sort key; `None` when none is open.
    #[serde(serialize_with = "opt_ts")]
    pub next_deadline: Option<DateTime<Utc>>,
}

fn ts<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_timestamp(t))
}

fn opt_ts<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_timestamp(t)),
        None => s.serialize_none(),
    }
}

/// Why [`CaseBoard::rows_at`] refused a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BoardError {
    /// T is before an event the board counted: that event would count.
    #[error(
        "the board is asked as of {}, before its latest event ({}): make it with that as-of time",
        format_timestamp(t),
        format_timestamp(latest)
    )]
    BeforeLatestEvent {
        /// The moment asked.
        t: DateTime<Utc>,
        /// The latest event counted.
        latest: DateTime<Utc>,
    },
    /// T is after the board's as-of time: the events between were not
    /// counted.
    #[error(
        "the board is asked as of {}, after the as-of time it was made with ({}): the events \
         between were not counted",
        format_timestamp(t),
        format_timestamp(as_of)
    )]
    AfterAsOf {
        /// The moment asked.
        t: DateTime<Utc>,
        /// The board's as-of time.
        as_of: DateTime<Utc>,
    },
}

/// Which of a case's deadlines are open at T, for `next_deadline` and the
/// `due_within` filter alike. Every deadline closes with the case: a case
/// resolved or closed without a response awaits none (its verdict is the
/// SLA rule's, unchanged), or it would head the board forever. Reopened,
/// it is open work that nobody has answered, and its response deadline is
/// open again.
#[derive(Debug, Clone, Copy)]
struct OpenDeadlines {
    response: bool,
    resolution: bool,
    complaint: bool,
}

impl OpenDeadlines {
    fn of(e: &Entry) -> OpenDeadlines {
        let open = !e.resolved();
        OpenDeadlines {
            response: open && e.first_response_ms.get().is_none(),
            resolution: open,
            complaint: open,
        }
    }
}

/// A row judged but not yet built: enough to filter and sort.
#[derive(Debug, Clone, Copy)]
struct Judged {
    number: usize,
    next_ms: Option<i64>,
    /// Which deadlines are open: the one rule of `next_deadline` and of
    /// the `due_within` filter.
    open: OpenDeadlines,
    /// See [`BoardRow::overdue`].
    overdue: bool,
    /// The report's at-risk ([`crate::kpi::SlaVerdict::at_risk`]).
    at_risk: bool,
    response: SlaColumn,
    resolution: SlaColumn,
    complaint: Option<ComplaintColumn>,
}

/// The answer to a query, judged and in the board's order, whose rows are
/// built one at a time as [`iter`](Self::iter) reaches them: a caller that
/// prints them (the `cases` command) never holds every row at once, only a
/// few dozen bytes a matching case. Borrows the board.
#[derive(Clone)]
pub struct BoardSelection<'b> {
    board: &'b CaseBoard,
    /// Each matching case's judgement and customer, in the board's order.
    judged: Vec<(Judged, &'b CustomerId)>,
    /// How many cases matched before the query's limit cut the list.
    matched: usize,
}

impl std::fmt::Debug for BoardSelection<'_> {
    /// The count of rows only: the board behind it is every case.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoardSelection")
            .field("len", &self.judged.len())
            .field("matched", &self.matched)
            .finish_non_exhaustive()
    }
}

impl BoardSelection<'_> {
    /// How many rows [`iter`](Self::iter) gives.
    pub fn len(&self) -> usize {
        self.judged.len()
    }

    /// Whether no row is given (no case matches, or the limit is 0).
    pub fn is_empty(&self) -> bool {
        self.judged.is_empty()
    }

    /// How many cases match the query, before its
    /// [`limit`](BoardQuery::limit) keeps the first ones: equal to
    /// [`len`](Self::len) when no limit cut the list, so a desk told "the
    /// first 20" also learns how many there are.
    pub fn matched(&self) -> usize {
        self.matched
    }

    /// The rows, in the board's order, each built when reached; as often
    /// as wanted (a table measures its columns, then prints).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = BoardRow> + '_ {
        self.judged.iter().map(|(j, c)| self.board.row(j, c))
    }
}

impl CaseBoard {
    /// The rows as of the board's T ([`as_of`](Self::as_of)) matching
    /// `query`, judged by `policy`, in the board's order: the nearest open
    /// deadline first (cases without one last), then by case id. Every
    /// row at once: [`select`](Self::select) builds them one at a time.
    pub fn rows(&self, query: &BoardQuery, policy: &BoardPolicy) -> Vec<BoardRow> {
        self.select(query, policy).iter().collect()
    }

    /// The answer of [`rows`](Self::rows), judged and sorted, with each row
    /// built only when the caller reaches it.
    pub fn select(&self, query: &BoardQuery, policy: &BoardPolicy) -> BoardSelection<'_> {
        let t_ms = self.as_of_ms.or(self.latest_ms).unwrap_or(i64::MIN);
        self.select_at_ms(t_ms, query, policy)
    }

    /// The rows as of `t` (see [`rows`](Self::rows)): a live board, fed
    /// every event so far, asked "now". Refused when `t` is before an event
    /// the board counted, or after the as-of time it was made with.
    pub fn rows_at(
        &self,
        t: DateTime<Utc>,
        query: &BoardQuery,
        policy: &BoardPolicy,
    ) -> Result<Vec<BoardRow>, BoardError> {
        Ok(self.select_at(t, query, policy)?.iter().collect())
    }

    /// The answer of [`rows_at`](Self::rows_at), with each row built only
    /// when the caller reaches it (see [`select`](Self::select)).
    pub fn select_at(
        &self,
        t: DateTime<Utc>,
        query: &BoardQuery,
        policy: &BoardPolicy,
    ) -> Result<BoardSelection<'_>, BoardError> {
        let t_ms = ms(t);
        if let Some(latest) = self.exact_latest().filter(|l| *l > t) {
            return Err(BoardError::BeforeLatestEvent { t, latest });
        }
        if let Some(as_of) = self.exact_as_of().filter(|a| *a < t) {
            return Err(BoardError::AfterAsOf { t, as_of });
        }
        Ok(self.select_at_ms(t_ms, query, policy))
    }

    fn select_at_ms(
        &self,
        t_ms: i64,
        query: &BoardQuery,
        policy: &BoardPolicy,
    ) -> BoardSelection<'_> {
        let none = BoardSelection {
            board: self,
            judged: Vec::new(),
            matched: 0,
        };
        // A name the board never saw matches no case.
        let wanted = |name: Option<Option<u32>>| match name {
            None => Ok(None),
            Some(Some(n)) => Ok(Some(n)),
            Some(None) => Err(()),
        };
        let (Ok(agent), Ok(team), Ok(customer)) = (
            wanted(query.agent.as_ref().map(|a| self.agents.find(a))),
            wanted(query.team.as_ref().map(|t| self.teams.find(t))),
            wanted(query.customer.as_ref().map(|c| self.customers.find(c))),
        ) else {
            return none;
        };
        let mut clock = policy.sla.clock();
        let mut judged: Vec<(Judged, &CustomerId)> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                query.status.is_none_or(|s| e.status == s)
                    && agent.is_none_or(|a| e.agent.get() == Some(a))
                    && team.is_none_or(|t| e.team.get() == Some(t))
                    && customer.is_none_or(|c| e.customer == c)
                    && query
                        .category
                        .is_none_or(|c| e.class.is_some_and(|k| k.0 == c))
                    && query
                        .priority
                        .is_none_or(|p| e.class.is_some_and(|k| k.2 == p))
            })
            .filter_map(|(number, e)| {
                // Every customer number comes from the board's table (and
                // serde checks them when reading a board back), so this
                // skips nothing; it beats a panic on a state nobody can
                // build.
                let customer = self.customers.name(e.customer)?;
                let j = self.judge(number, e, t_ms, policy, &mut clock);
                j.keep(e, t_ms, query).then_some((j, customer))
            })
            .collect();
        judged.sort_unstable_by_key(|(j, _)| {
            (
                j.next_ms.is_none(),
                j.next_ms,
                self.entries[j.number].case_id,
            )
        });
        let matched = judged.len();
        if let Some(limit) = query.limit {
            judged.truncate(limit);
        }
        BoardSelection {
            board: self,
            judged,
            matched,
        }
    }

    /// Judges case `number` (entry `e`) as of `t_ms` by the report's rules.
    fn judge(
        &self,
        number: usize,
        e: &Entry,
        t_ms: i64,
        policy: &BoardPolicy,
        clock: &mut SlaClock,
    ) -> Judged {
        let waits = u32::try_from(number).ok().and_then(|n| self.waits.get(&n));
        let resolved_ms = e.latest_resolution_ms.get().filter(|_| e.resolved());
        let case = SlaCase {
            category: e.class.map(|c| c.0),
            priority: e.class.map(|c| c.2),
            tier: e.tier,
            opened_ms: e.opened_ms,
            first_response_ms: e.first_response_ms.get(),
            resolved_ms,
            waits_ms: waits.map_or(&[], |w| &w.ended_ms),
            waiting_since_ms: waits.and_then(|w| w.since_ms.get()),
        };
        let verdict = policy.sla.verdict(clock, &case, t_ms);
        let deadlines = policy.sla.deadlines(clock, &case, t_ms);
        let response = SlaColumn {
            deadline: deadlines.response_ms.and_then(instant),
            state: BoardSlaState::of(&verdict.response),
        };
        let resolution = SlaColumn {
            deadline: deadlines.resolution_ms.and_then(instant),
            state: BoardSlaState::of(&verdict.resolution),
        };
        let complaint =
            e.class
                .filter(|c| c.0 == Category::Complaint)
                .map(|(_, topic, _)| {
                    let complaints = &policy.complaints;
                    let regime = complaints.regime(Some(topic));
                    let extensions = e.extensions.iter().filter_map(|&(at_ms, days)| {
                        instant(at_ms).map(|at| Extension { at, days })
                    });
                    let opened = instant(e.opened_ms).unwrap_or_default();
                    let (deadline, _) =
                        DeadlineClock::replay(regime, &complaints.calendar, opened, extensions);
                    let deadline_ms = deadline.deadline().ok().map(ms);
                    ComplaintColumn {
                        regime,
                        deadline: deadline_ms.and_then(instant),
                        state: ComplaintState::judge(deadline_ms, resolved_ms, t_ms),
                    }
                });
        let open = OpenDeadlines::of(e);
        let next_ms = [
            deadlines.response_ms.filter(|_| open.response),
            deadlines.resolution_ms.filter(|_| open.resolution),
            complaint
                .and_then(|c| c.deadline.map(ms))
                .filter(|_| open.complaint),
        ]
        .into_iter()
        .flatten()
        .min();
        let breached = |c: &SlaColumn| c.state == BoardSlaState::Breached;
        let overdue = !e.resolved()
            && (breached(&response)
                || breached(&resolution)
                || complaint.is_some_and(|c| c.state == ComplaintState::Overdue));
        Judged {
            number,
            next_ms,
            open,
            overdue,
            at_risk: verdict.at_risk(),
            response,
            resolution,
            complaint,
        }
    }

    /// The row of a judged case.
    fn row(&self, j: &Judged, customer_id: &CustomerId) -> BoardRow {
        let e = &self.entries[j.number];
        let customer_id = customer_id.clone();
        let waiting = u32::try_from(j.number)
            .ok()
            .and_then(|n| self.waits.get(&n))
            .is_some_and(|w| w.since_ms.get().is_some());
        BoardRow {
            case_id: e.case_id,
            status: e.status,
            phase: Phase::of(
                e.status,
                e.escalated_since_open,
                e.reopened,
                e.first_response_ms.get().is_none() && e.agent.get().is_none(),
            ),
            customer_id,
            tier: e.tier,
            channel: e.channel,
            category: e.class.map(|c| c.0),
            topic: e.class.map(|c| c.1),
            priority: e.class.map(|c| c.2),
            agent: e.agent.get().and_then(|a| self.agents.name(a)).cloned(),
            team: e.team.get().and_then(|t| self.teams.name(t)).cloned(),
            opened: instant(e.opened_ms).unwrap_or_default(),
            first_response: e.first_response_ms.get().and_then(instant),
            latest_resolution: e.latest_resolution_ms.get().and_then(instant),
            escalation_level: e.escalation_level,
            awaiting_customer: waiting,
            follow_up_due: e.follow_up_due_ms.get().and_then(instant),
            sla_response: j.response,
            sla_resolution: j.resolution,
            complaint: j.complaint,
            last_event: instant(e.last_event_ms).unwrap_or_default(),
            overdue: j.overdue,
            at_risk: j.at_risk,
            next_deadline: j.next_ms.and_then(instant),
        }
    }
}

impl Judged {
    /// Whether the case passes the query's deadline filters.
    fn keep(&self, e: &Entry, t_ms: i64, query: &BoardQuery) -> bool {
        if query.overdue && !self.overdue {
            return false;
        }
        if query.at_risk && !self.at_risk {
            return false;
        }
        let pending =
            |c: &SlaColumn| matches!(c.state, BoardSlaState::Pending | BoardSlaState::AtRisk);
        if let Some(within_ms) = query.due_within_ms {
            let end_ms = t_ms.saturating_add(within_ms.max(0));
            let due =
                |d: Option<DateTime<Utc>>| d.map(ms).is_some_and(|d| d >= t_ms && d <= end_ms);
            // Only open deadlines, as `next_deadline` has them: a case
            // resolved without a response keeps a pending response target
            // (the SLA rule), but nothing about it is due any more.
            let open = self.open;
            let any = (open.response && pending(&self.response) && due(self.response.deadline))
                || (open.resolution && pending(&self.resolution) && due(self.resolution.deadline))
                || (open.complaint
                    && self
                        .complaint
                        .is_some_and(|c| c.state == ComplaintState::Pending && due(c.deadline)))
                || e.follow_up_due_ms
                    .get()
                    .is_some_and(|d| d >= t_ms && d <= end_ms);
            if !any {
                return false;
            }
        }
        true
    }
}
