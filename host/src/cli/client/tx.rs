//! `cvm tx deploy | ingest | register-source`: sign with a key file, submit, and wait for the receipts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use cvm_runtime::{SignedTransaction, Transaction, TxPayload};
use ed25519_dalek::SigningKey;

use super::args::{NodeArgs, SignArgs};
use crate::api_client::Client;
use crate::chain::AccountKey;
use crate::chain::source_json::SourceJson;
use crate::hex_text::to_hex;
use crate::records::{Schema, read_records};
use crate::rpc::json::{ReceiptJson, ReceiptOutcomeJson};

#[derive(Debug, Subcommand)]
pub enum TxCommand {
    /// Deploy a manuscript (.wasm or .wat).
    Deploy(DeployArgs),
    /// Ingest a file of source records (JSON Lines or a JSON array), in batches of one transaction each.
    Ingest(IngestArgs),
    /// Register a source (sign with a governance key of the chain).
    RegisterSource(RegisterSourceArgs),
}

#[derive(Debug, Args)]
pub struct RegisterSourceArgs {
    /// The source's definition, JSON: {"kind": "signed", "name": …, "publishers": ["<hex key>", …]} or
    /// {"kind": "ethereum", "name": …, "chain_id": …, "start": {"number": …, "hash": "0x…"},
    /// "confirmations": <depth> | "finalized", "budget": {"max_blocks": …, "max_logs": …}}.
    #[arg(long)]
    pub file: PathBuf,
    #[command(flatten)]
    pub sign: SignArgs,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The manuscript: a .wasm binary or WebAssembly text (.wat).
    pub wasm: PathBuf,
    /// Fuel limit per record for every invocation of this manuscript.
    #[arg(long, default_value_t = 10_000_000)]
    pub fuel_limit: u64,
    /// The registered source to bind each manifest source to, in the manifest's order (repeat once per manifest
    /// source); none: the manifest's own names. The manuscript still sees its manifest's names.
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
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

pub(super) fn load_key(path: &Path) -> anyhow::Result<SigningKey> {
    Ok(AccountKey::load(path)?.0)
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
        ReceiptOutcomeJson::SourceRegistered { source } => format!("registered source {source}"),
        ReceiptOutcomeJson::ValidatorsUpdated {
            seq,
            effective_height,
        } => format!(
            "validator update {seq} applied; the new set signs from height {effective_height}"
        ),
    };
    format!(
        "{} committed at height {height}, fuel {}: {what}",
        receipt.tx_hash, receipt.fuel_used
    )
}

/// Submits in order, then (unless `no_wait`) waits for each; fails if any was rejected or failed.
pub(super) fn submit_and_wait(
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

/// Signs the payloads with the key file and the account's next nonces, submits them and (by default) waits.
pub fn run(command: &TxCommand) -> anyhow::Result<ExitCode> {
    let (sign, node) = match command {
        TxCommand::Deploy(a) => (&a.sign, &a.node),
        TxCommand::Ingest(a) => (&a.sign, &a.node),
        TxCommand::RegisterSource(a) => (&a.sign, &a.node),
    };
    let key = load_key(&sign.key)?;
    let payloads = match command {
        TxCommand::Deploy(a) => {
            vec![TxPayload::Deploy {
                wasm: read_wasm(&a.wasm)?,
                fuel_limit_per_record: a.fuel_limit,
                sources: a.sources.clone(),
            }]
        }
        TxCommand::RegisterSource(a) => {
            let text = std::fs::read_to_string(&a.file)
                .with_context(|| format!("cannot read {}", a.file.display()))?;
            let source = SourceJson::parse_def(&text).map_err(|e| {
                anyhow::anyhow!("{} is not a valid source definition: {e}", a.file.display())
            })?;
            vec![TxPayload::RegisterSource { source }]
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

#[cfg(test)]
mod tests {
    use super::*;

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

        use crate::cli::client::query::{self, QueryCommand};
        use crate::rpc::tests::{FakeNode, server};

        let node = Arc::new(FakeNode::new(None));
        let (url, _stop) = server(node.clone());
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("key.json");
        let key = AccountKey::generate();
        key.save(&key_path).unwrap();
        let wat_path = dir.path().join("counter.wat");
        std::fs::write(&wat_path, manuscript_fixtures::WAT_COUNTER).unwrap();
        let sign = || SignArgs {
            key: key_path.clone(),
            no_wait: true,
            wait_secs: 1,
        };
        let node_args = || NodeArgs { node: url.clone() };
        run(&TxCommand::Deploy(DeployArgs {
            wasm: wat_path.clone(),
            fuel_limit: 5,
            sources: vec!["feed".into()],
            sign: sign(),
            node: node_args(),
        }))
        .unwrap();
        let input = dir.path().join("records.jsonl");
        let lines: Vec<String> = (0..5)
            .map(|i| format!("{{\"key\": \"k{i}\", \"value\": \"{i}\"}}"))
            .collect();
        std::fs::write(&input, lines.join("\n")).unwrap();
        run(&TxCommand::Ingest(IngestArgs {
            source: "kv".into(),
            file: input,
            schema: Schema::Auto,
            batch: 2,
            sign: sign(),
            node: node_args(),
        }))
        .unwrap();
        let source_file = dir.path().join("source.json");
        std::fs::write(
            &source_file,
            format!(
                r#"{{"kind": "signed", "name": "feed", "publishers": ["{}"]}}"#,
                to_hex(key.public_key())
            ),
        )
        .unwrap();
        run(&TxCommand::RegisterSource(RegisterSourceArgs {
            file: source_file.clone(),
            sign: sign(),
            node: node_args(),
        }))
        .unwrap();
        std::fs::write(
            &source_file,
            r#"{"kind": "signed", "name": "Feed", "publishers": []}"#,
        )
        .unwrap();
        let e = run(&TxCommand::RegisterSource(RegisterSourceArgs {
            file: source_file.clone(),
            sign: sign(),
            node: node_args(),
        }))
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("source.json is not a valid source definition"),
            "{e:#}"
        );
        let submitted = node.submitted.lock().unwrap();
        assert_eq!(
            submitted.iter().map(|t| t.tx.nonce).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert!(matches!(
            &submitted[4].tx.payload,
            TxPayload::RegisterSource { source } if source.name == "feed"
        ));
        assert!(
            submitted
                .iter()
                .all(|t| t.tx.chain_id == "fake" && t.tx.signer == key.public_key())
        );
        assert!(matches!(
            &submitted[0].tx.payload,
            TxPayload::Deploy {
                fuel_limit_per_record: 5,
                sources,
                ..
            } if sources == &["feed".to_string()]
        ));
        assert!(
            matches!(&submitted[3].tx.payload, TxPayload::Ingest { records, .. } if records.len() == 1)
        );
        drop(submitted);
        // A node that is not there: the error says to start one.
        let e = query::run(&QueryCommand::Status(NodeArgs {
            node: "http://127.0.0.1:1".into(),
        }))
        .unwrap_err();
        assert!(format!("{e:#}").contains("is the node running?"), "{e:#}");
    }
}
