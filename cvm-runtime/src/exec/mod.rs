//! Executing blocks: source blocks, then transactions, in order; manuscripts of one ingest in parallel; one new state
//! root.

mod block;
mod block_state;
mod changes;
mod deploy;
mod error;
mod ingest;
#[cfg(test)]
mod ingest_budget_tests;
pub(crate) mod invoke;
mod offences;
mod outcome;
mod source_blocks;

pub use crate::value_cache::ValueCacheStats;
pub use block::{BlockContext, BlockExecutor, BlockInput, ExecutorConfig};
pub use changes::DatasetChanges;
pub use error::ExecError;
pub use invoke::{ExecutionFault, InvocationResult, ManuscriptRunner};
pub use outcome::{BlockOutcome, BlockRecord, ManuscriptLog};
