//! Evidence through a real app (RocksDB, the CVM): each refusal of `check_evidence`, a built block carrying one
//! piece per offender that jails it, a proposed block whose evidence breaks the rules refused, and the committed
//! piece stored, covered and out of the set two heights later.

use std::sync::Arc;

use cvm_consensus::{
    CachingVerifier, ChainId, CommitCertificate, DuplicateVoteEvidence, Ed25519Signer,
    Ed25519Verifier, Height, Round, SignedVote, Signer as _, ValueId, Vote, VoteKind,
};
use cvm_runtime::{BlockExecutor, CvmEngine, EngineConfig};
use parity_scale_codec::Encode;

use super::{App, EvidenceRefusal, InvalidBlock};
use crate::chain::{Block, Genesis, PartSet};
use crate::sources::SourceHub;
use crate::storage::Storage;
use crate::verify::fixture::{self, CHAIN, validator_signer as signer};

/// The verify fixture's four validators (power 10 each), with a small evidence bound and age.
fn genesis() -> Genesis {
    let mut genesis = fixture::genesis();
    genesis.params.max_evidence_per_block = 2;
    genesis.params.max_evidence_age = 5;
    genesis
}

fn app(dir: &std::path::Path) -> App {
    let storage = Storage::open(dir).expect("storage");
    let engine = CvmEngine::new(EngineConfig::default()).expect("engine");
    let executor = BlockExecutor::sequential(engine, storage.node_store());
    App::new(
        genesis(),
        storage,
        executor,
        Arc::new(CachingVerifier::new(Ed25519Verifier)),
        Arc::new(SourceHub::without_endpoints()),
    )
    .expect("app")
}

fn vote(by: &Ed25519Signer, height: u64, value: u8) -> SignedVote {
    Vote::new(
        VoteKind::Prevote,
        Height(height),
        Round(0),
        Some(ValueId([value; 32])),
        by.validator_id(),
    )
    .sign(&ChainId::new(CHAIN), by)
}

/// Validator `i` prevoting two values at `height`.
fn evidence(i: u8, height: u64) -> DuplicateVoteEvidence {
    DuplicateVoteEvidence::new(vote(&signer(i), height, 1), vote(&signer(i), height, 2))
}

fn certificate(app: &App, block: &Block) -> CommitCertificate {
    let set = app.validator_set(block.height()).expect("set");
    let value = ValueId(block.hash());
    let votes: Vec<_> = (0..4)
        .map(|i| {
            Vote::new(
                VoteKind::Precommit,
                Height(block.height()),
                Round(0),
                Some(value),
                signer(i).validator_id(),
            )
            .sign(&ChainId::new(CHAIN), &signer(i))
        })
        .collect();
    CommitCertificate::from_precommits(Height(block.height()), Round(0), value, &set, &votes)
}

/// `block` with its body's evidence replaced and the header's commitments to the body made to match.
fn with_evidence(block: &Block, evidence: Vec<DuplicateVoteEvidence>) -> Block {
    let mut block = block.clone();
    block.body.evidence = evidence;
    block.header.evidence_hash = block.body.evidence_hash();
    block.header.parts =
        PartSet::header_of(&block.body.encode(), genesis().params.part_size as usize);
    block
}

#[test]
fn each_refusal_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let root = app.parent().unwrap().state_root;
    assert!(app.check_evidence(&evidence(1, 1), 1, root).is_ok());

    let good = evidence(1, 1);
    let swapped = DuplicateVoteEvidence {
        vote_a: good.vote_b,
        vote_b: good.vote_a,
    };
    let refusals = [
        (swapped, 1, "not in canonical order"),
        (evidence(1, 3), 2, "above the block's 2"),
        (evidence(1, 1), 7, "more than max_evidence_age (5)"),
        (
            evidence(1, 4),
            4,
            "no validator set is known here for its height 4",
        ),
        (
            DuplicateVoteEvidence::new(good.vote_a, good.vote_a),
            1,
            "not in canonical order",
        ),
        (
            {
                let mut other = good.vote_a;
                other.signature.0[0] ^= 1;
                DuplicateVoteEvidence::new(good.vote_a, other)
            },
            1,
            "the same value",
        ),
        (evidence(9, 1), 1, "is not in the validator set"),
        (
            {
                let mut forged = evidence(1, 1);
                forged.vote_b.signature.0[0] ^= 1;
                forged
            },
            1,
            "signature is invalid",
        ),
    ];
    for (evidence, height, needle) in refusals {
        let refusal = app.check_evidence(&evidence, height, root).unwrap_err();
        assert!(refusal.to_string().contains(needle), "{needle}: {refusal}");
    }
}

#[test]
fn a_block_commits_one_piece_per_offender_and_jails_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let proposer = signer(0).verifying_key().to_bytes();
    let pending = vec![
        evidence(1, 1),
        evidence(1, 1),
        evidence(9, 1),
        evidence(2, 1),
    ];
    let built = app
        .build_block(proposer, (Vec::new(), pending), None, 1_000)
        .expect("built");
    let carried: Vec<_> = built
        .block
        .body
        .evidence
        .iter()
        .map(|e| e.vote_a.vote.validator)
        .collect();
    assert_eq!(
        carried,
        vec![signer(1).validator_id(), signer(2).validator_id()]
    );
    let mut jailed = built.outcome.jailed.clone();
    jailed.sort();
    let mut expected = vec![signer(1).validator_id().0, signer(2).validator_id().0];
    expected.sort();
    assert_eq!(jailed, expected);

    // Proposed by someone else, a body breaking the rules is refused before execution.
    let twice = with_evidence(&built.block, vec![evidence(1, 1), evidence(1, 1)]);
    let refusal = app.validate_block(twice, 1_000).err().expect("refused");
    assert!(
        matches!(&refusal, InvalidBlock::Evidence(m) if m.contains("a second piece against validator")),
        "{refusal}"
    );
    let many = with_evidence(
        &built.block,
        vec![evidence(1, 1), evidence(2, 1), evidence(3, 1)],
    );
    let refusal = app.validate_block(many, 1_000).err().expect("refused");
    assert!(
        refusal
            .to_string()
            .contains("above max_evidence_per_block 2"),
        "{refusal}"
    );
    let forged = {
        let mut e = evidence(3, 1);
        e.vote_a.signature.0[1] ^= 1;
        with_evidence(&built.block, vec![e])
    };
    let refusal = app.validate_block(forged, 1_000).err().expect("refused");
    assert!(
        refusal
            .to_string()
            .contains("piece 0: a signature is invalid"),
        "{refusal}"
    );

    let cert = certificate(&app, &built.block);
    app.commit(&built.block.header, None, &cert, true)
        .expect("commit");
    let root = app.parent().unwrap().state_root;
    let covered = app.check_evidence(&evidence(1, 2), 2, root).unwrap_err();
    assert!(matches!(covered, EvidenceRefusal::Covered(_)), "{covered}");
    // Out of the set two heights after the block that jailed them, in the set until then.
    let member = |h: u64, i: u8| {
        app.validator_set(h)
            .unwrap()
            .index_of(&signer(i).validator_id())
            .is_some()
    };
    assert!(member(2, 1) && member(2, 2));
    assert!(!member(3, 1) && !member(3, 2) && member(3, 3));

    let stored = app.storage().committed_evidence(None, 10).unwrap();
    // Kept as pending before the commit, a committed piece is not restored into a restarted node's pool; one the
    // next block may still commit is.
    app.storage().put_pending_evidence(&evidence(1, 1)).unwrap();
    app.storage().put_pending_evidence(&evidence(3, 2)).unwrap();
    let pool = app.restore_evidence_pool().expect("restored");
    let offenders: Vec<_> = pool
        .pending()
        .iter()
        .map(|e| e.vote_a.vote.validator)
        .collect();
    assert_eq!(offenders, vec![signer(3).validator_id()]);
    assert_eq!(
        app.storage().pending_evidence().unwrap(),
        vec![evidence(3, 2)]
    );
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].height, 1);
    assert_eq!(stored[0].evidence, built.block.body.evidence);
    assert_eq!(stored[0].jailed, built.outcome.jailed);
    assert!(
        app.storage()
            .committed_evidence(Some(1), 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_same_evidence_builds_the_same_block_on_two_nodes() {
    let build = || {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let proposer = signer(0).verifying_key().to_bytes();
        let built = app
            .build_block(proposer, (Vec::new(), vec![evidence(3, 1)]), None, 1_000)
            .expect("built");
        (built.block.hash(), built.outcome.validator_changes.clone())
    };
    assert_eq!(build(), build());
}
