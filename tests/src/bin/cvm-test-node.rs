//! The `cvm` command line built with the `test-hooks` feature, for the process tests in this crate: same CLI,
//! plus the `[test]` config section (Byzantine behaviours, message recording, peer blocking).

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
