//! The [`Store`]: the file event store as its callers see it. Each of its
//! steps is done by a module below: opening and recovery (`open.rs`,
//! `recover.rs`), appending (`write/`: the writer, transactions and
//! batches, group commit), reading (`read/`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use caseledger::{
    AppendCondition, AppendError, Appended, CaseId, Event, EventIter, EventLog, ExpectedVersion,
    RecordedEvent,
};

use crate::error::{Error, ErrorKind};
use crate::layout::{Head, Until};
use crate::locks::read;
use crate::open;
use crate::read::{LogIter, read_event_at};
use crate::recover::Recovery;
use crate::segment::SegmentFiles;
use crate::write::{Batch, GroupCommit, StoreOptions, Visible, Writer};

/// A file event store: see the crate docs.
///
/// Its `Debug` form names the directory, whether it is read-only, its head
/// and its number of streams: a few lines whatever the log's size (the
/// index behind it holds an entry per event).
pub struct Store {
    dir: PathBuf,
    /// None when read-only.
    writer: Option<Mutex<Writer>>,
    /// The queue of appends waiting for a group commit.
    group: GroupCommit,
    /// The committed index and head: what reads see.
    visible: Visible,
    /// Segment files open for random reads (a bounded cache).
    files: Arc<SegmentFiles>,
    recovery: Recovery,
}

impl Store {
    /// Opens the store in `dir` for writing, creating it if `dir` does not
    /// hold one, and runs crash recovery (see [`Store::recovery`]).
    ///
    /// Fails with [`ErrorKind::Locked`] if another writer has it open (another
    /// process, or another `Store` of this one), and
    /// with [`ErrorKind::Corrupt`] if acknowledged data is damaged.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use caseledger_store::{ErrorKind, Store, StoreOptions};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path(), StoreOptions::default())?;
    /// assert!(!store.recovery().cut_anything());
    /// // One writer at a time: a second open is refused while this one lives.
    /// let second = Store::open(dir.path(), StoreOptions::default());
    /// // Match the kind, never the message's words.
    /// assert!(matches!(second.as_ref().map_err(|e| e.kind()), Err(ErrorKind::Locked { .. })));
    /// # Ok(()) }
    /// ```
    pub fn open(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Store, Error> {
        let dir = dir.as_ref().to_path_buf();
        let opened = open::open_writer(&dir, options)?;
        Ok(Store {
            dir,
            writer: Some(Mutex::new(opened.writer)),
            group: GroupCommit::default(),
            visible: Visible::new(opened.index, opened.checkpoint),
            files: opened.files,
            recovery: opened.recovery,
        })
    }

    /// Opens the store in `dir` read-only: a snapshot of the acknowledged
    /// log at the time of the call. Works while another process writes; never
    /// changes a file. Like opening for writing, it checks every record up
    /// to the checkpoint, its hash chain included, and keeps each event's
    /// hash prefix so that later reads of single streams are checked against
    /// what was verified here.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Store, Error> {
        let dir = dir.as_ref().to_path_buf();
        let (index, checkpoint) = open::open_read_only(&dir)?;
        Ok(Store {
            files: Arc::new(SegmentFiles::new(&dir)),
            dir,
            writer: None,
            group: GroupCommit::default(),
            visible: Visible::new(index, checkpoint),
            recovery: Recovery::default(),
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What crash recovery cut when this store was opened for writing.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Whether the store was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.writer.is_none()
    }

    /// The head of the acknowledged log.
    pub fn head(&self) -> Head {
        let cp = read(&self.visible.head);
        Head {
            position: cp.position,
            hash: cp.hash,
        }
    }

    /// How many streams (cases) the acknowledged log holds.
    pub fn stream_count(&self) -> usize {
        read(&self.visible.index).stream_count()
    }

    /// A stream's version in the acknowledged log (0: no events).
    pub fn stream_version(&self, case_id: CaseId) -> u64 {
        let head = read(&self.visible.head).position;
        read(&self.visible.index).version_at(&case_id, head)
    }

    /// Where an event id is stored in the acknowledged log, if it is.
    pub fn stored_at(&self, event_id: &caseledger::EventId) -> Option<caseledger::StoredAt> {
        let head = read(&self.visible.head).position;
        read(&self.visible.index)
            .lookup(event_id)
            .filter(|s| s.position <= head)
    }

    /// The event stored with `event_id` in the acknowledged log, if any.
    pub fn stored_event(
        &self,
        event_id: &caseledger::EventId,
    ) -> Result<Option<RecordedEvent>, Error> {
        match self.stored_at(event_id) {
            None => Ok(None),
            Some(at) => self.read_event_at(at.position).map(Some),
        }
    }

    /// Starts a batch: any number of appends to any streams that become
    /// durable and visible together at [`Batch::commit`], or not at all.
    /// The batch holds the writer; other appends wait until it ends.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use caseledger_synth::{Synth, SynthConfig};
    /// use caseledger::ExpectedVersion;
    /// use caseledger_store::{Store, StoreOptions};
    /// # use chrono::TimeZone;
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path(), StoreOptions::default())?;
    /// let start = chrono::Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
    /// let mut batch = store.batch()?;
    /// for e in Synth::new(SynthConfig { cases: 50, seed: 1, start, span_days: 30, customers: Default::default() }) {
    ///     let expected = ExpectedVersion::Exact(batch.stream_version(e.case_id));
    ///     batch.append(e.case_id, expected, std::slice::from_ref(&e))?;
    /// }
    /// let events = batch.len();
    /// let head = batch.commit()?.expect("the batch held events");
    /// assert_eq!(head.position, events);
    /// # Ok(()) }
    /// ```
    pub fn batch(&self) -> Result<Batch<'_>, Error> {
        let writer = self.writer.as_ref().ok_or(ErrorKind::ReadOnly)?;
        Batch::begin(&self.visible, writer)
    }

    /// Events from `from` (1: the start) in position order, up to `until`,
    /// streamed from the files.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use caseledger::{Actor, CaseId, Event, EventData, EventId, EventLog, ExpectedVersion};
    /// # use chrono::TimeZone;
    /// use caseledger_store::{Store, StoreOptions, Until};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path(), StoreOptions::default())?;
    /// # let at = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    /// # for i in 1..=5u128 {
    /// #     let e = Event { event_id: EventId::from_u128(i), case_id: CaseId::from_u128(1), at,
    /// #                     actor: Actor::System, data: EventData::Responded };
    /// #     store.append(e.case_id, ExpectedVersion::Any, &[e])?;
    /// # }
    /// // Positions 2 to 4 of a log of 5 events.
    /// let some: Vec<u64> = store
    ///     .read(2, Until::Position(4))?
    ///     .map(|e| e.map(|e| e.position))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(some, vec![2, 3, 4]);
    /// # Ok(()) }
    /// ```
    pub fn read(&self, from: u64, until: Until) -> Result<LogIter, Error> {
        let cp = *read(&self.visible.head);
        let index = read(&self.visible.index);
        Ok(LogIter::committed(
            self.dir.clone(),
            &index,
            cp,
            from,
            until,
        ))
    }

    /// Reads the event at `position` and checks it is the record the open
    /// verified (or this writer wrote): its chain link, recomputed from the
    /// hash stored just before it, must give the hash prefix the index
    /// keeps.
    fn read_event_at(&self, position: u64) -> Result<RecordedEvent, Error> {
        let loc = read(&self.visible.index).loc(position);
        read_event_at(&self.dir, &self.files, loc, position)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("read_only", &self.is_read_only())
            .field("head", &self.head())
            .field("streams", &self.stream_count())
            .finish_non_exhaustive()
    }
}

impl EventLog for Store {
    type Error = Error;

    fn append_with(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
        conditions: &[AppendCondition],
    ) -> Result<Appended, AppendError<Error>> {
        let writer = self
            .writer
            .as_ref()
            .ok_or(AppendError::Log(ErrorKind::ReadOnly.into()))?;
        self.group
            .append(writer, &self.visible, case_id, expected, events, conditions)
    }

    fn stream_version(&self, case_id: CaseId) -> Result<u64, Error> {
        Ok(Store::stream_version(self, case_id))
    }

    fn read_stream_from(
        &self,
        case_id: CaseId,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, Error> {
        let head = read(&self.visible.head).position;
        let positions = read(&self.visible.index).positions_from(&case_id, from_version, head);
        positions
            .into_iter()
            .map(|p| self.read_event_at(p))
            .collect()
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, Error>, Error> {
        Ok(Box::new(self.read(from_position, Until::End)?))
    }
}
