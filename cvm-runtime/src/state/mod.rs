//! Manuscript state in sp-trie: node storage, trie access, key layout and record proofs.

mod error;
mod layout;
mod main_read;
mod proof;
mod store;
mod trie;

pub use error::StateError;
pub use layout::*;
pub use main_read::{MainRead, decoded, subscribers};
pub use proof::{ProofError, RecordProof, prove_record, verify_record};
pub use sp_core::H256;
pub use store::{MemoryNodeStore, NodeHash, NodeStore, StateChanges, StoreError};
pub use trie::{
    Layout, OverlayDb, StateRoot, StoreReader, TrieView, blake2_256, blake2_256_of_encoding,
    empty_root, next_key, ordered_root, read_value,
};
