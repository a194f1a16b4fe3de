//! [`LogReader`]: a read-only view of a store without an index, for
//! replaying the whole log.

use std::path::{Path, PathBuf};

use super::iter::LogIter;
use crate::checkpoint::{Checkpoint, read_only_checkpoint};
use crate::error::{Damage, DamageKind, Error, ErrorKind};
use crate::format::{
    FRAME_HEADER_BYTES, GENESIS_HASH, Record, check_frame_crc, decode_body, peek_event_position,
    stored_hash,
};
use crate::layout::{Boundary, Head, START, Until};
use crate::segment::{self, SegmentReader};

/// A read-only view of a store for replaying the whole log: it reads the
/// checkpoint and lists the segment files, and builds no index, so it opens
/// in constant time and memory whatever the log's size. Segment files are
/// opened one at a time as a read reaches them.
///
/// Its reads check what they read (see [`LogIter`]): a read to the end
/// proves that the log, chain and positions included, arrives at
/// [`LogReader::head`]. A damaged or altered record ends the read with an
/// error that names its position. Use [`crate::Store::open_read_only`] to
/// read single streams.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use caseledger::kpi::{KpiAccumulator, ReportParams};
/// use caseledger_store::{LogReader, Until};
/// # let dir = tempfile::tempdir()?;
/// # drop(caseledger_store::Store::open(dir.path(), Default::default())?);
/// let reader = LogReader::open(dir.path())?;
/// // Two partitions by case, folded apart and merged: a parallel replay.
/// // Each partition checks the chain links of its share of the records, so
/// // the head is verified once every partition has read to the end.
/// let mut kpis = KpiAccumulator::new(None);
/// for part in 0..2 {
///     let mut acc = KpiAccumulator::new(None);
///     for e in reader.read(1, Until::End).partition(part, 2) {
///         let e = e?;
///         acc.observe(e.position, &e.event);
///     }
///     kpis.merge(acc)?;
/// }
/// let report = kpis.report(&ReportParams::default());
/// assert_eq!(report.events, reader.head().position);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LogReader {
    dir: PathBuf,
    end: Checkpoint,
}

impl LogReader {
    /// Opens the store in `dir` for reading up to its acknowledged end.
    pub fn open(dir: impl AsRef<Path>) -> Result<LogReader, Error> {
        let dir = dir.as_ref().to_path_buf();
        let end = read_only_checkpoint(&dir)?;
        let paths = segment::list_segments(&dir)?;
        if paths.len() < end.segment as usize {
            return Err(crate::recover::missing_segment(
                &dir,
                paths.len(),
                end.position,
                end.segment,
            ));
        }
        Ok(LogReader { dir, end })
    }

    /// The head of the acknowledged log, as the checkpoint records it: what
    /// this reader reads up to. A read that reaches the end without an error
    /// has verified it (unless made [`LogIter::unverified`]).
    pub fn head(&self) -> Head {
        Head {
            position: self.end.position,
            hash: self.end.hash,
        }
    }

    /// The log as it stood when its head was `position`: a reader of the
    /// events at positions 1 to `position` only, whose [`LogReader::head`]
    /// is that past head (the position and the chain hash of the commit
    /// record that closed the batch ending there), so that a report made
    /// then can be made again, whatever was appended since. Its reads check
    /// what they read as every read does, and a read to its end proves that
    /// the chain arrives at that head; no byte after it is read, so damage
    /// after the position does not stop them.
    ///
    /// Finding the commit record reads the segment headers and the frames
    /// of the segment that holds it (not the events' checksums or links:
    /// its reads check those), and the commit records' checksums. `position` 0 gives
    /// the empty log. Fails with [`ErrorKind::PastHead`] beyond this
    /// reader's head, with [`ErrorKind::InsideBatch`] when the position is
    /// not the last of its batch (the head was never there), or with the
    /// damage found on the way.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use caseledger_store::{LogReader, Until};
    /// # let dir = tempfile::tempdir()?;
    /// # drop(caseledger_store::Store::open(dir.path(), Default::default())?);
    /// let reader = LogReader::open(dir.path())?;
    /// let then = reader.up_to(0)?;
    /// assert_eq!(then.head().position, 0);
    /// assert_eq!(then.read(1, Until::End).count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn up_to(&self, position: u64) -> Result<LogReader, Error> {
        let head = self.end.position;
        if position > head {
            return Err(ErrorKind::PastHead { position, head }.into());
        }
        if position == head {
            return Ok(LogReader {
                dir: self.dir.clone(),
                end: self.end,
            });
        }
        let end = if position == 0 {
            Boundary {
                point: START,
                position: 0,
                hash: GENESIS_HASH,
            }
            .checkpoint(self.end.sequence)
        } else {
            self.commit_of(position)?
        };
        Ok(LogReader {
            dir: self.dir.clone(),
            end,
        })
    }

    /// The checkpoint a reader of the log up to `position` (1 to below the
    /// head) ends at: just after the commit record that closes the batch
    /// ending there.
    fn commit_of(&self, position: u64) -> Result<Checkpoint, Error> {
        let open = |n: u32| -> Result<(PathBuf, SegmentReader), Error> {
            let path = self.dir.join(segment::segment_name(n));
            let file = std::sync::Arc::new(segment::open_segment(&path)?);
            let limit = if n == self.end.segment {
                self.end.offset
            } else {
                u64::MAX
            };
            Ok((path, SegmentReader::new(file, 0, limit)))
        };
        let undecodable = |path: &PathBuf, offset: u64, detail: String, at: u64| -> Error {
            Damage::new(DamageKind::Undecodable, path, offset, detail)
                .at_position(at)
                .into()
        };
        // The last segment whose first event is at or before `position`
        // holds that event (segment headers, not frames, are read).
        let mut first_segment = 1;
        for n in 2..=self.end.segment {
            let (path, mut reader) = open(n)?;
            let header = reader
                .header()
                .map_err(|fe| undecodable(&path, fe.offset, fe.error.to_string(), position))?;
            if header.first_position > position {
                break;
            }
            first_segment = n;
        }
        // Its frames, and the next segments' if the batch goes on there, up
        // to the commit record of the batch that holds `position`.
        // Damage found on the way is named as a read names it: at the
        // position after the last event seen, its checksum's failure first.
        let mut next = position;
        for n in first_segment..=self.end.segment {
            let (path, mut reader) = open(n)?;
            let header = reader
                .header()
                .map_err(|fe| undecodable(&path, fe.offset, fe.error.to_string(), next))?;
            next = header.first_position;
            loop {
                let frame = reader
                    .next_raw_frame()
                    .map_err(|fe| undecodable(&path, fe.offset, fe.error.to_string(), next))?;
                let Some((offset, frame)) = frame else { break };
                let body = &frame[FRAME_HEADER_BYTES..];
                if let Some(p) = peek_event_position(body) {
                    next = p + 1;
                    continue;
                }
                let decoded = check_frame_crc(frame)
                    .map_err(|e| e.to_string())
                    .and_then(|()| decode_body(body).map_err(|e| e.to_string()));
                let (first, last) = match decoded {
                    Ok(Record::Commit {
                        first_position,
                        last_position,
                    }) => (first_position, last_position),
                    Ok(Record::Event(_)) => continue,
                    Err(e) => return Err(undecodable(&path, offset, e, next)),
                };
                if last < position {
                    continue;
                }
                if last > position || first > position {
                    return Err(ErrorKind::InsideBatch {
                        position,
                        first,
                        last,
                    }
                    .into());
                }
                return Ok(Checkpoint {
                    sequence: self.end.sequence,
                    segment: n,
                    offset: offset + frame.len() as u64,
                    position,
                    hash: stored_hash(body),
                });
            }
        }
        // The log's head is past `position`, so a commit record closes it:
        // its absence is damage the read to the head would report too.
        let path = self.dir.join(segment::segment_name(self.end.segment));
        Err(Damage::new(
            DamageKind::Missing,
            path,
            self.end.offset,
            format!(
                "no commit record closes a batch at or after position {position}, before the \
                 checkpoint's head (position {})",
                self.end.position
            ),
        )
        .at_position(position)
        .into())
    }

    /// The total size of the segment files read, in bytes.
    pub fn bytes(&self) -> Result<u64, Error> {
        let mut total = 0;
        for n in 1..=self.end.segment {
            let path = self.dir.join(segment::segment_name(n));
            total += std::fs::metadata(&path)
                .map_err(|e| Error::io("stat", &path, e))?
                .len();
        }
        Ok(total)
    }

    /// Every event from position `from` on, up to `until`. The read starts
    /// at the log's start whatever `from` is (events before it are checked
    /// but not decoded), so the chain is verified from its first record.
    pub fn read(&self, from: u64, until: Until) -> LogIter {
        LogIter::new(self.dir.clone(), self.end, until, None).skip_to(from)
    }
}
