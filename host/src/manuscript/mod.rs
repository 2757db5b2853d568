//! `cvm manuscript ...`: the author's loop of scaffold, build, run.

pub mod build;
pub mod new;
pub mod run;

use std::path::Path;

use anyhow::Context;

/// Reads a manuscript binary, or compiles WebAssembly text (`.wat`) to one.
pub fn read_wasm(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the manuscript {}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        anyhow::anyhow!(
            "{} is neither a wasm binary nor WebAssembly text",
            path.display()
        )
    })?;
    wasmtime_wat(text).with_context(|| format!("{} is not valid WebAssembly text", path.display()))
}

fn wasmtime_wat(text: &str) -> anyhow::Result<Vec<u8>> {
    Ok(wat::parse_str(text)?)
}
