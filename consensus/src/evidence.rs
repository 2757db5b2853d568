//! Equivocation evidence: two different signed votes of one validator for one slot.

use parity_scale_codec::{Decode, Encode};

use crate::crypto::SignatureVerifier;
use crate::error::EvidenceError;
use crate::messages::SignedVote;
use crate::types::ChainId;
use crate::validator::ValidatorSet;

/// Two signed votes by the same validator at the same (height, round, kind) for different
/// values. Stored in canonical order (`vote_a < vote_b`) so every node builds the same bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct DuplicateVoteEvidence {
    /// The smaller of the two votes.
    pub vote_a: SignedVote,
    /// The larger of the two votes.
    pub vote_b: SignedVote,
}

impl DuplicateVoteEvidence {
    /// Evidence from two conflicting votes, in either order.
    pub fn new(a: SignedVote, b: SignedVote) -> Self {
        let (vote_a, vote_b) = if a <= b { (a, b) } else { (b, a) };
        DuplicateVoteEvidence { vote_a, vote_b }
    }

    /// Verifiable on its own: same validator and slot, different values, both signatures
    /// valid under `chain_id`, validator in the set of that height.
    pub fn verify(
        &self,
        validators: &ValidatorSet,
        chain_id: &ChainId,
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), EvidenceError> {
        let (a, b) = (&self.vote_a.vote, &self.vote_b.vote);
        if a.validator != b.validator {
            return Err(EvidenceError::DifferentValidators);
        }
        if (a.height, a.round, a.kind) != (b.height, b.round, b.kind) {
            return Err(EvidenceError::DifferentSlots);
        }
        if a.value == b.value {
            return Err(EvidenceError::SameValue);
        }
        let index = validators
            .index_of(&a.validator)
            .ok_or(EvidenceError::UnknownValidator(a.validator))?;
        let (_, key) = validators.get(index).expect("index from the set");
        if !self.vote_a.verify(chain_id, key, verifier)
            || !self.vote_b.verify(chain_id, key, verifier)
        {
            return Err(EvidenceError::InvalidSignature);
        }
        Ok(())
    }
}
