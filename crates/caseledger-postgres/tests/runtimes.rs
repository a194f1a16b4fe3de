//! Both faces: the async log natively on tokio (the append contract through
//! `AsyncEventLog`, the async service, NOTIFY after a commit), and the
//! blocking log used outside any runtime and inside one (where a blocking
//! client that calls `block_on` would panic).
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use caseledger::*;
use caseledger_async::{AsyncCaseService, AsyncEventLog};
use caseledger_postgres::{AsyncPgLog, NOTIFY_CHANNEL, PgLog, PgOptions};
use chrono::{TimeZone, Utc};
use common::TestDb;
use futures_util::StreamExt;
use tokio::runtime::Handle;

/// An async log's calls run to their end on a runtime, from a thread that
/// is not one of its own: the append contract suite (over `EventLog`) run
/// through the async face.
struct OnRuntime {
    log: AsyncPgLog,
    runtime: Handle,
    _db: TestDb,
}

impl EventLog for OnRuntime {
    type Error = caseledger_postgres::Error;

    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Self::Error>> {
        self.runtime.block_on(AsyncEventLog::append_with(
            &self.log, case_id, expected, events, conditions,
        ))
    }

    fn stream_version(&self, case_id: CaseId) -> Result<u64, Self::Error> {
        self.runtime
            .block_on(AsyncEventLog::stream_version(&self.log, case_id))
    }

    fn read_stream_from(
        &self,
        case_id: CaseId,
        from: u64,
    ) -> Result<Vec<RecordedEvent>, Self::Error> {
        self.runtime
            .block_on(AsyncEventLog::read_stream_from(&self.log, case_id, from))
    }

    fn read_all(&self, from: u64) -> Result<EventIter<'_, Self::Error>, Self::Error> {
        let mut stream = self
            .runtime
            .block_on(AsyncEventLog::read_all(&self.log, from))?;
        let runtime = self.runtime.clone();
        Ok(Box::new(std::iter::from_fn(move || {
            runtime.block_on(stream.next())
        })))
    }
}

#[test]
fn the_async_log_keeps_the_append_contract_natively() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    caseledger_testkit::append_contract(|| {
        let db = TestDb::new();
        let log = rt
            .block_on(AsyncPgLog::connect(&db.url, PgOptions::default()))
            .unwrap();
        OnRuntime {
            log,
            runtime: rt.handle().clone(),
            _db: db,
        }
    });
}

fn opened(case: CaseId, id: u128) -> Event {
    Event {
        event_id: EventId::from_u128(id),
        case_id: case,
        at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        actor: Actor::System,
        data: EventData::Opened(Opened {
            customer_id: CustomerId::new("C-1").unwrap(),
            channel: Channel::Phone,
            tier: Tier::Standard,
            summary: None,
            origin: caseledger::Origin::Customer,
        }),
    }
}

/// What a blocking caller does: connect, append, read, drop.
fn use_blocking(db: &TestDb) {
    let log = PgLog::connect(&db.url, PgOptions::default()).unwrap();
    let case = CaseId::from_u128(7);
    let v = log.stream_version(case).unwrap();
    let done = log
        .append(
            case,
            ExpectedVersion::Exact(v),
            &[opened(case, 100 + u128::from(v))],
        )
        .unwrap();
    assert_eq!(done.stream_version, v + 1);
    assert_eq!(log.read_stream(case).unwrap().len() as u64, v + 1);
    assert_eq!(log.read_all(1).unwrap().count() as u64, v + 1);
    // Many appends in a row: inside a tokio task each one spent the task's
    // cooperative budget, and the 65th hung forever.
    let before = log.head().unwrap().position;
    for i in 0..300u128 {
        let case = CaseId::from_u128(1_000 + i + u128::from(v) * 1_000);
        log.append(case, ExpectedVersion::NoStream, &[opened(case, 10_000 + i)])
            .unwrap();
    }
    assert_eq!(log.head().unwrap().position, before + 300);
    drop(log);
}

#[test]
fn the_blocking_log_works_outside_any_runtime() {
    let db = TestDb::new();
    use_blocking(&db);
}

#[tokio::test(flavor = "current_thread")]
async fn the_blocking_log_works_inside_a_current_thread_runtime() {
    let db = TestDb::new();
    use_blocking(&db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_log_works_inside_a_multi_thread_runtime() {
    let db = TestDb::new();
    use_blocking(&db);
    // And next to the async face of the same database.
    let log = AsyncPgLog::connect(&db.url, PgOptions::default())
        .await
        .unwrap();
    assert_eq!(log.head().await.unwrap().position, 301);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_service_runs_commands_on_the_async_log() {
    let db = TestDb::new();
    let log = AsyncPgLog::connect(&db.url, PgOptions::default())
        .await
        .unwrap();
    let service = AsyncCaseService::new(log.clone(), SequentialIds::new(1));
    let case = CaseId::from_u128(1);
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let open = Opened {
        customer_id: CustomerId::new("C-1001").unwrap(),
        channel: Channel::Phone,
        tier: Tier::Vip,
        summary: None,
        origin: caseledger::Origin::Customer,
    };
    let done = service
        .execute(
            case,
            at,
            Actor::parse("agent-17").unwrap(),
            Action::Open(open),
        )
        .await
        .unwrap();
    assert_eq!(done.state.version(), 1);
    assert_eq!(log.verify(|_| {}).await.unwrap().events, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_notifies_listeners_with_the_new_head() {
    let db = TestDb::new();
    let log = AsyncPgLog::connect(&db.url, PgOptions::default())
        .await
        .unwrap();
    let (listener, mut connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = m {
                let _ = tx.send((n.channel().to_owned(), n.payload().to_owned()));
            }
        }
    });
    listener
        .batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}"))
        .await
        .unwrap();
    let case = CaseId::from_u128(3);
    AsyncEventLog::append(&log, case, ExpectedVersion::NoStream, &[opened(case, 1)])
        .await
        .unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, (NOTIFY_CHANNEL.to_owned(), "1".to_owned()));
}
