//! Workspace-level integration tests live in `tests/tests/`: they cross crate boundaries (SDK ↔ CVM, and the
//! node as real processes). This library holds their shared harness:
//!
//! - [`localnet`]: a multi-node network of real `cvm start` processes on loopback, with real libp2p sockets and
//!   RocksDB directories, that tests start, stop, kill, partition and query over HTTP; its nodes run the
//!   `cvm-test-node` binary (the CLI with the fault hooks of [`faults`]) and record every consensus message.
//! - [`faults`]: the node hooks of `cvm-test-node`: Byzantine behaviours, message recording, peer blocking.
//! - [`checks`]: safety checks over what the nodes stored and signed (forks, lost blocks, double signs).
//! - [`datasets`]: erc20-transfers deployed and fed on a live network, for the tests of pages, exports and sinks.
//! - [`adversary`]: a peer without a validator key that joins a running network and attacks it over gossip, sync
//!   and HTTP, measuring what the network kept (rate, memory, safety, what was relayed).
//! - [`hardhat`]: a real Ethereum JSON-RPC node (`npx hardhat node`) and the seeded token activity of
//!   `examples/ethereum/drive.js` on it, with what the contracts hold afterwards.
//! - [`chaos`]: the crash soak (random SIGKILLs under ingest load) and the background load generator.
//! - [`fuzzing`]: the bodies of the cargo-fuzz targets in `fuzz/`, also run over their corpus by `cargo test`.
//! - [`sources`]: the signed sources every test chain registers at genesis, and the local Ethereum source as the
//!   source tests register, follow and check it.
//! - [`eth_archive`]: synthetic Ethereum archives of any size (real formats, alloy hashes and roots) for the
//!   perf bench's pull path.
//! - [`rpc_proxy`]: a JSON-RPC proxy in front of a real Ethereum node that serves altered logs, a forged chain
//!   that verifies, or nothing, on command: one validator's misbehaving endpoint in the source tests.
//! - [`postgres`]: a real PostgreSQL server (Debian's package) in a temporary directory for the sink tests;
//!   [`feed_proxy`]: a node API proxy whose change feed serves one tampered block; [`sink`]: `cvm sink postgres`
//!   as a process, and its tables compared with the datasets.
//! - [`module_graph`]: the module graph of a crate read from its sources, and its circles (`tests/module_graph.rs`
//!   keeps every crate free of them).

pub mod adversary;
pub mod chaos;
pub mod checks;
pub mod datasets;
pub mod eth_archive;
pub mod faults;
pub mod feed_proxy;
pub mod fuzzing;
pub mod hardhat;
pub mod localnet;
pub mod module_graph;
pub mod postgres;
pub mod rpc_proxy;
pub mod sink;
pub mod sources;
