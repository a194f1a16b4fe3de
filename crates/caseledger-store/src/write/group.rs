//! Group commit: concurrent appends queue up, and one appender at a time
//! (the leader) writes every queued append with one sync for all; when it
//! is done it hands leadership straight to the oldest waiter, which takes
//! everything queued meanwhile as the next group in one step.
//!
//! A leader first gathers: while some appender inside [`GroupCommit::append`]
//! is not queued (typically the members of the group just answered, on
//! their way back to queue their next append), it waits for them, at most
//! as long as the last sync took. Without that wait the answered members
//! miss the next group by microseconds and the appenders split into two
//! groups that alternate, each sync serving half of them.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use caseledger::{AppendCondition, AppendError, Appended, CaseId, Event, ExpectedVersion};

use super::txn::{Txn, Visible};
use super::writer::{Writer, outcome_error};
use crate::error::{Error, ErrorKind, WriteFailure};
use crate::locks::{lock, read};

/// At most this many queued appends go into one group commit; the rest wait
/// for the next group. Bounds the latency one group adds to the others.
pub const MAX_GROUP_APPENDS: usize = 1024;

/// A leader gathers for at most the last sync's duration, and never longer
/// than this: waiting longer than a sync costs more than a second group.
const MAX_GATHER: Duration = Duration::from_millis(2);

/// The result of one append.
type Outcome = Result<Appended, AppendError<Error>>;

/// A leader's turn: its group, and on drop (also when writing panicked)
/// the hand-over. Every member of the group left without a result (a
/// panic) is told to queue again; then leadership passes to the oldest
/// waiter, or ends when none waits.
struct Leadership<'s> {
    commit: &'s GroupCommit,
    group: Vec<Arc<Pending>>,
}

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        for p in &self.group {
            let mut state = lock(&p.state);
            if matches!(*state, Wake::Waiting) {
                *state = Wake::Retry;
                p.woken.notify_one();
            }
        }
        let mut commits = lock(&self.commit.commits);
        match commits.queue.front() {
            // The leader flag stays set: the oldest waiter leads next.
            Some(next) => {
                *lock(&next.state) = Wake::Lead;
                next.woken.notify_one();
            }
            None => commits.leader = false,
        }
    }
}

/// The group commit of one store: the queue of appends waiting for the
/// current leader's sync to end.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    /// The queue, and whether a leader is writing a group.
    commits: Mutex<Commits>,
    /// Wakes a gathering leader when every appender inside is queued.
    gathered: Condvar,
}

/// The state of the group commit. Whenever the queue is not empty, a
/// leader is writing (or has been handed the lead).
#[derive(Debug, Default)]
struct Commits {
    queue: VecDeque<Arc<Pending>>,
    /// True while one appender (the leader) writes a group for everyone.
    leader: bool,
    /// Appenders inside [`GroupCommit::append`]: queued, leading, or
    /// answered and not yet returned.
    inside: usize,
    /// True while a leader gathers (waits on `gathered`).
    gathering: bool,
    /// How long the last group's write and sync took: the bound of a
    /// leader's gathering.
    last_write: Duration,
}

impl Commits {
    /// Whether every appender inside is queued (or the queue is full): a
    /// gathering leader need not wait longer.
    fn all_queued(&self) -> bool {
        self.queue.len() >= self.inside.min(MAX_GROUP_APPENDS)
    }
}

/// Counts an appender inside [`GroupCommit::append`] until it returns (or
/// panics), and wakes a gathering leader that waits for no one else.
struct Inside<'s>(&'s GroupCommit);

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        let mut commits = lock(&self.0.commits);
        commits.inside -= 1;
        if commits.gathering && commits.all_queued() {
            self.0.gathered.notify_one();
        }
    }
}

/// One queued append of the group commit, with its own wake-up so that a
/// leader wakes exactly the appenders it answers and the one it hands over
/// to (no herd of waiters racing for one lock).
#[derive(Debug)]
struct Pending {
    case_id: CaseId,
    expected: ExpectedVersion,
    events: Vec<Event>,
    conditions: Vec<AppendCondition>,
    state: Mutex<Wake>,
    woken: Condvar,
}

/// What a queued appender is woken for.
#[derive(Debug)]
enum Wake {
    /// Still queued, or in a group being written.
    Waiting,
    /// Its group is committed (or failed): here is its result.
    Done(Outcome),
    /// It is the oldest waiter and leads the next group.
    Lead,
    /// Its leader panicked before answering: it queues again.
    Retry,
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
    ) -> Outcome {
        let request = Arc::new(Pending {
            case_id,
            expected,
            events: events.to_vec(),
            conditions: conditions.to_vec(),
            state: Mutex::new(Wake::Waiting),
            woken: Condvar::new(),
        });
        // Group commit: an appender that finds no leader leads; the others
        // queue and sleep until the leader posts their result, or hands
        // them the lead (the oldest waiter). Waiters never take the writer
        // lock, so a returning appender cannot sync alone while the rest
        // queue up behind it (a convoy).
        lock(&self.commits).inside += 1;
        let _inside = Inside(self);
        loop {
            let mut commits = lock(&self.commits);
            commits.queue.push_back(Arc::clone(&request));
            if commits.gathering && commits.all_queued() {
                self.gathered.notify_one();
            }
            if commits.leader {
                drop(commits);
                let mut state = lock(&request.state);
                while matches!(*state, Wake::Waiting) {
                    state = request
                        .woken
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                match std::mem::replace(&mut *state, Wake::Waiting) {
                    Wake::Done(result) => return result,
                    Wake::Retry => continue,
                    // Handed the lead (the flag is still set).
                    Wake::Lead | Wake::Waiting => {
                        drop(state);
                        commits = lock(&self.commits);
                    }
                }
            } else {
                commits.leader = true;
            }
            let result = self.lead(commits, writer, visible, &request);
            match result {
                Some(result) => return result,
                None => continue,
            }
        }
    }

    /// Writes the next group, everything queued (up to
    /// [`MAX_GROUP_APPENDS`]) with `request` first, then hands over; returns
    /// `request`'s result (`None`: queue again).
    fn lead(
        &self,
        mut commits: MutexGuard<'_, Commits>,
        writer: &Mutex<Writer>,
        visible: &Visible,
        request: &Arc<Pending>,
    ) -> Option<Outcome> {
        // Gather: wait, at most one sync's time, for the appenders inside
        // that have not queued yet (see the module documentation).
        let deadline = Instant::now() + commits.last_write.min(MAX_GATHER);
        while !commits.all_queued() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            commits.gathering = true;
            commits = self
                .gathered
                .wait_timeout(commits, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        commits.gathering = false;
        // The leader is the oldest queued append (it queued to a free
        // group commit, or was handed the lead as the front), so it is in
        // its own group.
        let n = commits.queue.len().min(MAX_GROUP_APPENDS);
        let group: Vec<Arc<Pending>> = commits.queue.drain(..n).collect();
        drop(commits);
        let leadership = Leadership {
            commit: self,
            group,
        };
        let started = Instant::now();
        {
            let mut w = lock(writer);
            write_group(&mut w, visible, &leadership.group);
        }
        lock(&self.commits).last_write = started.elapsed();
        drop(leadership);
        match std::mem::replace(&mut *lock(&request.state), Wake::Waiting) {
            Wake::Done(result) => Some(result),
            _ => None,
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
            results.push(txn.append(
                w,
                &index,
                p.case_id,
                p.expected,
                &p.events,
                &p.conditions,
                None,
            ));
        }
    }
    if let Err(e) = txn.commit(w, visible) {
        // Every append of the group that wrote, or failed while writing
        // (a failed roll-over), gets the group's answer: undone, or the
        // writer refuses writes. The commit's answer is not wrapped twice.
        let cause = match e.kind() {
            ErrorKind::Undone { cause } | ErrorKind::Failed { cause } => cause.clone(),
            _ => WriteFailure::of(&e),
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
        *lock(&p.state) = Wake::Done(r);
        p.woken.notify_one();
    }
}
