//! The blocking service: [`CaseService`] drives a [`ServiceCore`] with
//! calls to its [`EventLog`], taking event ids from an [`IdSource`].

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use crate::decide::{Action, Command};
use crate::ids::{Actor, CaseId, EventId};
use crate::port::EventLog;
use crate::state::CaseState;

use super::sans_io::{CommandRun, Io, Outcome, Reply, ServiceCore, ServiceError, Step};

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
/// refused ([`AppendError::IdempotencyKeyReused`](crate::AppendError::IdempotencyKeyReused)). Production code takes ids
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

/// The application service over an event log.
#[derive(Debug)]
pub struct CaseService<L, I> {
    log: L,
    ids: I,
    core: ServiceCore,
}

impl<L: EventLog, I: IdSource> CaseService<L, I> {
    /// A service over `log`, taking new event ids from `ids`, keeping the
    /// states of up to [`STATE_CACHE_CASES`](crate::STATE_CACHE_CASES) cases.
    pub fn new(log: L, ids: I) -> Self {
        CaseService {
            log,
            ids,
            core: ServiceCore::new(),
        }
    }

    /// Sets how many cases' states the service keeps (0: none; every
    /// command then reads its case's whole stream).
    pub fn with_cache_capacity(self, cases: usize) -> Self {
        CaseService {
            core: self.core.with_cache_capacity(cases),
            ..self
        }
    }

    /// How many cases' states the service holds now.
    pub fn cached_cases(&self) -> usize {
        self.core.cached_cases()
    }

    /// Sets how many attempts a contended command gets (at least 1).
    pub fn with_max_attempts(self, attempts: u32) -> Self {
        CaseService {
            core: self.core.with_max_attempts(attempts),
            ..self
        }
    }

    /// Sets the complaint policy deadline extension commands are checked
    /// against (default: `cn-2020`, the default calendar).
    pub fn with_complaint_policy(self, policy: crate::complaint::ComplaintPolicy) -> Self {
        CaseService {
            core: self.core.with_complaint_policy(policy),
            ..self
        }
    }

    /// Checks every command against `permissions` (a role directory and
    /// the permission table, docs/permissions.md) and refuses what its
    /// actor may not cause ([`ServiceError::NotPermitted`]). Without it
    /// every actor may take every action the case rules allow.
    pub fn with_permissions(self, permissions: crate::permission::Permissions) -> Self {
        CaseService {
            core: self.core.with_permissions(permissions),
            ..self
        }
    }

    /// Sets the process policy commands are checked against (default: one
    /// complaint team, `complaints`; docs/events.md, "Process policy").
    pub fn with_process_policy(self, policy: crate::process::ProcessPolicy) -> Self {
        CaseService {
            core: self.core.with_process_policy(policy),
            ..self
        }
    }

    /// The underlying log.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// Drives `run` to its end, doing the reads and appends it asks for.
    fn drive(&self, mut run: CommandRun<'_>) -> Result<Outcome, ServiceError<L::Error>> {
        let mut reply = None;
        loop {
            reply = Some(match run.step(reply.take()) {
                Step::Done(result) => return result,
                Step::Io(Io::Read {
                    case_id,
                    from_version,
                }) => Reply::Read(self.log.read_stream_from(case_id, from_version)),
                Step::Io(Io::Append {
                    case_id,
                    expected,
                    events,
                    conditions,
                }) => Reply::Appended(self.log.append_with(case_id, expected, events, conditions)),
            });
        }
    }

    /// The current state of a case.
    pub fn state(&self, case_id: CaseId) -> Result<CaseState, ServiceError<L::Error>> {
        Ok(self.drive(self.core.load(case_id))?.state)
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
    /// the case as it was before that event (see [`is_retry`](crate::is_retry)): it answers
    /// with the original event and records nothing. An event id recorded
    /// with any other event is refused with
    /// [`AppendError::IdempotencyKeyReused`](crate::AppendError::IdempotencyKeyReused): nothing is recorded.
    ///
    /// A follow-up is appended with the cap as its condition, which the log
    /// checks in the same atomic step as the write: it holds across
    /// services, threads and processes sharing the log.
    ///
    /// The steps are [`ServiceCore::execute`]'s, shared with every other
    /// face of the service (such as the async one of `caseledger-async`).
    pub fn execute_command(&self, command: Command) -> Result<Outcome, ServiceError<L::Error>> {
        self.drive(self.core.execute(command))
    }
}
