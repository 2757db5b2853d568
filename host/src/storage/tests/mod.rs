//! Storage tests against a real RocksDB in a temporary directory: the test chain and its helpers are here, the
//! tests by topic.

mod commits;
mod open_errors;
mod replays;
mod wal_records;

use std::sync::Arc;

use cvm_consensus::wal::{Wal, WalEntry};
use cvm_consensus::{CommitCertificate, Height, Round, ValueId};
use cvm_runtime::state::{StateChanges, StateRoot, prove_record, verify_record};
use cvm_runtime::{
    BlockContext, BlockExecutor, BlockOutcome, CvmEngine, EngineConfig, ExecutorConfig,
    SignedTransaction, Transaction, TxPayload, TxStatus,
};
use ed25519_dalek::SigningKey;
use manuscript_sdk::KvRecord;
use parity_scale_codec::Encode;
use tempfile::TempDir;

use super::keys::{CF_BLOCKS, CF_WAL, height_key};
use super::*;
use crate::chain::genesis::ChainParams;
use crate::chain::source_json::{GovernanceJson, SourceJson};
use crate::chain::{Block, BlockBody, BlockHeader, Genesis, GenesisValidator, PartSet};

const CHAIN: &str = "storage-test";

/// The test chain's genesis: the `kv` source, published by the chain's signer.
fn genesis() -> Genesis {
    let key = |seed: u8| {
        hex::encode(
            SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .to_bytes(),
        )
    };
    Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: 0,
        validators: vec![GenesisValidator {
            name: "v".into(),
            public_key: key(9),
            power: 1,
        }],
        params: ChainParams::default(),
        sources: vec![SourceJson::Signed {
            name: "kv".into(),
            publishers: vec![key(7)],
        }],
        governance: GovernanceJson::default(),
    }
}

fn engine() -> Arc<CvmEngine> {
    CvmEngine::new(EngineConfig::default()).expect("engine")
}

fn exec_config() -> ExecutorConfig {
    ExecutorConfig {
        parallel: false,
        threads: 1,
        keep_records: true,
        ..ExecutorConfig::default()
    }
}

fn certificate(block: &Block) -> CommitCertificate {
    CommitCertificate {
        height: Height(block.height()),
        round: Round(0),
        value_id: ValueId(block.hash()),
        signatures: Vec::new(),
    }
}

/// A block over `txs` with the given execution results, chained on `parent` (hash, time).
fn make_block(
    height: u64,
    parent_hash: [u8; 32],
    txs: Vec<SignedTransaction>,
    state_root: [u8; 32],
    receipts_root: [u8; 32],
) -> Block {
    let body = BlockBody {
        source_blocks: Vec::new(),
        txs,
        last_commit: None,
        evidence: Vec::new(),
    };
    let header = BlockHeader {
        chain_id: CHAIN.into(),
        height,
        time_ms: 1_000_000 * height,
        parent_hash,
        proposer: [9; 32],
        // The genesis set signs every height of these chains.
        validators_hash: crate::chain::membership_hash(&genesis().validator_set().unwrap()),
        next_validators_hash: crate::chain::membership_hash(&genesis().validator_set().unwrap()),
        sources_hash: body.sources_hash(),
        txs_root: body.txs_root(),
        tx_count: body.txs.len() as u32,
        state_root,
        receipts_root,
        fuel_used: 0,
        last_commit_hash: body.last_commit_hash(),
        evidence_hash: body.evidence_hash(),
        parts: PartSet::from_body(&body, 64 * 1024).header(),
    };
    Block { header, body }
}

/// A chain executed over the storage's own node store and committed block by block.
struct TestChain {
    storage: Storage,
    executor: BlockExecutor,
    signer: SigningKey,
    nonce: u64,
    /// Whether commits are fsynced.
    durable: bool,
}

impl TestChain {
    fn new(storage: Storage, engine: Arc<CvmEngine>) -> Self {
        let executor =
            BlockExecutor::new(engine, storage.node_store(), exec_config()).expect("executor");
        let (_, changes) = genesis()
            .state(&*storage.node_store())
            .expect("genesis state");
        storage
            .node_store()
            .commit(&changes)
            .expect("genesis state commits");
        // Resume the nonce from a restarted chain: this signer sends one tx per block.
        let nonce = storage.head().unwrap().map_or(0, |h| h.height);
        Self {
            storage,
            executor,
            signer: SigningKey::from_bytes(&[7; 32]),
            nonce,
            durable: true,
        }
    }

    fn tx(&mut self, payload: TxPayload) -> SignedTransaction {
        let tx = Transaction {
            chain_id: CHAIN.into(),
            signer: self.signer.verifying_key().to_bytes(),
            nonce: self.nonce,
            payload,
        };
        self.nonce += 1;
        tx.sign(&self.signer)
    }

    /// Executes `txs` on the head's state and commits the block.
    fn block(&mut self, txs: Vec<SignedTransaction>) -> (Block, BlockOutcome) {
        let head = self.storage.head().unwrap();
        let (height, parent_hash, parent_root) = match &head {
            Some(h) => (h.height + 1, h.block_hash, StateRoot::from(h.state_root)),
            None => (
                1,
                [0; 32],
                genesis()
                    .state(&*self.storage.node_store())
                    .expect("genesis")
                    .0,
            ),
        };
        let ctx = BlockContext {
            chain_id: CHAIN.into(),
            height,
            time_ms: 1_000_000 * height,
        };
        let outcome = self
            .executor
            .execute_block(parent_root, &ctx, &txs)
            .expect("block executes");
        let block = make_block(
            height,
            parent_hash,
            txs,
            outcome.state_root.0,
            outcome.receipts_root.0,
        );
        self.storage
            .commit_block_with(
                &CommittedBlock {
                    block: &block,
                    certificate: &certificate(&block),
                    changes: &outcome.changes,
                    receipts: &outcome.receipts,
                    source_blocks: &[],
                    dataset_changes: &outcome.dataset_changes,
                    validators: None,
                    jailed: &[],
                },
                self.durable,
            )
            .expect("block commits");
        (block, outcome)
    }

    fn deploy_counter(&mut self) -> (Block, BlockOutcome) {
        let wasm = wat::parse_str(manuscript_fixtures::WAT_COUNTER).expect("counter.wat parses");
        let tx = self.tx(TxPayload::Deploy {
            wasm,
            fuel_limit_per_record: 10_000_000,
            sources: Vec::new(),
        });
        self.block(vec![tx])
    }

    fn ingest(&mut self, keys: &[&str]) -> (Block, BlockOutcome) {
        let records = keys
            .iter()
            .map(|k| KvRecord::new(k, "v").encode())
            .collect();
        let tx = self.tx(TxPayload::Ingest {
            source: "kv".into(),
            records,
        });
        self.block(vec![tx])
    }
}

/// Deploys the counter and ingests two batches: heights 1, 2, 3.
fn three_blocks(storage: &Storage, engine: Arc<CvmEngine>) -> Vec<(Block, BlockOutcome)> {
    let mut chain = TestChain::new(storage.clone(), engine);
    let deploy = chain.deploy_counter();
    assert!(
        matches!(deploy.1.receipts[0].status, TxStatus::Deployed { .. }),
        "deploy failed: {:?}",
        deploy.1.receipts[0].status
    );
    let b2 = chain.ingest(&["a", "b"]);
    let b3 = chain.ingest(&["b", "c"]);
    vec![deploy, b2, b3]
}

fn u64_le(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}
