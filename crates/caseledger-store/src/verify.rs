//! `verify`: the audit walk over every byte of the log.

use std::fs::File;
use std::path::Path;

use caseledger::RecordedEvent;

use crate::error::{Damage, Error, ErrorKind};
use crate::recover::{self, Bound};
use crate::segment;
use crate::store::{Head, LOCK_FILE};

/// What [`verify`] found in a sound log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Streams (cases) seen.
    pub streams: u64,
    /// Segment files checked.
    pub segments: u32,
    /// Bytes checked.
    pub bytes: u64,
    /// The head: write it down; a later verify that reaches the same position
    /// with the same hash proves nothing up to it changed.
    pub head: Head,
    /// True when a writer held the store during the walk: bytes it had not
    /// acknowledged yet were left unchecked.
    pub writer_active: bool,
}

/// Walks the whole log of the store in `dir`: every segment header, every
/// record's checksum and content, gapless positions and stream versions,
/// unique event ids, commit records, the checkpoint, and the SHA-256 chain
/// (recomputed). Calls `visit` with each event in position order, so that a
/// caller can check more (the CLI checks the case rules).
///
/// Succeeds only when every byte of every segment belongs to a valid,
/// committed record of the chain. Otherwise fails with
/// [`ErrorKind::TornTail`] (bytes a crash left at the very end, which opening
/// for writing cuts) or [`ErrorKind::Corrupt`] (anything else). It opens no
/// file for writing. While a writer runs, it checks up to the acknowledged
/// end only.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// use caseledger_store::{Store, StoreOptions, verify};
/// drop(Store::open(dir.path(), StoreOptions::default())?);
/// let report = verify(dir.path(), |_| {})?;
/// assert_eq!((report.events, report.head.position), (0, 0));
/// # Ok(()) }
/// ```
pub fn verify(
    dir: impl AsRef<Path>,
    mut visit: impl FnMut(RecordedEvent) + Send,
) -> Result<VerifyReport, Error> {
    let dir = dir.as_ref();
    let cp = crate::store::read_only_checkpoint(dir)?;
    let writer_active = writer_active(dir)?;
    let mut paths = segment::list_segments(dir)?;
    if writer_active {
        paths.truncate(cp.segment as usize);
    }
    let bound = if writer_active {
        Bound::Checkpoint
    } else {
        Bound::All
    };
    let mut visitor = |r: crate::format::EventRecord| {
        visit(RecordedEvent {
            position: r.position,
            version: r.version,
            recorded_at: r.recorded_at,
            event: r.event,
        })
    };
    let scanned = recover::scan(dir, &paths, &cp, bound, true, &mut visitor)?;
    if let Some(tail) = scanned.tail {
        let at = tail.bad_at.unwrap_or(tail.from);
        let path = dir.join(segment::segment_name(at.segment));
        return Err(ErrorKind::TornTail(Damage::new(
            path,
            at.offset,
            format!(
                "{} (the last complete commit ends at segment {} byte {}; {} complete event \
                 records after it are uncommitted)",
                tail.reason, tail.from.segment, tail.from.offset, tail.uncommitted_events
            ),
        ))
        .into());
    }
    let mut bytes = 0;
    for p in &paths {
        bytes += std::fs::metadata(p)
            .map_err(|e| Error::io("stat", p, e))?
            .len();
    }
    Ok(VerifyReport {
        events: scanned.boundary.position,
        streams: scanned.index.stream_count() as u64,
        segments: paths.len() as u32,
        bytes,
        head: Head {
            position: scanned.boundary.position,
            hash: scanned.boundary.hash,
        },
        writer_active,
    })
}

/// Whether a process holds the writer lock: checked by taking and at once
/// releasing a shared lock.
fn writer_active(dir: &Path) -> Result<bool, Error> {
    let path = dir.join(LOCK_FILE);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("open", &path, e)),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}
