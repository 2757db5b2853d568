//! The `cvm` host: the command-line tool for manuscript authors and the validator node that wires the CVM and the
//! consensus engine together over libp2p and RocksDB.
//!
//! - [`cli`]: the clap command tree.
//! - [`manuscript`]: `cvm manuscript new | build | run` for authors.
//! - [`chain`]: blocks (the header is the consensus value), body parts, genesis, node config, keys.
//! - [`node`]: the node: event loop over the consensus driver, block building/validation/commit, mempool.
//! - [`storage`]: RocksDB (blocks, commits, trie nodes, receipts, consensus WAL, chain head).
//! - [`network`]: libp2p gossip and block sync.
//! - [`ordering`]: a Fabric-shaped embedding API for ordering only.
//! - [`ops`]: `init`, `testnet`, `start`, `replay`, `localnet`.
//! - [`records`]: turning JSON input files into the SCALE source records manuscripts read.
//! - [`rpc`], [`metrics`]: the node's HTTP JSON API and Prometheus metrics; [`client`] talks to it.
//! - [`verify`]: offline verification of record bundles; [`cli_client`]: `cvm tx | query | verify`.

pub mod chain;
pub mod cli;
pub mod cli_client;
pub mod client;
pub mod logging;
pub mod malloc;
pub mod manuscript;
pub mod metrics;
pub mod network;
pub mod node;
pub mod ops;
pub mod ordering;
pub mod progress;
pub mod records;
pub mod rpc;
pub mod storage;
pub mod verify;
