//! Resource limits of the CVM. They are part of consensus: every node must run with the same values.

use parity_scale_codec::{Decode, Encode};

/// Caps enforced at deploy time and while a manuscript runs. A breach is a named failure, never a crash.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Limits {
    /// Largest accepted wasm binary.
    pub max_code_size: u32,
    /// Largest linear memory a manuscript may have (initial or grown).
    pub max_memory_bytes: u64,
    /// Native stack wasm code may use. Where a recursion stops is decided by the deterministic stack limit
    /// (`stack_limit`), which trips first when this is at least `stack_limit::native_stack_needed()`; this native
    /// limit is only a backstop.
    pub max_wasm_stack: u32,
    /// Longest state or record key.
    pub max_key_len: u32,
    /// Longest state value or record value.
    pub max_value_len: u32,
    /// Longest dataset name in an emit.
    pub max_dataset_name_len: u32,
    /// Longest log or panic message kept (longer ones are cut).
    pub max_log_len: u32,
    /// Most records one invocation may emit.
    pub max_emits_per_invocation: u32,
    /// Highest `fuel_limit_per_record` a deploy may ask for.
    pub max_fuel_per_record: u64,
    /// Largest table (function references) a manuscript may have.
    pub max_table_elements: u32,
    /// Most records in one `Ingest` transaction.
    pub max_records_per_ingest: u32,
    /// Largest single source record.
    pub max_record_len: u32,
    /// Most sources one manuscript's manifest may subscribe to.
    pub max_sources_per_manuscript: u32,
    /// Most datasets one manuscript's manifest may declare.
    pub max_datasets_per_manuscript: u32,
    /// Longest manuscript name or source id in a manifest (dataset names: `max_dataset_name_len`).
    pub max_manifest_name_len: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_code_size: 2 * 1024 * 1024,
            max_memory_bytes: 16 * 1024 * 1024,
            max_wasm_stack: 1024 * 1024,
            max_key_len: 1024,
            max_value_len: 64 * 1024,
            max_dataset_name_len: 64,
            max_log_len: 4096,
            max_emits_per_invocation: 1024,
            max_fuel_per_record: 1_000_000_000,
            max_table_elements: 65_536,
            max_records_per_ingest: 100_000,
            max_record_len: 256 * 1024,
            max_sources_per_manuscript: 16,
            max_datasets_per_manuscript: 64,
            max_manifest_name_len: 64,
        }
    }
}

impl Limits {
    /// Largest initial memory in 64 KiB wasm pages.
    pub fn max_memory_pages(&self) -> u64 {
        self.max_memory_bytes / 65_536
    }
}
