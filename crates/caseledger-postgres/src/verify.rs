//! `verify`: the audit walk over every row of the log, in one snapshot.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use caseledger::{CaseId, CaseState, RecordedEvent};
use caseledger_codec::{GENESIS_HASH, StringPool, encode_commit_body, link_holds, stored_hash};

use crate::Head;
use crate::error::{Error, ErrorKind};
use crate::log::AsyncPgLog;
use crate::rows::{
    EVENT_COLUMNS, RowRef, decode_row_body, decode_row_body_pooled, to_hash, to_i64, to_u64,
};
use crate::writer::recorded_at_of;

/// Rows fetched at a time by the walk.
const VERIFY_PAGE_ROWS: i32 = 10_000;

/// What [`AsyncPgLog::verify`] found in a sound log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Streams (cases) seen.
    pub streams: u64,
    /// Commit markers (batches) checked.
    pub commits: u64,
    /// The head: write it down; a later verify that reaches the same
    /// position with the same hash proves nothing up to it changed. The
    /// same as the file store's `verify` prints for the same records.
    pub head: Head,
}

/// What a walk checks besides the chain (every body's link, positions,
/// stream versions, batches, the head).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// The chain's sequential part alone, the rows' `position` and `body`
    /// read and nothing else (what a report or an export, computed from the
    /// bodies, needs): each body's link, gapless positions, batches and the
    /// head. The bodies are not decoded here:
    /// the walk hands each checked page of rows to its `pages` sink, whose
    /// [`BodyCheck`] decodes them on another thread and checks the rest
    /// (the body's own position, stream versions). See [`BodyCheck`] for
    /// why the first problem found is still the one a sequential walk
    /// finds.
    Chain,
    /// Also every column against its body.
    Columns,
    /// Also the case rules: `verify`.
    Rules,
}

impl AsyncPgLog {
    /// Walks the whole log in one snapshot (a repeatable-read transaction,
    /// so appends going on meanwhile are neither seen nor disturbed):
    /// recomputes the chain from the stored bodies (every event and every
    /// commit marker), checks every column of every row against its
    /// decoded body, gapless positions and stream versions, batches that
    /// cover the events exactly, the head row, and folds every case through
    /// the case rules ([`CaseState::apply_in_place`], the rules' one
    /// implementation). Calls `visit` with each event in position order.
    ///
    /// Fails at the first problem: [`ErrorKind::Tampered`] names the
    /// position of the changed row (a changed body breaks its own link; a
    /// changed column differs from its body), [`ErrorKind::RuleBroken`] the
    /// event that breaks a rule.
    pub async fn verify(
        &self,
        mut visit: impl FnMut(&RecordedEvent) + Send,
    ) -> Result<VerifyReport, Error> {
        self.walk(Depth::Rules, |r| visit(&r), |_| true).await
    }

    /// [`AsyncPgLog::verify`] without the case rules: the chain, every
    /// column, positions, versions, batches and the head. For a caller that
    /// folds the rules itself from `visit` (on another thread), and for
    /// logs of events that follow no case's life (tests of the storage).
    pub async fn verify_chain(
        &self,
        mut visit: impl FnMut(&RecordedEvent) + Send,
    ) -> Result<VerifyReport, Error> {
        self.walk(Depth::Columns, |r| visit(&r), |_| true).await
    }

    /// The walk of [`AsyncPgLog::verify`] to `depth`, handing each event
    /// over to `visit` (owned: the blocking log passes it to another thread
    /// without a copy).
    ///
    /// With [`Depth::Chain`], `visit` is never called: each page of rows is
    /// handed to `pages` once checked, or, when a row of it fails, the rows
    /// before the failing one (and that one too when it fails only at its
    /// commit marker, which a sequential walk checks after decoding it);
    /// `pages` returns `false` when its receiver stopped (the walk stops
    /// too). Other depths hand every page to `pages` as well, unused.
    ///
    /// Pipelined: while the rows of one page are checked, the next page is
    /// already asked for, so the server produces and sends it meanwhile
    /// (one connection, one snapshot: the request goes out before the
    /// checking starts, and the connection's task receives the rows on
    /// another thread).
    pub(crate) async fn walk(
        &self,
        depth: Depth,
        visit: impl FnMut(RecordedEvent) + Send,
        pages: impl FnMut(Vec<tokio_postgres::Row>) -> bool + Send,
    ) -> Result<VerifyReport, Error> {
        self.walk_to(depth, None, visit, pages).await
    }

    /// [`AsyncPgLog::walk`], of the whole log (`up_to` `None`), or of the
    /// log as it stood when its head was `up_to`: the events and commit
    /// markers up to that position only, checked as the whole walk checks
    /// them, arriving at the commit marker there as their head (the head
    /// row, which is today's, is not compared). Fails with
    /// [`ErrorKind::PastHead`] beyond the head row's position, with
    /// [`ErrorKind::InsideBatch`] when no batch ends there.
    pub(crate) async fn walk_to(
        &self,
        depth: Depth,
        up_to: Option<u64>,
        mut visit: impl FnMut(RecordedEvent) + Send,
        mut pages: impl FnMut(Vec<tokio_postgres::Row>) -> bool + Send,
    ) -> Result<VerifyReport, Error> {
        let during = "verifying the log";
        let mut client = self.client(during).await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(Error::db(during))?;
        let head_row = tx
            .query_one(
                "SELECT position, hash, recorded_secs, recorded_nanos FROM caseledger.head",
                &[],
            )
            .await
            .map_err(Error::db(during))?;
        let head = Head {
            position: to_u64(head_row.get(0), 0, "the head position")?,
            hash: to_hash(head_row.get::<_, &[u8]>(1), 0)?,
        };
        let head_recorded = (
            head_row.get::<_, Option<i64>>(2),
            head_row.get::<_, Option<i32>>(3),
        );
        // The head walked to: the head row's, or the past head asked for
        // (None: the head row's, checked with its recorded time).
        let (head, past) = match up_to {
            Some(p) if p > head.position => {
                return Err(Error::new(ErrorKind::PastHead {
                    position: p,
                    head: head.position,
                }));
            }
            Some(p) if p < head.position => (past_head(&tx, p).await?, Some(p)),
            _ => (head, None),
        };
        let columns = match depth {
            Depth::Chain => "position, body",
            Depth::Columns | Depth::Rules => EVENT_COLUMNS,
        };
        // The whole walk's statements are kept as they were (no bound to
        // plan around); the past head's are bounded by its position.
        let (events_where, commits_where) = match past {
            None => ("", ""),
            Some(_) => (" WHERE position <= $1", " WHERE last_position <= $1"),
        };
        let events_sql =
            format!("SELECT {columns} FROM caseledger.events{events_where} ORDER BY position");
        let events_stmt = tx.prepare(&events_sql).await.map_err(Error::db(during))?;
        let commits_stmt = tx
            .prepare(&format!(
                "SELECT last_position, first_position, hash FROM caseledger.commits{commits_where} \
                 ORDER BY last_position",
            ))
            .await
            .map_err(Error::db(during))?;
        let bound = past.map(|p| to_i64(p, "position")).transpose()?;
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = match &bound {
            None => Vec::new(),
            Some(p) => vec![p],
        };
        let events = tx
            .bind(&events_stmt, &params)
            .await
            .map_err(Error::db(during))?;
        let commits = tx
            .bind(&commits_stmt, &params)
            .await
            .map_err(Error::db(during))?;

        let mut walk = Walk {
            rules: depth == Depth::Rules,
            ..Walk::default()
        };
        let mut commit_rows = std::collections::VecDeque::new();
        let mut commits_done = false;
        let mut page = tx
            .query_portal(&events, VERIFY_PAGE_ROWS)
            .await
            .map_err(Error::db(during))?;
        while !page.is_empty() {
            let next = tx.query_portal(&events, VERIFY_PAGE_ROWS);
            // Rows of the page whose checks before decoding passed.
            let mut passed = 0;
            let check = async {
                for row in &page {
                    let position = match depth {
                        Depth::Chain => {
                            let during = "reading an event row";
                            let position = row.try_get(0).map_err(Error::db(during))?;
                            let body = row.try_get(1).map_err(Error::db(during))?;
                            walk.link(position, body)?;
                            walk.last_position
                        }
                        Depth::Columns | Depth::Rules => {
                            let row = RowRef::from_row(row)?;
                            let r = walk.event(row.position, row.body, &row)?;
                            let position = r.position;
                            visit(r);
                            position
                        }
                    };
                    passed += 1;
                    // The commit marker that closes a batch at this event, if any.
                    if commit_rows.is_empty() && !commits_done {
                        let more = tx
                            .query_portal(&commits, VERIFY_PAGE_ROWS)
                            .await
                            .map_err(Error::db(during))?;
                        commits_done = more.is_empty();
                        commit_rows.extend(more);
                    }
                    if let Some(c) = commit_rows.front() {
                        let last = to_u64(c.get(0), position, "a commit's last position")?;
                        if last == position {
                            let first = to_u64(c.get(1), position, "a commit's first position")?;
                            let hash = to_hash(c.get::<_, &[u8]>(2), position)?;
                            walk.commit(first, last, &hash)?;
                            commit_rows.pop_front();
                        } else if last < position {
                            return Err(Error::tampered(
                                last,
                                "a commit marker closes a batch at a position with no event",
                            ));
                        }
                    }
                }
                Ok(())
            };
            // `next` first: its request goes out before the checking starts.
            let (next, checked) = futures_util::future::join(next, check).await;
            page.truncate(passed);
            if !pages(page) {
                // Nobody receives the pages: stop the walk.
                return Err(Error::new(ErrorKind::WriterStopped));
            }
            checked?;
            page = next.map_err(Error::db(during))?;
        }
        if !commit_rows.is_empty()
            || (!commits_done
                && !tx
                    .query_portal(&commits, 1)
                    .await
                    .map_err(Error::db(during))?
                    .is_empty())
        {
            return Err(Error::tampered(
                walk.last_position + 1,
                "a commit marker closes events that are not in the log (rows deleted?)",
            ));
        }
        if walk.batch_first <= walk.last_position {
            return Err(Error::tampered(
                walk.batch_first,
                "events after the last commit marker: a batch without its commit",
            ));
        }
        if head.position != walk.last_position || head.hash != walk.prev {
            return Err(Error::tampered(
                head.position,
                format!(
                    "the head row (position {}) does not match the chain recomputed from the rows \
                     (position {})",
                    head.position, walk.last_position
                ),
            ));
        }
        // The head row's recorded time is today's head's, not a past one's.
        if past.is_none() {
            check_head_recorded_at(&tx, walk.last_position, head_recorded).await?;
        }
        tx.commit().await.map_err(Error::db(during))?;
        Ok(VerifyReport {
            events: walk.last_position,
            streams: walk.versions.len() as u64,
            commits: walk.commits,
            head,
        })
    }
}

/// The head after the batch ending at `position` (below the head row's),
/// read in the walk's snapshot: the position and its commit marker's hash,
/// which the walk then checks against the chain it recomputes. When no
/// batch ends there, [`ErrorKind::InsideBatch`] names the batch that holds
/// it.
async fn past_head(tx: &tokio_postgres::Transaction<'_>, position: u64) -> Result<Head, Error> {
    if position == 0 {
        return Ok(Head::EMPTY);
    }
    let during = "reading a commit marker";
    let p = to_i64(position, "position")?;
    let row = tx
        .query_opt(
            "SELECT last_position, first_position, hash FROM caseledger.commits \
             WHERE last_position >= $1 ORDER BY last_position LIMIT 1",
            &[&p],
        )
        .await
        .map_err(Error::db(during))?;
    let Some(row) = row else {
        return Err(Error::tampered(
            position,
            "no commit marker closes a batch at or after this position, below the head row's",
        ));
    };
    let last = to_u64(row.get(0), position, "a commit's last position")?;
    let first = to_u64(row.get(1), position, "a commit's first position")?;
    if last != position {
        return Err(Error::new(ErrorKind::InsideBatch {
            position,
            first,
            last,
        }));
    }
    Ok(Head {
        position,
        hash: to_hash(row.get::<_, &[u8]>(2), position)?,
    })
}

/// Checks the head row's recorded time against the last event's (read in
/// the walk's snapshot; its body was checked by the walk): appends take it
/// as the time no later event may be recorded before, so a changed one
/// would date every later event wrongly (a year 9999 one, for ever) or
/// stop every append (one out of range), while the chain still holds.
/// Both are empty before the first event.
async fn check_head_recorded_at(
    tx: &tokio_postgres::Transaction<'_>,
    last_position: u64,
    (secs, nanos): (Option<i64>, Option<i32>),
) -> Result<(), Error> {
    let during = "verifying the head row";
    let last = match last_position {
        0 => None,
        p => {
            let row = tx
                .query_one(
                    "SELECT body FROM caseledger.events WHERE position = $1",
                    &[&to_i64(p, "position")?],
                )
                .await
                .map_err(Error::db(during))?;
            let header = caseledger_codec::decode_event_header(row.get::<_, &[u8]>(0))
                .map_err(|e| Error::tampered(p, format!("the body does not decode: {e}")))?;
            Some(header.recorded_at)
        }
    };
    let differs = |head: &str| {
        Error::tampered(
            last_position,
            format!(
                "the head row's recorded time ({head}) is not the last event's ({})",
                last.map_or_else(|| "none".to_owned(), |t| caseledger::format_timestamp(&t))
            ),
        )
    };
    let head = recorded_at_of(secs, nanos).map_err(|_| {
        differs(&format!(
            "{} s and {} ns, out of range",
            secs.map_or_else(|| "no".to_owned(), |s| s.to_string()),
            nanos.map_or_else(|| "no".to_owned(), |n| n.to_string())
        ))
    })?;
    if head != last || secs.is_some() != nanos.is_some() {
        return Err(differs(&head.map_or_else(
            || "none".to_owned(),
            |t| caseledger::format_timestamp(&t),
        )));
    }
    Ok(())
}

/// The walk's state: the chain so far, each stream's version and state.
struct Walk {
    /// Whether to fold the case rules.
    rules: bool,
    prev: caseledger_codec::Hash,
    last_position: u64,
    /// The first event of the batch not closed yet.
    batch_first: u64,
    commits: u64,
    versions: HashMap<CaseId, u64, RandomState>,
    states: HashMap<CaseId, CaseState, RandomState>,
}

impl Default for Walk {
    fn default() -> Walk {
        Walk {
            rules: true,
            prev: GENESIS_HASH,
            last_position: 0,
            batch_first: 1,
            commits: 0,
            versions: HashMap::default(),
            states: HashMap::default(),
        }
    }
}

impl Walk {
    /// Checks one event row at `position` holding `body`: its place, its
    /// link, its columns, its stream version,
    /// the case rules.
    fn event(
        &mut self,
        position: i64,
        body: &[u8],
        row: &RowRef<'_>,
    ) -> Result<RecordedEvent, Error> {
        let expected = self.last_position + 1;
        self.check_link(position, body)?;
        let r = decode_row_body(position, body)?;
        row.check_columns(&r)?;
        self.prev = stored_hash(body);
        self.last_position = expected;
        check_version(&mut self.versions, &r)?;
        if !self.rules {
            return Ok(r);
        }
        let state = self.states.entry(r.event.case_id).or_default();
        if let Err(err) = state.apply_in_place(&r.event) {
            return Err(Error::new(ErrorKind::RuleBroken {
                position: expected,
                detail: format!("case {}: {err}", r.event.case_id),
            }));
        }
        Ok(r)
    }

    /// The sequential part of [`Walk::event`] alone ([`Depth::Chain`]): the
    /// row's place and its link, then the chain moves on to it. The rest of
    /// the row's checks are [`BodyCheck`]'s.
    fn link(&mut self, position: i64, body: &[u8]) -> Result<(), Error> {
        self.check_link(position, body)?;
        self.prev = stored_hash(body);
        self.last_position += 1;
        Ok(())
    }

    /// Checks that the row at `position` is the next one and that its body
    /// links to the chain so far.
    fn check_link(&self, position: i64, body: &[u8]) -> Result<(), Error> {
        let expected = self.last_position + 1;
        if position != i64::try_from(expected).unwrap_or(i64::MAX) {
            return Err(Error::tampered(
                expected,
                format!("the event at this position is missing (the next row is at {position})"),
            ));
        }
        if !link_holds(&self.prev, body) {
            return Err(Error::tampered(
                expected,
                "the chain hash of this event does not match its content: the row, or the one \
                 before it, was changed",
            ));
        }
        Ok(())
    }

    /// Checks a commit marker closing the batch at the last event.
    fn commit(
        &mut self,
        first: u64,
        last: u64,
        stored: &caseledger_codec::Hash,
    ) -> Result<(), Error> {
        if first != self.batch_first {
            return Err(Error::tampered(
                last,
                format!(
                    "the commit marker says its batch starts at {first}, but the batch starts at {}",
                    self.batch_first
                ),
            ));
        }
        let mut body = Vec::with_capacity(56);
        let hash = encode_commit_body(&mut body, &self.prev, first, last);
        if &hash != stored {
            return Err(Error::tampered(
                last,
                "the hash of the commit marker after this event does not match the chain",
            ));
        }
        self.prev = hash;
        self.batch_first = last + 1;
        self.commits += 1;
        Ok(())
    }
}

/// Without the columns, at least the body's own position must be the row's.
fn check_body_position(r: &RecordedEvent, expected: u64) -> Result<(), Error> {
    if r.position != expected {
        return Err(Error::tampered(
            expected,
            format!("the row holds the body of position {}", r.position),
        ));
    }
    Ok(())
}

/// Checks that `r` is the next version of its stream, and records it.
fn check_version(
    versions: &mut HashMap<CaseId, u64, RandomState>,
    r: &RecordedEvent,
) -> Result<(), Error> {
    let version = versions.entry(r.event.case_id).or_insert(0);
    if r.version != *version + 1 {
        return Err(Error::tampered(
            r.position,
            format!(
                "case {} jumps from version {} to {}",
                r.event.case_id, version, r.version
            ),
        ));
    }
    *version = r.version;
    Ok(())
}

/// The checks of a [`Depth::Chain`] walk that need the decoded body, made
/// on the thread that receives its pages (the caller's), so that decoding
/// runs beside the chain's hashing instead of after it: each body decodes
/// to an event, the event's own position is the row's, each stream's
/// versions follow one another.
///
/// The first problem reported is the one a sequential walk (such as
/// [`Depth::Columns`]'s, which also checks the columns) reports for the
/// same rows: that walk checks each row's
/// place and link, then decodes it and checks its position and version,
/// then the commit marker closing at it. The chain walk hands over only
/// rows that passed the checks made before decoding (all of a page's, or
/// those before the failing row, and the failing row too when only its
/// commit marker failed), so a problem found here precedes any the chain
/// walk found; the receiver checks the pages in order and stops at its
/// first problem, and reports the chain walk's only when the pages it got
/// were sound.
#[derive(Default)]
pub(crate) struct BodyCheck {
    versions: HashMap<CaseId, u64, RandomState>,
}

impl BodyCheck {
    /// Checks the rows of one page handed over by the chain walk, in
    /// order; calls `visit` with each event that passed, its strings taken
    /// from `pool`.
    pub(crate) fn page(
        &mut self,
        rows: &[tokio_postgres::Row],
        pool: &mut StringPool,
        mut visit: impl FnMut(RecordedEvent, &mut StringPool),
    ) -> Result<(), Error> {
        let during = "reading an event row";
        for row in rows {
            let position: i64 = row.try_get(0).map_err(Error::db(during))?;
            let body: &[u8] = row.try_get(1).map_err(Error::db(during))?;
            let r = decode_row_body_pooled(position, body, pool)?;
            // The chain walk checked the row's position: it is the expected one.
            check_body_position(&r, u64::try_from(position).unwrap_or(0))?;
            check_version(&mut self.versions, &r)?;
            visit(r, pool);
        }
        Ok(())
    }

    /// Streams (cases) seen.
    pub(crate) fn streams(&self) -> u64 {
        self.versions.len() as u64
    }
}
