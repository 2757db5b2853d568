//! Manuscript state in sp-trie: node storage, trie access, key layout and record proofs.

mod layout;
mod proof;
mod store;
mod trie;

pub use layout::*;
pub use proof::{ProofError, RecordProof, prove_record, verify_record};
pub use store::{MemoryNodeStore, NodeHash, NodeStore, StoreError};
pub use trie::{
    Layout, OverlayDb, StoreReader, TrieView, blake2_256, blake2_256_of_encoding, empty_root,
    next_key, ordered_root, read_value,
};

use parity_scale_codec::{Decode, Encode};
pub use sp_core::H256;

/// The root of the main trie after a block: what validators agree on.
pub type StateRoot = H256;

/// Trie nodes created by executing a block, to be committed atomically with the block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct StateChanges {
    /// (hash, encoded node), sorted by hash.
    pub nodes: Vec<(NodeHash, Vec<u8>)>,
}

/// Failure to read or update state. Never a manuscript's fault: the block cannot be executed on this node.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("trie: {0} (is the node store complete for this state root?)")]
    Trie(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("corrupt state entry at {key}: {reason}")]
    Corrupt { key: String, reason: String },
}
