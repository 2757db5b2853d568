//! The `cvm` command tree.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::manuscript;
use crate::ops;
use crate::records::Schema;

#[derive(Debug, Parser)]
#[command(
    name = "cvm",
    version,
    about = "Verifiable data-processing chain: manuscript tooling and validator node"
)]
pub struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write, build and try manuscripts locally.
    #[command(subcommand)]
    Manuscript(ManuscriptCommand),
    /// Create a single-validator node home.
    Init(ops::args::InitArgs),
    /// Create homes for a multi-node network on loopback.
    Testnet(ops::args::TestnetArgs),
    /// Run a local multi-validator network over the example data, with a live status line (the main job).
    Localnet(ops::localnet::LocalnetArgs),
    /// Run a node.
    Start(ops::args::HomeArgs),
    /// Re-execute every stored block from genesis and check each stored state root (node stopped).
    Replay(ops::args::HomeArgs),
    /// Sign transactions with a key file and submit them to a node.
    #[command(subcommand)]
    Tx(crate::cli_client::TxCommand),
    /// Read a node: status, blocks, transactions, record bundles.
    #[command(subcommand)]
    Query(crate::cli_client::QueryCommand),
    /// Check a record bundle offline against a genesis file.
    Verify(crate::cli_client::VerifyArgs),
}

#[derive(Debug, Subcommand)]
pub enum ManuscriptCommand {
    /// Scaffold a new manuscript crate that builds and tests as is.
    New(NewArgs),
    /// Build a manuscript crate to wasm and validate it like a deploy would.
    Build(BuildArgs),
    /// Run a manuscript (.wasm or .wat) over a file of source records, as a chain would.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the manuscript (and of the directory created): lowercase letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// Parent directory of the new crate.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Path to manuscript-sdk (default: `$CVM_SDK_PATH`, else the SDK of the source tree `cvm` was built from,
    /// else one found above the current directory or the `cvm` binary).
    #[arg(long)]
    pub sdk_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The manuscript crate (directory holding its Cargo.toml).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Cargo target directory (default: the crate's).
    #[arg(long)]
    pub target_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The manuscript: a .wasm binary or WebAssembly text (.wat).
    pub wasm: PathBuf,
    /// Source id the records belong to (e.g. ethereum.logs, kv).
    #[arg(long)]
    pub source: String,
    /// Input records: JSON Lines or a JSON array.
    #[arg(long)]
    pub input: PathBuf,
    /// Record schema; `auto` picks eth-log for `ethereum.*` sources and kv otherwise.
    #[arg(long, value_enum, default_value_t = Schema::Auto)]
    pub schema: Schema,
    /// Fuel limit per record.
    #[arg(long, default_value_t = 10_000_000)]
    pub fuel: u64,
    /// Records per ingest transaction (all in one block).
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Run subscribers one by one instead of in parallel.
    #[arg(long)]
    pub sequential: bool,
    /// Directory for precompiled modules (default: memory only).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Print only the summary, not every record and receipt.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the result as one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// The whole `cvm` program: parse the command line, set up logging, run, print the error chain on failure.
pub fn main() -> ExitCode {
    main_with(&crate::node::no_hooks)
}

/// [`main`] with nodes started by `cvm start` given the hooks `make_hooks` builds: the test binary
/// `cvm-test-node` injects faults this way.
pub fn main_with(make_hooks: &crate::node::MakeHooks) -> ExitCode {
    use clap::Parser;
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
    /// Runs the command; a node started here gets the hooks `make_hooks` builds.
    pub fn run(self, make_hooks: &crate::node::MakeHooks) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Manuscript(ManuscriptCommand::New(args)) => manuscript::new::run(&args),
            Command::Manuscript(ManuscriptCommand::Build(args)) => manuscript::build::run(&args),
            Command::Manuscript(ManuscriptCommand::Run(args)) => manuscript::run::run(&args),
            Command::Init(a) => {
                ops::init::init(&a.home, &a.chain_id, &a.moniker).map(|_| ExitCode::SUCCESS)
            }
            Command::Testnet(a) => ops::testnet::run(&ops::testnet::TestnetSpec {
                validators: a.validators,
                full_nodes: a.full_nodes,
                chain_id: a.chain_id,
                output: a.output,
                base_port: a.base_port,
                block_interval_ms: a.block_interval_ms,
            })
            .map(|_| ExitCode::SUCCESS),
            Command::Localnet(a) => ops::localnet::run(&a).map(|_| ExitCode::SUCCESS),
            Command::Start(a) => ops::start::run(&a.home, make_hooks).map(|_| ExitCode::SUCCESS),
            Command::Replay(a) => ops::replay::run(&a.home).map(|ok| {
                if ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }),
            Command::Tx(command) => crate::cli_client::run_tx(&command),
            Command::Query(command) => crate::cli_client::run_query(&command),
            Command::Verify(args) => crate::cli_client::run_verify(&args),
        }
    }
}
