//! Executes and commits blocks of erc20 logs in memory, the way a validator does minus networking and RocksDB:
//! signature checks, the CVM, the state overlay and value cache, trie updates and commits. The end-to-end figure's
//! CPU per record is mostly this loop (which also signs each block's transaction, as a client would).
//!
//! ```text
//! ingest_blocks RECORDS [RECORDS_PER_BLOCK]
//! ```
//! `scripts/instructions` runs it under callgrind for two record counts and divides the difference, for a count
//! per record that load does not move. Prints the value cache's hits and misses.

use std::time::Instant;

use cvm_runtime::{CvmEngine, EngineConfig};
use parity_scale_codec::Encode;

#[path = "../benches/perf/support.rs"]
#[allow(dead_code)]
mod support;

const USAGE: &str = "usage: ingest_blocks RECORDS [RECORDS_PER_BLOCK]";

fn main() -> Result<(), String> {
    let arg = |i: usize| std::env::args().nth(i).map(|a| a.parse::<usize>());
    let total = arg(1).ok_or(USAGE)?.map_err(|e| format!("{USAGE}: {e}"))?;
    let per_block = arg(2)
        .unwrap_or(Ok(1000))
        .map_err(|e| format!("{USAGE}: {e}"))?
        .max(1);
    let logs: Vec<Vec<u8>> = support::example_logs().iter().map(|l| l.encode()).collect();
    let engine = CvmEngine::new(EngineConfig {
        pool_instances: 2, // valgrind cannot reserve the node's 64 slots
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let mut chain = support::MemChain::new(engine);
    chain.deploy(manuscript_fixtures::ERC20_TRANSFERS);
    let started = Instant::now();
    for block in 0..total.div_ceil(per_block) {
        let from = block * per_block;
        let records = (from..total.min(from + per_block))
            .map(|i| logs[i % logs.len()].clone())
            .collect();
        chain.ingest("ethereum.logs", records);
    }
    let cache = chain.executor.value_cache_stats();
    eprintln!(
        "{total} records in blocks of {per_block}: {:.1} µs per record; value cache: {} hits ({} through links), {} misses",
        started.elapsed().as_secs_f64() * 1e6 / total.max(1) as f64,
        cache.hits,
        cache.linked_hits,
        cache.misses
    );
    Ok(())
}
