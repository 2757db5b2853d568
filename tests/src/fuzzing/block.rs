//! Target `block_decode`: blocks as peers send them.
//!
//! The first byte picks the format of the rest:
//! - 0: a [`Block`] as the node's gossip/storage decoder reads it ([`wire::decode`]);
//! - 1: a [`SyncResponse`], decoded as the sync codec does (whole frame, nesting depth limit, source blocks
//!   within their bounds), then trimmed by [`fit_blocks`] or [`fit_source_blocks`] to a limit taken from the
//!   input;
//! - 2: a part size byte, then raw body bytes split into a [`PartSet`] and reassembled through the
//!   [`PartsPool`] that collects gossiped parts, with parts mutated by the input on the way.
//!
//! Asserted: canonical round trips; a body that matches its header reassembles to itself from its parts; a
//! certificate that verifies is signed by our validators; trimmed sync responses fit their limit; a source blocks
//! reply holds at most `MAX_SOURCE_BLOCKS_PER_REQUEST` blocks, each within the decoding bounds; and a part that
//! verifies against the part-set root carries exactly the bytes committed at its index.

use cvm_consensus::{CommitCertificate, Height, Value, ValueId};
use cvm_host::chain::parts::verify_part;
use cvm_host::chain::{Block, BlockBody, BlockHeader, PartSet};
use cvm_host::network::{
    MAX_SOURCE_BLOCKS_PER_REQUEST, SourceBlocksReply, SyncResponse, SyncedBlock, fit_blocks,
    fit_source_blocks,
};
use cvm_host::node::parts_pool::{PartOutcome, PartsPool};
use cvm_host::node::wire;
use cvm_host::sources::ethereum::EthBlockData;
use cvm_host::sources::ethereum::block_data::{MAX_SOURCE_BLOCK_BYTES, MAX_SOURCE_BLOCK_TXS};
use cvm_runtime::state::blake2_256;
use parity_scale_codec::{DecodeAll, DecodeLimit, Encode};

use super::context::validators::{SET, SIGNERS, chain_id, signer_of};
use super::context::{CHAIN, Input, Reached};

/// Part size for whole blocks: the smallest a genesis allows.
const PART_SIZE: usize = 1024;

/// The sync codec's nesting limit (`MAX_DECODE_DEPTH` in host/src/network/codec.rs, private there).
const SYNC_DECODE_DEPTH: u32 = 64;

pub fn block_decode(data: &[u8]) -> Reached {
    match data.split_first() {
        None => "empty",
        Some((mode, rest)) => match mode % 3 {
            0 => block(rest),
            1 => sync_response(rest),
            _ => body_parts(&mut Input::new(rest)),
        },
    }
}

fn block(bytes: &[u8]) -> Reached {
    let Ok(block) = wire::decode::<Block>(bytes) else {
        return "undecodable";
    };
    assert_eq!(block.encode(), bytes, "non-canonical block encoding");
    check_block(&block, None)
}

fn sync_response(bytes: &[u8]) -> Reached {
    let Ok(response) =
        SyncResponse::decode_all_with_depth_limit(SYNC_DECODE_DEPTH, &mut &bytes[..])
    else {
        return "undecodable";
    };
    assert_eq!(response.encode(), bytes, "non-canonical sync response");
    let blocks = match response {
        SyncResponse::Blocks(blocks) => blocks,
        SyncResponse::SourceBlocks(reply) => return source_blocks(reply, bytes.len()),
        _ => return "sync_other",
    };
    let mut deepest = "sync_blocks";
    for synced in &blocks {
        if check_block(&synced.block, Some(&synced.certificate)) == "certified" {
            deepest = "certified";
        }
    }
    // Trimming to any limit yields a prefix whose encoding fits (or nothing).
    let limit = usize::from(bytes.len().to_le_bytes()[0]) * 16;
    let fitted = fit_blocks(blocks.clone(), limit);
    assert_eq!(fitted[..], blocks[..fitted.len()]);
    let size = SyncResponse::Blocks(fitted.clone()).encoded_size();
    assert!(
        fitted.is_empty() || size <= limit,
        "fit_blocks kept {} blocks of {size} bytes for a limit of {limit}",
        fitted.len()
    );
    deepest
}

/// A decoded source blocks reply: within its bounds, and trimmed to any limit it is a prefix that fits.
fn source_blocks(reply: SourceBlocksReply, len: usize) -> Reached {
    assert!(reply.0.len() <= MAX_SOURCE_BLOCKS_PER_REQUEST);
    for data in reply.0.iter().flatten() {
        assert!(data.size() <= MAX_SOURCE_BLOCK_BYTES);
        assert!(data.transactions.len() <= MAX_SOURCE_BLOCK_TXS as usize);
    }
    let limit = usize::from(len.to_le_bytes()[0]) * 16;
    let fitted = fit_source_blocks(reply.clone(), limit);
    assert_eq!(fitted.0[..], reply.0[..fitted.0.len()]);
    let size = SyncResponse::SourceBlocks(fitted.clone()).encoded_size();
    assert!(
        fitted.0.is_empty() || size <= limit,
        "fit_source_blocks kept {} blocks of {size} bytes for a limit of {limit}",
        fitted.0.len()
    );
    "sync_source_blocks"
}

/// Checks any decoded block; with a certificate, the sync path's certificate check too.
fn check_block(block: &Block, certificate: Option<&CommitCertificate>) -> Reached {
    let hash = block.hash();
    assert_eq!(hash, blake2_256(&block.header.encode()));
    assert_eq!(block.header.id(), ValueId(hash));
    if let Some(cert) = &block.body.last_commit {
        check_certificate(cert);
    }
    let mut deepest = "decoded";
    if block.body_matches_header(PART_SIZE) {
        // What a node does with a proposal: split the body into parts; peers reassemble them to the same body.
        let set = PartSet::from_body(&block.body, PART_SIZE);
        assert_eq!(set.header(), block.header.parts);
        let mut pool = PartsPool::new(PART_SIZE, 1 << 20);
        let height = block.height();
        pool.vouch((height, 0), height, 0, set.header());
        let peer = cvm_host::network::PeerId::random();
        let mut completed = false;
        for part in set.parts() {
            let outcome = pool.add(height, peer, (), (height, 0), set.header(), part.clone());
            completed = outcome == Ok(PartOutcome::Completed);
        }
        assert!(
            completed,
            "the last part of a matching body did not complete it"
        );
        assert_eq!(pool.body(&set.header()), Some(&block.body));
        deepest = "body_matches";
    }
    if let Some(cert) = certificate {
        let verified = cert.verify_for_height(
            Height(block.height()),
            &SET,
            &chain_id(),
            &cvm_consensus::Ed25519Verifier,
        );
        if verified.is_ok() {
            check_certificate(cert);
            if cert.value_id == ValueId(hash) {
                deepest = "certified";
            }
        }
    }
    deepest
}

/// Verifies a certificate against the fixed set; if it verifies, every signature must be the one our validator
/// makes (ed25519 signing is deterministic, so anything else is a forgery or a malleated signature).
pub(super) fn check_certificate(cert: &CommitCertificate) -> bool {
    let ok = cert
        .verify(&SET, &chain_id(), &cvm_consensus::Ed25519Verifier)
        .is_ok();
    if ok {
        for sig in &cert.signatures {
            let vote = cert
                .vote_of(&SET, sig.validator_index)
                .expect("verified signer");
            let signer = signer_of(&vote.validator).expect("our validator");
            let expected = vote.sign(&chain_id(), signer).signature;
            assert_eq!(
                sig.signature, expected,
                "a certificate verified with a signature its validator never made"
            );
        }
    }
    ok
}

fn body_parts(input: &mut Input<'_>) -> Reached {
    let part_size = 1 + usize::from(input.u8() % 96);
    let mutation = input.u16();
    let bytes = input.take(usize::MAX);
    // At most 64 parts: building every part's proof is quadratic in the count (fine for a real block's few
    // dozen parts, but tiny parts of a large input would make each fuzz run slow).
    let part_size = part_size.max(bytes.len().div_ceil(64));
    let set = PartSet::from_bytes(bytes, part_size);
    let header = set.header();
    assert_eq!(header, PartSet::header_of(bytes, part_size));
    let chunks: Vec<&[u8]> = if bytes.is_empty() {
        vec![&[][..]]
    } else {
        bytes.chunks(part_size).collect()
    };
    assert_eq!(header.total as usize, chunks.len());

    // A part moved to another index, with a flipped byte or proof node, a shortened proof, or an inner node of
    // the tree passed off as a part, verifies only if it still carries exactly the committed bytes of its index.
    let mut forged = set.parts()[usize::from(mutation >> 8) % set.parts().len()].clone();
    match mutation % 5 {
        0 => forged.index = u32::from(mutation >> 2) % (header.total + 1),
        4 if forged.proof.len() > 1 || header.total == 2 => {
            // Second preimage: an inner node (two child hashes) presented as a part one level up the tree.
            let pair = usize::from(mutation >> 3) % header.total.div_ceil(2) as usize;
            let left = blake2_256(chunks[2 * pair]);
            let right = chunks
                .get(2 * pair + 1)
                .map(|c| blake2_256(c))
                .unwrap_or(left);
            forged = set.parts()[2 * pair].clone();
            forged.bytes = [left, right].concat();
            forged.proof.remove(0);
            forged.index = pair as u32;
        }
        1 if !forged.bytes.is_empty() => {
            let i = usize::from(mutation >> 2) % forged.bytes.len();
            forged.bytes[i] ^= 1 << (mutation % 8);
        }
        2 if !forged.proof.is_empty() => {
            let i = usize::from(mutation >> 2) % forged.proof.len();
            forged.proof[i][usize::from(mutation) % 32] ^= 1;
        }
        _ => {
            forged.proof.pop();
        }
    }
    if verify_part(&header, &forged, part_size).is_ok() {
        assert_eq!(
            forged.bytes, chunks[forged.index as usize],
            "a part verified at index {} with bytes not committed there",
            forged.index
        );
    }

    // Every honest part verifies; reassembly (in reverse arrival order) gives what decoding the bytes gives.
    let mut pool = PartsPool::new(part_size, (part_size * 4096) as u64);
    pool.vouch((7, 0), 7, 0, header);
    let peer = cvm_host::network::PeerId::random();
    let mut last = None;
    for part in set.parts().iter().rev() {
        verify_part(&header, part, part_size).expect("an honest part verifies");
        last = Some(pool.add(7, peer, (), (7, 0), header, part.clone()));
    }
    let decoded = BlockBody::decode_all(&mut &bytes[..]);
    match last.expect("at least one part") {
        Ok(PartOutcome::Completed) => {
            let body = decoded.expect("the pool assembled a body that does not decode");
            assert_eq!(pool.body(&header), Some(&body));
            assert_eq!(body.encode(), bytes);
            "reassembled"
        }
        Err(_) => {
            assert!(
                decoded.is_err(),
                "the pool refused the parts of a decodable body"
            );
            "parts_undecodable"
        }
        Ok(other) => panic!("the last honest part gave {other:?}"),
    }
}

/// A valid block at `height` with two transactions and the previous block's certificate.
pub(super) fn sample_block(height: u64) -> (Block, CommitCertificate) {
    use cvm_runtime::{Transaction, TxPayload};
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let txs = (0..2)
        .map(|nonce| {
            Transaction {
                chain_id: CHAIN.into(),
                signer: key.verifying_key().to_bytes(),
                nonce,
                payload: TxPayload::Ingest {
                    source: "kv".into(),
                    records: vec![vec![nonce as u8; 3]].into(),
                },
            }
            .sign(&key)
        })
        .collect();
    let parent = certificate(height - 1, ValueId([height as u8; 32]));
    let body = BlockBody {
        source_blocks: Vec::new(),
        txs,
        last_commit: (height > 1).then_some(parent),
        evidence: Vec::new(),
    };
    let header = BlockHeader {
        chain_id: CHAIN.into(),
        height,
        time_ms: 1_700_000_000_000 + height,
        parent_hash: [height as u8; 32],
        proposer: SIGNERS[0].verifying_key().to_bytes(),
        validators_hash: [0; 32],
        next_validators_hash: [0; 32],
        sources_hash: body.sources_hash(),
        txs_root: body.txs_root(),
        tx_count: body.txs.len() as u32,
        state_root: [5; 32],
        receipts_root: [6; 32],
        fuel_used: 42,
        last_commit_hash: body.last_commit_hash(),
        evidence_hash: body.evidence_hash(),
        parts: PartSet::header_of(&body.encode(), PART_SIZE),
    };
    let block = Block { header, body };
    let cert = certificate(height, ValueId(block.hash()));
    (block, cert)
}

/// A certificate for `value` signed by three of the four validators.
pub(super) fn certificate(height: u64, value: ValueId) -> CommitCertificate {
    use cvm_consensus::{Round, Vote, VoteKind};
    let votes: Vec<_> = SIGNERS[..3]
        .iter()
        .map(|s| {
            Vote::new(
                VoteKind::Precommit,
                Height(height),
                Round(0),
                Some(value),
                cvm_consensus::Signer::validator_id(s),
            )
            .sign(&chain_id(), s)
        })
        .collect();
    CommitCertificate::from_precommits(Height(height), Round(0), value, &SET, &votes)
}

pub(super) fn seeds() -> Vec<(String, Vec<u8>)> {
    let (block, cert) = sample_block(2);
    let (first, first_cert) = sample_block(1);
    let with = |mode: u8, bytes: Vec<u8>| [vec![mode], bytes].concat();
    let sync = SyncResponse::Blocks(vec![
        SyncedBlock {
            block: first.clone(),
            certificate: first_cert,
        },
        SyncedBlock {
            block: block.clone(),
            certificate: cert,
        },
    ]);
    vec![
        ("block".into(), with(0, block.encode())),
        ("block-first".into(), with(0, first.encode())),
        ("sync-blocks".into(), with(1, sync.encode())),
        (
            "sync-source-blocks".into(),
            with(
                1,
                SyncResponse::SourceBlocks(SourceBlocksReply(vec![
                    Some(EthBlockData {
                        header_rlp: vec![0xc0],
                        transactions: vec![vec![1, 2, 3]],
                        receipts: Some(vec![vec![4, 5]]),
                    }),
                    None,
                ]))
                .encode(),
            ),
        ),
        (
            "sync-status".into(),
            with(1, SyncResponse::Status { height: 9 }.encode()),
        ),
        (
            "parts-body".into(),
            with(2, [vec![31, 0, 1], block.body.encode()].concat()),
        ),
        (
            "parts-garbage".into(),
            with(2, vec![3, 5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        ),
    ]
}
