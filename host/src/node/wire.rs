//! What nodes gossip, SCALE-encoded: consensus messages (proposals carry only the header, and equivocation
//! evidence rides along) and the body parts.

use cvm_consensus::{DuplicateVoteEvidence, SignedProposal, SignedVote};
use parity_scale_codec::{Decode, DecodeAll, Encode};

use crate::chain::{BlockHeader, Part, PartSetHeader};

/// A consensus message on the `consensus` topic.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ConsensusMessage {
    /// A proposal of a header (its body travels as parts).
    Proposal(Box<SignedProposal<BlockHeader>>),
    /// A prevote or precommit.
    Vote(SignedVote),
    /// Two conflicting votes of one validator, for the next block to commit.
    Evidence(Box<DuplicateVoteEvidence>),
}

/// A consensus message as gossiped. `resend` makes a re-broadcast a distinct gossip message (gossipsub drops
/// exact duplicates it has seen), so a peer that missed the first copy gets it; the engine ignores repeats.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ConsensusEnvelope {
    /// Re-broadcast counter (0 for the first copy).
    pub resend: u32,
    /// The proposal or vote carried.
    pub message: ConsensusMessage,
}

/// One part of a proposed block's body. `resend` plays the role it has in [`ConsensusEnvelope`]: without it a
/// re-broadcast part is byte-identical to the first copy and gossipsub refuses to publish it again.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PartMessage {
    /// Height of the proposal the part belongs to.
    pub height: u64,
    /// Round of that proposal.
    pub round: u32,
    /// The set the part belongs to.
    pub parts: PartSetHeader,
    /// The part with its proof.
    pub part: Part,
    /// Re-broadcast counter (0 for the first copy).
    pub resend: u32,
}

/// Decodes SCALE `bytes` as a `T`, refusing trailing bytes.
pub fn decode<T: Decode>(bytes: &[u8]) -> Result<T, String> {
    T::decode_all(&mut &bytes[..]).map_err(|e| e.to_string())
}
