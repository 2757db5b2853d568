//! Section `cvm`: what the CVM costs, against the alternatives measured in the same run.
//!
//! - erc20-transfers throughput (records/s) over the example logs: the manuscript crate compiled natively against
//!   the SDK's mock host (the ceiling: no wasm at all), the CVM with fuel (what a chain runs), the CVM without
//!   fuel (what metering costs), and the wasmi interpreter with fuel (the usual deterministic alternative). The
//!   wasmi peer is first checked to produce exactly the CVM's emitted records and state. erc20 spends much of
//!   its time in host functions, so a compute-only loop (calibration.wat's arithmetic) is compared too.
//! - Warm instantiation + an empty call: the fixed cost every manuscript pays per ingest transaction.
//! - Cold compilation vs loading the precompiled module from the disk cache: what a node restart saves.
//! - Trie commit of 1k / 10k / 100k updates: the cost of turning a block's writes into a state root.
//! - Record proof generation and verification: what serving and checking one dataset record costs.
//! - Block execution of the example workload (2 manuscripts on one source), parallel vs sequential: what the
//!   executor's per-manuscript parallelism buys.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use cvm_runtime::state::{
    MemoryNodeStore, NodeStore, OverlayDb, blake2_256, empty_root, prove_record, record_key,
    verify_record,
};
use cvm_runtime::{
    BlockExecutor, BlockInfo, CompiledManuscript, CvmEngine, EmittedRecord, EngineConfig,
    ExecutorConfig, ManuscriptRunner, TxPayload,
};
use manuscript_sdk::testing::MockHost;
use parity_scale_codec::Encode;

use crate::support::{EMPTY_WAT, FUEL_LIMIT, MemChain, engine, example_logs};
use crate::wasmi_peer::WasmiPeer;
use crate::{Bench, Goal, Opts, Row};

const SECTION: &str = "cvm";
const SOURCE: &str = "ethereum.logs";
pub const ERC20: &[u8] = manuscript_fixtures::ERC20_TRANSFERS;
/// erc20-transfers with `transfers` keyed (deployed as `erc20-transfers-keyed`).
pub const ERC20_KEYED: &[u8] = manuscript_fixtures::ERC20_TRANSFERS_KEYED;

pub fn run(bench: &mut Bench, opts: &Opts) {
    let mut logs = example_logs();
    if opts.quick {
        logs.truncate(500);
    }
    let records: Vec<Vec<u8>> = logs.iter().map(Encode::encode).collect();
    bench.note(
        SECTION,
        format!(
            "erc20 throughput: {} example logs per pass, fresh state each pass. Proofs: `transfers` records \
             of the same logs.",
            records.len()
        ),
    );
    throughput(bench, opts, &logs, &records);
    instantiation(bench, opts);
    compile_vs_disk_cache(bench, opts);
    trie_commit(bench, opts);
    proofs(bench, opts, &records);
    block_execution(bench, opts, &records);
}

/// One pass of the CVM over `records` from an empty state, as a block's ingest would run them.
pub fn cvm_pass(engine: &Arc<CvmEngine>, compiled: &Arc<CompiledManuscript>, records: &[Vec<u8>]) {
    let compiled = compiled.clone();
    let store: Arc<dyn NodeStore> = Arc::new(MemoryNodeStore::new());
    let mut runner = ManuscriptRunner::standalone(
        engine.clone(),
        compiled,
        BlockInfo {
            height: 1,
            time_ms: 0,
        },
        store,
        empty_root(),
    );
    for record in records {
        black_box(
            runner
                .process(SOURCE, record, FUEL_LIMIT)
                .expect("no node fault"),
        );
    }
}

fn throughput(
    bench: &mut Bench,
    opts: &Opts,
    logs: &[manuscript_sdk::EthLog],
    records: &[Vec<u8>],
) {
    let peer = WasmiPeer::new(
        ERC20,
        &[
            erc20_transfers::TRANSFERS,
            erc20_transfers::BALANCES,
            erc20_transfers::SUPPLY,
        ],
    );
    check_wasmi_matches_cvm(&peer, records);

    let fuel = engine(true);
    let no_fuel = engine(false);
    let n = records.len() as u64;
    let mut native = || {
        let mut host = MockHost::new();
        for log in logs {
            black_box(host.process(&erc20_transfers::MANUSCRIPT, log));
        }
    };
    let (fuel_code, no_fuel_code) = (
        fuel.load(ERC20).expect("erc20 loads"),
        no_fuel.load(ERC20).expect("erc20 loads"),
    );
    let mut with_fuel = || cvm_pass(&fuel, &fuel_code, records);
    let mut without_fuel = || cvm_pass(&no_fuel, &no_fuel_code, records);
    let mut wasmi = || {
        let mut runner = peer.runner();
        for record in records {
            black_box(runner.process(&peer, SOURCE, record, FUEL_LIMIT));
        }
    };
    let ns = opts.measure_side_by_side(&mut [
        (n, &mut native),
        (n, &mut with_fuel),
        (n, &mut without_fuel),
        (n, &mut wasmi),
    ]);
    let rate = |ns: f64| 1e9 / ns;
    let (native, fuel, no_fuel, wasmi) = (rate(ns[0]), rate(ns[1]), rate(ns[2]), rate(ns[3]));
    bench.row(Row::new(
        SECTION,
        "erc20 native Rust (SDK mock host)",
        native,
        "records/s",
    ));
    bench.row(
        Row::new(SECTION, "erc20 CVM wasm, fuel on", fuel, "records/s")
            .baseline("native", native)
            .goal(Goal::RatioAtLeast(0.7)),
    );
    bench.row(
        Row::new(SECTION, "erc20 CVM wasm, fuel off", no_fuel, "records/s")
            .baseline("native", native),
    );
    bench.row(
        Row::new(
            SECTION,
            "fuel metering overhead (time fuel on / fuel off − 1)",
            (no_fuel / fuel - 1.0) * 100.0,
            "%",
        )
        .goal(Goal::AtMost(10.0)),
    );
    bench.row(
        Row::new(
            SECTION,
            "erc20 wasmi 2 interpreter, fuel on",
            wasmi,
            "records/s",
        )
        .baseline("native", native),
    );
    bench.row(
        Row::new(
            SECTION,
            "erc20 CVM (fuel on) vs wasmi (fuel on)",
            fuel,
            "records/s",
        )
        .baseline("wasmi", wasmi)
        .goal(Goal::RatioAtLeast(15.0)),
    );
    compute_vs_wasmi(bench, opts);
}

/// Pure wasm compute, no host calls: calibration.wat's arithmetic loop in the CVM and in wasmi, both with fuel.
fn compute_vs_wasmi(bench: &mut Bench, opts: &Opts) {
    use crate::calibration::{CALIB_DATASET, CALIB_SOURCE, OP_ARITHMETIC, WAT, record};
    let wasm = wat::parse_str(WAT).expect("calibration.wat parses");
    let iterations = if opts.quick { 100_000 } else { 1_000_000 };
    let loop_record = record(OP_ARITHMETIC, iterations, 0, 0);
    let engine = engine(true);
    let compiled = engine.load(&wasm).expect("calibration manuscript loads");
    let mut cvm = ManuscriptRunner::standalone(
        engine,
        compiled,
        BlockInfo::default(),
        Arc::new(MemoryNodeStore::new()),
        empty_root(),
    );
    let peer = WasmiPeer::new(&wasm, &[CALIB_DATASET]);
    let mut wasmi = peer.runner();
    let cvm_result = cvm
        .process(CALIB_SOURCE, &loop_record, FUEL_LIMIT)
        .expect("no fault");
    assert!(cvm_result.outcome.is_ok(), "{:?}", cvm_result.outcome);
    assert_eq!(
        wasmi
            .process(&peer, CALIB_SOURCE, &loop_record, FUEL_LIMIT)
            .status,
        Ok(0)
    );
    let n = u64::from(iterations);
    let mut in_cvm = || {
        black_box(
            cvm.process(CALIB_SOURCE, &loop_record, FUEL_LIMIT)
                .expect("no fault"),
        );
    };
    let mut in_wasmi = || {
        black_box(wasmi.process(&peer, CALIB_SOURCE, &loop_record, FUEL_LIMIT));
    };
    let ns = opts.measure_side_by_side(&mut [(n, &mut in_cvm), (n, &mut in_wasmi)]);
    bench.row(
        Row::new(
            SECTION,
            "arithmetic loop, no host calls: CVM (fuel on) vs wasmi (fuel on)",
            1e9 / ns[0],
            "iterations/s",
        )
        .baseline("wasmi", 1e9 / ns[1]),
    );
}

/// The wasmi peer must do exactly what the CVM does, or comparing their speeds means nothing: same records
/// emitted by each invocation, same final state (every child-trie entry), on the whole sample. The CVM runs the
/// keyed build, whose child trie holds every record as the peer's map does.
fn check_wasmi_matches_cvm(peer: &WasmiPeer, records: &[Vec<u8>]) {
    let mut chain = MemChain::new(engine(true));
    let name = chain.deploy(ERC20_KEYED);
    let outcome = chain.ingest(SOURCE, records.to_vec());
    let mut cvm_emitted: BTreeMap<u32, Vec<EmittedRecord>> = BTreeMap::new();
    for r in outcome.records {
        cvm_emitted
            .entry(r.record_index)
            .or_default()
            .push(r.record);
    }
    let mut runner = peer.runner();
    let mut ok = 0;
    for (index, record) in records.iter().enumerate() {
        let out = runner.process(peer, SOURCE, record, FUEL_LIMIT);
        ok += usize::from(out.status == Ok(0));
        let cvm = cvm_emitted.remove(&(index as u32)).unwrap_or_default();
        assert_eq!(
            out.emitted, cvm,
            "record {index}: wasmi and the CVM emitted different records (wasmi status {:?})",
            out.status
        );
    }
    let cvm_state = chain.child_entries(&name);
    let wasmi_state: Vec<(Vec<u8>, Vec<u8>)> = runner
        .committed()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        wasmi_state.len(),
        cvm_state.len(),
        "wasmi and the CVM hold different numbers of state entries"
    );
    assert!(
        wasmi_state == cvm_state,
        "wasmi and the CVM hold different state"
    );
    eprintln!(
        "[cvm] wasmi peer checked: {} records ({ok} succeeded), same emitted records and the same {} state entries as the CVM",
        records.len(),
        cvm_state.len()
    );
}

fn instantiation(bench: &mut Bench, opts: &Opts) {
    let engine = engine(true);
    let compiled = engine
        .load(&wat::parse_str(EMPTY_WAT).expect("valid WAT"))
        .expect("empty manuscript loads");
    let store: Arc<dyn NodeStore> = Arc::new(MemoryNodeStore::new());
    let info = BlockInfo {
        height: 1,
        time_ms: 0,
    };
    let runner = || {
        ManuscriptRunner::standalone(
            engine.clone(),
            compiled.clone(),
            info,
            store.clone(),
            empty_root(),
        )
    };
    let mut live = runner();
    let mut instantiate_and_call = || {
        black_box(runner().process("kv", &[], 1_000_000).expect("no fault"));
    };
    let mut call = || {
        black_box(live.process("kv", &[], 1_000_000).expect("no fault"));
    };
    let ns = opts.measure_side_by_side(&mut [(1, &mut instantiate_and_call), (1, &mut call)]);
    bench.row(
        Row::new(SECTION, "warm instantiate + empty call", ns[0] / 1e3, "µs")
            .goal(Goal::AtMost(5.0)),
    );
    bench.row(
        Row::new(SECTION, "empty call on a live instance", ns[1] / 1e3, "µs")
            .baseline("instantiate + call", ns[0] / 1e3),
    );
}

fn compile_vs_disk_cache(bench: &mut Bench, opts: &Opts) {
    let dir = tempfile::tempdir().expect("temp dir");
    let uncached = engine(true);
    let cached = CvmEngine::new(EngineConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .expect("engine");
    cached.load(ERC20).expect("erc20 compiles"); // writes the precompiled module
    let mut compile = || {
        uncached.cache().clear_memory();
        black_box(uncached.load(ERC20).expect("erc20 compiles"));
    };
    let mut from_disk = || {
        cached.cache().clear_memory();
        black_box(cached.load(ERC20).expect("erc20 loads"));
    };
    let ns = opts.measure_side_by_side(&mut [(1, &mut compile), (1, &mut from_disk)]);
    let (compiles, disk) = (uncached.cache().stats(), cached.cache().stats());
    assert!(
        compiles.compiles > 1 && compiles.disk_hits == 0,
        "{compiles:?}"
    );
    assert!(disk.compiles == 1 && disk.disk_hits > 1, "{disk:?}");
    bench.row(Row::new(
        SECTION,
        format!(
            "erc20 ({} KiB wasm) cold: validate + compile + link",
            ERC20.len() / 1024
        ),
        ns[0] / 1e6,
        "ms",
    ));
    bench.row(
        Row::new(
            SECTION,
            "erc20 restart: validate + load precompiled from disk + link",
            ns[1] / 1e6,
            "ms",
        )
        .baseline("cold compile", ns[0] / 1e6),
    );
}

/// `count` distinct 32-byte keys (hashes, so spread like real state keys), starting at `from`.
fn keys(from: u32, count: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
    (from..from + count)
        .map(|i| {
            (
                blake2_256(&i.to_le_bytes()).to_vec(),
                (i, [7u8; 32]).encode(),
            )
        })
        .collect()
}

fn trie_commit(bench: &mut Bench, opts: &Opts) {
    let sizes: &[u32] = if opts.quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    let mut first = None;
    for &n in sizes {
        // A trie holding n keys, then n updates: half overwrite existing keys, half insert new ones.
        let store = MemoryNodeStore::new();
        let mut db = OverlayDb::new(&store);
        let base = keys(0, n);
        let root = db
            .apply(
                empty_root(),
                base.iter().map(|(k, v)| (k.as_slice(), Some(v.as_slice()))),
            )
            .expect("apply");
        store.commit(&db.into_changes()).expect("commit");
        let updates = keys(n / 2, n);
        let ns = opts.measure(u64::from(n), || {
            let mut db = OverlayDb::new(&store);
            let new_root = db
                .apply(
                    root,
                    updates
                        .iter()
                        .map(|(k, v)| (k.as_slice(), Some(v.as_slice()))),
                )
                .expect("apply");
            black_box((new_root, db.into_changes()));
        });
        let us = ns / 1e3;
        let mut row = Row::new(
            SECTION,
            format!(
                "trie commit of {}k updates on a {}k-key trie (per update)",
                n / 1000,
                n / 1000
            ),
            us,
            "µs",
        );
        if let Some(base) = first {
            row = row.baseline("1k", base);
        } else {
            first = Some(us);
        }
        bench.row(row);
    }
}

/// Record proofs of keyed `transfers` records (the keyed build).
fn proofs(bench: &mut Bench, opts: &Opts, records: &[Vec<u8>]) {
    let mut chain = MemChain::new(engine(true));
    let name = chain.deploy(ERC20_KEYED);
    let outcome = chain.ingest(SOURCE, records.to_vec());
    let keys: Vec<Vec<u8>> = outcome
        .records
        .iter()
        .filter(|r| r.record.dataset == erc20_transfers::TRANSFERS)
        .map(|r| r.record.key.clone())
        .take(256)
        .collect();
    assert!(!keys.is_empty(), "the example logs emit transfers");
    let store = chain.store.clone();
    let root = chain.root;
    let prove = |key: &[u8]| {
        prove_record(&*store, root, &name, erc20_transfers::TRANSFERS, key).expect("proof")
    };
    let proofs: Vec<_> = keys.iter().map(|k| prove(k)).collect();
    // What the proofs must prove: the records as read straight from the child trie.
    let entries: BTreeMap<Vec<u8>, Vec<u8>> = chain.child_entries(&name).into_iter().collect();
    for (key, proof) in keys.iter().zip(&proofs) {
        let expected = entries
            .get(&record_key(erc20_transfers::TRANSFERS, key))
            .cloned();
        assert!(expected.is_some(), "emitted record is in the trie");
        assert_eq!(
            verify_record(&root, proof).expect("proof verifies"),
            expected
        );
    }
    let size = proofs.iter().map(|p| p.encode().len()).sum::<usize>() as f64 / proofs.len() as f64;
    let n = keys.len() as u64;
    let mut generate = || {
        for key in &keys {
            black_box(prove(key));
        }
    };
    let mut verify = || {
        for proof in &proofs {
            black_box(verify_record(&root, proof).expect("verifies"));
        }
    };
    let ns = opts.measure_side_by_side(&mut [(n, &mut generate), (n, &mut verify)]);
    bench.row(Row::new(
        SECTION,
        "record proof generation (erc20 `transfers` record)",
        ns[0] / 1e3,
        "µs",
    ));
    bench.row(
        Row::new(SECTION, "record proof verification", ns[1] / 1e3, "µs")
            .baseline("generation", ns[0] / 1e3),
    );
    bench.row(Row::new(
        SECTION,
        "record proof size (SCALE)",
        size,
        "bytes",
    ));
}

fn block_execution(bench: &mut Bench, opts: &Opts, records: &[Vec<u8>]) {
    let engine = engine(true);
    let mut chain = MemChain::new(engine.clone());
    chain.deploy(ERC20);
    chain.deploy(manuscript_fixtures::TOKEN_VOLUME);
    let parallel = BlockExecutor::new(
        engine,
        chain.store.clone(),
        ExecutorConfig {
            parallel: true,
            threads: 0,
            // As the sequential executor it is compared with.
            keep_records: true,
            ..ExecutorConfig::default()
        },
    )
    .expect("executor");
    let ingest = [chain.tx(TxPayload::Ingest {
        source: SOURCE.into(),
        records: records.iter().collect(),
    })];
    let ctx = chain.next_context();
    let run = |executor: &BlockExecutor| {
        executor
            .execute_block(chain.root, &ctx, &ingest)
            .expect("block executes")
    };
    let (sequential_root, parallel_root) =
        (run(&chain.executor).state_root, run(&parallel).state_root);
    assert_eq!(
        sequential_root, parallel_root,
        "parallel execution changes the result"
    );
    let n = records.len() as u64;
    let mut sequential = || {
        black_box(run(&chain.executor));
    };
    let mut in_parallel = || {
        black_box(run(&parallel));
    };
    let ns = opts.measure_side_by_side(&mut [(n, &mut sequential), (n, &mut in_parallel)]);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    bench.row(Row::new(
        SECTION,
        format!("block of {n} logs × 2 manuscripts (erc20, token-volume), sequential"),
        1e9 / ns[0],
        "records/s",
    ));
    bench.row(
        Row::new(
            SECTION,
            format!("same block, manuscripts in parallel ({cores} cores)"),
            1e9 / ns[1],
            "records/s",
        )
        .baseline("sequential", 1e9 / ns[0]),
    );
}
