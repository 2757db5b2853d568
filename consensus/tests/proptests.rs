//! Property tests: the vote keeper against a simple model, the certificate verifier
//! against the >2/3 rule and tampering, and fast proposer selection against CometBFT's
//! round-by-round loop.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::*;
use cvm_consensus::vote_keeper::MAX_VALUES_PER_VALIDATOR;
use cvm_consensus::*;
use proptest::prelude::*;

const N: usize = 6;

struct Keys {
    signers: Vec<Arc<Ed25519Signer>>,
}

fn keys() -> Keys {
    let mut signers: Vec<Arc<Ed25519Signer>> = (0..N as u8)
        .map(|i| Arc::new(Ed25519Signer::from_seed([i + 11; 32])))
        .collect();
    signers.sort_by_key(|s| s.validator_id());
    Keys { signers }
}

fn set(k: &Keys, powers: &[u64]) -> ValidatorSet {
    ValidatorSet::new(
        k.signers
            .iter()
            .zip(powers)
            .map(|(s, p)| (s.validator_id(), *p)),
    )
    .unwrap()
}

fn value(v: u8) -> Option<ValueId> {
    (v > 0).then(|| TestValue(v as u64).id())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Tallies equal a model that counts each validator once per (round, kind) for "any"
    /// and once per distinct value (capped); duplicates change nothing; a second value from
    /// a validator is reported as equivocation with evidence holding both votes.
    #[test]
    fn vote_keeper_matches_model(
        powers in proptest::collection::vec(1u64..50, N),
        votes in proptest::collection::vec((0..N, 0u32..3, any::<bool>(), 0u8..4), 0..60),
    ) {
        let k = keys();
        let vs = set(&k, &powers);
        let chain = ChainId::new("p");
        let mut keeper = VoteKeeper::new(vs.clone());
        // model: (round, kind) -> validator -> values in order
        let mut model: BTreeMap<(u32, bool), BTreeMap<usize, Vec<u8>>> = BTreeMap::new();
        for (who, round, precommit, v) in votes {
            let kind = if precommit { VoteKind::Precommit } else { VoteKind::Prevote };
            let signed = Vote::new(kind, H1, Round(round), value(v), k.signers[who].validator_id())
                .sign(&chain, k.signers[who].as_ref());
            let seen = model.entry((round, precommit)).or_default().entry(who).or_default();
            let result = keeper.add(signed);
            if seen.contains(&v) {
                prop_assert_eq!(result, AddVote::Duplicate);
            } else if seen.is_empty() {
                prop_assert_eq!(result, AddVote::Added);
                seen.push(v);
            } else if seen.len() >= MAX_VALUES_PER_VALIDATOR {
                // Beyond the cap: not counted, no new evidence (it came with the 2nd value).
                prop_assert_eq!(result, AddVote::BeyondCap);
            } else {
                match result {
                    AddVote::Equivocation { evidence, .. } => {
                        prop_assert!(evidence.verify(&vs, &chain, &Ed25519Verifier).is_ok());
                        let pair = [evidence.vote_a, evidence.vote_b];
                        prop_assert!(pair.contains(&signed));
                    }
                    other => prop_assert!(false, "expected equivocation, got {:?}", other),
                }
                seen.push(v);
            }
        }
        for ((round, precommit), by_validator) in &model {
            let kind = if *precommit { VoteKind::Precommit } else { VoteKind::Prevote };
            let tally = keeper.tally(Round(*round), kind);
            let any: u64 = by_validator.keys().map(|w| powers_sorted(&vs, &k, *w)).sum();
            prop_assert_eq!(tally.total_power(), any);
            prop_assert_eq!(keeper.is_quorum_any(Round(*round), kind), any * 3 > vs.total_power() * 2);
            let values: BTreeSet<u8> = by_validator.values().flatten().copied().collect();
            for v in values {
                let p: u64 = by_validator
                    .iter()
                    .filter(|(_, vals)| vals.contains(&v))
                    .map(|(w, _)| powers_sorted(&vs, &k, *w))
                    .sum();
                prop_assert_eq!(tally.power_for(value(v)), p);
                prop_assert_eq!(keeper.is_quorum_for(Round(*round), kind, value(v)), p * 3 > vs.total_power() * 2);
            }
        }
    }

    /// A certificate verifies iff its distinct, in-set signers hold more than 2/3 of the
    /// power and every signature is over the right bytes.
    #[test]
    fn certificate_verifier(
        powers in proptest::collection::vec(1u64..20, N),
        signers in proptest::collection::btree_set(0..N, 0..=N),
        tamper in 0u8..6,
    ) {
        let k = keys();
        let vs = set(&k, &powers);
        let chain = ChainId::new("cert");
        let vid = TestValue(42).id();
        let precommits: Vec<SignedVote> = signers
            .iter()
            .map(|i| {
                Vote::new(VoteKind::Precommit, H1, Round(1), Some(vid), k.signers[*i].validator_id())
                    .sign(&chain, k.signers[*i].as_ref())
            })
            .collect();
        let mut cert = CommitCertificate::from_precommits(H1, Round(1), vid, &vs, &precommits);
        let power: u64 = signers.iter().map(|i| powers_sorted(&vs, &k, *i)).sum();
        let enough = power * 3 > vs.total_power() * 2;
        let verify = |c: &CommitCertificate| c.verify(&vs, &chain, &Ed25519Verifier);
        match tamper {
            // untouched
            0 | 1 => {
                if enough {
                    prop_assert_eq!(verify(&cert), Ok(()));
                } else {
                    let is_insufficient = matches!(verify(&cert), Err(CertificateError::InsufficientPower { .. }));
                    prop_assert!(is_insufficient);
                }
            }
            // a duplicated signer
            2 if !cert.signatures.is_empty() => {
                let s = cert.signatures[0];
                cert.signatures.push(s);
                prop_assert_eq!(verify(&cert), Err(CertificateError::DuplicateSigner(s.validator_index)));
            }
            // a signer outside the set
            3 => {
                cert.signatures.push(CommitSig { validator_index: N as u32, signature: SignatureBytes([0; 64]) });
                prop_assert_eq!(verify(&cert), Err(CertificateError::UnknownSigner(N as u32)));
            }
            // a broken signature
            4 if enough => {
                cert.signatures[0].signature.0[7] ^= 0x20;
                let idx = cert.signatures[0].validator_index;
                prop_assert_eq!(verify(&cert), Err(CertificateError::InvalidSignature(idx)));
            }
            // signatures for another value id or chain do not verify
            5 if enough => {
                cert.value_id = TestValue(43).id();
                prop_assert!(matches!(verify(&cert), Err(CertificateError::InvalidSignature(_))));
                cert.value_id = vid;
                let other = cert.verify(&vs, &ChainId::new("other"), &Ed25519Verifier);
                prop_assert!(matches!(other, Err(CertificateError::InvalidSignature(_))));
            }
            _ => {}
        }
    }
}

/// Power of the validator signing with `k.signers[i]` (sets sort by id, as `keys` does).
fn powers_sorted(vs: &ValidatorSet, k: &Keys, i: usize) -> u64 {
    vs.power_of(&k.signers[i].validator_id()).unwrap()
}

#[test]
fn batch_and_single_verification_agree() {
    let k = keys();
    let chain = ChainId::new("b");
    let votes: Vec<(SignedVote, Vec<u8>)> = k
        .signers
        .iter()
        .map(|s| {
            let v = Vote::new(VoteKind::Prevote, H1, Round(0), None, s.validator_id())
                .sign(&chain, s.as_ref());
            let bytes = v.vote.sign_bytes(&chain);
            (v, bytes)
        })
        .collect();
    let vks: Vec<_> = k.signers.iter().map(|s| s.verifying_key()).collect();
    let items = |vs: &[(SignedVote, Vec<u8>)]| -> Vec<(usize, SignatureBytes)> {
        vs.iter()
            .enumerate()
            .map(|(i, (v, _))| (i, v.signature))
            .collect()
    };
    let sigs = items(&votes);
    let batch: Vec<VerifyItem<'_>> = sigs
        .iter()
        .map(|(i, s)| VerifyItem {
            key: &vks[*i],
            message: &votes[*i].1,
            signature: s,
        })
        .collect();
    assert!(Ed25519Verifier.verify_batch(&batch));
    let mut bad = sigs.clone();
    bad[3].1.0[1] ^= 1;
    let batch: Vec<VerifyItem<'_>> = bad
        .iter()
        .map(|(i, s)| VerifyItem {
            key: &vks[*i],
            message: &votes[*i].1,
            signature: s,
        })
        .collect();
    assert!(!Ed25519Verifier.verify_batch(&batch));
    assert!(!Ed25519Verifier.verify(batch[3].key, batch[3].message, batch[3].signature));
    assert!(Ed25519Verifier.verify(batch[2].key, batch[2].message, batch[2].signature));
}

/// CometBFT's `IncrementProposerPriority` done literally, one round at a time: returns the
/// proposer of every round `1..=rounds` of `set`'s height.
fn reference_proposers(set: &ValidatorSet, rounds: u32) -> Vec<ValidatorIndex> {
    let total = set.total_power() as i64;
    let powers: Vec<i64> = set
        .validators()
        .iter()
        .map(|v| v.voting_power as i64)
        .collect();
    let mut prio: Vec<i64> = set
        .validators()
        .iter()
        .map(|v| v.proposer_priority)
        .collect();
    // RescalePriorities with window 2 * total, then shiftByAvgProposerPriority (floor).
    let (max, min) = (*prio.iter().max().unwrap(), *prio.iter().min().unwrap());
    let diff = max as i128 - min as i128;
    let diff_max = 2 * total as i128;
    if diff > diff_max {
        let ratio = (diff + diff_max - 1) / diff_max;
        prio.iter_mut()
            .for_each(|p| *p = (*p as i128 / ratio) as i64);
    }
    let sum: i128 = prio.iter().map(|p| *p as i128).sum();
    let avg = sum.div_euclid(prio.len() as i128) as i64;
    prio.iter_mut().for_each(|p| *p -= avg);
    (0..rounds)
        .map(|_| {
            prio.iter_mut().zip(&powers).for_each(|(p, w)| *p += w);
            let mut best = 0;
            for i in 1..prio.len() {
                if prio[i] > prio[best] {
                    best = i;
                }
            }
            prio[best] -= total;
            best as ValidatorIndex
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The fast proposer of any round is the one CometBFT's loop picks, for random powers
    /// (small totals, whose cycles are short, and large ones) and random priorities.
    #[test]
    fn fast_proposer_matches_cometbft_loop(
        small in any::<bool>(),
        powers in proptest::collection::vec(1u64..1_000_000, 1..=N),
        priorities in proptest::collection::vec(-4_000_000i64..4_000_000, N),
        probes in proptest::collection::vec(1u32..3_000, 20),
    ) {
        let k = keys();
        let powers: Vec<u64> = powers.iter().map(|p| if small { p % 13 + 1 } else { *p }).collect();
        let total: u64 = powers.iter().sum();
        let members = k.signers.iter().zip(&powers).zip(&priorities).map(|((s, p), q)| Validator {
            id: s.validator_id(),
            voting_power: *p,
            proposer_priority: q % (4 * total as i64),
        });
        let set = ValidatorSet::with_priorities(members.collect()).unwrap();
        let expected = reference_proposers(&set, 3_000);
        for r in probes.into_iter().chain([1, 2, 3, 2_999, 3_000]) {
            prop_assert_eq!(set.proposer(Round(r)), expected[r as usize - 1], "round {}", r);
        }
    }
}
