//! Read models kept current from the log.
//!
//! A [`Projection`] is any state folded from the recorded events in log
//! order: the case board, a follow-up plan's facts, an embedder's own
//! table. It is pure: it reads no clock and does no I/O, so the same log
//! always gives the same state, and a projection resumed from a checkpoint
//! at position `p` and fed the events after `p` equals one fed the whole
//! log. Feeding it (following a log, storing checkpoints) is the job of the
//! backends' runners, not of this crate.

use crate::Event;

/// State folded from the log, one recorded event at a time.
///
/// The caller feeds every event exactly once, in increasing `position`
/// order (positions are the log's: gapless, from 1); a projection may
/// rely on that and need not check it.
pub trait Projection {
    /// Folds the event recorded at `position` into the state.
    fn observe(&mut self, position: u64, event: &Event);
}

impl<P: Projection + ?Sized> Projection for &mut P {
    fn observe(&mut self, position: u64, event: &Event) {
        (**self).observe(position, event);
    }
}

impl<P: Projection + ?Sized> Projection for Box<P> {
    fn observe(&mut self, position: u64, event: &Event) {
        (**self).observe(position, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CaseId, EventData, EventId, Reopened};
    use chrono::{TimeZone, Utc};

    /// Counts events and remembers the last position it saw.
    #[derive(Default)]
    struct Count {
        events: u64,
        last_position: u64,
    }

    impl Projection for Count {
        fn observe(&mut self, position: u64, _event: &Event) {
            self.events += 1;
            self.last_position = position;
        }
    }

    #[test]
    fn references_and_boxes_feed_the_projection_they_point_to() {
        let event = Event {
            event_id: EventId::from_u128(1),
            case_id: CaseId::from_u128(2),
            at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
            actor: crate::Actor::parse("agent-1").unwrap(),
            data: EventData::Reopened(Reopened { reason: None }),
        };
        let mut count = Count::default();
        // Through the impl for `&mut P` (a method call would reach `Count`'s).
        <&mut Count as Projection>::observe(&mut &mut count, 1, &event);
        let mut boxed: Box<dyn Projection> = Box::new(Count::default());
        boxed.observe(7, &event);
        count.observe(2, &event);
        assert_eq!((count.events, count.last_position), (2, 2));
    }
}
