//! `cvm source`: source data tools. [`verify`]: check an Ethereum archive file offline.

pub mod verify;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Check an Ethereum archive file offline (JSON Lines: one block with its receipts per line): each
    /// header's hash, its link to the previous line, and the transactions and receipts roots when receipts
    /// are present. One verdict line per block; exits non-zero on any failure.
    Verify(verify::VerifyArgs),
}

impl SourceCommand {
    /// Runs the command; the exit code says whether everything checked out.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        match self {
            SourceCommand::Verify(args) => verify::run(args),
        }
    }
}
