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
//!
//! A leader hands over the lead before it wakes the members of its group,
//! so the next leader gathers (and writes) while the answered members are
//! still being scheduled, and those members queue straight into the group
//! being gathered.
//!
//! The count of appenders inside is an atomic, not a field under the
//! queue's mutex: an appender takes that mutex once per append (to queue),
//! and on its way out only when a leader is gathering (to wake it).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// A leader's turn: its group, and the hand-over. [`Leadership::answer`]
/// hands over, then posts every member's result. On drop without an answer
/// (writing panicked) the hand-over still happens, and every member left
/// without a result is told to queue again.
struct Leadership<'s> {
    commit: &'s GroupCommit,
    group: Vec<Arc<Pending>>,
    /// Whether the lead has been handed over (or ended) already.
    handed: bool,
}

impl Leadership<'_> {
    /// Passes leadership to the oldest waiter, or ends it when none waits,
    /// and records how long the group's write took.
    fn hand_over(&mut self, write: Option<Duration>) {
        let mut commits = lock(&self.commit.commits);
        if let Some(write) = write {
            commits.last_write = write;
        }
        match commits.queue.front() {
            // The leader flag stays set: the oldest waiter leads next.
            Some(next) => {
                *lock(&next.state) = Wake::Lead;
                next.woken.notify_one();
            }
            None => commits.leader = false,
        }
        self.handed = true;
    }

    /// Hands over first, so the next group is gathered and written while
    /// this group's members are being woken, then posts each member's
    /// result (`results` in the order of the group). Called only after
    /// the group's sync has answered: no result is posted before its
    /// bytes are synced (or the sync failed).
    fn answer(mut self, results: Vec<Outcome>, write: Duration) {
        self.hand_over(Some(write));
        for (p, r) in self.group.iter().zip(results) {
            *lock(&p.state) = Wake::Done(r);
            p.woken.notify_one();
        }
    }
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
        if !self.handed {
            self.hand_over(None);
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
    /// Appenders inside [`GroupCommit::append`]: queued, leading, or
    /// answered and not yet returned.
    ///
    /// Ordering: every access is `SeqCst`, paired with `gathering`. A
    /// leader stores `gathering = true`, then loads `inside`; a leaving
    /// appender decrements `inside`, then loads `gathering`. Two stores
    /// each followed by a load of the other's variable need sequential
    /// consistency (acquire/release allows both loads to see the old
    /// values): with `SeqCst`, either the leader sees the decrement, or
    /// the leaving appender sees `gathering` and wakes the leader under
    /// the mutex, which the leader holds from its check until it waits.
    /// No wake-up is lost (and a lost one would only cost the gather's
    /// timeout, not correctness).
    inside: AtomicUsize,
    /// True while a leader gathers (waits on `gathered`). Written only
    /// under the queue's mutex; read without it by leaving appenders.
    gathering: AtomicBool,
}

/// The state of the group commit. Whenever the queue is not empty, a
/// leader is writing (or has been handed the lead).
#[derive(Debug, Default)]
struct Commits {
    queue: VecDeque<Arc<Pending>>,
    /// True while one appender (the leader) writes a group for everyone.
    leader: bool,
    /// How long the last group's write and sync took: the bound of a
    /// leader's gathering.
    last_write: Duration,
}

impl GroupCommit {
    /// Whether every appender inside is queued (or the queue is full): a
    /// gathering leader need not wait longer. `commits` is the locked queue.
    fn all_queued(&self, commits: &Commits) -> bool {
        commits.queue.len() >= self.inside.load(Ordering::SeqCst).min(MAX_GROUP_APPENDS)
    }

    /// Wakes the gathering leader, if any, when every appender inside is
    /// queued. `commits` is the locked queue (`gathering` only changes
    /// under it, so a relaxed load is exact here).
    fn wake_gatherer(&self, commits: &Commits) {
        if self.gathering.load(Ordering::Relaxed) && self.all_queued(commits) {
            self.gathered.notify_one();
        }
    }
}

/// Counts an appender inside [`GroupCommit::append`] until it returns (or
/// panics), and wakes a gathering leader that waits for no one else.
struct Inside<'s>(&'s GroupCommit);

impl Inside<'_> {
    /// Counts one more appender inside `commit`.
    fn enter(commit: &GroupCommit) -> Inside<'_> {
        // A leader that misses this increment only closes its group
        // earlier; `SeqCst` for uniformity with the decrement (the same
        // `lock xadd` on x86).
        commit.inside.fetch_add(1, Ordering::SeqCst);
        Inside(commit)
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        // See `GroupCommit::inside` for why both are `SeqCst`.
        self.0.inside.fetch_sub(1, Ordering::SeqCst);
        if self.0.gathering.load(Ordering::SeqCst) {
            self.0.wake_gatherer(&lock(&self.0.commits));
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
        let _inside = Inside::enter(self);
        loop {
            let mut commits = lock(&self.commits);
            commits.queue.push_back(Arc::clone(&request));
            self.wake_gatherer(&commits);
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
        loop {
            // Set before `all_queued` loads `inside` (see
            // `GroupCommit::inside`).
            self.gathering.store(true, Ordering::SeqCst);
            if self.all_queued(&commits) {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            commits = self
                .gathered
                .wait_timeout(commits, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        self.gathering.store(false, Ordering::SeqCst);
        // The leader is the oldest queued append (it queued to a free
        // group commit, or was handed the lead as the front), so it is in
        // its own group.
        let n = commits.queue.len().min(MAX_GROUP_APPENDS);
        let group: Vec<Arc<Pending>> = commits.queue.drain(..n).collect();
        drop(commits);
        let leadership = Leadership {
            commit: self,
            group,
            handed: false,
        };
        let started = Instant::now();
        let results = {
            let mut w = lock(writer);
            write_group(&mut w, visible, &leadership.group)
        };
        leadership.answer(results, started.elapsed());
        match std::mem::replace(&mut *lock(&request.state), Wake::Waiting) {
            Wake::Done(result) => Some(result),
            _ => None,
        }
    }
}

/// Writes a group of queued appends in one transaction, commits it with one
/// sync, and returns each append's result, in the group's order.
fn write_group(w: &mut Writer, visible: &Visible, group: &[Arc<Pending>]) -> Vec<Outcome> {
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
    results
}
