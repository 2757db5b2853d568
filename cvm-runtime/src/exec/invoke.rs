//! Running one manuscript over a sequence of records: one instance reused across records until a trap, a fresh
//! fuel budget per record, writes kept only for successful invocations.

use std::sync::Arc;

use wasmtime::{PoolConcurrencyLimitError, Store, Trap, TypedFunc};

use crate::cache::CompiledManuscript;
use crate::engine::CvmEngine;
use crate::host::{BlockInfo, EmittedRecord, HostState, HostTrap, LogLine, LogPolicy};
use crate::overlay::ManuscriptOverlay;
use crate::receipt::{FailureReason, InvocationOutcome};

/// The result of one record through one manuscript.
#[derive(Debug, Clone)]
pub struct InvocationResult {
    /// Success, or why the invocation failed.
    pub outcome: InvocationOutcome,
    /// Fuel the invocation used (0 when metering is off).
    pub fuel_used: u64,
    /// Records emitted (empty when the invocation failed, or when the runner does not keep them).
    pub emitted: Vec<EmittedRecord>,
    /// How many records the invocation emitted (0 when it failed), kept or not.
    pub records_emitted: u32,
    /// What the manuscript logged, kept whether or not the invocation succeeded, within the runner's
    /// [`LogPolicy`].
    pub logs: Vec<LogLine>,
    /// Log lines the policy did not keep.
    pub logs_dropped: u32,
}

impl InvocationResult {
    fn failed(reason: FailureReason, message: String) -> Self {
        Self {
            outcome: failed(reason, message),
            fuel_used: 0,
            emitted: Vec::new(),
            records_emitted: 0,
            logs: Vec::new(),
            logs_dropped: 0,
        }
    }
}

/// A failure of this node, not of the manuscript: the block cannot be executed here.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionFault {
    /// The node has no instance slot free for the manuscript (the pool is smaller than the manuscripts running
    /// at once: raise `EngineConfig::pool_instances`).
    #[error("cannot instantiate manuscript {manuscript}: {reason}")]
    Instantiate {
        /// The manuscript's name.
        manuscript: String,
        /// wasmtime's error.
        reason: String,
    },
    /// A host function could not read the node's state.
    #[error("node state unavailable while running {manuscript}: {reason}")]
    State {
        /// The manuscript's name.
        manuscript: String,
        /// The state error.
        reason: String,
    },
}

/// The receipt message of an invocation whose manuscript does not load or instantiate. One fixed text, not the
/// cause: whether the cause shows at loading (validation) or at instantiation depends on what this node has
/// cached, and a receipt must not.
pub(crate) const INSTANTIATION_FAILED: &str =
    "the manuscript's code does not load or instantiate; it cannot process records";

struct Live {
    alloc: TypedFunc<i32, i32>,
    process: TypedFunc<(i32, i32, i32, i32), i32>,
}

/// Runs records through one manuscript in order.
pub struct ManuscriptRunner {
    engine: Arc<CvmEngine>,
    compiled: Arc<CompiledManuscript>,
    /// Always `Some` between calls; taken only while the store is being replaced.
    store: Option<Store<HostState>>,
    live: Option<Live>,
    /// The module does not instantiate: every record fails with [`INSTANTIATION_FAILED`] (deterministic: it
    /// depends only on the module, so it is not retried per record).
    broken: bool,
}

impl ManuscriptRunner {
    pub(crate) fn new(
        engine: Arc<CvmEngine>,
        compiled: Arc<CompiledManuscript>,
        block: BlockInfo,
        state: ManuscriptOverlay,
    ) -> Self {
        let data = HostState::new(
            engine.shared_fuel_schedule(),
            engine.shared_limits(),
            block,
            compiled.datasets.clone(),
            state,
        );
        let mut data = data;
        data.metered = engine.metering();
        let store = Some(new_store(&engine, data));
        Self {
            engine,
            compiled,
            store,
            live: None,
            broken: false,
        }
    }

    /// A runner over the manuscript's committed state at `child_root`, outside any block (tools, benchmarks).
    pub fn standalone(
        engine: Arc<CvmEngine>,
        compiled: Arc<CompiledManuscript>,
        block: BlockInfo,
        store: Arc<dyn crate::state::NodeStore>,
        child_root: crate::state::H256,
    ) -> Self {
        let overlay = ManuscriptOverlay::new(crate::state::TrieView::new(store, child_root), None);
        Self::new(engine, compiled, block, overlay)
    }

    /// Whether results carry the emitted records themselves (the default) or only their number. Their trie
    /// writes happen either way; a node, which reads records back from the trie, saves a copy of each.
    pub fn keep_emitted(&mut self, keep: bool) {
        self.store().data_mut().keep_emitted = keep;
    }

    /// Which log lines results carry. Logs are not part of consensus: the policy never changes a receipt.
    pub fn keep_logs(&mut self, policy: LogPolicy) {
        self.store().data_mut().log_policy = policy;
    }

    /// The manuscript's name.
    pub fn manuscript(&self) -> &str {
        &self.compiled.manifest.name
    }

    /// Gives back the manuscript's state overlay with the writes of all successful invocations.
    pub(crate) fn into_overlay(self) -> ManuscriptOverlay {
        self.store
            .expect("store present between calls")
            .into_data()
            .state
    }

    fn store(&mut self) -> &mut Store<HostState> {
        self.store.as_mut().expect("store present between calls")
    }

    /// Instantiates the module unless an instance is live or it is known not to instantiate. A failure caused
    /// by the module (a trap while initialising it, a limit) marks the runner broken; only the node's own lack
    /// of an instance slot is a fault.
    fn ensure_instance(&mut self) -> Result<(), ExecutionFault> {
        if self.live.is_some() || self.broken {
            return Ok(());
        }
        match self.instantiate() {
            Ok(live) => {
                self.live = Some(live);
                Ok(())
            }
            Err(e) if e.downcast_ref::<PoolConcurrencyLimitError>().is_some() => {
                Err(ExecutionFault::Instantiate {
                    manuscript: self.compiled.manifest.name.clone(),
                    reason: format!("{e:#}"),
                })
            }
            Err(e) => {
                if let Some(HostTrap::NodeFault(reason)) = e.downcast_ref::<HostTrap>() {
                    return Err(ExecutionFault::State {
                        manuscript: self.compiled.manifest.name.clone(),
                        reason: reason.clone(),
                    });
                }
                tracing::warn!(
                    manuscript = %self.compiled.manifest.name,
                    error = %error_message(&e),
                    "a manuscript does not instantiate; its invocations fail"
                );
                self.broken = true;
                self.reset();
                Ok(())
            }
        }
    }

    fn instantiate(&mut self) -> wasmtime::Result<Live> {
        let store = self.store.as_mut().expect("store present between calls");
        let instance = self.compiled.instance_pre.instantiate(&mut *store)?;
        let exports = &self.compiled.exports;
        let memory = instance
            .get_module_export(&mut *store, &exports.memory)
            .and_then(|e| e.into_memory());
        store.data_mut().memory = memory;
        let func = |store: &mut Store<HostState>, export, name: &str| {
            instance
                .get_module_export(&mut *store, export)
                .and_then(|e| e.into_func())
                .ok_or_else(|| wasmtime::format_err!("`{name}` is not an exported function"))
        };
        let alloc = func(store, &exports.alloc, "cvm_alloc")?.typed(&*store)?;
        let process = func(store, &exports.process, "cvm_process")?.typed(&*store)?;
        Ok(Live { alloc, process })
    }

    /// After a trap the instance may be in any state: start over with a fresh store (pool slot freed).
    fn reset(&mut self) {
        self.live = None;
        let mut data = self
            .store
            .take()
            .expect("store present between calls")
            .into_data();
        data.memory = None;
        self.store = Some(new_store(&self.engine, data));
    }

    /// Processes one record with `fuel_limit` fuel.
    pub fn process(
        &mut self,
        source: &str,
        record: &[u8],
        fuel_limit: u64,
    ) -> Result<InvocationResult, ExecutionFault> {
        self.ensure_instance()?;
        if self.broken {
            return Ok(InvocationResult::failed(
                FailureReason::Instantiation,
                INSTANTIATION_FAILED.into(),
            ));
        }
        let metered = self.engine.metering();
        if metered {
            self.store()
                .set_fuel(fuel_limit)
                .expect("fuel is enabled on a metering engine");
        }
        let call = self.call(source, record);
        let fuel_used = if metered {
            fuel_limit - self.store().get_fuel().unwrap_or(0)
        } else {
            0
        };
        let data = self.store().data_mut();
        let logs = std::mem::take(&mut data.logs);
        let logs_dropped = std::mem::replace(&mut data.logs_dropped, 0);
        data.log_bytes = 0;
        let last_error = data.last_error.take();
        let emitted = std::mem::take(&mut data.emitted);
        let records_emitted = std::mem::replace(&mut data.emitted_count, 0);
        let outcome = match call {
            Ok(0) => {
                data.state.commit_pending();
                return Ok(InvocationResult {
                    outcome: InvocationOutcome::Ok,
                    fuel_used,
                    emitted,
                    records_emitted,
                    logs,
                    logs_dropped,
                });
            }
            Ok(code) => {
                data.state.discard_pending();
                match code {
                    1 => failed(
                        FailureReason::RecordDecode,
                        last_error.unwrap_or_else(|| "record decode failed".into()),
                    ),
                    2 => failed(
                        FailureReason::ManuscriptError,
                        last_error.unwrap_or_default(),
                    ),
                    other => failed(
                        FailureReason::ReturnCode,
                        format!("cvm_process returned {other}"),
                    ),
                }
            }
            Err(error) => {
                data.state.discard_pending();
                let outcome = classify(&error).map_err(|reason| ExecutionFault::State {
                    manuscript: self.compiled.manifest.name.clone(),
                    reason,
                })?;
                self.reset();
                outcome
            }
        };
        Ok(InvocationResult {
            outcome,
            fuel_used,
            emitted: Vec::new(),
            records_emitted: 0,
            logs,
            logs_dropped,
        })
    }

    fn call(&mut self, source: &str, record: &[u8]) -> wasmtime::Result<i32> {
        // Borrowed, not cloned: a `TypedFunc` clone takes a reference on its type in the engine's registry (an
        // atomic count up and down per call; a quarter of a warm instantiate + call).
        let Self { live, store, .. } = self;
        let Live { alloc, process } = live.as_ref().expect("instance ensured");
        let total = source.len() + record.len();
        let store = store.as_mut().expect("store present between calls");
        let ptr = alloc.call(&mut *store, total as i32)?;
        if ptr == 0 && total > 0 {
            return Err(HostTrap::MemoryLimit {
                desired: total as u64,
                max: 0,
            }
            .into());
        }
        let memory = store
            .data()
            .memory
            .ok_or(HostTrap::OutOfBounds("no memory export"))?;
        let start = ptr as u32 as usize;
        let buf = memory
            .data_mut(&mut *store)
            .get_mut(start..start + total)
            .ok_or(HostTrap::OutOfBounds(
                "cvm_alloc returned a buffer outside memory",
            ))?;
        buf[..source.len()].copy_from_slice(source.as_bytes());
        buf[source.len()..].copy_from_slice(record);
        let record_ptr = ptr.wrapping_add(source.len() as i32);
        process.call(
            &mut *store,
            (ptr, source.len() as i32, record_ptr, record.len() as i32),
        )
    }
}

fn failed(reason: FailureReason, message: String) -> InvocationOutcome {
    InvocationOutcome::Failed { reason, message }
}

fn new_store(engine: &CvmEngine, data: HostState) -> Store<HostState> {
    let mut store = Store::new(engine.wasmtime(), data);
    store.limiter(|data| &mut data.limiter);
    store
}

/// A trap's own message (its `Display`), else the error with its context.
fn error_message(error: &wasmtime::Error) -> String {
    if let Some(host) = error.downcast_ref::<HostTrap>() {
        return host.to_string();
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return trap.to_string();
    }
    format!("{error:#}")
}

/// Maps a trap to a receipt reason; `Err` for faults of the node itself.
fn classify(error: &wasmtime::Error) -> Result<InvocationOutcome, String> {
    if let Some(host) = error.downcast_ref::<HostTrap>() {
        let reason = match host {
            HostTrap::OutOfFuel { .. } => FailureReason::OutOfFuel,
            HostTrap::StackOverflow(_) => FailureReason::StackOverflow,
            HostTrap::Panic { .. } => FailureReason::Panic,
            HostTrap::MemoryLimit { .. } | HostTrap::TableLimit { .. } => {
                FailureReason::MemoryLimit
            }
            HostTrap::OutOfBounds(_) => FailureReason::Trap,
            HostTrap::TooLarge { .. }
            | HostTrap::UndeclaredDataset(_)
            | HostTrap::DuplicateAppend { .. }
            | HostTrap::TooManyEmits(_) => FailureReason::HostLimit,
            HostTrap::NodeFault(reason) => return Err(reason.clone()),
        };
        return Ok(failed(reason, host.to_string()));
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        let reason = match trap {
            Trap::OutOfFuel => FailureReason::OutOfFuel,
            Trap::StackOverflow => FailureReason::StackOverflow,
            Trap::UnreachableCodeReached => FailureReason::Unreachable,
            _ => FailureReason::Trap,
        };
        return Ok(failed(reason, trap.to_string()));
    }
    Ok(failed(FailureReason::Trap, format!("{error:#}")))
}
