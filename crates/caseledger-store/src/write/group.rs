//! Group commit: concurrent appends queue up, and the first to find no
//! leader writes every queued append with one sync for all.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use caseledger::{AppendCondition, AppendError, Appended, CaseId, Event, ExpectedVersion};

use super::txn::{Txn, Visible};
use super::writer::{Writer, outcome_error};
use crate::error::{Error, ErrorKind};
use crate::locks::{lock, read};

/// At most this many queued appends go into one group commit; the rest wait
/// for the next group. Bounds the latency one group adds to the others.
pub const MAX_GROUP_APPENDS: usize = 1024;

/// Ends a leader's turn when dropped: clears the flag and wakes the waiters.
struct Leadership<'s>(&'s GroupCommit);

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        lock(&self.0.commits).leader = false;
        self.0.committed.notify_all();
    }
}

/// The group commit of one store: the queue of appends, and the signal
/// that a group's results are posted.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    /// The queue, and whether a leader is writing a group.
    commits: Mutex<Commits>,
    /// Signalled when a leader has posted its group's results.
    committed: Condvar,
}

/// The state of the group commit.
#[derive(Debug, Default)]
struct Commits {
    queue: VecDeque<Arc<Pending>>,
    /// True while one appender (the leader) writes a group for everyone.
    leader: bool,
}

/// One queued append of the group commit.
#[derive(Debug)]
struct Pending {
    case_id: CaseId,
    expected: ExpectedVersion,
    events: Vec<Event>,
    conditions: Vec<AppendCondition>,
    result: Mutex<Option<Result<Appended, AppendError<Error>>>>,
}

impl GroupCommit {
    /// Appends `events` to the stream of `case_id` through the group commit
    /// (see [`caseledger::EventLog::append`]): the events are written by
    /// `writer` and made visible in `visible`.
    pub(crate) fn append(
        &self,
        writer: &Mutex<Writer>,
        visible: &Visible,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Error>> {
        let request = Arc::new(Pending {
            case_id,
            expected,
            events: events.to_vec(),
            conditions: conditions.to_vec(),
            result: Mutex::new(None),
        });
        // Group commit: the first appender to find no leader becomes one and
        // writes every queued append with one sync; the others sleep until
        // their result is posted. Waiters never take the writer lock, so a
        // returning appender cannot sync alone while the rest queue up
        // behind it (a convoy).
        let mut commits = lock(&self.commits);
        commits.queue.push_back(Arc::clone(&request));
        loop {
            if let Some(result) = lock(&request.result).take() {
                return result;
            }
            if commits.leader {
                commits = self
                    .committed
                    .wait(commits)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            commits.leader = true;
            let n = commits.queue.len().min(MAX_GROUP_APPENDS);
            let group: Vec<Arc<Pending>> = commits.queue.drain(..n).collect();
            drop(commits);
            {
                // Hands leadership back even if writing panics, so that the
                // waiters are not left asleep forever.
                let _leader = Leadership(self);
                let mut w = lock(writer);
                write_group(&mut w, visible, &group);
            }
            commits = lock(&self.commits);
        }
    }
}

/// Writes a group of queued appends in one transaction, commits it with one
/// sync, and posts each append's result.
fn write_group(w: &mut Writer, visible: &Visible, group: &[Arc<Pending>]) {
    let mut txn = Txn::begin(w);
    let mut results = Vec::with_capacity(group.len());
    {
        let index = read(&visible.index);
        for p in group {
            // Each append's conditions see the group's earlier appends.
            results.push(txn.append(w, &index, p.case_id, p.expected, &p.events, &p.conditions));
        }
    }
    if let Err(e) = txn.commit(w, visible) {
        // Every append of the group that wrote, or failed while writing
        // (a failed roll-over), gets the group's answer: undone, or the
        // writer refuses writes. The commit's answer is not wrapped twice.
        let cause = match e.kind() {
            ErrorKind::Undone { cause } | ErrorKind::Failed { cause } => cause.clone(),
            _ => e.to_string(),
        };
        for r in results.iter_mut() {
            let wrote = match r {
                Ok(a) => !a.already_stored,
                Err(AppendError::Log(_)) => true,
                Err(_) => false,
            };
            if wrote {
                *r = Err(AppendError::Log(outcome_error(w, &cause)));
            }
        }
    }
    for (p, r) in group.iter().zip(results) {
        *lock(&p.result) = Some(r);
    }
}
