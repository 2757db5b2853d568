//! Compiled-module cache keyed by (code hash, engine configuration hash): in memory, and precompiled on disk
//! so that a restart does not recompile. Each entry holds an `InstancePre` so instantiation skips linking.
//! Both sides are bounded ([`CacheBounds`]) and evict the least recently used module; an evicted module is
//! compiled again from its code in state when next needed, with the same result.

mod disk;
mod memory;
mod precompiled;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use manuscript_sdk::manifest::Manifest;
use parking_lot::{Mutex, RwLock};
use wasmtime::{Engine, InstancePre, Linker, Module, ModuleExport};

use self::disk::DiskIndex;
use self::memory::MemoryCache;
use crate::host::{DeclaredDataset, HostState};
use crate::validate::{ValidatedCode, ValidationError};

/// A validated, compiled and linked manuscript, ready to instantiate.
pub struct CompiledManuscript {
    /// Blake2-256 of the wasm binary.
    pub code_hash: [u8; 32],
    /// What the manuscript's `cvm_manifest` section declares.
    pub manifest: Manifest,
    pub(crate) instance_pre: InstancePre<HostState>,
    /// The manifest's datasets, shared by every instance (not copied per runner).
    pub(crate) datasets: Arc<[DeclaredDataset]>,
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
            datasets: manifest
                .datasets
                .iter()
                .map(|name| DeclaredDataset {
                    append_only: manifest.is_append_only(name),
                    name: name.clone(),
                })
                .collect(),
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
    /// Modules dropped from memory to stay within the bounds.
    pub memory_evictions: u64,
    /// Precompiled files removed from disk to stay within the bounds.
    pub disk_evictions: u64,
}

/// How much the module cache may hold. Local tuning: eviction costs a recompilation, never a different result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBounds {
    /// Most compiled modules kept in memory.
    pub memory_entries: usize,
    /// Most bytes of compiled code kept in memory.
    pub memory_bytes: u64,
    /// Most bytes of precompiled files kept on disk.
    pub disk_bytes: u64,
}

impl Default for CacheBounds {
    fn default() -> Self {
        Self {
            memory_entries: 256,
            memory_bytes: 512 << 20,
            disk_bytes: 4 << 30,
        }
    }
}

/// What the cache holds, for tests and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheUsage {
    /// Compiled modules in memory.
    pub memory_entries: usize,
    /// Their compiled code, in bytes.
    pub memory_bytes: u64,
    /// Precompiled files on disk.
    pub disk_files: usize,
    /// Their size, in bytes.
    pub disk_bytes: u64,
}

/// Compiled manuscripts by code hash: in memory, and precompiled on disk when given a directory.
pub struct ModuleCache {
    disk: Option<Mutex<DiskIndex>>,
    config_hash: u64,
    memory: Mutex<MemoryCache<Arc<CompiledManuscript>>>,
    stats: RwLock<CacheStats>,
}

/// Bytes a compiled module holds in memory: its code and data image.
fn compiled_bytes(module: &Module) -> u64 {
    let range = module.image_range();
    (range.end as usize).saturating_sub(range.start as usize) as u64
}

impl ModuleCache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>, bounds: CacheBounds) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        // The code compiled is the stack-limit instrumented module: another pass version compiles other code.
        crate::stack_limit::VERSION.hash(&mut hasher);
        let mut stats = CacheStats::default();
        let disk = dir.and_then(|dir| match std::fs::create_dir_all(&dir) {
            Ok(()) => {
                let (index, evicted) = DiskIndex::open(dir, bounds.disk_bytes);
                stats.disk_evictions = evicted;
                Some(Mutex::new(index))
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot create the module cache directory; caching in memory only");
                None
            }
        });
        Self {
            disk,
            config_hash: hasher.finish(),
            memory: Mutex::new(MemoryCache::new(bounds.memory_entries, bounds.memory_bytes)),
            stats: RwLock::new(stats),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        *self.stats.read()
    }

    /// What the cache holds now.
    pub fn usage(&self) -> CacheUsage {
        let (memory_entries, memory_bytes) = self.memory.lock().usage();
        let (disk_files, disk_bytes) = self
            .disk
            .as_ref()
            .map(|d| d.lock().usage())
            .unwrap_or_default();
        CacheUsage {
            memory_entries,
            memory_bytes,
            disk_files,
            disk_bytes,
        }
    }

    /// Drops the in-memory entries (the disk cache stays), e.g. to measure a restart.
    pub fn clear_memory(&self) {
        self.memory.lock().clear();
    }

    fn remember(&self, code_hash: [u8; 32], compiled: Arc<CompiledManuscript>) {
        let bytes = compiled_bytes(compiled.instance_pre.module());
        let evicted = self.memory.lock().insert(code_hash, compiled, bytes);
        self.stats.write().memory_evictions += evicted;
    }

    fn path(&self, code_hash: &[u8; 32]) -> Option<PathBuf> {
        self.disk.as_ref().map(|d| {
            let d = d.lock();
            d.dir().join(format!(
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
        if let Some(hit) = self.memory.lock().get(code_hash) {
            self.stats.write().memory_hits += 1;
            return Some(hit);
        }
        let path = self.path(code_hash)?;
        if !path.exists() {
            return None;
        }
        let disk = self.disk.as_ref()?;
        let Some((module, manifest)) = precompiled::load(engine, &path) else {
            disk.lock().forget(&path);
            return None;
        };
        disk.lock().used(&path);
        let instance_pre = linker.instantiate_pre(&module).ok()?;
        let compiled = Arc::new(CompiledManuscript::new(*code_hash, manifest, instance_pre).ok()?);
        self.remember(*code_hash, compiled.clone());
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
        if let (Some(path), Some(disk)) = (self.path(&validated.code_hash), &self.disk) {
            precompiled::store(&module, &validated.manifest, &path);
            let evicted = disk.lock().written(&path);
            self.stats.write().disk_evictions += evicted;
        }
        let instance_pre = linker
            .instantiate_pre(&module)
            .map_err(|e| CacheError::Link(format!("{e:#}")))?;
        let compiled = Arc::new(
            CompiledManuscript::new(validated.code_hash, validated.manifest, instance_pre)
                .map_err(|name| CacheError::Link(format!("the module has no `{name}` export")))?,
        );
        self.remember(validated.code_hash, compiled.clone());
        Ok(compiled)
    }
}
