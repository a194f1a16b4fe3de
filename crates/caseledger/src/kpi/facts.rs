//! What one case contributes to the figures: its facts as of T, kept small
//! (names interned as numbers, counts rather than lists where counts
//! suffice), and the group it falls in.

use std::collections::HashMap;
use std::hash::Hash;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use chrono_tz::Tz;

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
pub(super) type FastMap<K, V> = HashMap<K, V, crate::ids::KeyedState>;

/// Interned names (customers, agents, teams): each distinct id is stored
/// once and cases refer to it by number, which keeps a case's facts small
/// and free of allocations.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Names<T: Hash + Eq> {
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
    pub(super) fn number(&mut self, name: &T) -> u32 {
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

    pub(super) fn name(&self, n: u32) -> Option<&T> {
        self.names.get(n as usize)
    }

    /// For each number of `other`, the number of the same name here.
    pub(super) fn absorb(&mut self, other: &Names<T>) -> Vec<u32> {
        other.names.iter().map(|n| self.number(n)).collect()
    }
}

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The largest number [`Names`] gives.
const MAX_NUMBER: u32 = u32::MAX - 1;

/// An interned name's number, or none, in 4 bytes (an `Option<u32>` takes
/// 8): `u32::MAX`, a number [`Names`] never gives, stands for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OptNum(u32);

impl OptNum {
    /// No name.
    pub(super) const NONE: OptNum = OptNum(u32::MAX);

    /// The name numbered `n` (at most [`MAX_NUMBER`], as [`Names`] gives).
    pub(super) fn some(n: u32) -> OptNum {
        OptNum(n.min(MAX_NUMBER))
    }

    /// The number, if any.
    pub(super) fn get(self) -> Option<u32> {
        (self.0 != u32::MAX).then_some(self.0)
    }

    /// The number renumbered by `f`, if any.
    pub(super) fn map(self, f: impl FnOnce(u32) -> u32) -> OptNum {
        self.get().map_or(OptNum::NONE, |n| OptNum::some(f(n)))
    }
}

/// A time in milliseconds since the epoch, or none, in 8 bytes (an
/// `Option<i64>` takes 16): `i64::MIN` stands for none, a value no event's
/// time can have (chrono's range ends about 262,000 years from the epoch,
/// some 8e15 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OptMs(i64);

impl OptMs {
    /// No time.
    pub(super) const NONE: OptMs = OptMs(i64::MIN);

    /// The time `ms`.
    pub(super) fn some(ms: i64) -> OptMs {
        OptMs(ms)
    }

    /// The time, if any.
    pub(super) fn get(self) -> Option<i64> {
        (self.0 != i64::MIN).then_some(self.0)
    }
}

/// A follow-up as the report needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FollowUpFact {
    pub(super) at_ms: i64,
    pub(super) position: u64,
    pub(super) due: DateTime<Utc>,
    pub(super) purpose: FollowUpPurpose,
    /// What its completion found (none while pending).
    pub(super) outcome: Option<FollowUpOutcome>,
}

/// The rarer facts of a case: what process policy's findings and
/// `complaints.time_to_handler` need of its routing (docs/kpis.md), its
/// quality reviews, its unreopened `not_resolved` outcomes and its survey
/// dimension scores. Boxed, only for the cases ever assigned to a team,
/// classified a complaint, reviewed, left unreopened or surveyed with a
/// dimension score, so that a case's facts stay small.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Trail {
    /// Each team the case was assigned to (interned in the accumulator's
    /// `teams`), with the time of its first assignment, in that order.
    pub(super) teams: Vec<(u32, i64)>,
    /// When the case was first classified a complaint.
    pub(super) complaint_since_ms: Option<i64>,
    /// Each resolution recorded while the case was a complaint: how many of
    /// `teams` it had been assigned to by then, and its root cause.
    pub(super) complaint_resolutions: Vec<(u32, Option<RootCause>)>,
    /// `not_resolved` outcomes whose case was not reopened after them
    /// (closed, or followed up again, first); `awaiting_reopen` adds one.
    pub(super) unreopened: u32,
    /// `qa_reviewed` events, and the sum of their scores.
    pub(super) qa_reviews: u32,
    pub(super) qa_score_sum: u32,
    /// Per survey dimension (in the order of [`SurveyDimension::ALL`]),
    /// how many surveys scored it and the sum of their scores.
    pub(super) survey_dimensions: [(u32, u32); SurveyDimension::ALL.len()],
}

/// The dimensions a survey may score besides its overall score (issue
/// 20), in the order of the report's `csat` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SurveyDimension {
    Speed,
    ProblemSolving,
    Attitude,
}

impl SurveyDimension {
    pub(super) const ALL: [SurveyDimension; 3] = [
        SurveyDimension::Speed,
        SurveyDimension::ProblemSolving,
        SurveyDimension::Attitude,
    ];

    /// This dimension's score in a survey, if it gave one.
    pub(super) fn of(self, s: &crate::event::Surveyed) -> Option<crate::vocab::Score> {
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Waits {
    /// The waits that ended, `[start, end)`, in order.
    pub(super) ended_ms: Vec<(i64, i64)>,
    /// The start of the wait still running.
    pub(super) since_ms: OptMs,
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
    pub(super) fn observe(&mut self, event: &Event) {
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
                    self.ended_ms.push((since, at_ms));
                    self.since_ms = OptMs::NONE;
                }
            }
            _ => {}
        }
    }

    /// Whether `event` may change a case's waits (so that the map is looked
    /// up only for those).
    pub(super) fn concerns(event: &Event) -> bool {
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
pub(super) struct CaseFacts {
    /// Interned in the accumulator's `customers`.
    pub(super) customer: u32,
    pub(super) channel: Channel,
    pub(super) tier: Tier,
    pub(super) opened_ms: i64,
    pub(super) status: Status,
    pub(super) classification: Option<Classified>,
    /// Interned in the accumulator's `agents`.
    pub(super) agent: OptNum,
    /// Interned in the accumulator's `teams`.
    pub(super) team: OptNum,
    /// The first agent assigned, and whether another one ever was.
    pub(super) first_agent: OptNum,
    pub(super) transferred: bool,
    pub(super) first_response_ms: OptMs,
    pub(super) responses_before_first_resolution: u32,
    pub(super) resolutions: u32,
    pub(super) latest_resolved_ms: OptMs,
    pub(super) escalated: bool,
    pub(super) reopened: bool,
    /// Surveys answered, the sum of their scores, and how many were
    /// satisfied (counts suffice for every figure, and need no allocation).
    pub(super) surveys: u32,
    pub(super) survey_score_sum: u32,
    pub(super) surveys_satisfied: u32,
    pub(super) follow_ups: Vec<FollowUpFact>,
    pub(super) pending_due_ms: OptMs,
    pub(super) completed: u32,
    pub(super) completed_on_time: u32,
    /// The `deadline_extended` events, boxed (8 bytes, no allocation for
    /// the cases without: nearly all).
    #[expect(
        clippy::box_collection,
        reason = "a thin pointer, 8 bytes per case, where a Vec takes 24 (a case's facts must stay small)"
    )]
    pub(super) extensions: Option<Box<Vec<Extension>>>,
    pub(super) origin: Origin,
    /// The root cause of the latest resolution, if it named one.
    pub(super) root_cause: Option<RootCause>,
    /// Whether a follow-up of the case ended `not_resolved`.
    pub(super) not_resolved_seen: bool,
    /// A `not_resolved` outcome on the resolved case waits for its reopen.
    pub(super) awaiting_reopen: bool,
    /// Whether `closed` came while a follow-up was pending.
    pub(super) closed_with_pending: bool,
    /// The rarer facts, boxed (see [`Trail`]).
    pub(super) trail: Option<Box<Trail>>,
}

impl CaseFacts {
    /// The facts of a case just opened: nothing but its opening known yet.
    pub(super) fn opened(
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
            first_agent: OptNum::NONE,
            transferred: false,
            first_response_ms: OptMs::NONE,
            responses_before_first_resolution: 0,
            resolutions: 0,
            latest_resolved_ms: OptMs::NONE,
            escalated: false,
            reopened: false,
            surveys: 0,
            survey_score_sum: 0,
            surveys_satisfied: 0,
            follow_ups: Vec::new(),
            pending_due_ms: OptMs::NONE,
            completed: 0,
            completed_on_time: 0,
            extensions: None,
            origin,
            root_cause: None,
            not_resolved_seen: false,
            awaiting_reopen: false,
            closed_with_pending: false,
            trail: None,
        }
    }

    pub(super) fn observe(
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
                    trail.complaint_since_ms.get_or_insert(at_ms);
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
                    let trail = self.trail.get_or_insert_default();
                    if !trail.teams.iter().any(|(t, _)| *t == team) {
                        trail.teams.push((team, at_ms));
                    }
                }
            }
            EventData::Responded => {
                if self.first_response_ms.get().is_none() {
                    self.first_response_ms = OptMs::some(at_ms);
                }
                if self.resolutions == 0 {
                    self.responses_before_first_resolution += 1;
                }
            }
            EventData::Escalated(_) => self.escalated = true,
            EventData::Resolved(r) => {
                self.status = Status::Resolved;
                self.resolutions += 1;
                self.latest_resolved_ms = OptMs::some(at_ms);
                self.root_cause = r.root_cause;
                if self
                    .classification
                    .is_some_and(|c| c.category == Category::Complaint)
                {
                    let trail = self.trail.get_or_insert_default();
                    // Fewer than 2^32 teams per case.
                    let routed_to = u32::try_from(trail.teams.len()).unwrap_or(u32::MAX);
                    trail.complaint_resolutions.push((routed_to, r.root_cause));
                }
            }
            EventData::Reopened(_) => {
                self.status = Status::Open;
                self.reopened = true;
                self.awaiting_reopen = false;
            }
            EventData::FollowUpScheduled(f) => {
                self.follow_ups.push(FollowUpFact {
                    at_ms,
                    position,
                    due: f.due,
                    purpose: f.purpose,
                    outcome: None,
                });
                self.pending_due_ms = OptMs::some(ms(f.due));
            }
            EventData::FollowUpCompleted(c) => {
                if let Some(last) = self.follow_ups.last_mut() {
                    last.outcome = Some(c.outcome);
                }
                if c.outcome == FollowUpOutcome::NotResolved {
                    self.not_resolved_seen = true;
                    if self.status == Status::Resolved {
                        if self.awaiting_reopen {
                            self.trail.get_or_insert_default().unreopened += 1;
                        }
                        self.awaiting_reopen = true;
                    }
                }
                self.completed += 1;
                if self.pending_due_ms.get().is_some_and(|due| at_ms <= due) {
                    self.completed_on_time += 1;
                }
                self.pending_due_ms = OptMs::NONE;
            }
            EventData::Surveyed(s) => {
                let score = s.score.get();
                self.surveys += 1;
                self.survey_score_sum += u32::from(score);
                self.surveys_satisfied += u32::from(score >= SATISFIED_SCORE);
                if SurveyDimension::ALL.iter().any(|d| d.of(s).is_some()) {
                    let trail = self.trail.get_or_insert_default();
                    for (d, (count, sum)) in SurveyDimension::ALL
                        .iter()
                        .zip(&mut trail.survey_dimensions)
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
                self.closed_with_pending |= self.pending_due_ms.get().is_some();
                if self.awaiting_reopen {
                    self.trail.get_or_insert_default().unreopened += 1;
                }
                self.awaiting_reopen = false;
            }
            EventData::AwaitingCustomer(_) | EventData::CustomerReplied => {}
            EventData::QaReviewed(q) => {
                let trail = self.trail.get_or_insert_default();
                trail.qa_reviews += 1;
                trail.qa_score_sum += u32::from(q.score.get());
            }
            EventData::DeadlineExtended(d) => {
                self.extensions.get_or_insert_default().push(Extension {
                    at: event.at,
                    days: d.days.get(),
                });
            }
        }
    }

    pub(super) fn resolved(&self) -> bool {
        matches!(self.status, Status::Resolved | Status::Closed)
    }

    /// The group of this case under `by`, as a number ([`group_name`]
    /// turns it into the report's key); months and quarters are those of
    /// the local date of `opened` in `zone` (UTC when `None`).
    pub(super) fn group_number(&self, by: GroupBy, zone: Option<Tz>) -> i64 {
        let class = |f: fn(&Classified) -> u8| self.classification.map_or(-1, |c| i64::from(f(&c)));
        let opened = Utc.timestamp_millis_opt(self.opened_ms).single();
        let month = || {
            opened.map_or(i64::MIN, |t| {
                let date = match zone {
                    None => t.date_naive(),
                    Some(z) => t.with_timezone(&z).date_naive(),
                };
                i64::from(date.year()) * 12 + i64::from(date.month0())
            })
        };
        match by {
            GroupBy::Channel => i64::from(self.channel.code()),
            GroupBy::Category => class(|c| c.category.code()),
            GroupBy::Topic => class(|c| c.topic.code()),
            GroupBy::Priority => class(|c| c.priority.code()),
            GroupBy::Tier => i64::from(self.tier.code()),
            GroupBy::Agent => self.agent.get().map_or(-1, i64::from),
            GroupBy::Team => self.team.get().map_or(-1, i64::from),
            GroupBy::Month => month(),
            GroupBy::Quarter => match month() {
                i64::MIN => i64::MIN,
                m => m.div_euclid(3),
            },
            GroupBy::RootCause => self.root_cause.map_or(-1, |c| i64::from(c.code())),
        }
    }
}

/// The report's key of group number `n` under `by` (see
/// [`CaseFacts::group_number`]).
pub(super) fn group_name(
    agents: &Names<AgentId>,
    teams: &Names<TeamId>,
    by: GroupBy,
    n: i64,
) -> String {
    let code = |n: i64| u8::try_from(n).ok();
    let class = |name: Option<&'static str>| name.unwrap_or("unclassified").to_owned();
    let interned = |name: Option<String>| name.unwrap_or_else(|| "unassigned".to_owned());
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
        GroupBy::Month if n != i64::MIN => {
            format!("{:04}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1)
        }
        GroupBy::Quarter if n != i64::MIN => {
            format!("{:04}-Q{}", n.div_euclid(4), n.rem_euclid(4) + 1)
        }
        GroupBy::Month | GroupBy::Quarter => String::new(),
        GroupBy::RootCause => code(n)
            .and_then(RootCause::from_code)
            .map_or_else(|| "none".to_owned(), |c| c.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 16: a case's facts stay small (they are most of the report's
    /// memory, one per case). 152 bytes before times and numbers became
    /// `OptMs` and `OptNum`; 112 until issue 18 added the complaint's
    /// extensions (a boxed list, 8 bytes); 120 until issue 19 added the
    /// origin, the latest root cause, three flags of the follow-up loop
    /// and the boxed rarer facts (routing, reviews).
    #[test]
    fn a_case_s_facts_stay_small() {
        assert!(
            std::mem::size_of::<CaseFacts>() <= 136,
            "{} bytes",
            std::mem::size_of::<CaseFacts>()
        );
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
