//! caseledger-testkit: the append contract of [`caseledger::EventLog`] as one
//! test suite that every implementation runs: the in-memory log, the file
//! store, the async face's logs (through `caseledger-async`'s port, in its
//! tests), and each backend to come (PostgreSQL). A test suite, not
//! part of what a bank system embeds (`publish = false`).
//!
//! [`append_contract`] runs every case of [`cases`] against fresh logs made
//! by the caller: retries, an id reused for a different command, id clashes,
//! expected versions, limits, atomicity, the order of `read_stream` and
//! `read_all`, gapless positions and versions, time validation, and racing
//! appenders. The contract itself is stated in the domain crate (the
//! `port` module's documentation, applied by [`caseledger::backend::plan_append`]);
//! these cases check that a log keeps it. Refusals must read exactly like
//! the reference log's ([`caseledger::InMemoryEventLog`]), so a caller sees
//! the same message whatever stores its events.
//!
//! ```
//! use caseledger::InMemoryEventLog;
//! caseledger_testkit::append_contract(InMemoryEventLog::new);
//! ```
//!
//! A log that needs something to live as long as it (a temporary
//! directory, a test database) is wrapped in [`Guarded`].
//!
//! The helpers every crate's integration tests share live here too, once:
//! [`tmpfs`] (a real full disk), [`child`] (this test binary run again as a
//! child process, to be killed), [`history`] (hand-built histories and
//! their checked report, for the domain's tests), [`trace`] (a projection
//! that notices a skipped, repeated or reordered event), and with the
//! feature `postgres`, `pg` (a database of its own per test, and a private
//! server to restart or fill).
#![forbid(unsafe_code)]
// A test suite: a failed unwrap is a failed case, and shows the error.
#![allow(clippy::unwrap_used)]

pub mod cases;
pub mod child;
mod guarded;
pub mod history;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod tmpfs;
pub mod trace;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use caseledger::{Event, EventLog, ExpectedVersion};

pub use cases::Case;
pub use guarded::Guarded;

/// Runs every case of the append contract ([`cases::all`]) against logs
/// made by `make`, which must return a new, empty log each time it is
/// called. Panics at the first case that fails, naming it.
pub fn append_contract<L: EventLog>(make: impl Fn() -> L) {
    for (name, case) in cases::all::<L>() {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| case(&make))) {
            eprintln!("append contract: case `{name}` failed");
            resume_unwind(panic);
        }
    }
}

/// Appends each of `events` on its own, in order, with the expected version
/// its stream is at: how the backends' tests fill a log with a valid
/// history one append at a time. Panics at the first error, naming it.
pub fn append_each<L: EventLog>(log: &L, events: &[Event]) {
    for e in events {
        let v = log
            .stream_version(e.case_id)
            .unwrap_or_else(|err| panic!("stream version of {}: {err}", e.case_id));
        log.append(
            e.case_id,
            ExpectedVersion::Exact(v),
            std::slice::from_ref(e),
        )
        .unwrap_or_else(|err| panic!("append of event {}: {err}", e.event_id));
    }
}
