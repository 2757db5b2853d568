//! The `cvm` host: the command-line tool for manuscript authors and (next) the validator node that wires the
//! CVM and the consensus engine together.
//!
//! - [`cli`]: the clap command tree.
//! - [`manuscript`]: `cvm manuscript new | build | run` for authors.
//! - [`records`]: turning JSON input files into the SCALE source records manuscripts read.
//! - [`rpc`], [`metrics`]: the node's HTTP JSON API and Prometheus metrics; [`client`] talks to it.
//! - [`verify`]: offline verification of record bundles; [`cli_client`]: `cvm tx | query | verify`.

pub mod chain;
pub mod cli;
pub mod cli_client;
pub mod client;
pub mod logging;
pub mod manuscript;
pub mod metrics;
pub mod records;
pub mod rpc;
pub mod verify;
