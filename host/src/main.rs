//! `cvm`: the command-line entry point. See `cvm --help`.

fn main() -> std::process::ExitCode {
    cvm_host::cli::main()
}
