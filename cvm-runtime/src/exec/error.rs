//! Failures of this node (not of a transaction or manuscript) while executing a block.

use super::invoke::ExecutionFault;
use crate::sources::SourceBlockError;
use crate::state::StateError;

/// Why a block cannot be executed here: a failure of this node (not of a transaction or manuscript), or source
/// blocks that make the block invalid ([`ExecError::SourceBlock`], the proposer's fault).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A source block breaks its source's continuity or budget, or names no registered Ethereum source: the
    /// block is invalid.
    #[error("invalid source block: {0}")]
    SourceBlock(#[from] SourceBlockError),
    /// The node's state cannot be read or updated.
    #[error(transparent)]
    State(#[from] StateError),
    /// A manuscript could not be run for a reason that is not its own.
    #[error(transparent)]
    Fault(#[from] ExecutionFault),
    /// The code of a deployed manuscript is missing from state (code that does not load fails its invocations).
    #[error("stored code of manuscript {manuscript} does not load: {reason}")]
    StoredCode {
        /// The manuscript's name.
        manuscript: String,
        /// Why its code does not load.
        reason: String,
    },
    /// The executor's worker threads cannot be started.
    #[error("cannot start the executor's thread pool: {0}")]
    ThreadPool(String),
}
