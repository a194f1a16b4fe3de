//! A transaction of the writer: appends checked against the committed log
//! and the transaction's own events, written but invisible until the commit
//! record is durable; and [`Batch`], the public transaction.

use std::fs::File;
use std::sync::{Mutex, MutexGuard, RwLock};

use caseledger::backend::{AppendPlan, StoredAt, StoredEvents, plan_append, plan_recorded_append};
use caseledger::policy::{KnownFollowUp, PendingFollowUps};
use caseledger::{
    AppendCondition, AppendError, Appended, CaseId, CustomerId, Event, EventId, ExpectedVersion,
    InvalidAppendReason, RecordedEvent,
};
use chrono::{DateTime, Utc};

use super::writer::{Writer, failed, outcome_error};
use crate::chain::prefix;
use crate::checkpoint::{self, CHECKPOINT_FILE, Checkpoint};
use crate::error::{Damage, DamageKind, Error, ErrorKind, NotAsRecordedReason, WriteFailure};
use crate::format::{FRAME_HEADER_BYTES, Hash, decode_frame, encode_commit, encode_event};
use crate::index::{Entry, Index, MAX_STREAM_VERSION, Overlay};
use crate::layout::Until;
use crate::layout::{Head, Point, sync_dir};
use crate::locks::{lock, read, write};
use crate::read::{LogIter, check_verified_link, event_of_body, not_indexed};
use crate::segment::{self, read_frame_at};

/// What reads see: the committed index and the head (the checkpoint of the
/// last commit). A commit changes both, index first.
#[derive(Debug)]
pub(crate) struct Visible {
    /// The committed events.
    pub index: RwLock<Index>,
    /// The checkpoint of the last commit.
    pub head: RwLock<Checkpoint>,
}

impl Visible {
    /// What a store just opened shows.
    pub(crate) fn new(index: Index, head: Checkpoint) -> Visible {
        Visible {
            index: RwLock::new(index),
            head: RwLock::new(head),
        }
    }
}

/// The log as a writer's transaction sees it: the committed index, the
/// transaction's own events on top, and their bytes, some of which may still
/// be in the writer's buffer.
struct TxnView<'a> {
    index: &'a Index,
    overlay: &'a Overlay,
    w: &'a Writer,
    follow_ups: &'a PendingFollowUps,
}

impl StoredEvents for TxnView<'_> {
    type Error = Error;

    fn stored_at(&self, id: &EventId) -> Result<Option<StoredAt>, Error> {
        Ok(self.overlay.lookup(self.index, id))
    }

    fn stored_event(&self, at: &StoredAt) -> Result<RecordedEvent, Error> {
        let w = self.w;
        let (segment, offset) = self
            .overlay
            .location(at.position)
            .or_else(|| {
                let loc = self.index.loc(at.position)?;
                Some((loc.segment, u64::from(loc.offset)))
            })
            .ok_or_else(|| not_indexed(&w.dir, at.position))?;
        let path = w.dir.join(segment::segment_name(segment));
        let file_path = path.as_path();
        let damage = |kind: DamageKind| {
            move |detail: String| {
                Error::corrupt(
                    Damage::new(kind, file_path, offset, detail).at_position(at.position),
                )
            }
        };
        let body = if segment == w.segment && offset >= w.len {
            // Not handed to the kernel yet: the bytes are in the buffer.
            let start = usize::try_from(offset - w.len).unwrap_or(usize::MAX);
            let bytes = w.buf.get(start..).unwrap_or_default();
            decode_frame(bytes)
                .map(<[u8]>::to_vec)
                .map_err(|e| damage(DamageKind::Undecodable)(e.to_string()))?
        } else {
            let file = w.files.get(segment)?;
            let body = read_frame_at(&file, offset)
                .map_err(|fe| damage(DamageKind::Undecodable)(fe.error.to_string()))?;
            // A committed record is checked against what the open verified;
            // the transaction's own records were written by this writer.
            if let Some(loc) = self.index.loc(at.position) {
                check_verified_link(&file, &path, offset, &body, loc.hash)
                    .map_err(damage(DamageKind::ChainBroken))?;
            }
            body
        };
        event_of_body(&body, at.position).map_err(damage(DamageKind::Undecodable))
    }

    /// The writer's follow-ups, caught up with the committed log before a
    /// conditioned append plans (see [`Txn::append`]), and the
    /// transaction's own.
    fn follow_ups_of(&self, customer: &CustomerId) -> Result<Vec<KnownFollowUp>, Error> {
        Ok(self.follow_ups.follow_ups_of(&self.w.follow_ups, customer))
    }
}

/// An open transaction of the writer: events written but not committed.
#[derive(Debug)]
pub(crate) struct Txn {
    start: Point,
    start_position: u64,
    start_hash: Hash,
    start_recorded_at: Option<DateTime<Utc>>,
    overlay: Overlay,
    /// The follow-ups of the transaction's events, for conditions.
    follow_ups: PendingFollowUps,
    scratch: Vec<u8>,
    /// Where each record of an append ends in `scratch`, and its chain
    /// hash: kept between appends, so that an append does not allocate it.
    ends: Vec<(usize, Hash)>,
    /// The first I/O failure inside the transaction; it then only aborts.
    broken: Option<WriteFailure>,
}

impl Txn {
    pub(crate) fn begin(w: &Writer) -> Txn {
        Txn {
            start: Point {
                segment: w.segment,
                offset: w.len + w.buf.len() as u64,
            },
            start_position: w.next_position,
            start_hash: w.hash,
            start_recorded_at: w.last_recorded_at,
            overlay: Overlay::default(),
            follow_ups: PendingFollowUps::default(),
            scratch: Vec::new(),
            ends: Vec::new(),
            broken: None,
        }
    }

    /// Plans and writes one append: `recorded_at` is given for a record
    /// copied as recorded (one event), else the writer's clock stamps it.
    // The append's own four parts, the writer, the index and the time.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn append(
        &mut self,
        w: &mut Writer,
        index: &Index,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
        recorded_at: Option<DateTime<Utc>>,
    ) -> Result<Appended, AppendError<Error>> {
        if let Some(refused) = w.refusal() {
            return Err(AppendError::Log(refused));
        }
        if let Some(cause) = &self.broken {
            return Err(AppendError::Log(failed(cause)));
        }
        if !conditions.is_empty() {
            self.catch_up_follow_ups(w, index)
                .map_err(AppendError::Log)?;
        }
        let version = self.overlay.version(index, &case_id);
        let view = TxnView {
            index,
            overlay: &self.overlay,
            w,
            follow_ups: &self.follow_ups,
        };
        // A record copied as recorded may predate the rule for new events
        // (an id stored before it): the copy takes it as its log holds it.
        let plan = match recorded_at {
            Some(_) => plan_recorded_append(case_id, expected, events, conditions, version, &view)?,
            None => plan_append(case_id, expected, events, conditions, version, &view)?,
        };
        let first_version = match plan {
            AppendPlan::AlreadyStored(done) => return Ok(done),
            AppendPlan::Write { first_version } => first_version,
        };
        let last_version = first_version + events.len() as u64 - 1;
        if last_version > MAX_STREAM_VERSION {
            return Err(AppendError::InvalidAppend {
                case_id,
                reason: InvalidAppendReason::StreamFull {
                    max: MAX_STREAM_VERSION,
                },
            });
        }
        // Encode every record first, so that an event the format cannot
        // hold fails the append before any byte of it is written.
        self.scratch.clear();
        self.ends.clear();
        let mut hash = w.hash;
        let mut last = w.last_recorded_at;
        for (i, e) in (0u64..).zip(events) {
            // A given time (one event, checked by the caller not to be
            // earlier than `last`), or the writer's clock.
            let recorded_at = recorded_at.unwrap_or_else(|| w.recorded_at(e, last));
            last = Some(recorded_at);
            hash = encode_event(
                &mut self.scratch,
                &hash,
                w.next_position + i,
                first_version + i,
                &recorded_at,
                e,
            )
            .map_err(|err| AppendError::InvalidAppend {
                case_id,
                reason: InvalidAppendReason::Unstorable(Box::new(err)),
            })?;
            self.ends.push((self.scratch.len(), hash));
        }
        let mut positions = Vec::with_capacity(events.len());
        let mut start = 0;
        for ((i, e), &(end, record_hash)) in (0u64..).zip(events).zip(&self.ends) {
            let (segment, offset) = match w.push(&self.scratch[start..end]) {
                Ok(at) => at,
                Err(err) => {
                    self.broken = Some(WriteFailure::of(&err));
                    return Err(AppendError::Log(err));
                }
            };
            start = end;
            // Per record, so that a segment rolled before the next record
            // names this one's hash as its previous hash.
            w.hash = record_hash;
            let position = w.next_position;
            w.next_position += 1;
            positions.push(position);
            self.follow_ups.observe(position, e);
            self.overlay.push(Entry {
                position,
                case_id,
                version: first_version + i,
                event_id: e.event_id,
                segment,
                // Segments are at most MAX_SEGMENT_BYTES (1 GiB) long.
                offset: offset as u32,
                hash: prefix(&record_hash),
            });
        }
        w.last_recorded_at = last;
        Ok(Appended {
            positions,
            stream_version: last_version,
            already_stored: false,
        })
    }

    /// Feeds the writer's follow-ups the committed events they have not
    /// seen (all of them, the first time), read from the files: the
    /// committed log ends where this transaction began.
    fn catch_up_follow_ups(&self, w: &mut Writer, index: &Index) -> Result<(), Error> {
        let from = w.follow_ups.position() + 1;
        if from >= self.start_position {
            return Ok(());
        }
        let committed = LogIter::committed(w.dir.clone(), index, w.checkpoint, from, Until::End);
        for recorded in committed {
            let recorded = recorded?;
            w.follow_ups.observe(recorded.position, &recorded.event);
        }
        Ok(())
    }

    /// Writes the commit record, syncs, advances the checkpoint and makes
    /// the events visible. Aborts instead if the transaction broke.
    pub(crate) fn commit(
        mut self,
        w: &mut Writer,
        visible: &Visible,
    ) -> Result<Option<Head>, Error> {
        if let Some(cause) = self.broken.take() {
            self.abort(w);
            return Err(outcome_error(w, &cause));
        }
        let Some(last) = self.overlay.entries().last().map(|e| e.position) else {
            return Ok(None);
        };
        // A cheap check (a stat and an fstat of the directory and of the
        // checkpoint) that this writer still owns the store: if either was
        // replaced, committing would acknowledge events into files that are
        // no longer the store.
        if let Err(reason) = w.check_owner() {
            self.abandon(w);
            w.lost = Some(reason.clone());
            return Err(ErrorKind::NotOwner { reason }.into());
        }
        let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES + 56);
        let hash = encode_commit(&mut frame, &w.hash, self.start_position, last);
        // 1. write the commit record after the events; 2. fdatasync.
        if let Err(e) = w.push(&frame).and_then(|_| w.sync()) {
            if w.failed.is_none() {
                // A write failed before the sync: undo it and say so, so
                // that a batch's caller knows nothing of it is stored.
                self.abort(w);
                return Err(outcome_error(w, &WriteFailure::of(&e)));
            }
            return Err(e);
        }
        w.hash = hash;
        // 3. Advance the checkpoint, then make the events visible.
        let cp = Checkpoint {
            sequence: w.checkpoint.sequence + 1,
            segment: w.segment,
            offset: w.len,
            position: last,
            hash,
        };
        debug_assert_eq!(w.buf.len(), 0, "sync flushed the buffer");
        let cp_path = w.dir.join(CHECKPOINT_FILE);
        if let Err(e) = checkpoint::write(&w.checkpoint_file, &cp) {
            let err = Error::io("write", cp_path, e);
            w.failed = Some(WriteFailure::of(&err));
            return Err(err);
        }
        w.checkpoint = cp;
        {
            let mut index = write(&visible.index);
            if let Err(detail) = self.overlay.apply(&mut index) {
                // The overlay was built on top of this index under the writer
                // lock, so this cannot happen; refuse writes if it does.
                w.failed = Some(WriteFailure::other(detail.clone()));
                return Err(Error::corrupt(Damage::new(
                    crate::error::DamageKind::Inconsistent,
                    &w.dir,
                    0,
                    detail,
                )));
            }
        }
        *write(&visible.head) = cp;
        // The writer's follow-ups take in the transaction's only if they
        // had seen the whole committed log before it; otherwise the next
        // conditioned append reads them from the files.
        if w.follow_ups.position() + 1 == self.start_position {
            w.follow_ups.absorb(std::mem::take(&mut self.follow_ups));
        }
        Ok(Some(Head {
            position: last,
            hash,
        }))
    }

    /// Undoes the transaction without touching the store's files by name,
    /// which may now be another store's: truncates the current segment
    /// through the writer's own open file when the transaction began in it.
    /// Bytes of segments it created stay, uncommitted: a torn tail that
    /// the next writer's recovery cuts and keeps.
    fn abandon(mut self, w: &mut Writer) {
        self.overlay.clear();
        self.follow_ups.clear();
        w.buf.clear();
        if w.segment == self.start.segment && w.file.set_len(self.start.offset).is_ok() {
            w.len = self.start.offset;
        }
        w.next_position = self.start_position;
        w.hash = self.start_hash;
        w.last_recorded_at = self.start_recorded_at;
    }

    /// Removes everything written since the transaction began.
    fn abort(mut self, w: &mut Writer) {
        self.overlay.clear();
        self.follow_ups.clear();
        w.buf.clear();
        if let Err(e) = self.rewind(w) {
            w.failed = Some(WriteFailure::while_(
                "could not undo an unfinished write",
                &e,
            ));
        }
    }

    fn rewind(&self, w: &mut Writer) -> Result<(), Error> {
        let mut created = false;
        while w.segment > self.start.segment {
            let path = w.path();
            std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
            w.files.forget_from(w.segment);
            w.segment -= 1;
            created = true;
        }
        if created {
            sync_dir(&w.dir)?;
        }
        let path = w.path();
        let file = File::options()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        file.set_len(self.start.offset)
            .map_err(|e| Error::io("truncate", &path, e))?;
        w.file = file;
        w.len = self.start.offset;
        w.next_position = self.start_position;
        w.hash = self.start_hash;
        w.last_recorded_at = self.start_recorded_at;
        Ok(())
    }
}

/// The most events [`Batch::reserve`] makes room for: 8M events, about
/// 1 GiB of the batch's entries and maps (some 120 bytes an event), so that
/// a wrong estimate cannot take more; a batch grows past it as it goes.
const MAX_RESERVED_EVENTS: u64 = 1 << 23;

/// A batch of appends that is committed atomically (see
/// [`Store::batch`](crate::Store::batch)).
///
/// Events are written to the segment files as they are appended, so a batch
/// can be far larger than memory; they become visible, and durable, only at
/// [`Batch::commit`], with one sync. Dropping the batch without committing
/// removes what it wrote; a crash before the commit leaves bytes that the
/// next open cuts.
///
/// Its `Debug` form is the position of its first event, how many it holds
/// and whether it is done: never the store's index or writer behind it
/// (an entry per event, customer ids), as for [`Store`](crate::Store).
pub struct Batch<'s> {
    visible: &'s Visible,
    w: MutexGuard<'s, Writer>,
    txn: Txn,
    done: bool,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("first_position", &self.txn.start_position)
            .field("events", &self.txn.overlay.entries().len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'s> Batch<'s> {
    /// Starts a batch on `writer`; `visible` is what its commit updates.
    pub(crate) fn begin(
        visible: &'s Visible,
        writer: &'s Mutex<Writer>,
    ) -> Result<Batch<'s>, Error> {
        let w = lock(writer);
        if let Some(refused) = w.refusal() {
            return Err(refused);
        }
        let txn = Txn::begin(&w);
        Ok(Batch {
            visible,
            w,
            txn,
            done: false,
        })
    }

    /// Appends events to one stream, as [`EventLog::append`](caseledger::EventLog::append) does, within the
    /// batch: versions and event ids of earlier appends in the batch count.
    pub fn append(
        &mut self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
    ) -> Result<Appended, AppendError<Error>> {
        self.append_with(case_id, expected, events, &[])
    }

    /// [`Batch::append`] with conditions, as
    /// [`EventLog::append_with`](caseledger::EventLog::append_with):
    /// checked against the committed log and the batch's earlier appends.
    pub fn append_with(
        &mut self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Error>> {
        let index = read(&self.visible.index);
        self.txn.append(
            &mut self.w,
            &index,
            case_id,
            expected,
            events,
            conditions,
            None,
        )
    }

    /// Appends one event exactly as another log recorded it: at
    /// `record.position`, as version `record.version` of its stream, with
    /// `record.recorded_at`; checked like any append (the version, the
    /// event id) and by the format (a text over its limit or a time a store
    /// cannot hold is refused as `Unstorable`), but its ids by the older
    /// rule a store reads them back with, not the rule for new ids, which
    /// an event stored before that rule may break while its ledger still
    /// verifies ([`caseledger::backend::plan_recorded_append`]). Only for
    /// records read back from a log: a new event goes through
    /// [`append`](Self::append). How `caseledger copy` writes a ledger into
    /// another store: when every batch of the source is copied into one
    /// batch here (same first and last positions), each commit gives the
    /// source's chain hash, so the copy verifies to the same head.
    ///
    /// Refused with [`ErrorKind::NotAsRecorded`] (nothing written) if the
    /// store's next position is another, if the time is before the store's
    /// last recorded time, or if the event id is already stored.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use caseledger::EventLog;
    /// use caseledger_store::{Store, StoreOptions, Until};
    /// # use caseledger::{Actor, CaseId, Event, EventData, EventId, ExpectedVersion};
    /// # use chrono::TimeZone;
    /// let (a, b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    /// let source = Store::open(a.path(), StoreOptions::default())?;
    /// # let at = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    /// # let e = Event { event_id: EventId::from_u128(1), case_id: CaseId::from_u128(1), at,
    /// #                 actor: Actor::System, data: EventData::Responded };
    /// source.append(e.case_id, ExpectedVersion::Any, &[e])?;
    /// let target = Store::open(b.path(), StoreOptions::default())?;
    /// let mut batch = target.batch()?;
    /// for record in source.read(1, Until::End)? {
    ///     batch.append_recorded(&record?)?;
    /// }
    /// batch.commit()?;
    /// assert_eq!(target.head(), source.head());
    /// # Ok(()) }
    /// ```
    pub fn append_recorded(
        &mut self,
        record: &RecordedEvent,
    ) -> Result<Appended, AppendError<Error>> {
        let refuse = |reason| {
            AppendError::Log(
                ErrorKind::NotAsRecorded {
                    position: record.position,
                    reason,
                }
                .into(),
            )
        };
        let next = self.w.next_position;
        if record.position != next {
            return Err(refuse(NotAsRecordedReason::NotNext { next }));
        }
        if let Some(last) = self.w.last_recorded_at.filter(|&t| t > record.recorded_at) {
            return Err(refuse(NotAsRecordedReason::RecordedEarlier {
                recorded_at: record.recorded_at,
                last,
            }));
        }
        let case_id = record.event.case_id;
        let expected = ExpectedVersion::Exact(record.version.saturating_sub(1));
        let index = read(&self.visible.index);
        let done = self.txn.append(
            &mut self.w,
            &index,
            case_id,
            expected,
            std::slice::from_ref(&record.event),
            &[],
            Some(record.recorded_at),
        )?;
        if done.already_stored {
            let position = done.positions.first().copied().unwrap_or_default();
            return Err(refuse(NotAsRecordedReason::AlreadyStored { position }));
        }
        Ok(done)
    }

    /// Makes room for about `events` more events in the batch, for a
    /// caller that knows roughly how many it will append (an import, from
    /// its file's size): the batch's maps are then sized once instead of
    /// growing by doublings, each of which copies them. Only a hint: a
    /// batch grows past it as needed, and room for at most 8M events is
    /// reserved (about 1 GiB), so that a wrong estimate cannot take more.
    pub fn reserve(&mut self, events: u64) {
        let events = events.min(MAX_RESERVED_EVENTS);
        // At most MAX_RESERVED_EVENTS (2^23), which fits a usize of 32 bits.
        self.txn
            .overlay
            .reserve(usize::try_from(events).unwrap_or(0));
    }

    /// How many events the batch holds so far.
    pub fn len(&self) -> u64 {
        self.txn.overlay.entries().len() as u64
    }

    /// Whether the batch holds no events.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A stream's version including this batch's appends.
    pub fn stream_version(&self, case_id: CaseId) -> u64 {
        self.txn
            .overlay
            .version(&read(&self.visible.index), &case_id)
    }

    /// Makes the batch durable and visible; returns the new head (`None` if
    /// the batch was empty and nothing was written).
    pub fn commit(mut self) -> Result<Option<Head>, Error> {
        self.done = true;
        let txn = std::mem::replace(&mut self.txn, Txn::begin(&self.w));
        txn.commit(&mut self.w, self.visible)
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if !self.done {
            let txn = std::mem::replace(&mut self.txn, Txn::begin(&self.w));
            txn.abort(&mut self.w);
        }
    }
}
