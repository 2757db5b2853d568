//! The CVM: validates, compiles, caches and runs manuscripts (WebAssembly data-transformation programs) under
//! fuel, keeps their state in sp-trie, proves their dataset records, and executes blocks of transactions into a
//! state root and receipts. It knows nothing of networking or consensus.
//!
//! Main types:
//! - [`CvmEngine`]: the process-wide wasmtime engine configured for determinism, with the module cache.
//! - [`validate`](validate::validate) / [`ValidationError`]: deploy-time checks against the ABI and [`Limits`].
//! - [`ManuscriptRunner`]: one manuscript over a sequence of records, one fuel budget per record.
//! - [`BlockExecutor`]: a block's [`SignedTransaction`]s on a parent [`StateRoot`] into a [`BlockOutcome`].
//! - [`state`]: [`NodeStore`](state::NodeStore), the key layout, [`prove_record`](state::prove_record) and
//!   [`verify_record`](state::verify_record).
//! - [`FuelSchedule`]: what each host function costs.
//! - [`RecordBatch`]: an ingest transaction's source records in one buffer (SCALE's `Vec<Vec<u8>>` on the wire).

pub mod cache;
pub mod engine;
pub mod exec;
pub mod fuel;
pub mod host;
pub mod limits;
mod overlay;
pub mod receipt;
pub mod record_batch;
pub mod state;
pub mod tx;
pub mod validate;
mod value_cache;

pub use cache::{CacheError, CacheStats, CompiledManuscript};
pub use engine::{CvmEngine, EngineConfig, EngineError};
pub use exec::{
    BlockContext, BlockExecutor, BlockOutcome, BlockRecord, ExecError, ExecutionFault,
    ExecutorConfig, InvocationResult, ManuscriptLog, ManuscriptRunner,
};
pub use fuel::{FuelSchedule, HostCost};
pub use host::{BlockInfo, EmittedRecord, HostTrap, LogLevel, LogLine};
pub use limits::Limits;
pub use receipt::{FailureReason, InvocationOutcome, InvocationReceipt, TxReceipt, TxStatus};
pub use record_batch::RecordBatch;
pub use state::{StateChanges, StateRoot};
pub use tx::{SignedTransaction, Transaction, TxError, TxPayload, VerifiedTxs};
pub use validate::{ValidatedCode, ValidationError};
