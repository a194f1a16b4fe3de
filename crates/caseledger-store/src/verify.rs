//! `verify`: the audit walk over every byte of the log.

use std::fs::File;
use std::path::Path;

use caseledger::RecordedEvent;

use crate::checkpoint::read_only_checkpoint;
use crate::error::{Damage, Error, ErrorKind};
use crate::layout::{Bound, Head, Point};
use crate::recover;
use crate::segment;

/// What [`verify`] found in a sound log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    // The committed head the walk starts from: bytes before it never change.
    let cp = read_only_checkpoint(dir)?;
    let cp_point = Point {
        segment: cp.segment,
        offset: cp.offset,
    };
    let writer_before = writer_active(dir)?;
    let paths = segment::list_segments(dir)?;
    let mut visitor = |r: crate::format::EventRecord| {
        visit(RecordedEvent {
            position: r.position,
            version: r.version,
            recorded_at: r.recorded_at,
            event: r.event,
        })
    };
    if writer_before {
        // A writer runs: check the acknowledged log only.
        let scanned = recover::scan(dir, &paths, &cp, Bound::Checkpoint, true, &mut visitor)?;
        return report(dir, &paths, &scanned, true);
    }
    let (scanned, walk) = recover::scan_both(dir, &paths, &cp, Bound::All, true, &mut visitor)?;
    // Bytes after the checkpoint are judged only if no writer touched the
    // store during the walk: no lock is held now, and the checkpoint is the
    // one read before the walk (every writer's open writes a new one).
    let raced = writer_active(dir)? || read_only_checkpoint(dir)? != cp;
    if !raced {
        let scanned = match (scanned, walk.broken) {
            (Ok(s), None) => s,
            (Ok(_), Some(b)) => return Err(Error::corrupt(b.damage())),
            (Err(e), None) => return Err(e),
            (Err(e), Some(b)) => match recover::damage_point(&e) {
                Some(at) if at < b.point => return Err(e),
                _ => return Err(Error::corrupt(b.damage())),
            },
        };
        if let Some(tail) = &scanned.tail {
            let at = tail.bad_at.unwrap_or(tail.from);
            let path = dir.join(segment::segment_name(at.segment));
            return Err(ErrorKind::TornTail(Damage::new(
                crate::error::DamageKind::TornTail,
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
        return report(dir, &paths, &scanned, false);
    }
    // A writer came during the walk. Damage before the checkpoint is
    // damage; what lies after it may be a live writer's batch, never
    // reported as damage.
    if let Some(b) = walk.broken.filter(|b| b.point < cp_point) {
        return Err(Error::corrupt(b.damage()));
    }
    match scanned {
        Err(e) if recover::damage_point(&e).is_none_or(|at| at < cp_point) => Err(e),
        Ok(s) if s.boundary.position == cp.position => report(dir, &paths, &s, true),
        // The walk ended beyond the checkpoint, in the writer's bytes:
        // report the acknowledged log as of the checkpoint (checked again
        // up to it, without visiting the events twice).
        _ => {
            let scanned = recover::scan(dir, &paths, &cp, Bound::Checkpoint, false, &mut |_| {})?;
            report(dir, &paths, &scanned, true)
        }
    }
}

fn report(
    _dir: &Path,
    paths: &[std::path::PathBuf],
    scanned: &recover::Scanned,
    writer_active: bool,
) -> Result<VerifyReport, Error> {
    let paths = paths.get(..scanned.end.segment as usize).unwrap_or(paths);
    let mut bytes = 0;
    for p in paths {
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

/// Whether a process holds the writer's lock on the store directory:
/// checked by taking and at once releasing a shared lock. A writer's open
/// that meets this probe waits for it (`LOCK_WAIT_MS`) rather than failing.
fn writer_active(dir: &Path) -> Result<bool, Error> {
    let file = File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", dir, e)),
    }
}
