//! Compiled-module cache keyed by (code hash, engine configuration hash): in memory, and precompiled on disk
//! so that a restart does not recompile. Each entry holds an `InstancePre` so instantiation skips linking.

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
    pub code_hash: [u8; 32],
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

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("compilation failed: {0}")]
    Compile(String),
    #[error("linking failed: {0}")]
    Link(String),
}

/// Counters, for tests and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub memory_hits: u64,
    pub disk_hits: u64,
    pub compiles: u64,
}

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
        // SAFETY: the file was written by `Module::serialize` of an engine with the same compatibility hash
        // (it is in the file name) into our own cache directory; wasmtime re-checks the header on load.
        let module = match unsafe { Module::deserialize_file(engine, &path) } {
            Ok(module) => module,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding unreadable precompiled module");
                let _ = std::fs::remove_file(&path);
                return None;
            }
        };
        // Precompiled artifacts keep no custom sections, so the manifest lives in a side file.
        let manifest = std::fs::read(path.with_extension("manifest"))
            .ok()
            .and_then(|bytes| Manifest::decode_section(&bytes).ok())?;
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
            store_precompiled(&module, &validated.manifest, &path);
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

fn store_precompiled(module: &Module, manifest: &Manifest, path: &std::path::Path) {
    let bytes = match module.serialize() {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "cannot serialize a compiled module; it will be recompiled after a restart");
            return;
        }
    };
    // Manifest first: a module file without its manifest is never read as valid.
    let write = |target: PathBuf, bytes: &[u8]| {
        let tmp = target.with_extension("tmp");
        std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, &target))
    };
    let written = write(path.with_extension("manifest"), &manifest.to_section())
        .and_then(|_| write(path.to_path_buf(), &bytes));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the precompiled module");
    }
}
