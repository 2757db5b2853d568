//! Committed state values by (child trie root, key), shared by the blocks an executor runs.
//!
//! Reading a value a block has not written yet walks the manuscript's child trie from its root, node by node (a
//! loaded validator spent ~13 % of its CPU there). A trie root fixes every value under it, so an entry keyed by
//! root and key can never be stale, whichever block, round or fork produced it; that is what makes the cache safe
//! for consensus: a hit returns exactly what the trie walk would. Entries come from reads, and from each block's
//! own state writes filed under the child root the block produces (the next block reads that root).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::state::H256;

/// Bytes of keys and values kept.
const CAPACITY_BYTES: u64 = 4 << 20;
/// Bookkeeping per entry, on top of its key and value.
const ENTRY_OVERHEAD_BYTES: u64 = 96;

type Key = (H256, Vec<u8>);
type Value = Option<Vec<u8>>;

/// A [`Key`] borrowed, to look one up without allocating: it hashes as the tuple does (root, then the key as a
/// slice) and compares equal to the tuple with the same parts.
#[derive(Hash)]
struct KeyRef<'a>(H256, &'a [u8]);

impl quick_cache::Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.0 == key.0 && self.1 == key.1.as_slice()
    }
}

#[derive(Clone)]
struct EntryWeight;

impl quick_cache::Weighter<Key, Value> for EntryWeight {
    fn weight(&self, key: &Key, value: &Value) -> u64 {
        (key.1.len() + value.as_ref().map_or(0, Vec::len)) as u64 + ENTRY_OVERHEAD_BYTES
    }
}

/// How often reads were served from the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValueCacheStats {
    pub hits: u64,
    pub misses: u64,
    /// What the cached entries weigh (keys, values and bookkeeping).
    pub bytes: u64,
}

pub(crate) struct ValueCache {
    entries: quick_cache::sync::Cache<Key, Value, EntryWeight>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ValueCache {
    pub fn new() -> Self {
        Self {
            entries: quick_cache::sync::Cache::with_weighter(
                (CAPACITY_BYTES / 128) as usize,
                CAPACITY_BYTES,
                EntryWeight,
            ),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The value at `key` in the trie with `root`, if known (`Some(None)`: known to be absent).
    pub fn get(&self, root: H256, key: &[u8]) -> Option<Value> {
        let found = self.entries.get(&KeyRef(root, key));
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Records that the trie with `root` holds `value` at `key`.
    pub fn insert(&self, root: H256, key: Vec<u8>, value: Value) {
        self.entries.insert((root, key), value);
    }

    pub fn stats(&self) -> ValueCacheStats {
        ValueCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: self.entries.weight(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_lookup_finds_what_was_filed_under_its_root_and_key() {
        let cache = ValueCache::new();
        let root = H256::repeat_byte(7);
        cache.insert(root, b"s/a".to_vec(), Some(b"1".to_vec()));
        cache.insert(root, b"s/b".to_vec(), None);
        assert_eq!(cache.get(root, b"s/a"), Some(Some(b"1".to_vec())));
        assert_eq!(cache.get(root, b"s/b"), Some(None));
        assert_eq!(cache.get(root, b"s/c"), None);
        assert_eq!(cache.get(H256::repeat_byte(8), b"s/a"), None);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (2, 2));
    }
}
