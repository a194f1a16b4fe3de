//! Process policy: what the bank requires of new work (docs/events.md,
//! "Process policy"). Unlike the history invariants ([`crate::check`]),
//! these rules never make a recorded history invalid: a *command* that
//! breaks one is refused by the application service
//! ([`ServiceError::Process`](crate::ServiceError::Process)); recorded
//! history that breaks one is counted as a **finding** in the KPI report
//! (docs/kpis.md, "Findings"). Each rule is stated once, here, and both
//! uses call it.
//!
//! | rule | refusal | finding |
//! |---|---|---|
//! | no close while a follow-up is pending | `close_with_follow_up_pending` | `closed_with_follow_up_pending` |
//! | a complaint is resolved only after routing to a complaint team | `complaint_not_routed` | `complaints_resolved_unrouted` |
//! | a complaint's resolution names a root cause | `root_cause_missing` | `complaints_without_root_cause` |
//!
//! Two more findings come from command behaviour and the follow-up cap:
//! `not_resolved_without_reopen` (a `not_resolved` follow-up outcome whose
//! case was not reopened; a command reopens it itself: [`crate::decide`])
//! and `cap_violations` (the once-a-month cap, [`crate::policy`]).

use std::fmt;

use crate::decide::{Action, Command};
use crate::ids::{CaseId, TeamId};
use crate::state::CaseState;
use crate::vocab::{Category, RootCause};

/// The default complaint-handling team.
pub const DEFAULT_COMPLAINT_TEAM: &str = "complaints";

/// The bank's process settings: which teams handle complaints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessPolicy {
    complaint_teams: Vec<TeamId>,
}

impl Default for ProcessPolicy {
    /// One complaint team, `complaints`.
    fn default() -> Self {
        ProcessPolicy {
            // A fixed, valid id (no white space, control or format
            // characters, 10 bytes).
            complaint_teams: TeamId::new(DEFAULT_COMPLAINT_TEAM).into_iter().collect(),
        }
    }
}

/// A process rule (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProcessRule {
    /// No `close` while a follow-up is pending.
    CloseWithFollowUpPending,
    /// A complaint is resolved only after it was assigned to a complaint
    /// team.
    ComplaintNotRouted,
    /// A complaint's resolution names a root cause.
    RootCauseMissing,
}

impl ProcessRule {
    /// The refusal's name, as a command's error reports it.
    pub fn code(self) -> &'static str {
        match self {
            ProcessRule::CloseWithFollowUpPending => "close_with_follow_up_pending",
            ProcessRule::ComplaintNotRouted => "complaint_not_routed",
            ProcessRule::RootCauseMissing => "root_cause_missing",
        }
    }

    /// The name of the finding that counts the rule broken in recorded
    /// history (a key of the report's `findings`).
    pub fn finding(self) -> &'static str {
        match self {
            ProcessRule::CloseWithFollowUpPending => "closed_with_follow_up_pending",
            ProcessRule::ComplaintNotRouted => "complaints_resolved_unrouted",
            ProcessRule::RootCauseMissing => "complaints_without_root_cause",
        }
    }
}

/// A command refused by process policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("case {case_id}: refused by process policy `{}`: {}", rule.code(), self.message())]
pub struct ProcessRefusal {
    /// The case.
    pub case_id: CaseId,
    /// The broken rule.
    pub rule: ProcessRule,
    /// The complaint teams of the policy (for the routing rule's message).
    pub complaint_teams: Vec<TeamId>,
}

impl ProcessRefusal {
    fn message(&self) -> String {
        match self.rule {
            ProcessRule::CloseWithFollowUpPending => {
                "a follow-up is pending; complete it before closing the case".to_owned()
            }
            ProcessRule::ComplaintNotRouted => format!(
                "a complaint is resolved only after it was assigned to a complaint team ({})",
                Names(&self.complaint_teams)
            ),
            ProcessRule::RootCauseMissing => format!(
                "a complaint's resolution must name a root cause; allowed: {}",
                Names(
                    &RootCause::ALL
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                )
            ),
        }
    }
}

/// A comma-separated list.
struct Names<'a, T>(&'a [T]);

impl<T: fmt::Display> fmt::Display for Names<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            n.fmt(f)?;
        }
        Ok(())
    }
}

impl ProcessPolicy {
    /// A policy whose complaint-handling teams are `teams`.
    pub fn new(teams: impl IntoIterator<Item = TeamId>) -> ProcessPolicy {
        ProcessPolicy {
            complaint_teams: teams.into_iter().collect(),
        }
    }

    /// The complaint-handling teams.
    pub fn complaint_teams(&self) -> &[TeamId] {
        &self.complaint_teams
    }

    /// Whether `team` handles complaints.
    pub fn is_complaint_team(&self, team: &TeamId) -> bool {
        self.complaint_teams.contains(team)
    }

    /// The rule: a case may be closed only when no follow-up is pending.
    pub fn close_allowed(follow_up_pending: bool) -> bool {
        !follow_up_pending
    }

    /// The rule: a complaint may be resolved only when one of the teams it
    /// was assigned to (so far) handles complaints. Other cases always may.
    pub fn routed<'a>(
        &self,
        category: Option<Category>,
        teams_so_far: impl IntoIterator<Item = &'a TeamId>,
    ) -> bool {
        category != Some(Category::Complaint)
            || teams_so_far.into_iter().any(|t| self.is_complaint_team(t))
    }

    /// The rule: a complaint's resolution names a root cause. Other cases
    /// need none.
    pub fn root_cause_given(category: Option<Category>, root_cause: Option<RootCause>) -> bool {
        category != Some(Category::Complaint) || root_cause.is_some()
    }

    /// Checks `command` against the policy, on the case as it is before it
    /// (`state`). Call after the case rules ([`crate::decide`]) accepted it.
    pub fn check(&self, state: &CaseState, command: &Command) -> Result<(), ProcessRefusal> {
        let Some(case) = state.case() else {
            return Ok(());
        };
        let category = case.classification.map(|c| c.category);
        let broken = match &command.action {
            Action::Close if !Self::close_allowed(case.pending_follow_up.is_some()) => {
                Some(ProcessRule::CloseWithFollowUpPending)
            }
            Action::Resolve(_) if !self.routed(category, &case.teams) => {
                Some(ProcessRule::ComplaintNotRouted)
            }
            Action::Resolve(r) if !Self::root_cause_given(category, r.root_cause) => {
                Some(ProcessRule::RootCauseMissing)
            }
            _ => None,
        };
        match broken {
            None => Ok(()),
            Some(rule) => Err(ProcessRefusal {
                case_id: case.case_id,
                rule,
                complaint_teams: self.complaint_teams.clone(),
            }),
        }
    }
}
