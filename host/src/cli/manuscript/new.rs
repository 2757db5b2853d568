//! `cvm manuscript new`: a crate that builds to a valid manuscript and passes its tests as generated.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the manuscript (and of the directory created): lowercase letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// Parent directory of the new crate.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Path to manuscript-sdk (default: `$CVM_SDK_PATH`, else the SDK of the source tree `cvm` was built from,
    /// else one found above the current directory or the `cvm` binary).
    #[arg(long)]
    pub sdk_path: Option<PathBuf>,
}

/// Environment variable naming the SDK directory when `--sdk-path` is not given.
pub const SDK_PATH_ENV: &str = "CVM_SDK_PATH";

/// The SDK a new crate depends on: `--sdk-path`, else `$CVM_SDK_PATH`, else the first `manuscript-sdk` found in
/// the source tree this binary was built from, the current directory or its parents, or the directories above
/// the binary. The build-time tree comes first but is not trusted to exist: a binary outlives its checkout (a
/// shared target directory, a moved clone), so the error lists every place looked at.
pub fn resolve_sdk_path(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os(SDK_PATH_ENV) {
        return Ok(PathBuf::from(path));
    }
    let build_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut roots = vec![build_tree];
    roots.extend(std::env::current_dir().ok());
    roots.extend(
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf)),
    );
    find_sdk(&roots).ok_or_else(|| {
        let looked: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        anyhow::anyhow!(
            "manuscript-sdk not found in {} or their parents: pass --sdk-path <dir of manuscript-sdk> or set \
             {SDK_PATH_ENV}",
            looked.join(", ")
        )
    })
}

/// The first `<ancestor>/manuscript-sdk` holding a Cargo.toml, over each root's ancestors in order.
fn find_sdk(roots: &[PathBuf]) -> Option<PathBuf> {
    roots
        .iter()
        .flat_map(|root| root.ancestors())
        .map(|dir| dir.join("manuscript-sdk"))
        .find(|sdk| sdk.join("Cargo.toml").is_file())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && name.as_bytes()[0].is_ascii_lowercase()
}

/// Writes the crate; returns its directory.
pub fn scaffold(name: &str, parent: &Path, sdk: &Path) -> anyhow::Result<PathBuf> {
    if !valid_name(name) {
        bail!(
            "invalid manuscript name {name:?}: use 1-64 lowercase letters, digits, '-', '_' or '.', starting with a letter"
        );
    }
    let dir = parent.join(name);
    if dir.exists() {
        bail!(
            "{} already exists: choose another name or --dir",
            dir.display()
        );
    }
    let sdk = sdk.canonicalize().with_context(|| {
        format!(
            "manuscript-sdk not found at {}: pass --sdk-path",
            sdk.display()
        )
    })?;
    std::fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let crate_name = name.replace('.', "-");
    let files = [
        (
            "Cargo.toml",
            CARGO_TOML
                .replace("{crate}", &crate_name)
                .replace("{sdk}", &sdk.display().to_string()),
        ),
        ("src/lib.rs", LIB_RS.replace("{name}", name)),
        (".gitignore", "/target\n*.wasm\n".to_string()),
        ("README.md", README.replace("{name}", name)),
    ];
    for (file, content) in files {
        std::fs::write(dir.join(file), content).with_context(|| format!("cannot write {file}"))?;
    }
    Ok(dir)
}

pub fn run(args: &NewArgs) -> anyhow::Result<ExitCode> {
    let sdk = resolve_sdk_path(args.sdk_path.as_deref())?;
    let dir = scaffold(&args.name, &args.dir, &sdk)?;
    println!("created {}", dir.display());
    println!(
        "next:   cd {} && cargo test && cvm manuscript build",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

const CARGO_TOML: &str = r#"[package]
name = "{crate}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
manuscript-sdk = { path = "{sdk}" }

# A manuscript is its own workspace, even when created inside another one.
[workspace]

[profile.manuscript]
inherits = "release"
opt-level = 3
lto = true
codegen-units = 1
panic = "abort"
strip = true
"#;

const LIB_RS: &str = r#"//! {name}: counts how often each key appears in the `kv` source and emits the running count.
#![no_std]
extern crate alloc;

use alloc::vec::Vec;
use manuscript_sdk::prelude::*;

// `"counts": Vec<u8> => u64`: the dataset's key and value types, so nodes show its records as JSON.
#[manuscript(name = "{name}", sources("kv"), datasets("counts": Vec<u8> => u64))]
fn process(ctx: &mut Context, record: KvRecord) -> Result<(), Error> {
    let count: u64 = ctx.get(&record.key)?.unwrap_or(0) + 1;
    ctx.set(&record.key, &count);
    ctx.emit("counts", &record.key, &count);
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use manuscript_sdk::testing::MockHost;
    use std::vec::Vec;

    #[test]
    fn counts_each_key() {
        let mut host = MockHost::new();
        for key in ["a", "b", "a"] {
            host.process(&MANUSCRIPT, &KvRecord::new(key, "")).expect_success();
        }
        assert_eq!(host.get::<_, u64>(&b"a".to_vec()), Some(2));
        assert_eq!(host.get::<_, u64>(&b"b".to_vec()), Some(1));
        let counts: Vec<(Vec<u8>, u64)> = host.dataset_as("counts");
        assert_eq!(counts, [(b"a".to_vec(), 2), (b"b".to_vec(), 1)]);
    }
}
"#;

const README: &str = r#"# {name}

A CVM manuscript.

- `cargo test`: runs the unit tests natively against the SDK's mock host.
- `cvm manuscript build`: builds `target/wasm32-unknown-unknown/manuscript/*.wasm`, adds the dataset types
  (section `cvm_types`) and validates it like a deploy.
- `cvm manuscript run <wasm> --source kv --input records.jsonl`: runs it over records (`{"key": "...", "value": "..."}` per line).
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk_at(root: &Path) -> PathBuf {
        let sdk = root.join("manuscript-sdk");
        std::fs::create_dir_all(&sdk).unwrap();
        std::fs::write(sdk.join("Cargo.toml"), "[package]\n").unwrap();
        sdk
    }

    #[test]
    fn sdk_is_found_above_any_root_skipping_roots_without_one() {
        let gone = tempfile::tempdir().unwrap();
        let clone = tempfile::tempdir().unwrap();
        let sdk = sdk_at(clone.path());
        let deep = clone.path().join("target/release");
        std::fs::create_dir_all(&deep).unwrap();
        // The build tree of a binary whose checkout was removed comes first and is passed over.
        let roots = [gone.path().join("host/.."), deep];
        assert_eq!(find_sdk(&roots), Some(sdk));
    }

    #[test]
    fn a_directory_without_cargo_toml_is_not_an_sdk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("manuscript-sdk")).unwrap();
        assert_eq!(find_sdk(&[dir.path().to_path_buf()]), None);
    }

    #[test]
    fn an_explicit_path_wins() {
        let explicit = Path::new("/somewhere/manuscript-sdk");
        assert_eq!(resolve_sdk_path(Some(explicit)).unwrap(), explicit);
    }
}
