//! [`Blocking`]: a blocking [`EventLog`] on tokio's blocking pool.

use std::sync::Arc;

use caseledger::{
    AppendCondition, AppendError, Appended, CaseId, Event, EventLog, ExpectedVersion, RecordedEvent,
};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinError, spawn_blocking};

use crate::{AsyncEventLog, EventStream};

/// How many events a [`Blocking`] log's `read_all` reads ahead of its
/// reader. Why bounded: a slow reader must not make the pool thread load
/// the whole log into memory.
pub const READ_AHEAD: usize = 256;

/// A blocking log (the file store of `caseledger-store`, or any
/// [`EventLog`]) as an [`AsyncEventLog`]: each call runs on tokio's
/// blocking pool (`spawn_blocking`), so a runtime's worker threads never
/// wait on a file. Must be used within a tokio runtime.
///
/// # Panics
///
/// Every call panics when polled outside a tokio runtime (under another
/// executor, such as `futures::executor::block_on`, or after the runtime
/// it was made in was dropped, with no other runtime current): it has no
/// blocking pool to run on. The log is not called. `ShutDown` is only for a
/// runtime that shuts down while the call waits for a pool thread. A
/// program without tokio takes the blocking `CaseService` instead.
///
/// A call's arguments are copied to the pool (an append's events are a
/// few hundred bytes each). A call whose future is dropped after it was
/// first polled still runs to its end on the pool (unless the runtime shuts
/// down before a pool thread took it: then it never runs). Either way an
/// append is the log's atomic step, so it records all its events or none,
/// and the same append again is answered as a retry if it recorded them.
#[derive(Debug)]
pub struct Blocking<L> {
    log: Arc<L>,
}

impl<L> Clone for Blocking<L> {
    fn clone(&self) -> Self {
        Blocking {
            log: Arc::clone(&self.log),
        }
    }
}

impl<L: EventLog + 'static> Blocking<L> {
    /// `log`, to be called on the blocking pool.
    pub fn new(log: L) -> Blocking<L> {
        Blocking { log: Arc::new(log) }
    }

    /// The blocking log (to call it directly, from a blocking thread).
    pub fn log(&self) -> &Arc<L> {
        &self.log
    }

    /// Runs `call` on the blocking pool with the log.
    async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&L) -> T + Send + 'static,
    ) -> Result<T, BlockingError<L::Error>> {
        let log = Arc::clone(&self.log);
        spawn_blocking(move || call(&log)).await.map_err(stopped)
    }
}

/// Why a [`Blocking`] log's call failed.
#[derive(Debug, thiserror::Error)]
pub enum BlockingError<E> {
    /// The log failed.
    #[error(transparent)]
    Log(E),
    /// The runtime shut down before the call ran: the log was not called.
    #[error("the runtime shut down before the log was called; nothing was done")]
    ShutDown,
}

/// A pool task that did not give an answer: it panicked (a bug in the
/// log, passed on as the blocking call would) or never ran.
fn stopped<E>(e: JoinError) -> BlockingError<E> {
    match e.try_into_panic() {
        Ok(panic) => std::panic::resume_unwind(panic),
        Err(_) => BlockingError::ShutDown,
    }
}

impl<L: EventLog + 'static> AsyncEventLog for Blocking<L> {
    type Error = BlockingError<L::Error>;

    async fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Self::Error>> {
        let (events, conditions) = (events.to_vec(), conditions.to_vec());
        self.run(move |log| log.append_with(case_id, expected, &events, &conditions))
            .await
            .map_err(AppendError::Log)?
            .map_err(|e| e.map_log(BlockingError::Log))
    }

    async fn stream_version(&self, case_id: CaseId) -> Result<u64, Self::Error> {
        self.run(move |log| log.stream_version(case_id))
            .await?
            .map_err(BlockingError::Log)
    }

    async fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Self::Error> {
        self.run(move |log| log.read_stream_from(case_id, from_version))
            .await?
            .map_err(BlockingError::Log)
    }

    /// Reads on one pool task, [`READ_AHEAD`] events ahead of the stream;
    /// dropping the stream stops the task at its next event.
    ///
    /// The stream holds its pool thread until it is read to its end or
    /// dropped: a task that keeps a stream unread while it awaits other
    /// calls, with every thread of the blocking pool so held (tokio's
    /// `max_blocking_threads`, 512 by default), waits for ever. Read the
    /// stream through, or drop it, before awaiting more of the log.
    async fn read_all(
        &self,
        from_position: u64,
    ) -> Result<EventStream<'_, Self::Error>, Self::Error> {
        let (opened_tx, opened_rx) = oneshot::channel();
        let (tx, mut rx) = mpsc::channel(READ_AHEAD);
        let log = Arc::clone(&self.log);
        let task = spawn_blocking(move || {
            let events = match log.read_all(from_position) {
                Ok(events) => events,
                Err(e) => {
                    // Nobody waits for the answer any more: nothing to do.
                    let _ = opened_tx.send(Err(e));
                    return;
                }
            };
            if opened_tx.send(Ok(())).is_err() {
                return;
            }
            for event in events {
                if tx.blocking_send(event.map_err(BlockingError::Log)).is_err() {
                    return; // the stream was dropped
                }
            }
        });
        match opened_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(BlockingError::Log(e)),
            // The task ended without an answer: it panicked or never ran.
            Err(_) => return Err(stopped_or_panicked(task).await),
        }
        let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Ok(stream.boxed())
    }
}

/// Why a pool task ended without an answer.
async fn stopped_or_panicked<E>(task: tokio::task::JoinHandle<()>) -> BlockingError<E> {
    match task.await {
        Ok(()) => BlockingError::ShutDown,
        Err(e) => stopped(e),
    }
}
