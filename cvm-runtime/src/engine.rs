//! The one wasmtime [`Engine`] of a process, configured for deterministic execution, with the `cvm` host
//! functions linked and a module cache in front of compilation.

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, Linker, OptLevel, PoolingAllocationConfig,
    ProfilingStrategy,
};

use crate::cache::{CacheBounds, CacheError, CompiledManuscript, ModuleCache};
use crate::fuel::FuelSchedule;
use crate::host::{HostState, link_host_functions};
use crate::limits::Limits;
use crate::validate::{ValidatedCode, ValidationError, validate};

/// How to build a [`CvmEngine`]. `limits` and `fuel` are consensus parameters; the rest is local tuning.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Resource limits (consensus).
    pub limits: Limits,
    /// Host function prices (consensus).
    pub fuel: FuelSchedule,
    /// Directory for precompiled modules, so a restart does not recompile. `None`: memory only.
    pub cache_dir: Option<PathBuf>,
    /// How many compiled modules the cache keeps in memory and on disk.
    pub cache_bounds: CacheBounds,
    /// Instance slots of the pooling allocator: at least the number of manuscripts running at once.
    pub pool_instances: u32,
    /// Fuel metering. Always on for a chain; off only to measure what metering costs (benchmarks).
    pub metering: bool,
    /// Writes `/tmp/perf-<pid>.map` so that `perf report` names compiled manuscript functions (profiling only).
    pub perf_map: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            fuel: FuelSchedule::default(),
            cache_dir: None,
            cache_bounds: CacheBounds::default(),
            pool_instances: 64,
            metering: true,
            perf_map: false,
        }
    }
}

/// Why a [`CvmEngine`] cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// wasmtime rejects the configuration, or the host functions do not link.
    #[error("cannot configure wasmtime: {0}")]
    Config(String),
}

/// Validates, compiles (through the cache) and links manuscripts. Cheap to share: wrap it in an `Arc`.
pub struct CvmEngine {
    engine: Engine,
    linker: Linker<HostState>,
    cache: ModuleCache,
    /// Shared with every runner's host state (an `Arc` clone per instance, not a copy).
    limits: Arc<Limits>,
    fuel: Arc<FuelSchedule>,
    metering: bool,
}

impl CvmEngine {
    /// Builds the engine and links the host functions.
    pub fn new(config: EngineConfig) -> Result<Arc<Self>, EngineError> {
        let needed = crate::stack_limit::native_stack_needed();
        if u64::from(config.limits.max_wasm_stack) < needed {
            tracing::warn!(
                max_wasm_stack = config.limits.max_wasm_stack,
                needed,
                "max_wasm_stack is below what the deterministic stack limit allows: deep recursion may end at a \
                 depth that depends on this machine; raise it"
            );
        }
        let engine = Engine::new(&wasmtime_config(&config))
            .map_err(|e| EngineError::Config(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        link_host_functions(&mut linker).map_err(|e| EngineError::Config(format!("{e:#}")))?;
        let cache = ModuleCache::new(&engine, config.cache_dir.clone(), config.cache_bounds);
        Ok(Arc::new(Self {
            engine,
            linker,
            cache,
            limits: Arc::new(config.limits),
            fuel: Arc::new(config.fuel),
            metering: config.metering,
        }))
    }

    /// The resource limits manuscripts run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The host functions' prices.
    pub fn fuel_schedule(&self) -> &FuelSchedule {
        &self.fuel
    }

    pub(crate) fn shared_limits(&self) -> Arc<Limits> {
        self.limits.clone()
    }

    pub(crate) fn shared_fuel_schedule(&self) -> Arc<FuelSchedule> {
        self.fuel.clone()
    }

    /// Whether fuel is metered (always, on a chain).
    pub fn metering(&self) -> bool {
        self.metering
    }

    /// The underlying wasmtime engine.
    pub fn wasmtime(&self) -> &Engine {
        &self.engine
    }

    /// Deploy-time validation (no compilation).
    pub fn validate(&self, wasm: &[u8]) -> Result<ValidatedCode, ValidationError> {
        validate(wasm, &self.limits)
    }

    /// Validates, instruments with the stack limit and compiles `wasm`, or returns it from the cache.
    pub fn load(&self, wasm: &[u8]) -> Result<Arc<CompiledManuscript>, CacheError> {
        let validated = self.validate(wasm)?;
        self.compile(validated, wasm)
    }

    /// Instruments `wasm`, which passed validation as `validated`, with the stack limit and compiles it, or returns
    /// it from the cache.
    pub fn compile(
        &self,
        validated: ValidatedCode,
        wasm: &[u8],
    ) -> Result<Arc<CompiledManuscript>, CacheError> {
        if let Some(hit) = self.cached(&validated.code_hash) {
            return Ok(hit);
        }
        let instrumented =
            crate::stack_limit::instrument(wasm, crate::validate::allowed_features())
                .map_err(|e| CacheError::Compile(e.to_string()))?;
        self.cache
            .get_or_compile(&self.engine, &self.linker, validated, &instrumented)
    }

    /// The compiled manuscript with this code hash, if cached (in memory or on disk).
    pub fn cached(&self, code_hash: &[u8; 32]) -> Option<Arc<CompiledManuscript>> {
        self.cache.get(&self.engine, &self.linker, code_hash)
    }

    /// The compiled-module cache.
    pub fn cache(&self) -> &ModuleCache {
        &self.cache
    }
}

/// Bytes of each pooled linear memory (and table) kept mapped between instances; see `wasmtime_config`.
const KEEP_RESIDENT_MEMORY_BYTES: usize = 1 << 20;
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

/// The determinism-relevant wasmtime configuration. Threads, GC, function references, exceptions and the
/// component model are compiled out (cargo features off), so they cannot be enabled at all.
fn wasmtime_config(config: &EngineConfig) -> Config {
    let mut c = Config::new();
    if config.perf_map {
        c.profiler(ProfilingStrategy::PerfMap);
    }
    c.consume_fuel(config.metering)
        .cranelift_nan_canonicalization(true)
        .cranelift_opt_level(OptLevel::Speed)
        .max_wasm_stack(config.limits.max_wasm_stack as usize)
        .wasm_shared_everything_threads(false)
        .wasm_memory64(false)
        .wasm_multi_memory(false)
        .wasm_relaxed_simd(false)
        .relaxed_simd_deterministic(true)
        .wasm_simd(true)
        .wasm_bulk_memory(true)
        .wasm_multi_value(true)
        .wasm_tail_call(false)
        .wasm_gc(false)
        .wasm_wide_arithmetic(false)
        .wasm_custom_page_sizes(false)
        .wasm_stack_switching(false)
        .wasm_extended_const(false)
        .wasm_backtrace_max_frames(None)
        .memory_init_cow(true)
        .parallel_compilation(true);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(config.pool_instances)
        .total_memories(config.pool_instances)
        .total_tables(config.pool_instances)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .table_elements(config.limits.max_table_elements as usize)
        .max_memory_size(config.limits.max_memory_bytes as usize)
        // A freed slot is reset by writing back its low pages rather than unmapping them, so the next instance
        // of a small manuscript takes no page faults (PAGEMAP_SCAN, Linux 6.7+, finds the pages it touched).
        .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY_BYTES)
        .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES)
        .pagemap_scan(wasmtime::Enabled::Auto);
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    c
}
