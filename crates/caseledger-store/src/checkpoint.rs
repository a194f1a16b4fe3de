//! The durable-end checkpoint: where the last acknowledged commit ends.
//!
//! The file holds two slots of [`SLOT_BYTES`]; the writer overwrites the
//! older slot each time, so a write torn by a crash leaves the other slot
//! whole. The valid slot with the higher sequence number counts.

use std::fs::File;
use std::os::unix::fs::FileExt;

use std::path::Path;

use crate::error::{Damage, Error, ErrorKind, NotAStoreReason};
pub use crate::format::CHECKPOINT_FILE;
use crate::format::{HASH_BYTES, Hash};

/// The first eight bytes of a checkpoint slot.
pub const CHECKPOINT_MAGIC: [u8; 8] = *b"CLEDGCKP";
/// The size of one slot in bytes.
pub const SLOT_BYTES: usize = 96;
/// How many times a reader re-reads when both slots fail their checksum,
/// which happens only while the writer is overwriting one of them.
const READ_ATTEMPTS: usize = 3;

/// The end of the acknowledged log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Increases by one with every checkpoint written.
    pub sequence: u64,
    /// The segment the acknowledged log ends in.
    pub segment: u32,
    /// The byte offset in that segment just after the last acknowledged
    /// commit record (the segment header's end when nothing is committed).
    pub offset: u64,
    /// The position of the last acknowledged event (0: none).
    pub position: u64,
    /// The chain hash of the last acknowledged record (zeros: none).
    pub hash: Hash,
}

impl Checkpoint {
    /// The slot bytes.
    pub fn encode(&self) -> [u8; SLOT_BYTES] {
        let mut b = [0u8; SLOT_BYTES];
        b[0..8].copy_from_slice(&CHECKPOINT_MAGIC);
        b[8..10].copy_from_slice(&crate::format::FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&self.segment.to_le_bytes());
        b[16..24].copy_from_slice(&self.sequence.to_le_bytes());
        b[24..32].copy_from_slice(&self.offset.to_le_bytes());
        b[32..40].copy_from_slice(&self.position.to_le_bytes());
        b[40..40 + HASH_BYTES].copy_from_slice(&self.hash);
        let crc = crc32c::crc32c(&b[0..92]);
        b[92..96].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a slot; `None` if it is not a valid slot.
    pub fn decode(b: &[u8]) -> Option<Checkpoint> {
        if b.len() < SLOT_BYTES || b[0..8] != CHECKPOINT_MAGIC {
            return None;
        }
        let u32_at = |i: usize| b[i..i + 4].try_into().ok().map(u32::from_le_bytes);
        let u64_at = |i: usize| b[i..i + 8].try_into().ok().map(u64::from_le_bytes);
        if u32_at(92)? != crc32c::crc32c(&b[0..92]) {
            return None;
        }
        if b[8..10] != crate::format::FORMAT_VERSION.to_le_bytes() || b[10..12] != [0, 0] {
            return None;
        }
        // Reserved, zero (docs/store-format.md): one encoding per checkpoint.
        if b[72..92].iter().any(|&x| x != 0) {
            return None;
        }
        Some(Checkpoint {
            segment: u32_at(12)?,
            sequence: u64_at(16)?,
            offset: u64_at(24)?,
            position: u64_at(32)?,
            hash: b[40..40 + HASH_BYTES].try_into().ok()?,
        })
    }

    /// Which slot this checkpoint is written to.
    fn slot(&self) -> u64 {
        self.sequence % 2
    }
}

/// What reading the checkpoint file found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadCheckpoint {
    /// The newest valid slot.
    Valid(Checkpoint),
    /// Neither slot is valid.
    Invalid,
}

/// Reads the newest valid slot of the checkpoint file.
pub fn read(file: &File) -> std::io::Result<ReadCheckpoint> {
    for _ in 0..READ_ATTEMPTS {
        let mut b = [0u8; 2 * SLOT_BYTES];
        let n = read_up_to(file, &mut b)?;
        let slots = [
            Checkpoint::decode(&b[..n.min(SLOT_BYTES)]),
            Checkpoint::decode(b.get(SLOT_BYTES..n).unwrap_or(&[])),
        ];
        if let Some(c) = slots.into_iter().flatten().max_by_key(|c| c.sequence) {
            return Ok(ReadCheckpoint::Valid(c));
        }
    }
    Ok(ReadCheckpoint::Invalid)
}

/// Writes `c` to its slot. The caller decides when to sync the file.
pub fn write(file: &File, c: &Checkpoint) -> std::io::Result<()> {
    file.write_all_at(&c.encode(), c.slot() * SLOT_BYTES as u64)
}

fn read_up_to(file: &File, b: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < b.len() {
        match file.read_at(&mut b[n..], n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn missing_checkpoint(dir: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        ErrorKind::NotAStore {
            dir: dir.to_path_buf(),
            reason: NotAStoreReason::NoCheckpoint,
        }
        .into()
    } else {
        Error::io("open", dir.join(CHECKPOINT_FILE), e)
    }
}

pub(crate) fn read_checkpoint(dir: &Path, file: &File) -> Result<Checkpoint, Error> {
    let path = dir.join(CHECKPOINT_FILE);
    match read(file).map_err(|e| Error::io("read", &path, e))? {
        ReadCheckpoint::Valid(cp) if cp.segment >= 1 => Ok(cp),
        _ => Err(Error::corrupt(Damage::new(
            crate::error::DamageKind::Checkpoint,
            path,
            0,
            "neither checkpoint slot is valid, so the durable end of the log is unknown",
        ))),
    }
}

/// Reads the checkpoint of the store in `dir` without changing anything:
/// the start of every read-only open. A missing directory or checkpoint file
/// means "not a store"; a checkpoint with no valid slot is corruption.
///
/// A reader also refuses a checkpoint whose other slot is damaged (written
/// once, not empty, and failing its checks): the valid slot may then be one
/// commit behind the log (the newer slot damaged after its commit was
/// acknowledged), and a reader, which never reads past the checkpoint,
/// would show the log without that commit as if it were all. A writer's
/// open scans past the checkpoint and writes it again, so it repairs this;
/// a reader cannot tell that commit from a write no caller was told of.
/// A slot being overwritten by a live writer can read as damaged for a
/// moment: the read is tried again, [`DAMAGED_SLOT_ATTEMPTS`] times,
/// [`DAMAGED_SLOT_WAIT_MS`] apart, before it is refused.
pub(crate) fn read_only_checkpoint(dir: &Path) -> Result<Checkpoint, Error> {
    if !dir.is_dir() {
        return Err(ErrorKind::NotAStore {
            dir: dir.to_path_buf(),
            reason: NotAStoreReason::NoDirectory,
        }
        .into());
    }
    let cp_file = File::open(dir.join(CHECKPOINT_FILE)).map_err(|e| missing_checkpoint(dir, e))?;
    let mut attempt = 0;
    loop {
        let cp = read_checkpoint(dir, &cp_file)?;
        let path = dir.join(CHECKPOINT_FILE);
        let Some(slot) = damaged_slot(&cp_file).map_err(|e| Error::io("read", &path, e))? else {
            return Ok(cp);
        };
        attempt += 1;
        if attempt >= DAMAGED_SLOT_ATTEMPTS {
            return Err(Error::corrupt(Damage::new(
                crate::error::DamageKind::Checkpoint,
                path,
                slot * SLOT_BYTES as u64,
                format!(
                    "checkpoint slot {slot} is damaged, so the other one (position {}) may be a \
                     commit behind the log; a read cannot tell where the acknowledged log ends. \
                     Opening the store for writing (any import or append) scans the log and \
                     writes the checkpoint again",
                    cp.position
                ),
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(DAMAGED_SLOT_WAIT_MS));
    }
}

/// How many times [`read_only_checkpoint`] reads a checkpoint with a
/// damaged slot before it refuses it (a live writer's overwrite of a slot
/// lasts microseconds).
const DAMAGED_SLOT_ATTEMPTS: u32 = 5;
/// The wait between those reads, in milliseconds.
const DAMAGED_SLOT_WAIT_MS: u64 = 2;

/// The slot (0 or 1) that holds bytes but is not a valid slot, if one
/// does: a slot never written (short file, or all zeros, as a new store's
/// second slot) is not damaged.
fn damaged_slot(file: &File) -> std::io::Result<Option<u64>> {
    let mut b = [0u8; 2 * SLOT_BYTES];
    let n = read_up_to(file, &mut b)?;
    for slot in 0..2 {
        let start = slot * SLOT_BYTES;
        let bytes = &b[start.min(n)..(start + SLOT_BYTES).min(n)];
        let written = bytes.iter().any(|&x| x != 0);
        if written && Checkpoint::decode(bytes).is_none() {
            return Ok(Some(slot as u64));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_round_trips_and_any_bit_flip_invalidates_it() {
        let c = Checkpoint {
            sequence: 5,
            segment: 2,
            offset: 4096,
            position: 99,
            hash: [7; 32],
        };
        let b = c.encode();
        assert_eq!(Checkpoint::decode(&b), Some(c));
        for i in 0..SLOT_BYTES * 8 {
            let mut d = b;
            d[i / 8] ^= 1 << (i % 8);
            assert_eq!(Checkpoint::decode(&d), None, "bit {i}");
        }
    }

    #[test]
    fn a_slot_with_nonzero_reserved_bytes_is_invalid() {
        let c = Checkpoint {
            sequence: 5,
            segment: 2,
            offset: 4096,
            position: 99,
            hash: [7; 32],
        };
        let mut b = c.encode();
        // A reserved byte set, with a checksum that holds (found by fuzzing).
        b[80] = 1;
        let crc = crc32c::crc32c(&b[0..92]);
        b[92..96].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Checkpoint::decode(&b), None);
    }
}
