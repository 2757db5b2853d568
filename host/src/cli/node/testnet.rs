//! `cvm testnet`: create homes for a multi-node network on loopback.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use crate::chain::genesis::ChainParams;
use crate::chain::source_json::SourceJson;
use crate::home::testnet::{TestnetSpec, generate, governance_key_path};

#[derive(Debug, Args)]
pub struct TestnetArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Number of non-validator full nodes.
    #[arg(long, default_value_t = 0)]
    pub full_nodes: usize,
    /// Directory to create the node homes in (node0, node1, ...).
    #[arg(long)]
    pub output: PathBuf,
    #[arg(long, default_value = "cvm-testnet")]
    pub chain_id: String,
    /// Node i uses p2p port BASE+2i and API port BASE+2i+1.
    #[arg(long, default_value_t = 26600)]
    pub base_port: u16,
    /// Each node's pause between a decision and the next height's first round, in ms (0: none), even when
    /// transactions wait.
    #[arg(long, default_value_t = 0)]
    pub block_interval_ms: u64,
    /// Genesis idle_block_interval_ms: a height without transactions waits this long after the last block
    /// (0: a block at every height at once).
    #[arg(long, default_value_t = ChainParams::default().idle_block_interval_ms)]
    pub idle_block_interval_ms: u64,
    /// A source definition (JSON, as `cvm tx register-source --file` takes) to register in genesis; repeatable.
    #[arg(long = "source", value_name = "FILE")]
    pub sources: Vec<PathBuf>,
}

/// Writes the homes and lists them.
pub fn run(args: &TestnetArgs) -> anyhow::Result<()> {
    let sources = args
        .sources
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read source file {}", path.display()))?;
            serde_json::from_str::<SourceJson>(&text).with_context(|| {
                format!(
                    "source file {} is not a source definition (see `cvm tx register-source --help`)",
                    path.display()
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let spec = TestnetSpec {
        validators: args.validators,
        full_nodes: args.full_nodes,
        chain_id: args.chain_id.clone(),
        output: args.output.clone(),
        base_port: args.base_port,
        block_interval_ms: args.block_interval_ms,
        idle_block_interval_ms: args.idle_block_interval_ms,
        sources,
    };
    let nodes = generate(&spec)?;
    for node in &nodes {
        println!(
            "{} {} home={} api={}",
            node.name,
            if node.validator {
                "validator"
            } else {
                "full-node"
            },
            node.home.display(),
            node.rpc_url
        );
    }
    println!(
        "governance key (signs cvm tx register-source): {}",
        governance_key_path(&spec.output).display()
    );
    println!(
        "start each with: cvm start --home {}",
        Path::new(&spec.output).join("nodeN").display()
    );
    Ok(())
}
