//! `cvm manuscript build`: cargo-builds a manuscript crate for wasm32 with the manuscript profile, adds its
//! dataset types (the `cvm_types` section, computed by a native helper build of the crate), then validates and
//! compiles the result exactly as a deploy would.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};
use clap::Args;
use cvm_runtime::{CvmEngine, EngineConfig};
use manuscript_sdk::build::dataset_types_of;
use manuscript_sdk::types::embed;

use crate::datasets::ManuscriptTypes;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The manuscript crate (directory holding its Cargo.toml).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Cargo target directory (default: the crate's).
    #[arg(long)]
    pub target_dir: Option<PathBuf>,
}

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The settings manuscripts are built with (the `manuscript` profile and code generation), passed on the command
/// line so that crates outside this workspace need not define them.
const BUILD_CONFIG: &[&str] = &[
    "profile.manuscript.inherits=\"release\"",
    "profile.manuscript.opt-level=3",
    "profile.manuscript.lto=true",
    "profile.manuscript.codegen-units=1",
    "profile.manuscript.panic=\"abort\"",
    "profile.manuscript.debug=false",
    "profile.manuscript.strip=true",
    MANUSCRIPT_RUSTFLAGS,
];

/// Inline much more than LLVM's default (225): every wasm call costs a fuel flush, reload and check on top of
/// the call, and manuscripts are small. erc20-transfers: 7 % fewer instructions per record with fuel, metering's
/// share 11.0 % → 9.5 %, for a 20 % larger module (docs/BENCHMARKS.md, "Instructions per record"). Kept in step
/// with examples/fixtures/build.rs.
const MANUSCRIPT_RUSTFLAGS: &str =
    r#"target.wasm32-unknown-unknown.rustflags=["-Cllvm-args=-inline-threshold=1000"]"#;

/// Stops with an actionable message when the wasm32 target is not installed.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(()); // No rustup: let cargo report what is missing.
    };
    if !String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        bail!("the {WASM_TARGET} target is not installed: run `rustup target add {WASM_TARGET}`");
    }
    Ok(())
}

/// Builds the crate at `path`; returns the produced `.wasm` files.
pub fn cargo_build(path: &Path, target_dir: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
    ensure_wasm_target()?;
    let manifest = path.join("Cargo.toml");
    if !manifest.exists() {
        bail!(
            "{} has no Cargo.toml: pass the manuscript crate's directory",
            path.display()
        );
    }
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.arg("build").arg("--manifest-path").arg(&manifest);
    for config in BUILD_CONFIG {
        cmd.args(["--config", config]);
    }
    cmd.args([
        "--profile",
        "manuscript",
        "--target",
        WASM_TARGET,
        "--lib",
        "--message-format=json-render-diagnostics",
    ]);
    if let Some(dir) = target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    let output = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!("cargo build failed (see the compiler output above)");
    }
    let mut wasm = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        for file in msg["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
        {
            if file.ends_with(".wasm") {
                wasm.push(PathBuf::from(file));
            }
        }
    }
    if wasm.is_empty() {
        bail!(
            "the build produced no .wasm: the crate needs `crate-type = [\"cdylib\", \"rlib\"]` in [lib]"
        );
    }
    Ok(wasm)
}

/// The crate's package name, from its Cargo.toml.
fn package_name(path: &Path) -> anyhow::Result<String> {
    let manifest = path.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let value: toml::Table = toml::from_str(&text)
        .with_context(|| format!("{} is not valid TOML", manifest.display()))?;
    value
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .with_context(|| format!("{} has no [package] name", manifest.display()))
}

/// `wasm` (built from the crate at `path` into `file`) with the crate's dataset types embedded, when it declares
/// any and they are not there yet (cargo left an up-to-date file as it was).
fn with_types(path: &Path, file: &Path, wasm: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    if ManuscriptTypes::load(&wasm)
        .with_context(|| format!("{} has an unreadable types section", file.display()))?
        .is_some()
    {
        return Ok(wasm);
    }
    // `<target>/wasm32-unknown-unknown/manuscript/<name>.wasm`: the helper builds under the same target dir.
    let target = file
        .ancestors()
        .nth(3)
        .context("the built .wasm is not under a target directory")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let types = dataset_types_of(&cargo, path, &package_name(path)?, target)?;
    if types.datasets.is_empty() {
        return Ok(wasm);
    }
    Ok(embed(&wasm, &types))
}

pub fn run(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let files = cargo_build(&args.path, args.target_dir.as_deref())?;
    let engine = CvmEngine::new(EngineConfig::default())?;
    for file in files {
        let bytes =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let bytes = with_types(&args.path, &file, bytes)?;
        std::fs::write(&file, &bytes)
            .with_context(|| format!("cannot write {}", file.display()))?;
        let compiled = engine
            .load(&bytes)
            .with_context(|| format!("{} would be rejected at deploy", file.display()))?;
        let m = &compiled.manifest;
        println!("built      {}", file.display());
        println!("manuscript {} (ABI v{})", m.name, m.abi_version);
        println!("sources    {}", m.sources.join(", "));
        println!("datasets   {}", m.datasets.join(", "));
        let typed = ManuscriptTypes::load(&bytes)?
            .map(|t| {
                let names: Vec<_> = t
                    .dataset_types()
                    .datasets
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect();
                names.join(", ")
            })
            .unwrap_or_default();
        println!(
            "typed      {}",
            if typed.is_empty() {
                "none (records show as hex)"
            } else {
                &typed
            }
        );
        println!("size       {} bytes", bytes.len());
        println!("code hash  0x{}", hex::encode(compiled.code_hash));
        println!("valid      yes: deployable");
    }
    Ok(ExitCode::SUCCESS)
}
