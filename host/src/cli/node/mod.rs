//! The operator commands: create node homes (`init`, `testnet`), run a node (`start`), re-check its stored
//! state (`replay`) and run a whole local network (`localnet`).

pub mod init;
mod local_processes;
pub mod localnet;
mod localnet_archive;
pub mod replay;
pub mod start;
pub mod testnet;
