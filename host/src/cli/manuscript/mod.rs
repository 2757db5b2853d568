//! `cvm manuscript ...`: the author's loop of scaffold, build, run.

pub mod build;
pub mod new;
pub mod run;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ManuscriptCommand {
    /// Scaffold a new manuscript crate that builds and tests as is.
    New(new::NewArgs),
    /// Build a manuscript crate to wasm and validate it like a deploy would.
    Build(build::BuildArgs),
    /// Run a manuscript (.wasm or .wat) over a file of source records, as a chain would.
    Run(run::RunArgs),
}

impl ManuscriptCommand {
    /// Runs the subcommand.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        match self {
            ManuscriptCommand::New(args) => new::run(args),
            ManuscriptCommand::Build(args) => build::run(args),
            ManuscriptCommand::Run(args) => run::run(args),
        }
    }
}
