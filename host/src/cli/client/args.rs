//! Arguments the client commands share: which node to talk to, and how to sign.

use std::path::PathBuf;

use clap::Args;

use crate::api_client::DEFAULT_NODE_URL;

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
