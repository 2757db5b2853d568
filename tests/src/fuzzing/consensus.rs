//! Target `consensus_decode`: what validators gossip, as the node's runner decodes it ([`wire::decode`]).
//!
//! The first byte picks the message type of the rest:
//! - 0: a [`ConsensusEnvelope`]; a vote is checked like the runner does (signer in the validator set, signature
//!   over the vote), a proposal against every validator's key, duplicate-vote evidence against the set;
//! - 1: a [`PartMessage`], added to the [`PartsPool`] of a node at height 3 (kept in its window, ignored outside);
//! - 2: a [`CommitCertificate`] (what sync and block bodies carry), verified against the validator set.
//!
//! Asserted: canonical round trips; a part the pool accepts passes [`verify_part`]; and a signature that verifies
//! is exactly the one our validator's key makes (ed25519 signing is deterministic: any other signature that
//! verifies would be a forgery or a malleated signature).

use cvm_consensus::{CommitCertificate, Ed25519Verifier, SignedVote, Signer};
use cvm_host::chain::parts::verify_part;
use cvm_host::chain::{PartSet, PartSetHeader};
use cvm_host::node::parts_pool::{PartOutcome, PartsPool};
use cvm_host::node::wire::{self, ConsensusEnvelope, ConsensusMessage, PartMessage};
use parity_scale_codec::{DecodeAll, Encode};

use super::block::{certificate, check_certificate, sample_block};
use super::context::Reached;
use super::context::validators::{SET, SIGNERS, chain_id, signer_of};

/// The genesis default part size and block limit, as a running node uses them.
const PART_SIZE: usize = 64 * 1024;
const MAX_BLOCK_BYTES: u64 = 8 * 1024 * 1024;

/// The receiving node's height: parts are kept for it and the next two heights (the seeds are at this height).
/// A node's own height, not input: a fuzzed one near `u64::MAX` only overflowed `current + 2` in the pool, a
/// state no node reaches (fuzz/regressions/consensus_decode/part-height-near-max keeps that input).
const CURRENT_HEIGHT: u64 = 3;

pub fn consensus_decode(data: &[u8]) -> Reached {
    match data.split_first() {
        None => "empty",
        Some((mode, rest)) => match mode % 3 {
            0 => envelope(rest),
            1 => part_message(rest),
            _ => commit_certificate(rest),
        },
    }
}

fn envelope(bytes: &[u8]) -> Reached {
    let Ok(envelope) = wire::decode::<ConsensusEnvelope>(bytes) else {
        return "undecodable";
    };
    assert_eq!(envelope.encode(), bytes, "non-canonical consensus envelope");
    match &envelope.message {
        ConsensusMessage::Vote(vote) => {
            if vote_verifies(vote) {
                "vote_verified"
            } else {
                "vote_rejected"
            }
        }
        ConsensusMessage::Proposal(proposal) => {
            let mut verified = false;
            for signer in SIGNERS.iter() {
                if proposal.verify(&chain_id(), &signer.verifying_key(), &Ed25519Verifier) {
                    let expected = proposal.proposal.clone().sign(&chain_id(), signer);
                    assert_eq!(
                        proposal.signature, expected.signature,
                        "a proposal verified with a signature its validator never made"
                    );
                    verified = true;
                }
            }
            if verified {
                "proposal_verified"
            } else {
                "proposal_rejected"
            }
        }
        // The runner's evidence check against the set of its height (two votes, each checked as above).
        ConsensusMessage::Evidence(evidence) => {
            let verified = evidence.verify(&SET, &chain_id(), &Ed25519Verifier).is_ok();
            if verified {
                assert!(vote_verifies(&evidence.vote_a) && vote_verifies(&evidence.vote_b));
                "evidence_verified"
            } else {
                "evidence_rejected"
            }
        }
    }
}

/// The runner's vote check (`vote_signature_ok`), with the determinism assertion on success.
fn vote_verifies(vote: &SignedVote) -> bool {
    let Some(index) = SET.index_of(&vote.vote.validator) else {
        return false;
    };
    let (_, key) = SET.get(index).expect("index from the set");
    if !vote.verify(&chain_id(), key, &Ed25519Verifier) {
        return false;
    }
    let signer = signer_of(&vote.vote.validator).expect("our validator");
    assert_eq!(
        vote.signature,
        vote.vote.sign(&chain_id(), signer).signature,
        "a vote verified with a signature its validator never made"
    );
    true
}

fn part_message(bytes: &[u8]) -> Reached {
    let Ok(msg) = wire::decode::<PartMessage>(bytes) else {
        return "undecodable";
    };
    assert_eq!(msg.encode(), bytes, "non-canonical part message");
    let mut pool = PartsPool::new(PART_SIZE, MAX_BLOCK_BYTES);
    // As if a signed proposal named the part set (parts of other sets are only buffered).
    pool.vouch((CURRENT_HEIGHT, 0), msg.height, msg.round, msg.parts);
    let peer = cvm_host::network::PeerId::random();
    let place = (msg.height, msg.round);
    let outcome = pool.add(CURRENT_HEIGHT, peer, (), place, msg.parts, msg.part.clone());
    if !(CURRENT_HEIGHT..=CURRENT_HEIGHT + 2).contains(&msg.height) {
        assert_eq!(
            outcome,
            Ok(PartOutcome::Ignored),
            "a part outside the height window was not ignored"
        );
        return "part_ignored";
    }
    match outcome {
        Ok(PartOutcome::Added | PartOutcome::Completed) => {
            verify_part(&msg.parts, &msg.part, PART_SIZE)
                .expect("the pool kept an unverified part");
            if outcome == Ok(PartOutcome::Completed) {
                let body = pool.body(&msg.parts).expect("completed body");
                assert_eq!(PartSet::from_body(body, PART_SIZE).header(), msg.parts);
                "part_completed"
            } else {
                "part_added"
            }
        }
        Ok(other) => panic!("a fresh pool answered {other:?} for a part in its height window"),
        Err(_) => "part_rejected",
    }
}

fn commit_certificate(bytes: &[u8]) -> Reached {
    let Ok(cert) = CommitCertificate::decode_all(&mut &bytes[..]) else {
        return "undecodable";
    };
    assert_eq!(cert.encode(), bytes, "non-canonical certificate");
    if check_certificate(&cert) {
        "certificate_verified"
    } else {
        "certificate_rejected"
    }
}

pub(super) fn seeds() -> Vec<(String, Vec<u8>)> {
    use cvm_consensus::{Height, Proposal, Round, Vote, VoteKind};
    let (block, _) = sample_block(3);
    let value = cvm_consensus::Value::id(&block.header);
    let vote = |kind, signer: &cvm_consensus::Ed25519Signer, resend| {
        ConsensusEnvelope {
            resend,
            message: ConsensusMessage::Vote(
                Vote::new(
                    kind,
                    Height(3),
                    Round(1),
                    Some(value),
                    signer.validator_id(),
                )
                .sign(&chain_id(), signer),
            ),
        }
        .encode()
    };
    let proposal = ConsensusEnvelope {
        resend: 0,
        message: ConsensusMessage::Proposal(Box::new(
            Proposal {
                height: Height(3),
                round: Round(1),
                value: block.header.clone(),
                pol_round: Some(Round(0)),
            }
            .sign(&chain_id(), &SIGNERS[1]),
        )),
    }
    .encode();
    let evidence = {
        let signed = |value: [u8; 32]| {
            Vote::new(
                VoteKind::Prevote,
                Height(3),
                Round(0),
                Some(cvm_consensus::ValueId(value)),
                SIGNERS[3].validator_id(),
            )
            .sign(&chain_id(), &SIGNERS[3])
        };
        ConsensusEnvelope {
            resend: 0,
            message: ConsensusMessage::Evidence(Box::new(
                cvm_consensus::DuplicateVoteEvidence::new(signed(value.0), signed([7; 32])),
            )),
        }
        .encode()
    };
    let set = PartSet::from_body(&block.body, 64);
    let part = |i: usize, parts: PartSetHeader| {
        PartMessage {
            height: 3,
            round: 1,
            parts,
            part: set.parts()[i].clone(),
            resend: 0,
        }
        .encode()
    };
    let single = PartSet::from_body(&block.body, PART_SIZE);
    let with = |mode: u8, bytes: Vec<u8>| [vec![mode], bytes].concat();
    vec![
        (
            "prevote".into(),
            with(0, vote(VoteKind::Prevote, &SIGNERS[0], 0)),
        ),
        (
            "precommit".into(),
            with(0, vote(VoteKind::Precommit, &SIGNERS[2], 4)),
        ),
        ("proposal".into(), with(0, proposal)),
        ("evidence".into(), with(0, evidence)),
        ("part".into(), with(1, part(1, set.header()))),
        (
            "part-whole".into(),
            with(
                1,
                PartMessage {
                    height: 3,
                    round: 0,
                    parts: single.header(),
                    part: single.parts()[0].clone(),
                    resend: 0,
                }
                .encode(),
            ),
        ),
        (
            "certificate".into(),
            with(2, certificate(3, value).encode()),
        ),
    ]
}
