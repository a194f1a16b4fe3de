//! Read models kept current from the log.
//!
//! A [`Projection`] is any state folded from the recorded events in log
//! order: the case board, a follow-up plan's facts, an embedder's own
//! table. It is pure: it reads no clock and does no I/O, so the same log
//! always gives the same state, and a projection resumed from a checkpoint
//! at position `p` and fed the events after `p` equals one fed the whole
//! log. Feeding it (following a log, storing checkpoints) is the job of the
//! backends' runners (`caseledger_store::follow`, `caseledger_postgres`'s
//! followers), not of this crate; [`Checkpointed`] is the one rule they
//! share: a projection is fed the next position, never one skipped or
//! repeated, and knows how far it has been fed.

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

/// The most events a runner may let pass between two checkpoints
/// ([`checkpoint_due`]'s `every_events`): one million, so that a resume
/// never replays more than that.
pub const MAX_CHECKPOINT_EVERY_EVENTS: u64 = 1_000_000;

/// A projection and the position it has been fed up to: what a runner
/// stores as its checkpoint and resumes from. It accepts only the next
/// position, so a runner that feeds it cannot skip or repeat an event
/// unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checkpointed<P> {
    position: u64,
    state: P,
}

/// A position fed out of order to a [`Checkpointed`] projection: the
/// event was not folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the projection is at position {at} and was given position {given}: only {} may follow \
     (an event skipped or repeated)",
    at + 1
)]
pub struct OutOfOrder {
    /// The position the projection has been fed up to.
    pub at: u64,
    /// The position it was given.
    pub given: u64,
}

impl<P: Projection> Checkpointed<P> {
    /// A projection fed nothing yet (position 0).
    pub fn new(state: P) -> Checkpointed<P> {
        Checkpointed { position: 0, state }
    }

    /// A projection restored from a checkpoint: `state` is the fold of the
    /// events at positions 1 to `position`.
    pub fn resume(position: u64, state: P) -> Checkpointed<P> {
        Checkpointed { position, state }
    }

    /// The last position folded (0: none).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The projection's state.
    pub fn state(&self) -> &P {
        &self.state
    }

    /// The position and the state.
    pub fn into_parts(self) -> (u64, P) {
        (self.position, self.state)
    }

    /// Folds the event at `position` if it is the next one
    /// (`self.position() + 1`); refuses any other without folding it.
    pub fn observe(&mut self, position: u64, event: &Event) -> Result<(), OutOfOrder> {
        if Some(position) != self.position.checked_add(1) {
            return Err(OutOfOrder {
                at: self.position,
                given: position,
            });
        }
        self.state.observe(position, event);
        self.position = position;
        Ok(())
    }
}

/// Whether a runner that stored its last checkpoint at `saved` and has fed
/// its projection up to `position` stores one now, checkpointing every
/// `every_events` events (0 counts as 1; at most
/// [`MAX_CHECKPOINT_EVERY_EVENTS`]).
pub fn checkpoint_due(saved: u64, position: u64, every_events: u64) -> bool {
    let every = every_events.clamp(1, MAX_CHECKPOINT_EVERY_EVENTS);
    position.saturating_sub(saved) >= every
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

    /// An event of case 2, as the tests' projections need only one.
    fn reopened() -> Event {
        Event {
            event_id: EventId::from_u128(1),
            case_id: CaseId::from_u128(2),
            at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
            actor: crate::Actor::parse("agent-1").unwrap(),
            data: EventData::Reopened(Reopened { reason: None }),
        }
    }

    #[test]
    fn references_and_boxes_feed_the_projection_they_point_to() {
        let event = reopened();
        // Through a generic function, so that the `&mut P` impl is the one
        // called (a method call on `&mut count` would reach `Count`'s).
        fn feed<P: Projection>(mut p: P, position: u64, event: &Event) {
            p.observe(position, event);
        }
        let mut count = Count::default();
        feed(&mut count, 1, &event);
        let mut boxed: Box<dyn Projection> = Box::new(Count::default());
        boxed.observe(7, &event);
        count.observe(2, &event);
        assert_eq!((count.events, count.last_position), (2, 2));
    }

    #[test]
    fn checkpointed_takes_only_the_next_position() {
        let event = reopened();
        let mut fed = Checkpointed::new(Count::default());
        fed.observe(1, &event).unwrap();
        assert_eq!(fed.observe(1, &event), Err(OutOfOrder { at: 1, given: 1 }));
        assert_eq!(fed.observe(3, &event), Err(OutOfOrder { at: 1, given: 3 }));
        fed.observe(2, &event).unwrap();
        assert_eq!(fed.position(), 2);
        assert_eq!(fed.state().events, 2);
        let mut resumed = Checkpointed::resume(u64::MAX, Count::default());
        assert!(resumed.observe(0, &event).is_err());
        assert!(
            OutOfOrder { at: 1, given: 3 }
                .to_string()
                .contains("only 2 may follow")
        );
    }

    #[test]
    fn a_checkpoint_is_due_every_n_events() {
        assert!(!checkpoint_due(10, 12, 3));
        assert!(checkpoint_due(10, 13, 3));
        assert!(checkpoint_due(10, 11, 0));
        assert!(!checkpoint_due(10, 10, 0));
        assert!(!checkpoint_due(
            0,
            MAX_CHECKPOINT_EVERY_EVENTS - 1,
            u64::MAX
        ));
        assert!(checkpoint_due(0, MAX_CHECKPOINT_EVERY_EVENTS, u64::MAX));
    }
}
