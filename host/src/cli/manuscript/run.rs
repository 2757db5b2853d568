//! `cvm manuscript run`: deploys a manuscript on a throw-away in-memory chain and feeds it records, through the
//! same block executor a validator uses, then prints what it emitted, the receipts and the state root.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use cvm_runtime::sources::{SourceDef, genesis_state};
use cvm_runtime::state::{MemoryNodeStore, NodeStore as _};
use cvm_runtime::{
    BlockContext, BlockExecutor, BlockOutcome, CvmEngine, EngineConfig, ExecutorConfig,
    InvocationOutcome, StateRoot, Transaction, TxPayload, TxStatus,
};
use ed25519_dalek::SigningKey;
use serde_json::json;

use crate::records::{Schema, read_records};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The manuscript: a .wasm binary or WebAssembly text (.wat).
    pub wasm: PathBuf,
    /// Source id the records belong to (e.g. ethereum.logs, kv).
    #[arg(long)]
    pub source: String,
    /// Input records: JSON Lines or a JSON array.
    #[arg(long)]
    pub input: PathBuf,
    /// Record schema; `auto` picks eth-log for `ethereum.*` sources and kv otherwise.
    #[arg(long, value_enum, default_value_t = Schema::Auto)]
    pub schema: Schema,
    /// Fuel limit per record.
    #[arg(long, default_value_t = 10_000_000)]
    pub fuel: u64,
    /// Records per ingest transaction (all in one block).
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Run subscribers one by one instead of in parallel.
    #[arg(long)]
    pub sequential: bool,
    /// Directory for precompiled modules (default: memory only).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Print only the summary, not every record and receipt.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the result as one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub const DEV_CHAIN_ID: &str = "cvm-dev";

/// The well-known development key that signs local runs' transactions.
pub fn dev_key() -> SigningKey {
    SigningKey::from_bytes(&cvm_runtime::state::blake2_256(b"cvm development key"))
}

/// What a run produced.
pub struct RunReport {
    pub manuscript: String,
    pub state_root: StateRoot,
    pub blocks: Vec<BlockOutcome>,
}

impl RunReport {
    pub fn invocations(&self) -> impl Iterator<Item = &cvm_runtime::InvocationReceipt> {
        self.blocks
            .iter()
            .flat_map(|b| &b.receipts)
            .flat_map(|r| match &r.status {
                TxStatus::Ingested { invocations, .. } => invocations.as_slice(),
                _ => &[],
            })
    }

    pub fn total_fuel(&self) -> u64 {
        self.blocks.iter().map(|b| b.fuel_used).sum()
    }
}

/// The sources `wasm`'s manifest declares (validation errors say what is wrong with the module).
fn engine_manifest(executor: &BlockExecutor, wasm: &[u8]) -> anyhow::Result<Vec<String>> {
    let validated = executor
        .engine()
        .validate(wasm)
        .map_err(|e| anyhow::anyhow!("manuscript rejected: {e}"))?;
    Ok(validated.manifest.sources)
}

/// Deploys `wasm` at height 1 and ingests `records` in batches at the following heights.
pub fn execute(
    engine: Arc<CvmEngine>,
    wasm: Vec<u8>,
    source: &str,
    records: Vec<Vec<u8>>,
    fuel_limit_per_record: u64,
    batch: usize,
    parallel: bool,
) -> anyhow::Result<RunReport> {
    let store = Arc::new(MemoryNodeStore::new());
    let executor = BlockExecutor::new(
        engine,
        store.clone(),
        ExecutorConfig {
            parallel,
            threads: 0,
            // The report lists what each block emitted and logged.
            keep_records: true,
            ..ExecutorConfig::default()
        },
    )?;
    let key = dev_key();
    let signer = key.verifying_key().to_bytes();
    let manifest = engine_manifest(&executor, &wasm)?;
    if !manifest.iter().any(|s| s == source) {
        bail!(
            "the manuscript does not subscribe to source {source:?}: pass --source with one of its sources \
             ({manifest:?})"
        );
    }
    // The local chain registers the manuscript's sources as signed sources the development key publishes to.
    let sources: Vec<SourceDef> = manifest
        .iter()
        .map(|name| SourceDef::signed(name.clone(), &[signer]))
        .collect();
    let (mut root, changes) = genesis_state(&*store, &sources, &[], &[])?;
    store.commit(&changes)?;
    let mut blocks = Vec::new();
    let mut payloads = vec![TxPayload::Deploy {
        wasm,
        fuel_limit_per_record,
        sources: Vec::new(),
    }];
    payloads.extend(records.chunks(batch.max(1)).map(|chunk| TxPayload::Ingest {
        source: source.into(),
        records: chunk.iter().collect(),
    }));
    let mut manuscript = String::new();
    for (nonce, payload) in payloads.into_iter().enumerate() {
        let height = nonce as u64 + 1;
        let tx = Transaction {
            chain_id: DEV_CHAIN_ID.into(),
            signer,
            nonce: nonce as u64,
            payload,
        }
        .sign(&key);
        let ctx = BlockContext {
            chain_id: DEV_CHAIN_ID.into(),
            height,
            time_ms: 1_700_000_000_000 + height * 1000,
        };
        let outcome = executor.execute_block(root, &ctx, std::slice::from_ref(&tx))?;
        match &outcome.receipts[0].status {
            TxStatus::Deployed {
                manuscript: name, ..
            } => manuscript = name.clone(),
            TxStatus::Failed { reason } | TxStatus::Rejected { reason } => {
                bail!("{reason}")
            }
            TxStatus::Ingested { subscribers: 0, .. } => {
                bail!(
                    "the manuscript does not subscribe to source {source:?}: pass --source with one of its sources"
                )
            }
            TxStatus::Ingested { .. }
            | TxStatus::SourceRegistered { .. }
            | TxStatus::ValidatorsUpdated { .. } => {}
        }
        store.commit(&outcome.changes)?;
        root = outcome.state_root;
        blocks.push(outcome);
    }
    Ok(RunReport {
        manuscript,
        state_root: root,
        blocks,
    })
}

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let wasm = read_wasm(&args.wasm)?;
    let records = read_records(&args.input, &args.source, args.schema)?;
    let engine = CvmEngine::new(EngineConfig {
        cache_dir: args.cache_dir.clone(),
        ..Default::default()
    })?;
    let report = execute(
        engine,
        wasm,
        &args.source,
        records,
        args.fuel,
        args.batch,
        !args.sequential,
    )
    .context("the manuscript could not be run")?;
    let mut out = std::io::stdout().lock();
    let printed = if args.json {
        print_json(&mut out, &report)
    } else {
        print_text(&mut out, &report, args.quiet)
    };
    match printed {
        // The reader went away (`| head`): not an error of the run.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => other
            .map(|_| ExitCode::SUCCESS)
            .context("cannot write the output"),
    }
}

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

fn print_text(out: &mut impl Write, report: &RunReport, quiet: bool) -> std::io::Result<()> {
    if !quiet {
        for block in &report.blocks {
            for r in &block.records {
                writeln!(
                    out,
                    "record  {:<16} key=0x{}  value=0x{}",
                    r.record.dataset,
                    hex::encode(&r.record.key),
                    hex::encode(&r.record.value)
                )?;
            }
            for log in &block.logs {
                writeln!(
                    out,
                    "log     #{:<6} {:?}: {}",
                    log.record_index, log.line.level, log.line.message
                )?;
            }
            if block.logs_dropped > 0 {
                writeln!(
                    out,
                    "log     ({} more lines over the per-invocation or per-block bound, not kept)",
                    block.logs_dropped
                )?;
            }
        }
        for inv in report.invocations() {
            match &inv.outcome {
                InvocationOutcome::Ok => writeln!(
                    out,
                    "receipt #{:<6} ok      fuel={}",
                    inv.record_index, inv.fuel_used
                ),
                InvocationOutcome::Failed { reason, message } => {
                    writeln!(
                        out,
                        "receipt #{:<6} FAILED  fuel={} {reason}: {message}",
                        inv.record_index, inv.fuel_used
                    )
                }
            }?;
        }
    }
    let mut ok = 0u64;
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    let mut fuels = Vec::new();
    for inv in report.invocations() {
        fuels.push(inv.fuel_used);
        match &inv.outcome {
            InvocationOutcome::Ok => ok += 1,
            InvocationOutcome::Failed { reason, .. } => {
                *failures.entry(reason.to_string()).or_default() += 1
            }
        }
    }
    let emitted: usize = report.blocks.iter().map(|b| b.records.len()).sum();
    fuels.sort_unstable();
    let n = fuels.len().max(1) as u64;
    writeln!(out, "manuscript   {}", report.manuscript)?;
    writeln!(
        out,
        "records      {} processed, {ok} ok, {} failed",
        fuels.len(),
        fuels.len() as u64 - ok
    )?;
    for (reason, count) in &failures {
        writeln!(out, "  failed     {count} × {reason}")?;
    }
    writeln!(out, "emitted      {emitted} dataset records")?;
    writeln!(
        out,
        "fuel         total {}  per record: min {} / mean {} / max {}",
        report.total_fuel(),
        fuels.first().copied().unwrap_or(0),
        report.total_fuel() / n,
        fuels.last().copied().unwrap_or(0)
    )?;
    writeln!(out, "state root   0x{}", hex::encode(report.state_root))
}

fn print_json(out: &mut impl Write, report: &RunReport) -> std::io::Result<()> {
    let records: Vec<_> = report
        .blocks
        .iter()
        .flat_map(|b| &b.records)
        .map(|r| {
            json!({
                "dataset": r.record.dataset,
                "key": format!("0x{}", hex::encode(&r.record.key)),
                "value": format!("0x{}", hex::encode(&r.record.value)),
                "record_index": r.record_index,
            })
        })
        .collect();
    let receipts: Vec<_> = report
        .invocations()
        .map(|inv| match &inv.outcome {
            InvocationOutcome::Ok => {
                json!({"record_index": inv.record_index, "ok": true, "fuel": inv.fuel_used})
            }
            InvocationOutcome::Failed { reason, message } => json!({
                "record_index": inv.record_index, "ok": false, "fuel": inv.fuel_used,
                "reason": reason.as_str(), "message": message,
            }),
        })
        .collect();
    let doc = json!({
        "manuscript": report.manuscript,
        "state_root": format!("0x{}", hex::encode(report.state_root)),
        "fuel_total": report.total_fuel(),
        "records": records,
        "receipts": receipts,
    });
    writeln!(out, "{doc}")
}
