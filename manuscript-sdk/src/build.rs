//! Native build steps for manuscript crates (feature `build`): what `cvm manuscript build` and the example
//! fixtures run beside the wasm build.
//!
//! A crate's dataset types come from running its `dataset_types()` (a type registry is computed by code, not at
//! compile time), so [`dataset_types_of`] builds and runs a tiny native program that depends on the crate and
//! prints the section. It has a target directory of its own: building the manuscript natively in the caller's
//! build would put a second `cdylib` of the same name beside the first.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use alloc::format;
use alloc::string::{String, ToString};
use parity_scale_codec::DecodeAll;

use crate::types::DatasetTypes;

/// Why a crate's dataset types could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The helper crate could not be written.
    #[error("cannot write the dataset types helper crate in {}: {source}", dir.display())]
    Write {
        /// Where it was being written.
        dir: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// cargo could not be started.
    #[error("cannot run cargo: {0}")]
    Spawn(std::io::Error),
    /// The helper did not build or run; most often the crate does not use `#[manuscript]` (no
    /// `dataset_types()`), or does not compile natively.
    #[error(
        "computing the dataset types of `{package}` failed (it needs `#[manuscript]`, which generates \
         `dataset_types()`, and must build for the host target):\n{stderr}"
    )]
    Run {
        /// The manuscript's package.
        package: String,
        /// cargo's and the helper's error output.
        stderr: String,
    },
    /// The helper's output is not a `DatasetTypes` (an SDK version mismatch).
    #[error("the dataset types of `{package}` do not decode: {error}")]
    Decode {
        /// The manuscript's package.
        package: String,
        /// The decoding error.
        error: String,
    },
}

/// The dataset types the manuscript crate `package` (in directory `crate_dir`) declares, computed by a native
/// helper crate written under `work_dir` and built there with `cargo`. The helper uses the versions in the
/// crate's `Cargo.lock` (the nearest one up from `crate_dir`), so it compiles what the wasm build compiled.
pub fn dataset_types_of(
    cargo: &OsStr,
    crate_dir: &Path,
    package: &str,
    work_dir: &Path,
) -> Result<DatasetTypes, BuildError> {
    let crate_dir = std::path::absolute(crate_dir).map_err(|source| BuildError::Write {
        dir: crate_dir.to_path_buf(),
        source,
    })?;
    let dir = work_dir.join("cvm-types").join(package);
    let write = |path: PathBuf, text: &[u8]| {
        std::fs::create_dir_all(path.parent().unwrap_or(dir.as_path()))
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|source| BuildError::Write {
                dir: dir.clone(),
                source,
            })
    };
    // Debug-formatting a string gives a valid TOML basic string for any path.
    let manifest = format!(
        "[package]\nname = \"cvm-types-helper\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [workspace]\n\n[dependencies]\nmanuscript = {{ path = {:?}, package = {:?} }}\n",
        crate_dir.to_string_lossy(),
        package
    );
    write(dir.join("Cargo.toml"), manifest.as_bytes())?;
    write(
        dir.join("src/main.rs"),
        b"fn main() {\n    use std::io::Write;\n    let section = manuscript::dataset_types().to_section();\n    \
          std::io::stdout().write_all(&section).expect(\"stdout\");\n}\n",
    )?;
    if let Some(lock) = crate_dir
        .ancestors()
        .map(|d| d.join("Cargo.lock"))
        .find(|l| l.is_file())
    {
        let lock = std::fs::read(&lock).map_err(|source| BuildError::Write {
            dir: lock.clone(),
            source,
        })?;
        write(dir.join("Cargo.lock"), &lock)?;
    }
    let mut cmd = Command::new(cargo);
    cmd.args(["run", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(work_dir.join("cvm-types").join("target"));
    clear_cargo_env(&mut cmd);
    let output = cmd.output().map_err(BuildError::Spawn)?;
    if !output.status.success() {
        return Err(BuildError::Run {
            package: package.into(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    DatasetTypes::decode_all(&mut &output.stdout[..]).map_err(|e| BuildError::Decode {
        package: package.into(),
        error: e.to_string(),
    })
}

/// Removes from `cmd` the environment a cargo build script or `cargo run` passes down (the outer build's
/// target, flags, directories and package), so a nested cargo builds with its own settings.
pub fn clear_cargo_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_FEATURE_")
            || key.starts_with("CARGO_CFG_")
            || key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_")
            || matches!(
                key.as_str(),
                "CARGO_ENCODED_RUSTFLAGS"
                    | "RUSTFLAGS"
                    | "CARGO_TARGET_DIR"
                    | "CARGO_BUILD_TARGET"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "PROFILE"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "NUM_JOBS"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
            )
        {
            cmd.env_remove(&key);
        }
    }
}

/// Why [`with_manifest`] could not rewrite a binary.
#[derive(Debug, thiserror::Error)]
#[error("cannot read or rewrite the manuscript's wasm: {0}")]
pub struct RewriteError(String);

/// The manifest in `wasm`'s `cvm_manifest` section.
pub fn manifest_of(wasm: &[u8]) -> Result<crate::manifest::Manifest, RewriteError> {
    for payload in build_wasmparser::Parser::new(0).parse_all(wasm) {
        if let build_wasmparser::Payload::CustomSection(c) =
            payload.map_err(|e| RewriteError(e.to_string()))?
            && c.name() == crate::manifest::SECTION_NAME
        {
            return crate::manifest::Manifest::decode_section(c.data())
                .map_err(|e| RewriteError(e.to_string()));
        }
    }
    Err(RewriteError("no cvm_manifest section".into()))
}

/// `wasm` with its `cvm_manifest` section replaced by `manifest` (appended at the end, as the macro's section is
/// a custom section whose place does not matter): the same code deployed under another name or with other
/// dataset kinds, e.g. to compare an append-only dataset with the same dataset keyed.
pub fn with_manifest(
    wasm: &[u8],
    manifest: &crate::manifest::Manifest,
) -> Result<alloc::vec::Vec<u8>, RewriteError> {
    use wasm_encoder::Section;
    let mut out = wasm
        .get(..8)
        .ok_or_else(|| RewriteError("shorter than the wasm header".into()))?
        .to_vec();
    for payload in build_wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| RewriteError(e.to_string()))?;
        if let build_wasmparser::Payload::CustomSection(c) = &payload
            && c.name() == crate::manifest::SECTION_NAME
        {
            continue;
        }
        if let Some((id, range)) = payload.as_section() {
            wasm_encoder::RawSection {
                id,
                data: &wasm[range],
            }
            .append_to(&mut out);
        }
    }
    wasm_encoder::CustomSection {
        name: crate::manifest::SECTION_NAME.into(),
        data: manifest.to_section().into(),
    }
    .append_to(&mut out);
    Ok(out)
}
