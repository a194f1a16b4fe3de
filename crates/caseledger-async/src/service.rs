//! [`AsyncCaseService`]: the application service over an [`AsyncEventLog`].

use caseledger::{
    Action, Actor, CaseId, CaseState, Command, CommandRun, IdSource, Io, Outcome, Reply,
    ServiceCore, ServiceError, Step,
};
use chrono::{DateTime, Utc};

use crate::AsyncEventLog;

/// The application service over an async log: what
/// [`caseledger::CaseService`] is over a blocking one, with the same
/// answers. Both drive a [`ServiceCore`]; this one awaits the reads and
/// appends it asks for.
///
/// `Sync`, and its futures are `Send`: share one (in an `Arc`, or axum's
/// state) among all tasks.
#[derive(Debug)]
pub struct AsyncCaseService<L, I> {
    log: L,
    ids: I,
    core: ServiceCore,
}

impl<L: AsyncEventLog, I: IdSource> AsyncCaseService<L, I> {
    /// A service over `log`, taking new event ids from `ids`, keeping the
    /// states of up to [`caseledger::STATE_CACHE_CASES`] cases.
    pub fn new(log: L, ids: I) -> Self {
        AsyncCaseService {
            log,
            ids,
            core: ServiceCore::new(),
        }
    }

    /// Sets how many cases' states the service keeps (0: none).
    pub fn with_cache_capacity(self, cases: usize) -> Self {
        AsyncCaseService {
            core: self.core.with_cache_capacity(cases),
            ..self
        }
    }

    /// Sets how many attempts a contended command gets (at least 1).
    pub fn with_max_attempts(self, attempts: u32) -> Self {
        AsyncCaseService {
            core: self.core.with_max_attempts(attempts),
            ..self
        }
    }

    /// Checks every command against `permissions`
    /// ([`caseledger::CaseService::with_permissions`]).
    pub fn with_permissions(self, permissions: caseledger::permission::Permissions) -> Self {
        AsyncCaseService {
            core: self.core.with_permissions(permissions),
            ..self
        }
    }

    /// Sets the process policy commands are checked against
    /// ([`caseledger::CaseService::with_process_policy`]; default: one
    /// complaint team, `complaints`).
    pub fn with_process_policy(self, policy: caseledger::process::ProcessPolicy) -> Self {
        AsyncCaseService {
            core: self.core.with_process_policy(policy),
            ..self
        }
    }

    /// Sets the complaint policy deadline extensions are checked against
    /// ([`caseledger::CaseService::with_complaint_policy`]; default:
    /// `cn-2020`, the default calendar).
    pub fn with_complaint_policy(self, policy: caseledger::complaint::ComplaintPolicy) -> Self {
        AsyncCaseService {
            core: self.core.with_complaint_policy(policy),
            ..self
        }
    }

    /// How many cases' states the service holds now.
    pub fn cached_cases(&self) -> usize {
        self.core.cached_cases()
    }

    /// The underlying log.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// Drives `run` to its end, awaiting the reads and appends it asks for.
    async fn drive(&self, mut run: CommandRun<'_>) -> Result<Outcome, ServiceError<L::Error>> {
        let mut reply = None;
        loop {
            reply = Some(match run.step(reply.take()) {
                Step::Done(result) => return result,
                Step::Io(Io::Read {
                    case_id,
                    from_version,
                }) => Reply::Read(self.log.read_stream_from(case_id, from_version).await),
                Step::Io(Io::Append {
                    case_id,
                    expected,
                    events,
                    conditions,
                }) => Reply::Appended(
                    self.log
                        .append_with(case_id, expected, events, conditions)
                        .await,
                ),
            });
        }
    }

    /// The current state of a case ([`caseledger::CaseService::state`]).
    pub async fn state(&self, case_id: CaseId) -> Result<CaseState, ServiceError<L::Error>> {
        Ok(self.drive(self.core.load(case_id)).await?.state)
    }

    /// Records `action` on a case with a fresh event id
    /// ([`caseledger::CaseService::execute`]).
    ///
    /// Dropped before it finished (a timeout), or failed with the log's
    /// error, it may have recorded the action, and a second call is a new
    /// command with a new id: to retry safely, use
    /// [`AsyncCaseService::execute_command`] with a command whose event id
    /// you keep.
    pub async fn execute(
        &self,
        case_id: CaseId,
        at: DateTime<Utc>,
        actor: Actor,
        action: Action,
    ) -> Result<Outcome, ServiceError<L::Error>> {
        let command = Command {
            case_id,
            event_id: self.ids.next_event_id(),
            at,
            actor,
            action,
        };
        self.execute_command(command).await
    }

    /// Records a command: retries answered as retries, a reused key
    /// refused, a follow-up appended with the cap, a conflict retried a
    /// bounded number of times ([`caseledger::CaseService::execute_command`]
    /// says it in full; the steps are the same [`ServiceCore::execute`]).
    ///
    /// Dropped before it finished, it recorded the command or nothing;
    /// send the same command again to learn which (a retry is answered as
    /// one).
    pub async fn execute_command(
        &self,
        command: Command,
    ) -> Result<Outcome, ServiceError<L::Error>> {
        self.drive(self.core.execute(command)).await
    }
}
