//! [`AsyncPgLog`]: the log on tokio, implementing
//! [`caseledger_async::AsyncEventLog`] natively.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use caseledger::{
    AppendCondition, AppendError, Appended, CaseId, Event, ExpectedVersion, RecordedEvent,
};
use caseledger_async::{AsyncEventLog, EventStream};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::{StreamExt, TryStreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::NoTls;
use tokio_postgres::Socket;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};

use crate::Head;
use crate::config::{MAX_GROUP_APPENDS, PgOptions, Tls, parse_url, redact_url};
use crate::direct::{ConnectFn, Connected};
use crate::error::{Error, ErrorKind};
use crate::rows::{EVENT_COLUMNS, EventRow, to_hash, to_i64, to_u64};
use crate::schema::{existing, migrate};
use crate::writer::{self, Append, Request};

/// A PostgreSQL event log for async code on tokio: appends go through the
/// process's group commit (one writer task), reads through a connection
/// pool. Cheap to clone (the clones share the pool and the writer).
///
/// Must be created and used within a tokio runtime (it spawns its writer
/// task and the connections' tasks there). Blocking code uses
/// [`crate::PgLog`], which brings its own runtime.
///
/// Cancellation: an append whose future is dropped before it was queued
/// is not written; once queued (at its first poll, unless the queue is
/// full), the writer task writes it with its group whether anyone waits or
/// not, all of it or none. A read dropped mid-statement leaves its pooled
/// connection usable (one dropped inside its transaction, as `verify`'s,
/// rolls it back first: `tests/cancel.rs`). An answer
/// lost after the commit may have reached the server is
/// [`ErrorKind::OutcomeUnknown`]. In every case, the same append (the same
/// event ids) sent again tells: a stored one is answered as a retry.
#[derive(Clone)]
pub struct AsyncPgLog {
    shared: Arc<Shared>,
}

struct Shared {
    pool: Pool,
    queue: mpsc::Sender<Request>,
    /// Appends of this process begun and not yet answered (through the
    /// writer or the blocking log's direct path).
    appending: AtomicUsize,
    /// Opens a connection like the pool's, for the blocking log's direct
    /// path (`direct.rs`).
    connect: ConnectFn,
    options: PgOptions,
    /// The schema version the database was at once opened (older than
    /// [`crate::SCHEMA_VERSION`] only when opened without upgrading it).
    schema_version: i32,
    /// The connection string without its password, for `Debug`.
    target: String,
    /// The connection string as given, for a follower's own listening
    /// connection (never printed).
    url: String,
}

impl std::fmt::Debug for AsyncPgLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncPgLog")
            .field("target", &self.shared.target)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl AsyncPgLog {
    /// Connects to the server `url` names (`postgres://…`, `postgresql://…`
    /// or key=value), creates or upgrades the caseledger schema in its
    /// database, and starts the writer. Fails with
    /// [`ErrorKind::SchemaTooNew`] on a database a newer caseledger wrote.
    ///
    /// With [`PgOptions::create_schema`] `false`, changes nothing in the
    /// database: only an existing ledger is opened (a database without one
    /// is refused with [`ErrorKind::NoLedger`]), and an older schema is
    /// used as it is (see the option).
    pub async fn connect(url: &str, options: PgOptions) -> Result<AsyncPgLog, Error> {
        options.check()?;
        let target = parse_url(url)?;
        let ((pool, schema_version), connect) = match target.tls {
            // `prefer` and `allow` connect in plain: TLS is asked for with
            // `require` or `verify-*`, and then always checked.
            Tls::Disabled | Tls::Preferred => {
                let connect = connect_fn(target.config.clone(), NoTls);
                (open_pool(target.config, NoTls, &options).await?, connect)
            }
            #[cfg(feature = "tls")]
            Tls::Required => {
                let tls = crate::tls::connector(&target)?;
                let connect = connect_fn(target.config.clone(), tls.clone());
                (open_pool(target.config, tls, &options).await?, connect)
            }
            #[cfg(not(feature = "tls"))]
            Tls::Required => {
                return Err(Error::new(ErrorKind::InvalidUrl {
                    reason: "sslmode asks for TLS, which this build does not have (cargo \
                             feature `tls` of caseledger-postgres)"
                        .to_owned(),
                }));
            }
        };
        let (queue, rx) = mpsc::channel(4 * MAX_GROUP_APPENDS);
        tokio::spawn(writer::run(pool.clone(), options.clock, rx));
        Ok(AsyncPgLog {
            shared: Arc::new(Shared {
                pool,
                queue,
                appending: AtomicUsize::new(0),
                connect,
                options,
                schema_version,
                target: redact_url(url),
                url: url.to_owned(),
            }),
        })
    }

    /// The options the log was opened with.
    pub fn options(&self) -> &PgOptions {
        &self.shared.options
    }

    /// The schema version the database was at when the log was opened.
    pub(crate) fn schema_version(&self) -> i32 {
        self.shared.schema_version
    }

    /// The connection string as given (with its password: never print it).
    pub(crate) fn url(&self) -> &str {
        &self.shared.url
    }

    pub(crate) async fn client(
        &self,
        during: &'static str,
    ) -> Result<deadpool_postgres::Object, Error> {
        self.shared.pool.get().await.map_err(Error::pool(during))
    }

    /// The committed head: the last position and the chain hash after its
    /// commit record (position 0 and zeros for an empty log), the same as
    /// the file store's for the same records.
    pub async fn head(&self) -> Result<Head, Error> {
        let client = self.client("reading the head").await?;
        let row = client
            .query_one("SELECT position, hash FROM caseledger.head", &[])
            .await
            .map_err(Error::db("reading the head"))?;
        Ok(Head {
            position: to_u64(row.get(0), 0, "the head position")?,
            hash: to_hash(row.get::<_, &[u8]>(1), 0)?,
        })
    }

    /// Counts an append in flight until the guard is dropped; also says
    /// how many others were in flight when it began.
    pub(crate) fn in_flight(&self) -> (usize, InFlight<'_>) {
        let others = self.shared.appending.fetch_add(1, Ordering::SeqCst);
        (others, InFlight(&self.shared.appending))
    }

    /// Opens a connection like the pool's (for the direct path).
    pub(crate) fn connect_fn(&self) -> &ConnectFn {
        &self.shared.connect
    }

    /// Queues an append for the writer and waits for its answer, counted
    /// in flight.
    async fn append_inner(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Error>> {
        let (_, _in_flight) = self.in_flight();
        self.append_queued(Append {
            case_id,
            expected,
            events: events.to_vec(),
            conditions: conditions.to_vec(),
        })
        .await
    }

    /// Queues an append for the writer and waits for its answer (not
    /// counted: the caller counts it). Only channel operations, which need
    /// no tokio context: the blocking log drives this future on the
    /// calling thread.
    pub(crate) async fn append_queued(
        &self,
        append: Append,
    ) -> Result<Appended, AppendError<Error>> {
        let (reply, answer) = oneshot::channel();
        let request = Request { append, reply };
        // Not queued: the writer never saw it.
        let stopped = || AppendError::Log(Error::new(ErrorKind::WriterStopped));
        self.shared
            .queue
            .send(request)
            .await
            .map_err(|_| stopped())?;
        // Queued, and the writer stopped (its runtime shut down) without
        // answering: it may have been in the group's transaction, its
        // `COMMIT` sent, which the server carries out without the writer.
        answer.await.map_err(|_| {
            AppendError::Log(Error::new(ErrorKind::OutcomeUnknown {
                during: "waiting for the writer, which stopped before it answered",
            }))
        })?
    }

    /// Reads events with positions `from..=to`, at most `limit`, in order.
    pub(crate) async fn page(
        &self,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        Ok(self
            .page_rows(from, to, limit)
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .collect())
    }

    /// [`page`](Self::page), each event with its row (for its body).
    pub(crate) async fn page_rows(
        &self,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Vec<(RecordedEvent, EventRow)>, Error> {
        let during = "reading the log";
        let client = self.client(during).await?;
        // The range of the page itself, not up to `to` with a LIMIT:
        // positions are gapless, so it holds the page's rows exactly, and
        // the planner takes the primary key for it whatever its statistics
        // say. (Given `position >= $1 AND position <= $2` and no
        // statistics, right after a large load, it scanned and sorted the
        // whole rest of the table for every page: 476 ms a page instead of
        // 15 over 1M events.)
        let to = to.min(from.saturating_add(limit.max(1) as u64 - 1));
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM caseledger.events WHERE position >= $1 AND position <= $2 \
             ORDER BY position LIMIT $3"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &sql,
                &[&to_i64(from, "position")?, &to_i64(to, "position")?, &limit],
            )
            .await
            .map_err(Error::db(during))?;
        let mut out = Vec::with_capacity(rows.len());
        for (expect, row) in (from..).zip(&rows) {
            let row = EventRow::from_row(row)?;
            let r = checked(&row)?;
            // Every position up to the head is committed: a missing one was
            // deleted behind the log's back.
            if r.position != expect {
                return Err(Error::tampered(
                    expect,
                    "the event at this position is missing",
                ));
            }
            out.push((r, row));
        }
        Ok(out)
    }

    /// Every event from `from_position` to the head as it was when the
    /// call began (events appended during the read are not included: read
    /// again from the next position), in pages of
    /// [`PgOptions::page_rows`].
    pub async fn read_all_until_head(
        &self,
        from_position: u64,
    ) -> Result<EventStream<'static, Error>, Error> {
        let end = self.head().await?.position;
        let page_rows = self.shared.options.page_rows;
        let log = self.clone();
        let start = from_position.max(1);
        let pages = futures_util::stream::try_unfold(start, move |next| {
            let log = log.clone();
            async move {
                if next > end {
                    return Ok(None);
                }
                let page = log.page(next, end, page_rows).await?;
                let Some(last) = page.last().map(|r| r.position) else {
                    return Err(Error::tampered(
                        next,
                        "the event at this position is missing",
                    ));
                };
                Ok(Some((page, last + 1)))
            }
        });
        let events = pages
            .map_ok(|page| futures_util::stream::iter(page.into_iter().map(Ok)))
            .try_flatten();
        Ok(events.boxed())
    }
}

/// An append counted in flight ([`AsyncPgLog::in_flight`]) until dropped.
pub(crate) struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Opens connections with `config` and `tls`, as the pool does.
fn connect_fn<T>(config: tokio_postgres::Config, tls: T) -> ConnectFn
where
    T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
    T::Stream: Sync + Send,
    T::TlsConnect: Sync + Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    Arc::new(move || {
        let (config, tls) = (config.clone(), tls.clone());
        Box::pin(async move {
            let (client, connection) = config.connect(tls).await?;
            let connection: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
                Box::pin(async move {
                    // A failed connection fails the client's calls, which
                    // report it.
                    let _ = connection.await;
                });
            Ok::<Connected, tokio_postgres::Error>((client, connection))
        })
    })
}

/// Connects once (to create or upgrade the schema, or with
/// [`PgOptions::create_schema`] `false` only to read its version, and to
/// fail early on a server that is not there), then builds the pool over
/// `tls`. Returns the pool and the schema version.
async fn open_pool<T>(
    config: tokio_postgres::Config,
    tls: T,
    options: &PgOptions,
) -> Result<(Pool, i32), Error>
where
    T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
    T::Stream: Sync + Send,
    T::TlsConnect: Sync + Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let timeout = options.connect_timeout();
    let (mut client, connection) = tokio::time::timeout(timeout, config.connect(tls.clone()))
        .await
        .map_err(|_| Error::connect_timeout(timeout))?
        .map_err(|e| Error::with_source(ErrorKind::Connect, e))?;
    let connection = tokio::spawn(connection);
    let version = match options.create_schema {
        true => migrate(&mut client).await,
        false => existing(&client).await,
    };
    drop(client);
    // The connection task ends once the client is gone.
    let _ = connection.await;
    let version = version?;
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(options.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .build()
        .map_err(|e| {
            Error::with_source(ErrorKind::Connect, crate::error::PoolFailure(e.to_string()))
        })?;
    Ok((pool, version))
}

/// The event a row's body holds, with its position and version checked
/// against the row's columns (a full check of every column and the chain
/// is `verify`'s).
pub(crate) fn checked(row: &EventRow) -> Result<RecordedEvent, Error> {
    let r = row.decode()?;
    if Some(r.position) != u64::try_from(row.position).ok()
        || Some(r.version) != u64::try_from(row.version).ok()
        || r.event.case_id.as_uuid() != &row.case_id
    {
        return Err(Error::tampered(
            r.position,
            "the row's position, stream or version does not match its stored body",
        ));
    }
    Ok(r)
}

impl AsyncEventLog for AsyncPgLog {
    type Error = Error;

    async fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Error>> {
        self.append_inner(case_id, expected, events, conditions)
            .await
    }

    async fn stream_version(&self, case_id: CaseId) -> Result<u64, Error> {
        let during = "reading a stream's version";
        let client = self.client(during).await?;
        let row = client
            .query_one(
                "SELECT coalesce(max(version), 0) FROM caseledger.events WHERE case_id = $1",
                &[case_id.as_uuid()],
            )
            .await
            .map_err(Error::db(during))?;
        to_u64(row.get(0), 0, "a stream version")
    }

    async fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Error> {
        let during = "reading a stream";
        let client = self.client(during).await?;
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM caseledger.events WHERE case_id = $1 AND version >= $2 \
             ORDER BY version"
        );
        let from = to_i64(from_version.max(1), "version")?;
        let rows = client
            .query(&sql, &[case_id.as_uuid(), &from])
            .await
            .map_err(Error::db(during))?;
        let mut out = VecDeque::with_capacity(rows.len());
        for row in &rows {
            out.push_back(checked(&EventRow::from_row(row)?)?);
        }
        Ok(out.into())
    }

    async fn read_all(&self, from_position: u64) -> Result<EventStream<'_, Error>, Error> {
        self.read_all_until_head(from_position).await
    }
}
