//! Dense indexes: keys numbered 0, 1, 2, ... in the order they are first
//! seen, each key stored once in a list by its number, and a hash table
//! that holds only the numbers.
//!
//! Why not a `HashMap<key, number>`: a map keeps the key in every slot, and
//! a table keeps a slot free for every seven it fills and doubles when it
//! grows, so a map of 146,000 case ids held 262,144 slots of 21 bytes (the
//! id, the number, a control byte): 38 bytes a case, a fifth of a replay's
//! memory. Here a slot is the number and its control byte (5 bytes), and
//! each key is stored once, densely, by number: 16 bytes a case id plus
//! about 9 bytes of table (docs/performance.md, "Dense indexes"). The
//! price is one more memory read on a hit (the key, to compare), which
//! the replay's batched lookups overlap.

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

use crate::CaseId;
use crate::ids::KeyedState;

/// The largest number a [`Dense`] index (and `Names`, of the facts) gives:
/// one below `u32::MAX`, which the facts' optional numbers (`OptNum`) use
/// for none.
pub(crate) const MAX_NUMBER: u32 = u32::MAX - 1;

/// Where a [`Dense`] index keeps its keys: by number, `0..len`.
pub(crate) trait Keys: Default {
    /// What is looked up.
    type Key: ?Sized + Eq + Hash;
    /// Key number `n`, if there is one.
    fn key(&self, n: usize) -> Option<&Self::Key>;
    /// Appends a key under the next number.
    fn push(&mut self, key: &Self::Key);
    /// How many keys.
    fn len(&self) -> usize;
}

impl Keys for Vec<CaseId> {
    type Key = CaseId;

    fn key(&self, n: usize) -> Option<&CaseId> {
        self.get(n)
    }

    fn push(&mut self, key: &CaseId) {
        Vec::push(self, *key);
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }
}

/// Byte strings end to end, with where each ends: an id costs its bytes
/// and 8 more, however long (no allocation of its own, no fixed slot).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ByteKeys {
    bytes: Vec<u8>,
    /// `ends[n]`: where key `n` ends in `bytes` (it starts where key
    /// `n - 1` ends). 64 bits: the ids of a large bank can exceed 4 GiB
    /// together only in theory, but a wrong offset would mix two ids.
    ends: Vec<u64>,
}

impl Keys for ByteKeys {
    type Key = [u8];

    fn key(&self, n: usize) -> Option<&[u8]> {
        let end = usize::try_from(*self.ends.get(n)?).ok()?;
        let start = match n.checked_sub(1) {
            Some(before) => usize::try_from(*self.ends.get(before)?).ok()?,
            None => 0,
        };
        self.bytes.get(start..end)
    }

    fn push(&mut self, key: &[u8]) {
        self.bytes.extend_from_slice(key);
        self.ends.push(self.bytes.len() as u64);
    }

    fn len(&self) -> usize {
        self.ends.len()
    }
}

/// Keys numbered densely by first sight; see the module's documentation.
///
/// The table may lag behind the keys: [`push_unindexed`](Self::push_unindexed)
/// adds keys (a merge's, to be looked up only if folding goes on) that
/// [`index_all`](Self::index_all) puts into the table. Lookups and inserts
/// expect every key indexed (callers index first): the table holds exactly
/// the numbers `0..table.len()`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dense<K> {
    keys: K,
    table: HashTable<u32>,
    /// The keyed hasher (random per process): no input can be crafted to
    /// collide in advance (caseledger::ids::KeyedState).
    state: KeyedState,
}

/// Equal when they number the same keys alike: the table follows from the
/// keys.
impl<K: PartialEq> PartialEq for Dense<K> {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys
    }
}

impl<K: Keys> Dense<K> {
    /// The number of `key`, if it has one.
    pub(crate) fn find(&self, key: &K::Key) -> Option<u32> {
        debug_assert_eq!(self.table.len(), self.keys.len(), "looked up unindexed");
        self.find_indexed(key)
    }

    /// The number of `key` if it is indexed: keys pushed unindexed since
    /// the last [`index_all`](Self::index_all) are not found.
    pub(crate) fn find_indexed(&self, key: &K::Key) -> Option<u32> {
        let hash = self.state.hash_one(key);
        self.table
            .find(hash, |&n| self.keys.key(n as usize) == Some(key))
            .copied()
    }

    /// The number of `key`, numbering it next if it has none. Past
    /// [`MAX_NUMBER`] keys, every new one shares that number (as four
    /// billion customers would share it) and is not stored.
    pub(crate) fn number(&mut self, key: &K::Key) -> u32 {
        match self.find(key) {
            Some(n) => n,
            None => self.insert_new(key).unwrap_or(MAX_NUMBER),
        }
    }

    /// Numbers `key`, which has no number yet, next, and indexes it; `None`
    /// (nothing stored) once [`MAX_NUMBER`] keys are numbered.
    pub(crate) fn insert_new(&mut self, key: &K::Key) -> Option<u32> {
        // The table must hold exactly 0..len before the new number joins
        // it, or `index_all` would skip one key and index another twice.
        debug_assert_eq!(self.table.len(), self.keys.len(), "inserted unindexed");
        let n = self.next_number()?;
        self.keys.push(key);
        let Dense { keys, table, state } = self;
        // Every number in the table has its key (they are pushed first),
        // so the fallback hash is never used.
        let rehash = |&m: &u32| keys.key(m as usize).map_or(0, |k| state.hash_one(k));
        table.insert_unique(state.hash_one(key), n, rehash);
        Some(n)
    }

    /// Numbers `key` next without indexing it (see the type's
    /// documentation); the caller knows it has no number yet. `None`
    /// (nothing stored) once [`MAX_NUMBER`] keys are numbered.
    pub(crate) fn push_unindexed(&mut self, key: &K::Key) -> Option<u32> {
        let n = self.next_number()?;
        self.keys.push(key);
        Some(n)
    }

    /// The next number, if one is left.
    fn next_number(&self) -> Option<u32> {
        u32::try_from(self.keys.len())
            .ok()
            .filter(|&n| n < MAX_NUMBER)
    }

    /// Indexes every key pushed unindexed.
    pub(crate) fn index_all(&mut self) {
        let Dense { keys, table, state } = self;
        let from = table.len();
        let to = keys.len();
        if from == to {
            return;
        }
        let rehash = |&m: &u32| keys.key(m as usize).map_or(0, |k| state.hash_one(k));
        table.reserve(to - from, rehash);
        for n in from..to {
            // `n < to = keys.len() <= MAX_NUMBER` (pushes stop there).
            if let (Some(key), Ok(number)) = (keys.key(n), u32::try_from(n)) {
                table.insert_unique(state.hash_one(key), number, rehash);
            }
        }
    }

    /// How many keys are numbered.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Key number `n`, if there is one.
    #[cfg(test)]
    pub(crate) fn key(&self, n: u32) -> Option<&K::Key> {
        self.keys.key(n as usize)
    }

    /// The keys, by number.
    pub(crate) fn into_keys(self) -> K {
        self.keys
    }

    /// Takes in `other`'s keys in `other`'s number order (so that a merge
    /// numbers alike whatever the tables' seeds); returns, for each number
    /// of `other`, the number of the same key here.
    pub(crate) fn absorb(&mut self, other: &Dense<K>) -> Vec<u32> {
        self.index_all();
        (0..other.keys.len())
            .filter_map(|n| other.keys.key(n))
            .map(|key| self.number(key))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_keys_are_numbered_by_first_sight_and_found_by_their_bytes() {
        let long = "C-".repeat(200);
        let ids: Vec<&[u8]> = vec![b"", b"C-1", b"C-10", long.as_bytes(), b"C-"];
        let mut dense = Dense::<ByteKeys>::default();
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(dense.find(id), None);
            assert_eq!(dense.number(id), n as u32);
        }
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(dense.number(id), n as u32, "again");
            assert_eq!(dense.find(id), Some(n as u32));
            assert_eq!(dense.key(n as u32), Some(*id));
        }
        assert_eq!(dense.len(), ids.len());
        assert_eq!(dense.key(ids.len() as u32), None);
    }

    #[test]
    fn unindexed_keys_are_numbered_at_once_and_found_once_indexed() {
        let mut dense = Dense::<Vec<CaseId>>::default();
        let ids: Vec<CaseId> = (0..10_000u128)
            .map(|i| CaseId::from_uuid(uuid::Uuid::from_u128(i * 7919)))
            .collect();
        for id in &ids[..100] {
            dense.number(id);
        }
        for (k, id) in ids[100..].iter().enumerate() {
            assert_eq!(dense.push_unindexed(id), Some(100 + k as u32));
        }
        dense.index_all();
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(dense.find(id), Some(n as u32));
        }
        assert_eq!(dense.clone().into_keys(), ids);
    }

    #[test]
    fn absorb_numbers_new_keys_in_the_other_s_order_whatever_the_seeds() {
        let mut mine = Dense::<ByteKeys>::default();
        for id in ["a", "b", "c"] {
            mine.number(id.as_bytes());
        }
        let mut theirs = Dense::<ByteKeys>::default();
        for id in ["z", "b", "y", "a"] {
            theirs.number(id.as_bytes());
        }
        assert_eq!(mine.absorb(&theirs), [3, 1, 4, 0]);
        assert_eq!(mine.find(b"y"), Some(4));
        for _ in 0..20 {
            let mut mine = Dense::<ByteKeys>::default();
            mine.number(b"x");
            let mut theirs = Dense::<ByteKeys>::default();
            for c in 0..50 {
                theirs.number(format!("C-{c}").as_bytes());
            }
            assert_eq!(mine.absorb(&theirs), (1..=50).collect::<Vec<u32>>());
        }
    }

    #[test]
    fn equal_when_the_same_keys_have_the_same_numbers() {
        let (mut a, mut b) = (Dense::<ByteKeys>::default(), Dense::<ByteKeys>::default());
        a.number(b"x");
        a.number(b"y");
        b.push_unindexed(b"x");
        b.push_unindexed(b"y");
        assert_eq!(a, b, "indexed or not");
        b.index_all();
        b.number(b"z");
        assert_ne!(a, b);
        let mut c = Dense::<ByteKeys>::default();
        c.number(b"y");
        c.number(b"x");
        assert_ne!(a.clone(), c, "other numbers");
        a.number(b"z");
        assert_eq!(a, b);
    }
}
