//! A small in-memory chain for runtime tests: deploy and ingest through the real block executor.
#![allow(dead_code)]

pub mod eth;

use std::sync::Arc;

use cvm_runtime::sources::{SourceBlock, SourceDef, genesis_state};
use cvm_runtime::state::{MemoryNodeStore, NodeStore, StateRoot, TrieView};
use cvm_runtime::validators::{Member, Offence};
use cvm_runtime::{
    BlockContext, BlockExecutor, BlockInput, BlockOutcome, CvmEngine, EngineConfig, ExecError,
    ExecutorConfig, InvocationReceipt, SignedTransaction, Transaction, TxPayload, TxStatus,
};
use ed25519_dalek::SigningKey;
use manuscript_sdk::KvRecord;
use parity_scale_codec::Encode;

pub const CHAIN: &str = "test-chain";

pub fn engine() -> Arc<CvmEngine> {
    CvmEngine::new(EngineConfig::default()).expect("engine")
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn kv(key: &str, value: &str) -> Vec<u8> {
    KvRecord::new(key, value).encode()
}

/// The example Ethereum logs, SCALE-encoded as an ingest carries them.
pub fn erc20_records() -> Vec<Vec<u8>> {
    let text =
        std::fs::read_to_string(manuscript_fixtures::erc20_logs_path()).expect("example data");
    manuscript_sdk::sources::json::read_jsonl_or_array(&text)
        .expect("example data parses")
        .iter()
        .map(|v| {
            manuscript_sdk::EthLog::from_json(v)
                .expect("valid log")
                .encode()
        })
        .collect()
}

/// The signed sources every test chain registers at genesis, with the chain's signer as their publisher.
pub const TEST_SOURCES: [&str; 4] = ["kv", "ethereum.logs", "hostile", "s"];

/// The key a test chain's genesis makes its governance key.
pub fn governance_key() -> SigningKey {
    key(11)
}

/// Commits the genesis state of a test chain to `store`: [`TEST_SOURCES`] published by `publisher`, `extra`,
/// and [`governance_key`] as the one governance key.
pub fn genesis(store: &dyn NodeStore, publisher: &SigningKey, extra: &[SourceDef]) -> StateRoot {
    genesis_with_validators(store, publisher, extra, &[])
}

/// [`genesis`] with a first validator set.
pub fn genesis_with_validators(
    store: &dyn NodeStore,
    publisher: &SigningKey,
    extra: &[SourceDef],
    validators: &[Member],
) -> StateRoot {
    let publishers = [publisher.verifying_key().to_bytes()];
    let mut sources: Vec<SourceDef> = TEST_SOURCES
        .iter()
        .map(|name| SourceDef::signed(*name, &publishers))
        .collect();
    sources.extend_from_slice(extra);
    let (root, changes) = genesis_state(
        store,
        &sources,
        &[governance_key().verifying_key().to_bytes()],
        validators,
    )
    .expect("test genesis");
    store.commit(&changes).expect("commit genesis");
    root
}

pub struct Chain {
    pub executor: BlockExecutor,
    pub store: Arc<MemoryNodeStore>,
    pub root: StateRoot,
    pub height: u64,
    pub signer: SigningKey,
    pub nonce: u64,
}

impl Chain {
    pub fn new(engine: Arc<CvmEngine>, parallel: bool) -> Self {
        Self::with_sources(engine, parallel, &[])
    }

    /// A chain whose genesis also records `validators` as its first validator set.
    pub fn with_validators(engine: Arc<CvmEngine>, validators: &[Member]) -> Self {
        let mut chain = Self::new(engine, false);
        chain.root = genesis_with_validators(&*chain.store, &chain.signer, &[], validators);
        chain
    }

    /// A chain whose genesis also registers `extra`.
    pub fn with_sources(engine: Arc<CvmEngine>, parallel: bool, extra: &[SourceDef]) -> Self {
        let store = Arc::new(MemoryNodeStore::new());
        let executor = BlockExecutor::new(
            engine,
            store.clone(),
            ExecutorConfig {
                parallel,
                threads: 2,
                keep_records: true,
                ..ExecutorConfig::default()
            },
        )
        .expect("executor");
        let signer = key(7);
        let root = genesis(&*store, &signer, extra);
        Self {
            executor,
            store,
            root,
            height: 0,
            signer,
            nonce: 0,
        }
    }

    pub fn tx(&mut self, payload: TxPayload) -> SignedTransaction {
        let tx = Transaction {
            chain_id: CHAIN.into(),
            signer: self.signer.verifying_key().to_bytes(),
            nonce: self.nonce,
            payload,
        };
        self.nonce += 1;
        tx.sign(&self.signer)
    }

    /// Executes and commits one block.
    pub fn block(&mut self, txs: &[SignedTransaction]) -> BlockOutcome {
        self.block_within(txs, u64::MAX)
    }

    /// Executes and commits one block with a block fuel budget.
    pub fn block_within(&mut self, txs: &[SignedTransaction], max_block_fuel: u64) -> BlockOutcome {
        self.height += 1;
        let ctx = BlockContext {
            chain_id: CHAIN.into(),
            height: self.height,
            time_ms: 1_000_000 * self.height,
        };
        let outcome = self
            .executor
            .execute_block_within(self.root, &ctx, txs, max_block_fuel)
            .expect("block executes");
        self.store.commit(&outcome.changes).expect("commit");
        self.root = outcome.state_root;
        outcome
    }

    /// Executes and commits one block of `txs` that jails `offences`.
    pub fn block_with_offences(
        &mut self,
        txs: &[SignedTransaction],
        offences: &[Offence],
    ) -> BlockOutcome {
        self.height += 1;
        let ctx = BlockContext {
            chain_id: CHAIN.into(),
            height: self.height,
            time_ms: 1_000_000 * self.height,
        };
        let input = BlockInput {
            txs,
            offences,
            ..BlockInput::default()
        };
        let outcome = self
            .executor
            .execute(self.root, &ctx, input, u64::MAX)
            .expect("block executes");
        self.store.commit(&outcome.changes).expect("commit");
        self.root = outcome.state_root;
        outcome
    }

    /// Executes `source_blocks` and `txs` as one block; commits it when it is valid.
    pub fn block_with_sources(
        &mut self,
        source_blocks: &[SourceBlock],
        txs: &[SignedTransaction],
        max_block_fuel: u64,
    ) -> Result<BlockOutcome, ExecError> {
        let ctx = BlockContext {
            chain_id: CHAIN.into(),
            height: self.height + 1,
            time_ms: 1_000_000 * (self.height + 1),
        };
        let outcome = self.executor.execute_block_with_sources(
            self.root,
            &ctx,
            source_blocks,
            txs,
            max_block_fuel,
        )?;
        self.height += 1;
        self.store.commit(&outcome.changes).expect("commit");
        self.root = outcome.state_root;
        Ok(outcome)
    }

    /// A view of the committed state.
    pub fn view(&self) -> TrieView {
        TrieView::new(self.store.clone(), self.root)
    }

    pub fn deploy(&mut self, wasm: &[u8], fuel: u64) -> TxStatus {
        let tx = self.tx(TxPayload::Deploy {
            wasm: wasm.to_vec(),
            fuel_limit_per_record: fuel,
            sources: Vec::new(),
        });
        self.block(&[tx]).receipts.remove(0).status
    }

    pub fn ingest(&mut self, source: &str, records: Vec<Vec<u8>>) -> BlockOutcome {
        let tx = self.tx(TxPayload::Ingest {
            source: source.into(),
            records: records.into(),
        });
        self.block(&[tx])
    }
}

pub fn invocations(outcome: &BlockOutcome) -> Vec<InvocationReceipt> {
    outcome
        .receipts
        .iter()
        .flat_map(|r| match &r.status {
            TxStatus::Ingested { invocations, .. } => invocations.clone(),
            _ => Vec::new(),
        })
        .collect()
}

pub fn assert_deployed(status: &TxStatus) {
    assert!(
        matches!(status, TxStatus::Deployed { .. }),
        "expected a deploy, got {status:?}"
    );
}

/// The `cvm_manifest` section content as a WAT string literal body (`\xx` escapes).
pub fn manifest_literal(name: &str, sources: &[&str], datasets: &[&str]) -> String {
    manuscript_sdk::manifest::Manifest::new(name, sources.iter().copied(), datasets.iter().copied())
        .to_section()
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect()
}

/// A manuscript that does nothing with its records, with the manifest `name`, `sources`, `datasets`: for tests
/// of what a deploy binds, not of what a manuscript does.
pub fn idle_manuscript(name: &str, sources: &[&str], datasets: &[&str]) -> Vec<u8> {
    let manifest = manifest_literal(name, sources, datasets);
    wat::parse_str(format!(
        r#"(module
            (memory (export "memory") 1)
            (func (export "cvm_alloc") (param i32) (result i32) i32.const 1024)
            (func (export "cvm_process") (param i32 i32 i32 i32) (result i32) i32.const 0)
            (@custom "cvm_manifest" "{manifest}"))"#
    ))
    .expect("valid WAT")
}

/// A hand-written manuscript subscribed to `kv`: `cvm_process` runs `body` (which may call the `log` import)
/// and returns 0; `extra` adds module fields (data segments, padding).
pub fn wat_manuscript(name: &str, body: &str, extra: &str) -> Vec<u8> {
    let manifest = manifest_literal(name, &["kv"], &["out"]);
    wat::parse_str(format!(
        r#"(module
            (import "cvm" "log" (func $log (param i32 i32 i32)))
            (memory (export "memory") 2)
            (data (i32.const 16) "hello, log")
            (func (export "cvm_alloc") (param i32) (result i32) i32.const 65536)
            (func (export "cvm_process") (param i32 i32 i32 i32) (result i32)
                (local $i i32)
                {body}
                i32.const 0)
            {extra}
            (@custom "cvm_manifest" "{manifest}"))"#
    ))
    .expect("test manuscript is valid WAT")
}
