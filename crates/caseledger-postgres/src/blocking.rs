//! [`PgLog`]: the blocking [`EventLog`] over [`AsyncPgLog`], on a runtime
//! of its own.
//!
//! Why its own runtime on its own threads: a blocking call that drives a
//! future with `block_on` panics when the calling thread is inside a tokio
//! runtime already (a blocking embedder called from an async service, a
//! test under `#[tokio::test]`). `PgLog` never does: each call is spawned
//! on its runtime's threads and the caller waits on a plain channel, which
//! works from any thread.

use std::collections::VecDeque;
use std::future::Future;

use caseledger::kpi::REPLAY_BATCH_EVENTS;
use caseledger::{
    AppendCondition, AppendError, Appended, CaseId, Event, EventIter, EventLog, ExpectedVersion,
    RecordedEvent,
};
use caseledger_async::AsyncEventLog;
use caseledger_codec::StringPool;
use tokio::runtime::{Handle, Runtime};

use futures_util::StreamExt;

use crate::Head;
use crate::config::PgOptions;
use crate::direct::Direct;
use crate::error::{Error, ErrorKind};
use crate::log::AsyncPgLog;
use crate::records::LogRecord;
use crate::verify::{BodyCheck, Depth, VerifyReport};
use crate::writer::Append;

/// Threads of a [`PgLog`]'s runtime: the writer task, the connections'
/// tasks and the calls in flight need little.
const RUNTIME_THREADS: usize = 2;

/// Records [`PgLog::import`] hands to the loading transaction at a time.
pub const IMPORT_CHUNK_RECORDS: usize = 4096;

/// Events [`PgLog::verify`] hands to its caller at a time.
pub const VERIFY_CHUNK_EVENTS: usize = 4096;

/// The PostgreSQL log as a blocking [`EventLog`] (see the crate docs); the
/// calls block the calling thread, from inside a tokio runtime too.
pub struct PgLog {
    log: AsyncPgLog,
    handle: Handle,
    /// The lone appender's direct path (direct.rs); a thread that finds it
    /// taken goes through the writer.
    direct: std::sync::Mutex<Direct>,
    /// `Some` until dropped; shut down in the background on drop, which is
    /// allowed inside a runtime (a plain drop of a runtime there panics).
    runtime: Option<Runtime>,
}

impl std::fmt::Debug for PgLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLog")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl Drop for PgLog {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The error of a call whose runtime stopped before it answered.
fn stopped() -> Error {
    Error::new(ErrorKind::WriterStopped)
}

impl PgLog {
    /// Connects (see [`AsyncPgLog::connect`]) on a runtime of its own.
    pub fn connect(url: &str, options: PgOptions) -> Result<PgLog, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_THREADS)
            .thread_name("caseledger-postgres")
            .enable_all()
            .build()
            .map_err(|e| Error::with_source(ErrorKind::Connect, e))?;
        let handle = runtime.handle().clone();
        let url = url.to_owned();
        let log = wait(
            &handle,
            async move { AsyncPgLog::connect(&url, options).await },
        );
        let log = match log {
            Some(result) => result?,
            None => return Err(stopped()),
        };
        Ok(PgLog {
            log,
            handle,
            direct: std::sync::Mutex::new(Direct::new()?),
            runtime: Some(runtime),
        })
    }

    /// The runtime this log's calls run on.
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The async log this one drives (to share it with async code).
    pub fn async_log(&self) -> &AsyncPgLog {
        &self.log
    }

    /// Runs `f` with the async log on the runtime; waits for its answer.
    pub(crate) fn run<T, F>(&self, f: impl FnOnce(AsyncPgLog) -> F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        wait(&self.handle, f(self.log.clone())).unwrap_or_else(|| Err(stopped()))
    }

    /// Verifies the whole log (see [`AsyncPgLog::verify`]); `visit` is
    /// called with each event on the calling thread, while the walk goes on
    /// (events are handed over in chunks of [`VERIFY_CHUNK_EVENTS`]).
    pub fn verify(&self, visit: impl FnMut(RecordedEvent)) -> Result<VerifyReport, Error> {
        self.walk(Depth::Rules, visit)
    }

    /// [`PgLog::verify`] without the case rules (see
    /// [`AsyncPgLog::verify_chain`]).
    pub fn verify_chain(&self, visit: impl FnMut(RecordedEvent)) -> Result<VerifyReport, Error> {
        self.walk(Depth::Columns, visit)
    }

    /// Every event in position order, read from the bodies alone and each
    /// checked against the chain as [`PgLog::verify_chain`] checks it (every
    /// body's link, gapless positions, stream versions, batches, the head),
    /// but without reading the columns that copy a body's fields (which
    /// `verify` compares with it): what a report or an export needs, since
    /// they are computed from the bodies. About half the server's work of
    /// the full walk.
    ///
    /// The bodies are decoded on the calling thread while the log's thread
    /// checks the chain (see `BodyCheck` in verify.rs): the first problem
    /// reported is still the one a sequential walk finds first.
    pub fn read_verified(&self, visit: impl FnMut(RecordedEvent)) -> Result<VerifyReport, Error> {
        self.read_verified_to(None, visit)
    }

    /// [`read_verified`](Self::read_verified) of the log as it stood when
    /// its head was `position`: the events at positions 1 to `position`
    /// only, checked as every read checks them, arriving at the commit
    /// marker of the batch that ends there, whose head (position and chain
    /// hash) the report returns; nothing after it is read, so a report made
    /// then can be made again, whatever was appended since. Position 0 is
    /// the empty log. Fails with [`ErrorKind::PastHead`](crate::ErrorKind::PastHead)
    /// beyond the head, with
    /// [`ErrorKind::InsideBatch`](crate::ErrorKind::InsideBatch) when no
    /// batch ends there (the head was never there).
    pub fn read_verified_up_to(
        &self,
        position: u64,
        visit: impl FnMut(RecordedEvent),
    ) -> Result<VerifyReport, Error> {
        self.read_verified_to(Some(position), visit)
    }

    fn read_verified_to(
        &self,
        up_to: Option<u64>,
        mut visit: impl FnMut(RecordedEvent),
    ) -> Result<VerifyReport, Error> {
        // The events go to `visit`: no string comes back to reuse.
        let mut pool = StringPool::default();
        self.read_verified_pages(up_to, |bodies, rows| {
            bodies.page(rows, &mut pool, |e, _| visit(e))
        })
    }

    /// [`read_verified`](Self::read_verified) for a fold: `fold` is given
    /// the events by batches of up to [`REPLAY_BATCH_EVENTS`], borrowed,
    /// and their strings are reused for the next events instead of
    /// allocated (a KPI replay's read: `KpiAccumulator::replay` looks a
    /// batch's cases up together, as from the file store's
    /// `fold_partition_batches`). The same checks, in the same order, and
    /// the same errors; the events before a problem are folded.
    pub fn read_verified_batches(
        &self,
        fold: impl FnMut(&[RecordedEvent]),
    ) -> Result<VerifyReport, Error> {
        self.read_verified_batches_to(None, fold)
    }

    /// [`read_verified_batches`](Self::read_verified_batches) of the log as
    /// it stood when its head was `position` (see
    /// [`read_verified_up_to`](Self::read_verified_up_to)).
    pub fn read_verified_batches_up_to(
        &self,
        position: u64,
        fold: impl FnMut(&[RecordedEvent]),
    ) -> Result<VerifyReport, Error> {
        self.read_verified_batches_to(Some(position), fold)
    }

    fn read_verified_batches_to(
        &self,
        up_to: Option<u64>,
        mut fold: impl FnMut(&[RecordedEvent]),
    ) -> Result<VerifyReport, Error> {
        let mut pool = StringPool::default();
        let mut batch: Vec<RecordedEvent> = Vec::with_capacity(REPLAY_BATCH_EVENTS);
        let mut flush = |batch: &mut Vec<RecordedEvent>, pool: &mut StringPool| {
            if !batch.is_empty() {
                fold(batch);
                for e in batch.drain(..) {
                    pool.recycle(e.event);
                }
            }
        };
        let result = self.read_verified_pages(up_to, |bodies, rows| {
            bodies.page(rows, &mut pool, |e, pool| {
                batch.push(e);
                if batch.len() == REPLAY_BATCH_EVENTS {
                    flush(&mut batch, pool);
                }
            })
        });
        // The events checked before the end or a problem.
        flush(&mut batch, &mut pool);
        result
    }

    /// The walk of [`read_verified`](Self::read_verified): the log's thread
    /// checks the chain and hands over pages of rows; `page` checks and
    /// decodes each on the calling thread, in order.
    fn read_verified_pages(
        &self,
        up_to: Option<u64>,
        mut page: impl FnMut(&mut BodyCheck, &[tokio_postgres::Row]) -> Result<(), Error>,
    ) -> Result<VerifyReport, Error> {
        enum Msg {
            Page(Vec<tokio_postgres::Row>),
            Done(Result<VerifyReport, Error>),
        }
        // Pages of VERIFY_PAGE_ROWS rows: 4 of them in flight bound the
        // memory the chain walk can run ahead with.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(4);
        let log = self.log.clone();
        self.handle.spawn(async move {
            let pages = tx.clone();
            let result = log
                .walk_to(
                    Depth::Chain,
                    up_to,
                    |_| {},
                    // A failed send: the caller stopped at a problem of its own.
                    |page| pages.send(Msg::Page(page)).is_ok(),
                )
                .await;
            let _ = tx.send(Msg::Done(result));
        });
        let mut bodies = BodyCheck::default();
        for msg in rx {
            match msg {
                Msg::Page(rows) => page(&mut bodies, &rows)?,
                Msg::Done(result) => {
                    return result.map(|mut report| {
                        report.streams = bodies.streams();
                        report
                    });
                }
            }
        }
        Err(stopped())
    }

    fn walk(
        &self,
        depth: Depth,
        mut visit: impl FnMut(RecordedEvent),
    ) -> Result<VerifyReport, Error> {
        enum Msg {
            Events(Vec<RecordedEvent>),
            Done(Result<VerifyReport, Error>),
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(4);
        let log = self.log.clone();
        self.handle.spawn(async move {
            let mut chunk = Vec::with_capacity(VERIFY_CHUNK_EVENTS);
            let events = tx.clone();
            let collect = |r: RecordedEvent| {
                chunk.push(r);
                if chunk.len() == VERIFY_CHUNK_EVENTS {
                    // The caller is waiting on the other end; if it is
                    // gone, nobody needs the events.
                    let _ = events.send(Msg::Events(std::mem::take(&mut chunk)));
                }
            };
            let result = log.walk(depth, collect, |_| true).await;
            let _ = tx.send(Msg::Events(chunk));
            let _ = tx.send(Msg::Done(result));
        });
        for msg in rx {
            match msg {
                Msg::Events(chunk) => chunk.into_iter().for_each(&mut visit),
                Msg::Done(result) => return result,
            }
        }
        Err(stopped())
    }

    /// The head after the batch ending at `position` (see
    /// [`AsyncPgLog::head_at`]).
    pub fn head_at(&self, position: u64) -> Result<Option<Head>, Error> {
        self.run(|log| async move { log.head_at(position).await })
    }

    /// The records from `from_position` to the head as it was when the call
    /// began, batch boundaries included (see [`AsyncPgLog::read_records`]),
    /// fetched a page at a time as the iterator is consumed.
    pub fn read_records(
        &self,
        from_position: u64,
    ) -> Result<impl Iterator<Item = Result<LogRecord, Error>> + Send + '_, Error> {
        let end = self.head()?.position;
        let rows = self.log.options().page_rows;
        let mut next = from_position.max(1);
        // Each page is checked against the chain from here on.
        let mut prev = self.run(|log| async move { log.chain_before(next).await })?;
        let mut buffer = VecDeque::new();
        let mut failed = false;
        Ok(std::iter::from_fn(move || {
            if let Some(r) = buffer.pop_front() {
                return Some(Ok(r));
            }
            if failed || next > end {
                return None;
            }
            let (from, mut chain) = (next, prev);
            let page = self.run(|log| async move {
                let page = log.records_page(from, end, rows, &mut chain).await?;
                Ok((page, chain))
            });
            match page {
                Ok((page, chain)) => {
                    prev = chain;
                    let last = page.iter().rev().find_map(|r| match r {
                        LogRecord::Event(e) => Some(e.position),
                        LogRecord::Commit { .. } => None,
                    });
                    let Some(last) = last else {
                        failed = true;
                        return Some(Err(Error::tampered(
                            from,
                            "the event at this position is missing",
                        )));
                    };
                    next = last + 1;
                    buffer = page.into();
                    buffer.pop_front().map(Ok)
                }
                Err(e) => {
                    failed = true;
                    Some(Err(e))
                }
            }
        }))
    }

    /// Bulk-loads `records` continuing the log from its head `from`, all or
    /// nothing (see [`AsyncPgLog::import`], which says what is refused).
    /// The records are read from the iterator on the calling thread and
    /// handed to the loading transaction in chunks of
    /// [`IMPORT_CHUNK_RECORDS`]; the iterator's first error stops the import
    /// (nothing is written) and is returned as the error's source.
    pub fn import<E>(
        &self,
        from: Head,
        records: impl IntoIterator<Item = Result<LogRecord, E>>,
    ) -> Result<Head, Error>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let (chunks, mut rx) = tokio::sync::mpsc::channel::<Vec<Result<LogRecord, Error>>>(4);
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        let log = self.log.clone();
        self.handle.spawn(async move {
            let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
                .flat_map(futures_util::stream::iter);
            let _ = done_tx.send(log.import(from, stream).await);
        });
        let mut chunk = Vec::with_capacity(IMPORT_CHUNK_RECORDS);
        for record in records {
            let stop = record.is_err();
            chunk.push(record.map_err(|e| {
                Error::with_source(
                    ErrorKind::ImportRefused {
                        reason: "reading the records to import failed".to_owned(),
                    },
                    e,
                )
            }));
            if chunk.len() == IMPORT_CHUNK_RECORDS || stop {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(IMPORT_CHUNK_RECORDS));
                // A send fails only when the import ended early (an error):
                // its answer says why.
                if block_on_unbudgeted(chunks.send(full)).is_err() || stop {
                    break;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = block_on_unbudgeted(chunks.send(chunk));
        }
        drop(chunks);
        done_rx.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// The committed head (see [`AsyncPgLog::head`]).
    pub fn head(&self) -> Result<Head, Error> {
        self.run(|log| async move { log.head().await })
    }
}

/// Waits on this thread for `fut`, a future that only touches tokio's
/// channels, outside or inside a tokio runtime.
///
/// Why not `futures_executor::block_on` alone: inside a tokio task, every
/// channel operation spends the task's cooperative budget (128 units), and
/// once it is spent, tokio answers "not ready" and defers the wake-up until
/// the task yields to its scheduler, which a task blocked here never does:
/// the 65th blocking append from inside a runtime hung forever. Run
/// `unconstrained`, the channels ignore the budget; outside a runtime
/// there is no budget, and this is plain `block_on`.
fn block_on_unbudgeted<F: Future>(fut: F) -> F::Output {
    futures_executor::block_on(tokio::task::unconstrained(fut))
}

/// Runs `fut` on the runtime of `handle` and waits on a channel: `None`
/// when the task ended without an answer (the runtime shut down, or the
/// task panicked).
pub(crate) fn wait<T: Send + 'static>(
    handle: &Handle,
    fut: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        // The caller waits for this; it cannot be gone.
        let _ = tx.send(fut.await);
    });
    rx.recv().ok()
}

impl EventLog for PgLog {
    type Error = Error;

    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Error>> {
        let append = Append {
            case_id,
            expected,
            events: events.to_vec(),
            conditions: conditions.to_vec(),
        };
        let (others, _in_flight) = self.log.in_flight();
        // Alone, and outside every tokio runtime (where the direct path's
        // `block_on` would panic): written on this thread (direct.rs).
        if others == 0
            && Handle::try_current().is_err()
            && let Ok(mut direct) = self.direct.try_lock()
        {
            let options = self.log.options();
            return direct.append(
                self.log.connect_fn(),
                options.connect_timeout(),
                options.clock,
                &append,
            );
        }
        // Otherwise straight to the writer's queue from this thread, and
        // the answer awaited here: the future only touches channels (no
        // tokio context needed, so no `block_on` of tokio's, which would
        // panic inside a runtime), and no thread hop is added to each
        // append.
        block_on_unbudgeted(self.log.append_queued(append))
    }

    fn stream_version(&self, case_id: CaseId) -> Result<u64, Error> {
        self.run(|log| async move { log.stream_version(case_id).await })
    }

    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Error> {
        self.run(|log| async move { log.read_stream_from(case_id, from_version).await })
    }

    /// Up to the head as it was when the call began, fetched in pages of
    /// [`PgOptions::page_rows`] as the iterator is consumed.
    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, Error>, Error> {
        let end = self.head()?.position;
        Ok(Box::new(Pages {
            log: self,
            next: from_position.max(1),
            end,
            buffer: VecDeque::new(),
            failed: false,
        }))
    }
}

/// `read_all`'s iterator: one page fetched at a time.
struct Pages<'a> {
    log: &'a PgLog,
    next: u64,
    end: u64,
    buffer: VecDeque<RecordedEvent>,
    failed: bool,
}

impl Iterator for Pages<'_> {
    type Item = Result<RecordedEvent, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.buffer.pop_front() {
            return Some(Ok(e));
        }
        if self.failed || self.next > self.end {
            return None;
        }
        let (next, end, rows) = (self.next, self.end, self.log.log.options().page_rows);
        let page = self
            .log
            .run(|log| async move { log.page(next, end, rows).await });
        match page {
            Ok(page) if !page.is_empty() => {
                self.next = page.last().map_or(self.end, |r| r.position) + 1;
                self.buffer = page.into();
                self.buffer.pop_front().map(Ok)
            }
            Ok(_) => {
                self.failed = true;
                Some(Err(Error::tampered(
                    next,
                    "the event at this position is missing",
                )))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
