//! [`LogReader`]: a read-only view of a store without an index, for
//! replaying the whole log.

use std::path::{Path, PathBuf};

use super::iter::LogIter;
use crate::checkpoint::{Checkpoint, read_only_checkpoint};
use crate::error::Error;
use crate::layout::{Head, Until};
use crate::segment;

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
