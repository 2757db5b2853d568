//! Commit certificates: proof that more than 2/3 of the power precommitted one value.

use parity_scale_codec::{Decode, Encode};

use crate::crypto::{SignatureBytes, SignatureVerifier, VerifyItem};
use crate::error::CertificateError;
use crate::messages::{SignedVote, Vote};
use crate::types::{ChainId, Height, Round, ValueId, VoteKind};
use crate::validator::{ValidatorIndex, ValidatorSet};

/// One precommit signature inside a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CommitSig {
    pub validator_index: ValidatorIndex,
    pub signature: SignatureBytes,
}

/// Precommits for `value_id` at (`height`, `round`) from validators holding more than 2/3 of
/// the power. Verifiable on its own against the validator set of `height`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CommitCertificate {
    pub height: Height,
    pub round: Round,
    pub value_id: ValueId,
    pub signatures: Vec<CommitSig>,
}

impl CommitCertificate {
    /// Builds a certificate from precommits already checked by the caller (the driver's
    /// vote keeper). Precommits for other slots or unknown validators are skipped.
    pub fn from_precommits<'a>(
        height: Height,
        round: Round,
        value_id: ValueId,
        validators: &ValidatorSet,
        precommits: impl IntoIterator<Item = &'a SignedVote>,
    ) -> Self {
        let mut signatures: Vec<CommitSig> = precommits
            .into_iter()
            .filter(|sv| {
                let v = &sv.vote;
                v.kind == VoteKind::Precommit
                    && v.height == height
                    && v.round == round
                    && v.value == Some(value_id)
            })
            .filter_map(|sv| {
                validators
                    .index_of(&sv.vote.validator)
                    .map(|validator_index| CommitSig {
                        validator_index,
                        signature: sv.signature,
                    })
            })
            .collect();
        signatures.sort_by_key(|s| s.validator_index);
        signatures.dedup_by_key(|s| s.validator_index);
        CommitCertificate {
            height,
            round,
            value_id,
            signatures,
        }
    }

    /// The precommit a signer of this certificate signed.
    pub fn vote_of(&self, validators: &ValidatorSet, index: ValidatorIndex) -> Option<Vote> {
        let (v, _) = validators.get(index)?;
        Some(Vote::new(
            VoteKind::Precommit,
            self.height,
            self.round,
            Some(self.value_id),
            v.id,
        ))
    }

    /// Checks: every signer is in the set, no signer twice, power > 2/3, and every
    /// signature valid (as one batch; on batch failure each is checked to name the culprit).
    pub fn verify(
        &self,
        validators: &ValidatorSet,
        chain_id: &ChainId,
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), CertificateError> {
        let mut seen = vec![false; validators.len()];
        let mut power: u64 = 0;
        let mut messages = Vec::with_capacity(self.signatures.len());
        for s in &self.signatures {
            let i = s.validator_index as usize;
            let Some((v, _)) = validators.get(s.validator_index) else {
                return Err(CertificateError::UnknownSigner(s.validator_index));
            };
            if std::mem::replace(&mut seen[i], true) {
                return Err(CertificateError::DuplicateSigner(s.validator_index));
            }
            power += v.voting_power;
            let vote = self
                .vote_of(validators, s.validator_index)
                .expect("index checked above");
            messages.push(vote.sign_bytes(chain_id));
        }
        if !validators.is_quorum(power) {
            return Err(CertificateError::InsufficientPower {
                signed: power,
                total: validators.total_power(),
            });
        }
        let items: Vec<VerifyItem<'_>> = self
            .signatures
            .iter()
            .zip(&messages)
            .map(|(s, m)| VerifyItem {
                key: validators.get(s.validator_index).expect("checked").1,
                message: m,
                signature: &s.signature,
            })
            .collect();
        if verifier.verify_batch(&items) {
            return Ok(());
        }
        for (s, item) in self.signatures.iter().zip(&items) {
            if !verifier.verify(item.key, item.message, item.signature) {
                return Err(CertificateError::InvalidSignature(s.validator_index));
            }
        }
        // A batch may reject what single checks accept (cofactored vs cofactorless
        // equations); be strict and refuse.
        Err(CertificateError::InvalidSignature(u32::MAX))
    }

    /// As [`verify`](Self::verify), also checking the height.
    pub fn verify_for_height(
        &self,
        height: Height,
        validators: &ValidatorSet,
        chain_id: &ChainId,
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), CertificateError> {
        if self.height != height {
            return Err(CertificateError::WrongHeight {
                expected: height,
                found: self.height,
            });
        }
        self.verify(validators, chain_id, verifier)
    }
}
