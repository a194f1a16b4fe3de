//! Reading: streaming reads of the log ([`LogIter`]; [`LogReader`], a
//! read-only view without an index for whole-log replays) and the random
//! read of one event by its position (`random.rs`, behind
//! `read_stream`). Every read checks what it reads: streaming reads check
//! every frame's checksum, gapless positions, segment headers, commit
//! ranges, the hash chain link of every record, and at the end that the
//! last record is the checkpoint's; a random read checks the record's link
//! against the hash the open verified (docs/store-format.md, "What each
//! read checks").
//!
//! `iter.rs` holds the streaming read, `log_reader.rs` the index-free view,
//! `random.rs` the read of one event.

mod iter;
mod log_reader;
mod parallel;
mod random;

pub use iter::{LogIter, LogRecord, Records, partition_of};
pub use log_reader::LogReader;
pub(crate) use random::{check_verified_link, event_of_body, not_indexed, read_event_at};
