//! What an append-only dataset saves, in memory (no networking, no RocksDB): trie nodes written and time per
//! record with a dataset append-only against the same dataset keyed, in blocks of 4,000 records.
//!
//! ```text
//! cargo run --release -p cvm-tests --example append_vs_keyed [RECORDS]
//! ```
//!
//! Two workloads, each run append-only then keyed, twice:
//! - erc20-transfers over a synthetic archive (`cvm_tests::eth_archive`, 16 tokens, 20,000 holders): its
//!   `transfers` keys are (block number, log index) big-endian, in append order already;
//! - a one-line WAT manuscript that emits each record under a random 32-byte key (the record's first bytes), 132
//!   bytes per record: keys spread over the whole key space, as a hash-keyed dataset's are.

use std::time::Instant;

use cvm_runtime::{CvmEngine, EngineConfig};
use cvm_tests::eth_archive::{ArchiveSpec, write_archive};
use manuscript_sdk::manifest::Manifest;

#[path = "../benches/perf/support.rs"]
#[allow(dead_code)]
mod support;

const PER_BLOCK: usize = 4_000;

/// A manuscript on `ethereum.logs` that emits every record into `log`, keyed by its first 32 bytes.
fn random_keys(append_only: bool) -> Vec<u8> {
    let mut manifest = Manifest::new("random-keys", ["ethereum.logs"], ["log"]);
    if append_only {
        manifest = manifest.with_append_only(["log"]);
    }
    let section: String = manifest
        .to_section()
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect();
    wat::parse_str(format!(
        r#"(module
            (import "cvm" "emit" (func $emit (param i32 i32 i32 i32 i32 i32)))
            (memory (export "memory") 2)
            (data (i32.const 16) "log")
            (func (export "cvm_alloc") (param i32) (result i32) i32.const 65536)
            (func (export "cvm_process") (param i32 i32 i32 i32) (result i32)
                (call $emit (i32.const 16) (i32.const 3) (local.get 2) (i32.const 32) (local.get 2) (local.get 3))
                i32.const 0)
            (@custom "cvm_manifest" "{section}"))"#
    ))
    .expect("valid WAT")
}

/// Ingests `records` in blocks; prints µs, trie nodes and node bytes per record.
fn measure(what: &str, wasm: &[u8], records: &[Vec<u8>]) {
    let engine = CvmEngine::new(EngineConfig::default()).expect("engine");
    let mut chain = support::MemChain::new(engine);
    chain.deploy(wasm);
    let started = Instant::now();
    let (mut bytes, mut nodes) = (0usize, 0usize);
    for block in records.chunks(PER_BLOCK) {
        let outcome = chain.ingest("ethereum.logs", block.to_vec());
        nodes += outcome.changes.nodes.len();
        bytes += outcome
            .changes
            .nodes
            .iter()
            .map(|(_, node)| node.len() + 32)
            .sum::<usize>();
    }
    let n = records.len() as f64;
    println!(
        "{what}: {:.1} µs, {:.2} trie nodes, {:.0} bytes of nodes (with their 32-byte keys) per record",
        started.elapsed().as_secs_f64() * 1e6 / n,
        nodes as f64 / n,
        bytes as f64 / n
    );
}

fn main() {
    let records: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().expect("RECORDS is a number"));
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = write_archive(
        &ArchiveSpec {
            logs: records,
            ..ArchiveSpec::default()
        },
        &dir.path().join("archive"),
        cvm_host::sources::ethereum::archive::ArchiveFormat::Binary,
    )
    .expect("archive");
    // Deterministic pseudo-random 132-byte records (splitmix64).
    let mut state = 23u64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let random: Vec<Vec<u8>> = (0..records)
        .map(|_| {
            (0..17)
                .flat_map(|_| next().to_le_bytes())
                .take(132)
                .collect()
        })
        .collect();
    for _ in 0..2 {
        measure(
            "erc20-transfers, transfers append-only",
            manuscript_fixtures::ERC20_TRANSFERS,
            &archive.records,
        );
        measure(
            "erc20-transfers, transfers keyed      ",
            manuscript_fixtures::ERC20_TRANSFERS_KEYED,
            &archive.records,
        );
        measure(
            "random 32-byte keys, append-only     ",
            &random_keys(true),
            &random,
        );
        measure(
            "random 32-byte keys, keyed           ",
            &random_keys(false),
            &random,
        );
    }
}
