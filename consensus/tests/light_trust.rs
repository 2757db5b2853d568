//! `CommitCertificate::verify_trusting` (CometBFT's `VerifyCommitLightTrusting`): a
//! certificate signed by the set of its height, judged by the power of the signers a light
//! client's older trusted set holds.

use cvm_consensus::*;

const H: Height = Height(9);

struct World {
    signers: Vec<Ed25519Signer>,
    chain: ChainId,
}

impl World {
    fn new() -> Self {
        let mut signers: Vec<Ed25519Signer> = (0..8u8)
            .map(|i| Ed25519Signer::from_seed([i + 50; 32]))
            .collect();
        signers.sort_by_key(|s| s.validator_id());
        World {
            signers,
            chain: ChainId::new("light-chain"),
        }
    }

    fn set(&self, members: &[(usize, u64)]) -> ValidatorSet {
        ValidatorSet::new(
            members
                .iter()
                .map(|(k, p)| (self.signers[*k].validator_id(), *p)),
        )
        .expect("valid set")
    }

    /// A certificate at `H` for a value, signed by `who` (indices into `self.signers`, all
    /// members of `target`).
    fn certificate(&self, target: &ValidatorSet, who: &[usize]) -> CommitCertificate {
        let value = ValueId([7; 32]);
        let precommits: Vec<SignedVote> = who
            .iter()
            .map(|k| {
                Vote::new(
                    VoteKind::Precommit,
                    H,
                    Round(0),
                    Some(value),
                    self.signers[*k].validator_id(),
                )
                .sign(&self.chain, &self.signers[*k])
            })
            .collect();
        let c = CommitCertificate::from_precommits(H, Round(0), value, target, &precommits);
        assert_eq!(c.signatures.len(), who.len());
        c
    }

    fn trust(
        &self,
        c: &CommitCertificate,
        target: &ValidatorSet,
        trusted: &ValidatorSet,
        level: TrustLevel,
    ) -> Result<u64, CertificateError> {
        c.verify_trusting(target, trusted, level, &self.chain, &Ed25519Verifier)
    }
}

/// Trusted: 0..4 with powers 10, 20, 30, 40 (total 100). Target: 2..8, all power 5 (0 and 1
/// left, 4..8 joined).
fn sets(w: &World) -> (ValidatorSet, ValidatorSet) {
    let trusted = w.set(&[(0, 10), (1, 20), (2, 30), (3, 40)]);
    let target = w.set(&[(2, 5), (3, 5), (4, 5), (5, 5), (6, 5), (7, 5)]);
    (trusted, target)
}

#[test]
fn overlap_above_one_third_is_trusted_with_trusted_powers() {
    let w = World::new();
    let (trusted, target) = sets(&w);
    // Signers 3 (40 in trusted) plus four newcomers: 40 > 100/3; newcomers are skipped.
    let c = w.certificate(&target, &[3, 4, 5, 6, 7]);
    c.verify(&target, &w.chain, &Ed25519Verifier).unwrap();
    assert_eq!(
        w.trust(&c, &target, &trusted, TrustLevel::default()),
        Ok(40)
    );
    // 2 and 3 hold 70: enough for 2/3 (70 > 66), not for 3/4 (70 <= 75).
    let c = w.certificate(&target, &[2, 3, 4, 5, 6]);
    let two_thirds = TrustLevel::new(2, 3).unwrap();
    assert_eq!(w.trust(&c, &target, &trusted, two_thirds), Ok(70));
    assert_eq!(
        w.trust(&c, &target, &trusted, TrustLevel::new(3, 4).unwrap()),
        Err(CertificateError::InsufficientTrustedPower {
            signed: 70,
            total: 100,
            numerator: 3,
            denominator: 4
        })
    );
}

#[test]
fn overlap_not_above_one_third_is_refused() {
    let w = World::new();
    let (trusted, target) = sets(&w);
    // Signer 2 holds 30 of 100 in trusted: a quorum of the target, but not > 1/3 trusted.
    let c = w.certificate(&target, &[2, 4, 5, 6, 7]);
    c.verify(&target, &w.chain, &Ed25519Verifier).unwrap();
    assert_eq!(
        w.trust(&c, &target, &trusted, TrustLevel::default()),
        Err(CertificateError::InsufficientTrustedPower {
            signed: 30,
            total: 100,
            numerator: 1,
            denominator: 3
        })
    );
    // Exactly a third is not more than a third: trusted {2: 1, 3: 2} total 3, signer 2.
    let trusted = w.set(&[(2, 1), (3, 2)]);
    let c = w.certificate(&target, &[2]);
    assert!(matches!(
        w.trust(&c, &target, &trusted, TrustLevel::default()),
        Err(CertificateError::InsufficientTrustedPower { signed: 1, .. })
    ));
    // No overlap at all.
    let c = w.certificate(&target, &[4, 5, 6, 7]);
    assert!(matches!(
        w.trust(&c, &target, &sets(&w).0, TrustLevel::default()),
        Err(CertificateError::InsufficientTrustedPower { signed: 0, .. })
    ));
}

#[test]
fn a_signer_listed_twice_is_refused_not_counted_twice() {
    let w = World::new();
    let (trusted, target) = sets(&w);
    // Signer 2 (30 trusted) twice would pass 1/3 if counted twice (60 > 33).
    let mut c = w.certificate(&target, &[2, 4]);
    let first = c.signatures[0];
    c.signatures.push(first);
    assert_eq!(
        w.trust(&c, &target, &trusted, TrustLevel::default()),
        Err(CertificateError::DuplicateSigner(first.validator_index))
    );
}

#[test]
fn forged_signature_of_a_counted_signer_is_refused() {
    let w = World::new();
    let (trusted, target) = sets(&w);
    let mut c = w.certificate(&target, &[2, 3, 4]);
    c.signatures[1].signature.0[0] ^= 1;
    assert_eq!(
        w.trust(&c, &target, &trusted, TrustLevel::default()),
        Err(CertificateError::InvalidSignature(
            c.signatures[1].validator_index
        ))
    );
}

#[test]
fn wrong_chain_id_is_refused() {
    let w = World::new();
    let (trusted, target) = sets(&w);
    let c = w.certificate(&target, &[3, 4]);
    assert!(matches!(
        c.verify_trusting(
            &target,
            &trusted,
            TrustLevel::default(),
            &ChainId::new("other-chain"),
            &Ed25519Verifier
        ),
        Err(CertificateError::InvalidSignature(_))
    ));
}

#[test]
fn signer_outside_the_target_set_is_refused() {
    let w = World::new();
    let (trusted, target) = sets(&w);
    let mut c = w.certificate(&target, &[3]);
    c.signatures[0].validator_index = target.len() as u32;
    assert_eq!(
        w.trust(&c, &target, &trusted, TrustLevel::default()),
        Err(CertificateError::UnknownSigner(target.len() as u32))
    );
}

#[test]
fn trust_level_outside_one_third_to_one_is_refused() {
    let w = World::new();
    let (trusted, target) = sets(&w);
    let c = w.certificate(&target, &[2, 3]);
    for (n, d) in [(1, 4), (0, 1), (4, 3), (1, 0), (0, 0), (u64::MAX, 1)] {
        let err = CertificateError::InvalidTrustLevel {
            numerator: n,
            denominator: d,
        };
        assert_eq!(TrustLevel::new(n, d), Err(err.clone()), "{n}/{d}");
        let level = TrustLevel {
            numerator: n,
            denominator: d,
        };
        assert_eq!(w.trust(&c, &target, &trusted, level), Err(err), "{n}/{d}");
    }
    // The bounds themselves are valid; 1 needs all of the trusted power, which 2 and 3
    // (70 of 100) do not have.
    assert!(TrustLevel::new(1, 3).is_ok());
    assert!(TrustLevel::new(u64::MAX, u64::MAX).is_ok());
    assert!(matches!(
        w.trust(&c, &target, &trusted, TrustLevel::new(1, 1).unwrap()),
        Err(CertificateError::InsufficientTrustedPower { signed: 70, .. })
    ));
    assert_eq!(TrustLevel::default(), TrustLevel::ONE_THIRD);
}

#[test]
fn huge_powers_do_not_overflow() {
    let w = World::new();
    let max = validator::MAX_TOTAL_VOTING_POWER;
    let trusted = w.set(&[(0, max / 2), (1, max / 2)]);
    let target = w.set(&[(1, 1), (2, 1)]);
    let c = w.certificate(&target, &[1, 2]);
    let level = TrustLevel::new(u64::MAX / 2, u64::MAX - 1).unwrap();
    // (2^63 - 1) / (2^64 - 2) is exactly 1/2, and max/2 of (max - 1) is not more than
    // half; at 1/3 it is enough.
    assert!(matches!(
        w.trust(&c, &target, &trusted, level),
        Err(CertificateError::InsufficientTrustedPower { .. })
    ));
    assert_eq!(
        w.trust(&c, &target, &trusted, TrustLevel::default()),
        Ok(max / 2)
    );
}
