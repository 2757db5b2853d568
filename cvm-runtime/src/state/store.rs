//! Where trie nodes live. Nodes are content-addressed by their Blake2-256 hash, so one store holds the main trie
//! and every manuscript's child trie, and a node shared between tries is stored once.

use std::collections::HashMap;

use parity_scale_codec::{Decode, Encode};
use parking_lot::RwLock;

/// A 32-byte Blake2-256 hash of a trie node.
pub type NodeHash = [u8; 32];

/// Trie nodes created by executing a block, to be committed atomically with the block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct StateChanges {
    /// (hash, encoded node), sorted by hash.
    pub nodes: Vec<(NodeHash, Vec<u8>)>,
}

/// Failure of the backing store. The node treats it as fatal for the block at hand (never as a receipt).
#[derive(Debug, thiserror::Error)]
#[error("node store: {0}")]
pub struct StoreError(pub String);

/// Persistent (or in-memory) trie node storage. Archival: nodes are never deleted.
pub trait NodeStore: Send + Sync {
    /// The encoded node with this hash, if stored.
    fn get_node(&self, hash: &NodeHash) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores the nodes of an executed block. Must be atomic: all or nothing.
    fn commit(&self, changes: &StateChanges) -> Result<(), StoreError>;
}

/// An in-memory [`NodeStore`] for tests, tools and the `cvm manuscript run` command.
#[derive(Default)]
pub struct MemoryNodeStore {
    nodes: RwLock<HashMap<NodeHash, Vec<u8>>>,
}

impl MemoryNodeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of stored nodes.
    pub fn len(&self) -> usize {
        self.nodes.read().len()
    }

    /// Whether no node is stored.
    pub fn is_empty(&self) -> bool {
        self.nodes.read().is_empty()
    }
}

impl NodeStore for MemoryNodeStore {
    fn get_node(&self, hash: &NodeHash) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.nodes.read().get(hash).cloned())
    }

    fn commit(&self, changes: &StateChanges) -> Result<(), StoreError> {
        let mut nodes = self.nodes.write();
        for (hash, node) in &changes.nodes {
            nodes.insert(*hash, node.clone());
        }
        Ok(())
    }
}
