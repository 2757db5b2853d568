//! Trie nodes in column family `trie`, keyed by their 32-byte hash. Archival: nothing is ever deleted, so any
//! committed state root stays readable.
//!
//! Reads go through a bounded in-memory cache shared by every [`RocksNodeStore`] of a [`super::Storage`]:
//! executing a block reads each touched key's path from the root, node by node, and without the cache those
//! reads were RocksDB memtable and block lookups (the largest item of a loaded validator's profile). Nodes are
//! content-addressed, so a cached node can never be stale.

use std::sync::Arc;

use cvm_runtime::state::{NodeHash, NodeStore, StateChanges, StoreError};
use rocksdb::{DB, WriteBatch};

use super::keys::CF_TRIE;
use super::rocks::{cf, sync_write};

/// Bytes of trie nodes kept in memory.
const NODE_CACHE_BYTES: u64 = 32 << 20;
/// Bookkeeping per cached node, on top of its bytes.
const NODE_OVERHEAD_BYTES: u64 = 64;

#[derive(Clone)]
struct NodeWeight;

impl quick_cache::Weighter<[u8; 32], Arc<[u8]>> for NodeWeight {
    fn weight(&self, _key: &[u8; 32], node: &Arc<[u8]>) -> u64 {
        node.len() as u64 + NODE_OVERHEAD_BYTES
    }
}

/// Recently read or written trie nodes, by hash.
#[derive(Clone)]
pub(super) struct NodeCache(Arc<quick_cache::sync::Cache<[u8; 32], Arc<[u8]>, NodeWeight>>);

impl NodeCache {
    pub(super) fn new() -> Self {
        Self(Arc::new(quick_cache::sync::Cache::with_weighter(
            (NODE_CACHE_BYTES / 256) as usize,
            NODE_CACHE_BYTES,
            NodeWeight,
        )))
    }

    /// What the cached nodes weigh.
    pub(super) fn bytes(&self) -> u64 {
        self.0.weight()
    }

    /// Remembers nodes just written (the next block reads its parent's new nodes first).
    pub(super) fn insert_all(&self, changes: &StateChanges) {
        for (hash, node) in &changes.nodes {
            self.0.insert(*hash, Arc::from(node.as_slice()));
        }
    }
}

/// The executor's view of the trie nodes in RocksDB. Obtain it with
/// [`Storage::node_store`](super::Storage::node_store).
#[derive(Clone)]
pub struct RocksNodeStore {
    db: Arc<DB>,
    cache: NodeCache,
}

impl RocksNodeStore {
    pub(super) fn new(db: Arc<DB>, cache: NodeCache) -> Self {
        Self { db, cache }
    }
}

/// Adds every node of `changes` to `batch`.
pub(super) fn put_nodes(
    db: &DB,
    batch: &mut WriteBatch,
    changes: &StateChanges,
) -> Result<(), super::StorageError> {
    let trie = cf(db, CF_TRIE)?;
    for (hash, node) in &changes.nodes {
        batch.put_cf(trie, hash, node);
    }
    Ok(())
}

impl NodeStore for RocksNodeStore {
    fn get_node(&self, hash: &NodeHash) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(node) = self.cache.0.get(hash) {
            return Ok(Some(node.to_vec()));
        }
        let trie = cf(&self.db, CF_TRIE).map_err(|e| StoreError(e.to_string()))?;
        let node = self
            .db
            .get_cf(trie, hash)
            .map_err(|e| StoreError(format!("reading trie node {}: {e}", hex::encode(hash))))?;
        if let Some(node) = &node {
            self.cache.0.insert(*hash, Arc::from(node.as_slice()));
        }
        Ok(node)
    }

    fn commit(&self, changes: &StateChanges) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        put_nodes(&self.db, &mut batch, changes).map_err(|e| StoreError(e.to_string()))?;
        sync_write(&self.db, batch, "trie node commit").map_err(|e| StoreError(e.to_string()))?;
        self.cache.insert_all(changes);
        Ok(())
    }
}
