//! The value the simulation decides: opaque to the engine, with a host-side validity flag.

use parity_scale_codec::{Decode, Encode};
use sha2::{Digest, Sha256};

use cvm_consensus::{Value, ValueId};

/// A block stand-in: where and by whom it was proposed, and a nonce so values differ.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SimValue {
    /// Height it was proposed at.
    pub height: u64,
    /// Round it was proposed in.
    pub round: u32,
    /// Index of the proposing node.
    pub proposer: u32,
    /// Random, so two proposals of one slot differ.
    pub nonce: u64,
    /// What the simulated host's validation answers.
    pub valid: bool,
}

impl Value for SimValue {
    fn id(&self) -> ValueId {
        ValueId(Sha256::digest(self.encode()).into())
    }
}
