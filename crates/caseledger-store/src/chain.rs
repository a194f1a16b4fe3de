//! The hash chain as the file store keeps it: the hash prefix its index
//! holds for every event, and the walk that checks every link of a log
//! while an open's scan decodes it on another thread. The chain hash itself
//! is the codec's ([`caseledger_codec::chain_hash`]).

use std::path::PathBuf;
use std::sync::Arc;

use caseledger_codec::link_holds;

use crate::format::{Hash, peek_event_position, stored_hash};
use crate::layout::{Bound, Point};
use crate::segment::{SegmentReader, open_segment};

/// The first eight bytes of a chain hash, as the index keeps it for every
/// event: a random read recomputes the record's link and compares it with
/// this, so a record changed after the open is caught unless someone finds a
/// 64-bit second preimage of SHA-256 (about 2^64 hashes).
pub type HashPrefix = u64;

/// The prefix of a hash.
pub fn prefix(hash: &Hash) -> HashPrefix {
    let mut b = [0u8; 8];
    b.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(b)
}

/// A record whose link does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Where its frame starts.
    pub point: Point,
    /// Its segment file.
    pub file: PathBuf,
    /// The record's position (an event) or the last position before it (a
    /// commit record).
    pub position: u64,
    /// Which record.
    pub what: &'static str,
}

impl Broken {
    /// The corruption it is.
    pub fn damage(&self) -> crate::error::Damage {
        crate::error::Damage::new(
            crate::error::DamageKind::ChainBroken,
            &self.file,
            self.point.offset,
            format!(
                "the chain hash of this {} does not match its content: the record, or the one \
                 before it, was changed",
                self.what
            ),
        )
        .at_position(self.position)
    }
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// The hash prefix of every event record walked, in log order.
    pub prefixes: Vec<HashPrefix>,
    /// The first record whose link does not hold.
    pub broken: Option<Broken>,
}

/// Walks the frames of the segments (`paths[i]` is segment i + 1), bounded
/// like the scan it runs beside (`bound`, the checkpoint `cp`), and checks
/// every record's link. It stops at the first frame it cannot read (a file,
/// header or checksum failure): the scan reports those.
pub fn walk(paths: &[PathBuf], cp: Point, bound: Bound) -> Walk {
    let mut out = Walk::default();
    let mut prev = crate::format::GENESIS_HASH;
    let mut last_position = 0u64;
    for (number, path) in (1u32..).zip(paths) {
        let limit = match bound {
            Bound::Checkpoint if number > cp.segment => break,
            Bound::Checkpoint if number == cp.segment => cp.offset,
            _ => u64::MAX,
        };
        let Ok(file) = open_segment(path) else {
            return out;
        };
        let mut reader = SegmentReader::new(Arc::new(file), 0, limit);
        if reader.header().is_err() {
            return out;
        }
        while let Ok(Some((offset, body))) = reader.next_frame() {
            let event_position = peek_event_position(body);
            if !link_holds(&prev, body) {
                out.broken = Some(Broken {
                    point: Point {
                        segment: number,
                        offset,
                    },
                    file: path.clone(),
                    position: event_position.unwrap_or(last_position),
                    what: match event_position {
                        Some(_) => "event record",
                        None => "commit record",
                    },
                });
                return out;
            }
            prev = stored_hash(body);
            if let Some(p) = event_position {
                last_position = p;
                out.prefixes.push(prefix(&prev));
            }
        }
    }
    out
}
