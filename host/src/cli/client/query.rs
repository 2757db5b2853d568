//! `cvm query status | block | tx | record | records`: read a node and print JSON, or save a record bundle.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use cvm_consensus::{ChainId, ValidatorId, ValidatorSet};

use super::args::NodeArgs;
use crate::api_client::Client;
use crate::chain::LightBlock;
use crate::chain::genesis::parse_public_key;
use crate::hex_text::{from_hex, from_hex32, to_hex};
use crate::record_bundle::RecordBundle;
use crate::verify::light::{LightSource, Recording, TrustedState, verify_light};

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
    /// Records of a dataset in key order, page by page, each page proven complete (`cvm verify --page`).
    Records(super::records::RecordsArgs),
    /// Follow dataset changes as blocks finalize, one JSON line per changed record (resumes after a dropped
    /// connection; `--genesis` verifies every block first).
    Watch(super::watch::WatchArgs),
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
    /// Read at this height (default: the latest). For an append-only dataset: the height of the block that
    /// appended the record (required).
    #[arg(long)]
    pub height: Option<u64>,
    /// Save the bundle to this file (default: print it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Carry in the bundle the headers a reader trusting the genesis needs to reach its height when the validator
    /// set changed since (then `cvm verify` needs no node).
    #[arg(long)]
    pub header_chain: bool,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// The headers between the genesis and `bundle`'s height that light-client verification asks for, and the
/// bundle's own with its set, as the node serves them (the reader checks them against its own genesis).
fn header_chain(client: &Client, bundle: &RecordBundle) -> anyhow::Result<Vec<LightBlock>> {
    let genesis_set = client.validators(Some(1))?;
    let set = ValidatorSet::new(
        genesis_set
            .validators
            .iter()
            .map(|v| {
                Ok((
                    ValidatorId(parse_public_key(&v.public_key).map_err(anyhow::Error::msg)?),
                    v.power,
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    )?;
    let target = client
        .light_block(bundle.height)
        .map_err(anyhow::Error::msg)?;
    let recording = Recording {
        inner: client,
        served: Default::default(),
    };
    verify_light(
        &TrustedState::genesis(set),
        &target,
        Some(&recording),
        false,
        &ChainId::new(bundle.chain_id.clone()),
    )
    .context("the node's header chain does not reach the bundle's height")?;
    let mut chain = recording.served.into_inner();
    chain.insert(target.header.height, target);
    Ok(chain.into_values().collect())
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints what the node answers as JSON (or saves a record bundle).
pub fn run(command: &QueryCommand) -> anyhow::Result<ExitCode> {
    match command {
        QueryCommand::Status(node) => print_json(&Client::new(&node.node).status()?)?,
        QueryCommand::Block(a) => print_json(&Client::new(&a.node.node).block(a.height)?)?,
        QueryCommand::Tx(a) => {
            let hash = from_hex32(&a.hash).map_err(|e| anyhow::anyhow!("transaction hash: {e}"))?;
            print_json(&Client::new(&a.node.node).tx(hash)?)?
        }
        QueryCommand::Records(a) => super::records::run(a)?,
        QueryCommand::Watch(a) => super::watch::run(a)?,
        QueryCommand::Record(a) => {
            let key = from_hex(&a.key_hex).map_err(|e| anyhow::anyhow!("record key: {e}"))?;
            let client = Client::new(&a.node.node);
            let mut bundle = client.record(&a.manuscript, &a.dataset, &key, a.height)?;
            if a.header_chain {
                bundle.header_chain = header_chain(&client, &bundle)?;
            }
            let text = serde_json::to_string_pretty(&bundle)?;
            match &a.out {
                Some(path) => {
                    std::fs::write(path, text + "\n")
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    // Fields by name when the manuscript declares the dataset's types; hex otherwise.
                    let value = match (&bundle.value, &bundle.value_json) {
                        (None, _) => "absent".into(),
                        (Some(_), Some(json)) => json.to_string(),
                        (Some(bytes), None) => to_hex(bytes),
                    };
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
