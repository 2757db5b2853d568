//! [`EthBlockData`]: one Ethereum block in the form a node stores (content-addressed by its hash) and serves
//! to peers. Nothing in it is trusted: [`super::verify_block`] checks every part against the header.

use alloy_primitives::keccak256;
use parity_scale_codec::{Decode, Encode};

/// One Ethereum block's header, transactions and receipts, each in its canonical encoding.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct EthBlockData {
    /// The header's RLP; its keccak-256 is the block hash.
    pub header_rlp: Vec<u8>,
    /// Each transaction's EIP-2718 encoding (a legacy transaction's RLP list as is), in block order.
    pub transactions: Vec<Vec<u8>>,
    /// Each receipt's EIP-2718 encoding (with its bloom), in transaction order; `None` when only the header
    /// and transactions are known.
    pub receipts: Option<Vec<Vec<u8>>>,
}

impl EthBlockData {
    /// The block hash the header claims to be (keccak-256 of its RLP); unverified until the rest is checked.
    pub fn hash(&self) -> [u8; 32] {
        keccak256(&self.header_rlp).0
    }

    /// Bytes held: what a cache or a response limit counts.
    pub fn size(&self) -> usize {
        self.header_rlp.len()
            + self.transactions.iter().map(Vec::len).sum::<usize>()
            + self.receipts.iter().flatten().map(Vec::len).sum::<usize>()
    }
}
