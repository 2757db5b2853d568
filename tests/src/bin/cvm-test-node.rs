//! The `cvm` command line built with the `test-hooks` feature, for the process tests in this crate: same CLI,
//! plus the `[test]` config section (Byzantine behaviours, message recording, peer blocking).

fn main() -> std::process::ExitCode {
    cvm_host::cli::main()
}
