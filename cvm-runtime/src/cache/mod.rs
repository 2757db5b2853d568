//! Compiled-module cache keyed by (code hash, engine configuration hash): in memory, and precompiled on disk
//! so that a restart does not recompile. Each entry holds an `InstancePre` so instantiation skips linking.

mod precompiled;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use manuscript_sdk::manifest::Manifest;
use parking_lot::RwLock;
use wasmtime::{Engine, InstancePre, Linker, Module, ModuleExport};

use crate::host::HostState;
use crate::validate::{ValidatedCode, ValidationError};

/// A validated, compiled and linked manuscript, ready to instantiate.
pub struct CompiledManuscript {
    /// Blake2-256 of the wasm binary.
    pub code_hash: [u8; 32],
    /// What the manuscript's `cvm_manifest` section declares.
    pub manifest: Manifest,
    pub(crate) instance_pre: InstancePre<HostState>,
    /// The manifest's datasets, shared by every instance (not copied per runner).
    pub(crate) datasets: Arc<[String]>,
    pub(crate) exports: AbiExports,
}

/// The ABI's exports, resolved once per module so that each instantiation finds them by index, not by name.
pub(crate) struct AbiExports {
    pub memory: ModuleExport,
    pub alloc: ModuleExport,
    pub process: ModuleExport,
}

impl CompiledManuscript {
    /// `Err` names an ABI export the module lacks (deploy-time validation rules that out).
    fn new(
        code_hash: [u8; 32],
        manifest: Manifest,
        instance_pre: InstancePre<HostState>,
    ) -> Result<Self, &'static str> {
        let module = instance_pre.module();
        let export = |name: &'static str| module.get_export_index(name).ok_or(name);
        let exports = AbiExports {
            memory: export("memory")?,
            alloc: export("cvm_alloc")?,
            process: export("cvm_process")?,
        };
        Ok(Self {
            code_hash,
            datasets: manifest.datasets.clone().into(),
            manifest,
            instance_pre,
            exports,
        })
    }
}

/// Why a manuscript cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// It does not pass deploy-time validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// wasmtime cannot compile it.
    #[error("compilation failed: {0}")]
    Compile(String),
    /// It cannot be linked against the host functions.
    #[error("linking failed: {0}")]
    Link(String),
}

/// Counters, for tests and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Loads served from memory.
    pub memory_hits: u64,
    /// Loads served from precompiled modules on disk.
    pub disk_hits: u64,
    /// Loads that compiled the module.
    pub compiles: u64,
}

/// Compiled manuscripts by code hash: in memory, and precompiled on disk when given a directory.
pub struct ModuleCache {
    dir: Option<PathBuf>,
    config_hash: u64,
    memory: RwLock<HashMap<[u8; 32], Arc<CompiledManuscript>>>,
    stats: RwLock<CacheStats>,
}

impl ModuleCache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        // The code compiled is the stack-limit instrumented module: another pass version compiles other code.
        crate::stack_limit::VERSION.hash(&mut hasher);
        if let Some(dir) = &dir
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot create the module cache directory; caching in memory only");
        }
        Self {
            dir,
            config_hash: hasher.finish(),
            memory: RwLock::default(),
            stats: RwLock::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        *self.stats.read()
    }

    /// Drops the in-memory entries (the disk cache stays), e.g. to measure a restart.
    pub fn clear_memory(&self) {
        self.memory.write().clear();
    }

    fn path(&self, code_hash: &[u8; 32]) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| {
            d.join(format!(
                "{}-{:016x}.cwasm",
                hex::encode(code_hash),
                self.config_hash
            ))
        })
    }

    pub(crate) fn get(
        &self,
        engine: &Engine,
        linker: &Linker<HostState>,
        code_hash: &[u8; 32],
    ) -> Option<Arc<CompiledManuscript>> {
        if let Some(hit) = self.memory.read().get(code_hash).cloned() {
            self.stats.write().memory_hits += 1;
            return Some(hit);
        }
        let path = self.path(code_hash)?;
        if !path.exists() {
            return None;
        }
        let (module, manifest) = precompiled::load(engine, &path)?;
        let instance_pre = linker.instantiate_pre(&module).ok()?;
        let compiled = Arc::new(CompiledManuscript::new(*code_hash, manifest, instance_pre).ok()?);
        self.memory.write().insert(*code_hash, compiled.clone());
        self.stats.write().disk_hits += 1;
        Some(compiled)
    }

    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        linker: &Linker<HostState>,
        validated: ValidatedCode,
        wasm: &[u8],
    ) -> Result<Arc<CompiledManuscript>, CacheError> {
        if let Some(hit) = self.get(engine, linker, &validated.code_hash) {
            return Ok(hit);
        }
        let module =
            Module::new(engine, wasm).map_err(|e| CacheError::Compile(format!("{e:#}")))?;
        self.stats.write().compiles += 1;
        if let Some(path) = self.path(&validated.code_hash) {
            precompiled::store(&module, &validated.manifest, &path);
        }
        let instance_pre = linker
            .instantiate_pre(&module)
            .map_err(|e| CacheError::Link(format!("{e:#}")))?;
        let compiled = Arc::new(
            CompiledManuscript::new(validated.code_hash, validated.manifest, instance_pre)
                .map_err(|name| CacheError::Link(format!("the module has no `{name}` export")))?,
        );
        self.memory
            .write()
            .insert(validated.code_hash, compiled.clone());
        Ok(compiled)
    }
}
