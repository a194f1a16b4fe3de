//! The [`Store`]: opening, appending (group commit and batches) and reading.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{
    Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
use std::time::{Duration, Instant};

use caseledger::{
    AppendError, AppendPlan, Appended, CaseId, Event, EventId, EventIter, EventLog,
    ExpectedVersion, RecordedEvent, StoredAt, StoredEvents, plan_append,
};
use chrono::{DateTime, Utc};

use crate::checkpoint::{self, Checkpoint, ReadCheckpoint};
use crate::error::{Damage, Error, ErrorKind};
use crate::format::{
    FRAME_HEADER_BYTES, GENESIS_HASH, Hash, Record, SEGMENT_HEADER_BYTES, SegmentHeader,
    chain_hash, decode_body, decode_frame, encode_commit, encode_event, hashed_part, stored_hash,
};
use crate::index::{Entry, Index, MAX_STREAM_VERSION, Overlay};
use crate::reader::{LogIter, Start};
use crate::recover::{self, Bound, Boundary, Point, Recovery, START};
use crate::segment::{self, SegmentFiles, read_frame_at};

/// The name of the checkpoint file.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// The default segment size: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;
/// The smallest segment size allowed (a header and the largest record fit).
pub const MIN_SEGMENT_BYTES: u64 = 64 << 10;
/// The largest segment size allowed: offsets are kept in 32 bits in the index.
pub const MAX_SEGMENT_BYTES: u64 = 1 << 30;
/// At most this many queued appends go into one group commit; the rest wait
/// for the next group. Bounds the latency one group adds to the others.
pub const MAX_GROUP_APPENDS: usize = 1024;
/// A writer hands its buffer to the kernel when it holds this many bytes.
const FLUSH_BYTES: usize = 1 << 20;

/// Where `recorded_at` comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system clock (the default).
    #[default]
    System,
    /// The event's own `at`: for synthetic histories and tests, whose stores
    /// are then byte-for-byte reproducible.
    EventTime,
}

/// How to open a store for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Roll over to a new segment file when the next record would make the
    /// current one larger than this. Between [`MIN_SEGMENT_BYTES`] and
    /// [`MAX_SEGMENT_BYTES`]; default [`DEFAULT_SEGMENT_BYTES`].
    pub segment_bytes: u64,
    /// Where `recorded_at` comes from.
    pub clock: Clock,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            clock: Clock::System,
        }
    }
}

/// The head of the log: its last acknowledged event and the chain hash that
/// seals everything up to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The last event's position (0: empty log).
    pub position: u64,
    /// The chain hash of the last record (zeros: empty log).
    pub hash: Hash,
}

impl Head {
    /// The hash as lowercase hex.
    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            // Writing to a String cannot fail.
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Where a read stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// At the head.
    End,
    /// After this position.
    Position(u64),
    /// Before the first event recorded after this time.
    RecordedAt(DateTime<Utc>),
}

/// A file event store: see the crate docs.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    /// None when read-only.
    writer: Option<Mutex<Writer>>,
    /// The group commit's queue, and whether a leader is writing a group.
    commits: Mutex<Commits>,
    /// Signalled when a leader has posted its group's results.
    committed: Condvar,
    index: RwLock<Index>,
    head: RwLock<Checkpoint>,
    /// Segment files open for random reads (a bounded cache).
    files: Arc<SegmentFiles>,
    recovery: Recovery,
}

#[derive(Debug)]
struct Writer {
    dir: PathBuf,
    options: StoreOptions,
    files: Arc<SegmentFiles>,
    file: File,
    segment: u32,
    /// Bytes in the current segment file (written to the kernel).
    len: u64,
    buf: Vec<u8>,
    next_position: u64,
    /// Chain hash of the last record written.
    hash: Hash,
    last_recorded_at: Option<DateTime<Utc>>,
    checkpoint_file: File,
    checkpoint: Checkpoint,
    /// Set by the first failed write or sync; every later write is refused.
    failed: Option<String>,
    /// Set when the writer found it no longer owns the store; every later
    /// write is refused.
    lost: Option<String>,
    /// The store directory, opened and locked (exclusive `flock`) for the
    /// writer's lifetime: the lock is this open file.
    lock: File,
}

/// Ends a leader's turn when dropped: clears the flag and wakes the waiters.
struct Leadership<'s>(&'s Store);

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        lock(&self.0.commits).leader = false;
        self.0.committed.notify_all();
    }
}

/// The state of the group commit.
#[derive(Debug, Default)]
struct Commits {
    queue: VecDeque<Arc<Pending>>,
    /// True while one appender (the leader) writes a group for everyone.
    leader: bool,
}

/// One queued append of the group commit.
#[derive(Debug)]
struct Pending {
    case_id: CaseId,
    expected: ExpectedVersion,
    events: Vec<Event>,
    result: Mutex<Option<Result<Appended, AppendError<Error>>>>,
}

/// Locks a mutex. The store's mutexes guard data that a panic cannot leave
/// half-changed (every change is made after the checks that can fail), so a
/// poisoned lock still guards good data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

/// Fsyncs a directory, so that files created, renamed or removed in it are
/// durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, e))
}

/// How long a writer's open waits for the store's lock, in milliseconds.
/// `verify` probes the lock (a shared lock, held for microseconds) to learn
/// whether a writer runs; without a wait, an open that met a probe failed as
/// if another writer ran. A real writer holds the lock far longer, so the
/// wait only delays the refusal of a second writer by this much.
pub const LOCK_WAIT_MS: u64 = 200;
/// The pause between two tries to take the lock, in milliseconds.
const LOCK_RETRY_MS: u64 = 1;

/// Takes the writer's lock: an exclusive `flock` on the store directory
/// itself, which (unlike a lock file) cannot be deleted while the store
/// exists. Returns the open directory that holds the lock.
fn lock_store(dir: &Path) -> Result<File, Error> {
    let lock = File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    let deadline = Instant::now() + Duration::from_millis(LOCK_WAIT_MS);
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(LOCK_RETRY_MS));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(ErrorKind::Locked {
                    dir: dir.to_path_buf(),
                }
                .into());
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", dir, e)),
        }
    }
    // The lock is on what `dir` named when it was opened; check it still
    // names that (not renamed and replaced in between).
    if let Err(reason) = same_file(&lock, dir) {
        return Err(ErrorKind::NotOwner { reason }.into());
    }
    Ok(lock)
}

/// Whether the open file `held` is the file `path` names now (device and
/// inode): one `fstat` and one `stat`.
fn same_file(held: &File, path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let held = held
        .metadata()
        .map_err(|e| format!("cannot stat the open {}: {e}", path.display()))?;
    match std::fs::metadata(path) {
        Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => Ok(()),
        Ok(_) => Err(format!("{} was replaced by another file", path.display())),
        Err(e) => Err(format!("{} is gone ({e})", path.display())),
    }
}

/// Whether a checkpoint is that of a new store: nothing committed.
fn is_empty_checkpoint(cp: &Checkpoint) -> bool {
    cp.segment == START.segment
        && cp.offset == START.offset
        && cp.position == 0
        && cp.hash == GENESIS_HASH
}

/// Whether a checkpoint file holds no byte ever written (empty, or zeros):
/// what a crash during a store's creation leaves.
fn never_written(file: &File) -> bool {
    let mut b = [0u8; 2 * checkpoint::SLOT_BYTES];
    match file.read_at(&mut b, 0) {
        Ok(n) => b[..n].iter().all(|&x| x == 0),
        Err(_) => false,
    }
}

impl Store {
    /// Opens the store in `dir` for writing, creating it if `dir` does not
    /// hold one, and runs crash recovery (see [`Store::recovery`]).
    ///
    /// Fails with [`ErrorKind::Locked`] if another process writes to it, and
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
    /// assert!(matches!(second.map_err(|e| e.kind().to_string()), Err(m) if m.contains("locked")));
    /// # Ok(()) }
    /// ```
    pub fn open(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Store, Error> {
        let dir = dir.as_ref().to_path_buf();
        if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&options.segment_bytes) {
            return Err(ErrorKind::InvalidOption {
                name: "segment_bytes",
                reason: format!(
                    "{}; allowed {MIN_SEGMENT_BYTES} to {MAX_SEGMENT_BYTES}",
                    options.segment_bytes
                ),
            }
            .into());
        }
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
        }
        let lock = lock_store(&dir)?;
        let mut paths = segment::list_segments(&dir)?;
        let cp_path = dir.join(CHECKPOINT_FILE);
        let cp_file = match File::options().read(true).write(true).open(&cp_path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("open", &cp_path, e)),
        };
        // Only a directory without a checkpoint and without segments is a
        // new store (or one whose creation a crash interrupted: nothing in
        // it was acknowledged). A checkpoint that names data is never
        // replaced because its segments are missing: the scan refuses it.
        let cp_file = match cp_file {
            None if paths.is_empty() => {
                create_store(&dir)?;
                paths = segment::list_segments(&dir)?;
                File::options()
                    .read(true)
                    .write(true)
                    .open(&cp_path)
                    .map_err(|e| Error::io("open", &cp_path, e))?
            }
            None => {
                return Err(ErrorKind::NotAStore {
                    dir,
                    reason: format!(
                        "it has segment files but no {CHECKPOINT_FILE} file, so where its \
                         acknowledged data ends is unknown; nothing was changed"
                    ),
                }
                .into());
            }
            Some(f) => {
                let read = checkpoint::read(&f).map_err(|e| Error::io("read", &cp_path, e))?;
                match read {
                    ReadCheckpoint::Valid(cp) if paths.is_empty() && is_empty_checkpoint(&cp) => {
                        // A crash between writing the checkpoint and creating
                        // segment 1: create it.
                        create_segment(&dir, 1, 1, GENESIS_HASH)?;
                        sync_dir(&dir)?;
                        paths = segment::list_segments(&dir)?;
                    }
                    ReadCheckpoint::Invalid if paths.is_empty() && never_written(&f) => {
                        // A crash before the first checkpoint was written.
                        create_store(&dir)?;
                        paths = segment::list_segments(&dir)?;
                    }
                    _ => {}
                }
                f
            }
        };
        let cp = read_checkpoint(&dir, &cp_file)?;
        let scanned = recover::scan(&dir, &paths, &cp, Bound::All, false, &mut |_| {})?;
        let mut recovery = Recovery::default();
        let mut resume = scanned.end;
        let mut hash = match scanned.end == scanned.boundary.point {
            true => scanned.boundary.hash,
            false => GENESIS_HASH,
        };
        if let Some(tail) = &scanned.tail {
            let stamp_ms = Utc::now().timestamp_millis();
            recovery = recover::cut_tail(&dir, &paths, tail, stamp_ms)?;
            paths.truncate(tail.from.segment as usize);
            resume = tail.from;
            hash = scanned.boundary.hash;
        } else if scanned.end != scanned.boundary.point {
            // Only empty segments (a header each) follow the last commit: the
            // chain continues through their headers unchanged.
            hash = scanned.boundary.hash;
        }
        let seg_path = dir.join(segment::segment_name(resume.segment));
        let file = File::options()
            .write(true)
            .open(&seg_path)
            .map_err(|e| Error::io("open", &seg_path, e))?;
        let boundary = scanned.boundary;
        // Written on every open, even when the end did not move: the new
        // sequence number tells a `verify` that ran meanwhile that a writer
        // came. Synced only when recovery moved the durable end (a tail was
        // cut, or commits after a stale checkpoint were found); otherwise
        // either slot names the same end.
        let checkpoint = boundary.checkpoint(cp.sequence + 1);
        checkpoint::write(&cp_file, &checkpoint).map_err(|e| Error::io("write", &cp_path, e))?;
        if boundary.checkpoint(cp.sequence) != cp {
            cp_file
                .sync_data()
                .map_err(|e| Error::io("fdatasync", &cp_path, e))?;
        }
        let files = Arc::new(SegmentFiles::new(&dir));
        let writer = Writer {
            dir: dir.clone(),
            options,
            files: Arc::clone(&files),
            file,
            segment: resume.segment,
            len: resume.offset,
            buf: Vec::with_capacity(FLUSH_BYTES),
            next_position: boundary.position + 1,
            hash,
            last_recorded_at: scanned.last_recorded_at,
            checkpoint_file: cp_file,
            checkpoint,
            failed: None,
            lost: None,
            lock,
        };
        Ok(Store {
            dir,
            writer: Some(Mutex::new(writer)),
            commits: Mutex::new(Commits::default()),
            committed: Condvar::new(),
            index: RwLock::new(scanned.index),
            head: RwLock::new(checkpoint),
            files,
            recovery,
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
        let cp = read_only_checkpoint(&dir)?;
        let paths = segment::list_segments(&dir)?;
        let paths: Vec<PathBuf> = paths.into_iter().take(cp.segment as usize).collect();
        let scanned = recover::scan(&dir, &paths, &cp, Bound::Checkpoint, false, &mut |_| {})?;
        Ok(Store {
            files: Arc::new(SegmentFiles::new(&dir)),
            dir,
            writer: None,
            commits: Mutex::new(Commits::default()),
            committed: Condvar::new(),
            index: RwLock::new(scanned.index),
            head: RwLock::new(cp),
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
        let cp = read(&self.head);
        Head {
            position: cp.position,
            hash: cp.hash,
        }
    }

    /// How many streams (cases) the acknowledged log holds.
    pub fn stream_count(&self) -> usize {
        read(&self.index).stream_count()
    }

    /// A stream's version (0: no events).
    pub fn stream_version(&self, case_id: CaseId) -> u64 {
        read(&self.index).version(&case_id)
    }

    /// Where an event id is stored in the acknowledged log, if it is.
    pub fn stored_at(&self, event_id: &caseledger::EventId) -> Option<caseledger::StoredAt> {
        let head = read(&self.head).position;
        read(&self.index)
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
    /// for e in Synth::new(SynthConfig { cases: 50, seed: 1, start, span_days: 30 }) {
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
        let w = lock(writer);
        if let Some(refused) = w.refusal() {
            return Err(refused);
        }
        let txn = Txn::begin(&w);
        Ok(Batch {
            store: self,
            w,
            txn,
            done: false,
        })
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
        let cp = *read(&self.head);
        let start = if from <= 1 {
            None
        } else {
            match read(&self.index).loc(from) {
                Some(loc) if from <= cp.position => Some(loc),
                _ => {
                    return Ok(LogIter::empty(self.dir.clone()));
                }
            }
        };
        let start = start.map(|loc| Start {
            segment: loc.segment,
            offset: u64::from(loc.offset),
            position: from,
            hash: loc.hash,
        });
        Ok(LogIter::new(self.dir.clone(), cp, until, start).skip_to(from))
    }

    fn append_one(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
    ) -> Result<Appended, AppendError<Error>> {
        let writer = self
            .writer
            .as_ref()
            .ok_or(AppendError::Log(ErrorKind::ReadOnly.into()))?;
        let request = Arc::new(Pending {
            case_id,
            expected,
            events: events.to_vec(),
            result: Mutex::new(None),
        });
        // Group commit: the first appender to find no leader becomes one and
        // writes every queued append with one sync; the others sleep until
        // their result is posted. Waiters never take the writer lock, so a
        // returning appender cannot sync alone while the rest queue up
        // behind it (a convoy).
        let mut commits = lock(&self.commits);
        commits.queue.push_back(Arc::clone(&request));
        loop {
            if let Some(result) = lock(&request.result).take() {
                return result;
            }
            if commits.leader {
                commits = self
                    .committed
                    .wait(commits)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            commits.leader = true;
            let n = commits.queue.len().min(MAX_GROUP_APPENDS);
            let group: Vec<Arc<Pending>> = commits.queue.drain(..n).collect();
            drop(commits);
            {
                // Hands leadership back even if writing panics, so that the
                // waiters are not left asleep forever.
                let _leader = Leadership(self);
                let mut w = lock(writer);
                self.write_group(&mut w, &group);
            }
            commits = lock(&self.commits);
        }
    }

    fn write_group(&self, w: &mut Writer, group: &[Arc<Pending>]) {
        let mut txn = Txn::begin(w);
        let mut results = Vec::with_capacity(group.len());
        {
            let index = read(&self.index);
            for p in group {
                results.push(txn.append(w, &index, p.case_id, p.expected, &p.events));
            }
        }
        if let Err(e) = txn.commit(w, self) {
            // Every append of the group that wrote, or failed while writing
            // (a failed roll-over), gets the group's answer: undone, or the
            // writer refuses writes. The commit's answer is not wrapped twice.
            let cause = match e.kind() {
                ErrorKind::Undone { cause } | ErrorKind::Failed { cause } => cause.clone(),
                _ => e.to_string(),
            };
            for r in results.iter_mut() {
                let wrote = match r {
                    Ok(a) => !a.already_stored,
                    Err(AppendError::Log(_)) => true,
                    Err(_) => false,
                };
                if wrote {
                    *r = Err(AppendError::Log(outcome_error(w, &cause)));
                }
            }
        }
        for (p, r) in group.iter().zip(results) {
            *lock(&p.result) = Some(r);
        }
    }

    /// Reads the event at `position` and checks it is the record the open
    /// verified (or this writer wrote): its chain link, recomputed from the
    /// hash stored just before it, must give the hash prefix the index
    /// keeps.
    fn read_event_at(&self, position: u64) -> Result<RecordedEvent, Error> {
        let loc = read(&self.index).loc(position);
        let loc = loc.ok_or_else(|| not_indexed(&self.dir, position))?;
        let path = self.dir.join(segment::segment_name(loc.segment));
        let file = self.files.get(loc.segment)?;
        let offset = u64::from(loc.offset);
        let damage = |detail: String| {
            Error::corrupt(Damage::new(&path, offset, detail).at_position(position))
        };
        let body = read_frame_at(&file, offset).map_err(|fe| damage(fe.error.to_string()))?;
        check_verified_link(&file, &path, offset, &body, loc.hash).map_err(damage)?;
        event_of_body(&body, position).map_err(damage)
    }
}

fn missing_checkpoint(dir: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        ErrorKind::NotAStore {
            dir: dir.to_path_buf(),
            reason: format!("it has no {CHECKPOINT_FILE} file"),
        }
        .into()
    } else {
        Error::io("open", dir.join(CHECKPOINT_FILE), e)
    }
}

fn read_checkpoint(dir: &Path, file: &File) -> Result<Checkpoint, Error> {
    let path = dir.join(CHECKPOINT_FILE);
    match checkpoint::read(file).map_err(|e| Error::io("read", &path, e))? {
        ReadCheckpoint::Valid(cp) if cp.segment >= 1 => Ok(cp),
        _ => Err(Error::corrupt(Damage::new(
            path,
            0,
            "neither checkpoint slot is valid, so the durable end of the log is unknown",
        ))),
    }
}

/// Reads the checkpoint of the store in `dir` without changing anything:
/// the start of every read-only open. A missing directory or checkpoint file
/// means "not a store"; a checkpoint with no valid slot is corruption.
pub(crate) fn read_only_checkpoint(dir: &Path) -> Result<Checkpoint, Error> {
    if !dir.is_dir() {
        return Err(ErrorKind::NotAStore {
            dir: dir.to_path_buf(),
            reason: "no such directory".to_owned(),
        }
        .into());
    }
    let cp_file = File::open(dir.join(CHECKPOINT_FILE)).map_err(|e| missing_checkpoint(dir, e))?;
    read_checkpoint(dir, &cp_file)
}

/// Creates the files of a new store: the checkpoint (synced), then segment 1
/// (synced), then syncs the directory.
fn create_store(dir: &Path) -> Result<(), Error> {
    let cp_path = dir.join(CHECKPOINT_FILE);
    let cp = File::options()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&cp_path)
        .map_err(|e| Error::io("create", &cp_path, e))?;
    let first = Boundary {
        point: START,
        position: 0,
        hash: GENESIS_HASH,
    };
    checkpoint::write(&cp, &first.checkpoint(0)).map_err(|e| Error::io("write", &cp_path, e))?;
    cp.sync_all().map_err(|e| Error::io("fsync", &cp_path, e))?;
    // Segment 1 gets its name only once its header is durable: a failure or
    // a crash before that leaves no segment 1, and the next open creates the
    // store again. An incomplete segment 1 would be refused as damage at the
    // start of the acknowledged log.
    let new = dir.join(NEW_FIRST_SEGMENT);
    remove_if_present(&new)?;
    create_segment_at(&new, 1, 1, GENESIS_HASH)?;
    let first_path = dir.join(segment::segment_name(1));
    std::fs::rename(&new, &first_path).map_err(|e| Error::io("move", &new, e))?;
    sync_dir(dir)
}

/// Removes a file; one that is not there is fine.
fn remove_if_present(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// The name segment 1 is written under while a store is created.
const NEW_FIRST_SEGMENT: &str = "seg-00000001.cls.new";

/// Creates segment `n` with its header, synced. The caller syncs the
/// directory.
fn create_segment(dir: &Path, n: u32, first_position: u64, prev_hash: Hash) -> Result<File, Error> {
    create_segment_at(
        &dir.join(segment::segment_name(n)),
        n,
        first_position,
        prev_hash,
    )
}

/// Creates segment `n` at `path` (which must not exist) with its header,
/// synced.
fn create_segment_at(
    path: &Path,
    n: u32,
    first_position: u64,
    prev_hash: Hash,
) -> Result<File, Error> {
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    let header = SegmentHeader {
        segment: n,
        first_position,
        prev_hash,
    };
    file.write_all_at(&header.encode(), 0)
        .map_err(|e| Error::io("write", path, e))?;
    file.sync_data()
        .map_err(|e| Error::io("fdatasync", path, e))?;
    Ok(file)
}

/// The error for appends whose write failed: undone if the writer could
/// remove what it wrote, else the writer now refuses every write.
fn outcome_error(w: &Writer, cause: &str) -> Error {
    match w.refusal() {
        Some(refused) => refused,
        None => ErrorKind::Undone {
            cause: cause.to_owned(),
        }
        .into(),
    }
}

fn failed(cause: &str) -> Error {
    ErrorKind::Failed {
        cause: cause.to_owned(),
    }
    .into()
}

impl Writer {
    /// Why the writer refuses every write, if it does.
    fn refusal(&self) -> Option<Error> {
        if let Some(reason) = &self.lost {
            return Some(
                ErrorKind::NotOwner {
                    reason: reason.clone(),
                }
                .into(),
            );
        }
        self.failed.as_deref().map(failed)
    }

    /// Whether the directory and the checkpoint this writer holds open are
    /// still the ones their paths name.
    fn check_owner(&self) -> Result<(), String> {
        same_file(&self.lock, &self.dir)?;
        same_file(&self.checkpoint_file, &self.dir.join(CHECKPOINT_FILE))
    }

    fn path(&self) -> PathBuf {
        self.dir.join(segment::segment_name(self.segment))
    }

    fn recorded_at(&self, event: &Event, last: Option<DateTime<Utc>>) -> DateTime<Utc> {
        let now = match self.options.clock {
            Clock::System => Utc::now(),
            Clock::EventTime => event.at,
        };
        // recorded_at never decreases along the log, so a read can stop at
        // the first event recorded after a time.
        last.map_or(now, |t| now.max(t))
    }

    /// Adds a record's frame; returns its segment and offset.
    fn push(&mut self, frame: &[u8]) -> Result<(u32, u64), Error> {
        let used = self.len + self.buf.len() as u64;
        if used + frame.len() as u64 > self.options.segment_bytes
            && used > SEGMENT_HEADER_BYTES as u64
        {
            self.roll()?;
        }
        let offset = self.len + self.buf.len() as u64;
        self.buf.extend_from_slice(frame);
        if self.buf.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok((self.segment, offset))
    }

    /// Hands the buffer to the kernel (no sync).
    fn flush(&mut self) -> Result<(), Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let path = self.path();
        self.file
            .write_all_at(&self.buf, self.len)
            .map_err(|e| Error::io("write", path, e))?;
        self.len += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Flushes and syncs the current segment; a failure poisons the writer.
    fn sync(&mut self) -> Result<(), Error> {
        self.flush()?;
        if let Err(e) = self.file.sync_data() {
            let err = Error::io("fdatasync", self.path(), e);
            self.failed = Some(err.to_string());
            return Err(err);
        }
        Ok(())
    }

    /// Closes the current segment (synced) and starts the next one.
    fn roll(&mut self) -> Result<(), Error> {
        self.sync()?;
        let n = self.segment + 1;
        let path = self.dir.join(segment::segment_name(n));
        let made = create_segment(&self.dir, n, self.next_position, self.hash)
            .and_then(|file| sync_dir(&self.dir).map(|()| file));
        let file = match made {
            Ok(file) => file,
            Err(e) => {
                // Nothing in the new segment was acknowledged: remove what
                // was made of it, so that the next roll can create it again.
                if let Err(rm) = remove_if_present(&path) {
                    self.failed = Some(format!("could not remove a half-made segment: {rm}"));
                }
                return Err(e);
            }
        };
        self.file = file;
        self.segment = n;
        self.len = SEGMENT_HEADER_BYTES as u64;
        Ok(())
    }
}

/// The log as a writer's transaction sees it: the committed index, the
/// transaction's own events on top, and their bytes, some of which may still
/// be in the writer's buffer.
struct TxnView<'a> {
    index: &'a Index,
    overlay: &'a Overlay,
    w: &'a Writer,
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
        let damage = |detail: String| {
            Error::corrupt(Damage::new(&path, offset, detail).at_position(at.position))
        };
        let body = if segment == w.segment && offset >= w.len {
            // Not handed to the kernel yet: the bytes are in the buffer.
            let start = usize::try_from(offset - w.len).unwrap_or(usize::MAX);
            let bytes = w.buf.get(start..).unwrap_or_default();
            decode_frame(bytes)
                .map(<[u8]>::to_vec)
                .map_err(|e| damage(e.to_string()))?
        } else {
            let file = w.files.get(segment)?;
            let body = read_frame_at(&file, offset).map_err(|fe| damage(fe.error.to_string()))?;
            // A committed record is checked against what the open verified;
            // the transaction's own records were written by this writer.
            if let Some(loc) = self.index.loc(at.position) {
                check_verified_link(&file, &path, offset, &body, loc.hash).map_err(damage)?;
            }
            body
        };
        event_of_body(&body, at.position).map_err(damage)
    }
}

/// Checks that the record `body` read at `offset` of `file` is the one the
/// index knows (verified when the store was opened, or written since): its
/// chain link, recomputed from the hash stored just before it, gives the
/// hash prefix the index keeps.
fn check_verified_link(
    file: &File,
    path: &Path,
    offset: u64,
    body: &[u8],
    verified: crate::chain::HashPrefix,
) -> Result<(), String> {
    let prev = crate::reader::read_prev_hash(file, path, offset).map_err(|e| e.to_string())?;
    let link = chain_hash(&prev, hashed_part(body));
    if link != stored_hash(body) || crate::chain::prefix(&link) != verified {
        return Err(
            "this record is not the one verified when the store was opened (its chain \
                    hash differs): it, or the one before it, was changed since"
                .to_owned(),
        );
    }
    Ok(())
}

/// The error for a position the index does not hold.
fn not_indexed(dir: &Path, position: u64) -> Error {
    Error::corrupt(Damage::new(
        dir,
        0,
        format!("position {position} is not indexed"),
    ))
}

/// Decodes the event record at `position` from its body.
fn event_of_body(body: &[u8], position: u64) -> Result<RecordedEvent, String> {
    match decode_body(body).map_err(|e| e.to_string())? {
        Record::Event(r) if r.position == position => Ok(RecordedEvent {
            position: r.position,
            version: r.version,
            recorded_at: r.recorded_at,
            event: r.event,
        }),
        _ => Err("the index points at another record".to_owned()),
    }
}

/// An open transaction of the writer: events written but not committed.
#[derive(Debug)]
struct Txn {
    start: Point,
    start_position: u64,
    start_hash: Hash,
    start_recorded_at: Option<DateTime<Utc>>,
    overlay: Overlay,
    scratch: Vec<u8>,
    /// The first I/O failure inside the transaction; it then only aborts.
    broken: Option<String>,
}

impl Txn {
    fn begin(w: &Writer) -> Txn {
        Txn {
            start: Point {
                segment: w.segment,
                offset: w.len + w.buf.len() as u64,
            },
            start_position: w.next_position,
            start_hash: w.hash,
            start_recorded_at: w.last_recorded_at,
            overlay: Overlay::default(),
            scratch: Vec::new(),
            broken: None,
        }
    }

    fn append(
        &mut self,
        w: &mut Writer,
        index: &Index,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
    ) -> Result<Appended, AppendError<Error>> {
        if let Some(refused) = w.refusal() {
            return Err(AppendError::Log(refused));
        }
        if let Some(cause) = &self.broken {
            return Err(AppendError::Log(failed(cause)));
        }
        let version = self.overlay.version(index, &case_id);
        let view = TxnView {
            index,
            overlay: &self.overlay,
            w,
        };
        let plan = plan_append(case_id, expected, events, version, &view)?;
        let first_version = match plan {
            AppendPlan::AlreadyStored(done) => return Ok(done),
            AppendPlan::Write { first_version } => first_version,
        };
        let last_version = first_version + events.len() as u64 - 1;
        if last_version > MAX_STREAM_VERSION {
            return Err(AppendError::InvalidAppend {
                case_id,
                reason: format!("a stream holds at most {MAX_STREAM_VERSION} events"),
            });
        }
        // Encode every record first, so that an event the format cannot
        // hold fails the append before any byte of it is written.
        self.scratch.clear();
        let mut ends = Vec::with_capacity(events.len());
        let mut hash = w.hash;
        let mut last = w.last_recorded_at;
        for (i, e) in (0u64..).zip(events) {
            let recorded_at = w.recorded_at(e, last);
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
                reason: err.to_string(),
            })?;
            ends.push((self.scratch.len(), hash));
        }
        let mut positions = Vec::with_capacity(events.len());
        let mut start = 0;
        for ((i, e), (end, record_hash)) in (0u64..).zip(events).zip(ends) {
            let (segment, offset) = match w.push(&self.scratch[start..end]) {
                Ok(at) => at,
                Err(err) => {
                    self.broken = Some(err.to_string());
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
            self.overlay.push(Entry {
                position,
                case_id,
                version: first_version + i,
                event_id: e.event_id,
                segment,
                // Segments are at most MAX_SEGMENT_BYTES (1 GiB) long.
                offset: offset as u32,
                hash: crate::chain::prefix(&record_hash),
            });
        }
        w.last_recorded_at = last;
        Ok(Appended {
            positions,
            stream_version: last_version,
            already_stored: false,
        })
    }

    /// Writes the commit record, syncs, advances the checkpoint and makes
    /// the events visible. Aborts instead if the transaction broke.
    fn commit(mut self, w: &mut Writer, store: &Store) -> Result<Option<Head>, Error> {
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
                return Err(outcome_error(w, &e.to_string()));
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
            w.failed = Some(err.to_string());
            return Err(err);
        }
        w.checkpoint = cp;
        {
            let mut index = write(&store.index);
            if let Err(detail) = self.overlay.apply(&mut index) {
                // The overlay was built on top of this index under the writer
                // lock, so this cannot happen; refuse writes if it does.
                w.failed = Some(detail.clone());
                return Err(Error::corrupt(Damage::new(&w.dir, 0, detail)));
            }
        }
        *write(&store.head) = cp;
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
        w.buf.clear();
        if let Err(e) = self.rewind(w) {
            w.failed = Some(format!("could not undo an unfinished write: {e}"));
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

impl Drop for Writer {
    fn drop(&mut self) {
        // The checkpoint is written after every commit but synced only on
        // open and here, on a clean close. A failure here loses nothing: the
        // next open scans past a stale checkpoint.
        let _ = self.checkpoint_file.sync_data();
    }
}

/// A batch of appends that is committed atomically (see [`Store::batch`]).
///
/// Events are written to the segment files as they are appended, so a batch
/// can be far larger than memory; they become visible, and durable, only at
/// [`Batch::commit`], with one sync. Dropping the batch without committing
/// removes what it wrote; a crash before the commit leaves bytes that the
/// next open cuts.
#[derive(Debug)]
pub struct Batch<'s> {
    store: &'s Store,
    w: MutexGuard<'s, Writer>,
    txn: Txn,
    done: bool,
}

impl Batch<'_> {
    /// Appends events to one stream, as [`EventLog::append`] does, within the
    /// batch: versions and event ids of earlier appends in the batch count.
    pub fn append(
        &mut self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
    ) -> Result<Appended, AppendError<Error>> {
        let index = read(&self.store.index);
        self.txn
            .append(&mut self.w, &index, case_id, expected, events)
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
        self.txn.overlay.version(&read(&self.store.index), &case_id)
    }

    /// Makes the batch durable and visible; returns the new head (`None` if
    /// the batch was empty and nothing was written).
    pub fn commit(mut self) -> Result<Option<Head>, Error> {
        self.done = true;
        let txn = std::mem::replace(&mut self.txn, Txn::begin(&self.w));
        txn.commit(&mut self.w, self.store)
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

impl EventLog for Store {
    type Error = Error;

    fn append(
        &self,
        case_id: CaseId,
        expected: ExpectedVersion,
        events: &[Event],
    ) -> Result<Appended, AppendError<Error>> {
        self.append_one(case_id, expected, events)
    }

    fn read_stream(&self, case_id: CaseId) -> Result<Vec<RecordedEvent>, Error> {
        let head = read(&self.head).position;
        let positions: Vec<u64> = read(&self.index)
            .positions(&case_id)
            .into_iter()
            .take_while(|&p| p <= head)
            .collect();
        positions
            .into_iter()
            .map(|p| self.read_event_at(p))
            .collect()
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_, Error>, Error> {
        Ok(Box::new(self.read(from_position, Until::End)?))
    }
}
