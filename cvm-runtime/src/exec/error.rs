//! Failures of this node (not of a transaction or manuscript) while executing a block.

use super::invoke::ExecutionFault;
use crate::state::StateError;

/// A failure of this node (not of a transaction or manuscript): the block cannot be executed here.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
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
