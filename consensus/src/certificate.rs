//! Commit certificates: proof that more than 2/3 of the power precommitted one value.

use ed25519_dalek::VerifyingKey;
use parity_scale_codec::{Decode, Encode};

use crate::crypto::{SignatureBytes, SignatureVerifier, VerifyItem};
use crate::error::CertificateError;
use crate::messages::{SignedVote, Vote};
use crate::types::{ChainId, Height, Round, ValueId, VoteKind};
use crate::validator::{ValidatorIndex, ValidatorSet};

/// One precommit signature inside a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CommitSig {
    /// The signer's index in the validator set of the height.
    pub validator_index: ValidatorIndex,
    /// Its signature over the precommit.
    pub signature: SignatureBytes,
}

/// A certificate signature ready to check: the signer's index and key, and the precommit bytes it signed.
struct SignedPrecommit<'a> {
    index: ValidatorIndex,
    key: &'a VerifyingKey,
    message: Vec<u8>,
    signature: &'a SignatureBytes,
}

impl SignedPrecommit<'_> {
    fn item(&self) -> VerifyItem<'_> {
        VerifyItem {
            key: self.key,
            message: &self.message,
            signature: self.signature,
        }
    }

    /// Checks every signature of `signed` as one batch; when the batch fails, each alone, to name the first bad
    /// signer.
    fn verify_all(
        signed: &[SignedPrecommit<'_>],
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), CertificateError> {
        let items: Vec<VerifyItem<'_>> = signed.iter().map(SignedPrecommit::item).collect();
        if verifier.verify_batch(&items) {
            return Ok(());
        }
        for (s, item) in signed.iter().zip(&items) {
            if !verifier.verify(item.key, item.message, item.signature) {
                return Err(CertificateError::InvalidSignature(s.index));
            }
        }
        // A batch may reject what single checks accept (cofactored vs cofactorless
        // equations); be strict and refuse.
        Err(CertificateError::InvalidSignature(u32::MAX))
    }
}

/// The fraction of a trusted set's power that must have signed a certificate for a light
/// client to trust it (CometBFT's light-client `TrustLevel`); within [1/3, 1], default 1/3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TrustLevel {
    /// Numerator of the fraction.
    pub numerator: u64,
    /// Denominator of the fraction.
    pub denominator: u64,
}

impl Default for TrustLevel {
    fn default() -> Self {
        TrustLevel::ONE_THIRD
    }
}

impl TrustLevel {
    /// 1/3: at least one correct validator of the trusted set signed.
    pub const ONE_THIRD: TrustLevel = TrustLevel {
        numerator: 1,
        denominator: 3,
    };

    /// A checked trust level.
    pub fn new(numerator: u64, denominator: u64) -> Result<Self, CertificateError> {
        let level = TrustLevel {
            numerator,
            denominator,
        };
        level.validate()?;
        Ok(level)
    }

    /// CometBFT `ValidateTrustLevel`: 1/3 <= level <= 1 and a non-zero denominator.
    pub fn validate(&self) -> Result<(), CertificateError> {
        let (n, d) = (u128::from(self.numerator), u128::from(self.denominator));
        if d == 0 || n * 3 < d || n > d {
            return Err(CertificateError::InvalidTrustLevel {
                numerator: self.numerator,
                denominator: self.denominator,
            });
        }
        Ok(())
    }
}

/// Precommits for `value_id` at (`height`, `round`) from validators holding more than 2/3 of
/// the power. Verifiable on its own against the validator set of `height`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CommitCertificate {
    /// The decided height.
    pub height: Height,
    /// The round the precommits are from.
    pub round: Round,
    /// The decided value.
    pub value_id: ValueId,
    /// One precommit signature per signer.
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

    /// Each signature of a signer in `validators`, with the signer's key and the precommit bytes it signed.
    fn signed_precommits<'a>(
        &'a self,
        validators: &'a ValidatorSet,
        chain_id: &ChainId,
    ) -> Vec<SignedPrecommit<'a>> {
        self.signatures
            .iter()
            .filter_map(|s| {
                let (_, key) = validators.get(s.validator_index)?;
                let vote = self.vote_of(validators, s.validator_index)?;
                Some(SignedPrecommit {
                    index: s.validator_index,
                    key,
                    message: vote.sign_bytes(chain_id),
                    signature: &s.signature,
                })
            })
            .collect()
    }

    /// Checks the signatures of several certificates as one batch of `verifier`, so that a caching verifier
    /// (see [`CachingVerifier`](crate::CachingVerifier)) then answers each certificate's own [`verify`] from
    /// memory. Ed25519 batch verification costs about a third per signature at a few hundred signatures of
    /// what it does at a certificate's handful, which is what catching up a chain of blocks checks. Signers
    /// outside the set are skipped here; [`verify`] still judges each certificate whole (signers, quorum,
    /// signatures). Returns whether every signature checked was valid; `false` only means that the
    /// certificates' own checks will have to find the bad one.
    ///
    /// [`verify`]: Self::verify
    pub fn verify_signatures_together<'c>(
        certificates: impl IntoIterator<Item = &'c CommitCertificate>,
        validators: &ValidatorSet,
        chain_id: &ChainId,
        verifier: &dyn SignatureVerifier,
    ) -> bool {
        let signed: Vec<SignedPrecommit<'_>> = certificates
            .into_iter()
            .flat_map(|c| c.signed_precommits(validators, chain_id))
            .collect();
        let items: Vec<VerifyItem<'_>> = signed.iter().map(SignedPrecommit::item).collect();
        verifier.verify_batch(&items)
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
        for s in &self.signatures {
            let i = s.validator_index as usize;
            let Some((v, _)) = validators.get(s.validator_index) else {
                return Err(CertificateError::UnknownSigner(s.validator_index));
            };
            if std::mem::replace(&mut seen[i], true) {
                return Err(CertificateError::DuplicateSigner(s.validator_index));
            }
            power += v.voting_power;
        }
        if !validators.is_quorum(power) {
            return Err(CertificateError::InsufficientPower {
                signed: power,
                total: validators.total_power(),
            });
        }
        // Every signer is known (checked above), so there is one entry per signature, in order.
        SignedPrecommit::verify_all(&self.signed_precommits(validators, chain_id), verifier)
    }

    /// CometBFT's `VerifyCommitLightTrusting`: whether signers a light client trusts back this
    /// certificate. Signer indices point into `target` (the set of the certificate's height);
    /// a signer whose id is also a member of `trusted` counts with its power in `trusted`,
    /// others are skipped. Their power must be above `trust_level` × `trusted`'s total, and
    /// every counted signature valid (one batch; on failure each is checked to name the
    /// culprit). Returns the counted power.
    ///
    /// Refused: an invalid trust level, a signer index outside `target`, an index listed twice
    /// (CometBFT's "double vote"; a signer is never counted twice), too little trusted power,
    /// an invalid counted signature. Unlike CometBFT it counts every trusted signer rather
    /// than stopping at the threshold, so all their signatures are checked. This is only the
    /// trust check: a light client also checks the certificate against `target` with
    /// [`verify`](Self::verify).
    pub fn verify_trusting(
        &self,
        target: &ValidatorSet,
        trusted: &ValidatorSet,
        trust_level: TrustLevel,
        chain_id: &ChainId,
        verifier: &dyn SignatureVerifier,
    ) -> Result<u64, CertificateError> {
        trust_level.validate()?;
        let mut seen = vec![false; target.len()];
        let mut power: u64 = 0;
        let mut counted = Vec::new();
        for s in &self.signatures {
            let i = s.validator_index as usize;
            let Some((v, key)) = target.get(s.validator_index) else {
                return Err(CertificateError::UnknownSigner(s.validator_index));
            };
            if std::mem::replace(&mut seen[i], true) {
                return Err(CertificateError::DuplicateSigner(s.validator_index));
            }
            let Some(trusted_power) = trusted.power_of(&v.id) else {
                continue;
            };
            // Members' powers add up to at most MAX_TOTAL_VOTING_POWER.
            power += trusted_power;
            counted.push((s, key));
        }
        let total = trusted.total_power();
        let needed = u128::from(total) * u128::from(trust_level.numerator)
            / u128::from(trust_level.denominator);
        if u128::from(power) <= needed {
            return Err(CertificateError::InsufficientTrustedPower {
                signed: power,
                total,
                numerator: trust_level.numerator,
                denominator: trust_level.denominator,
            });
        }
        let signed: Vec<SignedPrecommit<'_>> = counted
            .iter()
            .filter_map(|(s, key)| {
                let vote = self.vote_of(target, s.validator_index)?;
                Some(SignedPrecommit {
                    index: s.validator_index,
                    key,
                    message: vote.sign_bytes(chain_id),
                    signature: &s.signature,
                })
            })
            .collect();
        SignedPrecommit::verify_all(&signed, verifier)?;
        Ok(power)
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
