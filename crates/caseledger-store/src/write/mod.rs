//! Appending: the writer and its segment file (`writer.rs`), transactions
//! and the public [`Batch`] (`txn.rs`), and the group commit that shares one
//! sync among concurrent appends (`group.rs`). docs/store-format.md,
//! "Durability: the order of writes", states the steps.

mod group;
mod txn;
mod writer;

pub(crate) use group::GroupCommit;
pub use group::MAX_GROUP_APPENDS;
pub use txn::Batch;
pub(crate) use txn::Visible;
pub use writer::{
    Clock, DEFAULT_SEGMENT_BYTES, MAX_SEGMENT_BYTES, MIN_SEGMENT_BYTES, StoreOptions,
};
pub(crate) use writer::{FLUSH_BYTES, Writer};
