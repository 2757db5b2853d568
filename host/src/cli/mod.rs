//! The `cvm` command tree: the top-level [`Cli`] and [`Command`], and [`main`]. Each command lives in its own
//! file with its clap arguments and its `run`: [`manuscript`] (`cvm manuscript new | build | run`), [`node`]
//! (`init`, `testnet`, `start`, `replay`, `localnet`), [`client`] (`keys`, `tx`, `query`, `validators`, `verify`),
//! [`source`] (`cvm source verify`) and [`sink`] (`cvm sink postgres`).

pub(crate) mod client;
pub(crate) mod manuscript;
pub(crate) mod node;
pub(crate) mod sink;
pub(crate) mod source;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cvm",
    version,
    about = "Verifiable data-processing chain: manuscript tooling and validator node"
)]
pub(crate) struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write, build and try manuscripts locally.
    #[command(subcommand)]
    Manuscript(manuscript::ManuscriptCommand),
    /// Create a single-validator node home.
    Init(node::init::InitArgs),
    /// Create homes for a multi-node network on loopback.
    Testnet(node::testnet::TestnetArgs),
    /// Run a local multi-validator network over the example data, with a live status line (the main job).
    Localnet(node::localnet::LocalnetArgs),
    /// Run a node.
    Start(node::start::StartArgs),
    /// Re-execute every stored block from genesis and check each stored state root (node stopped).
    Replay(node::replay::ReplayArgs),
    /// Create or show the key files that sign client transactions.
    #[command(subcommand)]
    Keys(client::keys::KeysCommand),
    /// Sign transactions with a key file and submit them to a node.
    #[command(subcommand)]
    Tx(client::tx::TxCommand),
    /// Read a node: status, blocks, transactions, record bundles.
    #[command(subcommand)]
    Query(client::query::QueryCommand),
    /// Read a height's validator set, and propose, approve and submit changes to it.
    #[command(subcommand)]
    Validators(client::validators::ValidatorsCommand),
    /// Check a record bundle offline against a genesis file.
    Verify(client::verify::VerifyArgs),
    /// Write a whole dataset at a height as Parquet or CSV, verified, with a manifest.
    Export(client::export::ExportArgs),
    /// Source data tools: check an Ethereum archive file offline.
    #[command(subcommand)]
    Source(source::SourceCommand),
    /// Keep a database's tables equal to the chain's datasets (`cvm sink postgres`).
    #[command(subcommand)]
    Sink(sink::SinkCommand),
}

/// The whole `cvm` program: parse the command line, set up logging, run, print the error chain on failure.
pub fn main() -> ExitCode {
    main_with(&crate::node::no_hooks)
}

/// [`main`] with nodes started by `cvm start` given the hooks `make_hooks` builds: the test binary
/// `cvm-test-node` injects faults this way.
pub fn main_with(make_hooks: &crate::node::MakeHooks) -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init(cli.verbose);
    match cli.run(make_hooks) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

impl Cli {
    /// Runs the command; a node started here gets the hooks `make_hooks` builds. The exit code says whether it
    /// succeeded (`cvm replay` and `cvm verify` fail without an error when they find a mismatch).
    pub fn run(self, make_hooks: &crate::node::MakeHooks) -> anyhow::Result<ExitCode> {
        let done = |()| ExitCode::SUCCESS;
        match self.command {
            Command::Manuscript(command) => command.run(),
            Command::Init(args) => node::init::run(&args).map(done),
            Command::Testnet(args) => node::testnet::run(&args).map(done),
            Command::Localnet(args) => node::localnet::run(&args).map(done),
            Command::Start(args) => node::start::run(&args, make_hooks).map(done),
            Command::Replay(args) => node::replay::run(&args).map(|ok| {
                if ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }),
            Command::Keys(command) => client::keys::run(&command).map(done),
            Command::Tx(command) => client::tx::run(&command),
            Command::Query(command) => client::query::run(&command),
            Command::Validators(command) => client::validators::run(&command),
            Command::Verify(args) => client::verify::run(&args),
            Command::Export(args) => client::export::run(&args).map(done),
            Command::Source(command) => command.run(),
            Command::Sink(command) => command.run(),
        }
    }
}
