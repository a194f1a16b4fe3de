//! The service's bounded cache of case states, least recently used out.

use std::collections::HashMap;

use crate::ids::{CaseId, EventId};
use crate::state::CaseState;

/// What the service knows of a case: its state at some version and the
/// ids of the events folded into it (to tell a retry from a new command).
#[derive(Debug, Clone, Default)]
pub(super) struct Known {
    pub(super) state: CaseState,
    pub(super) ids: Vec<EventId>,
}

/// A bounded cache of case states by case, each at the version it was
/// read or written at; the least recently used case leaves when it is full.
#[derive(Debug)]
pub(super) struct StateCache {
    cases: HashMap<CaseId, (Known, u64)>,
    capacity: usize,
    tick: u64,
}

impl StateCache {
    pub(super) fn new(capacity: usize) -> StateCache {
        StateCache {
            cases: HashMap::new(),
            capacity,
            tick: 0,
        }
    }

    /// What is known of a case (the initial state if nothing).
    pub(super) fn get(&mut self, case_id: CaseId) -> Known {
        self.tick += 1;
        match self.cases.get_mut(&case_id) {
            Some((known, used)) => {
                *used = self.tick;
                known.clone()
            }
            None => Known::default(),
        }
    }

    /// Keeps `known` unless the cache holds a later version of the case.
    pub(super) fn put(&mut self, case_id: CaseId, known: Known) {
        if self.capacity == 0 {
            return;
        }
        self.tick += 1;
        if let Some((held, used)) = self.cases.get_mut(&case_id) {
            if held.state.version() < known.state.version() {
                *held = known;
            }
            *used = self.tick;
            return;
        }
        if self.cases.len() >= self.capacity {
            let oldest = self
                .cases
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(case, _)| *case);
            if let Some(oldest) = oldest {
                self.cases.remove(&oldest);
            }
        }
        self.cases.insert(case_id, (known, self.tick));
    }

    pub(super) fn len(&self) -> usize {
        self.cases.len()
    }
}
