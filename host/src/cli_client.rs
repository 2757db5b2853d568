//! The client side of the CLI: `cvm tx deploy|ingest` (sign with a key file, submit, wait for the receipt),
//! `cvm query status|block|tx|record` (read a node, save a record bundle) and `cvm verify` (check a bundle offline
//! against a genesis file). Output goes to stdout; errors are `anyhow` with what to do next.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use cvm_runtime::{SignedTransaction, Transaction, TxPayload};
use ed25519_dalek::SigningKey;

use crate::chain::{Genesis, ValidatorKey};
use crate::client::{Client, DEFAULT_NODE_URL};
use crate::records::{Schema, read_records};
use crate::rpc::json::{ReceiptJson, ReceiptOutcomeJson, from_hex, from_hex32, to_hex};
use crate::verify::{RecordBundle, verify_bundle};

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// URL of the node's HTTP API.
    #[arg(long, default_value = DEFAULT_NODE_URL)]
    pub node: String,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Key file that signs the transactions: JSON {"public_key": hex, "secret_key": hex}.
    #[arg(long)]
    pub key: PathBuf,
    /// Return after submitting instead of waiting for the receipts.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for each transaction to be committed.
    #[arg(long, default_value_t = 60)]
    pub wait_secs: u64,
}

#[derive(Debug, Subcommand)]
pub enum TxCommand {
    /// Deploy a manuscript (.wasm or .wat).
    Deploy(DeployArgs),
    /// Ingest a file of source records (JSON Lines or a JSON array), in batches of one transaction each.
    Ingest(IngestArgs),
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The manuscript: a .wasm binary or WebAssembly text (.wat).
    pub wasm: PathBuf,
    /// Fuel limit per record for every invocation of this manuscript.
    #[arg(long, default_value_t = 10_000_000)]
    pub fuel_limit: u64,
    #[command(flatten)]
    pub sign: SignArgs,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Source id the records belong to (e.g. ethereum.logs, kv).
    #[arg(long)]
    pub source: String,
    /// Input records: JSON Lines or a JSON array.
    #[arg(long)]
    pub file: PathBuf,
    /// Record schema; `auto` picks eth-log for `ethereum.*` sources and kv otherwise.
    #[arg(long, value_enum, default_value_t = Schema::Auto)]
    pub schema: Schema,
    /// Records per transaction.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    #[command(flatten)]
    pub sign: SignArgs,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// The node's chain, height, peers and sync state.
    Status(NodeArgs),
    /// A block (default: the latest).
    Block(BlockArgs),
    /// Where a transaction is, and its receipt once committed.
    Tx(TxArgs),
    /// A record with everything needed to verify it offline (`cvm verify`).
    Record(RecordArgs),
}

#[derive(Debug, Args)]
pub struct BlockArgs {
    /// Block height (default: the latest).
    pub height: Option<u64>,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, Args)]
pub struct TxArgs {
    /// Transaction hash (hex).
    pub hash: String,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Manuscript name (as deployed).
    pub manuscript: String,
    /// One of the manuscript's datasets.
    pub dataset: String,
    /// The record key, hex.
    pub key_hex: String,
    /// Read at this height (default: the latest).
    #[arg(long)]
    pub height: Option<u64>,
    /// Save the bundle to this file (default: print it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The chain's genesis file.
    #[arg(long)]
    pub genesis: PathBuf,
    /// A bundle saved by `cvm query record --out`.
    #[arg(long)]
    pub bundle: PathBuf,
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn load_key(path: &Path) -> anyhow::Result<SigningKey> {
    Ok(ValidatorKey::load(path)?.0)
}

/// Signs one transaction per payload, with consecutive nonces from `first_nonce`.
pub fn sign_all(
    chain_id: &str,
    key: &SigningKey,
    first_nonce: u64,
    payloads: impl IntoIterator<Item = TxPayload>,
) -> Vec<SignedTransaction> {
    payloads
        .into_iter()
        .enumerate()
        .map(|(i, payload)| {
            Transaction {
                chain_id: chain_id.to_string(),
                signer: key.verifying_key().to_bytes(),
                nonce: first_nonce + i as u64,
                payload,
            }
            .sign(key)
        })
        .collect()
}

/// Splits records into ingest payloads of at most `batch` records each.
pub fn ingest_payloads(source: &str, records: Vec<Vec<u8>>, batch: usize) -> Vec<TxPayload> {
    records
        .chunks(batch.max(1))
        .map(|chunk| TxPayload::Ingest {
            source: source.to_string(),
            records: chunk.iter().collect(),
        })
        .collect()
}

/// One line per receipt.
pub fn describe_receipt(height: u64, receipt: &ReceiptJson) -> String {
    let what = match &receipt.outcome {
        ReceiptOutcomeJson::Rejected { reason } => format!("REJECTED: {reason}"),
        ReceiptOutcomeJson::Failed { reason } => format!("FAILED: {reason}"),
        ReceiptOutcomeJson::Deployed {
            manuscript,
            code_hash,
        } => {
            format!("deployed manuscript {manuscript} (code {code_hash})")
        }
        ReceiptOutcomeJson::Ingested {
            subscribers,
            invocations,
        } => {
            let failed = invocations.iter().filter(|i| !i.ok).count();
            format!(
                "ingested for {subscribers} manuscript(s): {} invocation(s), {failed} failed",
                invocations.len()
            )
        }
    };
    format!(
        "{} committed at height {height}, fuel {}: {what}",
        receipt.tx_hash, receipt.fuel_used
    )
}

/// Submits in order, then (unless `no_wait`) waits for each; fails if any was rejected or failed.
fn submit_and_wait(
    client: &Client,
    txs: &[SignedTransaction],
    sign: &SignArgs,
) -> anyhow::Result<ExitCode> {
    let mut hashes = Vec::with_capacity(txs.len());
    for (i, tx) in txs.iter().enumerate() {
        let hash = client.submit_tx(tx).with_context(|| {
            format!(
                "submitting transaction {} of {} (nonce {})",
                i + 1,
                txs.len(),
                tx.tx.nonce
            )
        })?;
        println!("submitted {} (nonce {})", to_hex(hash), tx.tx.nonce);
        hashes.push(hash);
    }
    if sign.no_wait {
        return Ok(ExitCode::SUCCESS);
    }
    let mut ok = true;
    for hash in hashes {
        let (height, receipt) = client.wait_for_tx(hash, Duration::from_secs(sign.wait_secs))?;
        ok &= !matches!(
            receipt.outcome,
            ReceiptOutcomeJson::Rejected { .. } | ReceiptOutcomeJson::Failed { .. }
        );
        println!("{}", describe_receipt(height, &receipt));
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn read_wasm(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.extension().is_some_and(|e| e == "wat") {
        return wat::parse_file(path).with_context(|| format!("cannot parse {}", path.display()));
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run_tx(command: &TxCommand) -> anyhow::Result<ExitCode> {
    let (sign, node) = match command {
        TxCommand::Deploy(a) => (&a.sign, &a.node),
        TxCommand::Ingest(a) => (&a.sign, &a.node),
    };
    let key = load_key(&sign.key)?;
    let payloads = match command {
        TxCommand::Deploy(a) => {
            vec![TxPayload::Deploy {
                wasm: read_wasm(&a.wasm)?,
                fuel_limit_per_record: a.fuel_limit,
            }]
        }
        TxCommand::Ingest(a) => {
            if a.batch == 0 {
                bail!("--batch must be at least 1");
            }
            let records = read_records(&a.file, &a.source, a.schema)?;
            if records.is_empty() {
                bail!("{} holds no records", a.file.display());
            }
            println!(
                "{} record(s) in {} transaction(s)",
                records.len(),
                records.len().div_ceil(a.batch)
            );
            ingest_payloads(&a.source, records, a.batch)
        }
    };
    let client = Client::new(&node.node);
    let status = client.status()?;
    let nonce = client.account_nonce(key.verifying_key().to_bytes())?;
    let txs = sign_all(&status.chain_id, &key, nonce, payloads);
    submit_and_wait(&client, &txs, sign)
}

pub fn run_query(command: &QueryCommand) -> anyhow::Result<ExitCode> {
    match command {
        QueryCommand::Status(node) => print_json(&Client::new(&node.node).status()?)?,
        QueryCommand::Block(a) => print_json(&Client::new(&a.node.node).block(a.height)?)?,
        QueryCommand::Tx(a) => {
            let hash = from_hex32(&a.hash).map_err(|e| anyhow::anyhow!("transaction hash: {e}"))?;
            print_json(&Client::new(&a.node.node).tx(hash)?)?
        }
        QueryCommand::Record(a) => {
            let key = from_hex(&a.key_hex).map_err(|e| anyhow::anyhow!("record key: {e}"))?;
            let bundle =
                Client::new(&a.node.node).record(&a.manuscript, &a.dataset, &key, a.height)?;
            let text = serde_json::to_string_pretty(&bundle)?;
            match &a.out {
                Some(path) => {
                    std::fs::write(path, text + "\n")
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    let value = bundle
                        .value
                        .as_ref()
                        .map_or_else(|| "absent".into(), to_hex);
                    println!(
                        "saved record {}/{}/{} = {value} at height {} to {}; check it with `cvm verify --genesis <genesis.json> --bundle {}`",
                        bundle.manuscript,
                        bundle.dataset,
                        to_hex(&bundle.key),
                        bundle.height,
                        path.display(),
                        path.display()
                    );
                }
                None => println!("{text}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `VALID: ...` or `INVALID: ...` line for a bundle file; `Err` only when the genesis is unusable.
pub fn verify_files(genesis: &Path, bundle: &Path) -> anyhow::Result<Result<String, String>> {
    let genesis = Genesis::load(genesis)?;
    let text = match std::fs::read_to_string(bundle) {
        Ok(t) => t,
        Err(e) => bail!("cannot read the bundle {}: {e}", bundle.display()),
    };
    let bundle: RecordBundle = match serde_json::from_str(&text) {
        Ok(b) => b,
        Err(e) => return Ok(Err(format!("INVALID: the bundle is not valid: {e}"))),
    };
    Ok(match verify_bundle(&bundle, &genesis) {
        Ok(verdict) => Ok(format!("VALID: {verdict}")),
        Err(e) => Err(format!("INVALID: {e}")),
    })
}

pub fn run_verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    match verify_files(&args.genesis, &args.bundle)? {
        Ok(line) => {
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        Err(line) => {
            println!("{line}");
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::fixture;

    #[test]
    fn verify_files_prints_valid_and_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = dir.path().join("genesis.json");
        std::fs::write(&genesis, fixture::genesis().to_json()).unwrap();
        let bundle = fixture::bundle();
        let path = dir.path().join("bundle.json");
        std::fs::write(&path, serde_json::to_string_pretty(&bundle).unwrap()).unwrap();
        let line = verify_files(&genesis, &path).unwrap().unwrap();
        assert!(
            line.starts_with("VALID: record wat-counter/counts/0x"),
            "{line}"
        );
        assert!(
            line.ends_with("at height 2 (signed by 30 of 40 power)"),
            "{line}"
        );

        let mut tampered = bundle.clone();
        tampered.value.as_mut().unwrap()[0] ^= 1;
        std::fs::write(&path, serde_json::to_string(&tampered).unwrap()).unwrap();
        let line = verify_files(&genesis, &path).unwrap().unwrap_err();
        assert!(
            line.starts_with("INVALID: the bundle claims value"),
            "{line}"
        );

        std::fs::write(&path, "{\"chain_id\": 3}").unwrap();
        let line = verify_files(&genesis, &path).unwrap().unwrap_err();
        assert!(
            line.starts_with("INVALID: the bundle is not valid"),
            "{line}"
        );

        assert!(verify_files(&dir.path().join("missing.json"), &path).is_err());
    }

    #[test]
    fn ingest_is_split_into_batches_with_consecutive_nonces() {
        let records: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i]).collect();
        let payloads = ingest_payloads("kv", records, 2);
        assert_eq!(payloads.len(), 3);
        let key = SigningKey::from_bytes(&[3; 32]);
        let txs = sign_all("c", &key, 7, payloads);
        assert_eq!(
            txs.iter().map(|t| t.tx.nonce).collect::<Vec<_>>(),
            vec![7, 8, 9]
        );
        assert!(txs.iter().all(|t| t.verify_signature().is_ok()));
        assert!(
            matches!(&txs[2].tx.payload, TxPayload::Ingest { records, .. } if records.len() == 1)
        );
    }

    #[test]
    fn deploy_and_ingest_sign_with_the_key_file_and_next_nonces() {
        use std::sync::Arc;

        use crate::rpc::tests::{FakeNode, server};

        let node = Arc::new(FakeNode::new(None));
        let (url, _stop) = server(node.clone());
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("key.json");
        let key = ValidatorKey::generate();
        key.save(&key_path).unwrap();
        let wat_path = dir.path().join("counter.wat");
        std::fs::write(&wat_path, manuscript_fixtures::WAT_COUNTER).unwrap();
        let sign = || SignArgs {
            key: key_path.clone(),
            no_wait: true,
            wait_secs: 1,
        };
        let node_args = || NodeArgs { node: url.clone() };
        run_tx(&TxCommand::Deploy(DeployArgs {
            wasm: wat_path.clone(),
            fuel_limit: 5,
            sign: sign(),
            node: node_args(),
        }))
        .unwrap();
        let input = dir.path().join("records.jsonl");
        let lines: Vec<String> = (0..5)
            .map(|i| format!("{{\"key\": \"k{i}\", \"value\": \"{i}\"}}"))
            .collect();
        std::fs::write(&input, lines.join("\n")).unwrap();
        run_tx(&TxCommand::Ingest(IngestArgs {
            source: "kv".into(),
            file: input,
            schema: Schema::Auto,
            batch: 2,
            sign: sign(),
            node: node_args(),
        }))
        .unwrap();
        let submitted = node.submitted.lock().unwrap();
        assert_eq!(
            submitted.iter().map(|t| t.tx.nonce).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        assert!(
            submitted
                .iter()
                .all(|t| t.tx.chain_id == "fake" && t.tx.signer == key.public_key())
        );
        assert!(matches!(
            &submitted[0].tx.payload,
            TxPayload::Deploy {
                fuel_limit_per_record: 5,
                ..
            }
        ));
        assert!(
            matches!(&submitted[3].tx.payload, TxPayload::Ingest { records, .. } if records.len() == 1)
        );
        drop(submitted);
        // A node that is not there: the error says to start one.
        let e = run_query(&QueryCommand::Status(NodeArgs {
            node: "http://127.0.0.1:1".into(),
        }))
        .unwrap_err();
        assert!(format!("{e:#}").contains("is the node running?"), "{e:#}");
    }
}
