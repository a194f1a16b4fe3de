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
pub(crate) fn read_only_checkpoint(dir: &Path) -> Result<Checkpoint, Error> {
    if !dir.is_dir() {
        return Err(ErrorKind::NotAStore {
            dir: dir.to_path_buf(),
            reason: NotAStoreReason::NoDirectory,
        }
        .into());
    }
    let cp_file = File::open(dir.join(CHECKPOINT_FILE)).map_err(|e| missing_checkpoint(dir, e))?;
    read_checkpoint(dir, &cp_file)
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
