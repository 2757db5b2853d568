//! Compiled modules on disk: wasmtime's precompiled artifacts, with the manifest in a side file. Loading one is
//! the crate's only unsafe code (wasmtime cannot check that a precompiled artifact is trustworthy).
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};

use manuscript_sdk::manifest::Manifest;
use wasmtime::{Engine, Module};

/// The module precompiled at `path`, with its manifest; `None` when either cannot be read (an unreadable module
/// file is removed, to be compiled again).
pub(super) fn load(engine: &Engine, path: &Path) -> Option<(Module, Manifest)> {
    // SAFETY: the file was written by `Module::serialize` of an engine with the same compatibility hash
    // (it is in the file name) into our own cache directory; wasmtime re-checks the header on load.
    let module = match unsafe { Module::deserialize_file(engine, path) } {
        Ok(module) => module,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "discarding unreadable precompiled module");
            let _ = std::fs::remove_file(path);
            return None;
        }
    };
    // Precompiled artifacts keep no custom sections, so the manifest lives in a side file.
    let manifest = std::fs::read(path.with_extension("manifest"))
        .ok()
        .and_then(|bytes| Manifest::decode_section(&bytes).ok())?;
    Some((module, manifest))
}

/// Writes `module` precompiled to `path`, its manifest next to it. Failures only cost a recompile after a
/// restart, so they are logged, not returned.
pub(super) fn store(module: &Module, manifest: &Manifest, path: &Path) {
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
