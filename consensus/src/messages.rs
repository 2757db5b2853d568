//! Proposals and votes, their signed forms, and the exact bytes that get signed.
//!
//! Signed bytes are `SCALE(domain tag, chain id, payload)`: the tag separates proposals from
//! votes and the chain id stops replay across chains. Proposals sign the value id, not the
//! value, so signing cost does not grow with block size.

use ed25519_dalek::VerifyingKey;
use parity_scale_codec::{Decode, Encode};

use crate::crypto::{SignatureBytes, SignatureVerifier, Signer};
use crate::types::{ChainId, Height, Round, ValidatorId, Value, ValueId, VoteKind};

const PROPOSAL_DOMAIN: &[u8] = b"cvm-consensus/proposal/v1";
const VOTE_DOMAIN: &[u8] = b"cvm-consensus/vote/v1";

/// Paper: ⟨PROPOSAL, h, round, v, validRound⟩.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Proposal<V> {
    pub height: Height,
    pub round: Round,
    pub value: V,
    /// Paper's `validRound` carried in the proposal (`-1` is `None`).
    pub pol_round: Option<Round>,
}

impl<V: Value> Proposal<V> {
    pub fn sign_bytes(&self, chain_id: &ChainId) -> Vec<u8> {
        (
            PROPOSAL_DOMAIN,
            chain_id,
            self.height,
            self.round,
            self.value.id(),
            self.pol_round,
        )
            .encode()
    }

    pub fn sign(self, chain_id: &ChainId, signer: &dyn Signer) -> SignedProposal<V> {
        let signature = signer.sign(&self.sign_bytes(chain_id));
        SignedProposal {
            proposal: self,
            signature,
        }
    }
}

/// A proposal with the proposer's signature. The proposer is implied by (height, round).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedProposal<V> {
    pub proposal: Proposal<V>,
    pub signature: SignatureBytes,
}

impl<V: Value> SignedProposal<V> {
    pub fn verify(
        &self,
        chain_id: &ChainId,
        proposer: &VerifyingKey,
        verifier: &dyn SignatureVerifier,
    ) -> bool {
        verifier.verify(
            proposer,
            &self.proposal.sign_bytes(chain_id),
            &self.signature,
        )
    }
}

/// Paper: ⟨PREVOTE, h, round, id(v) | nil⟩ and ⟨PRECOMMIT, ...⟩.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Vote {
    pub kind: VoteKind,
    pub height: Height,
    pub round: Round,
    /// `None` is a vote for nil.
    pub value: Option<ValueId>,
    pub validator: ValidatorId,
}

impl Vote {
    pub fn new(
        kind: VoteKind,
        height: Height,
        round: Round,
        value: Option<ValueId>,
        validator: ValidatorId,
    ) -> Self {
        Vote {
            kind,
            height,
            round,
            value,
            validator,
        }
    }

    pub fn sign_bytes(&self, chain_id: &ChainId) -> Vec<u8> {
        (VOTE_DOMAIN, chain_id, self).encode()
    }

    pub fn sign(self, chain_id: &ChainId, signer: &dyn Signer) -> SignedVote {
        let signature = signer.sign(&self.sign_bytes(chain_id));
        SignedVote {
            vote: self,
            signature,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct SignedVote {
    pub vote: Vote,
    pub signature: SignatureBytes,
}

impl SignedVote {
    pub fn verify(
        &self,
        chain_id: &ChainId,
        key: &VerifyingKey,
        verifier: &dyn SignatureVerifier,
    ) -> bool {
        verifier.verify(key, &self.vote.sign_bytes(chain_id), &self.signature)
    }
}

/// Any consensus message, as gossiped between validators.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SignedMessage<V> {
    Proposal(SignedProposal<V>),
    Vote(SignedVote),
}

impl<V> SignedMessage<V> {
    pub fn height(&self) -> Height {
        match self {
            SignedMessage::Proposal(p) => p.proposal.height,
            SignedMessage::Vote(v) => v.vote.height,
        }
    }

    pub fn round(&self) -> Round {
        match self {
            SignedMessage::Proposal(p) => p.proposal.round,
            SignedMessage::Vote(v) => v.vote.round,
        }
    }
}
