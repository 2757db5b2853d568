//! Warm instantiation + an empty call, N times: a fresh `ManuscriptRunner` (store, pool slot, instance, export
//! lookups) per call, as every manuscript of an ingest transaction pays it. The bench's `cvm` section times the
//! same loop; `scripts/instructions` counts its instructions under callgrind, which load does not move.
//!
//! ```text
//! instantiations N
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use cvm_runtime::state::{MemoryNodeStore, NodeStore, empty_root};
use cvm_runtime::{BlockInfo, CvmEngine, EngineConfig, ManuscriptRunner};

#[path = "../benches/perf/support.rs"]
#[allow(dead_code)]
mod support;

fn main() -> Result<(), String> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .ok_or("usage: instantiations N")?;
    let engine = CvmEngine::new(EngineConfig {
        pool_instances: 2, // valgrind cannot reserve the node's 64 slots
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let wasm = wat::parse_str(support::EMPTY_WAT).map_err(|e| e.to_string())?;
    let code = engine.load(&wasm).map_err(|e| e.to_string())?;
    let store: Arc<dyn NodeStore> = Arc::new(MemoryNodeStore::new());
    let started = Instant::now();
    for _ in 0..n {
        let mut runner = ManuscriptRunner::standalone(
            engine.clone(),
            code.clone(),
            BlockInfo::default(),
            store.clone(),
            empty_root(),
        );
        black_box(
            runner
                .process("kv", &[], 1_000_000)
                .map_err(|e| e.to_string())?,
        );
    }
    eprintln!(
        "{n} warm instantiations + empty calls: {:.0} ns each",
        started.elapsed().as_nanos() as f64 / n.max(1) as f64
    );
    Ok(())
}
