//! `cvm replay`: re-execute every stored block from genesis and check each stored state root.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use cvm_runtime::{CvmEngine, EngineConfig, ExecutorConfig};

use crate::chain::Genesis;
use crate::chain::config::HomeLayout;
use crate::storage::Storage;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The node's home directory (made by `cvm init` or `cvm testnet`).
    #[arg(long)]
    pub home: PathBuf,
}

/// Prints each mismatch and a verdict; `false` when any block differs.
pub fn run(args: &ReplayArgs) -> anyhow::Result<bool> {
    let layout = HomeLayout::new(&args.home);
    let genesis = Genesis::load(&layout.genesis())?;
    let storage =
        Storage::open(layout.db()).context("open the node's database (stop the node first)")?;
    let engine = CvmEngine::new(EngineConfig::default())?;
    let bar = crate::progress::bar("replay");
    let report = crate::storage::replay(
        &storage,
        Arc::clone(&engine),
        ExecutorConfig {
            keep_records: false,
            ..ExecutorConfig::default()
        },
        &genesis,
        &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )?;
    bar.finish_and_clear();
    if report.mismatches.is_empty() {
        println!(
            "OK: {} blocks re-executed, every stored state root, receipts root and validator-set hash matches",
            report.heights
        );
        Ok(true)
    } else {
        for m in &report.mismatches {
            println!("MISMATCH {m}");
        }
        println!(
            "FAILED: {} of {} blocks differ",
            report.mismatches.len(),
            report.heights
        );
        Ok(false)
    }
}
