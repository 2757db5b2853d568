//! The `cvm` command line for the process tests in this crate: the same CLI, with nodes started by `cvm start`
//! given the faults of their home's `config/faults.toml` ([`cvm_tests::faults`]).

fn main() -> std::process::ExitCode {
    cvm_host::cli::main_with(&cvm_tests::faults::make_hooks)
}
