//! `cvm`: the command-line entry point. See `cvm --help`.

use std::process::ExitCode;

use clap::Parser;
use cvm_host::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cvm_host::logging::init(cli.verbose);
    match cli.run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
