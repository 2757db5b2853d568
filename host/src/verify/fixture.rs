//! Test helpers that build a real bundle: a chain with the WAT counter deployed and some records ingested, a
//! header over its state root and a certificate from 4 equal validators. Shared with the RPC and CLI tests.

use std::sync::Arc;

use cvm_consensus::{CommitCertificate, Ed25519Signer, Height, Round, Signer as _, Vote, VoteKind};
use cvm_runtime::sources::{SourceDef, genesis_state, prove_provenance};
use cvm_runtime::state::{MemoryNodeStore, NodeStore as _, prove_record};
use cvm_runtime::{
    BlockContext, BlockExecutor, CvmEngine, EngineConfig, SignedTransaction, Transaction, TxPayload,
};
use ed25519_dalek::SigningKey;
use manuscript_sdk::KvRecord;
use parity_scale_codec::Encode;

use super::*;
use crate::chain::Genesis;
use crate::chain::genesis::{ChainParams, GenesisValidator};
use crate::chain::{BlockHeader, PartSetHeader};
use cvm_consensus::ChainId;

pub const CHAIN: &str = "verify-test";
pub const HEIGHT: u64 = 2;

pub fn validator_signer(i: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed([i + 1; 32])
}

pub fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: 0,
        validators: (0..4)
            .map(|i| GenesisValidator {
                name: format!("v{i}"),
                public_key: hex::encode(validator_signer(i).verifying_key().to_bytes()),
                power: 10,
            })
            .collect(),
        params: ChainParams::default(),
        sources: Vec::new(),
        governance: Default::default(),
    }
}

/// Precommits for `header` from `signers`, as a certificate (the set is the genesis one).
pub fn certificate(
    header: &BlockHeader,
    signers: &[Ed25519Signer],
    chain_id: &str,
) -> CommitCertificate {
    let set = genesis().validator_set().unwrap();
    let value = cvm_consensus::ValueId(header.hash());
    let votes: Vec<_> = signers
        .iter()
        .map(|s| {
            Vote::new(
                VoteKind::Precommit,
                Height(header.height),
                Round(0),
                Some(value),
                s.validator_id(),
            )
            .sign(&ChainId::new(chain_id), s)
        })
        .collect();
    CommitCertificate::from_precommits(Height(header.height), Round(0), value, &set, &votes)
}

/// The membership hash of the genesis set, which signs every height of the fixture chain.
pub fn genesis_set_hash() -> [u8; 32] {
    crate::chain::membership_hash(&genesis().validator_set().unwrap())
}

/// Trusting the fixture genesis.
pub fn trust() -> Trust {
    Trust::genesis(&genesis()).unwrap()
}

fn user() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn user_tx(nonce: u64, payload: TxPayload) -> SignedTransaction {
    Transaction {
        chain_id: CHAIN.into(),
        signer: user().verifying_key().to_bytes(),
        nonce,
        payload,
    }
    .sign(&user())
}

/// The ingest into `kv` that [`bundle`] applies: the signed source's head after it is (1, its hash).
pub fn ingest_tx() -> SignedTransaction {
    user_tx(
        1,
        TxPayload::Ingest {
            source: "kv".into(),
            records: vec![
                KvRecord::new("a", "1").encode(),
                KvRecord::new("b", "2").encode(),
                KvRecord::new("a", "3").encode(),
            ]
            .into(),
        },
    )
}

/// A valid bundle for the record `count` (or the record key `a`) of the WAT counter's `counts` dataset, which
/// reads the signed source `kv` after one ingest.
pub fn bundle() -> RecordBundle {
    bundle_with(true)
}

/// The chain of [`bundle_with`]: its store and state root after the deploy (and the ingest).
fn chain(ingest: bool) -> (Arc<MemoryNodeStore>, cvm_runtime::state::StateRoot) {
    let engine: Arc<CvmEngine> = CvmEngine::new(EngineConfig::default()).unwrap();
    let store = Arc::new(MemoryNodeStore::new());
    let executor = BlockExecutor::sequential(engine, store.clone());
    let kv = SourceDef::signed("kv", &[user().verifying_key().to_bytes()]);
    let (mut root, changes) = genesis_state(&*store, &[kv], &[], &[]).unwrap();
    store.commit(&changes).unwrap();
    let txs = [
        user_tx(
            0,
            TxPayload::Deploy {
                wasm: wat::parse_str(manuscript_fixtures::WAT_COUNTER).unwrap(),
                fuel_limit_per_record: 1_000_000,
                sources: Vec::new(),
            },
        ),
        ingest_tx(),
    ];
    let blocks = if ingest { 2 } else { 1 };
    for (nonce, tx) in txs.into_iter().take(blocks).enumerate() {
        let height = nonce as u64 + 1;
        let ctx = BlockContext {
            chain_id: CHAIN.into(),
            height,
            time_ms: 1_000 * height,
        };
        let outcome = executor.execute_block(root, &ctx, &[tx]).unwrap();
        store.commit(&outcome.changes).unwrap();
        root = outcome.state_root;
    }
    (store, root)
}

/// A header at [`HEIGHT`] over `root` and its certificate from three of the four validators.
fn finalized(root: cvm_runtime::state::StateRoot) -> (BlockHeader, CommitCertificate) {
    let header = BlockHeader {
        chain_id: CHAIN.into(),
        height: HEIGHT,
        time_ms: 2_000,
        parent_hash: [1; 32],
        proposer: validator_signer(0).verifying_key().to_bytes(),
        validators_hash: genesis_set_hash(),
        next_validators_hash: genesis_set_hash(),
        sources_hash: [0; 32],
        txs_root: [2; 32],
        tx_count: 1,
        state_root: root.into(),
        receipts_root: [3; 32],
        fuel_used: 1,
        last_commit_hash: [4; 32],
        evidence_hash: [0; 32],
        parts: PartSetHeader {
            total: 1,
            root: [5; 32],
        },
    };
    let signers: Vec<_> = (0..3).map(validator_signer).collect();
    let certificate = certificate(&header, &signers, CHAIN);
    (header, certificate)
}

/// A valid page of the WAT counter's `counts` dataset (records `a`, `b` and `count`) for `query`'s range.
pub fn page(prefix: &[u8], start: &[u8], limit: u32) -> crate::record_page::RecordPage {
    use crate::record_page::{PageCursor, PageRecord, RecordPage, record_json};
    let (store, root) = chain(true);
    let query = cvm_runtime::state::PageQuery {
        manuscript: "wat-counter".into(),
        dataset: "counts".into(),
        prefix: prefix.to_vec(),
        start: start.to_vec(),
        limit,
    };
    let (served, page, proof) =
        cvm_runtime::state::prove_page(&*store, root, &query, usize::MAX).unwrap();
    let (header, certificate) = finalized(root);
    RecordPage {
        chain_id: CHAIN.into(),
        height: HEIGHT,
        query: query.with_limit(served),
        next: page.more.then(|| PageCursor {
            height: HEIGHT,
            last_key: page.records.last().unwrap().0.clone(),
        }),
        records: page
            .records
            .into_iter()
            .map(|(key, value)| {
                let (key_json, value_json) = record_json(None, "counts", &key, &value);
                PageRecord {
                    key,
                    value,
                    key_json,
                    value_json,
                }
            })
            .collect(),
        proof,
        header,
        certificate,
    }
}

/// As [`bundle`], with the counter deployed and nothing ingested yet (the record `count` proven absent) when
/// `ingest` is false.
pub fn bundle_with(ingest: bool) -> RecordBundle {
    let (store, root) = chain(ingest);
    let proof = [b"count".to_vec(), b"a".to_vec()]
        .into_iter()
        .map(|k| prove_record(&*store, root, "wat-counter", "counts", &k).unwrap())
        .find(|p| p.value.is_some() || !ingest)
        .expect("the counter emitted a record");
    let provenance = prove_provenance(&*store, root, "wat-counter").unwrap();
    let (header, certificate) = finalized(root);
    RecordBundle {
        chain_id: CHAIN.into(),
        height: HEIGHT,
        manuscript: proof.manuscript.clone(),
        dataset: proof.dataset.clone(),
        key: proof.key.clone(),
        value: proof.value.clone(),
        key_json: None,
        value_json: None,
        proof,
        provenance: Some(provenance),
        header,
        certificate,
        header_chain: Vec::new(),
    }
}

/// The bundle's record as a block's one change: a one-key record-set proof is the record proof.
pub fn changes() -> crate::block_changes::BlockChanges {
    let b = bundle();
    let p = b.proof;
    crate::block_changes::BlockChanges::new(
        b.chain_id,
        b.height,
        vec![cvm_runtime::state::RecordSetProof {
            manuscript: p.manuscript,
            dataset: p.dataset,
            entries: vec![(p.key, p.value)],
            manuscript_meta: p.manuscript_meta,
            main_proof: p.main_proof,
            child_proof: p.child_proof,
            appended: None,
        }],
        b.header,
        b.certificate,
        |_| None,
    )
}
