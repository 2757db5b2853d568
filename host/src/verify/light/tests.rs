use cvm_consensus::{
    CommitCertificate, Ed25519Signer, Height, Round, Signer as _, ValidatorId, ValueId, Vote,
    VoteKind,
};

use super::*;
use crate::chain::{BlockHeader, PartSetHeader};

const CHAIN: &str = "light-test";

fn signer(seed: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed([seed; 32])
}

fn members(seeds: &[u8]) -> Vec<([u8; 32], u64)> {
    let mut m: Vec<([u8; 32], u64)> = seeds
        .iter()
        .map(|s| (signer(*s).verifying_key().to_bytes(), 10))
        .collect();
    m.sort();
    m
}

fn set(seeds: &[u8]) -> ValidatorSet {
    ValidatorSet::new(members(seeds).into_iter().map(|(k, p)| (ValidatorId(k), p))).unwrap()
}

/// The seeds of the set that signs `height`: 1–4 up to 10, 3–6 up to 20, 7–10 after.
fn seeds_at(height: u64) -> Vec<u8> {
    match height {
        0..=10 => vec![1, 2, 3, 4],
        11..=20 => vec![3, 4, 5, 6],
        _ => vec![7, 8, 9, 10],
    }
}

fn signed(header: BlockHeader, signers: &[u8]) -> LightBlock {
    let seeds = seeds_at(header.height);
    let validators = members(&seeds);
    let value = ValueId(header.hash());
    let votes: Vec<_> = signers
        .iter()
        .map(|s| {
            let signer = signer(*s);
            Vote::new(
                VoteKind::Precommit,
                Height(header.height),
                Round(0),
                Some(value),
                signer.validator_id(),
            )
            .sign(&ChainId::new(CHAIN), &signer)
        })
        .collect();
    let the_set = set(&seeds);
    let certificate = CommitCertificate::from_precommits(
        Height(header.height),
        Round(0),
        value,
        &the_set,
        &votes,
    );
    LightBlock {
        header,
        certificate,
        validators,
    }
}

fn header(height: u64, parent: [u8; 32]) -> BlockHeader {
    BlockHeader {
        chain_id: CHAIN.into(),
        height,
        time_ms: height * 1000,
        parent_hash: parent,
        proposer: [0; 32],
        validators_hash: membership_hash(&set(&seeds_at(height))),
        next_validators_hash: membership_hash(&set(&seeds_at(height + 1))),
        sources_hash: [0; 32],
        txs_root: [0; 32],
        tx_count: 0,
        state_root: [height as u8; 32],
        receipts_root: [0; 32],
        fuel_used: 0,
        last_commit_hash: [0; 32],
        evidence_hash: [0; 32],
        parts: PartSetHeader {
            total: 1,
            root: [0; 32],
        },
    }
}

/// Heights 1..=30, each signed by three of its four validators.
fn chain() -> CarriedChain {
    let mut blocks = BTreeMap::new();
    let mut parent = [0; 32];
    for height in 1..=30 {
        let h = header(height, parent);
        parent = h.hash();
        let seeds = seeds_at(height);
        blocks.insert(height, signed(h, &seeds[..3]));
    }
    CarriedChain(blocks)
}

fn genesis() -> TrustedState {
    TrustedState::genesis(set(&[1, 2, 3, 4]))
}

fn chain_id() -> ChainId {
    ChainId::new(CHAIN)
}

#[test]
fn a_header_under_an_overlapping_set_is_reached_in_one_skip() {
    let chain = chain();
    let target = chain.light_block(15).unwrap();
    let trusted = verify_light(&genesis(), &target, None, true, &chain_id()).unwrap();
    assert_eq!(trusted.height, 15);
    assert_eq!(trusted.header_hash, Some(target.header.hash()));
    // The same set as the root: no skip check needed.
    let early = chain.light_block(7).unwrap();
    assert_eq!(
        verify_light(&genesis(), &early, None, true, &chain_id())
            .unwrap()
            .height,
        7
    );
}

#[test]
fn a_set_that_shares_nothing_with_the_root_needs_intermediate_headers() {
    let chain = chain();
    let target = chain.light_block(30).unwrap();
    let e = verify_light(&genesis(), &target, None, true, &chain_id()).unwrap_err();
    assert!(
        matches!(
            e,
            LightError::Untrusted {
                height: 30,
                trusted: 0,
                ..
            }
        ),
        "{e}"
    );
    let recording = Recording {
        inner: &chain,
        served: Default::default(),
    };
    let trusted = verify_light(&genesis(), &target, Some(&recording), true, &chain_id()).unwrap();
    assert_eq!(trusted.height, 30);
    let served: Vec<u64> = recording.served.borrow().keys().copied().collect();
    assert!(
        served.iter().any(|h| (11..=20).contains(h)),
        "bisection passed through set B: {served:?}"
    );
    assert!(served.len() <= 6, "{served:?}");
    // The recorded headers are enough for a reader with no node: the bundle's chain.
    let carried = CarriedChain(recording.served.into_inner());
    assert_eq!(
        verify_light(&genesis(), &target, Some(&carried), true, &chain_id())
            .unwrap()
            .height,
        30
    );
}

#[test]
fn adjacent_headers_must_link() {
    let chain = chain();
    let ten = chain.light_block(10).unwrap();
    let trusted = TrustedState::header(&ten, ten.header.hash()).unwrap();
    let eleven = chain.light_block(11).unwrap();
    assert_eq!(
        verify_light(&trusted, &eleven, None, true, &chain_id())
            .unwrap()
            .height,
        11
    );
    let mut other_parent = eleven.header.clone();
    other_parent.parent_hash = [9; 32];
    let seeds = seeds_at(11);
    let orphan = signed(other_parent, &seeds[..3]);
    assert_eq!(
        verify_light(&trusted, &orphan, None, true, &chain_id()).unwrap_err(),
        LightError::AdjacentParentMismatch { height: 11 }
    );
    assert!(matches!(
        TrustedState::header(&ten, [0; 32]),
        Err(LightError::TrustedHashMismatch { height: 10, .. })
    ));
    assert!(matches!(
        verify_light(&trusted, &ten, None, true, &chain_id()),
        Err(LightError::NotAfterTrusted {
            height: 10,
            trusted: 10
        })
    ));
}

#[test]
fn forged_sets_and_short_certificates_are_refused() {
    let chain = chain();
    let mut wrong_set = chain.light_block(15).unwrap();
    wrong_set.validators = members(&[1, 2, 3, 4]);
    assert_eq!(
        verify_light(&genesis(), &wrong_set, None, true, &chain_id()).unwrap_err(),
        LightError::SetHashMismatch { height: 15 }
    );
    let short = signed(chain.light_block(15).unwrap().header, &[3, 4]);
    assert!(matches!(
        verify_light(&genesis(), &short, None, true, &chain_id()),
        Err(LightError::Certificate { height: 15, .. })
    ));
    let mut other_block = chain.light_block(15).unwrap();
    other_block.certificate = chain.light_block(14).unwrap().certificate;
    assert!(matches!(
        verify_light(&genesis(), &other_block, None, true, &chain_id()),
        Err(LightError::CertificateForOtherBlock { height: 15 })
    ));
}

#[test]
fn an_old_set_signing_a_fork_is_caught_by_the_node() {
    // The genesis validators, long removed, sign another block 30 that claims they are still the set.
    let chain = chain();
    let mut forged = header(30, chain.light_block(29).unwrap().header.hash());
    forged.validators_hash = membership_hash(&set(&[1, 2, 3, 4]));
    forged.state_root = [0xee; 32];
    let value = ValueId(forged.hash());
    let votes: Vec<_> = [1u8, 2, 3]
        .iter()
        .map(|s| {
            let signer = signer(*s);
            Vote::new(
                VoteKind::Precommit,
                Height(30),
                Round(0),
                Some(value),
                signer.validator_id(),
            )
            .sign(&chain_id(), &signer)
        })
        .collect();
    let old = set(&[1, 2, 3, 4]);
    let fork = LightBlock {
        certificate: CommitCertificate::from_precommits(Height(30), Round(0), value, &old, &votes),
        header: forged,
        validators: members(&[1, 2, 3, 4]),
    };
    // Offline, from the genesis, nothing tells it from the chain (see the module docs).
    assert!(verify_light(&genesis(), &fork, None, true, &chain_id()).is_ok());
    // With the node, its block 30 is another one.
    assert!(matches!(
        verify_light(&genesis(), &fork, Some(&chain), true, &chain_id()),
        Err(LightError::Fork { height: 30, .. })
    ));
    // From a recent trusted root, the old set does not vouch for anything.
    let twenty_five = chain.light_block(25).unwrap();
    let recent = TrustedState::header(&twenty_five, twenty_five.header.hash()).unwrap();
    assert!(matches!(
        verify_light(&recent, &fork, None, true, &chain_id()),
        Err(LightError::Untrusted { height: 30, .. })
    ));
}
