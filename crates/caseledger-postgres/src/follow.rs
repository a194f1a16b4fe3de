//! Following the log and keeping a projection current from it, on
//! PostgreSQL.
//!
//! - [`AsyncPgFollower`] (from [`AsyncPgLog::follow`]) and its blocking
//!   face [`PgFollower`] (from [`PgLog::follow`]): the events from a
//!   position on, in order, then new ones as they commit. Woken by the
//!   writer's `NOTIFY` on [`NOTIFY_CHANNEL`] through a `LISTEN` connection
//!   of its own, and correct without it: it also looks at the head every
//!   [`PgFollowOptions::poll_interval_ms`], so a lost notification (or a
//!   lost listening connection) only delays. Positions up to the head are
//!   all committed and visible (the writer moves the head in the appending
//!   transaction, under its lock), so reading `next..=head` never skips.
//! - [`AsyncPgRunner`] and [`PgRunner`]: a [`Projection`] fed from its
//!   checkpoint in `caseledger.projection_checkpoints`, whose position and
//!   state one statement replaces, only if the row still holds the
//!   checkpoint this runner last read or wrote (docs/postgres.md,
//!   "Projection checkpoints").

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use caseledger::RecordedEvent;
use caseledger::projection::{
    Checkpointed, MAX_CHECKPOINT_EVERY_EVENTS, Projection, checkpoint_due,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, NoTls, Socket};

use crate::blocking::{PgLog, wait};
use crate::config::{NOTIFY_CHANNEL, Tls, parse_url};
use crate::error::{Error, ErrorKind};
use crate::log::AsyncPgLog;
use crate::rows::{to_i64, to_u64};

/// The longest fallback poll [`PgFollowOptions`] allows, in milliseconds.
pub const MAX_POLL_INTERVAL_MS: u64 = 60_000;
/// The longest projection name, in bytes.
pub const MAX_PROJECTION_NAME_BYTES: usize = 128;
/// The largest state a projection checkpoint holds, in bytes of JSON (64
/// MiB; PostgreSQL's own limit for a `jsonb` value is 255 MiB).
pub const MAX_STATE_BYTES: usize = 64 << 20;

/// How a follower waits for new events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgFollowOptions {
    /// How long a wait lasts at most before the follower looks at the head
    /// without having been notified, in milliseconds: 1 to
    /// [`MAX_POLL_INTERVAL_MS`]; default 1 000. The delay a lost
    /// notification causes.
    pub poll_interval_ms: u64,
}

impl Default for PgFollowOptions {
    fn default() -> PgFollowOptions {
        PgFollowOptions {
            poll_interval_ms: 1_000,
        }
    }
}

impl PgFollowOptions {
    /// The fallback poll (see the field).
    #[must_use]
    pub fn poll_interval_ms(mut self, ms: u64) -> PgFollowOptions {
        self.poll_interval_ms = ms;
        self
    }

    fn check(&self) -> Result<(), Error> {
        if !(1..=MAX_POLL_INTERVAL_MS).contains(&self.poll_interval_ms) {
            return Err(Error::new(ErrorKind::InvalidOption {
                reason: format!(
                    "poll_interval_ms {}: 1 to {MAX_POLL_INTERVAL_MS}",
                    self.poll_interval_ms
                ),
            }));
        }
        Ok(())
    }
}

/// The log's events from a position on, in order, waiting for new ones
/// (see the module docs). Made by [`AsyncPgLog::follow`]; holds a
/// connection of its own that listens for the writer's notifications,
/// closed when the follower is dropped.
#[derive(Debug)]
pub struct AsyncPgFollower {
    log: AsyncPgLog,
    next: u64,
    buffer: VecDeque<RecordedEvent>,
    wake: Arc<Notify>,
    /// The listening connection's client and the task that drives it
    /// (`None` if it could not be had: the follower then only polls).
    listener: Option<(tokio_postgres::Client, JoinHandle<()>)>,
    options: PgFollowOptions,
}

impl Drop for AsyncPgFollower {
    fn drop(&mut self) {
        if let Some((_, task)) = &self.listener {
            task.abort();
        }
    }
}

impl AsyncPgLog {
    /// Follows the log from position `from` (1, or 0: the start); `from`
    /// may lie beyond the head, the follower then waits for it. Opens the
    /// follower's listening connection; fails if it cannot connect.
    pub async fn follow(
        &self,
        from: u64,
        options: PgFollowOptions,
    ) -> Result<AsyncPgFollower, Error> {
        options.check()?;
        let wake = Arc::new(Notify::new());
        let listener = listen(self, Arc::clone(&wake)).await?;
        Ok(AsyncPgFollower {
            log: self.clone(),
            next: from.max(1),
            buffer: VecDeque::new(),
            wake,
            listener: Some(listener),
            options,
        })
    }
}

/// Opens a connection that `LISTEN`s on [`NOTIFY_CHANNEL`] and a task that
/// wakes `wake` at each notification (and once more when the connection
/// ends, so that a waiting follower looks at the head at once).
async fn listen(
    log: &AsyncPgLog,
    wake: Arc<Notify>,
) -> Result<(tokio_postgres::Client, JoinHandle<()>), Error> {
    let target = parse_url(log.url())?;
    match target.tls {
        Tls::Disabled | Tls::Preferred => listen_on(log, target.config, NoTls, wake).await,
        #[cfg(feature = "tls")]
        Tls::Required => {
            let tls = crate::tls::connector(&target)?;
            listen_on(log, target.config, tls, wake).await
        }
        #[cfg(not(feature = "tls"))]
        Tls::Required => Err(Error::new(ErrorKind::InvalidUrl {
            reason: "sslmode asks for TLS, which this build does not have (cargo feature `tls` \
                     of caseledger-postgres)"
                .to_owned(),
        })),
    }
}

async fn listen_on<T>(
    log: &AsyncPgLog,
    config: tokio_postgres::Config,
    tls: T,
    wake: Arc<Notify>,
) -> Result<(tokio_postgres::Client, JoinHandle<()>), Error>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let timeout = log.options().connect_timeout();
    let (client, mut connection) = tokio::time::timeout(timeout, config.connect(tls))
        .await
        .map_err(|_| Error::connect_timeout(timeout))?
        .map_err(|e| Error::with_source(ErrorKind::Connect, e))?;
    let task = tokio::spawn(async move {
        while let Some(message) =
            futures_util::future::poll_fn(|cx| connection.poll_message(cx)).await
        {
            match message {
                Ok(AsyncMessage::Notification(_)) => wake.notify_one(),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        wake.notify_one();
    });
    client
        .batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}"))
        .await
        .map_err(Error::db("listening for new events"))?;
    Ok((client, task))
}

impl AsyncPgFollower {
    /// The position of the next event this follower hands out.
    pub fn next_position(&self) -> u64 {
        self.next
    }

    /// The next event if one is committed now; `None` without waiting
    /// otherwise.
    pub async fn try_next(&mut self) -> Result<Option<RecordedEvent>, Error> {
        if self.buffer.is_empty() {
            let head = self.log.head().await?.position;
            if head < self.next {
                return Ok(None);
            }
            let rows = self.log.options().page_rows;
            let page = self.log.page(self.next, head, rows).await?;
            // `page` checks each row is the next position from `next`.
            if page.is_empty() {
                return Err(Error::tampered(
                    self.next,
                    "the event at this position is missing",
                ));
            }
            self.buffer = page.into();
        }
        let event = self.buffer.pop_front();
        if let Some(e) = &event {
            self.next = e.position + 1;
        }
        Ok(event)
    }

    /// The next event, waiting for it at most `timeout_ms` milliseconds:
    /// woken by the writer's notification, or after
    /// [`PgFollowOptions::poll_interval_ms`] without one. `None` when none
    /// came in time.
    pub async fn next_within(&mut self, timeout_ms: u64) -> Result<Option<RecordedEvent>, Error> {
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        let poll = Duration::from_millis(self.options.poll_interval_ms);
        loop {
            if let Some(e) = self.try_next().await? {
                return Ok(Some(e));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // A notification that came since the last look left a permit,
            // so this returns at once: none is lost between look and wait.
            let _ = tokio::time::timeout(left.min(poll), self.wake.notified()).await;
        }
    }

    /// Whether the listening connection is up (when it is not, the
    /// follower still works, by polling).
    pub fn is_listening(&self) -> bool {
        self.listener
            .as_ref()
            .is_some_and(|(client, task)| !client.is_closed() && !task.is_finished())
    }
}

/// The blocking face of [`AsyncPgFollower`], run on the [`PgLog`]'s
/// runtime. Made by [`PgLog::follow`].
#[derive(Debug)]
pub struct PgFollower<'a> {
    log: &'a PgLog,
    /// Taken while a call runs on the runtime.
    inner: Option<AsyncPgFollower>,
}

fn stopped() -> Error {
    Error::new(ErrorKind::WriterStopped)
}

impl PgLog {
    /// Follows the log from position `from` (see [`AsyncPgLog::follow`]).
    pub fn follow(&self, from: u64, options: PgFollowOptions) -> Result<PgFollower<'_>, Error> {
        let inner = self.run(move |log| async move { log.follow(from, options).await })?;
        Ok(PgFollower {
            log: self,
            inner: Some(inner),
        })
    }
}

impl PgFollower<'_> {
    /// The position of the next event this follower hands out.
    pub fn next_position(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, AsyncPgFollower::next_position)
    }

    /// Whether the listening connection is up (see
    /// [`AsyncPgFollower::is_listening`]).
    pub fn is_listening(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(AsyncPgFollower::is_listening)
    }

    /// The next event if one is committed now (see
    /// [`AsyncPgFollower::try_next`]).
    pub fn try_next(&mut self) -> Result<Option<RecordedEvent>, Error> {
        self.next_within(0)
    }

    /// The next event, waiting at most `timeout_ms` milliseconds (see
    /// [`AsyncPgFollower::next_within`]).
    pub fn next_within(&mut self, timeout_ms: u64) -> Result<Option<RecordedEvent>, Error> {
        let mut inner = self.inner.take().ok_or_else(stopped)?;
        let (inner, result) = wait(self.log.handle(), async move {
            let result = inner.next_within(timeout_ms).await;
            (inner, result)
        })
        .ok_or_else(stopped)?;
        self.inner = Some(inner);
        result
    }
}

/// How a projection runner follows and checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgRunnerOptions {
    /// Store a checkpoint after this many events fed since the last one:
    /// 1 to [`MAX_CHECKPOINT_EVERY_EVENTS`]; default 10 000.
    pub every_events: u64,
    /// How the follower waits.
    pub follow: PgFollowOptions,
}

impl Default for PgRunnerOptions {
    fn default() -> PgRunnerOptions {
        PgRunnerOptions {
            every_events: 10_000,
            follow: PgFollowOptions::default(),
        }
    }
}

impl PgRunnerOptions {
    /// Events between checkpoints (see the field).
    #[must_use]
    pub fn every_events(mut self, n: u64) -> PgRunnerOptions {
        self.every_events = n;
        self
    }

    /// How the follower waits (see the field).
    #[must_use]
    pub fn follow(mut self, follow: PgFollowOptions) -> PgRunnerOptions {
        self.follow = follow;
        self
    }
}

/// Keeps a projection current from the log, with its checkpoint (position
/// and state together, one row) in `caseledger.projection_checkpoints`
/// under its name. It resumes from the row when there is one, feeds every
/// later event in order, and replaces the row every
/// [`PgRunnerOptions::every_events`] events and on
/// [`AsyncPgRunner::checkpoint`]: one statement, so the position and the
/// state are stored together or not at all, and only if the row still
/// holds what this runner last read or wrote
/// ([`ErrorKind::CheckpointMoved`] otherwise: another runner of the same
/// name moved it).
///
/// Cancellation and failures: a `step` or `catch_up` dropped, or failed,
/// leaves every event it fed fed ([`AsyncPgRunner::position`] says how
/// far; the next call goes on from there, never feeding one twice or
/// skipping one). A checkpoint dropped or failed after its statement may
/// have reached the server is in doubt: the runner's next checkpoint takes
/// the row as its own if it holds one of its checkpoints in doubt.
#[derive(Debug)]
pub struct AsyncPgRunner<P> {
    follower: AsyncPgFollower,
    core: RunnerCore<P>,
}

impl<P: Projection + Serialize + DeserializeOwned> AsyncPgRunner<P> {
    /// Opens the runner of the projection `name` (1 to
    /// [`MAX_PROJECTION_NAME_BYTES`] bytes): its state is the checkpoint's
    /// when the row exists, `initial` (fed nothing yet) otherwise. On a
    /// log opened without upgrading an older schema
    /// ([`crate::PgOptions::create_schema`] `false`), refused with
    /// [`ErrorKind::SchemaTooOld`]: the runner needs this version's
    /// checkpoint table.
    pub async fn open(
        log: &AsyncPgLog,
        name: &str,
        initial: P,
        options: PgRunnerOptions,
    ) -> Result<AsyncPgRunner<P>, Error> {
        check_runner(name, &options)?;
        let loaded = load(log, name).await?;
        let core = RunnerCore::resume(name, loaded, initial, &options)?;
        let follower = log.follow(core.position() + 1, options.follow).await?;
        Ok(AsyncPgRunner { follower, core })
    }

    /// The last position fed to the projection (0: none).
    pub fn position(&self) -> u64 {
        self.core.position()
    }

    /// The position of the checkpoint stored or loaded last (0: none).
    pub fn saved_position(&self) -> u64 {
        self.core.saved_position()
    }

    /// The projection as of [`AsyncPgRunner::position`].
    pub fn state(&self) -> &P {
        self.core.fed.state()
    }

    /// The projection, and the position it is fed up to.
    pub fn into_parts(self) -> (u64, P) {
        self.core.fed.into_parts()
    }

    /// Feeds the next event, waiting at most `timeout_ms` milliseconds, and
    /// stores a checkpoint if one is due. Returns the position fed, or
    /// `None` when no event came in time.
    pub async fn step(&mut self, timeout_ms: u64) -> Result<Option<u64>, Error> {
        let Some(e) = self.follower.next_within(timeout_ms).await? else {
            return Ok(None);
        };
        self.feed(&e).await?;
        Ok(Some(e.position))
    }

    /// Feeds every event committed now, without waiting, storing
    /// checkpoints as they fall due. Returns how many it fed.
    pub async fn catch_up(&mut self) -> Result<u64, Error> {
        let mut fed = 0;
        while let Some(e) = self.follower.try_next().await? {
            self.feed(&e).await?;
            fed += 1;
        }
        Ok(fed)
    }

    /// Stores the projection's position and state now (nothing to do when
    /// they are stored already).
    pub async fn checkpoint(&mut self) -> Result<(), Error> {
        let Some((position, json)) = self.core.unsaved()? else {
            return Ok(());
        };
        let core = &mut self.core;
        // In doubt until answered: dropped at the await below, or failed
        // after the statement reached the server, it may still be stored.
        // Only the earlier attempts may explain a row that moved.
        let earlier = core.in_doubt.len();
        core.in_doubt.push(position);
        save(
            &self.follower.log,
            &core.name,
            core.saved,
            &core.in_doubt[..earlier],
            position,
            &json,
        )
        .await?;
        core.stored(position);
        Ok(())
    }

    async fn feed(&mut self, e: &RecordedEvent) -> Result<(), Error> {
        if self.core.observe(e)? {
            self.checkpoint().await?;
        }
        Ok(())
    }
}

/// Checks a runner's name and options.
fn check_runner(name: &str, options: &PgRunnerOptions) -> Result<(), Error> {
    if !(1..=MAX_CHECKPOINT_EVERY_EVENTS).contains(&options.every_events) {
        return Err(Error::new(ErrorKind::InvalidOption {
            reason: format!(
                "every_events {}: 1 to {MAX_CHECKPOINT_EVERY_EVENTS}",
                options.every_events
            ),
        }));
    }
    if name.is_empty() || name.len() > MAX_PROJECTION_NAME_BYTES {
        return Err(Error::new(ErrorKind::InvalidOption {
            reason: format!(
                "projection name of {} bytes: 1 to {MAX_PROJECTION_NAME_BYTES}",
                name.len()
            ),
        }));
    }
    Ok(())
}

/// What [`AsyncPgRunner`] and [`PgRunner`] keep alike: the projection
/// fed so far, and when its checkpoint is due and what it holds. The
/// runners only differ in how they read and store (awaiting, or blocking on
/// the [`PgLog`]'s runtime).
#[derive(Debug)]
struct RunnerCore<P> {
    name: String,
    fed: Checkpointed<P>,
    /// The row's position as this runner last read or wrote it (`None`:
    /// no row).
    saved: Option<u64>,
    /// The positions of the checkpoints this runner sent since `saved`
    /// without learning whether they were stored (the call was dropped, or
    /// failed after its statement may have reached the server): the row
    /// may hold any of them, written by this runner.
    in_doubt: Vec<u64>,
    every_events: u64,
}

impl<P: Projection + Serialize + DeserializeOwned> RunnerCore<P> {
    /// The projection to resume: the loaded checkpoint's (`loaded`: the
    /// row's position and state), or `initial`.
    fn resume(
        name: &str,
        loaded: Option<(u64, String)>,
        initial: P,
        options: &PgRunnerOptions,
    ) -> Result<RunnerCore<P>, Error> {
        let (saved, fed) = match loaded {
            Some((position, json)) => {
                let state = serde_json::from_str(&json).map_err(|e| {
                    Error::new(ErrorKind::ProjectionState {
                        name: name.to_owned(),
                        detail: e.to_string(),
                    })
                })?;
                (Some(position), Checkpointed::resume(position, state))
            }
            None => (None, Checkpointed::new(initial)),
        };
        Ok(RunnerCore {
            name: name.to_owned(),
            fed,
            saved,
            in_doubt: Vec::new(),
            every_events: options.every_events,
        })
    }

    fn position(&self) -> u64 {
        self.fed.position()
    }

    /// The checkpoint at `position` is stored: the row holds it, and no
    /// earlier attempt is in doubt any more.
    fn stored(&mut self, position: u64) {
        self.saved = Some(position);
        self.in_doubt.clear();
    }

    fn saved_position(&self) -> u64 {
        self.saved.unwrap_or(0)
    }

    /// Feeds `e` to the projection; whether a checkpoint is due now.
    fn observe(&mut self, e: &RecordedEvent) -> Result<bool, Error> {
        self.fed
            .observe(e.position, &e.event)
            .map_err(|o| Error::new(ErrorKind::OutOfOrder(o)))?;
        Ok(checkpoint_due(
            self.saved_position(),
            e.position,
            self.every_events,
        ))
    }

    /// The position and state (JSON) to store, `None` when they are
    /// stored already.
    fn unsaved(&self) -> Result<Option<(u64, String)>, Error> {
        let position = self.fed.position();
        if self.saved == Some(position) {
            return Ok(None);
        }
        Ok(Some((position, state_json(&self.name, self.fed.state())?)))
    }
}

/// The state as JSON, within [`MAX_STATE_BYTES`].
fn state_json<P: Serialize>(name: &str, state: &P) -> Result<String, Error> {
    let bad = |detail: String| {
        Error::new(ErrorKind::ProjectionState {
            name: name.to_owned(),
            detail,
        })
    };
    let json = serde_json::to_string(state).map_err(|e| bad(e.to_string()))?;
    if json.len() > MAX_STATE_BYTES {
        return Err(bad(format!(
            "the state is {} bytes of JSON, more than the limit of {MAX_STATE_BYTES}",
            json.len()
        )));
    }
    Ok(json)
}

/// The checkpoint row of `name`: its position and state (JSON text).
/// Refused on a schema older than this build's (a log opened without
/// upgrading it: [`crate::PgOptions::create_schema`]), whose checkpoint
/// table lacks what the runner reads and writes.
async fn load(log: &AsyncPgLog, name: &str) -> Result<Option<(u64, String)>, Error> {
    if log.schema_version() < crate::SCHEMA_VERSION {
        return Err(Error::new(ErrorKind::SchemaTooOld {
            found: log.schema_version(),
            needed: crate::SCHEMA_VERSION,
        }));
    }
    let during = "reading a projection checkpoint";
    let client = log.client(during).await?;
    // The row and the hash of the log's event at its position, together.
    let row = client
        .query_opt(
            "SELECT c.position, c.state::text, c.anchor, e.hash \
             FROM caseledger.projection_checkpoints c \
             LEFT JOIN caseledger.events e ON e.position = c.position \
             WHERE c.name = $1",
            &[&name],
        )
        .await
        .map_err(Error::db(during))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let position = to_u64(row.get(0), 0, "a projection checkpoint's position")?;
    // A log only grows: a checkpoint beyond its head is not this log's (or
    // the database went back to an older backup), and resuming from it
    // would skip what is appended from the head on.
    let head = log.head().await?.position;
    if position > head {
        return Err(Error::new(ErrorKind::ProjectionState {
            name: name.to_owned(),
            detail: format!(
                "its checkpoint was fed up to position {position}, beyond the log's head {head} \
                 (another log's, or the database was restored from an older backup); delete its \
                 row to rebuild it"
            ),
        }));
    }
    // The row's anchor is the chain hash of the event it was fed up to: a
    // log whose event there has another hash is another ledger (or was
    // rebuilt), and the state is not a fold of this log's events.
    let anchor: Option<Vec<u8>> = row.get(2);
    let here: Option<Vec<u8>> = row.get(3);
    if let Some(anchor) = anchor
        && here.as_deref() != Some(anchor.as_slice())
    {
        return Err(Error::new(ErrorKind::ProjectionState {
            name: name.to_owned(),
            detail: format!(
                "its checkpoint was fed up to position {position} of another log: the event \
                 there has {} (the checkpoint's anchor is {}); delete its row to rebuild it",
                here.map_or_else(
                    || "no hash".to_owned(),
                    |h| format!("hash {}", crate::hex(&h))
                ),
                crate::hex(&anchor)
            ),
        }));
    }
    Ok(Some((position, row.get(1))))
}

/// Replaces the checkpoint row of `name` with `position` and `json`, if it
/// still holds `expected` (`None`: no row yet) or one of the runner's own
/// checkpoints in doubt (`in_doubt`: sent, never answered): one statement,
/// so both columns change together or not at all.
///
/// Why the positions in doubt: a checkpoint whose call was dropped, or
/// whose answer was lost, after its statement reached the server may have
/// been stored. Refused on `expected` alone, the runner would take its own
/// row for another runner's and every later checkpoint would fail. A row
/// at a position in doubt holds the fold up to that position (this
/// runner's, or another's of the same name and the same projection, equal
/// since a projection is pure), so it is replaced as `expected` would be.
async fn save(
    log: &AsyncPgLog,
    name: &str,
    expected: Option<u64>,
    in_doubt: &[u64],
    position: u64,
    json: &str,
) -> Result<(), Error> {
    match save_if(log, name, expected, position, json).await {
        Err(e) => match e.kind() {
            ErrorKind::CheckpointMoved {
                found: Some(found), ..
            } if in_doubt.contains(found) => save_if(log, name, Some(*found), position, json).await,
            _ => Err(e),
        },
        ok => ok,
    }
}

/// [`save`] if the row holds `expected`, only.
async fn save_if(
    log: &AsyncPgLog,
    name: &str,
    expected: Option<u64>,
    position: u64,
    json: &str,
) -> Result<(), Error> {
    let during = "storing a projection checkpoint";
    let client = log.client(during).await?;
    let at = to_i64(position, "position")?;
    let changed =
        match expected {
            None => client
                .execute(
                    "INSERT INTO caseledger.projection_checkpoints (name, position, state, anchor) \
                     VALUES ($1, $2, $3::text::jsonb, \
                     (SELECT hash FROM caseledger.events WHERE position = $2)) \
                     ON CONFLICT (name) DO NOTHING",
                    &[&name, &at, &json],
                )
                .await,
            Some(old) => {
                let old = to_i64(old, "position")?;
                client
                    .execute(
                        "UPDATE caseledger.projection_checkpoints \
                     SET position = $2, state = $3::text::jsonb, saved_at = now(), \
                     anchor = (SELECT hash FROM caseledger.events WHERE position = $2) \
                     WHERE name = $1 AND position = $4",
                        &[&name, &at, &json, &old],
                    )
                    .await
            }
        }
        .map_err(Error::db(during))?;
    if changed != 1 {
        let found = load(log, name).await?.map(|(p, _)| p);
        return Err(Error::new(ErrorKind::CheckpointMoved {
            name: name.to_owned(),
            expected,
            found,
        }));
    }
    Ok(())
}

/// The blocking face of [`AsyncPgRunner`]: the projection is fed on the
/// calling thread (so it need not be `Send`), the reads and the
/// checkpoint's statement run on the [`PgLog`]'s runtime.
#[derive(Debug)]
pub struct PgRunner<'a, P> {
    log: &'a PgLog,
    follower: PgFollower<'a>,
    core: RunnerCore<P>,
}

impl<'a, P: Projection + Serialize + DeserializeOwned> PgRunner<'a, P> {
    /// Opens the runner of the projection `name` (see
    /// [`AsyncPgRunner::open`]).
    pub fn open(
        log: &'a PgLog,
        name: &str,
        initial: P,
        options: PgRunnerOptions,
    ) -> Result<PgRunner<'a, P>, Error> {
        check_runner(name, &options)?;
        let owned = name.to_owned();
        let loaded = log.run(move |log| async move { load(&log, &owned).await })?;
        let core = RunnerCore::resume(name, loaded, initial, &options)?;
        let follower = log.follow(core.position() + 1, options.follow)?;
        Ok(PgRunner {
            log,
            follower,
            core,
        })
    }

    /// The last position fed to the projection (0: none).
    pub fn position(&self) -> u64 {
        self.core.position()
    }

    /// The position of the checkpoint stored or loaded last (0: none).
    pub fn saved_position(&self) -> u64 {
        self.core.saved_position()
    }

    /// The projection as of [`PgRunner::position`].
    pub fn state(&self) -> &P {
        self.core.fed.state()
    }

    /// The projection, and the position it is fed up to.
    pub fn into_parts(self) -> (u64, P) {
        self.core.fed.into_parts()
    }

    /// Feeds the next event (see [`AsyncPgRunner::step`]).
    pub fn step(&mut self, timeout_ms: u64) -> Result<Option<u64>, Error> {
        let Some(e) = self.follower.next_within(timeout_ms)? else {
            return Ok(None);
        };
        self.feed(&e)?;
        Ok(Some(e.position))
    }

    /// Feeds every event committed now (see [`AsyncPgRunner::catch_up`]).
    pub fn catch_up(&mut self) -> Result<u64, Error> {
        let mut fed = 0;
        while let Some(e) = self.follower.try_next()? {
            self.feed(&e)?;
            fed += 1;
        }
        Ok(fed)
    }

    /// Stores a checkpoint now (see [`AsyncPgRunner::checkpoint`]).
    pub fn checkpoint(&mut self) -> Result<(), Error> {
        let Some((position, json)) = self.core.unsaved()? else {
            return Ok(());
        };
        // In doubt until answered (see `AsyncPgRunner::checkpoint`).
        let in_doubt = self.core.in_doubt.clone();
        self.core.in_doubt.push(position);
        let (name, expected) = (self.core.name.clone(), self.core.saved);
        self.log.run(move |log| async move {
            save(&log, &name, expected, &in_doubt, position, &json).await
        })?;
        self.core.stored(position);
        Ok(())
    }

    fn feed(&mut self, e: &RecordedEvent) -> Result<(), Error> {
        if self.core.observe(e)? {
            self.checkpoint()?;
        }
        Ok(())
    }
}
