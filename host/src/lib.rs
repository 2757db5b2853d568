//! The `cvm` host: the command-line tool for manuscript authors and the validator node that wires the CVM and the
//! consensus engine together over libp2p and RocksDB.
//!
//! Dependencies flow one way: chain types ← config ← storage and network ← node ← rpc, with the command line on
//! top and shared wire types ([`hex_text`], [`record_bundle`]) below everything that uses them.
//!
//! - [`cli`]: the `cvm` command tree, one file per command (`cli/manuscript`, `cli/node`, `cli/client`,
//!   `cli/source`).
//! - [`chain`]: blocks (the header is the consensus value), body parts, genesis, node config, keys.
//! - [`home`]: writing node home directories, one (`cvm init`) or a loopback network's (`cvm testnet`).
//! - [`node`]: the node: event loop over the consensus driver, block building/validation/commit, mempool and
//!   evidence pool.
//! - [`storage`]: RocksDB (blocks, commits, trie nodes, receipts, source blocks, consensus WAL, chain head).
//! - [`network`]: libp2p gossip and block sync.
//! - [`ordering`]: a Fabric-shaped embedding API for ordering only.
//! - [`records`]: turning JSON input files into the SCALE source records manuscripts read.
//! - [`sources`]: source data with provenance: each registered Ethereum source read from this node's endpoint or
//!   archive, verified with alloy, held ahead for proposals and checks, kept for sync and replay.
//! - [`rpc`], `metrics`: the node's HTTP JSON API and Prometheus metrics; [`api_client`] talks to that API.
//! - [`record_bundle`]: a record with its proof, its provenance (sources and their heads), header and certificate;
//!   [`verify`] checks one offline, reaching the header's validator set from a trusted root by light-client
//!   verification; [`light_source`] is a node's API as the source of the headers between.
//! - [`sink`]: `cvm sink postgres`, a chain's datasets kept as PostgreSQL tables, every block verified first.
//! - [`datasets`]: records shown as JSON with fields by name, from the types a manuscript's code declares;
//!   [`export`] writes a whole dataset at a height as Parquet or CSV with a manifest.
//! - [`hex_text`]: bytes as `0x` hex in JSON and on the command line.
//! - `logging`, `progress`: log setup and terminal progress bars for the commands; `malloc`: allocator tuning.

#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]

pub mod api_client;
pub mod block_changes;
pub mod chain;
pub mod cli;
pub mod datasets;
pub mod export;
pub mod feed_client;
pub mod hex_text;
pub mod home;
pub mod light_source;
pub(crate) mod logging;
pub(crate) mod malloc;
pub(crate) mod metrics;
pub mod network;
pub mod node;
pub mod ordering;
pub(crate) mod progress;
pub mod record_bundle;
pub mod record_page;
pub mod records;
pub mod rpc;
pub mod sink;
pub mod sources;
pub mod storage;
pub mod verify;
