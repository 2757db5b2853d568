//! Runs erc20-transfers over the example logs, pass after pass, in one `ManuscriptRunner`: the CVM alone, for
//! counting and profiling what a record costs (the bench's `cvm` section times the same loop).
//!
//! ```text
//! erc20_passes fuel|no-fuel PASSES [--wasm FILE] [--perf-map]
//! ```
//! - Instructions per record, fuel on and off: `scripts/instructions` runs this under callgrind with 1 and 3
//!   passes and divides the difference (start-up and compilation cancel out).
//! - Which wasm function costs what: `--perf-map` names the JIT code for `perf record`/`perf report`; wasm
//!   function indices map to names through an unstripped build of the manuscript.
//!
//! The engine has 2 instance slots (not the node's 64) so that valgrind can reserve its address space.

use std::sync::Arc;
use std::time::Instant;

use cvm_runtime::state::{MemoryNodeStore, NodeStore, empty_root};
use cvm_runtime::{BlockInfo, CvmEngine, EngineConfig, ManuscriptRunner};
use manuscript_sdk::EthLog;
use parity_scale_codec::Encode;

const USAGE: &str = "usage: erc20_passes fuel|no-fuel PASSES [--wasm FILE] [--perf-map]";

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let metering = match args.first().map(String::as_str) {
        Some("fuel") => true,
        Some("no-fuel") => false,
        _ => return Err(USAGE.into()),
    };
    let passes: usize = args
        .get(1)
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| USAGE.to_string())?;
    let wasm = match args.iter().position(|a| a == "--wasm") {
        Some(i) => {
            let path = args.get(i + 1).ok_or_else(|| USAGE.to_string())?;
            std::fs::read(path).map_err(|e| format!("{path}: {e}"))?
        }
        None => manuscript_fixtures::ERC20_TRANSFERS.to_vec(),
    };
    let perf_map = args.iter().any(|a| a == "--perf-map");

    let text = std::fs::read_to_string(manuscript_fixtures::erc20_logs_path())
        .map_err(|e| format!("example data: {e}"))?;
    let records: Vec<Vec<u8>> = manuscript_sdk::sources::json::read_jsonl_or_array(&text)
        .map_err(|e| format!("example data: {e}"))?
        .iter()
        .map(|v| EthLog::from_json(v).map(|log| log.encode()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("example data: {e}"))?;
    let engine = CvmEngine::new(EngineConfig {
        metering,
        pool_instances: 2,
        perf_map,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let code = engine.load(&wasm).map_err(|e| e.to_string())?;

    let started = Instant::now();
    let mut fuel = 0;
    for _ in 0..passes {
        let store: Arc<dyn NodeStore> = Arc::new(MemoryNodeStore::new());
        let mut runner = ManuscriptRunner::standalone(
            engine.clone(),
            code.clone(),
            BlockInfo::default(),
            store,
            empty_root(),
        );
        for record in &records {
            let result = runner
                .process("ethereum.logs", record, 1_000_000_000)
                .map_err(|e| e.to_string())?;
            fuel += result.fuel_used;
        }
    }
    let n = (passes * records.len()).max(1) as f64;
    eprintln!(
        "fuel {}: {} passes of {} records, {:.0} ns and {:.0} fuel per record",
        if metering { "on" } else { "off" },
        passes,
        records.len(),
        started.elapsed().as_nanos() as f64 / n,
        fuel as f64 / n
    );
    Ok(())
}
