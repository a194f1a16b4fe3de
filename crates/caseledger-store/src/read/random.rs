//! Random reads: one event by its position, checked against the hash
//! prefix the index keeps for it (what the open verified, or what this
//! writer wrote since).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use caseledger::RecordedEvent;

use crate::chain::{HashPrefix, prefix};
use crate::error::{Damage, DamageKind, Error};
use crate::format::{
    HASH_BYTES, Hash, Record, SEGMENT_HEADER_BYTES, chain_hash, decode_body, hashed_part,
    stored_hash,
};
use crate::index::Loc;
use crate::segment::{self, SegmentFiles, read_frame_at};

/// Reads the event at `position`, which the index places at `loc` (`None`:
/// not indexed), from the store in `dir`, and checks it is the record the
/// open verified (or this writer wrote): its chain link, recomputed from the
/// hash stored just before it, must give the hash prefix the index keeps.
pub(crate) fn read_event_at(
    dir: &Path,
    files: &SegmentFiles,
    loc: Option<Loc>,
    position: u64,
) -> Result<RecordedEvent, Error> {
    let loc = loc.ok_or_else(|| not_indexed(dir, position))?;
    let path = dir.join(segment::segment_name(loc.segment));
    let file = files.get(loc.segment)?;
    let offset = u64::from(loc.offset);
    let at = path.as_path();
    let damage = |kind: DamageKind| {
        move |detail: String| {
            Error::corrupt(Damage::new(kind, at, offset, detail).at_position(position))
        }
    };
    let body = read_frame_at(&file, offset)
        .map_err(|fe| damage(DamageKind::Undecodable)(fe.error.to_string()))?;
    check_verified_link(&file, &path, offset, &body, loc.hash)
        .map_err(damage(DamageKind::ChainBroken))?;
    event_of_body(&body, position).map_err(damage(DamageKind::Undecodable))
}

/// Checks that the record `body` read at `offset` of `file` is the one the
/// index knows (verified when the store was opened, or written since): its
/// chain link, recomputed from the hash stored just before it, gives the
/// hash prefix the index keeps.
pub(crate) fn check_verified_link(
    file: &File,
    path: &Path,
    offset: u64,
    body: &[u8],
    verified: HashPrefix,
) -> Result<(), String> {
    let prev = read_prev_hash(file, path, offset).map_err(|e| e.to_string())?;
    let link = chain_hash(&prev, hashed_part(body));
    if link != stored_hash(body) || prefix(&link) != verified {
        return Err(
            "this record is not the one verified when the store was opened (its chain \
                    hash differs): it, or the one before it, was changed since"
                .to_owned(),
        );
    }
    Ok(())
}

/// The error for a position the index does not hold.
pub(crate) fn not_indexed(dir: &Path, position: u64) -> Error {
    Error::corrupt(Damage::new(
        crate::error::DamageKind::Inconsistent,
        dir,
        0,
        format!("position {position} is not indexed"),
    ))
}

/// Decodes the event record at `position` from its body.
pub(crate) fn event_of_body(body: &[u8], position: u64) -> Result<RecordedEvent, String> {
    match decode_body(body).map_err(|e| e.to_string())? {
        Record::Event(r) if r.position == position => Ok(RecordedEvent {
            position: r.position,
            version: r.version,
            recorded_at: r.recorded_at,
            event: r.event,
        }),
        _ => Err("the index points at another record".to_owned()),
    }
}

/// The chain hash of the record before the frame at `offset` of a segment:
/// the last bytes of the frame before it, or the header's previous hash for
/// the segment's first record.
pub(crate) fn read_prev_hash(file: &File, path: &Path, offset: u64) -> Result<Hash, Error> {
    let mut hash = [0u8; HASH_BYTES];
    let at = if offset == SEGMENT_HEADER_BYTES as u64 {
        // The header's previous hash: bytes 24..56.
        24
    } else {
        offset.checked_sub(HASH_BYTES as u64).ok_or_else(|| {
            Error::corrupt(Damage::new(
                crate::error::DamageKind::Undecodable,
                path,
                offset,
                "a frame inside the header",
            ))
        })?
    };
    file.read_exact_at(&mut hash, at)
        .map_err(|e| Error::io("read", path, e))?;
    Ok(hash)
}
