//! The per-store state the host functions work on, and what they hand back to the runner.

use std::sync::Arc;

use wasmtime::{Caller, Memory};

use super::limiter::Limiter;
use crate::fuel::FuelSchedule;
use crate::limits::Limits;
use crate::overlay::ManuscriptOverlay;

/// Height and time of the block being executed, as manuscripts see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockInfo {
    /// The block's height.
    pub height: u64,
    /// Milliseconds since the Unix epoch, from the block header.
    pub time_ms: u64,
}

/// A dataset a manuscript's manifest declares, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeclaredDataset {
    pub name: String,
    /// Its records are appended per block (ABI.md, "Append-only datasets") rather than kept by key.
    pub append_only: bool,
}

/// A record a manuscript emitted into one of its datasets.
#[derive(Debug, Clone, PartialEq, Eq, parity_scale_codec::Encode, parity_scale_codec::Decode)]
pub struct EmittedRecord {
    /// The dataset, one the manifest declares.
    pub dataset: String,
    /// The record's key within the dataset.
    pub key: Vec<u8>,
    /// The record's value.
    pub value: Vec<u8>,
}

/// A log line from a manuscript. Not part of consensus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The level the manuscript logged at.
    pub level: LogLevel,
    /// The message, cut at the log length limit.
    pub message: String,
}

/// Which manuscript log lines an executor or runner keeps. Logs are not part of consensus and nothing on a
/// node reads them, so a node keeps none; tools keep a bounded number. Lines beyond a bound are dropped and
/// counted, never a trap: the fuel of a `log` call is charged either way, so the policy changes no receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPolicy {
    /// Keep log lines at all.
    pub keep: bool,
    /// Most lines kept per invocation.
    pub max_lines_per_invocation: u32,
    /// Most message bytes kept per invocation.
    pub max_bytes_per_invocation: u32,
    /// Most lines kept per block.
    pub max_lines_per_block: u32,
}

impl Default for LogPolicy {
    /// Keeps up to 256 lines or 64 KiB per invocation and 65,536 lines per block (tools, tests).
    fn default() -> Self {
        Self {
            keep: true,
            max_lines_per_invocation: 256,
            max_bytes_per_invocation: 64 * 1024,
            max_lines_per_block: 65_536,
        }
    }
}

impl LogPolicy {
    /// Keeps no log line (a node).
    pub fn off() -> Self {
        Self {
            keep: false,
            ..Self::default()
        }
    }
}

/// The level of a [`LogLine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// ABI level 0 (and below).
    Error,
    /// ABI level 1.
    Warn,
    /// ABI level 2.
    Info,
    /// ABI level 3.
    Debug,
    /// ABI level 4 (and above).
    Trace,
}

impl LogLevel {
    /// The level of the `log` import's `level` argument.
    pub(super) fn from_abi(level: i32) -> Self {
        match level {
            i32::MIN..=0 => Self::Error,
            1 => Self::Warn,
            2 => Self::Info,
            3 => Self::Debug,
            _ => Self::Trace,
        }
    }
}

/// Everything one store's host functions need. Owned (stores are `'static`), moved in and out per transaction.
pub struct HostState {
    pub(crate) limiter: Limiter,
    pub(crate) memory: Option<Memory>,
    pub(crate) fuel: Arc<FuelSchedule>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) block: BlockInfo,
    pub(crate) datasets: Arc<[DeclaredDataset]>,
    pub(crate) state: ManuscriptOverlay,
    /// Records emitted by the running invocation, when `keep_emitted` (their trie writes are in `state` either
    /// way).
    pub(crate) emitted: Vec<EmittedRecord>,
    pub(crate) keep_emitted: bool,
    pub(crate) emitted_count: u32,
    /// Lines kept from the running invocation, within `log_policy`.
    pub(crate) logs: Vec<LogLine>,
    pub(crate) log_policy: LogPolicy,
    /// Message bytes in `logs`.
    pub(crate) log_bytes: u32,
    pub(crate) logs_dropped: u32,
    /// The running invocation's last error-level message, kept whatever the policy: a failure receipt quotes it.
    pub(crate) last_error: Option<String>,
    pub(crate) metered: bool,
}

impl HostState {
    pub(crate) fn new(
        fuel: Arc<FuelSchedule>,
        limits: Arc<Limits>,
        block: BlockInfo,
        datasets: Arc<[DeclaredDataset]>,
        state: ManuscriptOverlay,
    ) -> Self {
        Self {
            limiter: Limiter {
                max_memory: limits.max_memory_bytes,
                max_table: u64::from(limits.max_table_elements),
            },
            memory: None,
            fuel,
            limits,
            block,
            datasets,
            state,
            emitted: Vec::new(),
            keep_emitted: true,
            emitted_count: 0,
            logs: Vec::new(),
            log_policy: LogPolicy::default(),
            log_bytes: 0,
            logs_dropped: 0,
            last_error: None,
            metered: true,
        }
    }
}

/// What a host function is called with: the store, through the calling instance.
pub(super) type Ctx<'a> = Caller<'a, HostState>;
