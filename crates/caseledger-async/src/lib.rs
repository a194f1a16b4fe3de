//! caseledger-async: the async face of caseledger's port and application
//! service, for services that run on an async runtime (axum, tonic on
//! tokio).
//!
//! The domain stays synchronous and pure; only the edges that wait on I/O
//! get an async face:
//!
//! - [`AsyncEventLog`], the port with the very contract of
//!   [`caseledger::EventLog`] (the append contract of `caseledger`'s `port`
//!   module: retries, reused idempotency keys, id clashes, expected
//!   versions, conditions), its streams of events `Send`
//!   [`futures_core::Stream`]s. The memory log implements it directly; with
//!   the `tokio` feature, `Blocking` runs any blocking log (the file store
//!   of `caseledger-store`) on tokio's blocking pool. A log that is async by
//!   nature (a database client) implements it natively.
//! - [`AsyncCaseService`], the application service: it drives the same
//!   [`caseledger::ServiceCore`] as the blocking [`caseledger::CaseService`]
//!   (state cache, retry test, decide, append with the expected version and
//!   the follow-up cap, bounded retries on a conflict), awaiting its log
//!   where the blocking one calls it. The logic is written once.
//! - [`follow_up_plan::apply`], the day's follow-up calls recorded through
//!   the async service, with the steps of the blocking
//!   [`caseledger::follow_up_plan::apply`].
//!
//! Cancellation: a future of this crate dropped before it finished leaves
//! the log as a finished call or an unstarted one would: an append is one
//! atomic step of the log (all or nothing), and a retry of the same command
//! (same event ids) is answered as a retry if the append happened. With
//! `Blocking`, a dropped append that reached the blocking pool still runs
//! to its end there; dropping the future only stops the wait for it.
//!
//! ```
//! use caseledger::{Action, Actor, Channel, CustomerId, InMemoryEventLog, Opened, Origin, SequentialIds, Tier};
//! use caseledger_async::AsyncCaseService;
//! use chrono::{TimeZone, Utc};
//! # futures_util::FutureExt::now_or_never(async {
//! let service = AsyncCaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
//! let open = Opened { customer_id: CustomerId::new("C-1001")?, channel: Channel::Phone, tier: Tier::Vip, summary: None, origin: Origin::Customer };
//! let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
//! let case = caseledger::CaseId::from_u128(1);
//! let done = service.execute(case, at, Actor::parse("agent-17")?, Action::Open(open)).await?;
//! assert_eq!(done.state.version(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).expect("the memory log never waits")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "tokio")]
mod blocking;
pub mod follow_up_plan;
mod service;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use caseledger::{
    AppendCondition, AppendError, Appended, CaseId, Event, EventLog, ExpectedVersion,
    InMemoryEventLog, RecordedEvent,
};
use futures_core::Stream;

#[cfg(feature = "tokio")]
pub use blocking::{Blocking, BlockingError, READ_AHEAD};
pub use service::AsyncCaseService;

/// A stream of recorded events from a log, in position order. `Send`, so
/// that a task reading it can move between a runtime's threads.
pub type EventStream<'a, E> = Pin<Box<dyn Stream<Item = Result<RecordedEvent, E>> + Send + 'a>>;

/// An append-only log of case events, one stream per case, with async
/// calls: [`caseledger::EventLog`]'s methods with the same contract (see
/// there), each returning a `Send` future.
///
/// A future dropped before it finished must leave the log as if the call
/// had either run to its end or not started: all of an append or none.
pub trait AsyncEventLog: Send + Sync {
    /// The log's own failure (I/O, corruption, connection...).
    type Error: std::error::Error + Send + Sync + 'static;

    /// [`EventLog::append_with`]: appends `events` to the stream of
    /// `case_id` atomically, all or none, if every one of `conditions`
    /// holds, checked in the same atomic step.
    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> impl Future<Output = Result<Appended, AppendError<Self::Error>>> + Send;

    /// [`EventLog::append`]: [`AsyncEventLog::append_with`] with no condition.
    fn append(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
    ) -> impl Future<Output = Result<Appended, AppendError<Self::Error>>> + Send {
        self.append_with(case_id, expected, events, &[])
    }

    /// [`EventLog::stream_version`]: how many events a stream holds.
    fn stream_version(
        &self,
        case_id: CaseId,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// [`EventLog::read_stream_from`]: a stream's events from a version on.
    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, Self::Error>> + Send;

    /// [`EventLog::read_stream`]: all events of one stream.
    fn read_stream(
        &self,
        case_id: CaseId,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, Self::Error>> + Send {
        self.read_stream_from(case_id, 1)
    }

    /// [`EventLog::read_all`]: every event from a global position on, as a
    /// stream.
    fn read_all(
        &self,
        from_position: u64,
    ) -> impl Future<Output = Result<EventStream<'_, Self::Error>, Self::Error>> + Send;
}

/// The memory log answers at once: its calls never wait, so each future
/// finishes at its first poll (it has no await point to be dropped at).
impl AsyncEventLog for InMemoryEventLog {
    type Error = Infallible;

    async fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Infallible>> {
        EventLog::append_with(self, case_id, expected, events, conditions)
    }

    async fn stream_version(&self, case_id: CaseId) -> Result<u64, Infallible> {
        EventLog::stream_version(self, case_id)
    }

    async fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Infallible> {
        EventLog::read_stream_from(self, case_id, from_version)
    }

    async fn read_all(
        &self,
        from_position: u64,
    ) -> Result<EventStream<'_, Infallible>, Infallible> {
        let events = EventLog::read_all(self, from_position)?;
        Ok(Box::pin(futures_util::stream::iter(events)))
    }
}

/// docs/embedding.md's examples (the blocking service and the async one,
/// side by side), compiled and run as doctests so they cannot rot: here,
/// where both faces, the store and tokio are at hand.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/embedding.md")]
pub struct EmbeddingDoctests;
