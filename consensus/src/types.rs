//! Basic consensus coordinates (height, round, step) and the value abstraction.

use core::fmt::Debug;
use parity_scale_codec::{Decode, Encode};

/// Block height: the index of the consensus instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Height(pub u64);

impl Height {
    /// The height after this one.
    pub fn next(self) -> Height {
        Height(self.0 + 1)
    }
}

/// Round within a height. The paper's `-1` ("no round") is `Option<Round>::None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Round(pub u32);

impl Round {
    /// The round after this one.
    pub fn next(self) -> Round {
        Round(self.0 + 1)
    }
}

/// 32-byte identifier of a value (for a block: its header hash). Votes carry only this.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct ValueId(pub [u8; 32]);

impl Debug for ValueId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ValueId({})", hex::encode(&self.0[..6]))
    }
}

/// What consensus agrees on. The engine never looks inside a value: it only needs its id,
/// and asks the host whether a value is valid.
pub trait Value: Clone + Eq + Debug + Encode + Decode + Send + Sync + 'static {
    /// The value's identifier (a hash of its encoding): what votes and certificates name.
    fn id(&self) -> ValueId;
}

/// A step of a round (paper: `step_p`). Ordered as in the paper so `step >= Prevote` works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum Step {
    /// Height started but round 0 not yet (waiting for the block interval, or held until
    /// there is work: see `Config::hold_round_zero`).
    NewHeight,
    /// Waiting for the round's proposal.
    Propose,
    /// Prevoted; waiting for 2f+1 prevotes.
    Prevote,
    /// Precommitted; waiting for 2f+1 precommits.
    Precommit,
    /// A value was decided at this height.
    Commit,
}

/// Kind of a vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum VoteKind {
    /// First voting step: support for a proposal (or nil).
    Prevote,
    /// Second voting step: 2f+1 of them for a value decide it.
    Precommit,
}

/// Public key of a validator (ed25519), which is also its identity and sort key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct ValidatorId(pub [u8; 32]);

impl Debug for ValidatorId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Validator({})", hex::encode(&self.0[..4]))
    }
}

/// Identifies the chain in every signed payload so signatures cannot be replayed across chains.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct ChainId(pub String);

impl ChainId {
    /// A chain id from its name.
    pub fn new(id: impl Into<String>) -> Self {
        ChainId(id.into())
    }
}
