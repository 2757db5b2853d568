//! Heap trimming and the memory gauges, off the event loop: a task fed by a notice per committed block.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::app::App;
use crate::metrics::{MemoryPart, Metrics};

/// How often the memory gauges are refreshed while blocks are empty.
const MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_secs(10);
/// ... and while blocks carry transactions or source blocks: reading glibc's counters walks every heap's free lists (~1.4 % of a
/// loaded validator's CPU when done after every block).
const LOADED_MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// Notices waiting at most; a full queue drops the notice (the next trim covers its block too).
const QUEUE: usize = 64;

/// A block was committed (and the loop dropped its copy of it).
#[derive(Clone, Copy, Debug)]
pub struct Committed {
    /// Whether it carried transactions or source blocks: freeing their memory (the records, their trie nodes)
    /// is worth a heap trim, an empty block's is not.
    pub carried_data: bool,
}

/// Starts the task; the event loop sends it a [`Committed`] per block.
pub fn spawn_upkeep(app: Arc<App>, metrics: Arc<Metrics>) -> mpsc::Sender<Committed> {
    let (tx, mut rx) = mpsc::channel::<Committed>(QUEUE);
    tokio::spawn(async move {
        // The first commit refreshes the gauges.
        let mut sampled_at: Option<Instant> = None;
        while let Some(first) = rx.recv().await {
            // What queued while the last trim ran is covered by one trim.
            let mut carried_data = first.carried_data;
            while let Ok(more) = rx.try_recv() {
                carried_data |= more.carried_data;
            }
            let interval = if carried_data {
                LOADED_MEMORY_SAMPLE_INTERVAL
            } else {
                MEMORY_SAMPLE_INTERVAL
            };
            let sample = sampled_at.is_none_or(|t| t.elapsed() >= interval);
            if sample {
                sampled_at = Some(Instant::now());
            }
            if !(carried_data || sample) {
                continue;
            }
            let (app, metrics) = (app.clone(), metrics.clone());
            let _ = tokio::task::spawn_blocking(move || {
                if carried_data {
                    crate::malloc::release_free_memory();
                }
                if sample {
                    sample_memory(&app, &metrics);
                }
            })
            .await;
        }
    });
    tx
}

/// Sets the `cvm_memory_bytes` gauges from the process, the storage and the executor's caches.
fn sample_memory(app: &App, metrics: &Metrics) {
    if let Some(bytes) = crate::malloc::resident_bytes() {
        metrics.set_memory(MemoryPart::Resident, bytes);
    }
    if let Some(bytes) = crate::malloc::heap_in_use() {
        metrics.set_memory(MemoryPart::HeapInUse, bytes);
    }
    match app.storage().memory() {
        Ok(m) => {
            metrics.set_memory(MemoryPart::RocksdbMemtables, m.memtables);
            metrics.set_memory(MemoryPart::RocksdbTableReaders, m.table_readers);
            metrics.set_memory(MemoryPart::RocksdbBlockCache, m.block_cache);
            metrics.set_memory(MemoryPart::TrieNodeCache, m.trie_node_cache);
        }
        Err(e) => tracing::debug!(error = %e, "cannot read the storage's memory usage"),
    }
    let values = app.executor().value_cache_stats();
    metrics.set_memory(MemoryPart::StateValueCache, values.bytes);
}
