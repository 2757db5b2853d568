//! Workspace-level integration tests live in `tests/tests/`: they cross crate boundaries (SDK ↔ CVM, and the
//! node as real processes). This library holds their shared harness:
//!
//! - [`localnet`]: a multi-node network of real `cvm start` processes on loopback, with real libp2p sockets and
//!   RocksDB directories, that tests start, stop, kill and query over HTTP.
//! - [`fuzzing`]: the bodies of the cargo-fuzz targets in `fuzz/`, also run over their corpus by `cargo test`.

pub mod fuzzing;
pub mod localnet;
