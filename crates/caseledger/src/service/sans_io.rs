//! The service without its I/O: [`ServiceCore`] and the state machine of
//! one command, [`CommandRun`], with what a command ends in.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::complaint::{ComplaintPolicy, ExtensionRefused};
use crate::decide::{Action, Command, decide};
use crate::error::CaseError;
use crate::event::{Event, EventData};
use crate::ids::CaseId;
use crate::permission::{Denied, Permissions};
use crate::policy::{AppendCondition, ConditionFailure, FollowUpCapError};
use crate::port::{AppendError, Appended, ExpectedVersion, IdUse, RecordedEvent};
use crate::process::{ProcessPolicy, ProcessRefusal};
use crate::state::{CaseState, fold};

use super::cache::{Known, StateCache};

/// How many times a command is tried when other writers keep changing the
/// case between our read and our append. Why bounded: a hot case must fail
/// loudly rather than spin; five attempts cover any realistic contention.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// How many cases' states a service keeps in memory by default (see
/// [`CaseService::with_cache_capacity`](crate::CaseService::with_cache_capacity)). Why bounded: a service runs for
/// months over millions of cases; the cache must not grow with the log.
/// A case's state is a few hundred bytes plus 16 per event id, so the
/// default holds about a megabyte; a case that fell out is read again in
/// full on its next command, then only its new events.
pub const STATE_CACHE_CASES: usize = 1024;

/// Why a command was not recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError<E> {
    /// The command breaks a case rule.
    #[error(transparent)]
    Rule(CaseError),
    /// The command breaks the follow-up cap: the log refused the append's
    /// condition ([`AppendCondition::NoFollowUpTooClose`]), naming the
    /// recorded follow-up in the way.
    #[error(transparent)]
    FollowUpCap(FollowUpCapError),
    /// The stored history of the case itself breaks a rule: the log is bad.
    #[error("the stored history is invalid: {0}")]
    InvalidHistory(CaseError),
    /// Other writers changed the case on every attempt.
    #[error("case {case_id}: gave up after {attempts} attempts; other writers kept changing it")]
    Contention {
        /// The case.
        case_id: CaseId,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The log refused the append for another reason than the version.
    #[error(transparent)]
    Append(AppendError<E>),
    /// The log failed.
    #[error(transparent)]
    Log(E),
    /// The process policy refuses the command (docs/events.md, "Process
    /// policy"): a close while a follow-up is pending, a complaint resolved
    /// before it was routed to a complaint team or without a root cause.
    #[error(transparent)]
    Process(ProcessRefusal),
    /// The complaint policy refuses the deadline extension (process
    /// policy: the regime's next step, recorded before the deadline).
    #[error("case {case_id}: the deadline extension is refused: {reason}")]
    Extension {
        /// The case.
        case_id: CaseId,
        /// Why.
        reason: ExtensionRefused,
    },
    /// The actor may not take the action (refusal `not_permitted`): the
    /// service has a role directory and the permission table, or a
    /// separation-of-duties rule, refuses it (docs/permissions.md).
    /// Nothing was recorded.
    #[error(transparent)]
    NotPermitted(Box<Denied>),
}

/// What a recorded command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// The case's state after the command.
    pub state: CaseState,
    /// The events recorded (empty when the command changed nothing).
    pub events: Vec<Event>,
    /// Their positions in the log.
    pub positions: Vec<u64>,
    /// True when the command's event id was recorded already (a retry).
    pub already_recorded: bool,
}

/// The application service without its I/O: the state cache, the bound on
/// attempts, and the steps of a command ([`CommandRun`]) as a state machine
/// that asks for each read and append it needs ([`Io`]) and is given the
/// answer ([`Reply`]). Every face of the service drives it: the blocking
/// [`CaseService`](crate::CaseService) by calling its [`EventLog`](crate::EventLog), an async face by awaiting
/// its own log, so the decide, append and retry loop is written once.
///
/// `Sync`: one core serves any number of runs at once, each a command.
#[derive(Debug)]
pub struct ServiceCore {
    cache: Mutex<StateCache>,
    max_attempts: u32,
    complaints: ComplaintPolicy,
    /// `None`: no role directory, every actor may take every action.
    permissions: Option<Permissions>,
    process: ProcessPolicy,
}

impl Default for ServiceCore {
    fn default() -> Self {
        ServiceCore::new()
    }
}

impl ServiceCore {
    /// A core keeping the states of up to [`STATE_CACHE_CASES`] cases and
    /// giving a command [`DEFAULT_MAX_ATTEMPTS`] attempts.
    pub fn new() -> ServiceCore {
        ServiceCore {
            cache: Mutex::new(StateCache::new(STATE_CACHE_CASES)),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            complaints: ComplaintPolicy::default(),
            permissions: None,
            process: ProcessPolicy::default(),
        }
    }

    /// Checks every command's events against `permissions` (a role
    /// directory and the permission table) and refuses those its actor may
    /// not cause ([`ServiceError::NotPermitted`]). Without it (the
    /// default) every actor may take every action the case rules allow.
    pub fn with_permissions(mut self, permissions: Permissions) -> ServiceCore {
        self.permissions = Some(permissions);
        self
    }

    /// Sets the process policy commands are checked against (default:
    /// [`ProcessPolicy::default`], one complaint team, `complaints`).
    pub fn with_process_policy(mut self, policy: ProcessPolicy) -> ServiceCore {
        self.process = policy;
        self
    }

    /// Sets the complaint policy deadline extensions are checked against
    /// (default: `cn-2020` for every topic, the default calendar).
    pub fn with_complaint_policy(mut self, policy: ComplaintPolicy) -> ServiceCore {
        self.complaints = policy;
        self
    }

    /// Sets how many cases' states the core keeps (0: none).
    pub fn with_cache_capacity(self, cases: usize) -> ServiceCore {
        ServiceCore {
            cache: Mutex::new(StateCache::new(cases)),
            ..self
        }
    }

    /// Sets how many attempts a contended command gets (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> ServiceCore {
        self.max_attempts = attempts.max(1);
        self
    }

    /// How many cases' states the core holds now.
    pub fn cached_cases(&self) -> usize {
        self.cache().len()
    }

    fn cache(&self) -> MutexGuard<'_, StateCache> {
        // The cache is only read and replaced whole, entry by entry: a
        // panic while it is held cannot leave an entry half-updated.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The run of `command` (see [`CaseService::execute_command`](crate::CaseService::execute_command) for what
    /// it does); it finishes with the command's [`Outcome`].
    pub fn execute(&self, command: Command) -> CommandRun<'_> {
        CommandRun {
            core: self,
            case_id: command.case_id,
            command: Some(command),
            attempt: 0,
            reread_for_retry: false,
            stage: Stage::Start,
        }
    }

    /// The run that reads a case's current state: it finishes with an
    /// [`Outcome`] that records nothing and holds the state.
    pub fn load(&self, case_id: CaseId) -> CommandRun<'_> {
        CommandRun {
            core: self,
            case_id,
            command: None,
            attempt: 0,
            reread_for_retry: false,
            stage: Stage::Start,
        }
    }
}

/// A read or an append that a [`CommandRun`] needs done before its next
/// step.
#[derive(Debug, Clone, Copy)]
pub enum Io<'a> {
    /// [`EventLog::read_stream_from`](crate::EventLog::read_stream_from); answer with [`Reply::Read`].
    Read {
        /// The stream.
        case_id: CaseId,
        /// The first version wanted.
        from_version: u64,
    },
    /// [`EventLog::append_with`](crate::EventLog::append_with); answer with [`Reply::Appended`].
    Append {
        /// The stream.
        case_id: CaseId,
        /// The version the stream must be at.
        expected: ExpectedVersion,
        /// The events to append.
        events: &'a [Event],
        /// The conditions the append carries.
        conditions: &'a [AppendCondition],
    },
}

/// The answer to an [`Io`], as the log gave it.
#[derive(Debug)]
pub enum Reply<E> {
    /// The answer to [`Io::Read`].
    Read(Result<Vec<RecordedEvent>, E>),
    /// The answer to [`Io::Append`].
    Appended(Result<Appended, AppendError<E>>),
}

/// What a [`CommandRun`] wants next.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "`Done` comes once per command and is moved straight out; boxing it would add an allocation to every command for no gain (the case's state grew with issue 19's origin, reviewers and teams)"
)]
pub enum Step<'a, E> {
    /// This read or append, answered with the next call's [`Reply`].
    Io(Io<'a>),
    /// The run is over, with this answer.
    Done(Result<Outcome, ServiceError<E>>),
}

/// One command (or one state read) going through the service's steps,
/// without I/O: bring the case's state up to date, tell a retry, decide,
/// append with the expected version and the command's conditions, and
/// start again on a version conflict, at most the core's attempts.
///
/// A face calls [`CommandRun::step`] with `None` first, then with the
/// [`Reply`] to each [`Io`] it is asked for, until [`Step::Done`]. A run
/// dropped between steps leaves nothing behind but what its log did: the
/// cache only takes states read from or written to the log.
#[derive(Debug)]
pub struct CommandRun<'s> {
    core: &'s ServiceCore,
    case_id: CaseId,
    /// `None`: a state read.
    command: Option<Command>,
    attempt: u32,
    /// Whether the log already said, once, that the command's events were
    /// recorded by another writer (stored already, or its id with other
    /// content): the run read the case again to judge it as a retry, and
    /// does not a second time.
    reread_for_retry: bool,
    stage: Stage,
}

/// Where a run is.
#[derive(Debug)]
enum Stage {
    /// A new attempt: read what the cache does not know yet.
    Start,
    /// Waiting for the events after `known`.
    CatchingUp { known: Known },
    /// Waiting for the whole stream (what was read did not continue
    /// `known`: the log was replaced).
    Reloading,
    /// Waiting for the whole stream, to tell a retry (the command's id is
    /// among the case's).
    History { known: Known },
    /// Waiting for the append of `events`, decided against `known`.
    Appending {
        known: Known,
        events: Vec<Event>,
        conditions: Vec<AppendCondition>,
    },
    /// Finished.
    Over,
}

impl CommandRun<'_> {
    /// The next step, given the reply to the last [`Io`] asked for (`None`
    /// at the first call). A reply that does not answer the last request
    /// (a face's bug) is dropped, and a new attempt starts with a read.
    /// After [`Step::Done`] the run is over: a further step answers
    /// [`ServiceError::Contention`].
    pub fn step<E>(&mut self, reply: Option<Reply<E>>) -> Step<'_, E> {
        let stage = std::mem::replace(&mut self.stage, Stage::Over);
        let next = match (stage, reply) {
            (Stage::Start, _) => self.start(),
            (Stage::CatchingUp { known }, Some(Reply::Read(newer))) => match newer {
                Err(e) => Err(ServiceError::Log(e)),
                Ok(newer) => self.catch_up(known, newer, false),
            },
            (Stage::Reloading, Some(Reply::Read(all))) => match all {
                Err(e) => Err(ServiceError::Log(e)),
                Ok(all) => self.catch_up(Known::default(), all, true),
            },
            (Stage::History { known }, Some(Reply::Read(history))) => match history {
                Err(e) => Err(ServiceError::Log(e)),
                Ok(history) => self.judge_retry(known, &history),
            },
            (
                Stage::Appending {
                    known,
                    events,
                    conditions: _,
                },
                Some(Reply::Appended(result)),
            ) => self.appended(known, events, result),
            (Stage::Over, _) => Err(ServiceError::Contention {
                case_id: self.case_id,
                attempts: self.attempt,
            }),
            // Not the answer to what was asked: start the attempt again.
            (_, _) => self.start(),
        };
        match next {
            Err(e) => Step::Done(Err(e)),
            Ok(Next::Done(outcome)) => Step::Done(Ok(outcome)),
            Ok(Next::Stage(stage)) => {
                self.stage = stage;
                self.request()
            }
        }
    }

    /// The I/O the current stage waits for.
    fn request<E>(&self) -> Step<'_, E> {
        let case_id = self.case_id;
        let read = |from_version| {
            Step::Io(Io::Read {
                case_id,
                from_version,
            })
        };
        match &self.stage {
            Stage::Start | Stage::Over => Step::Done(Err(ServiceError::Contention {
                case_id,
                attempts: self.attempt,
            })),
            Stage::CatchingUp { known } => read(known.state.version() + 1),
            Stage::Reloading | Stage::History { .. } => read(1),
            Stage::Appending {
                known,
                events,
                conditions,
            } => Step::Io(Io::Append {
                case_id,
                expected: ExpectedVersion::Exact(known.state.version()),
                events,
                conditions,
            }),
        }
    }

    /// A new attempt, if any is left: read what the cache does not know.
    fn start<E>(&mut self) -> Result<Next, ServiceError<E>> {
        if self.attempt >= self.core.max_attempts {
            return Err(ServiceError::Contention {
                case_id: self.case_id,
                attempts: self.attempt,
            });
        }
        self.attempt += 1;
        let known = self.core.cache().get(self.case_id);
        Ok(Next::Stage(Stage::CatchingUp { known }))
    }

    /// Folds the events read after `known` (`whole`: the whole stream, read
    /// again); then decides.
    fn catch_up<E>(
        &mut self,
        mut known: Known,
        newer: Vec<RecordedEvent>,
        whole: bool,
    ) -> Result<Next, ServiceError<E>> {
        if let Some(first) = newer.first() {
            if !whole && first.version != known.state.version() + 1 {
                // Not the continuation of what we know (the log was
                // replaced under us): read the case again from its start.
                return Ok(Next::Stage(Stage::Reloading));
            }
            for r in &newer {
                known
                    .state
                    .apply_in_place(&r.event)
                    .map_err(ServiceError::InvalidHistory)?;
                known.ids.push(r.event.event_id);
            }
            self.core.cache().put(self.case_id, known.clone());
        }
        let Some(command) = &self.command else {
            return Ok(Next::Done(Outcome {
                state: known.state,
                events: Vec::new(),
                positions: Vec::new(),
                already_recorded: false,
            }));
        };
        if known.ids.contains(&command.event_id) {
            // Rare (a retry, or a reused key): judged on the whole history.
            return Ok(Next::Stage(Stage::History { known }));
        }
        self.decide(known)
    }

    /// Answers a command whose id the case holds, from its whole history.
    fn judge_retry<E>(
        &mut self,
        known: Known,
        history: &[RecordedEvent],
    ) -> Result<Next, ServiceError<E>> {
        let Some(command) = &self.command else {
            return self.decide(known);
        };
        match history
            .iter()
            .position(|r| r.event.event_id == command.event_id)
        {
            Some(k) => answer_retry(command, known.state, history, k).map(Next::Done),
            None => self.decide(known),
        }
    }

    /// Decides the command against `known`; asks for the append.
    fn decide<E>(&mut self, known: Known) -> Result<Next, ServiceError<E>> {
        let Some(command) = &self.command else {
            return Ok(Next::Done(Outcome {
                state: known.state,
                events: Vec::new(),
                positions: Vec::new(),
                already_recorded: false,
            }));
        };
        let events = decide(&known.state, command).map_err(ServiceError::Rule)?;
        // Who may do what (docs/permissions.md), after the case rules: each
        // event against the state before it.
        if let Some(permissions) = &self.core.permissions {
            let mut before = std::borrow::Cow::Borrowed(&known.state);
            for (i, event) in events.iter().enumerate() {
                permissions
                    .check_event(&before, event)
                    .map_err(|d| ServiceError::NotPermitted(Box::new(d)))?;
                if i + 1 < events.len() {
                    before =
                        std::borrow::Cow::Owned(crate::state::evolve(before.into_owned(), event));
                }
            }
        }
        // The process policy, after the case rules.
        self.core
            .process
            .check(&known.state, command)
            .map_err(ServiceError::Process)?;
        // The process policy on extensions, after the case rules.
        if let (Action::ExtendDeadline(d), Some(case)) = (&command.action, known.state.case()) {
            self.core
                .complaints
                .check_extension(
                    case.classification.map(|c| c.topic),
                    case.opened_at,
                    &case.extensions,
                    command.at,
                    d.days.get(),
                )
                .map_err(|reason| ServiceError::Extension {
                    case_id: case.case_id,
                    reason,
                })?;
        }
        if events.is_empty() {
            return Ok(Next::Done(Outcome {
                state: known.state,
                events,
                positions: Vec::new(),
                already_recorded: false,
            }));
        }
        // A follow-up carries the cap as a condition: the log checks it
        // atomically with the write, whoever else appends.
        let conditions = match (&command.action, known.state.case()) {
            (Action::ScheduleFollowUp(f), Some(case)) => {
                vec![AppendCondition::NoFollowUpTooClose {
                    customer_id: case.customer_id.clone(),
                    due: f.due,
                }]
            }
            _ => Vec::new(),
        };
        Ok(Next::Stage(Stage::Appending {
            known,
            events,
            conditions,
        }))
    }

    /// The log's answer to the append: the outcome, or another attempt.
    fn appended<E>(
        &mut self,
        known: Known,
        events: Vec<Event>,
        result: Result<Appended, AppendError<E>>,
    ) -> Result<Next, ServiceError<E>> {
        // Another writer recorded this command's events (the same retry
        // from elsewhere) between our read and our append: read the case
        // again and judge the command on its whole history, as a retry
        // found at the read is judged, so that the answer (the retry's
        // outcome, with the case's state now; or the refusal of a reused
        // key) is the same whichever comes first. The log judged the
        // events decided against a stale state, which may differ from the
        // recorded ones (an escalation's level) although the command is the
        // same.
        // The same holds when the stale decision gave another number of
        // events than the recorded one (a `not_resolved` follow-up derives
        // a reopen only on a resolved case): the log finds the first id
        // stored and the others not, or stored elsewhere in this case.
        let raced = match &result {
            Ok(appended) => appended.already_stored,
            Err(AppendError::IdempotencyKeyReused { recorded, .. }) => {
                recorded.event.case_id == self.case_id
            }
            Err(AppendError::EventIdClash { where_, .. }) => match where_ {
                IdUse::ByFirstEventOnly => true,
                IdUse::Stored(at) => at.case_id == self.case_id,
                _ => false,
            },
            Err(_) => false,
        };
        if raced && !self.reread_for_retry {
            // Not a new attempt (nothing conflicted): the read only.
            self.reread_for_retry = true;
            let known = self.core.cache().get(self.case_id);
            return Ok(Next::Stage(Stage::CatchingUp { known }));
        }
        match result {
            Ok(appended) => {
                let state = events.iter().fold(known.state, crate::state::evolve);
                if !appended.already_stored && appended.stream_version == state.version() {
                    let mut ids = known.ids;
                    ids.extend(events.iter().map(|e| e.event_id));
                    let known = Known {
                        state: state.clone(),
                        ids,
                    };
                    self.core.cache().put(self.case_id, known);
                }
                Ok(Next::Done(Outcome {
                    state,
                    events,
                    positions: appended.positions,
                    already_recorded: appended.already_stored,
                }))
            }
            Err(AppendError::WrongExpectedVersion { .. }) => self.start(),
            Err(AppendError::ConditionFailed {
                failure: ConditionFailure::FollowUpCap(cap),
                ..
            }) => Err(ServiceError::FollowUpCap(cap)),
            Err(AppendError::Log(e)) => Err(ServiceError::Log(e)),
            Err(other) => Err(ServiceError::Append(other)),
        }
    }
}

/// Where a step leads.
enum Next {
    Stage(Stage),
    Done(Outcome),
}

/// Answers a command whose event id is recorded in its case already, at
/// `history[k]`: the original event if the command is a retry of it,
/// otherwise the refusal of a reused key. `state` is the case's state now.
fn answer_retry<E>(
    command: &Command,
    state: CaseState,
    history: &[RecordedEvent],
    k: usize,
) -> Result<Outcome, ServiceError<E>> {
    let done = &history[k];
    let before =
        fold(history[..k].iter().map(|r| &r.event)).map_err(ServiceError::InvalidHistory)?;
    // The events the command records (more than one when it derives some:
    // the reopen of a `not_resolved` follow-up), to answer with all of
    // those that were recorded with it.
    let decided = decide(&before, command).unwrap_or_default();
    if !is_retry(&before, command, &done.event) {
        return Err(ServiceError::Append(AppendError::IdempotencyKeyReused {
            case_id: command.case_id,
            event_id: command.event_id,
            recorded: Box::new(done.clone()),
        }));
    }
    // The command's own event, then the derived ones recorded after it.
    let recorded: Vec<&RecordedEvent> = history[k..]
        .iter()
        .take(decided.len().max(1))
        .enumerate()
        .take_while(|(i, r)| *i == 0 || decided.get(*i) == Some(&r.event))
        .map(|(_, r)| r)
        .collect();
    Ok(Outcome {
        state,
        events: recorded.iter().map(|r| r.event.clone()).collect(),
        positions: recorded.iter().map(|r| r.position).collect(),
        already_recorded: true,
    })
}

/// Whether `recorded` is what `command` records against `before`, the case's
/// state before `recorded`: the test of a retry. The event is decided again
/// rather than compared field by field, so that the choices `decide` makes
/// count; one is relaxed: an escalation without a level matches a recorded
/// escalation to any level (its level was chosen when it was recorded).
/// A command that records several events (a `not_resolved` follow-up and
/// its reopen) is judged by the first, its own.
pub fn is_retry(before: &CaseState, command: &Command, recorded: &Event) -> bool {
    let mut command = command.clone();
    if let (Action::Escalate { level, .. }, EventData::Escalated(e)) =
        (&mut command.action, &recorded.data)
    {
        level.get_or_insert(e.level);
    }
    matches!(decide(before, &command), Ok(events) if events.first() == Some(recorded))
}
