//! A projection's checkpoint file: the projection's position and state, in
//! one checksummed file replaced atomically (docs/store-format.md,
//! "Projection checkpoints").
//!
//! Bytes, little-endian: the magic `CLEDGPRJ` (8), the format version
//! (u16), two reserved zero bytes and four more (u32), the position (u64),
//! (version 2) the anchor: the position (u64) and chain hash (32 bytes) of
//! the log's head at the last commit the projection had read, all zero for
//! none, then the state's length (u64), the state (serde_json), then the
//! CRC-32C (Castagnoli) of every byte before it (u32). Version 1, without
//! the anchor, still loads.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, ProjectionCheckpointReason as Reason};
use crate::layout::{Head, sync_dir};

/// The first eight bytes of a projection checkpoint file.
const MAGIC: [u8; 8] = *b"CLEDGPRJ";
/// The format version this build writes (it reads this one and 1).
pub const PROJECTION_CHECKPOINT_VERSION: u16 = 2;
/// The version before the anchor.
const VERSION_WITHOUT_ANCHOR: u16 = 1;
/// The largest state a checkpoint file holds, in bytes (256 MiB): a read
/// model larger than that belongs in a database (see caseledger-postgres).
pub const MAX_STATE_BYTES: u64 = 256 << 20;
/// Magic, version, reserved, position, anchor (position and hash), length.
const FIXED_BYTES: usize = 8 + 2 + 2 + 4 + 8 + ANCHOR_BYTES + 8;
/// The anchor's position and hash (version 2).
const ANCHOR_BYTES: usize = 8 + 32;
/// The fixed bytes of version 1: no anchor.
const FIXED_BYTES_V1: usize = FIXED_BYTES - ANCHOR_BYTES;
const CRC_BYTES: usize = 4;

/// The file a checkpoint is written to before it is renamed over `path`:
/// `path` with `.tmp` appended. A crash leaves at most this file behind;
/// the next save overwrites it, and loads never read it.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

fn damaged(path: &Path, reason: Reason) -> Error {
    ErrorKind::ProjectionCheckpoint {
        path: path.to_path_buf(),
        reason,
    }
    .into()
}

/// The bytes of a checkpoint of `state` at `position`. Fails if the state
/// does not serialize or is larger than [`MAX_STATE_BYTES`] (the error
/// names `path`, where it was to be written).
pub fn checkpoint_bytes<P: Serialize>(
    path: &Path,
    position: u64,
    state: &P,
) -> Result<Vec<u8>, Error> {
    anchored_bytes(path, position, None, state)
}

/// [`checkpoint_bytes`] with the anchor: the head of the log at the last
/// commit the projection had read (at or before `position`).
fn anchored_bytes<P: Serialize>(
    path: &Path,
    position: u64,
    anchor: Option<Head>,
    state: &P,
) -> Result<Vec<u8>, Error> {
    let mut b = Vec::with_capacity(FIXED_BYTES + 256);
    b.extend_from_slice(&MAGIC);
    b.extend_from_slice(&PROJECTION_CHECKPOINT_VERSION.to_le_bytes());
    b.extend_from_slice(&[0; 6]);
    b.extend_from_slice(&position.to_le_bytes());
    let anchor = anchor.filter(|h| h.position > 0).unwrap_or(Head {
        position: 0,
        hash: [0; 32],
    });
    b.extend_from_slice(&anchor.position.to_le_bytes());
    b.extend_from_slice(&anchor.hash);
    b.extend_from_slice(&[0; 8]);
    serde_json::to_writer(&mut b, state).map_err(|e| {
        damaged(
            path,
            Reason::State {
                detail: e.to_string(),
            },
        )
    })?;
    let len = (b.len() - FIXED_BYTES) as u64;
    if len > MAX_STATE_BYTES {
        return Err(damaged(
            path,
            Reason::TooLarge {
                bytes: len,
                limit: MAX_STATE_BYTES,
            },
        ));
    }
    b[FIXED_BYTES - 8..FIXED_BYTES].copy_from_slice(&len.to_le_bytes());
    let crc = crc32c::crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    Ok(b)
}

/// What a checkpoint file holds.
pub(crate) struct Loaded<P> {
    pub(crate) position: u64,
    /// The head at the last commit read (version 2, and one was read).
    pub(crate) anchor: Option<Head>,
    pub(crate) state: P,
}

/// Decodes a checkpoint file's bytes into its position and state.
#[cfg(test)]
fn decode<P: DeserializeOwned>(path: &Path, b: &[u8]) -> Result<(u64, P), Error> {
    decode_anchored(path, b).map(|l| (l.position, l.state))
}

/// Decodes a checkpoint file's bytes, the anchor included.
fn decode_anchored<P: DeserializeOwned>(path: &Path, b: &[u8]) -> Result<Loaded<P>, Error> {
    let truncated = || {
        damaged(
            path,
            Reason::Truncated {
                bytes: b.len() as u64,
            },
        )
    };
    if b.len() < MAGIC.len() || b[..MAGIC.len()] != MAGIC {
        return Err(match b.len() < MAGIC.len() && MAGIC.starts_with(b) {
            true => truncated(),
            false => damaged(path, Reason::NotACheckpoint),
        });
    }
    if b.len() < FIXED_BYTES_V1 + CRC_BYTES {
        return Err(truncated());
    }
    let u64_at = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    };
    let version = u16::from_le_bytes([b[8], b[9]]);
    // Where the state's length is and the state begins, by version.
    let fixed = match version {
        PROJECTION_CHECKPOINT_VERSION => FIXED_BYTES,
        VERSION_WITHOUT_ANCHOR => FIXED_BYTES_V1,
        _ => {
            return Err(damaged(
                path,
                Reason::UnsupportedVersion {
                    found: version,
                    supported: PROJECTION_CHECKPOINT_VERSION,
                },
            ));
        }
    };
    if b.len() < fixed + CRC_BYTES {
        return Err(truncated());
    }
    let len = u64_at(fixed - 8);
    let body = (b.len() - fixed - CRC_BYTES) as u64;
    if len > MAX_STATE_BYTES || body > len {
        return Err(damaged(
            path,
            Reason::TooLarge {
                bytes: len.max(body),
                limit: MAX_STATE_BYTES,
            },
        ));
    }
    if body < len {
        return Err(truncated());
    }
    let end = b.len() - CRC_BYTES;
    let crc = u32::from_le_bytes([b[end], b[end + 1], b[end + 2], b[end + 3]]);
    if crc != crc32c::crc32c(&b[..end]) || b[10..16].iter().any(|&x| x != 0) {
        return Err(damaged(path, Reason::ChecksumMismatch));
    }
    let state = serde_json::from_slice(&b[fixed..end]).map_err(|e| {
        damaged(
            path,
            Reason::State {
                detail: e.to_string(),
            },
        )
    })?;
    let anchor = (version == PROJECTION_CHECKPOINT_VERSION)
        .then(|| {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(&b[32..64]);
            Head {
                position: u64_at(24),
                hash,
            }
        })
        .filter(|h| h.position > 0);
    Ok(Loaded {
        position: u64_at(16),
        anchor,
        state,
    })
}

/// Reads the checkpoint file at `path`: the position and the state it
/// holds, or `None` when there is no such file. A damaged file, or one
/// whose state is not `P`'s, is an [`ErrorKind::ProjectionCheckpoint`].
pub fn load_checkpoint<P: DeserializeOwned>(path: &Path) -> Result<Option<(u64, P)>, Error> {
    Ok(load_anchored(path)?.map(|l| (l.position, l.state)))
}

/// [`load_checkpoint`], the anchor included.
pub(crate) fn load_anchored<P: DeserializeOwned>(path: &Path) -> Result<Option<Loaded<P>>, Error> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("stat", path, e)),
    };
    let most = MAX_STATE_BYTES + (FIXED_BYTES + CRC_BYTES) as u64;
    if meta.len() > most {
        return Err(damaged(
            path,
            Reason::TooLarge {
                bytes: meta.len(),
                limit: MAX_STATE_BYTES,
            },
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    decode_anchored(path, &bytes).map(Some)
}

/// Stores `state` at `position` in the checkpoint file at `path`,
/// atomically: written to [`temp_path`], fsynced, renamed over `path`, and
/// the directory fsynced. A crash at any step leaves `path` holding the old
/// checkpoint or the new one, whole.
pub fn save_checkpoint<P: Serialize>(path: &Path, position: u64, state: &P) -> Result<(), Error> {
    save_anchored(path, position, None, state)
}

/// [`save_checkpoint`] with the anchor (see [`anchored_bytes`]).
pub(crate) fn save_anchored<P: Serialize>(
    path: &Path,
    position: u64,
    anchor: Option<Head>,
    state: &P,
) -> Result<(), Error> {
    let bytes = anchored_bytes(path, position, anchor, state)?;
    let temp = temp_path(path);
    let mut file = File::options()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&temp)
        .map_err(|e| Error::io("create", &temp, e))?;
    file.write_all(&bytes)
        .map_err(|e| Error::io("write", &temp, e))?;
    file.sync_all().map_err(|e| Error::io("fsync", &temp, e))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(|e| Error::io("rename", &temp, e))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_file_still_loads_without_an_anchor_and_version_2_keeps_it() {
        let path = Path::new("p.checkpoint");
        let state = serde_json::to_vec(&vec![7u32]).unwrap();
        let mut v1 = Vec::new();
        v1.extend_from_slice(&MAGIC);
        v1.extend_from_slice(&1u16.to_le_bytes());
        v1.extend_from_slice(&[0; 6]);
        v1.extend_from_slice(&9u64.to_le_bytes());
        v1.extend_from_slice(&(state.len() as u64).to_le_bytes());
        v1.extend_from_slice(&state);
        let crc = crc32c::crc32c(&v1);
        v1.extend_from_slice(&crc.to_le_bytes());
        let l: Loaded<Vec<u32>> = decode_anchored(path, &v1).unwrap();
        assert_eq!((l.position, l.anchor, l.state), (9, None, vec![7]));
        let anchor = Head {
            position: 8,
            hash: [3; 32],
        };
        let v2 = anchored_bytes(path, 9, Some(anchor), &vec![7u32]).unwrap();
        let l: Loaded<Vec<u32>> = decode_anchored(path, &v2).unwrap();
        assert_eq!((l.position, l.anchor, l.state), (9, Some(anchor), vec![7]));
    }

    #[test]
    fn bytes_round_trip_and_every_bit_flip_is_refused() {
        let path = Path::new("p.checkpoint");
        let b = checkpoint_bytes(path, 42, &vec![1u32, 2, 3]).unwrap();
        let (position, state): (u64, Vec<u32>) = decode(path, &b).unwrap();
        assert_eq!((position, state), (42, vec![1, 2, 3]));
        for i in 0..b.len() * 8 {
            let mut d = b.clone();
            d[i / 8] ^= 1 << (i % 8);
            assert!(decode::<Vec<u32>>(path, &d).is_err(), "bit {i}");
        }
        for cut in 0..b.len() {
            let e = decode::<Vec<u32>>(path, &b[..cut]).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::ProjectionCheckpoint {
                        reason: Reason::Truncated { .. },
                        ..
                    }
                ),
                "cut at {cut}: {e}"
            );
        }
    }
}
