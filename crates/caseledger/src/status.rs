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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Opened; nobody has responded or been assigned yet.
    New,
    /// Being handled.
    InProgress,
    /// Escalated at least once and not resolved since.
    Escalated,
    /// Reopened after a resolution.
    Reopened,
}
