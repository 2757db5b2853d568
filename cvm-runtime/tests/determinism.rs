//! The state root, receipts and fuel counts of the example workload do not depend on the module cache (cold,
//! warm, from disk), on the executor's value cache (warm across blocks or cold each block), on parallel versus
//! sequential execution, on the thread count, on whether the executor hands back the emitted records, or on the
//! run.

mod common;

use std::sync::Arc;

use common::{Chain, assert_deployed, engine, erc20_records};
use cvm_runtime::state::StateRoot;
use cvm_runtime::{CvmEngine, EngineConfig, TxReceipt};

struct Run {
    root: StateRoot,
    receipts: Vec<TxReceipt>,
    fuel: u64,
    records_emitted: u64,
    records_kept: usize,
}

/// Deploys erc20-transfers and token-volume (both subscribe to ethereum.logs), then ingests the example data.
fn run(engine: Arc<CvmEngine>, parallel: bool, threads: usize) -> Run {
    run_with(engine, parallel, threads, false, true)
}

/// [`run`], optionally with a new executor (so a cold value cache) for every block, and with or without the
/// emitted records handed back.
fn run_with(
    engine: Arc<CvmEngine>,
    parallel: bool,
    threads: usize,
    fresh_executor_per_block: bool,
    keep_records: bool,
) -> Run {
    let mut chain = Chain::new(engine.clone(), parallel);
    let store: Arc<dyn cvm_runtime::state::NodeStore> = chain.store.clone();
    let executor = || {
        cvm_runtime::BlockExecutor::new(
            engine.clone(),
            store.clone(),
            cvm_runtime::ExecutorConfig {
                parallel,
                threads,
                keep_records,
                ..Default::default()
            },
        )
        .unwrap()
    };
    chain.executor = executor();
    assert_deployed(&chain.deploy(manuscript_fixtures::ERC20_TRANSFERS, 10_000_000));
    assert_deployed(&chain.deploy(manuscript_fixtures::TOKEN_VOLUME, 10_000_000));
    let records = erc20_records();
    let mut receipts = Vec::new();
    let (mut fuel, mut records_emitted, mut records_kept) = (0, 0, 0);
    for batch in records.chunks(1000) {
        if fresh_executor_per_block {
            chain.executor = executor();
        }
        let outcome = chain.ingest("ethereum.logs", batch.to_vec());
        fuel += outcome.fuel_used;
        records_emitted += outcome.records_emitted();
        records_kept += outcome.records.len();
        receipts.extend(outcome.receipts);
    }
    let cache = chain.executor.value_cache_stats();
    if !fresh_executor_per_block {
        // Later blocks read balances the earlier ones wrote: the cache must have served them, some from entries
        // filed under older roots (through the blocks' links).
        assert!(cache.hits > 0, "value cache never hit: {cache:?}");
        assert!(
            cache.linked_hits > 0,
            "no read was served through links: {cache:?}"
        );
    }
    Run {
        root: chain.root,
        receipts,
        fuel,
        records_emitted,
        records_kept,
    }
}

fn assert_same(a: &Run, b: &Run, what: &str) {
    assert_eq!(a.root, b.root, "{what}: state root differs");
    assert_eq!(a.fuel, b.fuel, "{what}: fuel differs");
    assert_eq!(a.receipts, b.receipts, "{what}: receipts differ");
    assert_eq!(
        a.records_emitted, b.records_emitted,
        "{what}: emitted record count differs"
    );
}

#[test]
fn example_workload_is_deterministic_across_cache_parallelism_and_runs() {
    let engine = engine();
    let cold = run(engine.clone(), true, 2);
    assert!(cold.fuel > 0);
    let ok = cold
        .receipts
        .iter()
        .flat_map(|r| match &r.status {
            cvm_runtime::TxStatus::Ingested { invocations, .. } => invocations.clone(),
            _ => vec![],
        })
        .filter(|i| i.outcome.is_ok())
        .count();
    assert!(
        ok > 1000,
        "the example data is mostly valid: {ok} ok invocations"
    );
    let warm = run(engine.clone(), true, 2);
    assert_same(&cold, &warm, "warm cache");
    assert!(cold.records_emitted > 1000);
    assert_eq!(cold.records_kept as u64, cold.records_emitted);
    let cold_values = run_with(engine.clone(), true, 2, true, true);
    assert_same(&cold, &cold_values, "value cache cold at every block");
    let records_not_kept = run_with(engine.clone(), true, 2, false, false);
    assert_same(&cold, &records_not_kept, "emitted records not kept");
    assert_eq!(records_not_kept.records_kept, 0);
    let sequential = run(engine.clone(), false, 1);
    assert_same(&cold, &sequential, "sequential");
    let one_thread = run(engine, true, 1);
    assert_same(&cold, &one_thread, "one thread");
}

#[test]
fn precompiled_disk_cache_gives_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EngineConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let first = CvmEngine::new(config()).unwrap();
    let a = run(first.clone(), true, 2);
    assert_eq!(
        first.cache().stats().compiles,
        2,
        "two manuscripts compiled once each"
    );
    // A new engine on the same directory: a restart. Modules load from disk, nothing is recompiled.
    let restarted = CvmEngine::new(config()).unwrap();
    let b = run(restarted.clone(), true, 2);
    let stats = restarted.cache().stats();
    assert_eq!(stats.compiles, 0, "{stats:?}");
    assert_eq!(stats.disk_hits, 2, "{stats:?}");
    assert_same(&a, &b, "disk cache");
}

#[test]
fn corrupt_disk_cache_entry_is_recompiled_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EngineConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let first = CvmEngine::new(config()).unwrap();
    first.load(manuscript_fixtures::ERC20_TRANSFERS).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "cwasm") {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    let restarted = CvmEngine::new(config()).unwrap();
    restarted
        .load(manuscript_fixtures::ERC20_TRANSFERS)
        .expect("recompiles");
    assert_eq!(restarted.cache().stats().compiles, 1);
}

/// A validator may execute two different blocks on the same parent (a second round's proposal after the first was
/// not decided). What the first wrote must not show through the value cache in the second: the second block's
/// outcome equals a fresh executor's.
#[test]
fn an_undecided_block_does_not_leak_into_another_on_the_same_parent() {
    let engine = engine();
    let mut chain = Chain::new(engine.clone(), true);
    assert_deployed(&chain.deploy(manuscript_fixtures::ERC20_TRANSFERS, 10_000_000));
    let records = erc20_records();
    chain.ingest("ethereum.logs", records[..500].to_vec());
    let parent = chain.root;
    let ctx = |height| cvm_runtime::BlockContext {
        chain_id: common::CHAIN.into(),
        height,
        time_ms: 1_000_000 * height,
    };
    let height = chain.height + 1;
    // Round 0: the same logs again (balances change), executed but never committed.
    let first = chain.tx(cvm_runtime::TxPayload::Ingest {
        source: "ethereum.logs".into(),
        records: records[..500].iter().collect(),
    });
    chain
        .executor
        .execute_block(parent, &ctx(height), &[first])
        .unwrap();
    // Round 1: another block on the same parent, reusing the nonce.
    chain.nonce -= 1;
    let second = chain.tx(cvm_runtime::TxPayload::Ingest {
        source: "ethereum.logs".into(),
        records: records[250..750].iter().collect(),
    });
    let warm = chain
        .executor
        .execute_block(parent, &ctx(height), std::slice::from_ref(&second))
        .unwrap();
    let fresh = cvm_runtime::BlockExecutor::new(
        engine,
        chain.store.clone(),
        cvm_runtime::ExecutorConfig::default(),
    )
    .unwrap()
    .execute_block(parent, &ctx(height), &[second])
    .unwrap();
    assert!(chain.executor.value_cache_stats().hits > 0);
    assert_eq!(warm.state_root, fresh.state_root);
    assert_eq!(warm.receipts, fresh.receipts);
    assert_eq!(warm.fuel_used, fresh.fuel_used);
}
