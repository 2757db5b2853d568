//! What a block says about the source data it ingests: for each Ethereum source block, its number, hash and
//! receipts root. The data itself never travels with the block; every validator reads it from its own endpoint
//! (or, catching up, from peers) and checks it against these.

use parity_scale_codec::{Decode, Encode};

/// One source block a chain block ingests.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SourceCommitment {
    /// The registered source it belongs to.
    pub source: String,
    /// Its number on the source chain.
    pub number: u64,
    /// keccak256 of its RLP header: commits to everything in it.
    pub hash: [u8; 32],
    /// The header's receipts root, which the logs fed to manuscripts come from.
    pub receipts_root: [u8; 32],
}
