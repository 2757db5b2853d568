//! `cvm sink`: keep a database's tables equal to a chain's datasets. [`postgres`]: into PostgreSQL.

pub mod postgres;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SinkCommand {
    /// Follow a node's finalized blocks into PostgreSQL: one table per dataset (columns from the declared types;
    /// key, height and state root in each row), each block written with the cursor row in one transaction after
    /// its certificate and change proofs verify against the genesis. A restart resumes after the last block
    /// written.
    Postgres(postgres::PostgresArgs),
}

impl SinkCommand {
    /// Runs the command.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        match self {
            SinkCommand::Postgres(args) => postgres::run(args).map(|()| ExitCode::SUCCESS),
        }
    }
}
