//! Rows of the `events` table: the columns an event is stored with (from
//! its canonical body, [`caseledger_codec::encode_event_body`]) and the
//! event read back from a body.

use caseledger::{EventData, RecordedEvent};
use caseledger_codec::{HASH_BYTES, Hash, Record, StringPool, decode_body_pooled};
use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use crate::error::Error;

/// The columns selected for an event, in this order, by every read.
pub(crate) const EVENT_COLUMNS: &str =
    "position, case_id, version, event_id, type, at, recorded_at, customer_id, due, body, hash";

/// [`EVENT_COLUMNS`], each named as a column of the table aliased
/// `alias` (for a join).
pub(crate) fn prefixed_event_columns(alias: &str) -> String {
    EVENT_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row of `events`, as the columns hold it.
#[derive(Debug, Clone)]
pub(crate) struct EventRow {
    pub position: i64,
    pub case_id: Uuid,
    pub version: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub customer_id: Option<String>,
    pub due: Option<DateTime<Utc>>,
    pub body: Vec<u8>,
    pub hash: Vec<u8>,
}

impl EventRow {
    /// The row's columns, selected with [`EVENT_COLUMNS`]: the borrowed
    /// row's ([`RowRef::from_row`]), copied.
    pub(crate) fn from_row(row: &tokio_postgres::Row) -> Result<EventRow, Error> {
        EventRow::from_row_at(row, 0)
    }

    /// The columns of [`EVENT_COLUMNS`] found in `row` from column
    /// `first` on (a row that selects something else before them).
    pub(crate) fn from_row_at(row: &tokio_postgres::Row, first: usize) -> Result<EventRow, Error> {
        let r = RowRef::from_row_at(row, first)?;
        Ok(EventRow {
            position: r.position,
            case_id: r.case_id,
            version: r.version,
            event_id: r.event_id,
            event_type: r.event_type.to_owned(),
            at: r.at,
            recorded_at: r.recorded_at,
            customer_id: r.customer_id.map(str::to_owned),
            due: r.due,
            body: r.body.to_vec(),
            hash: r.hash.to_vec(),
        })
    }

    /// The row of `event` at its place, with its encoded `body` (hash
    /// included, as the codec wrote it) and chain `hash`.
    pub(crate) fn of(
        recorded: &RecordedEvent,
        body: Vec<u8>,
        hash: &Hash,
    ) -> Result<EventRow, Error> {
        let e = &recorded.event;
        let (customer_id, due) = query_fields(&e.data);
        Ok(EventRow {
            position: to_i64(recorded.position, "position")?,
            case_id: *e.case_id.as_uuid(),
            version: to_i64(recorded.version, "version")?,
            event_id: *e.event_id.as_uuid(),
            event_type: e.data.event_type().as_str().to_owned(),
            at: column_time(&e.at),
            recorded_at: column_time(&recorded.recorded_at),
            customer_id,
            due: due.map(|d| column_time(&d)),
            body,
            hash: hash.to_vec(),
        })
    }

    /// The event its body holds; a body that does not decode, or holds a
    /// commit record, is a changed row.
    pub(crate) fn decode(&self) -> Result<RecordedEvent, Error> {
        decode_row_body(self.position, &self.body)
    }
}

/// One row of `events` as the columns of a fetched row hold it, borrowed
/// (no copy of the body, the hash or the texts): what the verifying walk
/// checks, row after row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowRef<'a> {
    pub position: i64,
    pub case_id: Uuid,
    pub version: i64,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub customer_id: Option<&'a str>,
    pub due: Option<DateTime<Utc>>,
    pub body: &'a [u8],
    pub hash: &'a [u8],
}

impl<'a> RowRef<'a> {
    /// The row's columns, selected with [`EVENT_COLUMNS`].
    pub(crate) fn from_row(row: &'a tokio_postgres::Row) -> Result<RowRef<'a>, Error> {
        RowRef::from_row_at(row, 0)
    }

    /// The columns of [`EVENT_COLUMNS`] from column `first` on.
    fn from_row_at(row: &'a tokio_postgres::Row, first: usize) -> Result<RowRef<'a>, Error> {
        let during = "reading an event row";
        Ok(RowRef {
            position: row.try_get(first).map_err(Error::db(during))?,
            case_id: row.try_get(first + 1).map_err(Error::db(during))?,
            version: row.try_get(first + 2).map_err(Error::db(during))?,
            event_id: row.try_get(first + 3).map_err(Error::db(during))?,
            event_type: row.try_get(first + 4).map_err(Error::db(during))?,
            at: row.try_get(first + 5).map_err(Error::db(during))?,
            recorded_at: row.try_get(first + 6).map_err(Error::db(during))?,
            customer_id: row.try_get(first + 7).map_err(Error::db(during))?,
            due: row.try_get(first + 8).map_err(Error::db(during))?,
            body: row.try_get(first + 9).map_err(Error::db(during))?,
            hash: row.try_get(first + 10).map_err(Error::db(during))?,
        })
    }

    /// Checks every column against the decoded body `r` (and the stored
    /// `hash` column against the body's own hash): the first that differs.
    pub(crate) fn check_columns(&self, r: &RecordedEvent) -> Result<(), Error> {
        let e = &r.event;
        let position = r.position;
        let differs = |column: &str| {
            Err(Error::tampered(
                position,
                format!("column `{column}` does not match the event's stored body"),
            ))
        };
        let (customer_id, due) = query_fields(&e.data);
        if Some(self.position) != i64::try_from(r.position).ok() {
            return differs("position");
        }
        if &self.case_id != e.case_id.as_uuid() {
            return differs("case_id");
        }
        if Some(self.version) != i64::try_from(r.version).ok() {
            return differs("version");
        }
        if &self.event_id != e.event_id.as_uuid() {
            return differs("event_id");
        }
        if self.event_type != e.data.event_type().as_str() {
            return differs("type");
        }
        if self.at != column_time(&e.at) {
            return differs("at");
        }
        if self.recorded_at != column_time(&r.recorded_at) {
            return differs("recorded_at");
        }
        if self.customer_id != customer_id.as_deref() {
            return differs("customer_id");
        }
        if self.due != due.map(|d| column_time(&d)) {
            return differs("due");
        }
        if self.hash.len() != HASH_BYTES || self.hash != caseledger_codec::stored_hash(self.body) {
            return differs("hash");
        }
        Ok(())
    }
}

/// The event a row's body holds; a body that does not decode, or holds a
/// commit record, is a changed row.
pub(crate) fn decode_row_body(position: i64, body: &[u8]) -> Result<RecordedEvent, Error> {
    decode_row_body_pooled(position, body, &mut StringPool::default())
}

/// [`decode_row_body`], its ids and texts written into strings taken from
/// `pool` (a reader that gives each event's strings back reuses them).
pub(crate) fn decode_row_body_pooled(
    position: i64,
    body: &[u8],
    pool: &mut StringPool,
) -> Result<RecordedEvent, Error> {
    let position = u64::try_from(position).unwrap_or(0);
    match decode_body_pooled(body, pool) {
        Ok(Record::Event(r)) => Ok(RecordedEvent {
            position: r.position,
            version: r.version,
            recorded_at: r.recorded_at,
            event: r.event,
        }),
        Ok(Record::Commit { .. }) => Err(Error::tampered(
            position,
            "the body holds a commit record, not an event",
        )),
        Err(e) => Err(Error::tampered(
            position,
            format!("the body does not decode: {e}"),
        )),
    }
}

/// The fields kept in their own columns for the follow-up cap's lookups:
/// the customer of an `opened` event, the due time of a follow-up.
fn query_fields(data: &EventData) -> (Option<String>, Option<DateTime<Utc>>) {
    match data {
        EventData::Opened(o) => (Some(o.customer_id.as_str().to_owned()), None),
        EventData::FollowUpScheduled(f) => (None, Some(f.due)),
        _ => (None, None),
    }
}

/// A time as a `timestamptz` column holds it: to the microsecond (the body
/// keeps the nanoseconds).
pub(crate) fn column_time(t: &DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// A position or version as a `bigint`.
pub(crate) fn to_i64(n: u64, what: &'static str) -> Result<i64, Error> {
    i64::try_from(n).map_err(|_| {
        Error::new(crate::error::ErrorKind::InvalidOption {
            reason: format!("{what} {n} does not fit a PostgreSQL bigint"),
        })
    })
}

/// A `bigint` position or version read back (negative: a changed row).
pub(crate) fn to_u64(n: i64, position: u64, what: &str) -> Result<u64, Error> {
    u64::try_from(n).map_err(|_| Error::tampered(position, format!("{what} {n} is negative")))
}

/// A hash column as a hash (wrong length: a changed row).
pub(crate) fn to_hash(b: &[u8], position: u64) -> Result<Hash, Error> {
    <Hash>::try_from(b).map_err(|_| {
        Error::tampered(
            position,
            format!("a hash column of {} bytes, not {HASH_BYTES}", b.len()),
        )
    })
}
