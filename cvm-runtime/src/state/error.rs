//! Failure to read or update state.

use super::store::StoreError;

/// Failure to read or update state. Never a manuscript's fault: the block cannot be executed on this node.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The trie cannot be read or updated (usually: a node is missing from the store).
    #[error("trie: {0} (is the node store complete for this state root?)")]
    Trie(String),
    /// The node store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A main-trie entry does not decode as what its key says it holds.
    #[error("corrupt state entry at {key}: {reason}")]
    Corrupt {
        /// The entry's key (lossy UTF-8).
        key: String,
        /// Why it does not decode.
        reason: String,
    },
}
