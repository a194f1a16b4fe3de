//! What `copy` moves and between what: a record as it travels
//! ([`CopyRecord`]), a source and a target of either backend
//! ([`CopySource`], [`CopyTarget`]), and the check of each copied batch.
//! Below `copy.rs` (the command) and the backends' implementations.

use anyhow::{Result, bail};
use caseledger::RecordedEvent;
use caseledger_store::Head;

/// A record as a copy moves it: an event, or the commit that ends a batch.
#[derive(Debug, Clone)]
pub enum CopyRecord {
    /// An event, with its position, version and recorded time.
    Event(RecordedEvent),
    /// The end of a batch.
    Commit {
        /// The batch's first event.
        first_position: u64,
        /// The batch's last event.
        last_position: u64,
        /// The chain hash after it, when the source hands it out (the file
        /// store does): the target's commit must give the same.
        hash: Option<[u8; 32]>,
    },
}

/// The records of a source, from a position on, with their commits.
pub type SourceRecords<'a> = Box<dyn Iterator<Item = Result<CopyRecord>> + 'a>;

/// What one call of [`CopyTarget::write_batches`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// Events written.
    pub events: u64,
    /// Batches (commits) written.
    pub batches: u64,
    /// The head after them.
    pub head: Head,
}

/// A store that a copy writes into.
pub trait CopyTarget {
    /// The target's head (position 0: empty), as the target holds it:
    /// nothing before it is read.
    fn head(&self) -> Result<Head>;

    /// Checks every record of the target up to `head` (its head, as
    /// [`CopyTarget::head`] gave it): the chain from the first event, and
    /// what the backend keeps beside each record. A copy that resumes (or
    /// finds nothing to copy) compares only the target's head with the
    /// source's chain, which vouches for nothing before it; this does. A
    /// read of the whole target where opening it did not check it already.
    fn check_up_to(&self, head: Head) -> Result<()>;

    /// Writes the next whole batches of `records` (at least one): stops
    /// after the commit that brings the events written to `chunk_events`
    /// or more, or at the end of `records`. Each batch is written as the
    /// source recorded it and its commit must give the source's hash.
    /// Returns `None` at the end of `records`.
    fn write_batches(
        &mut self,
        records: &mut SourceRecords<'_>,
        chunk_events: u64,
    ) -> Result<Option<Written>>;
}

/// A ledger that a copy reads.
pub trait CopySource {
    /// The head the copy reads up to.
    fn head(&self) -> Head;

    /// The head the source had when the batch ending at `position` was its
    /// last (`None`: no batch ends there).
    fn head_at(&self, position: u64) -> Result<Option<Head>>;

    /// The records from position `from` (1: the start) up to
    /// [`CopySource::head`], with their commits.
    fn records(&self, from: u64) -> Result<SourceRecords<'_>>;
}

/// Checks that a batch written into the target ends where the source's
/// does, with the same chain hash.
pub fn check_commit(head: Head, last_position: u64, hash: [u8; 32]) -> Result<()> {
    if head.position != last_position || head.hash != hash {
        let want = Head {
            position: last_position,
            hash,
        };
        bail!(
            "the copied batch ends at position {} hash {}, the source's at position {} hash {}: \
             the copy is not the same ledger; nothing after the previous batch was kept",
            head.position,
            head.hash_hex(),
            want.position,
            want.hash_hex()
        );
    }
    Ok(())
}
