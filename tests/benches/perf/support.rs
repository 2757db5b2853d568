//! Helpers shared by the sections: the example data, CVM engines, and a chain in memory (a [`BlockExecutor`] over
//! a [`MemoryNodeStore`]) that deploys and ingests the way a node does, minus networking and RocksDB.

use std::sync::Arc;

use cvm_runtime::state::{
    H256, ManuscriptMeta, MemoryNodeStore, NodeStore, StateRoot, manuscript_key, next_key,
    read_value,
};
use cvm_runtime::{
    BlockContext, BlockExecutor, BlockOutcome, CvmEngine, EngineConfig, SignedTransaction,
    Transaction, TxPayload, TxStatus,
};
use ed25519_dalek::SigningKey;
use manuscript_sdk::EthLog;
use parity_scale_codec::Decode;

/// The fuel limit per record the benchmarks deploy with: the chain maximum, so no case runs out.
pub const FUEL_LIMIT: u64 = 1_000_000_000;

/// The example Ethereum logs (examples/data/erc20-logs.jsonl).
pub fn example_logs() -> Vec<EthLog> {
    let text =
        std::fs::read_to_string(manuscript_fixtures::erc20_logs_path()).expect("example data");
    manuscript_sdk::sources::json::read_jsonl_or_array(&text)
        .expect("example data is JSON lines")
        .iter()
        .map(|v| EthLog::from_json(v).expect("example log"))
        .collect()
}

/// A CVM engine with the default (consensus) configuration, fuel metering on or off.
pub fn engine(metering: bool) -> Arc<CvmEngine> {
    CvmEngine::new(EngineConfig {
        metering,
        ..Default::default()
    })
    .expect("engine")
}

/// The smallest manuscript the ABI admits (one page, `cvm_alloc` and `cvm_process` returning at once): what
/// warm instantiation is measured with.
pub const EMPTY_WAT: &str = r#"(module
  (@custom "cvm_manifest" "\01\00\00\00\14empty\04\08kv\00")
  (memory (export "memory") 1)
  (func (export "cvm_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "cvm_process") (param i32 i32 i32 i32) (result i32) i32.const 0))"#;

const CHAIN_ID: &str = "perf";

/// A chain in memory: blocks executed by a [`BlockExecutor`] and committed to a [`MemoryNodeStore`].
pub struct MemChain {
    pub executor: BlockExecutor,
    pub store: Arc<MemoryNodeStore>,
    pub root: StateRoot,
    height: u64,
    key: SigningKey,
    nonce: u64,
}

impl MemChain {
    pub fn new(engine: Arc<CvmEngine>) -> Self {
        let store = Arc::new(MemoryNodeStore::new());
        let executor = BlockExecutor::sequential(engine, store.clone());
        let root = cvm_tests::sources::genesis_root(&*store, &[7; 32]);
        MemChain {
            executor,
            store,
            root,
            height: 0,
            key: SigningKey::from_bytes(&[7; 32]),
            nonce: 0,
        }
    }

    /// A signed transaction with the next nonce (not consumed until a block with it is committed).
    pub fn tx(&self, payload: TxPayload) -> SignedTransaction {
        Transaction {
            chain_id: CHAIN_ID.into(),
            signer: self.key.verifying_key().to_bytes(),
            nonce: self.nonce,
            payload,
        }
        .sign(&self.key)
    }

    /// The header of the next block.
    pub fn next_context(&self) -> BlockContext {
        BlockContext {
            chain_id: CHAIN_ID.into(),
            height: self.height + 1,
            time_ms: (self.height + 1) * 1_000,
        }
    }

    /// Executes one block with `txs` on the current root and commits it.
    pub fn commit_block(&mut self, txs: &[SignedTransaction]) -> BlockOutcome {
        let outcome = self
            .executor
            .execute_block(self.root, &self.next_context(), txs)
            .expect("block executes");
        self.store.commit(&outcome.changes).expect("commit");
        self.root = outcome.state_root;
        self.height += 1;
        self.nonce += txs.len() as u64;
        outcome
    }

    /// Deploys `wasm`; returns the manuscript's name.
    pub fn deploy(&mut self, wasm: &[u8]) -> String {
        let tx = self.tx(TxPayload::Deploy {
            wasm: wasm.to_vec(),
            fuel_limit_per_record: FUEL_LIMIT,
            sources: Vec::new(),
        });
        let outcome = self.commit_block(&[tx]);
        match &outcome.receipts[0].status {
            TxStatus::Deployed { manuscript, .. } => manuscript.clone(),
            other => panic!("deploy failed: {other:?}"),
        }
    }

    /// Ingests `records` of `source` in one block and commits it.
    pub fn ingest(&mut self, source: &str, records: Vec<Vec<u8>>) -> BlockOutcome {
        let tx = self.tx(TxPayload::Ingest {
            source: source.into(),
            records: records.into(),
        });
        let outcome = self.commit_block(&[tx]);
        assert!(
            matches!(outcome.receipts[0].status, TxStatus::Ingested { .. }),
            "ingest failed: {:?}",
            outcome.receipts[0].status
        );
        outcome
    }

    /// Every entry of a manuscript's child trie (state under `s/`, records under `d/<dataset>/`), in key order.
    pub fn child_entries(&self, manuscript: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        let meta = read_value(&*self.store, self.root, &manuscript_key(manuscript))
            .expect("main trie readable")
            .expect("manuscript deployed");
        let meta = ManuscriptMeta::decode(&mut &meta[..]).expect("manuscript meta");
        let child_root = H256::from(meta.child_root);
        let mut entries = Vec::new();
        let mut from = Vec::new();
        let mut exclusive = false;
        while let Some(key) =
            next_key(&*self.store, child_root, b"", &from, exclusive).expect("child trie readable")
        {
            let value = read_value(&*self.store, child_root, &key)
                .expect("child trie readable")
                .expect("listed key has a value");
            entries.push((key.clone(), value));
            from = key;
            exclusive = true;
        }
        entries
    }
}
