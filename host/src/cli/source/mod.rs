//! `cvm source`: source data tools. [`list`]: the registered sources and their heads; [`status`]: each
//! Ethereum source's head against the node's endpoint; [`verify`]: check an Ethereum archive file offline;
//! [`pack`]: rewrite an archive in the binary format.

pub mod list;
pub mod pack;
pub mod status;
pub mod verify;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// The chain's registered sources: kind, definition and head (from a node's `GET /sources`).
    List(list::ListArgs),
    /// Each Ethereum source's head against the node's own endpoint: latest block, lag, blocks ready, errors and
    /// conflicts. Exits non-zero when the endpoint showed another hash at a committed number.
    Status(status::StatusArgs),
    /// Check an Ethereum archive file offline (JSON Lines: one block with its receipts per line, or binary):
    /// each header's hash, its link to the previous block, and the transactions and receipts roots when
    /// receipts are present. One verdict line per block; exits non-zero on any failure.
    Verify(verify::VerifyArgs),
    /// Rewrite an Ethereum archive (JSON Lines or binary) in the binary format: the blocks as a node holds
    /// them, length-prefixed, which validators read several times cheaper than JSON.
    Pack(pack::PackArgs),
}

impl SourceCommand {
    /// Runs the command; the exit code says whether everything checked out.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        match self {
            SourceCommand::List(args) => list::run(args),
            SourceCommand::Status(args) => status::run(args),
            SourceCommand::Verify(args) => verify::run(args),
            SourceCommand::Pack(args) => pack::run(args),
        }
    }
}
