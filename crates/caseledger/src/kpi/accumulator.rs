//! [`KpiAccumulator`]: the mergeable state of a KPI replay. It folds events
//! into per-case facts as of a moment (observe, replay), merges the
//! accumulators of disjoint sets of cases, and makes the report.

use chrono::{DateTime, Utc};

use super::dense::Dense;
use super::facts::{CaseFacts, FastMap, Names, Numbers, Waits, group_name, ms};
use super::figures::{cohort, in_cohort};
use super::report::{GroupBy, Report, ReportParams};
use super::responder::Handling;
use crate::event::{Event, EventData};
use crate::ids::{AgentId, CaseId, TeamId};
use crate::time::format_timestamp;

/// How many events [`KpiAccumulator::replay`] looks up together before
/// folding them: enough lookups to keep the CPU waiting on several cache
/// misses at once, few enough that the batch's facts stay in the L1 cache
/// (32 cases' facts of about 100 bytes each: under 4 KiB).
pub const REPLAY_BATCH_EVENTS: usize = 32;

/// Every how many facts taken in, [`KpiAccumulator::merge`] gives back the
/// memory of the other accumulator's taken facts: 4,096 facts of about 100
/// bytes, some 400 KB, so about 36 times for 146,000 cases.
const MERGE_RELEASE_FACTS: usize = 4096;

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
#[derive(Debug, Clone, Default)]
pub struct KpiAccumulator {
    as_of: Option<DateTime<Utc>>,
    /// Each case's id by its number, its facts' place in `facts`, and a
    /// table of the numbers ([`Dense`]): an index and a vector of facts,
    /// rather than one map of facts, because a vector grows in place
    /// (realloc) where a map's rehash holds the old and new tables at once.
    /// The cases [`merge`](Self::merge) takes in are numbered at once but
    /// put into the table only when this accumulator folds an event or
    /// takes in another one ([`Dense::index_all`]), so a merge that is the
    /// last step before a report (the command line's) neither grows the
    /// table nor fills it, to free it right after (the main thread's tail
    /// of a replay on several threads, and its peak memory).
    cases: Dense<Vec<CaseId>>,
    facts: Vec<CaseFacts>,
    /// The waits on the customer of the cases that ever waited, by their
    /// index in `facts`.
    waits: FastMap<u32, Waits>,
    /// Contacts and assignments, for the responder rows (empty when
    /// `skip_responders`).
    handling: Handling,
    /// Whether the responder records are left out
    /// ([`without_responders`](Self::without_responders)).
    skip_responders: bool,
    customers: Numbers,
    agents: Names<AgentId>,
    teams: Names<TeamId>,
    events: u64,
    /// Events counted in `events` whose case this accumulator never saw
    /// opened: they are in no figure (docs/kpis.md, `orphan_events`).
    orphan_events: u64,
    latest_at: Option<DateTime<Utc>>,
}

/// Equal when they hold the same cases under the same numbers, the same
/// facts and records: whether a merge's cases are indexed yet (see
/// `cases`) is not part of what an accumulator holds.
impl PartialEq for KpiAccumulator {
    fn eq(&self, other: &Self) -> bool {
        // Every field, by name: a field added later must be placed here.
        let KpiAccumulator {
            as_of,
            cases,
            facts,
            waits,
            handling,
            skip_responders,
            customers,
            agents,
            teams,
            events,
            orphan_events,
            latest_at,
        } = self;
        *as_of == other.as_of
            && *facts == other.facts
            && *waits == other.waits
            && *handling == other.handling
            && *skip_responders == other.skip_responders
            && *customers == other.customers
            && *agents == other.agents
            && *teams == other.teams
            && *events == other.events
            && *orphan_events == other.orphan_events
            && *latest_at == other.latest_at
            // The same ids by number, indexed or not.
            && *cases == other.cases
    }
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

    /// This accumulator, keeping no record of who was assigned and who
    /// responded from now on, and dropping what it kept: the one thing
    /// those records serve is the report grouped by
    /// [`GroupBy::Responder`], and they are about a third of the
    /// accumulator's memory beyond the cases' facts (an assignment of 24
    /// bytes and a contact of 8 per event, some 32 bytes a case:
    /// docs/performance.md, "Per-case state"). Every other report is the
    /// same as the full accumulator's. Merging with an accumulator that
    /// skips them gives one that skips them.
    pub fn without_responders(mut self) -> KpiAccumulator {
        self.drop_responders();
        self
    }

    /// Whether this accumulator keeps the records of the responder rows
    /// (see [`without_responders`](Self::without_responders)).
    pub fn keeps_responders(&self) -> bool {
        !self.skip_responders
    }

    /// Forgets the responder records.
    fn drop_responders(&mut self) {
        self.skip_responders = true;
        self.handling = Handling::default();
    }

    /// Folds one event recorded at log `position`. Events after the as-of
    /// time are ignored. An event of a case this accumulator never saw
    /// opened (a log read from a later position, a stream without its
    /// `opened`, a store written past the case rules) cannot be in any
    /// figure: it is counted in [`orphan_events`](Self::orphan_events)
    /// instead, so that the report says its figures miss something.
    pub fn observe(&mut self, position: u64, event: &Event) {
        self.cases.index_all();
        self.observe_numbered(position, event, None);
    }

    /// [`observe`](Self::observe), with `known` the case's number in
    /// `facts` when the caller already looked it up (a number never
    /// changes once given, so a number found before is still right).
    fn observe_numbered(&mut self, position: u64, event: &Event, known: Option<u32>) {
        if self.as_of.is_some_and(|t| event.at > t) {
            return;
        }
        self.events += 1;
        self.latest_at = Some(self.latest_at.map_or(event.at, |l| l.max(event.at)));
        if let EventData::Opened(o) = &event.data {
            if known.is_some() || self.cases.find(&event.case_id).is_some() {
                return;
            }
            // Numbered `facts.len()`: one number per fact, in order. Past
            // four billion cases (which would not fit memory: 96 bytes of
            // facts each) a case has no number, so it gets no facts and its
            // events count as orphans: numbers never drift from `facts`.
            if self.cases.insert_new(&event.case_id).is_none() {
                self.orphan_events += 1;
                return;
            }
            debug_assert_eq!(self.cases.len(), self.facts.len() + 1);
            let customer = self.customers.number(o.customer_id.as_str());
            self.facts.push(CaseFacts::opened(
                customer,
                o.channel,
                o.tier,
                o.origin,
                ms(event.at),
            ));
        } else if let Some(n) = known.or_else(|| self.cases.find(&event.case_id))
            && let Some(facts) = self.facts.get_mut(n as usize)
        {
            if !self.skip_responders
                && matches!(event.data, EventData::Assigned(_) | EventData::Responded)
            {
                self.handling.observe(n, event, &mut self.agents);
            }
            facts.observe(position, event, &mut self.agents, &mut self.teams);
            if Waits::concerns(event) {
                if matches!(event.data, EventData::AwaitingCustomer(_)) {
                    self.waits.entry(n).or_default().observe(event);
                } else if let Some(waits) = self.waits.get_mut(&n) {
                    waits.observe(event);
                }
            }
        } else {
            self.orphan_events += 1;
        }
    }

    /// Folds a whole log of `(position, event)` pairs: the batch form of
    /// [`observe`](Self::observe), with the same result, and faster on a
    /// large log. It takes the events [`REPLAY_BATCH_EVENTS`] at a time and
    /// first looks up the cases of a whole batch, then reads their facts,
    /// and only then folds the events: with a million cases the case index
    /// and the facts are far larger than the CPU's caches, and those
    /// lookups, free of one another in a short loop, wait for memory
    /// together rather than one after another (docs/performance.md,
    /// "Scaling").
    pub fn replay<'a>(&mut self, events: impl IntoIterator<Item = (u64, &'a Event)>) {
        self.cases.index_all();
        let mut batch: Vec<(u64, &Event)> = Vec::with_capacity(REPLAY_BATCH_EVENTS);
        for e in events {
            batch.push(e);
            if batch.len() == REPLAY_BATCH_EVENTS {
                self.observe_batch(&batch);
                batch.clear();
            }
        }
        self.observe_batch(&batch);
    }

    /// Folds up to [`REPLAY_BATCH_EVENTS`] events in order, their cases
    /// looked up first (see [`replay`](Self::replay)).
    fn observe_batch(&mut self, batch: &[(u64, &Event)]) {
        let mut numbers = [None; REPLAY_BATCH_EVENTS];
        for (number, (_, event)) in numbers.iter_mut().zip(batch) {
            *number = self.cases.find(&event.case_id);
        }
        // Read a word of each case's facts, and of what else the fold
        // will look up at random (the assignment a response updates, the
        // case's waits, a new case's customer), so that the fold below
        // finds them in the cache; the sum only keeps the reads from being
        // left out.
        let mut sum = 0_i64;
        for ((_, event), &number) in batch.iter().zip(&numbers) {
            if let EventData::Opened(o) = &event.data {
                sum = sum.wrapping_add(i64::from(
                    self.customers.find(o.customer_id.as_str()).is_some(),
                ));
            } else if let Some(n) = number
                && let Some(facts) = self.facts.get(n as usize)
            {
                sum = sum.wrapping_add(facts.opened_ms);
                if !self.skip_responders && matches!(event.data, EventData::Responded) {
                    sum = sum.wrapping_add(self.handling.touch(n));
                }
                if Waits::concerns(event) {
                    sum = sum.wrapping_add(i64::from(self.waits.contains_key(&n)));
                }
            }
        }
        std::hint::black_box(sum);
        for (&(position, event), &number) in batch.iter().zip(&numbers) {
            self.observe_numbered(position, event, number);
        }
    }

    /// Merges the accumulator of a disjoint set of cases. Both must have been
    /// made with the same as-of time, or the result would describe no moment
    /// at all: that is refused, and `self` is left unchanged. A case present
    /// in both keeps this accumulator's facts. When either skips the
    /// responder records ([`without_responders`](Self::without_responders)),
    /// the merged one does: the other's records would cover only some cases.
    pub fn merge(&mut self, other: KpiAccumulator) -> Result<(), AsOfMismatch> {
        if self.as_of != other.as_of {
            return Err(AsOfMismatch {
                left: self.as_of,
                right: other.as_of,
            });
        }
        if other.skip_responders && !self.skip_responders {
            self.drop_responders();
        }
        self.events += other.events;
        self.orphan_events += other.orphan_events;
        self.latest_at = match (self.latest_at, other.latest_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let customers = self.customers.absorb(other.customers);
        let agents = self.agents.absorb(&other.agents);
        let teams = self.teams.absorb(&other.teams);
        // Every number of `other` indexes its own tables, so the lookups hit.
        let renumber = |map: &[u32], n: u32| map.get(n as usize).copied().unwrap_or(n);
        // A case of `other` is new here unless this index, complete, has
        // it: the cases an earlier merge took in are indexed first.
        self.cases.index_all();
        // `other`'s case ids by number: one per fact, in order.
        let ids = other.cases.into_keys();
        self.facts.reserve(other.facts.len());
        // The number here of each of `other`'s cases (none: kept from here).
        let mut case_numbers: Vec<Option<u32>> = Vec::with_capacity(ids.len());
        // `other`'s facts are taken from the end of a reversed vector, which
        // gives its memory back every `MERGE_RELEASE_FACTS` facts: the two
        // vectors then hold each case's facts once, not the taken ones
        // twice until the last is taken (peak memory with 2 threads:
        // docs/performance.md, "Per-case state").
        let mut other_facts = other.facts;
        other_facts.reverse();
        for id in ids {
            let Some(mut facts) = other_facts.pop() else {
                break;
            };
            if other_facts.len().is_multiple_of(MERGE_RELEASE_FACTS) {
                other_facts.shrink_to_fit();
            }
            // A case present here keeps this accumulator's facts. (`ids`
            // holds each of `other`'s cases once, so only the cases indexed
            // before this merge can have it.)
            if self.cases.find_indexed(&id).is_some() {
                case_numbers.push(None);
                continue;
            }
            // Numbered `facts.len()`, as `observe` numbers a case (and, as
            // there, past four billion cases one is left out).
            let Some(number) = self.cases.push_unindexed(&id) else {
                case_numbers.push(None);
                continue;
            };
            debug_assert_eq!(number as usize, self.facts.len());
            case_numbers.push(Some(number));
            facts.customer = renumber(&customers, facts.customer);
            facts.agent = facts.agent.map(|a| renumber(&agents, a));
            facts.first_agent = facts.first_agent.map(|a| renumber(&agents, a));
            facts.resolved_agent = facts.resolved_agent.map(|a| renumber(&agents, a));
            facts.team = facts.team.map(|t| renumber(&teams, t));
            if facts.first_team_ms.get().is_some() {
                facts.first_team = renumber(&teams, facts.first_team);
            }
            if let Some(rarer) = facts.trail.as_mut().and_then(|t| t.rarer.as_mut()) {
                for (t, _) in &mut rarer.teams {
                    *t = renumber(&teams, *t);
                }
                rarer.index_teams();
            }
            self.facts.push(facts);
        }
        // The waits of the cases taken in, under their new numbers: one
        // step per case that waited, not a lookup per case.
        self.waits
            .extend(other.waits.into_iter().filter_map(|(old, waits)| {
                Some((case_numbers.get(old as usize).copied().flatten()?, waits))
            }));
        // Nothing to take in when this one skips the responder records.
        if !self.skip_responders {
            self.handling.absorb(
                other.handling,
                |c| case_numbers.get(c as usize).copied().flatten(),
                |a| renumber(&agents, a),
            );
        }
        Ok(())
    }

    /// How many events were counted (at or before the as-of time).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// How many of the counted events belong to a case never seen opened,
    /// and so are in no figure (docs/kpis.md). Zero for a whole valid log;
    /// merging accumulators of disjoint sets of cases adds them up.
    pub fn orphan_events(&self) -> u64 {
        self.orphan_events
    }

    /// How many cases were opened (at or before the as-of time).
    pub fn cases(&self) -> usize {
        self.cases.len()
    }

    /// The report's T: the as-of time, or else the latest event time.
    pub fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of.or(self.latest_at)
    }

    /// [`report_on_threads`](Self::report_on_threads) from an accumulator
    /// that folds nothing more: it first frees the index from case ids to
    /// facts and the customer ids, which only [`observe`](Self::observe) and
    /// [`merge`](Self::merge) use, so that the report stage's own memory
    /// (the cross-case figures, the duration samples) comes in its place
    /// rather than on top of it (peak memory, docs/performance.md).
    ///
    /// # Panics
    ///
    /// As [`report_on_threads`](Self::report_on_threads).
    pub fn into_report_on_threads(mut self, params: &ReportParams, threads: usize) -> Report {
        self.cases = Dense::default();
        // The customers' numbers are in the facts; the ids are only for
        // folding more.
        self.customers = Numbers::default();
        self.report_on_threads(params, threads)
    }

    /// Computes the report (docs/kpis.md) on this thread.
    ///
    /// # Panics
    ///
    /// As [`report_on_threads`](Self::report_on_threads).
    pub fn report(&self, params: &ReportParams) -> Report {
        self.report_on_threads(params, 1)
    }

    /// Computes the same report as [`report`](Self::report) on up to
    /// `threads` threads (this one and `threads - 1` scoped ones; 0 counts
    /// as 1): the cross-case figures split by customer, the other figures
    /// by case. The result does not depend on the number of threads.
    ///
    /// # Panics
    ///
    /// When grouped by [`GroupBy::Responder`] on an accumulator made
    /// [`without_responders`](Self::without_responders): it has no record of
    /// who responded, and empty responder rows would say that nobody did.
    /// The caller chose both, so this is its bug, never the data's.
    pub fn report_on_threads(&self, params: &ReportParams, threads: usize) -> Report {
        let t_ms = self.as_of().map_or(i64::MIN, ms);
        let name = |by, n| group_name(&self.agents, &self.teams, by, n);
        let responders = if params.group_by == Some(GroupBy::Responder) {
            assert!(
                !self.skip_responders,
                "a report by responder from a KPI accumulator made without_responders"
            );
            self.handling
                .report(&self.facts, in_cohort(params), &self.agents)
        } else {
            Vec::new()
        };
        let (overall, groups) = cohort(
            &self.facts,
            &self.waits,
            &self.teams,
            params,
            t_ms,
            threads,
            name,
        );
        Report {
            as_of: self.as_of(),
            from: params.from,
            to: params.to,
            group_by: params.group_by,
            then_by: params.group_by.and(params.then_by),
            events: self.events,
            orphan_events: self.orphan_events,
            overall,
            groups,
            responders,
        }
    }
}
