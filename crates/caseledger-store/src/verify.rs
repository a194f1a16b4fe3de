//! `verify`: the audit walk over every byte of the log.

use std::fs::File;
use std::path::Path;

use caseledger::{CaseId, RecordedEvent};

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
/// caller can check more (the CLI checks the case rules). On an error,
/// `visit` may have seen events after the first bad record (see
/// [`verify_partitions`]).
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

/// [`verify`] on `parts` threads: the same checks, and every event folded
/// into the state of its case's partition ([`crate::partition_of`] the
/// case id; `init(k)` makes partition k's state), a case's events in
/// position order, as [`LogIter::fold_partitions`](crate::LogIter::fold_partitions)
/// folds them. Returns the verdict and the states.
///
/// A sound store whose log ends at its checkpoint, with no writer, is
/// walked by the threads together: each block of the log is read and
/// checked by one thread (checksums and chain links both, positions,
/// segment headers, commit ranges, the end at the checkpoint; every event
/// decoded), and each partition also checks its cases' versions and
/// collects their event ids, which are checked unique across partitions at
/// the end. In every other case (a failed check, bytes after the
/// checkpoint, a writer before or during the walk, an empty log), the
/// states are made anew and the log is walked by [`verify`] itself, each
/// event folded into its partition's state: so the verdict, and an error's
/// words, are [`verify`]'s. On an error the states hold every event before
/// the first bad record, and may hold some after it: [`verify`] checks the
/// chain beside the scan that visits the events, so a record whose content
/// was changed (its checksum made to match) is visited before its broken
/// link is found. The error's position ([`crate::Damage::position`]) bounds
/// what checked good.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// use caseledger_store::{Store, StoreOptions, verify_partitions};
/// drop(Store::open(dir.path(), StoreOptions::default())?);
/// let (report, counts) = verify_partitions(dir.path(), 2, |_| 0u64, |n, _| *n += 1);
/// assert_eq!((report?.events, counts), (0, vec![0, 0]));
/// # Ok(()) }
/// ```
pub fn verify_partitions<S, I, F>(
    dir: impl AsRef<Path>,
    parts: usize,
    init: I,
    fold: F,
) -> (Result<VerifyReport, Error>, Vec<S>)
where
    S: Send,
    I: Fn(usize) -> S + Sync,
    F: Fn(&mut S, RecordedEvent) + Sync,
{
    let dir = dir.as_ref();
    let parts = parts.max(1);
    if let Some(done) = verify_in_parallel(dir, parts, &init, &fold) {
        return done;
    }
    let mut states: Vec<S> = (0..parts).map(&init).collect();
    let result = verify(dir, |e| {
        let part = crate::partition_of(e.event.case_id.as_uuid().as_bytes(), parts as u64);
        // `partition_of` is below `parts`, the length of `states`.
        if let Some(s) = states.get_mut(part as usize) {
            fold(s, e);
        }
    });
    (result, states)
}

/// The checks [`verify`]'s scan makes through its index, by partition: each
/// case's versions follow 1, 2, 3, ... (at most
/// [`crate::index::MAX_STREAM_VERSION`]), and the event ids, checked unique
/// across partitions once every partition is read.
#[derive(Default)]
struct PartChecks {
    versions: std::collections::HashMap<CaseId, u64, foldhash::fast::RandomState>,
    ids: Vec<u128>,
    broken: bool,
}

/// The parallel walk of [`verify_partitions`]: `None` when it cannot give
/// the verdict (see there), and the sequential walk must.
#[allow(clippy::type_complexity)]
fn verify_in_parallel<S, I, F>(
    dir: &Path,
    parts: usize,
    init: &I,
    fold: &F,
) -> Option<(Result<VerifyReport, Error>, Vec<S>)>
where
    S: Send,
    I: Fn(usize) -> S + Sync,
    F: Fn(&mut S, RecordedEvent) + Sync,
{
    let cp = read_only_checkpoint(dir).ok()?;
    // What the walk checks must be the whole log: no writer, and no byte
    // after the checkpoint (those `verify` judges by its own rules).
    let ends_at_checkpoint = |cp: &crate::checkpoint::Checkpoint| -> Option<(u32, u64)> {
        let paths = segment::list_segments(dir).ok()?;
        let mut bytes = 0u64;
        for (number, p) in (1u32..).zip(&paths) {
            let len = std::fs::metadata(p).ok()?.len();
            let last = number == cp.segment;
            // The index keeps offsets in 32 bits: `verify` refuses beyond.
            if len > u64::from(u32::MAX) || (last && len != cp.offset) {
                return None;
            }
            bytes += len;
        }
        (cp.position > 0 && paths.len() == cp.segment as usize)
            .then_some((paths.len() as u32, bytes))
    };
    if writer_active(dir).ok()? {
        return None;
    }
    let (segments, bytes) = ends_at_checkpoint(&cp)?;
    let mut read =
        crate::read::LogIter::new(dir.to_path_buf(), cp, crate::layout::Until::End, None);
    read.checksums_too = true;
    let folded = read.fold_partitions(
        parts,
        |k| (init(k), PartChecks::default()),
        |(state, checks), e| {
            let version = checks.versions.entry(e.event.case_id).or_default();
            if e.version != *version + 1 || e.version > crate::index::MAX_STREAM_VERSION {
                checks.broken = true;
            }
            *version = e.version;
            checks.ids.push(e.event.event_id.as_uuid().as_u128());
            fold(state, e);
        },
    );
    let folded = folded.ok()?;
    // A writer that came during the walk may have changed what was read.
    let raced = writer_active(dir).ok()? || read_only_checkpoint(dir).ok()? != cp;
    if raced || ends_at_checkpoint(&cp) != Some((segments, bytes)) {
        return None;
    }
    let (states, mut checks): (Vec<S>, Vec<PartChecks>) = folded.into_iter().unzip();
    if checks.iter().any(|c| c.broken) {
        return None;
    }
    let streams = checks.iter().map(|c| c.versions.len() as u64).sum();
    if !ids_unique(&mut checks) {
        return None;
    }
    // The process that verifies usually ends soon; the maps are dropped
    // here all the same (a library call).
    drop(checks);
    let report = VerifyReport {
        events: cp.position,
        streams,
        segments,
        bytes,
        head: Head {
            position: cp.position,
            hash: cp.hash,
        },
        writer_active: false,
    };
    Some((Ok(report), states))
}

/// Whether no event id repeats within or across the partitions' lists:
/// each list sorted on its own thread, then merged.
fn ids_unique(checks: &mut [PartChecks]) -> bool {
    let sorted_unique = std::thread::scope(|s| {
        let handles: Vec<_> = checks
            .iter_mut()
            .map(|c| {
                s.spawn(move || {
                    c.ids.sort_unstable();
                    c.ids.windows(2).all(|w| w[0] != w[1])
                })
            })
            .collect();
        handles.into_iter().all(|h| h.join().unwrap_or(false))
    });
    if !sorted_unique {
        return false;
    }
    // A k-way merge of the sorted lists (k is the thread count, small):
    // a repeat across lists meets its twin as the smallest head.
    let mut heads = vec![0usize; checks.len()];
    let mut last: Option<u128> = None;
    loop {
        let mut min: Option<(usize, u128)> = None;
        for (k, c) in checks.iter().enumerate() {
            if let Some(&id) = c.ids.get(heads[k])
                && min.is_none_or(|(_, m)| id < m)
            {
                min = Some((k, id));
            }
        }
        let Some((k, id)) = min else {
            return true;
        };
        if last == Some(id) {
            return false;
        }
        last = Some(id);
        heads[k] += 1;
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
