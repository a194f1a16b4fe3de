//! [`Trace`]: a projection that notices a skipped, repeated or reordered
//! event, for the followers' and projection runners' tests of every log.

use std::collections::BTreeMap;

use caseledger::Event;
use caseledger::projection::Projection;
use serde::{Deserialize, Serialize};

/// A digest over every (position, event id) fed, in order, and events per
/// case: two traces are equal only if they were fed the same events at the
/// same positions in the same order. Serializable, so a runner can store it
/// in its checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// FNV-1a-like digest of every position and event id, in order.
    pub digest: u64,
    /// The last position fed (0: none).
    pub last: u64,
    /// Events fed per case (the case id as text).
    pub per_case: BTreeMap<String, u32>,
}

impl Projection for Trace {
    fn observe(&mut self, position: u64, event: &Event) {
        let id = event.event_id.to_string();
        for b in position.to_le_bytes().iter().chain(id.as_bytes()) {
            self.digest = (self.digest ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.last = position;
        *self.per_case.entry(event.case_id.to_string()).or_default() += 1;
    }
}
