//! What a block's source blocks must satisfy before they run: each is the next block of a registered Ethereum
//! source (the first one its `start`, then number + 1 with the parent hash of the head), and no source carries
//! more than its budget in one chain block. A breach is the proposer's fault: the block is invalid.

use std::collections::BTreeMap;

use super::types::{SourceBlock, SourceDef, SourceHead, SourceKind};

/// Why a block's source blocks make it invalid.
#[derive(Debug, thiserror::Error)]
pub enum SourceBlockError {
    /// The source is not registered.
    #[error("source block {number} names source {source_name}, which is not registered")]
    NotRegistered {
        /// The source named.
        source_name: String,
        /// The source block's number.
        number: u64,
    },
    /// The source is not an Ethereum source.
    #[error(
        "source block {number} names source {source_name}, which is a signed source (it takes Ingest only)"
    )]
    NotEthereum {
        /// The source named.
        source_name: String,
        /// The source block's number.
        number: u64,
    },
    /// The first block of a source is not its registered start.
    #[error(
        "source {source_name}'s first block must be its start {expected_number} 0x{expected_hash}, found \
         {number} 0x{hash}"
    )]
    Start {
        /// The source.
        source_name: String,
        /// The start's number.
        expected_number: u64,
        /// The start's hash, hex.
        expected_hash: String,
        /// The source block's number.
        number: u64,
        /// The source block's hash, hex.
        hash: String,
    },
    /// A block that does not follow the head.
    #[error(
        "source {source_name}'s block {number} (parent 0x{parent_hash}) does not follow its head {head_number} \
         0x{head_hash}"
    )]
    Continuity {
        /// The source.
        source_name: String,
        /// The head's number.
        head_number: u64,
        /// The head's hash, hex.
        head_hash: String,
        /// The source block's number.
        number: u64,
        /// The source block's parent hash, hex.
        parent_hash: String,
    },
    /// More source blocks of one source than its budget allows.
    #[error(
        "more than {max} blocks of source {source_name} in one chain block (its budget.max_blocks)"
    )]
    TooManyBlocks {
        /// The source.
        source_name: String,
        /// The budget.
        max: u32,
    },
    /// More logs of one source than its budget allows, past the source's first block in the chain block.
    #[error(
        "{logs} logs of source {source_name} in one chain block, above its budget.max_logs {max}"
    )]
    TooManyLogs {
        /// The source.
        source_name: String,
        /// Logs so far, this block's included.
        logs: u64,
        /// The budget.
        max: u32,
    },
}

/// Source blocks and logs of each source seen so far in one chain block.
#[derive(Debug, Default)]
pub struct SourceTally {
    per_source: BTreeMap<String, (u32, u64)>,
}

impl SourceTally {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Checks `block` against its source's definition and head and counts it in `tally`.
pub fn check_source_block(
    def: Option<&SourceDef>,
    head: Option<SourceHead>,
    block: &SourceBlock,
    tally: &mut SourceTally,
) -> Result<(), SourceBlockError> {
    let source_name = || block.source.clone();
    let def = def.ok_or_else(|| SourceBlockError::NotRegistered {
        source_name: source_name(),
        number: block.number,
    })?;
    let SourceKind::Ethereum(eth) = &def.kind else {
        return Err(SourceBlockError::NotEthereum {
            source_name: source_name(),
            number: block.number,
        });
    };
    let (blocks, logs) = tally.per_source.entry(source_name()).or_default();
    *blocks += 1;
    *logs += block.records.len() as u64;
    if *blocks > eth.budget.max_blocks {
        return Err(SourceBlockError::TooManyBlocks {
            source_name: source_name(),
            max: eth.budget.max_blocks,
        });
    }
    // A source's first block in a chain block is taken whatever its logs: one Ethereum block above the budget
    // would otherwise stall the source for good.
    if *blocks > 1 && *logs > u64::from(eth.budget.max_logs) {
        return Err(SourceBlockError::TooManyLogs {
            source_name: source_name(),
            logs: *logs,
            max: eth.budget.max_logs,
        });
    }
    match head {
        None if block.number != eth.start.number || block.hash != eth.start.hash => {
            Err(SourceBlockError::Start {
                source_name: source_name(),
                expected_number: eth.start.number,
                expected_hash: hex::encode(eth.start.hash),
                number: block.number,
                hash: hex::encode(block.hash),
            })
        }
        Some(head)
            if head.number.checked_add(1) != Some(block.number)
                || block.parent_hash != head.hash =>
        {
            Err(SourceBlockError::Continuity {
                source_name: source_name(),
                head_number: head.number,
                head_hash: hex::encode(head.hash),
                number: block.number,
                parent_hash: hex::encode(block.parent_hash),
            })
        }
        _ => Ok(()),
    }
}
