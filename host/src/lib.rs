//! The `cvm` host: the command-line tool for manuscript authors and (next) the validator node that wires the
//! CVM and the consensus engine together.
//!
//! - [`cli`]: the clap command tree.
//! - [`manuscript`]: `cvm manuscript new | build | run` for authors.
//! - [`records`]: turning JSON input files into the SCALE source records manuscripts read.

pub mod chain;
pub mod cli;
pub mod logging;
pub mod manuscript;
pub mod network;
pub mod records;
