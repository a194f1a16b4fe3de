//! Opening a store: scanning the log, telling a torn tail from corruption,
//! and (for a writer) cutting the torn tail. docs/store-format.md, section
//! "Recovery", states the rules this module implements.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::checkpoint::Checkpoint;
use crate::error::{Damage, DamageKind, Error, ErrorKind};
use crate::format::{
    EventHeader, EventRecord, FRAME_HEADER_BYTES, GENESIS_HASH, SEGMENT_HEADER_BYTES, decode_body,
    decode_event_header, stored_hash,
};
use crate::index::{Entry, Index};
use crate::layout::{Bound, Boundary, Point, START, sync_dir};

/// A record as the scan sees it: fully decoded, or only its fixed part.
enum Record {
    Event(EventRecord),
    Header(EventHeader),
    Commit {
        first_position: u64,
        last_position: u64,
    },
}

impl From<crate::format::Record> for Record {
    fn from(r: crate::format::Record) -> Record {
        match r {
            crate::format::Record::Event(e) => Record::Event(e),
            crate::format::Record::Commit {
                first_position,
                last_position,
            } => Record::Commit {
                first_position,
                last_position,
            },
        }
    }
}
use crate::segment::SegmentReader;

/// Bytes after the last commit that are not part of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    /// Where they start (the last commit's end).
    pub from: Point,
    /// Complete event records among them (a batch without its commit).
    pub uncommitted_events: u64,
    /// Why they end the log ("incomplete record", "checksum mismatch", ...).
    pub reason: String,
    /// Where the first bad byte is, when a bad record ended the scan.
    pub bad_at: Option<Point>,
}

/// What a scan found.
#[derive(Debug)]
pub struct Scanned {
    /// The committed events.
    pub index: Index,
    /// The end of the last commit.
    pub boundary: Boundary,
    /// The end of the last valid header or record: where a writer resumes
    /// when there is no tail.
    pub end: Point,
    /// Bytes to cut, if any.
    pub tail: Option<Tail>,
    /// The latest `recorded_at` of a committed event.
    pub last_recorded_at: Option<DateTime<Utc>>,
}

/// Scans the segments of the store in `dir` (`paths[i]` is segment i + 1)
/// against the checkpoint, and on a second thread recomputes the hash chain
/// over the same bytes ([`crate::chain::walk`]); the index keeps each
/// event's hash prefix for later random reads. With `decode_all`, it also
/// decodes every field and hands each event to `visit` (that is `verify`);
/// without, it decodes the fixed part each record's index entry needs (that
/// is opening).
pub fn scan(
    dir: &Path,
    paths: &[PathBuf],
    cp: &Checkpoint,
    bound: Bound,
    decode_all: bool,
    visit: &mut (dyn FnMut(EventRecord) + Send),
) -> Result<Scanned, Error> {
    let (scanned, walk) = scan_both(dir, paths, cp, bound, decode_all, visit)?;
    match (scanned, walk.broken) {
        (Ok(mut scanned), None) => {
            let events = usize::try_from(scanned.boundary.position).unwrap_or(usize::MAX);
            scanned
                .index
                .set_hash_prefixes(walk.prefixes.get(..events).unwrap_or(&walk.prefixes))
                .map_err(|detail| {
                    Error::corrupt(Damage::new(
                        crate::error::DamageKind::Inconsistent,
                        dir,
                        0,
                        detail,
                    ))
                })?;
            Ok(scanned)
        }
        (Ok(_), Some(broken)) => Err(Error::corrupt(broken.damage())),
        (Err(e), None) => Err(e),
        // Both found something: the earlier in the log is the first bad
        // record.
        (Err(e), Some(broken)) => match damage_point(&e) {
            Some(at) if at < broken.point => Err(e),
            _ => Err(Error::corrupt(broken.damage())),
        },
    }
}

/// The scan and the chain walk, run side by side, each with its own
/// verdict: for `verify`, which judges bytes a live writer may be changing
/// by its own rule. Fails only when the walk itself could not run.
pub fn scan_both(
    dir: &Path,
    paths: &[PathBuf],
    cp: &Checkpoint,
    bound: Bound,
    decode_all: bool,
    visit: &mut (dyn FnMut(EventRecord) + Send),
) -> Result<(Result<Scanned, Error>, crate::chain::Walk), Error> {
    if paths.len() < cp.segment as usize {
        return Err(missing_segment(dir, paths.len(), cp.position, cp.segment));
    }
    let cp_point = Point {
        segment: cp.segment,
        offset: cp.offset,
    };
    let (scanned, walk) = std::thread::scope(|s| {
        let chain = s.spawn(|| crate::chain::walk(paths, cp_point, bound));
        let scanned = scan_records(dir, paths, cp, bound, decode_all, visit);
        // The walk returns on every path; a panic in it is a bug, reported
        // as such rather than trusted.
        let walk = chain.join();
        (scanned, walk)
    });
    let walk = walk.map_err(|_| {
        Error::corrupt(Damage::new(
            crate::error::DamageKind::Inconsistent,
            dir,
            0,
            "the hash chain check panicked",
        ))
    })?;
    Ok((scanned, walk))
}

/// The error of a store whose checkpoint needs segment `found + 1` (up to
/// `segment`, at `position`) and finds only `found` segment files: named
/// before anything is read. A checkpoint of an empty log (position 0) with
/// no segment at all is a creation a crash interrupted (the checkpoint is
/// written first): nothing was acknowledged, and opening for writing
/// completes it; anything else is acknowledged data gone.
pub(crate) fn missing_segment(dir: &Path, found: usize, position: u64, segment: u32) -> Error {
    let missing = dir.join(crate::segment::segment_name(found as u32 + 1));
    if position == 0 && found == 0 {
        // Like a torn tail, a crash's leftover that a writer's open mends.
        return ErrorKind::TornTail(Damage::new(
            crate::error::DamageKind::Missing,
            missing,
            0,
            "the store's creation was interrupted: its checkpoint names an empty log, but this \
             first segment file is not there; nothing was acknowledged",
        ))
        .into();
    }
    Error::corrupt(Damage::new(
        crate::error::DamageKind::Missing,
        missing,
        0,
        format!(
            "acknowledged data is missing: the checkpoint records position {position} in segment \
             {segment}, but this segment file is not there (moved, deleted or not restored?); \
             nothing was changed"
        ),
    ))
}

/// Where in the log a scan's error is, when it names a segment file (a
/// file that could not be read counts from its start).
pub fn damage_point(e: &Error) -> Option<Point> {
    let (file, offset) = match e.kind() {
        crate::error::ErrorKind::Corrupt(d) => (&d.file, d.offset),
        crate::error::ErrorKind::Io { path, .. } => (path, 0),
        crate::error::ErrorKind::NotASegmentFile { path, .. } => (path, 0),
        _ => return None,
    };
    let name = file.file_name()?.to_str()?;
    Some(Point {
        segment: crate::segment::parse_segment_name(name)?,
        offset,
    })
}

fn scan_records(
    dir: &Path,
    paths: &[PathBuf],
    cp: &Checkpoint,
    bound: Bound,
    decode_all: bool,
    visit: &mut (dyn FnMut(EventRecord) + Send),
) -> Result<Scanned, Error> {
    let cp_point = Point {
        segment: cp.segment,
        offset: cp.offset,
    };
    let acked = |p: Point| p < cp_point;
    // Sized for the log up front: growing a map of a million ids by
    // doubling rehashes it twenty times. Records are at least 100 bytes.
    let mut bytes = 0u64;
    for p in paths {
        bytes += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    }
    let mut index = Index::with_capacity(usize::try_from(bytes / 100).unwrap_or(0));
    // Event ids indexed since the last commit: removed again if no commit
    // follows them.
    let mut pending: Vec<caseledger::EventId> = Vec::new();
    let mut boundary = Boundary {
        point: START,
        position: 0,
        hash: GENESIS_HASH,
    };
    let mut cp_matched = boundary.checkpoint(cp.sequence) == *cp;
    let mut end = START;
    let mut hash = GENESIS_HASH;
    let mut next_position = 1u64;
    let mut last_recorded_at = None;
    // The latest of the batch being read, taken into `last_recorded_at`
    // only at its commit: a batch cut as a torn tail must not move the
    // time the next write is recorded after.
    let mut pending_recorded_at: Option<DateTime<Utc>> = None;
    let mut tail = None;
    'segments: for (number, path) in (1u32..).zip(paths) {
        let limit = match bound {
            Bound::Checkpoint if number > cp.segment => break,
            Bound::Checkpoint if number == cp.segment => cp.offset,
            _ => u64::MAX,
        };
        // One segment open at a time, however many the log has.
        let file = crate::segment::open_segment(path)?;
        let mut reader = SegmentReader::new(Arc::new(file), 0, limit);
        let header = match reader.header() {
            Ok(h) => h,
            Err(fe)
                if !acked(Point {
                    segment: number,
                    offset: 0,
                }) =>
            {
                tail = Some(Tail {
                    from: boundary.point,
                    uncommitted_events: pending.len() as u64,
                    reason: format!("segment {number} header: {}", fe.error),
                    bad_at: Some(Point {
                        segment: number,
                        offset: 0,
                    }),
                });
                break;
            }
            Err(fe) => return Err(Error::corrupt(Damage::decode(path, 0, &fe.error))),
        };
        if header.segment != number
            || header.first_position != next_position
            || header.prev_hash != hash
        {
            return Err(Error::corrupt(Damage::new(
                crate::error::DamageKind::Inconsistent,
                path,
                0,
                format!(
                    "the header (segment {}, first position {}) does not continue the log \
                     (segment {number}, position {next_position}, previous hash)",
                    header.segment, header.first_position
                ),
            )));
        }
        end = Point {
            segment: number,
            offset: SEGMENT_HEADER_BYTES as u64,
        };
        loop {
            let (offset, body) = match reader.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(fe) => {
                    let at = Point {
                        segment: number,
                        offset: fe.offset,
                    };
                    if acked(at) {
                        return Err(Error::corrupt(
                            Damage::decode(path, fe.offset, &fe.error).at_position(next_position),
                        ));
                    }
                    tail = Some(Tail {
                        from: boundary.point,
                        uncommitted_events: pending.len() as u64,
                        reason: fe.error.to_string(),
                        bad_at: Some(at),
                    });
                    break 'segments;
                }
            };
            let frame_end = offset + (FRAME_HEADER_BYTES + body.len()) as u64;
            let damage = |kind: DamageKind, detail: String| {
                Error::corrupt(Damage::new(kind, path, offset, detail))
            };
            // A record whose checksum holds but whose content is wrong was
            // written that way: no crash produces it, so it is corruption
            // wherever it is. (Its chain link is checked on the other
            // thread, by `chain::walk`.)
            //
            // Opening checks the fixed part of each event (all the index
            // needs); verify decodes and checks every field.
            let record = if decode_all || body.first() != Some(&1) {
                Record::from(
                    decode_body(body)
                        .map_err(|e| damage(DamageKind::Undecodable, e.to_string()))?,
                )
            } else {
                let h = decode_event_header(body)
                    .map_err(|e| damage(DamageKind::Undecodable, e.to_string()))?;
                Record::Header(h)
            };
            let seen = match record {
                Record::Event(r) => Ok((
                    r.position,
                    r.event.case_id,
                    r.version,
                    r.event.event_id,
                    r.recorded_at,
                    Some(r),
                )),
                Record::Header(h) => Ok((
                    h.position,
                    h.case_id,
                    h.version,
                    h.event_id,
                    h.recorded_at,
                    None,
                )),
                Record::Commit {
                    first_position,
                    last_position,
                } => Err((first_position, last_position)),
            };
            match seen {
                Ok((position, case_id, version, event_id, recorded_at, full)) => {
                    if position != next_position {
                        return Err(damage(
                            DamageKind::Inconsistent,
                            format!("record has position {position}, expected {next_position}"),
                        ));
                    }
                    let Ok(offset32) = u32::try_from(offset) else {
                        return Err(damage(
                            DamageKind::Inconsistent,
                            "offset beyond 4 GiB".to_owned(),
                        ));
                    };
                    index
                        .push(&Entry {
                            position,
                            case_id,
                            version,
                            event_id,
                            segment: number,
                            offset: offset32,
                            // Set from the chain walk once it is done.
                            hash: 0,
                        })
                        .map_err(|d| damage(DamageKind::Inconsistent, d))?;
                    pending.push(event_id);
                    if pending_recorded_at.is_none_or(|t| recorded_at > t) {
                        pending_recorded_at = Some(recorded_at);
                    }
                    next_position += 1;
                    if let Some(r) = full {
                        visit(r);
                    }
                }
                Err((first_position, last_position)) => {
                    let first = (!pending.is_empty()).then_some(boundary.position + 1);
                    if first != Some(first_position) || last_position + 1 != next_position {
                        return Err(damage(
                            DamageKind::Inconsistent,
                            format!(
                                "commit of positions {first_position}..={last_position} does not \
                             match the batch before it ({first:?}..{next_position})"
                            ),
                        ));
                    }
                    pending.clear();
                    if let Some(t) = pending_recorded_at.take()
                        && last_recorded_at.is_none_or(|last| t > last)
                    {
                        last_recorded_at = Some(t);
                    }
                    boundary = Boundary {
                        point: Point {
                            segment: number,
                            offset: frame_end,
                        },
                        position: last_position,
                        hash: stored_hash(body),
                    };
                    if boundary.point == cp_point {
                        if boundary.position != cp.position || boundary.hash != cp.hash {
                            return Err(damage(
                                DamageKind::Inconsistent,
                                format!(
                                    "the checkpoint names position {} at byte {}, but the commit \
                                 there ends position {} with another hash",
                                    cp.position, cp.offset, boundary.position
                                ),
                            ));
                        }
                        cp_matched = true;
                    }
                }
            }
            hash = stored_hash(body);
            end = Point {
                segment: number,
                offset: frame_end,
            };
            if !cp_matched && end > cp_point {
                return Err(damage(
                    DamageKind::Inconsistent,
                    format!(
                        "the checkpoint (segment {}, byte {}) does not fall on a commit's end",
                        cp.segment, cp.offset
                    ),
                ));
            }
        }
    }
    if !cp_matched {
        let file = dir.join(crate::segment::segment_name(end.segment));
        return Err(Error::corrupt(Damage::new(
            crate::error::DamageKind::Missing,
            file,
            end.offset,
            format!(
                "acknowledged data is missing: the log's valid records end at segment {} byte {}, \
                 but the checkpoint records acknowledged data up to segment {} byte {} \
                 (position {})",
                end.segment, end.offset, cp.segment, cp.offset, cp.position
            ),
        )));
    }
    index.truncate(boundary.position, &pending);
    if let Err((id, first, again)) = index.finish_building() {
        let (file, offset) = index.loc(again).map_or((PathBuf::new(), 0), |l| {
            (
                dir.join(crate::segment::segment_name(l.segment)),
                u64::from(l.offset),
            )
        });
        return Err(Error::corrupt(
            Damage::new(
                crate::error::DamageKind::Inconsistent,
                file,
                offset,
                format!("event id {id} repeats the one at position {first}"),
            )
            .at_position(again),
        ));
    }
    if tail.is_none() && !pending.is_empty() {
        tail = Some(Tail {
            from: boundary.point,
            uncommitted_events: pending.len() as u64,
            reason: format!(
                "{} event records of a batch without its commit record",
                pending.len()
            ),
            bad_at: None,
        });
    }
    Ok(Scanned {
        index,
        boundary,
        end,
        tail,
        last_recorded_at,
    })
}

/// A piece of the log that recovery cut off, and where its bytes are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CutPiece {
    /// The segment file it was cut from.
    pub file: PathBuf,
    /// The offset in that file where the cut bytes started.
    pub from_offset: u64,
    /// How many bytes were cut.
    pub bytes: u64,
    /// The side file that holds them now.
    pub saved_to: PathBuf,
}

/// What recovery did when a writer opened the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// Why it cut (empty when nothing was cut).
    pub reason: String,
    /// Complete event records of an unfinished batch that were cut (never
    /// acknowledged: their commit record was missing).
    pub uncommitted_events: u64,
    /// The pieces cut, in log order.
    pub cut: Vec<CutPiece>,
}

impl Recovery {
    /// Whether anything was cut.
    pub fn cut_anything(&self) -> bool {
        !self.cut.is_empty()
    }
}

/// The directory, inside the store, that keeps cut bytes.
pub const CUT_DIR: &str = "cut";

/// Cuts the tail: saves the bytes after `tail.from` into side files under
/// `cut/`, syncs them, and only then truncates the segment and moves later
/// segments aside. Returns what it did.
pub fn cut_tail(
    dir: &Path,
    paths: &[PathBuf],
    tail: &Tail,
    stamp_ms: i64,
) -> Result<Recovery, Error> {
    let cut_dir = dir.join(CUT_DIR);
    std::fs::create_dir_all(&cut_dir).map_err(|e| Error::io("create", &cut_dir, e))?;
    sync_dir(dir)?;
    let mut pieces = Vec::new();
    let first = tail.from.segment as usize;
    // 1. Copy the tail of the boundary segment into a side file and sync it.
    if let Some(path) = paths.get(first - 1) {
        let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
        let from = usize::try_from(tail.from.offset).unwrap_or(usize::MAX);
        if bytes.len() > from {
            let saved_to = free_name(
                &cut_dir,
                &format!(
                    "{stamp_ms}-seg-{:08}-from-{}.bin",
                    tail.from.segment, tail.from.offset
                ),
            );
            write_synced(&saved_to, &bytes[from..])?;
            pieces.push(CutPiece {
                file: path.clone(),
                from_offset: tail.from.offset,
                bytes: (bytes.len() - from) as u64,
                saved_to,
            });
        }
    }
    // 2. Move whole later segments aside (a rename keeps their bytes), the
    // last one first: a failure or a crash in between leaves segments
    // numbered without a gap, which the next open can cut again.
    let moved_from = pieces.len();
    for path in paths.iter().skip(first).rev() {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let saved_to = free_name(
            &cut_dir,
            &format!("{stamp_ms}-{}", name.unwrap_or_default()),
        );
        let bytes = std::fs::metadata(path)
            .map_err(|e| Error::io("stat", path, e))?
            .len();
        std::fs::rename(path, &saved_to).map_err(|e| Error::io("move", path, e))?;
        pieces.push(CutPiece {
            file: path.clone(),
            from_offset: 0,
            bytes,
            saved_to,
        });
    }
    pieces[moved_from..].reverse();
    sync_dir(&cut_dir)?;
    // 3. Truncate the boundary segment and sync it and the directory.
    if let Some(path) = paths.get(first - 1) {
        let f = File::options()
            .write(true)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        f.set_len(tail.from.offset)
            .map_err(|e| Error::io("truncate", path, e))?;
        f.sync_all().map_err(|e| Error::io("fsync", path, e))?;
    }
    sync_dir(dir)?;
    Ok(Recovery {
        reason: tail.reason.clone(),
        uncommitted_events: tail.uncommitted_events,
        cut: pieces,
    })
}

/// A path in `cut_dir` for `name` that no file has yet: a cut retried in
/// the same millisecond (after a failed one) must neither fail on nor
/// overwrite the pieces the first try kept. The loop ends: the directory
/// holds finitely many files.
fn free_name(cut_dir: &Path, name: &str) -> PathBuf {
    let mut path = cut_dir.join(name);
    let mut k = 1u64;
    while path.symlink_metadata().is_ok() {
        path = cut_dir.join(format!("{name}.{k}"));
        k += 1;
    }
    path
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let mut f = File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io("write", path, e))?;
    f.sync_all().map_err(|e| Error::io("fsync", path, e))
}
