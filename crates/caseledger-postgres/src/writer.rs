//! The writer: group commit over one transaction per group.
//!
//! Every append of a process goes through one writer task. It takes the
//! oldest queued append and every append queued behind it (up to
//! [`MAX_GROUP_APPENDS`]) and writes them in one transaction:
//!
//! 1. lock the head row (`SELECT … FOR UPDATE`): appenders of every process
//!    and server queue here, so positions are handed out in commit order,
//!    with no sequence and no gap, and a position is visible only once
//!    every lower one is (the previous holder committed before the lock
//!    was granted);
//! 2. for each append: read the stream's version and where its event ids
//!    are stored (and, for a condition, the customer's follow-ups), in one
//!    pipelined round trip; apply the one append contract
//!    ([`caseledger::backend::plan_append`]); encode the events (the
//!    codec's bodies, chained to the previous hash) and insert them. Later
//!    appends of the group see the earlier ones (same transaction);
//! 3. insert the commit marker (the codec's commit record hash over the
//!    group's positions), move the head, `pg_notify` (one statement with
//!    the last rows, [`FINISH`]), commit.
//!
//! Each append gets its own answer. If a statement fails (a dropped
//! connection, a server restart), PostgreSQL rolls the whole transaction
//! back: every append of the group then gets that error and nothing of the
//! group is visible; a retry of the same append is safe (idempotent). Once
//! the `COMMIT` is sent, a lost connection may have lost only the answer to
//! a commit the server made: every append of the group then gets
//! [`ErrorKind::OutcomeUnknown`] (all of the group is stored, or none).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, LazyLock};

use caseledger::backend::{AppendPlan, KnownFollowUp, StoredAt, StoredEvents, plan_append};
use caseledger::{
    AppendCondition, AppendError, Appended, CaseId, CustomerId, Event, EventData, EventId,
    ExpectedVersion, InvalidAppendReason, RecordedEvent,
};
use caseledger_codec::{Hash, encode_commit_body, encode_event_body};
use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::config::{Clock, MAX_GROUP_APPENDS, NOTIFY_CHANNEL};
use crate::error::{Error, ErrorKind};
use crate::rows::{EVENT_COLUMNS, EventRow, prefixed_event_columns, to_hash, to_i64, to_u64};

/// The answer to one append.
pub(crate) type Outcome = Result<Appended, AppendError<Error>>;

/// One append: what the caller asked for.
pub(crate) struct Append {
    pub case_id: CaseId,
    pub expected: ExpectedVersion,
    pub events: Vec<Event>,
    pub conditions: Vec<AppendCondition>,
}

/// One queued append and where its answer goes.
pub(crate) struct Request {
    pub append: Append,
    pub reply: oneshot::Sender<Outcome>,
}

/// The writer task: groups queued appends until every sender is gone.
pub(crate) async fn run(pool: Pool, clock: Clock, mut queue: mpsc::Receiver<Request>) {
    let mut group = Vec::with_capacity(16);
    while let Some(first) = queue.recv().await {
        group.push(first);
        while group.len() < MAX_GROUP_APPENDS {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let appends: Vec<&Append> = group.iter().map(|r| &r.append).collect();
        let outcomes = write_group(&pool, clock, &appends).await;
        for (request, outcome) in group.drain(..).zip(outcomes) {
            // A caller that stopped waiting (a dropped future) needs no answer.
            let _ = request.reply.send(outcome);
        }
    }
}

/// Writes one group; an answer per request, in order.
async fn write_group(pool: &Pool, clock: Clock, group: &[&Append]) -> Vec<Outcome> {
    match try_group(pool, clock, group).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            // The transaction is rolled back: every append of the group gets
            // the failure, none a refusal decided on the undone writes.
            let shared = Arc::new(e);
            group
                .iter()
                .map(|_| Err(AppendError::Log(Error::group_failed(&shared))))
                .collect()
        }
    }
}

/// The head as the head row holds it, and what the group adds.
struct Tip {
    next_position: u64,
    hash: Hash,
    last_recorded_at: Option<DateTime<Utc>>,
}

/// The statements of a group, prepared once per connection (the pool's
/// cache), so that each is sent at once when its future is first polled:
/// futures joined in order are pipelined in that order.
pub(crate) struct Statements {
    lock_head: Statement,
    version: Statement,
    /// The stream's version and the stored event with one id, in one
    /// statement: the lookups of an append of one event, the common case
    /// (one statement's overhead on the server, and one answer to wait
    /// for, instead of two). With scalar parameters the server switches to
    /// a generic plan after five calls, where it plans `by_ids` (`=
    /// ANY($1)`) afresh at every call (about 40 µs of its 43).
    version_and_id: Statement,
    by_ids: Statement,
    follow_ups: Statement,
    insert: Statement,
    finish: Statement,
}

/// The SQL of [`Statements`], in the order of its fields.
static SQL: LazyLock<[String; 7]> = LazyLock::new(|| {
    [
        "SELECT position, hash, recorded_secs, recorded_nanos FROM caseledger.head FOR UPDATE"
            .to_owned(),
        "SELECT coalesce(max(version), 0) FROM caseledger.events WHERE case_id = $1".to_owned(),
        // One row: the version, then the stored event's columns (all
        // null when no event has the id). Two statements' snapshots would
        // both be taken after the head's lock, and so is this one's.
        format!(
            "SELECT (SELECT coalesce(max(version), 0) FROM caseledger.events WHERE case_id = $1), {}
               FROM (SELECT 1) AS one LEFT JOIN caseledger.events e ON e.event_id = $2",
            prefixed_event_columns("e")
        ),
        format!("SELECT {EVENT_COLUMNS} FROM caseledger.events WHERE event_id = ANY($1)"),
        // The customer's cases first, by the customer index, then their
        // follow-ups by the `(case_id, version)` index: written so that no
        // plan can start from the whole table (an `IN` semi join ordered by
        // position could walk the primary key and filter every row), and
        // sorted after (`position + 0` is not the primary key's order).
        format!(
            "SELECT {EVENT_COLUMNS} FROM caseledger.events
              WHERE case_id = ANY (ARRAY(SELECT case_id FROM caseledger.events
                                          WHERE customer_id = $1))
                AND type = 'follow_up_scheduled'
              ORDER BY position + 0"
        ),
        INSERT_EVENTS.to_owned(),
        FINISH.to_owned(),
    ]
});

impl Statements {
    /// The statements on a pooled connection (prepared once per connection,
    /// in the pool's cache).
    pub(crate) async fn prepare(client: &ClientWrapper) -> Result<Statements, Error> {
        Statements::prepare_with(|q| client.prepare_cached(q)).await
    }

    /// The statements on a connection of its own (the caller keeps them
    /// for the connection's life).
    pub(crate) async fn prepare_plain(
        client: &tokio_postgres::Client,
    ) -> Result<Statements, Error> {
        Statements::prepare_with(|q| client.prepare(q)).await
    }

    async fn prepare_with<F>(prepare: impl Fn(&'static str) -> F) -> Result<Statements, Error>
    where
        F: Future<Output = Result<Statement, tokio_postgres::Error>>,
    {
        let [
            lock_head,
            version,
            version_and_id,
            by_ids,
            follow_ups,
            insert,
            finish,
        ] = &*SQL;
        let (lock_head, version, version_and_id, by_ids, follow_ups, insert, finish) =
            tokio::try_join!(
                biased;
                prepare(lock_head),
                prepare(version),
                prepare(version_and_id),
                prepare(by_ids),
                prepare(follow_ups),
                prepare(insert),
                prepare(finish),
            )
            .map_err(Error::db("preparing the append statements"))?;
        Ok(Statements {
            lock_head,
            version,
            version_and_id,
            by_ids,
            follow_ups,
            insert,
            finish,
        })
    }
}

const INSERT_EVENTS: &str = "INSERT INTO caseledger.events (position, case_id, version, event_id, type, at, recorded_at, customer_id, due, body, hash)
 SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::bigint[], $4::uuid[], $5::text[], $6::timestamptz[],
                      $7::timestamptz[], $8::text[], $9::timestamptz[], $10::bytea[], $11::bytea[])";

/// The end of a group's transaction in one statement (one statement's
/// overhead on the server instead of four): the rows not yet inserted (as
/// [`INSERT_EVENTS`]), the commit marker, the head moved to the group's
/// last position, and the NOTIFY, which PostgreSQL delivers only when the
/// transaction commits. Each data-modifying `WITH` part runs exactly once.
const FINISH: &str = "WITH events AS (
  INSERT INTO caseledger.events (position, case_id, version, event_id, type, at, recorded_at, customer_id, due, body, hash)
  SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::bigint[], $4::uuid[], $5::text[], $6::timestamptz[],
                       $7::timestamptz[], $8::text[], $9::timestamptz[], $10::bytea[], $11::bytea[])
), marker AS (
  INSERT INTO caseledger.commits (last_position, first_position, hash) VALUES ($12, $13, $14)
), head AS (
  UPDATE caseledger.head SET position = $12, hash = $14, recorded_secs = $15, recorded_nanos = $16
)
SELECT pg_notify($17, $18)";

/// The settings of every append transaction: sequential scans ruled out,
/// and JIT compilation off. Each lookup of a group has an index (the event
/// id's, the stream's `(case_id, version)`, the customer's), but the
/// statements are prepared once per connection and PostgreSQL may keep a
/// generic plan made from the statistics of the moment: made while they
/// say the table is empty (a new ledger), that plan scanned the whole table
/// at every append however large it grew (tests/plans.rs). With the
/// setting, the plans the server makes for these statements (each made in
/// an append transaction) start from an index, and each statement is
/// written so that the index that starts it is the selective one. It works
/// by a huge cost on sequential scans, which a scan with no other way (the
/// one-row head's) still carries: above `jit_above_cost`, so the server
/// would compile each such statement to machine code (25 to 90 ms each,
/// measured); no statement of an append is long enough to gain from JIT.
const APPEND_SETTINGS: [&str; 2] = ["enable_seqscan = off", "jit = off"];

/// A group's transaction begins with the settings, for this transaction
/// only (`LOCAL`: nothing is left on the connection for its next user, nor
/// behind a pooler that shares server connections between transactions),
/// sent with the `BEGIN` in one message.
static BEGIN_WITH_SETTINGS: LazyLock<String> = LazyLock::new(|| {
    let local: Vec<String> = APPEND_SETTINGS
        .iter()
        .map(|s| format!("SET LOCAL {s}"))
        .collect();
    format!("BEGIN; {}", local.join("; "))
});

async fn try_group(pool: &Pool, clock: Clock, group: &[&Append]) -> Result<Vec<Outcome>, Error> {
    let client = pool.get().await.map_err(Error::pool("appending"))?;
    let written = match Statements::prepare(&client).await {
        Ok(st) => write_group_on(&client, &st, clock, group).await,
        Err(e) => Err(e),
    };
    match written {
        Ok(outcomes) => Ok(outcomes),
        Err(e) => {
            // The connection may be inside the failed transaction: take it
            // out of the pool and close it, so that the server rolls the
            // transaction back and no later caller inherits it.
            drop(deadpool_postgres::Object::take(client));
            Err(e)
        }
    }
}

/// The group's transaction on `client`, in few round trips: (1) BEGIN, the
/// head lock and every append's lookups, pipelined; (2) for an append that
/// depends on an earlier one of the group (same case, a shared event id,
/// or a condition after earlier writes), the rows so far and its fresh
/// lookups; (3) the rows, the commit marker, the head, the NOTIFY and
/// COMMIT, pipelined.
pub(crate) async fn write_group_on(
    client: &tokio_postgres::Client,
    st: &Statements,
    clock: Clock,
    group: &[&Append],
) -> Result<Vec<Outcome>, Error> {
    let during = "appending";
    let begin = client.batch_execute(&BEGIN_WITH_SETTINGS);
    let head = client.query_one(&st.lock_head, &[]);
    let lookups = futures_util::future::try_join_all(
        group
            .iter()
            .map(|r| look_up(client, st, r.case_id, &r.events, &r.conditions)),
    );
    let (_, head, prefetched) = tokio::try_join!(
        biased;
        async { begin.await.map_err(Error::db(during)) },
        async { head.await.map_err(Error::db("locking the head row")) },
        lookups,
    )?;
    let position = to_u64(head.get(0), 0, "the head position")?;
    let hash = to_hash(head.get::<_, &[u8]>(1), 0)?;
    let last_recorded_at = recorded_at_of(head.get(2), head.get(3))?;
    let first_position = position + 1;
    let mut tip = Tip {
        next_position: first_position,
        hash,
        last_recorded_at,
    };
    let mut rows: Vec<EventRow> = Vec::new();
    let mut written_cases = HashSet::new();
    let mut written_ids = HashSet::new();
    let mut outcomes = Vec::with_capacity(group.len());
    for (r, prefetched) in group.iter().zip(prefetched) {
        let depends = written_cases.contains(&r.case_id)
            || r.events.iter().any(|e| written_ids.contains(&e.event_id))
            || (!r.conditions.is_empty() && !written_cases.is_empty());
        let found = if depends {
            // The rows so far, then this append's view after them.
            let insert = insert_rows(client, st, &rows);
            let fresh = look_up(client, st, r.case_id, &r.events, &r.conditions);
            let (_, fresh) = tokio::try_join!(biased; insert, fresh)?;
            rows.clear();
            fresh
        } else {
            prefetched
        };
        let outcome = match found {
            Lookup::Found(version, lookups) => {
                plan_and_encode(clock, &mut tip, r, version, &lookups, &mut rows)?
            }
            Lookup::Refused(e) => Err(AppendError::Log(e)),
        };
        if matches!(&outcome, Ok(done) if !done.already_stored) {
            written_cases.insert(r.case_id);
            written_ids.extend(r.events.iter().map(|e| e.event_id));
        }
        outcomes.push(outcome);
    }
    if tip.next_position == first_position {
        // Nothing written (refusals and retries only): no commit marker.
        client
            .batch_execute("COMMIT")
            .await
            .map_err(Error::db("committing"))?;
        return Ok(outcomes);
    }
    let last = tip.next_position - 1;
    let mut body = Vec::with_capacity(56);
    let head_hash = encode_commit_body(&mut body, &tip.hash, first_position, last);
    let (first_i, last_i) = (
        to_i64(first_position, "position")?,
        to_i64(last, "position")?,
    );
    let (secs, nanos) = match tip.last_recorded_at {
        Some(t) => (Some(t.timestamp()), Some(t.timestamp_subsec_nanos() as i32)),
        None => (None, None),
    };
    let hash_bytes = head_hash.as_slice();
    let payload = last.to_string();
    let c = Columns::of(&rows);
    // The rows' arrays ($1 to $11), then the marker, the head and the NOTIFY.
    let rest: [&(dyn ToSql + Sync); 7] = [
        &last_i,
        &first_i,
        &hash_bytes,
        &secs,
        &nanos,
        &NOTIFY_CHANNEL,
        &payload,
    ];
    let finish_params: Vec<&(dyn ToSql + Sync)> = c.params().into_iter().chain(rest).collect();
    let finish = client.execute(&st.finish, &finish_params);
    let commit = client.batch_execute("COMMIT");
    // `biased`: polled in the order the statements were sent (here and at
    // every pipelined join), so the error returned is the first failing
    // statement's ("No space left on device"), never a later one's, which
    // only says the transaction was already aborted.
    // Both are sent at the first poll: from here a lost connection may
    // have lost only the answer to a commit the server made (an error of
    // the server's own still means nothing is stored).
    tokio::try_join!(
        biased;
        async {
            finish
                .await
                .map_err(Error::commit_sent("inserting the events and the commit marker"))
        },
        async { commit.await.map_err(Error::commit_sent("committing")) },
    )?;
    Ok(outcomes)
}

/// The recorded time the head row keeps (the last event's).
pub(crate) fn recorded_at_of(
    secs: Option<i64>,
    nanos: Option<i32>,
) -> Result<Option<DateTime<Utc>>, Error> {
    match (secs, nanos) {
        (Some(s), Some(n)) => u32::try_from(n)
            .ok()
            .and_then(|n| DateTime::from_timestamp(s, n))
            .map(Some)
            .ok_or_else(|| Error::tampered(0, "the head row's recorded time is out of range")),
        _ => Ok(None),
    }
}

/// The recorded time of the next event: the clock's, never before the last.
fn recorded_at(clock: Clock, event: &Event, last: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = match clock {
        Clock::System => Utc::now(),
        Clock::EventTime => event.at,
    };
    last.map_or(now, |t| now.max(t))
}

/// What the contract needs to know about the log for one append, read
/// before it is planned (the plan itself does no I/O).
#[derive(Default)]
pub(crate) struct Lookups {
    /// The stored events with an id of the call.
    stored: HashMap<EventId, RecordedEvent>,
    /// The follow-ups of each customer a condition names.
    follow_ups: HashMap<CustomerId, Vec<KnownFollowUp>>,
}

impl StoredEvents for Lookups {
    type Error = Error;

    fn stored_at(&self, id: &EventId) -> Result<Option<StoredAt>, Error> {
        Ok(self.stored.get(id).map(|r| StoredAt {
            case_id: r.event.case_id,
            version: r.version,
            position: r.position,
        }))
    }

    fn stored_event(&self, at: &StoredAt) -> Result<RecordedEvent, Error> {
        self.stored
            .values()
            .find(|r| r.position == at.position)
            .cloned()
            .ok_or_else(|| Error::tampered(at.position, "an event looked up is gone"))
    }

    fn follow_ups_of(&self, customer: &CustomerId) -> Result<Vec<KnownFollowUp>, Error> {
        Ok(self.follow_ups.get(customer).cloned().unwrap_or_default())
    }
}

/// What [`look_up`] found: the stream's version and the lookups, or a
/// stored row that does not decode (this append's refusal, not the
/// group's failure).
pub(crate) enum Lookup {
    Found(u64, Lookups),
    Refused(Error),
}

/// Reads a stream's version, the stored events with the call's ids and the
/// follow-ups of the conditions' customers, pipelined on one connection.
async fn look_up(
    client: &tokio_postgres::Client,
    st: &Statements,
    case_id: CaseId,
    events: &[Event],
    conditions: &[AppendCondition],
) -> Result<Lookup, Error> {
    let during = "reading what an append needs";
    let case = *case_id.as_uuid();
    let ids: Vec<Uuid> = events.iter().map(|e| *e.event_id.as_uuid()).collect();
    let mut customers: Vec<&CustomerId> = Vec::with_capacity(conditions.len());
    for c in conditions {
        match c {
            AppendCondition::NoFollowUpTooClose { customer_id, .. } => customers.push(customer_id),
            // A kind of condition added to the domain after this build: it
            // needs its own lookup here, so refuse rather than pass it.
            _ => {
                return Ok(Lookup::Refused(Error::new(ErrorKind::InvalidOption {
                    reason: "an append condition this build of caseledger-postgres cannot check"
                        .to_owned(),
                })));
            }
        }
    }
    // One event (the common case): the version and the id in one
    // statement; otherwise the version, then the ids.
    let (first, first_params, stored_at): (_, Vec<&(dyn ToSql + Sync)>, usize) =
        match ids.as_slice() {
            [id] => (&st.version_and_id, vec![&case, id], 1),
            _ => (&st.version, vec![&case], 0),
        };
    let first = client.query_one(first, &first_params);
    let ids_params: [&(dyn ToSql + Sync); 1] = [&ids];
    let by_ids = async {
        match stored_at {
            0 => client.query(&st.by_ids, &ids_params).await,
            _ => Ok(Vec::new()),
        }
    };
    let names: Vec<&str> = customers.iter().map(|c| c.as_str()).collect();
    let name_params: Vec<[&(dyn ToSql + Sync); 1]> =
        names.iter().map(|n| [n as &(dyn ToSql + Sync)]).collect();
    let follow_ups = futures_util::future::try_join_all(
        name_params.iter().map(|p| client.query(&st.follow_ups, p)),
    );
    let (first, by_ids, follow_ups) =
        tokio::try_join!(biased; first, by_ids, follow_ups).map_err(Error::db(during))?;
    let version = to_u64(first.get(0), 0, "a stream version")?;
    let mut lookups = Lookups::default();
    let decoded = (|| -> Result<(), Error> {
        // The one id's event, when stored (its position is never null).
        let one = match stored_at {
            0 => None,
            _ => first
                .try_get::<_, Option<i64>>(stored_at)
                .map_err(Error::db("reading an event row"))?
                .map(|_| EventRow::from_row_at(&first, stored_at))
                .transpose()?,
        };
        for row in one
            .into_iter()
            .map(Ok)
            .chain(by_ids.iter().map(EventRow::from_row))
        {
            let r = row?.decode()?;
            lookups.stored.insert(r.event.event_id, r);
        }
        for (customer, rows) in customers.into_iter().zip(&follow_ups) {
            let mut known = Vec::with_capacity(rows.len());
            for row in rows {
                let r = EventRow::from_row(row)?.decode()?;
                if let EventData::FollowUpScheduled(f) = &r.event.data {
                    known.push(KnownFollowUp {
                        case_id: r.event.case_id,
                        event_id: r.event.event_id,
                        due: f.due,
                    });
                }
            }
            lookups.follow_ups.insert(customer.clone(), known);
        }
        Ok(())
    })();
    match decoded {
        Ok(()) => Ok(Lookup::Found(version, lookups)),
        Err(e) => Ok(Lookup::Refused(e)),
    }
}

/// Plans one append of the group on what was looked up and encodes its
/// rows (appended to `rows`, written later). The outer error fails the
/// group; the inner one is this append's refusal.
fn plan_and_encode(
    clock: Clock,
    tip: &mut Tip,
    r: &Append,
    version: u64,
    lookups: &Lookups,
    rows: &mut Vec<EventRow>,
) -> Result<Outcome, Error> {
    let plan = match plan_append(
        r.case_id,
        r.expected,
        &r.events,
        &r.conditions,
        version,
        lookups,
    ) {
        Ok(plan) => plan,
        Err(refused) => return Ok(Err(refused)),
    };
    let first_version = match plan {
        AppendPlan::AlreadyStored(done) => return Ok(Ok(done)),
        AppendPlan::Write { first_version } => first_version,
    };
    // Encode every event first: an event the format cannot hold fails the
    // append before anything of it is kept.
    let mut encoded = Vec::with_capacity(r.events.len());
    let mut hash = tip.hash;
    let mut last = tip.last_recorded_at;
    for (i, e) in (0u64..).zip(&r.events) {
        let at = recorded_at(clock, e, last);
        last = Some(at);
        let recorded = RecordedEvent {
            position: tip.next_position + i,
            version: first_version + i,
            recorded_at: at,
            event: e.clone(),
        };
        let mut body = Vec::with_capacity(160);
        hash = match encode_event_body(
            &mut body,
            &hash,
            recorded.position,
            recorded.version,
            &at,
            e,
        ) {
            Ok(h) => h,
            Err(err) => {
                return Ok(Err(AppendError::InvalidAppend {
                    case_id: r.case_id,
                    reason: InvalidAppendReason::Unstorable(Box::new(err)),
                }));
            }
        };
        encoded.push(EventRow::of(&recorded, body, &hash)?);
    }
    rows.extend(encoded);
    let n = r.events.len() as u64;
    let positions = (tip.next_position..tip.next_position + n).collect();
    tip.next_position += n;
    tip.hash = hash;
    tip.last_recorded_at = last;
    Ok(Ok(Appended {
        positions,
        stream_version: first_version + n - 1,
        already_stored: false,
    }))
}

/// Inserts rows in one statement (arrays unnested server-side); none: no
/// statement.
async fn insert_rows(
    client: &tokio_postgres::Client,
    st: &Statements,
    rows: &[EventRow],
) -> Result<(), Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let c = Columns::of(rows);
    client
        .execute(&st.insert, &c.params())
        .await
        .map_err(Error::db("inserting events"))?;
    Ok(())
}

/// Rows as column arrays, for `unnest`.
#[derive(Default)]
struct Columns<'a> {
    position: Vec<i64>,
    case_id: Vec<Uuid>,
    version: Vec<i64>,
    event_id: Vec<Uuid>,
    event_type: Vec<&'a str>,
    at: Vec<DateTime<Utc>>,
    recorded_at: Vec<DateTime<Utc>>,
    customer_id: Vec<Option<&'a str>>,
    due: Vec<Option<DateTime<Utc>>>,
    body: Vec<&'a [u8]>,
    hash: Vec<&'a [u8]>,
}

impl<'a> Columns<'a> {
    fn of(rows: &'a [EventRow]) -> Columns<'a> {
        let mut c = Columns::default();
        for row in rows {
            c.push(row);
        }
        c
    }

    /// The arrays as the first parameters of [`INSERT_EVENTS`] and
    /// [`FINISH`], in the order of their `unnest` (the events table's
    /// columns): written once here, for both statements.
    fn params(&self) -> [&(dyn ToSql + Sync); 11] {
        [
            &self.position,
            &self.case_id,
            &self.version,
            &self.event_id,
            &self.event_type,
            &self.at,
            &self.recorded_at,
            &self.customer_id,
            &self.due,
            &self.body,
            &self.hash,
        ]
    }

    fn push(&mut self, r: &'a EventRow) {
        self.position.push(r.position);
        self.case_id.push(r.case_id);
        self.version.push(r.version);
        self.event_id.push(r.event_id);
        self.event_type.push(&r.event_type);
        self.at.push(r.at);
        self.recorded_at.push(r.recorded_at);
        self.customer_id.push(r.customer_id.as_deref());
        self.due.push(r.due);
        self.body.push(&r.body);
        self.hash.push(&r.hash);
    }
}
