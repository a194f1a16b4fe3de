//! The shared vocabulary of the store's modules, below all of them: points
//! in the log and the boundary of the last commit, how far a scan or a read
//! goes, the head, and the file-system steps on the store directory that
//! every durability step uses.

use std::fs::File;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::checkpoint::Checkpoint;
use crate::error::{Error, OwnershipLoss};
use crate::format::{Hash, SEGMENT_HEADER_BYTES};

/// A point in the log: just after a record (or a segment header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Point {
    /// Segment number.
    pub segment: u32,
    /// Byte offset in the segment.
    pub offset: u64,
}

/// The start of an empty log.
pub const START: Point = Point {
    segment: 1,
    offset: SEGMENT_HEADER_BYTES as u64,
};

/// The end of the last complete commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Boundary {
    /// Where it ends.
    pub point: Point,
    /// The last committed event's position (0: none).
    pub position: u64,
    /// The chain hash of the commit record (genesis: none).
    pub hash: Hash,
}

impl Boundary {
    /// The checkpoint that records this boundary.
    pub fn checkpoint(&self, sequence: u64) -> Checkpoint {
        Checkpoint {
            sequence,
            segment: self.point.segment,
            offset: self.point.offset,
            position: self.position,
            hash: self.hash,
        }
    }
}

/// How far to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Up to the checkpoint only: a reader, which must not see records a
    /// running writer has not acknowledged yet.
    Checkpoint,
    /// Every byte: a writer recovering.
    All,
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

/// Fsyncs a directory, so that files created, renamed or removed in it are
/// durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, e))
}

/// Whether the open file `held` is the file `path` names now (device and
/// inode): one `fstat` and one `stat`.
pub(crate) fn same_file(held: &File, path: &Path) -> Result<(), OwnershipLoss> {
    use std::os::unix::fs::MetadataExt;
    let held = held
        .metadata()
        .map_err(|source| OwnershipLoss::CannotStatHeld {
            path: path.to_path_buf(),
            source,
        })?;
    match std::fs::metadata(path) {
        Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => Ok(()),
        Ok(_) => Err(OwnershipLoss::Replaced {
            path: path.to_path_buf(),
        }),
        Err(source) => Err(OwnershipLoss::Gone {
            path: path.to_path_buf(),
            source,
        }),
    }
}
