//! The value the simulation decides: opaque to the engine, with a host-side validity flag.

use parity_scale_codec::{Decode, Encode};
use sha2::{Digest, Sha256};

use crate::types::{Value, ValueId};

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SimValue {
    pub height: u64,
    pub round: u32,
    pub proposer: u32,
    pub nonce: u64,
    /// What the simulated host's validation answers.
    pub valid: bool,
}

impl Value for SimValue {
    fn id(&self) -> ValueId {
        ValueId(Sha256::digest(self.encode()).into())
    }
}
