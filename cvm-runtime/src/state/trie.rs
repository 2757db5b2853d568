//! Adapters between a [`NodeStore`] and sp-trie: a read-only view for lookups, iteration and proofs, and a
//! write overlay that collects the nodes a block creates without touching the store.

use std::sync::{Arc, LazyLock};

use hash_db::{AsHashDB, HashDB as HashDBT, HashDBRef, Prefix};
use sp_core::{Blake2Hasher, H256, Hasher};
use sp_trie::{
    DBValue, LayoutV0, MemoryDB, Trie, TrieDBBuilder, TrieDBMutBuilder, TrieLayout, TrieMut,
};
use trie_db::NodeCodec as _;

use super::error::StateError;
use super::store::{NodeStore, StateChanges};

/// The root of the main trie after a block: what validators agree on.
pub type StateRoot = H256;

/// The trie layout of all CVM state: sp-trie `LayoutV0` with Blake2-256.
pub type Layout = LayoutV0<Blake2Hasher>;

/// Root of the empty trie.
pub fn empty_root() -> H256 {
    // Hashed once: trie reads compare against it (and the null node's hash) on every lookup.
    static EMPTY_ROOT: LazyLock<H256> = LazyLock::new(sp_trie::empty_trie_root::<Layout>);
    *EMPTY_ROOT
}

fn null_node_hash() -> H256 {
    static NULL_NODE_HASH: LazyLock<H256> =
        LazyLock::new(<Layout as TrieLayout>::Codec::hashed_null_node);
    *NULL_NODE_HASH
}

fn null_node() -> DBValue {
    <Layout as TrieLayout>::Codec::empty_node().to_vec()
}

/// Read-only view of the store for sp-trie.
pub struct StoreReader<'a> {
    store: &'a dyn NodeStore,
}

impl<'a> StoreReader<'a> {
    /// A reader over `store`.
    pub fn new(store: &'a dyn NodeStore) -> Self {
        Self { store }
    }
}

impl HashDBRef<Blake2Hasher, DBValue> for StoreReader<'_> {
    fn get(&self, key: &H256, _prefix: Prefix) -> Option<DBValue> {
        if *key == null_node_hash() {
            return Some(null_node());
        }
        // A store failure surfaces to trie-db as a missing node, which it reports as an incomplete database.
        self.store.get_node(key.as_fixed_bytes()).ok().flatten()
    }

    fn contains(&self, key: &H256, prefix: Prefix) -> bool {
        HashDBRef::get(self, key, prefix).is_some()
    }
}

/// A write overlay: new nodes go to memory, reads fall through to the store.
pub struct OverlayDb<'a> {
    store: &'a dyn NodeStore,
    /// Keyed by node hash with aHash (randomly keyed, like the default SipHash, but cheaper: SipHash over the
    /// node hashes was ~4 % of executing a block).
    overlay: MemoryDB<Blake2Hasher, ahash::RandomState>,
}

impl<'a> OverlayDb<'a> {
    /// An overlay over `store`, with no new nodes yet.
    pub fn new(store: &'a dyn NodeStore) -> Self {
        Self {
            store,
            overlay: MemoryDB::with_hasher(ahash::RandomState::new()),
        }
    }

    /// The nodes created (and not removed again) since this overlay was made, sorted by hash.
    pub fn into_changes(mut self) -> StateChanges {
        let mut nodes: Vec<_> = self
            .overlay
            .drain()
            .into_iter()
            .filter(|(_, (_, rc))| *rc > 0)
            .map(|(hash, (node, _))| (hash.to_fixed_bytes(), node))
            .collect();
        nodes.sort_unstable_by_key(|a| a.0);
        StateChanges { nodes }
    }

    /// Applies `delta` (sorted or not) to the trie at `root` and returns the new root.
    pub fn apply<'k>(
        &mut self,
        root: H256,
        delta: impl IntoIterator<Item = (&'k [u8], Option<&'k [u8]>)>,
    ) -> Result<H256, StateError> {
        self.apply_reporting(root, delta, |_, _| {})
    }

    /// [`apply`](Self::apply), calling `changed` for each entry of `delta` that changes what the trie holds: a
    /// value the key did not hold, or the removal of a key that was present. The trie hands back each key's
    /// previous value as it writes, so this costs no extra lookup.
    pub fn apply_reporting<'k>(
        &mut self,
        root: H256,
        delta: impl IntoIterator<Item = (&'k [u8], Option<&'k [u8]>)>,
        mut changed: impl FnMut(&'k [u8], Option<&'k [u8]>),
    ) -> Result<H256, StateError> {
        let mut root = root;
        {
            let mut trie = TrieDBMutBuilder::<Layout>::from_existing(self, &mut root).build();
            for (key, value) in delta {
                let old = match value {
                    Some(v) => trie
                        .insert(key, v)
                        .map_err(|e| StateError::Trie(e.to_string()))?,
                    None => trie
                        .remove(key)
                        .map_err(|e| StateError::Trie(e.to_string()))?,
                };
                let differs = match (&old, value) {
                    (None, None) => false,
                    // `LayoutV0` keeps every value inline; any other form is compared as changed.
                    (Some(trie_db::Value::Inline(old)), Some(new)) => old[..] != *new,
                    _ => true,
                };
                if differs {
                    changed(key, value);
                }
            }
            trie.commit();
        }
        Ok(root)
    }
}

impl HashDBT<Blake2Hasher, DBValue> for OverlayDb<'_> {
    fn get(&self, key: &H256, prefix: Prefix) -> Option<DBValue> {
        if let Some(v) = HashDBT::get(&self.overlay, key, prefix) {
            return Some(v);
        }
        HashDBRef::get(&StoreReader::new(self.store), key, prefix)
    }

    fn contains(&self, key: &H256, prefix: Prefix) -> bool {
        HashDBT::get(self, key, prefix).is_some()
    }

    fn insert(&mut self, prefix: Prefix, value: &[u8]) -> H256 {
        HashDBT::insert(&mut self.overlay, prefix, value)
    }

    fn emplace(&mut self, key: H256, prefix: Prefix, value: DBValue) {
        HashDBT::emplace(&mut self.overlay, key, prefix, value)
    }

    fn remove(&mut self, key: &H256, prefix: Prefix) {
        HashDBT::remove(&mut self.overlay, key, prefix)
    }
}

impl AsHashDB<Blake2Hasher, DBValue> for OverlayDb<'_> {
    fn as_hash_db(&self) -> &dyn HashDBT<Blake2Hasher, DBValue> {
        self
    }

    fn as_hash_db_mut<'b>(&'b mut self) -> &'b mut (dyn HashDBT<Blake2Hasher, DBValue> + 'b) {
        self
    }
}

/// Read access to one committed trie (the main trie or a manuscript's child trie).
#[derive(Clone)]
pub struct TrieView {
    store: Arc<dyn NodeStore>,
    root: H256,
}

impl TrieView {
    /// The trie with `root` in `store`.
    pub fn new(store: Arc<dyn NodeStore>, root: H256) -> Self {
        Self { store, root }
    }

    /// The trie's root.
    pub fn root(&self) -> H256 {
        self.root
    }

    /// The value at `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        read_value(&*self.store, self.root, key)
    }

    /// The first key `>= from` (or `> from` when `exclusive`) that starts with `prefix`.
    pub fn next_key(
        &self,
        prefix: &[u8],
        from: &[u8],
        exclusive: bool,
    ) -> Result<Option<Vec<u8>>, StateError> {
        next_key(&*self.store, self.root, prefix, from, exclusive)
    }
}

/// The value at `key` in the trie with `root`.
pub fn read_value(
    store: &dyn NodeStore,
    root: H256,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StateError> {
    if root == empty_root() {
        return Ok(None);
    }
    let db = StoreReader::new(store);
    let trie = TrieDBBuilder::<Layout>::new(&db, &root).build();
    trie.get(key).map_err(|e| StateError::Trie(e.to_string()))
}

/// The first key `>= from` (or `> from` when `exclusive`) that starts with `prefix`, in the trie with `root`.
pub fn next_key(
    store: &dyn NodeStore,
    root: H256,
    prefix: &[u8],
    from: &[u8],
    exclusive: bool,
) -> Result<Option<Vec<u8>>, StateError> {
    if root == empty_root() {
        return Ok(None);
    }
    let db = StoreReader::new(store);
    let trie = TrieDBBuilder::<Layout>::new(&db, &root).build();
    let mut iter = trie
        .key_iter()
        .map_err(|e| StateError::Trie(e.to_string()))?;
    let start = if from < prefix { prefix } else { from };
    iter.seek(start)
        .map_err(|e| StateError::Trie(e.to_string()))?;
    for key in iter {
        let key = key.map_err(|e| StateError::Trie(e.to_string()))?;
        if exclusive && key.as_slice() == from {
            continue;
        }
        return Ok(key.starts_with(prefix).then_some(key));
    }
    Ok(None)
}

/// Blake2-256 of arbitrary bytes.
pub fn blake2_256(data: &[u8]) -> [u8; 32] {
    Blake2Hasher::hash(data).to_fixed_bytes()
}

/// Blake2-256 of a value's SCALE encoding, hashed as it is encoded: no buffer of the encoding's size (a 150 KB
/// transaction's would be a fresh mapping, page-faulted in, per hash).
pub fn blake2_256_of_encoding<T: parity_scale_codec::Encode + ?Sized>(value: &T) -> [u8; 32] {
    struct Digest(blake2b_simd::State);
    impl parity_scale_codec::Output for Digest {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut digest = Digest(blake2b_simd::Params::new().hash_length(32).to_state());
    value.encode_to(&mut digest);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.0.finalize().as_bytes());
    out
}

/// Merkle root of an ordered list of encoded items (receipts, transactions).
pub fn ordered_root(items: impl IntoIterator<Item = Vec<u8>>) -> H256 {
    use sp_trie::TrieConfiguration;
    Layout::ordered_trie_root(items)
}
