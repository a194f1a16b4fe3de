//! [`Follower`]: the log's events from a position on, waiting for those a
//! writer in another process (or this one) commits later.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use caseledger::RecordedEvent;

use crate::checkpoint::{Checkpoint, read_only_checkpoint};
use crate::error::{Damage, DamageKind, Error, ErrorKind, InvalidOptionReason};
use crate::format::GENESIS_HASH;
use crate::layout::{Boundary, Head, Point, START};
use crate::read::LogIter;

/// The longest pause between two looks at the checkpoint that
/// [`FollowOptions`] allows, in milliseconds.
pub const MAX_POLL_INTERVAL_MS: u64 = 10_000;

/// How a [`Follower`] waits for new events: it looks at the store's
/// checkpoint (96 bytes, one read) after `poll_min_ms`, then after pauses
/// doubling up to `poll_max_ms` while nothing comes, and again after
/// `poll_min_ms` once something came. Why polling, not inotify: the
/// checkpoint is rewritten in place after each commit, and a look costs one
/// `pread`; polling adds no dependency and works on every Unix file system
/// (network ones too), at a cost of at most `poll_max_ms` of latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FollowOptions {
    /// The first pause after finding nothing new, in milliseconds: 1 to
    /// `poll_max_ms`; default 1.
    pub poll_min_ms: u64,
    /// The longest pause, in milliseconds: `poll_min_ms` to
    /// [`MAX_POLL_INTERVAL_MS`]; default 50.
    pub poll_max_ms: u64,
}

impl Default for FollowOptions {
    fn default() -> FollowOptions {
        FollowOptions {
            poll_min_ms: 1,
            poll_max_ms: 50,
        }
    }
}

impl FollowOptions {
    /// The first pause (see the field).
    #[must_use]
    pub fn poll_min_ms(mut self, ms: u64) -> FollowOptions {
        self.poll_min_ms = ms;
        self
    }

    /// The longest pause (see the field).
    #[must_use]
    pub fn poll_max_ms(mut self, ms: u64) -> FollowOptions {
        self.poll_max_ms = ms;
        self
    }

    fn check(&self) -> Result<(), Error> {
        let out = |name, value, min, max| -> Result<(), Error> {
            Err(ErrorKind::InvalidOption {
                name,
                reason: InvalidOptionReason::OutOfRange { value, min, max },
            }
            .into())
        };
        if !(1..=MAX_POLL_INTERVAL_MS).contains(&self.poll_max_ms) {
            return out("poll_max_ms", self.poll_max_ms, 1, MAX_POLL_INTERVAL_MS);
        }
        if !(1..=self.poll_max_ms).contains(&self.poll_min_ms) {
            return out("poll_min_ms", self.poll_min_ms, 1, self.poll_max_ms);
        }
        Ok(())
    }
}

/// The events of a store from a position on, in position order, waiting
/// for new ones: a reader that keeps up with a writer in another process.
///
/// It never opens the store for writing and never changes a file. Its
/// first read goes from the log's start (events before the first position
/// asked for are checked, not decoded), so the chain is verified from its
/// first record; each later read starts at the commit boundary where the
/// last one ended, which that read verified, and goes to the checkpoint as
/// it is then. Every record is checked as [`crate::LogIter`] checks it:
/// frame, position, segment header, commit range, chain link, and at the
/// end that the log ends exactly at the checkpoint. An error leaves the
/// follower where it was: the next call reads again from its last boundary
/// and hands out the first event not handed out yet.
#[derive(Debug)]
pub struct Follower {
    dir: PathBuf,
    options: FollowOptions,
    /// Where the last complete read ended: verified up to here.
    after: Boundary,
    /// The read under way and the checkpoint it reads to.
    read: Option<(LogIter, Checkpoint)>,
    /// The next position to hand out.
    next: u64,
}

impl Follower {
    /// Follows the store in `dir` from position `from` (1, or 0: the
    /// start). `from` may lie beyond the head: the follower waits for it.
    /// Fails if `dir` is not a store or an option is out of range.
    pub fn open(
        dir: impl AsRef<Path>,
        from: u64,
        options: FollowOptions,
    ) -> Result<Follower, Error> {
        options.check()?;
        let dir = dir.as_ref().to_path_buf();
        read_only_checkpoint(&dir)?;
        Ok(Follower {
            dir,
            options,
            after: Boundary {
                point: START,
                position: 0,
                hash: GENESIS_HASH,
            },
            read: None,
            next: from.max(1),
        })
    }

    /// The position of the next event this follower hands out.
    pub fn next_position(&self) -> u64 {
        self.next
    }

    /// The head this follower has verified the log up to (the end of its
    /// last complete read; position 0 before the first).
    pub fn verified_head(&self) -> Head {
        Head {
            position: self.after.position,
            hash: self.after.hash,
        }
    }

    /// The next event if one is committed now; `None` without waiting
    /// otherwise.
    pub fn try_next(&mut self) -> Result<Option<RecordedEvent>, Error> {
        loop {
            if let Some((read, end)) = &mut self.read {
                match read.next() {
                    Some(Ok(e)) => {
                        if e.position != self.next {
                            // The read checks positions are gapless and
                            // starts at `next`; this would be a bug.
                            let detail = format!(
                                "the follower expected position {}, the read gave {}",
                                self.next, e.position
                            );
                            self.read = None;
                            return Err(self.inconsistent(detail));
                        }
                        self.next += 1;
                        return Ok(Some(e));
                    }
                    Some(Err(e)) => {
                        self.read = None;
                        return Err(e);
                    }
                    None => {
                        self.after = Boundary {
                            point: Point {
                                segment: end.segment,
                                offset: end.offset,
                            },
                            position: end.position,
                            hash: end.hash,
                        };
                        self.read = None;
                    }
                }
            }
            let end = read_only_checkpoint(&self.dir)?;
            let ahead =
                (end.segment, end.offset) > (self.after.point.segment, self.after.point.offset);
            if end.position < self.after.position || (end.position > self.after.position && !ahead)
            {
                let detail = format!(
                    "the checkpoint went back: it names position {} at segment {} byte {}, after \
                     this follower verified position {} at segment {} byte {} (was the store \
                     replaced?)",
                    end.position,
                    end.segment,
                    end.offset,
                    self.after.position,
                    self.after.point.segment,
                    self.after.point.offset
                );
                return Err(self.inconsistent(detail));
            }
            if end.position <= self.after.position || end.position < self.next {
                return Ok(None);
            }
            let read = LogIter::after_boundary(self.dir.clone(), end, self.after, self.next);
            self.read = Some((read, end));
        }
    }

    /// The next event, waiting for it at most `timeout_ms` milliseconds
    /// (see [`FollowOptions`] for how); `None` when none came in time.
    pub fn next_within(&mut self, timeout_ms: u64) -> Result<Option<RecordedEvent>, Error> {
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        let mut pause_ms = self.options.poll_min_ms;
        loop {
            if let Some(e) = self.try_next()? {
                return Ok(Some(e));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let pause = Duration::from_millis(pause_ms).min(deadline - now);
            std::thread::sleep(pause);
            pause_ms = (pause_ms * 2).min(self.options.poll_max_ms);
        }
    }

    fn inconsistent(&self, detail: String) -> Error {
        let file = self.dir.join(crate::checkpoint::CHECKPOINT_FILE);
        Damage::new(DamageKind::Inconsistent, file, 0, detail).into()
    }
}
