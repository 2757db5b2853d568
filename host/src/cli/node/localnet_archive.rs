//! `cvm localnet --archive FILE`: the pull path. Every validator reads the archive as the Ethereum source
//! `ethereum-local` (`[sources.ethereum-local] archive = …` in its config); governance registers the source
//! (pinned to the archive's first block) and deploys the manuscript bound to it; the validators fetch, verify and
//! ingest the blocks themselves. The status line follows the source's head until the archive's last block is
//! final.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cvm_runtime::sources::{
    Confirmations, EthereumSource, SourceBudget, SourceDef, SourceHead, SourceKind,
};
use cvm_runtime::{SignedTransaction, Transaction, TxPayload};

use super::local_processes::start_local_network;
use crate::api_client::Client;
use crate::chain::AccountKey;
use crate::home::testnet::{TestnetNode, TestnetSpec, generate, governance_key_path};
use crate::sources::ethereum::{ArchiveEndpoint, SourceEndpoint, verify_block};

/// The source the local network's validators read.
pub const SOURCE: &str = "ethereum-local";

/// How long `--exit-when-done` waits for the source's head to move before giving up.
const STALL: Duration = Duration::from_secs(120);

/// The archive's blocks as the summary counts them: first and last number and hash, logs per block.
struct ArchiveSummary {
    first: SourceHead,
    last: u64,
    logs: Vec<(u64, usize)>,
}

/// Verifies every block of the archive once, as `cvm source verify` does, before any node reads it.
fn summarize(path: &Path, chain_id: u64) -> anyhow::Result<ArchiveSummary> {
    let archive = ArchiveEndpoint::open(path, chain_id)?;
    let (first, last) = archive
        .range()
        .with_context(|| format!("{} holds no blocks", path.display()))?;
    let mut logs = Vec::new();
    let mut first_hash = None;
    for number in first..=last {
        let data = archive
            .block(number)?
            .with_context(|| format!("block {number} is missing from {}", path.display()))?;
        let block = verify_block(&data)
            .with_context(|| format!("block {number} of {} does not verify", path.display()))?;
        first_hash.get_or_insert(block.hash);
        logs.push((number, block.logs.len()));
    }
    Ok(ArchiveSummary {
        first: SourceHead {
            number: first,
            hash: first_hash.unwrap_or_default(),
        },
        last,
        logs,
    })
}

/// What `cvm localnet --archive` was asked for.
pub struct ArchiveRun<'a> {
    /// Validator processes.
    pub validators: usize,
    /// The manuscript to deploy, bound to the source.
    pub wasm: &'a Path,
    /// The archive's chain id.
    pub chain_id: u64,
    /// Where the homes go (a temporary directory when `None`).
    pub dir: Option<&'a std::path::PathBuf>,
    /// The first of the ports the nodes listen on.
    pub base_port: u16,
    /// Genesis `idle_block_interval_ms`.
    pub idle_block_interval_ms: u64,
    /// Stop once the archive's last block is ingested.
    pub exit_when_done: bool,
}

/// Runs the pull-path local network over `archive`.
pub fn run(args: &ArchiveRun, archive: &Path) -> anyhow::Result<()> {
    let archive = archive
        .canonicalize()
        .with_context(|| format!("cannot read {}", archive.display()))?;
    let summary = summarize(&archive, args.chain_id)?;
    let wasm = std::fs::read(args.wasm).with_context(|| {
        format!(
            "cannot read {}; build it with `cvm manuscript build`",
            args.wasm.display()
        )
    })?;
    let reading = format!(" reading {} as source {SOURCE}", archive.display());
    let Some(net) = start_local_network(args.dir, &reading, |dir| make_homes(args, dir, &archive))?
    else {
        return Ok(());
    };
    let client = &net.client;
    let governance = AccountKey::load(&governance_key_path(&net.homes.path))?;
    register_and_deploy(client, &governance, &summary, args, wasm)?;
    let t0 = Instant::now();
    let first_height = client.status()?.height;
    let done = watch(
        client,
        &net.stop,
        &summary,
        t0,
        args.exit_when_done,
        &net.homes.path,
    )?;
    let end = client.status()?;
    let (head, records) = done;
    let elapsed = t0.elapsed().as_secs_f64();
    println!(
        "summary: {} validators ingested {SOURCE} up to block {head} of {} ({records} logs) in {elapsed:.2} s = {:.0} records/s; heights {first_height}..{}; state root {}",
        net.nodes.len(),
        summary.last,
        records as f64 / elapsed.max(1e-3),
        end.height,
        end.state_root
    );
    Ok(())
}

/// One home per validator, each reading the archive as `ethereum-local`.
fn make_homes(args: &ArchiveRun, dir: &Path, archive: &Path) -> anyhow::Result<Vec<TestnetNode>> {
    let nodes = generate(&TestnetSpec {
        validators: args.validators,
        full_nodes: 0,
        chain_id: "cvm-localnet".into(),
        output: dir.to_path_buf(),
        base_port: args.base_port,
        block_interval_ms: 0,
        idle_block_interval_ms: args.idle_block_interval_ms,
        sources: Vec::new(),
    })?;
    for node in &nodes {
        let config = node.home.join("config/config.toml");
        let mut file = std::fs::OpenOptions::new().append(true).open(&config)?;
        writeln!(
            file,
            "\n[sources.{SOURCE}]\narchive = {:?}",
            archive.display().to_string()
        )?;
    }
    Ok(nodes)
}

/// Registers the source (pinned to the archive's first block) and deploys the manuscript bound to it, both
/// signed by the governance key, each waited for.
fn register_and_deploy(
    client: &Client,
    key: &AccountKey,
    summary: &ArchiveSummary,
    args: &ArchiveRun,
    wasm: Vec<u8>,
) -> anyhow::Result<()> {
    let chain_id = client.status()?.chain_id;
    let first_nonce = client.account_nonce(key.public_key())?;
    let register = TxPayload::RegisterSource {
        source: SourceDef {
            name: SOURCE.into(),
            kind: SourceKind::Ethereum(EthereumSource {
                chain_id: args.chain_id,
                start: summary.first,
                confirmations: Confirmations::Depth(0),
                budget: SourceBudget {
                    max_blocks: 32,
                    max_logs: 20_000,
                },
            }),
        },
    };
    let deploy = TxPayload::Deploy {
        wasm,
        fuel_limit_per_record: 10_000_000,
        sources: vec![SOURCE.into()],
    };
    for (nonce, payload) in (first_nonce..).zip([register, deploy]) {
        let tx: SignedTransaction = Transaction {
            chain_id: chain_id.clone(),
            signer: key.public_key(),
            nonce,
            payload,
        }
        .sign(&key.0);
        let hash = client.submit_tx(&tx)?;
        let (_, receipt) = client.wait_for_tx(hash, Duration::from_secs(60))?;
        eprintln!("{:?}", receipt.outcome);
    }
    Ok(())
}

/// Follows the source's head, a status line every 500 ms, until stopped (or, with `exit_when_done`, until the
/// archive's last block is ingested). Returns the head reached and the logs ingested.
fn watch(
    client: &Client,
    stop: &std::sync::atomic::AtomicBool,
    summary: &ArchiveSummary,
    t0: Instant,
    exit_when_done: bool,
    logs_dir: &Path,
) -> anyhow::Result<(u64, usize)> {
    let tty = std::io::stderr().is_terminal();
    let mut head = 0;
    let mut records = 0;
    let mut moved = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        if let Some(h) = client.sources().ok().and_then(|sources| {
            sources
                .into_iter()
                .find(|s| s.definition.name() == SOURCE)
                .and_then(|s| s.head)
        }) {
            if h.number != head {
                moved = Instant::now();
            }
            head = h.number;
            records = summary
                .logs
                .iter()
                .take_while(|(n, _)| *n <= head)
                .map(|(_, logs)| logs)
                .sum();
        }
        let height = client.status().map(|s| s.height).unwrap_or(0);
        let line = format!(
            "height {height:>6} | {SOURCE} block {head:>6}/{} | records final {records:>7} | {:>8.0} records/s",
            summary.last,
            records as f64 / t0.elapsed().as_secs_f64().max(1e-3)
        );
        if tty {
            eprint!("\r{line}");
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{line}");
        }
        if exit_when_done && head >= summary.last {
            break;
        }
        if exit_when_done && moved.elapsed() > STALL {
            bail!(
                "the source's head has not moved for {} s (at block {head}); see the logs in {}",
                STALL.as_secs(),
                logs_dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    if tty {
        eprintln!();
    }
    Ok((head, records))
}
