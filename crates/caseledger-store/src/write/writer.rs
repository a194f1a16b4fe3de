//! The writer: the open segment file, its buffer, rolling over to the next
//! segment, and the sync that makes a commit durable. One per store, behind
//! a mutex; a failed write or sync poisons it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use caseledger::Event;
use caseledger::policy::FollowUpPlanner;
use chrono::{DateTime, Utc};

use crate::checkpoint::{CHECKPOINT_FILE, Checkpoint};
use crate::error::{Error, ErrorKind, OwnershipLoss, WriteFailure};
use crate::format::{Hash, SEGMENT_HEADER_BYTES};
use crate::layout::{same_file, sync_dir};
use crate::segment::{self, SegmentFiles, create_segment, remove_if_present};

/// The default segment size: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;
/// The smallest segment size allowed (a header and the largest record fit).
pub const MIN_SEGMENT_BYTES: u64 = 64 << 10;
/// The largest segment size allowed: offsets are kept in 32 bits in the index.
pub const MAX_SEGMENT_BYTES: u64 = 1 << 30;
/// A writer hands its buffer to the kernel when it holds this many bytes.
pub(crate) const FLUSH_BYTES: usize = 1 << 20;

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

/// How to open a store for writing. Built from the default with its
/// setters, so that a new option breaks no caller:
/// `StoreOptions::default().clock(Clock::EventTime)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Roll over to a new segment file when the next record would make the
    /// current one larger than this. Between [`MIN_SEGMENT_BYTES`] and
    /// [`MAX_SEGMENT_BYTES`]; default [`DEFAULT_SEGMENT_BYTES`].
    pub segment_bytes: u64,
    /// Where `recorded_at` comes from.
    pub clock: Clock,
}

impl StoreOptions {
    /// The segment size: see [`StoreOptions::segment_bytes`] (the field).
    /// Checked when the store opens ([`crate::ErrorKind::InvalidOption`]).
    #[must_use]
    pub fn segment_bytes(mut self, bytes: u64) -> StoreOptions {
        self.segment_bytes = bytes;
        self
    }

    /// Where `recorded_at` comes from.
    #[must_use]
    pub fn clock(mut self, clock: Clock) -> StoreOptions {
        self.clock = clock;
        self
    }
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            clock: Clock::System,
        }
    }
}

/// The writer of a store; see the module documentation.
#[derive(Debug)]
pub(crate) struct Writer {
    pub(crate) dir: PathBuf,
    pub(crate) options: StoreOptions,
    pub(crate) files: Arc<SegmentFiles>,
    pub(crate) file: File,
    pub(crate) segment: u32,
    /// Bytes in the current segment file (written to the kernel).
    pub(crate) len: u64,
    pub(crate) buf: Vec<u8>,
    pub(crate) next_position: u64,
    /// Chain hash of the last record written.
    pub(crate) hash: Hash,
    pub(crate) last_recorded_at: Option<DateTime<Utc>>,
    pub(crate) checkpoint_file: File,
    pub(crate) checkpoint: Checkpoint,
    /// Set by the first failed write or sync; every later write is refused.
    pub(crate) failed: Option<WriteFailure>,
    /// Set when the writer found it no longer owns the store; every later
    /// write is refused.
    pub(crate) lost: Option<OwnershipLoss>,
    /// The store directory, opened and locked (exclusive `flock`) for the
    /// writer's lifetime: the lock is this open file.
    pub(crate) lock: File,
    /// The follow-ups of the committed log by customer, for appends'
    /// conditions: built on the first append that carries one (a read of
    /// the committed log, under this writer), then kept up by each commit.
    /// Opens and imports, which carry none, do not pay for it.
    pub(crate) follow_ups: FollowUpPlanner,
}

/// The error for appends whose write failed: undone if the writer could
/// remove what it wrote, else the writer now refuses every write.
pub(crate) fn outcome_error(w: &Writer, cause: &WriteFailure) -> Error {
    match w.refusal() {
        Some(refused) => refused,
        None => ErrorKind::Undone {
            cause: cause.clone(),
        }
        .into(),
    }
}

pub(crate) fn failed(cause: &WriteFailure) -> Error {
    ErrorKind::Failed {
        cause: cause.clone(),
    }
    .into()
}

impl Writer {
    /// Why the writer refuses every write, if it does.
    pub(crate) fn refusal(&self) -> Option<Error> {
        if let Some(reason) = &self.lost {
            return Some(
                ErrorKind::NotOwner {
                    reason: reason.clone(),
                }
                .into(),
            );
        }
        self.failed.as_ref().map(failed)
    }

    /// Whether the directory and the checkpoint this writer holds open are
    /// still the ones their paths name.
    pub(crate) fn check_owner(&self) -> Result<(), OwnershipLoss> {
        same_file(&self.lock, &self.dir)?;
        same_file(&self.checkpoint_file, &self.dir.join(CHECKPOINT_FILE))
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join(segment::segment_name(self.segment))
    }

    pub(crate) fn recorded_at(&self, event: &Event, last: Option<DateTime<Utc>>) -> DateTime<Utc> {
        let now = match self.options.clock {
            Clock::System => Utc::now(),
            Clock::EventTime => event.at,
        };
        // recorded_at never decreases along the log, so a read can stop at
        // the first event recorded after a time.
        last.map_or(now, |t| now.max(t))
    }

    /// Adds a record's frame; returns its segment and offset.
    pub(crate) fn push(&mut self, frame: &[u8]) -> Result<(u32, u64), Error> {
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
    pub(crate) fn flush(&mut self) -> Result<(), Error> {
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
    pub(crate) fn sync(&mut self) -> Result<(), Error> {
        self.flush()?;
        if let Err(e) = self.file.sync_data() {
            let err = Error::io("fdatasync", self.path(), e);
            self.failed = Some(WriteFailure::of(&err));
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
                    self.failed = Some(WriteFailure::while_(
                        "could not remove a half-made segment",
                        &rm,
                    ));
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

impl Drop for Writer {
    fn drop(&mut self) {
        // The checkpoint is written after every commit but synced only on
        // open and here, on a clean close. A failure here loses nothing: the
        // next open scans past a stale checkpoint.
        let _ = self.checkpoint_file.sync_data();
    }
}
