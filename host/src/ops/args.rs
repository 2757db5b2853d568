//! clap arguments of the operator commands.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Home directory of the new node (config, keys, genesis, data).
    #[arg(long)]
    pub home: PathBuf,
    #[arg(long, default_value = "cvm-local")]
    pub chain_id: String,
    #[arg(long, default_value = "node0")]
    pub moniker: String,
}

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
    /// Pause between blocks in ms (0: the next height starts at once).
    #[arg(long, default_value_t = 0)]
    pub block_interval_ms: u64,
}

#[derive(Debug, Args)]
pub struct HomeArgs {
    /// The node's home directory (made by `cvm init` or `cvm testnet`).
    #[arg(long)]
    pub home: PathBuf,
}
