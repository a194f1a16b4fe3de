//! KPI projections: fold events into the figures management and auditors
//! use. docs/kpis.md is the specification of every figure; this module
//! computes exactly that.
//!
//! Two stages, both monoids:
//! 1. [`KpiAccumulator`] folds events (live, one at a time, or a whole log)
//!    into compact per-case facts, ignoring events after the as-of time. Two
//!    accumulators over disjoint sets of cases merge into the accumulator of
//!    their union, which is what lets a replay run on several cores.
//! 2. [`KpiAccumulator::report`] turns the facts into a [`Report`] for a
//!    cohort, a grouping and a policy. Cross-case figures (repeats, follow-up
//!    cap) are computed here, over all cases, so they are exact however the
//!    log was partitioned.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{Classified, Event, EventData};
use crate::ids::{AgentId, CaseId, CustomerId, TeamId};
use crate::policy::follow_ups_too_close;
use crate::status::Status;
use crate::time::format_timestamp;
use crate::vocab::{Category, Channel, Priority, Tier, Topic};

/// 15 days in milliseconds: the complaint deadline the report checks.
pub const COMPLAINT_DEADLINE_MS: i64 = 15 * DAY_MS;
/// 30 days in milliseconds: how far back a repeat problem is looked for.
pub const REPEAT_WINDOW_MS: i64 = 30 * DAY_MS;
/// A satisfaction rate at or above this is good performance (85%).
pub const CSAT_TARGET: f64 = 0.85;
/// A score at or above this counts as satisfied.
pub const SATISFIED_SCORE: u8 = 4;
const DAY_MS: i64 = 24 * HOUR_MS;
const HOUR_MS: i64 = 60 * 60 * 1000;

type FastMap<K, V> = HashMap<K, V, crate::ids::IdBuildHasher>;

/// Interned names (customers, agents, teams): each distinct id is stored
/// once and cases refer to it by number, which keeps a case's facts small
/// and free of allocations.
#[derive(Debug, Clone, PartialEq)]
struct Names<T: Hash + Eq> {
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
    fn number(&mut self, name: &T) -> u32 {
        if let Some(&n) = self.numbers.get(name) {
            return n;
        }
        // More than four billion distinct customers, agents or teams is
        // beyond any bank; saturating keeps this total regardless.
        let n = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.clone());
        self.numbers.insert(name.clone(), n);
        n
    }

    fn name(&self, n: u32) -> Option<&T> {
        self.names.get(n as usize)
    }

    /// For each number of `other`, the number of the same name here.
    fn absorb(&mut self, other: &Names<T>) -> Vec<u32> {
        other.names.iter().map(|n| self.number(n)).collect()
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A response and a resolution target, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTarget {
    /// The first response must come within this many seconds of opening.
    pub response_s: i64,
    /// The case must be resolved within this many seconds of opening.
    pub resolution_s: i64,
}

/// SLA targets by priority. An embedding program or the CLI's policy file
/// may replace the default; unclassified cases use `normal`. Its JSON form
/// is read by [`SlaPolicy::from_json_value`] (also as serde's `Deserialize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlaPolicy {
    /// Targets for `low`.
    pub low: SlaTarget,
    /// Targets for `normal` (and unclassified cases).
    pub normal: SlaTarget,
    /// Targets for `high`.
    pub high: SlaTarget,
    /// Targets for `urgent`.
    pub urgent: SlaTarget,
}

impl Default for SlaPolicy {
    /// urgent 1 h / 24 h, high 4 h / 72 h, normal 24 h / 168 h, low 72 h / 336 h.
    fn default() -> Self {
        let hours = |r: i64, s: i64| SlaTarget {
            response_s: r * 3600,
            resolution_s: s * 3600,
        };
        SlaPolicy {
            low: hours(72, 336),
            normal: hours(24, 168),
            high: hours(4, 72),
            urgent: hours(1, 24),
        }
    }
}

impl SlaPolicy {
    /// The target for a priority (`None`: unclassified, counted as normal).
    pub fn target(&self, priority: Option<Priority>) -> SlaTarget {
        match priority.unwrap_or(Priority::Normal) {
            Priority::Low => self.low,
            Priority::Normal => self.normal,
            Priority::High => self.high,
            Priority::Urgent => self.urgent,
        }
    }

    /// One target's JSON form, as error messages show it.
    pub const TARGET_EXAMPLE: &'static str = r#"{"response_s": 14400, "resolution_s": 259200}"#;

    /// Reads a policy from JSON text: see [`SlaPolicy::from_json_value`].
    pub fn from_json(text: &str) -> Result<SlaPolicy, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        SlaPolicy::from_json_value(&v)
    }

    /// Reads a policy from its JSON form: an object with a target for every
    /// priority (`low`, `normal`, `high`, `urgent`), each target
    /// `{"response_s": 14400, "resolution_s": 259200}` in whole seconds above
    /// 0. An error names the priority and field and shows the expected shape.
    pub fn from_json_value(v: &serde_json::Value) -> Result<SlaPolicy, String> {
        let names = || {
            Priority::ALL
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(fields) = v.as_object() else {
            return Err(format!(
                "expected an object with a target for each priority ({}), like {{\"high\": {}}}, \
                 found {}",
                names(),
                Self::TARGET_EXAMPLE,
                shown(v)
            ));
        };
        if let Some(unknown) = fields.keys().find(|k| Priority::parse(k).is_err()) {
            return Err(format!(
                "unknown priority `{unknown}`: the priorities are {}",
                names()
            ));
        }
        let mut policy = SlaPolicy::default();
        for &priority in Priority::ALL {
            let name = priority.as_str();
            let Some(target) = fields.get(name) else {
                return Err(format!(
                    "priority `{name}` is missing: every priority needs a target, like \
                     \"{name}\": {}",
                    Self::TARGET_EXAMPLE
                ));
            };
            let target = target_of(target).map_err(|why| {
                format!(
                    "priority `{name}`: {why}; expected a target like {} (whole seconds above 0)",
                    Self::TARGET_EXAMPLE
                )
            })?;
            match priority {
                Priority::Low => policy.low = target,
                Priority::Normal => policy.normal = target,
                Priority::High => policy.high = target,
                Priority::Urgent => policy.urgent = target,
            }
        }
        Ok(policy)
    }

    /// Checks that every target is positive.
    pub fn validate(&self) -> Result<(), String> {
        for (name, t) in [
            ("low", self.low),
            ("normal", self.normal),
            ("high", self.high),
            ("urgent", self.urgent),
        ] {
            if t.response_s <= 0 || t.resolution_s <= 0 {
                return Err(format!(
                    "{name}: targets must be positive numbers of seconds"
                ));
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for SlaPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        SlaPolicy::from_json_value(&v).map_err(serde::de::Error::custom)
    }
}

/// Longest JSON value quoted in an error, in characters: enough to
/// recognise it, short enough for one line.
const MAX_SHOWN_CHARS: usize = 40;

/// A JSON value as an error shows it, cut to [`MAX_SHOWN_CHARS`].
fn shown(v: &serde_json::Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((cut, _)) => format!("`{}...`", &text[..cut]),
        None => format!("`{text}`"),
    }
}

/// Reads one SLA target: exactly `response_s` and `resolution_s`, whole
/// seconds above 0.
fn target_of(v: &serde_json::Value) -> Result<SlaTarget, String> {
    let Some(fields) = v.as_object() else {
        return Err(format!("found {}", shown(v)));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !matches!(k.as_str(), "response_s" | "resolution_s"))
    {
        return Err(format!("unknown field `{unknown}`"));
    }
    let seconds = |name: &str| match fields.get(name) {
        None => Err(format!("`{name}` is missing")),
        Some(n) => match n.as_i64() {
            Some(s) if s > 0 => Ok(s),
            _ => Err(format!(
                "`{name}` must be a whole number of seconds above 0, found {}",
                shown(n)
            )),
        },
    };
    Ok(SlaTarget {
        response_s: seconds("response_s")?,
        resolution_s: seconds("resolution_s")?,
    })
}

vocabulary! {
    /// What a report can be grouped by.
    GroupBy, "group-by dimension" {
        /// Intake channel.
        Channel => "channel",
        /// Latest category (`unclassified` when none).
        Category => "category",
        /// Latest topic (`unclassified` when none).
        Topic => "topic",
        /// Latest priority (`unclassified` when none).
        Priority => "priority",
        /// Customer tier.
        Tier => "tier",
        /// Latest assigned agent (`unassigned` when none).
        Agent => "agent",
        /// Latest assignment's team (`unassigned` when none or team-less).
        Team => "team",
        /// Month opened, UTC (`2026-03`).
        Month => "month",
        /// Quarter opened, UTC (`2026-Q1`).
        Quarter => "quarter",
    }
}

/// What a report covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportParams {
    /// Cohort start: cases opened at or after this (unbounded if `None`).
    pub from: Option<DateTime<Utc>>,
    /// Cohort end: cases opened before this (unbounded if `None`).
    pub to: Option<DateTime<Utc>>,
    /// Group rows by this dimension.
    pub group_by: Option<GroupBy>,
    /// SLA targets.
    pub sla: SlaPolicy,
}

/// A follow-up as the report needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FollowUpFact {
    at_ms: i64,
    position: u64,
    due: DateTime<Utc>,
}

/// Everything the report needs to know about one case, as of T.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CaseFacts {
    /// Interned in [`KpiAccumulator::customers`].
    customer: u32,
    channel: Channel,
    tier: Tier,
    opened_ms: i64,
    status: Status,
    classification: Option<Classified>,
    /// Interned in [`KpiAccumulator::agents`].
    agent: Option<u32>,
    /// Interned in [`KpiAccumulator::teams`].
    team: Option<u32>,
    /// The first agent assigned, and whether another one ever was.
    first_agent: Option<u32>,
    transferred: bool,
    first_response_ms: Option<i64>,
    responses_before_first_resolution: u32,
    resolutions: u32,
    latest_resolved_ms: Option<i64>,
    escalated: bool,
    reopened: bool,
    /// Surveys answered, the sum of their scores, and how many were
    /// satisfied (counts suffice for every figure, and need no allocation).
    surveys: u32,
    survey_score_sum: u32,
    surveys_satisfied: u32,
    follow_ups: Vec<FollowUpFact>,
    pending_due_ms: Option<i64>,
    completed: u32,
    completed_on_time: u32,
}

impl CaseFacts {
    fn observe(
        &mut self,
        position: u64,
        event: &Event,
        agents: &mut Names<AgentId>,
        teams: &mut Names<TeamId>,
    ) {
        let at_ms = ms(event.at);
        match &event.data {
            EventData::Opened(_) => {}
            EventData::Classified(c) => self.classification = Some(*c),
            EventData::Assigned(a) => {
                let agent = agents.number(&a.agent);
                match self.first_agent {
                    None => self.first_agent = Some(agent),
                    Some(first) if first != agent => self.transferred = true,
                    Some(_) => {}
                }
                self.agent = Some(agent);
                self.team = a.team.as_ref().map(|t| teams.number(t));
            }
            EventData::Responded => {
                self.first_response_ms.get_or_insert(at_ms);
                if self.resolutions == 0 {
                    self.responses_before_first_resolution += 1;
                }
            }
            EventData::Escalated(_) => self.escalated = true,
            EventData::Resolved(_) => {
                self.status = Status::Resolved;
                self.resolutions += 1;
                self.latest_resolved_ms = Some(at_ms);
            }
            EventData::Reopened(_) => {
                self.status = Status::Open;
                self.reopened = true;
            }
            EventData::FollowUpScheduled(f) => {
                self.follow_ups.push(FollowUpFact {
                    at_ms,
                    position,
                    due: f.due,
                });
                self.pending_due_ms = Some(ms(f.due));
            }
            EventData::FollowUpCompleted(_) => {
                self.completed += 1;
                if self.pending_due_ms.is_some_and(|due| at_ms <= due) {
                    self.completed_on_time += 1;
                }
                self.pending_due_ms = None;
            }
            EventData::Surveyed(s) => {
                let score = s.score.get();
                self.surveys += 1;
                self.survey_score_sum += u32::from(score);
                self.surveys_satisfied += u32::from(score >= SATISFIED_SCORE);
            }
            EventData::Closed => self.status = Status::Closed,
        }
    }

    fn resolved(&self) -> bool {
        matches!(self.status, Status::Resolved | Status::Closed)
    }

    /// The group of this case under `by`, as a number ([`group_name`]
    /// turns it into the report's key).
    fn group_number(&self, by: GroupBy) -> i64 {
        let class = |f: fn(&Classified) -> u8| self.classification.map_or(-1, |c| i64::from(f(&c)));
        let opened = Utc.timestamp_millis_opt(self.opened_ms).single();
        let month = || {
            opened.map_or(i64::MIN, |t| {
                i64::from(t.year()) * 12 + i64::from(t.month0())
            })
        };
        match by {
            GroupBy::Channel => i64::from(self.channel.code()),
            GroupBy::Category => class(|c| c.category.code()),
            GroupBy::Topic => class(|c| c.topic.code()),
            GroupBy::Priority => class(|c| c.priority.code()),
            GroupBy::Tier => i64::from(self.tier.code()),
            GroupBy::Agent => self.agent.map_or(-1, i64::from),
            GroupBy::Team => self.team.map_or(-1, i64::from),
            GroupBy::Month => month(),
            GroupBy::Quarter => match month() {
                i64::MIN => i64::MIN,
                m => m.div_euclid(3),
            },
        }
    }
}

/// The report's key of group number `n` under `by` (see
/// [`CaseFacts::group_number`]).
fn group_name(acc: &KpiAccumulator, by: GroupBy, n: i64) -> String {
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
                .and_then(|a| acc.agents.name(a))
                .map(ToString::to_string),
        ),
        GroupBy::Team => interned(
            number(n)
                .and_then(|t| acc.teams.name(t))
                .map(ToString::to_string),
        ),
        GroupBy::Month if n != i64::MIN => {
            format!("{:04}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1)
        }
        GroupBy::Quarter if n != i64::MIN => {
            format!("{:04}-Q{}", n.div_euclid(4), n.rem_euclid(4) + 1)
        }
        GroupBy::Month | GroupBy::Quarter => String::new(),
    }
}

/// Two accumulators with different as-of times cannot be merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot merge KPI accumulators made as of different times ({} and {})",
    show(left),
    show(right)
)]
pub struct AsOfMismatch {
    /// This accumulator's as-of time (`None`: the latest event).
    pub left: Option<DateTime<Utc>>,
    /// The other's.
    pub right: Option<DateTime<Utc>>,
}

fn show(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref()
        .map_or_else(|| "the latest event".to_owned(), format_timestamp)
}

/// Folds events into per-case facts as of a moment: the mergeable state of
/// a KPI replay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KpiAccumulator {
    as_of: Option<DateTime<Utc>>,
    /// Where each case's facts are in `facts`. A map of small entries and a
    /// vector of facts, rather than one map of facts: a vector grows in place
    /// (realloc), a map's rehash holds the old and new tables at once.
    cases: FastMap<CaseId, u32>,
    facts: Vec<CaseFacts>,
    customers: Names<CustomerId>,
    agents: Names<AgentId>,
    teams: Names<TeamId>,
    events: u64,
    latest_at: Option<DateTime<Utc>>,
}

impl KpiAccumulator {
    /// An empty accumulator that will count events with `at` ≤ `as_of`
    /// (all events when `None`; the report's T is then the latest `at`).
    pub fn new(as_of: Option<DateTime<Utc>>) -> KpiAccumulator {
        KpiAccumulator {
            as_of,
            ..KpiAccumulator::default()
        }
    }

    /// Folds one event recorded at log `position`. Events after the as-of
    /// time are ignored; so are events of a case not opened (yet), which a
    /// valid log does not contain.
    pub fn observe(&mut self, position: u64, event: &Event) {
        if self.as_of.is_some_and(|t| event.at > t) {
            return;
        }
        self.events += 1;
        self.latest_at = Some(self.latest_at.map_or(event.at, |l| l.max(event.at)));
        if let EventData::Opened(o) = &event.data {
            if self.cases.contains_key(&event.case_id) {
                return;
            }
            // Fewer than 2^32 cases per accumulator: one per event at most,
            // and an accumulator over four billion cases would not fit memory.
            let number = u32::try_from(self.facts.len()).unwrap_or(u32::MAX);
            self.cases.insert(event.case_id, number);
            let customer = self.customers.number(&o.customer_id);
            self.facts.push(CaseFacts {
                customer,
                channel: o.channel,
                tier: o.tier,
                opened_ms: ms(event.at),
                status: Status::Open,
                classification: None,
                agent: None,
                team: None,
                first_agent: None,
                transferred: false,
                first_response_ms: None,
                responses_before_first_resolution: 0,
                resolutions: 0,
                latest_resolved_ms: None,
                escalated: false,
                reopened: false,
                surveys: 0,
                survey_score_sum: 0,
                surveys_satisfied: 0,
                follow_ups: Vec::new(),
                pending_due_ms: None,
                completed: 0,
                completed_on_time: 0,
            });
        } else if let Some(&n) = self.cases.get(&event.case_id)
            && let Some(facts) = self.facts.get_mut(n as usize)
        {
            facts.observe(position, event, &mut self.agents, &mut self.teams);
        }
    }

    /// Folds a whole log of `(position, event)` pairs: the batch form of
    /// [`observe`](Self::observe), with the same result.
    pub fn replay<'a>(&mut self, events: impl IntoIterator<Item = (u64, &'a Event)>) {
        for (position, event) in events {
            self.observe(position, event);
        }
    }

    /// Merges the accumulator of a disjoint set of cases. Both must have been
    /// made with the same as-of time, or the result would describe no moment
    /// at all: that is refused, and `self` is left unchanged. A case present
    /// in both keeps this accumulator's facts.
    pub fn merge(&mut self, other: KpiAccumulator) -> Result<(), AsOfMismatch> {
        if self.as_of != other.as_of {
            return Err(AsOfMismatch {
                left: self.as_of,
                right: other.as_of,
            });
        }
        self.events += other.events;
        self.latest_at = match (self.latest_at, other.latest_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let customers = self.customers.absorb(&other.customers);
        let agents = self.agents.absorb(&other.agents);
        let teams = self.teams.absorb(&other.teams);
        // Every number of `other` indexes its own tables, so the lookups hit.
        let renumber = |map: &[u32], n: u32| map.get(n as usize).copied().unwrap_or(n);
        self.cases.reserve(other.cases.len());
        self.facts.reserve(other.facts.len());
        let mut numbered: Vec<(u32, CaseId)> =
            other.cases.into_iter().map(|(id, n)| (n, id)).collect();
        numbered.sort_unstable_by_key(|(n, _)| *n);
        // Case numbers are 0..len, one per fact, in order.
        for ((_, id), mut facts) in numbered.into_iter().zip(other.facts) {
            if self.cases.contains_key(&id) {
                continue;
            }
            facts.customer = renumber(&customers, facts.customer);
            facts.agent = facts.agent.map(|a| renumber(&agents, a));
            facts.first_agent = facts.first_agent.map(|a| renumber(&agents, a));
            facts.team = facts.team.map(|t| renumber(&teams, t));
            let number = u32::try_from(self.facts.len()).unwrap_or(u32::MAX);
            self.cases.insert(id, number);
            self.facts.push(facts);
        }
        Ok(())
    }

    /// How many events were counted (at or before the as-of time).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// How many cases were opened (at or before the as-of time).
    pub fn cases(&self) -> usize {
        self.cases.len()
    }

    /// The report's T: the as-of time, or else the latest event time.
    pub fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of.or(self.latest_at)
    }

    /// Computes the report (docs/kpis.md).
    pub fn report(&self, params: &ReportParams) -> Report {
        let t_ms = self.as_of().map_or(i64::MIN, ms);
        let from_ms = params.from.map(ms);
        let to_ms = params.to.map(ms);
        let in_cohort = |f: &CaseFacts| {
            from_ms.is_none_or(|from| f.opened_ms >= from)
                && to_ms.is_none_or(|to| f.opened_ms < to)
        };

        // All cases, in and out of the cohort, ordered so that each
        // customer's cases are one run: the siblings a case is compared with.
        let mut all: Vec<&CaseFacts> = self.facts.iter().collect();
        all.sort_unstable_by_key(|f| (f.customer, f.opened_ms));

        let mut overall = KpiAcc::default();
        let mut numbered: FastMap<i64, KpiAcc> = FastMap::default();
        for siblings in all.chunk_by(|a, b| a.customer == b.customer) {
            for f in siblings.iter().filter(|f| in_cohort(f)) {
                overall.add_case(f, siblings, t_ms, &params.sla);
                if let Some(by) = params.group_by {
                    numbered.entry(f.group_number(by)).or_default().add_case(
                        f,
                        siblings,
                        t_ms,
                        &params.sla,
                    );
                }
            }
        }
        let mut groups: BTreeMap<String, KpiAcc> = BTreeMap::new();
        if let Some(by) = params.group_by {
            for (n, acc) in numbered {
                groups
                    .entry(group_name(self, by, n))
                    .or_default()
                    .merge(&acc);
            }
        }
        Report {
            as_of: self.as_of(),
            from: params.from,
            to: params.to,
            group_by: params.group_by,
            events: self.events,
            overall: overall.finish(),
            groups: groups
                .into_iter()
                .map(|(key, acc)| GroupKpis {
                    key,
                    kpis: acc.finish(),
                })
                .collect(),
        }
    }
}

/// Exact duration samples, in milliseconds: merged by concatenation, so the
/// percentiles of a merge are those of the whole.
#[derive(Debug, Clone, Default, PartialEq)]
struct Durations(Vec<i64>);

impl Durations {
    fn stats(&self) -> DurationStats {
        let mut v = self.0.clone();
        v.sort_unstable();
        let n = v.len();
        let rank = |pct: usize| -> Option<f64> {
            // Nearest rank: the element at 1-based rank ceil(pct/100 × n),
            // computed in integers so that no rounding can move it.
            let r = (pct * n).div_ceil(100);
            v.get(r.checked_sub(1)?).map(|x| *x as f64 / 1000.0)
        };
        DurationStats {
            count: n as u64,
            mean_s: (n > 0).then(|| v.iter().map(|x| *x as f64).sum::<f64>() / n as f64 / 1000.0),
            median_s: rank(50),
            p90_s: rank(90),
        }
    }
}

/// Counts and samples of one group; a monoid under [`KpiAcc::merge`].
#[derive(Debug, Clone, Default, PartialEq)]
struct KpiAcc {
    opened: u64,
    resolved: u64,
    first_response: Durations,
    resolution_time: Durations,
    fcr: u64,
    escalated: u64,
    reopened: u64,
    ever_resolved: u64,
    sla_met: u64,
    sla_breached: u64,
    sla_pending: u64,
    complaints: u64,
    complaint_resolution: Durations,
    complaints_within: u64,
    complaints_overdue: u64,
    survey_responses: u64,
    survey_score_sum: u64,
    survey_satisfied: u64,
    resolved_with_survey: u64,
    repeats: u64,
    follow_ups_scheduled: u64,
    follow_ups_completed: u64,
    follow_ups_on_time: u64,
    cap_violations: u64,
}

/// The outcome of one SLA part.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sla {
    Met,
    Breached,
    Pending,
}

fn sla_part(elapsed_ms: Option<i64>, target_s: i64, age_ms: i64) -> Sla {
    let target_ms = target_s.saturating_mul(1000);
    match elapsed_ms {
        Some(e) if e <= target_ms => Sla::Met,
        Some(_) => Sla::Breached,
        None if age_ms > target_ms => Sla::Breached,
        None => Sla::Pending,
    }
}

impl KpiAcc {
    /// Adds one cohort case; `siblings` are all cases of its customer.
    fn add_case(&mut self, f: &CaseFacts, siblings: &[&CaseFacts], t_ms: i64, sla: &SlaPolicy) {
        let resolved = f.resolved();
        let age_ms = t_ms.saturating_sub(f.opened_ms);
        let resolution_ms = f
            .latest_resolved_ms
            .filter(|_| resolved)
            .map(|r| r - f.opened_ms);
        let first_response_ms = f.first_response_ms.map(|r| r - f.opened_ms);

        self.opened += 1;
        if resolved {
            self.resolved += 1;
        }
        self.first_response.0.extend(first_response_ms);
        self.resolution_time.0.extend(resolution_ms);
        if resolved
            && !f.escalated
            && !f.reopened
            && !f.transferred
            && f.responses_before_first_resolution <= 1
        {
            self.fcr += 1;
        }
        self.escalated += u64::from(f.escalated);
        self.reopened += u64::from(f.reopened);
        self.ever_resolved += u64::from(f.resolutions > 0);

        let target = sla.target(f.classification.map(|c| c.priority));
        let response = sla_part(first_response_ms, target.response_s, age_ms);
        let resolution = sla_part(resolution_ms, target.resolution_s, age_ms);
        match (response, resolution) {
            (Sla::Breached, _) | (_, Sla::Breached) => self.sla_breached += 1,
            (Sla::Met, Sla::Met) => self.sla_met += 1,
            _ => self.sla_pending += 1,
        }

        if f.classification
            .is_some_and(|c| c.category == Category::Complaint)
        {
            self.complaints += 1;
            match resolution_ms {
                Some(r) => {
                    self.complaint_resolution.0.push(r);
                    if r <= COMPLAINT_DEADLINE_MS {
                        self.complaints_within += 1;
                    } else {
                        self.complaints_overdue += 1;
                    }
                }
                None if age_ms > COMPLAINT_DEADLINE_MS => self.complaints_overdue += 1,
                None => {}
            }
        }

        self.survey_responses += u64::from(f.surveys);
        self.survey_score_sum += u64::from(f.survey_score_sum);
        self.survey_satisfied += u64::from(f.surveys_satisfied);
        if resolved && f.surveys > 0 {
            self.resolved_with_survey += 1;
        }

        if let Some(topic) = f.classification.map(|c| c.topic) {
            let repeat = siblings.iter().any(|s| {
                s.classification.is_some_and(|c| c.topic == topic)
                    && s.opened_ms < f.opened_ms
                    && f.opened_ms - s.opened_ms <= REPEAT_WINDOW_MS
            });
            self.repeats += u64::from(repeat);
        }

        self.follow_ups_scheduled += f.follow_ups.len() as u64;
        self.follow_ups_completed += u64::from(f.completed);
        self.follow_ups_on_time += u64::from(f.completed_on_time);
        for fu in &f.follow_ups {
            let violated = siblings.iter().flat_map(|s| &s.follow_ups).any(|other| {
                (other.at_ms, other.position) < (fu.at_ms, fu.position)
                    && follow_ups_too_close(other.due, fu.due)
            });
            self.cap_violations += u64::from(violated);
        }
    }

    fn merge(&mut self, o: &KpiAcc) {
        self.opened += o.opened;
        self.resolved += o.resolved;
        self.first_response.0.extend_from_slice(&o.first_response.0);
        self.resolution_time
            .0
            .extend_from_slice(&o.resolution_time.0);
        self.fcr += o.fcr;
        self.escalated += o.escalated;
        self.reopened += o.reopened;
        self.ever_resolved += o.ever_resolved;
        self.sla_met += o.sla_met;
        self.sla_breached += o.sla_breached;
        self.sla_pending += o.sla_pending;
        self.complaints += o.complaints;
        self.complaint_resolution
            .0
            .extend_from_slice(&o.complaint_resolution.0);
        self.complaints_within += o.complaints_within;
        self.complaints_overdue += o.complaints_overdue;
        self.survey_responses += o.survey_responses;
        self.survey_score_sum += o.survey_score_sum;
        self.survey_satisfied += o.survey_satisfied;
        self.resolved_with_survey += o.resolved_with_survey;
        self.repeats += o.repeats;
        self.follow_ups_scheduled += o.follow_ups_scheduled;
        self.follow_ups_completed += o.follow_ups_completed;
        self.follow_ups_on_time += o.follow_ups_on_time;
        self.cap_violations += o.cap_violations;
    }

    fn finish(&self) -> Kpis {
        let satisfied_rate = rate(self.survey_satisfied, self.survey_responses);
        Kpis {
            cases_opened: self.opened,
            cases_resolved: self.resolved,
            backlog: self.opened - self.resolved,
            resolution_rate: rate(self.resolved, self.opened),
            first_response: self.first_response.stats(),
            resolution_time: self.resolution_time.stats(),
            fcr_rate: rate(self.fcr, self.resolved),
            escalation_rate: rate(self.escalated, self.opened),
            reopen_rate: rate(self.reopened, self.ever_resolved),
            sla: SlaKpis {
                met: self.sla_met,
                breached: self.sla_breached,
                pending: self.sla_pending,
                rate: rate(self.sla_met, self.sla_met + self.sla_breached),
            },
            complaints: ComplaintKpis {
                count: self.complaints,
                rate: rate(self.complaints, self.opened),
                resolution_time: self.complaint_resolution.stats(),
                within_deadline: self.complaints_within,
                overdue: self.complaints_overdue,
                deadline_rate: rate(
                    self.complaints_within,
                    self.complaints_within + self.complaints_overdue,
                ),
            },
            csat: CsatKpis {
                responses: self.survey_responses,
                mean: rate(self.survey_score_sum, self.survey_responses),
                satisfied_rate,
                meets_target: satisfied_rate.map(|r| r >= CSAT_TARGET),
            },
            survey_response_rate: rate(self.resolved_with_survey, self.resolved),
            repeat_rate: rate(self.repeats, self.opened),
            follow_up: FollowUpKpis {
                scheduled: self.follow_ups_scheduled,
                completed: self.follow_ups_completed,
                on_time_rate: rate(self.follow_ups_on_time, self.follow_ups_completed),
                cap_violations: self.cap_violations,
            },
        }
    }
}

/// `num / den`, or `None` when the denominator is 0.
fn rate(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Statistics of a list of durations, in seconds (null when empty).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DurationStats {
    /// How many durations.
    pub count: u64,
    /// Their mean.
    pub mean_s: Option<f64>,
    /// Nearest-rank median.
    pub median_s: Option<f64>,
    /// Nearest-rank 90th percentile.
    pub p90_s: Option<f64>,
}

/// SLA attainment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SlaKpis {
    /// Cases that met both targets.
    pub met: u64,
    /// Cases that breached either target.
    pub breached: u64,
    /// Cases still within a target with no verdict yet.
    pub pending: u64,
    /// met / (met + breached).
    pub rate: Option<f64>,
}

/// Complaint handling against the 15-day deadline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ComplaintKpis {
    /// Cases whose latest category is complaint.
    pub count: u64,
    /// count / cases_opened.
    pub rate: Option<f64>,
    /// Resolution times of the resolved complaints.
    pub resolution_time: DurationStats,
    /// Resolved within 15 days.
    pub within_deadline: u64,
    /// Resolved later, or unresolved and older than 15 days.
    pub overdue: u64,
    /// within / (within + overdue).
    pub deadline_rate: Option<f64>,
}

/// Customer satisfaction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CsatKpis {
    /// Survey answers.
    pub responses: u64,
    /// Mean score.
    pub mean: Option<f64>,
    /// Share of scores of 4 or 5.
    pub satisfied_rate: Option<f64>,
    /// satisfied_rate ≥ 0.85.
    pub meets_target: Option<bool>,
}

/// Follow-up contacts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FollowUpKpis {
    /// `follow_up_scheduled` events.
    pub scheduled: u64,
    /// `follow_up_completed` events.
    pub completed: u64,
    /// Share of completions at or before their due time.
    pub on_time_rate: Option<f64>,
    /// Scheduled follow-ups too close to an earlier one of the same customer.
    pub cap_violations: u64,
}

/// The KPI figures of a set of cases (docs/kpis.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Kpis {
    /// Cohort cases.
    pub cases_opened: u64,
    /// Cohort cases resolved (or closed) at T.
    pub cases_resolved: u64,
    /// Cohort cases not resolved at T.
    pub backlog: u64,
    /// cases_resolved / cases_opened.
    pub resolution_rate: Option<f64>,
    /// First response − opened.
    pub first_response: DurationStats,
    /// Latest resolved − opened, for cases resolved at T.
    pub resolution_time: DurationStats,
    /// First contact resolution rate.
    pub fcr_rate: Option<f64>,
    /// Share of cases escalated at least once.
    pub escalation_rate: Option<f64>,
    /// Share of ever-resolved cases reopened at least once.
    pub reopen_rate: Option<f64>,
    /// SLA attainment.
    pub sla: SlaKpis,
    /// Complaints.
    pub complaints: ComplaintKpis,
    /// Satisfaction.
    pub csat: CsatKpis,
    /// Share of resolved cases with a survey answer.
    pub survey_response_rate: Option<f64>,
    /// Problem repeat rate.
    pub repeat_rate: Option<f64>,
    /// Follow-ups.
    pub follow_up: FollowUpKpis,
}

/// The figures of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupKpis {
    /// The group's key, such as `phone` or `2026-Q1`.
    pub key: String,
    /// Its figures.
    #[serde(flatten)]
    pub kpis: Kpis,
}

/// A KPI report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// T: the as-of time (null for an empty log).
    #[serde(serialize_with = "ser_opt_ts")]
    pub as_of: Option<DateTime<Utc>>,
    /// Cohort start.
    #[serde(serialize_with = "ser_opt_ts")]
    pub from: Option<DateTime<Utc>>,
    /// Cohort end (exclusive).
    #[serde(serialize_with = "ser_opt_ts")]
    pub to: Option<DateTime<Utc>>,
    /// The grouping.
    pub group_by: Option<GroupBy>,
    /// How many events were considered (those at or before T).
    pub events: u64,
    /// The figures over the whole cohort.
    pub overall: Kpis,
    /// The figures per group, sorted by key (empty without a grouping).
    pub groups: Vec<GroupKpis>,
}

fn ser_opt_ts<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_timestamp(t)),
        None => s.serialize_none(),
    }
}
