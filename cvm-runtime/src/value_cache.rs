//! Committed manuscript state values, shared by the blocks an executor runs, and kept valid across blocks.
//!
//! Reading a value a block has not written yet walks the manuscript's child trie from its root, node by node (a
//! loaded validator spent ~13 % of its CPU there). Each entry says what one key holds in the child trie with one
//! root. A trie root fixes every value under it, so an entry can never be stale; that is what makes the cache safe
//! for consensus: a hit returns exactly what the trie walk would, whichever block, round or fork produced it.
//!
//! Every block gives its manuscripts new child roots, so an entry filed under the root it was read at would serve
//! one block only (a quarter of the reads hit, in a run of the example workload). The cache therefore also keeps
//! each block's [`Link`]: the child root it produced, the root it started from, and which state keys it wrote. An
//! entry filed under an older root serves a read at a newer one when a chain of links leads from the newer root
//! back to the older and no link on the way wrote the key: those links are facts about the tries' contents, so the
//! value is the one the trie walk would find.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::state::H256;

/// Bytes of keys and values kept.
const CAPACITY_BYTES: u64 = 4 << 20;
/// Bookkeeping per entry, on top of its key and value.
const ENTRY_OVERHEAD_BYTES: u64 = 128;
/// Links kept, newest first out last: a key last read or written this many blocks ago can still be served.
const MAX_LINKS: usize = 256;
/// Written-key hashes kept over all links (8 bytes each plus the set's overhead: about 2 MiB).
const MAX_LINK_KEYS: usize = 128 * 1024;
/// Links followed for one read at most, so that a read of a key no entry holds stays cheap.
const MAX_HOPS: usize = 64;

/// Which child trie an entry belongs to (a hash of the manuscript's name): two manuscripts with the same state
/// keys do not evict each other's entries.
pub(crate) type TrieId = u64;

type Key = (TrieId, Vec<u8>);
type Value = Option<Vec<u8>>;

#[derive(Clone)]
struct Entry {
    /// The child root under which the trie holds `value` at the key.
    root: H256,
    value: Value,
}

/// A [`Key`] borrowed, to look one up without allocating: it hashes as the tuple does (trie, then the key as a
/// slice) and compares equal to the tuple with the same parts.
#[derive(Hash)]
struct KeyRef<'a>(TrieId, &'a [u8]);

impl quick_cache::Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.0 == key.0 && self.1 == key.1.as_slice()
    }
}

#[derive(Clone)]
struct EntryWeight;

impl quick_cache::Weighter<Key, Entry> for EntryWeight {
    fn weight(&self, key: &Key, entry: &Entry) -> u64 {
        (key.1.len() + entry.value.as_ref().map_or(0, Vec::len)) as u64 + ENTRY_OVERHEAD_BYTES
    }
}

/// For sets and maps whose keys are already hashes (written-key hashes, trie roots): uses their first 8 bytes.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(5) ^ n;
    }
}

type PreHashedState = BuildHasherDefault<PreHashed>;

/// The child trie at `root` equals the one at `parent` on every key under `prefix` but those in `written`.
struct Link {
    parent: H256,
    prefix: &'static [u8],
    written: HashSet<u64, PreHashedState>,
}

#[derive(Default)]
struct Lineage {
    links: HashMap<H256, Arc<Link>, PreHashedState>,
    /// Roots in the order their links came, to drop the oldest.
    order: VecDeque<H256>,
    keys: usize,
}

impl Lineage {
    fn add(&mut self, root: H256, link: Link) {
        if root == link.parent {
            return;
        }
        self.keys += link.written.len();
        if let Some(old) = self.links.insert(root, Arc::new(link)) {
            // The same root reached again (another round of a height, say): either link is true.
            self.keys -= old.written.len();
        } else {
            self.order.push_back(root);
        }
        while self.order.len() > MAX_LINKS || (self.keys > MAX_LINK_KEYS && self.order.len() > 1) {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(link) = self.links.remove(&oldest) {
                self.keys -= link.written.len();
            }
        }
    }

    /// Whether the trie at `root` holds at `key` (whose hash is `hash`) what the trie at `ancestor` does, by the
    /// links between them.
    fn unchanged_since(&self, root: H256, ancestor: H256, key: &[u8], hash: u64) -> bool {
        let mut at = root;
        for _ in 0..MAX_HOPS {
            let Some(link) = self.links.get(&at) else {
                return false;
            };
            if !key.starts_with(link.prefix) || link.written.contains(&hash) {
                return false;
            }
            at = link.parent;
            if at == ancestor {
                return true;
            }
        }
        false
    }
}

/// How often reads were served from the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValueCacheStats {
    /// Reads served from the cache.
    pub hits: u64,
    /// Hits on an entry filed under an older root, served through the links (counted in `hits` too).
    pub linked_hits: u64,
    /// Reads that walked the trie.
    pub misses: u64,
    /// What the cached entries weigh (keys, values and bookkeeping).
    pub bytes: u64,
}

pub(crate) struct ValueCache {
    entries: quick_cache::sync::Cache<Key, Entry, EntryWeight>,
    lineage: RwLock<Lineage>,
    /// Hashes keys for the links' written sets; randomly keyed, so that nobody can choose state keys whose hashes
    /// pile up in one bucket of those sets.
    key_hasher: RandomState,
    hits: AtomicU64,
    linked_hits: AtomicU64,
    misses: AtomicU64,
}

impl ValueCache {
    pub fn new() -> Self {
        Self {
            entries: quick_cache::sync::Cache::with_weighter(
                (CAPACITY_BYTES / 160) as usize,
                CAPACITY_BYTES,
                EntryWeight,
            ),
            lineage: RwLock::default(),
            key_hasher: RandomState::new(),
            hits: AtomicU64::new(0),
            linked_hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The trie id of the manuscript `name`, in this cache.
    pub fn trie_id(&self, name: &str) -> TrieId {
        self.key_hasher.hash_one(name)
    }

    /// The value at `key` in the child trie `trie` with `root`, if known (`Some(None)`: known to be absent).
    pub fn get(&self, trie: TrieId, root: H256, key: &[u8]) -> Option<Value> {
        let found = self.entries.get(&KeyRef(trie, key)).and_then(|entry| {
            if entry.root == root {
                return Some(entry.value);
            }
            let hash = self.key_hasher.hash_one(key);
            if !self
                .lineage
                .read()
                .unchanged_since(root, entry.root, key, hash)
            {
                return None;
            }
            self.linked_hits.fetch_add(1, Ordering::Relaxed);
            // Filed again under the newer root, so the next read at it needs no links.
            self.insert(trie, root, key.to_vec(), entry.value.clone());
            Some(entry.value)
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Records that the child trie `trie` with `root` holds `value` at `key`.
    pub fn insert(&self, trie: TrieId, root: H256, key: Vec<u8>, value: Value) {
        self.entries.insert((trie, key), Entry { root, value });
    }

    /// Records that a block turned a child trie at `parent` into one at `root` by writing (or removing) exactly
    /// `written` among the keys under `prefix`.
    pub fn link<'a>(
        &self,
        root: H256,
        parent: H256,
        prefix: &'static [u8],
        written: impl IntoIterator<Item = &'a [u8]>,
    ) {
        let written = written
            .into_iter()
            .filter(|k| k.starts_with(prefix))
            .map(|k| self.key_hasher.hash_one(k))
            .collect();
        self.lineage.write().add(
            root,
            Link {
                parent,
                prefix,
                written,
            },
        );
    }

    pub fn stats(&self) -> ValueCacheStats {
        ValueCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            linked_hits: self.linked_hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: self.entries.weight(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[u8] = b"s/";

    fn root(n: u8) -> H256 {
        H256::repeat_byte(n)
    }

    #[test]
    fn a_borrowed_lookup_finds_what_was_filed_under_its_trie_root_and_key() {
        let cache = ValueCache::new();
        cache.insert(1, root(7), b"s/a".to_vec(), Some(b"1".to_vec()));
        cache.insert(1, root(7), b"s/b".to_vec(), None);
        assert_eq!(cache.get(1, root(7), b"s/a"), Some(Some(b"1".to_vec())));
        assert_eq!(cache.get(1, root(7), b"s/b"), Some(None));
        assert_eq!(cache.get(1, root(7), b"s/c"), None);
        assert_eq!(cache.get(2, root(7), b"s/a"), None, "another trie");
        assert_eq!(cache.get(1, root(8), b"s/a"), None, "another root, no link");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.linked_hits, stats.misses), (2, 0, 3));
    }

    #[test]
    fn links_carry_unwritten_keys_to_newer_roots_and_only_those() {
        let cache = ValueCache::new();
        cache.insert(1, root(1), b"s/a".to_vec(), Some(b"a1".to_vec()));
        cache.insert(1, root(1), b"s/b".to_vec(), Some(b"b1".to_vec()));
        cache.insert(1, root(1), b"d/r".to_vec(), Some(b"r1".to_vec()));
        // Block 2 writes s/b (and a record); block 3 writes s/c.
        cache.link(root(2), root(1), S, [&b"s/b"[..], b"d/x"]);
        cache.link(root(3), root(2), S, [&b"s/c"[..]]);
        assert_eq!(cache.get(1, root(3), b"s/a"), Some(Some(b"a1".to_vec())));
        assert_eq!(cache.get(1, root(3), b"s/b"), None, "written on the way");
        assert_eq!(cache.get(1, root(2), b"s/b"), None, "written by that block");
        assert_eq!(
            cache.get(1, root(3), b"d/r"),
            None,
            "outside the links' prefix"
        );
        assert_eq!(cache.get(2, root(3), b"s/a"), None, "another trie's entry");
        // The hit was filed again under the newer root.
        cache.lineage.write().links.clear();
        assert_eq!(cache.get(1, root(3), b"s/a"), Some(Some(b"a1".to_vec())));
        assert_eq!(cache.stats().linked_hits, 1);
    }

    #[test]
    fn a_sibling_root_is_not_an_ancestor() {
        let cache = ValueCache::new();
        cache.insert(1, root(2), b"s/a".to_vec(), Some(b"round 0".to_vec()));
        // Rounds 0 and 1 of one height, both on root 1; the entry was read at round 0's root.
        cache.link(root(2), root(1), S, [&b"s/a"[..]]);
        cache.link(root(3), root(1), S, [&b"s/z"[..]]);
        assert_eq!(cache.get(1, root(3), b"s/a"), None);
        assert_eq!(cache.get(1, root(1), b"s/a"), None, "links lead only back");
    }

    #[test]
    fn the_lineage_stays_bounded_and_drops_its_oldest_links() {
        let mut lineage = Lineage::default();
        let link = |parent: H256, keys: u64| Link {
            parent,
            prefix: S,
            written: (0..keys).collect(),
        };
        for n in 1..=(MAX_LINKS as u64 + 10) {
            let r = H256::from_low_u64_be(n);
            lineage.add(r, link(H256::from_low_u64_be(n - 1), 1));
        }
        assert_eq!(lineage.links.len(), MAX_LINKS);
        assert!(!lineage.links.contains_key(&H256::from_low_u64_be(1)));
        lineage.add(root(0xaa), link(root(0xab), MAX_LINK_KEYS as u64));
        assert_eq!(
            lineage.links.len(),
            1,
            "one link over the key budget keeps only itself"
        );
        assert_eq!(lineage.keys, MAX_LINK_KEYS);
        lineage.add(root(0xab), link(root(0xab), 5));
        assert_eq!(
            lineage.links.len(),
            1,
            "a block that changed nothing adds no link"
        );
    }

    #[test]
    fn hops_are_bounded() {
        let cache = ValueCache::new();
        cache.insert(
            1,
            H256::from_low_u64_be(0),
            b"s/a".to_vec(),
            Some(b"old".to_vec()),
        );
        for n in 1..=(MAX_HOPS as u64 + 1) {
            cache.link(
                H256::from_low_u64_be(n),
                H256::from_low_u64_be(n - 1),
                S,
                std::iter::empty(),
            );
        }
        let at = |n: u64| H256::from_low_u64_be(n);
        assert_eq!(cache.get(1, at(MAX_HOPS as u64 + 1), b"s/a"), None);
        assert_eq!(
            cache.get(1, at(MAX_HOPS as u64), b"s/a"),
            Some(Some(b"old".to_vec()))
        );
    }
}
