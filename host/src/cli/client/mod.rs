//! The client commands: `cvm keys` (account key files), `cvm tx` (sign and submit), `cvm query` (read a node),
//! `cvm validators` (read and change the validator set) and `cvm verify` (check a record bundle offline). Output goes to stdout; errors are `anyhow` with what to do next.

pub mod args;
pub mod export;
pub mod keys;
pub mod query;
pub mod records;
pub mod tx;
pub mod validators;
pub mod verify;
pub mod watch;
