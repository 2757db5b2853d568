//! Manuscript state in sp-trie: node storage, trie access, key layout, record proofs, range (page) proofs and
//! record-set proofs (a block's changed records).

mod append_tree;
mod error;
mod layout;
mod main_read;
mod page_proof;
mod proof;
mod range_proof;
#[cfg(test)]
mod range_proof_tests;
mod record_set;
mod store;
mod trie;

pub use append_tree::build_append_tree;
pub use error::StateError;
pub use layout::*;
pub use main_read::{MainRead, decoded, subscribers};
pub use page_proof::{PageError, PageProof, PageQuery, prove_page, verify_page};
pub use proof::{
    AppendedProof, ProofError, RecordProof, prove_appended_record, prove_record, verify_record,
};
pub use range_proof::{RangeError, RangePage, RangeProof, RangeQuery, prove_range, verify_range};
pub use record_set::{
    AppendedSetProof, RecordSetProof, prove_block_appends, prove_record_set, verify_record_set,
};
pub use sp_core::H256;
pub use store::{MemoryNodeStore, NodeHash, NodeStore, StateChanges, StoreError};
pub use trie::{
    Layout, OverlayDb, StateRoot, StoreReader, TrieView, blake2_256, blake2_256_of_encoding,
    empty_root, next_key, ordered_root, read_value,
};
