//! What one case contributes to the figures: its facts as of T, kept small
//! (names interned as numbers, counts rather than lists where counts
//! suffice), and the group it falls in.

use std::collections::HashMap;
use std::hash::Hash;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::dense::{ByteKeys, Dense, MAX_NUMBER};
use super::report::GroupBy;
use crate::complaint::Extension;
use crate::event::{Classified, Event, EventData};
use crate::ids::{AgentId, TeamId};
use crate::status::Status;
use crate::vocab::{
    Category, Channel, FollowUpOutcome, FollowUpPurpose, Origin, Priority, RootCause, Tier, Topic,
};

/// A score at or above this counts as satisfied.
pub const SATISFIED_SCORE: u8 = 4;

/// A hash map keyed by ids that come from input, with the crate's keyed
/// hasher ([`KeyedState`](crate::ids::KeyedState)).
pub(crate) type FastMap<K, V> = HashMap<K, V, crate::ids::KeyedState>;

/// Interned names (customers, agents, teams): each distinct id is stored
/// once and cases refer to it by number, which keeps a case's facts small
/// and free of allocations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Names<T: Hash + Eq> {
    numbers: FastMap<T, u32>,
    names: Vec<T>,
}

impl<T: Hash + Eq> Default for Names<T> {
    fn default() -> Self {
        Names {
            numbers: FastMap::default(),
            names: Vec::new(),
        }
    }
}

impl<T: Hash + Eq + Clone> Names<T> {
    /// The number of `name`, interning it if new.
    pub(crate) fn number(&mut self, name: &T) -> u32 {
        if let Some(&n) = self.numbers.get(name) {
            return n;
        }
        // More than four billion distinct customers, agents or teams is
        // beyond any bank; saturating keeps this total regardless (below
        // `u32::MAX`, which is `OptNum`'s none).
        let n = u32::try_from(self.names.len())
            .unwrap_or(MAX_NUMBER)
            .min(MAX_NUMBER);
        self.names.push(name.clone());
        self.numbers.insert(name.clone(), n);
        n
    }

    /// The number of `name`, if interned.
    pub(crate) fn find(&self, name: &T) -> Option<u32> {
        self.numbers.get(name).copied()
    }

    /// How many names are interned.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn name(&self, n: u32) -> Option<&T> {
        self.names.get(n as usize)
    }

    /// For each number of `other`, the number of the same name here.
    pub(crate) fn absorb(&mut self, other: &Names<T>) -> Vec<u32> {
        other.names.iter().map(|n| self.number(n)).collect()
    }
}

/// Interned ids that are only compared, never named back (the KPI
/// accumulator's customers, where a report groups cases by customer but
/// never prints one): each id's bytes once, end to end, and a table of
/// numbers ([`Dense`]). A map of ids to numbers took about 44 bytes a
/// customer (a 24-byte key in every slot, and the free slots); this takes
/// the id's bytes and about 16 more (docs/performance.md, "Dense indexes").
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Numbers {
    ids: Dense<ByteKeys>,
}

impl Numbers {
    /// The number of `id`, interning it if new: numbers are given 0, 1, ...
    /// in the order ids are first seen, as [`Names::number`] gives them.
    pub(crate) fn number(&mut self, id: &str) -> u32 {
        self.ids.number(id.as_bytes())
    }

    /// The number of `id`, if interned.
    pub(crate) fn find(&self, id: &str) -> Option<u32> {
        self.ids.find(id.as_bytes())
    }

    /// Takes in `other`'s ids, new ones numbered in `other`'s order (so
    /// that a merge numbers alike whatever the tables' seeds); returns, for
    /// each number of `other`, the number of the same id here.
    pub(crate) fn absorb(&mut self, other: Numbers) -> Vec<u32> {
        self.ids.absorb(&other.ids)
    }
}

/// Names serialise as their list, in number order; the numbers are
/// rebuilt when read back.
impl<T: Hash + Eq + Serialize> Serialize for Names<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names.serialize(s)
    }
}

impl<'de, T: Hash + Eq + Clone + Deserialize<'de>> Deserialize<'de> for Names<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<T>::deserialize(d)?;
        let mut names = Names::default();
        for (i, name) in list.iter().enumerate() {
            if names.number(name) as usize != i {
                return Err(serde::de::Error::custom(format!(
                    "name {i} of the list appears twice"
                )));
            }
        }
        Ok(names)
    }
}

/// Pushes `x` onto one case's list, growing it by half rather than
/// doubling, from one element rather than `Vec`'s four: most cases hold
/// one or two follow-ups, teams or waits, and there are a million cases,
/// so the spare capacity `push` would leave is most of their memory.
/// Amortised O(1) all the same.
pub(crate) fn push_small<T>(list: &mut Vec<T>, x: T) {
    if list.len() == list.capacity() {
        list.reserve_exact(list.len() / 2 + 1);
    }
    list.push(x);
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// An interned name's number, or none, in 4 bytes (an `Option<u32>` takes
/// 8): `u32::MAX`, a number [`Names`] never gives, stands for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct OptNum(u32);

impl OptNum {
    /// No name.
    pub(crate) const NONE: OptNum = OptNum(u32::MAX);

    /// The name numbered `n` (at most [`MAX_NUMBER`], as [`Names`] gives).
    pub(crate) fn some(n: u32) -> OptNum {
        OptNum(n.min(MAX_NUMBER))
    }

    /// The number, if any.
    pub(crate) fn get(self) -> Option<u32> {
        (self.0 != u32::MAX).then_some(self.0)
    }

    /// The number renumbered by `f`, if any.
    pub(crate) fn map(self, f: impl FnOnce(u32) -> u32) -> OptNum {
        self.get().map_or(OptNum::NONE, |n| OptNum::some(f(n)))
    }
}

/// A time in milliseconds since the epoch, or none, in 8 bytes (an
/// `Option<i64>` takes 16): `i64::MIN` stands for none, a value no event's
/// time can have (chrono's range ends about 262,000 years from the epoch,
/// some 8e15 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct OptMs(i64);

/// No time.
impl Default for OptMs {
    fn default() -> Self {
        OptMs::NONE
    }
}

impl OptMs {
    /// No time.
    pub(crate) const NONE: OptMs = OptMs(i64::MIN);

    /// The time `ms`.
    pub(crate) fn some(ms: i64) -> OptMs {
        OptMs(ms)
    }

    /// The time, if any.
    pub(crate) fn get(self) -> Option<i64> {
        (self.0 != i64::MIN).then_some(self.0)
    }
}

/// A follow-up as the report needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FollowUpFact {
    pub(crate) at_ms: i64,
    pub(crate) position: u64,
    pub(crate) due: DateTime<Utc>,
    pub(crate) purpose: FollowUpPurpose,
    /// What its completion found (none while pending).
    pub(crate) outcome: Option<FollowUpOutcome>,
}

/// A case's follow-up loop (docs/kpis.md, "Follow-ups"): boxed in its facts
/// ([`CaseFacts::follow_up`]) and made by its first follow-up event, since
/// few cases are followed up (about 4% of the generated ones) and these 40
/// bytes in every case's facts were a quarter of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FollowUpLoop {
    /// The case's follow-ups, in order.
    pub(crate) list: Vec<FollowUpFact>,
    /// The due time of the follow-up pending, if any.
    pub(crate) pending_due_ms: OptMs,
    /// Follow-ups completed, and how many of them by their due time.
    pub(crate) completed: u32,
    pub(crate) completed_on_time: u32,
    /// Whether a follow-up of the case ended `not_resolved`.
    pub(crate) not_resolved_seen: bool,
    /// A `not_resolved` outcome on the resolved case waits for its reopen.
    pub(crate) awaiting_reopen: bool,
    /// Whether `closed` came while a follow-up was pending.
    pub(crate) closed_with_pending: bool,
}

impl Default for FollowUpLoop {
    fn default() -> Self {
        FollowUpLoop {
            list: Vec::new(),
            pending_due_ms: OptMs::NONE,
            completed: 0,
            completed_on_time: 0,
            not_resolved_seen: false,
            awaiting_reopen: false,
            closed_with_pending: false,
        }
    }
}

/// The rarer facts of a case: what a complaint's figures need (when it
/// became one, its resolutions), and, boxed again in [`Rarer`], the
/// rarest. Boxed, only for the cases classified a complaint or with one
/// of the rarest facts, so that a case's facts stay small; and small
/// itself (40 bytes), since a complaint (about one case in seven) needs
/// nothing more, where one box of every rare fact took 128.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Trail {
    /// When the case was first classified a complaint.
    pub(crate) complaint_since_ms: OptMs,
    /// Each resolution recorded while the case was a complaint: how many of
    /// its teams ([`CaseFacts::teams`]) it had been assigned to by then,
    /// and its root cause.
    pub(crate) complaint_resolutions: Vec<(u32, Option<RootCause>)>,
    /// The rarest facts, from the first of them on (read through
    /// [`rarer`](Self::rarer) and [`rarer_mut`](Self::rarer_mut)).
    pub(crate) rarer: Option<Box<Rarer>>,
}

/// How many later teams [`Rarer::teams`] holds before it gets a set: a
/// search of a short list is as fast as a hash, and costs no memory.
const TEAM_SEARCH_LIMIT: usize = 16;

impl Rarer {
    /// Appends `team`, first assigned at `at_ms`, unless it is listed
    /// already: with its set once the list is long, so that a case routed
    /// to k teams costs O(k), not O(k^2).
    pub(crate) fn add_team(&mut self, team: u32, at_ms: i64) {
        let listed = match &self.team_set {
            Some(set) => set.contains(&team),
            None => self.teams.iter().any(|(t, _)| *t == team),
        };
        if listed {
            return;
        }
        push_small(&mut self.teams, (team, at_ms));
        match &mut self.team_set {
            Some(set) => {
                set.insert(team);
            }
            None if self.teams.len() > TEAM_SEARCH_LIMIT => self.index_teams(),
            None => {}
        }
    }

    /// Rebuilds the team set from the list (after the teams were
    /// renumbered), if the list is long enough to have one.
    pub(crate) fn index_teams(&mut self) {
        self.team_set = (self.teams.len() > TEAM_SEARCH_LIMIT)
            .then(|| Box::new(self.teams.iter().map(|(t, _)| *t).collect()));
    }
}

impl Trail {
    /// The rarest facts, if the case has any.
    pub(crate) fn rarer(&self) -> Option<&Rarer> {
        self.rarer.as_deref()
    }

    /// The rarest facts, made empty if the case had none yet.
    pub(crate) fn rarer_mut(&mut self) -> &mut Rarer {
        self.rarer.get_or_insert_default()
    }
}

/// The rarest facts of a case: what process policy's findings and
/// `complaints.time_to_handler` need of its routing beyond its first team
/// (docs/kpis.md), its quality reviews, its unreopened `not_resolved`
/// outcomes, its survey dimension scores and its deadline extensions.
/// Only for the cases ever assigned to a second team, reviewed, left
/// unreopened, surveyed with a dimension score or given more time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Rarer {
    /// Each team the case was assigned to after its first one
    /// ([`CaseFacts::first_team`]; interned in the accumulator's `teams`),
    /// with the time of its first assignment, in that order.
    pub(crate) teams: Vec<(u32, i64)>,
    /// The teams of [`teams`](Self::teams) as a set, once there are more
    /// than [`TEAM_SEARCH_LIMIT`] (see [`Rarer::add_team`]); `None` below.
    #[expect(
        clippy::box_collection,
        reason = "8 bytes in every case's rarer facts, where an unboxed set would take 32 or more for the few cases that need one"
    )]
    pub(crate) team_set: Option<Box<std::collections::HashSet<u32, crate::ids::KeyedState>>>,
    /// `not_resolved` outcomes whose case was not reopened after them
    /// (closed, or followed up again, first); `awaiting_reopen` adds one.
    pub(crate) unreopened: u32,
    /// `qa_reviewed` events, and the sum of their scores.
    pub(crate) qa_reviews: u32,
    pub(crate) qa_score_sum: u32,
    /// Per survey dimension (in the order of [`SurveyDimension::ALL`]),
    /// how many surveys scored it and the sum of their scores.
    pub(crate) survey_dimensions: [(u32, u32); SurveyDimension::ALL.len()],
    /// The `deadline_extended` events, in order.
    pub(crate) extensions: Vec<Extension>,
}

/// The dimensions a survey may score besides its overall score (issue
/// 20), in the order of the report's `csat` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SurveyDimension {
    Speed,
    ProblemSolving,
    Attitude,
}

impl SurveyDimension {
    pub(crate) const ALL: [SurveyDimension; 3] = [
        SurveyDimension::Speed,
        SurveyDimension::ProblemSolving,
        SurveyDimension::Attitude,
    ];

    /// This dimension's score in a survey, if it gave one.
    pub(crate) fn of(self, s: &crate::event::Surveyed) -> Option<crate::vocab::Score> {
        match self {
            SurveyDimension::Speed => s.speed,
            SurveyDimension::ProblemSolving => s.problem_solving,
            SurveyDimension::Attitude => s.attitude,
        }
    }
}

/// A case's waits on the customer as of T: kept beside its facts, in a map
/// of the few cases that ever waited, so that the facts of every other case
/// stay as small as they were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Waits {
    /// The waits that ended, `[start, end)`, in order.
    pub(crate) ended_ms: Vec<(i64, i64)>,
    /// The start of the wait still running.
    pub(crate) since_ms: OptMs,
}

impl Default for Waits {
    fn default() -> Self {
        Waits {
            ended_ms: Vec::new(),
            since_ms: OptMs::NONE,
        }
    }
}

impl Waits {
    /// Folds one event of the case: `awaiting_customer` starts a wait;
    /// `customer_replied`, `resolved`, `reopened` and `closed` end it
    /// (docs/events.md, rule 8). Other events change nothing.
    pub(crate) fn observe(&mut self, event: &Event) {
        let at_ms = ms(event.at);
        match event.data {
            EventData::AwaitingCustomer(_) if self.since_ms.get().is_none() => {
                self.since_ms = OptMs::some(at_ms);
            }
            EventData::CustomerReplied
            | EventData::Resolved(_)
            | EventData::Reopened(_)
            | EventData::Closed => {
                if let Some(since) = self.since_ms.get() {
                    push_small(&mut self.ended_ms, (since, at_ms));
                    self.since_ms = OptMs::NONE;
                }
            }
            _ => {}
        }
    }

    /// Whether `event` may change a case's waits (so that the map is looked
    /// up only for those).
    pub(crate) fn concerns(event: &Event) -> bool {
        matches!(
            event.data,
            EventData::AwaitingCustomer(_)
                | EventData::CustomerReplied
                | EventData::Resolved(_)
                | EventData::Reopened(_)
                | EventData::Closed
        )
    }
}

/// Everything the report needs to know about one case, as of T.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseFacts {
    /// Interned in the accumulator's `customers`.
    pub(crate) customer: u32,
    pub(crate) channel: Channel,
    pub(crate) tier: Tier,
    pub(crate) opened_ms: i64,
    pub(crate) status: Status,
    pub(crate) classification: Option<Classified>,
    /// Interned in the accumulator's `agents`.
    pub(crate) agent: OptNum,
    /// Interned in the accumulator's `teams`.
    pub(crate) team: OptNum,
    /// The agent assigned when the case was last resolved (none before a
    /// resolution, or when no one was assigned then).
    pub(crate) resolved_agent: OptNum,
    /// The first agent assigned, and whether another one ever was.
    pub(crate) first_agent: OptNum,
    pub(crate) transferred: bool,
    pub(crate) first_response_ms: OptMs,
    /// Responses before the first resolution, saturating at 255: FCR only
    /// asks whether there was more than one (a byte, so that the facts stay
    /// small).
    pub(crate) responses_before_first_resolution: u8,
    pub(crate) latest_resolved_ms: OptMs,
    pub(crate) escalated: bool,
    pub(crate) reopened: bool,
    /// Surveys answered, the sum of their scores, and how many were
    /// satisfied (counts suffice for every figure, and need no allocation).
    pub(crate) surveys: u32,
    pub(crate) survey_score_sum: u32,
    pub(crate) surveys_satisfied: u32,
    /// Its follow-up loop, from its first follow-up event on (see
    /// [`FollowUpLoop`]).
    pub(crate) follow_up: Option<Box<FollowUpLoop>>,
    pub(crate) origin: Origin,
    /// The root cause of the latest resolution, if it named one.
    pub(crate) root_cause: Option<RootCause>,
    /// The first team the case was assigned to (interned in the
    /// accumulator's `teams`), when [`first_team_ms`](Self::first_team_ms)
    /// is some: kept here rather than in the [`Trail`], because nearly
    /// every case is assigned to a team, and a trail for each would cost
    /// more than its facts.
    pub(crate) first_team: u32,
    /// When the case was first assigned to a team (none: never).
    pub(crate) first_team_ms: OptMs,
    /// The rarer facts, boxed (see [`Trail`]).
    pub(crate) trail: Option<Box<Trail>>,
}

impl CaseFacts {
    /// The facts of a case just opened: nothing but its opening known yet.
    pub(crate) fn opened(
        customer: u32,
        channel: Channel,
        tier: Tier,
        origin: Origin,
        opened_ms: i64,
    ) -> CaseFacts {
        CaseFacts {
            customer,
            channel,
            tier,
            opened_ms,
            status: Status::Open,
            classification: None,
            agent: OptNum::NONE,
            team: OptNum::NONE,
            resolved_agent: OptNum::NONE,
            first_agent: OptNum::NONE,
            transferred: false,
            first_response_ms: OptMs::NONE,
            responses_before_first_resolution: 0,
            latest_resolved_ms: OptMs::NONE,
            escalated: false,
            reopened: false,
            surveys: 0,
            survey_score_sum: 0,
            surveys_satisfied: 0,
            follow_up: None,
            origin,
            root_cause: None,
            first_team: 0,
            first_team_ms: OptMs::NONE,
            trail: None,
        }
    }

    pub(crate) fn observe(
        &mut self,
        position: u64,
        event: &Event,
        agents: &mut Names<AgentId>,
        teams: &mut Names<TeamId>,
    ) {
        let at_ms = ms(event.at);
        match &event.data {
            EventData::Opened(_) => {}
            EventData::Classified(c) => {
                self.classification = Some(*c);
                if c.category == Category::Complaint {
                    let trail = self.trail.get_or_insert_default();
                    if trail.complaint_since_ms.get().is_none() {
                        trail.complaint_since_ms = OptMs::some(at_ms);
                    }
                }
            }
            EventData::Assigned(a) => {
                let agent = agents.number(&a.agent);
                match self.first_agent.get() {
                    None => self.first_agent = OptNum::some(agent),
                    Some(first) if first != agent => self.transferred = true,
                    Some(_) => {}
                }
                self.agent = OptNum::some(agent);
                self.team = a
                    .team
                    .as_ref()
                    .map_or(OptNum::NONE, |t| OptNum::some(teams.number(t)));
                if let Some(team) = self.team.get() {
                    if self.first_team_ms.get().is_none() {
                        self.first_team = team;
                        self.first_team_ms = OptMs::some(at_ms);
                    } else if team != self.first_team {
                        let rarer = self.trail.get_or_insert_default().rarer_mut();
                        rarer.add_team(team, at_ms);
                    }
                }
            }
            // Only an agent's contact is a response (`Event::agent_contact`):
            // a system's acknowledgement must not stop the first-response
            // clock, nor count as a second contact against FCR.
            EventData::Responded if event.agent_contact().is_some() => {
                if self.first_response_ms.get().is_none() {
                    self.first_response_ms = OptMs::some(at_ms);
                }
                if !self.ever_resolved() {
                    self.responses_before_first_resolution =
                        self.responses_before_first_resolution.saturating_add(1);
                }
            }
            EventData::Escalated(_) => self.escalated = true,
            EventData::Resolved(r) => {
                self.status = Status::Resolved;
                self.latest_resolved_ms = OptMs::some(at_ms);
                self.resolved_agent = self.agent;
                self.root_cause = r.root_cause;
                if self
                    .classification
                    .is_some_and(|c| c.category == Category::Complaint)
                {
                    // Fewer than 2^32 teams per case.
                    let routed_to = u32::try_from(self.team_count()).unwrap_or(u32::MAX);
                    let trail = self.trail.get_or_insert_default();
                    push_small(&mut trail.complaint_resolutions, (routed_to, r.root_cause));
                }
            }
            EventData::Reopened(_) => {
                self.status = Status::Open;
                self.reopened = true;
                if let Some(fu) = &mut self.follow_up {
                    fu.awaiting_reopen = false;
                }
            }
            EventData::FollowUpScheduled(f) => {
                let fu = self.follow_up.get_or_insert_default();
                // Followed up again before any reopen: the `not_resolved`
                // outcome awaiting one is a finding (docs/kpis.md).
                if fu.awaiting_reopen {
                    self.trail.get_or_insert_default().rarer_mut().unreopened += 1;
                    fu.awaiting_reopen = false;
                }
                push_small(
                    &mut fu.list,
                    FollowUpFact {
                        at_ms,
                        position,
                        due: f.due,
                        purpose: f.purpose,
                        outcome: None,
                    },
                );
                fu.pending_due_ms = OptMs::some(ms(f.due));
            }
            EventData::FollowUpCompleted(c) => {
                let fu = self.follow_up.get_or_insert_default();
                if let Some(last) = fu.list.last_mut() {
                    last.outcome = Some(c.outcome);
                }
                if c.outcome == FollowUpOutcome::NotResolved {
                    fu.not_resolved_seen = true;
                    if self.status == Status::Resolved {
                        if fu.awaiting_reopen {
                            self.trail.get_or_insert_default().rarer_mut().unreopened += 1;
                        }
                        fu.awaiting_reopen = true;
                    }
                }
                fu.completed += 1;
                if fu.pending_due_ms.get().is_some_and(|due| at_ms <= due) {
                    fu.completed_on_time += 1;
                }
                fu.pending_due_ms = OptMs::NONE;
            }
            EventData::Surveyed(s) => {
                let score = s.score.get();
                self.surveys += 1;
                self.survey_score_sum += u32::from(score);
                self.surveys_satisfied += u32::from(score >= SATISFIED_SCORE);
                if SurveyDimension::ALL.iter().any(|d| d.of(s).is_some()) {
                    let rarer = self.trail.get_or_insert_default().rarer_mut();
                    for (d, (count, sum)) in SurveyDimension::ALL
                        .iter()
                        .zip(&mut rarer.survey_dimensions)
                    {
                        if let Some(score) = d.of(s) {
                            *count += 1;
                            *sum += u32::from(score.get());
                        }
                    }
                }
            }
            EventData::Closed => {
                self.status = Status::Closed;
                if let Some(fu) = &mut self.follow_up {
                    fu.closed_with_pending |= fu.pending_due_ms.get().is_some();
                    if fu.awaiting_reopen {
                        self.trail.get_or_insert_default().rarer_mut().unreopened += 1;
                    }
                    fu.awaiting_reopen = false;
                }
            }
            // A `responded` by `system` or `customer`: no contact (above).
            EventData::Responded | EventData::AwaitingCustomer(_) | EventData::CustomerReplied => {}
            EventData::QaReviewed(q) => {
                let rarer = self.trail.get_or_insert_default().rarer_mut();
                rarer.qa_reviews += 1;
                rarer.qa_score_sum += u32::from(q.score.get());
            }
            EventData::DeadlineExtended(d) => {
                push_small(
                    &mut self.trail.get_or_insert_default().rarer_mut().extensions,
                    Extension {
                        at: event.at,
                        days: d.days.get(),
                    },
                );
            }
        }
    }

    /// The case's follow-ups, in order.
    pub(crate) fn follow_ups(&self) -> &[FollowUpFact] {
        self.follow_up.as_deref().map_or(&[], |fu| &fu.list)
    }

    /// Each team the case was assigned to, with the time of its first
    /// assignment, in that order.
    pub(crate) fn teams(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        let first = self.first_team_ms.get().map(|at| (self.first_team, at));
        let rest = self
            .trail
            .iter()
            .filter_map(|t| t.rarer())
            .flat_map(|r| r.teams.iter().copied());
        first.into_iter().chain(rest)
    }

    /// How many teams [`teams`](Self::teams) lists, without walking them.
    pub(crate) fn team_count(&self) -> usize {
        let later = self
            .trail
            .as_deref()
            .and_then(Trail::rarer)
            .map_or(0, |r| r.teams.len());
        usize::from(self.first_team_ms.get().is_some()) + later
    }

    /// Whether the case was ever resolved (as of T): every figure asks
    /// only that of its resolutions, and the time of the latest says it,
    /// so the facts keep no count of them.
    pub(crate) fn ever_resolved(&self) -> bool {
        self.latest_resolved_ms.get().is_some()
    }

    pub(crate) fn resolved(&self) -> bool {
        matches!(self.status, Status::Resolved | Status::Closed)
    }

    /// The agent a case counts for in per-agent figures (docs/kpis.md,
    /// "Who handled a case"): the one assigned when it was last resolved,
    /// for a case resolved at T; else its latest assignee at T.
    pub(super) fn attributed_agent(&self) -> OptNum {
        if self.resolved() && self.ever_resolved() {
            self.resolved_agent
        } else {
            self.agent
        }
    }

    /// The group of this case under `by`, as a number ([`group_name`]
    /// turns it into the report's key); periods are those of the local
    /// date of `opened` in `zone` (UTC when `None`), by [`period_number`].
    /// `responder` does not group cases: every case is in its group 0.
    pub(crate) fn group_number(&self, by: GroupBy, zone: Option<Tz>) -> i64 {
        let class = |f: fn(&Classified) -> u8| self.classification.map_or(-1, |c| i64::from(f(&c)));
        let period = |by| {
            Utc.timestamp_millis_opt(self.opened_ms)
                .single()
                .map_or(i64::MIN, |t| {
                    let date = match zone {
                        None => t.date_naive(),
                        Some(z) => t.with_timezone(&z).date_naive(),
                    };
                    period_number(by, date).unwrap_or(i64::MIN)
                })
        };
        match by {
            GroupBy::Channel => i64::from(self.channel.code()),
            GroupBy::Category => class(|c| c.category.code()),
            GroupBy::Topic => class(|c| c.topic.code()),
            GroupBy::Priority => class(|c| c.priority.code()),
            GroupBy::Tier => i64::from(self.tier.code()),
            GroupBy::Agent => self.attributed_agent().get().map_or(-1, i64::from),
            GroupBy::Team => self.team.get().map_or(-1, i64::from),
            GroupBy::Week
            | GroupBy::Month
            | GroupBy::Quarter
            | GroupBy::HalfYear
            | GroupBy::Year => period(by),
            GroupBy::RootCause => self.root_cause.map_or(-1, |c| i64::from(c.code())),
            GroupBy::Responder => 0,
        }
    }
}

/// The period a local date falls in under a period grouping, as a number
/// that sorts as the periods do: the one bucketing of dates into weeks
/// (ISO 8601), months, quarters, half years and years, which
/// [`period_key`] names. `None` for a grouping that is not a period.
pub(super) fn period_number(by: GroupBy, date: NaiveDate) -> Option<i64> {
    let year = i64::from(date.year());
    let month0 = i64::from(date.month0());
    match by {
        GroupBy::Week => {
            let w = date.iso_week();
            // 53 slots a year: ISO weeks run from 1 to at most 53.
            Some(i64::from(w.year()) * 53 + i64::from(w.week0()))
        }
        GroupBy::Month => Some(year * 12 + month0),
        GroupBy::Quarter => Some(year * 4 + month0 / 3),
        GroupBy::HalfYear => Some(year * 2 + month0 / 6),
        GroupBy::Year => Some(year),
        GroupBy::Channel
        | GroupBy::Category
        | GroupBy::Topic
        | GroupBy::Priority
        | GroupBy::Tier
        | GroupBy::Agent
        | GroupBy::Team
        | GroupBy::RootCause
        | GroupBy::Responder => None,
    }
}

/// The key of period number `n` ([`period_number`]): `2026-W09`,
/// `2026-03`, `2026-Q1`, `2026-H1`, `2026`. `None` for a grouping that is
/// not a period.
pub(super) fn period_key(by: GroupBy, n: i64) -> Option<String> {
    match by {
        GroupBy::Week => Some(format!(
            "{:04}-W{:02}",
            n.div_euclid(53),
            n.rem_euclid(53) + 1
        )),
        GroupBy::Month => Some(format!(
            "{:04}-{:02}",
            n.div_euclid(12),
            n.rem_euclid(12) + 1
        )),
        GroupBy::Quarter => Some(format!("{:04}-Q{}", n.div_euclid(4), n.rem_euclid(4) + 1)),
        GroupBy::HalfYear => Some(format!("{:04}-H{}", n.div_euclid(2), n.rem_euclid(2) + 1)),
        GroupBy::Year => Some(format!("{n:04}")),
        _ => None,
    }
}

/// The report's key of group number `n` under `by` (see
/// [`CaseFacts::group_number`]).
pub(crate) fn group_name(
    agents: &Names<AgentId>,
    teams: &Names<TeamId>,
    by: GroupBy,
    n: i64,
) -> String {
    let code = |n: i64| u8::try_from(n).ok();
    let class = |name: Option<&'static str>| name.unwrap_or("unclassified").to_owned();
    let interned =
        |name: Option<String>| name.unwrap_or_else(|| crate::ids::UNASSIGNED_KEY.to_owned());
    let number = |n: i64| u32::try_from(n).ok();
    match by {
        GroupBy::Channel => code(n)
            .and_then(Channel::from_code)
            .map_or_else(String::new, |c| c.as_str().to_owned()),
        GroupBy::Tier => code(n)
            .and_then(Tier::from_code)
            .map_or_else(String::new, |t| t.as_str().to_owned()),
        GroupBy::Category => class(code(n).and_then(Category::from_code).map(Category::as_str)),
        GroupBy::Topic => class(code(n).and_then(Topic::from_code).map(Topic::as_str)),
        GroupBy::Priority => class(code(n).and_then(Priority::from_code).map(Priority::as_str)),
        GroupBy::Agent => interned(
            number(n)
                .and_then(|a| agents.name(a))
                .map(ToString::to_string),
        ),
        GroupBy::Team => interned(
            number(n)
                .and_then(|t| teams.name(t))
                .map(ToString::to_string),
        ),
        GroupBy::Week | GroupBy::Month | GroupBy::Quarter | GroupBy::HalfYear | GroupBy::Year => (n
            != i64::MIN)
            .then(|| period_key(by, n))
            .flatten()
            .unwrap_or_default(),
        GroupBy::Responder => String::new(),
        GroupBy::RootCause => code(n)
            .and_then(RootCause::from_code)
            .map_or_else(|| "none".to_owned(), |c| c.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {

    /// A case assigned to k teams, each more than once and in a mixed
    /// order (k past the list's search limit): each team listed once, in
    /// the order of its first assignment, with that assignment's time; the
    /// count of them; and, past the limit, a set of the same teams.
    #[test]
    fn a_case_of_many_teams_lists_each_once_with_its_set() {
        use crate::ids::{AgentId, TeamId};
        for k in [2, TEAM_SEARCH_LIMIT + 1, TEAM_SEARCH_LIMIT + 2, 90] {
            let mut facts =
                CaseFacts::opened(0, Channel::Phone, Tier::Standard, Origin::Customer, 0);
            let (mut agents, mut teams) = (Names::default(), Names::default());
            let mut expected: Vec<(u32, i64)> = Vec::new();
            for i in 0..3 * k {
                let team = (i * 7 + i / k) % k;
                let at_ms = i as i64 * 1000;
                let event: Event = serde_json::from_value(serde_json::json!({
                    "case_id": "00000000-0000-0000-0000-000000000001",
                    "type": "assigned",
                    "at": crate::format_timestamp(&DateTime::from_timestamp_millis(at_ms).unwrap()),
                    "actor": "lead-1",
                    "event_id": format!("00000000-0000-0000-0001-{i:012}"),
                    "data": {"agent": "agent-1", "team": format!("team-{team}")},
                }))
                .unwrap();
                facts.observe(i as u64, &event, &mut agents, &mut teams);
                let number = teams.number(&TeamId::new(format!("team-{team}")).unwrap());
                if !expected.iter().any(|(t, _)| *t == number) {
                    expected.push((number, at_ms));
                }
            }
            let _ = agents.number(&AgentId::new("agent-1").unwrap());
            assert_eq!(facts.teams().collect::<Vec<_>>(), expected, "{k}");
            assert_eq!(facts.team_count(), k, "{k}");
            let rarer = facts.trail.as_ref().and_then(|t| t.rarer()).unwrap();
            match &rarer.team_set {
                Some(set) => {
                    assert!(rarer.teams.len() > TEAM_SEARCH_LIMIT, "{k}");
                    let listed: std::collections::HashSet<u32> =
                        rarer.teams.iter().map(|(t, _)| *t).collect();
                    assert_eq!(
                        set.iter()
                            .copied()
                            .collect::<std::collections::HashSet<u32>>(),
                        listed,
                        "{k}"
                    );
                }
                None => assert!(rarer.teams.len() <= TEAM_SEARCH_LIMIT, "{k}"),
            }
        }
    }
    use super::*;

    /// Issue 16: a case's facts stay small (they are most of the report's
    /// memory, one per case). 152 bytes before times and numbers became
    /// `OptMs` and `OptNum`; 112 until issue 18 added the complaint's
    /// extensions (a boxed list, 8 bytes); 120 until issue 19 added the
    /// origin, the latest root cause, three flags of the follow-up loop
    /// and the boxed rarer facts (routing, reviews). Issue 20 added two
    /// numbers (the current assignment, the agent at the last resolution)
    /// and made room for them with a byte-sized response count. 144 since
    /// the first team and its time moved in from the boxed trail (which
    /// nearly every case had, at about 150 bytes with its list) and the
    /// extensions moved out to it. 104 since the follow-up loop (its
    /// list, pending due time, counts and three flags: 40 bytes) moved to
    /// a box that only followed-up cases have. 96 since the current
    /// assignment moved to the responder records (which only the report
    /// by responder keeps) and the count of resolutions went (every figure
    /// only asks whether there was one, which the latest one's time says).
    /// The trail, which every complaint has, is 40 bytes since its rarest
    /// facts moved to a box of their own (128 before).
    #[test]
    fn a_case_s_facts_stay_small() {
        assert!(
            std::mem::size_of::<CaseFacts>() <= 96,
            "{} bytes",
            std::mem::size_of::<CaseFacts>()
        );
        assert!(
            std::mem::size_of::<Trail>() <= 40,
            "{} bytes",
            std::mem::size_of::<Trail>()
        );
    }

    #[test]
    fn ids_are_numbered_by_their_bytes_short_or_long() {
        let long = "C-".repeat(64);
        let ids = ["", "C-1", "C-10", &long[..22], &long[..23], &long];
        let mut numbers = Numbers::default();
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(numbers.find(id), None, "{id}");
            assert_eq!(numbers.number(id), n as u32, "{id}");
        }
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(numbers.number(id), n as u32, "{id} again");
            assert_eq!(numbers.find(id), Some(n as u32), "{id}");
        }
        // Another accumulator's ids, some known here, some not.
        let mut other = Numbers::default();
        for id in [&long[..], "C-2", "C-1"] {
            other.number(id);
        }
        let map = numbers.absorb(other);
        assert_eq!(map, [5, 6, 1]);
        assert_eq!(numbers.find("C-2"), Some(6));
        // New ids are numbered in the other's order, whatever the maps'
        // (random) seeds: the same merge numbers alike every time.
        for _ in 0..20 {
            let mut mine = Numbers::default();
            mine.number("x");
            let mut theirs = Numbers::default();
            for c in 0..50 {
                theirs.number(&format!("C-{c}"));
            }
            assert_eq!(mine.absorb(theirs), (1..=50).collect::<Vec<u32>>());
            assert_eq!(mine.find("C-49"), Some(50));
        }
    }

    #[test]
    fn an_optional_time_round_trips() {
        assert_eq!(OptMs::NONE.get(), None);
        for t in [0, -1, 1, i64::MIN + 1, i64::MAX] {
            assert_eq!(OptMs::some(t).get(), Some(t));
        }
        assert_eq!(OptNum::NONE.get(), None);
        for n in [0, 1, MAX_NUMBER] {
            assert_eq!(OptNum::some(n).get(), Some(n));
            assert_eq!(OptNum::some(n).map(|n| n / 2).get(), Some(n / 2));
        }
        assert_eq!(OptNum::some(u32::MAX).get(), Some(MAX_NUMBER));
        assert_eq!(OptNum::NONE.map(|n| n + 1), OptNum::NONE);
    }
}
