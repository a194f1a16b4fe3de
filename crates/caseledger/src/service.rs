//! The application service that bank systems call: load a case, decide a
//! command, append with the expected version, and retry on a conflict.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use crate::decide::{Action, Command, decide};
use crate::error::CaseError;
use crate::event::{Event, EventData};
use crate::ids::{Actor, CaseId, EventId};
use crate::policy::{AppendCondition, ConditionFailure, FollowUpCapError};
use crate::port::{AppendError, EventLog, ExpectedVersion, RecordedEvent};
use crate::state::{CaseState, fold};

/// How many times a command is tried when other writers keep changing the
/// case between our read and our append. Why bounded: a hot case must fail
/// loudly rather than spin; five attempts cover any realistic contention.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// How many cases' states a service keeps in memory by default (see
/// [`CaseService::with_cache_capacity`]). Why bounded: a service runs for
/// months over millions of cases; the cache must not grow with the log.
/// A case's state is a few hundred bytes plus 16 per event id, so the
/// default holds about a megabyte; a case that fell out is read again in
/// full on its next command, then only its new events.
pub const STATE_CACHE_CASES: usize = 1024;

/// Where new event ids come from. The edge provides one: in production
/// `caseledger_ids::UuidV7Ids` (UUID v7 from the clock and randomness); the
/// domain reads neither.
pub trait IdSource: Send + Sync {
    /// A fresh, unique event id.
    fn next_event_id(&self) -> EventId;
}

/// For tests only: deterministic ids `prefix << 64 | n` for n = 1, 2, ...
///
/// They start again at 1 in every process, so a program restarted over a
/// durable log would hand out ids it recorded before; such commands are
/// refused ([`AppendError::IdempotencyKeyReused`]). Production code takes ids
/// from `caseledger_ids::UuidV7Ids`.
#[derive(Debug)]
pub struct SequentialIds {
    prefix: u64,
    next: AtomicU64,
}

impl SequentialIds {
    /// Ids with the given high 64 bits, counting from 1.
    pub fn new(prefix: u64) -> SequentialIds {
        SequentialIds {
            prefix,
            next: AtomicU64::new(1),
        }
    }
}

impl IdSource for SequentialIds {
    fn next_event_id(&self) -> EventId {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        EventId::from_u128((u128::from(self.prefix) << 64) | u128::from(n))
    }
}

/// Why a command was not recorded.
#[derive(Debug, thiserror::Error)]
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
}

/// What a recorded command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// What the service knows of a case: its state at some version and the
/// ids of the events folded into it (to tell a retry from a new command).
#[derive(Debug, Clone, Default)]
struct Known {
    state: CaseState,
    ids: Vec<EventId>,
}

/// A bounded cache of case states by case, each at the version it was
/// read or written at; the least recently used case leaves when it is full.
#[derive(Debug)]
struct StateCache {
    cases: HashMap<CaseId, (Known, u64)>,
    capacity: usize,
    tick: u64,
}

impl StateCache {
    fn new(capacity: usize) -> StateCache {
        StateCache {
            cases: HashMap::new(),
            capacity,
            tick: 0,
        }
    }

    /// What is known of a case (the initial state if nothing).
    fn get(&mut self, case_id: CaseId) -> Known {
        self.tick += 1;
        match self.cases.get_mut(&case_id) {
            Some((known, used)) => {
                *used = self.tick;
                known.clone()
            }
            None => Known::default(),
        }
    }

    /// Keeps `known` unless the cache holds a later version of the case.
    fn put(&mut self, case_id: CaseId, known: Known) {
        if self.capacity == 0 {
            return;
        }
        self.tick += 1;
        if let Some((held, used)) = self.cases.get_mut(&case_id) {
            if held.state.version() < known.state.version() {
                *held = known;
            }
            *used = self.tick;
            return;
        }
        if self.cases.len() >= self.capacity {
            let oldest = self
                .cases
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(case, _)| *case);
            if let Some(oldest) = oldest {
                self.cases.remove(&oldest);
            }
        }
        self.cases.insert(case_id, (known, self.tick));
    }

    fn len(&self) -> usize {
        self.cases.len()
    }
}

/// The application service over an event log.
#[derive(Debug)]
pub struct CaseService<L, I> {
    log: L,
    ids: I,
    cache: Mutex<StateCache>,
    max_attempts: u32,
}

impl<L: EventLog, I: IdSource> CaseService<L, I> {
    /// A service over `log`, taking new event ids from `ids`, keeping the
    /// states of up to [`STATE_CACHE_CASES`] cases.
    pub fn new(log: L, ids: I) -> Self {
        CaseService {
            log,
            ids,
            cache: Mutex::new(StateCache::new(STATE_CACHE_CASES)),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Sets how many cases' states the service keeps (0: none; every
    /// command then reads its case's whole stream).
    pub fn with_cache_capacity(self, cases: usize) -> Self {
        CaseService {
            cache: Mutex::new(StateCache::new(cases)),
            ..self
        }
    }

    /// How many cases' states the service holds now.
    pub fn cached_cases(&self) -> usize {
        self.cache().len()
    }

    fn cache(&self) -> MutexGuard<'_, StateCache> {
        // The cache is only read and replaced whole, entry by entry: a
        // panic while it is held cannot leave an entry half-updated.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What is known of a case now: the cached state, brought up to date
    /// with the events recorded since (only those are read).
    fn load(&self, case_id: CaseId) -> Result<Known, ServiceError<L::Error>> {
        let mut known = self.cache().get(case_id);
        let mut newer = self
            .log
            .read_stream_from(case_id, known.state.version() + 1)
            .map_err(ServiceError::Log)?;
        if newer.is_empty() {
            return Ok(known);
        }
        if newer[0].version != known.state.version() + 1 {
            // Not the continuation of what we know (the log was replaced
            // under us): read the case again from its start.
            known = Known::default();
            newer = self.log.read_stream(case_id).map_err(ServiceError::Log)?;
        }
        for r in &newer {
            known
                .state
                .apply_in_place(&r.event)
                .map_err(ServiceError::InvalidHistory)?;
            known.ids.push(r.event.event_id);
        }
        self.cache().put(case_id, known.clone());
        Ok(known)
    }

    /// Sets how many attempts a contended command gets (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The underlying log.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// The current state of a case.
    pub fn state(&self, case_id: CaseId) -> Result<CaseState, ServiceError<L::Error>> {
        Ok(self.load(case_id)?.state)
    }

    /// Records `action` on a case with a fresh event id.
    pub fn execute(
        &self,
        case_id: CaseId,
        at: DateTime<Utc>,
        actor: Actor,
        action: Action,
    ) -> Result<Outcome, ServiceError<L::Error>> {
        self.execute_command(Command {
            case_id,
            event_id: self.ids.next_event_id(),
            at,
            actor,
            action,
        })
    }

    /// Records a command. A command whose event id is recorded already is a
    /// retry when the recorded event is the one this command records against
    /// the case as it was before that event (see [`is_retry`]): it answers
    /// with the original event and records nothing. An event id recorded
    /// with any other event is refused with
    /// [`AppendError::IdempotencyKeyReused`]: nothing is recorded.
    ///
    /// A follow-up is appended with the cap as its condition, which the log
    /// checks in the same atomic step as the write: it holds across
    /// services, threads and processes sharing the log.
    pub fn execute_command(&self, command: Command) -> Result<Outcome, ServiceError<L::Error>> {
        for _ in 0..self.max_attempts {
            let known = self.load(command.case_id)?;
            if known.ids.contains(&command.event_id) {
                // Rare (a retry, or a reused key): judged on the whole history.
                let history = self
                    .log
                    .read_stream(command.case_id)
                    .map_err(ServiceError::Log)?;
                if let Some(k) = history
                    .iter()
                    .position(|r| r.event.event_id == command.event_id)
                {
                    return answer_retry(&command, known.state, &history, k);
                }
            }
            let state = known.state;
            let events = decide(&state, &command).map_err(ServiceError::Rule)?;
            if events.is_empty() {
                return Ok(Outcome {
                    state,
                    events,
                    positions: Vec::new(),
                    already_recorded: false,
                });
            }
            // A follow-up carries the cap as a condition: the log checks it
            // atomically with the write, whoever else appends.
            let conditions = match (&command.action, state.case()) {
                (Action::ScheduleFollowUp(f), Some(case)) => {
                    vec![AppendCondition::NoFollowUpTooClose {
                        customer_id: case.customer_id.clone(),
                        due: f.due,
                    }]
                }
                _ => Vec::new(),
            };
            let expected = ExpectedVersion::Exact(state.version());
            match self
                .log
                .append_with(command.case_id, expected, &events, &conditions)
            {
                Ok(appended) => {
                    let state = events.iter().fold(state, crate::state::evolve);
                    if !appended.already_stored && appended.stream_version == state.version() {
                        let mut ids = known.ids;
                        ids.extend(events.iter().map(|e| e.event_id));
                        let known = Known {
                            state: state.clone(),
                            ids,
                        };
                        self.cache().put(command.case_id, known);
                    }
                    return Ok(Outcome {
                        state,
                        events,
                        positions: appended.positions,
                        already_recorded: appended.already_stored,
                    });
                }
                Err(AppendError::WrongExpectedVersion { .. }) => continue,
                Err(AppendError::ConditionFailed {
                    failure: ConditionFailure::FollowUpCap(cap),
                    ..
                }) => return Err(ServiceError::FollowUpCap(cap)),
                Err(AppendError::Log(e)) => return Err(ServiceError::Log(e)),
                Err(other) => return Err(ServiceError::Append(other)),
            }
        }
        Err(ServiceError::Contention {
            case_id: command.case_id,
            attempts: self.max_attempts,
        })
    }
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
    if !is_retry(&before, command, &done.event) {
        return Err(ServiceError::Append(AppendError::IdempotencyKeyReused {
            case_id: command.case_id,
            event_id: command.event_id,
            recorded: Box::new(done.clone()),
        }));
    }
    Ok(Outcome {
        state,
        events: vec![done.event.clone()],
        positions: vec![done.position],
        already_recorded: true,
    })
}

/// Whether `recorded` is what `command` records against `before`, the case's
/// state before `recorded`: the test of a retry. The event is decided again
/// rather than compared field by field, so that the choices `decide` makes
/// count; one is relaxed: an escalation without a level matches a recorded
/// escalation to any level (its level was chosen when it was recorded).
pub fn is_retry(before: &CaseState, command: &Command, recorded: &Event) -> bool {
    let mut command = command.clone();
    if let (Action::Escalate { level, .. }, EventData::Escalated(e)) =
        (&mut command.action, &recorded.data)
    {
        level.get_or_insert(e.level);
    }
    matches!(decide(before, &command), Ok(events) if events.as_slice() == std::slice::from_ref(recorded))
}
