//! The application service that bank systems call: load a case, decide a
//! command, append with the expected version, and retry on a conflict.

//!
//! `sans_io` is the service without its I/O ([`ServiceCore`], [`CommandRun`]);
//! `blocking` is [`CaseService`], which drives it with blocking calls;
//! `cache` the bounded cache of case states the core keeps.

mod blocking;
mod cache;
mod sans_io;

pub use blocking::{CaseService, IdSource, SequentialIds};
pub use sans_io::{
    CommandRun, DEFAULT_MAX_ATTEMPTS, Io, Outcome, Reply, STATE_CACHE_CASES, ServiceCore,
    ServiceError, Step, is_retry,
};
