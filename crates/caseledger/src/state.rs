//! The state of one case, the case rules, and the fold of events into state.
//!
//! The rules live in exactly one function, [`check`]. Commands
//! ([`crate::decide`]), imported histories ([`CaseState::apply`] and
//! [`fold`]) and the store's verification all go through it, so a rule cannot
//! differ between the paths that record events and the paths that read them.

use std::collections::HashSet;
use std::hash::Hash;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::complaint::{Extension, is_extension_step};
use crate::error::{CaseError, Violation};
use crate::event::Classified;
use crate::event::{Event, EventData, EventType, FollowUpScheduled};
use crate::ids::{AgentId, CaseId, CustomerId, TeamId};
use crate::status::{Phase, Status};
use crate::vocab::{Category, Channel, Origin, Tier};

/// The current assignment of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    /// The agent.
    pub agent: AgentId,
    /// The agent's team, if given.
    pub team: Option<TeamId>,
}

/// A follow-up that was scheduled and not completed yet.
pub type PendingFollowUp = FollowUpScheduled;

/// An opened case: everything the rules and the history view need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Case {
    /// The case id.
    pub case_id: CaseId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The intake channel.
    pub channel: Channel,
    /// The customer's tier.
    pub tier: Tier,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// Its status (never [`Status::NotOpened`] here).
    pub status: Status,
    /// The latest classification.
    pub classification: Option<Classified>,
    /// The latest assignment.
    pub assignment: Option<Assignment>,
    /// The current escalation level (0: never escalated).
    pub escalation_level: u8,
    /// How many contacts by an agent so far: `responded` events whose actor
    /// is an agent ([`Event::agent_contact`](crate::Event::agent_contact);
    /// one by `system` or `customer` is no response).
    pub responses: u32,
    /// How many `resolved` events so far.
    pub resolutions: u32,
    /// How many `reopened` events so far.
    pub reopens: u32,
    /// Whether the current resolution has been surveyed.
    pub surveyed_this_resolution: bool,
    /// The pending follow-up, if any.
    pub pending_follow_up: Option<PendingFollowUp>,
    /// Whether the case was escalated since it was last (re)opened.
    pub escalated_since_open: bool,
    /// Whether the bank awaits the customer (`awaiting_customer` not yet
    /// ended by `customer_replied`, `resolved`, `reopened` or `closed`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_customer: bool,
    /// Its `deadline_extended` events, in order (at most one per extension
    /// step, so at most three: rule 9). Left out of the JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
    /// Every agent ever assigned to the case, in the order of their first
    /// assignment (the separation-of-duties rule of quality reviews:
    /// docs/permissions.md). Not in the JSON form: the `assigned` events
    /// show it.
    #[serde(skip)]
    pub agents_assigned: Vec<AgentId>,
    /// Every agent that recorded an event of the case as its actor, other
    /// than a quality review, in the order of their first (the
    /// separation-of-duties rule of quality reviews: who handled the case,
    /// assigned or not, does not review it; docs/permissions.md). Not in
    /// the JSON form: the events show their actors.
    #[serde(skip)]
    pub agents_acted: Vec<AgentId>,
    /// Who started the case. Left out of the JSON when `customer` (the
    /// default).
    #[serde(skip_serializing_if = "Origin::is_customer")]
    pub origin: Origin,
    /// The reviewers of its `qa_reviewed` events, in order (rule 10: each
    /// at most once). Left out of the JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reviewers: Vec<AgentId>,
    /// Every team the case was ever assigned to, in order of first
    /// assignment (process policy asks whether a complaint was routed to a
    /// complaint team: [`crate::process`]). Not in the JSON (the history
    /// view shows the assignments themselves).
    #[serde(skip)]
    pub teams: Vec<TeamId>,
    /// Sets of the id lists above, for lists too long to search one by
    /// one ([`IdSets`]): derived data, not in the JSON.
    #[serde(skip)]
    lookup: Lookup,
}

/// How long an id list of a [`Case`] may grow before it gets a set: below
/// this a search of the list is as fast as a hash, and a case pays no
/// memory for sets it does not need (nearly every case has a few agents).
const SEARCH_LIMIT: usize = 16;

/// The sets of a [`Case`]'s id lists that outgrew [`SEARCH_LIMIT`], each
/// holding exactly its list's ids: so that a case touched by k agents
/// (teams, reviewers) costs O(k), not O(k^2), to fold and to check.
#[derive(Debug, Clone, Default)]
struct IdSets {
    acted: Option<HashSet<AgentId>>,
    assigned: Option<HashSet<AgentId>>,
    teams: Option<HashSet<TeamId>>,
    reviewers: Option<HashSet<AgentId>>,
}

/// A case's [`IdSets`], boxed and only once a list needs one (8 bytes a
/// case otherwise). Derived from the lists, so it takes no part in
/// comparisons: two cases with the same lists are equal whether or not
/// either built its sets.
#[derive(Clone, Default)]
struct Lookup(Option<Box<IdSets>>);

impl PartialEq for Lookup {
    fn eq(&self, _: &Lookup) -> bool {
        true
    }
}

impl Eq for Lookup {}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookup")
    }
}

impl Lookup {
    /// The set `pick` chooses, if built.
    fn get<T>(&self, pick: fn(&IdSets) -> &Option<HashSet<T>>) -> Option<&HashSet<T>> {
        self.0.as_deref().and_then(|s| pick(s).as_ref())
    }
}

/// Whether `x` is in `list`, searched in its set when it has one.
fn listed<T: Eq + Hash>(list: &[T], set: Option<&HashSet<T>>, x: &T) -> bool {
    match set {
        Some(set) => set.contains(x),
        None => list.contains(x),
    }
}

/// Appends `x` to `list` (when `only_new`, only if it is not there yet),
/// keeping its set: built from the list once it outgrows
/// [`SEARCH_LIMIT`], then kept in step.
fn push_id<T: Eq + Hash + Clone>(
    list: &mut Vec<T>,
    lookup: &mut Lookup,
    pick: fn(&mut IdSets) -> &mut Option<HashSet<T>>,
    x: &T,
    only_new: bool,
) {
    let set = lookup.0.as_deref_mut().and_then(|s| pick(s).as_mut());
    if only_new && listed(list, set.as_deref(), x) {
        return;
    }
    list.push(x.clone());
    match set {
        Some(set) => {
            set.insert(x.clone());
        }
        None if list.len() > SEARCH_LIMIT => {
            *pick(lookup.0.get_or_insert_default()) = Some(list.iter().cloned().collect());
        }
        None => {}
    }
}

impl Case {
    /// Whether `agent` is in [`agents_acted`](Self::agents_acted).
    pub(crate) fn has_acted(&self, agent: &AgentId) -> bool {
        listed(&self.agents_acted, self.lookup.get(|s| &s.acted), agent)
    }

    /// Whether `agent` is in [`agents_assigned`](Self::agents_assigned).
    pub(crate) fn was_assigned(&self, agent: &AgentId) -> bool {
        listed(
            &self.agents_assigned,
            self.lookup.get(|s| &s.assigned),
            agent,
        )
    }

    /// Whether `reviewer` is in [`reviewers`](Self::reviewers).
    pub(crate) fn has_reviewed(&self, reviewer: &AgentId) -> bool {
        listed(&self.reviewers, self.lookup.get(|s| &s.reviewers), reviewer)
    }

    /// The finer phase of an open case; `None` when not open.
    pub fn phase(&self) -> Option<Phase> {
        Phase::of(
            self.status,
            self.escalated_since_open,
            self.reopens > 0,
            self.responses == 0 && self.assignment.is_none(),
        )
    }
}

/// The state of one case stream: the fold of its events so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaseState {
    case: Option<Case>,
    version: u64,
    last_at: Option<DateTime<Utc>>,
}

impl CaseState {
    /// The initial state: nothing has happened.
    pub fn initial() -> CaseState {
        CaseState::default()
    }

    /// The case, once opened.
    pub fn case(&self) -> Option<&Case> {
        self.case.as_ref()
    }

    /// The status ([`Status::NotOpened`] before the first event).
    pub fn status(&self) -> Status {
        self.case.as_ref().map_or(Status::NotOpened, |c| c.status)
    }

    /// How many events have been folded: the stream version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The time of the latest event.
    pub fn last_at(&self) -> Option<DateTime<Utc>> {
        self.last_at
    }

    /// Checks the rules, then evolves: the one way to fold a recorded event.
    pub fn apply(&self, event: &Event) -> Result<CaseState, CaseError> {
        check(self, event)?;
        Ok(evolve(self.clone(), event))
    }

    /// [`apply`](Self::apply) in place, without copying the state: for
    /// replays of long logs. On a broken rule the state is unchanged.
    pub fn apply_in_place(&mut self, event: &Event) -> Result<(), CaseError> {
        check(self, event)?;
        evolve_mut(self, event);
        Ok(())
    }
}

/// Builds the error for `event` against `state`.
fn broken(state: &CaseState, event: &Event, violation: Violation) -> CaseError {
    CaseError {
        case_id: event.case_id,
        event_id: Some(event.event_id),
        event_type: event.event_type(),
        status: state.status(),
        violation,
    }
}

/// The case rules (docs/events.md, rules 0 to 10): may `event` happen next?
///
/// This function is the only place the rules live.
pub fn check(state: &CaseState, event: &Event) -> Result<(), CaseError> {
    check_rules(state, event).map_err(|v| broken(state, event, v))
}

fn check_rules(state: &CaseState, event: &Event) -> Result<(), Violation> {
    let t = event.event_type();
    let Some(case) = &state.case else {
        // Rule 1: `opened` comes first.
        return if t == EventType::Opened {
            Ok(())
        } else {
            Err(Violation::NotOpened)
        };
    };
    // Rule 0: a stream holds one case.
    if event.case_id != case.case_id {
        return Err(Violation::WrongCase {
            stream: case.case_id,
        });
    }
    // Rule 2: nothing after `closed`, except a quality review (rule 10).
    if case.status == Status::Closed && t != EventType::QaReviewed {
        return Err(Violation::AfterClose);
    }
    // Rule 7: time never runs backwards.
    if let Some(previous) = state.last_at
        && event.at < previous
    {
        return Err(Violation::TimeWentBackwards {
            previous,
            at: event.at,
        });
    }
    let open = case.status == Status::Open;
    let resolved = case.status == Status::Resolved;
    match &event.data {
        // Rule 1: `opened` happens once.
        EventData::Opened(_) => Err(Violation::AlreadyOpened),
        // Rule 3: any time before `closed`.
        EventData::Classified(_) | EventData::Responded => Ok(()),
        // Rule 4: only while open.
        EventData::Assigned(_) if !open => Err(Violation::NotOpen),
        EventData::Assigned(_) => Ok(()),
        EventData::Escalated(_) if !open => Err(Violation::NotOpen),
        EventData::Escalated(e) if e.level.get() <= case.escalation_level => {
            Err(Violation::LevelNotHigher {
                current: case.escalation_level,
                requested: e.level,
            })
        }
        EventData::Escalated(_) => Ok(()),
        EventData::Resolved(_) if !open => Err(Violation::NotOpen),
        EventData::Resolved(_) if case.classification.is_none() => Err(Violation::Unclassified),
        EventData::Resolved(_) => Ok(()),
        // Rule 5: only while resolved.
        EventData::Reopened(_) | EventData::Closed if !resolved => Err(Violation::NotResolved),
        EventData::Reopened(_) | EventData::Closed => Ok(()),
        // A bank-originated case may schedule follow-ups while open too.
        EventData::FollowUpScheduled(_) if !(resolved || open && case.origin == Origin::Bank) => {
            Err(Violation::NotResolved)
        }
        EventData::FollowUpScheduled(_) => match &case.pending_follow_up {
            Some(pending) => Err(Violation::FollowUpPending { due: pending.due }),
            None => Ok(()),
        },
        EventData::Surveyed(_) if !resolved => Err(Violation::NotResolved),
        EventData::Surveyed(_) if case.surveyed_this_resolution => Err(Violation::AlreadySurveyed),
        EventData::Surveyed(_) => Ok(()),
        // Rule 6: only while a follow-up is pending.
        EventData::FollowUpCompleted(_) if case.pending_follow_up.is_none() => {
            Err(Violation::NoFollowUpPending)
        }
        EventData::FollowUpCompleted(_) => Ok(()),
        // Rule 8: a wait starts only while open and not waiting; a reply
        // comes only while waiting.
        EventData::AwaitingCustomer(_) if !open || case.awaiting_customer => {
            Err(Violation::CannotAwait)
        }
        EventData::AwaitingCustomer(_) => Ok(()),
        EventData::CustomerReplied if !case.awaiting_customer => Err(Violation::NotAwaiting),
        EventData::CustomerReplied => Ok(()),
        // Rule 9: only on an open complaint, to an extension step above
        // the last one.
        EventData::DeadlineExtended(_)
            if !open
                || case
                    .classification
                    .is_none_or(|c| c.category != Category::Complaint) =>
        {
            Err(Violation::NotOpenComplaint)
        }
        EventData::DeadlineExtended(d) => {
            let current = case.extensions.last().map_or(0, |e| e.days);
            if is_extension_step(d.days.get()) && d.days.get() > current {
                Ok(())
            } else {
                Err(Violation::NotAnExtensionStep {
                    current,
                    requested: d.days.get(),
                })
            }
        }
        // Rule 10: any time once opened (even after `closed`), once per
        // reviewer.
        EventData::QaReviewed(q) if case.has_reviewed(&q.reviewer) => {
            Err(Violation::AlreadyReviewed)
        }
        EventData::QaReviewed(_) => Ok(()),
    }
}

/// Folds one event into the state, assuming [`check`] accepted it.
///
/// Total: on an event that `check` would refuse it still returns a state
/// (the event is counted and otherwise ignored where it makes no sense), so
/// that it can never panic on data. Use [`CaseState::apply`] for untrusted
/// events.
pub fn evolve(mut state: CaseState, event: &Event) -> CaseState {
    evolve_mut(&mut state, event);
    state
}

/// [`evolve`] in place: a state is large enough that moving it in and out
/// of `evolve` for every event of a replay or an import shows in profiles.
fn evolve_mut(state: &mut CaseState, event: &Event) {
    state.version += 1;
    state.last_at = Some(state.last_at.map_or(event.at, |t| t.max(event.at)));
    let Some(case) = &mut state.case else {
        if let EventData::Opened(o) = &event.data {
            state.case = Some(Case {
                case_id: event.case_id,
                customer_id: o.customer_id.clone(),
                channel: o.channel,
                tier: o.tier,
                opened_at: event.at,
                status: Status::Open,
                classification: None,
                assignment: None,
                escalation_level: 0,
                responses: 0,
                resolutions: 0,
                reopens: 0,
                surveyed_this_resolution: false,
                pending_follow_up: None,
                escalated_since_open: false,
                awaiting_customer: false,
                extensions: Vec::new(),
                agents_assigned: Vec::new(),
                agents_acted: event.actor.agent().into_iter().cloned().collect(),
                origin: o.origin,
                reviewers: Vec::new(),
                teams: Vec::new(),
                lookup: Lookup::default(),
            });
        }
        return;
    };
    if let Some(agent) = event.actor.agent()
        && !matches!(event.data, EventData::QaReviewed(_))
    {
        push_id(
            &mut case.agents_acted,
            &mut case.lookup,
            |s| &mut s.acted,
            agent,
            true,
        );
    }
    match &event.data {
        EventData::Opened(_) => {}
        EventData::Classified(c) => case.classification = Some(*c),
        EventData::Assigned(a) => {
            push_id(
                &mut case.agents_assigned,
                &mut case.lookup,
                |s| &mut s.assigned,
                &a.agent,
                true,
            );
            if let Some(team) = &a.team {
                push_id(
                    &mut case.teams,
                    &mut case.lookup,
                    |s| &mut s.teams,
                    team,
                    true,
                );
            }
            case.assignment = Some(Assignment {
                agent: a.agent.clone(),
                team: a.team.clone(),
            });
        }
        // An acknowledgement by `system` or `customer` is no response.
        EventData::Responded => case.responses += u32::from(event.agent_contact().is_some()),
        EventData::Escalated(e) => {
            case.escalation_level = case.escalation_level.max(e.level.get());
            case.escalated_since_open = true;
        }
        EventData::Resolved(_) => {
            case.status = status_after(case.status, &event.data);
            case.resolutions += 1;
            case.surveyed_this_resolution = false;
            case.escalated_since_open = false;
            case.awaiting_customer = false;
        }
        EventData::Reopened(_) => {
            case.status = status_after(case.status, &event.data);
            case.reopens += 1;
            case.awaiting_customer = false;
        }
        EventData::FollowUpScheduled(f) => case.pending_follow_up = Some(*f),
        EventData::FollowUpCompleted(_) => case.pending_follow_up = None,
        EventData::Surveyed(_) => case.surveyed_this_resolution = true,
        EventData::Closed => {
            case.status = status_after(case.status, &event.data);
            case.awaiting_customer = false;
        }
        EventData::AwaitingCustomer(_) => case.awaiting_customer = true,
        EventData::CustomerReplied => case.awaiting_customer = false,
        EventData::DeadlineExtended(d) => case.extensions.push(Extension {
            at: event.at,
            days: d.days.get(),
        }),
        // Every review is listed, as recorded: `check` refuses a second
        // one by the same reviewer, `evolve` does not.
        EventData::QaReviewed(q) => push_id(
            &mut case.reviewers,
            &mut case.lookup,
            |s| &mut s.reviewers,
            &q.reviewer,
            false,
        ),
    }
}

/// The status of an opened case after `data`, from `status` before it: the
/// one place a case's status moves ([`evolve`] and the read models that keep
/// only the status, such as the follow-up plan's facts, use it). `resolved`
/// resolves, `reopened` opens again, `closed` closes; no other event moves
/// the status.
pub(crate) fn status_after(status: Status, data: &EventData) -> Status {
    match data {
        EventData::Opened(_) if status == Status::NotOpened => Status::Open,
        EventData::Resolved(_) => Status::Resolved,
        EventData::Reopened(_) => Status::Open,
        EventData::Closed => Status::Closed,
        _ => status,
    }
}

/// Folds a whole history, checking every event: the path import and verify use.
///
/// Returns the state after the last event, or the first broken rule.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Result<CaseState, CaseError> {
    let mut state = CaseState::initial();
    for event in events {
        state.apply_in_place(event)?;
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

    use super::*;

    /// Event `n` of case 1, minute `n`, by `actor`.
    fn event(n: u32, actor: &str, kind: &str, data: &str) -> Event {
        serde_json::from_str(&format!(
            r#"{{"case_id":"00000000-0000-0000-0000-000000000001","type":"{kind}","at":"2026-03-02T09:{:02}:{:02}Z","actor":"{actor}","event_id":"00000000-0000-0000-0001-{n:012}","data":{data}}}"#,
            n / 60 % 60,
            n % 60
        ))
        .unwrap()
    }

    /// Each id once, in the order of its first appearance: the lists'
    /// definition, kept the plain way.
    fn firsts<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for id in ids {
            if !out.iter().any(|o| o == id) {
                out.push(id.to_owned());
            }
        }
        out
    }

    /// A case touched by k agents, teams and reviewers, each coming back
    /// (k well past [`SEARCH_LIMIT`]): its lists are those of the plain
    /// definition, and once past the limit each has its set, holding the
    /// same ids.
    #[test]
    fn a_case_of_many_agents_keeps_its_lists_and_their_sets_in_step() {
        for k in [3, SEARCH_LIMIT, SEARCH_LIMIT + 1, 100] {
            let mut events = vec![
                event(
                    0,
                    "agent-0",
                    "opened",
                    r#"{"customer_id":"C-1","channel":"phone"}"#,
                ),
                event(
                    1,
                    "system",
                    "classified",
                    r#"{"category":"complaint","topic":"card","priority":"high"}"#,
                ),
            ];
            let (mut acted, mut assigned, mut teams, mut reviewers) =
                (vec!["agent-0".to_owned()], vec![], vec![], vec![]);
            let mut n = 2;
            for i in 0..2 * k {
                // Every id comes twice, the second time in reverse order.
                let j = if i < k { i } else { 2 * k - 1 - i };
                let (a, t, r) = (
                    format!("agent-{}", j * 7 % k + 1),
                    format!("team-{j}"),
                    format!("qa-{i}"),
                );
                events.push(event(
                    n,
                    "lead-1",
                    "assigned",
                    &format!(r#"{{"agent":"{a}","team":"{t}"}}"#),
                ));
                events.push(event(n + 1, &a, "responded", "{}"));
                events.push(event(
                    n + 2,
                    &r,
                    "qa_reviewed",
                    &format!(r#"{{"reviewer":"{r}","score":90}}"#),
                ));
                n += 3;
                acted.extend(["lead-1".to_owned(), a.clone()]);
                assigned.push(a);
                teams.push(t);
                reviewers.push(r);
            }
            let state = fold(&events).unwrap();
            let case = state.case().unwrap();
            let names = |v: &[AgentId]| v.iter().map(|a| a.as_str().to_owned()).collect::<Vec<_>>();
            assert_eq!(
                names(&case.agents_acted),
                firsts(acted.iter().map(String::as_str)),
                "{k}"
            );
            assert_eq!(
                names(&case.agents_assigned),
                firsts(assigned.iter().map(String::as_str)),
                "{k}"
            );
            let team_names: Vec<String> =
                case.teams.iter().map(|t| t.as_str().to_owned()).collect();
            assert_eq!(team_names, firsts(teams.iter().map(String::as_str)), "{k}");
            assert_eq!(names(&case.reviewers), reviewers, "{k}");
            let sets = case.lookup.0.as_deref();
            let set_of = |list: &[AgentId], set: Option<&HashSet<AgentId>>| {
                if list.len() > SEARCH_LIMIT {
                    assert_eq!(set.unwrap(), &list.iter().cloned().collect(), "{k}");
                } else {
                    assert!(set.is_none(), "{k}: a set for a short list");
                }
            };
            set_of(&case.agents_acted, sets.and_then(|s| s.acted.as_ref()));
            set_of(
                &case.agents_assigned,
                sets.and_then(|s| s.assigned.as_ref()),
            );
            set_of(&case.reviewers, sets.and_then(|s| s.reviewers.as_ref()));
            if case.teams.len() > SEARCH_LIMIT {
                let teams: HashSet<TeamId> = case.teams.iter().cloned().collect();
                assert_eq!(sets.and_then(|s| s.teams.as_ref()), Some(&teams), "{k}");
            }
            // Each reviewer reviews once, found early or late in the list.
            for r in [
                &reviewers[0],
                &reviewers[reviewers.len() / 2],
                &reviewers[reviewers.len() - 1],
            ] {
                let again = event(
                    n,
                    r,
                    "qa_reviewed",
                    &format!(r#"{{"reviewer":"{r}","score":10}}"#),
                );
                assert_eq!(
                    check(&state, &again).unwrap_err().violation,
                    Violation::AlreadyReviewed,
                    "{k} {r}"
                );
                assert!(case.has_reviewed(&AgentId::new(r).unwrap()));
            }
            let new = event(
                n,
                "qa-new",
                "qa_reviewed",
                r#"{"reviewer":"qa-new","score":10}"#,
            );
            check(&state, &new).unwrap();
            assert!(!case.has_acted(&AgentId::new("qa-new").unwrap()));
            assert!(case.has_acted(&AgentId::new(&acted[acted.len() - 1]).unwrap()));
            assert!(case.was_assigned(&AgentId::new(&assigned[0]).unwrap()));
            // A state that built its sets equals one that did not.
            let mut plain = state.clone();
            if let Some(c) = plain.case.as_mut() {
                c.lookup = Lookup::default();
            }
            assert_eq!(plain, state);
        }
    }
}
