//! Opening a store: taking the writer's lock, creating a new store's files,
//! reading the checkpoint and running recovery (the scan of `recover.rs`,
//! and the cut of a torn tail) before the writer resumes; or, read-only,
//! the scan up to the checkpoint.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use caseledger::policy::FollowUpPlanner;
use chrono::Utc;

use crate::checkpoint::{
    self, CHECKPOINT_FILE, Checkpoint, ReadCheckpoint, read_checkpoint, read_only_checkpoint,
};
use crate::error::{Error, ErrorKind, InvalidOptionReason, NotAStoreReason};
use crate::format::GENESIS_HASH;
use crate::index::Index;
use crate::layout::{Bound, Boundary, START, same_file, sync_dir};
use crate::recover::{self, Recovery};
use crate::segment::{self, SegmentFiles, create_segment, create_segment_at, remove_if_present};
use crate::write::{FLUSH_BYTES, MAX_SEGMENT_BYTES, MIN_SEGMENT_BYTES, StoreOptions, Writer};

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

/// What opening a store for writing made: the writer, resumed where the
/// acknowledged log ends, and what readers see.
pub(crate) struct Opened {
    /// The writer.
    pub writer: Writer,
    /// The committed events.
    pub index: Index,
    /// The checkpoint just written.
    pub checkpoint: Checkpoint,
    /// The segment files, opened on demand for random reads.
    pub files: Arc<SegmentFiles>,
    /// What recovery cut.
    pub recovery: Recovery,
}

/// Opens the store in `dir` for writing (see [`crate::Store::open`]).
pub(crate) fn open_writer(dir: &Path, options: StoreOptions) -> Result<Opened, Error> {
    let dir = dir.to_path_buf();
    if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&options.segment_bytes) {
        return Err(ErrorKind::InvalidOption {
            name: "segment_bytes",
            reason: InvalidOptionReason::OutOfRange {
                value: options.segment_bytes,
                min: MIN_SEGMENT_BYTES,
                max: MAX_SEGMENT_BYTES,
            },
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
                reason: NotAStoreReason::SegmentsWithoutCheckpoint,
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
        follow_ups: FollowUpPlanner::new(),
    };
    Ok(Opened {
        writer,
        index: scanned.index,
        checkpoint,
        files,
        recovery,
    })
}

/// Opens the store in `dir` read-only (see [`crate::Store::open_read_only`]):
/// the committed events up to the checkpoint, and the checkpoint.
pub(crate) fn open_read_only(dir: &Path) -> Result<(Index, Checkpoint), Error> {
    let dir = dir.to_path_buf();
    let cp = read_only_checkpoint(&dir)?;
    let paths = segment::list_segments(&dir)?;
    let paths: Vec<PathBuf> = paths.into_iter().take(cp.segment as usize).collect();
    let scanned = recover::scan(&dir, &paths, &cp, Bound::Checkpoint, false, &mut |_| {})?;
    Ok((scanned.index, cp))
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

/// The name segment 1 is written under while a store is created.
const NEW_FIRST_SEGMENT: &str = "seg-00000001.cls.new";
