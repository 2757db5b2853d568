//! Operator commands: create node homes (`init`, `testnet`), run a node (`start`), re-check stored state
//! (`replay`) and run a whole local network (`localnet`).

pub mod args;
pub mod init;
pub mod localnet;
pub mod replay;
pub mod start;
pub mod testnet;
