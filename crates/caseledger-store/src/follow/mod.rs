//! Following the log while another process writes it, and keeping a
//! projection current from it with a durable checkpoint.
//!
//! - [`Follower`]: reads from a position, then waits for new events; it
//!   never skips or repeats a position, and checks every record it reads
//!   as the store's other reads do (checksums, positions, commit ranges,
//!   the hash chain, anchored to what it verified before).
//! - [`ProjectionRunner`]: feeds any [`caseledger::projection::Projection`]
//!   from its checkpoint and stores the state with its position atomically
//!   in a checkpoint file (docs/store-format.md, "Projection checkpoints").
//!
//! `follower.rs` is the follower, `file.rs` the checkpoint file's bytes and
//! its atomic replacement, `runner.rs` the runner.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use caseledger::{Event, projection::Projection};
//! use caseledger_store::follow::{ProjectionRunner, RunnerOptions};
//! # let dir = tempfile::tempdir()?;
//! # drop(caseledger_store::Store::open(dir.path(), Default::default())?);
//! #[derive(Default, serde::Serialize, serde::Deserialize)]
//! struct Events { seen: u64 }
//! impl Projection for Events {
//!     fn observe(&mut self, _position: u64, _event: &Event) { self.seen += 1; }
//! }
//! let checkpoint = dir.path().join("events.checkpoint");
//! let mut runner = ProjectionRunner::open(dir.path(), &checkpoint, Events::default(),
//!                                         RunnerOptions::default())?;
//! runner.catch_up()?; // feeds what is there now; `step(timeout_ms)` waits for more
//! runner.checkpoint()?; // on demand; also every `every_events` events
//! assert_eq!(runner.state().seen, runner.position());
//! # Ok(()) }
//! ```

mod file;
mod follower;
mod runner;

pub use file::{MAX_STATE_BYTES, PROJECTION_CHECKPOINT_VERSION, load_checkpoint, save_checkpoint};
#[doc(hidden)]
pub use file::{checkpoint_bytes, temp_path};
pub use follower::{FollowOptions, Follower, MAX_POLL_INTERVAL_MS};
pub use runner::{ProjectionRunner, RunnerOptions};
