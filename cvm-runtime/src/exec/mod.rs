//! Executing blocks: transactions in order, manuscripts of one ingest in parallel, one new state root.

mod block;
pub(crate) mod invoke;

pub use crate::value_cache::ValueCacheStats;
pub use block::{
    BlockContext, BlockExecutor, BlockOutcome, BlockRecord, ExecError, ExecutorConfig,
    ManuscriptLog,
};
pub use invoke::{ExecutionFault, InvocationResult, ManuscriptRunner};
