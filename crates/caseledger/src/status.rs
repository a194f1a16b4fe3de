//! Where a case is in its life: its [`Status`], and the finer [`Phase`] of
//! an open case. A module of its own so that the rules' error
//! ([`crate::CaseError`]) and the state can both name it without naming each
//! other.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No `opened` event yet: the initial state.
    NotOpened,
    /// Being worked on: new, in progress, escalated or reopened (see [`Phase`]).
    Open,
    /// Solved; may be followed up, surveyed, reopened or closed.
    Resolved,
    /// Closed: its history is final.
    Closed,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotOpened => "not_opened",
            Status::Open => "open",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The finer phase of an open case, for display; derived from the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Opened; no agent has responded and nobody has been assigned yet.
    New,
    /// Being handled.
    InProgress,
    /// Escalated at least once and not resolved since.
    Escalated,
    /// Reopened after a resolution.
    Reopened,
}

impl Phase {
    /// The wire name: `new`, `in_progress`, `escalated` or `reopened`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::New => "new",
            Phase::InProgress => "in_progress",
            Phase::Escalated => "escalated",
            Phase::Reopened => "reopened",
        }
    }

    /// The one rule of a case's phase (docs/events.md): `None` unless
    /// `status` is open; else escalated when escalated since it was last
    /// (re)opened, reopened when it was ever reopened, new when no agent has
    /// responded (`Event::agent_contact`) and nobody has been assigned
    /// yet, in progress otherwise. The history view
    /// ([`crate::Case::phase`]) and the case board both ask it.
    pub(crate) fn of(
        status: Status,
        escalated_since_open: bool,
        reopened: bool,
        untouched: bool,
    ) -> Option<Phase> {
        if status != Status::Open {
            return None;
        }
        Some(if escalated_since_open {
            Phase::Escalated
        } else if reopened {
            Phase::Reopened
        } else if untouched {
            Phase::New
        } else {
            Phase::InProgress
        })
    }
}
