//! The node's RocksDB storage: blocks, commit certificates, trie nodes, receipts, the consensus WAL and the chain
//! head, each in its own column family ([`keys`]).
//!
//! - [`Storage`]: open (with named errors for a held lock, missing permission or corruption), commit a decided
//!   block as one atomic synced write batch ([`Storage::commit_block`]), and read everything back.
//! - [`RocksNodeStore`]: the archival [`NodeStore`](cvm_runtime::state::NodeStore) the executor reads state
//!   through ([`Storage::node_store`]).
//! - [`RocksWal`]: the consensus [`Wal`](cvm_consensus::wal::Wal) in column family `wal`;
//!   [`Storage::load_wal`] reads it back after a restart.
//! - [`CommittedEvidence`]: the duplicate-vote evidence each block committed ([`Storage::committed_evidence`]).
//! - [`replay`]: re-executes every stored block on a fresh in-memory state and compares roots (`cvm replay`).

mod db;
mod error;
mod evidence;
pub mod keys;
mod node_store;
mod replay;
mod rocks;
mod source_blocks;
mod validator_sets;
mod wal;

#[cfg(test)]
mod tests;

pub use db::{ChainHead, CommittedBlock, CommittedEvidence, Storage, StorageMemory, StoredReceipt};
pub use error::StorageError;
pub use node_store::RocksNodeStore;
pub use replay::{Mismatch, MismatchKind, ReplayError, ReplayReport, replay};
pub use wal::RocksWal;
