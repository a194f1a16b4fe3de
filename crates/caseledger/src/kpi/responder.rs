//! Who responded (docs/kpis.md, "Responders"): per agent, their contacts,
//! the share of the cases assigned to them that they answered while they
//! had them, and how long they took. Kept as two lists of small records
//! beside the cases' facts (one per `responded` event, one per
//! assignment), and a map from each assigned case to its current
//! assignment, so that the report sorts them once: O(n log n) in the
//! events, with no scan of a case's siblings. Only an accumulator that
//! keeps the responder records has them (`KpiAccumulator::without_responders`).

use std::collections::BTreeMap;

use super::facts::{CaseFacts, FastMap, Names, OptMs, ms};
use super::report::ResponderKpis;
use super::stats::{Durations, rate};
use crate::event::{Event, EventData};
use crate::ids::AgentId;

/// One assignment of a case to an agent: when it was made, and the time
/// from it to the agent's first response while it lasted, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Assignment {
    case: u32,
    agent: u32,
    at_ms: i64,
    answered_after_ms: OptMs,
}

/// The contacts and assignments of an accumulator's cases (cases and
/// agents by their numbers there); a monoid under [`Handling::absorb`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Handling {
    /// `(case, agent)` of each `responded` event by an agent.
    contacts: Vec<(u32, u32)>,
    /// Every assignment.
    assignments: Vec<Assignment>,
    /// Each assigned case's current assignment: its index in
    /// `assignments`. Here rather than in the case's facts, which every
    /// report keeps, while only the report by responder needs this.
    current: FastMap<u32, u32>,
}

impl Handling {
    /// Folds one `assigned` or `responded` event of case number `case`.
    pub(super) fn observe(&mut self, case: u32, event: &Event, agents: &mut Names<AgentId>) {
        let at_ms = ms(event.at);
        match &event.data {
            EventData::Assigned(a) => {
                // Fewer than 2^32 assignments (one per event, numbered in u32).
                let index = u32::try_from(self.assignments.len()).unwrap_or(u32::MAX);
                self.assignments.push(Assignment {
                    case,
                    agent: agents.number(&a.agent),
                    at_ms,
                    answered_after_ms: OptMs::NONE,
                });
                self.current.insert(case, index);
            }
            EventData::Responded => {
                // A `responded` by `system` or `customer` is no one's contact.
                let Some(id) = event.agent_contact() else {
                    return;
                };
                let agent = agents.number(id);
                self.contacts.push((case, agent));
                if let Some(current) = self
                    .current
                    .get(&case)
                    .and_then(|&i| self.assignments.get_mut(i as usize))
                    && current.agent == agent
                    && current.answered_after_ms.get().is_none()
                {
                    current.answered_after_ms = OptMs::some((at_ms - current.at_ms).max(0));
                }
            }
            _ => {}
        }
    }

    /// A word of the case's current assignment, which a `responded` event
    /// of the case may update: read ahead of the fold so that the record is
    /// in the cache by then (`KpiAccumulator::replay`). 0 without one.
    pub(super) fn touch(&self, case: u32) -> i64 {
        self.current
            .get(&case)
            .and_then(|&i| self.assignments.get(i as usize))
            .map_or(0, |a| a.at_ms)
    }

    /// Takes in `other`'s records: `case(n)` is the number here of its case
    /// `n` (`None`: a case this accumulator keeps its own facts of), and
    /// `agent(n)` of its agent `n`.
    pub(super) fn absorb(
        &mut self,
        other: Handling,
        case: impl Fn(u32) -> Option<u32>,
        agent: impl Fn(u32) -> u32,
    ) {
        self.contacts.extend(
            other
                .contacts
                .into_iter()
                .filter_map(|(c, a)| Some((case(c)?, agent(a)))),
        );
        // For each of `other`'s assignments, its index here (`None`:
        // dropped with its case).
        let moved: Vec<Option<u32>> = other
            .assignments
            .into_iter()
            .map(|a| {
                let index = u32::try_from(self.assignments.len()).unwrap_or(u32::MAX);
                self.assignments.push(Assignment {
                    case: case(a.case)?,
                    agent: agent(a.agent),
                    ..a
                });
                Some(index)
            })
            .collect();
        self.current.extend(
            other
                .current
                .into_iter()
                .filter_map(|(c, i)| Some((case(c)?, moved.get(i as usize).copied().flatten()?))),
        );
    }

    /// The responder rows of the cases `in_cohort` accepts, one per agent
    /// with a contact or an assignment, sorted by agent id.
    pub(super) fn report(
        &self,
        facts: &[CaseFacts],
        in_cohort: impl Fn(&CaseFacts) -> bool,
        agents: &Names<AgentId>,
    ) -> Vec<ResponderKpis> {
        let cohort = |case: u32| facts.get(case as usize).is_some_and(&in_cohort);
        let mut contacts: BTreeMap<u32, u64> = BTreeMap::new();
        for (case, agent) in &self.contacts {
            if cohort(*case) {
                *contacts.entry(*agent).or_default() += 1;
            }
        }
        let mut assignments: Vec<(u32, u32, OptMs)> = self
            .assignments
            .iter()
            .filter(|a| cohort(a.case))
            .map(|a| (a.agent, a.case, a.answered_after_ms))
            .collect();
        assignments.sort_unstable_by_key(|(agent, case, _)| (*agent, *case));
        let mut rows: BTreeMap<String, ResponderKpis> = BTreeMap::new();
        fn row<'r>(
            rows: &'r mut BTreeMap<String, ResponderKpis>,
            agents: &Names<AgentId>,
            agent: u32,
        ) -> &'r mut ResponderKpis {
            let key = agents.name(agent).map(ToString::to_string);
            rows.entry(key.unwrap_or_default())
                .or_insert_with_key(|k| ResponderKpis::empty(k.clone()))
        }
        for (agent, n) in &contacts {
            row(&mut rows, agents, *agent).contacts = *n;
        }
        for run in assignments.chunk_by(|a, b| a.0 == b.0) {
            let agent = run[0].0;
            let mut delays = Durations::default();
            let (mut cases, mut replied) = (0u64, 0u64);
            for case in run.chunk_by(|a, b| a.1 == b.1) {
                cases += 1;
                replied += u64::from(case.iter().any(|a| a.2.get().is_some()));
                delays.0.extend(case.iter().filter_map(|a| a.2.get()));
            }
            let r = row(&mut rows, agents, agent);
            r.cases_assigned = cases;
            r.cases_replied = replied;
            r.reply_rate = rate(replied, cases);
            r.time_to_respond = delays.stats();
        }
        rows.into_values().collect()
    }
}
