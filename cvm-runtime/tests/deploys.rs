//! Deploys are paid for by size before any work, refused by the cheap checks before compiling, and compiled
//! modules stay within the cache's bounds without changing any result.

mod common;

use common::{Chain, assert_deployed, engine, invocations, kv, wat_manuscript};
use cvm_runtime::{CacheBounds, CvmEngine, EngineConfig, TxPayload, TxStatus};

const FUEL: u64 = 1_000_000;

fn price(engine: &CvmEngine, wasm: &[u8]) -> u64 {
    engine.fuel_schedule().deploy.cost(wasm.len() as u64)
}

#[test]
fn deploys_pay_fuel_for_their_size() {
    let engine = engine();
    let schedule = engine.fuel_schedule().deploy;
    assert!(schedule.base > 0 && schedule.per_byte > 0);
    let small = wat_manuscript("small", "", "");
    let large = wat_manuscript(
        "large",
        "",
        &format!("(data (i32.const 1024) \"{}\")", "x".repeat(20_000)),
    );
    let mut chain = Chain::new(engine.clone(), false);
    let (a, b) = (
        chain.tx(TxPayload::Deploy {
            wasm: small.clone(),
            fuel_limit_per_record: FUEL,
            sources: Vec::new(),
        }),
        chain.tx(TxPayload::Deploy {
            wasm: large.clone(),
            fuel_limit_per_record: FUEL,
            sources: Vec::new(),
        }),
    );
    let outcome = chain.block(&[a, b]);
    for (receipt, wasm) in outcome.receipts.iter().zip([&small, &large]) {
        assert_deployed(&receipt.status);
        assert_eq!(
            receipt.fuel_used,
            schedule.base + schedule.per_byte * wasm.len() as u64
        );
    }
    assert!(
        outcome.receipts[1].fuel_used
            > outcome.receipts[0].fuel_used + 20_000 * schedule.per_byte - 1
    );
    assert_eq!(
        outcome.fuel_used,
        price(&engine, &small) + price(&engine, &large)
    );

    // A deploy that fails its checks pays too: validation is work.
    let garbage = vec![0u8; 5_000];
    let tx = chain.tx(TxPayload::Deploy {
        wasm: garbage.clone(),
        fuel_limit_per_record: FUEL,
        sources: Vec::new(),
    });
    let receipt = chain.block(&[tx]).receipts.remove(0);
    assert!(matches!(receipt.status, TxStatus::Failed { .. }));
    assert_eq!(receipt.fuel_used, price(&engine, &garbage));

    // The block's budget bounds deploys: one that does not fit fails unpaid, and the block says where.
    let again = wat_manuscript("again", "", "");
    let tx = chain.tx(TxPayload::Deploy {
        wasm: again.clone(),
        fuel_limit_per_record: FUEL,
        sources: Vec::new(),
    });
    let outcome = chain.block_within(&[tx], price(&engine, &again) - 1);
    match &outcome.receipts[0].status {
        TxStatus::Failed { reason } => assert!(reason.contains("fuel budget"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(outcome.receipts[0].fuel_used, 0);
    assert_eq!(outcome.fuel_exhausted_at, Some(0));
}

#[test]
fn a_deploy_of_a_duplicate_name_is_refused_before_compiling() {
    let engine = engine();
    let mut chain = Chain::new(engine.clone(), false);
    assert_deployed(&chain.deploy(&wat_manuscript("twin", "", ""), FUEL));
    let compiles = engine.cache().stats().compiles;
    assert_eq!(compiles, 1);
    // Same name, different code (so no cache hit could hide a compilation).
    let other = wat_manuscript("twin", "nop", "");
    match chain.deploy(&other, FUEL) {
        TxStatus::Failed { reason } => assert!(reason.contains("already deployed"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(
        engine.cache().stats().compiles,
        compiles,
        "the duplicate was compiled"
    );
    // A bad fuel limit is refused before compiling too.
    let fresh = wat_manuscript("fresh", "", "");
    assert!(matches!(chain.deploy(&fresh, 0), TxStatus::Failed { .. }));
    assert_eq!(engine.cache().stats().compiles, compiles);
}

/// Distinct manuscripts subscribed to `kv`, each logging and returning 0.
fn manuscripts(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| wat_manuscript(&format!("m{i}"), &format!("(drop (i32.const {i}))"), ""))
        .collect()
}

/// Deploys `wasms` one per block, then ingests into `kv` twice; the ingest outcomes.
fn run_chain(
    engine: std::sync::Arc<CvmEngine>,
    wasms: &[Vec<u8>],
) -> Vec<cvm_runtime::BlockOutcome> {
    let mut chain = Chain::new(engine, false);
    for wasm in wasms {
        assert_deployed(&chain.deploy(wasm, FUEL));
    }
    (0..2)
        .map(|i| chain.ingest("kv", vec![kv("k", &i.to_string())]))
        .collect()
}

#[test]
fn the_module_cache_evicts_beyond_its_bound() {
    let wasms = manuscripts(4);
    let dir = tempfile::tempdir().expect("tempdir");
    // Measure one precompiled module on disk to set a bound of about two.
    let probe = CvmEngine::new(EngineConfig {
        cache_dir: Some(dir.path().join("probe")),
        ..EngineConfig::default()
    })
    .expect("engine");
    probe.load(&wasms[0]).expect("loads");
    let one_file = probe.cache().usage().disk_bytes;
    assert!(one_file > 0);

    let bounded = CvmEngine::new(EngineConfig {
        cache_dir: Some(dir.path().join("bounded")),
        cache_bounds: CacheBounds {
            memory_entries: 2,
            memory_bytes: u64::MAX,
            disk_bytes: one_file * 2 + one_file / 2,
        },
        ..EngineConfig::default()
    })
    .expect("engine");
    let evicting = run_chain(bounded.clone(), &wasms);
    let usage = bounded.cache().usage();
    let stats = bounded.cache().stats();
    assert!(usage.memory_entries <= 2, "{usage:?}");
    assert!(usage.disk_bytes <= one_file * 2 + one_file / 2, "{usage:?}");
    assert!(usage.disk_files <= 2, "{usage:?}");
    assert!(
        stats.memory_evictions >= 2 && stats.disk_evictions >= 2,
        "{stats:?}"
    );
    // Every ingest ran all four subscribers, so evicted ones were compiled again from their code in state.
    assert!(stats.compiles > 4, "{stats:?}");

    // The memory bound by bytes: one module's worth keeps one.
    let by_bytes = CvmEngine::new(EngineConfig {
        cache_bounds: CacheBounds {
            memory_entries: 100,
            memory_bytes: 1,
            disk_bytes: 0,
        },
        ..EngineConfig::default()
    })
    .expect("engine");
    let tight = run_chain(by_bytes.clone(), &wasms);
    assert_eq!(by_bytes.cache().usage().memory_entries, 0);

    // Caching never changes a result: a cold, unbounded cache gives the same receipts and roots.
    let cold = run_chain(engine(), &wasms);
    for outcomes in [&evicting, &tight] {
        for (a, b) in outcomes.iter().zip(&cold) {
            assert_eq!(a.state_root, b.state_root);
            assert_eq!(a.receipts, b.receipts);
            assert_eq!(invocations(a).len(), 4);
        }
    }

    // A restart reads the directory back within the bound.
    drop(bounded);
    let reopened = CvmEngine::new(EngineConfig {
        cache_dir: Some(dir.path().join("bounded")),
        cache_bounds: CacheBounds {
            memory_entries: 2,
            memory_bytes: u64::MAX,
            disk_bytes: one_file,
        },
        ..EngineConfig::default()
    })
    .expect("engine");
    let usage = reopened.cache().usage();
    assert_eq!(usage.disk_files, 1, "{usage:?}");
    assert!(usage.disk_bytes <= one_file);
    let files = std::fs::read_dir(dir.path().join("bounded"))
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        })
        .count();
    assert_eq!(files, 1);
}
