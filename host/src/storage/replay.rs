//! `cvm replay`: re-executes every stored block from height 1 on a fresh in-memory state and checks that each
//! computed state root and receipts root equals the one in the stored header, the dataset changes the ones
//! stored at commit, and the header's validator-set hashes the sets the replayed validator updates give. Execution continues from the computed root, so one bad header is reported at its own height
//! only.

use std::fmt;
use std::sync::Arc;

use cvm_runtime::state::{MemoryNodeStore, NodeStore};
use cvm_runtime::{BlockContext, BlockExecutor, BlockInput, CvmEngine, ExecError, ExecutorConfig};

use super::{Storage, StorageError};
use crate::chain::validator_schedule::ScheduleError;
use crate::chain::{Genesis, ValidatorSchedule, membership_hash};
use crate::sources::PulledBlock;

/// Which header root re-execution disagrees with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MismatchKind {
    /// The state root.
    StateRoot,
    /// The receipts root.
    ReceiptsRoot,
    /// The dataset changes stored at commit (compared by the Blake2-256 of their encoding).
    DatasetChanges,
    /// The header's `validators_hash`.
    ValidatorsHash,
    /// The header's `next_validators_hash`.
    NextValidatorsHash,
}

impl fmt::Display for MismatchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MismatchKind::StateRoot => "state root",
            MismatchKind::ReceiptsRoot => "receipts root",
            MismatchKind::DatasetChanges => "dataset changes",
            MismatchKind::ValidatorsHash => "validators hash",
            MismatchKind::NextValidatorsHash => "next validators hash",
        })
    }
}

/// A stored header root that re-execution does not reproduce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The block's height.
    pub height: u64,
    /// The root the stored header holds.
    pub stored: [u8; 32],
    /// The root re-execution gives.
    pub computed: [u8; 32],
    /// Which root.
    pub what: MismatchKind,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "height {}: stored {} {} but re-execution gives {}",
            self.height,
            self.what,
            hex::encode(self.stored),
            hex::encode(self.computed)
        )
    }
}

/// What a replay checked and found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Blocks re-executed.
    pub heights: u64,
    /// Every root re-execution did not reproduce (empty: the chain replays exactly).
    pub mismatches: Vec<Mismatch>,
}

/// Why a replay could not run to the end.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum ReplayError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("block {height} is missing below the head {head}: the database is incomplete")]
    MissingBlock { height: u64, head: u64 },
    #[error("re-executing block {height}: {source}")]
    Exec { height: u64, source: ExecError },
    #[error("the genesis state cannot be built: {0}")]
    Genesis(String),
    #[error(
        "block {height}'s source data: {reason}; the database is incomplete (sync this node from a peer again)"
    )]
    SourceData { height: u64, reason: String },
    #[error("replaying block {height}: {0}", height = .0.height)]
    Schedule(#[from] ScheduleError),
    #[error("re-executing block {height}: keeping its state: {source}")]
    State {
        height: u64,
        source: cvm_runtime::state::StoreError,
    },
}

fn changes_hash(changes: &[cvm_runtime::DatasetChanges]) -> [u8; 32] {
    cvm_runtime::state::blake2_256_of_encoding(changes)
}

/// Re-executes blocks 1..=head from `genesis`'s state on a fresh [`MemoryNodeStore`], calling
/// `progress(height, head)` after each.
pub fn replay(
    storage: &Storage,
    engine: Arc<CvmEngine>,
    exec: ExecutorConfig,
    genesis: &Genesis,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ReplayReport, ReplayError> {
    let chain_id = &genesis.chain_id;
    let head = storage.head()?.map_or(0, |h| h.height);
    let store = Arc::new(MemoryNodeStore::new());
    let executor = BlockExecutor::new(engine, store.clone(), exec)
        .map_err(|source| ReplayError::Exec { height: 1, source })?;
    let (mut parent, changes) = genesis
        .state(&*store)
        .map_err(|e| ReplayError::Genesis(e.to_string()))?;
    store
        .commit(&changes)
        .map_err(|source| ReplayError::State { height: 0, source })?;
    let mut report = ReplayReport::default();
    let mut schedule = ValidatorSchedule::genesis(
        genesis
            .validator_set()
            .map_err(|e| ReplayError::Genesis(e.to_string()))?,
    );
    for height in 1..=head {
        let block = storage
            .block(height)?
            .ok_or(ReplayError::MissingBlock { height, head })?;
        let ctx = BlockContext {
            chain_id: chain_id.to_string(),
            height,
            time_ms: block.header.time_ms,
        };
        let sources: Vec<_> = storage
            .pulled_blocks(&block.body.source_blocks)
            .map_err(|reason| ReplayError::SourceData { height, reason })?
            .iter()
            .map(PulledBlock::to_source_block)
            .collect();
        let offences = block.body.offences();
        let input = BlockInput {
            source_blocks: &sources,
            txs: &block.body.txs,
            offences: &offences,
        };
        let outcome = executor
            .execute(parent, &ctx, input, genesis.params.max_block_fuel)
            .map_err(|source| ReplayError::Exec { height, source })?;
        store
            .commit(&outcome.changes)
            .map_err(|source| ReplayError::State { height, source })?;
        // A block committed by a version that did not record its changes has none to compare.
        let computed = changes_hash(&outcome.dataset_changes);
        let stored_changes = storage
            .dataset_changes(height)?
            .map_or(computed, |c| changes_hash(&c));
        let set_hash = |h: u64| schedule.set_at(h).map_or([0; 32], membership_hash);
        let checks = [
            (MismatchKind::DatasetChanges, stored_changes, computed),
            (
                MismatchKind::ValidatorsHash,
                block.header.validators_hash,
                set_hash(height),
            ),
            (
                MismatchKind::NextValidatorsHash,
                block.header.next_validators_hash,
                set_hash(height + 1),
            ),
            (
                MismatchKind::StateRoot,
                block.header.state_root,
                outcome.state_root.0,
            ),
            (
                MismatchKind::ReceiptsRoot,
                block.header.receipts_root,
                outcome.receipts_root.0,
            ),
        ];
        for (what, stored, computed) in checks {
            if stored != computed {
                let m = Mismatch {
                    height,
                    stored,
                    computed,
                    what,
                };
                tracing::warn!(%m, "replay mismatch");
                report.mismatches.push(m);
            }
        }
        schedule = schedule.advance(&outcome.validator_changes)?.0;
        parent = outcome.state_root;
        report.heights += 1;
        progress(height, head);
    }
    tracing::info!(
        heights = report.heights,
        mismatches = report.mismatches.len(),
        "replay finished"
    );
    Ok(report)
}
