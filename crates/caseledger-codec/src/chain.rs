//! The hash chain: each record body ends with the SHA-256 of the previous
//! record's hash and the body's other bytes, so changing, removing or
//! reordering any record changes every hash after it.

use sha2::{Digest, Sha256};

use crate::{GENESIS_HASH, HASH_BYTES, Hash, array};

/// The bytes of a record body that its chain hash covers: all but the hash.
pub fn hashed_part(body: &[u8]) -> &[u8] {
    &body[..body.len().saturating_sub(HASH_BYTES)]
}

/// The hash stored at the end of a body (zeros if the body is too short,
/// which [`decode_body`](crate::decode_body) rejects).
pub fn stored_hash(body: &[u8]) -> Hash {
    match body.len().checked_sub(HASH_BYTES) {
        Some(start) => array(&body[start..]),
        None => GENESIS_HASH,
    }
}

/// The chain hash of a record: SHA-256 of the previous hash and the body
/// without its hash.
pub fn chain_hash(prev: &Hash, body_without_hash: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(body_without_hash);
    h.finalize().into()
}

/// Whether a record body's stored hash is the hash of `prev` and its
/// content: its link in the chain holds.
pub fn link_holds(prev: &Hash, body: &[u8]) -> bool {
    chain_hash(prev, hashed_part(body)) == stored_hash(body)
}
