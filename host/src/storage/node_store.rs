//! Trie nodes in column family `trie`, keyed by their 32-byte hash. Archival: nothing is ever deleted, so any
//! committed state root stays readable.

use std::sync::Arc;

use cvm_runtime::state::{NodeHash, NodeStore, StateChanges, StoreError};
use rocksdb::{DB, WriteBatch};

use super::db::{cf, sync_write};
use super::keys::CF_TRIE;

/// The executor's view of the trie nodes in RocksDB. Obtain it with
/// [`Storage::node_store`](super::Storage::node_store).
#[derive(Clone)]
pub struct RocksNodeStore {
    db: Arc<DB>,
}

impl RocksNodeStore {
    pub(super) fn new(db: Arc<DB>) -> Self {
        Self { db }
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
        let trie = cf(&self.db, CF_TRIE).map_err(|e| StoreError(e.to_string()))?;
        self.db
            .get_cf(trie, hash)
            .map_err(|e| StoreError(format!("reading trie node {}: {e}", hex::encode(hash))))
    }

    fn commit(&self, changes: &StateChanges) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        put_nodes(&self.db, &mut batch, changes).map_err(|e| StoreError(e.to_string()))?;
        sync_write(&self.db, batch, "trie node commit").map_err(|e| StoreError(e.to_string()))
    }
}
