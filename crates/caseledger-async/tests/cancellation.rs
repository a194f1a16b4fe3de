//! Cancellation: a future of the async face dropped at any of its await
//! points leaves all of its append in the log or none of it, and the same
//! command sent again is answered as a retry when it was recorded.
//!
//! Each future is polled by hand, one await point at a time: after a
//! `Pending`, the next poll waits for the future's wake-up (its pool task
//! finished), so poll n always stops at the n-th await point. For every n
//! the future is dropped after n polls, either at once (its pool task may
//! not have started, may be running, or may be done) or once its pool task
//! is done (the work happened, its answer is lost); then the runtime is
//! shut down (it waits for a pool task that started and drops one that
//! did not), and the log is checked.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use caseledger::{
    Actor, CaseId, Event, EventData, EventId, EventLog, ExpectedVersion, InMemoryEventLog,
    SequentialIds,
};
use caseledger_async::{AsyncCaseService, AsyncEventLog, Blocking};
use caseledger_store::{Store, StoreOptions};
use common::*;

/// Most await points a small append may have before the test gives up.
const MOST_POLLS: usize = 16;

/// A waker that remembers it was woken.
#[derive(Default)]
struct Flag {
    woken: Mutex<bool>,
    changed: Condvar,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        *self.woken.lock().unwrap() = true;
        self.changed.notify_all();
    }
}

impl Flag {
    fn wait(&self) {
        let mut woken = self.woken.lock().unwrap();
        while !*woken {
            woken = self.changed.wait(woken).unwrap();
        }
        *woken = false;
    }
}

/// Polls `future` at most `polls` times, one await point at a time, on
/// `runtime`; its output if it finished, `None` if it was dropped. With
/// `settled`, a future still pending at its last poll is dropped only once
/// the I/O it waits for is done (the answer was lost, not the work);
/// without, at once (its I/O may still be queued, running, or done).
fn poll_then_drop<F: Future>(
    runtime: &tokio::runtime::Runtime,
    future: F,
    polls: usize,
    settled: bool,
) -> Option<F::Output> {
    let _in_runtime = runtime.enter();
    let flag = Arc::new(Flag::default());
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    for n in 1..=polls {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        if n < polls || settled {
            flag.wait();
        }
    }
    None // dropped here, at its `polls`-th await point
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn new_store(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path(), StoreOptions::default()).unwrap()
}

/// The port: an append of two events through `Blocking`, dropped at each
/// await point: the stream holds both or neither; the same append again is
/// a retry (already stored, same positions) or writes both.
#[test]
fn an_append_dropped_at_any_await_point_wrote_all_or_nothing() {
    let case = CaseId::from_u128(1);
    // A log checks no case rule: any two events of the stream will do.
    let event = |id: u128, m: i64, data: EventData| Event {
        event_id: EventId::from_u128(id),
        case_id: case,
        at: t(m),
        actor: Actor::System,
        data,
    };
    let events = [
        event(1, 0, EventData::Responded),
        event(2, 1, EventData::Closed),
    ];
    let (mut dropped_before, mut dropped_after) = (0, 0);
    for (polls, settled) in (0..=MOST_POLLS).flat_map(|n| [(n, true), (n, false)]) {
        let dir = tempfile::tempdir().unwrap();
        let log = Blocking::new(new_store(&dir));
        let rt = runtime();
        let done = poll_then_drop(
            &rt,
            log.append(case, ExpectedVersion::NoStream, &events),
            polls,
            settled,
        );
        drop(rt); // waits for the pool task of a dropped append
        let stored = log.log().read_stream(case).unwrap();
        let rt = runtime();
        let again = rt
            .block_on(log.append(case, ExpectedVersion::NoStream, &events))
            .unwrap();
        match stored.len() {
            0 => {
                assert!(done.is_none());
                assert!(!again.already_stored, "nothing was stored: written now");
                dropped_before += 1;
            }
            2 => {
                assert!(again.already_stored, "answered as a retry");
                let positions: Vec<u64> = stored.iter().map(|r| r.position).collect();
                assert_eq!(again.positions, positions);
                if done.is_none() {
                    dropped_after += 1;
                }
            }
            n => panic!("{n} of 2 events stored after {polls} polls"),
        }
        assert_eq!(log.log().read_stream(case).unwrap().len(), 2);
        if let Some(done) = done {
            assert!(!done.unwrap().already_stored);
            assert!(
                dropped_before > 0 && dropped_after > 0,
                "both drops were met"
            );
            return;
        }
    }
    panic!("the append did not finish within {MOST_POLLS} polls");
}

/// The service: a command on an existing case, dropped at each await point
/// (reading the case, appending): the case holds its event or not, and the
/// same command again is answered as a retry or records it once.
#[test]
fn a_command_dropped_at_any_await_point_is_recorded_once_or_not_at_all() {
    let case = CaseId::from_u128(1);
    let (mut dropped_before, mut dropped_after) = (0, 0);
    for (polls, settled) in (0..=MOST_POLLS).flat_map(|n| [(n, true), (n, false)]) {
        let dir = tempfile::tempdir().unwrap();
        let store = new_store(&dir);
        let service = AsyncCaseService::new(Blocking::new(store), SequentialIds::new(1));
        let opened = command(1, 1, 0, open("C-1"));
        runtime().block_on(service.execute_command(opened)).unwrap();
        let classify = command(1, 2, 1, classify());
        let rt = runtime();
        let done = poll_then_drop(
            &rt,
            service.execute_command(classify.clone()),
            polls,
            settled,
        );
        drop(rt);
        let stored = service.log().log().read_stream(case).unwrap();
        let rt = runtime();
        let again = rt
            .block_on(service.execute_command(classify.clone()))
            .unwrap();
        match stored.len() {
            1 => {
                assert!(done.is_none());
                assert!(
                    !again.already_recorded,
                    "nothing was recorded: recorded now"
                );
                dropped_before += 1;
            }
            2 => {
                assert!(again.already_recorded, "answered as a retry");
                assert_eq!(again.positions, [stored[1].position]);
                if done.is_none() {
                    dropped_after += 1;
                }
            }
            n => panic!("{n} events in the case after {polls} polls"),
        }
        let after = service.log().log().read_stream(case).unwrap();
        assert_eq!(after.len(), 2, "recorded once");
        assert_eq!(rt.block_on(service.state(case)).unwrap().version(), 2);
        if let Some(done) = done {
            assert!(!done.unwrap().already_recorded);
            assert!(
                dropped_before > 0 && dropped_after > 0,
                "both drops were met"
            );
            return;
        }
    }
    panic!("the command did not finish within {MOST_POLLS} polls");
}

/// The memory log never waits: its futures finish at the first poll, so
/// there is no await point to drop them at.
#[test]
fn the_memory_logs_futures_finish_at_their_first_poll() {
    let service = AsyncCaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
    let rt = runtime();
    let done = poll_then_drop(
        &rt,
        service.execute_command(command(1, 1, 0, open("C-1"))),
        1,
        false,
    );
    assert!(done.is_some_and(|d| d.is_ok()));
    assert_eq!(service.log().len(), 1);
}

/// Tasks racing on one case with the same expected version, some of them
/// dropped at once or after a tiny timeout: each version goes to exactly
/// one append (an answered winner, or a dropped one that ran), every
/// answered loser is a version conflict, and the store verifies after each
/// round; the next round appends on.
#[test]
fn racing_appends_some_dropped_give_each_version_to_exactly_one() {
    const TASKS: u128 = 12;
    const ROUNDS: u64 = 6;
    let case = CaseId::from_u128(1);
    let dir = tempfile::tempdir().unwrap();
    let log = Blocking::new(new_store(&dir));
    for round in 0..ROUNDS {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(3)
            .enable_time()
            .build()
            .unwrap();
        let ids = |task: u128| u128::from(round) * 1000 + task + 1;
        let answers = rt.block_on(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|task| {
                    let log = log.clone();
                    let e = Event {
                        event_id: EventId::from_u128(ids(task)),
                        case_id: case,
                        at: t(0),
                        actor: Actor::System,
                        data: EventData::Responded,
                    };
                    tokio::spawn(async move {
                        let events = [e];
                        let append = log.append(case, ExpectedVersion::Exact(round), &events);
                        match task % 3 {
                            // Never dropped.
                            0 => Some(append.await),
                            // Dropped at once or soon: it may run or not.
                            n => tokio::time::timeout(
                                std::time::Duration::from_micros(50 * (n as u64 - 1)),
                                append,
                            )
                            .await
                            .ok(),
                        }
                    })
                })
                .collect();
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.unwrap());
            }
            answers
        });
        drop(rt); // waits for the pool tasks of dropped appends
        let stored = log.log().read_stream(case).unwrap();
        assert_eq!(stored.len() as u64, round + 1, "one event per round");
        let winner = stored[round as usize].event.event_id;
        assert!((0..TASKS).any(|task| EventId::from_u128(ids(task)) == winner));
        let mut answered_winners = 0;
        for (task, answer) in (0..TASKS).zip(answers) {
            match answer {
                Some(Ok(done)) => {
                    assert_eq!(EventId::from_u128(ids(task)), winner, "a false win");
                    assert_eq!(done.stream_version, round + 1);
                    answered_winners += 1;
                }
                Some(Err(caseledger::AppendError::WrongExpectedVersion { actual, .. })) => {
                    assert_eq!(actual, round + 1)
                }
                Some(Err(other)) => panic!("round {round}: {other}"),
                None => {}
            }
        }
        assert!(answered_winners <= 1);
        let report = caseledger_store::verify(dir.path(), |_| {}).unwrap();
        assert_eq!(report.events, round + 1);
    }
}
