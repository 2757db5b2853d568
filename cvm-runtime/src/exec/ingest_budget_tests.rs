//! An ingest's subscribers share the block's fuel budget: however many there are, the fuel they burn in all
//! stays within it, and the outcome is the same whatever the thread count.

use std::sync::Arc;

use ed25519_dalek::SigningKey;

use super::ingest::burnt;
use super::{BlockContext, BlockExecutor, BlockOutcome, ExecutorConfig};
use crate::receipt::TxStatus;
use crate::sources::{SourceDef, genesis_state};
use crate::state::{MemoryNodeStore, NodeStore, StateRoot};
use crate::tx::{SignedTransaction, Transaction, TxPayload};
use crate::{CvmEngine, EngineConfig};

const CHAIN: &str = "budget-chain";
const SUBSCRIBERS: usize = 4;
const PER_RECORD: u64 = 1_000_000_000;

/// A manuscript subscribed to `s` that, for a record `spin`, loops until its fuel runs out, and for any other
/// record does a little work.
fn spinner(name: &str) -> Vec<u8> {
    let manifest = crate::test_wat::manifest_string(name);
    wat::parse_str(format!(
        r#"(module
            (@custom "cvm_manifest" "{manifest}")
            (memory (export "memory") 1)
            (func (export "cvm_alloc") (param i32) (result i32) i32.const 1024)
            (func (export "cvm_process") (param i32 i32 i32 i32) (result i32)
                local.get 3
                i32.const 4
                i32.eq
                if
                    loop
                        br 0
                    end
                end
                i32.const 0))"#
    ))
    .expect("valid WAT")
}

struct Chain {
    executor: BlockExecutor,
    store: Arc<MemoryNodeStore>,
    root: StateRoot,
    height: u64,
    signer: SigningKey,
    nonce: u64,
}

impl Chain {
    fn new(parallel: bool, threads: usize) -> Self {
        let engine = CvmEngine::new(EngineConfig::default()).expect("engine");
        let store = Arc::new(MemoryNodeStore::new());
        let executor = BlockExecutor::new(
            engine,
            store.clone(),
            ExecutorConfig {
                parallel,
                threads,
                keep_records: true,
                ..ExecutorConfig::default()
            },
        )
        .expect("executor");
        let signer = SigningKey::from_bytes(&[9; 32]);
        let source = SourceDef::signed("s", &[signer.verifying_key().to_bytes()]);
        let (root, changes) = genesis_state(&*store, &[source], &[], &[]).expect("genesis");
        store.commit(&changes).expect("commit genesis");
        let mut chain = Self {
            executor,
            store,
            root,
            height: 0,
            signer,
            nonce: 0,
        };
        let deploys: Vec<_> = (0..SUBSCRIBERS)
            .map(|i| {
                chain.tx(TxPayload::Deploy {
                    wasm: spinner(&format!("spin{i}")),
                    fuel_limit_per_record: PER_RECORD,
                    sources: Vec::new(),
                })
            })
            .collect();
        let outcome = chain.block(&deploys, u64::MAX);
        for receipt in &outcome.receipts {
            assert!(
                matches!(receipt.status, TxStatus::Deployed { .. }),
                "{:?}",
                receipt.status
            );
        }
        chain
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

    fn ingest(&mut self, records: &[&str]) -> SignedTransaction {
        self.tx(TxPayload::Ingest {
            source: "s".into(),
            records: records
                .iter()
                .map(|r| r.as_bytes().to_vec())
                .collect::<Vec<_>>()
                .into(),
        })
    }

    fn block(&mut self, txs: &[SignedTransaction], max_block_fuel: u64) -> BlockOutcome {
        self.height += 1;
        let ctx = BlockContext {
            chain_id: CHAIN.into(),
            height: self.height,
            time_ms: 1_000 * self.height,
        };
        let outcome = self
            .executor
            .execute_block_within(self.root, &ctx, txs, max_block_fuel)
            .expect("block executes");
        self.store.commit(&outcome.changes).expect("commit");
        self.root = outcome.state_root;
        outcome
    }
}

#[test]
fn an_ingest_with_many_subscribers_burns_at_most_max_block_fuel() {
    let max_block_fuel = 30_000_000;
    for (parallel, threads) in [(false, 1), (true, 2), (true, SUBSCRIBERS)] {
        let mut chain = Chain::new(parallel, threads);
        let spin = chain.ingest(&["spin"]);
        let after = chain.ingest(&["ok"]);
        let before = burnt::total();
        let outcome = chain.block(&[spin, after], max_block_fuel);
        let burnt = burnt::total() - before;
        assert!(
            burnt <= max_block_fuel,
            "{SUBSCRIBERS} subscribers burnt {burnt} fuel in a block of {max_block_fuel}"
        );
        assert!(burnt > 0, "the subscribers ran");
        for receipt in &outcome.receipts {
            match &receipt.status {
                TxStatus::Failed { reason } => assert!(reason.contains("fuel budget"), "{reason}"),
                other => panic!("expected a fuel-budget failure, got {other:?}"),
            }
        }
        assert_eq!(outcome.fuel_exhausted_at, Some(0));
        assert_eq!(outcome.fuel_used, max_block_fuel);
    }
}

#[test]
fn subscribers_sharing_the_budget_give_the_same_outcome_on_any_thread_count() {
    let run = |parallel, threads| {
        let mut chain = Chain::new(parallel, threads);
        let small = chain.ingest(&["ok", "ok!"]);
        let spin = chain.ingest(&["spin", "ok"]);
        let outcome = chain.block(&[small, spin], 40_000_000);
        (
            outcome.state_root,
            outcome.receipts_root,
            outcome.fuel_used,
            outcome.fuel_exhausted_at,
        )
    };
    let sequential = run(false, 1);
    assert_eq!(sequential.3, Some(1));
    assert_eq!(sequential, run(true, 2));
    assert_eq!(sequential, run(true, SUBSCRIBERS));
}
