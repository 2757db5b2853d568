//! What nodes gossip, SCALE-encoded: consensus messages (proposals carry only the header) and the body parts.

use cvm_consensus::{SignedProposal, SignedVote};
use parity_scale_codec::{Decode, DecodeAll, Encode};

use crate::chain::{BlockHeader, Part, PartSetHeader};

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ConsensusMessage {
    Proposal(Box<SignedProposal<BlockHeader>>),
    Vote(SignedVote),
}

/// A consensus message as gossiped. `resend` makes a re-broadcast a distinct gossip message (gossipsub drops
/// exact duplicates it has seen), so a peer that missed the first copy gets it; the engine ignores repeats.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ConsensusEnvelope {
    pub resend: u32,
    pub message: ConsensusMessage,
}

/// One part of a proposed block's body. `resend` plays the role it has in [`ConsensusEnvelope`]: without it a
/// re-broadcast part is byte-identical to the first copy and gossipsub refuses to publish it again.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PartMessage {
    pub height: u64,
    pub round: u32,
    pub parts: PartSetHeader,
    pub part: Part,
    pub resend: u32,
}

pub fn decode<T: Decode>(bytes: &[u8]) -> Result<T, String> {
    T::decode_all(&mut &bytes[..]).map_err(|e| e.to_string())
}
