//! The parallel read of a whole log ([`LogIter::fold_partitions`]): threads
//! read, check and route disjoint blocks of the log, and each folds the
//! events of its partition of cases, block after block in log order.
//!
//! How the work is shared, and why the checks stay whole:
//!
//! - **Splitting** (one thread at a time, under a lock, cheap): the next
//!   block's bytes are read from the segment file (about
//!   `BLOCK_BYTES`, cut after the last whole frame) and walked frame by
//!   frame, reading only each frame's length, kind, position and stored
//!   hash. From those the splitter knows the state a sequential read would
//!   have at the next block's first frame: the next position, the chain
//!   hash of the record before it and the first event of the open batch.
//! - **Checking** (any thread, in parallel): a block is read by a
//!   [`LogIter`] that starts from that state and makes every check the
//!   sequential read makes (checksums or chain links, positions, segment
//!   header, commit ranges, the end at the checkpoint), routing each event
//!   to the partition of its case (its frame's offset) instead of decoding
//!   it. Each record is checked by exactly one thread.
//! - **Folding** (each partition's thread): the blocks in order, decoding
//!   and folding the partition's events; so a case's events arrive in
//!   position order, as from a sequential read.
//!
//! The splitter's state for block k + 1 comes from block k's bytes before
//! they are checked; it is the state a sequential read reaches only if
//! block k's checks pass, so an error in block k is reported first, and
//! each folding thread also compares block k's checked end state with block
//! k + 1's start. Errors are reported in log order: the first block (and in
//! it the first frame) that fails, as a sequential read would.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use caseledger::RecordedEvent;
use caseledger::kpi::REPLAY_BATCH_EVENTS;
use caseledger_codec::{StringPool, decode_body_pooled};

use super::iter::{BlockBytes, BlockState, LogIter, partition_of};
use crate::checkpoint::Checkpoint;
use crate::error::{Damage, DamageKind, Error, ErrorKind};
use crate::format::{
    DecodeError, FRAME_HEADER_BYTES, GENESIS_HASH, Record, SEGMENT_HEADER_BYTES,
    decode_event_header, frame_bytes, peek_event_position, stored_hash,
};
use crate::layout::Until;
use crate::segment;

/// How many blocks past the one the slowest thread folds next may be split
/// and checked before that one is folded: bounds the blocks in memory to
/// this many plus one per thread, however unevenly the threads run (a
/// thread that ran ahead waits for the slowest instead of reading on; the
/// blocks a slow thread has not folded yet cannot be freed).
const LOOKAHEAD_BLOCKS: u64 = 4;

impl LogIter {
    /// Reads the log on `parts` threads and folds each partition of its
    /// cases (by [`partition_of`] the case id) into its own state: `init(k)`
    /// makes partition k's state, `fold` adds one event to it. Returns the
    /// states in partition order. A case's events reach its partition's
    /// `fold` in position order; different partitions are folded at the
    /// same time on different threads.
    ///
    /// Unlike [`LogIter::partition`], where every partition reads every
    /// frame, the threads share the reading too: each reads, checks and
    /// routes disjoint blocks of the log, and every record is still checked
    /// (chain link, or checksum when [`LogIter::unverified`]; positions,
    /// segment headers, commit ranges and the end) exactly as a sequential
    /// read checks it. An error is the one a sequential read gives: the
    /// first damaged record in log order.
    ///
    /// With one partition, or for a read that does not start at the log's
    /// start (a store's read from a later position) or is a partition
    /// already, the read is folded on this thread, with the same result.
    pub fn fold_partitions<S, I, F>(self, parts: usize, init: I, fold: F) -> Result<Vec<S>, Error>
    where
        S: Send,
        I: Fn(usize) -> S + Sync,
        F: Fn(&mut S, RecordedEvent) + Sync,
    {
        self.fold_pooled(parts, init, |state, e, _| fold(state, e))
    }

    /// [`LogIter::fold_partitions`], each partition's events handed to
    /// `fold` by batches of up to [`REPLAY_BATCH_EVENTS`] in position
    /// order, borrowed: once folded, their ids' and texts' strings are
    /// reused to decode the next events, so that a replay allocates nothing
    /// per event once warm (a sixth of its instructions went to allocating
    /// and freeing them). The checks, the order and the errors are those of
    /// [`LogIter::fold_partitions`].
    pub fn fold_partition_batches<S, I, F>(
        self,
        parts: usize,
        init: I,
        fold: F,
    ) -> Result<Vec<S>, Error>
    where
        S: Send,
        I: Fn(usize) -> S + Sync,
        F: Fn(&mut S, &[RecordedEvent]) + Sync,
    {
        let states = self.fold_pooled(
            parts,
            |part| Batched {
                state: init(part),
                batch: Vec::with_capacity(REPLAY_BATCH_EVENTS),
            },
            |b, e, pool| {
                b.batch.push(e);
                if b.batch.len() == REPLAY_BATCH_EVENTS {
                    b.flush(&fold, pool);
                }
            },
        )?;
        // The last events of each partition (fewer than a batch), on this
        // thread: their strings are not reused, so the pool is thrown away.
        let mut pool = StringPool::default();
        Ok(states
            .into_iter()
            .map(|mut b| {
                b.flush(&fold, &mut pool);
                b.state
            })
            .collect())
    }

    /// [`LogIter::fold_partitions`], `fold` also given the reading thread's
    /// pool, to give back the strings of events it is done with.
    fn fold_pooled<S, I, F>(mut self, parts: usize, init: I, fold: F) -> Result<Vec<S>, Error>
    where
        S: Send,
        I: Fn(usize) -> S + Sync,
        F: Fn(&mut S, RecordedEvent, &mut StringPool) + Sync,
    {
        let parts = parts.max(1);
        let mut states: Vec<S> = (0..parts).map(&init).collect();
        let block_bytes = self.block_bytes;
        let whole = self
            .whole_read()
            .map(|(dir, end, until, _)| (dir.to_path_buf(), end, until));
        let Some((dir, end, until)) = whole.filter(|_| parts > 1 && !self.is_done()) else {
            while let Some(e) = self.next() {
                let e = e?;
                let id = *e.event.case_id.as_uuid().as_bytes();
                let part = partition_of(&id, parts as u64) as usize;
                fold(&mut states[part], e, &mut self.pool);
            }
            return Ok(states);
        };
        let shared = Shared {
            read: self,
            splitter: Mutex::new(Splitter::new(dir.clone(), end, until, block_bytes)),
            dir,
            slots: Mutex::new(Slots::default()),
            published: Condvar::new(),
            failed: AtomicU64::new(u64::MAX),
            failures: Mutex::new(Vec::new()),
            buffers: Mutex::new(Buffers::default()),
            next_blocks: (0..parts).map(|_| AtomicU64::new(0)).collect(),
            parts: parts as u64,
        };
        let states: Vec<S> = std::thread::scope(|s| {
            let handles: Vec<_> = states
                .into_iter()
                .enumerate()
                .map(|(part, state)| {
                    let (shared, fold) = (&shared, &fold);
                    s.spawn(move || shared.work(part, state, fold))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h.join() {
                    Ok(state) => state,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        });
        let failures = shared
            .failures
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        match failures.into_iter().min_by_key(|f| f.at) {
            Some(f) => Err(f.error),
            None => Ok(states),
        }
    }
}

/// A partition's state in [`LogIter::fold_partition_batches`] and its
/// events not yet folded (fewer than [`REPLAY_BATCH_EVENTS`]).
struct Batched<S> {
    state: S,
    batch: Vec<RecordedEvent>,
}

impl<S> Batched<S> {
    /// Folds the events held, then gives their strings to `pool`.
    fn flush<F: Fn(&mut S, &[RecordedEvent])>(&mut self, fold: &F, pool: &mut StringPool) {
        if self.batch.is_empty() {
            return;
        }
        fold(&mut self.state, &self.batch);
        for e in self.batch.drain(..) {
            pool.recycle(e.event);
        }
    }
}

/// An error of a parallel read and where it is in log order (block, then
/// file offset), to report the first one.
#[derive(Debug)]
struct Failure {
    at: (u64, u64),
    error: Error,
}

/// A block, split and checked, shared by the folding threads.
#[derive(Debug)]
struct Block {
    /// The state a sequential read has at its first frame, and after its
    /// last (as its checks found it).
    start: BlockState,
    end: BlockState,
    /// Its segment and the file offset of `bytes[0]`.
    segment: u32,
    offset: u64,
    bytes: Vec<u8>,
    /// Each partition's events: frame offsets in `bytes`, in order.
    routes: Vec<Vec<u32>>,
}

/// The published blocks by index (`None`: the block failed its checks),
/// each kept until every partition has taken it.
#[derive(Debug, Default)]
struct Slots {
    blocks: HashMap<u64, (Option<Arc<Block>>, usize)>,
    /// How many blocks the read has, once the splitter is done.
    total: Option<u64>,
    /// A thread panicked while checking a block it had taken.
    broken: bool,
}

/// What the threads of one parallel read share.
struct Shared {
    read: LogIter,
    dir: PathBuf,
    splitter: Mutex<Splitter>,
    slots: Mutex<Slots>,
    published: Condvar,
    /// The first block index with an error: no thread folds past it.
    failed: AtomicU64,
    failures: Mutex<Vec<Failure>>,
    /// Block buffers that every thread is done with, to read the next
    /// blocks into (no allocation, no zeroing).
    buffers: Mutex<Buffers>,
    /// Each partition's thread's next block to fold (`u64::MAX` once it
    /// stopped); written under `slots`' lock, so that a thread waiting
    /// for room to split (see [`Shared::split_limit`]) misses no advance.
    next_blocks: Vec<AtomicU64>,
    parts: u64,
}

/// The block buffers of a read, pooled until the splitter has split the
/// last block; from then on none is needed, so they are freed (the end of
/// the read is when the partitions' states, and so the report's memory,
/// peak). Closing and giving back both happen under the pool's lock, so no
/// buffer is pooled after the pool is closed.
#[derive(Default)]
struct Buffers {
    free: Vec<Vec<u8>>,
    closed: bool,
}

impl Buffers {
    /// Keeps `buffer` for a later block, unless no block comes later.
    fn give_back(&mut self, buffer: Vec<u8>) {
        if !self.closed {
            self.free.push(buffer);
        }
    }

    /// No block comes later: frees the idle buffers and every one given
    /// back from now on.
    fn close(&mut self) {
        self.closed = true;
        self.free = Vec::new();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// On drop, records a thread's next block as `.2` (see [`Shared::advance`]).
struct Advance<'a>(&'a Shared, usize, u64);

impl Drop for Advance<'_> {
    fn drop(&mut self) {
        self.0.advance(self.1, self.2);
    }
}

/// Marks the read broken if a thread unwinds while it holds a block it
/// took from the splitter, so that the others stop waiting for it.
struct PanicGuard<'a>(&'a Mutex<Slots>, &'a Condvar);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            lock(self.0).broken = true;
            self.1.notify_all();
        }
    }
}

/// What a folding thread finds for the block it needs next.
enum Taken {
    /// The block (`None`: it failed its checks).
    Block(Option<Arc<Block>>),
    /// The read has no more blocks, or another thread panicked.
    End,
    /// Nothing yet: ask again.
    Again,
}

impl Shared {
    /// One thread's work: fold partition `part`'s events of every block in
    /// order, splitting and checking blocks whenever the next one it needs
    /// is not there yet. Stops at the first failure (recorded in
    /// `failures`).
    fn work<S, F>(&self, part: usize, mut state: S, fold: &F) -> S
    where
        F: Fn(&mut S, RecordedEvent, &mut StringPool),
    {
        // This thread's strings to reuse (see `fold_partition_batches`).
        let mut pool = StringPool::default();
        let mut next = 0u64;
        let mut before: Option<BlockState> = None;
        // However this thread stops, it no longer holds the others back;
        // if it panics (in `fold`), the others stop too, rather than read
        // on and keep every block it will never take (each block stays
        // until every partition has taken it).
        let _stopped = Advance(self, part, u64::MAX);
        let _panic = PanicGuard(&self.slots, &self.published);
        while next <= self.failed.load(Ordering::Acquire) {
            let block = match self.take(next) {
                Taken::Again => continue,
                Taken::End | Taken::Block(None) => break,
                Taken::Block(Some(block)) => block,
            };
            if before.is_some_and(|b| b != block.start) {
                let damage = Damage::new(
                    DamageKind::Inconsistent,
                    self.segment_path(block.segment),
                    block.offset,
                    "a block of a parallel read does not start where the one before it ends \
                     (a bug: read with one thread)",
                );
                self.fail(next, block.offset, damage.into());
                break;
            }
            before = Some(block.end);
            for &at in &block.routes[part] {
                match self.decode(&block, at, &mut pool) {
                    Ok(e) => fold(&mut state, e, &mut pool),
                    Err(error) => {
                        self.fail(next, block.offset + u64::from(at), error);
                        return state;
                    }
                }
            }
            next += 1;
            // The last thread done with a block gives its buffer back
            // (freed once no block comes later: see `Buffers`).
            if let Some(done) = Arc::into_inner(block) {
                lock(&self.buffers).give_back(done.bytes);
            }
            self.advance(part, next);
        }
        state
    }

    /// Records that partition `part`'s thread folds block `next` next, and
    /// wakes the threads that may wait for room to split.
    fn advance(&self, part: usize, next: u64) {
        {
            let _slots = lock(&self.slots);
            self.next_blocks[part].store(next, Ordering::Release);
        }
        self.published.notify_all();
    }

    /// The first block index no thread may split yet: [`LOOKAHEAD_BLOCKS`]
    /// past the slowest thread's next block. The slowest thread can always
    /// go on: its next block is below this limit, so it is published,
    /// being checked by a thread that publishes it without waiting, or
    /// split by the slowest thread itself.
    fn split_limit(&self) -> u64 {
        self.next_blocks
            .iter()
            .map(|n| n.load(Ordering::Acquire))
            .min()
            .unwrap_or(u64::MAX)
            .saturating_add(LOOKAHEAD_BLOCKS)
    }

    /// Records a failure in block `index`: no thread folds past it, and no
    /// block after it is split.
    fn fail(&self, index: u64, offset: u64, error: Error) {
        self.failed.fetch_min(index, Ordering::AcqRel);
        lock(&self.failures).push(Failure {
            at: (index, offset),
            error,
        });
        let mut splitter = lock(&self.splitter);
        if !splitter.done {
            splitter.done = true;
            lock(&self.buffers).close();
            let total = splitter.index;
            drop(splitter);
            lock(&self.slots).total = Some(total);
            self.published.notify_all();
        }
    }

    /// Block `index` if it is published; else splits and checks the next
    /// block if the read has one and this thread is not too far ahead; else
    /// waits until something is published.
    fn take(&self, index: u64) -> Taken {
        if let Some(taken) = self.take_published(&mut lock(&self.slots), index) {
            return taken;
        }
        if self.split_and_check(self.split_limit()) {
            return Taken::Again;
        }
        let mut slots = lock(&self.slots);
        loop {
            if let Some(taken) = self.take_published(&mut slots, index) {
                return taken;
            }
            // Not published: every block below the split limit is being
            // checked by a thread that publishes it without waiting for
            // anything, or the limit moves when the slowest thread folds
            // on (`advance`, under this lock). (When the splitter could
            // give a block below the limit, try again instead.)
            if slots.total.is_none() && self.splitter_has_room(self.split_limit()) {
                return Taken::Again;
            }
            slots = self
                .published
                .wait(slots)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn take_published(&self, slots: &mut Slots, index: u64) -> Option<Taken> {
        if slots.broken {
            return Some(Taken::End);
        }
        if let Some((block, left)) = slots.blocks.get_mut(&index) {
            let block = block.clone();
            *left -= 1;
            if *left == 0 {
                slots.blocks.remove(&index);
            }
            return Some(Taken::Block(block));
        }
        if slots.total.is_some_and(|total| index >= total) {
            return Some(Taken::End);
        }
        None
    }

    /// Whether the splitter would give a block below `limit`.
    fn splitter_has_room(&self, limit: u64) -> bool {
        let splitter = lock(&self.splitter);
        !splitter.done && splitter.index < limit
    }

    /// Splits the next block (if the read has one and its index is below
    /// `limit`), checks it and publishes it; whether it did.
    fn split_and_check(&self, limit: u64) -> bool {
        let _guard = PanicGuard(&self.slots, &self.published);
        let (index, claim, total) = {
            let mut splitter = lock(&self.splitter);
            if splitter.done || splitter.index >= limit {
                return false;
            }
            let index = splitter.index;
            splitter.index += 1;
            let buffer = lock(&self.buffers).free.pop().unwrap_or_default();
            let claim = splitter.next_block(buffer);
            let total = splitter.done.then_some(splitter.index);
            if splitter.done {
                // No block after this one: no buffer is needed any more.
                lock(&self.buffers).close();
            }
            (index, claim, total)
        };
        // Never the slots' lock inside the splitter's: `take` holds the
        // slots' while it asks the splitter.
        if let Some(total) = total {
            lock(&self.slots).total = Some(total);
            self.published.notify_all();
        }
        let block = match claim {
            Err(error) => {
                self.fail(index, 0, error);
                None
            }
            Ok((start, bytes)) => {
                let (segment, offset) = (start.segment, bytes.offset);
                match self.read.block(start, bytes, self.parts).run_block() {
                    Ok((routes, bytes, end)) => Some(Arc::new(Block {
                        start,
                        end,
                        segment,
                        offset,
                        bytes,
                        routes: routes.offsets,
                    })),
                    Err(error) => {
                        let at = match error.kind() {
                            ErrorKind::Corrupt(d) => d.offset,
                            _ => offset,
                        };
                        self.fail(index, at, error);
                        None
                    }
                }
            }
        };
        lock(&self.slots)
            .blocks
            .insert(index, (block, self.parts as usize));
        self.published.notify_all();
        true
    }

    /// The event at offset `at` of a checked block.
    fn decode(
        &self,
        block: &Block,
        at: u32,
        pool: &mut StringPool,
    ) -> Result<RecordedEvent, Error> {
        let body = frame_bytes(&block.bytes[at as usize..]).map(|f| &f[FRAME_HEADER_BYTES..]);
        let position = body.as_ref().ok().and_then(|b| peek_event_position(b));
        let undecodable = |e: DecodeError| -> Error {
            let damage = Damage::new(
                DamageKind::Undecodable,
                self.segment_path(block.segment),
                block.offset + u64::from(at),
                e.to_string(),
            );
            match position {
                Some(p) => damage.at_position(p).into(),
                None => damage.into(),
            }
        };
        match body.and_then(|b| decode_body_pooled(b, pool)) {
            Ok(Record::Event(r)) => Ok(RecordedEvent {
                position: r.position,
                version: r.version,
                recorded_at: r.recorded_at,
                event: r.event,
            }),
            Ok(Record::Commit { .. }) => Err(undecodable(DecodeError::bad(
                "record kind",
                "a commit record where an event was read".to_owned(),
            ))),
            Err(e) => Err(undecodable(e)),
        }
    }

    fn segment_path(&self, n: u32) -> PathBuf {
        self.dir.join(segment::segment_name(n))
    }
}

/// Cuts the log into blocks of whole frames, and knows from a light walk
/// of each block's frames the state a sequential read has at the next one.
#[derive(Debug)]
struct Splitter {
    /// About how many bytes a block holds.
    block_bytes: usize,
    dir: PathBuf,
    end: Checkpoint,
    until: Until,
    /// The next block's index.
    index: u64,
    /// No more blocks.
    done: bool,
    /// The segment being cut, its file once opened, and the next offset to
    /// read from it (and the offset not to read at or past).
    segment: u32,
    file: Option<File>,
    read_offset: u64,
    limit: u64,
    /// Bytes read but not yet in a block (a frame cut by the last read),
    /// from file offset `carry_offset`.
    carry: Vec<u8>,
    carry_offset: u64,
    /// The state at the next block's first frame.
    state: BlockState,
}

/// Why a walk stopped.
enum Stop {
    /// The bytes end inside a frame (or where it would start) that needs
    /// this many bytes from where the walk stopped.
    Incomplete(usize),
    /// A frame the block's read will refuse (its length is wrong).
    Bad,
    /// A record past the read's end.
    Past,
}

impl Splitter {
    fn new(dir: PathBuf, end: Checkpoint, until: Until, block_bytes: usize) -> Splitter {
        Splitter {
            block_bytes,
            dir,
            end,
            until,
            index: 0,
            done: end.position == 0,
            segment: 1,
            file: None,
            read_offset: 0,
            limit: 0,
            carry: Vec::new(),
            carry_offset: 0,
            state: BlockState {
                segment: 1,
                next_position: 1,
                prev: GENESIS_HASH,
                batch_first: None,
            },
        }
    }

    /// The next block: the state at its first frame, and its bytes. Sets
    /// `done` after the last one, or after an error (which this error or
    /// the block's read reports).
    fn next_block(&mut self, buffer: Vec<u8>) -> Result<(BlockState, BlockBytes), Error> {
        let result = self.cut(buffer);
        if result.is_err() {
            self.done = true;
        }
        result
    }

    /// Reads the next block into `buf` (a reused buffer, or empty).
    fn cut(&mut self, mut buf: Vec<u8>) -> Result<(BlockState, BlockBytes), Error> {
        if self.file.is_none() {
            let path = self.dir.join(segment::segment_name(self.segment));
            self.file = Some(segment::open_segment(&path)?);
            self.read_offset = 0;
            self.limit = if self.segment == self.end.segment {
                self.end.offset
            } else {
                u64::MAX
            };
            self.carry.clear();
            self.carry_offset = 0;
        }
        let start = BlockState {
            segment: self.segment,
            ..self.state
        };
        let offset = self.carry_offset;
        // `buf[..len]` is what is read; the rest is spare room.
        let mut len = self.carry.len();
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf[..len].copy_from_slice(&self.carry);
        self.carry.clear();
        // A segment's first block starts with the segment header, which the
        // block's read checks; the walk starts after it.
        let first = if offset == 0 { SEGMENT_HEADER_BYTES } else { 0 };
        let mut walked = first;
        let mut want = self.block_bytes.max(first + 1);
        // Where the block ends, whether that is its segment's end, and
        // whether it is the read's last block.
        let (cut, ends_segment, last) = loop {
            let eof = self.fill(&mut buf, &mut len, want)?;
            let (pos, stop) = self.walk(&buf[..len], walked);
            walked = pos;
            match stop {
                Stop::Past => break (pos, false, true),
                Stop::Incomplete(needed) if !eof => {
                    if pos > first {
                        break (pos, false, false);
                    }
                    // Not one whole frame yet (a frame larger than a
                    // block): read on until it is whole.
                    want = pos + needed;
                }
                Stop::Incomplete(_) if pos == len => {
                    break (pos, true, self.segment >= self.end.segment);
                }
                // A cut or refused frame: the block takes every byte read
                // and its read reports the damage.
                Stop::Incomplete(_) | Stop::Bad => break (len, true, true),
            }
        };
        self.carry.extend_from_slice(&buf[cut..len]);
        self.carry_offset = offset + cut as u64;
        if last {
            self.done = true;
        } else if ends_segment {
            self.segment += 1;
            self.file = None;
        }
        Ok((
            start,
            BlockBytes {
                bytes: buf,
                len: cut,
                offset,
                ends_segment,
            },
        ))
    }

    /// Reads into `buf` after its first `len` bytes until it holds `want`
    /// bytes; whether the segment's bytes to read are all read.
    fn fill(&mut self, buf: &mut Vec<u8>, len: &mut usize, want: usize) -> Result<bool, Error> {
        let Some(file) = &self.file else {
            return Ok(true);
        };
        if buf.len() < want {
            // Zeroed once per buffer: buffers are reused.
            buf.resize(want, 0);
        }
        while *len < want {
            if self.read_offset >= self.limit {
                return Ok(true);
            }
            let room = want - *len;
            let n = (self.limit - self.read_offset).min(room as u64) as usize;
            let from = *len;
            let got = match file.read_at(&mut buf[from..from + n], self.read_offset) {
                Ok(got) => got,
                Err(e) => {
                    let path = self.dir.join(segment::segment_name(self.segment));
                    return Err(Error::io("read", path, e));
                }
            };
            *len = from + got;
            if got == 0 {
                // The file is shorter than the limit: its end is the end.
                self.limit = self.read_offset;
                return Ok(true);
            }
            self.read_offset += got as u64;
        }
        Ok(self.read_offset >= self.limit)
    }

    /// Walks the whole frames of `buf` from `pos`, keeping the next block's
    /// state; returns where it stopped and why.
    fn walk(&mut self, buf: &[u8], mut pos: usize) -> (usize, Stop) {
        let Some(mut rest) = buf.get(pos..) else {
            return (pos, Stop::Bad);
        };
        loop {
            let frame = match frame_bytes(rest) {
                Ok(frame) => frame,
                Err(DecodeError::Incomplete { needed, .. }) => {
                    return (pos, Stop::Incomplete(needed));
                }
                Err(_) => return (pos, Stop::Bad),
            };
            let body = &frame[FRAME_HEADER_BYTES..];
            pos += frame.len();
            rest = &rest[frame.len()..];
            match peek_event_position(body) {
                Some(position) => {
                    self.state.next_position = position.wrapping_add(1);
                    self.state.batch_first.get_or_insert(position);
                    let past = match self.until {
                        Until::End => false,
                        Until::Position(p) => position > p,
                        Until::RecordedAt(t) => {
                            decode_event_header(body).is_ok_and(|h| h.recorded_at > t)
                        }
                    };
                    if past {
                        return (pos, Stop::Past);
                    }
                }
                None => self.state.batch_first = None,
            }
            self.state.prev = stored_hash(body);
        }
    }
}
