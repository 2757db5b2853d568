//! `cvm localnet`: the main job. Starts N validators as separate `cvm start` processes on loopback and deploys
//! the erc20 example by transaction. With `--archive`, governance registers the archive's chain as the Ethereum
//! source `ethereum-local` and every validator reads the archive itself, verifies each block and ingests its
//! logs (`localnet_archive`); with `--data`, the logs are pushed in as signed ingest transactions. A live status
//! line shows progress until Ctrl-C (or, with `--exit-when-done`, until the data is final); then every node
//! stops cleanly and a summary is printed.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cvm_runtime::{SignedTransaction, Transaction, TxPayload};

use super::local_processes::{percentile, start_local_network};
use super::localnet_archive::ArchiveRun;
use crate::api_client::Client;
use crate::chain::ValidatorKey;
use crate::chain::genesis::ChainParams;
use crate::chain::source_json::SourceJson;
use crate::hex_text::to_hex;
use crate::home::testnet::{TestnetNode, TestnetSpec, generate};
use crate::records::{Schema, read_records};

#[derive(Debug, clap::Args)]
pub struct LocalnetArgs {
    /// Number of validator processes.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Manuscript to deploy (a .wasm built by `cvm manuscript build`).
    #[arg(long)]
    pub wasm: PathBuf,
    /// An archive of Ethereum blocks with their receipts (JSON Lines, as `cvm source verify` checks) that every
    /// validator reads as the source `ethereum-local`.
    #[arg(long, conflicts_with = "data", required_unless_present = "data")]
    pub archive: Option<PathBuf>,
    /// The archive chain's id.
    #[arg(long, default_value_t = 31337)]
    pub archive_chain_id: u64,
    /// Source records to push in as ingest transactions (JSON Lines or a JSON array of `eth_getLogs` objects).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Source id the records are ingested under.
    #[arg(long, default_value = "ethereum.logs")]
    pub source: String,
    /// Records per ingest transaction.
    #[arg(long, default_value_t = 250)]
    pub batch: usize,
    /// Stream the data this many times (each pass is new ingest transactions over the same records).
    #[arg(long, default_value_t = 1)]
    pub passes: usize,
    /// Directory for the node homes (default: a fresh temporary directory, removed at exit).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, default_value_t = 26600)]
    pub base_port: u16,
    /// Stop once all data is final and print the summary, instead of running until Ctrl-C.
    #[arg(long)]
    pub exit_when_done: bool,
    /// Genesis idle_block_interval_ms: a height without transactions waits this long after the last block
    /// (0: a block at every height at once).
    #[arg(long, default_value_t = ChainParams::default().idle_block_interval_ms)]
    pub idle_block_interval_ms: u64,
}

/// Runs `cvm localnet`: one step per function below, in order.
pub fn run(args: &LocalnetArgs) -> anyhow::Result<()> {
    if let Some(archive) = &args.archive {
        let run = ArchiveRun {
            validators: args.validators,
            wasm: &args.wasm,
            chain_id: args.archive_chain_id,
            dir: args.dir.as_ref(),
            base_port: args.base_port,
            idle_block_interval_ms: args.idle_block_interval_ms,
            exit_when_done: args.exit_when_done,
        };
        return super::localnet_archive::run(&run, archive);
    }
    let (wasm, records) = read_inputs(args)?;
    let Some(net) = start_local_network(args.dir.as_ref(), "", |dir| make_homes(args, dir))? else {
        return Ok(());
    };
    let client = &net.client;
    let mut signer = Signer::for_chain(client)?;
    deploy(client, &mut signer, wasm)?;

    let first_height = client.status()?.height;
    let t0 = Instant::now();
    let pending = stream_data(client, &mut signer, &records, args)?;
    let finality = watch_finality(client, &net.stop, pending, t0, args.exit_when_done);
    print_summary(client, net.nodes.len(), first_height, finality)
}

/// Reads the manuscript and the source records; no records is an error.
fn read_inputs(args: &LocalnetArgs) -> anyhow::Result<(Vec<u8>, Vec<Vec<u8>>)> {
    let wasm = std::fs::read(&args.wasm).with_context(|| {
        format!(
            "cannot read {}; build it with `cvm manuscript build`",
            args.wasm.display()
        )
    })?;
    let data = args
        .data
        .as_ref()
        .context("give --archive FILE or --data FILE")?;
    let records = read_records(data, &args.source, Schema::Auto)?;
    if records.is_empty() {
        bail!("{} holds no records", data.display());
    }
    Ok((wasm, records))
}

/// Writes one home per validator under `dir`, peered on loopback from `--base-port`.
fn make_homes(args: &LocalnetArgs, dir: &std::path::Path) -> anyhow::Result<Vec<TestnetNode>> {
    generate(&TestnetSpec {
        validators: args.validators,
        full_nodes: 0,
        chain_id: "cvm-localnet".into(),
        output: dir.to_path_buf(),
        base_port: args.base_port,
        block_interval_ms: 0,
        idle_block_interval_ms: args.idle_block_interval_ms,
        sources: vec![SourceJson::Signed {
            name: args.source.clone(),
            publishers: vec![to_hex(Signer::key().public_key())],
        }],
    })
}

/// Signs the localnet's transactions with a fixed key, counting the nonce up.
struct Signer {
    key: ValidatorKey,
    chain_id: String,
    nonce: u64,
}

impl Signer {
    /// The fixed key, which the localnet's genesis makes the publisher of its source.
    fn key() -> ValidatorKey {
        ValidatorKey(ed25519_dalek::SigningKey::from_bytes(&[7; 32]))
    }

    fn for_chain(client: &Client) -> anyhow::Result<Self> {
        let key = Self::key();
        let chain_id = client.status()?.chain_id;
        let nonce = client.account_nonce(key.public_key())?;
        Ok(Signer {
            key,
            chain_id,
            nonce,
        })
    }

    /// Signs `payload` with the current nonce (the caller advances it once the transaction is accepted).
    fn sign(&self, payload: TxPayload) -> SignedTransaction {
        Transaction {
            chain_id: self.chain_id.clone(),
            signer: self.key.public_key(),
            nonce: self.nonce,
            payload,
        }
        .sign(&self.key.0)
    }
}

/// Deploys the manuscript and waits (up to 60 s) for it to be committed.
fn deploy(client: &Client, signer: &mut Signer, wasm: Vec<u8>) -> anyhow::Result<()> {
    let deploy = signer.sign(TxPayload::Deploy {
        wasm,
        fuel_limit_per_record: 10_000_000,
        sources: Vec::new(),
    });
    let hash = client.submit_tx(&deploy)?;
    let (_, receipt) = client.wait_for_tx(hash, Duration::from_secs(60))?;
    eprintln!("deployed: {:?}", receipt.outcome);
    signer.nonce += 1;
    Ok(())
}

/// A submitted ingest transaction: its hash, when it was submitted, and how many records it carries.
type Pending = ([u8; 32], Instant, usize);

/// Submits every batch of records, `--passes` times over, retrying while the mempool is full.
fn stream_data(
    client: &Client,
    signer: &mut Signer,
    records: &[Vec<u8>],
    args: &LocalnetArgs,
) -> anyhow::Result<Vec<Pending>> {
    let mut pending = Vec::new();
    for _ in 0..args.passes {
        for chunk in records.chunks(args.batch) {
            let tx = signer.sign(TxPayload::Ingest {
                source: args.source.clone(),
                records: chunk.iter().collect(),
            });
            loop {
                match client.submit_tx(&tx) {
                    Ok(hash) => {
                        pending.push((hash, Instant::now(), chunk.len()));
                        break;
                    }
                    Err(e) if e.to_string().contains("full") => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            signer.nonce += 1;
        }
    }
    Ok(pending)
}

/// What the watch saw finalize.
struct Finality {
    /// Submission-to-commit latency of each committed transaction, in ms, sorted.
    latencies_ms: Vec<f64>,
    finalized_records: usize,
    total_records: usize,
    /// Time from the first submission until every transaction was committed (or until the watch stopped).
    elapsed: Duration,
}

/// Polls the pending transactions until stopped (or, with `exit_when_done`, until all are committed), showing
/// a status line every 500 ms.
fn watch_finality(
    client: &Client,
    stop: &AtomicBool,
    mut pending: Vec<Pending>,
    t0: Instant,
    exit_when_done: bool,
) -> Finality {
    let total_records: usize = pending.iter().map(|p| p.2).sum();
    let mut latencies = Vec::new();
    let mut finalized_records = 0usize;
    let tty = std::io::stderr().is_terminal();
    let mut last_print = Instant::now() - Duration::from_secs(1);
    let mut done_at = None;
    while !stop.load(Ordering::SeqCst) {
        pending.retain(|(hash, submitted, n)| match client.tx(*hash) {
            Ok(crate::rpc::json::TxLookupJson::Committed { .. }) => {
                latencies.push(submitted.elapsed().as_secs_f64() * 1000.0);
                finalized_records += n;
                false
            }
            _ => true,
        });
        if pending.is_empty() && done_at.is_none() {
            done_at = Some(t0.elapsed());
        }
        if last_print.elapsed() >= Duration::from_millis(500) {
            last_print = Instant::now();
            let rate = finalized_records as f64 / t0.elapsed().as_secs_f64().max(1e-3);
            let line = status_line(client, &latencies, finalized_records, total_records, rate);
            if tty {
                eprint!("\r{line}");
                let _ = std::io::stderr().flush();
            } else {
                eprintln!("{line}");
            }
        }
        if exit_when_done && pending.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(if pending.is_empty() {
            200
        } else {
            20
        }));
    }
    if tty {
        eprintln!();
    }
    latencies.sort_by(f64::total_cmp);
    Finality {
        latencies_ms: latencies,
        finalized_records,
        total_records,
        elapsed: done_at.unwrap_or_else(|| t0.elapsed()),
    }
}

/// The live status line: chain height and peers, records final, throughput and finality percentiles.
fn status_line(
    client: &Client,
    latencies: &[f64],
    finalized_records: usize,
    total_records: usize,
    rate: f64,
) -> String {
    let status = client.status().ok();
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    format!(
        "height {:>6} | peers {} | records final {:>7}/{} | {:>8.0} records/s | tx finality p50 {:>6.0} ms p99 {:>6.0} ms",
        status.as_ref().map(|s| s.height).unwrap_or(0),
        status.as_ref().map(|s| s.peers.count).unwrap_or(0),
        finalized_records,
        total_records,
        rate,
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.99),
    )
}

/// Prints the one-line summary on stdout.
fn print_summary(
    client: &Client,
    validators: usize,
    first_height: u64,
    finality: Finality,
) -> anyhow::Result<()> {
    let Finality {
        latencies_ms,
        finalized_records,
        total_records,
        elapsed,
    } = finality;
    let elapsed = elapsed.as_secs_f64();
    let end = client.status()?;
    println!(
        "summary: {validators} validators, {finalized_records} of {total_records} records final in {elapsed:.2} s = {:.0} records/s; tx finality p50 {:.0} ms, p99 {:.0} ms; heights {}..{}; state root {}",
        finalized_records as f64 / elapsed.max(1e-3),
        percentile(&latencies_ms, 0.5),
        percentile(&latencies_ms, 0.99),
        first_height,
        end.height,
        end.state_root
    );
    Ok(())
}
