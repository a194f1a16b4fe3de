//! The figures that compare a case with the other cases of its customer:
//! repeat problems and follow-up cap violations. They are computed at
//! report time over all cases, so they are exact however the log was
//! partitioned.

use super::DAY_MS;
use super::facts::CaseFacts;
use crate::policy::follow_ups_too_close;

/// 30 days in milliseconds: how far back a repeat problem is looked for.
pub const REPEAT_WINDOW_MS: i64 = 30 * DAY_MS;

/// Whether a case repeats a problem: an earlier case of the same customer
/// (`siblings` are all of that customer's cases) with the same latest topic
/// opened at most [`REPEAT_WINDOW_MS`] before it. An unclassified case
/// repeats nothing.
pub(super) fn is_repeat(f: &CaseFacts, siblings: &[&CaseFacts]) -> bool {
    let Some(topic) = f.classification.map(|c| c.topic) else {
        return false;
    };
    siblings.iter().any(|s| {
        s.classification.is_some_and(|c| c.topic == topic)
            && s.opened_ms < f.opened_ms
            && f.opened_ms - s.opened_ms <= REPEAT_WINDOW_MS
    })
}

/// How many of a case's scheduled follow-ups are too close to an earlier
/// one of the same customer (`siblings`, this case included): the
/// per-customer cap of [`crate::policy`], checked after the fact.
pub(super) fn cap_violations(f: &CaseFacts, siblings: &[&CaseFacts]) -> u64 {
    let mut violations = 0;
    for fu in &f.follow_ups {
        let violated = siblings.iter().flat_map(|s| &s.follow_ups).any(|other| {
            (other.at_ms, other.position) < (fu.at_ms, fu.position)
                && follow_ups_too_close(other.due, fu.due)
        });
        violations += u64::from(violated);
    }
    violations
}
