//! Who may do what: roles ([`Role`]), the role directory that gives an
//! actor its roles ([`RoleDirectory`]), the permission table that gives
//! each action to roles ([`PermissionTable`], the default as a value), the
//! separation-of-duties rules, and their one check ([`check`]).
//!
//! docs/permissions.md is the specification: the table, the rules, the
//! directory's JSON form, and what a caller without a directory gets (no
//! check at all). Permissions are process policy, not case rules: the
//! service refuses a command its actor may not take
//! ([`ServiceError::NotPermitted`](crate::ServiceError::NotPermitted)),
//! while a recorded history that broke them is what happened and is only
//! reported ([`PermissionAudit`]'s findings).
//!
//! caseledger authorizes; the embedding system authenticates and passes
//! the actor.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::event::{Event, EventData};
use crate::ids::{Actor, AgentId, CaseId, KeyedState};
use crate::state::{CaseState, evolve};
use crate::vocab::{Category, UnknownValue};

vocabulary! {
    /// A role an actor holds. The actors `customer` and `system` hold the
    /// roles of the same name, built in; an agent holds the roles the
    /// [`RoleDirectory`] gives it.
    Role, "role" {
        /// The customer themself (the actor `customer`).
        Customer => "customer",
        /// A front-line agent.
        Agent => "agent",
        /// An agent entitled to handle complaints.
        ComplaintHandler => "complaint_handler",
        /// A supervisor: approves deadline extensions.
        Supervisor => "supervisor",
        /// Quality assurance: reviews handled cases.
        Qa => "qa",
        /// An automated system of the bank (the actor `system`).
        System => "system",
    }
}

vocabulary! {
    /// An action the permission table rules on: one row of the table
    /// (docs/permissions.md). Each event is one action ([`request_of`]);
    /// `resolved` is two, by the case's latest category before it.
    PermissionAction, "permission action" {
        /// `opened`.
        Open => "open",
        /// `classified`.
        Classify => "classify",
        /// `assigned`.
        Assign => "assign",
        /// `responded`.
        Respond => "respond",
        /// `awaiting_customer`.
        AwaitCustomer => "await_customer",
        /// `customer_replied`.
        RecordCustomerReply => "record_customer_reply",
        /// `escalated`.
        Escalate => "escalate",
        /// `resolved` on a case whose latest category is not `complaint`.
        ResolveNonComplaint => "resolve_non_complaint",
        /// `resolved` on a case whose latest category is `complaint`.
        ResolveComplaint => "resolve_complaint",
        /// `reopened`.
        Reopen => "reopen",
        /// `deadline_extended`.
        ExtendDeadline => "extend_deadline",
        /// `follow_up_scheduled`.
        ScheduleFollowUp => "schedule_follow_up",
        /// `follow_up_completed`.
        CompleteFollowUp => "complete_follow_up",
        /// `surveyed`.
        Survey => "survey",
        /// `closed`.
        Close => "close",
        /// A quality review of a handled case (the event `qa_reviewed`).
        QualityReview => "quality_review",
    }
}

vocabulary! {
    /// Which permission rule an action broke (docs/permissions.md).
    PermissionRule, "permission rule" {
        /// None of the actor's roles is marked for the action in the table.
        Table => "permission_table",
        /// A deadline extension's approver lacks the `supervisor` role.
        ApproverNotSupervisor => "approver_not_supervisor",
        /// A deadline extension's approver is the case's current agent.
        ApproverIsCurrentAgent => "approver_is_current_agent",
        /// A deadline extension's approver is the actor who records it.
        ApproverIsActor => "approver_is_actor",
        /// A quality review's reviewer is not its actor.
        ReviewerNotActor => "reviewer_not_actor",
        /// A quality review's reviewer lacks the `qa` role.
        ReviewerNotQa => "reviewer_not_qa",
        /// A quality review's reviewer was once assigned to the case.
        ReviewerWasAssigned => "reviewer_was_assigned",
        /// A quality review's reviewer recorded an event of the case before
        /// it: the work under review is partly theirs, assigned or not.
        ReviewerHandledCase => "reviewer_handled_case",
    }
}

/// A set of roles (a small bit set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(u8);

impl RoleSet {
    /// No role.
    pub const EMPTY: RoleSet = RoleSet(0);

    /// The set of `roles`.
    pub fn of(roles: &[Role]) -> RoleSet {
        roles.iter().fold(RoleSet::EMPTY, |s, r| s.with(*r))
    }

    /// This set and `role`.
    pub const fn with(self, role: Role) -> RoleSet {
        RoleSet(self.0 | (1 << role as u8))
    }

    /// Whether `role` is in the set.
    pub const fn contains(self, role: Role) -> bool {
        self.0 & (1 << role as u8) != 0
    }

    /// Whether the two sets share a role.
    pub const fn intersects(self, other: RoleSet) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles in the set, in [`Role::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.iter().copied().filter(move |r| self.contains(*r))
    }
}

/// The roles, comma-separated, or `none`.
impl fmt::Display for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, r) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(r.as_str())?;
        }
        Ok(())
    }
}

/// The roles as a JSON list of role names.
impl Serialize for RoleSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// The most bytes of a role directory's JSON form (a bank of 100,000
/// agents with a few roles each fits in a tenth of it).
pub const MAX_ROLE_DIRECTORY_JSON_BYTES: usize = 32 * 1024 * 1024;

/// Why a role directory was refused; each names the entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoleDirectoryError {
    /// The text is longer than [`MAX_ROLE_DIRECTORY_JSON_BYTES`].
    #[error("the role directory is {bytes} bytes; at most {MAX_ROLE_DIRECTORY_JSON_BYTES}")]
    TooLong {
        /// Its length.
        bytes: usize,
    },
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// An agent is listed twice: JSON leaves duplicates undefined, and
    /// keeping the last entry silently would grant roles other than the
    /// file shows.
    #[error("{}", crate::unique_json::twice(key))]
    DuplicateKey {
        /// The key's path: the agent id.
        key: String,
    },
    /// The JSON, or an entry's value, is not of the expected shape.
    #[error("{at}: expected {expected}, found {found}")]
    WrongType {
        /// Where: `the role directory`, or the agent's key.
        at: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// A key is not a valid agent id.
    #[error("agent `{key}`: {reason}")]
    BadAgent {
        /// The key as given.
        key: String,
        /// Why it is not an agent id.
        reason: crate::ids::TextError,
    },
    /// A key names the built-in actor `customer` or `system`.
    #[error(
        "`{key}` is a built-in actor with the role of the same name; the directory lists agents only"
    )]
    BuiltInActor {
        /// The key.
        key: String,
    },
    /// An agent is given a role that is not one.
    #[error("agent `{agent}`: {source}")]
    UnknownRole {
        /// The agent.
        agent: String,
        /// The value and the allowed roles.
        source: UnknownValue,
    },
    /// Two agents whose ids differ only in letter case (`sup-3` and
    /// `SUP-3`): an embedding whose sign-on ignores case would pass either
    /// for one person, who would then hold both entries' roles and pass
    /// the separation-of-duties rules as two people (approve the extension
    /// of a case they handle under the other id).
    #[error(
        "agents `{key}` and `{other}` differ only in letter case; one person would be two agents \
         with two sets of roles"
    )]
    CaseVariant {
        /// The agent refused.
        key: String,
        /// The agent listed before it.
        other: String,
    },
    /// An agent is given the role `customer` or `system`, which belong to
    /// the built-in actors alone.
    #[error(
        "agent `{agent}`: the role `{role}` belongs to the built-in actor `{role}` alone; an agent may have agent, complaint_handler, supervisor, qa"
    )]
    BuiltInRole {
        /// The agent.
        agent: String,
        /// The role.
        role: Role,
    },
}

/// Who holds which roles: the agents' roles, plus the built-in roles of
/// the actors `customer` and `system`. An agent not listed has no role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleDirectory {
    agents: HashMap<AgentId, RoleSet, KeyedState>,
    /// Each agent id by its case-folded form ([`case_folded`]): the
    /// case-variant check.
    folded: HashMap<String, AgentId, KeyedState>,
}

/// `id` with letter case folded: each character upper-cased, then
/// lower-cased, one at a time. Close to Unicode's full case folding where
/// `str::to_lowercase` is not: `ß` and `SS` both fold to `ss`, a final
/// sigma `ς` and `σ` both to `σ` (`to_lowercase` keeps `ß`, and writes
/// `Σ` at the end of a word as `ς`). The case-variant check of
/// [`RoleDirectory::grant`].
fn case_folded(id: &str) -> String {
    id.chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

impl RoleDirectory {
    /// An empty directory: only `customer` and `system` hold roles.
    pub fn new() -> RoleDirectory {
        RoleDirectory::default()
    }

    /// Gives `agent` the `roles` (added to any it has). The roles
    /// `customer` and `system` belong to the built-in actors and are
    /// refused, and so is an agent whose id differs from one listed only in
    /// letter case ([`RoleDirectoryError::CaseVariant`]).
    pub fn grant(
        &mut self,
        agent: AgentId,
        roles: &[Role],
    ) -> Result<&mut RoleDirectory, RoleDirectoryError> {
        if let Some(role) = roles
            .iter()
            .find(|r| matches!(r, Role::Customer | Role::System))
        {
            return Err(RoleDirectoryError::BuiltInRole {
                agent: agent.as_str().to_owned(),
                role: *role,
            });
        }
        let folded = case_folded(agent.as_str());
        match self.folded.get(&folded) {
            Some(other) if *other != agent => {
                return Err(RoleDirectoryError::CaseVariant {
                    key: agent.as_str().to_owned(),
                    other: other.as_str().to_owned(),
                });
            }
            Some(_) => {}
            None => {
                self.folded.insert(folded, agent.clone());
            }
        }
        let entry = self.agents.entry(agent).or_default();
        *entry = roles.iter().fold(*entry, |s, r| s.with(*r));
        Ok(self)
    }

    /// The roles of `actor`: `customer` and `system` their own role, an
    /// agent the directory's (none if not listed).
    pub fn roles_of(&self, actor: &Actor) -> RoleSet {
        match actor {
            Actor::Customer => RoleSet::EMPTY.with(Role::Customer),
            Actor::System => RoleSet::EMPTY.with(Role::System),
            Actor::Agent(a) => self.roles_of_agent(a),
        }
    }

    /// The roles the directory gives `agent` (none if not listed).
    pub fn roles_of_agent(&self, agent: &AgentId) -> RoleSet {
        self.agents.get(agent).copied().unwrap_or_default()
    }

    /// How many agents are listed.
    pub fn len(&self) -> usize {
        self.agents.len()
    }

    /// Whether no agent is listed.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// Reads the JSON form: an object from agent id to a list of role
    /// names, like `{"agent-17": ["agent"], "sup-3": ["supervisor",
    /// "agent"]}`.
    pub fn from_json(text: &str) -> Result<RoleDirectory, RoleDirectoryError> {
        if text.len() > MAX_ROLE_DIRECTORY_JSON_BYTES {
            return Err(RoleDirectoryError::TooLong { bytes: text.len() });
        }
        let v = crate::unique_json::parse(text).map_err(|e| match e {
            crate::unique_json::JsonError::Syntax(e) => RoleDirectoryError::NotJson(e),
            crate::unique_json::JsonError::DuplicateKey(key) => {
                RoleDirectoryError::DuplicateKey { key }
            }
        })?;
        let Some(entries) = v.as_object() else {
            return Err(RoleDirectoryError::WrongType {
                at: "the role directory".to_owned(),
                expected: r#"an object like {"agent-17": ["agent"]}"#,
                found: crate::event::kind_of(&v),
            });
        };
        let mut directory = RoleDirectory::new();
        for (key, roles) in entries {
            if key == Actor::CUSTOMER || key == Actor::SYSTEM {
                return Err(RoleDirectoryError::BuiltInActor { key: key.clone() });
            }
            let agent =
                AgentId::new(key.as_str()).map_err(|reason| RoleDirectoryError::BadAgent {
                    key: key.clone(),
                    reason,
                })?;
            let wrong = |found| RoleDirectoryError::WrongType {
                at: format!("agent `{key}`"),
                expected: "a list of role names",
                found,
            };
            let Some(list) = roles.as_array() else {
                return Err(wrong(crate::event::kind_of(roles)));
            };
            let mut parsed = Vec::with_capacity(list.len());
            for r in list {
                let Some(name) = r.as_str() else {
                    return Err(wrong(crate::event::kind_of(r)));
                };
                parsed.push(Role::parse(name).map_err(|source| {
                    RoleDirectoryError::UnknownRole {
                        agent: key.clone(),
                        source,
                    }
                })?);
            }
            directory.grant(agent, &parsed)?;
        }
        Ok(directory)
    }
}

/// Which roles may take each action: an action is allowed when the actor
/// has any role marked for it. [`PermissionTable::default`] is the table
/// of docs/permissions.md; change rows with [`set`](Self::set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionTable {
    rows: [RoleSet; PermissionAction::ALL.len()],
}

impl Default for PermissionTable {
    /// The default table (docs/permissions.md).
    fn default() -> PermissionTable {
        use Role::{Agent, ComplaintHandler as Handler, Customer, Qa, Supervisor, System};
        let mut t = PermissionTable {
            rows: [RoleSet::EMPTY; PermissionAction::ALL.len()],
        };
        for action in PermissionAction::ALL {
            let roles: &[Role] = match action {
                PermissionAction::Open => &[Customer, Agent, Handler, Supervisor, System],
                PermissionAction::Classify
                | PermissionAction::Assign
                | PermissionAction::AwaitCustomer
                | PermissionAction::Escalate
                | PermissionAction::ScheduleFollowUp
                | PermissionAction::CompleteFollowUp
                | PermissionAction::Close => &[Agent, Handler, Supervisor, System],
                PermissionAction::Respond
                | PermissionAction::ResolveNonComplaint
                | PermissionAction::ExtendDeadline => &[Agent, Handler, Supervisor],
                PermissionAction::RecordCustomerReply | PermissionAction::Reopen => {
                    &[Customer, Agent, Handler, Supervisor, System]
                }
                PermissionAction::ResolveComplaint => &[Handler, Supervisor],
                PermissionAction::Survey => &[Customer, System],
                PermissionAction::QualityReview => &[Qa],
            };
            t.set(*action, roles);
        }
        t
    }
}

impl PermissionTable {
    /// A table that allows nothing to anyone.
    pub fn deny_all() -> PermissionTable {
        PermissionTable {
            rows: [RoleSet::EMPTY; PermissionAction::ALL.len()],
        }
    }

    /// Replaces the roles marked for `action`.
    pub fn set(&mut self, action: PermissionAction, roles: &[Role]) -> &mut PermissionTable {
        self.rows[usize::from(action.code())] = RoleSet::of(roles);
        self
    }

    /// The roles marked for `action`.
    pub fn roles_for(&self, action: PermissionAction) -> RoleSet {
        // `code` is the index in `ALL`, and `rows` has one per value.
        self.rows
            .get(usize::from(action.code()))
            .copied()
            .unwrap_or_default()
    }

    /// Whether an actor with `roles` may take `action`.
    pub fn allows(&self, action: PermissionAction, roles: RoleSet) -> bool {
        self.roles_for(action).intersects(roles)
    }
}

/// What an event asks permission for: its row of the table and, for the
/// rows with a separation-of-duties rule, the person the event names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// A row without a separation rule.
    Plain(PermissionAction),
    /// [`PermissionAction::ExtendDeadline`], approved by `approved_by`.
    ExtendDeadline {
        /// The approver the event names.
        approved_by: &'a AgentId,
    },
    /// [`PermissionAction::QualityReview`], by `reviewer`.
    QualityReview {
        /// The reviewer the event names.
        reviewer: &'a AgentId,
    },
}

impl Request<'_> {
    /// The row of the table.
    pub fn action(&self) -> PermissionAction {
        match self {
            Request::Plain(a) => *a,
            Request::ExtendDeadline { .. } => PermissionAction::ExtendDeadline,
            Request::QualityReview { .. } => PermissionAction::QualityReview,
        }
    }
}

/// The request of an event with `data` on a case in `state` (the state
/// before the event): the one place events map to actions. The match is
/// exhaustive, so a new event type fails to compile here until it is
/// given its row.
pub fn request_of<'a>(state: &CaseState, data: &'a EventData) -> Request<'a> {
    use PermissionAction as A;
    Request::Plain(match data {
        EventData::Opened(_) => A::Open,
        EventData::Classified(_) => A::Classify,
        EventData::Assigned(_) => A::Assign,
        EventData::Responded => A::Respond,
        EventData::Escalated(_) => A::Escalate,
        EventData::Resolved(_) => {
            // The case's latest category before the event.
            let complaint = state
                .case()
                .and_then(|c| c.classification)
                .is_some_and(|c| c.category == Category::Complaint);
            if complaint {
                A::ResolveComplaint
            } else {
                A::ResolveNonComplaint
            }
        }
        EventData::Reopened(_) => A::Reopen,
        EventData::FollowUpScheduled(_) => A::ScheduleFollowUp,
        EventData::FollowUpCompleted(_) => A::CompleteFollowUp,
        EventData::Surveyed(_) => A::Survey,
        EventData::Closed => A::Close,
        EventData::AwaitingCustomer(_) => A::AwaitCustomer,
        EventData::CustomerReplied => A::RecordCustomerReply,
        EventData::DeadlineExtended(d) => {
            return Request::ExtendDeadline {
                approved_by: &d.approved_by,
            };
        }
        EventData::QaReviewed(q) => {
            return Request::QualityReview {
                reviewer: &q.reviewer,
            };
        }
    })
}

/// An action refused by the permissions (refusal `not_permitted`): who,
/// with which roles, tried what on which case, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The case.
    pub case_id: CaseId,
    /// Who tried.
    pub actor: Actor,
    /// The actor's roles.
    pub roles: RoleSet,
    /// What was tried.
    pub action: PermissionAction,
    /// The rule broken.
    pub rule: PermissionRule,
    /// The roles the table marks for the action.
    pub allowed: RoleSet,
    /// The approver or reviewer the event names, for a
    /// separation-of-duties rule.
    pub named: Option<AgentId>,
}

impl Denied {
    /// The stable name of the refusal, for machine-readable output.
    pub const CODE: &'static str = "not_permitted";

    /// Why, in words.
    fn why(&self) -> String {
        match self.rule {
            PermissionRule::Table if self.allowed.is_empty() => {
                format!("the permission table gives `{}` to no role", self.action)
            }
            PermissionRule::Table => format!(
                "the permission table gives `{}` to {} only",
                self.action, self.allowed
            ),
            rule => separation_why(rule, self.named.as_ref()),
        }
    }
}

/// Why a separation-of-duties `rule` was broken, in words, naming the
/// approver or reviewer the event `named`; empty for the permission table,
/// whose words need the table ([`Denied`]'s).
fn separation_why(rule: PermissionRule, named: Option<&AgentId>) -> String {
    let named = named.map_or("", AgentId::as_str);
    match rule {
        PermissionRule::Table => String::new(),
        PermissionRule::ApproverNotSupervisor => {
            format!("the approver `{named}` does not have the supervisor role")
        }
        PermissionRule::ApproverIsCurrentAgent => {
            format!("the approver `{named}` is the case's current agent")
        }
        PermissionRule::ApproverIsActor => {
            format!("the approver `{named}` is the actor who records the extension")
        }
        PermissionRule::ReviewerNotActor => {
            format!("the reviewer `{named}` is not the actor who records the review")
        }
        PermissionRule::ReviewerNotQa => {
            format!("the reviewer `{named}` does not have the qa role")
        }
        PermissionRule::ReviewerWasAssigned => {
            format!("the reviewer `{named}` was assigned to the case")
        }
        PermissionRule::ReviewerHandledCase => {
            format!("the reviewer `{named}` recorded events of the case")
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "case {}: `{}` (roles: {}) may not `{}`: {}",
            self.case_id,
            self.actor,
            self.roles,
            self.action,
            self.why()
        )
    }
}

impl std::error::Error for Denied {}

/// The permission check: may `actor` make `request` on case `case_id`,
/// in `state` (before the event)? The table first, then the
/// separation-of-duties rules (docs/permissions.md). The one place the
/// permission rules live.
pub fn check(
    directory: &RoleDirectory,
    table: &PermissionTable,
    case_id: CaseId,
    actor: &Actor,
    state: &CaseState,
    request: &Request<'_>,
) -> Result<(), Denied> {
    let roles = directory.roles_of(actor);
    let action = request.action();
    let deny = |rule, named: Option<&AgentId>| Denied {
        case_id,
        actor: actor.clone(),
        roles,
        action,
        rule,
        allowed: table.roles_for(action),
        named: named.cloned(),
    };
    if !table.allows(action, roles) {
        return Err(deny(PermissionRule::Table, None));
    }
    match request {
        Request::Plain(_) => Ok(()),
        Request::ExtendDeadline { approved_by } => {
            let approved_by = *approved_by;
            if !directory
                .roles_of_agent(approved_by)
                .contains(Role::Supervisor)
            {
                return Err(deny(
                    PermissionRule::ApproverNotSupervisor,
                    Some(approved_by),
                ));
            }
            let current = state
                .case()
                .and_then(|c| c.assignment.as_ref())
                .map(|a| &a.agent);
            if current == Some(approved_by) {
                return Err(deny(
                    PermissionRule::ApproverIsCurrentAgent,
                    Some(approved_by),
                ));
            }
            if actor.agent() == Some(approved_by) {
                return Err(deny(PermissionRule::ApproverIsActor, Some(approved_by)));
            }
            Ok(())
        }
        Request::QualityReview { reviewer } => {
            let reviewer = *reviewer;
            if actor.agent() != Some(reviewer) {
                return Err(deny(PermissionRule::ReviewerNotActor, Some(reviewer)));
            }
            if !directory.roles_of_agent(reviewer).contains(Role::Qa) {
                return Err(deny(PermissionRule::ReviewerNotQa, Some(reviewer)));
            }
            let assigned = state.case().is_some_and(|c| c.was_assigned(reviewer));
            if assigned {
                return Err(deny(PermissionRule::ReviewerWasAssigned, Some(reviewer)));
            }
            let handled = state.case().is_some_and(|c| c.has_acted(reviewer));
            if handled {
                return Err(deny(PermissionRule::ReviewerHandledCase, Some(reviewer)));
            }
            Ok(())
        }
    }
}

/// A role directory with the permission table it is checked against:
/// what a service ([`CaseService::with_permissions`](crate::CaseService::with_permissions))
/// and an audit ([`PermissionAudit`]) take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// Who holds which roles.
    pub directory: RoleDirectory,
    /// Which roles may take which action.
    pub table: PermissionTable,
}

impl Permissions {
    /// `directory` with the default table.
    pub fn new(directory: RoleDirectory) -> Permissions {
        Permissions {
            directory,
            table: PermissionTable::default(),
        }
    }

    /// Replaces the table.
    pub fn with_table(self, table: PermissionTable) -> Permissions {
        Permissions { table, ..self }
    }

    /// [`check`] of `event`, its actor and its request, against `state`,
    /// the case's state before it.
    pub fn check_event(&self, state: &CaseState, event: &Event) -> Result<(), Denied> {
        check(
            &self.directory,
            &self.table,
            event.case_id,
            &event.actor,
            state,
            &request_of(state, &event.data),
        )
    }
}

/// A recorded event whose actor lacked the permission (a `verify --roles`
/// or `report --roles` finding): where, who, what, and the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The event's position in the log.
    pub position: u64,
    /// The case.
    pub case_id: CaseId,
    /// Who recorded it.
    pub actor: Actor,
    /// The action.
    pub action: PermissionAction,
    /// The rule it breaks.
    pub rule: PermissionRule,
    /// The approver or reviewer the event names, for a
    /// separation-of-duties rule (`None` for the permission table).
    pub named: Option<AgentId>,
}

impl Finding {
    /// Why a separation-of-duties rule was broken, in words (``the approver
    /// `sup-2` is the case's current agent``); `None` for the permission
    /// table, whose rule is its action and the actor's roles.
    pub fn why(&self) -> Option<String> {
        (self.rule != PermissionRule::Table).then(|| separation_why(self.rule, self.named.as_ref()))
    }
}

/// The permission findings of a recorded history: fed every event of the
/// log (each case's in order; cases in any order, or split among audits
/// by case and [`merge`](Self::merge)d), it checks each against its
/// case's state before it. A history is what happened: nothing is
/// refused, every breach is listed.
#[derive(Debug, Clone, Default)]
pub struct PermissionAudit {
    permissions: Permissions,
    states: HashMap<CaseId, CaseState, KeyedState>,
    findings: Vec<Finding>,
}

impl PermissionAudit {
    /// An audit against `permissions`.
    pub fn new(permissions: Permissions) -> PermissionAudit {
        PermissionAudit {
            permissions,
            states: HashMap::default(),
            findings: Vec::new(),
        }
    }

    /// Checks the event at `position`, then folds it into its case.
    pub fn observe(&mut self, position: u64, event: &Event) {
        let state = self.states.entry(event.case_id).or_default();
        if let Err(d) = self.permissions.check_event(state, event) {
            self.findings.push(Finding {
                position,
                case_id: d.case_id,
                actor: d.actor,
                action: d.action,
                rule: d.rule,
                named: d.named,
            });
        }
        *state = evolve(std::mem::take(state), event);
    }

    /// Adds the findings of an audit of other cases.
    pub fn merge(&mut self, other: PermissionAudit) {
        self.findings.extend(other.findings);
        self.states.extend(other.states);
    }

    /// The findings so far, by position.
    pub fn findings(mut self) -> Vec<Finding> {
        self.findings.sort_by_key(|f| f.position);
        self.findings
    }
}
