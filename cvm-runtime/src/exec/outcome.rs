//! What executing a block produces: the new root, receipts, records and logs.

use parity_scale_codec::{Decode, Encode};

use super::changes::DatasetChanges;
use crate::host::{EmittedRecord, LogLine, LogPolicy};
use crate::receipt::{SourceReceipt, TxReceipt};
use crate::state::{H256, StateChanges, StateRoot};
use crate::validators::ValidatorChange;

/// A dataset record emitted in a block, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct BlockRecord {
    /// Index of the ingest in the block, counting its source blocks first, then its transactions.
    pub tx_index: u32,
    /// The manuscript that emitted it.
    pub manuscript: String,
    /// Index of the source record, within the transaction, whose invocation emitted it.
    pub record_index: u32,
    /// The record itself.
    pub record: EmittedRecord,
}

/// A manuscript log line, with where it came from. Not part of consensus.
#[derive(Debug, Clone)]
pub struct ManuscriptLog {
    /// Index of the ingest in the block, counting its source blocks first, then its transactions.
    pub tx_index: u32,
    /// The manuscript that logged it.
    pub manuscript: String,
    /// Index of the source record, within the transaction, whose invocation logged it.
    pub record_index: u32,
    /// The line itself.
    pub line: LogLine,
}

/// A block's manuscript log lines, at most the policy's per-block bound, and how many were dropped.
pub(super) struct BlockLogs {
    pub(super) lines: Vec<ManuscriptLog>,
    pub(super) dropped: u64,
    max_lines: usize,
}

impl BlockLogs {
    pub(super) fn new(policy: &LogPolicy) -> Self {
        Self {
            lines: Vec::new(),
            dropped: 0,
            max_lines: if policy.keep {
                policy.max_lines_per_block as usize
            } else {
                0
            },
        }
    }

    /// Keeps lines up to the bound, counting the rest.
    pub(super) fn extend(&mut self, lines: impl ExactSizeIterator<Item = ManuscriptLog>) {
        let room = self.max_lines.saturating_sub(self.lines.len());
        let total = lines.len();
        self.lines.extend(lines.take(room));
        self.dropped += total.saturating_sub(room) as u64;
    }
}

/// Where a block's ingests put their results, and the block's fuel left.
pub(super) struct BlockOutput {
    pub(super) records: Vec<BlockRecord>,
    pub(super) logs: BlockLogs,
    pub(super) fuel_left: u64,
}

/// Everything a block's execution produced.
#[derive(Debug, Clone)]
pub struct BlockOutcome {
    /// The root of the main trie after the block.
    pub state_root: StateRoot,
    /// One receipt per source block, in block order (they run before the transactions).
    pub source_receipts: Vec<SourceReceipt>,
    /// One receipt per transaction, in block order.
    pub receipts: Vec<TxReceipt>,
    /// The ordered trie root of the SCALE-encoded [`ReceiptEntry`](crate::ReceiptEntry)s: source blocks'
    /// receipts, then transactions'.
    pub receipts_root: H256,
    /// Fuel used by all source blocks and transactions.
    pub fuel_used: u64,
    /// Trie nodes to commit together with the block.
    pub changes: StateChanges,
    /// Dataset records emitted, in order (empty unless the executor keeps records; their number is
    /// [`records_emitted`](Self::records_emitted) either way).
    pub records: Vec<BlockRecord>,
    /// The dataset records whose value the block changed (written or removed), by manuscript, then dataset:
    /// kept whatever the executor's configuration (a node stores them for change feeds).
    pub dataset_changes: Vec<DatasetChanges>,
    /// Manuscript log lines, in order, within the executor's [`LogPolicy`] (empty when it keeps none).
    pub logs: Vec<ManuscriptLog>,
    /// Log lines the policy did not keep.
    pub logs_dropped: u64,
    /// Index of the first transaction that failed because the block's fuel budget ran out (it and every later
    /// ingest failed, their nonces consumed). A proposer leaves it and what follows for the next block.
    pub fuel_exhausted_at: Option<usize>,
    /// Index of the first source block whose ingest failed because the block's fuel budget ran out (it was not
    /// ingested, the source moved past it). A proposer leaves it and what follows for the next block.
    pub source_fuel_exhausted_at: Option<usize>,
    /// What the block's validator updates changed, from the set before the block to the set after it (each key
    /// once; power 0 removes): the change set consensus applies two heights later. Empty when no update applied.
    pub validator_changes: Vec<ValidatorChange>,
    /// The offenders this block removed from the set by jailing, in the order of its evidence.
    pub jailed: Vec<[u8; 32]>,
}

impl BlockOutcome {
    /// How many dataset records the block emitted, kept or not (counted in its receipts).
    pub fn records_emitted(&self) -> u64 {
        let sources: u64 = self
            .source_receipts
            .iter()
            .map(SourceReceipt::records_emitted)
            .sum();
        sources
            + self
                .receipts
                .iter()
                .map(TxReceipt::records_emitted)
                .sum::<u64>()
    }
}
