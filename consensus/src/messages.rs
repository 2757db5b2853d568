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
    /// Height proposed for.
    pub height: Height,
    /// Round proposed in.
    pub round: Round,
    /// The proposed value (whole: the others need it to vote and commit).
    pub value: V,
    /// Paper's `validRound` carried in the proposal (`-1` is `None`).
    pub pol_round: Option<Round>,
}

impl<V: Value> Proposal<V> {
    /// What the proposer signs: domain tag, chain id and the proposal with the value's id.
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

    /// Signs the proposal for `chain_id`.
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
    /// The proposal.
    pub proposal: Proposal<V>,
    /// The proposer's signature over its sign bytes.
    pub signature: SignatureBytes,
}

impl<V: Value> SignedProposal<V> {
    /// Whether `proposer` signed this proposal for `chain_id`.
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
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// Height voted at.
    pub height: Height,
    /// Round voted in.
    pub round: Round,
    /// `None` is a vote for nil.
    pub value: Option<ValueId>,
    /// The voter.
    pub validator: ValidatorId,
}

impl Vote {
    /// A vote by `validator`.
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

    /// What the voter signs: domain tag, chain id and the vote.
    pub fn sign_bytes(&self, chain_id: &ChainId) -> Vec<u8> {
        (VOTE_DOMAIN, chain_id, self).encode()
    }

    /// Signs the vote for `chain_id`.
    pub fn sign(self, chain_id: &ChainId, signer: &dyn Signer) -> SignedVote {
        let signature = signer.sign(&self.sign_bytes(chain_id));
        SignedVote {
            vote: self,
            signature,
        }
    }
}

/// A vote with its voter's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct SignedVote {
    /// The vote.
    pub vote: Vote,
    /// The voter's signature over its sign bytes.
    pub signature: SignatureBytes,
}

impl SignedVote {
    /// Whether `key` (the voter's) signed this vote for `chain_id`.
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
    /// A signed proposal.
    Proposal(SignedProposal<V>),
    /// A signed vote.
    Vote(SignedVote),
}

impl<V> SignedMessage<V> {
    /// The height the message is for.
    pub fn height(&self) -> Height {
        match self {
            SignedMessage::Proposal(p) => p.proposal.height,
            SignedMessage::Vote(v) => v.vote.height,
        }
    }

    /// The round the message is for.
    pub fn round(&self) -> Round {
        match self {
            SignedMessage::Proposal(p) => p.proposal.round,
            SignedMessage::Vote(v) => v.vote.round,
        }
    }
}
