//! [`LogIter`]: the streaming read of the log in position order, checking
//! every frame, position, segment header, commit range and chain link.

use std::path::PathBuf;
use std::sync::Arc;

use caseledger::RecordedEvent;
use caseledger_codec::{StringPool, decode_body_pooled, link_holds};

use super::random::read_prev_hash;
use crate::chain::{HashPrefix, prefix};
use crate::checkpoint::Checkpoint;
use crate::error::{Damage, Error};
use crate::format::{
    FRAME_HEADER_BYTES, GENESIS_HASH, Hash, Record, check_frame_crc, decode_body,
    decode_event_header, peek_event_position, peek_event_stream, stored_hash,
};
use crate::layout::{Boundary, START, Until};
use crate::segment::{self, SegmentReader};

/// Where a read that does not start at the log's start begins, as the
/// index of an open store knows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Start {
    /// The segment of the first record read.
    pub segment: u32,
    /// Its frame's offset.
    pub offset: u64,
    /// Its position (an event record).
    pub position: u64,
    /// Its chain hash prefix, as verified when the store was opened: the
    /// anchor of the chain for the rest of the read.
    pub hash: HashPrefix,
}

/// A streaming read of the log in position order (see
/// [`crate::Store::read`] and [`LogReader::read`](super::LogReader::read)). Holds one segment file
/// and its buffer at a time, never the whole log.
///
/// It checks every frame's checksum, that event positions are consecutive,
/// that each segment header continues the log, that each commit record
/// closes exactly the batch before it, and the SHA-256 chain link of every
/// record; a read that reaches the acknowledged end also checks that the
/// last record is a commit that ends exactly at the checkpoint with the
/// checkpoint's position and hash. The first failure ends the read with an
/// error naming the file, offset and position of the first bad record.
///
/// A read made [`LogIter::unverified`] skips the chain links (the checksums
/// and positions are still checked): its head must be labelled unverified.
#[derive(Debug)]
pub struct LogIter {
    dir: PathBuf,
    end: Checkpoint,
    until: Until,
    segment: u32,
    reader: Option<SegmentReader>,
    start_offset: u64,
    done: bool,
    filter: Option<(u64, u64)>,
    from: u64,
    /// Whether chain links are recomputed.
    verify: bool,
    /// Whether every frame's checksum is checked even when its chain link
    /// is recomputed (`verify`'s parallel walk): the link covers the body
    /// and length, not the checksum bytes themselves.
    pub(crate) checksums_too: bool,
    /// The chain hash of the last record read (or the one before the
    /// start); `None` until a read that starts mid-log learns it.
    prev: Option<Hash>,
    /// The first record of a read that starts mid-log, to anchor the chain
    /// to what the store verified when it was opened.
    anchor: Option<Start>,
    /// The position the next event record must have.
    next_position: u64,
    /// The first position of the batch being read (`None`: no batch open;
    /// unknown for the first batch of a read that starts mid-log).
    batch_first: Option<u64>,
    batch_first_known: bool,
    /// The partition that checks the current chunk of
    /// [`LINK_CHUNK_RECORDS`] records (events and commits; chunk k of the
    /// read is partition k mod n's), and the records left in that chunk:
    /// counters rather than a division per record.
    chunk_checker: u64,
    chunk_left: u64,
    /// What follows the last step.
    after: After,
    /// Whether commit records are handed out too ([`LogIter::with_commits`]).
    commits: bool,
    /// The commit record the last step read, to hand out.
    commit: Option<LogRecord>,
    /// A block of a parallel read (`parallel.rs`): the bytes its frames
    /// are read from instead of the file, until the read opens them.
    block: Option<BlockBytes>,
    /// In a block of a parallel read, whether the block ends its segment
    /// (`None`: not a block, the read goes on to the next segment).
    block_ends_segment: Option<bool>,
    /// In a block of a parallel read, the events are not decoded but
    /// routed: each event's frame offset in the block, by the partition of
    /// its case.
    routes: Option<Routes>,
    /// About how many bytes a block of [`LogIter::fold_partitions`] holds.
    pub(crate) block_bytes: usize,
    /// The strings of events given back ([`LogIter::fold_partition_batches`]),
    /// whose capacity the next events' ids and texts reuse.
    pub(crate) pool: StringPool,
}

/// The bytes of one block of a parallel read: whole frames of one segment
/// (the segment header too when `offset` is 0), as read from `offset`.
#[derive(Debug)]
pub(crate) struct BlockBytes {
    /// The bytes read are `bytes[..len]` (the buffer is reused).
    pub bytes: Vec<u8>,
    pub len: usize,
    pub offset: u64,
    pub ends_segment: bool,
}

/// Where a block read (see [`LogIter::block`]) starts: the state a read
/// from the log's start has on reaching the block's first frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockState {
    pub segment: u32,
    pub next_position: u64,
    pub prev: Hash,
    pub batch_first: Option<u64>,
}

/// The events of a block by partition: each one's frame offset in the
/// block's bytes, in position order.
#[derive(Debug)]
pub(crate) struct Routes {
    pub parts: u64,
    pub offsets: Vec<Vec<u32>>,
}

/// A record of the log as [`LogIter::with_commits`] reads it: an event, or
/// the commit record that ends a batch (the events from `first_position` to
/// `last_position`, made durable and visible together). Non-exhaustive: a
/// later format may add a kind of record (match it with a wildcard arm).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogRecord {
    /// An event record.
    Event(RecordedEvent),
    /// A commit record: the end of a batch.
    Commit {
        /// The batch's first event.
        first_position: u64,
        /// The batch's last event.
        last_position: u64,
        /// The chain hash of the commit record: the head of the log when
        /// this batch was the last.
        hash: Hash,
    },
}

/// The records of a read, commit records included (see
/// [`LogIter::with_commits`]).
#[derive(Debug)]
pub struct Records(LogIter);

impl Iterator for Records {
    type Item = Result<LogRecord, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_item()
    }
}

impl LogIter {
    /// Reads from the start of the log, or from `start`, up to `end`, the
    /// acknowledged end.
    pub(crate) fn new(
        dir: PathBuf,
        end: Checkpoint,
        until: Until,
        start: Option<Start>,
    ) -> LogIter {
        let (segment, offset, next_position) = match start {
            Some(s) => (s.segment, s.offset, s.position),
            None => (1, 0, 1),
        };
        LogIter {
            dir,
            end,
            until,
            segment,
            reader: None,
            start_offset: offset,
            done: end.position == 0,
            filter: None,
            from: 0,
            verify: true,
            checksums_too: false,
            prev: start.is_none().then_some(GENESIS_HASH),
            anchor: start,
            next_position,
            batch_first: None,
            batch_first_known: start.is_none(),
            chunk_checker: 0,
            chunk_left: LINK_CHUNK_RECORDS,
            after: After::Read,
            commits: false,
            commit: None,
            block: None,
            block_ends_segment: None,
            routes: None,
            block_bytes: BLOCK_BYTES,
            pool: StringPool::default(),
        }
    }

    /// The read of one block of a parallel read of this read's log (see
    /// `parallel.rs`): the frames in `bytes`, checked exactly as this read
    /// checks them when it reaches them from `state`, their events routed by
    /// partition of `parts` rather than decoded.
    pub(crate) fn block(&self, state: BlockState, bytes: BlockBytes, parts: u64) -> LogIter {
        let mut read = LogIter::new(self.dir.clone(), self.end, self.until, None);
        read.from = self.from;
        read.verify = self.verify;
        read.checksums_too = self.checksums_too;
        read.segment = state.segment;
        read.start_offset = bytes.offset;
        read.prev = Some(state.prev);
        read.next_position = state.next_position;
        read.batch_first = state.batch_first;
        read.block_ends_segment = Some(bytes.ends_segment);
        read.block = Some(bytes);
        read.routes = Some(Routes {
            parts,
            offsets: vec![Vec::new(); parts as usize],
        });
        read
    }

    /// Reads a block made by [`LogIter::block`] to its end: its routes, its
    /// bytes given back, and the state after its last frame; or the first
    /// failed check.
    pub(crate) fn run_block(mut self) -> Result<(Routes, Vec<u8>, BlockState), Error> {
        while self.next_record()?.is_some() {}
        // After a block that ends its segment, the next block starts the
        // next segment.
        let state = BlockState {
            segment: self.segment + u32::from(self.block_ends_segment == Some(true)),
            next_position: self.next_position,
            prev: self.prev.unwrap_or(GENESIS_HASH),
            batch_first: self.batch_first,
        };
        let bytes = self.reader.take().map(SegmentReader::into_bytes);
        let routes = self.routes.take().unwrap_or(Routes {
            parts: 1,
            offsets: Vec::new(),
        });
        Ok((routes, bytes.unwrap_or_default(), state))
    }

    /// The directory, acknowledged end, end of read, first position and
    /// whether links are checked, for a parallel read of the same log;
    /// `None` when the read does not start at the log's start or is a
    /// partition already (those are read as they are).
    pub(crate) fn whole_read(&self) -> Option<(&std::path::Path, Checkpoint, Until, u64)> {
        let whole = self.anchor.is_none()
            && self.segment == 1
            && self.start_offset == 0
            && self.filter.is_none()
            && !self.commits;
        whole.then_some((self.dir.as_path(), self.end, self.until, self.from))
    }

    /// Whether the read is over before it starts (an empty log).
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Skips events before position `from` (without decoding them).
    pub(crate) fn skip_to(mut self, from: u64) -> LogIter {
        self.from = from;
        self
    }

    /// Reads the committed log of `index`, acknowledged up to `end`, from
    /// position `from` (1: the start) up to `until`.
    pub(crate) fn committed(
        dir: PathBuf,
        index: &crate::index::Index,
        end: Checkpoint,
        from: u64,
        until: Until,
    ) -> LogIter {
        let start = if from <= 1 {
            None
        } else {
            match index.loc(from) {
                Some(loc) if from <= end.position => Some(Start {
                    segment: loc.segment,
                    offset: u64::from(loc.offset),
                    position: from,
                    hash: loc.hash,
                }),
                _ => return LogIter::empty(dir),
            }
        };
        LogIter::new(dir, end, until, start).skip_to(from)
    }

    /// Reads on from a commit boundary that an earlier read of this log
    /// verified (`after`: the point just after a commit record, its last
    /// position and chain hash) up to `end`, handing out events from
    /// position `from` on: a follower's next read. Every record after the
    /// boundary is checked as a read from the start checks it, its chain
    /// anchored to `after.hash`.
    pub(crate) fn after_boundary(
        dir: PathBuf,
        end: Checkpoint,
        after: Boundary,
        from: u64,
    ) -> LogIter {
        let mut read = LogIter::new(dir, end, Until::End, None);
        if after.position > 0 {
            read.segment = after.point.segment;
            read.start_offset = after.point.offset;
            read.prev = Some(after.hash);
            read.next_position = after.position + 1;
            read.done = end.position <= after.position;
        }
        read.skip_to(from)
    }

    pub(crate) fn empty(dir: PathBuf) -> LogIter {
        let end = Boundary {
            point: START,
            position: 0,
            hash: GENESIS_HASH,
        }
        .checkpoint(0);
        LogIter::new(dir, end, Until::End, None)
    }

    /// Yields only the events of streams in partition `part` of `parts`
    /// (by a hash of the case id), skipping the others without decoding them.
    /// The partitions of one log are disjoint by case, so per-partition
    /// projections can be merged (the KPI accumulator's merge needs that).
    ///
    /// Every partition reads every frame and checks every position, each
    /// segment header, each commit's range and the end, but the checksums
    /// and chain links are shared out by chunks of consecutive records
    /// (partition k checks chunks k, k + `parts`, ...), whatever their
    /// cases: each record is hashed once, by one partition, and a partition
    /// decodes its own events whichever partition checks them. So the whole
    /// chain, and the head, are verified only when every partition of the
    /// same read has read to the end without an error.
    pub fn partition(mut self, part: u64, parts: u64) -> LogIter {
        if parts > 1 {
            self.filter = Some((part, parts));
        }
        self
    }

    /// Skips the chain links: the read checks checksums, positions and the
    /// end but does not recompute SHA-256, so a record altered with its
    /// checksum fixed goes unnoticed. For a quick look only: whatever prints
    /// the head of such a read must say it is unverified.
    pub fn unverified(mut self) -> LogIter {
        self.verify = false;
        self
    }

    /// The read with its commit records too: each batch's events, then a
    /// [`LogRecord::Commit`] that ends it, with its chain hash, so that a
    /// copy can keep the batches (and so the hashes) of the log it reads.
    /// A commit is handed out when its batch's last event is at or after
    /// the read's `from`. Every check of the read is the same.
    pub fn with_commits(mut self) -> Records {
        self.commits = true;
        Records(self)
    }

    /// Sets about how many bytes each block of
    /// [`LogIter::fold_partitions`] holds (default 1 MiB; at least one
    /// frame): smaller blocks share the work more evenly and hold less
    /// memory, larger ones cost less to hand over. For tests and tuning.
    pub fn block_bytes(mut self, bytes: usize) -> LogIter {
        self.block_bytes = bytes.max(1);
        self
    }

    /// Whether this read checks the chain links.
    pub fn is_verified(&self) -> bool {
        self.verify
    }

    fn next_record(&mut self) -> Result<Option<LogRecord>, Error> {
        loop {
            if self.reader.is_none() {
                if self.segment > self.end.segment {
                    return Ok(None);
                }
                self.open_segment()?;
            }
            let Some(mut reader) = self.reader.take() else {
                continue;
            };
            // The event is built where it is returned (no enum around it):
            // the step says in `self.after` what follows when there is none.
            self.after = After::Read;
            let event = self.step(&mut reader)?;
            match self.after {
                After::Read => self.reader = Some(reader),
                After::SegmentEnd => {
                    self.segment += 1;
                    self.start_offset = 0;
                }
                After::Done => {
                    // Kept for a block read, which gives its bytes back.
                    self.reader = Some(reader);
                    return Ok(None);
                }
            }
            if let Some(event) = event {
                return Ok(Some(LogRecord::Event(event)));
            }
            if let Some(commit) = self.commit.take() {
                return Ok(Some(commit));
            }
        }
    }

    /// Reads and checks the next frame of the current segment; returns its
    /// event if the read hands it out, and sets `self.after` when the
    /// segment or the read is over.
    fn step(&mut self, reader: &mut SegmentReader) -> Result<Option<RecordedEvent>, Error> {
        let frame = reader.next_raw_frame();
        let (offset, frame) = match frame {
            Ok(Some(f)) => f,
            Ok(None) => {
                let ends_segment = self.block_ends_segment.unwrap_or(true);
                if ends_segment && self.segment == self.end.segment {
                    self.check_end(reader.offset())?;
                    self.after = After::Done;
                } else if self.block_ends_segment.is_some() {
                    // A block of a parallel read: the next one is another's.
                    self.after = After::Done;
                } else {
                    self.after = After::SegmentEnd;
                }
                return Ok(None);
            }
            Err(fe) => {
                let position = self.next_position;
                let damage = self.damage(
                    crate::error::DamageKind::Undecodable,
                    fe.offset,
                    fe.error.to_string(),
                );
                return Err(damage.at_position(position).into());
            }
        };
        let body = &frame[FRAME_HEADER_BYTES..];
        let filter = self.filter;
        // This partition's share of the integrity checks: a chunk of
        // consecutive records, whatever their cases, so that each record's
        // checksum or link is checked by exactly one partition.
        let checks = filter.is_none_or(|(part, _)| self.chunk_checker == part);
        self.chunk_left -= 1;
        if self.chunk_left == 0 {
            self.chunk_left = LINK_CHUNK_RECORDS;
            self.chunk_checker += 1;
            if filter.is_some_and(|(_, parts)| self.chunk_checker == parts) {
                self.chunk_checker = 0;
            }
        }
        let Some(position) = peek_event_position(body) else {
            // A commit record (or a record of no kind, which decoding
            // refuses).
            self.check_frame(offset, frame, checks, self.next_position - 1)?;
            let (first_position, last_position) = match self.check_commit(offset, body) {
                Ok(positions) => positions,
                // A damaged kind byte makes an event read as no record at
                // all: named at the next position, as `verify` names it.
                Err(found) => return self.checksum_first(offset, frame, self.next_position, found),
            };
            let at = self.next_position - 1;
            if let Err(found) = self.check_link(offset, body, checks, at, "commit record") {
                return self.checksum_first(offset, frame, at, found);
            }
            if self.commits && last_position >= self.from {
                self.commit = Some(LogRecord::Commit {
                    first_position,
                    last_position,
                    hash: stored_hash(body),
                });
            }
            self.batch_first = None;
            self.batch_first_known = true;
            return Ok(None);
        };
        let mine = match (filter, peek_event_stream(body)) {
            (Some((part, parts)), Some(stream)) => partition_of(&stream, parts) == part,
            _ => true,
        };
        self.check_frame(offset, frame, checks, self.next_position)?;
        if position != self.next_position {
            let detail = format!(
                "event record has position {position}, expected {}: a record is missing, \
                 repeated or out of order",
                self.next_position
            );
            let at = self.next_position;
            let found = self
                .damage(crate::error::DamageKind::Inconsistent, offset, detail)
                .at_position(at)
                .into();
            return self.checksum_first(offset, frame, at, found);
        }
        self.next_position += 1;
        self.batch_first.get_or_insert(position);
        if let Err(found) = self.check_link(offset, body, checks, position, "event record") {
            return self.checksum_first(offset, frame, position, found);
        }
        if position < self.from {
            return Ok(None);
        }
        // Every partition stops at the same record, so that their shares of
        // the checks cover the same records.
        let past = match self.until {
            Until::End => false,
            Until::Position(p) => position > p,
            Until::RecordedAt(t) => decode_event_header(body).is_ok_and(|h| h.recorded_at > t),
        };
        if past {
            self.after = After::Done;
            return Ok(None);
        }
        if !mine {
            return Ok(None);
        }
        if let Some(routes) = &mut self.routes {
            // A block of a parallel read: the partition's thread decodes it.
            let part = peek_event_stream(body).map_or(0, |s| partition_of(&s, routes.parts));
            let in_block = offset - self.start_offset;
            routes.offsets[part as usize].push(in_block as u32);
            return Ok(None);
        }
        match decode_body_pooled(body, &mut self.pool) {
            Ok(Record::Event(r)) => Ok(Some(RecordedEvent {
                position: r.position,
                version: r.version,
                recorded_at: r.recorded_at,
                event: r.event,
            })),
            Ok(Record::Commit { .. }) => Ok(None),
            Err(e) => Err(self
                .damage(crate::error::DamageKind::Undecodable, offset, e.to_string())
                .at_position(position)
                .into()),
        }
    }

    /// Checks a frame's CRC if the record is this read's to check (`checks`:
    /// its share of a partitioned read), unless the read recomputes its
    /// chain link: the link covers the body, and the length too, since a
    /// wrong length gives another body whose last bytes are not its hash.
    /// Each frame is thus checked by one partition only, by the cheaper
    /// check that suffices (the anchor of a mid-log read by every one);
    /// with `checksums_too` (`verify`), by both.
    fn check_frame(&self, offset: u64, frame: &[u8], checks: bool, at: u64) -> Result<(), Error> {
        let link_checked = (self.verify || self.anchor.is_some()) && !self.checksums_too;
        if !checks || link_checked {
            return Ok(());
        }
        check_frame_crc(frame).map_err(|e| {
            self.damage(crate::error::DamageKind::Undecodable, offset, e.to_string())
                .at_position(at)
                .into()
        })
    }

    /// The damage to report for a record that failed a check (`found`):
    /// its frame checksum's failure if the checksum fails too, else
    /// `found`. A changed byte fails the checksum and then whatever field
    /// it lands in (the position, the chain link); the checksum is skipped
    /// on the way when the chain covers the frame, so without this a read
    /// named the same damage otherwise than `verify` (which checks the
    /// checksum first): "checksum mismatch" there, "position 10586,
    /// expected 10694" here. Runs only on a record already found damaged.
    fn checksum_first<T>(
        &self,
        offset: u64,
        frame: &[u8],
        at: u64,
        found: Error,
    ) -> Result<T, Error> {
        match check_frame_crc(frame) {
            Err(e) => Err(self
                .damage(crate::error::DamageKind::Undecodable, offset, e.to_string())
                .at_position(at)
                .into()),
            Ok(()) => Err(found),
        }
    }

    /// A commit record must close exactly the batch of events before it.
    fn check_commit(&self, offset: u64, body: &[u8]) -> Result<(u64, u64), Error> {
        let at = self.next_position - 1;
        let (first_position, last_position) = match decode_body(body) {
            Ok(Record::Commit {
                first_position,
                last_position,
            }) => (first_position, last_position),
            Ok(Record::Event(_)) => (0, 0),
            Err(e) => {
                return Err(self
                    .damage(crate::error::DamageKind::Undecodable, offset, e.to_string())
                    .at_position(at)
                    .into());
            }
        };
        let batch_ok = match (self.batch_first, self.batch_first_known) {
            (Some(first), true) => first == first_position,
            // A read that started inside this batch saw only its end.
            (Some(first), false) => first_position <= first,
            (None, _) => false,
        };
        if !batch_ok || last_position + 1 != self.next_position {
            let detail = format!(
                "commit of positions {first_position}..={last_position} does not close the batch \
                 before it (events {}..{})",
                self.batch_first
                    .map_or_else(|| "none".to_owned(), |f| f.to_string()),
                self.next_position
            );
            return Err(self
                .damage(crate::error::DamageKind::Inconsistent, offset, detail)
                .at_position(at)
                .into());
        }
        Ok((first_position, last_position))
    }

    /// Opens the next segment file and checks that its header continues the
    /// log; or, for a read that starts mid-log, learns the previous hash.
    fn open_segment(&mut self) -> Result<(), Error> {
        let path = self.dir.join(segment::segment_name(self.segment));
        let mut file = None;
        let mut reader = match self.block.take() {
            Some(block) => SegmentReader::from_bytes(block.bytes, block.len, block.offset),
            None => {
                let opened = Arc::new(segment::open_segment(&path)?);
                let limit = if self.segment == self.end.segment {
                    self.end.offset
                } else {
                    u64::MAX
                };
                file = Some(Arc::clone(&opened));
                SegmentReader::new(opened, self.start_offset, limit)
            }
        };
        if self.start_offset == 0 {
            let header = reader.header().map_err(|fe| {
                self.damage(
                    crate::error::DamageKind::Undecodable,
                    fe.offset,
                    fe.error.to_string(),
                )
                .at_position(self.next_position)
            })?;
            let continues = header.segment == self.segment
                && header.first_position == self.next_position
                && self.prev.is_none_or(|prev| prev == header.prev_hash);
            if !continues {
                let detail = format!(
                    "the header (segment {}, first position {}) does not continue the log \
                     (segment {}, position {}, previous hash)",
                    header.segment, header.first_position, self.segment, self.next_position
                );
                return Err(self
                    .damage(crate::error::DamageKind::Inconsistent, 0, detail)
                    .at_position(self.next_position)
                    .into());
            }
            self.prev = Some(header.prev_hash);
        } else if self.prev.is_none()
            && let Some(file) = &file
        {
            self.prev = Some(read_prev_hash(file, &path, self.start_offset)?);
        }
        self.reader = Some(reader);
        Ok(())
    }

    /// Checks a record's chain link (when this read verifies, and the
    /// record is in this partition's share, `checks`, or anchors a mid-log
    /// read), then makes it the previous record.
    fn check_link(
        &mut self,
        offset: u64,
        body: &[u8],
        checks: bool,
        position: u64,
        what: &str,
    ) -> Result<(), Error> {
        let stored = stored_hash(body);
        if let Some(anchor) = self.anchor.take() {
            // The first record of a mid-log read: its link must hold and its
            // hash must be the one the store verified when it opened.
            let holds = self.prev.is_some_and(|prev| link_holds(&prev, body));
            if !holds || prefix(&stored) != anchor.hash {
                let detail = format!(
                    "this {what} is not the one verified when the store was opened (its chain \
                     hash differs): it was changed since"
                );
                return Err(self
                    .damage(crate::error::DamageKind::ChainBroken, offset, detail)
                    .at_position(position)
                    .into());
            }
        } else if self.verify && checks {
            let holds = self.prev.is_some_and(|prev| link_holds(&prev, body));
            if !holds {
                let detail = format!(
                    "the chain hash of this {what} does not match its content: the record, or \
                     the one before it, was changed"
                );
                return Err(self
                    .damage(crate::error::DamageKind::ChainBroken, offset, detail)
                    .at_position(position)
                    .into());
            }
        }
        self.prev = Some(stored);
        Ok(())
    }

    /// At the acknowledged end: the segment ends where the checkpoint
    /// says, after a commit record with the checkpoint's position and hash.
    fn check_end(&self, offset: u64) -> Result<(), Error> {
        if offset != self.end.offset {
            let detail = format!(
                "acknowledged data is missing: the segment ends at byte {offset}, the checkpoint \
                 says byte {}",
                self.end.offset
            );
            return Err(self
                .damage(crate::error::DamageKind::Missing, offset, detail)
                .at_position(self.next_position)
                .into());
        }
        let last = self.next_position - 1;
        let matches = self.batch_first.is_none()
            && last == self.end.position
            && self.prev == Some(self.end.hash);
        if !matches {
            let detail = format!(
                "the log does not end at the checkpoint's head: it ends at position {last}{}, \
                 the checkpoint names position {} with another chain hash",
                if self.batch_first.is_some() {
                    " without a commit record"
                } else {
                    ""
                },
                self.end.position
            );
            return Err(self
                .damage(crate::error::DamageKind::Inconsistent, offset, detail)
                .at_position(last)
                .into());
        }
        Ok(())
    }

    fn damage(&self, kind: crate::error::DamageKind, offset: u64, detail: String) -> Damage {
        let path = self.dir.join(segment::segment_name(self.segment));
        Damage::new(kind, path, offset, detail)
    }
}

/// How many consecutive records (events and commits, counted from the
/// read's first) one partition checks before the next takes over: a
/// partitioned read checks the chain links of every `parts`-th chunk. Small
/// enough that the partitions' shares of hashing stay even, large enough
/// that the switch costs nothing.
pub(crate) const LINK_CHUNK_RECORDS: u64 = 256;

/// About how many bytes a block of a parallel read (`parallel.rs`) holds:
/// large enough that handing a block over costs nothing next to checking
/// it (about 8,000 records), small enough that the threads' shares stay even
/// and memory stays flat.
pub(crate) const BLOCK_BYTES: usize = 1 << 20;

/// What follows a step of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// The next frame of the segment.
    Read,
    /// The current segment is done; the next one follows.
    SegmentEnd,
    /// The read is over.
    Done,
}

/// The partition (of `parts`) a case belongs to: a stable hash of its id.
pub fn partition_of(case_id: &[u8; 16], parts: u64) -> u64 {
    let v = u128::from_le_bytes(*case_id);
    // Fold and mix so that sequential and random ids both spread evenly.
    let mut x = (v as u64) ^ ((v >> 64) as u64);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    // The mixed value scaled to 0..parts by a multiply (no division: this
    // runs for every record of every partition of a replay).
    ((u128::from(x) * u128::from(parts.max(1))) >> 64) as u64
}

impl LogIter {
    /// The next record, as [`Records`] hands them out (commit records only
    /// when the read was made [`LogIter::with_commits`]).
    fn next_item(&mut self) -> Option<Result<LogRecord, Error>> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
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

impl Iterator for LogIter {
    type Item = Result<RecordedEvent, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_record() {
            // A read without commits hands out events only.
            Ok(Some(LogRecord::Event(e))) => Some(Ok(e)),
            Ok(Some(LogRecord::Commit { .. })) => {
                debug_assert!(false, "commit records only with with_commits");
                self.next()
            }
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
