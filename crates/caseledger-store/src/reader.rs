//! Streaming reads of the log: [`LogIter`], and [`LogReader`], a read-only
//! view without an index for whole-log replays.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use caseledger::RecordedEvent;

use crate::checkpoint::Checkpoint;
use crate::error::{Damage, Error};
use crate::format::{GENESIS_HASH, Record, decode_body};
use crate::recover::{Boundary, START};
use crate::segment::{self, SegmentReader};
use crate::store::{Head, Until};

/// A read-only view of a store for replaying the whole log: it reads the
/// checkpoint and opens the segment files, and builds no index, so it opens
/// in constant time and memory whatever the log's size. Records are checked
/// (CRC, content) as they are read; a damaged one ends the read with an
/// error. Use [`crate::Store::open_read_only`] to read single streams.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use caseledger::kpi::{KpiAccumulator, ReportParams};
/// use caseledger_store::{LogReader, Until};
/// # let dir = tempfile::tempdir()?;
/// # drop(caseledger_store::Store::open(dir.path(), Default::default())?);
/// let reader = LogReader::open(dir.path())?;
/// // Two partitions by case, folded apart and merged: a parallel replay.
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
    files: Vec<Arc<File>>,
    end: Checkpoint,
}

impl LogReader {
    /// Opens the store in `dir` for reading up to its acknowledged end.
    pub fn open(dir: impl AsRef<Path>) -> Result<LogReader, Error> {
        let dir = dir.as_ref().to_path_buf();
        let end = crate::store::read_only_checkpoint(&dir)?;
        let paths = segment::list_segments(&dir)?;
        if paths.len() < end.segment as usize {
            return Err(Error::corrupt(Damage::new(
                dir.join(segment::segment_name(end.segment)),
                0,
                "acknowledged data is missing: the checkpoint names this segment, which is gone",
            )));
        }
        let files = paths
            .iter()
            .take(end.segment as usize)
            .map(|p| {
                File::open(p)
                    .map(Arc::new)
                    .map_err(|e| Error::io("open", p, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LogReader { dir, files, end })
    }

    /// The head of the acknowledged log this reader reads up to.
    pub fn head(&self) -> Head {
        Head {
            position: self.end.position,
            hash: self.end.hash,
        }
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

    /// Every event from position `from` on, up to `until`.
    pub fn read(&self, from: u64, until: Until) -> LogIter {
        LogIter::new(self.dir.clone(), self.files.clone(), self.end, until, 1, 0).skip_to(from)
    }
}

/// A streaming read of the log in position order (see [`Store::read`](crate::Store::read)).
/// Holds one segment's buffer at a time, never the whole log.
#[derive(Debug)]
pub struct LogIter {
    dir: PathBuf,
    files: Vec<Arc<File>>,
    end: Checkpoint,
    until: Until,
    segment: u32,
    reader: Option<SegmentReader>,
    start_offset: u64,
    done: bool,
    filter: Option<(u64, u64)>,
    from: u64,
}

impl LogIter {
    /// Reads from `offset` of `segment` (0: its start, header included) up
    /// to `end`, the acknowledged end.
    pub(crate) fn new(
        dir: PathBuf,
        files: Vec<Arc<File>>,
        end: Checkpoint,
        until: Until,
        segment: u32,
        offset: u64,
    ) -> LogIter {
        LogIter {
            dir,
            files,
            end,
            until,
            segment,
            reader: None,
            start_offset: offset,
            done: end.position == 0,
            filter: None,
            from: 0,
        }
    }

    /// Skips events before position `from` (without decoding them).
    pub(crate) fn skip_to(mut self, from: u64) -> LogIter {
        self.from = from;
        self
    }

    pub(crate) fn empty(dir: PathBuf) -> LogIter {
        LogIter {
            dir,
            files: Vec::new(),
            end: Boundary {
                point: START,
                position: 0,
                hash: GENESIS_HASH,
            }
            .checkpoint(0),
            until: Until::End,
            segment: 1,
            reader: None,
            start_offset: 0,
            done: true,
            filter: None,
            from: 0,
        }
    }

    /// Yields only the events of streams in partition `part` of `parts`
    /// (by a hash of the case id), skipping the others without decoding them.
    /// The partitions of one log are disjoint by case, so per-partition
    /// projections can be merged (the KPI accumulator's merge needs that).
    pub fn partition(mut self, part: u64, parts: u64) -> LogIter {
        if parts > 1 {
            self.filter = Some((part, parts));
        }
        self
    }

    fn next_record(&mut self) -> Result<Option<RecordedEvent>, Error> {
        loop {
            if self.reader.is_none() {
                if self.segment > self.end.segment {
                    return Ok(None);
                }
                let Some(file) = self.files.get(self.segment as usize - 1) else {
                    return Ok(None);
                };
                let limit = if self.segment == self.end.segment {
                    self.end.offset
                } else {
                    u64::MAX
                };
                let mut reader = SegmentReader::new(Arc::clone(file), self.start_offset, limit);
                if self.start_offset == 0 {
                    reader
                        .header()
                        .map_err(|fe| self.damage(fe.offset, fe.error.to_string()))?;
                }
                self.reader = Some(reader);
            }
            let filter = self.filter;
            let Some(reader) = self.reader.as_mut() else {
                continue;
            };
            let frame = reader
                .next_frame()
                .map_err(|fe| (fe.offset, fe.error.to_string()));
            let (offset, body) = match frame {
                Ok(Some(f)) => f,
                Ok(None) => {
                    if self.segment == self.end.segment && reader.offset() != self.end.offset {
                        let offset = reader.offset();
                        return Err(self.damage(
                            offset,
                            format!(
                                "acknowledged data is missing: the segment ends at byte {offset}, \
                                 the checkpoint says byte {}",
                                self.end.offset
                            ),
                        ));
                    }
                    self.reader = None;
                    self.segment += 1;
                    self.start_offset = 0;
                    continue;
                }
                Err((offset, detail)) => return Err(self.damage(offset, detail)),
            };
            if self.from > 1
                && let Some(p) = crate::format::peek_event_position(body)
                && p < self.from
            {
                continue;
            }
            if let Some((part, parts)) = filter
                && let Some(stream) = crate::format::peek_event_stream(body)
                && partition_of(&stream, parts) != part
            {
                continue;
            }
            let record = decode_body(body).map_err(|e| (offset, e.to_string()));
            match record {
                Ok(Record::Event(r)) => {
                    let past = match self.until {
                        Until::End => false,
                        Until::Position(p) => r.position > p,
                        Until::RecordedAt(t) => r.recorded_at > t,
                    };
                    if past {
                        return Ok(None);
                    }
                    return Ok(Some(RecordedEvent {
                        position: r.position,
                        version: r.version,
                        recorded_at: r.recorded_at,
                        event: r.event,
                    }));
                }
                Ok(Record::Commit { .. }) => continue,
                Err((offset, detail)) => return Err(self.damage(offset, detail)),
            }
        }
    }

    fn damage(&self, offset: u64, detail: String) -> Error {
        let path = self.dir.join(segment::segment_name(self.segment));
        Error::corrupt(Damage::new(path, offset, detail))
    }
}

/// The partition (of `parts`) a case belongs to: a stable hash of its id.
pub fn partition_of(case_id: &[u8; 16], parts: u64) -> u64 {
    let v = u128::from_le_bytes(*case_id);
    // Fold and mix so that sequential and random ids both spread evenly.
    let mut x = (v as u64) ^ ((v >> 64) as u64);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x % parts.max(1)
}

impl Iterator for LogIter {
    type Item = Result<RecordedEvent, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
