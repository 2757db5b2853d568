//! Why the app refuses a block or a piece of evidence, or cannot execute or commit a block.

use cvm_consensus::EvidenceError;
use cvm_runtime::validators::OffenceRefusal;

use crate::sources::SourceDataError;

/// Why a block was refused or could not be executed or committed.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum AppError {
    #[error("storage: {0}")]
    Storage(String),
    #[error("execution failed on this node: {0}")]
    Exec(#[from] cvm_runtime::ExecError),
    #[error("decided block {height} (0x{hash}) is not available here; it will come by sync")]
    MissingBody { height: u64, hash: String },
    #[error(
        "decided block {height} ingests source data this node does not have ({cause}); it will come by sync"
    )]
    MissingSourceData { height: u64, cause: String },
    #[error(
        "decided block {height} re-executes to a different {what} than its header: this node's CVM disagrees with the network; stop it and run `cvm replay`"
    )]
    Divergence { height: u64, what: &'static str },
    #[error(
        "{0}; this node's validator sets disagree with its state: stop it and run `cvm replay`"
    )]
    Schedule(#[from] crate::chain::validator_schedule::ScheduleError),
}

/// Why a proposed block is refused (the prevote goes to nil).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum InvalidBlock {
    #[error("wrong chain id {0:?}")]
    ChainId(String),
    #[error("height {found}, expected {expected}")]
    Height { expected: u64, found: u64 },
    #[error("parent hash does not match the last committed block")]
    Parent,
    #[error(
        "block time {time_ms} is not after the parent's {parent_ms} or too far ahead of this node's clock"
    )]
    Time { time_ms: u64, parent_ms: u64 },
    #[error(
        "body does not match the header (source commitments, transactions, last commit, evidence or parts)"
    )]
    Body,
    #[error("{0}")]
    SourceData(SourceDataError),
    #[error("body is {size} bytes, above max_block_bytes {max}")]
    TooLarge { size: usize, max: u64 },
    #[error("a transaction is {size} bytes, above max_tx_bytes {max}")]
    TxTooLarge { size: usize, max: u64 },
    #[error("last commit: {0}")]
    LastCommit(String),
    #[error("state root differs: header 0x{header}, executed 0x{executed}")]
    StateRoot { header: String, executed: String },
    #[error("receipts root differs")]
    ReceiptsRoot,
    #[error("fuel used {executed} differs from the header's {header}, or is above max_block_fuel")]
    Fuel { header: u64, executed: u64 },
    #[error("cannot execute: {0}")]
    Execution(String),
    #[error(
        "the header's {which} is not the hash of this node's validator set for height {height}"
    )]
    Validators { which: &'static str, height: u64 },
    #[error("evidence: {0}")]
    Evidence(String),
}

/// Why a piece of evidence may not be committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum EvidenceRefusal {
    #[error("the two votes are not in canonical order (the smaller encoding first)")]
    NotCanonical,
    #[error("its votes are of height {height}, above the block's {block}")]
    FromTheFuture { height: u64, block: u64 },
    #[error(
        "its votes are of height {height}, more than max_evidence_age ({max_age}) below the block's {block}"
    )]
    TooOld {
        height: u64,
        block: u64,
        max_age: u64,
    },
    #[error("no validator set is known here for its height {0}")]
    UnknownSet(u64),
    #[error("{0}")]
    Invalid(#[from] EvidenceError),
    #[error("{0}")]
    Covered(#[from] OffenceRefusal),
    #[error("cannot read the state: {0}")]
    State(String),
}
