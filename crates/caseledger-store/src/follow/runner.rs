//! [`ProjectionRunner`]: a projection fed by a [`Follower`] from its
//! checkpoint file, which it rewrites every so many events.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use caseledger::projection::{
    Checkpointed, MAX_CHECKPOINT_EVERY_EVENTS, Projection, checkpoint_due,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::file::{load_anchored, save_anchored};
use super::follower::{FollowOptions, Follower};
use crate::error::{Error, ErrorKind, InvalidOptionReason};
use crate::layout::Head;

/// How a [`ProjectionRunner`] follows and checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunnerOptions {
    /// Store a checkpoint after this many events fed since the last one:
    /// 1 to [`MAX_CHECKPOINT_EVERY_EVENTS`]; default 10 000. A resume
    /// after a crash replays at most this many events.
    pub every_events: u64,
    /// How the follower waits.
    pub follow: FollowOptions,
}

impl Default for RunnerOptions {
    fn default() -> RunnerOptions {
        RunnerOptions {
            every_events: 10_000,
            follow: FollowOptions::default(),
        }
    }
}

impl RunnerOptions {
    /// Events between checkpoints (see the field).
    #[must_use]
    pub fn every_events(mut self, n: u64) -> RunnerOptions {
        self.every_events = n;
        self
    }

    /// How the follower waits (see the field).
    #[must_use]
    pub fn follow(mut self, follow: FollowOptions) -> RunnerOptions {
        self.follow = follow;
        self
    }
}

/// The head of the log in `dir` at `position` if a commit ends there
/// (`None` otherwise): the event read at `position` and the commit record
/// after it, checked as every read checks them.
fn head_at(dir: &Path, position: u64) -> Result<Option<Head>, Error> {
    let reader = crate::LogReader::open(dir)?;
    if position == 0 || position > reader.head().position {
        return Ok(None);
    }
    let mut records = reader
        .read(position, crate::Until::Position(position))
        .with_commits();
    let _event = records.next().transpose()?;
    Ok(match records.next().transpose()? {
        Some(crate::LogRecord::Commit {
            last_position,
            hash,
            ..
        }) if last_position == position => Some(Head { position, hash }),
        _ => None,
    })
}

/// Keeps a projection current from a store: it resumes from the
/// projection's checkpoint file (or from the start with the initial state
/// when there is none), feeds it every later event in order through a
/// [`Follower`], and stores its state with its position in the checkpoint
/// file every [`RunnerOptions::every_events`] events and on
/// [`ProjectionRunner::checkpoint`]. The file is replaced atomically, so
/// after a crash the runner resumes from the last checkpoint and, fed the
/// rest of the log, reaches the state a full replay gives.
///
/// One runner per checkpoint file: two runners writing the same file would
/// each overwrite the other's checkpoint.
#[derive(Debug)]
pub struct ProjectionRunner<P> {
    follower: Follower,
    path: PathBuf,
    fed: Checkpointed<P>,
    /// The position of the last checkpoint stored (or loaded).
    saved: u64,
    /// The anchor stored with it (or loaded): see [`ProjectionRunner::anchor`].
    saved_anchor: Option<Head>,
    /// The latest head of the log this runner knows verified at or before
    /// the position fed: the loaded anchor (checked against the log at
    /// open), then the follower's verified head once it gets further.
    anchor: Option<Head>,
    every_events: u64,
}

impl<P: Projection + Serialize + DeserializeOwned> ProjectionRunner<P> {
    /// Opens the runner of the store in `store_dir` with the checkpoint
    /// file `checkpoint`: the projection is the file's state when it
    /// exists, `initial` (fed nothing yet) otherwise. Fails on a damaged
    /// checkpoint file ([`ErrorKind::ProjectionCheckpoint`]), a directory
    /// that is not a store, or an option out of range.
    pub fn open(
        store_dir: impl AsRef<Path>,
        checkpoint: impl AsRef<Path>,
        initial: P,
        options: RunnerOptions,
    ) -> Result<ProjectionRunner<P>, Error> {
        if !(1..=MAX_CHECKPOINT_EVERY_EVENTS).contains(&options.every_events) {
            return Err(ErrorKind::InvalidOption {
                name: "every_events",
                reason: InvalidOptionReason::OutOfRange {
                    value: options.every_events,
                    min: 1,
                    max: MAX_CHECKPOINT_EVERY_EVENTS,
                },
            }
            .into());
        }
        let path = checkpoint.as_ref().to_path_buf();
        let (fed, anchor) = match load_anchored::<P>(&path)? {
            Some(l) => (Checkpointed::resume(l.position, l.state), l.anchor),
            None => (Checkpointed::new(initial), None),
        };
        let saved = fed.position();
        // A log only grows: a checkpoint beyond its head is not this log's
        // (or the log went back to an older copy), and resuming from it
        // would skip what is appended from the head on.
        let head = crate::checkpoint::read_only_checkpoint(store_dir.as_ref())?.position;
        if saved > head {
            return Err(ErrorKind::ProjectionCheckpoint {
                path,
                reason: crate::ProjectionCheckpointReason::BeyondHead {
                    position: saved,
                    head,
                },
            }
            .into());
        }
        // The head it recorded at the last commit it had read must be this
        // store's: a checkpoint of another store (or of this one before it
        // was restored from an older copy and took other events) at a
        // position within the head would otherwise resume silently into a
        // state no replay gives.
        if let Some(anchor) = anchor
            && head_at(store_dir.as_ref(), anchor.position)? != Some(anchor)
        {
            return Err(ErrorKind::ProjectionCheckpoint {
                path,
                reason: crate::ProjectionCheckpointReason::OtherLog {
                    position: anchor.position,
                    hash: anchor.hash_hex(),
                },
            }
            .into());
        }
        let follower = Follower::open(store_dir, saved + 1, options.follow)?;
        Ok(ProjectionRunner {
            follower,
            path,
            fed,
            saved,
            saved_anchor: anchor,
            anchor,
            every_events: options.every_events,
        })
    }

    /// The last position fed to the projection (0: none).
    pub fn position(&self) -> u64 {
        self.fed.position()
    }

    /// The position of the last checkpoint stored or loaded.
    pub fn saved_position(&self) -> u64 {
        self.saved
    }

    /// The projection as of [`ProjectionRunner::position`].
    pub fn state(&self) -> &P {
        self.fed.state()
    }

    /// The projection, and the position it is fed up to.
    pub fn into_parts(self) -> (u64, P) {
        self.fed.into_parts()
    }

    /// The checkpoint file.
    pub fn checkpoint_path(&self) -> &Path {
        &self.path
    }

    /// Feeds the next event, waiting for it at most `timeout_ms`
    /// milliseconds, and stores a checkpoint if one is due. Returns the
    /// position fed, or `None` when no event came in time.
    pub fn step(&mut self, timeout_ms: u64) -> Result<Option<u64>, Error> {
        let Some(e) = self.follower.next_within(timeout_ms)? else {
            return Ok(None);
        };
        self.feed(e.position, &e.event)?;
        Ok(Some(e.position))
    }

    /// Feeds every event committed now, without waiting, storing
    /// checkpoints as they fall due. Returns how many events it fed.
    pub fn catch_up(&mut self) -> Result<u64, Error> {
        let mut fed = 0;
        while let Some(e) = self.follower.try_next()? {
            self.feed(e.position, &e.event)?;
            fed += 1;
        }
        Ok(fed)
    }

    /// Feeds events until the projection has seen position `position`,
    /// waiting for them at most `timeout_ms` milliseconds in all. Returns
    /// whether it got there.
    pub fn run_to(&mut self, position: u64, timeout_ms: u64) -> Result<bool, Error> {
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        while self.position() < position {
            let left = deadline.saturating_duration_since(Instant::now());
            let left_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
            if self.step(left_ms)?.is_none() {
                return Ok(self.position() >= position);
            }
        }
        Ok(true)
    }

    /// Stores the projection's state and position in the checkpoint file
    /// now (nothing to do when it is already stored at this position).
    pub fn checkpoint(&mut self) -> Result<(), Error> {
        let anchor = self.anchor();
        if self.saved == self.fed.position() && self.saved_anchor == anchor && self.path.exists() {
            return Ok(());
        }
        save_anchored(&self.path, self.fed.position(), anchor, self.fed.state())?;
        self.saved = self.fed.position();
        self.saved_anchor = anchor;
        Ok(())
    }

    /// The anchor a checkpoint stores now: the latest verified head of the
    /// log at or before the position fed (the follower's last complete
    /// read, or the loaded anchor while the follower has not got past it:
    /// a checkpoint due in the first read after opening keeps it, rather
    /// than storing none).
    fn anchor(&mut self) -> Option<Head> {
        let verified = self.follower.verified_head();
        if verified.position > 0
            && verified.position <= self.fed.position()
            && self.anchor.is_none_or(|a| verified.position >= a.position)
        {
            self.anchor = Some(verified);
        }
        self.anchor
    }

    fn feed(&mut self, position: u64, event: &caseledger::Event) -> Result<(), Error> {
        self.fed
            .observe(position, event)
            .map_err(ErrorKind::OutOfOrder)?;
        if checkpoint_due(self.saved, position, self.every_events) {
            self.checkpoint()?;
        }
        Ok(())
    }
}
