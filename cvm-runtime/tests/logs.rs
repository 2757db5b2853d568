//! Manuscript logs are bounded per invocation and per block, and kept only when the executor asks.

mod common;

use std::sync::Arc;

use common::{Chain, assert_deployed, invocations, kv, wat_manuscript};
use cvm_runtime::state::MemoryNodeStore;
use cvm_runtime::{
    BlockExecutor, CvmEngine, EngineConfig, ExecutorConfig, Limits, LogPolicy, TxPayload,
};

/// Logs `n` lines of 10 bytes at level `level` per record, then returns `status`.
fn logger(name: &str, n: u32, level: i32, status: i32) -> Vec<u8> {
    wat_manuscript(
        name,
        &format!(
            "(loop $l
                (call $log (i32.const {level}) (i32.const 16) (i32.const 10))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const {n}))))
             (return (i32.const {status}))"
        ),
        "",
    )
}

fn engine() -> Arc<CvmEngine> {
    CvmEngine::new(EngineConfig {
        limits: Limits {
            max_fuel_per_record: 100_000_000_000,
            ..Limits::default()
        },
        ..EngineConfig::default()
    })
    .expect("engine")
}

fn chain_with(logs: LogPolicy) -> Chain {
    let store = Arc::new(MemoryNodeStore::new());
    let executor = BlockExecutor::new(
        engine(),
        store.clone(),
        ExecutorConfig {
            parallel: false,
            logs,
            ..ExecutorConfig::default()
        },
    )
    .expect("executor");
    let signer = common::key(7);
    let root = common::genesis(&*store, &signer, &[]);
    Chain {
        executor,
        store,
        root,
        height: 0,
        signer,
        nonce: 0,
    }
}

#[test]
fn a_manuscript_logging_a_million_lines_holds_bounded_memory() {
    const LINES: u32 = 1_000_000;
    let policy = LogPolicy {
        max_lines_per_block: 300,
        ..LogPolicy::default()
    };
    let mut chain = chain_with(policy);
    assert_deployed(&chain.deploy(&logger("chatty", LINES, 2, 0), 100_000_000_000));
    let outcome = chain.ingest("kv", vec![kv("a", "1"), kv("b", "2")]);
    assert!(invocations(&outcome).iter().all(|r| r.outcome.is_ok()));
    // Per invocation at most `max_lines_per_invocation` (256) are kept; per block at most 300.
    assert_eq!(outcome.logs.len(), 300);
    assert_eq!(outcome.logs_dropped, 2 * u64::from(LINES) - 300);
    assert!(outcome.logs.iter().all(|l| l.line.message == "hello, log"));
    assert_eq!(
        outcome.logs.iter().filter(|l| l.record_index == 0).count(),
        256
    );

    // A byte bound below the line bound keeps fewer.
    let mut chain = chain_with(LogPolicy {
        max_bytes_per_invocation: 95,
        ..LogPolicy::default()
    });
    assert_deployed(&chain.deploy(&logger("chatty", 1_000, 2, 0), 100_000_000));
    let outcome = chain.ingest("kv", vec![kv("a", "1")]);
    assert_eq!(outcome.logs.len(), 9);
    assert_eq!(outcome.logs_dropped, 991);
}

#[test]
fn a_node_keeps_no_logs_and_receipts_do_not_depend_on_it() {
    let run = |policy| {
        let mut chain = chain_with(policy);
        // Error-level lines: a failing invocation's receipt quotes the last one whatever is kept.
        assert_deployed(&chain.deploy(&logger("chatty", 1_000, 0, 2), 100_000_000));
        let tx = chain.tx(TxPayload::Ingest {
            source: "kv".into(),
            records: vec![kv("a", "1")].into(),
        });
        chain.block(&[tx])
    };
    let off = run(LogPolicy::off());
    let on = run(LogPolicy::default());
    assert!(off.logs.is_empty());
    assert_eq!(off.logs_dropped, 1_000);
    assert_eq!(on.logs.len(), 256);
    assert_eq!(off.receipts, on.receipts);
    let failed = &invocations(&off)[0].outcome;
    assert!(
        matches!(failed, cvm_runtime::InvocationOutcome::Failed { message, .. } if message == "hello, log"),
        "{failed:?}"
    );
    assert_eq!(off.state_root, on.state_root);
    assert_eq!(off.fuel_used, on.fuel_used);
}
