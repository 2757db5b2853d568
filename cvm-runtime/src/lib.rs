//! The CVM: validates, compiles, caches and runs manuscripts (WebAssembly data-transformation programs) under
//! fuel, keeps their state in sp-trie, proves their dataset records, and executes blocks of transactions into a
//! state root and receipts. It knows nothing of networking or consensus.
//!
//! Main types:
//! - [`CvmEngine`]: the process-wide wasmtime engine configured for determinism, with the module cache.
//! - [`validate`](validate::validate) / [`ValidationError`]: deploy-time checks against the ABI and [`Limits`].
//! - [`ManuscriptRunner`]: one manuscript over a sequence of records, one fuel budget per record.
//! - [`BlockExecutor`]: a block's [`BlockInput`] (source blocks, [`SignedTransaction`]s, offences) on a parent
//!   [`StateRoot`] into a [`BlockOutcome`].
//! - [`state`]: [`NodeStore`](state::NodeStore), the key layout, [`prove_record`](state::prove_record) and
//!   [`verify_record`](state::verify_record).
//! - [`FuelSchedule`]: what each host function costs.
//! - [`sources`]: registered sources ([`SourceDef`](sources::SourceDef)), their heads, the rules of who may
//!   register and ingest, and [`genesis_state`](sources::genesis_state).
//! - [`validators`]: the validator set in state ([`ValidatorState`](validators::ValidatorState)),
//!   [`check_update`](validators::check_update), the rule of an `UpdateValidators` transaction, and
//!   [`jail`](validators::jail), what a proven equivocation does.
//! - [`RecordBatch`]: an ingest transaction's source records in one buffer (SCALE's `Vec<Vec<u8>>` on the wire).
//!
//! # Modules
//!
//! Each module uses only modules listed before it (no module uses one listed after it):
//!
//! | Module | Job |
//! |---|---|
//! | [`limits`] | resource limits (consensus parameters) |
//! | [`fuel`] | host function prices (consensus parameters) |
//! | [`receipt`] | transaction and invocation receipts |
//! | [`record_batch`] | an ingest's records in one buffer |
//! | [`state`] | node store, sp-trie access, key layout, record proofs |
//! | [`sources`] | registered sources: definitions, heads, registration and ingest rules, provenance proofs, genesis |
//! | [`validators`] | the validator set the state records, and the rules for updating it and jailing an offender |
//! | [`tx`] | signed transactions and the verified-signature cache |
//! | [`stack_limit`] | the deterministic stack limit, instrumented into each manuscript before compilation |
//! | [`validate`] | deploy-time checks of a wasm binary against the ABI |
//! | `value_cache` | committed state values shared across blocks |
//! | `overlay` | a manuscript's uncommitted writes over its child trie |
//! | [`host`] | the `cvm` host functions, one file per import, and their per-store state |
//! | [`cache`] | compiled modules in memory and precompiled on disk |
//! | [`engine`] | the wasmtime engine, linker and module cache |
//! | [`exec`] | running manuscripts over records, and whole blocks |
#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]
// Only `cache::precompiled` needs unsafe (loading precompiled modules), and allows it there alone.
#![deny(unsafe_code)]

pub mod cache;
pub mod engine;
pub mod exec;
pub mod fuel;
pub mod host;
pub mod limits;
mod overlay;
pub mod receipt;
pub mod record_batch;
pub mod sources;
pub mod stack_limit;
pub mod state;
#[cfg(test)]
mod test_wat;
pub mod tx;
pub mod validate;
pub mod validators;
mod value_cache;

pub use cache::{CacheBounds, CacheError, CacheStats, CacheUsage, CompiledManuscript};
pub use engine::{CvmEngine, EngineConfig, EngineError};
pub use exec::{
    BlockContext, BlockExecutor, BlockInput, BlockOutcome, BlockRecord, DatasetChanges, ExecError,
    ExecutionFault, ExecutorConfig, InvocationResult, ManuscriptLog, ManuscriptRunner,
};
pub use fuel::{FuelSchedule, HostCost};
pub use host::{BlockInfo, EmittedRecord, HostTrap, LogLevel, LogLine, LogPolicy};
pub use limits::Limits;
pub use receipt::{
    FailureReason, InvocationOutcome, InvocationReceipt, ReceiptEntry, SourceReceipt, SourceStatus,
    TxReceipt, TxStatus,
};
pub use record_batch::RecordBatch;
pub use state::{StateChanges, StateRoot};
pub use tx::{SignedTransaction, Transaction, TxError, TxPayload, VerifiedTxs};
pub use validate::{ValidatedCode, ValidationError};
