//! Blocks. The consensus value is the [`BlockHeader`]: small, signed over by its hash, and committing to
//! everything else (the body through its part-set root, the post-execution state root, the receipts root). The
//! body travels separately as Merkle-proven [`Part`](super::Part)s.

use cvm_consensus::{Value, ValueId};
use cvm_runtime::state::blake2_256;
use parity_scale_codec::{Decode, Encode};

use super::body::BlockBody;
use super::parts::{PartSet, PartSetHeader};

/// Blake2-256 of the SCALE-encoded header; also the consensus `ValueId`.
pub type BlockHash = [u8; 32];

/// The part of a block consensus agrees on: its hash is the consensus value, and it commits to the body.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BlockHeader {
    /// The chain the block belongs to; a block for another chain is invalid.
    pub chain_id: String,
    /// Position in the chain, 1 for the first block.
    pub height: u64,
    /// Milliseconds since the Unix epoch, chosen by the proposer; strictly above the parent's.
    pub time_ms: u64,
    /// Hash of the previous block's header (zero at height 1).
    pub parent_hash: BlockHash,
    /// The proposer's ed25519 public key.
    pub proposer: [u8; 32],
    /// [`membership_hash`](super::validator_schedule::membership_hash) of the validator set of this height: the
    /// set whose certificate finalizes this block.
    pub validators_hash: [u8; 32],
    /// The same of the next height's set, which signs the next block (a light client follows the chain's sets by
    /// these two).
    pub next_validators_hash: [u8; 32],
    /// Blake2-256 of the body's source commitments (the source blocks it ingests).
    pub sources_hash: [u8; 32],
    /// Ordered root over the hashes of the body's transactions.
    pub txs_root: [u8; 32],
    /// Number of transactions in the body.
    pub tx_count: u32,
    /// State root after executing this block on the parent's state.
    pub state_root: [u8; 32],
    /// Root over the transactions' receipts, in block order.
    pub receipts_root: [u8; 32],
    /// Fuel the block's execution spent, summed over its transactions.
    pub fuel_used: u64,
    /// Blake2-256 of SCALE(`body.last_commit`).
    pub last_commit_hash: [u8; 32],
    /// Blake2-256 of SCALE(`body.evidence`).
    pub evidence_hash: [u8; 32],
    /// The parts of SCALE(`BlockBody`).
    pub parts: PartSetHeader,
}

impl BlockHeader {
    /// Blake2-256 of the SCALE-encoded header: the block's identity and consensus value id.
    pub fn hash(&self) -> BlockHash {
        blake2_256(&self.encode())
    }
}

impl Value for BlockHeader {
    fn id(&self) -> ValueId {
        ValueId(self.hash())
    }
}

/// A header with the body it commits to.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Block {
    /// What consensus signs.
    pub header: BlockHeader,
    /// The source commitments, transactions, previous block's commit and evidence.
    pub body: BlockBody,
}

impl Block {
    /// The header's hash.
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// The header's height.
    pub fn height(&self) -> u64 {
        self.header.height
    }

    /// Whether the body is the one the header commits to (source commitments, transactions, last commit,
    /// evidence, part count and root).
    pub fn body_matches_header(&self, part_size: usize) -> bool {
        let h = &self.header;
        h.sources_hash == self.body.sources_hash()
            && h.tx_count as usize == self.body.txs.len()
            && h.txs_root == self.body.txs_root()
            && h.last_commit_hash == self.body.last_commit_hash()
            && h.evidence_hash == self.body.evidence_hash()
            && PartSet::header_of(&self.body.encode(), part_size) == h.parts
    }
}

/// "Time sane": strictly after the parent and not further ahead of the local clock than `max_drift_ms`.
pub fn block_time_ok(time_ms: u64, parent_time_ms: u64, now_ms: u64, max_drift_ms: u64) -> bool {
    time_ms > parent_time_ms && time_ms <= now_ms.saturating_add(max_drift_ms)
}
