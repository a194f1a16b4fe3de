//! The log as its records, batch boundaries included: what a copy between
//! backends reads ([`AsyncPgLog::read_records`]) and writes
//! ([`AsyncPgLog::import`]) to reproduce a ledger exactly (same positions,
//! recorded times, batches, hence the same head hash).

use std::collections::HashMap;

use caseledger::{CaseId, RecordedEvent};
use caseledger_codec::{Hash, encode_commit_body, encode_event_body, link_holds, stored_hash};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt, TryStreamExt};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

use crate::Head;
use crate::config::NOTIFY_CHANNEL;
use crate::error::{Error, ErrorKind};
use crate::log::AsyncPgLog;
use crate::rows::{EventRow, to_hash, to_i64, to_u64};
use crate::writer::recorded_at_of;

/// One record of the log, in the order of the chain: each event, and after
/// the last event of each batch (an append, a group of appends, an import)
/// the commit marker closing it. The file store holds the same sequence of
/// records (its commit records), so the two chains are the same.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogRecord {
    /// An event, at its position, version and recorded time.
    Event(RecordedEvent),
    /// The end of a batch: events `first_position..=last_position` are
    /// committed together.
    Commit {
        /// The first event of the batch.
        first_position: u64,
        /// The last event of the batch.
        last_position: u64,
    },
}

/// A stream of records ([`AsyncPgLog::read_records`]).
pub type RecordStream = std::pin::Pin<Box<dyn Stream<Item = Result<LogRecord, Error>> + Send>>;

impl AsyncPgLog {
    /// The chain hash after the batch that ends at `position` (the head the
    /// log had when that batch was committed): `None` when no batch ends
    /// there. Position 0 is the empty log's head. A resumable copy checks
    /// the target's head against the source's this way.
    pub async fn head_at(&self, position: u64) -> Result<Option<Head>, Error> {
        if position == 0 {
            return Ok(Some(Head::EMPTY));
        }
        let during = "reading a commit marker";
        let client = self.client(during).await?;
        let row = client
            .query_opt(
                "SELECT hash FROM caseledger.commits WHERE last_position = $1",
                &[&to_i64(position, "position")?],
            )
            .await
            .map_err(Error::db(during))?;
        row.map(|r| {
            Ok(Head {
                position,
                hash: to_hash(r.get::<_, &[u8]>(0), position)?,
            })
        })
        .transpose()
    }

    /// The chain hash before position `from` (1, or the first event of a
    /// batch): the marker's of the batch ending just before it, where a
    /// checked read of the records from `from` starts.
    pub(crate) async fn chain_before(&self, from: u64) -> Result<Hash, Error> {
        let before = from.saturating_sub(1);
        match self.head_at(before).await? {
            Some(head) => Ok(head.hash),
            None => Err(Error::tampered(
                before,
                "no commit marker closes a batch at this position, so a read cannot start \
                 after it",
            )),
        }
    }

    /// Reads the records with positions `from..=to`: up to `limit` events
    /// and the commit markers of batches ending among them, in chain order,
    /// each checked against the chain as the log's walk checks it: every
    /// event's body links to `prev` (the chain hash before `from`, moved on
    /// to the page's last record), and every commit marker's hash is the
    /// chain's. So a row or a marker changed behind the log's back stops
    /// the read at its position, before anything of it is handed on (a
    /// copy then writes nothing of its batch).
    pub(crate) async fn records_page(
        &self,
        from: u64,
        to: u64,
        limit: usize,
        prev: &mut Hash,
    ) -> Result<Vec<LogRecord>, Error> {
        let events = self.page_rows(from, to, limit).await?;
        let Some(last) = events.last().map(|(e, _)| e.position) else {
            return Ok(Vec::new());
        };
        let during = "reading commit markers";
        let client = self.client(during).await?;
        let rows = client
            .query(
                "SELECT last_position, first_position, hash FROM caseledger.commits
                  WHERE last_position >= $1 AND last_position <= $2 ORDER BY last_position",
                &[&to_i64(from, "position")?, &to_i64(last, "position")?],
            )
            .await
            .map_err(Error::db(during))?;
        let mut commits = rows.iter().peekable();
        let mut out = Vec::with_capacity(events.len() + rows.len());
        let mut body = Vec::with_capacity(56);
        for (e, row) in events {
            let position = e.position;
            if !link_holds(prev, &row.body) {
                return Err(Error::tampered(
                    position,
                    "the chain hash of this event does not match its content: the row, or the \
                     record before it, was changed",
                ));
            }
            *prev = stored_hash(&row.body);
            out.push(LogRecord::Event(e));
            if let Some(c) = commits.peek() {
                let last_position = to_u64(c.get(0), position, "a commit's last position")?;
                if last_position == position {
                    let first_position = to_u64(c.get(1), position, "a commit's first position")?;
                    let stored = to_hash(c.get::<_, &[u8]>(2), position)?;
                    body.clear();
                    let hash = encode_commit_body(&mut body, prev, first_position, last_position);
                    if hash != stored {
                        return Err(Error::tampered(
                            position,
                            "the hash of the commit marker after this event does not match the \
                             chain",
                        ));
                    }
                    *prev = hash;
                    out.push(LogRecord::Commit {
                        first_position,
                        last_position,
                    });
                    commits.next();
                }
            }
        }
        Ok(out)
    }

    /// The records from `from_position` (the first event of a batch: 1, or
    /// one after a head) to the head as it was when the call began, in
    /// chain order, fetched in pages of [`crate::PgOptions::page_rows`].
    /// What `caseledger copy` reads to reproduce the ledger elsewhere.
    ///
    /// Every record is checked against the chain before it is given (see
    /// `records_page`), from the commit marker before `from_position`: the
    /// read fails at the first record changed behind the log's back.
    pub async fn read_records(&self, from_position: u64) -> Result<RecordStream, Error> {
        let end = self.head().await?.position;
        let from = from_position.max(1);
        let start = self.chain_before(from).await?;
        let rows = self.options().page_rows;
        let log = self.clone();
        let pages = futures_util::stream::try_unfold((from, start), move |(next, mut prev)| {
            let log = log.clone();
            async move {
                if next > end {
                    return Ok(None);
                }
                let page = log.records_page(next, end, rows, &mut prev).await?;
                let last = page.iter().rev().find_map(|r| match r {
                    LogRecord::Event(e) => Some(e.position),
                    LogRecord::Commit { .. } => None,
                });
                let Some(last) = last else {
                    return Err(Error::tampered(
                        next,
                        "the event at this position is missing",
                    ));
                };
                Ok(Some((page, (last + 1, prev))))
            }
        });
        Ok(pages
            .map_ok(|page| futures_util::stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
            .boxed())
    }

    /// Bulk-loads records that continue the log from `from`, which must be
    /// its head (for an empty log, [`Head::EMPTY`]), in one transaction
    /// through `COPY`: all of them or, on any error, none.
    ///
    /// The records keep their positions, versions and recorded times; this
    /// log encodes them and computes the chain itself, so the new head is
    /// the one the source had at the same position when the records are
    /// the same. Refused ([`ErrorKind::ImportRefused`], nothing written) if
    /// the log's head is not `from` (a non-empty target, or one that moved:
    /// a resumed copy passes the target's head after checking it against
    /// the source with [`AsyncPgLog::head_at`] there), if positions do not
    /// continue it one by one, if a stream's versions do not continue its
    /// stored ones, if a recorded time goes back, if a commit marker does
    /// not close exactly the events since the last one, or if events are
    /// left without a commit marker at the end. A reused event id is
    /// refused by the table's unique key (an [`ErrorKind::Database`]
    /// error), also all or nothing. Case rules are not checked here: an
    /// import takes records a caller checked (a verified source, or the
    /// command line's validated input); `verify` checks them.
    ///
    /// The first error of `records` stops the import: nothing is written
    /// and that error is returned.
    pub async fn import(
        &self,
        from: Head,
        records: impl Stream<Item = Result<LogRecord, Error>> + Send,
    ) -> Result<Head, Error> {
        let during = "importing";
        let mut client = self.client(during).await?;
        let tx = client.transaction().await.map_err(Error::db(during))?;
        let head = tx
            .query_one(
                "SELECT position, hash, recorded_secs, recorded_nanos FROM caseledger.head FOR UPDATE",
                &[],
            )
            .await
            .map_err(Error::db("locking the head row"))?;
        let current = Head {
            position: to_u64(head.get(0), 0, "the head position")?,
            hash: to_hash(head.get::<_, &[u8]>(1), 0)?,
        };
        if current != from {
            return Err(refused(format!(
                "the log's head is position {} hash {}, not position {} hash {} that the import \
                 continues from (a non-empty target, or one that moved)",
                current.position,
                current.hash_hex(),
                from.position,
                from.hash_hex()
            )));
        }
        // Into an empty log, the keys are built once after the load (a
        // sort) instead of row by row (random event ids make every insert
        // into their btree a random write; even the primary key's ordered
        // inserts cost more than its build after the load: 1M rows' COPY
        // 7.2 to 8.0 s with it against 3.7 to 4.2 s plus 1.0 to 1.1 s for
        // the build, docs/postgres.md): dropped here, created again below,
        // in this transaction, so that all or nothing holds and no one ever
        // sees the table without them. A role that does not own the table
        // (the application's) loads with them in place.
        let rebuild_keys = from.position == 0 && drop_keys(&tx).await?;
        let mut chain = Chain {
            hash: from.hash,
            next_position: from.position + 1,
            batch_first: from.position + 1,
            last_recorded_at: recorded_at_of(head.get(2), head.get(3))?,
            versions: HashMap::new(),
            commits: Vec::new(),
        };
        let sink = tx
            .copy_in(
                "COPY caseledger.events (position, case_id, version, event_id, type, at, \
                 recorded_at, customer_id, due, body, hash) FROM STDIN (FORMAT binary)",
            )
            .await
            .map_err(Error::db(during))?;
        let writer = BinaryCopyInWriter::new(
            sink,
            &[
                Type::INT8,
                Type::UUID,
                Type::INT8,
                Type::UUID,
                Type::TEXT,
                Type::TIMESTAMPTZ,
                Type::TIMESTAMPTZ,
                Type::TEXT,
                Type::TIMESTAMPTZ,
                Type::BYTEA,
                Type::BYTEA,
            ],
        );
        futures_util::pin_mut!(writer);
        futures_util::pin_mut!(records);
        while let Some(record) = records.next().await {
            match record? {
                LogRecord::Event(e) => {
                    let row = chain.event(&e)?;
                    let values: [&(dyn ToSql + Sync); 11] = [
                        &row.position,
                        &row.case_id,
                        &row.version,
                        &row.event_id,
                        &row.event_type,
                        &row.at,
                        &row.recorded_at,
                        &row.customer_id,
                        &row.due,
                        &row.body,
                        &row.hash,
                    ];
                    writer.as_mut().write(&values).await.map_err(load_error)?;
                }
                LogRecord::Commit {
                    first_position,
                    last_position,
                } => chain.commit(first_position, last_position)?,
            }
        }
        if chain.batch_first != chain.next_position {
            return Err(refused(format!(
                "events from position {} on are not closed by a commit marker",
                chain.batch_first
            )));
        }
        writer.finish().await.map_err(load_error)?;
        if rebuild_keys {
            tx.batch_execute(CREATE_KEYS).await.map_err(load_error)?;
        }
        if chain.commits.is_empty() {
            // Nothing to import: the head stays.
            tx.commit().await.map_err(Error::db(during))?;
            return Ok(from);
        }
        chain.check_stored_versions(&tx, from.position).await?;
        let commit_sink = tx
            .copy_in("COPY caseledger.commits (last_position, first_position, hash) FROM STDIN (FORMAT binary)")
            .await
            .map_err(Error::db(during))?;
        let commit_writer =
            BinaryCopyInWriter::new(commit_sink, &[Type::INT8, Type::INT8, Type::BYTEA]);
        futures_util::pin_mut!(commit_writer);
        for (last, first, hash) in &chain.commits {
            let hash = hash.as_slice();
            commit_writer
                .as_mut()
                .write(&[last, first, &hash])
                .await
                .map_err(Error::db(during))?;
        }
        commit_writer.finish().await.map_err(Error::db(during))?;
        let last = chain.next_position - 1;
        if last - from.position >= ANALYZE_AFTER_EVENTS {
            // Fresh statistics for the planner: without them, right after a
            // large load into an empty table, it took the keyset pages of
            // `read_all` for a scan of the whole table and a sort (163 s
            // over 1M events). ANALYZE sees this transaction's own rows, and
            // its statistics commit with them.
            //
            // A sample of 3,000 rows (statistics target 10, for this
            // transaction only) instead of the default 30,000, which read
            // most of the table's pages: 60 ms instead of 870 over 1M
            // events, and the plans of the log's queries are the same
            // (primary key ranges, the stream's key, the customer index).
            // Autovacuum's own ANALYZE refines the statistics later.
            tx.batch_execute(
                "SET LOCAL default_statistics_target = 10; \
                 ANALYZE caseledger.events; ANALYZE caseledger.commits",
            )
            .await
            .map_err(Error::db("analyzing the imported rows"))?;
        }
        let (secs, nanos) = match chain.last_recorded_at {
            Some(t) => (Some(t.timestamp()), Some(t.timestamp_subsec_nanos() as i32)),
            None => (None, None),
        };
        let hash = chain.hash.as_slice();
        let last_i = to_i64(last, "position")?;
        tx.execute(
            "UPDATE caseledger.head SET position = $1, hash = $2, recorded_secs = $3, recorded_nanos = $4",
            &[&last_i, &hash, &secs, &nanos],
        )
        .await
        .map_err(Error::db(during))?;
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&NOTIFY_CHANNEL, &last.to_string()],
        )
        .await
        .map_err(Error::db(during))?;
        // Once the COMMIT is sent, a lost connection may have lost only
        // the answer to a commit the server made: the import's outcome is
        // then unknown, not "nothing stored".
        tx.commit()
            .await
            .map_err(Error::commit_sent("committing the import"))?;
        Ok(Head {
            position: last,
            hash: chain.hash,
        })
    }
}

/// The keys of `events` as migration 1 creates them, for an import into an
/// empty log to build after its load: the primary key first (the rows
/// arrive in position order, so its sort is cheap), then the secondary
/// keys.
const CREATE_KEYS: &str = "
ALTER TABLE caseledger.events ADD CONSTRAINT events_pkey PRIMARY KEY (position),
    ADD CONSTRAINT events_event_id_key UNIQUE (event_id),
    ADD CONSTRAINT events_case_id_version_key UNIQUE (case_id, version);
CREATE INDEX events_customer ON caseledger.events (customer_id) WHERE customer_id IS NOT NULL;
";

/// Drops the keys of `events` (the primary key too) inside the import's
/// transaction,
/// under a savepoint: `false` (and nothing changed) when the role may not
/// (it does not own the table).
async fn drop_keys(tx: &tokio_postgres::Transaction<'_>) -> Result<bool, Error> {
    let during = "importing";
    tx.batch_execute("SAVEPOINT caseledger_keys")
        .await
        .map_err(Error::db(during))?;
    let dropped = tx
        .batch_execute(
            "ALTER TABLE caseledger.events DROP CONSTRAINT events_pkey, \
             DROP CONSTRAINT events_event_id_key, \
             DROP CONSTRAINT events_case_id_version_key; \
             DROP INDEX caseledger.events_customer",
        )
        .await;
    match dropped {
        Ok(()) => Ok(true),
        Err(_) => {
            tx.batch_execute("ROLLBACK TO SAVEPOINT caseledger_keys")
                .await
                .map_err(Error::db(during))?;
            Ok(false)
        }
    }
}

/// The error of loading the rows: an event id already stored (or twice in
/// the import) as [`ErrorKind::EventIdTaken`], naming it; any other as a
/// database error.
fn load_error(e: tokio_postgres::Error) -> Error {
    let taken = e.as_db_error().and_then(|db| {
        if db.code() != &tokio_postgres::error::SqlState::UNIQUE_VIOLATION
            || db.constraint() != Some("events_event_id_key")
        {
            return None;
        }
        // "Key (event_id)=(UUID) already exists." or "... is duplicated."
        let detail = db.detail()?;
        let start = detail.find(")=(")? + 3;
        let end = start + detail[start..].find(')')?;
        Uuid::parse_str(&detail[start..end]).ok()
    });
    match taken {
        Some(id) => Error::with_source(
            ErrorKind::EventIdTaken {
                event_id: caseledger::EventId::from_uuid(id),
            },
            e,
        ),
        None => Error::db("importing")(e),
    }
}

/// Events from which an import refreshes the planner's statistics of the
/// tables before it commits (autovacuum would, but only later).
const ANALYZE_AFTER_EVENTS: u64 = 10_000;

fn refused(reason: String) -> Error {
    Error::new(ErrorKind::ImportRefused { reason })
}

/// The chain an import builds, record by record.
struct Chain {
    hash: caseledger_codec::Hash,
    next_position: u64,
    batch_first: u64,
    last_recorded_at: Option<DateTime<Utc>>,
    /// Per stream: the first version the import holds and the last.
    versions: HashMap<CaseId, (u64, u64)>,
    /// (last, first, hash) of each batch.
    commits: Vec<(i64, i64, caseledger_codec::Hash)>,
}

impl Chain {
    fn event(&mut self, e: &RecordedEvent) -> Result<EventRow, Error> {
        if e.position != self.next_position {
            return Err(refused(format!(
                "an event at position {} where {} comes next",
                e.position, self.next_position
            )));
        }
        if self.last_recorded_at.is_some_and(|t| e.recorded_at < t) {
            return Err(refused(format!(
                "the event at position {} was recorded before the one before it",
                e.position
            )));
        }
        match self.versions.get_mut(&e.event.case_id) {
            Some((_, last)) if e.version == *last + 1 => *last = e.version,
            Some((_, last)) => {
                return Err(refused(format!(
                    "the event at position {} is version {} of case {}, after version {}",
                    e.position, e.version, e.event.case_id, last
                )));
            }
            None => {
                self.versions
                    .insert(e.event.case_id, (e.version, e.version));
            }
        }
        let mut body = Vec::with_capacity(160);
        let hash = encode_event_body(
            &mut body,
            &self.hash,
            e.position,
            e.version,
            &e.recorded_at,
            &e.event,
        )
        .map_err(|err| {
            Error::with_source(
                ErrorKind::ImportRefused {
                    reason: format!("the event at position {} cannot be stored", e.position),
                },
                err,
            )
        })?;
        self.hash = hash;
        self.next_position += 1;
        self.last_recorded_at = Some(e.recorded_at);
        EventRow::of(e, body, &hash)
    }

    fn commit(&mut self, first: u64, last: u64) -> Result<(), Error> {
        if first != self.batch_first || last + 1 != self.next_position || last < first {
            return Err(refused(format!(
                "a commit marker for positions {first}..={last}, but the open batch is {}..={}",
                self.batch_first,
                self.next_position.saturating_sub(1)
            )));
        }
        let mut body = Vec::with_capacity(56);
        self.hash = encode_commit_body(&mut body, &self.hash, first, last);
        self.commits.push((
            to_i64(last, "position")?,
            to_i64(first, "position")?,
            self.hash,
        ));
        self.batch_first = last + 1;
        Ok(())
    }

    /// Each stream whose first imported version is not 1 must be stored up
    /// to the version before it (a stream starting at 1 that is stored
    /// already is refused by the unique key on (case, version)).
    async fn check_stored_versions(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        before: u64,
    ) -> Result<(), Error> {
        let continuing: Vec<(Uuid, u64)> = self
            .versions
            .iter()
            .filter(|(_, (first, _))| *first != 1)
            .map(|(case, (first, _))| (*case.as_uuid(), *first))
            .collect();
        if continuing.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = continuing.iter().map(|(c, _)| *c).collect();
        let rows = tx
            .query(
                "SELECT case_id, max(version) FROM caseledger.events
                  WHERE case_id = ANY($1) AND position <= $2 GROUP BY case_id",
                &[&ids, &to_i64(before, "position")?],
            )
            .await
            .map_err(Error::db("importing"))?;
        let stored: HashMap<Uuid, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        for (case, first) in continuing {
            let at = stored.get(&case).copied().unwrap_or(0);
            if u64::try_from(at).ok() != Some(first - 1) {
                return Err(refused(format!(
                    "case {case} continues at version {first}, but it is stored up to version {at}"
                )));
            }
        }
        Ok(())
    }
}
